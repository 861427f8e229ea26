//! Audit observers: how a module follows every audited change of the others without any of
//! them knowing. A module that offers an [`AuditObserver`] (through
//! [`Module::audit_observer`](crate::module::Module::audit_observer)) is called by
//! [`Tx::audit`] right after the record is written, inside the same transaction: what it
//! writes then (an event, a queued webhook delivery) commits with the change or not at all.

use crate::audit::AuditRecord;
use crate::store::{StoreError, Tx};
use std::sync::Arc;

/// Follows the audit log, in the writing transaction.
pub trait AuditObserver: Send + Sync {
    /// Called once per audit record written in `tx` (`id` is the record's key in the audit
    /// table). An error aborts the transaction, so the change is not made without it.
    /// Audit records the observer writes itself are not observed again.
    fn observe(&self, tx: &mut Tx, id: &str, record: &AuditRecord) -> Result<(), StoreError>;
}

/// The observers of the enabled modules, in module order.
#[derive(Clone, Default)]
pub struct Observers(Arc<Vec<Arc<dyn AuditObserver>>>);

impl Observers {
    pub fn new(observers: Vec<Arc<dyn AuditObserver>>) -> Self {
        Self(Arc::new(observers))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub(crate) fn all(&self) -> Arc<Vec<Arc<dyn AuditObserver>>> {
        self.0.clone()
    }
}

impl std::fmt::Debug for Observers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Observers").field(&self.0.len()).finish()
    }
}

#[cfg(test)]
mod tests {
    use crate::audit::{self, AuditRecord};
    use crate::clock::SystemClock;
    use crate::context::Actor;
    use crate::events::AuditObserver;
    use crate::module::{KernelModule, Module};
    use crate::store::{Read, Store, StoreError, Table, Tx};
    use std::sync::Arc;

    const SEEN: Table<String> = Table::new("test_seen");

    struct Seen;

    impl AuditObserver for Seen {
        fn observe(&self, tx: &mut Tx, id: &str, record: &AuditRecord) -> Result<(), StoreError> {
            tx.put(&SEEN, id, &record.action)?;
            // Not observed again: no endless loop.
            tx.audit(&Actor::system(), "seen.noted", &record.target, serde_json::json!({}))
        }
    }

    struct Watching;

    impl Module for Watching {
        fn name(&self) -> &'static str {
            "watching"
        }
        fn tables(&self) -> Vec<&'static str> {
            vec![SEEN.name()]
        }
        fn audit_observer(&self) -> Option<Arc<dyn AuditObserver>> {
            Some(Arc::new(Seen))
        }
    }

    fn store() -> Store {
        let modules: [&dyn Module; 2] = [&KernelModule, &Watching];
        match Store::open_with_backend(redb::backends::InMemoryBackend::new(), Arc::new(SystemClock), &modules) {
            Ok(s) => s,
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn an_observer_writes_in_the_audited_transaction() -> Result<(), StoreError> {
        let store = store();
        store.write_blocking(|tx| tx.audit(&Actor::system(), "thing.create", "T/1", serde_json::json!({})))?;
        let (seen, records) = store.read_blocking(|tx| Ok::<_, StoreError>((tx.scan(&SEEN, "")?, audit::all(tx)?)))?;
        assert_eq!(seen.len(), 1);
        assert_eq!(seen[0].1, "thing.create");
        assert_eq!(records.iter().map(|r| r.action.as_str()).collect::<Vec<_>>(), ["thing.create", "seen.noted"]);

        // An aborted change leaves neither the record nor what the observer wrote.
        let aborted: Result<(), StoreError> = store.write_blocking(|tx| {
            tx.audit(&Actor::system(), "thing.create", "T/2", serde_json::json!({}))?;
            Err(StoreError::Database("abort".into()))
        });
        assert!(aborted.is_err());
        assert_eq!(store.read_blocking(|tx| tx.count(&SEEN, ""))?, 1);
        Ok(())
    }
}
