//! Authorization of the users module, decided in this one place from the caller alone.
//!
//! Targets are loaded from the store by the service before asking (never taken from the
//! request), so the ids compared here are the stored ones.
//!
//! The rules:
//! - **Tenant administrator** — an owner-side (サービスオーナー) user with both `group_admin`
//!   and `administration` (管理部, e.g. the tenant's first administrator): sees and manages the
//!   whole tenant — creates partner companies, groups in any company, users in any group.
//! - **Group administrator** (`group_admin` otherwise, partner or owner side): sees the tree
//!   of the own company; reads and manages the users of the own group only (seed §3.1 (4)).
//! - **Everyone else**: reads themselves (user, seal, delegates); a signer also manages the
//!   own delegates and may search the own group for them.
//! - Nobody changes their own roles or status, nor resets their own password here (that is
//!   `changePassword`); only tenant administrators grant or take away `administration`.
//!
//! Visibility: a target in another company than the caller's (for anyone but a tenant
//! administrator) is [`Decision::Hidden`] and answers 404 exactly like a missing one, so
//! existence does not leak across companies. A visible target the caller may not act on is
//! [`Decision::Forbidden`] (403). Another tenant's data is never reachable: sessions are bound
//! to their tenant (401) and every lookup is keyed by the caller's tenant (404).

use crate::error::UsersError;
use keiyaku_kernel::context::Caller;
use keiyaku_kernel::directory::Role;

/// What the caller wants to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `getOrgTree`.
    ViewTree,
    /// `createCompany` (partner companies).
    CreateCompany,
    /// `createGroup` in a company.
    CreateGroup,
    /// `updateGroup`: rename or move a group.
    ChangeGroup,
    /// `listGroupUsers`.
    ListMembers,
    /// `createUser` and `suggestUserId` in a group.
    CreateUser,
    /// `searchUsers` (the scope of the results is [`search_scope`]).
    SearchUsers,
    /// `getUser`.
    ReadUser,
    /// `updateUser`: name, e-mails, title.
    UpdateUser,
    /// `updateUser` changing roles or status.
    ChangeAccess,
    /// Granting or removing the owner-side `administration` role.
    GrantAdministration,
    /// `resetPassword`.
    ResetPassword,
    /// `getSeal`.
    ReadSeal,
    /// `listDelegates`.
    ReadDelegates,
    /// `addDelegates`, `removeDelegate` of a signer.
    ManageDelegates,
    /// Choosing the target user as a delegate (`addDelegates`).
    PickAsDelegate,
    /// `confirmDelegate`: only the signer, with their certificate PIN.
    ConfirmDelegate,
}

impl Op {
    pub const ALL: [Op; 17] = [
        Op::ViewTree,
        Op::CreateCompany,
        Op::CreateGroup,
        Op::ChangeGroup,
        Op::ListMembers,
        Op::CreateUser,
        Op::SearchUsers,
        Op::ReadUser,
        Op::UpdateUser,
        Op::ChangeAccess,
        Op::GrantAdministration,
        Op::ResetPassword,
        Op::ReadSeal,
        Op::ReadDelegates,
        Op::ManageDelegates,
        Op::PickAsDelegate,
        Op::ConfirmDelegate,
    ];
}

/// What the operation acts on, as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target<'a> {
    /// The caller's tenant as a whole: "may the caller do this kind of thing at all?"
    Tenant,
    Company {
        company_id: &'a str,
    },
    Group {
        company_id: &'a str,
        group_id: &'a str,
    },
    User {
        company_id: &'a str,
        group_id: &'a str,
        user_id: &'a str,
    },
}

impl<'a> Target<'a> {
    pub fn user(u: &'a keiyaku_kernel::directory::User) -> Self {
        Target::User { company_id: &u.company_id, group_id: &u.group_id, user_id: &u.user_id }
    }

    pub fn group(g: &'a keiyaku_kernel::directory::Group) -> Self {
        Target::Group { company_id: &g.company_id, group_id: &g.id }
    }

    fn company_id(&self) -> Option<&'a str> {
        match *self {
            Target::Tenant => None,
            Target::Company { company_id } | Target::Group { company_id, .. } | Target::User { company_id, .. } => {
                Some(company_id)
            }
        }
    }

    fn group_id(&self) -> Option<&'a str> {
        match *self {
            Target::Group { group_id, .. } | Target::User { group_id, .. } => Some(group_id),
            _ => None,
        }
    }

    fn user_id(&self) -> Option<&'a str> {
        match *self {
            Target::User { user_id, .. } => Some(user_id),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Allow,
    /// Visible but not allowed: 403.
    Forbidden,
    /// Not visible to the caller: 404, like something that does not exist.
    Hidden,
}

