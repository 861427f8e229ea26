//! The audit log: one record per state change, written in the same transaction as the change.

use crate::clock::rfc3339;
use crate::context::Actor;
use crate::ids::new_id;
use crate::store::{Read, StoreError, Table, Tx};
use serde::{Deserialize, Serialize};

/// Keyed by a time-ordered id, so a scan is chronological.
pub const AUDIT: Table<AuditRecord> = Table::new("audit");

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditRecord {
    pub at: String,
    pub actor: Actor,
    /// Dotted action name, e.g. `user.create`, `auth.login_failed`.
    pub action: String,
    /// What was acted on, e.g. `HXOS2/A1533601`.
    pub target: String,
    #[serde(default)]
    pub detail: serde_json::Value,
}

impl Tx {
    /// Records a state change made in this transaction.
    pub fn audit(
        &mut self,
        actor: &Actor,
        action: &str,
        target: &str,
        detail: serde_json::Value,
    ) -> Result<(), StoreError> {
        let record = AuditRecord {
            at: rfc3339(self.now()),
            actor: actor.clone(),
            action: action.to_string(),
            target: target.to_string(),
            detail,
        };
        let id = new_id();
        self.put(&AUDIT, &id, &record)?;
        if self.observers.is_empty() {
            return Ok(());
        }
        // Taken while they run, so what they audit themselves is not observed again.
        let observers = std::mem::take(&mut self.observers);
        let result = observers.all().iter().try_for_each(|o| o.observe(self, &id, &record));
        self.observers = observers;
        result
    }
}

/// The newest `limit` audit records, newest first.
/// Every audit record, oldest first.
pub fn all(tx: &impl Read) -> Result<Vec<AuditRecord>, StoreError> {
    Ok(tx.scan(&AUDIT, "")?.into_iter().map(|(_, r)| r).collect())
}

pub fn recent(tx: &impl Read, limit: usize) -> Result<Vec<AuditRecord>, StoreError> {
    let total = tx.count(&AUDIT, "")?;
    let skip = total.saturating_sub(limit);
    let mut items: Vec<AuditRecord> = tx.scan_page(&AUDIT, "", skip, limit)?.into_iter().map(|(_, r)| r).collect();
    items.reverse();
    Ok(items)
}
