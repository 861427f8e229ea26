//! 証明書の取込み (`importCertificate`): a signer's certificate and key from an outside CA,
//! as a PKCS#12 file (what `openssl pkcs12 -export` writes), registered for the holder like
//! a certificate of the tenant CA — the key sealed with the key-encryption key under the
//! same AAD — and marked imported, with its issuer chain and its revocation sources (the
//! CRL distribution points and OCSP URLs it names, and the CRLs taken at import: uploaded,
//! or fetched from the distribution point with a short timeout before the write).
//!
//! The PIN: the holder signs with a 12-digit certificate PIN as for every certificate; the
//! importing administrator sets it (`pin`, the issuance rules), not the PKCS#12 password,
//! which is used once and kept nowhere.
//!
//! Signing embeds the chain and the CRLs kept (`signing::validation_data`); the hourly
//! maintenance ([`crate::Certs::refresh_imported_crls`]) fetches newer CRLs from the
//! distribution points, so that archive renewal (`contracts::archive`) puts revocation data
//! younger than a signature's time-stamp on file, as PAdES-LT asks; a CRL listing the
//! certificate withdraws it.
//!
//! Checked, each refusal with its own code and nothing written: the file and password
//! (`pkcs12_invalid`, `pkcs12_unsupported`, `password_invalid`), exactly one key and that it
//! is ECDSA P-256 as the signer uses (`key_missing`, `key_unsupported`), a certificate of
//! that key (`key_mismatch`), valid now (`certificate_expired`, `certificate_not_yet_valid`),
//! for signatures (`key_usage_invalid`: a key usage without digitalSignature and
//! nonRepudiation; none at all allows every use, RFC 5280), the issuer's certificate
//! verifying it (`chain_incomplete`, `chain_invalid`), a current CRL of the issuer
//! (`crl_invalid`, `revocation_unavailable`) not listing it (`certificate_revoked`).

use crate::Env;
use crate::authz::{self, Op};
use crate::certificates::{State, cert_aad, state};
use crate::error::{CertsError, Refusal};
use crate::model::{CERTIFICATES, CertRecord, CertStatus, Delivery, Imported, USER_CERTS, key};
use crate::pkcs12::{self, ReadError};
use aws_lc_rs::signature::{ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair, KeyPair as _};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use jiff::Timestamp;
use keiyaku_kernel::clock::{rfc3339, tokyo};
use keiyaku_kernel::context::Caller;
use keiyaku_kernel::directory::{self, Role};
use keiyaku_kernel::store::{Read, Tx};
use keiyaku_kernel::validate::{Rule, Validator};
use sha2::{Digest, Sha256};
use x509_parser::prelude::{
    CertificateRevocationList, DistributionPointName, FromDer, GeneralName, ParsedExtension, X509Certificate,
};

/// The PKCS#12 file, at most.
pub const MAX_FILE: usize = 256 * 1024;
/// Each `chain` file, at most, and how many.
pub const MAX_CHAIN_FILE: usize = 64 * 1024;
pub const MAX_CHAIN_FILES: usize = 8;
/// The CRLs (uploaded, or fetched from one distribution point), at most, and how many files.
pub const MAX_CRL: usize = 8 * 1024 * 1024;
pub const MAX_CRL_FILES: usize = 8;
/// How long fetching a CRL from a distribution point may take.
pub const FETCH_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);
/// How deep an issuer chain is followed.
const MAX_DEPTH: usize = 8;

/// What `importCertificate` takes.
#[derive(Debug, Default, Clone)]
pub struct ImportInput {
    /// The PKCS#12 file.
    pub file: Vec<u8>,
    /// Its password.
    pub password: String,
    /// The certificate PIN to set (12 digits, as at issuance).
    pub pin: String,
    /// Issuer certificates the file lacks (PEM, one or more, or DER).
    pub chain: Vec<Vec<u8>>,
    /// CRLs (DER) of the issuers, when the distribution point cannot be reached.
    pub revocation: Vec<Vec<u8>>,
}

/// A usable certificate and key found in the file, before the revocation check.
#[derive(Debug, Clone)]
pub struct Candidate {
    /// PKCS#8 (v1) of the ECDSA P-256 key.
    pub key_pkcs8: Vec<u8>,
    pub cert_der: Vec<u8>,
    /// The issuer chain, the direct issuer first.
    pub chain: Vec<Vec<u8>>,
    pub serial: String,
    pub common_name: String,
    pub organization: String,
    pub email: String,
    pub issuer: String,
    pub not_before: Timestamp,
    pub not_after: Timestamp,
    pub crl_urls: Vec<String>,
    pub ocsp_urls: Vec<String>,
    pub file_sha256: String,
}

