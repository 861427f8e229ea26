//! Reads remembered until the store's next write.
//!
//! [`Store::changes`](crate::Store::changes) moves with every write transaction and every
//! reopen. A value read in a transaction that began after `changes` returned `n` is still what
//! the store holds while `changes` returns `n`: a cache tagged with that value is never stale,
//! and the first write forgets all of it. Made for the records every request reads again
//! (the session behind a token, the caller's group and tenant), where writes are rare next to
//! reads. Time-dependent decisions over a remembered value (expiry) stay the caller's, each use.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;

/// Values by key, as read while the store's `changes` counter had one value.
#[derive(Debug)]
pub struct ReadCache<K, V> {
    entries: Mutex<(u64, HashMap<K, V>)>,
    max: usize,
}

impl<K: Hash + Eq, V: Clone> ReadCache<K, V> {
    /// A cache of at most `max` entries (when full, it starts over).
    pub fn new(max: usize) -> Self {
        Self { entries: Mutex::new((0, HashMap::new())), max }
    }

    /// The value of `key`, when it was read at `changes` (the counter's value now).
    pub fn get(&self, changes: u64, key: &K) -> Option<V> {
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if entries.0 != changes {
            return None;
        }
        entries.1.get(key).cloned()
    }

    /// Remembers `value` for `key`, read in a transaction that began after the counter
    /// returned `changes`.
    pub fn put(&self, changes: u64, key: K, value: V) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if entries.0 != changes || entries.1.len() >= self.max {
            *entries = (changes, HashMap::new());
        }
        entries.1.insert(key, value);
    }

    /// Entries remembered (whatever their counter value).
    pub fn len(&self) -> usize {
        self.entries.lock().unwrap_or_else(|p| p.into_inner()).1.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::module::KernelModule;
    use crate::{Store, SystemClock};
    use std::sync::Arc;

    #[test]
    fn a_write_forgets_every_entry() {
        let path = std::env::temp_dir().join(format!("keiyaku-cache-{}.redb", crate::ids::new_id()));
        let store = Store::open(&path, Arc::new(SystemClock), &[&KernelModule]).unwrap();
        let cache = ReadCache::new(2);
        let n = store.changes();
        cache.put(n, "a", 1);
        cache.put(n, "b", 2);
        assert_eq!(cache.get(store.changes(), &"a"), Some(1));
        store.write_blocking(|_| Ok::<_, crate::store::StoreError>(())).unwrap();
        assert_ne!(store.changes(), n, "even an empty write moves the counter");
        assert_eq!(cache.get(store.changes(), &"a"), None);
        // A stale reader's value is kept under its own counter value only.
        cache.put(n, "c", 3);
        assert_eq!(cache.get(store.changes(), &"c"), None);
        // Full: starts over.
        let m = store.changes();
        cache.put(m, "a", 1);
        cache.put(m, "b", 2);
        cache.put(m, "c", 3);
        assert_eq!(cache.len(), 1);
        assert_eq!(cache.get(m, &"c"), Some(3));
        let _ = std::fs::remove_file(path);
    }
}