/// The owner-side administrator who manages the whole tenant.
pub fn is_tenant_admin(c: &Caller) -> bool {
    c.owner_side && c.has(Role::GroupAdmin) && c.has(Role::Administration)
}

/// Which users `searchUsers` shows the caller (and which users the caller may pick as
/// delegates).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SearchScope {
    Tenant,
    Group(String),
}

pub fn search_scope(c: &Caller) -> Option<SearchScope> {
    if is_tenant_admin(c) {
        Some(SearchScope::Tenant)
    } else if c.has(Role::GroupAdmin) || c.has(Role::Signer) {
        Some(SearchScope::Group(c.group_id.clone()))
    } else {
        None
    }
}

/// The decision for `op` on `target`.
pub fn decide(c: &Caller, op: Op, target: &Target<'_>) -> Decision {
    let tenant_admin = is_tenant_admin(c);
    if !tenant_admin
        && let Some(company) = target.company_id()
        && company != c.company_id
    {
        return Decision::Hidden;
    }
    let group_admin = c.has(Role::GroupAdmin);
    let signer = c.has(Role::Signer);
    // On `Target::Tenant` the question is whether some target could be allowed; on a
    // concrete target, whether that one is.
    let own_group = target.group_id().is_none_or(|g| g == c.group_id);
    let is_self = target.user_id().is_some_and(|u| u == c.user_id);
    let could_be_self = target.user_id().is_none_or(|u| u == c.user_id);
    let manages = tenant_admin || (group_admin && own_group);
    let same_company = target.company_id().is_none_or(|co| co == c.company_id);
    let allowed = match op {
        Op::ViewTree => tenant_admin || group_admin,
        Op::CreateCompany | Op::CreateGroup | Op::ChangeGroup | Op::GrantAdministration => tenant_admin,
        Op::ListMembers | Op::CreateUser | Op::UpdateUser => manages,
        Op::SearchUsers => search_scope(c).is_some(),
        Op::ReadUser | Op::ReadSeal | Op::ReadDelegates => could_be_self || manages,
        Op::ChangeAccess | Op::ResetPassword => manages && !is_self,
        // Delegation never crosses companies: the signer, or a group administrator whose own
        // group contains the signer (seed §3.4; the tenant administrator for the owner's own
        // signers) — never the owner side for a partner (or the reverse).
        Op::ManageDelegates => same_company && ((could_be_self && signer) || manages),
        Op::PickAsDelegate => same_company && (tenant_admin || ((group_admin || signer) && own_group)),
        // A mandate is the signer's own act: nobody confirms it for them.
        Op::ConfirmDelegate => could_be_self && signer,
    };
    if allowed { Decision::Allow } else { Decision::Forbidden }
}

pub fn can(c: &Caller, op: Op, target: &Target<'_>) -> bool {
    decide(c, op, target) == Decision::Allow
}