fn refuse(r: Refusal) -> CertsError {
    CertsError::Import(r)
}

/// The form rules: the file, password and PIN are required, the PIN as at issuance, the
/// files within their sizes.
pub fn check_fields(input: &ImportInput) -> Result<(), CertsError> {
    let mut v = Validator::new();
    if input.file.is_empty() {
        v.fail("file", Rule::Required);
    }
    if input.password.is_empty() {
        v.fail("password", Rule::Required);
    } else if input.password.chars().count() > 256 {
        v.fail("password", Rule::TooLong { max: 256 });
    }
    crate::rules::pin(&mut v, "pin", &input.pin);
    v.finish()?;
    let crl_total: usize = input.revocation.iter().map(Vec::len).sum();
    if input.file.len() > MAX_FILE
        || input.chain.len() > MAX_CHAIN_FILES
        || input.chain.iter().any(|c| c.len() > MAX_CHAIN_FILE)
        || input.revocation.len() > MAX_CRL_FILES
        || crl_total > MAX_CRL
    {
        return Err(refuse(Refusal::FileTooLarge));
    }
    Ok(())
}

fn ts(t: x509_parser::time::ASN1Time) -> Timestamp {
    Timestamp::from_second(t.timestamp()).unwrap_or(Timestamp::UNIX_EPOCH)
}

/// Upper-case hex of a DER serial's magnitude (without leading zero bytes).
fn serial_hex(raw: &[u8]) -> String {
    let start = raw.iter().position(|b| *b != 0).unwrap_or(raw.len().saturating_sub(1));
    hex::encode_upper(raw.get(start..).unwrap_or(raw))
}

fn parse(der: &[u8]) -> Option<X509Certificate<'_>> {
    X509Certificate::from_der(der).ok().filter(|(rest, _)| rest.is_empty()).map(|(_, c)| c)
}

/// The DER certificates in a `chain` upload: every PEM block of it, or the file as DER.
fn certificates_in(file: &[u8]) -> Result<Vec<Vec<u8>>, CertsError> {
    let text = String::from_utf8_lossy(file);
    if text.contains("-----BEGIN CERTIFICATE-----") {
        let mut out = Vec::new();
        for block in text.split("-----BEGIN CERTIFICATE-----").skip(1) {
            let body = block.split("-----END CERTIFICATE-----").next().unwrap_or_default();
            let cleaned: String = body.chars().filter(|c| !c.is_whitespace()).collect();
            let der = B64.decode(cleaned).map_err(|_| refuse(Refusal::ChainInvalid))?;
            parse(&der).ok_or_else(|| refuse(Refusal::ChainInvalid))?;
            out.push(der);
        }
        return Ok(out);
    }
    parse(file).ok_or_else(|| refuse(Refusal::ChainInvalid))?;
    Ok(vec![file.to_vec()])
}

fn self_signed(c: &X509Certificate<'_>) -> bool {
    c.subject().as_raw() == c.issuer().as_raw() && c.verify_signature(None).is_ok()
}

/// Whether `issuer` signed `cert` (names chained, signature verified).
pub fn issued_by(cert: &[u8], issuer: &[u8]) -> bool {
    match (parse(cert), parse(issuer)) {
        (Some(c), Some(i)) => {
            c.issuer().as_raw() == i.subject().as_raw() && c.verify_signature(Some(i.public_key())).is_ok()
        }
        _ => false,
    }
}

fn first_text<'a>(mut it: impl Iterator<Item = &'a x509_parser::x509::AttributeTypeAndValue<'a>>) -> Option<String> {
    it.next().and_then(|a| a.as_str().ok()).map(str::to_string)
}

