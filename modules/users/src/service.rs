//! The business rules of the directory operations, as plain functions over a transaction.
//! Each one loads its target from the store, asks [`crate::scope`] whether the caller may act
//! on it, validates, and writes (with the audit record) in the caller's transaction; any
//! error aborts the transaction, so a refused request changes nothing.

use crate::error::UsersError;
use crate::scope::{self, Op, Target, require};
use crate::search::{self, TenantIndex};
use crate::{delegates, ids, seal};
use jiff::Timestamp;
use keiyaku_kernel::FieldCode;
use keiyaku_kernel::Kernel;
use keiyaku_kernel::context::Caller;
use keiyaku_kernel::directory::{
    self, Company, Group, NAME_MAX, NewCompany, NewUser, Role, Tenant, User, UserPatch, UserStatus,
};
use keiyaku_kernel::store::{Read, Tx};
use keiyaku_kernel::validate::{Invalid, Rule, Validator};
use std::collections::{HashMap, HashSet};

pub use keiyaku_kernel::paging::{PER_PAGE_DEFAULT, PER_PAGE_MAX, Paging};
pub const MAX_SUB_EMAILS: usize = 5;
/// Longest search text accepted.
pub const QUERY_MAX: usize = 100;

/// One page of a list.
#[derive(Debug, Clone)]
pub struct Paged<T> {
    pub items: Vec<T>,
    pub total: usize,
    pub page: usize,
    pub per_page: usize,
}

/// A user with the names of the company and group, as lists show them.
#[derive(Debug, Clone)]
pub struct UserRow {
    pub user: User,
    pub company_name: String,
    pub vendor_code: Option<String>,
    pub group_name: String,
}

/// Resolves company and group names for a list of users (each looked up once).
pub fn rows(tx: &impl Read, tenant: &str, users: Vec<User>) -> Result<Vec<UserRow>, UsersError> {
    let mut companies: HashMap<String, Option<Company>> = HashMap::new();
    let mut groups: HashMap<String, Option<Group>> = HashMap::new();
    let mut out = Vec::with_capacity(users.len());
    for user in users {
        if !companies.contains_key(&user.company_id) {
            companies.insert(user.company_id.clone(), directory::get_company(tx, tenant, &user.company_id)?);
        }
        if !groups.contains_key(&user.group_id) {
            groups.insert(user.group_id.clone(), directory::get_group(tx, tenant, &user.group_id)?);
        }
        let company = companies.get(&user.company_id).and_then(Option::as_ref);
        let group = groups.get(&user.group_id).and_then(Option::as_ref);
        out.push(UserRow {
            company_name: company.map(|c| c.name.clone()).unwrap_or_default(),
            vendor_code: company.and_then(|c| c.vendor_code.clone()),
            group_name: group.map(|g| g.name.clone()).unwrap_or_default(),
            user,
        });
    }
    Ok(out)
}

fn tenant_of(tx: &impl Read, caller: &Caller) -> Result<Tenant, UsersError> {
    directory::get_tenant(tx, &caller.tenant)?.ok_or(UsersError::NotFound("tenant"))
}

fn load_group(tx: &impl Read, caller: &Caller, group_id: &str) -> Result<Group, UsersError> {
    directory::get_group(tx, &caller.tenant, group_id)?.ok_or(UsersError::NotFound("group"))
}

fn load_user(tx: &impl Read, caller: &Caller, user_id: &str) -> Result<User, UsersError> {
    directory::get_user(tx, &caller.tenant, user_id)?.ok_or(UsersError::NotFound("user"))
}

// ---------------------------------------------------------------------------------------
// Companies and groups

#[derive(Debug, Clone)]
pub struct GroupNode {
    pub group: Group,
    /// 0 for the company's root group.
    pub depth: usize,
    pub member_count: usize,
    /// The caller may list and create this group's users.
    pub can_manage: bool,
}

#[derive(Debug, Clone)]
pub struct CompanyNode {
    pub company: Company,
    /// The company's groups in tree order (depth first, root first).
    pub groups: Vec<GroupNode>,
}

