//! What document signing (the contracts module) takes from this module: a signer's
//! certificate and key while the certificate is usable, and the tenant's timestamp
//! authority (RFC 3161), certified by the tenant CA and created on first use.

use crate::certificates::{State, cert_aad, date_display, ensure_ca, pem_body, state};
use crate::error::{CertsError, Unusable};
use crate::kek::Kek;
use crate::model::{APPLICATIONS, CAS, CERTIFICATES, CertRecord, TSAS, TsaRecord, USER_CERTS, key};
use crate::{authz, ca};
use jiff::SignedDuration;
use keiyaku_kernel::clock::rfc3339;
use keiyaku_kernel::context::{Actor, Caller};
use keiyaku_kernel::directory::{self, Tenant};
use keiyaku_kernel::error::{ApiError, Lang};
use keiyaku_kernel::intent::{IntentError, PIN_TRIES, PinRefusal, SignedStatement, SignerKeys};
use keiyaku_kernel::store::{Read, ReadTx, Tx};

/// How long a TSA certificate is valid; a new one is made when less than a year is left.
const TSA_YEARS: i64 = 5;

/// A certificate with its chain and opened key (PKCS#8, ECDSA P-256).
pub struct Material {
    pub serial: String,
    pub common_name: String,
    pub cert_der: Vec<u8>,
    /// The issuing CA's certificate.
    pub ca_der: Vec<u8>,
    pub key_pkcs8: Vec<u8>,
}

fn ca_der(tx: &impl Read, tenant: &str) -> Result<Vec<u8>, CertsError> {
    let record = tx.get(&CAS, tenant)?.ok_or(CertsError::NotFound("ca"))?;
    pem_body(&record.cert_pem)
}

/// The current certificate record of signer `user_id`, if it is usable now: refused with
/// `NotUsable` before its first day, after expiry and once revoked; `NotFound` without one.
fn usable_record(tx: &impl Read, tenant: &str, user_id: &str) -> Result<CertRecord, CertsError> {
    let serial = tx.get(&USER_CERTS, &key(tenant, user_id))?.ok_or(CertsError::NotFound("certificate"))?;
    let cert = tx.get(&CERTIFICATES, &key(tenant, &serial))?.ok_or(CertsError::NotFound("certificate"))?;
    match state(&cert, tx.now()) {
        State::Revoked => Err(CertsError::NotUsable(Unusable::Revoked)),
        State::Expired => Err(CertsError::NotUsable(Unusable::Expired)),
        State::NotYetUsable => {
            // The certificate it replaces signs until the new one's first day.
            if let Some(old) = &cert.replaces
                && let Some(old) = tx.get(&CERTIFICATES, &key(tenant, old))?
                && state(&old, tx.now()) == State::Active
            {
                return Ok(old);
            }
            Err(CertsError::NotUsable(Unusable::NotYet(date_display(cert.usable_from))))
        }
        State::Active => Ok(cert),
    }
}

/// The current certificate of signer `user_id` with its opened key, while it is usable.
pub fn signer_material(tx: &impl Read, kek: &Kek, tenant: &str, user_id: &str) -> Result<Material, CertsError> {
    let cert = usable_record(tx, tenant, user_id)?;
    Ok(Material {
        key_pkcs8: kek.open(&cert_aad(tenant, &cert.serial), &cert.sealed_key)?,
        cert_der: pem_body(&cert.cert_pem)?,
        ca_der: ca_der(tx, tenant)?,
        serial: cert.serial,
        common_name: cert.common_name,
    })
}

/// The argon2id hash of the PIN of `user_id`'s usable certificate, to be verified outside
/// any transaction; refused when locked or (for certificates issued before PINs were kept
/// with the certificate and not through an application) not set.
pub fn pin_hash(tx: &impl Read, tenant: &str, user_id: &str) -> Result<String, CertsError> {
    let cert = usable_record(tx, tenant, user_id)?;
    if cert.pin_locked_at.is_some() {
        return Err(CertsError::Pin(PinRefusal::Locked));
    }
    let from_application = match &cert.application_id {
        Some(id) if cert.pin_hash.is_none() => tx.get(&APPLICATIONS, &key(tenant, id))?.and_then(|a| a.pin_hash),
        _ => None,
    };
    cert.pin_hash.or(from_application).ok_or(CertsError::Pin(PinRefusal::NotSet))
}

