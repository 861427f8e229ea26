//! Webhook endpoints of a tenant: a target URL, the event types it wants and its signing
//! secret (sealed with the key-encryption key; shown once, at creation).

use crate::IntegrationsError;
use crate::delivery;
use crate::events::EventType;
use jiff::Timestamp;
use keiyaku_kernel::context::Actor;
use keiyaku_kernel::kek::Sealed;
use keiyaku_kernel::store::{Read, StoreError, Table, Tx};
use serde::{Deserialize, Serialize};

/// `tenant/{id}` → the endpoint.
pub const WEBHOOKS: Table<Webhook> = Table::new("integrations_webhooks");

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Webhook {
    pub id: String,
    pub tenant: String,
    pub url: String,
    pub events: Vec<EventType>,
    /// The signing key's bytes, sealed for `tenant/id`.
    pub secret: Sealed,
    pub enabled: bool,
    /// Consecutive deliveries given up (reset by a delivered one).
    pub failures: u32,
    pub created_at: Timestamp,
    pub created_by: String,
    #[serde(default)]
    pub disabled_at: Option<Timestamp>,
}

pub fn key(tenant: &str, id: &str) -> String {
    format!("{tenant}/{id}")
}

/// The tenant's endpoints, oldest first.
pub fn list(tx: &impl Read, tenant: &str) -> Result<Vec<Webhook>, StoreError> {
    let mut hooks: Vec<Webhook> = tx.scan(&WEBHOOKS, &format!("{tenant}/"))?.into_iter().map(|(_, h)| h).collect();
    hooks.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
    Ok(hooks)
}

pub fn get(tx: &impl Read, tenant: &str, id: &str) -> Result<Option<Webhook>, StoreError> {
    if id.contains('/') {
        return Ok(None);
    }
    tx.get(&WEBHOOKS, &key(tenant, id))
}

/// Stores a new endpoint (checked and sealed by the caller), audited as `webhook.create`.
pub fn create(tx: &mut Tx, actor: &Actor, hook: &Webhook, max: usize) -> Result<(), IntegrationsError> {
    if tx.count(&WEBHOOKS, &format!("{}/", hook.tenant))? >= max {
        return Err(IntegrationsError::TooMany { max });
    }
    tx.put(&WEBHOOKS, &key(&hook.tenant, &hook.id), hook)?;
    let events: Vec<&str> = hook.events.iter().map(|e| e.as_str()).collect();
    tx.audit(
        actor,
        "webhook.create",
        &key(&hook.tenant, &hook.id),
        serde_json::json!({"url": hook.url, "events": events}),
    )?;
    Ok(())
}

/// Deletes an endpoint: its pending deliveries are abandoned, its delivery log and
/// deliveries removed; audited as `webhook.delete`.
pub fn delete(tx: &mut Tx, actor: &Actor, tenant: &str, id: &str) -> Result<Webhook, IntegrationsError> {
    let hook = get(tx, tenant, id)?.ok_or(IntegrationsError::NotFound("webhook"))?;
    let k = key(tenant, id);
    let abandoned = delivery::abandon(tx, tenant, id)?;
    let prefix = format!("{k}/");
    for (dk, _) in tx.scan(&delivery::DELIVERIES, &prefix)? {
        tx.remove(&delivery::DELIVERIES, &dk)?;
    }
    for (ak, _) in tx.scan(&delivery::ATTEMPTS, &prefix)? {
        tx.remove(&delivery::ATTEMPTS, &ak)?;
    }
    tx.remove(&WEBHOOKS, &k)?;
    tx.audit(actor, "webhook.delete", &k, serde_json::json!({"url": hook.url, "abandoned": abandoned}))?;
    Ok(hook)
}
