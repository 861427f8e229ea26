//! Pages of the support module:
//! - `/t/:tenant/support` — サポートページ (seed §2 (2)), public: サポート情報, JCAN証明書関連,
//!   利用説明資料, 電子帳簿保存法関連資料, よくあるご質問; the owner's group administrators also
//!   get the upload form and delete buttons (`POST …/support/documents`,
//!   `POST …/support/documents/:id/delete`);
//! - `/t/:tenant/notices` — お知らせ, paged; administrators publish and delete notices;
//! - `/t/:tenant/usage` — 利用状況照会 for a month, and `/t/:tenant/usage.csv` (Excel CSV).
//!
//! Handlers extract, call [`keiyaku_support::Support`] and render; downloads use the API's
//! public document URL.

use crate::Web;
use crate::layout::{self, Msg, PageCtx, Tab, TenantHead, app_page, expired_form, field_errors, has_error, pager};
use crate::linkify::linkify;
use crate::page::PageResult;
use crate::query::param as query_param;
use crate::session::{CSRF_FIELD, Need, SESSION_COOKIE, Signed, is_tenant_code, signed_in, tenant_path, token_cookie};
use keiyaku_kernel::Lang;
use keiyaku_kernel::clock::{self, tokyo};
use keiyaku_kernel::error::{ApiError, FieldError};
use keiyaku_support::notices::{BODY_MAX, TITLE_MAX};
use keiyaku_support::policy;
use keiyaku_support::sniff::Kind;
use keiyaku_support::usage::{self, Month, Report};
use keiyaku_support::{
    Audience, Category, Document, NewDocument, Notice, NoticeInput, Page, Paging, Support, SupportError, SupportPage,
};
use maud::{Markup, html};
use poem::http::{StatusCode, header};
use poem::web::{Data, Form, Multipart, Path};
use poem::{EndpointExt, Request, Response, Route, get, handler, post};
use serde::Deserialize;

/// Notices per page on the お知らせ page.
const NOTICES_PER_PAGE: usize = 10;

pub fn mount(route: Route, web: &Web) -> Route {
    route
        .at("/t/:tenant/support", get(support_page).data(web.clone()))
        .at("/t/:tenant/support/documents", post(upload_document).data(web.clone()))
        .at("/t/:tenant/support/documents/:id/delete", post(delete_document).data(web.clone()))
        .at("/t/:tenant/notices", get(notices_page).post(create_notice).data(web.clone()))
        .at("/t/:tenant/notices/:id/delete", post(delete_notice).data(web.clone()))
        .at("/t/:tenant/usage", get(usage_page).data(web.clone()))
        .at("/t/:tenant/usage.csv", get(usage_csv).data(web.clone()))
}

/// Messages that a redirect may ask for with `?done=` (only these codes exist).
fn done_text(code: &str, lang: Lang) -> Option<&'static str> {
    Some(match code {
        "uploaded" => lang.pick("資料をアップロードしました。", "The document has been uploaded."),
        "replaced" => lang.pick("同じ名前の資料を置き換えました。", "The document with the same name was replaced."),
        "document_deleted" => lang.pick("資料を削除しました。", "The document has been deleted."),
        "notice_created" => lang.pick("お知らせを登録しました。", "The notice has been published."),
        "notice_deleted" => lang.pick("お知らせを削除しました。", "The notice has been deleted."),
        _ => return None,
    })
}

fn done_msg(req: &Request, lang: Lang) -> Option<Msg> {
    query_param(req, "done").and_then(|c| done_text(&c, lang)).map(Msg::notice)
}

/// A logged-in page: its context, the session and the service; Err is the page to answer
/// with instead (the session's refusal).
async fn open<'a>(web: &'a Web, req: &Request, tenant: &str) -> Result<(PageCtx, Signed, &'a Support), Response> {
    let pc = PageCtx::of(req);
    let s = signed_in(web, &pc, req, tenant, Need::Ready).await?;
    Ok((pc, s, &web.support))
}

/// A service error as a status, a message and field errors; None for server errors
/// (answered with the 500 page).
fn failure(e: &SupportError, pc: &PageCtx) -> Option<(StatusCode, Msg, Vec<FieldError>)> {
    let p = e.problem(pc.lang);
    let status = StatusCode::from_u16(p.status).unwrap_or(StatusCode::BAD_REQUEST);
    if status.is_server_error() {
        return None;
    }
    Some((status, Msg::from_problem(&p), p.errors))
}

/// The logged-in user when the request carries a usable session, for public pages.
async fn maybe_signed(web: &Web, pc: &PageCtx, req: &Request, tenant: &str) -> Option<Signed> {
    token_cookie(req, SESSION_COOKIE)?;
    signed_in(web, pc, req, tenant, Need::Ready).await.ok()
}

/// `12.3 KB` style sizes.
pub fn size_text(bytes: u64) -> String {
    if bytes < 1024 {
        format!("{bytes} B")
    } else if bytes < 1024 * 1024 {
        format!("{:.1} KB", bytes as f64 / 1024.0)
    } else {
        format!("{:.1} MB", bytes as f64 / (1024.0 * 1024.0))
    }
}

fn date_text(ts: jiff::Timestamp) -> String {
    ts.to_zoned_datetime(tokyo()).strftime("%Y/%m/%d").to_string()
}

pub fn document_href(d: &Document) -> String {
    format!("/api/v1/t/{}/support/documents/{}", d.tenant, d.id)
}

