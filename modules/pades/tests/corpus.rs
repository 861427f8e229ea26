//! A corpus of crafted signed PDFs judged by keiyaku's [`report`] and by pyHanko: both must
//! reach the same verdict on every case (and keiyaku must name modifications exactly for the
//! modified cases).
//!
//! pyHanko is run through `tests/tools/pyhanko_verdict.py` (trust root: the corpus CA,
//! validation time fixed, certificates and revocation information from the DSS only,
//! revocation `hard-fail`). It must be installed (`pip install pyhanko pyhanko-cli`); without
//! it the test prints SKIP, but fails when the `CI` environment variable is set.
//!
//! pyHanko's results map to keiyaku's verdicts as follows (per signature or document
//! time-stamp; a document's verdict is the worst, `unsigned` without any):
//!
//! - `invalid`: not intact, not cryptographically valid, modified after (`docmdp_ok` false:
//!   a modification level of `OTHER`, or above what the DocMDP level permits), or revoked;
//! - `indeterminate`: otherwise, when the signer (or TSA) is not trusted or the signature
//!   time-stamp is not (intact, valid and trusted);
//! - `valid`: otherwise (then pyHanko's `bottom_line` holds).
//!
//! An exception during pyHanko's validation would count as `indeterminate`; the test
//! requires that none occurs.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::fmt::Write as _;
use std::process::Command;

use common::{classic_pdf, scratch, simple_pdf, write};
use jiff::Timestamp;
use keiyaku_pades::{
    CertId, CertIdHash, CertStatus, LocalTsa, OcspResponder, OcspTimes, Report, SignRequest, ValidationData, Verdict,
    add_validation_data, ocsp_response, report, sign, timestamp_document, tsa_eku_extension,
};
use lopdf::{Dictionary, Document, Object, ObjectId};
use rcgen::{
    BasicConstraints, CertificateParams, CustomExtension, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, PKCS_ECDSA_P256_SHA256, date_time_ymd,
};

/// The signing time (and the signature time-stamps' genTime).
const SIGNED: &str = "2026-06-01T00:00:00Z";
/// When the OCSP responses were produced.
const CHECKED: &str = "2026-06-02T00:00:00Z";
/// The document time-stamps' genTime.
const ARCHIVED: &str = "2026-06-03T00:00:00Z";
/// The validation time.
const NOW: &str = "2026-06-10T00:00:00Z";
/// When the revoked signer's certificate was revoked.
const REVOKED_AT: &str = "2026-05-01T00:00:00Z";

fn at(t: &str) -> Timestamp {
    t.parse().unwrap()
}

type Day = (i32, u8, u8);

struct Pki {
    ca: Vec<u8>,
    ca_pem: String,
    ca_key: Vec<u8>,
    issuer: Issuer<'static, KeyPair>,
    signer: Vec<u8>,
    signer_key: Vec<u8>,
    tsa: Vec<u8>,
    tsa_key: Vec<u8>,
}

fn params(cn: &str, from: Day, to: Day) -> CertificateParams {
    let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
    p.distinguished_name.push(DnType::CommonName, cn);
    p.distinguished_name.push(DnType::OrganizationName, "keiyaku corpus");
    p.not_before = date_time_ymd(from.0, from.1, from.2);
    p.not_after = date_time_ymd(to.0, to.1, to.2);
    p
}

/// An authorityInfoAccess extension naming an OCSP responder: pyHanko checks a
/// certificate's revocation only when the certificate says where (it fetches nothing here;
/// the responses come from the DSS).
fn ocsp_aia() -> CustomExtension {
    let url = b"http://ocsp.keiyaku.invalid/";
    let mut access = vec![0x06, 0x08, 0x2B, 0x06, 0x01, 0x05, 0x05, 0x07, 0x30, 0x01, 0x86, url.len() as u8];
    access.extend_from_slice(url);
    let mut description = vec![0x30, access.len() as u8];
    description.extend_from_slice(&access);
    let mut der = vec![0x30, description.len() as u8];
    der.extend_from_slice(&description);
    CustomExtension::from_oid_content(&[1, 3, 6, 1, 5, 5, 7, 1, 1], der)
}

