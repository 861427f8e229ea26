//! Who may see and do what with contracts: the only place that looks at the caller's
//! company, group and roles. Every action is decided by [`decide`] from the caller, the
//! contract and the [`Facts`] read for it (the mandates the caller holds, today's date);
//! `flow` calls it before acting and the contract view derives every `can_*` flag from it.
//!
//! - The service owner's group administrators and 管理部 see every contract of the tenant;
//!   other owner-side users see the contracts registered in their group and those they are
//!   on the route of.
//! - A partner company's users see only the contracts whose counterparty is their company.
//! - Owner-side persons in charge, 管理部 and group administrators register contracts.
//! - A step is completed by one of its users; a signing step also by a delegate of one.
//! - The registrant resubmits a sent-back contract and cancels.
//! - Signing needs authority at that moment: the principal (the caller, or the signer a
//!   delegate acts for) active and still a signer; a delegate needs a confirmed mandate whose
//!   limits (amount, document type, last day) cover the contract.
//! - 訂正 by the registrant while sent back, or by 管理部 / group administrators; 削除 by
//!   the latter only after the retention period.

use crate::error::{Conflict, ContractsError, Forbidden};
use crate::model::{Contract, Status, Summary};
use jiff::civil::Date;
use keiyaku_kernel::context::Caller;
use keiyaku_kernel::directory::{self, Role, User, UserStatus};
use keiyaku_kernel::store::{Read, StoreError};
use keiyaku_users::delegates::{Exceeded, Mandate};

/// What the caller wants to do with a contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op<'a> {
    View,
    Download,
    Approve,
    SendBack,
    Resubmit,
    Cancel,
    /// Sign one's own signature on the current signing step.
    Sign,
    /// Sign for this user of the current signing step, as their delegate.
    SignOnBehalf(&'a str),
    Correct,
    Delete,
}

/// A signer of the current signing step the caller holds a mandate from.
#[derive(Debug, Clone)]
pub struct Principal {
    pub user: User,
    pub mandate: Mandate,
}

/// What deciding needs besides the caller and the contract, read by [`facts`].
#[derive(Debug, Clone)]
pub struct Facts {
    /// Today in Japan.
    pub today: Date,
    /// The caller's own directory record (its status and roles as stored now).
    pub me: Option<User>,
    /// The current signing step's users the caller holds a mandate from.
    pub principals: Vec<Principal>,
}

impl Facts {
    pub fn principal(&self, user_id: &str) -> Option<&Principal> {
        self.principals.iter().find(|p| p.user.user_id == user_id)
    }
}

/// Reads the [`Facts`] for `caller` on `contract`.
pub fn facts(tx: &impl Read, caller: &Caller, contract: &Contract, today: Date) -> Result<Facts, StoreError> {
    let me = directory::get_user(tx, &caller.tenant, &caller.user_id)?;
    let mut principals = Vec::new();
    if let Some(step) = contract.current_step().filter(|s| s.is_signing()) {
        for u in step.users.iter().filter(|u| **u != caller.user_id) {
            let Some(mandate) = keiyaku_users::delegates::mandate(tx, &caller.tenant, u, &caller.user_id)? else {
                continue;
            };
            if let Some(user) = directory::get_user(tx, &caller.tenant, u)? {
                principals.push(Principal { user, mandate });
            }
        }
    }
    Ok(Facts { today, me, principals })
}

