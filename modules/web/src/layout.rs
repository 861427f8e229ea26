//! The page frame every page shares: the document head, the header bar (public pages and
//! the logged-in shell with company name, links, login user and tabs), message boxes, field
//! errors, and the HTML response helper (which also remembers a language picked with the
//! toggle link).
//!
//! Nothing here renders user data without escaping: maud escapes every splice, and
//! `PreEscaped` is not used on anything that comes from a request or the database.

use crate::api::http::Ctx;
use crate::assets;
use crate::session::{self, LANG_COOKIE};
use keiyaku_kernel::Lang;
use keiyaku_kernel::error::FieldError;
use maud::{DOCTYPE, Markup, html};
use poem::http::{StatusCode, header};
use poem::{Request, Response};

/// The product name, in every `<title>`.
pub const PRODUCT: &str = "電子契約サービス";

/// What rendering needs to know about the request: the language, the client address and the
/// URL (for the language toggle link).
#[derive(Debug, Clone)]
pub struct PageCtx {
    pub lang: Lang,
    pub client: Option<String>,
    path: String,
    query: String,
    /// `?lang=` was given: the response stores the choice in the `lang` cookie.
    set_lang: Option<Lang>,
}

impl PageCtx {
    pub fn of(req: &Request) -> Self {
        let ctx = Ctx::of(req);
        let uri = req.uri();
        let query = uri.query().unwrap_or_default().to_string();
        let set_lang = crate::query::param(req, "lang").as_deref().and_then(Lang::parse);
        Self::new(ctx.lang, ctx.client, uri.path(), &query, set_lang)
    }

    /// A context for rendering outside a request (tests, previews).
    pub fn new(lang: Lang, client: Option<String>, path: &str, query: &str, set_lang: Option<Lang>) -> Self {
        // A path starting with `//` would make the toggle link leave the site.
        let path = if path.starts_with('/') && !path.starts_with("//") { path } else { "/" };
        Self { lang, client, path: path.to_string(), query: query.to_string(), set_lang }
    }

    /// Chooses the Japanese or the English text.
    pub fn t<'a>(&self, ja: &'a str, en: &'a str) -> &'a str {
        self.lang.pick(ja, en)
    }

    /// The other language's code and its name, for the toggle link.
    fn other(&self) -> (Lang, &'static str) {
        match self.lang {
            Lang::Ja => (Lang::En, "English"),
            Lang::En => (Lang::Ja, "日本語"),
        }
    }

    /// This page's URL in the other language (`?lang=` replaced, other parameters kept).
    pub fn toggle_href(&self) -> String {
        let (other, _) = self.other();
        let mut params: Vec<&str> =
            self.query.split('&').filter(|kv| !kv.is_empty() && !kv.starts_with("lang=")).collect();
        let lang_param = format!("lang={}", other.code());
        params.push(&lang_param);
        format!("{}?{}", self.path, params.join("&"))
    }

    /// The HTML response: `text/html`, not cached, and the language cookie when the toggle
    /// link was followed.
    pub fn respond(&self, status: StatusCode, page: Markup) -> Response {
        self.respond_with(status, page, &[])
    }

    /// Like [`PageCtx::respond`], with extra `Set-Cookie` values.
    pub fn respond_with(&self, status: StatusCode, page: Markup, cookies: &[String]) -> Response {
        let mut b = Response::builder()
            .status(status)
            .header(header::CONTENT_TYPE, "text/html; charset=utf-8")
            .header(header::CACHE_CONTROL, "no-store");
        if let Some(lang) = self.set_lang {
            b = b.header(header::SET_COOKIE, lang_cookie(lang));
        }
        for c in cookies {
            b = b.header(header::SET_COOKIE, c.as_str());
        }
        b.body(page.into_string())
    }
}

fn lang_cookie(lang: Lang) -> String {
    format!("{LANG_COOKIE}={}; Path=/; Max-Age=31536000; Secure; HttpOnly; SameSite=Lax", lang.code())
}