/// A signer certificate valid `from`..`to`, issued by `issuer`: (DER, PKCS#8 key).
fn signer(issuer: &Issuer<'static, KeyPair>, cn: &str, from: Day, to: Day) -> (Vec<u8>, Vec<u8>) {
    let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).unwrap();
    let mut p = params(cn, from, to);
    p.key_usages = vec![KeyUsagePurpose::DigitalSignature, KeyUsagePurpose::ContentCommitment];
    p.extended_key_usages = vec![ExtendedKeyUsagePurpose::EmailProtection];
    p.use_authority_key_identifier_extension = true;
    p.custom_extensions = vec![ocsp_aia()];
    let cert = p.signed_by(&key, issuer).unwrap();
    (cert.der().to_vec(), key.serialize_der())
}

fn pki(name: &str) -> Pki {
    let ca_key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).unwrap();
    let mut ca_params = params(name, (2024, 1, 1), (2036, 1, 1));
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.key_usages =
        vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let ca_key_der = ca_key.serialize_der();
    let issuer = Issuer::new(ca_params, ca_key);
    let (signer_der, signer_key) = signer(&issuer, "山田 太郎", (2024, 1, 1), (2036, 1, 1));
    let tsa_key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).unwrap();
    let mut tp = params("keiyaku corpus TSA", (2024, 1, 1), (2036, 1, 1));
    tp.key_usages = vec![KeyUsagePurpose::DigitalSignature, KeyUsagePurpose::ContentCommitment];
    let (oid, content) = tsa_eku_extension();
    let mut eku = CustomExtension::from_oid_content(&oid, content);
    eku.set_criticality(true);
    tp.custom_extensions = vec![eku, ocsp_aia()];
    tp.use_authority_key_identifier_extension = true;
    let tsa = tp.signed_by(&tsa_key, &issuer).unwrap();
    Pki {
        ca: ca.der().to_vec(),
        ca_pem: ca.pem(),
        ca_key: ca_key_der,
        issuer,
        signer: signer_der,
        signer_key,
        tsa: tsa.der().to_vec(),
        tsa_key: tsa_key.serialize_der(),
    }
}

impl Pki {
    fn tsa(&self, time: &str) -> LocalTsa {
        let mut tsa = LocalTsa::new(self.tsa.clone(), vec![self.ca.clone()], self.tsa_key.clone());
        tsa.time = Some(at(time));
        tsa
    }

    /// Signs with `cert`/`key` at [`SIGNED`] (time-stamped then), invisibly unless `rect`.
    fn sign_as(&self, pdf: &[u8], cert: &[u8], key: &[u8], certify: bool, rect: Option<[f32; 4]>) -> Vec<u8> {
        let chain = vec![self.ca.clone()];
        let mut req = SignRequest::new(pdf, cert, &chain, key, at(SIGNED));
        req.name = Some("山田 太郎".into());
        req.certify = certify;
        req.appearance = rect.map(|r| keiyaku_pades::Appearance {
            page: 0,
            rect: Some(r),
            seal: keiyaku_pades::Seal { chars: vec!['山', '田'], vertical: true, date: None },
            label_lines: vec!["山田 太郎".into()],
        });
        sign(&req, &self.tsa(SIGNED)).unwrap()
    }

    fn sign(&self, pdf: &[u8], certify: bool) -> Vec<u8> {
        self.sign_as(pdf, &self.signer, &self.signer_key, certify, None)
    }

    /// An OCSP response from the CA itself, produced at [`CHECKED`].
    fn ocsp(&self, cert: &[u8], status: CertStatus) -> Vec<u8> {
        let id = CertId::of(cert, &self.ca, CertIdHash::Sha1).unwrap();
        let times = OcspTimes { produced_at: at(CHECKED), next_update: Some(at("2026-07-01T00:00:00Z")) };
        ocsp_response(&OcspResponder { cert_der: &self.ca, key_pkcs8: &self.ca_key }, &[(id, status)], times, None)
            .unwrap()
    }

