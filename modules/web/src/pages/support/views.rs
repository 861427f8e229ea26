use super::forms::NoticeForm;
use crate::layout::{self, Msg, PageCtx, Tab, TenantHead, app_page, expired_form, field_errors, has_error, pager};
use crate::linkify::linkify;
use crate::query::param as query_param;
use crate::session::{CSRF_FIELD, Signed, tenant_path};
use keiyaku_kernel::Lang;
use keiyaku_kernel::clock::{self, tokyo};
use keiyaku_kernel::error::FieldError;
use keiyaku_support::notices::{BODY_MAX, TITLE_MAX};
use keiyaku_support::policy;
use keiyaku_support::sniff::Kind;
use keiyaku_support::usage::{self, Month, Report};
use keiyaku_support::{Audience, Category, Document, Notice, Page, SupportPage};
use maud::{Markup, html};
use poem::Request;
use poem::http::StatusCode;

/// Notices per page on the お知らせ page.
pub(super) const NOTICES_PER_PAGE: usize = 10;

/// Messages that a redirect may ask for with `?done=` (only these codes exist).
pub(super) fn done_text(code: &str, lang: Lang) -> Option<&'static str> {
    Some(match code {
        "uploaded" => lang.pick("資料をアップロードしました。", "The document has been uploaded."),
        "replaced" => lang.pick("同じ名前の資料を置き換えました。", "The document with the same name was replaced."),
        "document_deleted" => lang.pick("資料を削除しました。", "The document has been deleted."),
        "notice_created" => lang.pick("お知らせを登録しました。", "The notice has been published."),
        "notice_deleted" => lang.pick("お知らせを削除しました。", "The notice has been deleted."),
        _ => return None,
    })
}

pub(super) fn done_msg(req: &Request, lang: Lang) -> Option<Msg> {
    query_param(req, "done").and_then(|c| done_text(&c, lang)).map(Msg::notice)
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

pub(super) fn section(id: &str, title: &str, body: Markup) -> Markup {
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
pub(super) struct Outcome {
    pub(super) status: StatusCode,
    pub(super) msg: Option<Msg>,
    pub(super) errors: Vec<FieldError>,
}

impl Outcome {
    pub(super) fn ok(msg: Option<Msg>) -> Self {
        Self { status: StatusCode::OK, msg, errors: Vec::new() }
    }

    pub(super) fn error(status: StatusCode, msg: Msg, errors: Vec<FieldError>) -> Self {
        Self { status, msg: Some(msg), errors }
    }

    /// A form with a stale or missing CSRF token (403).
    pub(super) fn expired(pc: &PageCtx) -> Self {
        Self::error(StatusCode::FORBIDDEN, expired_form(pc), Vec::new())
    }
}

/// What the notices page shows.
pub struct NoticesView<'a> {
    pub page: &'a Page<Notice>,
    /// Listing scheduled and expired notices too (administrators).
    pub all: bool,
    pub msg: Option<Msg>,
    pub errors: &'a [FieldError],
    pub(super) form: &'a NoticeForm,
    pub(super) now: jiff::Timestamp,
}

pub(super) fn notices_href(tenant: &str, page: usize, all: bool) -> String {
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