/// The one decision: `Ok` when `caller` may do `op` with `contract` now; otherwise the
/// precise refusal (404 for contracts the caller may not see, 403 with a `code`, 409 for a
/// state that does not allow it).
pub fn decide(c: &Caller, contract: &Contract, facts: &Facts, op: Op<'_>) -> Result<(), ContractsError> {
    require_visible(c, contract)?;
    let circulating = || {
        if contract.status == Status::Circulating {
            Ok(())
        } else {
            Err(ContractsError::Conflict(Conflict::NotCirculating))
        }
    };
    let registrant = || require_registrant(c, contract);
    match op {
        Op::View | Op::Download => Ok(()),
        Op::Approve => {
            circulating()?;
            if !on_current_step(c, contract) {
                return Err(ContractsError::Forbidden(Forbidden::NotYourStep));
            }
            if contract.current_step().is_some_and(|s| s.is_signing()) {
                return Err(ContractsError::Conflict(Conflict::SigningStep));
            }
            Ok(())
        }
        Op::SendBack => {
            circulating()?;
            let as_delegate = facts.principals.iter().any(|p| p.mandate.is_confirmed());
            if on_current_step(c, contract) || as_delegate {
                Ok(())
            } else {
                Err(ContractsError::Forbidden(Forbidden::NotYourStep))
            }
        }
        Op::Resubmit => {
            registrant()?;
            if contract.status == Status::SentBack {
                Ok(())
            } else {
                Err(ContractsError::Conflict(Conflict::NotSentBack))
            }
        }
        Op::Cancel => {
            registrant()?;
            if matches!(contract.status, Status::Circulating | Status::SentBack) {
                Ok(())
            } else {
                Err(ContractsError::Conflict(Conflict::Closed))
            }
        }
        Op::Sign => {
            signing_step(contract)?;
            if !on_current_step(c, contract) {
                return Err(ContractsError::Forbidden(Forbidden::NotSignerOrDelegate));
            }
            match &facts.me {
                Some(me) => require_principal(me),
                None => Err(ContractsError::Forbidden(Forbidden::PrincipalSuspended)),
            }
        }
        Op::SignOnBehalf(user_id) => {
            signing_step(contract)?;
            let on_step = contract.current_step().is_some_and(|s| s.users.iter().any(|u| u == user_id));
            let Some(p) = facts.principal(user_id).filter(|_| on_step && user_id != c.user_id) else {
                return Err(ContractsError::Forbidden(Forbidden::NotSignerOrDelegate));
            };
            require_principal(&p.user)?;
            if p.user.company_id != c.company_id || facts.me.as_ref().is_none_or(|m| m.status != UserStatus::Active) {
                return Err(ContractsError::Forbidden(Forbidden::NotSignerOrDelegate));
            }
            if !p.mandate.is_confirmed() {
                return Err(ContractsError::Forbidden(Forbidden::MandatePending));
            }
            p.mandate
                .covers(contract.amount, contract.doc_type, facts.today)
                .map_err(|e| ContractsError::Forbidden(Forbidden::MandateExceeded(e)))
        }
        Op::Correct => {
            let registrant_may = contract.registrant == c.user_id && contract.status == Status::SentBack;
            if !(registrant_may || sees_all(c)) {
                return Err(ContractsError::Forbidden(Forbidden::NotRegistrant));
            }
            if contract.status == Status::Deleted { Err(ContractsError::Conflict(Conflict::Closed)) } else { Ok(()) }
        }
        Op::Delete => {
            if !sees_all(c) {
                return Err(ContractsError::Forbidden(Forbidden::NotRegistrant));
            }
            if contract.status == Status::Deleted {
                return Err(ContractsError::Conflict(Conflict::Closed));
            }
            if facts.today <= contract.retention_until {
                return Err(ContractsError::Conflict(Conflict::Retention));
            }
            Ok(())
        }
    }
}

fn signing_step(contract: &Contract) -> Result<(), ContractsError> {
    if contract.status != Status::Circulating {
        return Err(ContractsError::Conflict(Conflict::NotCirculating));
    }
    match contract.current_step() {
        Some(s) if s.is_signing() => Ok(()),
        Some(_) => Err(ContractsError::Conflict(Conflict::NotSigningStep)),
        None => Err(ContractsError::Conflict(Conflict::NotCirculating)),
    }
}

/// For whom the caller would sign now: themself when `Sign` is allowed, else the first
/// signer of the step whose mandate allows it (`on_behalf_of` picks one when given).
pub fn signing_for(
    c: &Caller,
    contract: &Contract,
    facts: &Facts,
    on_behalf_of: Option<&str>,
) -> Result<String, ContractsError> {
    if let Some(p) = on_behalf_of.map(str::trim).filter(|p| !p.is_empty() && *p != c.user_id) {
        decide(c, contract, facts, Op::SignOnBehalf(p))?;
        return Ok(p.to_string());
    }
    let own = decide(c, contract, facts, Op::Sign);
    if own.is_ok() || on_current_step(c, contract) {
        return own.map(|()| c.user_id.clone());
    }
    let mut first_refusal = None;
    for p in &facts.principals {
        match decide(c, contract, facts, Op::SignOnBehalf(&p.user.user_id)) {
            Ok(()) => return Ok(p.user.user_id.clone()),
            Err(e) => {
                first_refusal.get_or_insert(e);
            }
        }
    }
    Err(first_refusal.unwrap_or(own.err().unwrap_or(ContractsError::Forbidden(Forbidden::NotSignerOrDelegate))))
}

