//! Signing speed: `cargo run --release -p keiyaku-pades --example bench_sign -- DIR [RUNS]`.
//!
//! Writes `DIR/{ca,signer,signer.key,tsa,tsa.key,ltv-signer,ltv-tsa,ocsp}.pem` and `DIR/{1mb,10mb}.pdf`, signs
//! each PDF RUNS times (default 5) with a visible stamp and a local time-stamp (PAdES-B-T),
//! and prints `keiyaku <case> <median ms> <signed bytes>` lines (used by `bench/pades.sh`).
//!
//! The `1mb.pdf+lt+lta` case signs the ~1 MB file at B-T, adds a DSS with the chain and an
//! OCSP response for the signer and for the TSA (B-LT), then a document time-stamp (B-LTA).
//! It uses `ltv-{signer,tsa}.pem`: the same keys, certified with an OCSP location.
//! The OCSP responses are made once, before the runs, by an OCSP responder certificate of
//! the same CA, and written as `DIR/{signer,tsa}.ocsp.der` for pyHanko to embed the same
//! (with `DIR/signature-time.txt`, the signature time-stamps' time, in Unix seconds).
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../tests/common/mod.rs"]
mod common;

use jiff::{SignedDuration, Timestamp};
use keiyaku_pades::{CertId, CertIdHash, CertStatus, Level, OcspResponder, OcspTimes, ValidationData, Verdict};
use rcgen::{CustomExtension, ExtendedKeyUsagePurpose, KeyPair, KeyUsagePurpose, PKCS_ECDSA_P256_SHA256};
use std::time::Instant;

/// Where the signer and TSA certificates say their OCSP responder is (nothing is fetched).
const OCSP_URL: &str = "http://ocsp.invalid/";

/// An OCSP responder certificate (DER, PEM) and its key (PKCS#8 DER).
struct Responder {
    der: Vec<u8>,
    pem: String,
    key: Vec<u8>,
}

/// An authorityInfoAccess extension naming an OCSP responder at `url` (never fetched here;
/// pyHanko looks for OCSP responses only for certificates that name a responder).
fn ocsp_aia(url: &str) -> CustomExtension {
    let url = url.as_bytes();
    // SEQUENCE { SEQUENCE { id-ad-ocsp, [6] IA5String url } }
    let mut access = vec![0x06, 0x08, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x30, 0x01, 0x86, url.len() as u8];
    access.extend_from_slice(url);
    let mut inner = vec![0x30, access.len() as u8];
    inner.extend_from_slice(&access);
    let mut value = vec![0x30, inner.len() as u8];
    value.extend_from_slice(&inner);
    CustomExtension::from_oid_content(&[1, 3, 6, 1, 5, 5, 7, 1, 1], value)
}

/// The fixtures' CA, signer and TSA (ECDSA P-256, as `tests/common`); the same signer and
/// TSA keys certified again with an OCSP location, for the B-LT/B-LTA case (pyHanko uses
/// OCSP responses only for certificates naming a responder, and tries to reach a named one
/// when signing at B-T, so the B-T cases keep the plain certificates);
/// and an OCSP responder of the same CA (id-kp-OCSPSigning, id-pkix-ocsp-nocheck).
fn pki() -> (common::Pki, common::Pki, Responder) {
    let mut parts = common::parts();
    let signer = parts.signer_params.signed_by(&parts.signer_key, &parts.issuer).unwrap();
    let tsa = parts.tsa_params.signed_by(&parts.tsa_key, &parts.issuer).unwrap();
    parts.signer_params.custom_extensions.push(ocsp_aia(OCSP_URL));
    parts.tsa_params.custom_extensions.push(ocsp_aia(OCSP_URL));
    let ltv_signer = parts.signer_params.signed_by(&parts.signer_key, &parts.issuer).unwrap();
    let ltv_tsa = parts.tsa_params.signed_by(&parts.tsa_key, &parts.issuer).unwrap();

    let responder_key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).unwrap();
    let mut rp = common::params("keiyaku test OCSP");
    rp.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    rp.extended_key_usages = vec![ExtendedKeyUsagePurpose::OcspSigning];
    rp.custom_extensions = vec![CustomExtension::from_oid_content(keiyaku_pades::OID_OCSP_NOCHECK, vec![0x05, 0x00])];
    rp.use_authority_key_identifier_extension = true;
    let responder = rp.signed_by(&responder_key, &parts.issuer).unwrap();
    let responder =
        Responder { der: responder.der().to_vec(), pem: responder.pem(), key: responder_key.serialize_der() };
    (parts.pki(&signer, &tsa), parts.pki(&ltv_signer, &ltv_tsa), responder)
}

fn median(mut times: Vec<f64>) -> f64 {
    times.sort_by(f64::total_cmp);
    times[times.len() / 2]
}