// ---------------------------------------------------------------------------------------
// サポートページ

/// What the support page shows.
pub struct SupportView<'a> {
    pub page: &'a SupportPage,
    /// The logged-in user, if any (a link back to the dashboard; administrators manage).
    pub signed: Option<&'a Signed>,
    pub msg: Option<Msg>,
    pub errors: &'a [FieldError],
    /// The category picked in the upload form (kept after an error).
    pub category: &'a str,
}

fn file_list(pc: &PageCtx, v: &SupportView<'_>, docs: &[Document], manage: bool) -> Markup {
    let csrf = v.signed.map(Signed::csrf).unwrap_or_default();
    html! {
        ul.file-list.doc-list {
            @for d in docs {
                li {
                    a href=(document_href(d)) download { (d.file_name) }
                    " " span.file-meta { (d.kind.label()) " · " (size_text(d.size)) }
                    @if manage {
                        " "
                        form.inline-form method="post" action=(tenant_path(&d.tenant, &format!("support/documents/{}/delete", d.id))) {
                            input type="hidden" name=(CSRF_FIELD) value=(csrf);
                            button.link-button.danger-link aria-label=(format!("{} {}", pc.t("削除", "Delete"), d.file_name)) { (pc.t("削除", "Delete")) }
                        }
                    }
                }
            }
        }
    }
}

fn section(id: &str, title: &str, body: Markup) -> Markup {
    html! {
        section.support-section id=(id) {
            h2.section-title { (title) }
            (body)
        }
    }
}

fn upload_form(pc: &PageCtx, v: &SupportView<'_>, s: &Signed, max: usize) -> Markup {
    let t = &v.page.tenant.code;
    let invalid = |f: &str| has_error(v.errors, f);
    let accept =
        Kind::ALL.iter().flat_map(|k| k.extensions().iter().map(|e| format!(".{e}"))).collect::<Vec<_>>().join(",");
    html! {
        section.card.support-admin id="upload" {
            h2.card-title { (pc.t("資料のアップロード(管理者)", "Upload a document (administrators)")) }
            p.hint {
                (match pc.lang {
                    Lang::Ja => format!("PDF・Word・Excel・PowerPoint・テキストファイル({}MBまで)。アップロードした資料はこのサポートページで公開されます。同じ区分・同じファイル名の資料は置き換えられます。", max / (1024 * 1024)),
                    Lang::En => format!("PDF, Word, Excel, PowerPoint or text files (up to {} MB). Uploaded documents are public on this support page; a document of the same section and file name is replaced.", max / (1024 * 1024)),
                })
            }
            form.form-grid method="post" action=(tenant_path(t, "support/documents")) enctype="multipart/form-data" {
                input type="hidden" name=(CSRF_FIELD) value=(s.csrf());
                label for="category" { (pc.t("区分", "Section")) }
                div.field {
                    select #category name="category" required class=[invalid("category").then_some("invalid")] {
                        @for c in Category::ALL {
                            option value=(c.as_str()) selected[v.category == c.as_str()] { (c.label(pc.lang)) }
                        }
                    }
                    (field_errors(v.errors, "category"))
                }
                label for="file" { (pc.t("ファイル", "File")) }
                div.field {
                    input #file type="file" name="file" required accept=(accept) class=[invalid("file").then_some("invalid")];
                    (field_errors(v.errors, "file"))
                }
                div.actions-row {
                    button.button type="submit" { (pc.t("アップロード", "Upload")) }
                }
            }
        }
    }
}

/// The support page.
pub fn support_view(pc: &PageCtx, v: &SupportView<'_>, max_bytes: usize) -> Markup {
    let tenant = &v.page.tenant;
    let t = &tenant.code;
    let manage = v.signed.is_some_and(|s| policy::can_manage(s.caller()));
    let docs = |c: Category| v.page.sections.iter().find(|(k, _)| *k == c).map(|(_, d)| d.as_slice()).unwrap_or(&[]);
    let inline = |d: &Document| v.page.inline.iter().find(|(id, _)| *id == d.id).map(|(_, text)| text.as_str());
    let listing = |c: Category, empty_ja: &str, empty_en: &str| {
        let list = docs(c);
        html! {
            @if list.is_empty() {
                p.empty { (pc.t(empty_ja, empty_en)) }
            } @else {
                @for d in list {
                    @if let Some(text) = inline(d) {
                        div.inline-text { (linkify(text)) }
                    }
                }
                (file_list(pc, v, list, manage))
            }
        }
    };
    let title = pc.t("サポートページ", "Support page");
    let body = html! {
        section.card.support-page {
            h1.card-title { (title) }
            @if let Some(s) = v.signed {
                p.support-signed {
                    (match pc.lang {
                        Lang::Ja => format!("ログイン中: {}", s.me.user.name),
                        Lang::En => format!("Logged in as {}", s.me.user.name),
                    })
                    " "
                    a href=(tenant_path(t, "")) { (pc.t("ダッシュボードへ戻る", "Back to the dashboard")) }
                }
            }
            (layout::messages(v.msg.as_ref()))
            (section("support-info", Category::Info.label(pc.lang), listing(
                Category::Info,
                "サポート情報は現在登録されておりません。",
                "There is no support information at the moment.",
            )))
            (section("support-jcan", pc.t("JCAN証明書関連", "JCAN certificates"), html! {
                @if cfg!(feature = "certs") {
                    ul.link-list.jcan-links {
                        li { a href=(tenant_path(t, "tickets/order")) { (pc.t("JCAN証明書発行チケットの購入", "Buy a JCAN certificate ticket")) } }
                        li { a href=(tenant_path(t, "certificates/apply")) { (pc.t("JCAN証明書発行申請", "Apply for a JCAN certificate")) } }
                    }
                    p.hint { (pc.t("購入・申請の手順は利用説明資料をご覧ください。", "See the manuals for the purchase and application steps.")) }
                } @else {
                    p.empty { (pc.t("この環境では証明書の購入・発行申請はご利用いただけません。", "Certificates are not available in this installation.")) }
                }
            }))
            (section("support-manual", Category::Manual.label(pc.lang), listing(
                Category::Manual,
                "利用説明資料は現在登録されておりません。",
                "There are no manuals at the moment.",
            )))
            (section("support-ebook-law", Category::EbookLaw.label(pc.lang), listing(
                Category::EbookLaw,
                "電子帳簿保存法関連資料は現在登録されておりません。",
                "There is no material on the Electronic Books Maintenance Act at the moment.",
            )))
            (section("support-faq", Category::Faq.label(pc.lang), listing(
                Category::Faq,
                "よくあるご質問は現在登録されておりません。",
                "There are no FAQ entries at the moment.",
            )))
        }
        @if manage && let Some(s) = v.signed {
            (upload_form(pc, v, s, max_bytes))
        }
    };
    let head = TenantHead { code: t, name: &tenant.name, trial: tenant.trial };
    layout::public_page(pc, title, Some(head), true, body)
}