/// The CRL distribution point URIs and the OCSP URIs of a certificate.
fn revocation_urls(c: &X509Certificate<'_>) -> (Vec<String>, Vec<String>) {
    let (mut crl, mut ocsp) = (Vec::new(), Vec::new());
    for ext in c.extensions() {
        match ext.parsed_extension() {
            ParsedExtension::CRLDistributionPoints(points) => {
                for p in points.iter() {
                    if let Some(DistributionPointName::FullName(names)) = &p.distribution_point {
                        for n in names {
                            if let GeneralName::URI(u) = n {
                                crl.push((*u).to_string());
                            }
                        }
                    }
                }
            }
            ParsedExtension::AuthorityInfoAccess(aia) => {
                for d in aia.iter() {
                    if d.access_method == x509_parser::oid_registry::OID_PKIX_ACCESS_DESCRIPTOR_OCSP
                        && let GeneralName::URI(u) = &d.access_location
                    {
                        ocsp.push((*u).to_string());
                    }
                }
            }
            _ => {}
        }
    }
    (crl, ocsp)
}

/// Reads the file with the password and checks key, certificate and chain (PBKDF2 runs
/// here: call it on a blocking thread).
pub fn examine(input: &ImportInput, now: Timestamp) -> Result<Candidate, CertsError> {
    let contents = pkcs12::read(&input.file, &input.password).map_err(|e| {
        refuse(match e {
            ReadError::Invalid => Refusal::Pkcs12Invalid,
            ReadError::WrongPassword => Refusal::PasswordInvalid,
            ReadError::Unsupported => Refusal::Pkcs12Unsupported,
        })
    })?;
    let [key] = contents.keys.as_slice() else { return Err(refuse(Refusal::KeyMissing)) };
    let pair =
        EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, key).map_err(|_| refuse(Refusal::KeyUnsupported))?;
    let key_pkcs8 = pair.to_pkcs8v1().map_err(|_| refuse(Refusal::KeyUnsupported))?.as_ref().to_vec();
    let public = pair.public_key().as_ref().to_vec();
    let cert_der = contents
        .certs
        .iter()
        .find(|der| parse(der).is_some_and(|c| c.public_key().subject_public_key.data.as_ref() == public.as_slice()))
        .cloned()
        .ok_or_else(|| refuse(Refusal::KeyMismatch))?;
    let cert = parse(&cert_der).ok_or_else(|| refuse(Refusal::Pkcs12Invalid))?;
    let (not_before, not_after) = (ts(cert.validity().not_before), ts(cert.validity().not_after));
    if now < not_before {
        return Err(refuse(Refusal::CertificateNotYetValid));
    }
    if now >= not_after {
        return Err(refuse(Refusal::CertificateExpired));
    }
    match cert.key_usage() {
        Ok(None) => {}
        Ok(Some(ku)) if ku.value.digital_signature() || ku.value.non_repudiation() => {}
        _ => return Err(refuse(Refusal::KeyUsage)),
    }
    // The issuer chain, from what the file and the uploads hold.
    let mut pool: Vec<Vec<u8>> = contents.certs.iter().filter(|c| **c != cert_der).cloned().collect();
    for file in &input.chain {
        pool.extend(certificates_in(file)?);
    }
    let mut chain: Vec<Vec<u8>> = Vec::new();
    let mut current = cert_der.clone();
    for _ in 0..MAX_DEPTH {
        if parse(&current).is_some_and(|c| self_signed(&c)) {
            break;
        }
        let Some(next) = pool.iter().find(|p| !chain.contains(p) && issued_by(&current, p)).cloned() else {
            break;
        };
        chain.push(next.clone());
        current = next;
    }
    if chain.is_empty() {
        return Err(refuse(Refusal::ChainIncomplete));
    }
    let (crl_urls, ocsp_urls) = revocation_urls(&cert);
    let subject = cert.subject();
    Ok(Candidate {
        key_pkcs8,
        serial: serial_hex(cert.raw_serial()),
        common_name: first_text(subject.iter_common_name()).unwrap_or_else(|| subject.to_string()),
        organization: first_text(subject.iter_organization()).unwrap_or_default(),
        email: first_text(subject.iter_email()).unwrap_or_default(),
        issuer: cert.issuer().to_string(),
        not_before,
        not_after,
        crl_urls,
        ocsp_urls,
        chain,
        file_sha256: hex::encode(Sha256::digest(&input.file)),
        cert_der,
    })
}

/// What a CRL says of a certificate, when it is its issuer's (name and signature).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CrlVerdict {
    /// `thisUpdate` ≤ now < `nextUpdate` (no nextUpdate: current).
    pub current: bool,
    pub revoked: bool,
}

