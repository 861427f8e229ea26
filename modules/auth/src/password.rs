//! Password hashing (argon2id, OWASP parameters) and the password policy.

use argon2::password_hash::{PasswordHasher, PasswordVerifier, phc::PasswordHash};
use argon2::{Algorithm, Argon2, Params, Version};
use keiyaku_kernel::config::AuthConfig;
use keiyaku_kernel::error::Lang;
use keiyaku_kernel::validate::{Invalid, Rule};
use rand::Rng;

pub const PASSWORD_MAX: usize = 128;

fn hasher() -> Argon2<'static> {
    // OWASP: m = 19 MiB, t = 2, p = 1.
    let params = Params::new(19 * 1024, 2, 1, None).unwrap_or_default();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Hashes a password into a PHC string.
pub fn hash(password: &str) -> Result<String, String> {
    hasher().hash_password(password.as_bytes()).map(|h| h.to_string()).map_err(|e| e.to_string())
}

/// Checks a password against a PHC string; false for any malformed hash.
pub fn verify(password: &str, phc: &str) -> bool {
    match PasswordHash::new(phc) {
        Ok(parsed) => hasher().verify_password(password.as_bytes(), &parsed).is_ok(),
        Err(_) => false,
    }
}

/// A random initial password: 12 characters of unambiguous letters and digits, with at
/// least one of each.
pub fn generate() -> String {
    const LETTERS: &[u8] = b"abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ";
    const DIGITS: &[u8] = b"23456789";
    let mut rng = rand::rng();
    loop {
        let pw: String = (0..12)
            .map(|_| {
                let pool = if rng.random_bool(0.3) { DIGITS } else { LETTERS };
                pool[rng.random_range(0..pool.len())] as char
            })
            .collect();
        if pw.chars().any(|c| c.is_ascii_digit()) && pw.chars().any(|c| c.is_ascii_alphabetic()) {
            return pw;
        }
    }
}

/// The rules of a new password, as shown on the change screen.
pub fn policy_lines(cfg: &AuthConfig, lang: Lang) -> Vec<String> {
    let mut lines = vec![match lang {
        Lang::Ja => format!("{}文字以上{}文字以内", cfg.password_min_length, PASSWORD_MAX),
        Lang::En => format!("{} to {} characters", cfg.password_min_length, PASSWORD_MAX),
    }];
    if cfg.password_require_letters_and_digits {
        lines.push(lang.pick("英字と数字をそれぞれ1文字以上含む", "at least one letter and one digit").into());
    }
    lines.push(lang.pick("ユーザーIDと同じものは不可", "not the same as the user ID").into());
    lines.push(lang.pick("現在のパスワードと同じものは不可", "not the same as the current password").into());
    lines
}

/// Checks a new password against the policy.
pub fn check_policy(cfg: &AuthConfig, user_id: &str, current: Option<&str>, new: &str) -> Result<(), Invalid> {
    let field = "new_password";
    let len = new.chars().count();
    let fail = |code: &'static str, ja: String, en: String| Err(Invalid::new(field, Rule::Custom { code, ja, en }));
    if len < cfg.password_min_length {
        return Err(Invalid::new(field, Rule::TooShort { min: cfg.password_min_length }));
    }
    if len > PASSWORD_MAX {
        return Err(Invalid::new(field, Rule::TooLong { max: PASSWORD_MAX }));
    }
    if new.chars().any(|c| c.is_control()) {
        return fail(
            "invalid_characters",
            "制御文字は使用できません。".into(),
            "Control characters are not allowed.".into(),
        );
    }
    if cfg.password_require_letters_and_digits
        && !(new.chars().any(|c| c.is_alphabetic()) && new.chars().any(|c| c.is_ascii_digit()))
    {
        return fail(
            "letters_and_digits",
            "英字と数字をそれぞれ1文字以上含めてください。".into(),
            "Use at least one letter and one digit.".into(),
        );
    }
    if new.eq_ignore_ascii_case(user_id) {
        return fail(
            "same_as_user_id",
            "ユーザーIDと同じパスワードは使用できません。".into(),
            "The password must differ from the user ID.".into(),
        );
    }
    if current == Some(new) {
        return fail(
            "same_as_current",
            "現在のパスワードと同じパスワードは使用できません。".into(),
            "The new password must differ from the current one.".into(),
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn hash_and_verify() {
        let h = hash("Secret123").unwrap_or_default();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify("Secret123", &h));
        assert!(!verify("secret123", &h));
        assert!(!verify("x", "not a hash"));
    }

    #[test]
    fn policy_rules() {
        let cfg = AuthConfig::default();
        assert!(check_policy(&cfg, "A1533601", Some("OldPass1"), "NewPass12").is_ok());
        let code = |r: Result<(), Invalid>| r.err().map(|i| i.rule.code()).unwrap_or("ok");
        assert_eq!(code(check_policy(&cfg, "u", None, "short1")), "too_short");
        assert_eq!(code(check_policy(&cfg, "u", None, "onlyletters")), "letters_and_digits");
        assert_eq!(code(check_policy(&cfg, "u", None, "12345678")), "letters_and_digits");
        assert_eq!(code(check_policy(&cfg, "a1533601x", None, "A1533601X")), "same_as_user_id");
        assert_eq!(code(check_policy(&cfg, "u", Some("Same1234"), "Same1234")), "same_as_current");
        assert_eq!(code(check_policy(&cfg, "u", None, &"a1".repeat(100))), "too_long");
    }

    proptest! {
        #[test]
        fn generated_passwords_satisfy_the_default_policy(_seed in 0u8..50) {
            let pw = generate();
            prop_assert!(check_policy(&AuthConfig::default(), "someone", None, &pw).is_ok());
        }

        #[test]
        fn policy_never_panics(pw in "\\PC{0,200}", uid in "[A-Za-z0-9]{0,12}") {
            let _ = check_policy(&AuthConfig::default(), &uid, None, &pw);
        }
    }
}
