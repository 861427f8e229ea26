use super::forms::{CsrfForm, MailboxQuery, OperatorCodeForm, OperatorLoginForm, address_filter};
use super::views::{LIMIT, MailboxView, RenewalSummary, mailbox_view, operator_code_view, operator_login_view};
use crate::Web;
use crate::api::http::content_disposition;
use crate::layout::{self, Msg, PageCtx};
use crate::page::PageResult;
use crate::session::{self, FormToken, OPERATOR_COOKIE, token_cookie};
use keiyaku_auth::AuthError;
use keiyaku_kernel::context::Actor;
use keiyaku_kernel::error::ApiError;
use keiyaku_kernel::mail::{self};
use keiyaku_kernel::store::StoreError;
use poem::http::{HeaderValue, StatusCode, header};
use poem::web::{Data, Form, Path, Query};
use poem::{Request, Response, handler};

/// Who may see the outbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Access {
    /// `mail.mailbox_public`: anyone.
    Public,
    /// The operator, logged in on this page.
    Operator,
    Denied,
}

pub(super) async fn access(web: &Web, pc: &PageCtx, req: &Request) -> Result<Access, Response> {
    let public = if web.kernel.config.mail.mailbox_public { Access::Public } else { Access::Denied };
    let Some(token) = token_cookie(req, OPERATOR_COOKIE) else {
        return Ok(public);
    };
    match web.auth.operator(&token, pc.client.clone()).await {
        Ok(_) => Ok(Access::Operator),
        Err(AuthError::Unauthenticated) => Ok(public),
        Err(e) => Err(layout::server_error(pc, &e)),
    }
}

impl Access {
    /// Whose mail this reader sees (the demo's public mailbox: the demo tenant's only).
    fn scope(self, web: &Web) -> mail::Scope {
        match self {
            Access::Public => mail::Scope::public(&web.kernel.config),
            Access::Operator | Access::Denied => mail::Scope::All,
        }
    }
}

