//! What document signing (the contracts module) takes from this module: a signer's
//! certificate and key while the certificate is usable, and the tenant's timestamp
//! authority (RFC 3161), certified by the tenant CA and created on first use.

use crate::ca;
use crate::certificates::{State, cert_aad, date_display, ensure_ca, pem_body, state};
use crate::error::{CertsError, Unusable};
use crate::kek::Kek;
use crate::model::{CAS, CERTIFICATES, TSAS, TsaRecord, USER_CERTS, key};
use jiff::SignedDuration;
use keiyaku_kernel::clock::rfc3339;
use keiyaku_kernel::context::Actor;
use keiyaku_kernel::directory::{self, Tenant};
use keiyaku_kernel::store::{Read, Tx};

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

/// The current certificate of signer `user_id`, if it is usable now: refused with
/// `NotUsable` before its first day, after expiry and once revoked; `NotFound` without one.
pub fn signer_material(tx: &impl Read, kek: &Kek, tenant: &str, user_id: &str) -> Result<Material, CertsError> {
    let serial = tx.get(&USER_CERTS, &key(tenant, user_id))?.ok_or(CertsError::NotFound("certificate"))?;
    let cert = tx.get(&CERTIFICATES, &key(tenant, &serial))?.ok_or(CertsError::NotFound("certificate"))?;
    match state(&cert, tx.now()) {
        State::Revoked => return Err(CertsError::NotUsable(Unusable::Revoked)),
        State::Expired => return Err(CertsError::NotUsable(Unusable::Expired)),
        State::NotYetUsable => return Err(CertsError::NotUsable(Unusable::NotYet(date_display(cert.usable_from)))),
        State::Active => {}
    }
    Ok(Material {
        key_pkcs8: kek.open(&cert_aad(tenant, &cert.serial), &cert.sealed_key)?,
        cert_der: pem_body(&cert.cert_pem)?,
        ca_der: ca_der(tx, tenant)?,
        serial: cert.serial,
        common_name: cert.common_name,
    })
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