/// `getOrgTree`: every company and group the caller may see, with member counts.
pub fn org_tree(tx: &impl Read, caller: &Caller) -> Result<Vec<CompanyNode>, UsersError> {
    require(caller, Op::ViewTree, &Target::Tenant, "tenant")?;
    let tenant = &caller.tenant;
    let companies: Vec<Company> = directory::list_companies(tx, tenant)?
        .into_iter()
        .filter(|c| {
            scope::decide(caller, Op::ViewTree, &Target::Company { company_id: &c.id }) == scope::Decision::Allow
        })
        .collect();
    let mut children: HashMap<String, Vec<Group>> = HashMap::new();
    let mut by_id: HashMap<String, Group> = HashMap::new();
    for g in directory::list_groups(tx, tenant)? {
        if let Some(p) = &g.parent_id {
            children.entry(p.clone()).or_default().push(g.clone());
        }
        by_id.insert(g.id.clone(), g);
    }
    let mut out = Vec::new();
    for company in companies {
        let mut nodes = Vec::new();
        let mut seen = HashSet::new();
        let mut stack: Vec<(Group, usize)> =
            by_id.get(&company.root_group_id).cloned().map(|g| (g, 0)).into_iter().collect();
        while let Some((g, depth)) = stack.pop() {
            if !seen.insert(g.id.clone()) || g.company_id != company.id {
                continue;
            }
            if let Some(kids) = children.get(&g.id) {
                // Reversed so that the oldest child is visited first.
                stack.extend(kids.iter().rev().map(|k| (k.clone(), depth + 1)));
            }
            let member_count = tx.count(&directory::GROUP_MEMBERS, &format!("{tenant}/{}/", g.id))?;
            let can_manage = scope::can(caller, Op::ListMembers, &Target::group(&g));
            nodes.push(GroupNode { group: g, depth, member_count, can_manage });
        }
        out.push(CompanyNode { company, groups: nodes });
    }
    Ok(out)
}

/// `createCompany`: a partner company (取引先) with its root group.
pub fn create_company(tx: &mut Tx, caller: &Caller, new: NewCompany) -> Result<(Company, Group), UsersError> {
    require(caller, Op::CreateCompany, &Target::Tenant, "tenant")?;
    let new = NewCompany { name: new.name, name_kana: new.name_kana, vendor_code: new.vendor_code.trim().to_string() };
    Ok(directory::create_partner_company(tx, &caller.actor(), &caller.tenant, new)?)
}

fn unknown(field: &str, value: &str) -> Invalid {
    Invalid::new(field, Rule::Unknown { value: value.chars().take(40).collect() })
}

/// 409 when a sibling below `parent` (other than `except`) already has `name`.
fn check_sibling_name(
    tx: &impl Read,
    tenant: &str,
    parent: &str,
    name: &str,
    except: Option<&str>,
) -> Result<(), UsersError> {
    let name = name.trim();
    let clash = directory::list_groups(tx, tenant)?
        .iter()
        .any(|g| g.parent_id.as_deref() == Some(parent) && g.name == name && Some(g.id.as_str()) != except);
    if clash {
        return Err(UsersError::Conflict(vec![Invalid::new("name", Rule::Duplicate)]));
    }
    Ok(())
}

/// `createGroup`: a group below `parent_group_id` (default: the company's root group).
pub fn create_group(
    tx: &mut Tx,
    caller: &Caller,
    company_id: &str,
    parent_group_id: Option<&str>,
    name: &str,
) -> Result<Group, UsersError> {
    let mut v = Validator::new();
    v.text("name", name, NAME_MAX);
    let company = directory::get_company(tx, &caller.tenant, company_id)?;
    let Some(company) = company else {
        // An unknown company is invalid input for whoever may create groups at all, and
        // invisible (404) to everyone else.
        if !scope::can(caller, Op::CreateGroup, &Target::Tenant) {
            return Err(UsersError::NotFound("company"));
        }
        let mut list = v.finish().err().unwrap_or_default();
        list.insert(0, unknown("company_id", company_id));
        return Err(UsersError::Invalid(list));
    };
    require(caller, Op::CreateGroup, &Target::Company { company_id: &company.id }, "company")?;
    let parent_id = parent_group_id.map(str::trim).filter(|p| !p.is_empty()).unwrap_or(&company.root_group_id);
    let parent = directory::get_group(tx, &caller.tenant, parent_id)?.filter(|p| p.company_id == company.id);
    if parent.is_none() {
        v.fail("parent_group_id", Rule::Unknown { value: parent_id.chars().take(40).collect() });
    }
    v.finish()?;
    let Some(parent) = parent else {
        return Err(UsersError::NotFound("group"));
    };
    check_sibling_name(tx, &caller.tenant, &parent.id, name, None)?;
    Ok(directory::create_group(tx, &caller.actor(), &caller.tenant, &company.id, Some(&parent.id), name)?)
}