/// The verdict of `crl` on `cert` issued by `issuer`; None when it is not that issuer's CRL.
pub fn crl_verdict(crl: &[u8], cert: &[u8], issuer: &[u8], now: Timestamp) -> Option<CrlVerdict> {
    let (_, list) = CertificateRevocationList::from_der(crl).ok()?;
    let (cert, issuer) = (parse(cert)?, parse(issuer)?);
    if list.issuer().as_raw() != cert.issuer().as_raw()
        || list.issuer().as_raw() != issuer.subject().as_raw()
        || list.verify_signature(issuer.public_key()).is_err()
    {
        return None;
    }
    let serial = serial_hex(cert.raw_serial());
    let revoked = list.iter_revoked_certificates().any(|r| serial_hex(r.raw_serial()) == serial);
    let current = ts(list.last_update()) <= now + jiff::SignedDuration::from_mins(10)
        && list.next_update().is_none_or(|n| ts(n) > now);
    Some(CrlVerdict { current, revoked })
}

/// Each certificate that needs revocation data (the signer's and every intermediate CA's),
/// with its issuer: (certificate, issuer), the signer's first.
fn needing_revocation(c: &Candidate) -> Vec<(Vec<u8>, Vec<u8>)> {
    let mut path = vec![c.cert_der.clone()];
    path.extend(c.chain.iter().cloned());
    path.windows(2).map(|w| (w[0].clone(), w[1].clone())).collect()
}

/// Fetches a CRL over HTTP(S) with a short timeout; None on any failure or when larger
/// than [`MAX_CRL`].
async fn fetch(client: &reqwest::Client, url: &str) -> Option<Vec<u8>> {
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        return None;
    }
    let mut resp = client.get(url).send().await.ok()?;
    if !resp.status().is_success() {
        return None;
    }
    let mut body = Vec::new();
    while let Some(chunk) = resp.chunk().await.ok()? {
        body.extend_from_slice(&chunk);
        if body.len() > MAX_CRL {
            return None;
        }
    }
    Some(body)
}

/// The CRLs kept with the certificate: every uploaded one (each must be a CRL of a CA of
/// the chain: `crl_invalid`), and — for each certificate of the path that no current
/// uploaded CRL covers — what its distribution points answer (unreadable answers dropped).
/// Refused when no current CRL of the issuer covers the signer's certificate, or one lists it.
pub async fn revocation(c: &Candidate, uploads: &[Vec<u8>], now: Timestamp) -> Result<Vec<Vec<u8>>, CertsError> {
    let needs = needing_revocation(c);
    let mut kept: Vec<Vec<u8>> = Vec::new();
    for crl in uploads {
        if !needs.iter().any(|(cert, issuer)| crl_verdict(crl, cert, issuer, now).is_some()) {
            return Err(refuse(Refusal::CrlInvalid));
        }
        if !kept.contains(crl) {
            kept.push(crl.clone());
        }
    }
    let covered = |kept: &[Vec<u8>], cert: &[u8], issuer: &[u8]| {
        kept.iter().any(|crl| crl_verdict(crl, cert, issuer, now).is_some_and(|v| v.current))
    };
    let client = http_client()?;
    for (cert, issuer) in &needs {
        if covered(&kept, cert, issuer) {
            continue;
        }
        let urls = parse(cert).map(|p| revocation_urls(&p).0).unwrap_or_default();
        for url in urls.iter().take(4) {
            if let Some(crl) = fetch(&client, url).await
                && crl_verdict(&crl, cert, issuer, now).is_some_and(|v| v.current)
            {
                kept.push(crl);
                break;
            }
        }
    }
    let (cert, issuer) = needs.first().ok_or_else(|| refuse(Refusal::ChainIncomplete))?;
    let verdicts: Vec<CrlVerdict> =
        kept.iter().filter_map(|crl| crl_verdict(crl, cert, issuer, now)).filter(|v| v.current).collect();
    if verdicts.is_empty() {
        return Err(refuse(Refusal::RevocationUnavailable));
    }
    if verdicts.iter().any(|v| v.revoked) {
        return Err(refuse(Refusal::CertificateRevoked));
    }
    Ok(kept)
}

fn http_client() -> Result<reqwest::Client, CertsError> {
    reqwest::Client::builder()
        .timeout(FETCH_TIMEOUT)
        .connect_timeout(FETCH_TIMEOUT)
        .redirect(reqwest::redirect::Policy::limited(3))
        .build()
        .map_err(CertsError::crypto)
}

/// A CRL's `thisUpdate`.
fn this_update(crl: &[u8]) -> Option<Timestamp> {
    CertificateRevocationList::from_der(crl).ok().map(|(_, l)| ts(l.last_update()))
}

