use crate::layout::{self, Msg, PageCtx, Tab, app_page};
use crate::linkify::linkify;
use crate::session::{Signed, tenant_path};
use keiyaku_kernel::Lang;
use keiyaku_kernel::module::MenuItem;
use keiyaku_kernel::waiting::WaitingLine;
use maud::{Markup, html};

/// The entries of one tab: the compiled-in modules' entries (their `Module::menu()`) the
/// user may open, in menu order.
pub fn menu_entries(modules: &[MenuItem], admin_tab: bool, is_admin: bool) -> Vec<MenuItem> {
    let mut out: Vec<MenuItem> =
        modules.iter().filter(|m| m.admin == admin_tab && (!m.admin || is_admin)).cloned().collect();
    out.sort_by_key(|m| m.order);
    out
}

/// The short company name of the waiting-documents rows (「オリ白」); lives with the lines in
/// the kernel so the API labels them the same way.
pub use keiyaku_kernel::waiting::short_company_name;

/// The rows of 確認待ち文書 (documents waiting for each role) with their counts: the seed's
/// four lines.
pub fn waiting_rows(lang: Lang, owner_short: &str, counts: [u64; 4]) -> Vec<(String, u64)> {
    let lines: Vec<(WaitingLine, u64)> = WaitingLine::DASHBOARD.into_iter().zip(counts).collect();
    waiting_rows_of(lang, owner_short, &lines)
}

/// Labelled rows for any reported lines.
pub fn waiting_rows_of(lang: Lang, owner_short: &str, lines: &[(WaitingLine, u64)]) -> Vec<(String, u64)> {
    lines.iter().map(|(line, n)| (line.label(lang, owner_short), *n)).collect()
}

/// A notice as the dashboard lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoticeItem {
    pub id: String,
    /// `YYYY/MM/DD`, Japan time.
    pub date: String,
    pub title: String,
    pub body: String,
}

/// A downloadable support file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileItem {
    pub name: String,
    pub href: String,
    /// Section (category) label, e.g. 利用説明資料.
    pub section: String,
}

/// What the dashboard shows from the support module: waiting counts, notices and support
/// files. Empty (and the seed's four lines at zero) when the module is not there.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DashData {
    /// (label, count) per line; None: the seed's four lines at zero.
    pub waiting: Option<Vec<(String, u64)>>,
    pub notices: Vec<NoticeItem>,
    /// Visible notices in all (more than shown: a link to the notices page).
    pub notices_total: usize,
    pub files: Vec<FileItem>,
}

pub(super) fn count_text(lang: Lang, n: u64) -> String {
    match lang {
        Lang::Ja => format!("{n}件"),
        Lang::En if n == 1 => "1 document".to_string(),
        Lang::En => format!("{n} documents"),
    }
}

fn menu_list(pc: &PageCtx, tenant: &str, entries: &[MenuItem]) -> Markup {
    html! {
        @if entries.is_empty() {
            p.empty { (pc.t("利用できるメニューはありません。", "No menu entries are available.")) }
        } @else {
            ul.menu-list {
                @for e in entries {
                    li {
                        a.menu-label href=(tenant_path(tenant, e.path)) { (pc.t(e.label_ja, e.label_en)) }
                        p.menu-desc { (pc.t(e.description_ja, e.description_en)) }
                    }
                }
            }
        }
    }
}

/// The 確認待ち一覧 of one line (found back from its label), for the line's link.
fn waiting_href(tenant: &str, lang: Lang, owner_name: &str, label: &str) -> String {
    use keiyaku_kernel::directory::Role;
    use keiyaku_kernel::waiting::Side;
    let short = short_company_name(owner_name);
    let line = [Side::Owner, Side::Partner]
        .into_iter()
        .flat_map(|side| Role::ALL.into_iter().map(move |role| WaitingLine { side, role }))
        .find(|l| l.label(lang, &short) == label);
    match line {
        Some(l) => format!("{}?line={}", tenant_path(tenant, "contracts/waiting"), l.key()),
        None => tenant_path(tenant, "contracts/waiting"),
    }
}

fn box_(title: &str, head_link: Option<(&str, &str)>, body: Markup) -> Markup {
    html! {
        section.box {
            div.box-head {
                h2.box-title { (title) }
                @if let Some((href, label)) = head_link { a.box-head-link href=(href) { (label) } }
            }
            div.box-body { (body) }
        }
    }
}

