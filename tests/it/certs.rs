//! Issue 5: certificates over real HTTPS — ticket purchase with its three mails (CSV and PDF
//! attachments), self and proxy applications, approval with the PIN, issuance by the tenant
//! CA (checked with `openssl verify`), test, revocation and the CRL (`openssl crl`),
//! one-time links that expire or are used, tickets used once, business days.

// Test helpers outside #[test] functions: a failed request is a failed test.
#![allow(clippy::expect_used)]

use crate::common::*;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::process::Command;

const PIN: &str = "123456789012";

fn t(path: &str) -> String {
    format!("/api/v1/t/HXOS2{path}")
}

pub async fn demo_app() -> TestApp {
    TestApp::start_with(|c| {
        keiyaku::registry::enable_demo(c);
        c.mail.mailbox_public = true;
        c.section_mut::<keiyaku_certs::CertsConfig>().captcha = false;
    })
    .await
}

/// The token of the first link in the newest mail to `to` whose subject contains `subject`.
async fn link_token(app: &TestApp, to: &str, subject: &str, path: &str) -> String {
    let mail = mail_with(app, to, subject).await;
    let body = mail["body"].as_str().unwrap_or_default();
    let at = body.find(path).unwrap_or_else(|| panic!("no {path} in {body}"));
    body[at + path.len()..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_').collect()
}

async fn mail_with(app: &TestApp, to: &str, subject: &str) -> Value {
    app.mails_to(to)
        .await
        .into_iter()
        .find(|m| m["subject"].as_str().is_some_and(|s| s.contains(subject)))
        .unwrap_or_else(|| panic!("no mail 「{subject}」 to {to}"))
}

async fn bytes(app: &TestApp, path: &str, token: Option<&str>) -> (StatusCode, Vec<u8>) {
    let mut req = app.client.get(app.url(path));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let resp = req.send().await.expect("send");
    let status = resp.status();
    (status, resp.bytes().await.map(|b| b.to_vec()).unwrap_or_default())
}

/// Everything the certs flows write, plus the directory digest: proves a request changed
/// nothing.
pub async fn state(app: &TestApp) -> String {
    let mut out = app.snapshot().await;
    let store = app.services().kernel.store.clone();
    let own = store
        .read(|tx| {
            use keiyaku_certs::model::*;
            use keiyaku_kernel::store::Read;
            Ok::<_, keiyaku_kernel::StoreError>(format!(
                "{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{}|{}",
                tx.scan(&LINKS, "")?,
                tx.scan(&ORDERS, "")?,
                tx.scan(&TICKETS, "")?,
                tx.scan(&APPLICATIONS, "")?,
                tx.scan(&CERTIFICATES, "")?,
                tx.scan(&USER_CERTS, "")?,
                tx.scan(&REVOKED, "")?,
                tx.count(&CRLS, "")?,
                tx.count(&CAS, "")?,
            ))
        })
        .await
        .expect("state");
    out.push_str(&own);
    out
}

/// Orders tickets through the API; checks the three mails and their attachments; returns
/// the order and the ticket numbers (1-year first).
pub async fn order_tickets(app: &TestApp, buyer: &str, quantities: [u32; 3], delivery: &str) -> (Value, Vec<String>) {
    let (s, v) = app.post(&t("/ticket-orders/links"), None, json!({"email": buyer})).await;
    assert_eq!(s, StatusCode::ACCEPTED, "{v}");
    let token = link_token(app, buyer, "チケット購入用URLのご案内", "/tickets/order/").await;
    let (s, form) = app.get(&t(&format!("/ticket-orders/links/{token}")), None).await;
    assert_eq!(s, StatusCode::OK, "{form}");
    assert_eq!(form["enterprise_code"], "HXOS2");
    assert_eq!(form["prices"], json!({"1": 3000, "2": 4500, "3": 6000}));
    let (s, order) = app
        .post(
            &t("/ticket-orders"),
            None,
            json!({
                "token": token,
                "delivery": delivery,
                "billing": {
                    "company": "オリエンタル白石株式会社本社", "department": "土木事業本部工事部",
                    "postal_code": "135-0061", "address": "東京都江東区豊洲五丁目6番52号",
                    "phone": "03-6220-0635", "contact_name": "堀井 裕蔵",
                },
                "quantities": {"1": quantities[0], "2": quantities[1], "3": quantities[2]},
            }),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{order}");
    let expected_total: u32 = quantities[0] * 3000 + quantities[1] * 4500 + quantities[2] * 6000;
    assert_eq!(order["total"], json!(expected_total));
    assert_eq!(order["subtotals"]["3"], json!(quantities[2] * 6000));
    let received = mail_with(app, buyer, "注文受付のご案内").await;
    let body = received["body"].as_str().unwrap_or_default();
    assert!(body.contains("会社名: オリエンタル白石株式会社本社"), "{body}");
    assert!(body.contains(&format!("数量(3年): {}枚", quantities[2])), "{body}");
    let tickets_mail = mail_with(app, buyer, "チケット番号と請求書のご送付").await;
    let attachments = tickets_mail["attachments"].as_array().cloned().unwrap_or_default();
    assert_eq!(attachments.len(), 2, "{tickets_mail}");
    let op = app.operator_token().await;
    let csv_url = attachments[0]["url"].as_str().expect("csv url");
    assert!(attachments[0]["name"].as_str().unwrap_or_default().ends_with(".csv"));
    let (s, csv) = bytes(app, csv_url, Some(&op)).await;
    assert_eq!(s, StatusCode::OK);
    let csv = String::from_utf8(csv).expect("utf-8 csv");
    assert!(csv.starts_with("\u{FEFF}チケット番号,"), "{csv}");
    let tickets: Vec<String> =
        csv.lines().skip(1).filter_map(|l| l.split(',').next()).map(str::to_string).filter(|s| !s.is_empty()).collect();
    assert_eq!(tickets.len() as u32, quantities.iter().sum::<u32>(), "{csv}");
    let (s, pdf) = bytes(app, attachments[1]["url"].as_str().expect("pdf url"), Some(&op)).await;
    assert_eq!(s, StatusCode::OK);
    assert!(pdf.starts_with(b"%PDF-"));
    if tool("pdftotext") {
        let file = app.dir.join(format!("invoice-{}.pdf", order["number"].as_str().unwrap_or("x")));
        std::fs::write(&file, &pdf).expect("write pdf");
        let out = Command::new("pdftotext").arg("-layout").arg(&file).arg("-").output().expect("pdftotext");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.replace(' ', "").contains("請求書"), "{text}");
        assert!(text.contains("合計金額(税別)"), "{text}");
        let total = format!("¥{}", group(expected_total));
        assert!(text.contains(&total), "{total} in {text}");
        assert!(text.contains(&format!("¥{}", group(expected_total * 11 / 10))), "{text}");
        assert!(text.contains("オリエンタル白石株式会社本社"), "{text}");
    } else {
        eprintln!("pdftotext not installed: invoice text not checked (apt-get install poppler-utils)");
    }
    (order, tickets)
}

fn group(n: u32) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// startApplication (captcha off) → the details token from 「申請登録のご案内」.
pub async fn start(app: &TestApp, kind: &str, email: &str, ticket: &str) -> String {
    let (s, v) = app
        .post(
            &t("/cert-applications"),
            None,
            json!({"applicant": kind, "enterprise_code": "HXOS2", "ticket": ticket, "email": email,
                   "email_confirm": email, "consent": true}),
        )
        .await;
    assert_eq!(s, StatusCode::ACCEPTED, "{v}");
    link_token(app, email, "申請登録のご案内", "/certificates/apply/").await
}

/// Base64 of a tiny PDF (`%PDF-1.4` …): a business card as identity document.
fn card_pdf() -> String {
    "JVBERi0xLjQKJSBidXNpbmVzcyBjYXJkCg==".to_string()
}

pub fn details(user_id: &str, email: &str, names: [&str; 4], display: &str, company: &str) -> Value {
    json!({
        "company_name": company,
        "company_name_kana": "オリエンタルシライシカブシキガイシャ",
        "surname": names[0], "given_name": names[1], "surname_kana": names[2], "given_name_kana": names[3],
        "user_id": user_id, "email": email, "display_name": display, "phone": "03-6220-0635",
        "id_document": {"name": "名刺.pdf", "content_base64": card_pdf()},
    })
}

pub async fn put(app: &TestApp, path: &str, body: Value) -> (StatusCode, Value) {
    app.call(Method::PUT, path, None, Some(body)).await
}

async fn openssl(args: &[&str]) -> (bool, String) {
    let out = Command::new("openssl").args(args).output().expect("openssl");
    (out.status.success(), format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
}

/// What the tenant's OCSP responder says of `cert` (`good`, `revoked`, …), asked with
/// `openssl ocsp` (a request with a nonce, POSTed or as `ocspGet`), the response checked by
/// openssl against the CA (signature by the delegated responder, nonce, status).
async fn ocsp_status(app: &TestApp, ca: &std::path::Path, cert: &std::path::Path, get: bool) -> String {
    let dir = app.dir.join(format!("ocsp-{}", keiyaku_kernel::ids::new_id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let (req, resp) = (dir.join("req.der"), dir.join("resp.der"));
    let (ca, cert) = (ca.to_string_lossy(), cert.to_string_lossy());
    let (ok, out) = openssl(&["ocsp", "-issuer", &ca, "-cert", &cert, "-reqout", &req.to_string_lossy()]).await;
    assert!(ok, "{out}");
    let der = std::fs::read(&req).expect("request");
    let answer = if get {
        use base64::Engine;
        let b64 = base64::engine::general_purpose::STANDARD.encode(&der);
        let encoded = b64.replace('+', "%2B").replace('/', "%2F").replace('=', "%3D");
        app.client.get(app.url(&t(&format!("/ca/ocsp/{encoded}")))).send().await.expect("ocspGet")
    } else {
        app.client
            .post(app.url(&t("/ca/ocsp")))
            .header("content-type", "application/ocsp-request")
            .body(der)
            .send()
            .await
            .expect("ocsp")
    };
    assert_eq!(answer.status(), StatusCode::OK);
    assert_eq!(answer.headers().get("content-type").and_then(|v| v.to_str().ok()), Some("application/ocsp-response"));
    std::fs::write(&resp, answer.bytes().await.expect("body")).expect("response");
    // Signature by the delegated responder and the nonce, against the request sent.
    let (ok, out) =
        openssl(&["ocsp", "-reqin", &req.to_string_lossy(), "-respin", &resp.to_string_lossy(), "-CAfile", &ca]).await;
    assert!(ok && out.contains("Response verify OK"), "{out}");
    // The status (the appliance's clock is not the machine's: times are not judged here).
    let (ok, out) = openssl(&[
        "ocsp",
        "-respin",
        &resp.to_string_lossy(),
        "-issuer",
        &ca,
        "-cert",
        &cert,
        "-CAfile",
        &ca,
        "-no_nonce",
        "-validity_period",
        "400000000",
    ])
    .await;
    assert!(ok && out.contains("Response verify OK"), "{out}");
    let line = out.lines().find(|l| l.starts_with(cert.as_ref())).unwrap_or_default();
    line.rsplit(": ").next().unwrap_or_default().trim().to_string()
}

#[tokio::test]
async fn self_and_proxy_applications_issue_certificates_that_verify_and_revoke() {
    let app = demo_app().await;
    let (_, tickets) = order_tickets(&app, "horii@hxos2.example.jp", [1, 1, 1], "service").await;

    // --- Self: A1533602 applies for themself with the 3-year ticket.
    let ito = "ito@a15336.example.jp";
    let token = start(&app, "self", ito, &tickets[2]).await;
    let (s, a) = app.get(&t(&format!("/cert-applications/{token}")), None).await;
    assert_eq!(s, StatusCode::OK, "{a}");
    assert_eq!(
        (a["applicant"].as_str(), a["status"].as_str(), a["term_years"].as_u64()),
        (Some("self"), Some("registered"), Some(3))
    );
    let d = details(ito, ito, ["伊藤", "誠", "イトウ", "マコト"], "Ito.Makoto", "アイテックコンサルタント株式会社");
    let mut d = d;
    d["user_id"] = json!("A1533602");
    d["company_name_kana"] = json!("アイテックコンサルタントカブシキガイシャ");
    let (s, a) = put(&app, &t(&format!("/cert-applications/{token}")), d).await;
    assert_eq!(s, StatusCode::OK, "{a}");
    assert_eq!(a["details"]["certificate_name"], "BN-Ito.Makoto");
    assert_eq!(a["id_document"]["content_type"], "application/pdf");
    let (s, reg) = bytes(&app, &t(&format!("/cert-applications/{token}/registration.txt")), None).await;
    assert_eq!(s, StatusCode::OK);
    let reg = String::from_utf8(reg).expect("utf-8");
    assert!(reg.contains("JCAN証明書上の表記名: BN-Ito.Makoto") && reg.contains("名義人 姓(漢字): 伊藤"), "{reg}");
    // A self submission needs a 12-digit PIN.
    let (s, v) = app.post(&t(&format!("/cert-applications/{token}/submit")), None, json!({"pin": "1234"})).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    let (s, v) = app.post(&t(&format!("/cert-applications/{token}/submit")), None, json!({"pin": PIN})).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["status"], "issued");
    let serial_self = v["certificate"]["serial"].as_str().expect("serial").to_string();
    let issued = mail_with(&app, ito, "発行完了のお知らせ").await;
    let body = issued["body"].as_str().unwrap_or_default();
    assert!(body.contains("[企業コード] HXOS2") && body.contains("[ユーザーID] A1533602"), "{body}");
    assert!(body.contains(&format!("[チケット番号] {}", tickets[2])), "{body}");
    assert!(issued["subject"].as_str().unwrap_or_default().contains(&format!("HXOS2:{}", tickets[2])));
    mail_with(&app, ito, "発行申請受付のご案内").await;

    // The certificate is on the signer; usable from the second business day (Wed → Fri).
    let ito_token = app.demo_token("A1533602").await;
    let (s, c) = app.get(&t("/users/A1533602/certificate"), Some(&ito_token)).await;
    assert_eq!(s, StatusCode::OK, "{c}");
    assert_eq!(c["serial"], json!(serial_self));
    assert_eq!(c["common_name"], "BN-Ito.Makoto");
    assert_eq!(c["organization"], "アイテックコンサルタント株式会社");
    assert_eq!(c["usable_from"], "2026-11-27");
    assert_eq!(c["status"], "not_yet_usable");
    assert!(c["not_after"].as_str().unwrap_or_default().starts_with("2029-11-25"), "{c}");
    let (s, v) = app.post(&t("/users/A1533602/certificate/test"), Some(&ito_token), json!({})).await;
    assert_eq!((s, v["code"].as_str()), (StatusCode::CONFLICT, Some("certificate_not_usable")), "{v}");

    // --- Proxy: HX000001 applies for HX000003 with the 1-year ticket.
    let horii = "horii@hxos2.example.jp";
    let shiraishi = "shiraishi@hxos2.example.jp";
    let token = start(&app, "proxy", horii, &tickets[0]).await;
    // The proxy's own user ID is refused, the holder's e-mail must be the registered one.
    let mut bad =
        details("HX000001", horii, ["堀井", "裕蔵", "ホリイ", "ユウゾウ"], "Horii.Yuzo", "オリエンタル白石株式会社");
    bad["user_id"] = json!("HX000001");
    let before = state(&app).await;
    let (s, v) = put(&app, &t(&format!("/cert-applications/{token}")), bad).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert!(v["errors"].as_array().into_iter().flatten().any(|e| e["field"] == "user_id"), "{v}");
    assert_eq!(before, state(&app).await, "a refused request changes nothing");
    let mut good = details(
        "HX000003",
        shiraishi,
        ["白石", "太郎", "シライシ", "タロウ"],
        "Shiraishi.Taro",
        "オリエンタル白石株式会社",
    );
    good["user_id"] = json!("HX000003");
    let (s, v) = put(&app, &t(&format!("/cert-applications/{token}")), good).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, v) = app.post(&t(&format!("/cert-applications/{token}/submit")), None, json!({})).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!((v["status"].as_str(), v["holder_email"].as_str()), (Some("awaiting_approval"), Some(shiraishi)));
    let approval = link_token(&app, shiraishi, "発行申請のご案内", "/certificates/approve/").await;
    let (s, v) = app.get(&t(&format!("/cert-approvals/{approval}")), None).await;
    assert_eq!((s, v["details"]["certificate_name"].as_str()), (StatusCode::OK, Some("BN-Shiraishi.Taro")), "{v}");
    let resp = app
        .client
        .post(app.url(&t(&format!("/cert-approvals/{approval}/registration.txt"))))
        .json(&json!({"pin": PIN}))
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(resp.text().await.unwrap_or_default().contains(&format!("JCAN証明書パスワード(PINコード): {PIN}")));
    let (s, v) =
        app.post(&t(&format!("/cert-approvals/{approval}")), None, json!({"approve": true, "pin": "12"})).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    let (s, v) = app.post(&t(&format!("/cert-approvals/{approval}")), None, json!({"approve": true, "pin": PIN})).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["status"], "issued");
    let serial_proxy = v["certificate"]["serial"].as_str().expect("serial").to_string();
    assert_ne!(serial_proxy, serial_self);
    mail_with(&app, shiraishi, "発行申請受付のご案内").await;
    for who in [horii, shiraishi] {
        let m = mail_with(&app, who, "発行完了のお知らせ").await;
        assert!(m["body"].as_str().unwrap_or_default().contains("[ユーザーID] HX000003"), "{m}");
    }
    // The approval link was used.
    let (s, v) = app.post(&t(&format!("/cert-approvals/{approval}")), None, json!({"approve": true, "pin": PIN})).await;
    assert_eq!((s, v["code"].as_str()), (StatusCode::GONE, Some("link_expired")), "{v}");

    // --- Both certificates verify against the tenant CA.
    let admin = app.demo_token("HX000001").await;
    let (s, ca) = bytes(&app, &t("/ca/certificate"), None).await;
    assert_eq!(s, StatusCode::OK);
    let ca = String::from_utf8(ca).expect("pem");
    assert!(ca.starts_with("-----BEGIN CERTIFICATE-----"));
    let ca_file = app.dir.join("ca.pem");
    std::fs::write(&ca_file, &ca).expect("write ca");
    let (s, c) = app.get(&t("/users/HX000003/certificate"), Some(&admin)).await;
    assert_eq!(s, StatusCode::OK, "{c}");
    let cert_file = app.dir.join("hx000003.pem");
    std::fs::write(&cert_file, c["pem"].as_str().unwrap_or_default()).expect("write cert");
    let (ok, out) = openssl(&["verify", "-CAfile", &ca_file.to_string_lossy(), &cert_file.to_string_lossy()]).await;
    assert!(ok && out.contains(": OK"), "{out}");
    let (_, text) = openssl(&["x509", "-in", &cert_file.to_string_lossy(), "-noout", "-text"]).await;
    assert!(text.contains("Digital Signature, Non Repudiation"), "{text}");
    assert!(text.contains("E-mail Protection") && text.contains("1.3.6.1.5.5.7.3.36"), "{text}");
    assert!(text.contains("CN=BN-Shiraishi.Taro") || text.contains("CN = BN-Shiraishi.Taro"), "{text}");
    // Where relying parties find revocation and the issuer, under server.public_url, and
    // the tenant's certificate policy.
    let base = format!("{}/api/v1/t/HXOS2/ca", app.services().kernel.public_url());
    assert!(text.contains("X509v3 CRL Distribution Points") && text.contains(&format!("URI:{base}/crl")), "{text}");
    assert!(text.contains(&format!("OCSP - URI:{base}/ocsp")), "{text}");
    assert!(text.contains(&format!("CA Issuers - URI:{base}/certificate?format=der")), "{text}");
    assert!(text.contains("X509v3 Certificate Policies") && text.contains("Policy: 2.25."), "{text}");
    let (s, der) = bytes(&app, &t("/ca/certificate?format=der"), None).await;
    assert_eq!((s, der.first()), (StatusCode::OK, Some(&0x30)), "the caIssuers URL answers DER");
    // The OCSP responder says good (POST and GET, with a nonce).
    assert_eq!(ocsp_status(&app, &ca_file, &cert_file, false).await, "good");
    assert_eq!(ocsp_status(&app, &ca_file, &cert_file, true).await, "good");

    // Once usable, the holder's test signs and verifies with the registered key.
    app.clock.advance(jiff::SignedDuration::from_hours(48));
    let ito_token = app.demo_token("A1533602").await;
    let admin = app.demo_token("HX000001").await;
    let (s, v) = app.post(&t("/users/A1533602/certificate/test"), Some(&ito_token), json!({})).await;
    assert_eq!((s, v["result"].as_str()), (StatusCode::OK, Some("ok")), "{v}");
    // Others: invisible across companies, forbidden to a colleague without administration.
    let partner_admin = app.demo_token("A1533601").await;
    let (s, _) = app.get(&t("/users/HX000003/certificate"), Some(&partner_admin)).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let plain = app.demo_token("HX000002").await;
    let (s, _) = app.post(&t("/users/HX000003/certificate/revoke"), Some(&plain), json!({"reason": "x"})).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, v) = app.post(&t("/users/A1533602/certificate/test"), Some(&partner_admin), json!({})).await;
    assert_eq!(s, StatusCode::OK, "the group administrator may test: {v}");

    // --- Revocation: the CRL lists the serial; openssl refuses the certificate with it.
    let (s, v) =
        app.post(&t("/users/HX000003/certificate/revoke"), Some(&admin), json!({"reason": "key_compromise"})).await;
    assert_eq!((s, v["status"].as_str()), (StatusCode::OK, Some("revoked")), "{v}");
    let (s, v) = app.post(&t("/users/HX000003/certificate/revoke"), Some(&admin), json!({"reason": "again"})).await;
    assert_eq!(s, StatusCode::CONFLICT, "{v}");
    let shiraishi_token = app.demo_token("HX000003").await;
    let (s, v) = app.post(&t("/users/HX000003/certificate/test"), Some(&shiraishi_token), json!({})).await;
    assert_eq!((s, v["code"].as_str()), (StatusCode::CONFLICT, Some("certificate_not_usable")), "{v}");
    let (s, crl) = bytes(&app, &t("/ca/crl"), None).await;
    assert_eq!(s, StatusCode::OK);
    let crl_file = app.dir.join("crl.der");
    std::fs::write(&crl_file, &crl).expect("write crl");
    let (ok, text) = openssl(&["crl", "-inform", "DER", "-in", &crl_file.to_string_lossy(), "-noout", "-text"]).await;
    assert!(ok, "{text}");
    assert!(text.contains(&format!("Serial Number: {serial_proxy}")), "{serial_proxy} in {text}");
    assert!(text.contains("Key Compromise"), "{text}");
    assert!(!text.contains(&serial_self), "{text}");
    let crl_pem = app.dir.join("crl.pem");
    let (ok, out) =
        openssl(&["crl", "-inform", "DER", "-in", &crl_file.to_string_lossy(), "-out", &crl_pem.to_string_lossy()])
            .await;
    assert!(ok, "{out}");
    let (ok, out) =
        openssl(&["crl", "-in", &crl_pem.to_string_lossy(), "-CAfile", &ca_file.to_string_lossy(), "-noout"]).await;
    assert!(ok && out.contains("verify OK"), "the CRL is signed by the CA: {out}");
    let (ok, out) = openssl(&[
        "verify",
        "-crl_check",
        "-CAfile",
        &ca_file.to_string_lossy(),
        "-CRLfile",
        &crl_pem.to_string_lossy(),
        &cert_file.to_string_lossy(),
    ])
    .await;
    assert!(!ok && out.contains("revoked"), "{out}");
    assert_eq!(ocsp_status(&app, &ca_file, &cert_file, false).await, "revoked");
    assert_eq!(ocsp_status(&app, &ca_file, &cert_file, true).await, "revoked");
    mail_with(&app, shiraishi, "失効のお知らせ").await;
    app.stop().await;
}

