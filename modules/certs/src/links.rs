//! One-time links (order, application details, holder approval, key file): a random token
//! in the URL, only its SHA-256 stored. A link works until it expires (`certs.link_ttl_hours`)
//! or is used by the step that consumes it; after that it answers `link_expired` and
//! changes nothing.

use crate::error::CertsError;
use crate::model::{LINKS, Link, LinkKind};
use jiff::{SignedDuration, Timestamp};
use keiyaku_kernel::ids::{digest, secret_token};
use keiyaku_kernel::store::{Read, StoreError, Tx};

/// Tokens we issue: 43 characters of URL-safe base64 (32 random bytes).
pub fn is_token(s: &str) -> bool {
    s.len() == 43 && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Creates a link; returns its token (the only place it exists in clear).
pub fn create(
    tx: &mut Tx,
    tenant: &str,
    kind: LinkKind,
    subject: &str,
    ttl: SignedDuration,
) -> Result<(String, Link), StoreError> {
    let token = secret_token(32);
    let now = tx.now();
    let link = Link {
        tenant: tenant.to_string(),
        kind,
        subject: subject.to_string(),
        created_at: now,
        expires_at: now.checked_add(ttl).unwrap_or(Timestamp::MAX),
        used_at: None,
    };
    tx.put(&LINKS, &digest(&token), &link)?;
    Ok((token, link))
}

/// The link behind `token` if it belongs to `tenant`, is of `kind`, unused and not expired.
pub fn check(tx: &impl Read, tenant: &str, kind: LinkKind, token: &str) -> Result<Link, CertsError> {
    if !is_token(token) {
        return Err(CertsError::NotFound("link"));
    }
    let link = tx.get(&LINKS, &digest(token))?.ok_or(CertsError::NotFound("link"))?;
    if link.tenant != tenant || link.kind != kind {
        return Err(CertsError::NotFound("link"));
    }
    if link.used_at.is_some() || tx.now() >= link.expires_at {
        return Err(CertsError::LinkExpired);
    }
    Ok(link)
}

/// Like [`check`], and marks the link used.
pub fn consume(tx: &mut Tx, tenant: &str, kind: LinkKind, token: &str) -> Result<Link, CertsError> {
    let mut link = check(tx, tenant, kind, token)?;
    link.used_at = Some(tx.now());
    tx.put(&LINKS, &digest(token), &link)?;
    Ok(link)
}

/// `72` hours → `3日間`, other values in hours.
pub fn ttl_text_ja(hours: u32) -> String {
    if hours > 0 && hours.is_multiple_of(24) { format!("{}日間", hours / 24) } else { format!("{hours}時間") }
}
