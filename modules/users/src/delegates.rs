//! Delegates (署名/電子捺印操作代行ユーザー): users allowed to perform the signing operation on
//! a signer's behalf, chosen from already-registered users (seed §3.4).
//!
//! Rules: only signers have delegates; a delegate is an existing, active user of the
//! signer's own company whom the caller may pick (`scope::decide` keeps both the signer and
//! the pick inside the caller's company: the own group, or the whole company for the tenant
//! administrator), never the signer themself. `addDelegates` is
//! all-or-nothing: IDs that do not resolve to such a user are 422 naming each one
//! (`user_ids[i]`), repeated IDs in one request are 422 `duplicate`, and IDs that already are
//! delegates of the signer are 409 `conflict` (adding is not idempotent, so a stale dialog
//! learns that someone else added them). Taking the signer role away removes the delegates.

use crate::error::UsersError;
use crate::scope::{self, Decision, Op, Target, require};
use keiyaku_kernel::clock::rfc3339;
use keiyaku_kernel::context::{Actor, Caller};
use keiyaku_kernel::directory::{self, Company, Role, User, UserStatus};
use keiyaku_kernel::store::{Read, StoreError, Table, Tx};
use keiyaku_kernel::validate::{Invalid, Rule};
use serde::{Deserialize, Serialize};

/// `tenant/signer/delegate` → the link.
pub const DELEGATES: Table<DelegateLink> = Table::new("users_delegates");
/// `tenant/delegate/signer` → (): for whom a user may sign.
pub const DELEGATE_OF: Table<()> = Table::new("users_delegate_of");

/// At most this many IDs per request, and delegates per signer.
pub const MAX_PER_REQUEST: usize = 50;
pub const MAX_PER_SIGNER: usize = 100;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DelegateLink {
    pub added_at: String,
    pub added_by: String,
}

/// A delegate as listed.
#[derive(Debug, Clone)]
pub struct Delegate {
    pub user: User,
    pub company: Option<Company>,
    pub group_name: Option<String>,
    pub added_at: String,
}

fn prefix(tenant: &str, signer: &str) -> String {
    format!("{tenant}/{signer}/")
}

/// The delegate IDs of a signer, in user-ID order (no authorization: for other modules).
pub fn delegate_ids(tx: &impl Read, tenant: &str, signer: &str) -> Result<Vec<String>, StoreError> {
    let p = prefix(tenant, signer);
    Ok(tx.scan(&DELEGATES, &p)?.into_iter().filter_map(|(k, _)| k.strip_prefix(&p).map(str::to_string)).collect())
}

/// The signers `user` may sign for (no authorization: for other modules).
pub fn signers_for(tx: &impl Read, tenant: &str, user: &str) -> Result<Vec<String>, StoreError> {
    let p = prefix(tenant, user);
    Ok(tx.scan(&DELEGATE_OF, &p)?.into_iter().filter_map(|(k, ())| k.strip_prefix(&p).map(str::to_string)).collect())
}

pub fn is_delegate(tx: &impl Read, tenant: &str, signer: &str, user: &str) -> Result<bool, StoreError> {
    Ok(tx.get(&DELEGATES, &format!("{tenant}/{signer}/{user}"))?.is_some())
}

fn load_signer(tx: &impl Read, caller: &Caller, signer_id: &str, op: Op) -> Result<User, UsersError> {
    let signer = directory::get_user(tx, &caller.tenant, signer_id)?.ok_or(UsersError::NotFound("user"))?;
    require(caller, op, &Target::user(&signer), "user")?;
    Ok(signer)
}

/// `listDelegates`: a signer's delegates (empty for users who are not signers).
pub fn list(tx: &impl Read, caller: &Caller, signer_id: &str) -> Result<Vec<Delegate>, UsersError> {
    let signer = load_signer(tx, caller, signer_id, Op::ReadDelegates)?;
    let tenant = &caller.tenant;
    let mut out = Vec::new();
    for (k, link) in tx.scan(&DELEGATES, &prefix(tenant, &signer.user_id))? {
        let Some(id) = k.rsplit('/').next() else { continue };
        let Some(user) = directory::get_user(tx, tenant, id)? else { continue };
        let company = directory::get_company(tx, tenant, &user.company_id)?;
        let group_name = directory::get_group(tx, tenant, &user.group_id)?.map(|g| g.name);
        out.push(Delegate { user, company, group_name, added_at: link.added_at });
    }
    Ok(out)
}

