//! Signing and verifying with keiyaku-pades alone (qpdf is used, when installed, to make an
//! input with a cross-reference stream and object streams).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use keiyaku_pades::{Appearance, PadesError, Seal, SignRequest, page_count_and_sizes, sign, verify};
use lopdf::{Document, Object};

fn assert_structure(signed: &[u8], original: &[u8], expected_fields: usize) {
    assert!(signed.starts_with(original), "the original bytes must be a prefix");
    let doc = Document::load_mem(signed).unwrap();
    let catalog = doc.catalog().unwrap();
    let acroform = match catalog.get(b"AcroForm").unwrap() {
        Object::Reference(id) => doc.get_dictionary(*id).unwrap(),
        Object::Dictionary(d) => d,
        _ => panic!("bad AcroForm"),
    };
    assert_eq!(acroform.get(b"SigFlags").unwrap().as_i64().unwrap(), 3);
    let fields = acroform.get(b"Fields").unwrap().as_array().unwrap();
    assert_eq!(fields.len(), expected_fields);
    let last = doc.get_dictionary(fields.last().unwrap().as_reference().unwrap()).unwrap();
    assert_eq!(last.get(b"FT").unwrap().as_name().unwrap(), b"Sig");
    assert_eq!(last.get(b"Subtype").unwrap().as_name().unwrap(), b"Widget");
    assert_eq!(last.get(b"F").unwrap().as_i64().unwrap(), 4);
    let page_id = doc.get_pages()[&1];
    let page = doc.get_dictionary(page_id).unwrap();
    assert_eq!(last.get(b"P").unwrap().as_reference().unwrap(), page_id);
    let annots = page.get(b"Annots").unwrap().as_array().unwrap();
    assert!(annots.contains(&Object::Reference(fields.last().unwrap().as_reference().unwrap())));
    let sig = doc.get_dictionary(last.get(b"V").unwrap().as_reference().unwrap()).unwrap();
    assert_eq!(sig.get(b"Type").unwrap().as_name().unwrap(), b"Sig");
    assert_eq!(sig.get(b"Filter").unwrap().as_name().unwrap(), b"Adobe.PPKLite");
    assert_eq!(sig.get(b"SubFilter").unwrap().as_name().unwrap(), b"ETSI.CAdES.detached");
    assert!(sig.get(b"M").unwrap().as_str().unwrap().starts_with(b"D:20"));
    let ap = last.get(b"AP").unwrap().as_dict().unwrap().get(b"N").unwrap().as_reference().unwrap();
    let ap = doc.get_object(ap).unwrap().as_stream().unwrap();
    assert!(String::from_utf8_lossy(&ap.content).contains("0.824 0.137 0.165 RG"));
}

#[test]
fn signs_a_classic_xref_pdf_with_inherited_attributes_and_indirect_annots() {
    let pki = pki();
    let pdf = simple_pdf();
    let signed = sign(&pki.request(&pdf), &pki.tsa()).unwrap();
    assert_structure(&signed, &pdf, 1);
    // The page keeps its link annotation and its inherited MediaBox.
    let doc = Document::load_mem(&signed).unwrap();
    let page = doc.get_dictionary(doc.get_pages()[&1]).unwrap();
    assert_eq!(page.get(b"Annots").unwrap().as_array().unwrap()[0], Object::Reference((8, 0)));
    assert!(page.get(b"MediaBox").is_err());
    let tail = String::from_utf8_lossy(&signed[pdf.len()..]);
    assert!(tail.contains("\nxref\n") && tail.contains("/Prev ") && tail.contains("/ID [<0123"));
    assert!(tail.contains("/Info 2 0 R"));

    let infos = verify(&signed).unwrap();
    assert_eq!(infos.len(), 1);
    let info = &infos[0];
    assert!(info.is_intact(), "{info:?}");
    assert!(info.covers_whole_file);
    assert_eq!(info.signer_name, "山田 太郎");
    assert_eq!(info.field_name.as_deref(), Some("Signature1"));
    let ts = info.timestamp.as_ref().unwrap();
    assert!(ts.imprint_matches && ts.signature_valid);
    assert_eq!(ts.tsa_name, "keiyaku test TSA");
    assert_eq!(ts.policy, keiyaku_pades::DEFAULT_TSA_POLICY);
    let now = jiff::Timestamp::now().as_second();
    assert!((ts.gen_time.unwrap().as_second() - now).abs() < 60);
    assert!((info.signing_time.unwrap().as_second() - now).abs() < 60);
}

