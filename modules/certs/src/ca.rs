//! The certificate authority of a tenant: pure functions over rcgen and aws-lc-rs.
//!
//! Keys are ECDSA P-256 with SHA-256 (see ARCHITECTURE.md, Decisions). A tenant's CA is a
//! self-signed root (`CN = {tenant name} 電子契約 認証局`, `O` = the service owner, `C = JP`,
//! path length 0, keyCertSign + cRLSign, 20 years). Signer certificates carry
//! `CN = BN-Surname.Given`, `O` = the company, `C = JP`, the holder's e-mail as SAN,
//! digitalSignature + nonRepudiation, and the document-signing extended key usages
//! (id-kp-documentSigning of RFC 9336, emailProtection and Microsoft document signing, so
//! Acrobat and Office accept them), a random 127-bit serial, and a validity of the ticket's
//! term.

use crate::error::CertsError;
use crate::model::{CaRecord, RevokedEntry};
use jiff::{Timestamp, ToSpan};
use keiyaku_kernel::clock::tokyo;
use rcgen::{
    BasicConstraints, CertificateParams, CertificateRevocationListParams, DistinguishedName, DnType, DnValue,
    ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair, KeyUsagePurpose, PKCS_ECDSA_P256_SHA256, RevocationReason,
    RevokedCertParams, SanType, SerialNumber,
};
use time::OffsetDateTime;

/// id-kp-documentSigning (RFC 9336).
const EKU_DOCUMENT_SIGNING: [u64; 9] = [1, 3, 6, 1, 5, 5, 7, 3, 36];
/// Microsoft Document Signing.
const EKU_MS_DOCUMENT_SIGNING: [u64; 10] = [1, 3, 6, 1, 4, 1, 311, 10, 3, 12];

/// The usages of a certificate that signs documents (a signer's, the system certificate):
/// digitalSignature + nonRepudiation, document signing, e-mail protection and Microsoft
/// document signing, as Acrobat, Office and pyHanko expect.
fn document_signing(p: &mut CertificateParams) {
    p.key_usages = vec![KeyUsagePurpose::DigitalSignature, KeyUsagePurpose::ContentCommitment];
    p.extended_key_usages = vec![
        ExtendedKeyUsagePurpose::Other(EKU_DOCUMENT_SIGNING.to_vec()),
        ExtendedKeyUsagePurpose::EmailProtection,
        ExtendedKeyUsagePurpose::Other(EKU_MS_DOCUMENT_SIGNING.to_vec()),
    ];
}

/// Validity of a tenant CA.
pub const CA_YEARS: i64 = 20;

/// id-pe-authorityInfoAccess.
const OID_AIA: [u64; 9] = [1, 3, 6, 1, 5, 5, 7, 1, 1];
/// id-ad-ocsp and id-ad-caIssuers.
const OID_AD_OCSP: [u64; 9] = [1, 3, 6, 1, 5, 5, 7, 48, 1];
const OID_AD_CA_ISSUERS: [u64; 9] = [1, 3, 6, 1, 5, 5, 7, 48, 2];
/// id-ce-certificatePolicies.
const OID_CERTIFICATE_POLICIES: [u64; 4] = [2, 5, 29, 32];
/// The arc of keiyaku's certificate policies: `2.25.<UUID>` as for the TSA policy, then `.2`
/// and the tenant code read as a base-36 number.
const POLICY_ARC: &str = "2.25.19482070918867422078046894882061333835.2";

/// Where relying parties find what a tenant CA publishes, written into every certificate it
/// issues (CRL distribution point, authority information access), and its policy OID.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoints {
    pub crl: String,
    pub ocsp: String,
    pub ca_issuers: String,
    /// The tenant's certificate policy, dotted.
    pub policy: String,
}

impl Endpoints {
    /// Under `base_url` (`server.public_url`): `/api/v1/t/{tenant}/ca/crl`, `…/ca/ocsp` and
    /// `…/ca/certificate?format=der`.
    pub fn new(base_url: &str, tenant: &str) -> Self {
        let ca = format!("{}/api/v1/t/{tenant}/ca", base_url.trim_end_matches('/'));
        Self {
            crl: format!("{ca}/crl"),
            ocsp: format!("{ca}/ocsp"),
            ca_issuers: format!("{ca}/certificate?format=der"),
            policy: tenant_policy(tenant),
        }
    }
}

