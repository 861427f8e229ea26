//! The image captcha of the application start (seed §2.2 (4)), generated in-process. Answers
//! are kept in memory only as SHA-256 digests, for ten minutes, and each captcha can be
//! answered once; at most [`MAX_PENDING`] are pending (the oldest are dropped first).

use jiff::{SignedDuration, Timestamp};
use keiyaku_kernel::ids::{digest, new_id};
use std::collections::BTreeMap;
use std::sync::Mutex;

pub const MAX_PENDING: usize = 10_000;
pub const LIFETIME: SignedDuration = SignedDuration::from_mins(10);
/// Characters that are hard to confuse (no 0/o, 1/l/i, …).
const ALPHABET: &str = "2345678abcdefghkmnprstuvwxyz";

#[derive(Default)]
pub struct CaptchaStore {
    pending: Mutex<BTreeMap<String, (String, Timestamp)>>,
}

/// A client's answer to a captcha.
#[derive(Debug, Clone, Default)]
pub struct CaptchaAnswer {
    pub id: String,
    pub answer: String,
}

/// Case-insensitive, full-width letters and digits folded to ASCII, spaces ignored.
pub fn normalize(answer: &str) -> String {
    answer
        .chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| match c {
            '０'..='９' | 'Ａ'..='Ｚ' | 'ａ'..='ｚ' => char::from_u32(u32::from(c) - 0xFEE0).unwrap_or(c),
            c => c,
        })
        .collect::<String>()
        .to_lowercase()
}

/// Draws a captcha: its answer and PNG.
fn draw() -> Option<(String, Vec<u8>)> {
    use captcha::filters::{Dots, Noise, Wave};
    let mut c = captcha::Captcha::new();
    let supported = c.supported_chars();
    let chars: Vec<char> = ALPHABET.chars().filter(|a| supported.contains(a)).collect();
    if !chars.is_empty() {
        c.set_chars(&chars);
    }
    c.add_chars(5)
        .apply_filter(Noise::new(0.1))
        .apply_filter(Wave::new(2.0, 20.0).horizontal())
        .view(220, 100)
        .apply_filter(Dots::new(8));
    c.as_tuple()
}

impl CaptchaStore {
    /// A new captcha: its id and PNG image.
    pub fn issue(&self, now: Timestamp) -> Option<(String, Vec<u8>)> {
        let (answer, png) = draw()?;
        let id = new_id();
        let mut pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
        pending.retain(|_, (_, expires)| *expires > now);
        while pending.len() >= MAX_PENDING {
            // Ids are time-ordered: the first is the oldest.
            let Some(oldest) = pending.keys().next().cloned() else { break };
            pending.remove(&oldest);
        }
        pending.insert(id.clone(), (digest(&normalize(&answer)), now.checked_add(LIFETIME).unwrap_or(now)));
        Some((id, png))
    }

    /// Whether `answer` solves captcha `id`. A wrong answer uses the captcha up, so the check
    /// is no oracle; a right one leaves it pending for one [`take`](Self::take) (form
    /// pre-checks before a confirmation step).
    pub fn pass(&self, id: &str, answer: &str, now: Timestamp) -> bool {
        let mut pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
        let solved =
            pending.get(id).is_some_and(|(hash, expires)| *expires > now && *hash == digest(&normalize(answer)));
        if !solved {
            pending.remove(id);
        }
        solved
    }

    /// Whether `answer` solves captcha `id`; the captcha is used up either way.
    pub fn take(&self, id: &str, answer: &str, now: Timestamp) -> bool {
        let mut pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
        pending.remove(id).is_some_and(|(hash, expires)| expires > now && hash == digest(&normalize(answer)))
    }

    /// The answer of a pending captcha, for tests only.
    #[cfg(test)]
    fn insert_known(&self, id: &str, answer: &str, now: Timestamp) {
        let mut pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
        pending.insert(id.to_string(), (digest(&normalize(answer)), now + LIFETIME));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn captchas_are_png_answered_once_and_expire() {
        let now: Timestamp = "2026-11-25T01:00:00Z".parse().unwrap_or(Timestamp::UNIX_EPOCH);
        let store = CaptchaStore::default();
        let (id, png) = store.issue(now).unwrap_or_default();
        assert!(png.starts_with(&[0x89, b'P', b'N', b'G']));
        assert!(!store.take(&id, "wrong", now));
        assert!(!store.pass(&id, "wrong", now), "a wrong answer uses the captcha up");
        store.insert_known("k", "ab3De", now);
        assert!(store.pass("k", "AB3DE", now));
        assert!(store.pass("k", " ａｂ３ｄｅ ", now));
        assert!(!store.take("k", "ab3de", now + LIFETIME));
        store.insert_known("k2", "xyz", now);
        assert!(store.take("k2", "xyz", now));
        assert!(!store.take("k2", "xyz", now));
        // The pre-check is no oracle: one wrong try and the right answer no longer passes.
        store.insert_known("k3", "pqr", now);
        assert!(!store.pass("k3", "pqx", now));
        assert!(!store.pass("k3", "pqr", now));
        assert!(!store.take("k3", "pqr", now));
    }
}