/// The notices box: the newest notices with their text (URLs as links), or the seed's
/// 「お知らせ情報は現在登録されておりません。」.
fn notices_box(pc: &PageCtx, tenant: &str, data: &DashData) -> Markup {
    html! {
        @if data.notices.is_empty() {
            p.empty { (pc.t("お知らせ情報は現在登録されておりません。", "There are no notices at the moment.")) }
        } @else {
            ul.notice-list {
                @for n in &data.notices {
                    li.notice-item {
                        p.notice-head {
                            span.notice-date { (n.date) }
                            a.notice-title href=(format!("{}#notice-{}", tenant_path(tenant, "notices"), n.id)) { (n.title) }
                        }
                        p.notice-body { (linkify(&n.body)) }
                    }
                }
            }
            @if data.notices_total > data.notices.len() {
                p.more-link {
                    a href=(tenant_path(tenant, "notices")) {
                        (match pc.lang {
                            Lang::Ja => format!("すべてのお知らせを見る({}件)", data.notices_total),
                            Lang::En => format!("All notices ({})", data.notices_total),
                        })
                    }
                }
            }
        }
    }
}

/// The サポート情報 box: the support files to download.
fn files_box(pc: &PageCtx, data: &DashData) -> Markup {
    html! {
        @if data.files.is_empty() {
            p.empty { (pc.t("サポート情報は現在登録されておりません。", "There is no support information at the moment.")) }
        } @else {
            ul.file-list.support-files {
                @for f in &data.files {
                    li {
                        a href=(f.href) download { (f.name) }
                        " " span.file-section { (f.section) }
                    }
                }
            }
        }
    }
}

/// The dashboard page.
pub fn dashboard_view(pc: &PageCtx, s: &Signed, tab: Tab, notice: Option<Msg>, data: &DashData) -> Markup {
    let t = &s.tenant_code;
    let entries = menu_entries(&s.me.menus, tab == Tab::Admin, s.is_group_admin());
    let self_href = match tab {
        Tab::Normal => tenant_path(t, ""),
        Tab::Admin => format!("{}?tab=admin", tenant_path(t, "")),
    };
    let rows = match &data.waiting {
        Some(rows) => rows.clone(),
        None => waiting_rows(pc.lang, &short_company_name(&s.owner_company_name), [0; 4]),
    };
    let body = html! {
        (layout::messages(notice.as_ref()))
        div.dash-grid {
            div.dash-col {
                (box_(pc.t("操作メニュー", "Operations"), None, menu_list(pc, t, &entries)))
            }
            div.dash-col {
                (box_(pc.t("確認待ち文書", "Documents awaiting action"), None, html! {
                    dl.waiting-grid {
                        @for (label, n) in &rows {
                            div.waiting-cell {
                                dt {
                                    @if cfg!(feature = "contracts") {
                                        a href=(waiting_href(t, pc.lang, &s.owner_company_name, label)) { (label) }
                                    } @else {
                                        (label)
                                    }
                                }
                                dd class=[(*n == 0).then_some("count-zero")] { (count_text(pc.lang, *n)) }
                            }
                        }
                    }
                }))
                (box_(pc.t("お知らせ", "Notices"), Some((&self_href, pc.t("リフレッシュ", "Refresh"))), notices_box(pc, t, data)))
            }
        }
        div.dash-wide {
            (box_(pc.t("サポート情報", "Support information"), Some((&tenant_path(t, "support"), pc.t("サポートページへ", "Support page"))), files_box(pc, data)))
        }
    };
    app_page(pc, s, tab, pc.t("ダッシュボード", "Dashboard"), body)
}

/// The 準備中 page for a tenant path no compiled-in module serves.
pub fn coming_soon_view(pc: &PageCtx, s: &Signed, rest: &str) -> Markup {
    let rest = rest.trim_end_matches('/');
    let known = s.me.menus.iter().find(|m| m.path == rest);
    let title = match known {
        Some(m) => pc.t(m.label_ja, m.label_en),
        None => pc.t("準備中", "Coming soon"),
    };
    let tab = if rest.starts_with("admin/") && s.is_group_admin() { Tab::Admin } else { Tab::Normal };
    let body = html! {
        div.soon-panel {
            p.soon-title { (pc.t("準備中", "Coming soon")) }
            p { (pc.t("この機能は現在準備中です。公開まで今しばらくお待ちください。", "This feature is not available yet.")) }
            p { a href=(tenant_path(&s.tenant_code, "")) { (pc.t("ダッシュボードへ戻る", "Back to the dashboard")) } }
        }
    };
    app_page(pc, s, tab, title, body)
}
