//! HTTP API of the users module (API.md "Directory"). Handlers authenticate, parse, call
//! [`Users`](keiyaku_users::Users) and map; every rule lives in the service.

use crate::api::auth::{BearerToken, caller};
use crate::api::enums::OneOf;
use crate::api::http::{ApiResult, Ctx, FieldErrorSchema, ProblemSchema};
use keiyaku_kernel::clock::rfc3339;
use keiyaku_kernel::context::Caller;
use keiyaku_kernel::directory::{Company, Group, NewCompany, Role, User, UserStatus};
use keiyaku_kernel::doc_type::DocType;
use keiyaku_kernel::error::ApiError;
use keiyaku_users::UsersError;
use keiyaku_users::delegates::{AddInput, Delegate, Mandate, MandateState};
use keiyaku_users::search::Query as SearchQuery;
use keiyaku_users::service::{CompanyNode, NewUserInput, Paged, Paging, UserChanges, UserDetail, UserRow};
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::{Binary, Json};
use poem_openapi::types::MaybeUndefined;
use poem_openapi::{ApiResponse, Object, OpenApi, Tags};

#[derive(Tags)]
enum Tag {
    /// Companies, groups, users, roles, seals (印影) and delegates (代行ユーザー)
    Directory,
}

pub struct UsersApi {
    pub auth: keiyaku_auth::Auth,
    pub users: keiyaku_users::Users,
}

// ---------------------------------------------------------------------------------------
// Bodies

/// A company of the tenant: the service owner or a partner (取引先).
#[derive(Object)]
#[oai(skip_serializing_if_is_none)]
struct CompanyView {
    id: String,
    name: String,
    name_kana: String,
    /// 業者コード of a partner company.
    vendor_code: Option<String>,
    /// The tenant's service owner (サービスオーナー).
    owner: bool,
    root_group_id: String,
    created_at: String,
}

impl From<&Company> for CompanyView {
    fn from(c: &Company) -> Self {
        Self {
            id: c.id.clone(),
            name: c.name.clone(),
            name_kana: c.name_kana.clone(),
            vendor_code: c.vendor_code.clone(),
            owner: c.owner,
            root_group_id: c.root_group_id.clone(),
            created_at: c.created_at.clone(),
        }
    }
}

#[derive(Object)]
#[oai(skip_serializing_if_is_none)]
struct GroupView {
    id: String,
    company_id: String,
    /// None for a company's root group.
    parent_group_id: Option<String>,
    name: String,
    created_at: String,
}

impl From<&Group> for GroupView {
    fn from(g: &Group) -> Self {
        Self {
            id: g.id.clone(),
            company_id: g.company_id.clone(),
            parent_group_id: g.parent_id.clone(),
            name: g.name.clone(),
            created_at: g.created_at.clone(),
        }
    }
}

/// A group in the tree.
#[derive(Object)]
#[oai(skip_serializing_if_is_none)]
struct GroupNodeView {
    id: String,
    name: String,
    parent_group_id: Option<String>,
    /// 0 for the company's root group.
    depth: u32,
    member_count: u64,
    /// The caller may list and create this group's users (show edit controls).
    can_manage: bool,
}

#[derive(Object)]
#[oai(skip_serializing_if_is_none)]
struct CompanyNodeView {
    company: CompanyView,
    /// The company's groups in tree order (depth first, root first).
    groups: Vec<GroupNodeView>,
}

#[derive(Object)]
#[oai(skip_serializing_if_is_none)]
struct OrgTree {
    companies: Vec<CompanyNodeView>,
}

impl From<CompanyNode> for CompanyNodeView {
    fn from(n: CompanyNode) -> Self {
        Self {
            company: CompanyView::from(&n.company),
            groups: n
                .groups
                .into_iter()
                .map(|g| GroupNodeView {
                    id: g.group.id,
                    name: g.group.name,
                    parent_group_id: g.group.parent_id,
                    depth: u32::try_from(g.depth).unwrap_or(u32::MAX),
                    member_count: g.member_count as u64,
                    can_manage: g.can_manage,
                })
                .collect(),
        }
    }
}

#[derive(Object)]
#[oai(skip_serializing_if_is_none)]
struct CreateCompanyRequest {
    #[oai(default)]
    name: String,
    #[oai(default)]
    name_kana: String,
    /// 業者コード: upper-case letters and digits, e.g. `A15336`.
    #[oai(default)]
    vendor_code: String,
}