#[test]
fn the_cms_is_cades_baseline_shaped() {
    let pki = pki();
    let pdf = simple_pdf();
    let signed = sign(&pki.request(&pdf), &pki.tsa()).unwrap();
    let hex_start = signed.windows(11).rposition(|w| w == b"/Contents <").unwrap() + 11;
    let hex_end = hex_start + signed[hex_start..].iter().position(|&b| b == b'>').unwrap();
    let hex = std::str::from_utf8(&signed[hex_start..hex_end]).unwrap();
    assert_eq!(hex.len(), keiyaku_pades::CONTENTS_SIZE * 2);
    let bytes: Vec<u8> = (0..hex.len()).step_by(2).map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap()).collect();
    let find = |needle: &[u8]| bytes.windows(needle.len()).any(|w| w == needle);
    // signing-time 1.2.840.113549.1.9.5 must be absent; signingCertificateV2 and the
    // signature time-stamp present; ecdsa-with-SHA256.
    assert!(!find(&[0x06, 0x09, 0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x09, 0x05]));
    assert!(find(&[0x06, 0x0B, 0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x09, 0x10, 0x02, 0x2F]));
    assert!(find(&[0x06, 0x0B, 0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x09, 0x10, 0x02, 0x0E]));
    assert!(find(&[0x06, 0x08, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x04, 0x03, 0x02]));
    // The signer and CA certificates are embedded.
    assert!(find(&pki.signer_der) && find(&pki.ca_der) && find(&pki.tsa_der));
}

#[test]
fn a_second_signature_keeps_the_first_valid() {
    let pki = pki();
    let pdf = simple_pdf();
    let once = sign(&pki.request(&pdf), &pki.tsa()).unwrap();
    let mut req = pki.request(&once);
    req.appearance = Some(Appearance {
        page: 0,
        rect: Some([72.0, 100.0, 200.0, 60.0]),
        seal: Seal { chars: vec!['鈴', '木'], vertical: false, date: Some("26.11.25".into()) },
        label_lines: vec!["鈴木 一郎".into()],
    });
    let twice = sign(&req, &pki.tsa()).unwrap();
    assert_structure(&twice, &once, 2);
    let infos = verify(&twice).unwrap();
    assert_eq!(infos.len(), 2);
    assert!(infos.iter().all(|i| i.is_intact()), "{infos:?}");
    assert!(!infos[0].covers_whole_file && infos[1].covers_whole_file);
    assert_eq!(infos[0].field_name.as_deref(), Some("Signature1"));
    assert_eq!(infos[1].field_name.as_deref(), Some("Signature2"));
    // The widget rectangle is measured from the top-left corner: y = 842 - 100 - 60.
    let doc = Document::load_mem(&twice).unwrap();
    let widget = doc
        .objects
        .values()
        .filter_map(|o| o.as_dict().ok())
        .find(|d| d.get(b"T").ok().and_then(|t| t.as_str().ok()) == Some(b"Signature2"))
        .unwrap();
    let rect: Vec<f32> =
        widget.get(b"Rect").unwrap().as_array().unwrap().iter().map(|o| o.as_float().unwrap()).collect();
    assert_eq!(rect, vec![72.0, 682.0, 272.0, 742.0]);
}

#[test]
fn signs_a_pdf_with_an_xref_stream_and_object_streams() {
    let Some(pdf) = with_object_streams(&simple_pdf()) else { return };
    assert!(String::from_utf8_lossy(&pdf).contains("/ObjStm"));
    let pki = pki();
    let signed = sign(&pki.request(&pdf), &pki.tsa()).unwrap();
    assert_structure(&signed, &pdf, 1);
    let tail = String::from_utf8_lossy(&signed[pdf.len()..]);
    assert!(tail.contains("/Type /XRef") && tail.contains("/Prev ") && !tail.contains("\nxref\n"));
    assert!(verify(&signed).unwrap()[0].is_intact());
    let twice = sign(&pki.request(&signed), &pki.tsa()).unwrap();
    let infos = verify(&twice).unwrap();
    assert!(infos.len() == 2 && infos.iter().all(|i| i.is_intact()));
}