/// The certificate policy OID of a tenant (see [`POLICY_ARC`]).
pub fn tenant_policy(tenant: &str) -> String {
    let n = tenant
        .bytes()
        .filter_map(|b| char::from(b).to_digit(36))
        .fold(0u128, |n, d| n.saturating_mul(36).saturating_add(u128::from(d)));
    format!("{POLICY_ARC}.{n}")
}

/// CRL distribution point, AIA (OCSP, caIssuers) and the certificate policy.
fn apply_endpoints(p: &mut CertificateParams, e: &Endpoints) {
    p.crl_distribution_points = vec![rcgen::CrlDistributionPoint { uris: vec![e.crl.clone()] }];
    let aia = yasna::construct_der(|w| {
        w.write_sequence(|w| {
            for (method, url) in [(&OID_AD_OCSP[..], &e.ocsp), (&OID_AD_CA_ISSUERS[..], &e.ca_issuers)] {
                w.next().write_sequence(|w| {
                    w.next().write_oid(&yasna::models::ObjectIdentifier::from_slice(method));
                    w.next().write_tagged_implicit(yasna::Tag::context(6), |w| w.write_ia5_string(url));
                });
            }
        })
    });
    p.custom_extensions.push(rcgen::CustomExtension::from_oid_content(&OID_AIA, aia));
    if let Some(policy) = keiyaku_pades::encode_oid(&e.policy) {
        let policies =
            yasna::construct_der(|w| w.write_sequence(|w| w.next().write_sequence(|w| w.next().write_der(&policy))));
        p.custom_extensions.push(rcgen::CustomExtension::from_oid_content(&OID_CERTIFICATE_POLICIES, policies));
    }
}

pub fn odt(ts: Timestamp) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(ts.as_second()).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// `ts` plus `years` calendar years in Japan time.
pub fn add_years(ts: Timestamp, years: i64) -> Timestamp {
    ts.to_zoned_datetime(tokyo()).checked_add(years.years()).map(|z| z.timestamp()).unwrap_or(Timestamp::MAX)
}

/// A fresh random serial: 16 bytes, positive, no leading zero byte.
pub fn random_serial() -> Result<[u8; 16], CertsError> {
    let mut s = [0u8; 16];
    aws_lc_rs::rand::fill(&mut s).map_err(|_| CertsError::crypto("no randomness"))?;
    s[0] = (s[0] & 0x7F) | 0x01;
    Ok(s)
}

pub fn serial_hex(bytes: &[u8]) -> String {
    hex::encode_upper(bytes)
}

/// The bytes of a serial written by [`serial_hex`] (at most 20 bytes); None when malformed.
pub fn serial_bytes(hex: &str) -> Option<Vec<u8>> {
    let digit = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    };
    let b = hex.as_bytes();
    if b.is_empty() || !b.len().is_multiple_of(2) || b.len() > 40 {
        return None;
    }
    b.chunks_exact(2).map(|p| Some((digit(p[0])? << 4) | digit(p[1])?)).collect()
}

/// `C = JP` as a PrintableString.
fn country() -> Result<DnValue, CertsError> {
    Ok(DnValue::PrintableString("JP".try_into().map_err(CertsError::crypto)?))
}

fn ca_params(common_name: &str, organization: &str) -> Result<CertificateParams, CertsError> {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CountryName, country()?);
    dn.push(DnType::OrganizationName, organization);
    dn.push(DnType::CommonName, common_name);
    let mut p = CertificateParams::default();
    p.distinguished_name = dn;
    p.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    p.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
    Ok(p)
}

/// A new CA: its certificate (PEM, DER) and key (PKCS#8 DER). The key is the caller's to seal.
pub struct NewCa {
    pub pem: String,
    pub der: Vec<u8>,
    pub key_pkcs8: Vec<u8>,
    pub not_before: Timestamp,
    pub not_after: Timestamp,
}