/// How a page is answered: its status and what it says besides its content.
struct Outcome {
    status: StatusCode,
    msg: Option<Msg>,
    errors: Vec<FieldError>,
}

impl Outcome {
    fn ok(msg: Option<Msg>) -> Self {
        Self { status: StatusCode::OK, msg, errors: Vec::new() }
    }

    fn error(status: StatusCode, msg: Msg, errors: Vec<FieldError>) -> Self {
        Self { status, msg: Some(msg), errors }
    }

    /// A form with a stale or missing CSRF token (403).
    fn expired(pc: &PageCtx) -> Self {
        Self::error(StatusCode::FORBIDDEN, expired_form(pc), Vec::new())
    }
}

async fn render_support(
    web: &Web,
    pc: &PageCtx,
    tenant: &str,
    signed: Option<&Signed>,
    out: Outcome,
    category: &str,
) -> Response {
    let support = &web.support;
    if !is_tenant_code(tenant) {
        return layout::not_found(pc);
    }
    match support.support_page(tenant).await {
        Ok(page) => {
            let v = SupportView { page: &page, signed, msg: out.msg, errors: &out.errors, category };
            pc.respond(out.status, support_view(pc, &v, web.kernel.config.support.max_document_bytes))
        }
        Err(SupportError::NotFound(_)) => layout::not_found(pc),
        Err(e) => layout::server_error(pc, &e),
    }
}

#[handler]
async fn support_page(req: &Request, Path(tenant): Path<String>, Data(web): Data<&Web>) -> PageResult {
    let pc = PageCtx::of(req);
    if !is_tenant_code(&tenant) {
        return Ok(layout::not_found(&pc));
    }
    let signed = maybe_signed(web, &pc, req, &tenant).await;
    Ok(render_support(web, &pc, &tenant, signed.as_ref(), Outcome::ok(done_msg(req, pc.lang)), "").await)
}

/// The fields of the upload form.
#[derive(Default)]
struct UploadFields {
    csrf: String,
    category: String,
    file_name: String,
    bytes: Vec<u8>,
}

async fn read_upload(mut mp: Multipart) -> Option<UploadFields> {
    let mut f = UploadFields::default();
    while let Some(field) = mp.next_field().await.ok()? {
        match field.name().unwrap_or_default() {
            "csrf" => f.csrf = field.text().await.ok()?.chars().take(200).collect(),
            "category" => f.category = field.text().await.ok()?.chars().take(40).collect(),
            "file" => {
                f.file_name = field.file_name().unwrap_or_default().to_string();
                f.bytes = field.bytes().await.ok()?;
            }
            _ => {}
        }
    }
    Some(f)
}

