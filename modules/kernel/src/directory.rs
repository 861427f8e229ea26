//! The identity directory every module relies on: tenants (enterprise codes), their companies
//! (the service owner and partner companies), each company's group tree, and users with
//! roles. The kernel keeps the records and their integrity rules (uniqueness, tree shape,
//! field rules); who may change them is decided by the modules that expose the operations.

use crate::clock::rfc3339;
use crate::context::Actor;
use crate::error::FieldCode;
use crate::error::{ApiError, Code, Lang, Problem};
use crate::ids::new_id;
use crate::store::{Read, StoreError, Table, Tx};
use crate::validate::{Invalid, Rule, Validator, normalize_email};
use serde::{Deserialize, Serialize};

pub const TENANTS: Table<Tenant> = Table::new("tenants");
pub const COMPANIES: Table<Company> = Table::new("companies");
pub const GROUPS: Table<Group> = Table::new("groups");
pub const USERS: Table<User> = Table::new("users");
/// `tenant/lower-case e-mail` → user id (e-mail is a login name, unique per tenant).
pub const USER_EMAILS: Table<String> = Table::new("user_emails");
/// `tenant/group id/user id` → ().
pub const GROUP_MEMBERS: Table<()> = Table::new("group_members");
/// `tenant/vendor code` → company id.
pub const VENDOR_CODES: Table<String> = Table::new("vendor_codes");
/// `tenant` → the generation of its users: bumped by every change of an existing user, so a
/// cache of the tenant's users (the users module's search index) knows when it is stale.
pub const USER_GENERATION: Table<u64> = Table::new("user_generation");

pub const TABLES: [&str; 8] = [
    TENANTS.name(),
    COMPANIES.name(),
    GROUPS.name(),
    USERS.name(),
    USER_EMAILS.name(),
    GROUP_MEMBERS.name(),
    VENDOR_CODES.name(),
    USER_GENERATION.name(),
];

pub const NAME_MAX: usize = 100;
pub const USER_ID_MAX: usize = 32;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// 担当者
    PersonInCharge,
    /// 承認者
    Approver,
    /// 署名者
    Signer,
    /// グループ管理者
    GroupAdmin,
    /// 管理部 (owner side)
    Administration,
}

impl Role {
    pub const ALL: [Role; 5] =
        [Role::PersonInCharge, Role::Approver, Role::Signer, Role::GroupAdmin, Role::Administration];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::PersonInCharge => "person_in_charge",
            Role::Approver => "approver",
            Role::Signer => "signer",
            Role::GroupAdmin => "group_admin",
            Role::Administration => "administration",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }

    pub fn label(self, lang: Lang) -> &'static str {
        match self {
            Role::PersonInCharge => lang.pick("担当者", "Person in charge"),
            Role::Approver => lang.pick("承認者", "Approver"),
            Role::Signer => lang.pick("署名者", "Signer"),
            Role::GroupAdmin => lang.pick("グループ管理者", "Group administrator"),
            Role::Administration => lang.pick("管理部", "Administration"),
        }
    }
}

