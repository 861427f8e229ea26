use super::forms::{CodeForm, CsrfForm, LoginForm, PasswordForm, TotpForm, check_password_form};
use super::views::{
    CodeView, LoginView, PasswordView, TotpState, code_view, login_view, password_view, policy, totp_view,
};
use crate::Web;
use crate::layout::{self, Msg, PageCtx};
use crate::page::{PageResult, find_tenant};
use crate::session::{
    self, FormToken, Need, SESSION_COOKIE, Signed, clear_session_cookie, is_tenant_code, session_cookie, signed_in,
    tenant_path, token_cookie,
};
use keiyaku_auth::{AuthError, Login, SessionKind};
use keiyaku_kernel::error::{ApiError, FieldError};
use poem::http::{HeaderValue, StatusCode, header};
use poem::web::{Data, Form, Path};
use poem::{Request, Response, handler};

#[handler]
pub(super) async fn login_page(req: &Request, Path(tenant): Path<String>, Data(web): Data<&Web>) -> PageResult {
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
pub(super) async fn login_submit(
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

#[handler]
pub(super) async fn login_totp_submit(
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

async fn totp_signed(web: &Web, req: &Request, tenant: &str) -> Result<(PageCtx, Signed), Response> {
    let pc = PageCtx::of(req);
    let s = signed_in(web, &pc, req, tenant, Need::AllowPasswordChange).await?;
    Ok((pc, s))
}

#[handler]
pub(super) async fn totp_page(req: &Request, Path(tenant): Path<String>, Data(web): Data<&Web>) -> PageResult {
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
pub(super) async fn totp_enroll(
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
pub(super) async fn totp_confirm(
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
pub(super) async fn totp_remove(
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

#[handler]
pub(super) async fn password_page(req: &Request, Path(tenant): Path<String>, Data(web): Data<&Web>) -> PageResult {
    let pc = PageCtx::of(req);
    let s = signed_in(web, &pc, req, &tenant, Need::AllowPasswordChange).await?;
    let view = PasswordView { msg: None, errors: &[], policy: policy(web, &pc) };
    Ok(pc.respond(StatusCode::OK, password_view(&pc, &s, &view)))
}

#[handler]
pub(super) async fn password_submit(
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

#[handler]
pub(super) async fn logout(
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