#[handler]
async fn upload_document(
    req: &Request,
    Path(tenant): Path<String>,
    Data(web): Data<&Web>,
    mp: poem::Result<Multipart>,
) -> PageResult {
    let (pc, s, support) = open(web, req, &tenant).await?;
    let Some(fields) = (match mp {
        Ok(mp) => read_upload(mp).await,
        Err(_) => None,
    }) else {
        return Ok(layout::bad_form(&pc));
    };
    if !s.check_csrf(&fields.csrf) {
        let out = Outcome::expired(&pc);
        return Ok(render_support(web, &pc, &tenant, Some(&s), out, "").await);
    }
    let category = fields.category.clone();
    let new = NewDocument { category: fields.category, file_name: fields.file_name, bytes: fields.bytes };
    Ok(match support.upload_document(s.caller(), new).await {
        Ok((doc, replaced)) => {
            let done = if replaced.is_some() { "replaced" } else { "uploaded" };
            let anchor = match doc.category {
                Category::Info => "support-info",
                Category::Manual => "support-manual",
                Category::EbookLaw => "support-ebook-law",
                Category::Faq => "support-faq",
            };
            layout::see_other(&format!("{}?done={done}#{anchor}", tenant_path(&tenant, "support")), &[])
        }
        Err(e) => match failure(&e, &pc) {
            Some((status, msg, errors)) => {
                render_support(web, &pc, &tenant, Some(&s), Outcome::error(status, msg, errors), &category).await
            }
            None => layout::server_error(&pc, &e),
        },
    })
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct CsrfForm {
    csrf: String,
}

#[handler]
async fn delete_document(
    req: &Request,
    Path((tenant, id)): Path<(String, String)>,
    Data(web): Data<&Web>,
    form: poem::Result<Form<CsrfForm>>,
) -> PageResult {
    let (pc, s, support) = open(web, req, &tenant).await?;
    let csrf = form.map(|f| f.0.csrf).unwrap_or_default();
    if !s.check_csrf(&csrf) {
        let out = Outcome::expired(&pc);
        return Ok(render_support(web, &pc, &tenant, Some(&s), out, "").await);
    }
    Ok(match support.delete_document(s.caller(), &id).await {
        Ok(_) => layout::see_other(&format!("{}?done=document_deleted", tenant_path(&tenant, "support")), &[]),
        Err(e) => match failure(&e, &pc) {
            Some((status, msg, errors)) => {
                render_support(web, &pc, &tenant, Some(&s), Outcome::error(status, msg, errors), "").await
            }
            None => layout::server_error(&pc, &e),
        },
    })
}

// ---------------------------------------------------------------------------------------
// お知らせ

#[derive(Debug, Default, Deserialize, Clone)]
#[serde(default)]
struct NoticeForm {
    csrf: String,
    title: String,
    body: String,
    audience: String,
    publish_at: String,
    expire_at: String,
}

/// What the notices page shows.
pub struct NoticesView<'a> {
    pub page: &'a Page<Notice>,
    /// Listing scheduled and expired notices too (administrators).
    pub all: bool,
    pub msg: Option<Msg>,
    pub errors: &'a [FieldError],
    form: &'a NoticeForm,
    now: jiff::Timestamp,
}

fn notices_href(tenant: &str, page: usize, all: bool) -> String {
    let mut q = Vec::new();
    if page > 1 {
        q.push(format!("page={page}"));
    }
    if all {
        q.push("all=1".to_string());
    }
    let base = tenant_path(tenant, "notices");
    if q.is_empty() { base } else { format!("{base}?{}", q.join("&")) }
}

fn notice_form(pc: &PageCtx, s: &Signed, v: &NoticesView<'_>) -> Markup {
    let invalid = |f: &str| has_error(v.errors, f).then_some("invalid");
    html! {
        section.card.notice-admin id="new-notice" {
            h2.card-title { (pc.t("お知らせの登録(管理者)", "Publish a notice (administrators)")) }
            form.form-grid method="post" action=(tenant_path(&s.tenant_code, "notices")) novalidate {
                input type="hidden" name=(CSRF_FIELD) value=(s.csrf());
                label for="title" { (pc.t("件名", "Title")) }
                div.field {
                    input #title type="text" name="title" value=(v.form.title) required maxlength=(TITLE_MAX) class=[invalid("title")];
                    (field_errors(v.errors, "title"))
                }
                label for="body" { (pc.t("本文", "Text")) }
                div.field {
                    textarea #body name="body" rows="6" required maxlength=(BODY_MAX) class=[invalid("body")] { (v.form.body) }
                    p.hint { (pc.t("URLはリンクとして表示されます。", "URLs are shown as links.")) }
                    (field_errors(v.errors, "body"))
                }
                label for="audience" { (pc.t("対象", "Audience")) }
                div.field {
                    select #audience name="audience" class=[invalid("audience")] {
                        @for a in Audience::ALL {
                            option value=(a.as_str()) selected[v.form.audience == a.as_str()] { (a.label(pc.lang)) }
                        }
                    }
                    (field_errors(v.errors, "audience"))
                }
                label for="publish_at" { (pc.t("掲載開始", "From")) }
                div.field {
                    input #publish_at type="datetime-local" name="publish_at" value=(v.form.publish_at) class=[invalid("publish_at")];
                    p.hint { (pc.t("空欄の場合はすぐに掲載します。", "Leave empty to publish now.")) }
                    (field_errors(v.errors, "publish_at"))
                }
                label for="expire_at" { (pc.t("掲載終了", "Until")) }
                div.field {
                    input #expire_at type="datetime-local" name="expire_at" value=(v.form.expire_at) class=[invalid("expire_at")];
                    p.hint { (pc.t("空欄の場合は終了日時なし。", "Leave empty for no end.")) }
                    (field_errors(v.errors, "expire_at"))
                }
                div.actions-row {
                    button.button type="submit" { (pc.t("登録する", "Publish")) }
                }
            }
        }
    }
}

