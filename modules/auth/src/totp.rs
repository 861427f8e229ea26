//! Two-factor authentication with TOTP (RFC 6238: HMAC-SHA1, 6 digits, 30-second steps,
//! one step of clock drift either way), as plain functions over a transaction.
//!
//! - The secret (20 random bytes) is sealed with the key-encryption key, the record's
//!   subject as associated data; it is shown only while enrolling.
//! - Enrollment is pending until a code confirms it; confirming hands out 10 single-use
//!   recovery codes, kept as SHA-256 digests.
//! - Each time step is accepted once per subject (`last_step`), so a code seen once cannot be
//!   replayed.
//! - A password login of an enrolled user answers with a challenge (stored as a digest, 5
//!   minutes, a few tries); `loginTotp` exchanges it and a code for a session.
//!
//! Subjects: `tenant/user id` for tenant users, `operator` for the operator.

use crate::AuthError;
use jiff::{SignedDuration, Timestamp};
use keiyaku_kernel::ids::{digest, secret_token};
use keiyaku_kernel::kek::{Kek, Sealed};
use keiyaku_kernel::store::{Read, StoreError, Table, Tx};
use serde::{Deserialize, Serialize};
use totp_rs::{Algorithm, TOTP};

/// Subject → the enrolled (or pending) authenticator.
pub const TOTP_RECORDS: Table<TotpRecord> = Table::new("auth_totp");
/// SHA-256 of a challenge → the login waiting for its second step.
pub const CHALLENGES: Table<Challenge> = Table::new("auth_totp_challenges");