/// `updateGroup`: renames and/or moves a group (same company, no cycles, not the root).
pub fn update_group(
    tx: &mut Tx,
    caller: &Caller,
    group_id: &str,
    name: Option<&str>,
    parent_group_id: Option<&str>,
) -> Result<Group, UsersError> {
    let group = load_group(tx, caller, group_id)?;
    require(caller, Op::ChangeGroup, &Target::group(&group), "group")?;
    let mut v = Validator::new();
    if let Some(n) = name {
        v.text("name", n, NAME_MAX);
    }
    let mut new_parent = None;
    if let Some(p) = parent_group_id.map(str::trim) {
        match directory::get_group(tx, &caller.tenant, p)? {
            None => {
                v.fail("parent_group_id", Rule::Unknown { value: p.chars().take(40).collect() });
            }
            Some(_) if group.parent_id.is_none() => {
                v.fail(
                    "parent_group_id",
                    Rule::Custom {
                        code: FieldCode::RootGroup,
                        ja: "会社のルートグループは移動できません。".into(),
                        en: "A company's root group cannot be moved.".into(),
                    },
                );
            }
            Some(pg) if pg.company_id != group.company_id => {
                v.fail(
                    "parent_group_id",
                    Rule::Custom {
                        code: FieldCode::OtherCompany,
                        ja: "他の会社のグループの下には移動できません。".into(),
                        en: "A group cannot be moved into another company.".into(),
                    },
                );
            }
            Some(pg) if directory::is_within(tx, &caller.tenant, &pg.id, &group.id)? => {
                v.fail("parent_group_id", crate::error::cycle_rule());
            }
            Some(pg) => new_parent = Some(pg),
        }
    }
    v.finish()?;
    let final_name = name.map(str::trim).unwrap_or(&group.name).to_string();
    let final_parent = new_parent.as_ref().map(|p| p.id.clone()).or_else(|| group.parent_id.clone());
    if let Some(parent) = &final_parent {
        check_sibling_name(tx, &caller.tenant, parent, &final_name, Some(&group.id))?;
    }
    let actor = caller.actor();
    let mut out = group.clone();
    if let Some(p) = new_parent
        && Some(&p.id) != group.parent_id.as_ref()
    {
        out = directory::move_group(tx, &actor, &caller.tenant, &group.id, &p.id)?;
    }
    if final_name != group.name {
        out = directory::rename_group(tx, &actor, &caller.tenant, &group.id, &final_name)?;
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------
// Users

/// `listGroupUsers`: one page of a group's members and their count.
pub fn list_group_users(
    tx: &impl Read,
    caller: &Caller,
    group_id: &str,
    paging: Paging,
) -> Result<Paged<UserRow>, UsersError> {
    let group = load_group(tx, caller, group_id)?;
    require(caller, Op::ListMembers, &Target::group(&group), "group")?;
    let (users, total) = directory::group_members(tx, &caller.tenant, &group.id, paging.skip(), paging.per_page)?;
    Ok(Paged { items: rows(tx, &caller.tenant, users)?, total, page: paging.page, per_page: paging.per_page })
}

/// The lowest free `vendor code + NN` in the tenant.
fn partner_suggestion(tx: &impl Read, tenant: &str, vendor_code: &str) -> Result<Option<String>, UsersError> {
    let taken: HashSet<String> = directory::user_ids_starting(tx, tenant, vendor_code)?.into_iter().collect();
    Ok(ids::next_partner_id(vendor_code, |id| taken.contains(id)))
}

/// `suggestUserId`: the next free user ID for a new user of the group — the partner's vendor
/// code + 2-digit sequence, or the owner's numbering continued. `index` is the tenant's search
/// index (for the owner's existing IDs).
pub fn suggest_user_id(
    tx: &impl Read,
    index: &TenantIndex,
    caller: &Caller,
    group_id: &str,
) -> Result<Option<String>, UsersError> {
    let group = load_group(tx, caller, group_id)?;
    require(caller, Op::CreateUser, &Target::group(&group), "group")?;
    let company =
        directory::get_company(tx, &caller.tenant, &group.company_id)?.ok_or(UsersError::NotFound("group"))?;
    if let Some(code) = &company.vendor_code {
        return partner_suggestion(tx, &caller.tenant, code);
    }
    let taken: HashSet<&str> = index.entries.iter().map(|e| e.user_id.as_str()).collect();
    let own = index.entries.iter().filter(|e| e.company_id == company.id).map(|e| e.user_id.as_str());
    Ok(ids::next_in_sequence(own, |id| taken.contains(id)))
}

/// What `createUser` receives.
#[derive(Debug, Clone, Default)]
pub struct NewUserInput {
    /// Empty or absent: the suggested ID (partner companies only).
    pub user_id: Option<String>,
    pub name: String,
    pub email: String,
    pub sub_emails: Vec<String>,
    pub roles: Vec<String>,
    pub title: Option<String>,
}

/// A generated initial password and its hash (computed outside any transaction).
#[derive(Clone)]
pub struct InitialSecret {
    pub password: String,
    pub hash: String,
}

impl std::fmt::Debug for InitialSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("InitialSecret(..)")
    }
}

