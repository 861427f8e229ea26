//! The signer's own act: a certificate PIN checked against its argon2id hash (five wrong ones
//! lock it) and statements signed with the signer's key. The certs module holds the keys
//! and implements [`SignerKeys`]; modules that cannot depend on it (the users module's
//! delegation mandates) receive it at assembly.
//!
//! The PIN is checked in three steps so that argon2 never runs inside a write transaction:
//! [`SignerKeys::pin_hash`] in a read, the hash verified outside any transaction, then
//! [`SignerKeys::record_pin`] in the write that performs the act (a wrong PIN is counted and
//! committed, the act is not performed).

use crate::context::Actor;
use crate::error::{Code, Lang, Problem};
use crate::store::{ReadTx, StoreError, Tx};

/// How many wrong PINs in a row lock a certificate's signing.
pub const PIN_TRIES: u32 = 5;

/// Why a PIN was not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PinRefusal {
    /// 403 `pin_invalid`: wrong; `remaining` tries before the lock.
    Invalid { remaining: u32 },
    /// 403 `pin_locked`: too many wrong PINs; the group administrator unlocks it.
    Locked,
    /// 403 `pin_not_set`: a certificate issued without a PIN (before PINs were kept).
    NotSet,
}

impl PinRefusal {
    pub fn code(self) -> Code {
        match self {
            PinRefusal::Invalid { .. } => Code::PinInvalid,
            PinRefusal::Locked => Code::PinLocked,
            PinRefusal::NotSet => Code::PinNotSet,
        }
    }

    pub fn problem(self, lang: Lang) -> Problem {
        match self {
            PinRefusal::Invalid { remaining } => Problem::new(
                403,
                Code::PinInvalid,
                lang.pick("PINコードが正しくありません。", "The PIN is not correct."),
            )
            .with_detail(match lang {
                Lang::Ja => format!("あと{remaining}回間違えると、この証明書での署名はロックされます。"),
                Lang::En => format!("{remaining} more wrong PINs lock signing with this certificate."),
            }),
            PinRefusal::Locked => {
                Problem::new(
                    403,
                    Code::PinLocked,
                    lang.pick(
                        "PINコードを続けて間違えたため、この証明書での署名はロックされています。",
                        "Signing with this certificate is locked after too many wrong PINs.",
                    ),
                )
                .with_detail(lang.pick(
                    "グループ管理者にロックの解除を依頼してください。",
                    "Ask your group administrator to unlock it.",
                ))
            }
            PinRefusal::NotSet => Problem::new(
                403,
                Code::PinNotSet,
                lang.pick(
                    "この証明書にはPINコードが登録されていません。",
                    "No PIN is registered for this certificate.",
                ),
            )
            .with_detail(lang.pick("証明書を再発行してください。", "Please have the certificate issued again.")),
        }
    }
}

/// What [`SignerKeys`] can fail with.
#[derive(Debug, thiserror::Error)]
pub enum IntentError {
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The PIN cannot be used (locked, not set).
    #[error("pin: {0:?}")]
    Pin(PinRefusal),
    /// 409 `certificate_not_usable`: no usable certificate (its problem in Japanese and
    /// English).
    #[error("certificate not usable")]
    NotUsable(Box<(Problem, Problem)>),
    /// 500.
    #[error("internal: {0}")]
    Internal(String),
}

/// A statement signed by the signer's own key.
#[derive(Debug, Clone)]
pub struct SignedStatement {
    /// Detached CMS SignedData (DER) over the statement's bytes.
    pub cms: Vec<u8>,
    /// Serial (upper-case hex) of the certificate that signed.
    pub serial: String,
}

/// The signer's certificate key and PIN, as another module sees them.
pub trait SignerKeys: Send + Sync {
    /// The argon2id hash of the PIN of `user_id`'s usable certificate; refused when the
    /// certificate is not usable or its PIN is locked or not set.
    fn pin_hash(&self, tx: &ReadTx, tenant: &str, user_id: &str) -> Result<String, IntentError>;

    /// Records the outcome of a PIN check in the transaction that acts on it: a right PIN
    /// clears the count; a wrong one counts (audited) and the fifth locks signing.
    fn record_pin(
        &self,
        tx: &mut Tx,
        actor: &Actor,
        tenant: &str,
        user_id: &str,
        correct: bool,
    ) -> Result<Result<(), PinRefusal>, IntentError>;

    /// Signs `content` (detached CMS) with `user_id`'s usable certificate.
    fn sign_statement(
        &self,
        tx: &Tx,
        tenant: &str,
        user_id: &str,
        content: &[u8],
    ) -> Result<SignedStatement, IntentError>;
}