#[derive(Object)]
#[oai(skip_serializing_if_is_none)]
struct CreatedCompany {
    company: CompanyView,
    root_group: GroupView,
}

#[derive(Object)]
#[oai(skip_serializing_if_is_none)]
struct CreateGroupRequest {
    #[oai(default)]
    company_id: String,
    /// Default: the company's root group.
    parent_group_id: Option<String>,
    #[oai(default)]
    name: String,
}

#[derive(Object)]
#[oai(skip_serializing_if_is_none)]
struct UpdateGroupRequest {
    /// New name.
    name: Option<String>,
    /// Move below this group (same company; not below itself).
    parent_group_id: Option<String>,
}

/// A user as lists show it.
#[derive(Object)]
#[oai(skip_serializing_if_is_none)]
struct UserView {
    user_id: String,
    name: String,
    email: String,
    sub_emails: Vec<String>,
    /// `person_in_charge`, `approver`, `signer`, `group_admin`, `administration`.
    roles: Vec<OneOf<Role>>,
    /// `active` or `suspended`.
    status: OneOf<UserStatus>,
    /// 役職, e.g. 代表取締役.
    title: Option<String>,
    company_id: String,
    company_name: String,
    vendor_code: Option<String>,
    group_id: String,
    group_name: String,
    created_at: String,
}

impl From<UserRow> for UserView {
    fn from(r: UserRow) -> Self {
        let u = r.user;
        Self {
            roles: u.roles.iter().map(|r| (*r).into()).collect(),
            status: u.status.into(),
            user_id: u.user_id,
            name: u.name,
            email: u.email,
            sub_emails: u.sub_emails,
            title: u.title,
            company_id: u.company_id,
            company_name: r.company_name,
            vendor_code: r.vendor_code,
            group_id: u.group_id,
            group_name: r.group_name,
            created_at: u.created_at,
        }
    }
}

fn plain_row(u: User) -> UserRow {
    UserRow { user: u, company_name: String::new(), vendor_code: None, group_name: String::new() }
}

#[derive(Object)]
#[oai(skip_serializing_if_is_none)]
struct UserPage {
    items: Vec<UserView>,
    total: u64,
    page: u32,
    per_page: u32,
}

impl From<Paged<UserRow>> for UserPage {
    fn from(p: Paged<UserRow>) -> Self {
        Self {
            items: p.items.into_iter().map(UserView::from).collect(),
            total: p.total as u64,
            page: u32::try_from(p.page).unwrap_or(u32::MAX),
            per_page: u32::try_from(p.per_page).unwrap_or(u32::MAX),
        }
    }
}

/// What the caller may do with the user (for showing edit controls).
#[derive(Object)]
#[oai(skip_serializing_if_is_none)]
struct UserPermissions {
    update: bool,
    change_roles_and_status: bool,
    reset_password: bool,
    manage_delegates: bool,
    /// The caller is this signer: they confirm mandates with their PIN.
    confirm_delegates: bool,
}

#[derive(Object)]
#[oai(skip_serializing_if_is_none)]
struct UserDetailView {
    #[oai(flatten)]
    user: UserView,
    /// The last successful login (RFC 3339).
    last_login_at: Option<String>,
    signer: bool,
    /// `GET …/users/{user_id}/seal` serves it.
    has_seal: bool,
    seal_url: Option<String>,
    delegate_count: u64,
    permissions: UserPermissions,
}

impl UserDetailView {
    fn from(d: UserDetail, tenant: &str) -> Self {
        let signer = d.row.user.has(keiyaku_kernel::directory::Role::Signer);
        let seal_url = d.has_seal.then(|| format!("/api/v1/t/{tenant}/users/{}/seal", d.row.user.user_id));
        Self {
            user: UserView::from(d.row),
            last_login_at: d.last_login_at.map(rfc3339),
            signer,
            has_seal: d.has_seal,
            seal_url,
            delegate_count: d.delegate_count as u64,
            permissions: UserPermissions {
                update: d.can_update,
                change_roles_and_status: d.can_change_access,
                reset_password: d.can_reset_password,
                manage_delegates: d.can_manage_delegates,
                confirm_delegates: d.can_confirm_delegates,
            },
        }
    }
}