impl InitialSecret {
    /// Generates and hashes a password (argon2id: blocking, tens of milliseconds). Servers
    /// call it through `keiyaku_auth::password::run_bounded`, which bounds the argon2 runs.
    pub fn generate() -> Result<Self, UsersError> {
        let password = keiyaku_auth::password::generate();
        let hash = keiyaku_auth::password::hash(&password).map_err(UsersError::Hash)?;
        Ok(Self { password, hash })
    }
}

/// Field checks shared by create and update.
fn check_fields(v: &mut Validator, name: &str, email: &str, sub_emails: &[String], title: Option<&str>) {
    v.text("name", name, NAME_MAX);
    v.email("email", email);
    if sub_emails.len() > MAX_SUB_EMAILS {
        v.fail(
            "sub_emails",
            Rule::Custom {
                code: FieldCode::TooMany,
                ja: format!("サブメールアドレスは{MAX_SUB_EMAILS}件までです。"),
                en: format!("At most {MAX_SUB_EMAILS} sub e-mail addresses."),
            },
        );
    } else {
        for (i, s) in sub_emails.iter().enumerate() {
            v.email(&format!("sub_emails[{i}]"), s);
        }
    }
    if let Some(t) = title {
        v.optional_text("title", t, NAME_MAX);
    }
}

/// Parses role names (sorted, without repeats); unknown ones fail `roles`.
fn parse_role_names(v: &mut Validator, names: &[String]) -> Vec<Role> {
    if names.len() > 2 * Role::ALL.len() {
        v.fail(
            "roles",
            Rule::Custom {
                code: FieldCode::TooMany,
                ja: "権限の指定が多すぎます。".into(),
                en: "Too many roles.".into(),
            },
        );
        return Vec::new();
    }
    match directory::parse_roles("roles", names) {
        Ok(r) => r,
        Err(invalid) => {
            v.fail(&invalid.field, invalid.rule);
            Vec::new()
        }
    }
}

/// `administration` (管理部) exists on the owner side only.
fn check_owner_only(v: &mut Validator, company: &Company, roles: &[Role]) {
    if roles.contains(&Role::Administration) && !company.owner {
        v.fail(
            "roles",
            Rule::Custom {
                code: FieldCode::OwnerOnly,
                ja: "管理部はサービスオーナーのユーザーにのみ設定できます。".into(),
                en: "Administration is for users of the service owner only.".into(),
            },
        );
    }
}

fn sorted_roles(roles: &[Role]) -> Vec<Role> {
    let mut r = roles.to_vec();
    r.sort();
    r.dedup();
    r
}

/// A checked `createUser`: what will be written.
#[derive(Debug, Clone)]
pub struct PlannedUser {
    pub tenant: Tenant,
    pub new: NewUser,
}

