//! Pages of the auth module: login (`/t/:tenant/login`), password change
//! (`/t/:tenant/password`, forced at first login or voluntary) and logout
//! (`POST /t/:tenant/logout`).

use crate::Web;
use crate::layout::{self, Msg, PageCtx, TenantHead, app_page, field_errors, has_error};
use crate::session::{
    self, CSRF_FIELD, FormToken, Need, SESSION_COOKIE, Signed, clear_session_cookie, is_tenant_code, session_cookie,
    signed_in, tenant_path, token_cookie,
};
use keiyaku_auth::{AuthError, SessionKind, password};
use keiyaku_kernel::directory::{self, Tenant};
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
}

/// The tenant of a public page, or the page to show instead (404, 500).
pub(crate) async fn find_tenant(web: &Web, pc: &PageCtx, code: &str) -> Result<Tenant, Response> {
    if !is_tenant_code(code) {
        return Err(layout::not_found(pc));
    }
    let code = code.to_string();
    match web.kernel.store.read(move |tx| directory::get_tenant(tx, &code)).await {
        Ok(Some(t)) => Ok(t),
        Ok(None) => Err(layout::not_found(pc)),
        Err(e) => Err(layout::server_error(pc, &e)),
    }
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
async fn login_page(req: &Request, Path(tenant): Path<String>, Data(web): Data<&Web>) -> Response {
    let pc = PageCtx::of(req);
    let tenant = match find_tenant(web, &pc, &tenant).await {
        Ok(t) => t,
        Err(resp) => return resp,
    };
    // Already logged in: straight to the dashboard (or the pending password change).
    if let Some(token) = token_cookie(req, SESSION_COOKIE)
        && let Ok(a) = web.auth.authenticate(&tenant.code, &token, pc.client.clone(), true).await
    {
        let to = if a.must_change { "password" } else { "" };
        return layout::see_other(&tenant_path(&tenant.code, to), &[]);
    }
    let token = FormToken::for_request(req);
    let view = LoginView { tenant: &tenant, login: "", csrf: &token.value, msg: layout::notice_of(req, pc.lang) };
    pc.respond_with(StatusCode::OK, login_view(&pc, &view), &token.set_cookie())
}

#[handler]
async fn login_submit(
    req: &Request,
    Path(tenant): Path<String>,
    Data(web): Data<&Web>,
    form: poem::Result<Form<LoginForm>>,
) -> Response {
    let pc = PageCtx::of(req);
    let tenant = match find_tenant(web, &pc, &tenant).await {
        Ok(t) => t,
        Err(resp) => return resp,
    };
    let token = FormToken::for_request(req);
    let again = |status: StatusCode, login: &str, msg: Msg| {
        let view = LoginView { tenant: &tenant, login, csrf: &token.value, msg: Some(msg) };
        pc.respond_with(status, login_view(&pc, &view), &token.set_cookie())
    };
    let Ok(Form(form)) = form else {
        return again(
            StatusCode::BAD_REQUEST,
            "",
            Msg::error(pc.t("送信された内容を読み取れませんでした。", "The form could not be read."), None),
        );
    };
    if !FormToken::verify(req, &form.csrf) {
        return again(StatusCode::FORBIDDEN, &form.login, layout::expired_public_form(&pc));
    }
    match web.auth.login(&tenant.code, &form.login, &form.password, pc.client.clone(), SessionKind::Web).await {
        Ok(ok) => {
            let to = if ok.password_change_required { "password" } else { "" };
            layout::see_other(&tenant_path(&tenant.code, to), &[session_cookie(&tenant.code, &ok.token)])
        }
        Err(AuthError::UnknownTenant) => layout::not_found(&pc),
        Err(e) => {
            let p = e.problem(pc.lang);
            let status = StatusCode::from_u16(p.status).unwrap_or(StatusCode::BAD_REQUEST);
            if status.is_server_error() {
                return layout::server_error(&pc, &e);
            }
            let mut resp = again(status, &form.login, Msg::from_problem(&p));
            if let Some(secs) = p.retry_after
                && let Ok(v) = HeaderValue::from_str(&secs.to_string())
            {
                resp.headers_mut().insert(header::RETRY_AFTER, v);
            }
            resp
        }
    }
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
async fn password_page(req: &Request, Path(tenant): Path<String>, Data(web): Data<&Web>) -> Response {
    let pc = PageCtx::of(req);
    let s = match signed_in(web, &pc, req, &tenant, Need::AllowPasswordChange).await {
        Ok(s) => s,
        Err(resp) => return resp,
    };
    let view = PasswordView { msg: None, errors: &[], policy: policy(web, &pc) };
    pc.respond(StatusCode::OK, password_view(&pc, &s, &view))
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
) -> Response {
    let pc = PageCtx::of(req);
    let s = match signed_in(web, &pc, req, &tenant, Need::AllowPasswordChange).await {
        Ok(s) => s,
        Err(resp) => return resp,
    };
    let again = |status: StatusCode, msg: Option<Msg>, errors: &[FieldError]| {
        let view = PasswordView { msg, errors, policy: policy(web, &pc) };
        pc.respond(status, password_view(&pc, &s, &view))
    };
    let Ok(Form(form)) = form else {
        return layout::bad_form(&pc);
    };
    if !s.check_csrf(&form.csrf) {
        return again(StatusCode::FORBIDDEN, Some(layout::expired_public_form(&pc)), &[]);
    }
    let errors = check_password_form(&form, &pc);
    if !errors.is_empty() {
        let msg = layout::invalid_msg(&pc);
        return again(StatusCode::UNPROCESSABLE_ENTITY, Some(msg), &errors);
    }
    match web.auth.change_password(s.caller(), &form.current_password, &form.new_password).await {
        Ok(()) => layout::see_other(&format!("{}?notice=password_changed", tenant_path(&s.tenant_code, "")), &[]),
        Err(AuthError::Unauthenticated) => layout::see_other(
            &format!("{}?notice=session_expired", tenant_path(&s.tenant_code, "login")),
            &[clear_session_cookie(&s.tenant_code)],
        ),
        Err(e) => {
            let p = e.problem(pc.lang);
            let status = StatusCode::from_u16(p.status).unwrap_or(StatusCode::BAD_REQUEST);
            if status.is_server_error() {
                return layout::server_error(&pc, &e);
            }
            let msg = Msg::error(p.title.clone(), p.detail.clone());
            again(status, Some(msg), &p.errors)
        }
    }
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
) -> Response {
    let pc = PageCtx::of(req);
    if !is_tenant_code(&tenant) {
        return layout::not_found(&pc);
    }
    let logged_out = || {
        layout::see_other(
            &format!("{}?notice=logged_out", tenant_path(&tenant, "login")),
            &[clear_session_cookie(&tenant)],
        )
    };
    let Some(token) = token_cookie(req, SESSION_COOKIE) else {
        return logged_out();
    };
    let a = match web.auth.authenticate(&tenant, &token, pc.client.clone(), true).await {
        Ok(a) => a,
        // The session has ended already: nothing to revoke.
        Err(AuthError::Unauthenticated | AuthError::UnknownTenant) => return logged_out(),
        Err(e) => return layout::server_error(&pc, &e),
    };
    let submitted = form.map(|f| f.0.csrf).unwrap_or_default();
    if !session::tokens_match(&a.session.csrf, &submitted) {
        return layout::error_page(
            &pc,
            StatusCode::FORBIDDEN,
            pc.t("画面の有効期限が切れたか、不正な送信です。", "This form has expired or was not sent from this site."),
            Some(pc.t(
                "画面を開き直してから、もう一度ログアウトしてください。",
                "Please reload the page and log out again.",
            )),
            Some((&tenant_path(&tenant, ""), pc.t("ダッシュボードへ戻る", "Back to the dashboard"))),
        );
    }
    match web.auth.logout(&token, a.caller.actor()).await {
        Ok(()) => logged_out(),
        Err(e) => layout::server_error(&pc, &e),
    }
}
