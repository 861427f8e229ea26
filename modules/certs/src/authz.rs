//! Authorization of the certs module, decided in this one place from the caller alone (the
//! holder is loaded from the store by the service, never taken from the request).
//!
//! - Reading a signer's certificate: whoever may read that user (`keiyaku_users::scope`):
//!   the user, their group administrator, the tenant administrator.
//! - Testing and revoking it (証明書のテスト, 失効申請): the holder, or the administrator who
//!   manages the holder's group.
//! - Importing a certificate and key from an outside CA (PKCS#12, `importCertificate`):
//!   the administrators who may revoke the holder's certificate — the administrator who
//!   manages the holder's group, the tenant administrator — but not the holder as such (an
//!   administrator vouches for the outside certificate and sets its PIN).
//! - Unlocking a certificate's PIN after five wrong ones: the administrator who manages the
//!   holder's group, never the holder themself.
//! - Marking a ticket order paid: the tenant administrator (owner side, グループ管理者 +
//!   管理部).
//! - Everything of the public flows (ordering, applying, approving) is authorised by the
//!   one-time link in the request, checked by [`crate::links`].
//!
//! Users of another company than the caller's are invisible (404), as in the users module.

use crate::error::CertsError;
use keiyaku_kernel::context::Caller;
use keiyaku_kernel::directory::User;
use keiyaku_users::scope::{self, Decision, Target};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    ReadCertificate,
    TestCertificate,
    RevokeCertificate,
    /// PINロック解除: the administrator who manages the holder's group, never the holder.
    UnlockPin,
    /// 証明書の取込み (PKCS#12 from an outside CA): revocation's administrators.
    Import,
    MarkOrderPaid,
}

/// The decision for `op` (on the certificate of `holder` when given).
pub fn decide(c: &Caller, op: Op, holder: Option<&User>) -> Decision {
    match (op, holder) {
        (Op::MarkOrderPaid, _) => {
            if scope::is_tenant_admin(c) {
                Decision::Allow
            } else {
                Decision::Forbidden
            }
        }
        (_, None) => Decision::Forbidden,
        (Op::UnlockPin, Some(u)) => match scope::decide(c, scope::Op::UpdateUser, &Target::user(u)) {
            Decision::Allow if u.user_id == c.user_id => Decision::Forbidden,
            d => d,
        },
        (Op::Import, Some(u)) => scope::decide(c, scope::Op::UpdateUser, &Target::user(u)),
        (Op::ReadCertificate, Some(u)) => scope::decide(c, scope::Op::ReadUser, &Target::user(u)),
        (Op::TestCertificate | Op::RevokeCertificate, Some(u)) => {
            match scope::decide(c, scope::Op::UpdateUser, &Target::user(u)) {
                Decision::Forbidden if u.user_id == c.user_id => Decision::Allow,
                d => d,
            }
        }
    }
}

