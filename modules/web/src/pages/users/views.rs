use super::forms::{SUB_EMAIL_FIELDS, UserForm};
use crate::layout::{self, Msg, PageCtx, Tab, app_page, field_errors, has_error, pager};
use crate::query::{Pairs, enc};
use crate::session::{CSRF_FIELD, Signed, tenant_path};
use jiff::Timestamp;
use keiyaku_kernel::Lang;
use keiyaku_kernel::clock;
use keiyaku_kernel::directory::{Company, Role, User, UserStatus};
use keiyaku_kernel::error::FieldError;
use keiyaku_users::delegates::{Delegate, Mandate};
use keiyaku_users::service::{CompanyNode, GroupNode, MAX_SUB_EMAILS, Paged};
use keiyaku_users::{UserDetail, UserRow};
use maud::{Markup, html};

/// Members per page of the list.
pub const MEMBERS_PER_PAGE: usize = 20;

/// Results per page of the delegate dialog.
pub const DIALOG_PER_PAGE: usize = 20;

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

pub(super) fn done_msg(p: &Pairs, lang: Lang) -> Option<Msg> {
    done_text(p.get("done"), lang).map(Msg::notice)
}

pub(super) fn forbidden_msg(pc: &PageCtx) -> Msg {
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

pub(super) fn not_found_msg(pc: &PageCtx, what: &str) -> Msg {
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

pub(super) fn title(pc: &PageCtx) -> &'static str {
    pc.t("ユーザー管理", "User management")
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
pub(super) fn pages<T>(p: &Paged<T>) -> usize {
    p.total.div_ceil(p.per_page.max(1)).max(1)
}

pub(super) fn count_text(lang: Lang, total: usize) -> String {
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
pub(super) fn sub_email_fields(pc: &PageCtx, errors: &[FieldError], values: &[String]) -> Markup {
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
pub(super) fn role_checks(
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
                                    (delegate_row(pc, s, &href, del, (manage, confirm)))
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

/// One delegate of the signer: the mandate's limits and state, and 確認/削除 where allowed.
fn delegate_row(pc: &PageCtx, s: &Signed, href: &str, del: &Delegate, (manage, confirm): (bool, bool)) -> Markup {
    let du = &del.user;
    let m = &del.mandate;
    html! {
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
                                (dialog_results(pc, u, list, v, r))
                                (pager(pc, v.page, pages(r), page_href))
                            }
                        } @else {
                            p.hint { (pc.t(
                                "ユーザーIDまたはユーザー名(一部)を入力して検索してください。空欄のまま検索すると全員を表示します。",
                                "Search by user ID or part of the name; an empty search lists everyone.",
                            )) }
                        }
                        @if v.results.is_some_and(|r| !r.items.is_empty()) {
                            (mandate_fields(pc, d))
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

/// The dialog's search results: a check box per user who may become a delegate.
fn dialog_results(pc: &PageCtx, u: &User, list: &[Delegate], v: &DialogView<'_>, r: &Paged<UserRow>) -> Markup {
    let taken = |id: &str| list.iter().any(|del| del.user.user_id == id);
    html! {
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
    }
}

/// The dialog's limits of the new mandates, and the signer's PIN to confirm them at once.
fn mandate_fields(pc: &PageCtx, d: &UserDetail) -> Markup {
    html! {
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
