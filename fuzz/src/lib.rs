//! Fixtures shared by the fuzz targets: one test PKI (a CA, a signer and a time-stamping
//! authority, ECDSA P-256, made with rcgen the way `modules/pades/tests/common` does), built
//! once per process.

use std::sync::OnceLock;

use keiyaku_pades::{LocalTsa, tsa_eku_extension};
use rcgen::{
    BasicConstraints, CertificateParams, CustomExtension, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, PKCS_ECDSA_P256_SHA256, date_time_ymd,
};

pub struct Pki {
    pub signer_der: Vec<u8>,
    pub signer_key: Vec<u8>,
    pub chain: Vec<Vec<u8>>,
    pub tsa: LocalTsa,
}

fn params(cn: &str) -> CertificateParams {
    let mut p = CertificateParams::new(Vec::<String>::new()).expect("certificate parameters");
    p.distinguished_name.push(DnType::CommonName, cn);
    p.distinguished_name.push(DnType::OrganizationName, "keiyaku fuzz");
    p.not_before = date_time_ymd(2024, 1, 1);
    p.not_after = date_time_ymd(2036, 1, 1);
    p
}

fn build() -> Pki {
    let ca_key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).expect("CA key");
    let mut ca_params = params("keiyaku fuzz CA");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.key_usages =
        vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
    let ca = ca_params.self_signed(&ca_key).expect("CA certificate");
    let issuer = Issuer::new(ca_params, ca_key);

    let signer_key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).expect("signer key");
    let mut sp = params("山田 太郎");
    sp.key_usages = vec![KeyUsagePurpose::DigitalSignature, KeyUsagePurpose::ContentCommitment];
    sp.extended_key_usages = vec![ExtendedKeyUsagePurpose::EmailProtection];
    sp.use_authority_key_identifier_extension = true;
    let signer = sp.signed_by(&signer_key, &issuer).expect("signer certificate");

    let tsa_key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).expect("TSA key");
    let mut tp = params("keiyaku fuzz TSA");
    tp.key_usages = vec![KeyUsagePurpose::DigitalSignature, KeyUsagePurpose::ContentCommitment];
    let (oid, content) = tsa_eku_extension();
    let mut eku = CustomExtension::from_oid_content(&oid, content);
    eku.set_criticality(true);
    tp.custom_extensions = vec![eku];
    tp.use_authority_key_identifier_extension = true;
    let tsa = tp.signed_by(&tsa_key, &issuer).expect("TSA certificate");

    let chain = vec![ca.der().to_vec()];
    let mut local_tsa = LocalTsa::new(tsa.der().to_vec(), chain.clone(), tsa_key.serialize_der());
    // A fixed genTime, so a crashing input reproduces exactly.
    local_tsa.time = jiff::Timestamp::from_second(1_764_000_000).ok();
    Pki { signer_der: signer.der().to_vec(), signer_key: signer_key.serialize_der(), tsa: local_tsa, chain }
}

/// The process-wide test PKI.
pub fn pki() -> &'static Pki {
    static PKI: OnceLock<Pki> = OnceLock::new();
    PKI.get_or_init(build)
}
