//! The one error type of the users module: one stable problem `code` per variant.

use keiyaku_kernel::FieldCode;
use keiyaku_kernel::directory::{DirectoryError, invalid_problem};
use keiyaku_kernel::error::{ApiError, Code, Lang, Problem};
use keiyaku_kernel::intent::{IntentError, PinRefusal};
use keiyaku_kernel::store::StoreError;
use keiyaku_kernel::validate::{Invalid, Rule};

#[derive(Debug, thiserror::Error)]
pub enum UsersError {
    /// 500 `internal_error` (logged, never shown).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// 404 `not_found`: the thing does not exist in the caller's tenant, or it lies outside
    /// the companies the caller can see (existence is not revealed across companies).
    #[error("{0} not found")]
    NotFound(&'static str),
    /// 403 `forbidden`: visible to the caller, but the caller's roles do not allow this.
    #[error("forbidden")]
    Forbidden,
    /// 409 `conflict`: a unique value is already taken (user ID, e-mail, vendor code, a
    /// sibling group's name, an existing delegate); `errors[]` names the fields.
    #[error("conflict")]
    Conflict(Vec<Invalid>),
    /// 422 `validation_failed` with `errors[]`.
    #[error("invalid input")]
    Invalid(Vec<Invalid>),
    /// 422 `not_signer`: delegates belong to signers only.
    #[error("the user is not a signer")]
    NotSigner,
    /// 405 `method_not_allowed`: seals are fixed; nothing replaces or deletes them.
    #[error("seals cannot be changed")]
    SealFixed,
    /// 500 `internal_error`: password hashing failed.
    #[error("hashing failed: {0}")]
    Hash(String),
    /// 403 `pin_invalid` / `pin_locked` / `pin_not_set`: confirming a mandate with the PIN.
    #[error("pin: {0:?}")]
    Pin(PinRefusal),
    /// 409 `certificate_not_usable`: the signer has no usable certificate to confirm with.
    #[error("certificate not usable")]
    NotUsable(Box<(Problem, Problem)>),
    /// 409 `conflict`: the mandate was confirmed already.
    #[error("already confirmed")]
    AlreadyConfirmed,
}

impl From<IntentError> for UsersError {
    fn from(e: IntentError) -> Self {
        match e {
            IntentError::Store(s) => UsersError::Store(s),
            IntentError::Pin(p) => UsersError::Pin(p),
            IntentError::NotUsable(p) => UsersError::NotUsable(p),
            IntentError::Internal(e) => UsersError::Hash(e),
        }
    }
}

impl UsersError {
    pub fn invalid(field: impl Into<String>, rule: Rule) -> Self {
        UsersError::Invalid(vec![Invalid::new(field, rule)])
    }

    /// The HTTP status this error answers with.
    pub fn status(&self) -> u16 {
        match self {
            UsersError::Store(_) | UsersError::Hash(_) => 500,
            UsersError::NotFound(_) => 404,
            UsersError::Forbidden | UsersError::Pin(_) => 403,
            UsersError::Conflict(_) | UsersError::NotUsable(_) | UsersError::AlreadyConfirmed => 409,
            UsersError::Invalid(_) | UsersError::NotSigner => 422,
            UsersError::SealFixed => 405,
        }
    }
}

impl From<Vec<Invalid>> for UsersError {
    fn from(v: Vec<Invalid>) -> Self {
        UsersError::Invalid(v)
    }
}

impl From<DirectoryError> for UsersError {
    fn from(e: DirectoryError) -> Self {
        match e {
            DirectoryError::Store(s) => UsersError::Store(s),
            DirectoryError::NotFound(what) => UsersError::NotFound(what),
            DirectoryError::Conflict { field } => UsersError::Conflict(vec![Invalid::new(field, Rule::Duplicate)]),
            DirectoryError::Invalid(list) => UsersError::Invalid(list),
            DirectoryError::Cycle => UsersError::invalid("parent_group_id", cycle_rule()),
        }
    }
}

pub(crate) fn cycle_rule() -> Rule {
    Rule::Custom {
        code: FieldCode::Cycle,
        ja: "グループを自分自身またはその配下のグループの下には移動できません。".into(),
        en: "A group cannot be moved below itself or one of its own subgroups.".into(),
    }
}

fn conflict_title(field: &str, lang: Lang) -> &'static str {
    let field = field.split('[').next().unwrap_or(field);
    let (ja, en) = match field {
        "user_id" => ("このユーザーIDは既に登録されています。", "This user ID is already registered."),
        "email" => ("このメールアドレスは既に登録されています。", "This e-mail address is already registered."),
        "vendor_code" => ("この業者コードは既に登録されています。", "This vendor code is already registered."),
        "name" => ("同じ名前のグループが既にあります。", "A group with this name already exists here."),
        "user_ids" => (
            "既に代行ユーザーとして登録されているユーザーが含まれています。",
            "Some of these users are already delegates.",
        ),
        _ => ("既に登録されています。", "It already exists."),
    };
    lang.pick(ja, en)
}