/// Parses role names, reporting unknown ones as invalid `field`.
pub fn parse_roles(field: &str, names: &[String]) -> Result<Vec<Role>, Invalid> {
    let mut roles = Vec::new();
    for n in names {
        match Role::parse(n) {
            Some(r) if !roles.contains(&r) => roles.push(r),
            Some(_) => {}
            None => {
                return Err(Invalid::new(field, Rule::Unknown { value: n.chars().take(40).collect() }));
            }
        }
    }
    roles.sort();
    Ok(roles)
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tenant {
    /// Enterprise code (企業コード), e.g. `HXOS2`.
    pub code: String,
    /// Display name of the tenant's service, e.g. the owner's name.
    pub name: String,
    pub owner_company_id: String,
    /// Trial environment (電子契約トライアル環境): seals show the date, banners say so.
    #[serde(default)]
    pub trial: bool,
    pub created_at: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Company {
    pub id: String,
    pub tenant: String,
    pub name: String,
    pub name_kana: String,
    /// 業者コード of a partner company; none for the service owner.
    pub vendor_code: Option<String>,
    pub owner: bool,
    pub root_group_id: String,
    pub created_at: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Group {
    pub id: String,
    pub tenant: String,
    pub company_id: String,
    pub parent_id: Option<String>,
    pub name: String,
    pub created_at: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum UserStatus {
    #[default]
    Active,
    Suspended,
}

impl UserStatus {
    pub const ALL: [UserStatus; 2] = [UserStatus::Active, UserStatus::Suspended];

    pub fn as_str(self) -> &'static str {
        match self {
            UserStatus::Active => "active",
            UserStatus::Suspended => "suspended",
        }
    }

    /// The member named `s` (its [`UserStatus::as_str`]); `None` for any other name.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    pub tenant: String,
    pub user_id: String,
    pub name: String,
    pub email: String,
    #[serde(default)]
    pub sub_emails: Vec<String>,
    pub roles: Vec<Role>,
    #[serde(default)]
    pub status: UserStatus,
    pub company_id: String,
    pub group_id: String,
    /// Job title (役職), e.g. 代表取締役.
    #[serde(default)]
    pub title: Option<String>,
    pub created_at: String,
}

impl User {
    pub fn has(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DirectoryError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("{field} already exists")]
    Conflict { field: &'static str },
    #[error("invalid input")]
    Invalid(Vec<Invalid>),
    #[error("a group cannot be moved below itself")]
    Cycle,
}

impl From<Vec<Invalid>> for DirectoryError {
    fn from(v: Vec<Invalid>) -> Self {
        DirectoryError::Invalid(v)
    }
}

impl ApiError for DirectoryError {
    fn problem(&self, lang: Lang) -> Problem {
        match self {
            DirectoryError::Store(e) => {
                tracing::error!(error = %e, "storage failure");
                Problem::for_status(500, lang)
            }
            DirectoryError::NotFound(_) => Problem::for_status(404, lang),
            DirectoryError::Conflict { field } => {
                let (ja, en) = match *field {
                    "user_id" => ("このユーザーIDは既に登録されています。", "This user ID is already registered."),
                    "email" => {
                        ("このメールアドレスは既に登録されています。", "This e-mail address is already registered.")
                    }
                    "code" => ("この企業コードは既に登録されています。", "This enterprise code is already registered."),
                    "vendor_code" => {
                        ("この業者コードは既に登録されています。", "This vendor code is already registered.")
                    }
                    _ => ("既に登録されています。", "It already exists."),
                };
                let mut p = Problem::new(409, Code::Conflict, lang.pick(ja, en));
                p.errors = vec![Invalid::new(*field, Rule::Duplicate).to_field_error(lang)];
                p
            }
            DirectoryError::Invalid(list) => invalid_problem(list, lang),
            DirectoryError::Cycle => {
                let mut p = Problem::for_status(422, lang);
                p.errors = vec![
                    Invalid::new(
                        "parent_group_id",
                        Rule::Custom {
                            code: FieldCode::Cycle,
                            ja: "グループを自分自身の配下には移動できません。".into(),
                            en: "A group cannot be moved below itself.".into(),
                        },
                    )
                    .to_field_error(lang),
                ];
                p
            }
        }
    }
}

/// The 422 problem for a list of invalid fields.
pub fn invalid_problem(list: &[Invalid], lang: Lang) -> Problem {
    let mut p = Problem::for_status(422, lang);
    p.errors = list.iter().map(|i| i.to_field_error(lang)).collect();
    p
}

fn key(tenant: &str, id: &str) -> String {
    format!("{tenant}/{id}")
}

/// Enterprise codes: 2–10 upper-case letters and digits.
pub fn check_tenant_code(v: &mut Validator, field: &str, code: &str) {
    if code.is_empty() {
        v.fail(field, Rule::Required);
    } else if code.len() > 10 || code.len() < 2 || !code.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit()) {
        v.fail(field, Rule::Charset { ja: "英大文字と数字(2〜10文字)", en: "upper-case letters and digits (2–10)" });
    }
}

/// User IDs: 1–32 ASCII letters, digits, `.`, `_`, `-`.
pub fn check_user_id(v: &mut Validator, field: &str, id: &str) {
    if id.is_empty() {
        v.fail(field, Rule::Required);
    } else if id.chars().count() > USER_ID_MAX {
        v.fail(field, Rule::TooLong { max: USER_ID_MAX });
    } else if !id.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')) {
        v.fail(field, Rule::Charset { ja: "半角英数字と「.」「_」「-」", en: "letters, digits, '.', '_' and '-'" });
    }
}

/// Vendor codes (業者コード): 1–16 upper-case letters and digits.
pub fn check_vendor_code(v: &mut Validator, field: &str, code: &str) {
    if code.is_empty() {
        v.fail(field, Rule::Required);
    } else if code.len() > 16 || !code.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit()) {
        v.fail(
            field,
            Rule::Charset {
                ja: "英大文字と数字(16文字以内)", en: "upper-case letters and digits (at most 16)"
            },
        );
    }
}

pub fn get_tenant(tx: &impl Read, code: &str) -> Result<Option<Tenant>, StoreError> {
    tx.get(&TENANTS, code)
}

pub fn list_tenants(tx: &impl Read) -> Result<Vec<Tenant>, StoreError> {
    Ok(tx.scan(&TENANTS, "")?.into_iter().map(|(_, t)| t).collect())
}

pub fn get_company(tx: &impl Read, tenant: &str, id: &str) -> Result<Option<Company>, StoreError> {
    tx.get(&COMPANIES, &key(tenant, id))
}

pub fn list_companies(tx: &impl Read, tenant: &str) -> Result<Vec<Company>, StoreError> {
    let mut all: Vec<Company> = tx.scan(&COMPANIES, &format!("{tenant}/"))?.into_iter().map(|(_, c)| c).collect();
    all.sort_by(|a, b| b.owner.cmp(&a.owner).then(a.created_at.cmp(&b.created_at)));
    Ok(all)
}

pub fn company_by_vendor_code(tx: &impl Read, tenant: &str, code: &str) -> Result<Option<Company>, StoreError> {
    match tx.get(&VENDOR_CODES, &key(tenant, code))? {
        Some(id) => get_company(tx, tenant, &id),
        None => Ok(None),
    }
}

pub fn get_group(tx: &impl Read, tenant: &str, id: &str) -> Result<Option<Group>, StoreError> {
    tx.get(&GROUPS, &key(tenant, id))
}

pub fn list_groups(tx: &impl Read, tenant: &str) -> Result<Vec<Group>, StoreError> {
    let mut all: Vec<Group> = tx.scan(&GROUPS, &format!("{tenant}/"))?.into_iter().map(|(_, g)| g).collect();
    all.sort_by(|a, b| a.created_at.cmp(&b.created_at).then(a.id.cmp(&b.id)));
    Ok(all)
}

pub fn get_user(tx: &impl Read, tenant: &str, user_id: &str) -> Result<Option<User>, StoreError> {
    tx.get(&USERS, &key(tenant, user_id))
}

/// Finds a user by user ID (exact) or by e-mail address (case-insensitive).
pub fn find_by_login(tx: &impl Read, tenant: &str, login: &str) -> Result<Option<User>, StoreError> {
    let login = login.trim();
    if login.is_empty() || login.len() > 254 {
        return Ok(None);
    }
    if let Some(u) = get_user(tx, tenant, login)? {
        return Ok(Some(u));
    }
    if login.contains('@')
        && let Some(id) = tx.get(&USER_EMAILS, &key(tenant, &normalize_email(login)))?
    {
        return get_user(tx, tenant, &id);
    }
    Ok(None)
}

/// Members of one group, in user-ID order: one page and the total.
pub fn group_members(
    tx: &impl Read,
    tenant: &str,
    group_id: &str,
    skip: usize,
    limit: usize,
) -> Result<(Vec<User>, usize), StoreError> {
    let prefix = format!("{tenant}/{group_id}/");
    let total = tx.count(&GROUP_MEMBERS, &prefix)?;
    let mut users = Vec::new();
    for (k, ()) in tx.scan_page(&GROUP_MEMBERS, &prefix, skip, limit)? {
        if let Some(id) = k.strip_prefix(&prefix)
            && let Some(u) = get_user(tx, tenant, id)?
        {
            users.push(u);
        }
    }
    Ok((users, total))
}

/// The tenant's user generation as of `tx` (see [`USER_GENERATION`]; creating a user does
/// not change it, the user count tells).
pub fn user_generation(tx: &impl Read, tenant: &str) -> Result<u64, StoreError> {
    Ok(tx.get(&USER_GENERATION, tenant)?.unwrap_or(0))
}

/// Whether a user of the tenant has the e-mail address `email` (compared normalised).
pub fn email_taken(tx: &impl Read, tenant: &str, email: &str) -> Result<bool, StoreError> {
    Ok(tx.get(&USER_EMAILS, &key(tenant, &normalize_email(email)))?.is_some())
}

/// How many users the tenant has.
pub fn count_users(tx: &impl Read, tenant: &str) -> Result<usize, StoreError> {
    tx.count(&USERS, &format!("{tenant}/"))
}

/// The ids of the tenant's users that start with `prefix`, in order (the records are not
/// decoded).
pub fn user_ids_starting(tx: &impl Read, tenant: &str, prefix: &str) -> Result<Vec<String>, StoreError> {
    const USER_KEYS: Table<serde::de::IgnoredAny> = Table::new("users");
    let own = format!("{tenant}/");
    Ok(tx
        .scan(&USER_KEYS, &format!("{own}{prefix}"))?
        .into_iter()
        .filter_map(|(k, _)| k.strip_prefix(&own).map(str::to_string))
        .collect())
}

/// Every user of a tenant, in user-ID order.
pub fn list_users(tx: &impl Read, tenant: &str) -> Result<Vec<User>, StoreError> {
    Ok(tx.scan(&USERS, &format!("{tenant}/"))?.into_iter().map(|(_, u)| u).collect())
}

pub struct NewTenant {
    pub code: String,
    pub name: String,
    pub trial: bool,
    pub owner_name: String,
    pub owner_name_kana: String,
}

/// Creates a tenant with its owner company and the company's root group (本社).
pub fn create_tenant(tx: &mut Tx, actor: &Actor, new: NewTenant) -> Result<(Tenant, Company, Group), DirectoryError> {
    let mut v = Validator::new();
    check_tenant_code(&mut v, "code", &new.code);
    v.text("name", &new.name, NAME_MAX);
    v.text("owner_company.name", &new.owner_name, NAME_MAX);
    v.optional_text("owner_company.name_kana", &new.owner_name_kana, NAME_MAX);
    v.finish()?;
    if get_tenant(tx, &new.code)?.is_some() {
        return Err(DirectoryError::Conflict { field: "code" });
    }
    let now = rfc3339(tx.now());
    let company_id = new_id();
    let tenant = Tenant {
        code: new.code.clone(),
        name: new.name.trim().to_string(),
        owner_company_id: company_id.clone(),
        trial: new.trial,
        created_at: now,
    };
    tx.put(&TENANTS, &tenant.code, &tenant)?;
    tx.audit(actor, "tenant.create", &tenant.code, serde_json::json!({"name": tenant.name}))?;
    let (company, group) =
        insert_company(tx, actor, &tenant.code, company_id, &new.owner_name, &new.owner_name_kana, None, true)?;
    Ok((tenant, company, group))
}

pub struct NewCompany {
    pub name: String,
    pub name_kana: String,
    pub vendor_code: String,
}

/// Creates a partner company (取引先) with its root group.
pub fn create_partner_company(
    tx: &mut Tx,
    actor: &Actor,
    tenant: &str,
    new: NewCompany,
) -> Result<(Company, Group), DirectoryError> {
    let mut v = Validator::new();
    v.text("name", &new.name, NAME_MAX);
    v.optional_text("name_kana", &new.name_kana, NAME_MAX);
    check_vendor_code(&mut v, "vendor_code", &new.vendor_code);
    v.finish()?;
    if get_tenant(tx, tenant)?.is_none() {
        return Err(DirectoryError::NotFound("tenant"));
    }
    if tx.get(&VENDOR_CODES, &key(tenant, &new.vendor_code))?.is_some() {
        return Err(DirectoryError::Conflict { field: "vendor_code" });
    }
    insert_company(tx, actor, tenant, new_id(), &new.name, &new.name_kana, Some(new.vendor_code), false)
}

#[allow(clippy::too_many_arguments)]
fn insert_company(
    tx: &mut Tx,
    actor: &Actor,
    tenant: &str,
    id: String,
    name: &str,
    name_kana: &str,
    vendor_code: Option<String>,
    owner: bool,
) -> Result<(Company, Group), DirectoryError> {
    let now = rfc3339(tx.now());
    let group = Group {
        id: new_id(),
        tenant: tenant.to_string(),
        company_id: id.clone(),
        parent_id: None,
        name: "本社".into(),
        created_at: now.clone(),
    };
    let company = Company {
        id,
        tenant: tenant.to_string(),
        name: name.trim().to_string(),
        name_kana: name_kana.trim().to_string(),
        vendor_code,
        owner,
        root_group_id: group.id.clone(),
        created_at: now,
    };
    tx.put(&COMPANIES, &key(tenant, &company.id), &company)?;
    if let Some(code) = &company.vendor_code {
        tx.put(&VENDOR_CODES, &key(tenant, code), &company.id)?;
    }
    tx.put(&GROUPS, &key(tenant, &group.id), &group)?;
    tx.audit(
        actor,
        "company.create",
        &key(tenant, &company.id),
        serde_json::json!({"name": company.name, "vendor_code": company.vendor_code, "owner": owner}),
    )?;
    tx.audit(actor, "group.create", &key(tenant, &group.id), serde_json::json!({"name": group.name}))?;
    Ok((company, group))
}

/// Creates a group below `parent_id` (or below the company's root group).
pub fn create_group(
    tx: &mut Tx,
    actor: &Actor,
    tenant: &str,
    company_id: &str,
    parent_id: Option<&str>,
    name: &str,
) -> Result<Group, DirectoryError> {
    let mut v = Validator::new();
    v.text("name", name, NAME_MAX);
    v.finish()?;
    let company = get_company(tx, tenant, company_id)?.ok_or(DirectoryError::NotFound("company"))?;
    let parent_id = parent_id.unwrap_or(&company.root_group_id);
    let parent = get_group(tx, tenant, parent_id)?.ok_or(DirectoryError::NotFound("group"))?;
    if parent.company_id != company.id {
        return Err(DirectoryError::NotFound("group"));
    }
    let group = Group {
        id: new_id(),
        tenant: tenant.to_string(),
        company_id: company.id,
        parent_id: Some(parent.id),
        name: name.trim().to_string(),
        created_at: rfc3339(tx.now()),
    };
    tx.put(&GROUPS, &key(tenant, &group.id), &group)?;
    tx.audit(
        actor,
        "group.create",
        &key(tenant, &group.id),
        serde_json::json!({"name": group.name, "parent": group.parent_id}),
    )?;
    Ok(group)
}

pub fn rename_group(
    tx: &mut Tx,
    actor: &Actor,
    tenant: &str,
    group_id: &str,
    name: &str,
) -> Result<Group, DirectoryError> {
    let mut v = Validator::new();
    v.text("name", name, NAME_MAX);
    v.finish()?;
    let mut group = get_group(tx, tenant, group_id)?.ok_or(DirectoryError::NotFound("group"))?;
    let old = std::mem::replace(&mut group.name, name.trim().to_string());
    tx.put(&GROUPS, &key(tenant, group_id), &group)?;
    tx.audit(actor, "group.rename", &key(tenant, group_id), serde_json::json!({"from": old, "to": group.name}))?;
    Ok(group)
}

/// Moves a group below another group of the same company; refuses cycles and moving a root.
pub fn move_group(
    tx: &mut Tx,
    actor: &Actor,
    tenant: &str,
    group_id: &str,
    new_parent: &str,
) -> Result<Group, DirectoryError> {
    let mut group = get_group(tx, tenant, group_id)?.ok_or(DirectoryError::NotFound("group"))?;
    let parent = get_group(tx, tenant, new_parent)?.ok_or(DirectoryError::NotFound("group"))?;
    if group.parent_id.is_none() || parent.company_id != group.company_id {
        return Err(DirectoryError::Cycle);
    }
    // Walk up from the new parent: meeting the group itself means a cycle.
    let mut cursor = Some(parent.clone());
    let mut steps = 0;
    while let Some(g) = cursor {
        if g.id == group.id {
            return Err(DirectoryError::Cycle);
        }
        steps += 1;
        if steps > 10_000 {
            return Err(DirectoryError::Cycle);
        }
        cursor = match &g.parent_id {
            Some(p) => get_group(tx, tenant, p)?,
            None => None,
        };
    }
    let from = group.parent_id.replace(parent.id.clone());
    tx.put(&GROUPS, &key(tenant, group_id), &group)?;
    tx.audit(actor, "group.move", &key(tenant, group_id), serde_json::json!({"from": from, "to": parent.id}))?;
    Ok(group)
}

/// Is `group_id` the group `ancestor` or below it?
pub fn is_within(tx: &impl Read, tenant: &str, group_id: &str, ancestor: &str) -> Result<bool, StoreError> {
    let mut cursor = get_group(tx, tenant, group_id)?;
    let mut steps = 0;
    while let Some(g) = cursor {
        if g.id == ancestor {
            return Ok(true);
        }
        steps += 1;
        if steps > 10_000 {
            return Ok(false);
        }
        cursor = match &g.parent_id {
            Some(p) => get_group(tx, tenant, p)?,
            None => None,
        };
    }
    Ok(false)
}

#[derive(Debug, Clone, Default)]
pub struct NewUser {
    pub user_id: String,
    pub name: String,
    pub email: String,
    pub sub_emails: Vec<String>,
    pub roles: Vec<Role>,
    pub group_id: String,
    pub title: Option<String>,
}

/// Field rules of a user record, shared by create and update.
fn check_user_fields(v: &mut Validator, name: &str, email: &str, sub_emails: &[String], title: Option<&str>) {
    v.text("name", name, NAME_MAX);
    v.email("email", email);
    if sub_emails.len() > 5 {
        v.fail(
            "sub_emails",
            Rule::Custom {
                code: FieldCode::TooMany,
                ja: "サブメールアドレスは5件までです。".into(),
                en: "At most 5 sub e-mail addresses.".into(),
            },
        );
    }
    for (i, s) in sub_emails.iter().enumerate() {
        v.email(&format!("sub_emails[{i}]"), s);
    }
    if let Some(t) = title {
        v.optional_text("title", t, NAME_MAX);
    }
}

/// Creates a user in a group; user ID and e-mail must be unused in the tenant.
pub fn create_user(tx: &mut Tx, actor: &Actor, tenant: &str, new: NewUser) -> Result<User, DirectoryError> {
    let mut v = Validator::new();
    check_user_id(&mut v, "user_id", &new.user_id);
    check_user_fields(&mut v, &new.name, &new.email, &new.sub_emails, new.title.as_deref());
    v.finish()?;
    let group = get_group(tx, tenant, &new.group_id)?.ok_or(DirectoryError::NotFound("group"))?;
    if get_user(tx, tenant, &new.user_id)?.is_some() {
        return Err(DirectoryError::Conflict { field: "user_id" });
    }
    let email_key = key(tenant, &normalize_email(&new.email));
    if tx.get(&USER_EMAILS, &email_key)?.is_some() {
        return Err(DirectoryError::Conflict { field: "email" });
    }
    let user = User {
        tenant: tenant.to_string(),
        user_id: new.user_id,
        name: new.name.trim().to_string(),
        email: new.email.trim().to_string(),
        sub_emails: new.sub_emails.iter().map(|s| s.trim().to_string()).collect(),
        roles: new.roles,
        status: UserStatus::Active,
        company_id: group.company_id.clone(),
        group_id: group.id.clone(),
        title: new.title.map(|t| t.trim().to_string()).filter(|t| !t.is_empty()),
        created_at: rfc3339(tx.now()),
    };
    tx.put(&USERS, &key(tenant, &user.user_id), &user)?;
    tx.put(&USER_EMAILS, &email_key, &user.user_id)?;
    tx.put(&GROUP_MEMBERS, &format!("{tenant}/{}/{}", group.id, user.user_id), &())?;
    tx.audit(
        actor,
        "user.create",
        &key(tenant, &user.user_id),
        serde_json::json!({"name": user.name, "email": user.email, "roles": user.roles, "group": user.group_id}),
    )?;
    Ok(user)
}

#[derive(Debug, Clone, Default)]
pub struct UserPatch {
    pub name: Option<String>,
    pub email: Option<String>,
    pub sub_emails: Option<Vec<String>>,
    pub roles: Option<Vec<Role>>,
    pub status: Option<UserStatus>,
    pub title: Option<Option<String>>,
    pub group_id: Option<String>,
}

/// Applies a patch to a user; returns the user before and after.
pub fn update_user(
    tx: &mut Tx,
    actor: &Actor,
    tenant: &str,
    user_id: &str,
    patch: UserPatch,
) -> Result<(User, User), DirectoryError> {
    let before = get_user(tx, tenant, user_id)?.ok_or(DirectoryError::NotFound("user"))?;
    let mut after = before.clone();
    if let Some(n) = patch.name {
        after.name = n.trim().to_string();
    }
    if let Some(e) = patch.email {
        after.email = e.trim().to_string();
    }
    if let Some(s) = patch.sub_emails {
        after.sub_emails = s.iter().map(|s| s.trim().to_string()).collect();
    }
    if let Some(r) = patch.roles {
        after.roles = r;
    }
    if let Some(s) = patch.status {
        after.status = s;
    }
    if let Some(t) = patch.title {
        after.title = t.map(|t| t.trim().to_string()).filter(|t| !t.is_empty());
    }
    let mut v = Validator::new();
    check_user_fields(&mut v, &after.name, &after.email, &after.sub_emails, after.title.as_deref());
    v.finish()?;
    if let Some(g) = patch.group_id {
        let group = get_group(tx, tenant, &g)?.ok_or(DirectoryError::NotFound("group"))?;
        if group.company_id != before.company_id {
            return Err(DirectoryError::NotFound("group"));
        }
        after.group_id = group.id;
    }
    let old_email = key(tenant, &normalize_email(&before.email));
    let new_email = key(tenant, &normalize_email(&after.email));
    if old_email != new_email {
        if tx.get(&USER_EMAILS, &new_email)?.is_some() {
            return Err(DirectoryError::Conflict { field: "email" });
        }
        tx.remove(&USER_EMAILS, &old_email)?;
        tx.put(&USER_EMAILS, &new_email, &after.user_id)?;
    }
    if before.group_id != after.group_id {
        tx.remove(&GROUP_MEMBERS, &format!("{tenant}/{}/{}", before.group_id, user_id))?;
        tx.put(&GROUP_MEMBERS, &format!("{tenant}/{}/{}", after.group_id, user_id), &())?;
    }
    tx.put(&USERS, &key(tenant, user_id), &after)?;
    let generation = user_generation(tx, tenant)?.wrapping_add(1);
    tx.put(&USER_GENERATION, tenant, &generation)?;
    tx.audit(
        actor,
        "user.update",
        &key(tenant, user_id),
        serde_json::json!({
            "name": after.name, "email": after.email, "roles": after.roles,
            "status": after.status, "group": after.group_id,
        }),
    )?;
    Ok((before, after))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::SystemClock;
    use crate::module::{KernelModule, Module};
    use crate::store::Store;
    use std::sync::Arc;

    /// Every status parses from the name serde stores; other names are refused.
    #[test]
    fn user_statuses_round_trip() {
        for st in UserStatus::ALL {
            assert_eq!(UserStatus::parse(st.as_str()), Some(st));
            assert_eq!(serde_json::to_value(st).ok(), Some(serde_json::Value::from(st.as_str())));
        }
        for bad in ["", "Active", "locked", "suspended "] {
            assert_eq!(UserStatus::parse(bad), None, "{bad:?}");
        }
    }

    fn store() -> Store {
        let dir = std::env::temp_dir().join(format!("keiyaku-dir-{}", new_id()));
        let _ = std::fs::create_dir_all(&dir);
        let modules: [&dyn Module; 1] = [&KernelModule];
        match Store::open(&dir.join("k.redb"), Arc::new(SystemClock), &modules) {
            Ok(s) => s,
            Err(e) => panic!("{e}"),
        }
    }

    fn tenant(tx: &mut Tx) -> Result<(Tenant, Company, Group), DirectoryError> {
        create_tenant(
            tx,
            &Actor::system(),
            NewTenant {
                code: "HXOS2".into(),
                name: "オリエンタル白石".into(),
                trial: true,
                owner_name: "オリエンタル白石株式会社".into(),
                owner_name_kana: "オリエンタルシライシ".into(),
            },
        )
    }

    #[test]
    fn users_are_unique_by_id_and_email_and_found_by_either() {
        let s = store();
        let r: Result<(), DirectoryError> = s.write_blocking(|tx| {
            let (_, _, root) = tenant(tx)?;
            let new = NewUser {
                user_id: "HX000001".into(),
                name: "堀井 裕蔵".into(),
                email: "Horii@Example.jp".into(),
                group_id: root.id.clone(),
                roles: vec![Role::GroupAdmin],
                ..Default::default()
            };
            create_user(tx, &Actor::system(), "HXOS2", new.clone())?;
            let dup_id =
                create_user(tx, &Actor::system(), "HXOS2", NewUser { email: "x@example.jp".into(), ..new.clone() });
            assert!(matches!(dup_id, Err(DirectoryError::Conflict { field: "user_id" })));
            let dup_mail = create_user(
                tx,
                &Actor::system(),
                "HXOS2",
                NewUser { user_id: "HX2".into(), email: "horii@example.JP".into(), ..new },
            );
            assert!(matches!(dup_mail, Err(DirectoryError::Conflict { field: "email" })));
            assert_eq!(find_by_login(tx, "HXOS2", "horii@example.jp")?.map(|u| u.user_id), Some("HX000001".into()));
            assert_eq!(find_by_login(tx, "HXOS2", "HX000001")?.map(|u| u.name), Some("堀井 裕蔵".into()));
            assert!(find_by_login(tx, "OTHER", "HX000001")?.is_none());
            Ok(())
        });
        assert!(r.is_ok(), "{r:?}");
    }

    #[test]
    fn group_moves_refuse_cycles() {
        let s = store();
        let r: Result<(), DirectoryError> = s.write_blocking(|tx| {
            let (_, company, root) = tenant(tx)?;
            let a = create_group(tx, &Actor::system(), "HXOS2", &company.id, None, "東京支店")?;
            let b = create_group(tx, &Actor::system(), "HXOS2", &company.id, Some(&a.id), "営業所")?;
            assert!(matches!(move_group(tx, &Actor::system(), "HXOS2", &a.id, &b.id), Err(DirectoryError::Cycle)));
            assert!(matches!(move_group(tx, &Actor::system(), "HXOS2", &root.id, &a.id), Err(DirectoryError::Cycle)));
            move_group(tx, &Actor::system(), "HXOS2", &b.id, &root.id)?;
            assert!(is_within(tx, "HXOS2", &b.id, &root.id)?);
            assert!(!is_within(tx, "HXOS2", &b.id, &a.id)?);
            Ok(())
        });
        assert!(r.is_ok(), "{r:?}");
    }

    #[test]
    fn invalid_input_changes_nothing() {
        let s = store();
        let r: Result<(), DirectoryError> = s.write_blocking(|tx| {
            tenant(tx)?;
            Ok(())
        });
        assert!(r.is_ok());
        let r: Result<(Tenant, Company, Group), DirectoryError> = s.write_blocking(|tx| {
            create_tenant(
                tx,
                &Actor::system(),
                NewTenant {
                    code: "bad code".into(),
                    name: "".into(),
                    trial: false,
                    owner_name: "x".repeat(1000),
                    owner_name_kana: String::new(),
                },
            )
        });
        match r {
            Err(DirectoryError::Invalid(list)) => assert_eq!(list.len(), 3),
            other => panic!("{other:?}"),
        }
        let n = s.read_blocking(|tx| tx.count(&TENANTS, "")).unwrap_or(0);
        assert_eq!(n, 1);
    }
}
