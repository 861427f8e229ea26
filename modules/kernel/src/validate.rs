//! Field validation shared by every module: rules collect into one [`Invalid`] list that is
//! rendered as `errors[]` of a 422 problem in the caller's language.

use crate::error::{FieldCode, FieldError, Lang};

/// Why a field is invalid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rule {
    Required,
    TooLong {
        max: usize,
    },
    TooShort {
        min: usize,
    },
    Email,
    /// Only the listed characters are allowed (the description is shown to the user).
    Charset {
        ja: &'static str,
        en: &'static str,
    },
    Unknown {
        value: String,
    },
    Duplicate,
    Mismatch,
    Custom {
        code: FieldCode,
        ja: String,
        en: String,
    },
}

impl Rule {
    pub fn code(&self) -> FieldCode {
        match self {
            Rule::Required => FieldCode::Required,
            Rule::TooLong { .. } => FieldCode::TooLong,
            Rule::TooShort { .. } => FieldCode::TooShort,
            Rule::Email => FieldCode::InvalidEmail,
            Rule::Charset { .. } => FieldCode::InvalidCharacters,
            Rule::Unknown { .. } => FieldCode::UnknownValue,
            Rule::Duplicate => FieldCode::Duplicate,
            Rule::Mismatch => FieldCode::Mismatch,
            Rule::Custom { code, .. } => *code,
        }
    }

    pub fn message(&self, lang: Lang) -> String {
        match (self, lang) {
            (Rule::Required, Lang::Ja) => "必須項目です。".into(),
            (Rule::Required, Lang::En) => "This field is required.".into(),
            (Rule::TooLong { max }, Lang::Ja) => format!("{max}文字以内で入力してください。"),
            (Rule::TooLong { max }, Lang::En) => format!("Use at most {max} characters."),
            (Rule::TooShort { min }, Lang::Ja) => format!("{min}文字以上で入力してください。"),
            (Rule::TooShort { min }, Lang::En) => format!("Use at least {min} characters."),
            (Rule::Email, Lang::Ja) => "メールアドレスの形式が正しくありません。".into(),
            (Rule::Email, Lang::En) => "This is not a valid e-mail address.".into(),
            (Rule::Charset { ja, .. }, Lang::Ja) => format!("使用できる文字は{ja}です。"),
            (Rule::Charset { en, .. }, Lang::En) => format!("Only {en} are allowed."),
            (Rule::Unknown { value }, Lang::Ja) => format!("「{value}」は指定できません。"),
            (Rule::Unknown { value }, Lang::En) => format!("\"{value}\" is not an allowed value."),
            (Rule::Duplicate, Lang::Ja) => "既に使用されています。".into(),
            (Rule::Duplicate, Lang::En) => "This is already in use.".into(),
            (Rule::Mismatch, Lang::Ja) => "入力内容が一致しません。".into(),
            (Rule::Mismatch, Lang::En) => "The values do not match.".into(),
            (Rule::Custom { ja, .. }, Lang::Ja) => ja.clone(),
            (Rule::Custom { en, .. }, Lang::En) => en.clone(),
        }
    }
}

/// One invalid field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    pub field: String,
    pub rule: Rule,
}

impl Invalid {
    pub fn new(field: impl Into<String>, rule: Rule) -> Self {
        Self { field: field.into(), rule }
    }

    pub fn to_field_error(&self, lang: Lang) -> FieldError {
        FieldError { field: self.field.clone(), code: self.rule.code(), message: self.rule.message(lang) }
    }
}

/// Collects invalid fields; `finish` turns them into an error if there are any.
#[derive(Debug, Default)]
pub struct Validator {
    invalid: Vec<Invalid>,
}

impl Validator {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn fail(&mut self, field: &str, rule: Rule) -> &mut Self {
        if !self.invalid.iter().any(|i| i.field == field) {
            self.invalid.push(Invalid::new(field, rule));
        }
        self
    }