#[test]
fn a_changed_byte_is_detected() {
    let pki = pki();
    let pdf = simple_pdf();
    let signed = sign(&pki.request(&pdf), &pki.tsa()).unwrap();
    let at = signed.windows(13).position(|w| w == b"Hello keiyaku").unwrap();
    let mut bad = signed.clone();
    bad[at] = b'J';
    let infos = verify(&bad).unwrap();
    assert!(!infos[0].digest_matches && !infos[0].is_intact());
    // A changed byte in the signed messageDigest attribute inside /Contents.
    let mut bad = signed.clone();
    let hex_start = bad.windows(11).rposition(|w| w == b"/Contents <").unwrap() + 11;
    let md = hex_start + bad[hex_start..].windows(18).position(|w| w == b"2A864886F70D010904").unwrap();
    let at = md + 18 + 8 + 4;
    bad[at] = if bad[at] == b'A' { b'B' } else { b'A' };
    let infos = verify(&bad).unwrap();
    assert!(!infos[0].digest_matches && !infos[0].is_intact());
}

#[test]
fn pages_sizes_and_errors() {
    assert_eq!(page_count_and_sizes(&simple_pdf()).unwrap(), vec![(595.0, 842.0)]);
    let big = big_pdf(5, 100_000);
    assert_eq!(page_count_and_sizes(&big).unwrap().len(), 5);
    assert!(matches!(page_count_and_sizes(b"not a pdf"), Err(PadesError::Pdf(_))));
    assert!(page_count_and_sizes(&simple_pdf()[..300]).is_err());
    let pki = pki();
    let pdf = simple_pdf();
    let mut req = pki.request(&pdf);
    req.appearance.as_mut().unwrap().page = 3;
    assert_eq!(sign(&req, &pki.tsa()), Err(PadesError::NoSuchPage(3)));
    let wrong_key = pki.tsa_key.clone();
    let req = SignRequest::new(&pdf, &pki.signer_der, &pki.chain, &wrong_key, jiff::Timestamp::now());
    assert!(matches!(sign(&req, &pki.tsa()), Err(PadesError::Key(_))));
    // An invisible signature.
    let req = SignRequest::new(&pdf, &pki.signer_der, &pki.chain, &pki.signer_key, jiff::Timestamp::now());
    let signed = sign(&req, &pki.tsa()).unwrap();
    assert!(verify(&signed).unwrap()[0].is_intact());
}

#[test]
fn signs_a_multi_page_megabyte_pdf_on_a_later_page() {
    let pki = pki();
    let pdf = big_pdf(20, 1_000_000);
    assert!(pdf.len() > 1_000_000);
    let mut req = pki.request(&pdf);
    req.appearance.as_mut().unwrap().page = 19;
    let signed = sign(&req, &pki.tsa()).unwrap();
    assert!(signed.starts_with(&pdf));
    let infos = verify(&signed).unwrap();
    assert!(infos.len() == 1 && infos[0].is_intact() && infos[0].covers_whole_file);
}

#[test]
fn refuses_a_document_certified_without_changes() {
    let pdf = classic_pdf(&[
        b"<< /Type /Catalog /Pages 3 0 R /Perms << /DocMDP 5 0 R >> >>".to_vec(),
        b"<< /Title (certified) >>".to_vec(),
        b"<< /Type /Pages /Kids [4 0 R] /Count 1 /MediaBox [0 0 300 300] >>".to_vec(),
        b"<< /Type /Page /Parent 3 0 R >>".to_vec(),
        b"<< /Type /Sig /Reference [<< /TransformMethod /DocMDP /TransformParams << /P 1 /V /1.2 >> >>] >>".to_vec(),
    ]);
    assert_eq!(page_count_and_sizes(&pdf).unwrap(), vec![(300.0, 300.0)]);
    let pki = pki();
    assert!(matches!(sign(&pki.request(&pdf), &pki.tsa()), Err(PadesError::Invalid(_))));
}

#[test]
fn a_delegates_signature_names_the_delegation_in_its_signed_attributes() {
    let pki = pki();
    let pdf = simple_pdf();
    let delegation = keiyaku_pades::Delegation {
        delegate_name: "鈴木 一郎".into(),
        delegate_id: "A1533603".into(),
        mandate_id: "M0123456789abcdef".into(),
        mandate_sha256: [7; 32],
    };
    let mut req = pki.request(&pdf);
    req.delegation = Some(delegation.clone());
    let signed = sign(&req, &pki.tsa()).unwrap();
    let infos = verify(&signed).unwrap();
    assert_eq!(infos.len(), 1);
    assert!(infos[0].is_intact(), "{infos:?}");
    assert_eq!(infos[0].delegation.as_ref(), Some(&delegation));
    // Without one, none is claimed.
    let plain = sign(&pki.request(&pdf), &pki.tsa()).unwrap();
    assert_eq!(verify(&plain).unwrap()[0].delegation, None);
}

