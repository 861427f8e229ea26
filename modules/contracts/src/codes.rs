//! Signing codes (署名用認証コード): the step-up of a delegate without an authenticator app.
//! `requestSigningCode` mails a 6-digit code valid for 10 minutes; signing consumes it once.
//! Only a salted SHA-256 of the code is stored; five wrong tries end it.

use crate::error::{Conflict, ContractsError};
use crate::model::Contract;
use crate::{Env, mails, policy};
use jiff::{SignedDuration, Timestamp};
use keiyaku_kernel::context::Caller;
use keiyaku_kernel::directory;
use keiyaku_kernel::store::{Read, StoreError, Table, Tx};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// `tenant/contract id/user id` → the code waiting to be used.
pub const SIGN_CODES: Table<SignCode> = Table::new("contracts_sign_codes");

/// How long a code is valid.
pub const CODE_MINUTES: i64 = 10;
/// Wrong tries after which a code is void.
pub const CODE_TRIES: u32 = 5;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignCode {
    pub salt: String,
    /// SHA-256 hex of `salt` and the code.
    pub digest: String,
    pub expires_at: Timestamp,
    pub tries: u32,
}

fn code_key(tenant: &str, contract: &str, user: &str) -> String {
    format!("{tenant}/{contract}/{user}")
}

fn digest(salt: &str, code: &str) -> String {
    hex::encode(Sha256::digest(format!("{salt}:{code}").as_bytes()))
}

/// What `requestSigningCode` answers.
#[derive(Debug, Clone)]
pub struct CodeSent {
    pub sent_to: String,
    pub expires_at: Timestamp,
}

/// `requestSigningCode`: for a delegate who may sign this contract now (authority first),
/// a new 6-digit code replaces any earlier one and is mailed to the delegate.
pub fn request(tx: &mut Tx, env: &Env<'_>, caller: &Caller, id: &str) -> Result<CodeSent, ContractsError> {
    let c = crate::flow::load(tx, caller, id)?;
    let today = crate::flow::today_in_japan(tx);
    let facts = policy::facts(tx, caller, &c, today)?;
    let signer = policy::signing_for(caller, &c, &facts, None)?;
    if signer == caller.user_id {
        return Err(ContractsError::Conflict(Conflict::OwnSignature));
    }
    let code = new_code();
    let salt = keiyaku_kernel::ids::secret_token(16);
    let expires_at = tx.now().checked_add(SignedDuration::from_mins(CODE_MINUTES)).unwrap_or(tx.now());
    let record = SignCode { digest: digest(&salt, &code), salt, expires_at, tries: 0 };
    tx.put(&SIGN_CODES, &code_key(&caller.tenant, &c.id, &caller.user_id), &record)?;
    tx.audit(
        &caller.actor(),
        "contract.sign_code",
        &crate::model::key(&caller.tenant, &c.id),
        serde_json::json!({"for": signer, "expires_at": keiyaku_kernel::clock::rfc3339(expires_at)}),
    )?;
    let me = directory::get_user(tx, &caller.tenant, &caller.user_id)?.ok_or(ContractsError::NotFound("user"))?;
    mails::signing_code(tx, env, &c, &me, &code, expires_at)?;
    Ok(CodeSent { sent_to: me.email, expires_at })
}

fn new_code() -> String {
    use rand::Rng;
    format!("{:06}", rand::rng().random_range(0..1_000_000u32))
}

/// Uses the caller's code for contract `id`: true once for the right code within its time;
/// a wrong one counts (the fifth voids it), an expired one is removed.
pub fn consume(tx: &mut Tx, caller: &Caller, id: &str, code: &str) -> Result<bool, StoreError> {
    let k = code_key(&caller.tenant, id, &caller.user_id);
    let Some(mut record) = tx.get(&SIGN_CODES, &k)? else { return Ok(false) };
    if tx.now() >= record.expires_at {
        tx.remove(&SIGN_CODES, &k)?;
        return Ok(false);
    }
    let given = code.trim();
    let right = given.len() == 6 && digest(&record.salt, given) == record.digest;
    if right {
        tx.remove(&SIGN_CODES, &k)?;
        return Ok(true);
    }
    record.tries += 1;
    if record.tries >= CODE_TRIES {
        tx.remove(&SIGN_CODES, &k)?;
    } else {
        tx.put(&SIGN_CODES, &k, &record)?;
    }
    tx.audit(
        &caller.actor(),
        "contract.sign_code_wrong",
        &crate::model::key(&caller.tenant, id),
        serde_json::json!({"tries": record.tries}),
    )?;
    Ok(false)
}

/// Whether the caller has a code waiting for contract `c` (for the page).
pub fn pending(tx: &impl Read, caller: &Caller, c: &Contract) -> Result<bool, StoreError> {
    let k = code_key(&caller.tenant, &c.id, &caller.user_id);
    Ok(tx.get(&SIGN_CODES, &k)?.is_some_and(|r| tx.now() < r.expires_at))
}