#[tokio::test]
async fn links_expire_are_used_once_and_tickets_are_consumed_once() {
    let app = demo_app().await;
    let (_, tickets) = order_tickets(&app, "horii@hxos2.example.jp", [0, 3, 0], "service").await;
    let order_link = link_token(&app, "horii@hxos2.example.jp", "チケット購入用URLのご案内", "/tickets/order/").await;
    // The order link was used by the order.
    let (s, v) = app.get(&t(&format!("/ticket-orders/links/{order_link}")), None).await;
    assert_eq!((s, v["code"].as_str()), (StatusCode::GONE, Some("link_expired")), "{v}");
    let (s, v) = app
        .post(
            &t("/ticket-orders"),
            None,
            json!({"token": order_link, "delivery": "service", "billing": {}, "quantities": {"1": 1}}),
        )
        .await;
    assert_eq!((s, v["code"].as_str()), (StatusCode::GONE, Some("link_expired")), "{v}");

    // Two applications for the same ticket: the first issuance consumes it, the second is a
    // conflict and changes nothing.
    let ito = "ito@a15336.example.jp";
    let mut d =
        details("A1533602", ito, ["伊藤", "誠", "イトウ", "マコト"], "Ito.Makoto", "アイテックコンサルタント株式会社");
    d["user_id"] = json!("A1533602");
    let first = start(&app, "self", ito, &tickets[0]).await;
    let second = start(&app, "self", ito, &tickets[0]).await;
    assert_ne!(first, second);
    for tok in [&first, &second] {
        let (s, v) = put(&app, &t(&format!("/cert-applications/{tok}")), d.clone()).await;
        assert_eq!(s, StatusCode::OK, "{v}");
    }
    let (s, v) = app.post(&t(&format!("/cert-applications/{first}/submit")), None, json!({"pin": PIN})).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let before = state(&app).await;
    let (s, v) = app.post(&t(&format!("/cert-applications/{second}/submit")), None, json!({"pin": PIN})).await;
    assert_eq!((s, v["code"].as_str()), (StatusCode::CONFLICT, Some("conflict")), "{v}");
    let (s, v) = app
        .post(&t("/cert-applications"), None, json!({"applicant": "self", "enterprise_code": "HXOS2", "ticket": tickets[0], "email": ito, "consent": true}))
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "a consumed ticket cannot start an application: {v}");
    assert_eq!(before, state(&app).await);
    // The used details link answers link_expired everywhere.
    for (m, path) in [
        (Method::GET, format!("/cert-applications/{first}")),
        (Method::GET, format!("/cert-applications/{first}/registration.txt")),
    ] {
        let (s, v) = app.call(m, &t(&path), None, None).await;
        assert_eq!((s, v["code"].as_str()), (StatusCode::GONE, Some("link_expired")), "{path}: {v}");
    }

    // Concurrent submissions of two applications for one ticket: exactly one wins.
    let a = start(&app, "self", ito, &tickets[1]).await;
    let b = start(&app, "self", ito, &tickets[1]).await;
    for tok in [&a, &b] {
        let (s, v) = put(&app, &t(&format!("/cert-applications/{tok}")), d.clone()).await;
        assert_eq!(s, StatusCode::OK, "{v}");
    }
    let pa = t(&format!("/cert-applications/{a}/submit"));
    let pb = t(&format!("/cert-applications/{b}/submit"));
    let (ra, rb) = tokio::join!(app.post(&pa, None, json!({"pin": PIN})), app.post(&pb, None, json!({"pin": PIN})));
    let mut statuses = [ra.0, rb.0];
    statuses.sort();
    assert_eq!(statuses, [StatusCode::OK, StatusCode::CONFLICT], "{ra:?} {rb:?}");

    // Unused links: an order link, a details link, the demo's approval link.
    let (s, _) = app.post(&t("/ticket-orders/links"), None, json!({"email": "buyer@example.jp"})).await;
    assert_eq!(s, StatusCode::ACCEPTED);
    let fresh_order = link_token(&app, "buyer@example.jp", "チケット購入用URLのご案内", "/tickets/order/").await;
    let details_link = start(&app, "proxy", "horii@hxos2.example.jp", &tickets[2]).await;
    let approval = link_token(&app, ito, "発行申請のご案内", "/certificates/approve/").await;
    let (s, _) = app.get(&t(&format!("/cert-approvals/{approval}")), None).await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = app.get(&t(&format!("/cert-applications/{details_link}")), None).await;
    assert_eq!(s, StatusCode::OK);

    // Three days later every one of them has expired, and trying changes nothing.
    app.clock.advance(jiff::SignedDuration::from_hours(72) + jiff::SignedDuration::from_secs(1));
    let before = state(&app).await;
    let mut good = details(
        "HX000003",
        "shiraishi@hxos2.example.jp",
        ["白石", "太郎", "シライシ", "タロウ"],
        "Shiraishi.Taro",
        "オリエンタル白石株式会社",
    );
    good["user_id"] = json!("HX000003");
    let attempts: Vec<(Method, String, Option<Value>)> = vec![
        (Method::GET, format!("/ticket-orders/links/{fresh_order}"), None),
        (
            Method::POST,
            "/ticket-orders".into(),
            Some(
                json!({"token": fresh_order, "delivery": "service", "billing": {"company": "x", "postal_code": "135-0061", "address": "x", "phone": "03-6220-0635", "contact_name": "x"}, "quantities": {"1": 1}}),
            ),
        ),
        (Method::GET, format!("/cert-applications/{details_link}"), None),
        (Method::PUT, format!("/cert-applications/{details_link}"), Some(good)),
        (Method::GET, format!("/cert-applications/{details_link}/registration.txt"), None),
        (Method::POST, format!("/cert-applications/{details_link}/submit"), Some(json!({}))),
        (Method::GET, format!("/cert-approvals/{approval}"), None),
        (Method::POST, format!("/cert-approvals/{approval}"), Some(json!({"approve": true, "pin": PIN}))),
        (Method::POST, format!("/cert-approvals/{approval}"), Some(json!({"approve": false}))),
    ];
    for (m, path, body) in attempts {
        let (s, v) = app.call(m.clone(), &t(&path), None, body).await;
        assert_eq!((s, v["code"].as_str()), (StatusCode::GONE, Some("link_expired")), "{m} {path}: {v}");
        assert!(v["title"].as_str().unwrap_or_default().contains("有効期限"), "{v}");
    }
    assert_eq!(before, state(&app).await, "expired links change nothing");
    // Unknown tokens are simply not found.
    let (s, _) = app.get(&t("/cert-applications/nope"), None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    app.stop().await;
}

