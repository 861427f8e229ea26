//! Who may do what with webhooks and the event feed, decided from the [`Caller`] only. Every
//! service function asks [`decide`]; nothing else in the module looks at roles.

use crate::IntegrationsError;
use crate::events::Event;
use keiyaku_kernel::context::Caller;
use keiyaku_kernel::directory::Role;

/// The operations of the module's API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    ListWebhooks,
    CreateWebhook,
    DeleteWebhook,
    ListWebhookDeliveries,
    TestWebhook,
    ListEvents,
}

impl Op {
    pub const ALL: [Op; 6] = [
        Op::ListWebhooks,
        Op::CreateWebhook,
        Op::DeleteWebhook,
        Op::ListWebhookDeliveries,
        Op::TestWebhook,
        Op::ListEvents,
    ];
}

/// Which events an allowed caller sees.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sight {
    /// Every event of the tenant.
    Tenant,
    /// Events about the company's own users, certificates and the contracts it is the
    /// counterparty of.
    Company(String),
}

impl Sight {
    pub fn sees(&self, event: &Event) -> bool {
        match self {
            Sight::Tenant => true,
            Sight::Company(c) => event.company.as_deref() == Some(c.as_str()),
        }
    }
}

/// Webhooks are the tenant's integration: the service owner's group administrators manage
/// them (their deliveries carry every event of the tenant). The event feed is read by the
/// owner's group administrators and 管理部 (the whole tenant) and by a partner's group
/// administrators (their company's events).
pub fn decide(caller: &Caller, op: Op) -> Result<Sight, IntegrationsError> {
    let owner_admin = caller.owner_side && caller.has(Role::GroupAdmin);
    match op {
        Op::ListWebhooks | Op::CreateWebhook | Op::DeleteWebhook | Op::ListWebhookDeliveries | Op::TestWebhook => {
            if owner_admin {
                Ok(Sight::Tenant)
            } else {
                Err(IntegrationsError::Forbidden)
            }
        }
        Op::ListEvents if owner_admin || (caller.owner_side && caller.has(Role::Administration)) => Ok(Sight::Tenant),
        Op::ListEvents if caller.has(Role::GroupAdmin) => Ok(Sight::Company(caller.company_id.clone())),
        Op::ListEvents => Err(IntegrationsError::Forbidden),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caller(owner_side: bool, roles: &[Role]) -> Caller {
        Caller {
            tenant: "HXOS2".into(),
            user_id: "U1".into(),
            name: "利用者".into(),
            company_id: if owner_side { "C-OWNER".into() } else { "C-PARTNER".into() },
            group_id: "G1".into(),
            owner_side,
            roles: roles.to_vec(),
            client: None,
        }
    }

    /// Every role on either side, alone, against every operation.
    #[test]
    fn decisions_for_every_role_and_operation() {
        use Op::*;
        let manage = [ListWebhooks, CreateWebhook, DeleteWebhook, ListWebhookDeliveries, TestWebhook];
        let tenant = Ok(Sight::Tenant);
        let partner = Ok(Sight::Company("C-PARTNER".into()));
        let no = Err("forbidden");
        // (owner side, role, decision for webhook management, decision for the event feed)
        type Decision = Result<Sight, &'static str>;
        let table: [(bool, Role, Decision, Decision); 10] = [
            (true, Role::GroupAdmin, tenant.clone(), tenant.clone()),
            (true, Role::Administration, no.clone(), tenant.clone()),
            (true, Role::PersonInCharge, no.clone(), no.clone()),
            (true, Role::Approver, no.clone(), no.clone()),
            (true, Role::Signer, no.clone(), no.clone()),
            (false, Role::GroupAdmin, no.clone(), partner.clone()),
            (false, Role::Administration, no.clone(), no.clone()),
            (false, Role::PersonInCharge, no.clone(), no.clone()),
            (false, Role::Approver, no.clone(), no.clone()),
            (false, Role::Signer, no.clone(), no.clone()),
        ];
        let code = |r: Result<Sight, IntegrationsError>| {
            r.map_err(|e| if matches!(e, IntegrationsError::Forbidden) { "forbidden" } else { "other" })
        };
        for (owner, role, webhooks, events) in table {
            let c = caller(owner, &[role]);
            for op in Op::ALL {
                let expected = if manage.contains(&op) { webhooks.clone() } else { events.clone() };
                assert_eq!(code(decide(&c, op)), expected, "{role:?} owner={owner} {op:?}");
            }
        }
        // No role at all sees nothing.
        for op in Op::ALL {
            assert!(decide(&caller(true, &[]), op).is_err());
        }
    }
}
