//! The `[auth]` section of the settings: login throttling, password policy, sessions and
//! two-factor enrollment.

use keiyaku_kernel::config::Section;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuthConfig {
    /// Failed logins (per account and client address) before the login is locked.
    pub lockout_threshold: u32,
    /// How long a lock lasts, in minutes.
    pub lockout_minutes: u32,
    /// Failed logins from one client address, over all accounts, before it is locked.
    pub client_lockout_threshold: u32,
    /// Minimum password length.
    pub password_min_length: usize,
    /// A password must contain a letter and a digit.
    pub password_require_letters_and_digits: bool,
    /// A session ends after this many minutes without a request.
    pub session_idle_minutes: u32,
    /// A session ends this many hours after login, whatever its use.
    pub session_absolute_hours: u32,
    /// Users holding any of these roles must enroll a TOTP authenticator at their next login
    /// (e.g. `["group_admin", "signer"]`).
    pub require_totp_for: Vec<keiyaku_kernel::directory::Role>,
}

impl Default for AuthConfig {
    fn default() -> Self {
        Self {
            lockout_threshold: 5,
            lockout_minutes: 15,
            client_lockout_threshold: 50,
            password_min_length: 8,
            password_require_letters_and_digits: true,
            session_idle_minutes: 60,
            session_absolute_hours: 12,
            require_totp_for: Vec::new(),
        }
    }
}

impl Section for AuthConfig {
    const NAME: &'static str = "auth";

    fn check(&self) -> Result<(), String> {
        let mut errs = Vec::new();
        if self.password_min_length < 8 || self.password_min_length > 128 {
            errs.push("configuration key `auth.password_min_length`: must be between 8 and 128".to_string());
        }
        if self.lockout_minutes == 0 || self.session_idle_minutes == 0 || self.session_absolute_hours == 0 {
            errs.push("configuration keys `auth.lockout_minutes`, `auth.session_idle_minutes` and `auth.session_absolute_hours` must be positive".into());
        }
        if errs.is_empty() { Ok(()) } else { Err(errs.join("\n")) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_password_policy_and_session_times_are_bounded() {
        assert!(AuthConfig::default().check().is_ok());
        let c = AuthConfig { password_min_length: 4, session_idle_minutes: 0, ..AuthConfig::default() };
        let e = c.check().unwrap_err();
        assert!(e.contains("`auth.password_min_length`") && e.contains("`auth.session_idle_minutes`"), "{e}");
    }
}