#[tokio::test]
async fn issuance_on_a_friday_before_a_holiday_monday() {
    let app = demo_app().await;
    // Friday 2026-11-20, 10:00 in Japan; Monday 11-23 is 勤労感謝の日.
    app.clock.set("2026-11-20T01:00:00Z".parse().expect("ts"));
    let (_, tickets) = order_tickets(&app, "horii@hxos2.example.jp", [1, 0, 0], "service").await;
    let ito = "ito@a15336.example.jp";
    let token = start(&app, "self", ito, &tickets[0]).await;
    let mut d =
        details("A1533602", ito, ["伊藤", "誠", "イトウ", "マコト"], "Ito.Makoto", "アイテックコンサルタント株式会社");
    d["user_id"] = json!("A1533602");
    let (s, v) = put(&app, &t(&format!("/cert-applications/{token}")), d).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, v) = app.post(&t(&format!("/cert-applications/{token}/submit")), None, json!({"pin": PIN})).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    // Business days after Friday: Tue 24 (1), Wed 25 (2).
    assert_eq!(v["certificate"]["usable_from"], "2026-11-25");
    assert!(
        mail_with(&app, ito, "発行完了のお知らせ").await["body"].as_str().unwrap_or_default().contains("2026/11/25")
    );
    // Tuesday evening: not yet.
    app.clock.set("2026-11-24T14:59:00Z".parse().expect("ts"));
    let token = app.demo_token("A1533602").await;
    let (s, v) = app.post(&t("/users/A1533602/certificate/test"), Some(&token), json!({})).await;
    assert_eq!(s, StatusCode::CONFLICT, "{v}");
    assert!(v["detail"].as_str().unwrap_or_default().contains("2026/11/25"), "{v}");
    // Wednesday 00:00 in Japan: usable.
    app.clock.set("2026-11-24T15:00:00Z".parse().expect("ts"));
    let token = app.demo_token("A1533602").await;
    let (s, v) = app.post(&t("/users/A1533602/certificate/test"), Some(&token), json!({})).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    app.stop().await;
}