    /// The DSS with `signer` (with `status`), the TSA and the CA, and OCSP responses for the
    /// signer and the TSA.
    fn dss(&self, pdf: &[u8], signer: &[u8], status: CertStatus) -> Vec<u8> {
        let data = ValidationData {
            certs: vec![signer.to_vec(), self.tsa.clone(), self.ca.clone()],
            ocsps: vec![self.ocsp(signer, status), self.ocsp(&self.tsa, CertStatus::Good)],
            crls: Vec::new(),
        };
        add_validation_data(pdf, &data).unwrap()
    }

    fn with_dss(&self, pdf: &[u8]) -> Vec<u8> {
        self.dss(pdf, &self.signer, CertStatus::Good)
    }
}

/// Writes a lopdf object in PDF syntax (enough for the dictionaries rewritten here).
fn pdf_object(out: &mut String, obj: &Object) {
    match obj {
        Object::Null => out.push_str("null"),
        Object::Boolean(b) => out.push_str(if *b { "true" } else { "false" }),
        Object::Integer(i) => {
            let _ = write!(out, "{i}");
        }
        Object::Real(r) => {
            let _ = write!(out, "{r}");
        }
        Object::Name(n) => {
            out.push('/');
            for &b in n {
                if b.is_ascii_alphanumeric() || b"-_.".contains(&b) {
                    out.push(b as char);
                } else {
                    let _ = write!(out, "#{b:02X}");
                }
            }
        }
        Object::String(s, _) => {
            out.push('<');
            for b in s {
                let _ = write!(out, "{b:02X}");
            }
            out.push('>');
        }
        Object::Array(items) => {
            out.push('[');
            for item in items {
                pdf_object(out, item);
                out.push(' ');
            }
            out.push(']');
        }
        Object::Dictionary(d) => pdf_dict(out, d),
        Object::Reference((n, g)) => {
            let _ = write!(out, "{n} {g} R");
        }
        Object::Stream(_) => panic!("streams are written by hand"),
    }
}

fn pdf_dict(out: &mut String, d: &Dictionary) {
    out.push_str("<<");
    for (k, v) in d.iter() {
        out.push(' ');
        pdf_object(out, &Object::Name(k.clone()));
        out.push(' ');
        pdf_object(out, v);
    }
    out.push_str(" >>");
}

fn dict_text(d: &Dictionary) -> String {
    let mut s = String::new();
    pdf_dict(&mut s, d);
    s
}

fn stream_text(dict: &str, data: &str) -> String {
    format!("<< {dict} /Length {} >>\nstream\n{data}\nendstream", data.len())
}

/// Appends an incremental update (classic cross-reference section) with `objects`.
fn append(pdf: &[u8], objects: &[(u32, String)]) -> Vec<u8> {
    let doc = Document::load_mem(pdf).unwrap();
    let sx = pdf.windows(9).rposition(|w| w == b"startxref").unwrap() + 9;
    let prev: String = pdf[sx..]
        .iter()
        .map(|&b| b as char)
        .skip_while(char::is_ascii_whitespace)
        .take_while(char::is_ascii_digit)
        .collect();
    let size = doc.trailer.get(b"Size").unwrap().as_i64().unwrap() as u32;
    let size = objects.iter().map(|(id, _)| id + 1).max().unwrap_or(0).max(size);
    let mut out = pdf.to_vec();
    let mut xref = String::from("xref\n0 1\n0000000000 65535 f \n");
    for (id, body) in objects {
        let _ = write!(xref, "{id} 1\n{:010} 00000 n \n", out.len());
        out.extend_from_slice(format!("{id} 0 obj\n{body}\nendobj\n").as_bytes());
    }
    let mut trailer = format!("/Size {size} /Prev {prev}");
    for key in [&b"Root"[..], b"Info", b"ID"] {
        if let Ok(v) = doc.trailer.get(key) {
            trailer.push(' ');
            pdf_object(&mut trailer, &Object::Name(key.to_vec()));
            trailer.push(' ');
            pdf_object(&mut trailer, v);
        }
    }
    let at = out.len();
    out.extend_from_slice(format!("{xref}trailer\n<< {trailer} >>\nstartxref\n{at}\n%%EOF\n").as_bytes());
    out
}