/// Records a PIN check's outcome in the transaction that acts on it (see
/// `keiyaku_kernel::intent`): right clears the count; wrong counts and is audited, and the
/// fifth wrong PIN in a row locks signing with the certificate.
pub fn record_pin(
    tx: &mut Tx,
    actor: &Actor,
    tenant: &str,
    user_id: &str,
    correct: bool,
) -> Result<Result<(), PinRefusal>, CertsError> {
    let mut cert = usable_record(tx, tenant, user_id)?;
    if cert.pin_locked_at.is_some() {
        return Ok(Err(PinRefusal::Locked));
    }
    let k = key(tenant, &cert.serial);
    if correct {
        if cert.pin_failures > 0 {
            cert.pin_failures = 0;
            tx.put(&CERTIFICATES, &k, &cert)?;
        }
        return Ok(Ok(()));
    }
    cert.pin_failures += 1;
    let locked = cert.pin_failures >= PIN_TRIES;
    if locked {
        cert.pin_locked_at = Some(tx.now());
    }
    tx.put(&CERTIFICATES, &k, &cert)?;
    let action = if locked { "certs.pin_lock" } else { "certs.pin_wrong" };
    tx.audit(actor, action, &k, serde_json::json!({"user_id": user_id, "failures": cert.pin_failures}))?;
    Ok(Err(if locked { PinRefusal::Locked } else { PinRefusal::Invalid { remaining: PIN_TRIES - cert.pin_failures } }))
}

/// PINロック解除: by the administrator who manages the holder's group.
pub fn unlock_pin(tx: &mut Tx, caller: &Caller, user_id: &str) -> Result<CertRecord, CertsError> {
    let holder = directory::get_user(tx, &caller.tenant, user_id)?.ok_or(CertsError::NotFound("user"))?;
    authz::require(caller, authz::Op::UnlockPin, Some(&holder))?;
    let serial = tx.get(&USER_CERTS, &key(&caller.tenant, user_id))?.ok_or(CertsError::NotFound("certificate"))?;
    let k = key(&caller.tenant, &serial);
    let mut cert = tx.get(&CERTIFICATES, &k)?.ok_or(CertsError::NotFound("certificate"))?;
    if cert.pin_locked_at.is_none() && cert.pin_failures == 0 {
        return Ok(cert);
    }
    cert.pin_locked_at = None;
    cert.pin_failures = 0;
    tx.put(&CERTIFICATES, &k, &cert)?;
    tx.audit(&caller.actor(), "certs.pin_unlock", &k, serde_json::json!({"user_id": user_id}))?;
    Ok(cert)
}

/// A statement (such as a delegation mandate) signed as detached CMS by `user_id`'s usable
/// certificate.
pub fn sign_statement(
    tx: &impl Read,
    kek: &Kek,
    tenant: &str,
    user_id: &str,
    content: &[u8],
) -> Result<SignedStatement, CertsError> {
    let m = signer_material(tx, kek, tenant, user_id)?;
    let cms = keiyaku_pades::sign_detached(&m.key_pkcs8, &m.cert_der, std::slice::from_ref(&m.ca_der), content)
        .map_err(CertsError::crypto)?;
    Ok(SignedStatement { cms, serial: m.serial })
}

fn intent_error(e: CertsError) -> IntentError {
    match e {
        CertsError::Store(s) => IntentError::Store(s),
        CertsError::Pin(p) => IntentError::Pin(p),
        e @ (CertsError::NotUsable(_) | CertsError::NotFound(_)) => {
            let e = match e {
                CertsError::NotFound(_) => CertsError::NotUsable(Unusable::Missing),
                e => e,
            };
            IntentError::NotUsable(Box::new((e.problem(Lang::Ja), e.problem(Lang::En))))
        }
        other => IntentError::Internal(other.to_string()),
    }
}