/// `Ok` when allowed; otherwise the error to answer with (403 or 404).
pub fn require(c: &Caller, op: Op, target: &Target<'_>, what: &'static str) -> Result<(), UsersError> {
    match decide(c, op, target) {
        Decision::Allow => Ok(()),
        Decision::Forbidden => Err(UsersError::Forbidden),
        Decision::Hidden => Err(UsersError::NotFound(what)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OWNER: &str = "c-owner";
    const PARTNER: &str = "c-partner";

    fn caller(user: &str, company: &str, group: &str, owner: bool, roles: &[Role]) -> Caller {
        Caller {
            tenant: "HXOS2".into(),
            user_id: user.into(),
            name: user.into(),
            company_id: company.into(),
            group_id: group.into(),
            owner_side: owner,
            roles: roles.to_vec(),
            client: None,
        }
    }

    fn tenant_admin() -> Caller {
        caller("HX000001", OWNER, "g-admin", true, &[Role::GroupAdmin, Role::Administration])
    }
    fn owner_group_admin() -> Caller {
        caller("HX000010", OWNER, "g-tokyo", true, &[Role::GroupAdmin])
    }
    fn partner_admin() -> Caller {
        caller("A1533601", PARTNER, "g-p-root", false, &[Role::GroupAdmin, Role::PersonInCharge, Role::Approver])
    }
    fn partner_signer() -> Caller {
        caller("A1533602", PARTNER, "g-p-root", false, &[Role::Signer])
    }
    fn plain() -> Caller {
        caller("HX000002", OWNER, "g-tokyo", true, &[Role::PersonInCharge, Role::Approver])
    }

    fn user<'a>(company: &'a str, group: &'a str, id: &'a str) -> Target<'a> {
        Target::User { company_id: company, group_id: group, user_id: id }
    }

    /// Who may set (or remove) the delegates of a signer, and whom they may pick: every
    /// caller × the signer's company and group. `Allow` only for the signer themself and for
    /// a group administrator whose own group holds the signer — never across companies.
    #[test]
    fn delegation_matrix() {
        let partner_signer_target = user(PARTNER, "g-p-root", "A1533602");
        let owner_signer_target = user(OWNER, "g-tokyo", "HX000020");
        let other_partner_signer = user("co-other", "g-o-root", "B0000002");
        let partner_other_group = caller("A1533609", PARTNER, "g-p-branch", false, &[Role::GroupAdmin]);
        let other_partner_admin = caller("B0000001", "co-other", "g-o-root", false, &[Role::GroupAdmin]);
        let owner_signer = caller("HX000020", OWNER, "g-tokyo", true, &[Role::Signer]);
        use Decision::{Allow, Forbidden as F, Hidden as H};
        // caller, then for [partner signer A1533602, owner signer HX000020, other partner's
        // signer]: adding or removing a delegate (ManageDelegates), confirming a mandate.
        let cases: [(&str, Caller, [Decision; 3], [Decision; 3]); 6] = [
            ("owner tenant admin", tenant_admin(), [F, Allow, F], [F, F, F]),
            ("owner group admin of the signer's group", owner_group_admin(), [H, Allow, H], [H, F, H]),
            ("partner admin of the signer's group", partner_admin(), [Allow, H, H], [F, H, H]),
            ("partner admin of another group", partner_other_group, [F, H, H], [F, H, H]),
            ("the signer", partner_signer(), [Allow, H, H], [Allow, H, H]),
            ("another partner's admin", other_partner_admin, [H, H, Allow], [H, H, F]),
        ];
        for (who, c, manage, confirm) in cases {
            let targets = [&partner_signer_target, &owner_signer_target, &other_partner_signer];
            for (target, (m, k)) in targets.into_iter().zip(manage.into_iter().zip(confirm)) {
                assert_eq!(decide(&c, Op::ManageDelegates, target), m, "{who} manages {target:?}");
                assert_eq!(decide(&c, Op::ConfirmDelegate, target), k, "{who} confirms for {target:?}");
            }
        }
        // The owner signer's own row, and picking across companies.
        assert!(can(&owner_signer, Op::ManageDelegates, &owner_signer_target));
        assert_ne!(decide(&tenant_admin(), Op::PickAsDelegate, &partner_signer_target), Allow);
        assert_ne!(decide(&tenant_admin(), Op::PickAsDelegate, &user(PARTNER, "g-p-root", "HX000001")), Allow);
        assert_ne!(decide(&partner_admin(), Op::PickAsDelegate, &user(OWNER, "g-admin", "HX000001")), Allow);
    }

    #[test]
    fn tenant_admin_manages_everything_but_their_own_access() {
        let c = tenant_admin();
        for op in Op::ALL {
            if op == Op::ConfirmDelegate {
                // Only the signer confirms their own mandates.
                assert_eq!(decide(&c, op, &user(OWNER, "g-tokyo", "HX000020")), Decision::Forbidden);
                continue;
            }
            if matches!(op, Op::ManageDelegates | Op::PickAsDelegate) {
                // Delegation stays inside a company (see the delegation matrix).
                assert_eq!(decide(&c, op, &user(PARTNER, "g-p-root", "A1533602")), Decision::Forbidden, "{op:?}");
                assert!(can(&c, op, &user(OWNER, "g-tokyo", "HX000020")), "{op:?}");
                continue;
            }
            assert!(can(&c, op, &user(PARTNER, "g-p-root", "A1533602")), "{op:?}");
            assert!(can(&c, op, &Target::Tenant), "{op:?}");
        }
        assert!(!can(&c, Op::ChangeAccess, &user(OWNER, "g-admin", "HX000001")));
        assert!(!can(&c, Op::ResetPassword, &user(OWNER, "g-admin", "HX000001")));
        assert!(can(&c, Op::UpdateUser, &user(OWNER, "g-admin", "HX000001")));
        assert_eq!(search_scope(&c), Some(SearchScope::Tenant));
    }

    #[test]
    fn group_admins_stop_at_their_group_and_do_not_see_other_companies() {
        for c in [partner_admin(), owner_group_admin()] {
            let own_company = c.company_id.clone();
            let other_company = if own_company == OWNER { PARTNER } else { OWNER };
            let own_group = Target::Group { company_id: &own_company, group_id: &c.group_id };
            let other_group = Target::Group { company_id: &own_company, group_id: "g-elsewhere" };
            assert!(can(&c, Op::ViewTree, &Target::Tenant));
            assert!(can(&c, Op::ListMembers, &own_group));
            assert!(can(&c, Op::CreateUser, &own_group));
            assert_eq!(decide(&c, Op::ListMembers, &other_group), Decision::Forbidden);
            assert_eq!(decide(&c, Op::CreateUser, &other_group), Decision::Forbidden);
            assert_eq!(decide(&c, Op::CreateCompany, &Target::Tenant), Decision::Forbidden);
            assert_eq!(decide(&c, Op::CreateGroup, &Target::Company { company_id: &own_company }), Decision::Forbidden);
            assert_eq!(decide(&c, Op::ChangeGroup, &own_group), Decision::Forbidden);
            let colleague = user(&own_company, &c.group_id, "X1");
            let elsewhere = user(&own_company, "g-elsewhere", "X2");
            let foreign = user(other_company, "g-foreign", "X3");
            for op in
                [Op::ReadUser, Op::UpdateUser, Op::ChangeAccess, Op::ResetPassword, Op::ReadSeal, Op::ManageDelegates]
            {
                assert!(can(&c, op, &colleague), "{op:?}");
                assert_eq!(decide(&c, op, &elsewhere), Decision::Forbidden, "{op:?}");
                assert_eq!(decide(&c, op, &foreign), Decision::Hidden, "{op:?}");
            }
            assert_eq!(decide(&c, Op::GrantAdministration, &colleague), Decision::Forbidden);
            assert_eq!(search_scope(&c), Some(SearchScope::Group(c.group_id.clone())));
        }
    }

    #[test]
    fn users_without_group_admin_read_only_themselves() {
        let c = plain();
        let me = user(OWNER, "g-tokyo", "HX000002");
        let colleague = user(OWNER, "g-tokyo", "HX000009");
        for op in [Op::ReadUser, Op::ReadSeal, Op::ReadDelegates] {
            assert!(can(&c, op, &me), "{op:?}");
            assert_eq!(decide(&c, op, &colleague), Decision::Forbidden);
            assert_eq!(decide(&c, op, &user(PARTNER, "g", "A1")), Decision::Hidden);
        }
        for op in
            [Op::UpdateUser, Op::ChangeAccess, Op::ResetPassword, Op::ManageDelegates, Op::ViewTree, Op::SearchUsers]
        {
            assert!(!can(&c, op, &me), "{op:?}");
        }
        assert_eq!(search_scope(&c), None);
    }

    #[test]
    fn signers_manage_their_own_delegates_within_their_group() {
        let c = partner_signer();
        let me = user(PARTNER, "g-p-root", "A1533602");
        assert!(can(&c, Op::ManageDelegates, &me));
        assert!(can(&c, Op::SearchUsers, &Target::Tenant));
        assert!(can(&c, Op::PickAsDelegate, &user(PARTNER, "g-p-root", "A1533601")));
        assert_eq!(decide(&c, Op::PickAsDelegate, &user(PARTNER, "g-p-branch", "A1533609")), Decision::Forbidden);
        assert_eq!(decide(&c, Op::PickAsDelegate, &user(OWNER, "g-admin", "HX000001")), Decision::Hidden);
        assert!(!can(&c, Op::ManageDelegates, &user(PARTNER, "g-p-root", "A1533603")));
        assert!(!can(&c, Op::UpdateUser, &me));
        assert_eq!(search_scope(&c), Some(SearchScope::Group("g-p-root".into())));
    }

    #[test]
    fn administration_without_group_admin_or_on_the_partner_side_is_not_tenant_admin() {
        let c = caller("HX5", OWNER, "g", true, &[Role::Administration]);
        assert!(!is_tenant_admin(&c));
        assert!(!can(&c, Op::ViewTree, &Target::Tenant));
        let c = caller("A5", PARTNER, "g", false, &[Role::Administration, Role::GroupAdmin]);
        assert!(!is_tenant_admin(&c));
        assert_eq!(decide(&c, Op::ReadUser, &user(OWNER, "g", "HX000001")), Decision::Hidden);
        assert!(require(&c, Op::CreateCompany, &Target::Tenant, "company").is_err());
    }
}