fn next_id(pdf: &[u8]) -> u32 {
    Document::load_mem(pdf).unwrap().trailer.get(b"Size").unwrap().as_i64().unwrap() as u32
}

fn first_page(doc: &Document) -> (ObjectId, Dictionary) {
    let id = doc.get_pages()[&1];
    (id, doc.get_dictionary(id).unwrap().clone())
}

/// The field named `name` (a merged field and widget) and its dictionary.
fn field(doc: &Document, name: &str) -> (ObjectId, Dictionary) {
    doc.objects
        .iter()
        .find_map(|(id, o)| {
            let d = o.as_dict().ok()?;
            (d.get(b"T").ok()?.as_str().ok()? == name.as_bytes()).then(|| (*id, d.clone()))
        })
        .unwrap()
}

/// A one-page PDF with a text field "amount" (value 100, with an appearance).
fn form_pdf() -> Vec<u8> {
    let ap = "BT /Helv 12 Tf 2 10 Td (100) Tj ET";
    classic_pdf(&[
        b"<< /Type /Catalog /Pages 3 0 R /AcroForm 9 0 R >>".to_vec(),
        b"<< /Title (form) /Producer (hand) >>".to_vec(),
        b"<< /Type /Pages /Kids [4 0 R] /Count 1 /MediaBox [0 0 595 842] /Resources << /Font << /F1 6 0 R >> >> >>".to_vec(),
        b"<< /Type /Page /Parent 3 0 R /Contents 5 0 R /Annots [7 0 R] >>".to_vec(),
        stream_text("", "BT /F1 24 Tf 72 760 Td (Amount) Tj ET").into_bytes(),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".to_vec(),
        b"<< /Type /Annot /Subtype /Widget /FT /Tx /T (amount) /V (100) /DA (/Helv 12 Tf 0 g) /F 4 /Rect [72 600 272 630] /P 4 0 R /AP << /N 8 0 R >> >>".to_vec(),
        stream_text("/Type /XObject /Subtype /Form /BBox [0 0 200 30] /Resources << /Font << /Helv 6 0 R >> >>", ap)
            .into_bytes(),
        b"<< /Fields [7 0 R] /DA (/Helv 12 Tf 0 g) /DR << /Font << /Helv 6 0 R >> >> >>".to_vec(),
    ])
}

/// `pdf` with an opaque white square annotation over the page's text, as an update.
fn overlay(pdf: &[u8]) -> Vec<u8> {
    let doc = Document::load_mem(pdf).unwrap();
    let (page_id, mut page) = first_page(&doc);
    let id = next_id(pdf);
    let mut annots = doc.dereference(page.get(b"Annots").unwrap()).unwrap().1.as_array().unwrap().clone();
    annots.push(Object::Reference((id, 0)));
    page.set("Annots", Object::Array(annots));
    let square = format!(
        "<< /Type /Annot /Subtype /Square /Rect [60 740 320 800] /C [1 1 1] /IC [1 1 1] /F 4 /P {} 0 R /AP << /N {} 0 R >> >>",
        page_id.0,
        id + 1
    );
    let ap = stream_text("/Type /XObject /Subtype /Form /BBox [0 0 260 60]", "1 1 1 rg 0 0 260 60 re f");
    append(pdf, &[(page_id.0, dict_text(&page)), (id, square), (id + 1, ap)])
}

/// A signed, DSS-extended document with a document time-stamp.
fn lta(p: &Pki, certify: bool) -> Vec<u8> {
    let pdf = p.with_dss(&p.sign(&simple_pdf(), certify));
    timestamp_document(&pdf, &p.tsa(ARCHIVED)).unwrap()
}

struct Case {
    name: &'static str,
    pdf: Vec<u8>,
    /// The trust root given to both validators.
    root: (Vec<u8>, String),
    expected: Verdict,
    /// Whether keiyaku must name modifications after a signature.
    modified: bool,
}

