//! Form pieces more than one page renders: a hidden input, and the second login step's code
//! form (tenant users and the operator). A page's own form structs and their parsing live in
//! its `forms.rs`; what two pages share lives here, so pages never import each other.

use crate::layout::PageCtx;
use crate::session::CSRF_FIELD;
use maud::{Markup, html};

/// A hidden input.
pub fn hidden(name: &str, value: &str) -> Markup {
    html! { input type="hidden" name=(name) value=(value); }
}

/// The second login step's form (tenant users and the operator): the challenge and a code.
pub fn code_form(pc: &PageCtx, action: &str, challenge: &str, csrf: &str) -> Markup {
    html! {
        form.form-grid method="post" action=(action) {
            (hidden(CSRF_FIELD, csrf))
            (hidden("challenge", challenge))
            label for="code" { (pc.t("認証コード", "Code")) }
            div.field {
                input #code type="text" name="code" required autofocus autocomplete="one-time-code"
                    inputmode="numeric" maxlength="16";
                p.hint { (pc.t(
                    "認証アプリを使えない場合は、リカバリーコードを入力できます(各コード1回限り)。",
                    "Without the app, enter one of your recovery codes (each works once).",
                )) }
            }
            div.actions-row {
                button.button.button-wide type="submit" { (pc.t("ログイン", "Log in")) }
            }
        }
    }
}