/// Why a mandate does not cover a contract, for messages.
pub fn exceeded_text(e: Exceeded, lang: keiyaku_kernel::Lang) -> &'static str {
    match e {
        Exceeded::Expired => lang.pick("委任の有効期限が過ぎています。", "The mandate has expired."),
        Exceeded::Amount => lang.pick(
            "この契約の金額は委任された金額の上限を超えています。",
            "The contract's amount is above the mandate's limit.",
        ),
        Exceeded::DocType => lang
            .pick("この文書種別は委任の範囲に含まれていません。", "This document type is not covered by the mandate."),
    }
}

/// What visibility looks at, common to contracts and their index records.
pub struct Visible<'a> {
    pub counterparty: &'a str,
    pub registrant_group: &'a str,
    pub participants: &'a [String],
}

impl<'a> Visible<'a> {
    pub fn summary(s: &'a Summary) -> Self {
        Self { counterparty: &s.counterparty, registrant_group: &s.registrant_group, participants: &s.participants }
    }
}

pub fn sees_all(c: &Caller) -> bool {
    c.owner_side && (c.has(Role::GroupAdmin) || c.has(Role::Administration))
}

/// Which of a tenant's contracts a caller sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sight<'a> {
    /// Every one (the owner's administrators).
    All,
    /// Those with this counterparty (a partner's users: their own company's).
    Counterparty(&'a str),
    /// Those registered by the caller's group or with the caller on the route.
    Own,
}

pub fn sight(c: &Caller) -> Sight<'_> {
    if !c.owner_side {
        Sight::Counterparty(&c.company_id)
    } else if sees_all(c) {
        Sight::All
    } else {
        Sight::Own
    }
}

pub fn can_see(c: &Caller, v: &Visible<'_>) -> bool {
    match sight(c) {
        Sight::All => true,
        Sight::Counterparty(company) => v.counterparty == company,
        Sight::Own => v.registrant_group == c.group_id || v.participants.contains(&c.user_id),
    }
}

/// Visible to `c`, or 404 (never tell that an invisible contract exists).
pub fn require_visible(c: &Caller, contract: &Contract) -> Result<(), ContractsError> {
    let participants = contract.participants();
    let v = Visible {
        counterparty: &contract.counterparty,
        registrant_group: &contract.registrant_group,
        participants: &participants,
    };
    if can_see(c, &v) { Ok(()) } else { Err(ContractsError::NotFound("contract")) }
}

pub fn can_register(c: &Caller) -> bool {
    c.owner_side && (c.has(Role::PersonInCharge) || c.has(Role::Administration) || c.has(Role::GroupAdmin))
}

pub fn require_register(c: &Caller) -> Result<(), ContractsError> {
    if can_register(c) { Ok(()) } else { Err(ContractsError::Forbidden(Forbidden::Register)) }
}

pub fn require_registrant(c: &Caller, contract: &Contract) -> Result<(), ContractsError> {
    if contract.registrant == c.user_id { Ok(()) } else { Err(ContractsError::Forbidden(Forbidden::NotRegistrant)) }
}

/// The caller is one of the current step's users.
pub fn on_current_step(c: &Caller, contract: &Contract) -> bool {
    contract.current_step().is_some_and(|s| s.users.contains(&c.user_id))
}

/// Authority at the moment of signing: the principal whose certificate signs (the caller, or
/// the signer a delegate acts for) is active and still holds the signer role.
pub fn require_principal(principal: &User) -> Result<(), ContractsError> {
    if principal.status != UserStatus::Active {
        return Err(ContractsError::Forbidden(Forbidden::PrincipalSuspended));
    }
    if !principal.has(Role::Signer) {
        return Err(ContractsError::Forbidden(Forbidden::NotSigner));
    }
    Ok(())
}
