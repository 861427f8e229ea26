//! Pages of the auth module: login (`/t/:tenant/login`), password change
//! (`/t/:tenant/password`, forced at first login or voluntary) and logout
//! (`POST /t/:tenant/logout`).

use crate::Web;
use crate::form::code_form;
use crate::layout::{self, Msg, PageCtx, TenantHead, app_page, field_errors, has_error};
use crate::page::{PageResult, find_tenant};
use crate::session::{
    self, CSRF_FIELD, FormToken, Need, SESSION_COOKIE, Signed, clear_session_cookie, is_tenant_code, session_cookie,
    signed_in, tenant_path, token_cookie,
};
use keiyaku_auth::{AuthError, Login, SessionKind, password};
use keiyaku_kernel::directory::Tenant;
use keiyaku_kernel::error::{ApiError, FieldError};
use keiyaku_kernel::validate::{Invalid, Rule};
use maud::{Markup, html};
use poem::http::{HeaderValue, StatusCode, header};
use poem::web::{Data, Form, Path};
use poem::{EndpointExt, Request, Response, Route, get, handler, post};
use serde::Deserialize;

pub(crate) fn mount(route: Route, web: &Web) -> Route {
    route
        .at("/t/:tenant/login", get(login_page).post(login_submit).data(web.clone()))
        .at("/t/:tenant/password", get(password_page).post(password_submit).data(web.clone()))
        .at("/t/:tenant/logout", post(logout).data(web.clone()))
        .at("/t/:tenant/login/totp", post(login_totp_submit).data(web.clone()))
        .at("/t/:tenant/totp", get(totp_page).data(web.clone()))
        .at("/t/:tenant/totp/enroll", post(totp_enroll).data(web.clone()))
        .at("/t/:tenant/totp/confirm", post(totp_confirm).data(web.clone()))
        .at("/t/:tenant/totp/remove", post(totp_remove).data(web.clone()))
}

fn head(t: &Tenant) -> TenantHead<'_> {
    TenantHead { code: &t.code, name: &t.name, trial: t.trial }
}

// ---------------------------------------------------------------------------------------
// Login

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct LoginForm {
    login: String,
    password: String,
    csrf: String,
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

#[handler]
async fn login_page(req: &Request, Path(tenant): Path<String>, Data(web): Data<&Web>) -> PageResult {
    let pc = PageCtx::of(req);
    let tenant = find_tenant(web, &pc, &tenant).await?;
    // Already logged in: straight to the dashboard (or the pending password change).
    if let Some(token) = token_cookie(req, SESSION_COOKIE)
        && let Ok(a) = web.auth.authenticate(&tenant.code, &token, pc.client.clone(), true).await
    {
        let to = if a.must_change { "password" } else { "" };
        return Ok(layout::see_other(&tenant_path(&tenant.code, to), &[]));
    }
    let token = FormToken::for_request(req);
    let view = LoginView { tenant: &tenant, login: "", csrf: &token.value, msg: layout::notice_of(req, pc.lang) };
    Ok(pc.respond_with(StatusCode::OK, login_view(&pc, &view), &token.set_cookie()))
}

#[handler]
async fn login_submit(
    req: &Request,
    Path(tenant): Path<String>,
    Data(web): Data<&Web>,
    form: poem::Result<Form<LoginForm>>,
) -> PageResult {
    let pc = PageCtx::of(req);
    let tenant = find_tenant(web, &pc, &tenant).await?;
    let token = FormToken::for_request(req);
    let again = |status: StatusCode, login: &str, msg: Msg| {
        let view = LoginView { tenant: &tenant, login, csrf: &token.value, msg: Some(msg) };
        pc.respond_with(status, login_view(&pc, &view), &token.set_cookie())
    };
    let Ok(Form(form)) = form else {
        return Ok(again(
            StatusCode::BAD_REQUEST,
            "",
            Msg::error(pc.t("送信された内容を読み取れませんでした。", "The form could not be read."), None),
        ));
    };
    if !FormToken::verify(req, &form.csrf) {
        return Ok(again(StatusCode::FORBIDDEN, &form.login, layout::expired_public_form(&pc)));
    }
    Ok(match web.auth.login(&tenant.code, &form.login, &form.password, pc.client.clone(), SessionKind::Web).await {
        Ok(Login::Session(ok)) => {
            let to = if ok.password_change_required {
                "password"
            } else if ok.totp_enrollment_required {
                "totp"
            } else {
                ""
            };
            layout::see_other(&tenant_path(&tenant.code, to), &[session_cookie(&tenant.code, &ok.token)])
        }
        Ok(Login::TotpRequired { challenge, .. }) => {
            let view = CodeView { tenant: &tenant, challenge: &challenge, csrf: &token.value, msg: None };
            pc.respond_with(StatusCode::OK, code_view(&pc, &view), &token.set_cookie())
        }
        Err(AuthError::UnknownTenant) => layout::not_found(&pc),
        Err(e) => {
            let p = e.problem(pc.lang);
            let status = StatusCode::from_u16(p.status).unwrap_or(StatusCode::BAD_REQUEST);
            if status.is_server_error() {
                return Ok(layout::server_error(&pc, &e));
            }
            let mut resp = again(status, &form.login, Msg::from_problem(&p));
            if let Some(secs) = p.retry_after
                && let Ok(v) = HeaderValue::from_str(&secs.to_string())
            {
                resp.headers_mut().insert(header::RETRY_AFTER, v);
            }
            resp
        }
    })
}

// ---------------------------------------------------------------------------------------
// Login, second step (認証コード)

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct CodeForm {
    challenge: String,
    code: String,
    csrf: String,
}

struct CodeView<'a> {
    tenant: &'a Tenant,
    challenge: &'a str,
    csrf: &'a str,
    msg: Option<Msg>,
}