/// Every check of `createUser`, without writing (run before hashing the password, and again
/// in the writing transaction).
pub fn plan_create_user(
    tx: &impl Read,
    caller: &Caller,
    group_id: &str,
    input: &NewUserInput,
) -> Result<PlannedUser, UsersError> {
    let tenant = tenant_of(tx, caller)?;
    let group = load_group(tx, caller, group_id)?;
    require(caller, Op::CreateUser, &Target::group(&group), "group")?;
    let company =
        directory::get_company(tx, &caller.tenant, &group.company_id)?.ok_or(UsersError::NotFound("group"))?;
    let user_id = match input.user_id.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        Some(id) => id.to_string(),
        None => match &company.vendor_code {
            Some(code) => partner_suggestion(tx, &caller.tenant, code)?.unwrap_or_default(),
            None => String::new(),
        },
    };
    // Blank sub e-mail entries (empty form fields) are ignored.
    let sub_emails: Vec<String> =
        input.sub_emails.iter().map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect();
    let mut v = Validator::new();
    directory::check_user_id(&mut v, "user_id", &user_id);
    check_fields(&mut v, &input.name, &input.email, &sub_emails, input.title.as_deref());
    let roles = parse_role_names(&mut v, &input.roles);
    check_owner_only(&mut v, &company, &roles);
    v.finish()?;
    if roles.contains(&Role::Administration) {
        require(caller, Op::GrantAdministration, &Target::group(&group), "group")?;
    }
    let mut conflicts = Vec::new();
    if directory::get_user(tx, &caller.tenant, &user_id)?.is_some() {
        conflicts.push(Invalid::new("user_id", Rule::Duplicate));
    }
    if directory::email_taken(tx, &caller.tenant, &input.email)? {
        conflicts.push(Invalid::new("email", Rule::Duplicate));
    }
    if !conflicts.is_empty() {
        return Err(UsersError::Conflict(conflicts));
    }
    Ok(PlannedUser {
        tenant,
        new: NewUser {
            user_id,
            name: input.name.clone(),
            email: input.email.clone(),
            sub_emails,
            roles,
            group_id: group.id,
            title: input.title.clone(),
        },
    })
}

/// `createUser`: the user, the credential (change forced at first login), 「ユーザー登録通知」
/// with the initial password, and the seal of a signer — one transaction. (It leaves the
/// search generation alone: new users are caught by the index's count check, and
/// [`crate::Users`] patches them into its index at once.)
pub fn create_user(
    tx: &mut Tx,
    kernel: &Kernel,
    caller: &Caller,
    group_id: &str,
    input: &NewUserInput,
    secret: &InitialSecret,
) -> Result<User, UsersError> {
    let plan = plan_create_user(tx, caller, group_id, input)?;
    let actor = caller.actor();
    let user = directory::create_user(tx, &actor, &caller.tenant, plan.new)?;
    keiyaku_auth::register_credential(tx, &actor, &plan.tenant, &user, secret.hash.clone(), true)?;
    keiyaku_auth::send_registration_mail(tx, kernel, &plan.tenant, &user, &secret.password)?;
    if user.has(Role::Signer) {
        seal::ensure_seal(tx, &actor, &plan.tenant, &user)?;
    }
    Ok(user)
}

/// What `getUser` shows.
#[derive(Debug, Clone)]
pub struct UserDetail {
    pub row: UserRow,
    pub company: Option<Company>,
    /// The last successful login.
    pub last_login_at: Option<Timestamp>,
    pub has_seal: bool,
    pub delegate_count: usize,
    /// What the caller may do with this user (for showing edit controls).
    pub can_update: bool,
    pub can_change_access: bool,
    pub can_reset_password: bool,
    pub can_manage_delegates: bool,
    /// The caller is this signer: they confirm mandates with their PIN.
    pub can_confirm_delegates: bool,
}

/// `getUser`.
pub fn get_user(tx: &impl Read, caller: &Caller, user_id: &str) -> Result<UserDetail, UsersError> {
    let user = load_user(tx, caller, user_id)?;
    let target = Target::user(&user);
    require(caller, Op::ReadUser, &target, "user")?;
    let cred = keiyaku_auth::credential(tx, &caller.tenant, &user.user_id)?;
    let has_seal = seal::get_seal(tx, &caller.tenant, &user.user_id)?.is_some();
    let delegate_count = tx.count(&delegates::DELEGATES, &format!("{}/{}/", caller.tenant, user.user_id))?;
    let company = directory::get_company(tx, &caller.tenant, &user.company_id)?;
    let can_update = scope::can(caller, Op::UpdateUser, &target);
    let can_change_access = scope::can(caller, Op::ChangeAccess, &target);
    let can_reset_password = scope::can(caller, Op::ResetPassword, &target);
    let can_manage_delegates = user.has(Role::Signer) && scope::can(caller, Op::ManageDelegates, &target);
    let can_confirm_delegates = user.has(Role::Signer) && scope::can(caller, Op::ConfirmDelegate, &target);
    let row = rows(tx, &caller.tenant, vec![user])?.pop().ok_or(UsersError::NotFound("user"))?;
    Ok(UserDetail {
        row,
        company,
        last_login_at: cred.and_then(|c| c.last_login_at),
        has_seal,
        delegate_count,
        can_update,
        can_change_access,
        can_reset_password,
        can_manage_delegates,
        can_confirm_delegates,
    })
}

