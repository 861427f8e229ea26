//! Issue 14 over HTTPS: the public verifier (`verifyPdf`), a revocation after signing, and
//! archive renewal with the appliance clock moved six years forward, judged by keiyaku's
//! own report and by pyHanko's PAdES-LTA validation.
//!
//! Tools: `pip install pyhanko pyhanko-cli` (.ci/run installs it). Outside CI a missing tool
//! skips that check with a message; under CI it fails.

use crate::common::*;
use crate::contracts::{b64, contract_body, contracts_snapshot, download, pyhanko_lta, register, tool};
use reqwest::StatusCode;
use serde_json::{Value, json};

const T: &str = "/api/v1/t/HXOS2";

/// A contract whose only step is the owner signer (HX000003), registered by HX000002 and
/// signed: completed with one signature and the document time-stamp. Its ID and PDF.
async fn signed_contract(app: &TestApp, number: &str) -> (String, Vec<u8>) {
    let registrant = app.demo_token("HX000002").await;
    let signer = app.demo_token("HX000003").await;
    let mut body = contract_body(number, "2026-11-25", 10_000, "A15336");
    body["route"] = json!([{"party": "owner", "role": "signer"}]);
    let v = register(app, &registrant, body).await;
    let id = v["id"].as_str().expect("id").to_string();
    let (s, v) = crate::contracts::act(app, &signer, &id, "sign", json!({"pin": DEMO_PIN})).await;
    assert_eq!((s, v["status"].as_str()), (StatusCode::OK, Some("completed")), "{v}");
    (id.clone(), latest(app, &id).await)
}

/// The contract's document as it is now.
async fn latest(app: &TestApp, id: &str) -> Vec<u8> {
    let registrant = app.demo_token("HX000002").await;
    let (s, ct, pdf) = download(app, &registrant, &format!("{T}/contracts/{id}/documents/D1")).await;
    assert_eq!((s, ct.as_str()), (StatusCode::OK, "application/pdf"));
    pdf
}

/// The text of the contract's 合意締結証明書 (pdftotext), or None when the tool is missing
/// outside CI.
async fn completion_report_text(app: &TestApp, token: &str, id: &str) -> Option<String> {
    if !tool("pdftotext") {
        return None;
    }
    let (s, ct, pdf) = download(app, token, &format!("{T}/contracts/{id}/report")).await;
    assert_eq!((s, ct.as_str()), (StatusCode::OK, "application/pdf"));
    let dir = tempdir("report");
    let file = dir.join("report.pdf");
    std::fs::write(&file, &pdf).expect("write");
    let out = std::process::Command::new("pdftotext").arg(&file).arg("-").output().expect("pdftotext");
    let _ = std::fs::remove_dir_all(&dir);
    Some(String::from_utf8_lossy(&out.stdout).to_string())
}

