//! `/mailbox`: the outbox (every mail the appliance sent, newest first), so one-time links
//! can be followed without a mail server. Open to anyone when `mail.mailbox_public`,
//! otherwise to the operator, who logs in on the page (`POST /mailbox/login`, cookie
//! `keiyaku_operator`, double-submit CSRF like the login form).

use crate::Web;
use crate::form::code_form;
use crate::layout::{self, Msg, PageCtx};
use crate::linkify::linkify;
use crate::page::PageResult;
use crate::session::{self, CSRF_FIELD, FormToken, OPERATOR_COOKIE, token_cookie};
use keiyaku_auth::AuthError;
use keiyaku_kernel::clock;
use keiyaku_kernel::context::Actor;
use keiyaku_kernel::error::ApiError;
use keiyaku_kernel::mail::{self, Delivery, Mail};
use keiyaku_kernel::store::StoreError;
use maud::{Markup, html};
use poem::http::{HeaderValue, StatusCode, header};
use poem::web::{Data, Form, Path, Query};
use poem::{EndpointExt, Request, Response, Route, get, handler, post};
use serde::Deserialize;

/// Mails shown at most.
const LIMIT: usize = 200;
/// Mails shown opened (the rest are collapsed).
const OPEN: usize = 10;
const ADDRESS_MAX: usize = 254;

pub(crate) fn mount(route: Route, web: &Web) -> Route {
    route
        .at("/mailbox", get(mailbox).data(web.clone()))
        .at("/mailbox/login", post(operator_login).data(web.clone()))
        .at("/mailbox/login/totp", post(operator_login_totp).data(web.clone()))
        .at("/mailbox/logout", post(operator_logout).data(web.clone()))
        .at("/mailbox/:id/attachments/:index", get(attachment).data(web.clone()))
}

/// Who may see the outbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Access {
    /// `mail.mailbox_public`: anyone.
    Public,
    /// The operator, logged in on this page.
    Operator,
    Denied,
}

async fn access(web: &Web, pc: &PageCtx, req: &Request) -> Result<Access, Response> {
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

/// Percent-encodes a query parameter value.
fn encode_query_value(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'@') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The address filter of the query: trimmed, empty or absurdly long means none.
fn address_filter(to: Option<&str>) -> Option<String> {
    to.map(str::trim).filter(|t| !t.is_empty() && t.chars().count() <= ADDRESS_MAX).map(str::to_string)
}

fn sent_at(m: &Mail) -> String {
    m.created_at.parse::<jiff::Timestamp>().map(clock::display).unwrap_or_else(|_| m.created_at.clone())
}

fn delivery_label(pc: &PageCtx, d: Delivery) -> &'static str {
    match d {
        Delivery::Stored => pc.t("メールボックスのみ", "outbox only"),
        Delivery::Pending => pc.t("送信待ち", "queued"),
        Delivery::Sent => pc.t("送信済み", "sent"),
        Delivery::Failed => pc.t("送信失敗", "failed"),
    }
}

fn attachment_href(public: bool, mail_id: &str, index: usize) -> String {
    if public {
        format!("/api/v1/mailbox/{mail_id}/attachments/{index}")
    } else {
        // The API wants a bearer token; the operator's browser has the page's cookie.
        format!("/mailbox/{mail_id}/attachments/{index}")
    }
}

/// What the outbox page shows.
pub struct MailboxView<'a> {
    pub mails: &'a [Mail],
    /// Distinct recipients of recent mail, for the quick filter.
    pub recipients: &'a [String],
    pub filter: Option<&'a str>,
    pub public: bool,
    /// The double-submit token of the operator's logout button (operator access only).
    pub logout_csrf: Option<&'a str>,
    /// The last archive renewal run (operator access only).
    pub renewal: Option<RenewalSummary>,
}

/// The last archive renewal run as the operator's page shows it.
#[derive(Debug, Clone, Default)]
pub struct RenewalSummary {
    /// When it finished (Japan time), or that it is still running.
    pub finished: Option<String>,
    pub within_days: u32,
    pub checked: u64,
    pub renewed: u64,
    pub failed: u64,
    pub errors: Vec<String>,
}