#[derive(Object)]
#[oai(skip_serializing_if_is_none)]
struct CreateUserRequest {
    /// Leave out for a partner company to get the suggested `vendor code + NN`.
    user_id: Option<String>,
    #[oai(default)]
    name: String,
    #[oai(default)]
    email: String,
    #[oai(default)]
    sub_emails: Vec<String>,
    #[oai(default)]
    roles: Vec<OneOf<Role>>,
    title: Option<String>,
}

#[derive(Object)]
#[oai(skip_serializing_if_is_none)]
struct UpdateUserRequest {
    name: Option<String>,
    email: Option<String>,
    sub_emails: Option<Vec<String>>,
    roles: Option<Vec<OneOf<Role>>>,
    /// `active` or `suspended` (suspending ends the user's sessions).
    status: Option<OneOf<UserStatus>>,
    /// null clears it.
    title: MaybeUndefined<String>,
}

#[derive(Object)]
#[oai(skip_serializing_if_is_none)]
struct SuggestedUserId {
    /// None when no numbering can be continued (an owner company without numbered IDs).
    user_id: Option<String>,
}

#[derive(Object)]
#[oai(skip_serializing_if_is_none)]
struct PasswordResetDone {
    user_id: String,
    /// Where the new 「ユーザー登録通知」 went.
    sent_to: String,
}

#[derive(Object)]
#[oai(skip_serializing_if_is_none)]
struct DelegateCompany {
    id: String,
    name: String,
    vendor_code: Option<String>,
}

#[derive(Object)]
#[oai(skip_serializing_if_is_none)]
struct DelegateView {
    user_id: String,
    name: String,
    email: String,
    status: OneOf<UserStatus>,
    company: Option<DelegateCompany>,
    group_id: String,
    group_name: Option<String>,
    added_at: String,
    mandate: MandateView,
}

/// 署名操作代行の委任: limits and state.
#[derive(Object)]
#[oai(skip_serializing_if_is_none)]
struct MandateView {
    /// `M…`; empty for a delegate set before mandates had IDs.
    id: String,
    /// `pending` until the signer confirms it with their PIN, then `confirmed`.
    state: OneOf<MandateState>,
    /// Last day (Japan) the delegate may sign, `YYYY-MM-DD`.
    valid_until: Option<String>,
    /// Largest 取引金額 the delegate may sign.
    max_amount: Option<i64>,
    /// Document types the delegate may sign (empty: all).
    doc_types: Vec<OneOf<DocType>>,
    added_by: String,
    added_by_name: Option<String>,
    added_at: String,
    confirmed_at: Option<String>,
    /// SHA-256 (hex) of the confirmed statement.
    sha256: Option<String>,
    /// Serial of the certificate that signed the confirmation.
    certificate_serial: Option<String>,
}

fn mandate_view(m: &Mandate, added_by_name: Option<String>) -> MandateView {
    MandateView {
        id: m.id.clone(),
        state: m.state.into(),
        valid_until: m.limits.valid_until.map(|d| d.to_string()),
        max_amount: m.limits.max_amount,
        doc_types: m.limits.doc_types.iter().map(|d| (*d).into()).collect(),
        added_by: m.added_by.clone(),
        added_by_name,
        added_at: m.added_at.clone(),
        confirmed_at: m.confirmed_at.clone(),
        sha256: m.sha256.clone(),
        certificate_serial: m.cert_serial.clone(),
    }
}

/// A mandate with what the signer signed: `statement` (the canonical JSON) and
/// `confirmation` (detached CMS SignedData over its UTF-8 bytes, base64 of DER), verifiable
/// with the signer's certificate (`openssl cms -verify -binary -content statement.json`).
#[derive(Object)]
#[oai(skip_serializing_if_is_none, rename = "MandateDocument")]
struct MandateDocument {
    signer_id: String,
    delegate_id: String,
    mandate: MandateView,
    statement: Option<String>,
    confirmation: Option<String>,
}

impl From<Delegate> for DelegateView {
    fn from(d: Delegate) -> Self {
        Self {
            mandate: mandate_view(&d.mandate, d.added_by_name.clone()),
            status: d.user.status.into(),
            user_id: d.user.user_id,
            name: d.user.name,
            email: d.user.email,
            company: d.company.map(|c| DelegateCompany { id: c.id, name: c.name, vendor_code: c.vendor_code }),
            group_id: d.user.group_id,
            group_name: d.group_name,
            added_at: d.added_at,
        }
    }
}