    /// Required text of at most `max` characters (counted as Unicode scalar values).
    pub fn text(&mut self, field: &str, value: &str, max: usize) -> &mut Self {
        if value.trim().is_empty() { self.fail(field, Rule::Required) } else { self.optional_text(field, value, max) }
    }

    /// Optional text of at most `max` characters; control characters are refused.
    pub fn optional_text(&mut self, field: &str, value: &str, max: usize) -> &mut Self {
        if value.chars().count() > max {
            self.fail(field, Rule::TooLong { max })
        } else if value.chars().any(|c| c.is_control()) {
            self.fail(
                field,
                Rule::Custom {
                    code: FieldCode::InvalidCharacters,
                    ja: "制御文字は使用できません。".into(),
                    en: "Control characters are not allowed.".into(),
                },
            )
        } else {
            self
        }
    }

    pub fn email(&mut self, field: &str, value: &str) -> &mut Self {
        if value.trim().is_empty() {
            self.fail(field, Rule::Required)
        } else if value.len() > 254 {
            self.fail(field, Rule::TooLong { max: 254 })
        } else if !is_email(value) {
            self.fail(field, Rule::Email)
        } else {
            self
        }
    }

    pub fn is_ok(&self) -> bool {
        self.invalid.is_empty()
    }

    pub fn finish(&mut self) -> Result<(), Vec<Invalid>> {
        if self.invalid.is_empty() { Ok(()) } else { Err(std::mem::take(&mut self.invalid)) }
    }
}

/// A pragmatic e-mail check: one `@`, a non-empty local part of printable ASCII without
/// spaces, and a domain of dot-separated labels of letters, digits and hyphens.
pub fn is_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    if local.is_empty() || local.len() > 64 || domain.is_empty() || domain.contains('@') {
        return false;
    }
    let local_ok = local.chars().all(|c| {
        c.is_ascii_graphic() && !matches!(c, '(' | ')' | '<' | '>' | ',' | ';' | ':' | '\\' | '"' | '[' | ']')
    }) && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..");
    let labels: Vec<&str> = domain.split('.').collect();
    let domain_ok = labels.iter().all(|l| {
        !l.is_empty()
            && l.len() <= 63
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    });
    local_ok && domain_ok
}

/// Lower-cased e-mail used as the unique login key.
pub fn normalize_email(s: &str) -> String {
    s.trim().to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn emails() {
        assert!(is_email("horii@example.co.jp"));
        assert!(is_email("a.b+c@x-y.jp"));
        assert!(is_email("user@localhost"));
        for bad in ["", "a", "a@", "@b", "a@@b", "a b@c.jp", "a@b..jp", "a@-b.jp", ".a@b.jp", "a@b_c.jp"] {
            assert!(!is_email(bad), "{bad}");
        }
    }

    #[test]
    fn validator_collects_one_error_per_field() {
        let mut v = Validator::new();
        v.text("name", "", 10).text("name", "x", 0).email("email", "nope");
        let errs = v.finish().err().unwrap_or_default();
        assert_eq!(errs.len(), 2);
        assert_eq!(errs[0].rule, Rule::Required);
        assert_eq!(errs[1].rule.code(), "invalid_email");
        assert!(errs[1].to_field_error(Lang::Ja).message.contains("メールアドレス"));
    }

    proptest! {
        #[test]
        fn text_limits_count_characters(s in "\\PC{0,40}") {
            let n = s.chars().count();
            let mut v = Validator::new();
            v.optional_text("f", &s, 20);
            prop_assert_eq!(v.is_ok(), n <= 20);
        }

        #[test]
        fn is_email_never_panics(s in "\\PC{0,300}") {
            let _ = is_email(&s);
        }

        #[test]
        fn simple_addresses_are_accepted(local in "[a-z0-9]{1,20}", domain in "[a-z0-9]{1,20}\\.(jp|com|co\\.jp)") {
            let address = format!("{}@{}", local, domain);
            prop_assert!(is_email(&address));
        }
    }
}