pub fn create_ca(common_name: &str, organization: &str, now: Timestamp) -> Result<NewCa, CertsError> {
    let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).map_err(CertsError::crypto)?;
    let not_before = now.checked_sub(1.hour()).unwrap_or(now);
    let not_after = add_years(now, CA_YEARS);
    let mut p = ca_params(common_name, organization)?;
    p.not_before = odt(not_before);
    p.not_after = odt(not_after);
    p.serial_number = Some(SerialNumber::from_slice(&random_serial()?));
    let cert = p.self_signed(&key).map_err(CertsError::crypto)?;
    Ok(NewCa {
        pem: cert.pem(),
        der: cert.der().to_vec(),
        key_pkcs8: key.serialize_der(),
        not_before: Timestamp::from_second(not_before.as_second()).unwrap_or(not_before),
        not_after,
    })
}

/// A CA ready to sign: what signing needs of its certificate, and its key.
pub struct LoadedCa {
    params: CertificateParams,
    key: KeyPair,
    pub der: Vec<u8>,
}

impl LoadedCa {
    /// From a stored record and its opened key.
    pub fn new(record: &CaRecord, key_pkcs8: &[u8]) -> Result<Self, CertsError> {
        let key = KeyPair::try_from(key_pkcs8).map_err(CertsError::crypto)?;
        use base64::Engine;
        let der = base64::engine::general_purpose::STANDARD
            .decode(&record.cert_der)
            .map_err(|_| CertsError::crypto("stored CA certificate is not base64"))?;
        Ok(Self { params: ca_params(&record.common_name, &record.organization)?, key, der })
    }

    fn issuer(&self) -> Issuer<'_, &KeyPair> {
        Issuer::from_params(&self.params, &self.key)
    }

    /// The CA's public key (uncompressed point), for verifying what it signed.
    pub fn public_key_raw(&self) -> &[u8] {
        self.key.public_key_raw()
    }
}

/// Who a signer certificate is for.
#[derive(Debug, Clone)]
pub struct Subject {
    /// `BN-Surname.Given`.
    pub common_name: String,
    pub organization: String,
    pub email: String,
    /// SHA-256 of the holder's registered seal, certified in a subjectDirectoryAttributes
    /// extension (see `keiyaku_pades::seal_extension`).
    pub seal_sha256: Option<[u8; 32]>,
}

/// A signed certificate and its new key.
pub struct Issued {
    pub serial: String,
    pub der: Vec<u8>,
    pub pem: String,
    pub key_pkcs8: Vec<u8>,
}

/// The parameters of a signer certificate (without key and signature).
pub fn signer_params(
    subject: &Subject,
    serial: &[u8],
    not_before: Timestamp,
    not_after: Timestamp,
    endpoints: &Endpoints,
) -> Result<CertificateParams, CertsError> {
    let mut p = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CountryName, country()?);
    dn.push(DnType::OrganizationName, subject.organization.as_str());
    dn.push(DnType::CommonName, subject.common_name.as_str());
    p.distinguished_name = dn;
    p.serial_number = Some(SerialNumber::from_slice(serial));
    p.not_before = odt(not_before);
    p.not_after = odt(not_after);
    p.is_ca = IsCa::ExplicitNoCa;
    document_signing(&mut p);
    if let Ok(mail) = rcgen::string::Ia5String::try_from(subject.email.clone()) {
        p.subject_alt_names = vec![SanType::Rfc822Name(mail)];
    }
    p.use_authority_key_identifier_extension = true;
    if let Some(seal) = &subject.seal_sha256 {
        let (oid, content) = keiyaku_pades::seal_extension(seal);
        p.custom_extensions.push(rcgen::CustomExtension::from_oid_content(&oid, content));
    }
    apply_endpoints(&mut p, endpoints);
    Ok(p)
}

/// Generates a key and signs a signer certificate with the CA.
pub fn issue(
    ca: &LoadedCa,
    subject: &Subject,
    serial: &[u8],
    not_before: Timestamp,
    not_after: Timestamp,
    endpoints: &Endpoints,
) -> Result<Issued, CertsError> {
    let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).map_err(CertsError::crypto)?;
    let params = signer_params(subject, serial, not_before, not_after, endpoints)?;
    let cert = params.signed_by(&key, &ca.issuer()).map_err(CertsError::crypto)?;
    Ok(Issued { serial: serial_hex(serial), der: cert.der().to_vec(), pem: cert.pem(), key_pkcs8: key.serialize_der() })
}