/// What `updateUser` may change; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct UserChanges {
    pub name: Option<String>,
    pub email: Option<String>,
    pub sub_emails: Option<Vec<String>>,
    pub roles: Option<Vec<String>>,
    /// `active` or `suspended`.
    pub status: Option<String>,
    /// `Some(None)` clears the title.
    pub title: Option<Option<String>>,
}

/// `updateUser`: name, e-mails, title, roles and status. Becoming a signer creates the seal
/// (never replaces one); ceasing to be one removes the delegates; suspension ends the user's
/// sessions.
pub fn update_user(tx: &mut Tx, caller: &Caller, user_id: &str, changes: UserChanges) -> Result<User, UsersError> {
    let tenant = tenant_of(tx, caller)?;
    let before = load_user(tx, caller, user_id)?;
    let target = Target::user(&before);
    require(caller, Op::UpdateUser, &target, "user")?;
    let company =
        directory::get_company(tx, &caller.tenant, &before.company_id)?.ok_or(UsersError::NotFound("user"))?;
    let name = changes.name.unwrap_or_else(|| before.name.clone());
    let email = changes.email.unwrap_or_else(|| before.email.clone());
    let sub_emails: Vec<String> = changes
        .sub_emails
        .map(|s| s.iter().map(|e| e.trim().to_string()).filter(|e| !e.is_empty()).collect())
        .unwrap_or_else(|| before.sub_emails.clone());
    let title = match changes.title {
        Some(t) => t.map(|t| t.trim().to_string()).filter(|t| !t.is_empty()),
        None => before.title.clone(),
    };
    // Roles and status are parsed first: who may change them is decided before the other
    // fields are checked.
    let mut v = Validator::new();
    let before_roles = sorted_roles(&before.roles);
    let roles = match &changes.roles {
        Some(names) => parse_role_names(&mut v, names),
        None => before_roles.clone(),
    };
    let status = match changes.status.as_deref() {
        None => before.status,
        Some(s) => UserStatus::parse(s.trim()).unwrap_or_else(|| {
            v.fail("status", Rule::Unknown { value: s.chars().take(40).collect() });
            before.status
        }),
    };
    if v.is_ok() {
        if roles != before_roles || status != before.status {
            require(caller, Op::ChangeAccess, &target, "user")?;
        }
        if roles.contains(&Role::Administration) != before.has(Role::Administration) {
            require(caller, Op::GrantAdministration, &target, "user")?;
        }
    }
    check_fields(&mut v, &name, &email, &sub_emails, title.as_deref());
    check_owner_only(&mut v, &company, &roles);
    v.finish()?;
    let patch = UserPatch {
        name: Some(name.trim().to_string()).filter(|n| *n != before.name),
        email: Some(email.trim().to_string()).filter(|e| *e != before.email),
        sub_emails: Some(sub_emails).filter(|s| *s != before.sub_emails),
        roles: Some(roles).filter(|r| *r != before_roles),
        status: Some(status).filter(|s| *s != before.status),
        title: Some(title).filter(|t| *t != before.title),
        group_id: None,
    };
    if patch.name.is_none()
        && patch.email.is_none()
        && patch.sub_emails.is_none()
        && patch.roles.is_none()
        && patch.status.is_none()
        && patch.title.is_none()
    {
        return Ok(before);
    }
    let actor = caller.actor();
    let (before, after) = directory::update_user(tx, &actor, &caller.tenant, &before.user_id, patch)?;
    if after.has(Role::Signer) {
        seal::ensure_seal(tx, &actor, &tenant, &after)?;
    } else if before.has(Role::Signer) {
        delegates::remove_all(tx, &actor, &caller.tenant, &after.user_id)?;
    }
    if after.status == UserStatus::Suspended && before.status != UserStatus::Suspended {
        let n = keiyaku_auth::revoke_sessions(tx, &caller.tenant, &after.user_id)?;
        tx.audit(
            &actor,
            "auth.sessions_revoked",
            &format!("{}/{}", caller.tenant, after.user_id),
            serde_json::json!({"sessions": n, "reason": "suspended"}),
        )?;
    }
    Ok(after)
}