/// A 303 redirect (after a form, or to the login page), with `Set-Cookie` values.
pub fn see_other(location: &str, cookies: &[String]) -> Response {
    let mut b = Response::builder()
        .status(StatusCode::SEE_OTHER)
        .header(header::LOCATION, location)
        .header(header::CACHE_CONTROL, "no-store");
    for c in cookies {
        b = b.header(header::SET_COOKIE, c.as_str());
    }
    b.finish()
}

/// The whole HTML document.
pub fn document(pc: &PageCtx, title: &str, body_class: &str, content: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang=(pc.lang.code()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="robots" content="noindex, nofollow";
                title {
                    @if title.is_empty() || title == PRODUCT { (PRODUCT) } @else { (title) " | " (PRODUCT) }
                }
                link rel="stylesheet" href=(assets::css_href());
                link rel="icon" type="image/svg+xml" href=(assets::favicon_href());
            }
            body class=(body_class) {
                (content)
            }
        }
    }
}

fn lang_toggle(pc: &PageCtx) -> Markup {
    let (other, name) = pc.other();
    html! {
        a.lang-toggle href=(pc.toggle_href()) hreflang=(other.code()) lang=(other.code()) { (name) }
    }
}

fn footer(pc: &PageCtx) -> Markup {
    html! {
        footer.site-footer {
            span { (PRODUCT) " · keiyaku " (env!("CARGO_PKG_VERSION")) }
            (lang_toggle(pc))
        }
    }
}

/// The discreet banner of trial tenants.
pub fn trial_banner(pc: &PageCtx) -> Markup {
    html! {
        div.trial-banner role="note" { (pc.t("電子契約トライアル環境", "E-contract trial environment")) }
    }
}

/// The tenant a public page belongs to, for its header.
#[derive(Debug, Clone, Copy)]
pub struct TenantHead<'a> {
    pub code: &'a str,
    pub name: &'a str,
    pub trial: bool,
}

/// A page for people who are not logged in (landing, login, mailbox, errors): a slim header
/// with the product name (and the tenant's name), the content, the footer.
pub fn public_page(pc: &PageCtx, title: &str, tenant: Option<TenantHead<'_>>, wide: bool, content: Markup) -> Markup {
    let body = html! {
        @if tenant.is_some_and(|t| t.trial) { (trial_banner(pc)) }
        header.topbar {
            div.topbar-inner {
                @match tenant {
                    Some(t) => {
                        a.brand href=(session::tenant_path(t.code, "login")) {
                            span.brand-mark aria-hidden="true" { "■" }
                            span.brand-name { (t.name) }
                            span.brand-product { (PRODUCT) }
                        }
                    }
                    None => {
                        a.brand href="/" {
                            span.brand-mark aria-hidden="true" { "■" }
                            span.brand-name { (PRODUCT) }
                            span.brand-product { "keiyaku" }
                        }
                    }
                }
                nav.toplinks aria-label=(pc.t("言語", "Language")) { (lang_toggle(pc)) }
            }
        }
        main class=(if wide { "public-main wide" } else { "public-main" }) {
            (content)
        }
        (footer(pc))
    };
    document(pc, title, "public", body)
}

/// The kind of a message box.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MsgKind {
    Error,
    Notice,
    Info,
}

/// A message shown in a box at the top of a page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Msg {
    pub kind: MsgKind,
    pub title: String,
    pub detail: Option<String>,
}

impl Msg {
    pub fn error(title: impl Into<String>, detail: Option<String>) -> Self {
        Self { kind: MsgKind::Error, title: title.into(), detail }
    }

    pub fn notice(title: impl Into<String>) -> Self {
        Self { kind: MsgKind::Notice, title: title.into(), detail: None }
    }

    pub fn info(title: impl Into<String>) -> Self {
        Self { kind: MsgKind::Info, title: title.into(), detail: None }
    }

    /// The message of a problem (title and detail, never internals).
    pub fn from_problem(p: &keiyaku_kernel::Problem) -> Self {
        Self::error(p.title.clone(), p.detail.clone())
    }
}