/// id-kp-timeStamping (1.3.6.1.5.5.7.3.8).
const OID_EXT_KEY_USAGE: [u64; 4] = [2, 5, 29, 37];
/// `SEQUENCE { id-kp-timeStamping }`: the extendedKeyUsage value of a TSA certificate.
const EKU_TIME_STAMPING_ONLY: [u8; 12] = [0x30, 0x0a, 0x06, 0x08, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x08];

/// What a service certificate of the tenant is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    /// The timestamp authority (RFC 3161 §2.3: extendedKeyUsage critical, only
    /// id-kp-timeStamping).
    Tsa,
    /// The delegated OCSP responder (id-kp-OCSPSigning, id-pkix-ocsp-nocheck).
    Ocsp,
    /// The system certificate (システム証明書): signs the documents the appliance itself
    /// issues, such as the 合意締結証明書 — digitalSignature + nonRepudiation and the
    /// document-signing extended key usages of a signer certificate.
    System,
}

/// Generates a key and signs a service certificate of the tenant (see [`Service`]).
#[allow(clippy::too_many_arguments)]
pub fn issue_service(
    ca: &LoadedCa,
    service: Service,
    common_name: &str,
    organization: &str,
    serial: &[u8],
    not_before: Timestamp,
    not_after: Timestamp,
    endpoints: &Endpoints,
) -> Result<Issued, CertsError> {
    let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).map_err(CertsError::crypto)?;
    let mut p = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CountryName, country()?);
    dn.push(DnType::OrganizationName, organization);
    dn.push(DnType::CommonName, common_name);
    p.distinguished_name = dn;
    p.serial_number = Some(SerialNumber::from_slice(serial));
    p.not_before = odt(not_before);
    p.not_after = odt(not_after);
    p.is_ca = IsCa::ExplicitNoCa;
    match service {
        Service::Tsa => {
            p.key_usages = vec![KeyUsagePurpose::DigitalSignature, KeyUsagePurpose::ContentCommitment];
            let mut eku = rcgen::CustomExtension::from_oid_content(&OID_EXT_KEY_USAGE, EKU_TIME_STAMPING_ONLY.to_vec());
            eku.set_criticality(true);
            p.custom_extensions = vec![eku];
        }
        Service::Ocsp => {
            p.key_usages = vec![KeyUsagePurpose::DigitalSignature];
            p.extended_key_usages = vec![ExtendedKeyUsagePurpose::OcspSigning];
            p.custom_extensions =
                vec![rcgen::CustomExtension::from_oid_content(keiyaku_pades::OID_OCSP_NOCHECK, vec![0x05, 0x00])];
        }
        Service::System => document_signing(&mut p),
    }
    p.use_authority_key_identifier_extension = true;
    apply_endpoints(&mut p, endpoints);
    let cert = p.signed_by(&key, &ca.issuer()).map_err(CertsError::crypto)?;
    Ok(Issued { serial: serial_hex(serial), der: cert.der().to_vec(), pem: cert.pem(), key_pkcs8: key.serialize_der() })
}

fn reason(code: u8) -> RevocationReason {
    match code {
        1 => RevocationReason::KeyCompromise,
        3 => RevocationReason::AffiliationChanged,
        4 => RevocationReason::Superseded,
        5 => RevocationReason::CessationOfOperation,
        9 => RevocationReason::PrivilegeWithdrawn,
        _ => RevocationReason::Unspecified,
    }
}

/// Signs a CRL listing `revoked` (serial hex, entry).
pub fn sign_crl<'a>(
    ca: &LoadedCa,
    number: u64,
    revoked: impl Iterator<Item = (&'a str, &'a RevokedEntry)>,
    this_update: Timestamp,
    next_update: Timestamp,
) -> Result<Vec<u8>, CertsError> {
    let revoked_certs = revoked
        .filter_map(|(serial, e)| {
            let bytes = serial_bytes(serial)?;
            Some(RevokedCertParams {
                serial_number: SerialNumber::from_slice(&bytes),
                revocation_time: odt(e.revoked_at),
                reason_code: Some(reason(e.reason_code)),
                invalidity_date: None,
            })
        })
        .collect();
    let params = CertificateRevocationListParams {
        this_update: odt(this_update),
        next_update: odt(next_update),
        crl_number: SerialNumber::from_slice(&number.to_be_bytes()),
        issuing_distribution_point: None,
        revoked_certs,
        key_identifier_method: rcgen::KeyIdMethod::Sha256,
    };
    let crl = params.signed_by(&ca.issuer()).map_err(CertsError::crypto)?;
    Ok(crl.der().to_vec())
}

