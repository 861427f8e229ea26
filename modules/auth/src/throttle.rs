//! Login throttling. Failures are counted per (account or login name, client address) and
//! per client address: after `lockout_threshold` failures the pair is locked for
//! `lockout_minutes`; a client that fails `client_lockout_threshold` times over any accounts
//! is locked as a whole. Unknown login names are counted exactly like real accounts, so the
//! answer never tells whether an account exists, and locking someone out needs the attacker
//! to fail from the victim's own address.
//!
//! The counters live in memory: a restart forgets them (as a restart of the attacker's
//! attempts would), and no attempt can make keiyaku write to disk.

use jiff::{SignedDuration, Timestamp};
use std::collections::HashMap;
use std::sync::Mutex;

const MAX_ENTRIES: usize = 100_000;

#[derive(Debug, Clone, Copy)]
struct Entry {
    failures: u32,
    first_failure: Timestamp,
    locked_until: Option<Timestamp>,
}

#[derive(Debug, Default)]
pub struct Throttle {
    entries: Mutex<HashMap<String, Entry>>,
}

pub struct Limits {
    pub threshold: u32,
    pub client_threshold: u32,
    pub lock: SignedDuration,
}

impl Throttle {
    fn keys(subject: &str, client: &str) -> [String; 2] {
        [format!("s\u{1f}{subject}\u{1f}{client}"), format!("c\u{1f}{client}")]
    }

    /// Seconds until the pair may try again, if it is locked now.
    pub fn locked(&self, subject: &str, client: &str, now: Timestamp) -> Option<u64> {
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        Self::keys(subject, client)
            .iter()
            .filter_map(|k| entries.get(k)?.locked_until)
            .filter(|until| *until > now)
            .map(|until| u64::try_from(until.duration_since(now).as_secs()).unwrap_or(0).max(1))
            .max()
    }

    /// Counts a failure; returns the lock's remaining seconds when this failure locks.
    pub fn fail(&self, subject: &str, client: &str, now: Timestamp, limits: &Limits) -> Option<u64> {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if entries.len() >= MAX_ENTRIES {
            entries.retain(|_, e| {
                e.locked_until.is_some_and(|u| u > now) || now.duration_since(e.first_failure) < limits.lock
            });
        }
        let [pair, whole] = Self::keys(subject, client);
        let mut locked = None;
        for (key, threshold) in [(pair, limits.threshold), (whole, limits.client_threshold)] {
            let e = entries.entry(key).or_insert(Entry { failures: 0, first_failure: now, locked_until: None });
            // Failures older than one lock period, or an expired lock, start a new count.
            if e.locked_until.is_some_and(|u| u <= now) || now.duration_since(e.first_failure) > limits.lock {
                *e = Entry { failures: 0, first_failure: now, locked_until: None };
            }
            e.failures = e.failures.saturating_add(1);
            if threshold > 0 && e.failures >= threshold {
                let until = now.checked_add(limits.lock).unwrap_or(now);
                e.locked_until = Some(until);
                locked = Some(u64::try_from(limits.lock.as_secs()).unwrap_or(0));
            }
        }
        locked
    }

    /// Clears the pair's count after a successful login.
    pub fn succeed(&self, subject: &str, client: &str) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        let [pair, _] = Self::keys(subject, client);
        entries.remove(&pair);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> Limits {
        Limits { threshold: 5, client_threshold: 8, lock: SignedDuration::from_mins(15) }
    }

    #[test]
    fn locks_after_threshold_and_expires() {
        let t = Throttle::default();
        let now = Timestamp::UNIX_EPOCH;
        for i in 1..5 {
            assert_eq!(t.fail("u", "1.2.3.4", now, &limits()), None, "failure {i}");
        }
        assert!(t.fail("u", "1.2.3.4", now, &limits()).is_some());
        assert!(t.locked("u", "1.2.3.4", now).is_some());
        // Another address is not locked out of the same account.
        assert!(t.locked("u", "5.6.7.8", now).is_none());
        let later = now.checked_add(SignedDuration::from_mins(16)).unwrap_or(now);
        assert!(t.locked("u", "1.2.3.4", later).is_none());
    }

    #[test]
    fn one_client_guessing_many_accounts_is_locked() {
        let t = Throttle::default();
        let now = Timestamp::UNIX_EPOCH;
        for i in 0..8 {
            t.fail(&format!("user{i}"), "9.9.9.9", now, &limits());
        }
        assert!(t.locked("someone-else", "9.9.9.9", now).is_some());
    }

    #[test]
    fn success_resets_the_pair() {
        let t = Throttle::default();
        let now = Timestamp::UNIX_EPOCH;
        for _ in 0..4 {
            t.fail("u", "c", now, &limits());
        }
        t.succeed("u", "c");
        assert_eq!(t.fail("u", "c", now, &limits()), None);
    }
}
