//! Who may see and do what with contracts: the only place that looks at the caller's
//! company, group and roles.
//!
//! - The service owner's group administrators and 管理部 see every contract of the tenant;
//!   other owner-side users see the contracts registered in their group and those they are
//!   on the route of.
//! - A partner company's users see only the contracts whose counterparty is their company.
//! - Owner-side persons in charge, 管理部 and group administrators register contracts.
//! - A step is completed by one of its users; a signing step also by a delegate of one.
//! - The registrant resubmits a sent-back contract and cancels.

use crate::error::{ContractsError, Forbidden};
use crate::model::{Contract, Summary};
use keiyaku_kernel::context::Caller;
use keiyaku_kernel::directory::{Role, User, UserStatus};

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

pub fn can_see(c: &Caller, v: &Visible<'_>) -> bool {
    if !c.owner_side {
        return v.counterparty == c.company_id;
    }
    sees_all(c) || v.registrant_group == c.group_id || v.participants.contains(&c.user_id)
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