fn cases(p: &Pki) -> Vec<Case> {
    let root = (p.ca.clone(), p.ca_pem.clone());
    let mut cases = Vec::new();
    let mut case = |name, pdf, expected, modified| {
        cases.push(Case { name, pdf, root: root.clone(), expected, modified });
    };

    case("01 signed + DSS + document time-stamp", lta(p, false), Verdict::Valid, false);

    let mut flipped = p.with_dss(&p.sign(&simple_pdf(), false));
    let hello = flipped.windows(13).position(|w| w == b"Hello keiyaku").unwrap();
    flipped[hello] = b'J';
    case("02 byte flipped inside the signed range", flipped, Verdict::Invalid, false);

    let signed = p.with_dss(&p.sign(&simple_pdf(), false));
    let doc = Document::load_mem(&signed).unwrap();
    let (_, page) = first_page(&doc);
    let contents = page.get(b"Contents").unwrap().as_reference().unwrap();
    let content = stream_text("", "BT /F1 24 Tf 72 760 Td (Goodbye keiyaku) Tj ET");
    case("03 page content replaced", append(&signed, &[(contents.0, content)]), Verdict::Invalid, true);

    let annotated = overlay(&p.with_dss(&p.sign(&simple_pdf(), true)));
    case("04 overlay annotation after certification (P=2)", annotated, Verdict::Invalid, true);

    let certified = p.with_dss(&p.sign(&form_pdf(), true));
    let doc = Document::load_mem(&certified).unwrap();
    let (field_id, mut tf) = field(&doc, "amount");
    let id = next_id(&certified);
    tf.set("V", Object::string_literal("200"));
    let mut ap = Dictionary::new();
    ap.set("N", Object::Reference((id, 0)));
    tf.set("AP", Object::Dictionary(ap));
    let appearance = stream_text(
        "/Type /XObject /Subtype /Form /BBox [0 0 200 30] /Resources << /Font << /Helv 6 0 R >> >>",
        "BT /Helv 12 Tf 2 10 Td (200) Tj ET",
    );
    let filled = append(&certified, &[(field_id.0, dict_text(&tf)), (id, appearance)]);
    case("05 form field filled after certification (P=2)", filled, Verdict::Valid, false);

    let twice = p.with_dss(&p.sign(&p.sign(&simple_pdf(), false), false));
    let doc = Document::load_mem(&twice).unwrap();
    let (widget_id, mut widget) = field(&doc, "Signature1");
    widget.remove(b"V");
    let removed = append(&twice, &[(widget_id.0, dict_text(&widget))]);
    case("06 signature removed (value of Signature1 dropped)", removed, Verdict::Invalid, true);

    case("07 DSS added after the signature", p.with_dss(&p.sign(&simple_pdf(), false)), Verdict::Valid, false);

    case("08 document time-stamp after certification (P=2)", lta(p, true), Verdict::Valid, false);

    let stranger = pki("another CA");
    cases.push(Case {
        name: "09 wrong trust root",
        pdf: lta(p, false),
        root: (stranger.ca.clone(), stranger.ca_pem.clone()),
        expected: Verdict::Indeterminate,
        modified: false,
    });
    let mut case = |name, pdf, expected, modified| {
        cases.push(Case { name, pdf, root: root.clone(), expected, modified });
    };

    let (expired, expired_key) = signer(&p.issuer, "期限 切れ", (2024, 1, 1), (2025, 1, 1));
    let pdf = p.sign_as(&simple_pdf(), &expired, &expired_key, false, None);
    case(
        "10 signer certificate expired before signing",
        p.dss(&pdf, &expired, CertStatus::Good),
        Verdict::Indeterminate,
        false,
    );

    let (revoked, revoked_key) = signer(&p.issuer, "失効 済み", (2024, 1, 1), (2036, 1, 1));
    let pdf = p.sign_as(&simple_pdf(), &revoked, &revoked_key, false, None);
    let status = CertStatus::Revoked { at: at(REVOKED_AT), reason: Some(1) };
    case("11 signer revoked before signing", p.dss(&pdf, &revoked, status), Verdict::Invalid, false);

    // A certification reserving a visible field, which the second signer fills.
    let chain = vec![p.ca.clone()];
    let original = simple_pdf();
    let mut req = SignRequest::new(&original, &p.signer, &chain, &p.signer_key, at(SIGNED));
    req.certify = true;
    req.reserve = vec![keiyaku_pades::Reserved { page: 0, rect: [72.0, 100.0, 120.0, 60.0] }];
    let certified = sign(&req, &p.tsa(SIGNED)).unwrap();
    let filled = p.sign_as(&certified, &p.signer, &p.signer_key, false, Some([72.0, 100.0, 120.0, 60.0]));
    case("12 reserved field signed after certification (P=2)", p.with_dss(&filled), Verdict::Valid, false);

    // A new visible signature field after certification: pyHanko rejects it.
    let certified = p.sign(&simple_pdf(), true);
    let visible = p.sign_as(&certified, &p.signer, &p.signer_key, false, Some([300.0, 100.0, 120.0, 60.0]));
    case("13 new visible signature field after certification (P=2)", p.with_dss(&visible), Verdict::Invalid, true);

    case(
        "14 second approval signature",
        p.with_dss(&p.sign(&p.sign(&simple_pdf(), false), false)),
        Verdict::Valid,
        false,
    );

    case("15 no validation data (revocation unknown)", p.sign(&simple_pdf(), false), Verdict::Indeterminate, false);

    // pyHanko's default policy allows no annotation changes, certified or not.
    let annotated = overlay(&p.with_dss(&p.sign(&simple_pdf(), false)));
    case("16 overlay annotation after an approval signature", annotated, Verdict::Invalid, true);

    // An original with a cross-reference stream and object streams (made by qpdf).
    if let Some(objstm) = common::with_object_streams(&simple_pdf()) {
        let twice = p.with_dss(&p.sign(&p.sign(&objstm, false), false));
        case("17 object-stream original signed twice + DSS", twice, Verdict::Valid, false);
        let signed = p.with_dss(&p.sign(&objstm, false));
        let doc = Document::load_mem(&signed).unwrap();
        let (_, page) = first_page(&doc);
        let contents = page.get(b"Contents").unwrap().as_reference().unwrap();
        let content = stream_text("", "BT /F1 24 Tf 72 760 Td (Goodbye keiyaku) Tj ET");
        case(
            "18 object-stream original, content replaced",
            append(&signed, &[(contents.0, content)]),
            Verdict::Invalid,
            true,
        );
    }
    cases
}