#[derive(Object)]
#[oai(skip_serializing_if_is_none)]
struct DelegateList {
    items: Vec<DelegateView>,
    total: u64,
}

fn mandate_document(signer_id: String, delegate_id: String, m: &Mandate, by: Option<String>) -> MandateDocument {
    MandateDocument {
        signer_id,
        delegate_id,
        mandate: mandate_view(m, by),
        statement: m.statement.clone(),
        confirmation: m.confirmation.clone(),
    }
}

fn delegate_list(list: Vec<Delegate>) -> DelegateList {
    DelegateList { total: list.len() as u64, items: list.into_iter().map(DelegateView::from).collect() }
}

#[derive(Object)]
#[oai(skip_serializing_if_is_none)]
struct AddDelegatesRequest {
    /// User IDs to add (at most 50 per request).
    #[oai(default)]
    user_ids: Vec<String>,
    /// Last day the delegates may sign, `YYYY-MM-DD`.
    valid_until: Option<String>,
    /// Largest 取引金額 they may sign.
    max_amount: Option<i64>,
    /// Document types they may sign (empty: all).
    #[oai(default)]
    doc_types: Vec<OneOf<DocType>>,
    /// The signer's certificate PIN: the signer adding their own delegates confirms the
    /// mandates at once; without it (and for anyone else) they are `pending`.
    pin: Option<String>,
}

#[derive(Object)]
#[oai(skip_serializing_if_is_none)]
struct ConfirmDelegateRequest {
    /// The signer's 12-digit certificate PIN.
    #[oai(default)]
    pin: String,
}

// ---------------------------------------------------------------------------------------
// Responses

#[derive(ApiResponse)]
enum CompanyCreated {
    /// The partner company and its root group (本社).
    #[oai(status = 201)]
    Created(Json<CreatedCompany>),
}

#[derive(ApiResponse)]
enum GroupCreated {
    #[oai(status = 201)]
    Created(Json<GroupView>),
}

#[derive(ApiResponse)]
enum UserCreated {
    /// The user exists; 「ユーザー登録通知」 with the initial password is in the outbox.
    #[oai(status = 201)]
    Created(Json<UserView>),
}

#[derive(ApiResponse)]
enum NoContent {
    #[oai(status = 204)]
    Done,
}

#[derive(ApiResponse)]
enum SealImage {
    /// The stored seal; identical bytes on every call.
    #[oai(status = 200, content_type = "image/svg+xml")]
    Svg(Binary<Vec<u8>>, #[oai(header = "Cache-Control")] String),
}

#[derive(ApiResponse)]
enum SealFixed {
    /// Seals are fixed (seed §3.3): nothing replaces or deletes them.
    #[oai(status = 405, content_type = "application/problem+json")]
    NotAllowed(Json<ProblemSchema>, #[oai(header = "Allow")] String),
}

fn seal_fixed(ctx: &Ctx) -> SealFixed {
    let p = UsersError::SealFixed.problem(ctx.lang);
    SealFixed::NotAllowed(
        Json(ProblemSchema {
            type_: p.type_,
            title: p.title,
            status: p.status,
            detail: p.detail,
            code: p.code.into(),
            errors: (!p.errors.is_empty()).then(|| {
                p.errors
                    .into_iter()
                    .map(|e| FieldErrorSchema { field: e.field, code: e.code.into(), message: e.message })
                    .collect()
            }),
            retry_after: p.retry_after,
        }),
        "GET".into(),
    )
}

impl UsersApi {
    async fn caller(&self, ctx: &Ctx, tenant: &str, token: &BearerToken) -> ApiResult<Caller> {
        caller(&self.auth, ctx, tenant, token).await
    }
}

#[OpenApi]
impl UsersApi {
    /// The companies and group trees the caller may see (tenant administrators: all; group
    /// administrators: the own company), with member counts.
    #[oai(path = "/api/v1/t/:tenant/org", method = "get", operation_id = "getOrgTree", tag = "Tag::Directory")]
    async fn get_org_tree(&self, ctx: Ctx, tenant: Path<String>, token: BearerToken) -> ApiResult<Json<OrgTree>> {
        let c = self.caller(&ctx, &tenant.0, &token).await?;
        let tree = self.users.org_tree(&c).await.map_err(|e| ctx.fail(&e))?;
        Ok(Json(OrgTree { companies: tree.into_iter().map(CompanyNodeView::from).collect() }))
    }