impl ApiError for UsersError {
    fn problem(&self, lang: Lang) -> Problem {
        match self {
            UsersError::Store(e) => {
                tracing::error!(error = %e, "storage failure");
                Problem::for_status(500, lang)
            }
            UsersError::Hash(e) => {
                tracing::error!(error = %e, "password hashing failure");
                Problem::for_status(500, lang)
            }
            UsersError::NotFound(_) => Problem::for_status(404, lang),
            UsersError::Forbidden => Problem::for_status(403, lang),
            UsersError::Conflict(list) => {
                let first = list.first().map(|i| i.field.as_str()).unwrap_or("");
                let mut p = Problem::new(409, Code::Conflict, conflict_title(first, lang));
                p.errors = list.iter().map(|i| i.to_field_error(lang)).collect();
                p
            }
            UsersError::Invalid(list) => invalid_problem(list, lang),
            UsersError::NotSigner => Problem::new(
                422,
                Code::NotSigner,
                lang.pick("署名者ではないユーザーには代行ユーザーを設定できません。", "Only signers have delegates."),
            ),
            UsersError::Pin(p) => p.problem(lang),
            UsersError::NotUsable(p) => match lang {
                Lang::Ja => p.0.clone(),
                Lang::En => p.1.clone(),
            },
            UsersError::AlreadyConfirmed => Problem::new(
                409,
                Code::Conflict,
                lang.pick("この委任は既に確認済みです。", "This mandate has already been confirmed."),
            ),
            UsersError::SealFixed => Problem::new(
                405,
                Code::MethodNotAllowed,
                lang.pick(
                    "印影は固定のため、変更・削除はできません。",
                    "The seal is fixed: it cannot be replaced or deleted.",
                ),
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_variant_has_its_status_and_a_code_in_both_languages() {
        let all = [
            UsersError::Store(StoreError::Task("x".into())),
            UsersError::NotFound("user"),
            UsersError::Forbidden,
            UsersError::Conflict(vec![Invalid::new("email", Rule::Duplicate)]),
            UsersError::invalid("name", Rule::Required),
            UsersError::NotSigner,
            UsersError::SealFixed,
            UsersError::Hash("x".into()),
            UsersError::Pin(PinRefusal::Invalid { remaining: 3 }),
            UsersError::Pin(PinRefusal::Locked),
            UsersError::NotUsable(Box::new((
                Problem::new(409, Code::CertificateNotUsable, "x"),
                Problem::new(409, Code::CertificateNotUsable, "x"),
            ))),
            UsersError::AlreadyConfirmed,
        ];
        for e in &all {
            for lang in [Lang::Ja, Lang::En] {
                let p = e.problem(lang);
                assert_eq!(p.status, e.status(), "{e}");
                assert!(!p.code.as_str().is_empty());
                assert!(!p.title.is_empty());
            }
        }
        let p = UsersError::Conflict(vec![Invalid::new("email", Rule::Duplicate)]).problem(Lang::En);
        assert_eq!(p.code, "conflict");
        assert_eq!(p.errors[0].field, "email");
        assert!(p.title.contains("e-mail"));
        assert_eq!(UsersError::from(DirectoryError::Cycle).status(), 422);
    }
}
