//! Time source. Production uses the system clock; tests move a [`ManualClock`].

use jiff::{SignedDuration, Timestamp};
use std::sync::Mutex;

pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> Timestamp;
}

#[derive(Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        Timestamp::now()
    }
}

/// A clock that stands still until told to move.
#[derive(Debug)]
pub struct ManualClock {
    now: Mutex<Timestamp>,
}

impl ManualClock {
    pub fn new(start: Timestamp) -> Self {
        Self { now: Mutex::new(start) }
    }

    pub fn advance(&self, by: SignedDuration) {
        let mut now = self.now.lock().unwrap_or_else(|p| p.into_inner());
        *now = now.saturating_add(by).unwrap_or(*now);
    }

    pub fn set(&self, to: Timestamp) {
        *self.now.lock().unwrap_or_else(|p| p.into_inner()) = to;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        *self.now.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The appliance's time zone: Japan (UTC+9 all year; Japan keeps no daylight saving time, so a
/// fixed offset is exact and needs no tz database on the host).
pub fn tokyo() -> jiff::tz::TimeZone {
    jiff::tz::TimeZone::fixed(jiff::tz::offset(9))
}

/// RFC 3339 with the +09:00 offset, as the API shows times.
pub fn rfc3339(ts: Timestamp) -> String {
    ts.to_zoned_datetime(tokyo()).strftime("%Y-%m-%dT%H:%M:%S%:z").to_string()
}

/// `2021/01/07 13:22` style, as the UI shows times.
pub fn display(ts: Timestamp) -> String {
    ts.to_zoned_datetime(tokyo()).strftime("%Y/%m/%d %H:%M").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_moves_only_when_told() {
        let start: Timestamp = "2026-01-05T00:00:00Z".parse().unwrap_or(Timestamp::UNIX_EPOCH);
        let c = ManualClock::new(start);
        assert_eq!(c.now(), start);
        c.advance(SignedDuration::from_mins(15));
        assert_eq!(c.now(), start + SignedDuration::from_mins(15));
    }

    #[test]
    fn formats_in_tokyo_time() {
        let ts: Timestamp = "2021-01-07T04:22:00Z".parse().unwrap_or(Timestamp::UNIX_EPOCH);
        assert_eq!(rfc3339(ts), "2021-01-07T13:22:00+09:00");
        assert_eq!(display(ts), "2021/01/07 13:22");
    }
}