/// The second login step of a user with an authenticator app.
fn code_view(pc: &PageCtx, v: &CodeView<'_>) -> Markup {
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

#[handler]
async fn login_totp_submit(
    req: &Request,
    Path(tenant): Path<String>,
    Data(web): Data<&Web>,
    form: poem::Result<Form<CodeForm>>,
) -> PageResult {
    let pc = PageCtx::of(req);
    let tenant = find_tenant(web, &pc, &tenant).await?;
    let token = FormToken::for_request(req);
    let Ok(Form(form)) = form else {
        return Ok(layout::bad_form(&pc));
    };
    let again = |status: StatusCode, msg: Msg| {
        let view = CodeView { tenant: &tenant, challenge: &form.challenge, csrf: &token.value, msg: Some(msg) };
        pc.respond_with(status, code_view(&pc, &view), &token.set_cookie())
    };
    if !FormToken::verify(req, &form.csrf) {
        return Ok(again(StatusCode::FORBIDDEN, layout::expired_public_form(&pc)));
    }
    Ok(match web.auth.login_totp(&tenant.code, &form.challenge, &form.code, pc.client.clone()).await {
        Ok(ok) => {
            let to = if ok.password_change_required { "password" } else { "" };
            layout::see_other(&tenant_path(&tenant.code, to), &[session_cookie(&tenant.code, &ok.token)])
        }
        Err(AuthError::ChallengeInvalid) => {
            layout::see_other(&format!("{}?notice=session_expired", tenant_path(&tenant.code, "login")), &[])
        }
        Err(e) => {
            let p = e.problem(pc.lang);
            let status = StatusCode::from_u16(p.status).unwrap_or(StatusCode::BAD_REQUEST);
            if status.is_server_error() {
                return Ok(layout::server_error(&pc, &e));
            }
            again(status, Msg::from_problem(&p))
        }
    })
}

// ---------------------------------------------------------------------------------------
// 二要素認証 (the own authenticator)

/// What the 二要素認証 page shows.
enum TotpState<'a> {
    /// Not set up (or pending): a button to start.
    Off,
    /// Just enrolled: the QR code and secret, and the confirmation form.
    Enrolling(&'a keiyaku_auth::totp::Enrollment),
    /// Just confirmed: the recovery codes, shown once.
    Confirmed(&'a [String]),
    /// Set up: the removal form.
    On,
}

fn totp_view(pc: &PageCtx, s: &Signed, state: &TotpState<'_>, msg: Option<&Msg>) -> Markup {
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

async fn totp_signed(web: &Web, req: &Request, tenant: &str) -> Result<(PageCtx, Signed), Response> {
    let pc = PageCtx::of(req);
    let s = signed_in(web, &pc, req, tenant, Need::AllowPasswordChange).await?;
    Ok((pc, s))
}

#[handler]
async fn totp_page(req: &Request, Path(tenant): Path<String>, Data(web): Data<&Web>) -> PageResult {
    let (pc, s) = totp_signed(web, req, &tenant).await?;
    Ok(match web.auth.totp_enrolled(Some(&s.tenant_code), &s.caller().user_id).await {
        Ok(on) => {
            let state = if on { TotpState::On } else { TotpState::Off };
            let msg = layout::notice_of(req, pc.lang);
            pc.respond(StatusCode::OK, totp_view(&pc, &s, &state, msg.as_ref()))
        }
        Err(e) => layout::server_error(&pc, &e),
    })
}

/// Renders a refused TOTP change on its page.
fn totp_refused(pc: &PageCtx, s: &Signed, e: &AuthError, state: &TotpState<'_>) -> Response {
    let p = e.problem(pc.lang);
    let status = StatusCode::from_u16(p.status).unwrap_or(StatusCode::BAD_REQUEST);
    if status.is_server_error() {
        return layout::server_error(pc, e);
    }
    pc.respond(status, totp_view(pc, s, state, Some(&Msg::from_problem(&p))))
}

#[handler]
async fn totp_enroll(
    req: &Request,
    Path(tenant): Path<String>,
    Data(web): Data<&Web>,
    form: poem::Result<Form<CsrfForm>>,
) -> PageResult {
    let (pc, s) = totp_signed(web, req, &tenant).await?;
    if !form.is_ok_and(|Form(f)| s.check_csrf(&f.csrf)) {
        return Ok(pc.respond(
            StatusCode::FORBIDDEN,
            totp_view(&pc, &s, &TotpState::Off, Some(&layout::expired_public_form(&pc))),
        ));
    }
    Ok(match web.auth.enroll_totp(Some(&s.tenant_code), &s.caller().user_id, s.caller().actor()).await {
        Ok(e) => pc.respond(StatusCode::OK, totp_view(&pc, &s, &TotpState::Enrolling(&e), None)),
        Err(e) => totp_refused(&pc, &s, &e, &TotpState::On),
    })
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct TotpForm {
    code: String,
    csrf: String,
}

/// A posted 二要素認証 form, read and its CSRF token checked (else the page to send).
async fn totp_posted(
    web: &Web,
    req: &Request,
    tenant: &str,
    form: poem::Result<Form<TotpForm>>,
    state: &TotpState<'_>,
) -> Result<(PageCtx, Signed, TotpForm), Response> {
    let (pc, s) = totp_signed(web, req, tenant).await?;
    let Ok(Form(form)) = form else {
        return Err(layout::bad_form(&pc));
    };
    if !s.check_csrf(&form.csrf) {
        let msg = layout::expired_public_form(&pc);
        return Err(pc.respond(StatusCode::FORBIDDEN, totp_view(&pc, &s, state, Some(&msg))));
    }
    Ok((pc, s, form))
}

#[handler]
async fn totp_confirm(
    req: &Request,
    Path(tenant): Path<String>,
    Data(web): Data<&Web>,
    form: poem::Result<Form<TotpForm>>,
) -> PageResult {
    let (pc, s, form) = totp_posted(web, req, &tenant, form, &TotpState::Off).await?;
    Ok(match web.auth.confirm_totp(Some(&s.tenant_code), &s.caller().user_id, &form.code, s.caller().actor()).await {
        Ok(codes) => {
            // Shown once; the forced notice no longer applies.
            let mut s = s;
            s.auth.must_enroll = false;
            pc.respond(StatusCode::OK, totp_view(&pc, &s, &TotpState::Confirmed(&codes), None))
        }
        Err(e) => {
            // A wrong code: enrolling again shows a new QR code (the old one stays pending).
            let msg = Msg::from_problem(&e.problem(pc.lang));
            match web.auth.enroll_totp(Some(&s.tenant_code), &s.caller().user_id, s.caller().actor()).await {
                Ok(again) => pc.respond(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    totp_view(&pc, &s, &TotpState::Enrolling(&again), Some(&msg)),
                ),
                Err(e2) => totp_refused(&pc, &s, &e2, &TotpState::Off),
            }
        }
    })
}

#[handler]
async fn totp_remove(
    req: &Request,
    Path(tenant): Path<String>,
    Data(web): Data<&Web>,
    form: poem::Result<Form<TotpForm>>,
) -> PageResult {
    let (pc, s, form) = totp_posted(web, req, &tenant, form, &TotpState::On).await?;
    Ok(match web.auth.remove_totp(Some(&s.tenant_code), &s.caller().user_id, &form.code, s.caller().actor()).await {
        Ok(()) => layout::see_other(&format!("{}?notice=totp_removed", tenant_path(&s.tenant_code, "totp")), &[]),
        Err(e) => totp_refused(&pc, &s, &e, &TotpState::On),
    })
}

// ---------------------------------------------------------------------------------------
// Password change

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct PasswordForm {
    current_password: String,
    new_password: String,
    new_password_confirm: String,
    csrf: String,
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

fn policy(web: &Web, pc: &PageCtx) -> Vec<String> {
    password::policy_lines(&web.kernel.config.auth, pc.lang)
}

#[handler]
async fn password_page(req: &Request, Path(tenant): Path<String>, Data(web): Data<&Web>) -> PageResult {
    let pc = PageCtx::of(req);
    let s = signed_in(web, &pc, req, &tenant, Need::AllowPasswordChange).await?;
    let view = PasswordView { msg: None, errors: &[], policy: policy(web, &pc) };
    Ok(pc.respond(StatusCode::OK, password_view(&pc, &s, &view)))
}

/// Checks of the form itself (before the service is asked): required fields and the
/// confirmation.
fn check_password_form(form: &PasswordForm, pc: &PageCtx) -> Vec<FieldError> {
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
                code: "mismatch",
                ja: "新しいパスワードと確認用のパスワードが一致しません。".into(),
                en: "The two new passwords do not match.".into(),
            },
        ));
    }
    invalid.iter().map(|i| i.to_field_error(pc.lang)).collect()
}

#[handler]
async fn password_submit(
    req: &Request,
    Path(tenant): Path<String>,
    Data(web): Data<&Web>,
    form: poem::Result<Form<PasswordForm>>,
) -> PageResult {
    let pc = PageCtx::of(req);
    let s = signed_in(web, &pc, req, &tenant, Need::AllowPasswordChange).await?;
    let again = |status: StatusCode, msg: Option<Msg>, errors: &[FieldError]| {
        let view = PasswordView { msg, errors, policy: policy(web, &pc) };
        pc.respond(status, password_view(&pc, &s, &view))
    };
    let Ok(Form(form)) = form else {
        return Ok(layout::bad_form(&pc));
    };
    if !s.check_csrf(&form.csrf) {
        return Ok(again(StatusCode::FORBIDDEN, Some(layout::expired_public_form(&pc)), &[]));
    }
    let errors = check_password_form(&form, &pc);
    if !errors.is_empty() {
        let msg = layout::invalid_msg(&pc);
        return Ok(again(StatusCode::UNPROCESSABLE_ENTITY, Some(msg), &errors));
    }
    Ok(match web.auth.change_password(s.caller(), &s.token, &form.current_password, &form.new_password).await {
        Ok(()) => layout::see_other(&format!("{}?notice=password_changed", tenant_path(&s.tenant_code, "")), &[]),
        Err(AuthError::Unauthenticated) => layout::see_other(
            &format!("{}?notice=session_expired", tenant_path(&s.tenant_code, "login")),
            &[clear_session_cookie(&s.tenant_code)],
        ),
        Err(e) => {
            let p = e.problem(pc.lang);
            let status = StatusCode::from_u16(p.status).unwrap_or(StatusCode::BAD_REQUEST);
            if status.is_server_error() {
                return Ok(layout::server_error(&pc, &e));
            }
            let msg = Msg::error(p.title.clone(), p.detail.clone());
            again(status, Some(msg), &p.errors)
        }
    })
}

// ---------------------------------------------------------------------------------------
// Logout

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct CsrfForm {
    csrf: String,
}

#[handler]
async fn logout(
    req: &Request,
    Path(tenant): Path<String>,
    Data(web): Data<&Web>,
    form: poem::Result<Form<CsrfForm>>,
) -> PageResult {
    let pc = PageCtx::of(req);
    if !is_tenant_code(&tenant) {
        return Ok(layout::not_found(&pc));
    }
    let logged_out = || {
        layout::see_other(
            &format!("{}?notice=logged_out", tenant_path(&tenant, "login")),
            &[clear_session_cookie(&tenant)],
        )
    };
    let Some(token) = token_cookie(req, SESSION_COOKIE) else {
        return Ok(logged_out());
    };
    let a = match web.auth.authenticate(&tenant, &token, pc.client.clone(), true).await {
        Ok(a) => a,
        // The session has ended already: nothing to revoke.
        Err(AuthError::Unauthenticated | AuthError::UnknownTenant) => return Ok(logged_out()),
        Err(e) => return Ok(layout::server_error(&pc, &e)),
    };
    let submitted = form.map(|f| f.0.csrf).unwrap_or_default();
    if !session::tokens_match(&a.session.csrf, &submitted) {
        return Ok(layout::error_page(
            &pc,
            StatusCode::FORBIDDEN,
            pc.t("画面の有効期限が切れたか、不正な送信です。", "This form has expired or was not sent from this site."),
            Some(pc.t(
                "画面を開き直してから、もう一度ログアウトしてください。",
                "Please reload the page and log out again.",
            )),
            Some((&tenant_path(&tenant, ""), pc.t("ダッシュボードへ戻る", "Back to the dashboard"))),
        ));
    }
    Ok(match web.auth.logout(&token, a.caller.actor()).await {
        Ok(()) => logged_out(),
        Err(e) => layout::server_error(&pc, &e),
    })
}