/// The お知らせ page.
pub fn notices_view(pc: &PageCtx, s: &Signed, v: &NoticesView<'_>) -> Markup {
    let t = &s.tenant_code;
    let manage = policy::can_manage(s.caller());
    let body = html! {
        (layout::messages(v.msg.as_ref()))
        @if manage {
            p.toolbar-links {
                @if v.all {
                    a href=(notices_href(t, 1, false)) { (pc.t("掲載中のお知らせのみ表示", "Show current notices only")) }
                } @else {
                    a href=(notices_href(t, 1, true)) { (pc.t("掲載前・掲載終了のお知らせも表示", "Also show scheduled and ended notices")) }
                }
                " · "
                a href="#new-notice" { (pc.t("お知らせを登録", "Publish a notice")) }
            }
        }
        @if v.page.items.is_empty() {
            p.empty { (pc.t("お知らせ情報は現在登録されておりません。", "There are no notices at the moment.")) }
        } @else {
            p.result-count {
                (match pc.lang {
                    Lang::Ja => format!("{}件", v.page.total),
                    Lang::En => format!("{} notices", v.page.total),
                })
            }
            @for n in &v.page.items {
                article.notice id=(format!("notice-{}", n.id)) {
                    header.notice-head {
                        span.notice-date { (date_text(n.publish_at)) }
                        h2.notice-title { (n.title) }
                        @if manage {
                            span.badge { (n.audience.label(pc.lang)) }
                            @if !n.is_live(v.now) {
                                " " span.badge.badge-muted {
                                    @if n.publish_at > v.now { (pc.t("掲載前", "scheduled")) } @else { (pc.t("掲載終了", "ended")) }
                                }
                            }
                        }
                    }
                    p.notice-body { (linkify(&n.body)) }
                    @if manage {
                        p.notice-meta {
                            (pc.t("掲載期間: ", "Shown: ")) (clock::display(n.publish_at)) " 〜 "
                            @if let Some(end) = n.expire_at { (clock::display(end)) }
                            " "
                            form.inline-form method="post" action=(tenant_path(t, &format!("notices/{}/delete", n.id))) {
                                input type="hidden" name=(CSRF_FIELD) value=(s.csrf());
                                button.link-button.danger-link { (pc.t("削除", "Delete")) }
                            }
                        }
                    }
                }
            }
            (pager(pc, v.page.page, v.page.pages(), |p| notices_href(t, p, v.all)))
        }
        @if manage { (notice_form(pc, s, v)) }
    };
    app_page(pc, s, Tab::Normal, pc.t("お知らせ", "Notices"), body)
}

/// Renders the notices page: `page` of the list (all notices when `all`), the outcome of a
/// submission and the form as it was sent.
async fn render_notices(
    support: &Support,
    pc: &PageCtx,
    s: &Signed,
    (page, all): (usize, bool),
    out: Outcome,
    form: &NoticeForm,
) -> Response {
    let paging = Paging { page: page.max(1), per_page: NOTICES_PER_PAGE };
    let list = match support.list_notices(s.caller(), paging, all).await {
        Ok(l) => l,
        Err(e) => return layout::server_error(pc, &e),
    };
    let v = NoticesView { page: &list, all, msg: out.msg, errors: &out.errors, form, now: support.kernel.now() };
    pc.respond(out.status, notices_view(pc, s, &v))
}

#[handler]
async fn notices_page(req: &Request, Path(tenant): Path<String>, Data(web): Data<&Web>) -> PageResult {
    let (pc, s, support) = open(web, req, &tenant).await?;
    let page = query_param(req, "page").and_then(|p| p.parse::<usize>().ok()).filter(|p| (1..=1_000_000).contains(p));
    let all = query_param(req, "all").as_deref() == Some("1") && policy::can_manage(s.caller());
    let form = NoticeForm::default();
    Ok(render_notices(support, &pc, &s, (page.unwrap_or(1), all), Outcome::ok(done_msg(req, pc.lang)), &form).await)
}

#[handler]
async fn create_notice(
    req: &Request,
    Path(tenant): Path<String>,
    Data(web): Data<&Web>,
    form: poem::Result<Form<NoticeForm>>,
) -> PageResult {
    let (pc, s, support) = open(web, req, &tenant).await?;
    let Ok(Form(form)) = form else {
        return Ok(layout::bad_form(&pc));
    };
    if !s.check_csrf(&form.csrf) {
        let out = Outcome::expired(&pc);
        return Ok(render_notices(support, &pc, &s, (1, false), out, &form).await);
    }
    let input = NoticeInput {
        title: form.title.clone(),
        body: form.body.clone(),
        audience: Some(form.audience.clone()),
        publish_at: Some(form.publish_at.clone()),
        expire_at: Some(form.expire_at.clone()),
    };
    Ok(match support.create_notice(s.caller(), input).await {
        Ok(_) => layout::see_other(&format!("{}?done=notice_created", tenant_path(&tenant, "notices")), &[]),
        Err(e) => match failure(&e, &pc) {
            Some((status, msg, errors)) => {
                render_notices(support, &pc, &s, (1, false), Outcome::error(status, msg, errors), &form).await
            }
            None => layout::server_error(&pc, &e),
        },
    })
}

#[handler]
async fn delete_notice(
    req: &Request,
    Path((tenant, id)): Path<(String, String)>,
    Data(web): Data<&Web>,
    form: poem::Result<Form<CsrfForm>>,
) -> PageResult {
    let (pc, s, support) = open(web, req, &tenant).await?;
    let csrf = form.map(|f| f.0.csrf).unwrap_or_default();
    let empty = NoticeForm::default();
    if !s.check_csrf(&csrf) {
        let out = Outcome::expired(&pc);
        return Ok(render_notices(support, &pc, &s, (1, false), out, &empty).await);
    }
    Ok(match support.delete_notice(s.caller(), &id).await {
        Ok(_) => layout::see_other(&format!("{}?done=notice_deleted", tenant_path(&tenant, "notices")), &[]),
        Err(e) => match failure(&e, &pc) {
            Some((status, msg, _)) => {
                render_notices(support, &pc, &s, (1, false), Outcome::error(status, msg, Vec::new()), &empty).await
            }
            None => layout::server_error(&pc, &e),
        },
    })
}

