use crate::layout::PageCtx;
use keiyaku_kernel::FieldCode;
use keiyaku_kernel::error::FieldError;
use keiyaku_kernel::validate::{Invalid, Rule};
use serde::Deserialize;

// ---------------------------------------------------------------------------------------
// Login

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct LoginForm {
    pub(super) login: String,
    pub(super) password: String,
    pub(super) csrf: String,
}

// ---------------------------------------------------------------------------------------
// Login, second step (認証コード)

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct CodeForm {
    pub(super) challenge: String,
    pub(super) code: String,
    pub(super) csrf: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct TotpForm {
    pub(super) code: String,
    pub(super) csrf: String,
}

// ---------------------------------------------------------------------------------------
// Password change

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct PasswordForm {
    pub(super) current_password: String,
    pub(super) new_password: String,
    pub(super) new_password_confirm: String,
    pub(super) csrf: String,
}

/// Checks of the form itself (before the service is asked): required fields and the
/// confirmation.
pub(super) fn check_password_form(form: &PasswordForm, pc: &PageCtx) -> Vec<FieldError> {
    let mut invalid = Vec::new();
    if form.current_password.is_empty() {
        invalid.push(Invalid::new("current_password", Rule::Required));
    }
    if form.new_password.is_empty() {
        invalid.push(Invalid::new("new_password", Rule::Required));
    }
    if form.new_password_confirm.is_empty() {
        invalid.push(Invalid::new("new_password_confirm", Rule::Required));
    } else if form.new_password_confirm != form.new_password {
        invalid.push(Invalid::new(
            "new_password_confirm",
            Rule::Custom {
                code: FieldCode::Mismatch,
                ja: "新しいパスワードと確認用のパスワードが一致しません。".into(),
                en: "The two new passwords do not match.".into(),
            },
        ));
    }
    invalid.iter().map(|i| i.to_field_error(pc.lang)).collect()
}

// ---------------------------------------------------------------------------------------
// Logout

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct CsrfForm {
    pub(super) csrf: String,
}