    /// Registers a partner company (取引先) with its vendor code and root group (本社).
    /// Tenant administrators (owner side, group_admin + administration) only.
    #[oai(
        path = "/api/v1/t/:tenant/companies",
        method = "post",
        operation_id = "createCompany",
        tag = "Tag::Directory"
    )]
    async fn create_company(
        &self,
        ctx: Ctx,
        tenant: Path<String>,
        token: BearerToken,
        body: Json<CreateCompanyRequest>,
    ) -> ApiResult<CompanyCreated> {
        let c = self.caller(&ctx, &tenant.0, &token).await?;
        let b = body.0;
        let (company, root) = self
            .users
            .create_company(&c, NewCompany { name: b.name, name_kana: b.name_kana, vendor_code: b.vendor_code })
            .await
            .map_err(|e| ctx.fail(&e))?;
        Ok(CompanyCreated::Created(Json(CreatedCompany {
            company: CompanyView::from(&company),
            root_group: GroupView::from(&root),
        })))
    }

    /// Registers a group (office, branch) below another group of the company (default: its
    /// root group). Tenant administrators only; sibling names are unique.
    #[oai(path = "/api/v1/t/:tenant/groups", method = "post", operation_id = "createGroup", tag = "Tag::Directory")]
    async fn create_group(
        &self,
        ctx: Ctx,
        tenant: Path<String>,
        token: BearerToken,
        body: Json<CreateGroupRequest>,
    ) -> ApiResult<GroupCreated> {
        let c = self.caller(&ctx, &tenant.0, &token).await?;
        let b = body.0;
        let g = self.users.create_group(&c, b.company_id, b.parent_group_id, b.name).await.map_err(|e| ctx.fail(&e))?;
        Ok(GroupCreated::Created(Json(GroupView::from(&g))))
    }