fn main() {
    let mut args = std::env::args().skip(1);
    let dir = std::path::PathBuf::from(args.next().unwrap_or_else(|| "bench-out".into()));
    let runs: usize = args.next().and_then(|r| r.parse().ok()).unwrap_or(5);
    std::fs::create_dir_all(&dir).unwrap();
    let (pki, ltv, responder) = pki();
    let tsa_key_pem = {
        // PKCS#8 DER → PEM for pyHanko.
        use std::fmt::Write as _;
        let b64 = base64(&pki.tsa_key);
        let mut s = String::from("-----BEGIN PRIVATE KEY-----\n");
        for line in b64.as_bytes().chunks(64) {
            let _ = writeln!(s, "{}", std::str::from_utf8(line).unwrap());
        }
        s.push_str("-----END PRIVATE KEY-----\n");
        s
    };
    common::write(&dir, "ca.pem", &pki.ca_pem);
    common::write(&dir, "signer.pem", &pki.signer_pem);
    common::write(&dir, "signer.key.pem", &pki.signer_key_pem);
    common::write(&dir, "tsa.pem", &pki.tsa_pem);
    common::write(&dir, "tsa.key.pem", &tsa_key_pem);
    common::write(&dir, "ocsp.pem", &responder.pem);
    common::write(&dir, "ltv-signer.pem", &ltv.signer_pem);
    common::write(&dir, "ltv-tsa.pem", &ltv.tsa_pem);
    let tsa = pki.tsa();
    let mut one_mb = Vec::new();
    for (name, pages, size) in [("1mb.pdf", 20, 1_000_000), ("10mb.pdf", 100, 10_000_000)] {
        let pdf = common::big_pdf(pages, size);
        common::write(&dir, name, &pdf);
        if one_mb.is_empty() {
            one_mb.clone_from(&pdf);
        }
        let mut times = Vec::new();
        let mut signed = Vec::new();
        for _ in 0..runs {
            let start = Instant::now();
            signed = keiyaku_pades::sign(&pki.request(&pdf), &tsa).unwrap();
            times.push(start.elapsed().as_secs_f64() * 1000.0);
        }
        let infos = keiyaku_pades::verify(&signed).unwrap();
        assert!(infos.len() == 1 && infos[0].is_intact());
        common::write(&dir, &format!("{name}.keiyaku-signed.pdf"), &signed);
        println!("keiyaku {name} {:.1} {}", median(times), signed.len());
    }
    lt_lta(&dir, runs, &ltv, &responder, &one_mb);
}

/// B-T signing + DSS (B-LT) + document time-stamp (B-LTA) of the ~1 MB file, with OCSP
/// responses made once beforehand (as pyHanko is given them), each run from the unsigned file.
fn lt_lta(dir: &std::path::Path, runs: usize, pki: &common::Pki, responder: &Responder, pdf: &[u8]) {
    let now = Timestamp::now();
    // The signature's time-stamp comes first, then the OCSP answers (a revocation answer
    // older than the signature's time proof does not count), then the document time-stamp.
    let mut signature_tsa = pki.tsa();
    let signature_time = now - SignedDuration::from_mins(10);
    signature_tsa.time = Some(signature_time);
    // pyHanko's in-process TSA stamps its signature time-stamps at the same time.
    common::write(dir, "signature-time.txt", signature_time.as_second().to_string());
    let validity = OcspTimes {
        produced_at: now - SignedDuration::from_mins(5),
        next_update: Some(now + SignedDuration::from_hours(7 * 24)),
    };
    let keys = OcspResponder { cert_der: &responder.der, key_pkcs8: &responder.key };
    let ocsp = |cert: &[u8]| {
        let id = CertId::of(cert, &pki.ca_der, CertIdHash::Sha1).unwrap();
        keiyaku_pades::ocsp_response(&keys, &[(id, CertStatus::Good)], validity, None).unwrap()
    };
    let (signer_ocsp, tsa_ocsp) = (ocsp(&pki.signer_der), ocsp(&pki.tsa_der));
    common::write(dir, "signer.ocsp.der", &signer_ocsp);
    common::write(dir, "tsa.ocsp.der", &tsa_ocsp);
    let data = ValidationData {
        certs: vec![pki.signer_der.clone(), pki.tsa_der.clone(), pki.ca_der.clone(), responder.der.clone()],
        ocsps: vec![signer_ocsp, tsa_ocsp],
        crls: Vec::new(),
    };
    let archive_tsa = pki.tsa();
    let mut times = Vec::new();
    let mut done = Vec::new();
    for _ in 0..runs {
        let start = Instant::now();
        let signed = keiyaku_pades::sign(&pki.request(pdf), &signature_tsa).unwrap();
        let lt = keiyaku_pades::add_validation_data(&signed, &data).unwrap();
        done = keiyaku_pades::timestamp_document(&lt, &archive_tsa).unwrap();
        times.push(start.elapsed().as_secs_f64() * 1000.0);
    }
    // Not timed: keiyaku's own verifier reads the result as a valid B-LTA signature.
    let report = keiyaku_pades::report(&done, std::slice::from_ref(&pki.ca_der), Timestamp::now()).unwrap();
    let first = &report.signatures[0];
    assert_eq!(first.level, Some(Level::BLta), "{:?}", report.reasons);
    assert_eq!(report.verdict, Verdict::Valid, "{:?}", report.reasons);
    common::write(dir, "1mb.pdf.keiyaku-lta.pdf", &done);
    println!("keiyaku 1mb.pdf+lt+lta {:.1} {}", median(times), done.len());
}

fn base64(data: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for c in data.chunks(3) {
        let n =
            (u32::from(c[0]) << 16) | (u32::from(*c.get(1).unwrap_or(&0)) << 8) | u32::from(*c.get(2).unwrap_or(&0));
        for i in 0..4 {
            if i <= c.len() {
                out.push(char::from(T[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}