pub fn message(msg: &Msg) -> Markup {
    let (class, role) = match msg.kind {
        MsgKind::Error => ("msg msg-error", "alert"),
        MsgKind::Notice => ("msg msg-notice", "status"),
        MsgKind::Info => ("msg msg-info", "status"),
    };
    html! {
        div class=(class) role=(role) {
            p.msg-title { (msg.title) }
            @if let Some(d) = &msg.detail { p.msg-detail { (d) } }
        }
    }
}

pub fn messages(msg: Option<&Msg>) -> Markup {
    html! { @if let Some(m) = msg { (message(m)) } }
}

/// The errors of one field, shown beside it.
pub fn field_errors(errors: &[FieldError], field: &str) -> Markup {
    html! {
        @for e in errors.iter().filter(|e| e.field == field) {
            p.field-error id=(format!("{field}-error")) { (e.message) }
        }
    }
}

pub fn has_error(errors: &[FieldError], field: &str) -> bool {
    errors.iter().any(|e| e.field == field)
}

/// The paging links of a list: 前へ, `n / m`, 次へ; nothing when there is one page. A page
/// past the last shows as the last.
pub fn pager(pc: &PageCtx, page: usize, pages: usize, href: impl Fn(usize) -> String) -> Markup {
    html! {
        @if pages > 1 {
            nav.pager aria-label=(pc.t("ページ", "Pages")) {
                @if page > 1 { a rel="prev" href=(href(page - 1)) { "« " (pc.t("前へ", "Previous")) } }
                span.pager-pos { (page.min(pages)) " / " (pages) }
                @if page < pages { a rel="next" href=(href(page + 1)) { (pc.t("次へ", "Next")) " »" } }
            }
        }
    }
}

/// 「全N件」 over a list; in English `1 {one}` / `N {many}`.
pub fn count_text(lang: Lang, total: usize, (one, many): (&str, &str)) -> String {
    match lang {
        Lang::Ja => format!("全{total}件"),
        Lang::En if total == 1 => format!("1 {one}"),
        Lang::En => format!("{total} {many}"),
    }
}

/// A form whose CSRF token does not match (403): reload and send again.
pub fn expired_form(pc: &PageCtx) -> Msg {
    Msg::error(
        pc.t("画面の有効期限が切れたか、不正な送信です。", "This form has expired or was not sent from this site."),
        Some(
            pc.t("画面を開き直してから、もう一度お試しください。", "Please reload the page and try again.").to_string(),
        ),
    )
}

/// A form before login whose double-submit token does not match (403): enter it again.
pub fn expired_public_form(pc: &PageCtx) -> Msg {
    Msg::error(
        pc.t("画面の有効期限が切れたか、不正な送信です。", "This form has expired or was not sent from this site."),
        Some(pc.t("お手数ですが、もう一度入力してください。", "Please enter your data again.").to_string()),
    )
}

/// The title of a form the service refused field by field (422).
pub fn invalid_msg(pc: &PageCtx) -> Msg {
    Msg::error(pc.t("入力内容に誤りがあります。", "Some fields are invalid."), None)
}

/// Fixed notices that can be asked for with `?notice=` (after a redirect). Only these
/// codes exist, so a link cannot make a page say anything else.
pub fn notice_text(code: &str, lang: Lang) -> Option<&'static str> {
    Some(match code {
        "logged_out" => lang.pick("ログアウトしました。", "You have logged out."),
        "password_changed" => lang.pick("パスワードを変更しました。", "Your password has been changed."),
        "totp_removed" => lang.pick("二要素認証を解除しました。", "Two-factor authentication is off."),
        "session_expired" => lang.pick(
            "セッションの有効期限が切れました。再度ログインしてください。",
            "Your session has ended. Please log in again.",
        ),
        _ => return None,
    })
}

/// The `notice` parameter of the query, as a message.
pub fn notice_of(req: &Request, lang: Lang) -> Option<Msg> {
    let code = crate::query::param(req, "notice")?;
    notice_text(&code, lang).map(Msg::notice)
}