/// An imported certificate whose CRL is renewed from its distribution points.
#[derive(Debug, Clone)]
pub struct Due {
    /// `tenant/serial`.
    pub key: String,
    pub cert_der: Vec<u8>,
    pub issuer_der: Vec<u8>,
    pub urls: Vec<String>,
}

/// Every imported certificate still usable that names a CRL distribution point.
pub fn due_for_refresh(tx: &impl Read) -> Result<Vec<Due>, CertsError> {
    let now = tx.now();
    let mut out = Vec::new();
    for (k, record) in tx.scan(&CERTIFICATES, "")? {
        let Some(imported) = &record.imported else { continue };
        if imported.crl_urls.is_empty() || matches!(state(&record, now), State::Revoked | State::Expired) {
            continue;
        }
        let (Ok(cert_der), Some(issuer_der)) =
            (crate::certificates::pem_body(&record.cert_pem), chain_of(imported).into_iter().next())
        else {
            continue;
        };
        out.push(Due { key: k, cert_der, issuer_der, urls: imported.crl_urls.clone() });
    }
    Ok(out)
}

/// A current CRL of the issuer from the distribution points of `due`, if one answers.
pub async fn fetch_current(due: &Due, now: Timestamp) -> Option<Vec<u8>> {
    let client = http_client().ok()?;
    for url in due.urls.iter().take(4) {
        if let Some(crl) = fetch(&client, url).await
            && crl_verdict(&crl, &due.cert_der, &due.issuer_der, now).is_some_and(|v| v.current)
        {
            return Some(crl);
        }
    }
    None
}

/// Keeps `crl` (fetched for `due`) with the certificate when it is newer than the CRLs of
/// that issuer kept so far (which it replaces), audited as `certs.crl_refresh`; a CRL that
/// lists the certificate withdraws it (`certs.revoke`, reason: revoked by its CA). Whether
/// anything changed.
pub fn store_refreshed(tx: &mut Tx, due: &Due, crl: &[u8]) -> Result<bool, CertsError> {
    let now = tx.now();
    let Some(mut record) = tx.get(&CERTIFICATES, &due.key)? else { return Ok(false) };
    let Some(imported) = record.imported.as_mut() else { return Ok(false) };
    let Some(verdict) = crl_verdict(crl, &due.cert_der, &due.issuer_der, now) else { return Ok(false) };
    let (mine, others): (Vec<Vec<u8>>, Vec<Vec<u8>>) =
        crls_of(imported).into_iter().partition(|c| crl_verdict(c, &due.cert_der, &due.issuer_der, now).is_some());
    let newest = mine.iter().filter_map(|c| this_update(c)).max();
    let fetched = this_update(crl);
    if fetched.is_none() || (newest.is_some() && fetched <= newest) {
        return Ok(false);
    }
    imported.crls = others.iter().chain(std::iter::once(&crl.to_vec())).map(|d| B64.encode(d)).collect();
    let actor = keiyaku_kernel::context::Actor::system();
    tx.audit(
        &actor,
        "certs.crl_refresh",
        &due.key,
        serde_json::json!({"user_id": record.user_id, "this_update": fetched.map(rfc3339)}),
    )?;
    if verdict.revoked && record.status != CertStatus::Revoked {
        record.status = CertStatus::Revoked;
        record.revoked_at = Some(now);
        record.revocation_reason = Some("発行元の認証局が失効 (CRL)".into());
        tx.audit(&actor, "certs.revoke", &due.key, serde_json::json!({"user_id": record.user_id, "reason": "crl"}))?;
    }
    tx.put(&CERTIFICATES, &due.key, &record)?;
    Ok(true)
}

/// PEM of a DER certificate.
fn pem_of(der: &[u8]) -> String {
    let b64 = B64.encode(der);
    let mut out = String::from("-----BEGIN CERTIFICATE-----\n");
    for line in b64.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(line));
        out.push('\n');
    }
    out.push_str("-----END CERTIFICATE-----\n");
    out
}