/// One flat JSON object of the script's output: key → raw value (strings unescaped).
fn parse_line(line: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let chars: Vec<char> = line.trim().trim_start_matches('{').trim_end_matches('}').chars().collect();
    let mut i = 0;
    let string = |i: &mut usize| -> String {
        let mut s = String::new();
        *i += 1; // opening quote
        while *i < chars.len() && chars[*i] != '"' {
            if chars[*i] == '\\' {
                *i += 1;
                match chars[*i] {
                    'n' => s.push('\n'),
                    't' => s.push('\t'),
                    'u' => {
                        let hex: String = chars[*i + 1..*i + 5].iter().collect();
                        s.push(char::from_u32(u32::from_str_radix(&hex, 16).unwrap()).unwrap_or('?'));
                        *i += 4;
                    }
                    c => s.push(c),
                }
            } else {
                s.push(chars[*i]);
            }
            *i += 1;
        }
        *i += 1; // closing quote
        s
    };
    while i < chars.len() {
        while i < chars.len() && (chars[i] == ',' || chars[i].is_whitespace()) {
            i += 1;
        }
        if i >= chars.len() {
            break;
        }
        let key = string(&mut i);
        while chars[i] == ':' || chars[i].is_whitespace() {
            i += 1;
        }
        let value = if chars[i] == '"' {
            string(&mut i)
        } else {
            let start = i;
            while i < chars.len() && chars[i] != ',' {
                i += 1;
            }
            chars[start..i].iter().collect::<String>().trim().to_string()
        };
        out.push((key, value));
    }
    out
}

/// pyHanko's judgement of one entry.
struct PyEntry {
    field: String,
    error: bool,
    verdict: Verdict,
    summary: String,
}