/// An error page (unknown tenant, bad request, forbidden, server error).
pub fn error_page(
    pc: &PageCtx,
    status: StatusCode,
    title: &str,
    detail: Option<&str>,
    back: Option<(&str, &str)>,
) -> Response {
    let msg = Msg::error(title, detail.map(str::to_string));
    let home = pc.t("トップページへ", "To the start page");
    let (href, label) = back.unwrap_or(("/", home));
    let body = html! {
        section.card {
            h1.card-title { (status.as_u16()) " " (status_label(pc, status)) }
            (message(&msg))
            p.card-links { a href=(href) { (label) } }
        }
    };
    pc.respond(status, public_page(pc, title, None, false, body))
}

fn status_label(pc: &PageCtx, status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 => pc.t("不正なリクエスト", "Bad request"),
        403 => pc.t("アクセスできません", "Forbidden"),
        404 => pc.t("ページが見つかりません", "Not found"),
        405 => pc.t("この操作はできません", "Method not allowed"),
        413 => pc.t("ファイルが大きすぎます", "Too large"),
        s if s >= 500 => pc.t("システムエラー", "Server error"),
        _ => pc.t("エラー", "Error"),
    }
}

/// 404 page.
pub fn not_found(pc: &PageCtx) -> Response {
    error_page(
        pc,
        StatusCode::NOT_FOUND,
        pc.t("お探しのページは見つかりませんでした。", "The page you are looking for does not exist."),
        Some(pc.t("URL(企業コード)をご確認ください。", "Please check the address (enterprise code).")),
        None,
    )
}

/// 500 page: the cause is logged, never shown.
pub fn server_error(pc: &PageCtx, cause: &dyn std::fmt::Display) -> Response {
    tracing::error!(error = %cause, "web page failed");
    error_page(
        pc,
        StatusCode::INTERNAL_SERVER_ERROR,
        pc.t("システムエラーが発生しました。", "An internal error occurred."),
        Some(pc.t("しばらくしてから再度お試しください。", "Please try again later.")),
        None,
    )
}

/// The answer to a form post larger than the server's limit (`max` bytes, usually an upload):
/// the limit in MB and a link back to the form it came from.
pub fn too_large(req: &Request, max: usize) -> Response {
    let pc = PageCtx::of(req);
    let mb = max.div_ceil(1024 * 1024);
    let detail = match pc.lang {
        Lang::Ja => format!(
            "一度に送信できるのは合計 {mb} MB までです。ファイルを小さくするか分けてから、もう一度お試しください。"
        ),
        Lang::En => {
            format!("At most {mb} MB can be sent at once. Make the file smaller or send it in parts, then try again.")
        }
    };
    // Back to the form: the Referer's path when it is one of ours.
    let back = req
        .header(poem::http::header::REFERER)
        .and_then(|r| r.strip_prefix("https://").or_else(|| r.strip_prefix("http://")))
        .and_then(|r| r.find('/').map(|i| &r[i..]))
        .filter(|p| !p.starts_with("//"))
        .map(|p| (p, pc.t("入力画面に戻る", "Back to the form")));
    error_page(
        &pc,
        StatusCode::PAYLOAD_TOO_LARGE,
        pc.t("送信されたファイルが大きすぎます。", "The file you sent is too large."),
        Some(&detail),
        back,
    )
}

/// A form page that could not be read (wrong content type, broken encoding).
pub fn bad_form(pc: &PageCtx) -> Response {
    error_page(
        pc,
        StatusCode::BAD_REQUEST,
        pc.t("送信された内容を読み取れませんでした。", "The submitted form could not be read."),
        Some(pc.t("画面を開き直してから、もう一度お試しください。", "Please reload the page and try again.")),
        None,
    )
}

#[cfg(feature = "auth")]
pub use shell::{Tab, app_page};

#[cfg(feature = "auth")]
mod shell {
    use super::*;
    use crate::session::{CSRF_FIELD, Signed};
    use keiyaku_kernel::clock;