/// Registers the certificate for `user_id` in the caller's tenant (authorised again here,
/// in the transaction that writes): sealed key, record marked imported, current
/// certificate of the holder (usable at once; a usable earlier one is replaced and revoked
/// as superseded by the hourly task), and the audit record `certs.import`.
pub fn register(
    tx: &mut Tx,
    env: &Env<'_>,
    caller: &Caller,
    user_id: &str,
    c: &Candidate,
    crls: &[Vec<u8>],
    pin_hash: &str,
) -> Result<CertRecord, CertsError> {
    let code = &caller.tenant;
    let holder = directory::get_user(tx, code, user_id)?.ok_or(CertsError::NotFound("user"))?;
    authz::require(caller, Op::Import, Some(&holder))?;
    if !holder.has(Role::Signer) {
        return Err(CertsError::invalid("user_id", crate::certificates::not_signer()));
    }
    let k = key(code, &c.serial);
    if tx.get(&CERTIFICATES, &k)?.is_some() {
        return Err(refuse(Refusal::CertificateExists));
    }
    let now = tx.now();
    let replaces = match tx.get(&USER_CERTS, &key(code, user_id))? {
        Some(previous) => tx
            .get(&CERTIFICATES, &key(code, &previous))?
            .filter(|old| matches!(state(old, now), State::Active | State::NotYetUsable))
            .map(|old| old.serial),
        None => None,
    };
    let record = CertRecord {
        serial: c.serial.clone(),
        tenant: code.clone(),
        user_id: holder.user_id.clone(),
        common_name: c.common_name.chars().take(200).collect(),
        organization: c.organization.chars().take(200).collect(),
        email: c.email.chars().take(200).collect(),
        not_before: c.not_before,
        not_after: c.not_after,
        usable_from: now.to_zoned_datetime(tokyo()).date(),
        issued_at: now,
        status: CertStatus::Active,
        revoked_at: None,
        revocation_reason: None,
        cert_pem: pem_of(&c.cert_der),
        sealed_key: env.kek.seal(&cert_aad(code, &c.serial), &c.key_pkcs8)?,
        ticket: String::new(),
        term_years: 0,
        delivery: Delivery::Service,
        application_id: None,
        pin_hash: Some(pin_hash.to_string()),
        pin_failures: 0,
        pin_locked_at: None,
        replaces,
        expiry_noticed_at: None,
        imported: Some(Imported {
            issuer: c.issuer.chars().take(500).collect(),
            chain: c.chain.iter().map(|d| B64.encode(d)).collect(),
            crl_urls: c.crl_urls.clone(),
            ocsp_urls: c.ocsp_urls.clone(),
            crls: crls.iter().map(|d| B64.encode(d)).collect(),
            file_sha256: c.file_sha256.clone(),
        }),
    };
    tx.put(&CERTIFICATES, &k, &record)?;
    tx.put(&USER_CERTS, &key(code, user_id), &record.serial)?;
    tx.audit(
        &caller.actor(),
        "certs.import",
        &k,
        serde_json::json!({
            "user_id": record.user_id, "subject": record.common_name, "issuer": c.issuer,
            "not_after": rfc3339(record.not_after), "crl_urls": c.crl_urls, "ocsp_urls": c.ocsp_urls,
            "crls": crls.len(), "replaces": record.replaces, "file_sha256": c.file_sha256,
        }),
    )?;
    Ok(record)
}

/// The issuer chain (DER, direct issuer first) of an imported record.
pub fn chain_of(imported: &Imported) -> Vec<Vec<u8>> {
    imported.chain.iter().filter_map(|b| B64.decode(b).ok()).collect()
}

/// The CRLs (DER) kept with an imported record.
pub fn crls_of(imported: &Imported) -> Vec<Vec<u8>> {
    imported.crls.iter().filter_map(|b| B64.decode(b).ok()).collect()
}

/// The imported record whose certificate is `cert_der`, if any.
pub fn record_of(tx: &impl Read, tenant: &str, cert_der: &[u8]) -> Result<Option<CertRecord>, CertsError> {
    let Some(cert) = parse(cert_der) else { return Ok(None) };
    let serial = serial_hex(cert.raw_serial());
    Ok(tx
        .get(&CERTIFICATES, &key(tenant, &serial))?
        .filter(|r| r.imported.is_some() && crate::certificates::pem_body(&r.cert_pem).is_ok_and(|d| d == cert_der)))
}