#[tokio::test]
async fn details_are_validated_field_by_field_and_bad_input_changes_nothing() {
    let app = demo_app().await;
    let (_, tickets) = order_tickets(&app, "horii@hxos2.example.jp", [1, 0, 0], "service").await;
    let horii = "horii@hxos2.example.jp";
    let token = start(&app, "proxy", horii, &tickets[0]).await;
    let before = state(&app).await;
    let body = json!({
        "company_name": "オリエンタル白石株式会社 東京支店",
        "company_name_kana": "おりえんたる",
        "surname": "髙橋", "given_name": "山﨑", "surname_kana": "タカハシ", "given_name_kana": "ヤマサキ1",
        "user_id": "NOBODY", "email": "not-an-email", "display_name": "yamada taro!", "phone": "12",
        "id_document": {"name": "virus.exe", "content_base64": "TVqQAAMAAAAEAAAA"},
    });
    let resp = app
        .client
        .put(app.url(&t(&format!("/cert-applications/{token}"))))
        .header("accept-language", "ja")
        .json(&body)
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(resp.headers()["content-type"].to_str().unwrap_or_default().starts_with("application/problem+json"));
    let v: Value = resp.json().await.expect("json");
    let errors: Vec<(String, String)> = v["errors"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| {
            (e["field"].as_str().unwrap_or_default().to_string(), e["message"].as_str().unwrap_or_default().to_string())
        })
        .collect();
    let fields: Vec<&str> = errors.iter().map(|(f, _)| f.as_str()).collect();
    for f in [
        "company_name",
        "company_name_kana",
        "surname",
        "given_name",
        "given_name_kana",
        "user_id",
        "email",
        "display_name",
        "phone",
        "id_document",
    ] {
        assert!(fields.contains(&f), "{f} in {v}");
    }
    let msg = |f: &str| errors.iter().find(|(x, _)| x == f).map(|(_, m)| m.clone()).unwrap_or_default();
    assert!(msg("surname").contains("「髙」"), "{v}");
    assert!(msg("given_name").contains("「﨑」"), "{v}");
    assert!(msg("company_name").contains("支店"), "{v}");
    assert_eq!(before, state(&app).await, "nothing changed");
    // Broken base64 and garbage JSON are client errors too.
    let (s, v) = put(
        &app,
        &t(&format!("/cert-applications/{token}")),
        json!({"id_document": {"name": "a.pdf", "content_base64": "%%%"}}),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    let resp = app
        .client
        .put(app.url(&t(&format!("/cert-applications/{token}"))))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    // Start: wrong enterprise code, mismatching e-mails, no consent, unknown ticket.
    let (s, v) = app
        .post(&t("/cert-applications"), None, json!({"applicant": "x", "enterprise_code": "DMOEX", "ticket": "00000000-0000-0000-0000-000000000000", "email": "a@example.jp", "email_confirm": "b@example.jp"}))
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(v["errors"].as_array().map(Vec::len), Some(4), "{v}");
    let (s, v) = app
        .post(&t("/cert-applications"), None, json!({"applicant": "self", "enterprise_code": "HXOS2", "ticket": "00000000-0000-0000-0000-000000000000", "email": "a@example.jp", "consent": true}))
        .await;
    assert_eq!((s, v["errors"][0]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("ticket")), "{v}");
    // Orders: fields and quantities, in English on request.
    let (s, _) = app.post(&t("/ticket-orders/links"), None, json!({"email": "nope"})).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let (s, _) = app.post("/api/v1/t/NOSUCH/ticket-orders/links", None, json!({"email": "a@example.jp"})).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert_eq!(before, state(&app).await, "nothing changed");
    app.stop().await;
}

#[tokio::test]
async fn key_file_delivery_and_tickets_released_on_payment() {
    let app = TestApp::start_with(|c| {
        keiyaku::registry::enable_demo(c);
        c.mail.mailbox_public = true;
        let certs = c.section_mut::<keiyaku_certs::CertsConfig>();
        certs.captcha = false;
        certs.release_tickets = Some(keiyaku_certs::ReleaseTickets::OnPayment);
    })
    .await;
    let buyer = "suzuki@a15336.example.jp";
    let (s, _) = app.post(&t("/ticket-orders/links"), None, json!({"email": buyer})).await;
    assert_eq!(s, StatusCode::ACCEPTED);
    let token = link_token(&app, buyer, "チケット購入用URLのご案内", "/tickets/order/").await;
    let (s, order) = app
        .post(
            &t("/ticket-orders"),
            None,
            json!({"token": token, "delivery": "key_file", "billing": {"company": "アイテックコンサルタント株式会社", "postal_code": "1350061", "address": "東京都江東区豊洲", "phone": "0362200635", "contact_name": "鈴木 一郎"}, "quantities": {"2": 1}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{order}");
    assert_eq!(order["tickets_released"], false);
    assert!(
        mail_with(&app, buyer, "注文受付のご案内").await["body"]
            .as_str()
            .unwrap_or_default()
            .contains("ご入金の確認後")
    );
    let all = app.mails_to(buyer).await;
    let count =
        |subject: &str| all.iter().filter(|m| m["subject"].as_str().is_some_and(|s| s.contains(subject))).count();
    // The demo's paid order mailed its tickets already; this order's are still waiting.
    let before_release = count("チケット番号と請求書のご送付");
    let order_id = order["order_id"].as_str().expect("id");
    let partner_admin = app.demo_token("A1533601").await;
    let (s, _) = app.post(&t(&format!("/ticket-orders/{order_id}/paid")), Some(&partner_admin), json!({})).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let admin = app.demo_token("HX000001").await;
    let (s, v) = app.post(&t(&format!("/ticket-orders/{order_id}/paid")), Some(&admin), json!({})).await;
    assert_eq!((s, v["tickets_released"].as_bool()), (StatusCode::OK, Some(true)), "{v}");
    let (s, _) = app.post(&t(&format!("/ticket-orders/{order_id}/paid")), Some(&admin), json!({})).await;
    assert_eq!(s, StatusCode::CONFLICT);
    let all = app.mails_to(buyer).await;
    let released = all
        .iter()
        .filter(|m| m["subject"].as_str().is_some_and(|s| s.contains("チケット番号と請求書のご送付")))
        .count();
    assert_eq!(released, before_release + 1);
    let op = app.operator_token().await;
    let m = mail_with(&app, buyer, "チケット番号と請求書のご送付").await;
    let (_, csv) = bytes(&app, m["attachments"][0]["url"].as_str().expect("url"), Some(&op)).await;
    let csv = String::from_utf8(csv).expect("csv");
    let ticket = csv.lines().nth(1).and_then(|l| l.split(',').next()).expect("ticket").to_string();
    assert!(csv.contains("鍵ファイル"), "{csv}");

    // Self application for A1533602 with the key-file ticket: a PKCS#12 protected by the PIN.
    let ito = "ito@a15336.example.jp";
    let tok = start(&app, "self", ito, &ticket).await;
    let mut d =
        details("A1533602", ito, ["伊藤", "誠", "イトウ", "マコト"], "Ito.Makoto", "アイテックコンサルタント株式会社");
    d["user_id"] = json!("A1533602");
    let (s, v) = put(&app, &t(&format!("/cert-applications/{tok}")), d).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, v) = app.post(&t(&format!("/cert-applications/{tok}/submit")), None, json!({"pin": PIN})).await;
    assert_eq!((s, v["certificate"]["delivery"].as_str()), (StatusCode::OK, Some("key_file")), "{v}");
    let key_token = link_token(&app, ito, "鍵ファイルダウンロードのご案内", "/certificates/keyfile/").await;
    let resp = app.client.post(app.url(&t(&format!("/cert-keyfiles/{key_token}")))).send().await.expect("send");
    assert_eq!(resp.status(), StatusCode::OK);
    let p12 = resp.bytes().await.expect("bytes").to_vec();
    let file = app.dir.join("key.p12");
    std::fs::write(&file, &p12).expect("write");
    let pass = format!("pass:{PIN}");
    let (ok, out) = openssl(&["pkcs12", "-in", &file.to_string_lossy(), "-passin", &pass, "-nodes"]).await;
    assert!(ok && out.contains("BEGIN PRIVATE KEY") && out.contains("BN-Ito.Makoto"), "{out}");
    let resp = app.client.post(app.url(&t(&format!("/cert-keyfiles/{key_token}")))).send().await.expect("send");
    assert_eq!(resp.status(), StatusCode::GONE, "the key file link works once");
    app.stop().await;
}

#[tokio::test]
async fn the_captcha_is_checked_when_enabled() {
    let app = TestApp::demo().await;
    let (s, v) = app.get("/api/v1/captcha", None).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert!(v["image"].as_str().unwrap_or_default().starts_with("data:image/png;base64,"));
    assert_eq!(v["required"], true);
    let id = v["captcha_id"].as_str().expect("id");
    let before = state(&app).await;
    let (s, v) = app
        .post(
            &t("/cert-applications"),
            None,
            json!({"applicant": "self", "enterprise_code": "HXOS2", "ticket": "00000000-0000-0000-0000-000000000000",
                   "email": "a@example.jp", "consent": true, "captcha_id": id, "captcha_answer": "wrong"}),
        )
        .await;
    assert_eq!(
        (s, v["errors"][0]["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("captcha_mismatch")),
        "{v}"
    );
    assert_eq!(before, state(&app).await);
    // The demo's CA, certificates and CRL are served.
    let (s, crl) = bytes(&app, &t("/ca/crl"), None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(crl.first(), Some(&0x30));
    let token = app.demo_token("A1533602").await;
    let (s, c) = app.get(&t("/users/A1533602/certificate"), Some(&token)).await;
    assert_eq!((s, c["status"].as_str()), (StatusCode::OK, Some("active")), "{c}");
    let (s, v) = app.post(&t("/users/A1533602/certificate/test"), Some(&token), json!({})).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    app.stop().await;
}

/// A certificate that ends within 30 days is told to its holder once: the mail
/// 「有効期限のお知らせ」 with its serial and last day, and the event `certificate.expiring`
/// in the tenant's feed. A second round tells nobody again.
#[tokio::test]
async fn holders_are_told_once_of_certificates_ending_soon() {
    let app = demo_app().await;
    let signer = app.demo_token("A1533602").await;
    let (s, cert) = app.get(&t("/users/A1533602/certificate"), Some(&signer)).await;
    assert_eq!(s, StatusCode::OK, "{cert}");
    let serial = cert["serial"].as_str().expect("serial").to_string();
    let email = "ito@a15336.example.jp";
    let not_after: jiff::Timestamp = cert["not_after"].as_str().expect("not_after").parse().expect("RFC 3339");
    let certs = &app.services().certs;
    assert_eq!(certs.notice_expiring().await.expect("round"), 0, "nothing ends within 30 days yet");

    app.clock.set(not_after - jiff::SignedDuration::from_hours(24 * 10));
    let told = certs.notice_expiring().await.expect("round");
    assert!(told >= 1, "the holder of {serial} is told");
    assert_eq!(certs.notice_expiring().await.expect("round"), 0, "each certificate once");

    let mail = mail_with(&app, email, "有効期限のお知らせ").await;
    let body = mail["body"].as_str().unwrap_or_default();
    assert!(body.contains(&serial), "{body}");
    let last_day = not_after.to_zoned_datetime(keiyaku_kernel::clock::tokyo()).strftime("%Y/%m/%d").to_string();
    assert!(body.contains(&format!("[有効期限] {last_day}")), "{body}");

    let admin = app.demo_token("HX000001").await;
    let (s, feed) = app.get(&t("/events?limit=500"), Some(&admin)).await;
    assert_eq!(s, StatusCode::OK, "{feed}");
    let expiring: Vec<&Value> = feed["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter(|e| e["type"] == "certificate.expiring" && e["subject_id"] == serial.as_str())
        .collect();
    assert_eq!(expiring.len(), 1, "{feed}");
    assert_eq!(expiring[0]["data"]["user_id"], "A1533602", "{feed}");
}
