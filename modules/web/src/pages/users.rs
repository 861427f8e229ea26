//! Pages of the users module: ユーザー管理 (seed §3, SPEC §2.5), under `/t/:tenant/`:
//!
//! - `admin/users[?group=ID&page=N]`: the company/group tree the caller may see on the left
//!   (ツリー表示), the members of the selected group on the right (「全N件」, paging, the
//!   新規ユーザー button where the caller may create users).
//! - `admin/users/new?group=ID`: 新規ユーザー (ユーザーの作成), the user ID pre-filled with the
//!   suggested one (vendor code + 2-digit sequence for partners).
//! - `admin/users/:user_id`: the user: attributes (an edit form with 権限, 有効/停止 and
//!   パスワード再発行 only where the caller may), and for a signer the detail of seed §3.2–3.4:
//!   電子証明書, 印影 (`…/seal.svg`) and 署名/電子捺印操作代行ユーザー with 削除 per row and 追加
//!   opening the search dialog (`?add=1`: rendered by the server, works without script).
//! - POST `admin/users/new`, `admin/users/:user_id` (update), `…/password-reset`,
//!   `…/delegates` (adds the checked users, with limits and — for the signer — the PIN),
//!   `…/delegates/:delegate_id/confirm` (the signer's PIN), `…/delegates/:delegate_id/delete`.
//!
//! Every rule and every permission comes from `keiyaku_users` ([`Users`] and its `scope`):
//! edit controls follow `getUser`'s permissions, and whatever a form sends is decided by the
//! service again. Every form carries the session's CSRF token; success redirects
//! (POST-redirect-GET) with a fixed `?done=` code; errors re-render the page with the
//! messages beside the fields.

use crate::Web;
use crate::layout::{self, Msg, PageCtx, Tab, app_page, expired_form, field_errors, has_error, invalid_msg, pager};
use crate::page::PageResult;
use crate::query::{Pairs, enc};
use crate::session::{CSRF_FIELD, Need, Signed, signed_in, tenant_path};
use jiff::Timestamp;
use keiyaku_kernel::Lang;
use keiyaku_kernel::clock;
use keiyaku_kernel::directory::{Company, Role, User, UserStatus};
use keiyaku_kernel::error::{ApiError, FieldError};
use keiyaku_users::delegates::{AddInput, Delegate, Mandate};
use keiyaku_users::scope::{self, Op, Target};
use keiyaku_users::search::Query as SearchQuery;
use keiyaku_users::service::{self, CompanyNode, GroupNode, MAX_SUB_EMAILS, NewUserInput, Paged, Paging, UserChanges};
use keiyaku_users::{UserDetail, UserRow, Users, UsersError};
use maud::{Markup, html};
use poem::http::{StatusCode, header};
use poem::web::{Data, Form, Path};
use poem::{EndpointExt, Request, Response, Route, get, handler, post};

/// Members per page of the list.
pub const MEMBERS_PER_PAGE: usize = 20;
/// Results per page of the delegate dialog.
pub const DIALOG_PER_PAGE: usize = 20;
/// Sub e-mail fields the forms offer at least.
const SUB_EMAIL_FIELDS: usize = 2;

pub fn mount(route: Route, web: &Web) -> Route {
    let w = || web.clone();
    route
        .at("/t/:tenant/admin/users", get(list_page).data(w()))
        .at("/t/:tenant/admin/users/new", get(new_page).post(new_submit).data(w()))
        .at("/t/:tenant/admin/users/:user_id", get(user_page).post(user_submit).data(w()))
        .at("/t/:tenant/admin/users/:user_id/seal.svg", get(seal_svg).data(w()))
        .at("/t/:tenant/admin/users/:user_id/password-reset", post(reset_submit).data(w()))
        .at("/t/:tenant/admin/users/:user_id/delegates", post(delegates_add).data(w()))
        .at("/t/:tenant/admin/users/:user_id/delegates/:delegate_id/delete", post(delegate_remove).data(w()))
        .at("/t/:tenant/admin/users/:user_id/delegates/:delegate_id/confirm", post(delegate_confirm).data(w()))
}

// ---------------------------------------------------------------------------------------
// Small helpers: URLs, query strings, forms

/// `/t/{tenant}/admin/users`.
pub fn list_href(tenant: &str) -> String {
    tenant_path(tenant, "admin/users")
}

/// The member list of a group (page 1 is left out).
pub fn group_href(tenant: &str, group_id: &str, page: usize) -> String {
    let base = format!("{}?group={}", list_href(tenant), enc(group_id));
    if page > 1 { format!("{base}&page={page}") } else { base }
}

pub fn new_href(tenant: &str, group_id: &str) -> String {
    format!("{}/new?group={}", list_href(tenant), enc(group_id))
}

/// A user's page (user IDs are letters, digits, `.`, `_`, `-`; encoded anyway).
pub fn user_href(tenant: &str, user_id: &str) -> String {
    format!("{}/{}", list_href(tenant), enc(user_id))
}

/// `?page=` as a page number (1 when missing or not a number).
fn page_of(p: &Pairs) -> usize {
    p.get("page").trim().parse::<usize>().ok().filter(|n| (1..=1_000_000).contains(n)).unwrap_or(1)
}

fn paging(page: usize, per_page: usize) -> Paging {
    let to_i64 = |n: usize| i64::try_from(n).unwrap_or(1);
    Paging::new(Some(to_i64(page)), Some(to_i64(per_page))).unwrap_or_default()
}

/// Messages a redirect may ask for with `?done=` (only these codes exist).
pub fn done_text(code: &str, lang: Lang) -> Option<&'static str> {
    Some(match code {
        "created" => lang.pick(
            "ユーザーを登録しました。登録通知メールを送信しました。",
            "The user has been registered. The registration notice has been sent.",
        ),
        "updated" => lang.pick("ユーザー情報を更新しました。", "The user has been updated."),
        "password_reset" => lang.pick(
            "パスワードを再発行しました。登録通知メールを送信しました。",
            "A new initial password has been issued and the registration notice sent.",
        ),
        "delegates_added" => lang.pick("署名操作代行ユーザーを追加しました。", "The delegates have been added."),
        "delegate_removed" => lang.pick("署名操作代行ユーザーを削除しました。", "The delegate has been removed."),
        "delegate_confirmed" => lang.pick(
            "署名操作代行の委任を確認しました。代行ユーザーは委任の範囲で署名できます。",
            "The mandate is confirmed: the delegate can sign within its limits.",
        ),
        _ => return None,
    })
}

fn done_msg(p: &Pairs, lang: Lang) -> Option<Msg> {
    done_text(p.get("done"), lang).map(Msg::notice)
}

fn forbidden_msg(pc: &PageCtx) -> Msg {
    Msg::error(
        pc.t("この操作を行う権限がありません。", "You are not allowed to do this."),
        Some(
            pc.t(
                "グループ管理者は、自分のグループのユーザーのみ管理できます。",
                "Group administrators manage the users of their own group only.",
            )
            .to_string(),
        ),
    )
}

fn not_found_msg(pc: &PageCtx, what: &str) -> Msg {
    let title = match (what, pc.lang) {
        ("group" | "company", Lang::Ja) => "グループが見つかりません。",
        ("group" | "company", Lang::En) => "The group does not exist.",
        ("delegate", Lang::Ja) => "この署名操作代行ユーザーは登録されていません。",
        ("delegate", Lang::En) => "This user is not a delegate.",
        (_, Lang::Ja) => "ユーザーが見つかりません。",
        (_, Lang::En) => "The user does not exist.",
    };
    Msg::error(title, None)
}

fn role_list(lang: Lang, roles: &[Role]) -> String {
    roles.iter().map(|r| r.label(lang)).collect::<Vec<_>>().join(lang.pick("・", ", "))
}

fn status_label(lang: Lang, s: UserStatus) -> &'static str {
    match s {
        UserStatus::Active => lang.pick("有効", "Active"),
        UserStatus::Suspended => lang.pick("停止", "Suspended"),
    }
}

fn tab(s: &Signed) -> Tab {
    if s.is_group_admin() { Tab::Admin } else { Tab::Normal }
}

fn title(pc: &PageCtx) -> &'static str {
    pc.t("ユーザー管理", "User management")
}

// ---------------------------------------------------------------------------------------
// Opening a page, refusing

async fn open<'a>(web: &'a Web, req: &Request, tenant: &str) -> Result<(PageCtx, Signed, &'a Users), Response> {
    let pc = PageCtx::of(req);
    let s = signed_in(web, &pc, req, tenant, Need::Ready).await?;
    Ok((pc, s, &web.users))
}

/// A message page inside the logged-in shell (403, 404, a problem of the service).
pub fn message_view(pc: &PageCtx, s: &Signed, msg: &Msg) -> Markup {
    let back = if s.is_group_admin() {
        (list_href(&s.tenant_code), pc.t("ユーザー管理へ戻る", "Back to user management"))
    } else {
        (tenant_path(&s.tenant_code, ""), pc.t("ダッシュボードへ戻る", "Back to the dashboard"))
    };
    let body = html! {
        (layout::message(msg))
        p.card-links { a href=(back.0) { (back.1) } }
    };
    app_page(pc, s, tab(s), title(pc), body)
}

/// The page for a refusal or failure of the service.
fn refused(pc: &PageCtx, s: &Signed, e: &UsersError) -> Response {
    let (status, msg) = match e {
        UsersError::Forbidden => (StatusCode::FORBIDDEN, forbidden_msg(pc)),
        UsersError::NotFound(what) => (StatusCode::NOT_FOUND, not_found_msg(pc, what)),
        e if e.status() >= 500 => return layout::server_error(pc, e),
        e => {
            let p = e.problem(pc.lang);
            (StatusCode::from_u16(p.status).unwrap_or(StatusCode::BAD_REQUEST), Msg::from_problem(&p))
        }
    };
    pc.respond(status, message_view(pc, s, &msg))
}

/// A service error as status, message and field errors; None for server errors.
fn failure(pc: &PageCtx, e: &UsersError) -> Option<(StatusCode, Msg, Vec<FieldError>)> {
    if e.status() >= 500 {
        return None;
    }
    let p = e.problem(pc.lang);
    let status = StatusCode::from_u16(p.status).unwrap_or(StatusCode::BAD_REQUEST);
    let msg = match e {
        UsersError::Forbidden => forbidden_msg(pc),
        UsersError::Invalid(_) => invalid_msg(pc),
        _ => Msg::from_problem(&p),
    };
    Some((status, msg, p.errors))
}

// ---------------------------------------------------------------------------------------
// The tree (ツリー表示)

/// A group with its subgroups, built from the tree order of `getOrgTree`.
pub struct TreeItem<'a> {
    pub node: &'a GroupNode,
    pub children: Vec<TreeItem<'a>>,
}

/// Nests groups given depth first with their depths.
pub fn nest(nodes: &[GroupNode]) -> Vec<TreeItem<'_>> {
    fn take<'a>(nodes: &'a [GroupNode], i: &mut usize, depth: usize) -> Vec<TreeItem<'a>> {
        let mut out = Vec::new();
        while let Some(node) = nodes.get(*i).filter(|n| n.depth >= depth) {
            *i += 1;
            let children = take(nodes, i, node.depth + 1);
            out.push(TreeItem { node, children });
        }
        out
    }
    let mut i = 0;
    let mut out = Vec::new();
    while i < nodes.len() {
        out.extend(take(nodes, &mut i, 0));
    }
    out
}