// ---------------------------------------------------------------------------------------
// 利用状況照会

fn usage_href(tenant: &str, path: &str, month: Month) -> String {
    format!("{}?month={month}", tenant_path(tenant, path))
}

/// The usage page: month navigation, the table (scrolls sideways on small screens) and the
/// CSV link.
pub fn usage_view(pc: &PageCtx, s: &Signed, month: Month, report: Option<&Report>, msg: Option<Msg>) -> Markup {
    let t = &s.tenant_code;
    let body = html! {
        (layout::messages(msg.as_ref()))
        div.toolbar.usage-toolbar {
            nav.month-nav aria-label=(pc.t("対象月", "Month")) {
                a href=(usage_href(t, "usage", month.previous())) { "« " (pc.t("前月", "Previous month")) }
                strong.month-current { (month.label(pc.lang)) }
                a href=(usage_href(t, "usage", month.next())) { (pc.t("翌月", "Next month")) " »" }
            }
            form.filter-form method="get" action=(tenant_path(t, "usage")) {
                label.visually-hidden for="month" { (pc.t("対象月", "Month")) }
                input #month type="month" name="month" value=(month.to_string()) min="2000-01" max="9999-12";
                button.button.button-small type="submit" { (pc.t("表示", "Show")) }
            }
            @if report.is_some() {
                a.button.button-small.button-secondary href=(usage_href(t, "usage.csv", month)) download {
                    (pc.t("CSVダウンロード", "Download CSV"))
                }
            }
        }
        @if let Some(r) = report {
            div.table-scroll {
                table.list.usage-table {
                    thead {
                        tr {
                            th scope="col" { (pc.t("会社名", "Company")) }
                            th scope="col" { (pc.t("グループ", "Group")) }
                            @for c in usage::columns(pc.lang) { th.num scope="col" { (c) } }
                        }
                    }
                    tbody {
                        @for row in &r.rows {
                            @let (company, group) = usage::row_labels(row, pc.lang);
                            tr {
                                td { (company) @if let Some(v) = &row.vendor_code { " " span.code { "(" (v) ")" } } }
                                td { (group) }
                                @for n in row.counts.values() { td.num { (n) } }
                            }
                        }
                    }
                    tfoot {
                        tr {
                            th scope="row" colspan="2" { (pc.t("合計", "Total")) }
                            @for n in r.total.values() { td.num { (n) } }
                        }
                    }
                }
            }
            p.hint {
                (pc.t(
                    "ログイン回数・証明書・チケット・文書は操作履歴(監査ログ)から、メール送信は送信済みメールから集計しています(日本時間)。",
                    "Figures are counted from the audit log and the sent mail (Japan time).",
                ))
            }
        }
    };
    app_page(pc, s, Tab::Normal, pc.t("利用状況照会", "Usage"), body)
}

#[handler]
async fn usage_page(req: &Request, Path(tenant): Path<String>, Data(web): Data<&Web>) -> PageResult {
    let (pc, s, support) = open(web, req, &tenant).await?;
    let asked = query_param(req, "month").filter(|m| !m.is_empty());
    let this_month = Month::of(support.kernel.now());
    Ok(match support.usage(s.caller(), asked.as_deref()).await {
        Ok(report) => pc.respond(StatusCode::OK, usage_view(&pc, &s, report.month, Some(&report), None)),
        Err(e) => match failure(&e, &pc) {
            Some((status, msg, errors)) => {
                let detail = errors.first().map(|f| f.message.clone());
                let msg = Msg::error(msg.title, detail.or(msg.detail));
                pc.respond(status, usage_view(&pc, &s, this_month, None, Some(msg)))
            }
            None => layout::server_error(&pc, &e),
        },
    })
}

