//! What document signing (the contracts module) takes from this module: a signer's
//! certificate and key while the certificate is usable, the tenant's timestamp authority
//! (RFC 3161) and the tenant's system certificate (システム証明書, which signs the
//! 合意締結証明書), each certified by the tenant CA and created on first use.

use crate::certificates::{State, cert_aad, date_display, ensure_ca, pem_body, state};
use crate::error::{CertsError, Unusable};
use crate::kek::Kek;
use crate::model::{
    APPLICATIONS, CAS, CERTIFICATES, CertRecord, OCSP_RESPONDERS, REVOKED, SERVICE_CERTS, SYSTEM_CERTS, ServiceCert,
    TSAS, TsaRecord, USER_CERTS, key,
};
use crate::{authz, ca};
use jiff::SignedDuration;
use keiyaku_kernel::clock::rfc3339;
use keiyaku_kernel::context::{Actor, Caller};
use keiyaku_kernel::directory::{self, Tenant};
use keiyaku_kernel::error::{ApiError, Lang};
use keiyaku_kernel::intent::{IntentError, PIN_TRIES, PinRefusal, SignedStatement, SignerKeys};
use keiyaku_kernel::store::{Read, ReadTx, Tx};

/// How long a TSA or system certificate is valid; a new one is made when less than a year
/// is left.
const TSA_YEARS: i64 = 5;