/// `Ok` when allowed, otherwise 403 or (invisible) 404.
pub fn require(c: &Caller, op: Op, holder: Option<&User>) -> Result<(), CertsError> {
    match decide(c, op, holder) {
        Decision::Allow => Ok(()),
        Decision::Forbidden => Err(CertsError::Forbidden),
        Decision::Hidden => Err(CertsError::NotFound("user")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use keiyaku_kernel::directory::{Role, UserStatus};

    fn caller(id: &str, company: &str, group: &str, owner: bool, roles: &[Role]) -> Caller {
        Caller {
            tenant: "HXOS2".into(),
            user_id: id.into(),
            name: id.into(),
            company_id: company.into(),
            group_id: group.into(),
            owner_side: owner,
            roles: roles.to_vec(),
            client: None,
        }
    }

    fn user(id: &str, company: &str, group: &str) -> User {
        User {
            tenant: "HXOS2".into(),
            user_id: id.into(),
            name: id.into(),
            email: format!("{id}@example.jp"),
            sub_emails: vec![],
            roles: vec![Role::Signer],
            status: UserStatus::Active,
            company_id: company.into(),
            group_id: group.into(),
            title: None,
            created_at: String::new(),
        }
    }

    #[test]
    fn holder_and_their_group_admin_manage_the_certificate() {
        let signer = user("A1533602", "partner", "root");
        let me = caller("A1533602", "partner", "root", false, &[Role::Signer]);
        let admin = caller("A1533601", "partner", "root", false, &[Role::GroupAdmin]);
        let colleague = caller("A1533603", "partner", "root", false, &[Role::PersonInCharge]);
        let branch_admin = caller("A1533609", "partner", "branch", false, &[Role::GroupAdmin]);
        let owner_admin = caller("HX000001", "owner", "adm", true, &[Role::GroupAdmin, Role::Administration]);
        let owner_signer = caller("HX000003", "owner", "root", true, &[Role::Signer]);
        for op in [Op::ReadCertificate, Op::TestCertificate, Op::RevokeCertificate] {
            assert_eq!(decide(&me, op, Some(&signer)), Decision::Allow, "{op:?}");
            assert_eq!(decide(&admin, op, Some(&signer)), Decision::Allow, "{op:?}");
            assert_eq!(decide(&owner_admin, op, Some(&signer)), Decision::Allow, "{op:?}");
            assert_eq!(decide(&colleague, op, Some(&signer)), Decision::Forbidden, "{op:?}");
            assert_eq!(decide(&branch_admin, op, Some(&signer)), Decision::Forbidden, "{op:?}");
            assert_eq!(decide(&owner_signer, op, Some(&signer)), Decision::Hidden, "{op:?}");
        }
        assert!(require(&owner_admin, Op::MarkOrderPaid, None).is_ok());
        for c in [&me, &admin, &owner_signer] {
            assert!(matches!(require(c, Op::MarkOrderPaid, None), Err(CertsError::Forbidden)));
        }
        assert!(matches!(require(&owner_signer, Op::ReadCertificate, Some(&signer)), Err(CertsError::NotFound(_))));
    }

    /// Roles × (a user of the caller's own company / of another company): who may import a
    /// certificate for the user, against who may revoke it.
    #[test]
    fn import_is_for_the_administrators_who_may_revoke() {
        use Decision::{Allow, Forbidden, Hidden};
        let partner_signer = user("A1533602", "partner", "root");
        let owner_signer_user = user("HX000003", "owner", "root");
        // (caller, for the partner's signer: import, revoke; for the owner's signer: import, revoke)
        let table: [(Caller, [Decision; 4]); 8] = [
            (caller("A1533602", "partner", "root", false, &[Role::Signer]), [Forbidden, Allow, Hidden, Hidden]),
            (caller("A1533601", "partner", "root", false, &[Role::GroupAdmin]), [Allow, Allow, Hidden, Hidden]),
            (
                caller("A1533603", "partner", "root", false, &[Role::PersonInCharge]),
                [Forbidden, Forbidden, Hidden, Hidden],
            ),
            (
                caller("A1533609", "partner", "branch", false, &[Role::GroupAdmin]),
                [Forbidden, Forbidden, Hidden, Hidden],
            ),
            (
                caller("HX000001", "owner", "adm", true, &[Role::GroupAdmin, Role::Administration]),
                [Allow, Allow, Allow, Allow],
            ),
            (caller("HX000003", "owner", "root", true, &[Role::Signer]), [Hidden, Hidden, Forbidden, Allow]),
            (caller("HX000004", "owner", "root", true, &[Role::Approver]), [Hidden, Hidden, Forbidden, Forbidden]),
            (caller("HX000005", "owner", "root", true, &[Role::GroupAdmin]), [Hidden, Hidden, Allow, Allow]),
        ];
        for (c, want) in &table {
            let got = [
                decide(c, Op::Import, Some(&partner_signer)),
                decide(c, Op::RevokeCertificate, Some(&partner_signer)),
                decide(c, Op::Import, Some(&owner_signer_user)),
                decide(c, Op::RevokeCertificate, Some(&owner_signer_user)),
            ];
            assert_eq!(&got, want, "{} {:?}", c.user_id, c.roles);
            // Whoever may import may revoke.
            for (import, revoke) in [(got[0], got[1]), (got[2], got[3])] {
                assert!(import != Allow || revoke == Allow, "{}", c.user_id);
            }
        }
        assert_eq!(decide(&table[4].0, Op::Import, None), Forbidden);
    }
}