/// Every check of `resetPassword`, without writing.
pub fn plan_reset_password(tx: &impl Read, caller: &Caller, user_id: &str) -> Result<(Tenant, User), UsersError> {
    let tenant = tenant_of(tx, caller)?;
    let user = load_user(tx, caller, user_id)?;
    require(caller, Op::ResetPassword, &Target::user(&user), "user")?;
    Ok((tenant, user))
}

/// `resetPassword`: a new initial password (change forced at the next login), a new
/// 「ユーザー登録通知」, and the user's sessions ended.
pub fn reset_password(
    tx: &mut Tx,
    kernel: &Kernel,
    caller: &Caller,
    user_id: &str,
    secret: &InitialSecret,
) -> Result<User, UsersError> {
    let (tenant, user) = plan_reset_password(tx, caller, user_id)?;
    let actor = caller.actor();
    keiyaku_auth::register_credential(tx, &actor, &tenant, &user, secret.hash.clone(), true)?;
    keiyaku_auth::send_registration_mail(tx, kernel, &tenant, &user, &secret.password)?;
    let sessions = keiyaku_auth::revoke_sessions(tx, &caller.tenant, &user.user_id)?;
    tx.audit(
        &actor,
        "user.password_reset",
        &format!("{}/{}", caller.tenant, user.user_id),
        serde_json::json!({"sessions_revoked": sessions}),
    )?;
    Ok(user)
}

/// `getSeal`: the stored seal, unchanged since it was made.
pub fn get_seal(tx: &impl Read, caller: &Caller, user_id: &str) -> Result<seal::Seal, UsersError> {
    let user = load_user(tx, caller, user_id)?;
    require(caller, Op::ReadSeal, &Target::user(&user), "user")?;
    seal::get_seal(tx, &caller.tenant, &user.user_id)?.ok_or(UsersError::NotFound("seal"))
}

/// Checks a search text (422 when too long).
pub fn check_query(field: &str, q: Option<&str>) -> Result<(), UsersError> {
    match q {
        Some(q) if q.chars().count() > QUERY_MAX => Err(UsersError::invalid(field, Rule::TooLong { max: QUERY_MAX })),
        _ => Ok(()),
    }
}

/// `searchUsers` over the tenant's index: users in the caller's search scope matching `query`.
pub fn search_users(
    tx: &impl Read,
    index: &TenantIndex,
    caller: &Caller,
    query: &search::Query,
    paging: Paging,
) -> Result<Paged<UserRow>, UsersError> {
    require(caller, Op::SearchUsers, &Target::Tenant, "tenant")?;
    let scope = scope::search_scope(caller).ok_or(UsersError::Forbidden)?;
    check_query("q", query.q.as_deref())?;
    check_query("user_id", query.user_id.as_deref())?;
    check_query("name", query.name.as_deref())?;
    let (ids, total) = index.search(&scope, query, paging.skip(), paging.per_page);
    let mut users = Vec::with_capacity(ids.len());
    for id in ids {
        if let Some(u) = directory::get_user(tx, &caller.tenant, &id)? {
            users.push(u);
        }
    }
    Ok(Paged { items: rows(tx, &caller.tenant, users)?, total, page: paging.page, per_page: paging.per_page })
}

/// The last successful login of each of `rows` (same order), for member lists. Added for the
/// web pages (issue 4 pages): the rows come from a call that already authorized the caller.
pub fn last_logins(tx: &impl Read, tenant: &str, rows: &[UserRow]) -> Result<Vec<Option<Timestamp>>, UsersError> {
    rows.iter()
        .map(|r| {
            let cred = keiyaku_auth::credential(tx, tenant, &r.user.user_id)?;
            Ok(cred.and_then(|c| c.last_login_at))
        })
        .collect()
}