    /// The two tabs of the logged-in shell.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Tab {
        /// 通常メニュー
        Normal,
        /// 管理メニュー (group administrators)
        Admin,
    }

    fn header_links(pc: &PageCtx, s: &Signed) -> Markup {
        let t = &s.tenant_code;
        html! {
            ul.toplinks {
                @if !s.auth.must_change {
                    li.bullet { a href=(session::tenant_path(t, "notices")) { (pc.t("お知らせページ", "Notices")) } }
                    li.bullet { a href=(session::tenant_path(t, "support")) { (pc.t("サポートページ", "Support")) } }
                    li.bullet { a href=(session::tenant_path(t, "")) { (pc.t("モバイル版へ", "Mobile version")) } }
                }
                li.bullet-open {
                    form.inline-form method="post" action=(session::tenant_path(t, "logout")) {
                        input type="hidden" name=(CSRF_FIELD) value=(s.csrf());
                        // No explicit `type`: a button in a form submits it anyway, and the page's
                        // own form stays the first `button[type=submit]` of the document.
                        button.link-button { (pc.t("ログアウト", "Log out")) }
                    }
                }
                li { (lang_toggle(pc)) }
            }
        }
    }

    /// 「ログインユーザー：{name}(前回ログイン日時：{YYYY/MM/DD HH:MM})」
    pub fn login_user_line(pc: &PageCtx, name: &str, previous: Option<jiff::Timestamp>) -> String {
        let when = previous.map(clock::display).unwrap_or_else(|| pc.t("初回ログイン", "first login").to_string());
        match pc.lang {
            Lang::Ja => format!("ログインユーザー：{name}(前回ログイン日時：{when})"),
            Lang::En => format!("Logged in as: {name} (previous login: {when})"),
        }
    }

    /// A page of the logged-in shell: header bar with the service owner's name and links,
    /// the login user line, the tabs (管理メニュー only for group administrators), and the
    /// content under an `h1`.
    pub fn app_page(pc: &PageCtx, s: &Signed, tab: Tab, title: &str, content: Markup) -> Markup {
        let t = &s.tenant_code;
        let show_admin = s.is_group_admin();
        let body = html! {
            @if s.me.tenant.trial { (trial_banner(pc)) }
            header.appbar {
                div.appbar-row {
                    div.company {
                        span.company-mark aria-hidden="true" { "■" }
                        span.company-name { (s.owner_company_name) }
                    }
                    nav aria-label=(pc.t("サイト", "Site")) { (header_links(pc, s)) }
                }
                div.appbar-row.appbar-sub {
                    p.login-user { (login_user_line(pc, &s.me.user.name, s.me.last_login_at)) }
                    @if !s.auth.must_change {
                        a.small-link href=(session::tenant_path(t, "password")) { (pc.t("パスワード変更", "Change password")) }
                        " "
                        a.small-link href=(session::tenant_path(t, "totp")) { (pc.t("二要素認証", "Two-factor authentication")) }
                    }
                }
            }
            @if !s.auth.must_change {
                nav.tabs aria-label=(pc.t("メニュー", "Menu")) {
                    div.tabs-inner {
                        a.tab.active[tab == Tab::Normal] href=(session::tenant_path(t, "")) aria-current=[(tab == Tab::Normal).then_some("page")] {
                            (pc.t("通常メニュー", "Standard menu"))
                        }
                        @if show_admin {
                            a.tab.active[tab == Tab::Admin] href=(format!("{}?tab=admin", session::tenant_path(t, ""))) aria-current=[(tab == Tab::Admin).then_some("page")] {
                                (pc.t("管理メニュー", "Administration menu"))
                            }
                        }
                    }
                }
            }
            main.app-main {
                h1.page-title { (title) }
                (content)
            }
            (footer(pc))
        };
        document(pc, title, "app", body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use keiyaku_kernel::FieldCode;

    fn pc(lang: Lang, path: &str, query: &str) -> PageCtx {
        PageCtx::new(lang, None, path, query, None)
    }

    #[test]
    fn toggle_keeps_other_parameters_and_replaces_lang() {
        assert_eq!(pc(Lang::Ja, "/t/HXOS2/", "").toggle_href(), "/t/HXOS2/?lang=en");
        assert_eq!(pc(Lang::En, "/t/HXOS2/", "tab=admin&lang=en").toggle_href(), "/t/HXOS2/?tab=admin&lang=ja");
        assert_eq!(pc(Lang::Ja, "//evil.example", "").toggle_href(), "/?lang=en");
    }

    #[test]
    fn documents_have_lang_title_and_stylesheet() {
        let html = document(&pc(Lang::Ja, "/", ""), "ログイン", "public", html! { p { "x" } }).into_string();
        assert!(html.starts_with("<!DOCTYPE html><html lang=\"ja\">"));
        assert!(html.contains("<title>ログイン | 電子契約サービス</title>"));
        assert!(html.contains("/static/keiyaku.css?v="));
        assert!(!html.contains("style="));
        let en = document(&pc(Lang::En, "/", ""), PRODUCT, "public", html! {}).into_string();
        assert!(en.contains("<html lang=\"en\">"));
        assert!(en.contains("<title>電子契約サービス</title>"));
    }

    #[test]
    fn messages_and_field_errors_are_escaped() {
        let m = Msg::error("<b>bad</b>", Some("\"x\" & y".into()));
        let html = message(&m).into_string();
        assert!(html.contains("&lt;b&gt;bad&lt;/b&gt;"));
        assert!(html.contains("&quot;x&quot; &amp; y"));
        assert!(html.contains("role=\"alert\""));
        let errs = vec![FieldError {
            field: "new_password".into(),
            code: FieldCode::TooShort,
            message: "8文字以上で入力してください。<".into(),
        }];
        let fe = field_errors(&errs, "new_password").into_string();
        assert!(fe.contains("8文字以上で入力してください。&lt;"));
        assert!(field_errors(&errs, "current_password").into_string().is_empty());
    }

    #[test]
    fn pager_links_and_counts() {
        let p = pc(Lang::Ja, "/", "");
        let html = pager(&p, 2, 3, |n| format!("?page={n}")).into_string();
        assert!(html.contains("2 / 3") && html.contains("?page=1") && html.contains("?page=3"), "{html}");
        assert!(html.contains("前へ") && html.contains("次へ"));
        let first = pager(&p, 1, 3, |n| format!("?page={n}")).into_string();
        assert!(!first.contains("rel=\"prev\"") && first.contains("rel=\"next\""));
        // A page past the last shows as the last and links back only.
        let past = pager(&p, 9, 3, |n| format!("?page={n}")).into_string();
        assert!(past.contains("3 / 3") && past.contains("?page=8") && !past.contains("rel=\"next\""), "{past}");
        assert!(pager(&p, 1, 1, |n| n.to_string()).into_string().is_empty());
        assert_eq!(count_text(Lang::Ja, 12, ("user", "users")), "全12件");
        assert_eq!(count_text(Lang::En, 1, ("user", "users")), "1 user");
        assert_eq!(count_text(Lang::En, 0, ("result", "results")), "0 results");
    }

    #[test]
    fn only_known_notices_are_shown() {
        assert_eq!(notice_text("logged_out", Lang::Ja), Some("ログアウトしました。"));
        assert_eq!(notice_text("<script>", Lang::Ja), None);
    }

    #[tokio::test]
    async fn responses_are_html_uncached_and_remember_the_language() {
        let p = PageCtx::new(Lang::En, None, "/", "lang=en", Some(Lang::En));
        let resp = p.respond(StatusCode::OK, html! { "x" });
        assert_eq!(resp.headers().get(header::CONTENT_TYPE).unwrap(), "text/html; charset=utf-8");
        assert_eq!(resp.headers().get(header::CACHE_CONTROL).unwrap(), "no-store");
        let cookie = resp.headers().get(header::SET_COOKIE).unwrap().to_str().unwrap();
        assert!(cookie.starts_with("lang=en;"));
        assert!(cookie.contains("Secure"));
    }

    #[test]
    fn error_pages_carry_their_status() {
        let p = pc(Lang::Ja, "/t/NOPE/login", "");
        assert_eq!(not_found(&p).status(), StatusCode::NOT_FOUND);
        assert_eq!(bad_form(&p).status(), StatusCode::BAD_REQUEST);
    }
}
