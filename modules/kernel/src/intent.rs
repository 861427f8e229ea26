//! Intent: what proving a signer's own act needs from the certificate module — the PIN of the
//! signer's certificate and a signature made with its key — for modules that cannot depend on
//! that module (`users` confirms delegation mandates with it). The certs module implements
//! [`SignerIntent`]; the binary hands the implementation to the modules that need it.
//!
//! A PIN is checked in three steps so that argon2 never runs inside a write transaction:
//! [`SignerIntent::pin_record`] in a read transaction, the argon2id verification outside any
//! transaction, then [`SignerIntent::record_pin`] in the write transaction that acts on it.

use crate::context::Actor;
use crate::store::{ReadTx, StoreError, Tx};

/// Wrong PINs in a row after which signing with the certificate is locked until a group
/// administrator unlocks it.
pub const PIN_ATTEMPTS: u32 = 5;

/// The PIN hash of a signer's usable certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PinRecord {
    /// Upper-case hex serial of the certificate.
    pub serial: String,
    /// Argon2id PHC string of the 12-digit PIN.
    pub hash: String,
}

/// A CMS SignedData (DER, detached content) made with a signer's certificate key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedContent {
    pub cms_der: Vec<u8>,
    /// The signer's certificate (PEM) the signature verifies against.
    pub cert_pem: String,
    pub serial: String,
}

#[derive(Debug, thiserror::Error)]
pub enum IntentError {
    /// The user holds no certificate.
    #[error("no certificate")]
    NoCertificate,
    /// The certificate exists but cannot be used now (why, in Japanese).
    #[error("certificate not usable: {0}")]
    NotUsable(String),
    /// Too many wrong PINs: locked until a group administrator unlocks it.
    #[error("PIN locked")]
    PinLocked,
    /// The PIN was wrong (returned by [`SignerIntent::record_pin`] after recording it); the
    /// number of attempts left before the lock.
    #[error("wrong PIN")]
    PinInvalid { attempts_left: u32 },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0}")]
    Internal(String),
}

/// Implemented by the certs module.
pub trait SignerIntent: Send + Sync {
    /// The PIN hash of `user_id`'s current certificate while it is usable; `PinLocked` when
    /// signing with it is locked.
    fn pin_record(&self, tx: &ReadTx, tenant: &str, user_id: &str) -> Result<PinRecord, IntentError>;

    /// Records the outcome of a PIN check of certificate `serial` (audited). `ok`: resets the
    /// count of wrong PINs and returns `Ok`. Not `ok`: counts it, locks at [`PIN_ATTEMPTS`],
    /// and returns `PinInvalid` (or `PinLocked` when this attempt locked it) — the caller
    /// commits the transaction anyway so that the count is kept.
    fn record_pin(&self, tx: &mut Tx, actor: &Actor, tenant: &str, serial: &str, ok: bool) -> Result<(), IntentError>;

    /// Signs `content` (detached CMS SignedData, SHA-256, ECDSA P-256) with `user_id`'s usable
    /// certificate key.
    fn sign_detached(
        &self,
        tx: &mut Tx,
        tenant: &str,
        user_id: &str,
        content: &[u8],
    ) -> Result<SealedContent, IntentError>;
}
