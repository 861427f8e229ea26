//! Who may do what in the support module, decided from the [`Caller`] only. Every service
//! function asks here; nothing else in the module looks at roles.

use crate::SupportError;
use crate::notices::{Audience, Notice};
use jiff::Timestamp;
use keiyaku_kernel::context::Caller;
use keiyaku_kernel::directory::Role;

/// Managing notices and support documents (createNotice, uploadSupportDocument, deletions):
/// the service owner's group administrators.
pub fn can_manage(caller: &Caller) -> bool {
    caller.owner_side && caller.has(Role::GroupAdmin)
}

pub fn require_manager(caller: &Caller) -> Result<(), SupportError> {
    if can_manage(caller) { Ok(()) } else { Err(SupportError::Forbidden) }
}

/// Whether a notice is shown to the caller now: published, not expired, and meant for the
/// caller's side (owner company or partners).
pub fn notice_visible(notice: &Notice, caller: &Caller, now: Timestamp) -> bool {
    let for_caller = match notice.audience {
        Audience::All => true,
        Audience::Owner => caller.owner_side,
        Audience::Partners => !caller.owner_side,
    };
    for_caller && notice.is_live(now)
}

/// Which notices a list may include: managers may ask for every notice (scheduled and
/// expired ones too, for maintenance); anyone else sees the visible ones only.
pub fn notice_listed(notice: &Notice, caller: &Caller, now: Timestamp, include_hidden: bool) -> bool {
    (include_hidden && can_manage(caller)) || notice_visible(notice, caller, now)
}

/// The part of the usage report a caller may see.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UsageScope {
    /// Every company of the tenant: the owner's group administrators and 管理部.
    Tenant,
    /// The caller's own company only.
    Company(String),
}

pub fn usage_scope(caller: &Caller) -> UsageScope {
    if caller.owner_side && (caller.has(Role::GroupAdmin) || caller.has(Role::Administration)) {
        UsageScope::Tenant
    } else {
        UsageScope::Company(caller.company_id.clone())
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn caller(owner_side: bool, roles: &[Role]) -> Caller {
        Caller {
            tenant: "HXOS2".into(),
            user_id: if owner_side { "HX000001".into() } else { "A1533601".into() },
            name: "x".into(),
            company_id: if owner_side { "owner".into() } else { "partner".into() },
            group_id: "g".into(),
            owner_side,
            roles: roles.to_vec(),
            client: None,
        }
    }

    #[test]
    fn only_owner_group_admins_manage() {
        assert!(can_manage(&caller(true, &[Role::GroupAdmin])));
        assert!(!can_manage(&caller(false, &[Role::GroupAdmin])));
        assert!(!can_manage(&caller(true, &[Role::Administration, Role::Approver])));
        assert!(matches!(require_manager(&caller(false, &[Role::GroupAdmin])), Err(SupportError::Forbidden)));
    }

    #[test]
    fn usage_scope_by_side_and_role() {
        assert_eq!(usage_scope(&caller(true, &[Role::Administration])), UsageScope::Tenant);
        assert_eq!(usage_scope(&caller(true, &[Role::Approver])), UsageScope::Company("owner".into()));
        assert_eq!(usage_scope(&caller(false, &[Role::GroupAdmin])), UsageScope::Company("partner".into()));
    }
}