/// `addDelegates`: adds several delegates at once (all or nothing); returns the new list.
pub fn add(tx: &mut Tx, caller: &Caller, signer_id: &str, user_ids: &[String]) -> Result<Vec<Delegate>, UsersError> {
    let signer = load_signer(tx, caller, signer_id, Op::ManageDelegates)?;
    if !signer.has(Role::Signer) {
        return Err(UsersError::NotSigner);
    }
    let tenant = caller.tenant.clone();
    if user_ids.is_empty() {
        return Err(UsersError::invalid("user_ids", Rule::Required));
    }
    if user_ids.len() > MAX_PER_REQUEST {
        return Err(UsersError::invalid("user_ids", too_many(MAX_PER_REQUEST)));
    }
    let mut invalid = Vec::new();
    let mut conflicts = Vec::new();
    let mut seen: Vec<&str> = Vec::new();
    let mut adding: Vec<String> = Vec::new();
    for (i, raw) in user_ids.iter().enumerate() {
        let field = format!("user_ids[{i}]");
        let id = raw.trim();
        if seen.contains(&id) {
            invalid.push(Invalid::new(field, Rule::Duplicate));
            continue;
        }
        seen.push(id);
        let found = if id.is_empty() || id.len() > directory::USER_ID_MAX {
            None
        } else {
            directory::get_user(tx, &tenant, id)?
        };
        // Users the caller may not pick are reported exactly like unknown ones.
        let Some(user) =
            found.filter(|u| scope::decide(caller, Op::PickAsDelegate, &Target::user(u)) == Decision::Allow)
        else {
            invalid.push(Invalid::new(field, Rule::Unknown { value: id.chars().take(40).collect() }));
            continue;
        };
        if user.user_id == signer.user_id {
            invalid.push(Invalid::new(
                field,
                Rule::Custom {
                    code: "self",
                    ja: "署名者本人は代行ユーザーにできません。".into(),
                    en: "A signer cannot be their own delegate.".into(),
                },
            ));
        } else if user.status != UserStatus::Active {
            invalid.push(Invalid::new(
                field,
                Rule::Custom {
                    code: "inactive",
                    ja: format!("{}は利用停止中のため代行ユーザーにできません。", user.user_id),
                    en: format!("{} is suspended and cannot be a delegate.", user.user_id),
                },
            ));
        } else if is_delegate(tx, &tenant, &signer.user_id, &user.user_id)? {
            conflicts.push(Invalid::new(field, Rule::Duplicate));
        } else {
            adding.push(user.user_id);
        }
    }
    if !invalid.is_empty() {
        return Err(UsersError::Invalid(invalid));
    }
    if !conflicts.is_empty() {
        return Err(UsersError::Conflict(conflicts));
    }
    let existing = tx.count(&DELEGATES, &prefix(&tenant, &signer.user_id))?;
    if existing + adding.len() > MAX_PER_SIGNER {
        return Err(UsersError::invalid("user_ids", too_many(MAX_PER_SIGNER)));
    }
    let link = DelegateLink { added_at: rfc3339(tx.now()), added_by: caller.user_id.clone() };
    for id in &adding {
        tx.put(&DELEGATES, &format!("{tenant}/{}/{id}", signer.user_id), &link)?;
        tx.put(&DELEGATE_OF, &format!("{tenant}/{id}/{}", signer.user_id), &())?;
    }
    tx.audit(
        &caller.actor(),
        "delegate.add",
        &format!("{tenant}/{}", signer.user_id),
        serde_json::json!({"delegates": adding}),
    )?;
    list(tx, caller, &signer.user_id)
}

fn too_many(max: usize) -> Rule {
    Rule::Custom {
        code: "too_many",
        ja: format!("代行ユーザーは{max}人までです。"),
        en: format!("At most {max} delegates."),
    }
}

/// `removeDelegate`.
pub fn remove(tx: &mut Tx, caller: &Caller, signer_id: &str, delegate_id: &str) -> Result<(), UsersError> {
    let signer = load_signer(tx, caller, signer_id, Op::ManageDelegates)?;
    let tenant = caller.tenant.clone();
    if !tx.remove(&DELEGATES, &format!("{tenant}/{}/{delegate_id}", signer.user_id))? {
        return Err(UsersError::NotFound("delegate"));
    }
    tx.remove(&DELEGATE_OF, &format!("{tenant}/{delegate_id}/{}", signer.user_id))?;
    tx.audit(
        &caller.actor(),
        "delegate.remove",
        &format!("{tenant}/{}", signer.user_id),
        serde_json::json!({"delegate": delegate_id}),
    )?;
    Ok(())
}

/// Removes every delegate of a user who stopped being a signer (same transaction).
pub(crate) fn remove_all(tx: &mut Tx, actor: &Actor, tenant: &str, signer: &str) -> Result<(), StoreError> {
    let ids = delegate_ids(tx, tenant, signer)?;
    if ids.is_empty() {
        return Ok(());
    }
    for id in &ids {
        tx.remove(&DELEGATES, &format!("{tenant}/{signer}/{id}"))?;
        tx.remove(&DELEGATE_OF, &format!("{tenant}/{id}/{signer}"))?;
    }
    tx.audit(
        actor,
        "delegate.remove",
        &format!("{tenant}/{signer}"),
        serde_json::json!({"delegates": ids, "reason": "no longer a signer"}),
    )
}

/// Adds a delegate without a caller or any check (demo data and test fixtures).
pub fn link(tx: &mut Tx, actor: &Actor, tenant: &str, signer: &str, delegate: &str) -> Result<(), StoreError> {
    let link = DelegateLink { added_at: rfc3339(tx.now()), added_by: actor.id.clone() };
    tx.put(&DELEGATES, &format!("{tenant}/{signer}/{delegate}"), &link)?;
    tx.put(&DELEGATE_OF, &format!("{tenant}/{delegate}/{signer}"), &())?;
    tx.audit(actor, "delegate.add", &format!("{tenant}/{signer}"), serde_json::json!({"delegates": [delegate]}))
}