#[test]
fn a_detached_signature_verifies_over_its_content_only() {
    let pki = pki();
    let content = br#"{"mandate_id":"M1","signer":"A1533602"}"#;
    let cms = keiyaku_pades::sign_detached(&pki.signer_key, &pki.signer_der, &pki.chain, content).unwrap();
    assert_eq!(keiyaku_pades::verify_detached(&cms, content), Some(pki.signer_der.clone()));
    assert_eq!(keiyaku_pades::verify_detached(&cms, br#"{"mandate_id":"M2","signer":"A1533602"}"#), None);
    assert_eq!(keiyaku_pades::delegation_in(&cms), None);
    // A key that is not the certificate's is refused.
    assert!(keiyaku_pades::sign_detached(&pki.tsa_key, &pki.signer_der, &pki.chain, content).is_err());
}

#[test]
fn an_outside_tsa_token_is_taken_only_for_its_own_request() {
    use keiyaku_pades::{LocalTsa, timestamp_request, token_from_response};
    let pki = pki();
    let tsa = LocalTsa::new(pki.tsa_der.clone(), vec![pki.ca_der.clone()], pki.tsa_key.clone());
    let imprint = [7u8; 32];
    let resp = tsa.respond(&timestamp_request(&imprint, &[0x12, 0x34])).unwrap();
    let token = token_from_response(&resp, &imprint, &[0x12, 0x34]).unwrap();
    assert!(token.len() > 300 && token[0] == 0x30);
    assert!(token_from_response(&resp, &imprint, &[0x12, 0x35]).is_err(), "another nonce");
    assert!(token_from_response(&resp, &[8u8; 32], &[0x12, 0x34]).is_err(), "another imprint");
    // A rejection (status 2, failInfo badAlg) and junk are errors.
    let rejected = [0x30, 0x09, 0x30, 0x07, 0x02, 0x01, 0x02, 0x03, 0x02, 0x07, 0x80];
    assert!(token_from_response(&rejected, &imprint, &[1]).unwrap_err().to_string().contains("refused"));
    assert!(token_from_response(b"junk", &imprint, &[1]).is_err());
}

#[test]
fn crl_distribution_points_are_read_from_certificates() {
    use rcgen::{CertificateParams, CrlDistributionPoint, KeyPair};
    let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
    p.crl_distribution_points = vec![CrlDistributionPoint {
        uris: vec!["http://127.0.0.1:8080/ca.crl".into(), "https://example.jp/b.crl".into()],
    }];
    let key = KeyPair::generate().unwrap();
    let cert = p.self_signed(&key).unwrap();
    assert_eq!(keiyaku_pades::crl_urls(cert.der()), ["http://127.0.0.1:8080/ca.crl", "https://example.jp/b.crl"]);
    assert!(keiyaku_pades::crl_urls(&pki().ca_der).is_empty());
    assert!(keiyaku_pades::crl_urls(b"junk").is_empty());
}

#[test]
fn the_verifier_says_whether_the_stamp_is_drawn_from_the_certificates_seal() {
    use keiyaku_pades::{certificate_seal, report, seal_extension};
    let registered = [0x5au8; 32];
    let mut parts = common::parts();
    let (oid, content) = seal_extension(&registered);
    parts.signer_params.custom_extensions.push(rcgen::CustomExtension::from_oid_content(&oid, content));
    let signer = parts.signer_params.signed_by(&parts.signer_key, &parts.issuer).unwrap();
    let tsa = parts.tsa_params.signed_by(&parts.tsa_key, &parts.issuer).unwrap();
    let pki = parts.pki(&signer, &tsa);
    assert_eq!(certificate_seal(&pki.signer_der), Some(registered));
    assert_eq!(certificate_seal(&pki.ca_der), None);
    let roots = [pki.ca_der.clone()];
    let judge = |stamp: Option<[u8; 32]>| {
        let pdf = simple_pdf();
        let mut req = pki.request(&pdf);
        req.seal_sha256 = stamp;
        let signed = sign(&req, &pki.tsa()).unwrap();
        report(&signed, &roots, jiff::Timestamp::now()).unwrap().signatures[0].seal.clone()
    };
    let same = judge(Some(registered)).expect("seal");
    assert!(same.matches && same.stamp == same.certificate, "{same:?}");
    let other = judge(Some([1u8; 32])).expect("seal");
    assert!(!other.matches && other.certificate.is_some(), "{other:?}");
    let none = judge(None).expect("the certificate names one");
    assert!(!none.matches && none.stamp.is_none(), "{none:?}");
}