/// The parts of a certificate needed to check it: the signed bytes, the signature and the
/// subject's public key (uncompressed point).
#[derive(Debug, Clone)]
pub struct CertParts {
    pub tbs: Vec<u8>,
    pub signature: Vec<u8>,
    pub public_key: Vec<u8>,
}

pub fn parse_certificate(der: &[u8]) -> Result<CertParts, CertsError> {
    let bad = |_| CertsError::crypto("stored certificate cannot be parsed");
    let (tbs, signature) = yasna::parse_der(der, |r| {
        r.read_sequence(|r| {
            let tbs = r.next().read_der()?;
            let _alg = r.next().read_der()?;
            let (sig, _bits) = r.next().read_bitvec_bytes()?;
            Ok((tbs, sig))
        })
    })
    .map_err(bad)?;
    let public_key = yasna::parse_der(&tbs, |r| {
        r.read_sequence(|r| {
            r.read_optional(|r| r.read_tagged(yasna::Tag::context(0), |r| r.read_i64()))?;
            for _ in 0..5 {
                // serial, signature algorithm, issuer, validity, subject
                r.next().read_der()?;
            }
            let key = r.next().read_sequence(|r| {
                let _alg = r.next().read_der()?;
                r.next().read_bitvec_bytes().map(|(k, _)| k)
            })?;
            r.read_optional(|r| r.read_tagged_der())?;
            r.read_optional(|r| r.read_tagged_der())?;
            r.read_optional(|r| r.read_tagged_der())?;
            Ok(key)
        })
    })
    .map_err(bad)?;
    Ok(CertParts { tbs, signature, public_key })
}

/// Signs `payload` with a signer key (PKCS#8) and verifies the signature with the public key
/// of the certificate, and the certificate with the CA key.
pub fn sign_and_verify(
    cert_der: &[u8],
    key_pkcs8: &[u8],
    ca_public_key: &[u8],
    payload: &[u8],
) -> Result<Vec<u8>, CertsError> {
    use aws_lc_rs::signature::{
        ECDSA_P256_SHA256_ASN1, ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair, KeyPair as _, UnparsedPublicKey,
    };
    let parts = parse_certificate(cert_der)?;
    UnparsedPublicKey::new(&ECDSA_P256_SHA256_ASN1, ca_public_key)
        .verify(&parts.tbs, &parts.signature)
        .map_err(|_| CertsError::crypto("the certificate does not verify against the tenant CA"))?;
    let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, key_pkcs8)
        .map_err(|_| CertsError::crypto("the registered key cannot be loaded"))?;
    if pair.public_key().as_ref() != parts.public_key.as_slice() {
        return Err(CertsError::crypto("the registered key does not match the certificate"));
    }
    let rng = aws_lc_rs::rand::SystemRandom::new();
    let sig = pair.sign(&rng, payload).map_err(|_| CertsError::crypto("signing failed"))?;
    UnparsedPublicKey::new(&ECDSA_P256_SHA256_ASN1, &parts.public_key)
        .verify(payload, sig.as_ref())
        .map_err(|_| CertsError::crypto("the test signature does not verify"))?;
    Ok(sig.as_ref().to_vec())
}

#[cfg(test)]
pub(crate) mod tests_support {
    use super::*;
    use base64::Engine;

    pub(crate) fn now() -> Timestamp {
        "2026-11-25T01:00:00Z".parse().unwrap_or(Timestamp::UNIX_EPOCH)
    }