fn renewal_card(pc: &PageCtx, r: Option<&RenewalSummary>) -> Markup {
    html! {
        section.card #archive-renewal {
            h2.card-title { (pc.t("長期署名の延長(アーカイブタイムスタンプ)", "Archive renewal (document time-stamps)")) }
            @match r {
                None => p { (pc.t("まだ実行されていません。", "It has not run yet.")) },
                Some(r) => {
                    p {
                        (pc.t("前回の実行: ", "Last run: "))
                        (r.finished.clone().unwrap_or_else(|| pc.t("実行中", "running").to_string()))
                        " — "
                        @match pc.lang {
                            keiyaku_kernel::Lang::Ja => {
                                "締結済み " (r.checked) "件を確認、" (r.renewed) "件を延長、失敗 " (r.failed) "件"
                                "(期限まで" (r.within_days) "日以内を延長)"
                            }
                            keiyaku_kernel::Lang::En => {
                                (r.checked) " completed contract(s) checked, " (r.renewed) " renewed, "
                                (r.failed) " failed (renewing those within " (r.within_days) " days of their end)"
                            }
                        }
                    }
                    @if !r.errors.is_empty() {
                        ul.errors { @for e in &r.errors { li { (e) } } }
                    }
                }
            }
        }
    }
}

fn mail_item(pc: &PageCtx, m: &Mail, open: bool, public: bool) -> Markup {
    html! {
        details.mail open[open] {
            summary {
                span.mail-time { (sent_at(m)) }
                span.mail-to title=(m.to) { (m.to) }
                span.mail-subject { (m.subject) }
                span.mail-status { (delivery_label(pc, m.delivery)) }
            }
            pre.mail-body { (linkify(&m.body)) }
            @if !m.attachments.is_empty() {
                div.attachments {
                    (pc.t("添付ファイル", "Attachments"))
                    ul {
                        @for (i, a) in m.attachments.iter().enumerate() {
                            li { a href=(attachment_href(public, &m.id, i)) { (a.name) } " (" (a.content_type) ")" }
                        }
                    }
                }
            }
        }
    }
}

/// The outbox page.
pub fn mailbox_view(pc: &PageCtx, v: &MailboxView<'_>) -> Markup {
    let title = pc.t("メールボックス", "Mailbox");
    let body = html! {
        section.card {
            h1.card-title { (title) }
            p.card-subtitle {
                (pc.t("このサービスが送信したメールです(新しい順)。", "The mail this service has sent, newest first."))
                @if v.public { " " (pc.t("(公開設定:デモ・トライアル用)", "(public: demo and trial use)")) }
            }
            div.toolbar {
                form.filter-form method="get" action="/mailbox" role="search" {
                    label.visually-hidden for="to" { (pc.t("宛先メールアドレス", "Recipient address")) }
                    input #to type="search" name="to" value=(v.filter.unwrap_or_default()) maxlength="254"
                        placeholder=(pc.t("宛先メールアドレスで絞り込み", "Filter by recipient address"));
                    button.button.button-small type="submit" { (pc.t("絞り込み", "Filter")) }
                    @if v.filter.is_some() { a href="/mailbox" { (pc.t("すべて表示", "Show all")) } }
                }
                @if let Some(csrf) = v.logout_csrf {
                    form.inline-form method="post" action="/mailbox/logout" {
                        input type="hidden" name=(CSRF_FIELD) value=(csrf);
                        button.button.button-small.button-secondary type="submit" { (pc.t("ログアウト", "Log out")) }
                    }
                }
            }
            @if !v.recipients.is_empty() {
                ul.chips aria-label=(pc.t("宛先", "Recipients")) {
                    @for r in v.recipients {
                        li {
                            a class=[(v.filter == Some(r.as_str())).then_some("active")]
                                href=(format!("/mailbox?to={}", encode_query_value(r))) { (r) }
                        }
                    }
                }
            }
            p.result-count {
                @match pc.lang {
                    keiyaku_kernel::Lang::Ja => { (v.mails.len()) "件" }
                    keiyaku_kernel::Lang::En => { (v.mails.len()) " mail(s)" }
                }
                @if v.mails.len() >= LIMIT {
                    " " (pc.t("(新しいものから表示しています)", "(showing the newest)"))
                }
            }
            @if v.mails.is_empty() {
                p.empty { (pc.t("メールはありません。", "There is no mail.")) }
            }
            @for (i, m) in v.mails.iter().enumerate() {
                (mail_item(pc, m, i < OPEN, v.public))
            }
        }
        @if v.logout_csrf.is_some() {
            (renewal_card(pc, v.renewal.as_ref()))
        }
    };
    layout::public_page(pc, title, None, true, body)
}