/// 証明書のテスト of an imported certificate: the issuer verifies the certificate, and a
/// payload signed with the key verifies with the certificate. The signature (DER).
pub fn test_signature(
    cert_der: &[u8],
    issuer_der: &[u8],
    key_pkcs8: &[u8],
    payload: &[u8],
) -> Result<Vec<u8>, CertsError> {
    use aws_lc_rs::signature::{ECDSA_P256_SHA256_ASN1, UnparsedPublicKey};
    if !issued_by(cert_der, issuer_der) {
        return Err(CertsError::crypto("the imported certificate does not verify against its issuer"));
    }
    let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, key_pkcs8)
        .map_err(|_| CertsError::crypto("the registered key cannot be loaded"))?;
    let cert = parse(cert_der).ok_or_else(|| CertsError::crypto("the stored certificate cannot be read"))?;
    let public = cert.public_key().subject_public_key.data.to_vec();
    if pair.public_key().as_ref() != public.as_slice() {
        return Err(CertsError::crypto("the registered key does not match the certificate"));
    }
    let sig =
        pair.sign(&aws_lc_rs::rand::SystemRandom::new(), payload).map_err(|_| CertsError::crypto("signing failed"))?;
    UnparsedPublicKey::new(&ECDSA_P256_SHA256_ASN1, &public)
        .verify(payload, sig.as_ref())
        .map_err(|_| CertsError::crypto("the test signature does not verify"))?;
    Ok(sig.as_ref().to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serials_drop_leading_zero_bytes() {
        assert_eq!(serial_hex(&[0, 0x8a, 1]), "8A01");
        assert_eq!(serial_hex(&[0]), "00");
        assert_eq!(serial_hex(&[]), "");
    }

    #[test]
    fn junk_is_refused_with_its_code() {
        let now: Timestamp = "2026-11-25T01:00:00Z".parse().unwrap_or(Timestamp::UNIX_EPOCH);
        let input = ImportInput {
            file: b"not pkcs12".to_vec(),
            password: "x".into(),
            pin: "123456789012".into(),
            ..Default::default()
        };
        assert!(check_fields(&input).is_ok());
        assert!(matches!(examine(&input, now), Err(CertsError::Import(Refusal::Pkcs12Invalid))));
        let missing = ImportInput::default();
        assert!(matches!(check_fields(&missing), Err(CertsError::Invalid(v)) if v.len() == 3));
        assert!(matches!(
            certificates_in(b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----"),
            Err(CertsError::Import(Refusal::ChainInvalid))
        ));
    }

    /// A key file keiyaku writes (PBES2 AES-256-CBC / HMAC-SHA256 MAC) reads back, and a
    /// wrong password is told apart from junk.
    #[test]
    fn reads_its_own_key_files() {
        let now = crate::ca::tests_support::now();
        let ca = crate::ca::tests_support::loaded();
        let subject = crate::ca::Subject {
            common_name: "BN-Yamada.Taro".into(),
            organization: "アイテック".into(),
            email: "ito@example.jp".into(),
            seal_sha256: None,
        };
        let endpoints = crate::ca::Endpoints::new("https://localhost:8443", "HXOS2");
        let issued = crate::ca::issue(&ca, &subject, &[1, 2, 3], now, crate::ca::add_years(now, 1), &endpoints)
            .unwrap_or_else(|e| panic!("{e}"));
        let p12 = pkcs12::build(&issued.der, Some(&ca.der), &issued.key_pkcs8, "pw-1234", "BN-Yamada.Taro")
            .unwrap_or_else(|e| panic!("{e}"));
        let input =
            ImportInput { file: p12, password: "pw-1234".into(), pin: "123456789012".into(), ..Default::default() };
        let c = examine(&input, now).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((c.cert_der.as_slice(), c.chain.as_slice()), (issued.der.as_slice(), std::slice::from_ref(&ca.der)));
        assert_eq!((c.serial.as_str(), c.common_name.as_str()), ("010203", "BN-Yamada.Taro"));
        assert!(c.crl_urls.iter().any(|u| u.ends_with("/ca/crl")), "{:?}", c.crl_urls);
        assert!(!c.ocsp_urls.is_empty());
        let wrong = ImportInput { password: "pw-12345".into(), ..input.clone() };
        assert!(matches!(examine(&wrong, now), Err(CertsError::Import(Refusal::PasswordInvalid))));
        let later = crate::ca::add_years(now, 2);
        assert!(matches!(examine(&input, later), Err(CertsError::Import(Refusal::CertificateExpired))));
        let sig = test_signature(&c.cert_der, &ca.der, &c.key_pkcs8, b"x").unwrap_or_else(|e| panic!("{e}"));
        assert!(!sig.is_empty());
    }
}
