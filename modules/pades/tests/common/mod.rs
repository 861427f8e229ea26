//! Test fixtures: a CA, a signer and a TSA certificate (rcgen, ECDSA P-256) and test PDFs.
#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use keiyaku_pades::{Appearance, LocalTsa, Seal, SignRequest, tsa_eku_extension};
use rcgen::{
    BasicConstraints, Certificate, CertificateParams, CustomExtension, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer,
    KeyPair, KeyUsagePurpose, PKCS_ECDSA_P256_SHA256, date_time_ymd,
};

pub struct Pki {
    pub ca_der: Vec<u8>,
    pub ca_pem: String,
    pub signer_der: Vec<u8>,
    pub signer_key: Vec<u8>,
    pub signer_pem: String,
    pub signer_key_pem: String,
    pub tsa_der: Vec<u8>,
    pub tsa_pem: String,
    pub tsa_key: Vec<u8>,
    pub chain: Vec<Vec<u8>>,
}

pub fn params(cn: &str) -> CertificateParams {
    let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
    p.distinguished_name.push(DnType::CommonName, cn);
    p.distinguished_name.push(DnType::OrganizationName, "keiyaku test");
    p.not_before = date_time_ymd(2024, 1, 1);
    p.not_after = date_time_ymd(2036, 1, 1);
    p
}

/// The fixture PKI before the signer and TSA certificates are made: the CA (certificate
/// and issuer) and the signer's and TSA's keys and certificate parameters, for variants
/// (e.g. with an OCSP location).
pub struct Parts {
    pub ca: Certificate,
    pub issuer: Issuer<'static, KeyPair>,
    pub signer_params: CertificateParams,
    pub signer_key: KeyPair,
    pub tsa_params: CertificateParams,
    pub tsa_key: KeyPair,
}

pub fn parts() -> Parts {
    let ca_key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).unwrap();
    let mut ca_params = params("keiyaku test CA");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.key_usages =
        vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca_params, ca_key);

    let signer_key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).unwrap();
    let mut sp = params("山田 太郎");
    sp.distinguished_name.push(DnType::CustomDnType(vec![1, 2, 840, 113549, 1, 9, 1]), "taro@example.jp");
    sp.key_usages = vec![KeyUsagePurpose::DigitalSignature, KeyUsagePurpose::ContentCommitment];
    sp.extended_key_usages = vec![ExtendedKeyUsagePurpose::EmailProtection];
    sp.use_authority_key_identifier_extension = true;

    let tsa_key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).unwrap();
    let mut tp = params("keiyaku test TSA");
    tp.key_usages = vec![KeyUsagePurpose::DigitalSignature, KeyUsagePurpose::ContentCommitment];
    let (oid, content) = tsa_eku_extension();
    let mut eku = CustomExtension::from_oid_content(&oid, content);
    eku.set_criticality(true);
    tp.custom_extensions = vec![eku];
    tp.use_authority_key_identifier_extension = true;
    Parts { ca, issuer, signer_params: sp, signer_key, tsa_params: tp, tsa_key }
}

impl Parts {
    /// The fixture with `signer` and `tsa` as the certificates of the parts' keys.
    pub fn pki(&self, signer: &Certificate, tsa: &Certificate) -> Pki {
        Pki {
            ca_der: self.ca.der().to_vec(),
            ca_pem: self.ca.pem(),
            signer_der: signer.der().to_vec(),
            signer_key: self.signer_key.serialize_der(),
            signer_pem: signer.pem(),
            signer_key_pem: self.signer_key.serialize_pem(),
            tsa_der: tsa.der().to_vec(),
            tsa_pem: tsa.pem(),
            tsa_key: self.tsa_key.serialize_der(),
            chain: vec![self.ca.der().to_vec()],
        }
    }
}

pub fn pki() -> Pki {
    let p = parts();
    let signer = p.signer_params.signed_by(&p.signer_key, &p.issuer).unwrap();
    let tsa = p.tsa_params.signed_by(&p.tsa_key, &p.issuer).unwrap();
    p.pki(&signer, &tsa)
}

impl Pki {
    pub fn tsa(&self) -> LocalTsa {
        LocalTsa::new(self.tsa_der.clone(), self.chain.clone(), self.tsa_key.clone())
    }

    pub fn request<'a>(&'a self, pdf: &'a [u8]) -> SignRequest<'a> {
        let mut r = SignRequest::new(pdf, &self.signer_der, &self.chain, &self.signer_key, jiff::Timestamp::now());
        r.name = Some("山田 太郎".into());
        r.reason = Some("契約締結".into());
        r.location = Some("Tokyo".into());
        r.appearance = Some(Appearance {
            page: 0,
            rect: None,
            seal: Seal { chars: vec!['山', '田'], vertical: true, date: None },
            label_lines: vec!["山田 太郎".into(), "代理: 鈴木 一郎".into(), "2026-11-25".into()],
        });
        r
    }
}