/// The operator's login form shown instead of the outbox.
pub fn operator_login_view(pc: &PageCtx, login: &str, csrf: &str, msg: Option<&Msg>) -> Markup {
    let title = pc.t("メールボックス", "Mailbox");
    let body = html! {
        section.card {
            h1.card-title { (title) }
            (layout::message(&Msg::info(pc.t(
                "メールボックスを表示するには、運用管理者としてログインしてください。",
                "Log in as the appliance operator to see the mailbox.",
            ))))
            (layout::messages(msg))
            form.form-grid method="post" action="/mailbox/login" {
                input type="hidden" name=(CSRF_FIELD) value=(csrf);
                label for="login" { (pc.t("ログインID", "Login")) }
                div.field {
                    input #login type="text" name="login" value=(login) required autocomplete="username" maxlength="64";
                }
                label for="password" { (pc.t("パスワード", "Password")) }
                div.field {
                    input #password type="password" name="password" required autofocus autocomplete="current-password" maxlength="1024";
                }
                div.actions-row {
                    button.button.button-wide type="submit" { (pc.t("ログイン", "Log in")) }
                }
            }
        }
    };
    layout::public_page(pc, title, None, false, body)
}

/// The operator's second login step (an authenticator is enrolled).
fn operator_code_view(pc: &PageCtx, challenge: &str, csrf: &str, msg: Option<&Msg>) -> Markup {
    let title = pc.t("二要素認証", "Two-factor authentication");
    let body = html! {
        section.card {
            h1.card-title { (title) }
            (layout::messages(msg))
            (code_form(pc, "/mailbox/login/totp", challenge, csrf))
        }
    };
    layout::public_page(pc, title, None, false, body)
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct OperatorCodeForm {
    challenge: String,
    code: String,
    csrf: String,
}

#[handler]
async fn operator_login_totp(
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

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct MailboxQuery {
    to: Option<String>,
}

/// The last archive renewal run, for the operator.
#[cfg(feature = "contracts")]
async fn renewal(web: &Web) -> Option<RenewalSummary> {
    let run = web.contracts.last_renewal().await.ok()??;
    Some(RenewalSummary {
        finished: run.finished_at.map(clock::display),
        within_days: run.within_days,
        checked: run.checked,
        renewed: run.renewed,
        failed: run.failed,
        errors: run.errors,
    })
}

#[cfg(not(feature = "contracts"))]
async fn renewal(_: &Web) -> Option<RenewalSummary> {
    None
}

#[handler]
async fn mailbox(req: &Request, Data(web): Data<&Web>, query: poem::Result<Query<MailboxQuery>>) -> PageResult {
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

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct OperatorLoginForm {
    login: String,
    password: String,
    csrf: String,
}

#[handler]
async fn operator_login(
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

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct CsrfForm {
    csrf: String,
}

#[handler]
async fn operator_logout(req: &Request, Data(web): Data<&Web>, form: poem::Result<Form<CsrfForm>>) -> PageResult {
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

use crate::api::http::content_disposition;

#[handler]
async fn attachment(req: &Request, Path((id, index)): Path<(String, String)>, Data(web): Data<&Web>) -> PageResult {
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

#[cfg(test)]
mod tests {
    use super::*;
    use keiyaku_kernel::Lang;
    use keiyaku_kernel::mail::Attachment;

    fn mail(id: &str, to: &str, subject: &str, body: &str) -> Mail {
        Mail {
            id: id.into(),
            tenant: Some("HXOS2".into()),
            to: to.into(),
            subject: subject.into(),
            body: body.into(),
            attachments: vec![Attachment::new("tickets<1>.csv", "text/csv", b"a,b\n")],
            created_at: "2021-01-07T13:22:00+09:00".into(),
            delivery: Delivery::Stored,
            attempts: 0,
            next_attempt_at: None,
            last_error: None,
            sent_at: None,
            secret: None,
        }
    }

    #[test]
    fn outbox_shows_mail_escaped_with_links_and_attachments() {
        let pc = PageCtx::new(Lang::Ja, None, "/mailbox", "", None);
        let mails = vec![mail(
            "m1",
            "a+b@example.jp",
            "【電子契約サービス】 ユーザー登録通知",
            "<b>堀井 裕蔵様</b>\n下記URLよりログインしご利用下さい。 https://localhost:8443/t/HXOS2/login\n",
        )];
        let recipients = vec!["a+b@example.jp".to_string()];
        let view = MailboxView {
            mails: &mails,
            recipients: &recipients,
            filter: Some("a+b@example.jp"),
            public: true,
            logout_csrf: None,
            renewal: Some(RenewalSummary { checked: 3, renewed: 2, ..Default::default() }),
        };
        let html = mailbox_view(&pc, &view).into_string();
        assert!(!html.contains("archive-renewal"), "the public mailbox does not show the renewal");
        assert!(html.contains("<title>メールボックス | 電子契約サービス</title>"));
        assert!(html.contains("【電子契約サービス】 ユーザー登録通知"));
        assert!(html.contains("&lt;b&gt;堀井 裕蔵様&lt;/b&gt;"));
        assert!(html.contains("<a href=\"https://localhost:8443/t/HXOS2/login\""));
        assert!(html.contains("href=\"/api/v1/mailbox/m1/attachments/0\""));
        assert!(html.contains("tickets&lt;1&gt;.csv"));
        assert!(html.contains("2021/01/07 13:22"));
        assert!(html.contains("href=\"/mailbox?to=a%2Bb@example.jp\""));
        assert!(html.contains("1件"));
        assert!(!html.contains("/mailbox/logout"));

        let private = MailboxView { public: false, logout_csrf: Some("tok"), ..view };
        let html = mailbox_view(&pc, &private).into_string();
        assert!(html.contains("href=\"/mailbox/m1/attachments/0\""));
        assert!(html.contains("action=\"/mailbox/logout\""));
        assert!(html.contains("id=\"archive-renewal\"") && html.contains("3件を確認、2件を延長"), "{html}");
    }

    #[test]
    fn operator_login_form_carries_the_token() {
        let pc = PageCtx::new(Lang::En, None, "/mailbox", "", None);
        let html = operator_login_view(&pc, "operator", "tok123", None).into_string();
        assert!(html.contains("name=\"csrf\" value=\"tok123\""));
        assert!(html.contains("action=\"/mailbox/login\""));
        assert!(html.contains("<html lang=\"en\">"));
    }

    #[test]
    fn filters_and_headers_are_sanitised() {
        assert_eq!(address_filter(Some("  ")), None);
        assert_eq!(address_filter(Some(" a@b.jp ")), Some("a@b.jp".into()));
        assert_eq!(address_filter(Some(&"x".repeat(300))), None);
        assert_eq!(encode_query_value("a+b c@d&e"), "a%2Bb%20c@d%26e");
        let cd = content_disposition("チケット\"\r\n.csv");
        assert!(HeaderValue::from_str(&cd).is_ok());
        assert!(cd.starts_with("attachment; filename=\"download.csv\"; filename*=UTF-8''%E3%83%81"), "{cd}");
    }
}