#[handler]
async fn usage_csv(req: &Request, Path(tenant): Path<String>, Data(web): Data<&Web>) -> PageResult {
    let (pc, s, support) = open(web, req, &tenant).await?;
    Ok(match support.usage(s.caller(), query_param(req, "month").as_deref()).await {
        Ok(report) => Response::builder()
            .status(StatusCode::OK)
            .header(header::CONTENT_TYPE, "text/csv; charset=utf-8")
            .header(header::CONTENT_DISPOSITION, crate::api::http::content_disposition(&usage::csv_file_name(&report)))
            .header(header::CACHE_CONTROL, "no-store")
            .body(usage::csv(&report, pc.lang)),
        Err(e) => match failure(&e, &pc) {
            Some((status, msg, _)) => layout::error_page(
                &pc,
                status,
                &msg.title,
                msg.detail.as_deref(),
                Some((&tenant_path(&tenant, "usage"), pc.t("利用状況照会へ戻る", "Back to the usage page"))),
            ),
            None => layout::server_error(&pc, &e),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use keiyaku_kernel::directory::Tenant;

    fn doc(id: &str, category: Category, name: &str, kind: Kind) -> Document {
        Document {
            id: id.into(),
            tenant: "HXOS2".into(),
            category,
            file_name: name.into(),
            kind,
            size: 2048,
            sha256: String::new(),
            chunks: 1,
            uploaded_by: "HX000001".into(),
            uploaded_at: jiff::Timestamp::UNIX_EPOCH,
        }
    }

    #[test]
    fn public_support_page_has_every_section_escaped_and_no_admin_form() {
        let page = SupportPage {
            tenant: Tenant {
                code: "HXOS2".into(),
                name: "オリエンタル白石".into(),
                owner_company_id: "c".into(),
                trial: true,
                created_at: String::new(),
            },
            sections: vec![
                (Category::Info, vec![doc("i1", Category::Info, "案内<b>.txt", Kind::Text)]),
                (Category::Manual, vec![doc("m1", Category::Manual, "ユーザーズマニュアル.pdf", Kind::Pdf)]),
                (Category::EbookLaw, Vec::new()),
                (Category::Faq, Vec::new()),
            ],
            inline: vec![("i1".into(), "窓口: https://example.jp/help <script>".into())],
        };
        let pc = PageCtx::new(Lang::Ja, None, "/t/HXOS2/support", "", None);
        let v = SupportView { page: &page, signed: None, msg: None, errors: &[], category: "" };
        let html = support_view(&pc, &v, 20 * 1024 * 1024).into_string();
        for s in [
            "サポートページ",
            "サポート情報",
            "JCAN証明書関連",
            "利用説明資料",
            "電子帳簿保存法関連資料は現在登録されておりません。",
            "よくあるご質問は現在登録されておりません。",
            "href=\"/api/v1/t/HXOS2/support/documents/m1\"",
            "ユーザーズマニュアル.pdf",
            "案内&lt;b&gt;.txt",
            "<a href=\"https://example.jp/help\" rel=\"noopener noreferrer\">",
            "&lt;script&gt;",
            "電子契約トライアル環境",
        ] {
            assert!(html.contains(s), "missing {s}: {html}");
        }
        assert!(!html.contains("<script"));
        assert!(!html.contains("資料のアップロード"));
        assert!(!html.contains("ダッシュボードへ戻る"));
        let certs_links =
            html.contains("href=\"/t/HXOS2/tickets/order\"") && html.contains("href=\"/t/HXOS2/certificates/apply\"");
        assert_eq!(certs_links, cfg!(feature = "certs"));
    }

    #[test]
    fn sizes_and_done_codes() {
        assert_eq!(size_text(512), "512 B");
        assert_eq!(size_text(2048), "2.0 KB");
        assert_eq!(size_text(3 * 1024 * 1024), "3.0 MB");
        assert_eq!(done_text("uploaded", Lang::Ja), Some("資料をアップロードしました。"));
        assert_eq!(done_text("<script>", Lang::Ja), None);
        assert_eq!(notices_href("HXOS2", 1, false), "/t/HXOS2/notices");
        assert_eq!(notices_href("HXOS2", 3, true), "/t/HXOS2/notices?page=3&all=1");
    }

    /// The pages over the real services on a temporary store with the demo data.
    mod flows {
        use crate::test_app::{Answer, Session, TestApp};
        use keiyaku_support::{Support, SupportModule};
        use poem::http::{Method, StatusCode};

        type App = TestApp<Support>;

        fn app() -> App {
            TestApp::new(
                "support",
                &SupportModule,
                |k| Support::new(k.clone()),
                |w, s| crate::Web { support: s.clone(), ..w },
            )
        }

        impl App {
            async fn upload(&self, s: &Session, csrf: &str, category: &str, name: &str, bytes: &[u8]) -> Answer {
                let mut body = Vec::new();
                for (k, v) in [("csrf", csrf), ("category", category)] {
                    body.extend_from_slice(
                        format!("--XyZ\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n").as_bytes(),
                    );
                }
                body.extend_from_slice(
                    format!("--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\nContent-Type: application/octet-stream\r\n\r\n").as_bytes(),
                );
                body.extend_from_slice(bytes);
                body.extend_from_slice(b"\r\n--XyZ--\r\n");
                self.send(
                    Method::POST,
                    "/t/HXOS2/support/documents",
                    Some(s),
                    Some(("multipart/form-data; boundary=XyZ", body)),
                )
                .await
            }

            async fn documents(&self) -> usize {
                let paging = keiyaku_support::Paging::default();
                self.service.list_documents("HXOS2", None, paging).await.map(|p| p.total).unwrap_or(0)
            }
        }

        #[tokio::test]
        async fn support_page_is_public_and_administrators_upload() {
            let app = app();
            let public = app.get("/t/HXOS2/support", None).await;
            assert_eq!(public.status, StatusCode::OK);
            assert!(public.text().contains("FAQ.txt") && !public.text().contains("資料のアップロード"));
            assert_eq!(app.get("/t/NOPE/support", None).await.status, StatusCode::NOT_FOUND);
            assert_eq!(app.get("/t/bad!/support", None).await.status, StatusCode::NOT_FOUND);

            let admin = app.login("HX000001").await;
            let page = app.get("/t/HXOS2/support", Some(&admin)).await;
            assert!(page.text().contains("資料のアップロード") && page.text().contains("ダッシュボードへ戻る"));
            let before = app.documents().await;
            let refused = app.upload(&admin, "wrong", "faq", "a.txt", "本文".as_bytes()).await;
            assert_eq!(refused.status, StatusCode::FORBIDDEN);
            let refused = app.upload(&admin, &admin.csrf, "faq", "a.png", b"\x89PNG\r\n\x1a\n").await;
            assert_eq!(refused.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
            assert!(refused.text().contains("このファイルの形式には対応していません。"), "{}", refused.text());
            let user = app.login("HX000002").await;
            let refused = app.upload(&user, &user.csrf, "faq", "a.txt", "本文".as_bytes()).await;
            assert_eq!(refused.status, StatusCode::FORBIDDEN);
            let garbage = app
                .send(Method::POST, "/t/HXOS2/support/documents", Some(&admin), Some(("text/plain", b"x".to_vec())))
                .await;
            assert_eq!(garbage.status, StatusCode::BAD_REQUEST);
            assert_eq!(app.documents().await, before, "refused uploads store nothing");

            let ok = app.upload(&admin, &admin.csrf, "faq", "質問集.txt", "Q. 質問\nA. 回答".as_bytes()).await;
            assert_eq!(ok.status, StatusCode::SEE_OTHER);
            assert_eq!(ok.location, "/t/HXOS2/support?done=uploaded#support-faq");
            assert_eq!(app.documents().await, before + 1);
            let page = app.get("/t/HXOS2/support?done=uploaded", None).await;
            assert!(page.text().contains("質問集.txt") && page.text().contains("A. 回答"));
            assert!(page.text().contains("資料をアップロードしました。"));

            // Delete: CSRF checked, administrators only.
            let id = app
                .service
                .list_documents("HXOS2", Some("faq"), keiyaku_support::Paging::default())
                .await
                .ok()
                .and_then(|p| p.items.into_iter().find(|d| d.file_name == "質問集.txt"))
                .map(|d| d.id)
                .unwrap_or_default();
            let uri = format!("/t/HXOS2/support/documents/{id}/delete");
            assert_eq!(app.form(&uri, &admin, &[("csrf", "nope")]).await.status, StatusCode::FORBIDDEN);
            assert_eq!(app.form(&uri, &user, &[("csrf", &user.csrf)]).await.status, StatusCode::FORBIDDEN);
            let done = app.form(&uri, &admin, &[("csrf", &admin.csrf)]).await;
            assert_eq!(
                (done.status, done.location.as_str()),
                (StatusCode::SEE_OTHER, "/t/HXOS2/support?done=document_deleted")
            );
            assert_eq!(app.documents().await, before);
        }

        #[tokio::test]
        async fn notices_page_and_usage_page() {
            let app = app();
            assert_eq!(app.get("/t/HXOS2/notices", None).await.location, "/t/HXOS2/login");
            let partner = app.login("A1533601").await;
            let page = app.get("/t/HXOS2/notices", Some(&partner)).await;
            assert_eq!(page.status, StatusCode::OK);
            let text = page.text();
            assert!(
                text.contains("JCAN証明書の購入と発行申請について") && !text.contains("注文書・請書の回覧ルート"),
                "{text}"
            );
            assert!(!text.contains("お知らせの登録"));
            let refused =
                app.form("/t/HXOS2/notices", &partner, &[("csrf", &partner.csrf), ("title", "t"), ("body", "b")]).await;
            assert_eq!(refused.status, StatusCode::FORBIDDEN);

            let admin = app.login("HX000001").await;
            let invalid = app
                .form(
                    "/t/HXOS2/notices",
                    &admin,
                    &[("csrf", &admin.csrf), ("title", ""), ("body", "本文<b>"), ("audience", "all")],
                )
                .await;
            assert_eq!(invalid.status, StatusCode::UNPROCESSABLE_ENTITY);
            assert!(
                invalid.text().contains("必須項目です。") && invalid.text().contains("本文&lt;b&gt;"),
                "the form keeps its values"
            );
            let fields = [
                ("csrf", admin.csrf.as_str()),
                ("title", "保守作業のお知らせ"),
                ("body", "詳細 https://example.jp/m"),
                ("audience", "partners"),
                ("publish_at", ""),
                ("expire_at", "2999-01-01T00:00"),
            ];
            let created = app.form("/t/HXOS2/notices", &admin, &fields).await;
            assert_eq!(
                (created.status, created.location.as_str()),
                (StatusCode::SEE_OTHER, "/t/HXOS2/notices?done=notice_created")
            );
            let page = app.get("/t/HXOS2/notices?done=notice_created", Some(&partner)).await;
            assert!(page.text().contains("保守作業のお知らせ"));
            assert!(page.text().contains("<a href=\"https://example.jp/m\""));
            let dash = app.get("/t/HXOS2/", Some(&partner)).await;
            assert!(dash.text().contains("保守作業のお知らせ") && dash.text().contains("FAQ.pdf"), "{}", dash.text());
            assert!(app.get("/t/HXOS2/notices?page=999&all=1", Some(&partner)).await.status.is_success());

            let usage = app.get("/t/HXOS2/usage", Some(&admin)).await;
            assert_eq!(usage.status, StatusCode::OK);
            assert!(usage.text().contains("アイテックコンサルタント株式会社") && usage.text().contains("合計"));
            let bad = app.get("/t/HXOS2/usage?month=2026-13", Some(&admin)).await;
            assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
            assert!(bad.text().contains("YYYY-MM"));
            let csv = app.get("/t/HXOS2/usage.csv?month=2026-11", Some(&admin)).await;
            assert_eq!((csv.status, csv.content_type.as_str()), (StatusCode::OK, "text/csv; charset=utf-8"));
            assert!(csv.body.starts_with(b"\xEF\xBB\xBF\xE5\xB9\xB4\xE6\x9C\x88,"));
            assert_eq!(
                app.get("/t/HXOS2/usage.csv?month=x", Some(&admin)).await.status,
                StatusCode::UNPROCESSABLE_ENTITY
            );
            let partner_usage = app.get("/t/HXOS2/usage", Some(&partner)).await;
            assert!(!partner_usage.text().contains("本社 管理部"), "a partner sees its own company only");
        }
    }
}
