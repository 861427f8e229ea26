//! Budgets for what anonymous clients may do: a fixed-window count per key (a client address,
//! a one-time link, a client and a link) with a limit per window. A spend over the limit is
//! refused with the seconds until the window ends, and counts nothing.
//!
//! The counts live in memory, like the rate limiter's buckets: a restart forgets them, and no
//! refusal writes to disk. At most [`MAX_KEYS`] keys are kept; windows that ended are swept
//! first, and should that not be enough the table starts afresh rather than grow.

use jiff::{SignedDuration, Timestamp};
use std::collections::HashMap;
use std::sync::Mutex;

/// Most keys kept at once.
pub const MAX_KEYS: usize = 100_000;

/// One kind of budget: how many spends a key has per window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Allowance {
    /// 0: unlimited.
    pub limit: u32,
    pub window: SignedDuration,
}

impl Allowance {
    pub const fn per_hour(limit: u32) -> Self {
        Self { limit, window: SignedDuration::from_hours(1) }
    }
}

#[derive(Debug, Clone, Copy)]
struct Window {
    count: u32,
    ends: Timestamp,
}

/// The counts of every budget of the appliance, keyed by `kind/key`.
#[derive(Debug, Default)]
pub struct Budgets {
    windows: Mutex<HashMap<String, Window>>,
}

impl Budgets {
    /// Spends one from `key`'s budget of `kind`. `Err` carries the seconds until it refills.
    pub fn spend(&self, kind: &str, key: &str, allowance: Allowance, now: Timestamp) -> Result<(), u64> {
        self.spend_all(&[(kind, key, allowance)], now)
    }

    /// Spends one from each budget, or from none when any of them is exhausted.
    pub fn spend_all(&self, spends: &[(&str, &str, Allowance)], now: Timestamp) -> Result<(), u64> {
        let mut windows = self.windows.lock().unwrap_or_else(|p| p.into_inner());
        if windows.len() >= MAX_KEYS {
            windows.retain(|_, w| w.ends > now);
            if windows.len() >= MAX_KEYS {
                tracing::warn!(keys = windows.len(), "anonymous budgets full: forgetting every count");
                windows.clear();
            }
        }
        let mut wait = None::<u64>;
        for (kind, key, allowance) in spends {
            if allowance.limit == 0 {
                continue;
            }
            if let Some(w) = windows.get(&format!("{kind}/{key}")).filter(|w| w.ends > now)
                && w.count >= allowance.limit
            {
                let secs = u64::try_from(w.ends.duration_since(now).as_secs()).unwrap_or(0).max(1);
                wait = Some(wait.map_or(secs, |s| s.max(secs)));
            }
        }
        if let Some(secs) = wait {
            return Err(secs);
        }
        for (kind, key, allowance) in spends {
            if allowance.limit == 0 {
                continue;
            }
            let w = windows
                .entry(format!("{kind}/{key}"))
                .or_insert(Window { count: 0, ends: now.checked_add(allowance.window).unwrap_or(now) });
            if w.ends <= now {
                *w = Window { count: 0, ends: now.checked_add(allowance.window).unwrap_or(now) };
            }
            w.count = w.count.saturating_add(1);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_budget_refuses_over_its_limit_until_the_window_ends_and_spends_nothing_when_refused() {
        let b = Budgets::default();
        let t0: Timestamp = "2026-04-01T00:00:00Z".parse().unwrap_or_default();
        let a = Allowance::per_hour(2);
        assert_eq!(b.spend("w", "c1", a, t0), Ok(()));
        assert_eq!(b.spend("w", "c1", a, t0), Ok(()));
        assert_eq!(b.spend("w", "c1", a, t0 + SignedDuration::from_mins(15)), Err(45 * 60));
        assert_eq!(b.spend("w", "c2", a, t0), Ok(()), "another key has its own budget");
        assert_eq!(b.spend("w", "c1", a, t0 + SignedDuration::from_mins(61)), Ok(()), "a new window");
        // Both or none: an exhausted budget leaves the other untouched.
        let tight = Allowance::per_hour(1);
        assert_eq!(b.spend_all(&[("x", "k", tight), ("y", "k", tight)], t0), Ok(()));
        assert!(b.spend_all(&[("z", "k", tight), ("y", "k", tight)], t0).is_err());
        assert_eq!(b.spend("z", "k", tight, t0), Ok(()), "the refused spend counted nothing");
        assert_eq!(b.spend("w", "c9", Allowance::per_hour(0), t0), Ok(()), "0 is unlimited");
    }
}
