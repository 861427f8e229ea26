use crate::Web;
use crate::form::code_form;
use crate::layout::{self, Msg, PageCtx, TenantHead, app_page, field_errors, has_error};
use crate::session::{CSRF_FIELD, Signed, tenant_path};
use keiyaku_auth::password;
use keiyaku_kernel::directory::Tenant;
use keiyaku_kernel::error::FieldError;
use maud::{Markup, html};

fn head(t: &Tenant) -> TenantHead<'_> {
    TenantHead { code: &t.code, name: &t.name, trial: t.trial }
}

/// What the login page shows.
pub struct LoginView<'a> {
    pub tenant: &'a Tenant,
    /// The login name typed before (never the password).
    pub login: &'a str,
    pub csrf: &'a str,
    pub msg: Option<Msg>,
}

/// The login screen (seed §1 (2)): ユーザーID (user ID or e-mail), パスワード, ログイン.
pub fn login_view(pc: &PageCtx, v: &LoginView<'_>) -> Markup {
    let title = pc.t("ログイン", "Log in");
    let body = html! {
        section.card {
            h1.card-title { (title) }
            p.card-subtitle { (v.tenant.name) " " (pc.t("電子契約サービス", "e-contract service")) }
            (layout::messages(v.msg.as_ref()))
            form.form-grid method="post" action=(tenant_path(&v.tenant.code, "login")) {
                input type="hidden" name=(CSRF_FIELD) value=(v.csrf);
                label for="login" { (pc.t("ユーザーID", "User ID")) }
                div.field {
                    input #login type="text" name="login" value=(v.login) required autofocus
                        autocomplete="username" maxlength="254" autocapitalize="none" spellcheck="false"
                        placeholder=(pc.t("ユーザーIDまたはメールアドレス", "User ID or e-mail address"));
                }
                label for="password" { (pc.t("パスワード", "Password")) }
                div.field {
                    input #password type="password" name="password" required autocomplete="current-password"
                        maxlength="1024" placeholder=(pc.t("パスワード", "Password"));
                }
                div.actions-row {
                    button.button.button-wide type="submit" { (pc.t("ログイン", "Log in")) }
                }
            }
            p.card-links {
                a href=(tenant_path(&v.tenant.code, "support")) { (pc.t("サポートページ", "Support page")) }
            }
        }
    };
    layout::public_page(pc, title, Some(head(v.tenant)), false, body)
}

pub(super) struct CodeView<'a> {
    pub(super) tenant: &'a Tenant,
    pub(super) challenge: &'a str,
    pub(super) csrf: &'a str,
    pub(super) msg: Option<Msg>,
}

/// The second login step of a user with an authenticator app.
pub(super) fn code_view(pc: &PageCtx, v: &CodeView<'_>) -> Markup {
    let title = pc.t("二要素認証", "Two-factor authentication");
    let body = html! {
        section.card {
            h1.card-title { (title) }
            p.card-subtitle { (pc.t(
                "認証アプリに表示されている6桁の認証コードを入力してください。",
                "Enter the 6-digit code shown in your authenticator app.",
            )) }
            (layout::messages(v.msg.as_ref()))
            (code_form(pc, &tenant_path(&v.tenant.code, "login/totp"), v.challenge, v.csrf))
        }
    };
    layout::public_page(pc, title, Some(head(v.tenant)), false, body)
}

// ---------------------------------------------------------------------------------------
// 二要素認証 (the own authenticator)