/// The certs module as the kernel's [`SignerKeys`], for the users module's mandates.
impl SignerKeys for crate::Certs {
    fn pin_hash(&self, tx: &ReadTx, tenant: &str, user_id: &str) -> Result<String, IntentError> {
        pin_hash(tx, tenant, user_id).map_err(intent_error)
    }

    fn record_pin(
        &self,
        tx: &mut Tx,
        actor: &Actor,
        tenant: &str,
        user_id: &str,
        correct: bool,
    ) -> Result<Result<(), PinRefusal>, IntentError> {
        record_pin(tx, actor, tenant, user_id, correct).map_err(intent_error)
    }

    fn sign_statement(
        &self,
        tx: &Tx,
        tenant: &str,
        user_id: &str,
        content: &[u8],
    ) -> Result<SignedStatement, IntentError> {
        let kek = self.kek().map_err(intent_error)?;
        sign_statement(tx, &kek, tenant, user_id, content).map_err(intent_error)
    }
}

fn tsa_aad(tenant: &str, serial: &str) -> String {
    format!("{tenant}/tsa/{serial}")
}

/// The tenant's timestamp authority: its certificate (issued by the tenant CA, with the
/// critical id-kp-timeStamping usage) and key, made — and audited — when there is none or
/// the current one has less than a year left.
pub fn tsa_material(tx: &mut Tx, kek: &Kek, tenant: &Tenant) -> Result<Material, CertsError> {
    let now = tx.now();
    let renew_after = now.checked_add(SignedDuration::from_hours(366 * 24)).unwrap_or(now);
    let record = match tx.get(&TSAS, &tenant.code)? {
        Some(r) if r.not_after > renew_after => r,
        _ => {
            let ca_record = ensure_ca(tx, kek, tenant)?;
            let loaded = crate::certificates::load_ca(kek, &ca_record)?;
            let serial = ca::random_serial()?;
            let common_name: String =
                format!("{} タイムスタンプ局 ({})", tenant.name, tenant.code).chars().take(64).collect();
            let not_before = now.checked_sub(SignedDuration::from_hours(1)).unwrap_or(now);
            let not_after = ca::add_years(now, TSA_YEARS).min(ca_record.not_after);
            let issued = ca::issue_tsa(&loaded, &common_name, &ca_record.organization, &serial, not_before, not_after)?;
            let record = TsaRecord {
                tenant: tenant.code.clone(),
                serial: issued.serial.clone(),
                common_name,
                cert_pem: issued.pem,
                sealed_key: kek.seal(&tsa_aad(&tenant.code, &issued.serial), &issued.key_pkcs8)?,
                not_before,
                not_after,
                created_at: now,
            };
            tx.put(&TSAS, &tenant.code, &record)?;
            tx.audit(
                &Actor::system(),
                "certs.tsa_create",
                &key(&tenant.code, "tsa"),
                serde_json::json!({"serial": record.serial, "not_after": rfc3339(record.not_after)}),
            )?;
            record
        }
    };
    Ok(Material {
        key_pkcs8: kek.open(&tsa_aad(&tenant.code, &record.serial), &record.sealed_key)?,
        cert_der: pem_body(&record.cert_pem)?,
        ca_der: ca_der(tx, &tenant.code)?,
        serial: record.serial,
        common_name: record.common_name,
    })
}

/// The tenant CA certificate (PEM), for people and validators to trust.
pub fn ca_pem(tx: &impl Read, tenant: &str) -> Result<Option<String>, CertsError> {
    Ok(tx.get(&CAS, tenant)?.map(|r| r.cert_pem))
}

/// The tenant, for callers that hold only its code.
pub fn tenant(tx: &impl Read, code: &str) -> Result<Tenant, CertsError> {
    directory::get_tenant(tx, code)?.ok_or(CertsError::NotFound("tenant"))
}