/// A certificate with its chain and opened key (PKCS#8, ECDSA P-256).
pub struct Material {
    pub serial: String,
    pub common_name: String,
    pub cert_der: Vec<u8>,
    /// The issuing CA's certificate.
    pub ca_der: Vec<u8>,
    /// The issuer chain (DER), the issuing CA first: the tenant CA alone, or for an
    /// imported certificate its outside CA's chain.
    pub chain: Vec<Vec<u8>>,
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
    let chain = match &cert.imported {
        Some(imported) => crate::import::chain_of(imported),
        None => vec![ca_der(tx, tenant)?],
    };
    Ok(Material {
        key_pkcs8: kek.open(&cert_aad(tenant, &cert.serial), &cert.sealed_key)?,
        cert_der: pem_body(&cert.cert_pem)?,
        ca_der: chain.first().cloned().ok_or(CertsError::NotFound("ca"))?,
        chain,
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
    let cms = keiyaku_pades::sign_detached(&m.key_pkcs8, &m.cert_der, &m.chain, content).map_err(CertsError::crypto)?;
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

/// How a service key's sealing AAD is formed.
type Aad = fn(&str, &str) -> String;

fn ocsp_aad(tenant: &str, serial: &str) -> String {
    format!("{tenant}/ocsp/{serial}")
}

fn system_aad(tenant: &str, serial: &str) -> String {
    format!("{tenant}/system/{serial}")
}

/// How long an OCSP responder certificate is valid, and how long before its end a new one
/// is made.
const OCSP_RESPONDER_DAYS: i64 = 400;
const OCSP_RENEW_DAYS: i64 = 60;
/// How long an OCSP response holds (`nextUpdate`), as the CRL.
const OCSP_VALIDITY: SignedDuration = SignedDuration::from_hours(7 * 24);

/// A service certificate of the tenant with its key: made — and audited — when there is
/// none or the current one ends within the renewal margin (a year for the TSA and the system
/// certificate, 60 days for the OCSP responder). Every one issued is kept in `SERVICE_CERTS`
/// so OCSP vouches for it.
fn service_material(
    tx: &mut Tx,
    kek: &Kek,
    tenant: &Tenant,
    base_url: &str,
    service: ca::Service,
) -> Result<Material, CertsError> {
    let now = tx.now();
    let year = SignedDuration::from_hours(366 * 24);
    let (table, margin, aad, label, kind, action): (_, SignedDuration, Aad, &str, &str, &str) = match service {
        ca::Service::Tsa => (&TSAS, year, tsa_aad, "タイムスタンプ局", "tsa", "certs.tsa_create"),
        ca::Service::Ocsp => (
            &OCSP_RESPONDERS,
            SignedDuration::from_hours(OCSP_RENEW_DAYS * 24),
            ocsp_aad,
            "OCSPレスポンダ",
            "ocsp",
            "certs.ocsp_create",
        ),
        ca::Service::System => (&SYSTEM_CERTS, year, system_aad, "システム証明書", "system", "certs.system_create"),
    };
    let renew_after = now.checked_add(margin).unwrap_or(now);
    let record = match tx.get(table, &tenant.code)? {
        Some(r) if r.not_after > renew_after => r,
        _ => {
            let ca_record = ensure_ca(tx, kek, tenant)?;
            let loaded = crate::certificates::load_ca(kek, &ca_record)?;
            let serial = ca::random_serial()?;
            let common_name: String = format!("{} {label} ({})", tenant.name, tenant.code).chars().take(64).collect();
            let not_before = now.checked_sub(SignedDuration::from_hours(1)).unwrap_or(now);
            let not_after = match service {
                ca::Service::Tsa | ca::Service::System => ca::add_years(now, TSA_YEARS),
                ca::Service::Ocsp => {
                    now.checked_add(SignedDuration::from_hours(OCSP_RESPONDER_DAYS * 24)).unwrap_or(now)
                }
            }
            .min(ca_record.not_after);
            let endpoints = ca::Endpoints::new(base_url, &tenant.code);
            let issued = ca::issue_service(
                &loaded,
                service,
                &common_name,
                &ca_record.organization,
                &serial,
                not_before,
                not_after,
                &endpoints,
            )?;
            let record = TsaRecord {
                tenant: tenant.code.clone(),
                serial: issued.serial.clone(),
                common_name,
                cert_pem: issued.pem,
                sealed_key: kek.seal(&aad(&tenant.code, &issued.serial), &issued.key_pkcs8)?,
                not_before,
                not_after,
                created_at: now,
            };
            tx.put(table, &tenant.code, &record)?;
            tx.put(
                &SERVICE_CERTS,
                &key(&tenant.code, &record.serial),
                &ServiceCert { service: kind.into(), not_before, not_after },
            )?;
            tx.audit(
                &Actor::system(),
                action,
                &key(&tenant.code, kind),
                serde_json::json!({"serial": record.serial, "not_after": rfc3339(record.not_after)}),
            )?;
            record
        }
    };
    let ca = ca_der(tx, &tenant.code)?;
    Ok(Material {
        key_pkcs8: kek.open(&aad(&tenant.code, &record.serial), &record.sealed_key)?,
        cert_der: pem_body(&record.cert_pem)?,
        chain: vec![ca.clone()],
        ca_der: ca,
        serial: record.serial,
        common_name: record.common_name,
    })
}

/// The tenant's timestamp authority: its certificate (issued by the tenant CA, with the
/// critical id-kp-timeStamping usage, the CRL and OCSP locations under `base_url`) and key,
/// made when there is none or the current one has less than a year left.
pub fn tsa_material(tx: &mut Tx, kek: &Kek, tenant: &Tenant, base_url: &str) -> Result<Material, CertsError> {
    service_material(tx, kek, tenant, base_url, ca::Service::Tsa)
}

/// The tenant CA's delegated OCSP responder (made when there is none or it ends within 60 days).
pub fn ocsp_material(tx: &mut Tx, kek: &Kek, tenant: &Tenant, base_url: &str) -> Result<Material, CertsError> {
    service_material(tx, kek, tenant, base_url, ca::Service::Ocsp)
}

/// The tenant's system certificate (システム証明書: `CN = {tenant name} システム証明書
/// ({code})`, digitalSignature + nonRepudiation, the document-signing extended key usages,
/// the CRL and OCSP locations under `base_url`, 5 years) and key, for signing what the
/// appliance itself issues (the 合意締結証明書); made when there is none or the current one
/// has less than a year left.
pub fn system_material(tx: &mut Tx, kek: &Kek, tenant: &Tenant, base_url: &str) -> Result<Material, CertsError> {
    service_material(tx, kek, tenant, base_url, ca::Service::System)
}

/// What the tenant CA says of its certificate `serial` (upper-case hex) now: signer
/// certificates by their record (revoked from the revocation's time), service certificates
/// good while they are valid, anything else unknown.
pub fn status_of(tx: &impl Read, tenant: &str, serial: &str) -> Result<keiyaku_pades::CertStatus, CertsError> {
    use keiyaku_pades::CertStatus as S;
    let k = key(tenant, serial);
    if let Some(revoked) = tx.get(&REVOKED, &k)? {
        return Ok(S::Revoked { at: revoked.revoked_at, reason: Some(revoked.reason_code) });
    }
    // An imported certificate's serial is its outside CA's, not one the tenant CA issued.
    let issued = tx.get(&CERTIFICATES, &k)?.is_some_and(|c| c.imported.is_none());
    if issued || tx.get(&SERVICE_CERTS, &k)?.is_some() {
        return Ok(S::Good);
    }
    Ok(S::Unknown)
}

/// Signed OCSP responses from the tenant's responder, now, for certificates issued by its CA.
fn ocsp_answers(
    tx: &impl Read,
    tenant: &str,
    responder: &Material,
    ids: &[keiyaku_pades::CertId],
    nonce: Option<&[u8]>,
) -> Result<Vec<u8>, CertsError> {
    let mut answers = Vec::with_capacity(ids.len());
    for id in ids {
        let status = if id.is_issued_by(&responder.ca_der) {
            status_of(tx, tenant, &id.serial_hex())?
        } else {
            keiyaku_pades::CertStatus::Unknown
        };
        answers.push((id.clone(), status));
    }
    let now = tx.now();
    let times = keiyaku_pades::OcspTimes { produced_at: now, next_update: now.checked_add(OCSP_VALIDITY).ok() };
    let responder_keys =
        keiyaku_pades::OcspResponder { cert_der: &responder.cert_der, key_pkcs8: &responder.key_pkcs8 };
    keiyaku_pades::ocsp_response(&responder_keys, &answers, times, nonce).map_err(CertsError::crypto)
}

/// Answers a DER OCSP request for the tenant (`ocsp`, `ocspGet`): read-only, so an anonymous
/// client creates nothing; `unauthorized` when the tenant has no responder yet (it has
/// signed nothing) or no certificate asked about is the tenant CA's, `malformedRequest` for
/// a request that cannot be read.
pub fn answer_ocsp(tx: &impl Read, kek: &Kek, tenant: &str, request_der: &[u8]) -> Result<Vec<u8>, CertsError> {
    use keiyaku_pades::{OcspFailure, ocsp_failure};
    let Ok(req) = keiyaku_pades::parse_ocsp_request(request_der) else {
        return Ok(ocsp_failure(OcspFailure::MalformedRequest));
    };
    let Some(record) = tx.get(&OCSP_RESPONDERS, tenant)? else {
        return Ok(ocsp_failure(OcspFailure::Unauthorized));
    };
    let ca = ca_der(tx, tenant)?;
    let responder = Material {
        key_pkcs8: kek.open(&ocsp_aad(tenant, &record.serial), &record.sealed_key)?,
        cert_der: pem_body(&record.cert_pem)?,
        chain: vec![ca.clone()],
        ca_der: ca,
        serial: record.serial,
        common_name: record.common_name,
    };
    if !req.certs.iter().any(|id| id.is_issued_by(&responder.ca_der)) {
        return Ok(ocsp_failure(OcspFailure::Unauthorized));
    }
    ocsp_answers(tx, tenant, &responder, &req.certs, req.nonce.as_deref())
}

/// Validation data for a PDF's DSS (PAdES-B-LT): the tenant CA, the responder's certificate,
/// `certs` (signer and TSA certificates, DER) and a fresh OCSP response for each of them —
/// except for an imported certificate (`importCertificate`), which the tenant's responder
/// does not know: for it, its outside CA's chain and the CRLs taken at import.
pub fn validation_data(
    tx: &mut Tx,
    kek: &Kek,
    tenant: &Tenant,
    base_url: &str,
    certs: &[&[u8]],
) -> Result<keiyaku_pades::ValidationData, CertsError> {
    let responder = ocsp_material(tx, kek, tenant, base_url)?;
    let mut data = keiyaku_pades::ValidationData::default();
    for cert in certs {
        if let Some(imported) = crate::import::record_of(tx, &tenant.code, cert)?.and_then(|r| r.imported) {
            for der in std::iter::once(cert.to_vec()).chain(crate::import::chain_of(&imported)) {
                if !data.certs.contains(&der) {
                    data.certs.push(der);
                }
            }
            for crl in crate::import::crls_of(&imported) {
                if !data.crls.contains(&crl) {
                    data.crls.push(crl);
                }
            }
            continue;
        }
        let id = keiyaku_pades::CertId::of(cert, &responder.ca_der, keiyaku_pades::CertIdHash::Sha1)
            .map_err(CertsError::crypto)?;
        data.ocsps.push(ocsp_answers(tx, &tenant.code, &responder, &[id], None)?);
        if !data.certs.iter().any(|c| c.as_slice() == *cert) {
            data.certs.push(cert.to_vec());
        }
    }
    data.certs.push(responder.ca_der.clone());
    data.certs.push(responder.cert_der.clone());
    Ok(data)
}

/// The tenant CA certificate (PEM), for people and validators to trust.
pub fn ca_pem(tx: &impl Read, tenant: &str) -> Result<Option<String>, CertsError> {
    Ok(tx.get(&CAS, tenant)?.map(|r| r.cert_pem))
}

/// The tenant, for callers that hold only its code.
pub fn tenant(tx: &impl Read, code: &str) -> Result<Tenant, CertsError> {
    directory::get_tenant(tx, code)?.ok_or(CertsError::NotFound("tenant"))
}