/// Writes objects `1..` and a classic xref table.
pub fn classic_pdf(objects: &[Vec<u8>]) -> Vec<u8> {
    let mut buf = b"%PDF-1.7\n%\xE2\xE3\xCF\xD3\n".to_vec();
    let mut offsets = Vec::new();
    for (i, body) in objects.iter().enumerate() {
        offsets.push(buf.len());
        buf.extend_from_slice(format!("{} 0 obj\n", i + 1).as_bytes());
        buf.extend_from_slice(body);
        buf.extend_from_slice(b"\nendobj\n");
    }
    let xref = buf.len();
    let mut t = format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1);
    for off in offsets {
        let _ = writeln!(t, "{off:010} 00000 n ");
    }
    let _ = write!(
        t,
        "trailer\n<< /Size {} /Root 1 0 R /Info 2 0 R /ID [<0123456789ABCDEF0123456789ABCDEF> <0123456789ABCDEF0123456789ABCDEF>] >>\nstartxref\n{xref}\n%%EOF\n",
        objects.len() + 1
    );
    buf.extend_from_slice(t.as_bytes());
    buf
}

fn stream(data: &[u8]) -> Vec<u8> {
    let mut s = format!("<< /Length {} >>\nstream\n", data.len()).into_bytes();
    s.extend_from_slice(data);
    s.extend_from_slice(b"\nendstream");
    s
}

/// A one-page A4 PDF whose page inherits /MediaBox and /Resources from /Pages and has an
/// indirect /Annots array with a link annotation.
pub fn simple_pdf() -> Vec<u8> {
    classic_pdf(&[
        b"<< /Type /Catalog /Pages 3 0 R >>".to_vec(),
        b"<< /Title (test) /Producer (hand) >>".to_vec(),
        b"<< /Type /Pages /Kids [4 0 R] /Count 1 /MediaBox [0 0 595 842] /Resources << /Font << /F1 6 0 R >> >> >>".to_vec(),
        b"<< /Type /Page /Parent 3 0 R /Contents 5 0 R /Annots 7 0 R >>".to_vec(),
        stream(b"BT /F1 24 Tf 72 760 Td (Hello keiyaku) Tj ET\n0 0 1 RG 72 700 m 500 700 l S"),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".to_vec(),
        b"[8 0 R]".to_vec(),
        b"<< /Type /Annot /Subtype /Link /Rect [72 750 300 790] /Border [0 0 0] /A << /S /URI /URI (https://example.com/) >> >>".to_vec(),
    ])
}

/// A multi-page PDF of roughly `target` bytes (uncompressed content streams).
pub fn big_pdf(pages: usize, target: usize) -> Vec<u8> {
    let per_page = target / pages.max(1);
    let mut objects: Vec<Vec<u8>> = vec![
        b"<< /Type /Catalog /Pages 3 0 R >>".to_vec(),
        b"<< /Title (big) >>".to_vec(),
        Vec::new(),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".to_vec(),
    ];
    let mut kids = Vec::new();
    for p in 0..pages {
        let page_id = objects.len() + 1;
        kids.push(format!("{page_id} 0 R"));
        objects.push(
            format!("<< /Type /Page /Parent 3 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 4 0 R >> >> /Contents {} 0 R >>", page_id + 1)
                .into_bytes(),
        );
        let mut content = format!("BT /F1 18 Tf 72 780 Td (Page {}) Tj ET\n", p + 1);
        let mut i = 0u64;
        while content.len() < per_page {
            let x = 50 + (i * 37 % 480);
            let y = 60 + (i * 53 % 680);
            let _ = writeln!(content, "0.{} g {x} {y} 3 3 re f", i % 10);
            i += 1;
        }
        objects.push(stream(content.as_bytes()));
    }
    objects[2] = format!("<< /Type /Pages /Kids [{}] /Count {pages} >>", kids.join(" ")).into_bytes();
    classic_pdf(&objects)
}

/// Whether `tool` can be run; when not: a skip message, or a panic when `CI` is set.
pub fn have(tool: &str, version_arg: &str) -> bool {
    let ok = std::process::Command::new(tool)
        .arg(version_arg)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok();
    if !ok {
        if std::env::var_os("CI").is_some() {
            panic!("{tool} is required in CI (see the comment at the top of this test file)");
        }
        eprintln!("SKIP: {tool} is not installed");
    }
    ok
}

/// A fresh scratch directory for one test.
pub fn scratch(name: &str) -> PathBuf {
    static COUNTER: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("keiyaku-pades-{}-{n}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

pub fn write(dir: &Path, name: &str, data: impl AsRef<[u8]>) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, data).unwrap();
    p
}

/// An xref-stream + object-stream version of `pdf` made by qpdf (None when qpdf is missing).
pub fn with_object_streams(pdf: &[u8]) -> Option<Vec<u8>> {
    if !have("qpdf", "--version") {
        return None;
    }
    let dir = scratch("qpdf");
    let input = write(&dir, "in.pdf", pdf);
    let output = dir.join("out.pdf");
    let status = std::process::Command::new("qpdf")
        .args(["--object-streams=generate", "--compress-streams=y"])
        .arg(&input)
        .arg(&output)
        .status()
        .unwrap();
    assert!(status.success());
    let pdf = std::fs::read(output).unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    Some(pdf)
}