fn py_verdict(fields: &[(String, String)]) -> PyEntry {
    let get = |k: &str| fields.iter().find(|(key, _)| key == k).map(|(_, v)| v.as_str()).unwrap_or("null");
    let summary = fields.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(" ");
    let verdict = if get("error") != "null" {
        Verdict::Indeterminate
    } else if get("intact") != "true"
        || get("valid") != "true"
        || get("docmdp_ok") == "false"
        || get("revoked") == "true"
    {
        Verdict::Invalid
    } else if get("trusted") != "true" || get("timestamp_ok") == "false" {
        Verdict::Indeterminate
    } else {
        assert_eq!(get("bottom_line"), "true", "{summary}");
        Verdict::Valid
    };
    PyEntry { field: get("field").to_string(), error: get("error") != "null", verdict, summary }
}

fn pyhanko_available() -> bool {
    let ok = Command::new("python3")
        .args(["-c", "import pyhanko.sign.validation, pyhanko_certvalidator"])
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        if std::env::var_os("CI").is_some() {
            panic!("pyHanko (python3 -m pip install pyhanko) is required in CI");
        }
        eprintln!("SKIP: pyHanko is not installed");
    }
    ok
}

fn worst(verdicts: impl Iterator<Item = Verdict>) -> Verdict {
    verdicts.max().unwrap_or(Verdict::Unsigned)
}

#[test]
fn keiyaku_and_pyhanko_agree_on_the_corpus() {
    if !pyhanko_available() {
        return;
    }
    let p = pki("keiyaku corpus CA");
    let dir = scratch("corpus");
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/tools/pyhanko_verdict.py");
    let mut table = String::from("case | expected | keiyaku | pyHanko | keiyaku's modifications after\n");
    let mut failures = Vec::new();
    for (i, case) in cases(&p).into_iter().enumerate() {
        let file = write(&dir, &format!("case{i:02}.pdf"), &case.pdf);
        let root = write(&dir, &format!("case{i:02}-root.pem"), &case.root.1);
        let r: Report = report(&case.pdf, std::slice::from_ref(&case.root.0), at(NOW)).unwrap();
        let out = Command::new("python3").arg(script).arg(&file).arg(&root).arg(NOW).output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{}: {}", case.name, String::from_utf8_lossy(&out.stderr));
        let py: Vec<PyEntry> =
            stdout.lines().filter(|l| !l.trim().is_empty()).map(|l| py_verdict(&parse_line(l))).collect();
        let py_doc = worst(py.iter().map(|e| e.verdict));
        let mut named: Vec<&str> = Vec::new();
        for m in r.signatures.iter().flat_map(|s| &s.modifications_after) {
            if !named.contains(&m.as_str()) {
                named.push(m);
            }
        }
        let _ = writeln!(table, "{} | {} | {} | {py_doc} | {}", case.name, case.expected, r.verdict, named.join("; "));
        let mut problems = Vec::new();
        if r.verdict != case.expected || py_doc != case.expected {
            problems.push(format!("document: expected {}, keiyaku {}, pyHanko {py_doc}", case.expected, r.verdict));
        }
        // Entry by entry (pyHanko lists only signatures whose field still has a value).
        for e in &py {
            if e.error {
                problems.push(format!("{}: pyHanko failed: {}", e.field, e.summary));
            }
            match r.signatures.iter().find(|s| s.field.as_deref() == Some(e.field.as_str())) {
                Some(s) if s.verdict == e.verdict => {}
                Some(s) => problems.push(format!(
                    "{}: keiyaku {} ({:?}), pyHanko {} ({})",
                    e.field, s.verdict, s.reasons, e.verdict, e.summary
                )),
                None => problems.push(format!("{}: not in keiyaku's report", e.field)),
            }
        }
        let modified = r.signatures.iter().any(|s| !s.modifications_after.is_empty());
        if modified != case.modified {
            let m: Vec<_> = r.signatures.iter().map(|s| &s.modifications_after).collect();
            problems.push(format!("modifications after: expected {}, got {m:?}", case.modified));
        }
        if !problems.is_empty() {
            failures.push(format!(
                "{}:\n  {}\n  keiyaku: {:?}\n  pyHanko: {stdout}",
                case.name,
                problems.join("\n  "),
                r.reasons
            ));
        }
    }
    eprintln!("{table}");
    assert!(failures.is_empty(), "{}\n\nfiles kept in {}", failures.join("\n"), dir.display());
    let _ = std::fs::remove_dir_all(&dir);
}