/// What the 二要素認証 page shows.
pub(super) enum TotpState<'a> {
    /// Not set up (or pending): a button to start.
    Off,
    /// Just enrolled: the QR code and secret, and the confirmation form.
    Enrolling(&'a keiyaku_auth::totp::Enrollment),
    /// Just confirmed: the recovery codes, shown once.
    Confirmed(&'a [String]),
    /// Set up: the removal form.
    On,
}

pub(super) fn totp_view(pc: &PageCtx, s: &Signed, state: &TotpState<'_>, msg: Option<&Msg>) -> Markup {
    let title = pc.t("二要素認証", "Two-factor authentication");
    let forced = s.auth.must_enroll;
    let code_input = html! {
        label for="code" { (pc.t("認証コード", "Code")) }
        div.field {
            input #code type="text" name="code" required autocomplete="one-time-code" inputmode="numeric" maxlength="16";
        }
    };
    let body = html! {
        section.card.card-narrow #totp {
            h1.card-title { (title) }
            @if forced {
                (layout::message(&Msg::info(pc.t(
                    "ご利用の権限では二要素認証の設定が必要です。認証アプリを登録してください。",
                    "Your role requires two-factor authentication: please set up an authenticator app.",
                ))))
            }
            (layout::messages(msg))
            @match state {
                TotpState::Off => {
                    p { (pc.t(
                        "ログイン時に、パスワードに加えて認証アプリ(Google Authenticator、Microsoft Authenticator など)の6桁のコードを入力します。",
                        "At login you enter a 6-digit code from an authenticator app (Google Authenticator, Microsoft Authenticator, …) besides the password.",
                    )) }
                    form method="post" action=(tenant_path(&s.tenant_code, "totp/enroll")) {
                        input type="hidden" name=(CSRF_FIELD) value=(s.csrf());
                        button.button #totp-start type="submit" { (pc.t("設定を開始する", "Set up")) }
                    }
                }
                TotpState::Enrolling(e) => {
                    p { (pc.t(
                        "認証アプリでQRコードを読み取るか、キーを入力してください。表示された6桁のコードを入力すると設定が完了します。",
                        "Scan the QR code with the app, or type the key; then enter the 6-digit code it shows.",
                    )) }
                    div.totp-qr { (maud::PreEscaped(e.qr_svg.clone())) }
                    p { (pc.t("キー", "Key")) ": " code #totp-secret { (e.secret) } }
                    p.hint { a href=(e.otpauth_uri) { (pc.t("認証アプリで開く", "Open in the app")) } }
                    form.form-grid method="post" action=(tenant_path(&s.tenant_code, "totp/confirm")) {
                        input type="hidden" name=(CSRF_FIELD) value=(s.csrf());
                        (code_input)
                        div.actions-row { button.button #totp-confirm type="submit" { (pc.t("確認する", "Confirm")) } }
                    }
                }
                TotpState::Confirmed(codes) => {
                    p { (pc.t(
                        "二要素認証を設定しました。認証アプリを使えないときのため、次のリカバリーコードを安全な場所に保管してください。各コードは1回だけ使えます。この画面を閉じると再表示できません。",
                        "Two-factor authentication is on. Keep these recovery codes somewhere safe for when the app is not at hand; each works once, and they are not shown again.",
                    )) }
                    ul.recovery-codes #recovery-codes { @for c in codes.iter() { li { code { (c) } } } }
                    p { a.button href=(tenant_path(&s.tenant_code, "")) { (pc.t("ホームへ", "Home")) } }
                }
                TotpState::On => {
                    p { (pc.t("二要素認証は設定済みです。", "Two-factor authentication is on.")) }
                    form.form-grid method="post" action=(tenant_path(&s.tenant_code, "totp/remove")) {
                        input type="hidden" name=(CSRF_FIELD) value=(s.csrf());
                        (code_input)
                        div.actions-row {
                            button.button.button-secondary #totp-remove type="submit" { (pc.t("解除する", "Turn off")) }
                        }
                    }
                }
            }
        }
    };
    app_page(pc, s, layout::Tab::Normal, title, body)
}

/// What the password change page shows.
pub struct PasswordView<'a> {
    pub msg: Option<Msg>,
    pub errors: &'a [FieldError],
    /// The rules a new password must follow.
    pub policy: Vec<String>,
}

fn password_field(errors: &[FieldError], name: &str, label: &str, autocomplete: &str) -> Markup {
    let invalid = has_error(errors, name);
    html! {
        label for=(name) { (label) }
        div.field {
            input id=(name) type="password" name=(name) required maxlength="1024" autocomplete=(autocomplete)
                class=[invalid.then_some("invalid")]
                aria-invalid=[invalid.then_some("true")]
                aria-describedby=[invalid.then(|| format!("{name}-error"))];
            (field_errors(errors, name))
        }
    }
}

/// The password change screen: forced (first login) or voluntary.
pub fn password_view(pc: &PageCtx, s: &Signed, v: &PasswordView<'_>) -> Markup {
    let forced = s.auth.must_change;
    let title = pc.t("パスワード変更", "Change password");
    let body = html! {
        section.card.card-narrow {
            @if forced {
                (layout::message(&Msg::info(pc.t(
                    "初回ログインのため、パスワードの変更が必要です。",
                    "This is your first login: please change your password.",
                ))))
            }
            (layout::messages(v.msg.as_ref()))
            div.policy {
                p.policy-title { (pc.t("新しいパスワードの条件", "Rules for the new password")) }
                ul { @for line in &v.policy { li { (line) } } }
            }
            form.form-grid.wide-labels method="post" action=(tenant_path(&s.tenant_code, "password")) novalidate {
                input type="hidden" name=(CSRF_FIELD) value=(s.csrf());
                (password_field(v.errors, "current_password", pc.t("現在のパスワード", "Current password"), "current-password"))
                (password_field(v.errors, "new_password", pc.t("新しいパスワード", "New password"), "new-password"))
                (password_field(v.errors, "new_password_confirm", pc.t("新しいパスワード(確認)", "New password (again)"), "new-password"))
                div.actions-row {
                    button.button.button-wide type="submit" { (pc.t("変更する", "Change")) }
                    @if !forced {
                        " "
                        a.button.button-secondary href=(tenant_path(&s.tenant_code, "")) { (pc.t("キャンセル", "Cancel")) }
                    }
                }
            }
        }
    };
    app_page(pc, s, layout::Tab::Normal, title, body)
}

pub(super) fn policy(web: &Web, pc: &PageCtx) -> Vec<String> {
    password::policy_lines(web.kernel.config.section::<keiyaku_auth::AuthConfig>(), pc.lang)
}