/// The company and group of `group_id` in the tree.
pub fn find_group<'a>(tree: &'a [CompanyNode], group_id: &str) -> Option<(&'a Company, &'a GroupNode)> {
    tree.iter().find_map(|c| c.groups.iter().find(|g| g.group.id == group_id).map(|g| (&c.company, g)))
}

/// The group shown when none is asked for: the caller's own, else the first one the caller
/// manages, else the first one.
pub fn default_group(tree: &[CompanyNode], own_group: &str) -> Option<String> {
    let all = || tree.iter().flat_map(|c| c.groups.iter());
    all()
        .find(|g| g.group.id == own_group)
        .or_else(|| all().find(|g| g.can_manage))
        .or_else(|| all().next())
        .map(|g| g.group.id.clone())
}

fn group_items(pc: &PageCtx, tenant: &str, items: &[TreeItem<'_>], selected: Option<&str>) -> Markup {
    html! {
        ul.org-groups {
            @for it in items {
                @let g = &it.node.group;
                @let current = selected == Some(g.id.as_str());
                li {
                    @if it.node.can_manage {
                        a.org-group.current[current] href=(group_href(tenant, &g.id, 1))
                            aria-current=[current.then_some("page")] {
                            (g.name)
                        }
                    } @else {
                        span.org-group.org-locked.current[current]
                            title=(pc.t("他のグループのユーザーは管理できません", "Another group's users are not yours to manage")) {
                            (g.name)
                        }
                    }
                    " " span.org-count { "(" (it.node.member_count) ")" }
                    @if !it.children.is_empty() { (group_items(pc, tenant, &it.children, selected)) }
                }
            }
        }
    }
}

/// The left pane: every company and group the caller may see.
pub fn tree_pane(pc: &PageCtx, tenant: &str, tree: &[CompanyNode], selected: Option<&str>) -> Markup {
    html! {
        nav.box.um-tree aria-labelledby="um-tree-title" {
            div.box-head { h2.box-title #um-tree-title { (pc.t("ツリー表示", "Companies and groups")) } }
            div.box-body {
                @if tree.is_empty() {
                    p.empty { (pc.t("表示できる会社はありません。", "There is no company to show.")) }
                }
                ul.org-tree {
                    @for c in tree {
                        @let root = c.groups.iter().find(|g| g.group.id == c.company.root_group_id);
                        li.org-company {
                            @match root.filter(|r| r.can_manage) {
                                Some(r) => { a.org-company-name href=(group_href(tenant, &r.group.id, 1)) { (c.company.name) } }
                                None => { span.org-company-name { (c.company.name) } }
                            }
                            @if let Some(code) = &c.company.vendor_code { " " span.org-code { (code) } }
                            @if c.company.owner { " " span.badge.badge-muted { (pc.t("サービスオーナー", "Service owner")) } }
                            (group_items(pc, tenant, &nest(&c.groups), selected))
                        }
                    }
                }
            }
        }
    }
}

/// The two panes (tree left, content right), or the content alone without a tree.
fn two_panes(tree: Option<Markup>, main: Markup) -> Markup {
    html! {
        @match tree {
            Some(t) => { div.um-layout { div.um-side { (t) } div.um-main { (main) } } }
            None => { div.um-main { (main) } }
        }
    }
}

// ---------------------------------------------------------------------------------------
// 1. The member list

/// A member as the list shows it.
#[derive(Debug, Clone)]
pub struct Member {
    pub row: UserRow,
    pub last_login: Option<Timestamp>,
}

/// What the right pane of the list shows.
pub enum Pane<'a> {
    /// The members of a group, one page.
    Members { company: &'a Company, group: &'a GroupNode, page: Paged<Member>, can_create: bool },
    /// No group could be shown (with why).
    Message(Msg),
}

/// The number of pages of a list (at least one).
fn pages<T>(p: &Paged<T>) -> usize {
    p.total.div_ceil(p.per_page.max(1)).max(1)
}

fn count_text(lang: Lang, total: usize) -> String {
    layout::count_text(lang, total, ("user", "users"))
}

fn members_pane(pc: &PageCtx, tenant: &str, pane: &Pane<'_>) -> Markup {
    match pane {
        Pane::Message(m) => html! { (layout::message(m)) },
        Pane::Members { company, group, page, can_create } => html! {
            section.box.um-members aria-labelledby="um-members-title" {
                div.box-head {
                    h2.box-title #um-members-title {
                        (pc.t("メンバー", "Members")) " — " (company.name) " > " (group.group.name)
                    }
                    @if *can_create {
                        a.button.button-small #new-user href=(new_href(tenant, &group.group.id)) { (pc.t("新規ユーザー", "New user")) }
                    }
                }
                div.box-body {
                    p.result-count { (count_text(pc.lang, page.total)) }
                    @if page.items.is_empty() {
                        p.empty { (pc.t("このグループにはユーザーが登録されていません。", "This group has no users.")) }
                    } @else {
                        div.table-scroll {
                            table.list.um-table {
                                thead {
                                    tr {
                                        th scope="col" { (pc.t("ユーザーID", "User ID")) }
                                        th scope="col" { (pc.t("ユーザー名", "Name")) }
                                        th scope="col" { (pc.t("メールアドレス", "E-mail")) }
                                        th scope="col" { (pc.t("権限", "Roles")) }
                                        th scope="col" { (pc.t("状態", "Status")) }
                                        th scope="col" { (pc.t("最終ログイン", "Last login")) }
                                    }
                                }
                                tbody {
                                    @for m in &page.items {
                                        @let u = &m.row.user;
                                        tr {
                                            td.code { a href=(user_href(tenant, &u.user_id)) { (u.user_id) } }
                                            td { (u.name) }
                                            td.um-email { (u.email) }
                                            td { (role_list(pc.lang, &u.roles)) }
                                            td { (status_badge(pc.lang, u.status)) }
                                            td.um-when {
                                                @match m.last_login {
                                                    Some(t) => { (clock::display(t)) }
                                                    None => { span.empty { "—" } }
                                                }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                    (pager(pc, page.page, pages(page), |p| group_href(tenant, &group.group.id, p)))
                }
            }
        },
    }
}

fn status_badge(lang: Lang, s: UserStatus) -> Markup {
    html! {
        @match s {
            UserStatus::Active => { span.um-status.um-active { (status_label(lang, s)) } }
            UserStatus::Suspended => { span.badge.um-suspended { (status_label(lang, s)) } }
        }
    }
}

/// What the list page shows.
pub struct ListView<'a> {
    pub tree: &'a [CompanyNode],
    pub selected: Option<&'a str>,
    pub pane: Pane<'a>,
    pub msg: Option<Msg>,
}

/// ユーザー管理: tree and members.
pub fn list_view(pc: &PageCtx, s: &Signed, v: &ListView<'_>) -> Markup {
    let t = &s.tenant_code;
    let body = html! {
        (layout::messages(v.msg.as_ref()))
        (two_panes(Some(tree_pane(pc, t, v.tree, v.selected)), members_pane(pc, t, &v.pane)))
    };
    app_page(pc, s, tab(s), title(pc), body)
}

async fn last_logins(users: &Users, tenant: &str, rows: Vec<UserRow>) -> Result<Vec<Member>, UsersError> {
    let tenant = tenant.to_string();
    users
        .kernel
        .store
        .read(move |tx| {
            let logins = service::last_logins(tx, &tenant, &rows)?;
            Ok(rows.into_iter().zip(logins).map(|(row, last_login)| Member { row, last_login }).collect())
        })
        .await
}

#[handler]
async fn list_page(req: &Request, Path(tenant): Path<String>, Data(web): Data<&Web>) -> PageResult {
    let (pc, s, users) = open(web, req, &tenant).await?;
    let q = Pairs::of_query(req);
    let tree = match users.org_tree(s.caller()).await {
        Ok(t) => t,
        Err(e) => return Ok(refused(&pc, &s, &e)),
    };
    let asked = Some(q.get("group").trim()).filter(|g| !g.is_empty()).map(str::to_string);
    let selected = asked.clone().or_else(|| default_group(&tree, &s.caller().group_id));
    let mut status = StatusCode::OK;
    let pane = match selected.as_deref().map(|g| (g, find_group(&tree, g))) {
        None => Pane::Message(Msg::info(pc.t("グループが登録されていません。", "There are no groups."))),
        Some((_, None)) => {
            status = StatusCode::NOT_FOUND;
            Pane::Message(not_found_msg(&pc, "group"))
        }
        Some((_, Some((company, node)))) => {
            let page = paging(page_of(&q), MEMBERS_PER_PAGE);
            match users.list_group_users(s.caller(), node.group.id.clone(), page).await {
                Ok(p) => {
                    let items = match last_logins(users, &s.tenant_code, p.items).await {
                        Ok(m) => m,
                        Err(e) => return Ok(layout::server_error(&pc, &e)),
                    };
                    let page = Paged { items, total: p.total, page: p.page, per_page: p.per_page };
                    let can_create = scope::can(s.caller(), Op::CreateUser, &Target::group(&node.group));
                    Pane::Members { company, group: node, page, can_create }
                }
                Err(e) => match failure(&pc, &e) {
                    Some((st, msg, _)) => {
                        status = st;
                        Pane::Message(msg)
                    }
                    None => return Ok(layout::server_error(&pc, &e)),
                },
            }
        }
    };
    let view = ListView { tree: &tree, selected: selected.as_deref(), pane, msg: done_msg(&q, pc.lang) };
    Ok(pc.respond(status, list_view(&pc, &s, &view)))
}

// ---------------------------------------------------------------------------------------
// Forms shared by 新規ユーザー and the user page

/// The values of the user form (as typed, or as stored).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserForm {
    pub user_id: String,
    pub name: String,
    pub email: String,
    /// Non-blank entries only, in order: the service numbers its errors (`sub_emails[i]`)
    /// over this list, so field `i` shows the errors of entry `i`.
    pub sub_emails: Vec<String>,
    pub title: String,
    /// The role names as sent (unknown ones are the service's to refuse).
    pub roles: Vec<String>,
    pub status: String,
}

impl UserForm {
    pub fn of_user(u: &User) -> Self {
        Self {
            user_id: u.user_id.clone(),
            name: u.name.clone(),
            email: u.email.clone(),
            sub_emails: u.sub_emails.clone(),
            title: u.title.clone().unwrap_or_default(),
            roles: u.roles.iter().map(|r| r.as_str().to_string()).collect(),
            status: match u.status {
                UserStatus::Active => "active".into(),
                UserStatus::Suspended => "suspended".into(),
            },
        }
    }

    pub fn of_pairs(p: &Pairs) -> Self {
        Self {
            user_id: p.get("user_id").trim().to_string(),
            name: p.get("name").to_string(),
            email: p.get("email").trim().to_string(),
            sub_emails: p
                .all("sub_emails")
                .into_iter()
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect(),
            title: p.get("title").to_string(),
            roles: p.all("roles"),
            status: p.get("status").to_string(),
        }
    }

    fn has_role(&self, r: Role) -> bool {
        self.roles.iter().any(|n| n == r.as_str())
    }
}

/// The roles a form offers: 管理部 for the service owner's users only.
pub fn offered_roles(owner_company: bool) -> Vec<Role> {
    Role::ALL.into_iter().filter(|r| owner_company || *r != Role::Administration).collect()
}

/// What each role means (seed §3.1 (2)).
fn role_hint(lang: Lang, r: Role) -> &'static str {
    match r {
        Role::PersonInCharge => lang.pick(
            "回付された注文書・請書の内容を確認します。",
            "Reviews the order forms and acknowledgements circulated to the company.",
        ),
        Role::Approver => lang.pick(
            "内容を確認・承認し、署名者へ回付します(担当者が承認するには承認者権限が必要です)。",
            "Approves documents and passes them to the signer (a person in charge needs it to approve).",
        ),
        Role::Signer => lang.pick(
            "電子署名を行う者(電子証明書の名義人)。印影が作成されます。",
            "Signs electronically (the certificate holder). A seal is created.",
        ),
        Role::GroupAdmin => lang.pick(
            "グループ内のユーザー登録・権限の付与・操作代行ユーザー設定などを行います。",
            "Manages the users of the group: registration, roles, delegates.",
        ),
        Role::Administration => lang.pick(
            "サービスオーナーの管理部として回付に加わります。",
            "Takes part in circulation as the owner's administration.",
        ),
    }
}

fn req_mark(pc: &PageCtx) -> Markup {
    html! { span.req title=(pc.t("必須", "required")) { "*" } }
}

/// A text input with its label and errors (`aria-invalid` and the error's id when wrong).
#[allow(clippy::too_many_arguments)]
fn text_field(
    pc: &PageCtx,
    errors: &[FieldError],
    name: &str,
    id: &str,
    label: &str,
    value: &str,
    kind: &str,
    required: bool,
    max: usize,
) -> Markup {
    let invalid = has_error(errors, name);
    html! {
        label for=(id) { (label) @if required { (req_mark(pc)) } }
        div.field {
            input id=(id) type=(kind) name=(name) value=(value) maxlength=(max)
                required[required] aria-required=[required.then_some("true")]
                class=[invalid.then_some("invalid")]
                aria-invalid=[invalid.then_some("true")]
                aria-describedby=[invalid.then(|| format!("{name}-error"))]
                autocomplete="off" spellcheck="false";
            (field_errors(errors, name))
        }
    }
}

/// The sub e-mail inputs: one per stored entry plus blanks, at least [`SUB_EMAIL_FIELDS`].
fn sub_email_fields(pc: &PageCtx, errors: &[FieldError], values: &[String]) -> Markup {
    let n = (values.len() + 1).clamp(SUB_EMAIL_FIELDS, MAX_SUB_EMAILS);
    html! {
        @for i in 0..n {
            @let name = format!("sub_emails[{i}]");
            @let id = format!("sub_email_{}", i + 1);
            @let invalid = has_error(errors, &name);
            label for=(id) { (pc.t("サブメールアドレス", "Sub e-mail")) (i + 1) }
            div.field {
                input id=(id) type="email" name="sub_emails" value=(values.get(i).map(String::as_str).unwrap_or_default())
                    maxlength="254" autocomplete="off" spellcheck="false"
                    class=[invalid.then_some("invalid")]
                    aria-invalid=[invalid.then_some("true")]
                    aria-describedby=[invalid.then(|| format!("{name}-error"))];
                (field_errors(errors, &name))
                @if i == 0 { (field_errors(errors, "sub_emails")) }
            }
        }
    }
}

/// The 権限 check boxes. `locked`: shown, not changeable (a checked locked box is sent as a
/// hidden field so that the form keeps it).
fn role_checks(
    pc: &PageCtx,
    errors: &[FieldError],
    form: &UserForm,
    offered: &[Role],
    hints: bool,
    locked: impl Fn(Role) -> bool,
) -> Markup {
    let invalid = has_error(errors, "roles");
    html! {
        span.form-label #roles-label { (pc.t("権限", "Roles")) }
        div.field {
            ul.role-checks.compact[!hints] role="group" aria-labelledby="roles-label"
                aria-describedby=[invalid.then_some("roles-error")] {
                @for r in offered {
                    @let id = format!("role_{}", r.as_str());
                    @let on = form.has_role(*r);
                    @let lock = locked(*r);
                    li {
                        input type="checkbox" id=(id) name="roles" value=(r.as_str())
                            checked[on] disabled[lock];
                        @if lock && on { input type="hidden" name="roles" value=(r.as_str()); }
                        label for=(id) title=[(!hints).then(|| role_hint(pc.lang, *r))] { (r.label(pc.lang)) }
                        @if hints { span.role-hint { (role_hint(pc.lang, *r)) } }
                    }
                }
            }
            (field_errors(errors, "roles"))
        }
    }
}

fn crumbs(parts: &[&str]) -> Markup {
    html! {
        p.um-crumbs {
            @for (i, p) in parts.iter().enumerate() {
                @if i > 0 { span.um-crumb-sep aria-hidden="true" { " > " } }
                span { (p) }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// 2. 新規ユーザー

/// What the new-user page shows.
pub struct NewView<'a> {
    pub tree: &'a [CompanyNode],
    pub company: &'a Company,
    pub group: &'a GroupNode,
    pub form: &'a UserForm,
    pub msg: Option<Msg>,
    pub errors: &'a [FieldError],
}

/// The ユーザーの作成 form (seed §3.1 (2)).
pub fn new_view(pc: &PageCtx, s: &Signed, v: &NewView<'_>) -> Markup {
    let t = &s.tenant_code;
    let g = &v.group.group;
    let offered = offered_roles(v.company.owner);
    let head = pc.t("[ユーザーの作成]", "[New user]");
    let main = html! {
        section.box.um-form-box aria-labelledby="um-new-title" {
            div.box-head { h2.box-title #um-new-title { (v.company.name) " > " (g.name) " > " (head) } }
            div.box-body {
                (layout::messages(v.msg.as_ref()))
                p.hint { (req_mark(pc)) " " (pc.t("は必須項目です。必要事項を記入し、必要な権限を付与してください。", "marks required fields. Fill in the user's data and give the roles they need.")) }
                form.form-grid.wide-labels.um-form method="post" action=(format!("{}/new", list_href(t))) novalidate {
                    input type="hidden" name=(CSRF_FIELD) value=(s.csrf());
                    input type="hidden" name="group" value=(g.id);
                    (text_field(pc, v.errors, "user_id", "user_id", pc.t("ユーザーID", "User ID"), &v.form.user_id, "text", true, 32))
                    (text_field(pc, v.errors, "name", "name", pc.t("ユーザー名", "Name"), &v.form.name, "text", true, 100))
                    (text_field(pc, v.errors, "email", "email", pc.t("メールアドレス", "E-mail address"), &v.form.email, "email", true, 254))
                    (sub_email_fields(pc, v.errors, &v.form.sub_emails))
                    (text_field(pc, v.errors, "title", "title", pc.t("役職", "Title"), &v.form.title, "text", false, 100))
                    (role_checks(pc, v.errors, v.form, &offered, true, |_| false))
                    div.actions-row {
                        button.button.button-wide type="submit" #create-user { (pc.t("登録", "Register")) }
                        " "
                        a.button.button-secondary href=(group_href(t, &g.id, 1)) { (pc.t("キャンセル", "Cancel")) }
                    }
                }
                p.hint { (pc.t("登録すると、初期パスワードを記載した「ユーザー登録通知」メールが送信されます。", "The user receives the registration notice with an initial password.")) }
            }
        }
    };
    let body = two_panes(Some(tree_pane(pc, t, v.tree, Some(&g.id))), main);
    app_page(pc, s, tab(s), title(pc), body)
}

/// Loads the tree and the group of the new-user page (or the page to answer instead).
async fn new_context(users: &Users, pc: &PageCtx, s: &Signed, group_id: &str) -> Result<Vec<CompanyNode>, Response> {
    let tree = users.org_tree(s.caller()).await.map_err(|e| refused(pc, s, &e))?;
    if find_group(&tree, group_id).is_none() {
        return Err(refused(pc, s, &UsersError::NotFound("group")));
    }
    Ok(tree)
}

#[handler]
async fn new_page(req: &Request, Path(tenant): Path<String>, Data(web): Data<&Web>) -> PageResult {
    let (pc, s, users) = open(web, req, &tenant).await?;
    let q = Pairs::of_query(req);
    let group_id = match Some(q.get("group").trim()).filter(|g| !g.is_empty()) {
        Some(g) => g.to_string(),
        None => s.caller().group_id.clone(),
    };
    let tree = new_context(users, &pc, &s, &group_id).await?;
    // Asking for the suggestion is also the permission check (CreateUser in this group).
    let suggested = match users.suggest_user_id(s.caller(), group_id.clone()).await {
        Ok(id) => id.unwrap_or_default(),
        Err(e) => return Ok(refused(&pc, &s, &e)),
    };
    let Some((company, group)) = find_group(&tree, &group_id) else {
        return Ok(refused(&pc, &s, &UsersError::NotFound("group")));
    };
    let form =
        UserForm { user_id: suggested, roles: vec![Role::PersonInCharge.as_str().into()], ..UserForm::default() };
    let view = NewView { tree: &tree, company, group, form: &form, msg: None, errors: &[] };
    Ok(pc.respond(StatusCode::OK, new_view(&pc, &s, &view)))
}

#[handler]
async fn new_submit(
    req: &Request,
    Path(tenant): Path<String>,
    Data(web): Data<&Web>,
    form: poem::Result<Form<Vec<(String, String)>>>,
) -> PageResult {
    let (pc, s, users) = open(web, req, &tenant).await?;
    let Ok(Form(pairs)) = form else {
        return Ok(layout::bad_form(&pc));
    };
    let p = Pairs(pairs);
    let group_id = p.get("group").trim().to_string();
    let tree = new_context(users, &pc, &s, &group_id).await?;
    let Some((company, group)) = find_group(&tree, &group_id) else {
        return Ok(refused(&pc, &s, &UsersError::NotFound("group")));
    };
    let form = UserForm::of_pairs(&p);
    let again = |status: StatusCode, msg: Msg, errors: &[FieldError]| {
        let view = NewView { tree: &tree, company, group, form: &form, msg: Some(msg), errors };
        pc.respond(status, new_view(&pc, &s, &view))
    };
    if !s.check_csrf(p.get(CSRF_FIELD)) {
        return Ok(again(StatusCode::FORBIDDEN, expired_form(&pc), &[]));
    }
    let input = NewUserInput {
        user_id: Some(form.user_id.clone()).filter(|id| !id.is_empty()),
        name: form.name.clone(),
        email: form.email.clone(),
        sub_emails: form.sub_emails.clone(),
        roles: form.roles.clone(),
        title: Some(form.title.trim().to_string()).filter(|t| !t.is_empty()),
    };
    Ok(match users.create_user(s.caller(), group_id.clone(), input).await {
        Ok(user) => layout::see_other(&format!("{}?done=created", user_href(&s.tenant_code, &user.user_id)), &[]),
        Err(e @ UsersError::NotFound(_)) => refused(&pc, &s, &e),
        Err(e) => match failure(&pc, &e) {
            Some((status, msg, errors)) => again(status, msg, &errors),
            None => layout::server_error(&pc, &e),
        },
    })
}

// ---------------------------------------------------------------------------------------
// 3. The user page (signer detail, seed §3.2–3.4)

/// The open 追加 dialog: the search fields, the results once 検索 was pressed.
pub struct DialogView<'a> {
    pub user_id: &'a str,
    pub name: &'a str,
    pub results: Option<&'a Paged<UserRow>>,
    pub page: usize,
    pub msg: Option<Msg>,
    /// IDs checked before (kept after an error).
    pub checked: &'a [String],
}

/// What the user page shows.
pub struct DetailView<'a> {
    pub tree: Option<&'a [CompanyNode]>,
    pub detail: &'a UserDetail,
    pub form: &'a UserForm,
    pub errors: &'a [FieldError],
    pub msg: Option<Msg>,
    /// The caller may grant or take away 管理部.
    pub can_grant_administration: bool,
    /// The 電子証明書 section (from the certs pages when they exist).
    pub certificate: Markup,
    /// The delegates of a signer; None for other users.
    pub delegates: Option<&'a [Delegate]>,
    pub dialog: Option<DialogView<'a>>,
    /// Show the edit form of a signer (other users get it at once).
    pub editing: bool,
}

/// 「電子証明書は登録されていません。」: the certificate section until the certs pages fill it.
pub fn no_certificate(pc: &PageCtx) -> Markup {
    html! {
        section.box.um-cert aria-labelledby="um-cert-title" {
            div.box-head { h2.box-title #um-cert-title { (pc.t("電子証明書", "Certificate")) } }
            div.box-body {
                p.empty { (pc.t("電子証明書は登録されていません。", "No certificate is registered.")) }
                p.hint { (pc.t(
                    "電子証明書は、JCAN証明書発行申請の手続き後、自動で署名者に登録されます。証明書の登録作業はありません。",
                    "The certificate is registered to the signer automatically after the JCAN certificate application.",
                )) }
            }
        }
    }
}

/// The 電子証明書 section: the certs module's box when it is compiled in and shows one.
#[cfg(feature = "certs")]
async fn certificate_box(web: &Web, pc: &PageCtx, s: &Signed, user_id: &str) -> Markup {
    let m = crate::views::certificate::certificate_section_for(web, pc, s, user_id).await;
    if m.0.is_empty() {
        no_certificate(pc)
    } else {
        html! { div.um-cert-slot { (m) } }
    }
}

/// The 電子証明書 section without the certs module.
#[cfg(not(feature = "certs"))]
async fn certificate_box(_web: &Web, pc: &PageCtx, _s: &Signed, _user_id: &str) -> Markup {
    no_certificate(pc)
}

fn attributes_readonly(pc: &PageCtx, d: &UserDetail) -> Markup {
    let u = &d.row.user;
    html! {
        dl.um-attrs.um-attrs-2 {
            div { dt { (pc.t("ユーザーID", "User ID")) } dd.code #attr-user-id { (u.user_id) } }
            div {
                dt { (pc.t("会社", "Company")) }
                dd { (d.row.company_name) @if let Some(v) = &d.row.vendor_code { " " span.org-code { (v) } } }
            }
            div { dt { (pc.t("ユーザー名", "Name")) } dd #attr-name { (u.name) } }
            div { dt { (pc.t("グループ", "Group")) } dd { (d.row.group_name) } }
            div { dt { (pc.t("メールアドレス", "E-mail address")) } dd { (u.email) } }
            div { dt { (pc.t("役職", "Title")) } dd #attr-title { (u.title.as_deref().unwrap_or("—")) } }
            div { dt { (pc.t("権限", "Roles")) } dd { (role_list(pc.lang, &u.roles)) } }
            div { dt { (pc.t("状態", "Status")) } dd { (status_badge(pc.lang, u.status)) } }
            @if !u.sub_emails.is_empty() {
                div {
                    dt { (pc.t("サブメールアドレス", "Sub e-mail")) }
                    dd { @for (i, e) in u.sub_emails.iter().enumerate() { @if i > 0 { br; } (e) } }
                }
            }
            div {
                dt { (pc.t("最終ログイン", "Last login")) }
                dd { @match d.last_login_at { Some(t) => { (clock::display(t)) } None => { span.empty { (pc.t("未ログイン", "never")) } } } }
            }
        }
    }
}

fn org_facts(pc: &PageCtx, d: &UserDetail) -> Markup {
    let vendor = d.row.vendor_code.as_deref();
    html! {
        dl.um-attrs.um-facts {
            dt { (pc.t("会社", "Company")) }
            dd { (d.row.company_name) @if let Some(v) = vendor { " " span.org-code { (v) } } }
            dt { (pc.t("グループ", "Group")) } dd { (d.row.group_name) }
            dt { (pc.t("最終ログイン", "Last login")) }
            dd { @match d.last_login_at { Some(t) => { (clock::display(t)) } None => { span.empty { (pc.t("未ログイン", "never")) } } } }
        }
    }
}

fn attributes_form(pc: &PageCtx, s: &Signed, v: &DetailView<'_>) -> Markup {
    let d = v.detail;
    let u = &d.row.user;
    let offered = offered_roles(d.company.as_ref().is_some_and(|c| c.owner));
    let access = d.can_change_access;
    let grant = v.can_grant_administration;
    let status_invalid = has_error(v.errors, "status");
    html! {
        form.form-grid.wide-labels.um-form method="post" action=(user_href(&s.tenant_code, &u.user_id)) novalidate {
            input type="hidden" name=(CSRF_FIELD) value=(s.csrf());
            span.form-label { (pc.t("ユーザーID", "User ID")) }
            div.field.field-static.code #attr-user-id { (u.user_id) }
            (text_field(pc, v.errors, "name", "name", pc.t("ユーザー名", "Name"), &v.form.name, "text", true, 100))
            (text_field(pc, v.errors, "email", "email", pc.t("メールアドレス", "E-mail address"), &v.form.email, "email", true, 254))
            (sub_email_fields(pc, v.errors, &v.form.sub_emails))
            (text_field(pc, v.errors, "title", "title", pc.t("役職", "Title"), &v.form.title, "text", false, 100))
            @if access {
                input type="hidden" name="access" value="1";
                (role_checks(pc, v.errors, v.form, &offered, false, |r| r == Role::Administration && !grant))
                span.form-label #status-label { (pc.t("状態", "Status")) }
                div.field {
                    div.radio-row role="radiogroup" aria-labelledby="status-label" {
                        @for (value, st) in [("active", UserStatus::Active), ("suspended", UserStatus::Suspended)] {
                            @let id = format!("status_{value}");
                            label.radio for=(id) {
                                input type="radio" id=(id) name="status" value=(value) checked[v.form.status == value];
                                " " (status_label(pc.lang, st))
                            }
                        }
                    }
                    @if status_invalid { (field_errors(v.errors, "status")) }
                    p.hint { (pc.t("停止にすると、このユーザーはログインできなくなります。", "A suspended user cannot log in.")) }
                }
            } @else {
                span.form-label { (pc.t("権限", "Roles")) }
                div.field.field-static { (role_list(pc.lang, &u.roles)) }
                span.form-label { (pc.t("状態", "Status")) }
                div.field.field-static { (status_badge(pc.lang, u.status)) }
            }
            div.actions-row {
                button.button.button-wide type="submit" #update-user { (pc.t("更新", "Save")) }
                @if u.has(Role::Signer) {
                    " "
                    a.button.button-secondary href=(format!("{}#attributes", user_href(&s.tenant_code, &u.user_id))) { (pc.t("キャンセル", "Cancel")) }
                }
            }
        }
    }
}

fn reset_box(pc: &PageCtx, s: &Signed, d: &UserDetail) -> Markup {
    let u = &d.row.user;
    html! {
        details.um-reset {
            summary.button.button-secondary.button-small { (pc.t("パスワード再発行", "Reset password")) }
            div.um-reset-body {
                p { (pc.t(
                    "新しい初期パスワードを発行し、「ユーザー登録通知」メールを送信します。現在のパスワードとログイン中のセッションは使えなくなります。よろしいですか？",
                    "A new initial password is issued and sent in the registration notice; the current password and sessions stop working. Continue?",
                )) }
                form.inline-form method="post" action=(format!("{}/password-reset", user_href(&s.tenant_code, &u.user_id))) {
                    input type="hidden" name=(CSRF_FIELD) value=(s.csrf());
                    button.button.button-small type="submit" #reset-password { (pc.t("再発行する", "Reset")) }
                }
            }
        }
    }
}

fn seal_box(pc: &PageCtx, s: &Signed, d: &UserDetail) -> Markup {
    let u = &d.row.user;
    html! {
        section.box.um-seal aria-labelledby="um-seal-title" {
            div.box-head { h2.box-title #um-seal-title { (pc.t("印影", "Seal")) } }
            div.box-body.seal-body {
                @if d.has_seal {
                    img.seal src=(format!("{}/seal.svg", user_href(&s.tenant_code, &u.user_id)))
                        width="120" height="120" alt=(format!("{} {}", pc.t("印影", "Seal of"), u.name));
                } @else {
                    p.empty { (pc.t("印影は登録されていません。", "No seal is registered.")) }
                }
                p.hint { (pc.t("印影は固定で変更できません。", "The seal is fixed and cannot be changed.")) }
            }
        }
    }
}

fn delegates_box(pc: &PageCtx, s: &Signed, d: &UserDetail, list: &[Delegate]) -> Markup {
    let u = &d.row.user;
    let manage = d.can_manage_delegates;
    let confirm = d.can_confirm_delegates;
    let href = user_href(&s.tenant_code, &u.user_id);
    html! {
        section.box.um-delegates #delegates aria-labelledby="um-delegates-title" {
            div.box-head {
                h2.box-title #um-delegates-title { (pc.t("署名/電子捺印操作代行ユーザー", "Signing delegates")) }
                @if manage {
                    a.button.button-small #add-delegates href=(format!("{href}?add=1#delegate-dialog")) { (pc.t("追加", "Add")) }
                }
            }
            div.box-body {
                @if list.is_empty() {
                    p.empty { (pc.t("署名操作代行ユーザーは登録されていません。", "No delegates are registered.")) }
                } @else {
                    div.table-scroll {
                        table.list.um-table #delegate-table {
                            thead {
                                tr {
                                    th scope="col" { (pc.t("ユーザーID", "User ID")) }
                                    th scope="col" { (pc.t("ユーザー名", "Name")) }
                                    th scope="col" { (pc.t("委任の範囲", "Limits")) }
                                    th scope="col" { (pc.t("状態", "State")) }
                                    th scope="col" { (pc.t("設定者", "Set by")) }
                                    @if manage || confirm { th scope="col" { span.visually-hidden { (pc.t("操作", "Actions")) } } }
                                }
                            }
                            tbody {
                                @for del in list {
                                    @let du = &del.user;
                                    @let m = &del.mandate;
                                    tr.delegate-row data-delegate=(du.user_id) data-state=(m.state.as_str()) {
                                        td.code { (du.user_id) }
                                        td {
                                            (du.name)
                                            @if du.status == UserStatus::Suspended { " " (status_badge(pc.lang, du.status)) }
                                            br; span.um-email { (du.email) }
                                        }
                                        td.um-limits { (mandate_limits(pc, m)) }
                                        td {
                                            @if m.is_confirmed() {
                                                span.badge.badge-ok { (pc.t("確認済み", "Confirmed")) }
                                                @if let Some(at) = &m.confirmed_at { br; span.muted { (short_time(at)) } }
                                            } @else {
                                                span.badge.badge-warn { (pc.t("署名者の確認待ち", "Awaiting the signer")) }
                                            }
                                        }
                                        td {
                                            (del.added_by_name.clone().unwrap_or_else(|| if m.added_by == "system" { pc.t("システム", "System").to_string() } else { m.added_by.clone() }))
                                            br; span.muted { (short_time(&m.added_at)) }
                                        }
                                        @if manage || confirm {
                                            td.actions {
                                                @if confirm && !m.is_confirmed() {
                                                    form.inline-form.confirm-form method="post" action=(format!("{href}/delegates/{}/confirm", enc(&du.user_id))) {
                                                        input type="hidden" name=(CSRF_FIELD) value=(s.csrf());
                                                        label.visually-hidden for=(format!("pin_{}", du.user_id)) { (pc.t("PINコード", "PIN")) }
                                                        input.pin-input type="password" inputmode="numeric" autocomplete="off" maxlength="12"
                                                            id=(format!("pin_{}", du.user_id)) name="pin" required
                                                            placeholder=(pc.t("PINコード(12桁)", "PIN (12 digits)"));
                                                        button.button.button-small type="submit"
                                                            aria-label=(format!("{} {}", du.user_id, pc.t("の委任を確認", "confirm"))) {
                                                            (pc.t("確認", "Confirm"))
                                                        }
                                                    }
                                                }
                                                @if manage {
                                                    form.inline-form method="post" action=(format!("{href}/delegates/{}/delete", enc(&du.user_id))) {
                                                        input type="hidden" name=(CSRF_FIELD) value=(s.csrf());
                                                        button.button.button-secondary.button-small type="submit"
                                                            aria-label=(format!("{} {}", du.user_id, pc.t("を削除", "remove"))) {
                                                            (pc.t("削除", "Remove"))
                                                        }
                                                    }
                                                }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
                p.hint { (pc.t(
                    "署名操作代行ユーザーを設定すると、署名者に代わって署名操作を行えます。代行ユーザーは登録済みのユーザーから選択します。署名者本人が証明書のPINコードで確認するまで、代行ユーザーは署名できません。",
                    "Delegates perform the signing operation on the signer's behalf; they are chosen from registered users. A delegate can sign only after the signer confirms the mandate with their certificate PIN.",
                )) }
            }
        }
    }
}

/// What a mandate allows, as one line per limit.
fn mandate_limits(pc: &PageCtx, m: &Mandate) -> Markup {
    let l = &m.limits;
    html! {
        @if l.valid_until.is_none() && l.max_amount.is_none() && l.doc_types.is_empty() {
            (pc.t("制限なし", "No limits"))
        } @else {
            @if let Some(d) = l.valid_until { (pc.t("有効期限", "Until")) " " (d.strftime("%Y/%m/%d").to_string()) br; }
            @if let Some(a) = l.max_amount { (pc.t("上限", "Up to")) " " (keiyaku_kernel::numbers::yen(a)) br; }
            @if !l.doc_types.is_empty() {
                @let names: Vec<&str> = l.doc_types.iter().map(|t| t.label(pc.lang)).collect();
                (names.join(pc.t("、", ", ")))
            }
        }
    }
}

/// `2026-11-25T01:02:03Z` → `2026/11/25 10:02` (Japan time); the text itself if unreadable.
fn short_time(rfc3339: &str) -> String {
    rfc3339.parse::<jiff::Timestamp>().map(keiyaku_kernel::clock::display).unwrap_or_else(|_| rfc3339.to_string())
}

/// The 署名操作代行ユーザー追加 dialog (seed §3.4 (2)–(3)): search by ID and name, results with
/// check boxes, 追加 adds the checked. A modal drawn by the server: no script needed.
fn delegate_dialog(pc: &PageCtx, s: &Signed, d: &UserDetail, list: &[Delegate], v: &DialogView<'_>) -> Markup {
    let u = &d.row.user;
    let href = user_href(&s.tenant_code, &u.user_id);
    let taken = |id: &str| list.iter().any(|del| del.user.user_id == id);
    let page_href = |p: usize| {
        let mut h = format!("{href}?add=1&search=1&q_user_id={}&q_name={}", enc(v.user_id), enc(v.name));
        if p > 1 {
            h.push_str(&format!("&page={p}"));
        }
        h.push_str("#delegate-dialog");
        h
    };
    html! {
        div.dialog-backdrop #delegate-dialog {
            section.dialog role="dialog" aria-modal="true" aria-labelledby="delegate-dialog-title" {
                div.dialog-head {
                    h2.dialog-title #delegate-dialog-title { (u.name) " > " (pc.t("[署名操作代行ユーザー追加]", "[Add signing delegates]")) }
                    a.dialog-close href=(format!("{href}#delegates")) aria-label=(pc.t("閉じる", "Close")) { "×" }
                }
                div.dialog-body {
                    form.dialog-search method="get" action=(href) role="search" {
                        input type="hidden" name="add" value="1";
                        div.search-fields {
                            label for="q_user_id" { (pc.t("ユーザーID", "User ID")) }
                            input #q_user_id type="search" name="q_user_id" value=(v.user_id) maxlength="100" autofocus autocomplete="off";
                            label for="q_name" { (pc.t("ユーザー名", "Name")) }
                            input #q_name type="search" name="q_name" value=(v.name) maxlength="100" autocomplete="off";
                        }
                        button.button.button-small type="submit" name="search" value="1" #delegate-search { (pc.t("検索", "Search")) }
                    }
                    (layout::messages(v.msg.as_ref()))
                    form method="post" action=(format!("{href}/delegates")) {
                        input type="hidden" name=(CSRF_FIELD) value=(s.csrf());
                        input type="hidden" name="q_user_id" value=(v.user_id);
                        input type="hidden" name="q_name" value=(v.name);
                        @if let Some(r) = v.results {
                            p.result-count { (count_text(pc.lang, r.total)) }
                            @if r.items.is_empty() {
                                p.empty { (pc.t("該当するユーザーはいません。", "No users match.")) }
                            } @else {
                                div.table-scroll.dialog-results {
                                    table.list.um-table #delegate-results {
                                        thead {
                                            tr {
                                                th scope="col" { span.visually-hidden { (pc.t("選択", "Select")) } }
                                                th scope="col" { (pc.t("ユーザーID", "User ID")) }
                                                th scope="col" { (pc.t("ユーザー名", "Name")) }
                                                th scope="col" { (pc.t("メールアドレス", "E-mail")) }
                                            }
                                        }
                                        tbody {
                                            @for row in &r.items {
                                                @let c = &row.user;
                                                @let is_self = c.user_id == u.user_id;
                                                @let already = taken(&c.user_id);
                                                @let id = format!("pick_{}", c.user_id);
                                                tr {
                                                    td.check {
                                                        input type="checkbox" id=(id) name="user_ids" value=(c.user_id)
                                                            checked[v.checked.contains(&c.user_id) && !already && !is_self]
                                                            disabled[is_self || already];
                                                    }
                                                    td.code { label for=(id) { (c.user_id) } }
                                                    td {
                                                        (c.name)
                                                        @if is_self { " " span.badge.badge-muted { (pc.t("本人", "the signer")) } }
                                                        @if already { " " span.badge.badge-muted { (pc.t("登録済み", "already a delegate")) } }
                                                    }
                                                    td.um-email { (c.email) }
                                                }
                                            }
                                        }
                                    }
                                }
                                (pager(pc, v.page, pages(r), page_href))
                            }
                        } @else {
                            p.hint { (pc.t(
                                "ユーザーIDまたはユーザー名(一部)を入力して検索してください。空欄のまま検索すると全員を表示します。",
                                "Search by user ID or part of the name; an empty search lists everyone.",
                            )) }
                        }
                        @if v.results.is_some_and(|r| !r.items.is_empty()) {
                            fieldset.form-grid.mandate-limits {
                                legend { (pc.t("委任の範囲(任意)", "Limits (optional)")) }
                                label for="valid_until" { (pc.t("有効期限", "Valid until")) }
                                input #valid_until type="date" name="valid_until";
                                label for="max_amount" { (pc.t("金額の上限(円)", "Largest amount (yen)")) }
                                input #max_amount type="text" inputmode="numeric" name="max_amount";
                                span.label { (pc.t("文書種別", "Document types")) }
                                div.checks {
                                    @for t in keiyaku_kernel::doc_type::DocType::ALL {
                                        label.check {
                                            input type="checkbox" name="doc_types" value=(t.as_str());
                                            " " (t.label(pc.lang))
                                        }
                                    }
                                }
                                @if d.can_confirm_delegates {
                                    label for="mandate_pin" { (pc.t("PINコード", "PIN")) }
                                    div {
                                        input #mandate_pin type="password" inputmode="numeric" autocomplete="off" maxlength="12" name="pin";
                                        p.hint { (pc.t(
                                            "証明書のPINコードを入力すると、委任をその場で確認します(空欄の場合は後で確認します)。",
                                            "With your certificate PIN the mandate is confirmed at once (leave empty to confirm later).",
                                        )) }
                                    }
                                }
                            }
                        }
                        div.dialog-actions {
                            @if v.results.is_some_and(|r| !r.items.is_empty()) {
                                button.button type="submit" #delegate-add { (pc.t("追加", "Add")) }
                            }
                            a.button.button-secondary href=(format!("{href}#delegates")) #delegate-cancel { (pc.t("キャンセル", "Cancel")) }
                        }
                    }
                }
            }
        }
    }
}

/// The user page.
pub fn detail_view(pc: &PageCtx, s: &Signed, v: &DetailView<'_>) -> Markup {
    let t = &s.tenant_code;
    let d = v.detail;
    let u = &d.row.user;
    let signer = u.has(Role::Signer);
    let heading = if signer { pc.t("署名者の属性", "Signer") } else { pc.t("ユーザーの属性", "User") };
    // A signer's page leads with the seed's detail (§3.2): the form opens with 編集.
    let editing = d.can_update && (v.editing || !signer);
    let main = html! {
        (crumbs(&[&d.row.company_name, &d.row.group_name, &format!("[{}]", u.name)]))
        (layout::messages(v.msg.as_ref()))
        section.box.um-user #attributes aria-labelledby="um-user-title" {
            div.box-head {
                h2.box-title #um-user-title { (heading) }
                div.box-head-actions {
                    @if d.can_update && !editing {
                        a.button.button-small #edit-user href=(format!("{}?edit=1#attributes", user_href(t, &u.user_id))) { (pc.t("編集", "Edit")) }
                    }
                    @if d.can_reset_password { (reset_box(pc, s, d)) }
                }
            }
            div.box-body {
                @if editing { (org_facts(pc, d)) (attributes_form(pc, s, v)) } @else { (attributes_readonly(pc, d)) }
            }
        }
        @if signer {
            (v.certificate)
            (seal_box(pc, s, d))
            @if let Some(list) = v.delegates { (delegates_box(pc, s, d, list)) }
        }
        @if let Some(group) = v.tree.and_then(|tr| find_group(tr, &u.group_id)).filter(|(_, g)| g.can_manage) {
            p.card-links { a href=(group_href(t, &group.1.group.id, 1)) { "« " (pc.t("メンバー一覧へ戻る", "Back to the members")) } }
        }
    };
    let tree = v.tree.map(|tr| tree_pane(pc, t, tr, Some(&u.group_id)));
    let body = html! {
        (two_panes(tree, main))
        @if let (Some(dialog), Some(list)) = (&v.dialog, v.delegates) {
            (delegate_dialog(pc, s, d, list, dialog))
        }
    };
    app_page(pc, s, tab(s), title(pc), body)
}

/// What a request asks of the user page beyond the stored data.
#[derive(Default)]
struct DetailInput {
    status: Option<StatusCode>,
    msg: Option<Msg>,
    form: Option<UserForm>,
    errors: Vec<FieldError>,
    dialog: Option<DialogInput>,
    editing: bool,
}

#[derive(Default)]
struct DialogInput {
    user_id: String,
    name: String,
    searched: bool,
    page: usize,
    checked: Vec<String>,
    msg: Option<Msg>,
}

impl DialogInput {
    fn of(p: &Pairs) -> Self {
        Self {
            user_id: p.get("q_user_id").trim().to_string(),
            name: p.get("q_name").trim().to_string(),
            searched: p.has("search"),
            page: page_of(p),
            checked: Vec::new(),
            msg: None,
        }
    }
}

async fn render_detail(
    web: &Web,
    users: &Users,
    pc: &PageCtx,
    s: &Signed,
    user_id: &str,
    input: DetailInput,
) -> Response {
    let detail = match users.get_user(s.caller(), user_id.to_string()).await {
        Ok(d) => d,
        Err(e) => return refused(pc, s, &e),
    };
    let user = &detail.row.user;
    let signer = user.has(Role::Signer);
    let tree = users.org_tree(s.caller()).await.ok();
    let delegates = if signer {
        match users.list_delegates(s.caller(), user.user_id.clone()).await {
            Ok(l) => Some(l),
            Err(e) => return refused(pc, s, &e),
        }
    } else {
        None
    };
    let certificate = if signer {
        certificate_box(web, pc, s, &user.user_id).await
    } else {
        html! {}
    };
    let mut dialog_in = input.dialog.filter(|_| signer && detail.can_manage_delegates);
    let mut results = None;
    if let Some(di) = dialog_in.as_mut()
        && di.searched
    {
        let query = SearchQuery {
            q: None,
            user_id: Some(di.user_id.clone()).filter(|v| !v.is_empty()),
            name: Some(di.name.clone()).filter(|v| !v.is_empty()),
            status: Some(UserStatus::Active),
        };
        match users.search_users(s.caller(), query, paging(di.page, DIALOG_PER_PAGE)).await {
            Ok(r) => results = Some(r),
            Err(e) => match failure(pc, &e) {
                Some((_, msg, errors)) => {
                    let detail = errors.first().map(|f| f.message.clone());
                    di.msg = di.msg.take().or(Some(Msg::error(msg.title, detail.or(msg.detail))));
                }
                None => return layout::server_error(pc, &e),
            },
        }
    }
    let form = input.form.unwrap_or_else(|| UserForm::of_user(user));
    let can_grant_administration = scope::can(s.caller(), Op::GrantAdministration, &Target::user(user));
    let dialog = dialog_in.as_ref().map(|di| DialogView {
        user_id: &di.user_id,
        name: &di.name,
        results: results.as_ref(),
        page: di.page,
        msg: di.msg.clone(),
        checked: &di.checked,
    });
    let view = DetailView {
        tree: tree.as_deref(),
        detail: &detail,
        form: &form,
        errors: &input.errors,
        msg: input.msg,
        can_grant_administration,
        certificate,
        delegates: delegates.as_deref(),
        dialog,
        editing: input.editing,
    };
    pc.respond(input.status.unwrap_or(StatusCode::OK), detail_view(pc, s, &view))
}

#[handler]
async fn user_page(
    req: &Request,
    Path((tenant, user_id)): Path<(String, String)>,
    Data(web): Data<&Web>,
) -> PageResult {
    let (pc, s, users) = open(web, req, &tenant).await?;
    let q = Pairs::of_query(req);
    let input = DetailInput {
        msg: done_msg(&q, pc.lang),
        dialog: q.has("add").then(|| DialogInput::of(&q)),
        editing: q.has("edit"),
        ..DetailInput::default()
    };
    Ok(render_detail(web, users, &pc, &s, &user_id, input).await)
}

/// Opens the page of a form posted about `user_id` and reads the form, checking the CSRF
/// token; Err is the page to answer with (a refused token shows the user page again, with
/// the search dialog when `dialog`).
async fn open_posted<'a>(
    web: &'a Web,
    req: &Request,
    (tenant, user_id): (&str, &str),
    form: poem::Result<Form<Vec<(String, String)>>>,
    dialog: bool,
) -> Result<(PageCtx, Signed, &'a Users, Pairs), Response> {
    let (pc, s, users) = open(web, req, tenant).await?;
    let Ok(Form(pairs)) = form else {
        return Err(layout::bad_form(&pc));
    };
    let p = Pairs(pairs);
    if !s.check_csrf(p.get(CSRF_FIELD)) {
        let mut input =
            DetailInput { status: Some(StatusCode::FORBIDDEN), msg: Some(expired_form(&pc)), ..DetailInput::default() };
        if dialog {
            input.dialog = Some(DialogInput { searched: true, ..DialogInput::of(&p) });
        }
        return Err(render_detail(web, users, &pc, &s, user_id, input).await);
    }
    Ok((pc, s, users, p))
}

#[handler]
async fn user_submit(
    req: &Request,
    Path((tenant, user_id)): Path<(String, String)>,
    Data(web): Data<&Web>,
    form: poem::Result<Form<Vec<(String, String)>>>,
) -> PageResult {
    let (pc, s, users, p) = open_posted(web, req, (&tenant, &user_id), form, false).await?;
    let form = UserForm::of_pairs(&p);
    let access = p.has("access");
    let changes = UserChanges {
        name: Some(form.name.clone()),
        email: Some(form.email.clone()),
        sub_emails: Some(form.sub_emails.clone()),
        roles: access.then(|| form.roles.clone()),
        status: access.then(|| form.status.clone()),
        title: Some(Some(form.title.trim().to_string()).filter(|t| !t.is_empty())),
    };
    Ok(match users.update_user(s.caller(), user_id.clone(), changes).await {
        Ok(u) => layout::see_other(&format!("{}?done=updated", user_href(&s.tenant_code, &u.user_id)), &[]),
        Err(e @ (UsersError::NotFound(_) | UsersError::Forbidden)) => refused(&pc, &s, &e),
        Err(e) => match failure(&pc, &e) {
            Some((status, msg, errors)) => {
                let input = DetailInput {
                    status: Some(status),
                    msg: Some(msg),
                    form: Some(form),
                    errors,
                    dialog: None,
                    editing: true,
                };
                render_detail(web, users, &pc, &s, &user_id, input).await
            }
            None => layout::server_error(&pc, &e),
        },
    })
}

#[handler]
async fn reset_submit(
    req: &Request,
    Path((tenant, user_id)): Path<(String, String)>,
    Data(web): Data<&Web>,
    form: poem::Result<Form<Vec<(String, String)>>>,
) -> PageResult {
    let (pc, s, users, _) = open_posted(web, req, (&tenant, &user_id), form, false).await?;
    Ok(match users.reset_password(s.caller(), user_id.clone()).await {
        Ok(u) => layout::see_other(&format!("{}?done=password_reset", user_href(&s.tenant_code, &u.user_id)), &[]),
        Err(e) => refused(&pc, &s, &e),
    })
}

/// The messages of a refused `addDelegates`: each bad ID with its reason.
fn delegate_errors(pc: &PageCtx, e: &UsersError, ids: &[String]) -> Option<Msg> {
    let (_, msg, errors) = failure(pc, e)?;
    let lines: Vec<String> = errors
        .iter()
        .map(|fe| {
            let idx = fe
                .field
                .strip_prefix("user_ids[")
                .and_then(|r| r.strip_suffix(']'))
                .and_then(|i| i.parse::<usize>().ok());
            match idx.and_then(|i| ids.get(i)) {
                Some(id) => format!("{id}: {}", fe.message),
                None => fe.message.clone(),
            }
        })
        .collect();
    let detail = if lines.is_empty() { msg.detail } else { Some(lines.join(" / ")) };
    let title = match e {
        UsersError::Invalid(_) => {
            pc.t("追加できないユーザーが含まれています。", "Some of the chosen users cannot be added.").to_string()
        }
        _ => msg.title,
    };
    Some(Msg::error(title, detail))
}

#[handler]
async fn delegates_add(
    req: &Request,
    Path((tenant, user_id)): Path<(String, String)>,
    Data(web): Data<&Web>,
    form: poem::Result<Form<Vec<(String, String)>>>,
) -> PageResult {
    let (pc, s, users, p) = open_posted(web, req, (&tenant, &user_id), form, true).await?;
    let ids: Vec<String> =
        p.all("user_ids").into_iter().map(|i| i.trim().to_string()).filter(|i| !i.is_empty()).collect();
    let again = |status: StatusCode, msg: Msg, checked: Vec<String>| {
        let dialog = DialogInput { searched: true, checked, msg: Some(msg), ..DialogInput::of(&p) };
        let input = DetailInput { status: Some(status), dialog: Some(dialog), ..DetailInput::default() };
        render_detail(web, users, &pc, &s, &user_id, input)
    };
    if ids.is_empty() {
        let msg = Msg::error(pc.t("追加するユーザーを選択してください。", "Choose the users to add."), None);
        return Ok(again(StatusCode::UNPROCESSABLE_ENTITY, msg, ids).await);
    }
    let amount = p.get("max_amount").trim().replace([',', '，'], "");
    let max_amount = match amount.as_str() {
        "" => None,
        a => match a.parse::<i64>() {
            Ok(n) => Some(n),
            Err(_) => {
                let msg = Msg::error(
                    pc.t("金額の上限は数字で入力してください。", "Enter the largest amount in digits."),
                    None,
                );
                return Ok(again(StatusCode::UNPROCESSABLE_ENTITY, msg, ids).await);
            }
        },
    };
    let input = AddInput {
        user_ids: ids.clone(),
        valid_until: Some(p.get("valid_until").to_string()).filter(|v| !v.trim().is_empty()),
        max_amount,
        doc_types: p.all("doc_types"),
    };
    let pin = Some(p.get("pin").trim().to_string()).filter(|v| !v.is_empty());
    Ok(match users.add_delegates(s.caller(), user_id.clone(), input, pin).await {
        Ok(_) => {
            layout::see_other(&format!("{}?done=delegates_added#delegates", user_href(&s.tenant_code, &user_id)), &[])
        }
        Err(e @ (UsersError::NotFound(_) | UsersError::Forbidden)) => refused(&pc, &s, &e),
        Err(e) => match delegate_errors(&pc, &e, &ids) {
            Some(msg) => {
                let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::BAD_REQUEST);
                again(status, msg, ids).await
            }
            None => layout::server_error(&pc, &e),
        },
    })
}

/// 確認: the signer confirms a mandate with their certificate PIN.
#[handler]
async fn delegate_confirm(
    req: &Request,
    Path((tenant, user_id, delegate_id)): Path<(String, String, String)>,
    Data(web): Data<&Web>,
    form: poem::Result<Form<Vec<(String, String)>>>,
) -> PageResult {
    let (pc, s, users, p) = open_posted(web, req, (&tenant, &user_id), form, false).await?;
    let pin = p.get("pin").trim().to_string();
    Ok(match users.confirm_delegate(s.caller(), user_id.clone(), delegate_id, pin).await {
        Ok(_) => layout::see_other(
            &format!("{}?done=delegate_confirmed#delegates", user_href(&s.tenant_code, &user_id)),
            &[],
        ),
        Err(e @ (UsersError::NotFound(_) | UsersError::Forbidden)) => refused(&pc, &s, &e),
        Err(e) => match failure(&pc, &e) {
            Some((status, msg, _)) => {
                let input = DetailInput { status: Some(status), msg: Some(msg), ..DetailInput::default() };
                render_detail(web, users, &pc, &s, &user_id, input).await
            }
            None => layout::server_error(&pc, &e),
        },
    })
}

#[handler]
async fn delegate_remove(
    req: &Request,
    Path((tenant, user_id, delegate_id)): Path<(String, String, String)>,
    Data(web): Data<&Web>,
    form: poem::Result<Form<Vec<(String, String)>>>,
) -> PageResult {
    let (pc, s, users, _) = open_posted(web, req, (&tenant, &user_id), form, false).await?;
    Ok(match users.remove_delegate(s.caller(), user_id.clone(), delegate_id).await {
        Ok(()) => {
            layout::see_other(&format!("{}?done=delegate_removed#delegates", user_href(&s.tenant_code, &user_id)), &[])
        }
        // Removed already (another window): say so on the page.
        Err(UsersError::NotFound("delegate")) => {
            let input = DetailInput {
                status: Some(StatusCode::NOT_FOUND),
                msg: Some(not_found_msg(&pc, "delegate")),
                ..DetailInput::default()
            };
            render_detail(web, users, &pc, &s, &user_id, input).await
        }
        Err(e) => refused(&pc, &s, &e),
    })
}

/// The stored seal as `image/svg+xml`, for the page's `<img>` (the API's seal needs a bearer
/// token; this one the session cookie).
#[handler]
async fn seal_svg(req: &Request, Path((tenant, user_id)): Path<(String, String)>, Data(web): Data<&Web>) -> PageResult {
    let (_pc, s, users) = open(web, req, &tenant).await?;
    Ok(match users.seal(s.caller(), user_id).await {
        Ok(seal) => Response::builder()
            .status(StatusCode::OK)
            .header(header::CONTENT_TYPE, "image/svg+xml")
            .header(header::CACHE_CONTROL, "private, max-age=300")
            .body(seal.svg),
        Err(e) => {
            if e.status() >= 500 {
                tracing::error!(error = %e, "seal image failed");
            }
            Response::builder()
                .status(StatusCode::from_u16(e.status()).unwrap_or(StatusCode::NOT_FOUND))
                .header(header::CACHE_CONTROL, "no-store")
                .finish()
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use keiyaku_kernel::directory::Group;

    fn group(id: &str, parent: Option<&str>, depth: usize, can_manage: bool) -> GroupNode {
        GroupNode {
            group: Group {
                id: id.into(),
                tenant: "HXOS2".into(),
                company_id: "c1".into(),
                parent_id: parent.map(str::to_string),
                name: format!("<{id}>"),
                created_at: String::new(),
            },
            depth,
            member_count: 2,
            can_manage,
        }
    }

    fn company(owner: bool, groups: Vec<GroupNode>) -> CompanyNode {
        CompanyNode {
            company: Company {
                id: "c1".into(),
                tenant: "HXOS2".into(),
                name: "アイテック<株>".into(),
                name_kana: String::new(),
                vendor_code: (!owner).then(|| "A15336".to_string()),
                owner,
                root_group_id: "root".into(),
                created_at: String::new(),
            },
            groups,
        }
    }

    fn pc(lang: Lang) -> PageCtx {
        PageCtx::new(lang, None, "/t/HXOS2/admin/users", "", None)
    }

    #[test]
    fn query_strings_are_encoded_and_decoded() {
        assert_eq!(page_of(&Pairs::parse("page=3")), 3);
        for bad in ["page=0", "page=-1", "page=abc", "page=99999999999", ""] {
            assert_eq!(page_of(&Pairs::parse(bad)), 1, "{bad}");
        }
        assert_eq!(user_href("HXOS2", "A1533602"), "/t/HXOS2/admin/users/A1533602");
        assert_eq!(group_href("HXOS2", "g 1", 1), "/t/HXOS2/admin/users?group=g%201");
        assert_eq!(group_href("HXOS2", "g", 2), "/t/HXOS2/admin/users?group=g&page=2");
    }

    #[test]
    fn groups_nest_by_depth() {
        let nodes = vec![
            group("root", None, 0, true),
            group("a", Some("root"), 1, true),
            group("a1", Some("a"), 2, false),
            group("b", Some("root"), 1, false),
        ];
        let tree = nest(&nodes);
        assert_eq!(tree.len(), 1);
        let kids: Vec<&str> = tree[0].children.iter().map(|t| t.node.group.id.as_str()).collect();
        assert_eq!(kids, ["a", "b"]);
        assert_eq!(tree[0].children[0].children[0].node.group.id, "a1");
        // A list starting deeper than 0 still shows every group.
        assert_eq!(nest(&nodes[1..]).len(), 2);
        let tree = vec![company(false, nodes)];
        assert_eq!(default_group(&tree, "b").as_deref(), Some("b"));
        assert_eq!(default_group(&tree, "elsewhere").as_deref(), Some("root"));
        assert_eq!(default_group(&[], "x"), None);
        assert!(find_group(&tree, "a1").is_some_and(|(c, g)| c.id == "c1" && g.depth == 2));
    }

    #[test]
    fn the_tree_links_only_manageable_groups_and_escapes_names() {
        let nodes = vec![group("root", None, 0, false), group("a", Some("root"), 1, true)];
        let html = tree_pane(&pc(Lang::Ja), "HXOS2", &[company(false, nodes)], Some("a")).into_string();
        assert!(html.contains("アイテック&lt;株&gt;"), "{html}");
        assert!(html.contains("&lt;a&gt;"));
        assert!(html.contains("href=\"/t/HXOS2/admin/users?group=a\""));
        assert!(html.contains("aria-current=\"page\""));
        assert!(!html.contains("?group=root"), "the company links to its root group only when managed: {html}");
        assert!(html.contains("org-locked"));
        assert!(html.contains("A15336"));
    }

    #[test]
    fn forms_compact_sub_emails_and_offer_administration_to_the_owner_only() {
        let p =
            Pairs::parse("user_id=+A1+&name=x&sub_emails=&sub_emails=b%40x.jp&sub_emails=+&roles=signer&roles=bogus");
        let f = UserForm::of_pairs(&p);
        assert_eq!(f.user_id, "A1");
        assert_eq!(f.sub_emails, ["b@x.jp"]);
        assert_eq!(f.roles, ["signer", "bogus"]);
        assert!(f.has_role(Role::Signer) && !f.has_role(Role::Approver));
        assert!(!offered_roles(false).contains(&Role::Administration));
        assert_eq!(offered_roles(true).len(), Role::ALL.len());
        let errors =
            vec![FieldError { field: "sub_emails[0]".into(), code: "invalid_email".into(), message: "x<".into() }];
        let html = sub_email_fields(&pc(Lang::Ja), &errors, &f.sub_emails).into_string();
        assert!(html.contains("value=\"b@x.jp\""));
        assert!(html.contains("id=\"sub_emails[0]-error\""));
        assert!(html.contains("x&lt;"));
        assert_eq!(html.matches("name=\"sub_emails\"").count(), 2);
    }

    #[test]
    fn locked_roles_are_kept_by_a_hidden_field() {
        let f = UserForm { roles: vec!["administration".into()], ..UserForm::default() };
        let html = role_checks(&pc(Lang::Ja), &[], &f, &offered_roles(true), false, |r| r == Role::Administration)
            .into_string();
        assert!(html.contains("disabled"));
        assert!(html.contains("<input type=\"hidden\" name=\"roles\" value=\"administration\">"), "{html}");
    }

    #[test]
    fn done_codes_are_fixed() {
        assert_eq!(done_text("created", Lang::Ja), Some("ユーザーを登録しました。登録通知メールを送信しました。"));
        assert!(done_text("delegates_added", Lang::En).is_some());
        assert_eq!(done_text("<script>", Lang::Ja), None);
        assert_eq!(count_text(Lang::Ja, 12), "全12件");
        assert_eq!(count_text(Lang::En, 1), "1 user");
        let page = |page, total| Paged::<()> { items: Vec::new(), total, page, per_page: 20 };
        let html = pager(&pc(Lang::Ja), 2, pages(&page(2, 45)), |p| format!("?page={p}")).into_string();
        assert!(html.contains("2 / 3") && html.contains("?page=1") && html.contains("?page=3"));
        assert!(pager(&pc(Lang::Ja), 1, pages(&page(1, 20)), |p| p.to_string()).into_string().is_empty());
        assert_eq!((pages(&page(1, 0)), pages(&page(1, 21))), (1, 2));
    }

    /// The pages over the real services on a temporary store with the demo data.
    mod flows {
        use crate::test_app::TestApp;
        use keiyaku_auth::SessionKind;
        use keiyaku_kernel::directory;
        use keiyaku_kernel::store::StoreError;
        use keiyaku_users::{Users, UsersModule};
        use poem::http::{Method, StatusCode};

        type App = TestApp<Users>;

        fn app() -> App {
            TestApp::new("users", &UsersModule, |k| Users::new(k.clone()), |w, u| crate::Web { users: u.clone(), ..w })
        }

        impl App {
            async fn user(&self, id: &str) -> Option<directory::User> {
                let id = id.to_string();
                self.kernel
                    .store
                    .read(move |tx| directory::get_user(tx, "HXOS2", &id))
                    .await
                    .unwrap_or_else(|e: StoreError| panic!("{e}"))
            }

            async fn delegates(&self, signer: &str) -> Vec<String> {
                let signer = signer.to_string();
                self.kernel
                    .store
                    .read(move |tx| keiyaku_users::delegates::delegate_ids(tx, "HXOS2", &signer))
                    .await
                    .unwrap_or_else(|e: StoreError| panic!("{e}"))
            }

            async fn root_group(&self) -> String {
                let s = self.login("A1533601").await;
                let caller =
                    self.auth.authenticate("HXOS2", s.cookie.trim_start_matches("keiyaku_session="), None, false);
                let caller = caller.await.unwrap_or_else(|e| panic!("{e}")).caller;
                caller.group_id
            }
        }

        #[tokio::test]
        async fn the_list_is_for_group_administrators() {
            let app = app();
            let admin = app.login("A1533601").await;
            let page = app.get("/t/HXOS2/admin/users", &admin).await;
            assert_eq!(page.status, StatusCode::OK);
            let html = page.text();
            for s in [
                "ツリー表示",
                "アイテックコンサルタント株式会社",
                "全2件",
                "A1533601",
                "伊藤 誠",
                "新規ユーザー",
                "最終ログイン",
            ] {
                assert!(html.contains(s), "missing {s}: {html}");
            }
            assert!(!html.contains("オリエンタル白石株式会社</a>"), "another company's tree is not shown");
            // Junk parameters never fail.
            for q in ["?page=abc", "?page=999", "?group=", "?group=%FF%FE", "?group=nope&page=-3"] {
                let a = app.get(&format!("/t/HXOS2/admin/users{q}"), &admin).await;
                assert!(a.status == StatusCode::OK || a.status == StatusCode::NOT_FOUND, "{q}: {}", a.status);
            }
            assert_eq!(app.get("/t/HXOS2/admin/users?group=nope", &admin).await.status, StatusCode::NOT_FOUND);
            // The tenant administrator sees every company.
            let owner = app.login("HX000001").await;
            let html = app.get("/t/HXOS2/admin/users", &owner).await.text();
            assert!(html.contains("オリエンタル白石株式会社") && html.contains("アイテックコンサルタント株式会社"));
            // Others: 403 page, not logged in: to the login page.
            let plain = app.login("HX000002").await;
            let refused = app.get("/t/HXOS2/admin/users", &plain).await;
            assert_eq!(refused.status, StatusCode::FORBIDDEN);
            assert!(refused.text().contains("この操作を行う権限がありません。"));
            let anon = app.send(Method::GET, "/t/HXOS2/admin/users", None, None).await;
            assert_eq!(anon.status, StatusCode::SEE_OTHER);
            assert_eq!(anon.location, "/t/HXOS2/login");
        }

        #[tokio::test]
        async fn creating_a_user_checks_csrf_fields_and_conflicts() {
            let app = app();
            let admin = app.login("A1533601").await;
            let group = app.root_group().await;
            let page = app.get(&format!("/t/HXOS2/admin/users/new?group={group}"), &admin).await;
            assert_eq!(page.status, StatusCode::OK);
            assert!(page.text().contains("value=\"A1533603\""), "suggested ID");
            assert!(!page.text().contains("role_administration"));
            let uri = "/t/HXOS2/admin/users/new";
            let good = |csrf: &'static str| {
                vec![
                    ("csrf", csrf),
                    ("group", ""),
                    ("user_id", "A1533603"),
                    ("name", "田中 花子"),
                    ("email", "tanaka@a15336.example.jp"),
                    ("roles", "person_in_charge"),
                    ("roles", "signer"),
                ]
            };
            let csrf: &'static str = Box::leak(admin.csrf.clone().into_boxed_str());
            let with_group = |mut f: Vec<(&'static str, &'static str)>, g: &'static str| {
                f[1].1 = g;
                f
            };
            let g: &'static str = Box::leak(group.clone().into_boxed_str());
            let refused = app.form(uri, &admin, &with_group(good("wrong"), g)).await;
            assert_eq!(refused.status, StatusCode::FORBIDDEN);
            assert!(app.user("A1533603").await.is_none());
            let bad = app
                .form(
                    uri,
                    &admin,
                    &[
                        ("csrf", csrf),
                        ("group", g),
                        ("user_id", "A 1"),
                        ("name", ""),
                        ("email", "x"),
                        ("roles", "bogus"),
                    ],
                )
                .await;
            assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
            for id in ["user_id-error", "name-error", "email-error", "roles-error"] {
                assert!(bad.text().contains(id), "missing {id}: {}", bad.text());
            }
            let owner_only = app
                .form(
                    uri,
                    &admin,
                    &[("csrf", csrf), ("group", g), ("name", "x"), ("email", "y@x.jp"), ("roles", "administration")],
                )
                .await;
            assert_eq!(owner_only.status, StatusCode::UNPROCESSABLE_ENTITY);
            let ok = app.form(uri, &admin, &with_group(good(csrf), g)).await;
            assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.text());
            assert_eq!(ok.location, "/t/HXOS2/admin/users/A1533603?done=created");
            assert!(app.user("A1533603").await.is_some_and(|u| u.has(directory::Role::Signer)));
            let again = app.form(uri, &admin, &with_group(good(csrf), g)).await;
            assert_eq!(again.status, StatusCode::CONFLICT);
            assert!(again.text().contains("このユーザーIDは既に登録されています。"));
            let unknown = app.form(uri, &admin, &with_group(good(csrf), "nope")).await;
            assert_eq!(unknown.status, StatusCode::NOT_FOUND);
            let broken = app.send(Method::POST, uri, Some(&admin), Some(("application/json", "{}".into()))).await;
            assert_eq!(broken.status, StatusCode::BAD_REQUEST);
            // The new signer's page: seal and an empty delegate table.
            let page = app.get("/t/HXOS2/admin/users/A1533603?done=created", &admin).await;
            let html = page.text();
            assert!(html.contains("ユーザーを登録しました。登録通知メールを送信しました。"));
            assert!(html.contains("/t/HXOS2/admin/users/A1533603/seal.svg"));
            assert!(html.contains("署名操作代行ユーザーは登録されていません。"));
        }

        #[tokio::test]
        async fn the_signer_page_serves_the_seal_and_manages_delegates() {
            let app = app();
            let admin = app.login("A1533601").await;
            let html = app.get("/t/HXOS2/admin/users/A1533602", &admin).await.text();
            for s in [
                "署名者の属性",
                "電子証明書",
                "印影",
                "img class=\"seal\"",
                "署名/電子捺印操作代行ユーザー",
                "A1533601",
                "id=\"edit-user\"",
            ] {
                assert!(html.contains(s), "missing {s}: {html}");
            }
            let seal = app.get("/t/HXOS2/admin/users/A1533602/seal.svg", &admin).await;
            assert_eq!(seal.status, StatusCode::OK);
            assert_eq!(seal.content_type, "image/svg+xml");
            let stored = app
                .service
                .seal(
                    &app.auth
                        .authenticate("HXOS2", admin.cookie.trim_start_matches("keiyaku_session="), None, false)
                        .await
                        .unwrap_or_else(|e| panic!("{e}"))
                        .caller,
                    "A1533602".into(),
                )
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(seal.text(), stored.svg);
            assert_eq!(app.get("/t/HXOS2/admin/users/A1533601/seal.svg", &admin).await.status, StatusCode::NOT_FOUND);

            // The dialog: searched by name, the signer and current delegates cannot be picked.
            let dialog = app
                .get("/t/HXOS2/admin/users/A1533602?add=1&search=1&q_user_id=&q_name=%E9%88%B4%E6%9C%A8", &admin)
                .await;
            let html = dialog.text();
            assert!(
                html.contains("[署名操作代行ユーザー追加]") && html.contains("全1件") && html.contains("登録済み"),
                "{html}"
            );
            let long = "x".repeat(200);
            let too_long =
                app.get(&format!("/t/HXOS2/admin/users/A1533602?add=1&search=1&q_name={long}"), &admin).await;
            assert_eq!(too_long.status, StatusCode::OK);
            assert!(too_long.text().contains("100文字以内"), "{}", too_long.text());

            let uri = "/t/HXOS2/admin/users/A1533602/delegates";
            let csrf = admin.csrf.clone();
            assert_eq!(
                app.form(uri, &admin, &[("csrf", "x"), ("user_ids", "HX000002")]).await.status,
                StatusCode::FORBIDDEN
            );
            let none = app.form(uri, &admin, &[("csrf", &csrf)]).await;
            assert_eq!(none.status, StatusCode::UNPROCESSABLE_ENTITY);
            assert!(none.text().contains("追加するユーザーを選択してください。"));
            let own = app.form(uri, &admin, &[("csrf", &csrf), ("user_ids", "A1533602")]).await;
            assert_eq!(own.status, StatusCode::UNPROCESSABLE_ENTITY);
            assert!(own.text().contains("A1533602: 署名者本人は代行ユーザーにできません。"), "{}", own.text());
            let foreign = app.form(uri, &admin, &[("csrf", &csrf), ("user_ids", "HX000002")]).await;
            assert_eq!(foreign.status, StatusCode::UNPROCESSABLE_ENTITY);
            let dup = app.form(uri, &admin, &[("csrf", &csrf), ("user_ids", "A1533601")]).await;
            assert_eq!(dup.status, StatusCode::CONFLICT);
            assert_eq!(app.delegates("A1533602").await, ["A1533601"], "refusals change nothing");

            // Remove and add back.
            let del = "/t/HXOS2/admin/users/A1533602/delegates/A1533601/delete";
            assert_eq!(app.form(del, &admin, &[("csrf", "x")]).await.status, StatusCode::FORBIDDEN);
            let removed = app.form(del, &admin, &[("csrf", &csrf)]).await;
            assert_eq!(removed.status, StatusCode::SEE_OTHER);
            assert_eq!(removed.location, "/t/HXOS2/admin/users/A1533602?done=delegate_removed#delegates");
            assert!(app.delegates("A1533602").await.is_empty());
            assert_eq!(app.form(del, &admin, &[("csrf", &csrf)]).await.status, StatusCode::NOT_FOUND);
            let added = app.form(uri, &admin, &[("csrf", &csrf), ("user_ids", "A1533601")]).await;
            assert_eq!(added.status, StatusCode::SEE_OTHER);
            assert_eq!(app.delegates("A1533602").await, ["A1533601"]);

            // The signer manages their own delegates but edits nothing else.
            let signer = app.login("A1533602").await;
            let html = app.get("/t/HXOS2/admin/users/A1533602", &signer).await.text();
            assert!(html.contains("id=\"add-delegates\"") && !html.contains("id=\"edit-user\""), "{html}");
            assert!(!html.contains("id=\"reset-password\""));
            // Another company's user: not found; the partner's signer for an owner user too.
            let plain = app.login("HX000002").await;
            assert_eq!(app.get("/t/HXOS2/admin/users/A1533602", &plain).await.status, StatusCode::NOT_FOUND);
            assert_eq!(app.get("/t/HXOS2/admin/users/A1533602/seal.svg", &plain).await.status, StatusCode::NOT_FOUND);
            let refused = app.form(uri, &plain, &[("csrf", &plain.csrf), ("user_ids", "HX000001")]).await;
            assert_eq!(refused.status, StatusCode::NOT_FOUND);
            let junk = app.get("/t/HXOS2/admin/users/%FF%FE", &admin).await.status;
            assert!(junk.is_client_error(), "{junk}");
        }

        #[tokio::test]
        async fn updating_a_user_and_resetting_the_password() {
            let app = app();
            let admin = app.login("A1533601").await;
            let uri = "/t/HXOS2/admin/users/A1533602";
            let csrf = admin.csrf.clone();
            let edit = app.get(&format!("{uri}?edit=1"), &admin).await.text();
            assert!(edit.contains("id=\"update-user\"") && edit.contains("name=\"access\""));
            let fields = |email: &'static str, status: &'static str| {
                vec![
                    ("name", "伊藤 誠"),
                    ("email", email),
                    ("sub_emails", ""),
                    ("sub_emails", "ito2@a15336.example.jp"),
                    ("title", ""),
                    ("access", "1"),
                    ("roles", "signer"),
                    ("roles", "approver"),
                    ("status", status),
                ]
            };
            let mut bad = fields("broken", "active");
            bad.push(("csrf", &csrf));
            let answer = app.form(uri, &admin, &bad).await;
            assert_eq!(answer.status, StatusCode::UNPROCESSABLE_ENTITY);
            assert!(answer.text().contains("email-error") && answer.text().contains("value=\"broken\""));
            let mut odd = fields("ito@a15336.example.jp", "gone");
            odd.push(("csrf", &csrf));
            assert_eq!(app.form(uri, &admin, &odd).await.status, StatusCode::UNPROCESSABLE_ENTITY);
            let mut good = fields("ito@a15336.example.jp", "suspended");
            good.push(("csrf", &csrf));
            let answer = app.form(uri, &admin, &good).await;
            assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.text());
            let user = app.user("A1533602").await.unwrap_or_else(|| panic!("user"));
            assert_eq!(user.status, directory::UserStatus::Suspended);
            assert_eq!(user.sub_emails, ["ito2@a15336.example.jp"]);
            assert_eq!(user.title, None);
            assert!(user.has(directory::Role::Approver));
            // Without `access` roles and status stay; the own roles cannot be changed.
            let own = app
                .form(
                    "/t/HXOS2/admin/users/A1533601",
                    &admin,
                    &[
                        ("csrf", &csrf),
                        ("name", "鈴木 一郎"),
                        ("email", "suzuki@a15336.example.jp"),
                        ("access", "1"),
                        ("status", "active"),
                    ],
                )
                .await;
            assert_eq!(own.status, StatusCode::FORBIDDEN);
            let page = app.get("/t/HXOS2/admin/users/A1533601", &admin).await.text();
            assert!(
                page.contains("id=\"update-user\"")
                    && !page.contains("name=\"access\"")
                    && !page.contains("id=\"reset-password\"")
            );
            // Password reset.
            let reset = "/t/HXOS2/admin/users/A1533602/password-reset";
            assert_eq!(app.form(reset, &admin, &[("csrf", "x")]).await.status, StatusCode::FORBIDDEN);
            let done = app.form(reset, &admin, &[("csrf", &csrf)]).await;
            assert_eq!(done.status, StatusCode::SEE_OTHER);
            assert_eq!(done.location, "/t/HXOS2/admin/users/A1533602?done=password_reset");
            let old = app.auth.login("HXOS2", "A1533602", "keiyaku-demo", None, SessionKind::Web).await;
            assert!(old.is_err(), "the old password no longer works");
            // An owner's plain user cannot reset a partner's password.
            let plain = app.login("HX000002").await;
            assert_eq!(app.form(reset, &plain, &[("csrf", &plain.csrf)]).await.status, StatusCode::NOT_FOUND);
        }
    }
}