#[handler]
pub(super) async fn operator_login_totp(
    req: &Request,
    Data(web): Data<&Web>,
    form: poem::Result<Form<OperatorCodeForm>>,
) -> PageResult {
    let pc = PageCtx::of(req);
    let token = FormToken::for_request(req);
    let Ok(Form(form)) = form else {
        return Ok(layout::bad_form(&pc));
    };
    let again = |status: StatusCode, msg: Msg| {
        pc.respond_with(status, operator_code_view(&pc, &form.challenge, &token.value, Some(&msg)), &token.set_cookie())
    };
    if !FormToken::verify(req, &form.csrf) {
        return Ok(again(StatusCode::FORBIDDEN, layout::expired_public_form(&pc)));
    }
    Ok(match web.auth.operator_login_totp(&form.challenge, &form.code, pc.client.clone()).await {
        Ok(t) => layout::see_other("/mailbox", &[session::cookie(OPERATOR_COOKIE, &t, "/")]),
        Err(AuthError::ChallengeInvalid) => layout::see_other("/mailbox", &[]),
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

/// The last archive renewal run, for the operator.
#[cfg(feature = "contracts")]
pub(super) async fn renewal(web: &Web) -> Option<RenewalSummary> {
    let run = web.contracts.last_renewal().await.ok()??;
    Some(RenewalSummary {
        finished: run.finished_at.map(keiyaku_kernel::clock::display),
        within_days: run.within_days,
        checked: run.checked,
        renewed: run.renewed,
        failed: run.failed,
        errors: run.errors,
    })
}

#[cfg(not(feature = "contracts"))]
pub(super) async fn renewal(_: &Web) -> Option<RenewalSummary> {
    None
}

#[handler]
pub(super) async fn mailbox(
    req: &Request,
    Data(web): Data<&Web>,
    query: poem::Result<Query<MailboxQuery>>,
) -> PageResult {
    let pc = PageCtx::of(req);
    let access = access(web, &pc, req).await?;
    if access == Access::Denied {
        let token = FormToken::for_request(req);
        return Ok(pc.respond_with(
            StatusCode::OK,
            operator_login_view(&pc, session_operator_name(), &token.value, None),
            &token.set_cookie(),
        ));
    }
    let filter = address_filter(query.ok().and_then(|q| q.0.to).as_deref());
    let f = filter.clone();
    let scope = access.scope(web);
    let loaded = web
        .kernel
        .store
        .read(move |tx| {
            let mails = mail::list_in(tx, scope, f.as_deref(), LIMIT)?;
            let mut recipients: Vec<String> =
                mail::list_in(tx, scope, None, 500)?.into_iter().map(|m| m.to.to_ascii_lowercase()).collect();
            recipients.sort();
            recipients.dedup();
            Ok::<_, StoreError>((mails, recipients))
        })
        .await;
    let (mails, recipients) = match loaded {
        Ok(x) => x,
        Err(e) => return Ok(layout::server_error(&pc, &e)),
    };
    let token = (access == Access::Operator).then(|| FormToken::for_request(req));
    let view = MailboxView {
        mails: &mails,
        recipients: &recipients,
        filter: filter.as_deref(),
        public: access == Access::Public,
        logout_csrf: token.as_ref().map(|t| t.value.as_str()),
        renewal: if access == Access::Operator { renewal(web).await } else { None },
    };
    let cookies = token.as_ref().map(FormToken::set_cookie).unwrap_or_default();
    Ok(pc.respond_with(StatusCode::OK, mailbox_view(&pc, &view), &cookies))
}

fn session_operator_name() -> &'static str {
    keiyaku_auth::OPERATOR_ID
}

#[handler]
pub(super) async fn operator_login(
    req: &Request,
    Data(web): Data<&Web>,
    form: poem::Result<Form<OperatorLoginForm>>,
) -> PageResult {
    let pc = PageCtx::of(req);
    let token = FormToken::for_request(req);
    let again = |status: StatusCode, login: &str, msg: Msg| {
        pc.respond_with(status, operator_login_view(&pc, login, &token.value, Some(&msg)), &token.set_cookie())
    };
    let Ok(Form(form)) = form else {
        return Ok(layout::bad_form(&pc));
    };
    let login = if form.login.trim().is_empty() { session_operator_name() } else { form.login.trim() };
    if !FormToken::verify(req, &form.csrf) {
        return Ok(again(StatusCode::FORBIDDEN, login, layout::expired_public_form(&pc)));
    }
    Ok(match web.auth.operator_login(login, &form.password, pc.client.clone()).await {
        Ok(keiyaku_auth::OperatorLogin::Token(token)) => {
            layout::see_other("/mailbox", &[session::cookie(OPERATOR_COOKIE, &token, "/")])
        }
        Ok(keiyaku_auth::OperatorLogin::TotpRequired { challenge }) => pc.respond_with(
            StatusCode::OK,
            operator_code_view(&pc, &challenge, &token.value, None),
            &token.set_cookie(),
        ),
        Err(e) => {
            let p = e.problem(pc.lang);
            let status = StatusCode::from_u16(p.status).unwrap_or(StatusCode::BAD_REQUEST);
            if status.is_server_error() {
                return Ok(layout::server_error(&pc, &e));
            }
            let title = match e {
                AuthError::InvalidCredentials => pc
                    .t("ログインIDまたはパスワードが正しくありません。", "The login or password is incorrect.")
                    .to_string(),
                _ => p.title.clone(),
            };
            again(status, login, Msg::error(title, p.detail.clone()))
        }
    })
}

#[handler]
pub(super) async fn operator_logout(
    req: &Request,
    Data(web): Data<&Web>,
    form: poem::Result<Form<CsrfForm>>,
) -> PageResult {
    let pc = PageCtx::of(req);
    let submitted = form.map(|f| f.0.csrf).unwrap_or_default();
    if !FormToken::verify(req, &submitted) {
        return Ok(layout::error_page(
            &pc,
            StatusCode::FORBIDDEN,
            pc.t("画面の有効期限が切れたか、不正な送信です。", "This form has expired or was not sent from this site."),
            None,
            Some(("/mailbox", pc.t("メールボックスへ戻る", "Back to the mailbox"))),
        ));
    }
    if let Some(token) = token_cookie(req, OPERATOR_COOKIE)
        && let Err(e) = web.auth.logout(&token, Actor::operator(pc.client.clone())).await
    {
        return Ok(layout::server_error(&pc, &e));
    }
    Ok(layout::see_other("/mailbox", &[session::expired_cookie(OPERATOR_COOKIE, "/")]))
}

#[handler]
pub(super) async fn attachment(
    req: &Request,
    Path((id, index)): Path<(String, String)>,
    Data(web): Data<&Web>,
) -> PageResult {
    let pc = PageCtx::of(req);
    let scope = match access(web, &pc, req).await {
        Ok(Access::Denied) => {
            return Ok(layout::error_page(
                &pc,
                StatusCode::UNAUTHORIZED,
                pc.t("ログインが必要です。", "Please log in."),
                None,
                Some(("/mailbox", pc.t("メールボックスへ", "To the mailbox"))),
            ));
        }
        Ok(a) => a.scope(web),
        Err(resp) => return Ok(resp),
    };
    let Ok(index) = index.parse::<usize>() else {
        return Ok(layout::not_found(&pc));
    };
    if id.len() > 64 {
        return Ok(layout::not_found(&pc));
    }
    let found = web.kernel.store.read(move |tx| mail::get(tx, &id)).await;
    let att = match found {
        Ok(m) => m.filter(|m| scope.shows(m)).and_then(|m| m.attachments.get(index).cloned()),
        Err(e) => return Ok(layout::server_error(&pc, &e)),
    };
    let Some(att) = att else {
        return Ok(layout::not_found(&pc));
    };
    let ct = HeaderValue::from_str(&att.content_type)
        .unwrap_or_else(|_| HeaderValue::from_static("application/octet-stream"));
    let cd = HeaderValue::from_str(&content_disposition(&att.name))
        .unwrap_or_else(|_| HeaderValue::from_static("attachment"));
    Ok(Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, ct)
        .header(header::CONTENT_DISPOSITION, cd)
        .header(header::CACHE_CONTROL, "no-store")
        .body(att.bytes()))
}