/// `verifyPdf` without credentials.
async fn verify(app: &TestApp, content_type: &str, body: Vec<u8>) -> (StatusCode, Value) {
    let resp = app
        .client
        .post(app.url("/api/v1/verify"))
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .expect("verify");
    let status = resp.status();
    let text = resp.text().await.unwrap_or_default();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// A `multipart/form-data` body of (field, file name, bytes) files.
fn files(parts: &[(&str, &str, &[u8])]) -> (String, Vec<u8>) {
    multipart(&parts.iter().map(|&(name, file, bytes)| Part::File(name, file, bytes)).collect::<Vec<_>>())
}

#[tokio::test]
async fn the_public_verifier_reports_each_signature_and_refuses_what_is_not_a_pdf() {
    let app = TestApp::demo().await;
    let (id, signed) = signed_contract(&app, "T-VERIFY-1").await;
    let registrant = app.demo_token("HX000002").await;
    let snap = contracts_snapshot(&app).await;

    // The signed contract: one signature at B-LTA, then the document time-stamp; both
    // intact, trusted (the tenant CA is this appliance's), not revoked.
    let (s, r) = verify(&app, "application/pdf", signed.clone()).await;
    assert_eq!(s, StatusCode::OK, "{r}");
    assert_eq!(r["verdict"], "valid", "{r}");
    let sigs = r["signatures"].as_array().expect("signatures");
    assert_eq!(sigs.len(), 2, "{r}");
    let sig = &sigs[0];
    assert_eq!((sig["kind"].as_str(), sig["level"].as_str()), (Some("signature"), Some("B-LTA")), "{sig}");
    assert_eq!((sig["intact"].as_bool(), sig["trusted"].as_bool()), (Some(true), Some(true)), "{sig}");
    assert_eq!(sig["revocation"]["status"], "good", "{sig}");
    assert_eq!(sig["time_proof"]["kind"], "signature_timestamp", "{sig}");
    assert_eq!(sig["modifications_after"], json!([]), "{sig}");
    assert!(!sig["signer"].as_str().unwrap_or_default().is_empty(), "{sig}");
    assert!(sig["certificate"]["serial"].as_str().is_some_and(|s| !s.is_empty()), "{sig}");
    assert_eq!(sigs[1]["kind"], "document_timestamp", "{r}");
    // The stamp was drawn from the registered seal the certificate certifies.
    assert_eq!(sig["seal"]["matches"], true, "{sig}");
    // The 合意締結証明書, issued once at completion and stored: the same bytes on every
    // download, itself signed by the system certificate at B-LTA.
    let (s1, _, report) = download(&app, &registrant, &format!("{T}/contracts/{id}/report")).await;
    app.clock.advance(jiff::SignedDuration::from_hours(1));
    let (s2, _, again) = download(&app, &registrant, &format!("{T}/contracts/{id}/report")).await;
    assert_eq!((s1, s2), (StatusCode::OK, StatusCode::OK));
    assert!(report == again, "the stored report, not rebuilt");
    let (_, rr) = verify(&app, "application/pdf", report).await;
    assert_eq!(rr["verdict"], "valid", "{rr}");
    assert_eq!(
        (rr["signatures"][0]["kind"].as_str(), rr["signatures"][0]["level"].as_str()),
        (Some("signature"), Some("B-LTA")),
        "{rr}"
    );
    assert_eq!(rr["signatures"][0]["revocation"]["status"], "good", "{rr}");
    assert_eq!(rr["signatures"][1]["kind"], "document_timestamp", "{rr}");
    // It states the same judgement for each signature.
    if let Some(text) = completion_report_text(&app, &registrant, &id).await {
        let serial = sig["certificate"]["serial"].as_str().unwrap_or_default();
        for line in [
            "レベル B-LTA",
            "検証結果：有効",
            "タイムスタンプ 2026/11/25 10:00:00",
            &format!("証明書：シリアル {serial}"),
            "失効確認：失効していない",
            "完全性：改ざんなし",
            "文書タイムスタンプ2",
        ] {
            assert!(text.contains(line), "{line} not in\n{text}");
        }
    }

    // The same as a form, with the tenant CA given as a trust file as well.
    let (_, _, ca) = download(&app, &registrant, &format!("{T}/ca/certificate")).await;
    let (ct, body) = files(&[("file", "contract.pdf", &signed), ("trust", "ca.pem", &ca)]);
    let (s, form) = verify(&app, &ct, body).await;
    assert_eq!((s, &form["verdict"]), (StatusCode::OK, &json!("valid")), "{form}");

    // One byte changed inside the signed range: invalid, the signature not intact.
    let mut flipped = signed.clone();
    flipped[400] ^= 0x01; // inside the original file, which every signature covers
    let (s, r) = verify(&app, "application/pdf", flipped.clone()).await;
    assert_eq!((s, &r["verdict"]), (StatusCode::OK, &json!("invalid")), "{r}");
    assert_eq!(r["signatures"][0]["intact"], false, "{r}");

    // An unsigned PDF is reported unsigned; what is not a PDF is 415 with its code.
    let (s, r) = verify(&app, "application/pdf", crate::contracts::pdf("T-PLAIN")).await;
    assert_eq!((s, &r["verdict"], &r["signatures"]), (StatusCode::OK, &json!("unsigned"), &json!([])), "{r}");
    for (ct, body) in [
        ("application/pdf".to_string(), b"not a pdf".to_vec()),
        ("application/pdf".to_string(), Vec::new()),
        files(&[("trust", "ca.pem", &ca)]),
    ] {
        let (s, r) = verify(&app, &ct, body).await;
        assert_eq!(
            (s, r["code"].as_str()),
            (StatusCode::UNSUPPORTED_MEDIA_TYPE, Some("unsupported_media_type")),
            "{r}"
        );
    }

    // The public page `/verify`: the form with its double-submit token, then the report.
    let page = app.client.get(app.url("/verify")).send().await.expect("page");
    assert_eq!(page.status(), StatusCode::OK);
    let cookie = page
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|c| c.strip_prefix("keiyaku_csrf="))
        .and_then(|c| c.split(';').next())
        .expect("csrf cookie")
        .to_string();
    let html = page.text().await.expect("html");
    assert!(html.contains("署名検証") && html.contains(r#"type="file" name="file""#), "{html}");
    let post = |csrf: &str, pdf: &[u8]| {
        let (ct, body) = multipart(&[Part::Text("csrf", csrf), Part::File("file", "契約書.pdf", pdf)]);
        app.client
            .post(app.url("/verify"))
            .header("cookie", format!("keiyaku_csrf={cookie}"))
            .header("content-type", ct)
            .body(body)
            .send()
    };
    let shown = post(&cookie, &signed).await.expect("post");
    assert_eq!(shown.status(), StatusCode::OK);
    let html = shown.text().await.expect("html");
    assert!(html.contains(r#"data-verdict="valid""#) && !html.contains(r#"data-verdict="invalid""#), "{html}");
    assert!(html.contains("B-LTA") && html.contains("改ざんなし") && html.contains("契約書.pdf"), "{html}");
    let shown = post(&cookie, &flipped).await.expect("post");
    let html = shown.text().await.expect("html");
    assert!(html.contains(r#"data-verdict="invalid""#) && html.contains("署名と内容が一致しません"), "{html}");
    let refused = post("not-the-token", &signed).await.expect("post");
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let junk = post(&cookie, b"not a pdf").await.expect("post");
    assert_eq!(junk.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert!(junk.text().await.expect("html").contains("PDFファイルを指定してください。"));

    assert_eq!(contracts_snapshot(&app).await, snap, "the verifier and the refusal wrote nothing");
    app.stop().await;
}

/// The 合意締結証明書 of a completed contract is signed by the tenant's system certificate
/// (システム証明書: a CAdES signature with a signature time-stamp, its validation data and a
/// document time-stamp over them), B-LTA and trusted with the tenant CA as the only root — by
/// keiyaku's verifier and by pyHanko's LTA validation. The certificate was made once,
/// audited, and the tenant's OCSP responder vouches for it.
#[tokio::test]
async fn the_completion_report_is_signed_by_the_tenant_system_certificate_at_b_lta() {
    use keiyaku_kernel::store::Read;
    use keiyaku_pades::{Level, SignatureKind};
    let app = TestApp::demo().await;
    let (id, _) = signed_contract(&app, "T-REPORT-SIG").await;
    let (second, _) = signed_contract(&app, "T-REPORT-SIG-2").await;
    let registrant = app.demo_token("HX000002").await;
    let (s, ct, report) = download(&app, &registrant, &format!("{T}/contracts/{id}/report")).await;
    assert_eq!((s, ct.as_str()), (StatusCode::OK, "application/pdf"));
    let (_, _, ca_der) = download(&app, &registrant, &format!("{T}/ca/certificate?format=der")).await;
    let now = keiyaku_kernel::Clock::now(app.clock.as_ref());
    let store = app.services().kernel.store.clone();
    let tenant_name = store
        .read(|tx| keiyaku_kernel::directory::get_tenant(tx, "HXOS2"))
        .await
        .expect("tenant")
        .expect("the demo tenant")
        .name;

    // One CAdES signature, then the document time-stamp.
    let infos = keiyaku_pades::verify(&report).expect("signatures");
    let subs: Vec<&str> = infos.iter().map(|i| i.sub_filter.as_str()).collect();
    assert_eq!(subs, ["ETSI.CAdES.detached", "ETSI.RFC3161"], "{infos:?}");
    assert!(infos[0].timestamp.is_some(), "the signature carries its own time-stamp");
    let r = keiyaku_pades::report(&report, std::slice::from_ref(&ca_der), now).expect("report");
    assert_eq!(r.verdict, keiyaku_pades::Verdict::Valid, "{r:?}");
    assert_eq!(r.signatures.len(), 2, "{r:?}");
    let sig = &r.signatures[0];
    assert_eq!((sig.kind, sig.level), (SignatureKind::Signature, Some(Level::BLta)), "{sig:?}");
    assert!(sig.intact && sig.trusted.is_trusted() && sig.modifications_after.is_empty(), "{sig:?}");
    assert!(matches!(sig.revocation, keiyaku_pades::Revocation::Good { .. }), "{sig:?}");
    let cert = sig.certificate.as_ref().expect("the signer certificate");
    assert_eq!(cert.subject, format!("{tenant_name} システム証明書 (HXOS2)"), "{cert:?}");
    assert_eq!(sig.signer, cert.subject, "{sig:?}");
    assert!(cert.issuer.contains("認証局"), "issued by the tenant CA: {cert:?}");
    assert_eq!(r.signatures[1].kind, SignatureKind::DocumentTimestamp, "{r:?}");
    // The same through the public verifier, which trusts this appliance's tenant CAs.
    let (_, v) = verify(&app, "application/pdf", report.clone()).await;
    assert_eq!(v["verdict"], "valid", "{v}");
    assert_eq!(v["signatures"][0]["certificate"]["serial"].as_str(), Some(cert.serial.as_str()), "{v}");
    assert_eq!(v["signatures"][0]["trusted"], true, "{v}");

    // The system certificate is made once (audited `certs.system_create`), kept as a service
    // certificate, so the tenant's OCSP responder says it is good; the second contract's
    // report is signed by the same one.
    let (_, _, other) = download(&app, &registrant, &format!("{T}/contracts/{second}/report")).await;
    let other = keiyaku_pades::report(&other, std::slice::from_ref(&ca_der), now).expect("report");
    assert_eq!(other.signatures[0].certificate.as_ref().map(|c| c.serial.clone()), Some(cert.serial.clone()));
    let serial = cert.serial.clone();
    let (created, status) = store
        .read(move |tx| {
            let created = tx
                .scan(&keiyaku_kernel::audit::AUDIT, "")?
                .into_iter()
                .filter(|(_, e)| e.action == "certs.system_create" && e.detail["serial"] == serial.as_str())
                .count();
            let status = keiyaku_certs::signing::status_of(tx, "HXOS2", &serial)
                .map_err(|e| keiyaku_kernel::StoreError::Task(e.to_string()))?;
            Ok::<_, keiyaku_kernel::StoreError>((created, status))
        })
        .await
        .expect("audit");
    assert_eq!(created, 1, "one certs.system_create audit record");
    assert_eq!(status, keiyaku_pades::CertStatus::Good);

    // pyHanko's PAdES-LTA validation, the tenant CA the only root.
    if tool("pyhanko") {
        let (_, _, ca_pem) = download(&app, &registrant, &format!("{T}/ca/certificate")).await;
        let dir = tempdir("report-sig");
        let (file, ca_file) = (dir.join("report.pdf"), dir.join("ca.pem"));
        std::fs::write(&file, &report).expect("write");
        std::fs::write(&ca_file, &ca_pem).expect("write");
        let (ok, out) = pyhanko_lta(&file, &ca_file, now);
        assert!(ok && out.contains("\"passed\": true"), "the 合意締結証明書 passes pyHanko's LTA validation: {out}");
        let _ = std::fs::remove_dir_all(&dir);
    }
    app.stop().await;
}

#[tokio::test]
async fn a_revocation_after_signing_is_reported_with_its_time_and_leaves_the_signature_valid() {
    let app = TestApp::demo().await;
    let (id, _) = signed_contract(&app, "T-REVOKE-1").await;
    app.clock.advance(jiff::SignedDuration::from_hours(48));
    let admin = app.demo_token("HX000001").await;
    let (s, v) = app
        .post(&format!("{T}/users/HX000003/certificate/revoke"), Some(&admin), json!({"reason": "key_compromise"}))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let revoked_at = keiyaku_kernel::Clock::now(app.clock.as_ref());

    // `ltv renew` (any margin that makes the contract due) puts the fresh revocation data
    // on file under a new document time-stamp.
    let run = app.services().contracts.renew_archives(365 * 30, |_, _| {}).await.expect("renew");
    assert!(run.renewed >= 1 && run.failed == 0, "{run:?}");
    let pdf = latest(&app, &id).await;
    let (s, r) = verify(&app, "application/pdf", pdf.clone()).await;
    assert_eq!(s, StatusCode::OK, "{r}");
    let sig = &r["signatures"][0];
    assert_eq!(sig["revocation"]["status"], "revoked", "{sig}");
    assert_eq!(sig["revocation"]["reason"], "key_compromise", "{sig}");
    assert_eq!(sig["revocation"]["revoked_before_signing"], false, "{sig}");
    let at: jiff::Timestamp = sig["revocation"]["revoked_at"].as_str().expect("revoked_at").parse().expect("time");
    assert!((at - revoked_at).abs() < jiff::SignedDuration::from_secs(5), "{at} vs {revoked_at}");
    // Proven by its time-stamp to be older than the revocation, the signature holds.
    assert_eq!(sig["verdict"], "valid", "{sig}");
    assert_eq!(r["verdict"], "valid", "{r}");
    assert_eq!(r["signatures"].as_array().map(Vec::len), Some(3), "two document time-stamps now: {r}");
    // The 合意締結証明書 is the evidence issued at completion: the status at signing.
    if let Some(text) = completion_report_text(&app, &admin, &id).await {
        assert!(text.contains("失効確認：失効していない") && !text.contains("に失効"), "{text}");
    }
    app.stop().await;
}

#[tokio::test]
async fn six_years_on_a_renewed_contract_still_validates_and_an_unrenewed_one_does_not() {
    let app = TestApp::demo().await;
    let (id, at_signing) = signed_contract(&app, "T-LTV-6Y").await;
    let registrant = app.demo_token("HX000002").await;
    let (_, _, ca) = download(&app, &registrant, &format!("{T}/ca/certificate")).await;

    // A season at a time, the daily renewal with its default margin: the contract is
    // renewed within a year of the first TSA certificate's end, with a TSA certificate
    // rolled over.
    let mut renewed = 0;
    for _ in 0..24 {
        app.clock.advance(jiff::SignedDuration::from_hours(92 * 24));
        let run = app
            .services()
            .contracts
            .renew_archives(keiyaku_contracts::archive::DEFAULT_WITHIN_DAYS, |_, _| {})
            .await
            .expect("renew");
        assert_eq!(run.failed, 0, "{run:?}");
        renewed += run.renewed;
    }
    assert!(renewed >= 1, "the first TSA certificate's end made the contract due");
    // The operator's `ltv renew --within 3650` now: fresh validation data for today.
    let run = app.services().contracts.renew_archives(3650, |_, _| {}).await.expect("renew");
    assert!(run.renewed >= 1 && run.failed == 0, "{run:?}");
    let now = keiyaku_kernel::Clock::now(app.clock.as_ref());
    let renewed_pdf = latest(&app, &id).await;

    // Past the signer's certificate and the first TSA certificate: keiyaku's verifier and
    // pyHanko both accept the renewed file and reject the file as it was at signing.
    let tsa = keiyaku_pades::timestamp_certificates(&renewed_pdf).expect("stamps");
    assert!(tsa.first().and_then(|c| c.not_after).is_some_and(|end| end < now), "the first TSA certificate ended");
    let (_, r) = verify(&app, "application/pdf", renewed_pdf.clone()).await;
    assert_eq!(r["verdict"], "valid", "{r}");
    assert_eq!(r["signatures"][0]["level"], "B-LTA", "{r}");
    assert!(
        r["signatures"][0]["certificate"]["not_after"]
            .as_str()
            .and_then(|t| t.parse::<jiff::Timestamp>().ok())
            .is_some_and(|end| end < now),
        "the signer's certificate ended: {r}"
    );
    let (_, r) = verify(&app, "application/pdf", at_signing.clone()).await;
    assert_ne!(r["verdict"], "valid", "{r}");

    if tool("pyhanko") {
        let dir = tempdir("ltv-6y");
        let (renewed_file, old_file, ca_file) = (dir.join("renewed.pdf"), dir.join("old.pdf"), dir.join("ca.pem"));
        std::fs::write(&renewed_file, &renewed_pdf).expect("write");
        std::fs::write(&old_file, &at_signing).expect("write");
        std::fs::write(&ca_file, &ca).expect("write");
        let (ok, out) = pyhanko_lta(&renewed_file, &ca_file, now);
        assert!(ok && out.contains("\"passed\": true"), "the renewed contract passes six years on: {out}");
        let (ok, out) = pyhanko_lta(&old_file, &ca_file, now);
        assert!(!ok && out.contains("\"passed\": false"), "without renewal it does not: {out}");
        let _ = std::fs::remove_dir_all(&dir);
    }
    app.stop().await;
}

/// A stand-in for an outside time-stamping authority (e.g. a 総務大臣認定 service) with a CA
/// of its own: `POST /tsa` (RFC 3161, HTTP basic authentication `tsa-user:tsa-pass`) and
/// `GET /ca.crl`, the CRL its TSA certificate names. Blocking, on a thread of its own.
struct OutsideTsa {
    base: String,
    ca_pem: String,
    requests: Arc<AtomicUsize>,
    time: Arc<Mutex<jiff::Timestamp>>,
    /// While set, `POST /tsa` answers 503.
    down: Arc<AtomicBool>,
}

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

impl OutsideTsa {
    /// The stand-in and the demo appliance configured to use it (`contracts.tsa_url` with
    /// its credentials).
    async fn with_app() -> (Self, TestApp) {
        let outside = Self::start();
        let url = format!("{}/tsa", outside.base);
        let app = TestApp::start_with(|c| {
            keiyaku::registry::enable_demo(c);
            c.mail.mailbox_public = true;
            let contracts = c.section_mut::<keiyaku_contracts::ContractsConfig>();
            contracts.tsa_url = Some(url);
            contracts.tsa_username = Some("tsa-user".into());
            contracts.tsa_password = Some("tsa-pass".into());
        })
        .await;
        (outside, app)
    }

    fn start() -> Self {
        use rcgen::{
            BasicConstraints, CertificateParams, CertificateRevocationListParams, CrlDistributionPoint,
            CustomExtension, DnType, IsCa, Issuer, KeyIdMethod, KeyPair, KeyUsagePurpose, SerialNumber, date_time_ymd,
        };
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let base = format!("http://127.0.0.1:{}", listener.local_addr().expect("addr").port());
        let ca_key = KeyPair::generate().expect("key");
        let mut ca = CertificateParams::new(Vec::<String>::new()).expect("params");
        ca.distinguished_name.push(DnType::CommonName, "認定タイムスタンプ 試験局 CA");
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        ca.not_before = date_time_ymd(2025, 1, 1);
        ca.not_after = date_time_ymd(2040, 1, 1);
        let ca_cert = ca.self_signed(&ca_key).expect("ca");
        let issuer = Issuer::new(ca, ca_key);
        let tsa_key = KeyPair::generate().expect("key");
        let mut tp = CertificateParams::new(Vec::<String>::new()).expect("params");
        tp.distinguished_name.push(DnType::CommonName, "認定タイムスタンプ 試験局 TSA");
        tp.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        let (oid, content) = keiyaku_pades::tsa_eku_extension();
        let mut eku = CustomExtension::from_oid_content(&oid, content);
        eku.set_criticality(true);
        tp.custom_extensions = vec![eku];
        tp.crl_distribution_points = vec![CrlDistributionPoint { uris: vec![format!("{base}/ca.crl")] }];
        tp.not_before = date_time_ymd(2025, 1, 1);
        tp.not_after = date_time_ymd(2035, 1, 1);
        let tsa_cert = tp.signed_by(&tsa_key, &issuer).expect("tsa");
        let crl = CertificateRevocationListParams {
            // Issued when the test signs (the appliance clock is set to it): revocation data
            // older than the time-stamp proves nothing about the time of signing.
            this_update: date_time_ymd(2026, 11, 26),
            next_update: date_time_ymd(2026, 12, 26),
            crl_number: SerialNumber::from(1u64),
            issuing_distribution_point: None,
            revoked_certs: vec![],
            key_identifier_method: KeyIdMethod::Sha256,
        }
        .signed_by(&issuer)
        .expect("crl")
        .der()
        .to_vec();
        let mut tsa = keiyaku_pades::LocalTsa::new(
            tsa_cert.der().to_vec(),
            vec![ca_cert.der().to_vec()],
            tsa_key.serialize_der(),
        );
        let requests = Arc::new(AtomicUsize::new(0));
        let time = Arc::new(Mutex::new(jiff::Timestamp::UNIX_EPOCH));
        let down = Arc::new(AtomicBool::new(false));
        let (count, clock, is_down) = (requests.clone(), time.clone(), down.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                tsa.time = Some(*clock.lock().expect("time"));
                let _ = answer(stream, &tsa, &crl, &count, is_down.load(Ordering::SeqCst));
            }
        });
        OutsideTsa { base, ca_pem: ca_cert.pem(), requests, time, down }
    }
}

/// One HTTP/1.1 exchange of the stand-in.
fn answer(
    mut stream: std::net::TcpStream,
    tsa: &keiyaku_pades::LocalTsa,
    crl: &[u8],
    count: &AtomicUsize,
    down: bool,
) -> std::io::Result<()> {
    use base64::Engine as _;
    use std::io::{Read, Write};
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        let n = stream.read(&mut chunk)?;
        if n == 0 {
            return Ok(());
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break p + 4;
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_ascii_lowercase();
    let length: usize =
        head.lines().find_map(|l| l.strip_prefix("content-length:")).and_then(|v| v.trim().parse().ok()).unwrap_or(0);
    while buf.len() < head_end + length {
        let n = stream.read(&mut chunk)?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let body = &buf[head_end..(head_end + length).min(buf.len())];
    let auth = base64::engine::general_purpose::STANDARD.encode("tsa-user:tsa-pass").to_ascii_lowercase();
    let (status, kind, reply) = if head.starts_with("get /ca.crl ") {
        ("200 OK", "application/pkix-crl", crl.to_vec())
    } else if !head.starts_with("post /tsa ") {
        ("404 Not Found", "text/plain", b"not found".to_vec())
    } else if down {
        ("503 Service Unavailable", "text/plain", b"maintenance".to_vec())
    } else if !head.lines().any(|l| l.strip_prefix("authorization: basic ").is_some_and(|v| v.trim() == auth)) {
        ("401 Unauthorized", "text/plain", b"unauthorized".to_vec())
    } else {
        count.fetch_add(1, Ordering::SeqCst);
        ("200 OK", "application/timestamp-reply", tsa.respond(body).unwrap_or_default())
    };
    write!(
        stream,
        "HTTP/1.1 {status}\r\ncontent-type: {kind}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        reply.len()
    )?;
    stream.write_all(&reply)
}

#[tokio::test]
async fn an_outside_tsa_stamps_the_signatures_and_its_revocation_data_is_embedded() {
    let (outside, app) = OutsideTsa::with_app().await;
    app.clock.set("2026-11-26T00:00:00Z".parse().expect("time"));
    *outside.time.lock().expect("time") = keiyaku_kernel::Clock::now(app.clock.as_ref());
    let before = outside.requests.load(Ordering::SeqCst);
    let (id, pdf) = signed_contract(&app, "T-OUTSIDE-TSA").await;
    let stamps = outside.requests.load(Ordering::SeqCst) - before;
    assert_eq!(stamps, 4, "the signature's, the document's, the 合意締結証明書's signature and document time-stamps");

    // Trusting the tenant CA and the outside TSA's CA, the signature is B-LTA and valid.
    let registrant = app.demo_token("HX000002").await;
    let (_, _, ca) = download(&app, &registrant, &format!("{T}/ca/certificate")).await;
    let (ct, body) = files(&[("file", "c.pdf", &pdf), ("trust", "tsa-ca.pem", outside.ca_pem.as_bytes())]);
    let (s, r) = verify(&app, &ct, body).await;
    assert_eq!((s, &r["verdict"]), (StatusCode::OK, &json!("valid")), "{r}");
    assert_eq!(r["signatures"][0]["time_proof"]["by"], "認定タイムスタンプ 試験局 TSA", "{r}");
    assert_eq!(r["signatures"][0]["time_proof"]["revocation"]["source"], "crl", "{r}");
    assert_eq!(r["signatures"][0]["level"], "B-LTA", "{r}");
    // Without the outside CA, the time proof is not trusted.
    let (_, r) = verify(&app, "application/pdf", pdf.clone()).await;
    assert_eq!(r["verdict"], "indeterminate", "{r}");
    // The 合意締結証明書: the system certificate's signature, stamped by the outside TSA,
    // with both certificates' validation data embedded.
    let (_, _, report) = download(&app, &registrant, &format!("{T}/contracts/{id}/report")).await;
    let (ct, body) = files(&[("file", "r.pdf", &report), ("trust", "tsa-ca.pem", outside.ca_pem.as_bytes())]);
    let (_, rr) = verify(&app, &ct, body).await;
    assert_eq!(rr["verdict"], "valid", "{rr}");
    let sig = &rr["signatures"][0];
    assert_eq!((sig["kind"].as_str(), sig["level"].as_str()), (Some("signature"), Some("B-LTA")), "{rr}");
    assert!(sig["signer"].as_str().is_some_and(|s| s.contains("システム証明書")), "{rr}");
    assert_eq!(sig["revocation"]["status"], "good", "{rr}");
    assert_eq!(sig["time_proof"]["by"], "認定タイムスタンプ 試験局 TSA", "{rr}");
    assert_eq!(sig["time_proof"]["revocation"]["source"], "crl", "{rr}");

    if tool("pyhanko") {
        let dir = tempdir("outside-tsa");
        let (file, ca_file, tsa_ca) = (dir.join("c.pdf"), dir.join("ca.pem"), dir.join("tsa-ca.pem"));
        std::fs::write(&file, &pdf).expect("write");
        std::fs::write(&ca_file, &ca).expect("write");
        std::fs::write(&tsa_ca, &outside.ca_pem).expect("write");
        let roots = std::path::PathBuf::from(format!("{},{}", ca_file.display(), tsa_ca.display()));
        let (ok, out) = pyhanko_lta(&file, &roots, keiyaku_kernel::Clock::now(app.clock.as_ref()));
        assert!(ok && out.contains("\"passed\": true"), "{out}");
        let report_file = dir.join("report.pdf");
        std::fs::write(&report_file, &report).expect("write");
        let (ok, out) = pyhanko_lta(&report_file, &roots, keiyaku_kernel::Clock::now(app.clock.as_ref()));
        assert!(ok && out.contains("\"passed\": true"), "the 合意締結証明書: {out}");
        let _ = std::fs::remove_dir_all(&dir);
    }

    let (s, v) = app.get(&format!("{T}/contracts/{id}"), Some(&registrant)).await;
    assert_eq!((s, v["status"].as_str()), (StatusCode::OK, Some("completed")));
    app.stop().await;
}

#[tokio::test]
async fn when_the_outside_tsa_refuses_nothing_is_signed() {
    let (outside, app) = OutsideTsa::with_app().await;
    outside.down.store(true, Ordering::SeqCst);
    let registrant = app.demo_token("HX000002").await;
    let signer = app.demo_token("HX000003").await;
    let mut body = contract_body("T-TSA-DOWN", "2026-11-25", 10_000, "A15336");
    body["route"] = json!([{"party": "owner", "role": "signer"}]);
    let v = register(&app, &registrant, body).await;
    let id = v["id"].as_str().expect("id").to_string();
    let snap = contracts_snapshot(&app).await;
    let (s, v) = crate::contracts::act(&app, &signer, &id, "sign", json!({"pin": DEMO_PIN})).await;
    assert_eq!((s, v["code"].as_str()), (StatusCode::SERVICE_UNAVAILABLE, Some("tsa_unavailable")), "{v}");
    assert_eq!(v["title"], "タイムスタンプ局に接続できないため、署名できませんでした。", "{v}");
    assert_eq!(contracts_snapshot(&app).await, snap, "nothing was written");
    app.stop().await;
}

#[tokio::test]
async fn verify_pdf_and_ltv_renew_on_the_command_line() {
    let app = TestApp::demo().await;
    let (_, signed) = signed_contract(&app, "T-CLI-1").await;
    let registrant = app.demo_token("HX000002").await;
    let (_, _, ca) = download(&app, &registrant, &format!("{T}/ca/certificate")).await;
    let dir = tempdir("verify-pdf");
    let (file, ca_file, bad) = (dir.join("c.pdf"), dir.join("ca.pem"), dir.join("bad.pdf"));
    std::fs::write(&file, &signed).expect("write");
    std::fs::write(&ca_file, &ca).expect("write");
    let mut flipped = signed.clone();
    flipped[400] ^= 0x01; // inside the original file, which every signature covers
    std::fs::write(&bad, &flipped).expect("write");
    // Offline, from a directory with no data: the exit code is the verdict.
    let run = |args: &[&std::path::Path]| {
        let out = keiyaku_command().current_dir(&dir).arg("verify-pdf").args(args).output().expect("run");
        (out.status.code(), String::from_utf8_lossy(&out.stdout).to_string())
    };
    let (code, out) = run(&[&file, std::path::Path::new("--trust"), &ca_file, std::path::Path::new("--json")]);
    assert_eq!(code, Some(0), "{out}");
    let json: Value = serde_json::from_str(&out).expect("json");
    assert_eq!((json["verdict"].as_str(), json["signatures"][0]["level"].as_str()), (Some("valid"), Some("B-LTA")));
    let (code, out) = run(&[&file, std::path::Path::new("--trust"), &ca_file]);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.starts_with("Verdict: valid") && out.contains("level: B-LTA"), "{out}");
    let (code, out) = run(&[&file]);
    assert_eq!(code, Some(2), "no trust root: indeterminate\n{out}");
    let (code, out) = run(&[&bad, std::path::Path::new("--trust"), &ca_file]);
    assert_eq!(code, Some(1), "{out}");
    assert!(!dir.join("keiyaku-data").exists(), "verify-pdf made no data directory");

    // `keiyaku ltv renew` on the stopped appliance's data: progress on stderr, a summary.
    let data = app.dir.clone();
    app.stop().await;
    let out =
        keiyaku_command().args(["ltv", "renew", "--within", "3650", "--data"]).arg(&data).output().expect("ltv renew");
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{stdout}{stderr}");
    assert!(stderr.contains("archive renewal: 1/"), "{stderr}");
    assert!(stdout.contains("renewed, 0 failed (margin 3650 days)") && !stdout.contains(" 0 renewed"), "{stdout}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn the_contract_chain_is_anchored_and_a_rewritten_chain_is_caught() {
    use keiyaku_contracts::model::{CHAIN, CHAIN_HEAD, CONTRACTS, ChainHead};
    use keiyaku_contracts::storage;
    use keiyaku_kernel::store::Read;
    let app = TestApp::demo().await;
    let (id, _) = signed_contract(&app, "T-ANCHOR-1").await;
    let contracts = app.services().contracts.clone();
    let store = app.services().kernel.store.clone();
    let problems = || {
        let store = store.clone();
        async move {
            store
                .read(|tx| {
                    let mut p = storage::verify_chain(tx)?;
                    p.extend(storage::verify_anchors(tx)?);
                    p.extend(storage::verify_records(tx)?);
                    Ok::<_, keiyaku_kernel::StoreError>(p)
                })
                .await
                .expect("verify")
        }
    };
    assert_eq!(problems().await, Vec::<String>::new());
    assert!(contracts.anchor_chains().await.expect("anchor") >= 1);
    assert_eq!(contracts.anchor_chains().await.expect("anchor"), 0, "nothing moved since");
    assert_eq!(problems().await, Vec::<String>::new());

    // Someone with the database rewrites the whole chain consistently (every hash
    // recomputed): the chain alone holds, its anchor does not.
    store
        .write(|tx| {
            let links = tx.scan(&CHAIN, "HXOS2/")?;
            let mut prev = "0".repeat(64);
            let mut last = None;
            for (k, mut link) in links {
                if link.seq == 1 {
                    link.actor = "someone-else".into();
                }
                link.prev = prev.clone();
                link.hash = storage::link_hash(&prev, &link)?;
                prev = link.hash.clone();
                last = Some(ChainHead { seq: link.seq, hash: link.hash.clone() });
                tx.put(&CHAIN, &k, &link)?;
            }
            tx.put(&CHAIN_HEAD, "HXOS2", &last.expect("links"))?;
            Ok::<_, keiyaku_kernel::StoreError>(())
        })
        .await
        .expect("rewrite");
    let found = problems().await;
    assert!(!found.iter().any(|p| p.contains("altered") || p.contains("does not follow")), "{found:?}");
    assert!(found.iter().any(|p| p.contains("differs from its time-stamp")), "{found:?}");

    // A contract record that lost an event no longer matches its links.
    let key = keiyaku_contracts::model::key("HXOS2", &id);
    store
        .write(move |tx| {
            let mut c = tx.get(&CONTRACTS, &key)?.expect("contract");
            c.history.pop();
            tx.put(&CONTRACTS, &key, &c)
        })
        .await
        .expect("edit");
    let found = problems().await;
    assert!(found.iter().any(|p| p.contains(&format!("contract HXOS2/{id}: "))), "{found:?}");
    app.stop().await;
}
/// The last number after `key` in `pdf` (e.g. `/Size 12`, `/Root 1 0 R`, `startxref\n345`).
fn last_number_after(pdf: &[u8], key: &str) -> u64 {
    let text = String::from_utf8_lossy(pdf);
    let at = text.rfind(key).unwrap_or_else(|| panic!("{key} in the PDF")) + key.len();
    text[at..].trim_start().chars().take_while(char::is_ascii_digit).collect::<String>().parse().expect("number")
}

/// An incremental update after `signed` that replaces the first page's content stream with
/// other text: what a forger appends to a signed contract.
pub fn replace_page_content(signed: &[u8]) -> Vec<u8> {
    // The page's content stream (a signature's /Contents is a hex string, not a reference).
    let text = String::from_utf8_lossy(signed);
    let contents: u64 = text
        .match_indices("/Contents")
        .find_map(|(at, key)| {
            let rest = text[at + key.len()..].trim_start();
            rest.chars().take_while(char::is_ascii_digit).collect::<String>().parse().ok()
        })
        .expect("a page's /Contents");
    let root = last_number_after(signed, "/Root");
    let size = last_number_after(signed, "/Size");
    let prev = last_number_after(signed, "startxref");
    let stream = b"BT /F1 24 Tf 72 700 Td (Amount: 99,000,000 JPY) Tj ET";
    let mut out = signed.to_vec();
    if !out.ends_with(b"\n") {
        out.push(b'\n');
    }
    let offset = out.len();
    out.extend_from_slice(format!("{contents} 0 obj\n<< /Length {} >>\nstream\n", stream.len()).as_bytes());
    out.extend_from_slice(stream);
    out.extend_from_slice(b"\nendstream\nendobj\n");
    let xref = out.len();
    out.extend_from_slice(
        format!(
            "xref\n{contents} 1\n{offset:010} 00000 n \ntrailer\n<< /Size {size} /Root {root} 0 R /Prev {prev} >>\nstartxref\n{xref}\n%%EOF\n"
        )
        .as_bytes(),
    );
    out
}

#[tokio::test]
async fn a_page_replaced_after_signing_is_named_by_the_verifier_and_refused_for_registration() {
    let app = TestApp::demo().await;
    let (_, signed) = signed_contract(&app, "T-FORGED-0").await;
    let registrant = app.demo_token("HX000002").await;
    let snap = contracts_snapshot(&app).await;
    // The intact signed file: only signing, validation data and time-stamps after each.
    let (_, r) = verify(&app, "application/pdf", signed.clone()).await;
    assert_eq!(r["verdict"], "valid", "{r}");
    let allowed = &r["signatures"][0]["allowed_changes_after"];
    assert!(allowed.as_array().is_some_and(|a| a.contains(&json!("validation_data"))), "{r}");
    assert!(allowed.as_array().is_some_and(|a| a.contains(&json!("document_timestamp"))), "{r}");

    // The page content replaced by an incremental update: every signature intact, and the
    // change after them named; registerContract refuses the file and writes nothing.
    let forged = replace_page_content(&signed);
    let (s, r) = verify(&app, "application/pdf", forged.clone()).await;
    assert_eq!((s, &r["verdict"]), (StatusCode::OK, &json!("invalid")), "{r}");
    assert_eq!(r["signatures"][0]["intact"], true, "{r}");
    assert!(r["signatures"][0]["modifications_after"].as_array().is_some_and(|m| !m.is_empty()), "{r}");
    let mut body = contract_body("T-FORGED", "2026-11-25", 10_000, "A15336");
    body["documents"][0]["content_base64"] = json!(b64(&forged));
    let (s, refused) = app.post(&format!("{T}/contracts"), Some(&registrant), body).await;
    assert_eq!(
        (s, refused["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("validation_failed")),
        "{refused}"
    );
    assert!(refused.to_string().contains("signed_pdf_modified"), "{refused}");

    assert_eq!(r["signatures"][0]["modifications_after"], json!(["page 1 content changed"]), "{r}");
    assert_eq!(contracts_snapshot(&app).await, snap, "the refusal wrote nothing");
    app.stop().await;
}