    pub(crate) fn loaded() -> LoadedCa {
        let ca =
            create_ca("HXOS2 電子契約 認証局", "オリエンタル白石株式会社", now()).unwrap_or_else(|e| panic!("{e}"));
        let record = CaRecord {
            tenant: "HXOS2".into(),
            common_name: "HXOS2 電子契約 認証局".into(),
            organization: "オリエンタル白石株式会社".into(),
            cert_pem: ca.pem,
            cert_der: base64::engine::general_purpose::STANDARD.encode(&ca.der),
            sealed_key: crate::kek::Sealed(String::new()),
            not_before: ca.not_before,
            not_after: ca.not_after,
            created_at: now(),
        };
        LoadedCa::new(&record, &ca.key_pkcs8).unwrap_or_else(|e| panic!("{e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::tests_support::{loaded, now};
    use super::*;

    #[test]
    fn issued_certificates_verify_sign_and_carry_the_profile() {
        let ca = loaded();
        let subject = Subject {
            common_name: "BN-Yamada.Taro".into(),
            organization: "アイテックコンサルタント株式会社".into(),
            email: "ito@a15336.example.jp".into(),
            seal_sha256: None,
        };
        let serial = random_serial().unwrap_or([1; 16]);
        let endpoints = Endpoints::new("https://keiyaku.example.jp", "HXOS2");
        let issued =
            issue(&ca, &subject, &serial, now(), add_years(now(), 3), &endpoints).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(issued.serial.len(), 32);
        let sig = sign_and_verify(&issued.der, &issued.key_pkcs8, ca.public_key_raw(), b"payload");
        assert!(sig.is_ok(), "{sig:?}");
        // Another CA's key does not verify it.
        let other = loaded();
        assert!(sign_and_verify(&issued.der, &issued.key_pkcs8, other.public_key_raw(), b"p").is_err());
        // CRL signs.
        let entry = RevokedEntry { revoked_at: now(), reason_code: 1 };
        let crl = sign_crl(
            &ca,
            2,
            [(issued.serial.as_str(), &entry)].into_iter(),
            now(),
            now() + jiff::SignedDuration::from_hours(168),
        );
        assert!(crl.is_ok_and(|d| d.len() > 100));
    }

    #[test]
    fn the_system_certificate_signs_documents_with_non_repudiation_and_names_its_endpoints() {
        use x509_parser::prelude::{FromDer, ParsedExtension, X509Certificate};
        let ca = loaded();
        let serial = random_serial().unwrap_or([2; 16]);
        let endpoints = Endpoints::new("https://keiyaku.example.jp", "HXOS2");
        let issued = issue_service(
            &ca,
            Service::System,
            "HXOS2 システム証明書 (HXOS2)",
            "オリエンタル白石株式会社",
            &serial,
            now(),
            add_years(now(), 5),
            &endpoints,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert!(sign_and_verify(&issued.der, &issued.key_pkcs8, ca.public_key_raw(), b"payload").is_ok());
        let (_, cert) = X509Certificate::from_der(&issued.der).unwrap_or_else(|e| panic!("{e}"));
        let ku = cert.key_usage().ok().flatten().map(|e| *e.value).unwrap_or_else(|| panic!("keyUsage"));
        assert!(ku.digital_signature() && ku.non_repudiation() && !ku.key_cert_sign(), "{ku}");
        let eku = cert.extended_key_usage().ok().flatten().map(|e| e.value.clone()).unwrap_or_else(|| panic!("EKU"));
        assert!(eku.email_protection && !eku.time_stamping && !eku.ocsp_signing, "{eku:?}");
        let mut crl = Vec::new();
        let mut aia = Vec::new();
        for ext in cert.extensions() {
            match ext.parsed_extension() {
                ParsedExtension::CRLDistributionPoints(p) => crl.push(format!("{p:?}")),
                ParsedExtension::AuthorityInfoAccess(a) => aia.push(format!("{a:?}")),
                _ => {}
            }
        }
        assert!(crl.iter().any(|p| p.contains(&endpoints.crl)), "{crl:?}");
        assert!(aia.iter().any(|a| a.contains(&endpoints.ocsp) && a.contains(&endpoints.ca_issuers)), "{aia:?}");
        assert!(!cert.is_ca());
    }

    #[test]
    fn serials_round_trip() {
        let s = random_serial().unwrap_or([1; 16]);
        assert_eq!(serial_bytes(&serial_hex(&s)).as_deref(), Some(&s[..]));
        for bad in ["", "ABC", "ZZ", &"00".repeat(21)] {
            assert_eq!(serial_bytes(bad), None, "{bad}");
        }
    }

    #[test]
    fn years_are_calendar_years_in_japan() {
        let t: Timestamp = "2028-02-29T03:00:00Z".parse().unwrap_or(Timestamp::UNIX_EPOCH);
        assert_eq!(add_years(t, 1).to_string(), "2029-02-28T03:00:00Z");
        assert!(parse_certificate(b"not der").is_err());
    }
}
