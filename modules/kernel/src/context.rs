//! Who is acting: the [`Actor`] recorded in the audit log and the authenticated [`Caller`]
//! every tenant-scoped service decides authorization from.

use crate::directory::Role;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActorKind {
    Operator,
    User,
    /// Someone not logged in (a public form, a one-time link).
    Public,
    /// The appliance itself (start-up, demo data, background jobs).
    System,
}

/// The subject of an audit record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    pub kind: ActorKind,
    pub tenant: Option<String>,
    pub id: String,
    /// Client address (IP) the request came from, when there was a request.
    pub client: Option<String>,
}

impl Actor {
    pub fn system() -> Self {
        Self { kind: ActorKind::System, tenant: None, id: "system".into(), client: None }
    }

    pub fn operator(client: Option<String>) -> Self {
        Self { kind: ActorKind::Operator, tenant: None, id: "operator".into(), client }
    }

    pub fn public(tenant: Option<String>, client: Option<String>) -> Self {
        Self { kind: ActorKind::Public, tenant, id: "anonymous".into(), client }
    }
}

/// An authenticated tenant user, as resolved from a session. Services decide what the caller
/// may do from these fields only, never from ids in the request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub tenant: String,
    pub user_id: String,
    pub name: String,
    pub company_id: String,
    pub group_id: String,
    /// True when the caller's company is the tenant's service owner.
    pub owner_side: bool,
    pub roles: Vec<Role>,
    pub client: Option<String>,
}

impl Caller {
    pub fn has(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }

    pub fn actor(&self) -> Actor {
        Actor {
            kind: ActorKind::User,
            tenant: Some(self.tenant.clone()),
            id: self.user_id.clone(),
            client: self.client.clone(),
        }
    }
}