    /// Renames and/or moves a group within its company (no cycles; the root stays).
    #[oai(
        path = "/api/v1/t/:tenant/groups/:group_id",
        method = "patch",
        operation_id = "updateGroup",
        tag = "Tag::Directory"
    )]
    async fn update_group(
        &self,
        ctx: Ctx,
        tenant: Path<String>,
        group_id: Path<String>,
        token: BearerToken,
        body: Json<UpdateGroupRequest>,
    ) -> ApiResult<Json<GroupView>> {
        let c = self.caller(&ctx, &tenant.0, &token).await?;
        let g = self
            .users
            .update_group(&c, group_id.0, body.0.name, body.0.parent_group_id)
            .await
            .map_err(|e| ctx.fail(&e))?;
        Ok(Json(GroupView::from(&g)))
    }

    /// The members of a group, in user-ID order, paged (`per_page` ≤ 200).
    #[oai(
        path = "/api/v1/t/:tenant/groups/:group_id/users",
        method = "get",
        operation_id = "listGroupUsers",
        tag = "Tag::Directory"
    )]
    async fn list_group_users(
        &self,
        ctx: Ctx,
        tenant: Path<String>,
        group_id: Path<String>,
        token: BearerToken,
        page: Query<Option<i64>>,
        per_page: Query<Option<i64>>,
    ) -> ApiResult<Json<UserPage>> {
        let c = self.caller(&ctx, &tenant.0, &token).await?;
        let paging = Paging::new(page.0, per_page.0).map_err(|e| ctx.fail(&UsersError::Invalid(e)))?;
        let p = self.users.list_group_users(&c, group_id.0, paging).await.map_err(|e| ctx.fail(&e))?;
        Ok(Json(UserPage::from(p)))
    }

    /// Registers a user in the group (group administrators: their own group only). The user
    /// gets 「ユーザー登録通知」 with an initial password to change at the first login; a signer
    /// gets the seal. User ID and e-mail are unique in the tenant (409 `conflict`).
    #[oai(
        path = "/api/v1/t/:tenant/groups/:group_id/users",
        method = "post",
        operation_id = "createUser",
        tag = "Tag::Directory"
    )]
    async fn create_user(
        &self,
        ctx: Ctx,
        tenant: Path<String>,
        group_id: Path<String>,
        token: BearerToken,
        body: Json<CreateUserRequest>,
    ) -> ApiResult<UserCreated> {
        let c = self.caller(&ctx, &tenant.0, &token).await?;
        let b = body.0;
        let input = NewUserInput {
            user_id: b.user_id,
            name: b.name,
            email: b.email,
            sub_emails: b.sub_emails,
            roles: b.roles.into_iter().map(OneOf::into_string).collect(),
            title: b.title,
        };
        let user = self.users.create_user(&c, group_id.0, input).await.map_err(|e| ctx.fail(&e))?;
        let row =
            self.users.get_user(&c, user.user_id.clone()).await.map(|d| d.row).unwrap_or_else(|_| plain_row(user));
        Ok(UserCreated::Created(Json(UserView::from(row))))
    }

    /// The user ID to offer for a new user of the group: a partner's vendor code + 2-digit
    /// sequence (`A1533601`, `A1533602` …, lowest free), or the owner's numbering continued.
    #[oai(
        path = "/api/v1/t/:tenant/groups/:group_id/users/next-id",
        method = "get",
        operation_id = "suggestUserId",
        tag = "Tag::Directory"
    )]
    async fn suggest_user_id(
        &self,
        ctx: Ctx,
        tenant: Path<String>,
        group_id: Path<String>,
        token: BearerToken,
    ) -> ApiResult<Json<SuggestedUserId>> {
        let c = self.caller(&ctx, &tenant.0, &token).await?;
        let user_id = self.users.suggest_user_id(&c, group_id.0).await.map_err(|e| ctx.fail(&e))?;
        Ok(Json(SuggestedUserId { user_id }))
    }

    /// Searches the users the caller may see (tenant administrators: the tenant; group
    /// administrators and signers: the own group) by user-ID prefix or a part of the name
    /// (`q`), or by `user_id` prefix and `name` part separately; `status` filters. Paged.
    #[oai(path = "/api/v1/t/:tenant/users", method = "get", operation_id = "searchUsers", tag = "Tag::Directory")]
    #[allow(clippy::too_many_arguments)]
    async fn search_users(
        &self,
        ctx: Ctx,
        tenant: Path<String>,
        token: BearerToken,
        q: Query<Option<String>>,
        user_id: Query<Option<String>>,
        name: Query<Option<String>>,
        status: Query<Option<OneOf<UserStatus>>>,
        page: Query<Option<i64>>,
        per_page: Query<Option<i64>>,
    ) -> ApiResult<Json<UserPage>> {
        let c = self.caller(&ctx, &tenant.0, &token).await?;
        let paging = Paging::new(page.0, per_page.0).map_err(|e| ctx.fail(&UsersError::Invalid(e)))?;
        let status = match status.0.as_ref().map(|s| s.as_str().trim()).filter(|s| !s.is_empty()) {
            None => None,
            Some(name) => Some(UserStatus::parse(name).ok_or_else(|| {
                let e = UsersError::invalid(
                    "status",
                    keiyaku_kernel::validate::Rule::Unknown { value: name.chars().take(40).collect() },
                );
                ctx.fail(&e)
            })?),
        };
        let query = SearchQuery { q: q.0, user_id: user_id.0, name: name.0, status };
        let p = self.users.search_users(&c, query, paging).await.map_err(|e| ctx.fail(&e))?;
        Ok(Json(UserPage::from(p)))
    }

    /// A user: attributes, company and group, last login, seal and delegates summary, and
    /// what the caller may do with them. Users read themselves; administrators their scope.
    #[oai(path = "/api/v1/t/:tenant/users/:user_id", method = "get", operation_id = "getUser", tag = "Tag::Directory")]
    async fn get_user(
        &self,
        ctx: Ctx,
        tenant: Path<String>,
        user_id: Path<String>,
        token: BearerToken,
    ) -> ApiResult<Json<UserDetailView>> {
        let c = self.caller(&ctx, &tenant.0, &token).await?;
        let d = self.users.get_user(&c, user_id.0).await.map_err(|e| ctx.fail(&e))?;
        Ok(Json(UserDetailView::from(d, &c.tenant)))
    }

    /// Changes name, e-mail, sub e-mails, title, roles or status (`active`/`suspended`).
    /// Nobody changes their own roles or status; only tenant administrators grant
    /// `administration`. Becoming a signer creates the seal.
    #[oai(
        path = "/api/v1/t/:tenant/users/:user_id",
        method = "patch",
        operation_id = "updateUser",
        tag = "Tag::Directory"
    )]
    async fn update_user(
        &self,
        ctx: Ctx,
        tenant: Path<String>,
        user_id: Path<String>,
        token: BearerToken,
        body: Json<UpdateUserRequest>,
    ) -> ApiResult<Json<UserDetailView>> {
        let c = self.caller(&ctx, &tenant.0, &token).await?;
        let b = body.0;
        let title = match b.title {
            MaybeUndefined::Undefined => None,
            MaybeUndefined::Null => Some(None),
            MaybeUndefined::Value(t) => Some(Some(t)),
        };
        let changes = UserChanges {
            name: b.name,
            email: b.email,
            sub_emails: b.sub_emails,
            roles: b.roles.map(|r| r.into_iter().map(OneOf::into_string).collect()),
            status: b.status.map(OneOf::into_string),
            title,
        };
        let user = self.users.update_user(&c, user_id.0, changes).await.map_err(|e| ctx.fail(&e))?;
        let d = self.users.get_user(&c, user.user_id).await.map_err(|e| ctx.fail(&e))?;
        Ok(Json(UserDetailView::from(d, &c.tenant)))
    }

    /// Administrator password reset: a new initial password in a new 「ユーザー登録通知」, a
    /// forced change at the next login, and the user's sessions ended.
    #[oai(
        path = "/api/v1/t/:tenant/users/:user_id/password-reset",
        method = "post",
        operation_id = "resetPassword",
        tag = "Tag::Directory"
    )]
    async fn reset_password(
        &self,
        ctx: Ctx,
        tenant: Path<String>,
        user_id: Path<String>,
        token: BearerToken,
    ) -> ApiResult<Json<PasswordResetDone>> {
        let c = self.caller(&ctx, &tenant.0, &token).await?;
        let user = self.users.reset_password(&c, user_id.0).await.map_err(|e| ctx.fail(&e))?;
        Ok(Json(PasswordResetDone { user_id: user.user_id, sent_to: user.email }))
    }

    /// The signer's seal (印影) as SVG, generated when the user became a signer and fixed
    /// since: the same bytes on every call.
    #[oai(
        path = "/api/v1/t/:tenant/users/:user_id/seal",
        method = "get",
        operation_id = "getSeal",
        tag = "Tag::Directory"
    )]
    async fn get_seal(
        &self,
        ctx: Ctx,
        tenant: Path<String>,
        user_id: Path<String>,
        token: BearerToken,
    ) -> ApiResult<SealImage> {
        let c = self.caller(&ctx, &tenant.0, &token).await?;
        let seal = self.users.seal(&c, user_id.0).await.map_err(|e| ctx.fail(&e))?;
        Ok(SealImage::Svg(Binary(seal.svg.into_bytes()), "private, max-age=300".into()))
    }

    /// Always 405: seals cannot be replaced.
    #[oai(
        path = "/api/v1/t/:tenant/users/:user_id/seal",
        method = "put",
        operation_id = "replaceSeal",
        tag = "Tag::Directory"
    )]
    async fn replace_seal(&self, ctx: Ctx, tenant: Path<String>, user_id: Path<String>) -> SealFixed {
        let _ = (tenant, user_id);
        seal_fixed(&ctx)
    }

    /// Always 405: seals are generated with the signer, never uploaded.
    #[oai(
        path = "/api/v1/t/:tenant/users/:user_id/seal",
        method = "post",
        operation_id = "createSeal",
        tag = "Tag::Directory"
    )]
    async fn create_seal(&self, ctx: Ctx, tenant: Path<String>, user_id: Path<String>) -> SealFixed {
        let _ = (tenant, user_id);
        seal_fixed(&ctx)
    }

    /// Always 405: seals cannot be deleted.
    #[oai(
        path = "/api/v1/t/:tenant/users/:user_id/seal",
        method = "delete",
        operation_id = "deleteSeal",
        tag = "Tag::Directory"
    )]
    async fn delete_seal(&self, ctx: Ctx, tenant: Path<String>, user_id: Path<String>) -> SealFixed {
        let _ = (tenant, user_id);
        seal_fixed(&ctx)
    }

    /// A signer's delegates (署名/電子捺印操作代行ユーザー).
    #[oai(
        path = "/api/v1/t/:tenant/users/:user_id/delegates",
        method = "get",
        operation_id = "listDelegates",
        tag = "Tag::Directory"
    )]
    async fn list_delegates(
        &self,
        ctx: Ctx,
        tenant: Path<String>,
        user_id: Path<String>,
        token: BearerToken,
    ) -> ApiResult<Json<DelegateList>> {
        let c = self.caller(&ctx, &tenant.0, &token).await?;
        let list = self.users.list_delegates(&c, user_id.0).await.map_err(|e| ctx.fail(&e))?;
        Ok(Json(delegate_list(list)))
    }

    /// Adds delegates to a signer, several at once, all or nothing: active users the caller
    /// may pick, not the signer; unknown ones are 422 (`errors[]` names each `user_ids[i]`),
    /// existing delegates 409 `conflict`. Returns the new list.
    #[oai(
        path = "/api/v1/t/:tenant/users/:user_id/delegates",
        method = "post",
        operation_id = "addDelegates",
        tag = "Tag::Directory"
    )]
    async fn add_delegates(
        &self,
        ctx: Ctx,
        tenant: Path<String>,
        user_id: Path<String>,
        token: BearerToken,
        body: Json<AddDelegatesRequest>,
    ) -> ApiResult<Json<DelegateList>> {
        let c = self.caller(&ctx, &tenant.0, &token).await?;
        let b = body.0;
        let input = AddInput {
            user_ids: b.user_ids,
            valid_until: b.valid_until,
            max_amount: b.max_amount,
            doc_types: b.doc_types.into_iter().map(OneOf::into_string).collect(),
        };
        let list = self.users.add_delegates(&c, user_id.0, input, b.pin).await.map_err(|e| ctx.fail(&e))?;
        Ok(Json(delegate_list(list)))
    }

    /// The signer confirms a pending mandate with their certificate PIN: the mandate's
    /// canonical JSON is signed with the signer's own key (five wrong PINs lock signing).
    #[oai(
        path = "/api/v1/t/:tenant/users/:user_id/delegates/:delegate_id/confirm",
        method = "post",
        operation_id = "confirmDelegate",
        tag = "Tag::Directory"
    )]
    async fn confirm_delegate(
        &self,
        ctx: Ctx,
        tenant: Path<String>,
        user_id: Path<String>,
        delegate_id: Path<String>,
        token: BearerToken,
        body: Json<ConfirmDelegateRequest>,
    ) -> ApiResult<Json<MandateDocument>> {
        let c = self.caller(&ctx, &tenant.0, &token).await?;
        let (signer, delegate) = (user_id.0, delegate_id.0);
        let m = self
            .users
            .confirm_delegate(&c, signer.clone(), delegate.clone(), body.0.pin)
            .await
            .map_err(|e| ctx.fail(&e))?;
        Ok(Json(mandate_document(signer, delegate, &m, None)))
    }

    /// A mandate: its limits and state, the canonical JSON the signer signed and the
    /// signer's CMS confirmation (base64), for the signer, their administrators and the
    /// delegate.
    #[oai(
        path = "/api/v1/t/:tenant/users/:user_id/delegates/:delegate_id/mandate",
        method = "get",
        operation_id = "getMandate",
        tag = "Tag::Directory"
    )]
    async fn get_mandate(
        &self,
        ctx: Ctx,
        tenant: Path<String>,
        user_id: Path<String>,
        delegate_id: Path<String>,
        token: BearerToken,
    ) -> ApiResult<Json<MandateDocument>> {
        let c = self.caller(&ctx, &tenant.0, &token).await?;
        let (signer, delegate, m) = self.users.mandate(&c, user_id.0, delegate_id.0).await.map_err(|e| ctx.fail(&e))?;
        Ok(Json(mandate_document(signer.user_id, delegate.user_id, &m, None)))
    }

    /// Removes one delegate of a signer.
    #[oai(
        path = "/api/v1/t/:tenant/users/:user_id/delegates/:delegate_id",
        method = "delete",
        operation_id = "removeDelegate",
        tag = "Tag::Directory"
    )]
    async fn remove_delegate(
        &self,
        ctx: Ctx,
        tenant: Path<String>,
        user_id: Path<String>,
        delegate_id: Path<String>,
        token: BearerToken,
    ) -> ApiResult<NoContent> {
        let c = self.caller(&ctx, &tenant.0, &token).await?;
        self.users.remove_delegate(&c, user_id.0, delegate_id.0).await.map_err(|e| ctx.fail(&e))?;
        Ok(NoContent::Done)
    }
}