const STEP: u64 = 30;
const DIGITS: usize = 6;
/// How long a login challenge waits for its code.
pub const CHALLENGE_MINUTES: i64 = 5;
/// Wrong codes after which a challenge is void (the login throttle counts them too).
pub const CHALLENGE_TRIES: u32 = 5;
pub const RECOVERY_CODES: usize = 10;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TotpRecord {
    pub sealed_secret: Sealed,
    pub created_at: Timestamp,
    /// None while pending.
    #[serde(default)]
    pub confirmed_at: Option<Timestamp>,
    /// The newest time step accepted.
    #[serde(default)]
    pub last_step: u64,
    /// SHA-256 of each unused recovery code.
    #[serde(default)]
    pub recovery: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Challenge {
    /// None for the operator.
    pub tenant: Option<String>,
    pub user_id: String,
    pub kind: crate::SessionKind,
    pub expires_at: Timestamp,
    pub tries: u32,
}

impl Challenge {
    pub fn subject(&self) -> String {
        subject(self.tenant.as_deref(), &self.user_id)
    }
}

/// What enrolling shows once.
#[derive(Debug, Clone)]
pub struct Enrollment {
    /// Base32, for typing into an app.
    pub secret: String,
    pub otpauth_uri: String,
    /// The URI as a QR code, an `<svg>` element.
    pub qr_svg: String,
}

/// The record key of a tenant user (`tenant/user`) or of the operator (`operator`).
pub fn subject(tenant: Option<&str>, user_id: &str) -> String {
    match tenant {
        Some(t) => format!("{t}/{user_id}"),
        None => user_id.to_string(),
    }
}

fn aad(subject: &str) -> String {
    format!("totp/{subject}")
}

fn totp(secret: Vec<u8>, issuer: &str, account: &str) -> Result<TOTP, AuthError> {
    TOTP::new(Algorithm::SHA1, DIGITS, 1, STEP, secret, Some(issuer.replace(':', " ")), account.replace(':', " "))
        .map_err(|e| AuthError::Hash(format!("totp: {e}")))
}

fn open(kek: &Kek, subject: &str, record: &TotpRecord) -> Result<TOTP, AuthError> {
    let secret = kek.open(&aad(subject), &record.sealed_secret).map_err(|e| AuthError::Hash(e.0))?;
    totp(secret, "keiyaku", subject)
}

/// Whether `subject` has a confirmed authenticator.
pub fn enrolled(tx: &impl Read, subject: &str) -> Result<bool, StoreError> {
    Ok(tx.get(&TOTP_RECORDS, subject)?.is_some_and(|r| r.confirmed_at.is_some()))
}

/// `enrollTotp`: a new secret (replacing a pending one); refused while one is confirmed.
pub fn enroll(tx: &mut Tx, kek: &Kek, subject: &str, issuer: &str, account: &str) -> Result<Enrollment, AuthError> {
    if enrolled(tx, subject)? {
        return Err(AuthError::TotpAlreadyEnrolled);
    }
    let mut secret = [0u8; 20];
    rand::RngCore::fill_bytes(&mut rand::rng(), &mut secret);
    let t = totp(secret.to_vec(), issuer, account)?;
    let record = TotpRecord {
        sealed_secret: kek.seal(&aad(subject), &secret).map_err(|e| AuthError::Hash(e.0))?,
        created_at: tx.now(),
        confirmed_at: None,
        last_step: 0,
        recovery: Vec::new(),
    };
    tx.put(&TOTP_RECORDS, subject, &record)?;
    let uri = t.get_url();
    let qr_svg = qrcode::QrCode::new(uri.as_bytes())
        .map(|q| q.render::<qrcode::render::svg::Color<'_>>().min_dimensions(200, 200).build())
        .map_err(|e| AuthError::Hash(format!("qr: {e}")))?;
    // The XML prolog is not allowed inside HTML.
    let qr_svg = match qr_svg.find("<svg") {
        Some(at) => qr_svg[at..].to_string(),
        None => qr_svg,
    };
    Ok(Enrollment { secret: t.get_secret_base32(), otpauth_uri: uri, qr_svg })
}

/// Checks a 6-digit code against the steps around now, each step accepted once.
fn check_code(tx: &mut Tx, kek: &Kek, subject: &str, record: &mut TotpRecord, code: &str) -> Result<bool, AuthError> {
    let code = code.trim();
    if code.len() != DIGITS || !code.chars().all(|c| c.is_ascii_digit()) {
        return Ok(false);
    }
    let t = open(kek, subject, record)?;
    let now = u64::try_from(tx.now().as_second()).unwrap_or(0);
    let current = now / STEP;
    for step in [current.saturating_sub(1), current, current + 1] {
        if step > record.last_step && t.generate(step * STEP) == code {
            record.last_step = step;
            tx.put(&TOTP_RECORDS, subject, record)?;
            return Ok(true);
        }
    }
    Ok(false)
}

fn normalize_recovery(code: &str) -> String {
    code.chars().filter(|c| c.is_ascii_alphanumeric()).map(|c| c.to_ascii_uppercase()).collect()
}

/// A TOTP code, or (when `recovery` is allowed) an unused recovery code, which is used up.
fn accept(tx: &mut Tx, kek: &Kek, subject: &str, code: &str, recovery: bool) -> Result<bool, AuthError> {
    let Some(mut record) = tx.get(&TOTP_RECORDS, subject)?.filter(|r| r.confirmed_at.is_some()) else {
        return Ok(false);
    };
    if check_code(tx, kek, subject, &mut record, code)? {
        return Ok(true);
    }
    if recovery {
        let d = digest(&normalize_recovery(code));
        if let Some(at) = record.recovery.iter().position(|r| *r == d) {
            record.recovery.remove(at);
            tx.put(&TOTP_RECORDS, subject, &record)?;
            return Ok(true);
        }
    }
    Ok(false)
}

/// The second login step or removal: a TOTP code or a recovery code (used once).
pub fn check(tx: &mut Tx, kek: &Kek, subject: &str, code: &str) -> Result<bool, AuthError> {
    accept(tx, kek, subject, code, true)
}

/// A step-up (a delegate's signature): a TOTP code only.
pub fn check_step_up(tx: &mut Tx, kek: &Kek, subject: &str, code: &str) -> Result<bool, AuthError> {
    accept(tx, kek, subject, code, false)
}

/// `confirmTotp`: the first code makes the enrollment count; returns the recovery codes
/// (shown once).
pub fn confirm(tx: &mut Tx, kek: &Kek, subject: &str, code: &str) -> Result<Vec<String>, AuthError> {
    let mut record = tx.get(&TOTP_RECORDS, subject)?.ok_or(AuthError::TotpNotEnrolled)?;
    if record.confirmed_at.is_some() {
        return Err(AuthError::TotpAlreadyEnrolled);
    }
    if !check_code(tx, kek, subject, &mut record, code)? {
        return Err(AuthError::CodeInvalid);
    }
    let codes: Vec<String> = (0..RECOVERY_CODES)
        .map(|_| {
            let raw: String = secret_token(12)
                .chars()
                .filter(|c| c.is_ascii_alphanumeric())
                .map(|c| c.to_ascii_uppercase())
                .take(10)
                .collect();
            format!("{}-{}", raw.get(..5).unwrap_or(&raw), raw.get(5..).unwrap_or(""))
        })
        .collect();
    record.recovery = codes.iter().map(|c| digest(&normalize_recovery(c))).collect();
    record.confirmed_at = Some(tx.now());
    tx.put(&TOTP_RECORDS, subject, &record)?;
    Ok(codes)
}

/// `removeTotp`: with a current code or a recovery code.
pub fn remove(tx: &mut Tx, kek: &Kek, subject: &str, code: &str) -> Result<(), AuthError> {
    if !enrolled(tx, subject)? {
        return Err(AuthError::TotpNotEnrolled);
    }
    if !check(tx, kek, subject, code)? {
        return Err(AuthError::CodeInvalid);
    }
    tx.remove(&TOTP_RECORDS, subject)?;
    Ok(())
}

/// Stores a login challenge; returns the token the client sends with its code.
pub fn new_challenge(
    tx: &mut Tx,
    tenant: Option<&str>,
    user_id: &str,
    kind: crate::SessionKind,
) -> Result<String, StoreError> {
    let token = secret_token(32);
    let expires_at = tx.now().checked_add(SignedDuration::from_mins(CHALLENGE_MINUTES)).unwrap_or(tx.now());
    let c = Challenge { tenant: tenant.map(str::to_string), user_id: user_id.to_string(), kind, expires_at, tries: 0 };
    tx.put(&CHALLENGES, &digest(&token), &c)?;
    Ok(token)
}

/// The challenge of `token` while it is valid.
pub fn challenge(tx: &impl Read, token: &str) -> Result<Option<Challenge>, StoreError> {
    if token.is_empty() || token.len() > 200 {
        return Ok(None);
    }
    Ok(tx.get(&CHALLENGES, &digest(token))?.filter(|c| tx.now() < c.expires_at && c.tries < CHALLENGE_TRIES))
}

/// Counts a wrong code on a challenge (void after [`CHALLENGE_TRIES`]).
pub fn fail_challenge(tx: &mut Tx, token: &str) -> Result<(), StoreError> {
    let key = digest(token);
    if let Some(mut c) = tx.get(&CHALLENGES, &key)? {
        c.tries += 1;
        if c.tries >= CHALLENGE_TRIES {
            tx.remove(&CHALLENGES, &key)?;
        } else {
            tx.put(&CHALLENGES, &key, &c)?;
        }
    }
    Ok(())
}

/// Uses a challenge up.
pub fn end_challenge(tx: &mut Tx, token: &str) -> Result<(), StoreError> {
    tx.remove(&CHALLENGES, &digest(token))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_follow_rfc_6238() {
        // RFC 6238 appendix B, SHA-1 secret "12345678901234567890", 8 digits there; 6 here are
        // its last six.
        let t = TOTP::new_unchecked(Algorithm::SHA1, 6, 1, 30, b"12345678901234567890".to_vec(), None, "x".into());
        assert_eq!(t.generate(59), "287082");
        assert_eq!(t.generate(1_111_111_109), "081804");
        assert_eq!(t.generate(2_000_000_000), "279037");
    }

    #[test]
    fn recovery_codes_normalise() {
        assert_eq!(normalize_recovery(" abcde-12345 "), "ABCDE12345");
    }
}
