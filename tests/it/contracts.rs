//! Issue 7: contracts over HTTPS — registration with a PDF, the default route with a
//! send-back and a resubmission, signing by the partner signer's delegate and the owner
//! signer, validation of the signed PDF by tools nobody here wrote (pyHanko, poppler's
//! pdfsig, pdftoppm), refusals (certificate states, non-delegates), search and visibility.
//!
//! Tools: `apt-get install poppler-utils` and `pip install pyhanko pyhanko-cli` (.ci/run
//! installs them). Outside CI a missing tool skips that check with a message; under CI it
//! fails.

use crate::common::*;
use base64::Engine;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::process::Command;

const T: &str = "/api/v1/t/HXOS2";

pub use crate::common::tool;

pub fn pdf(number: &str) -> Vec<u8> {
    keiyaku_contracts::demo::order_pdf(
        number,
        "テスト工事 注文",
        "アイテックコンサルタント株式会社",
        1_100_000,
        "2026-11-25",
    )
}

pub fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

pub fn contract_body(number: &str, date: &str, amount: i64, counterparty: &str) -> Value {
    json!({
        "number": number,
        "title": format!("{number} 件名"),
        "doc_type": "purchase_order",
        "counterparty": counterparty,
        "transaction_date": date,
        "amount": amount,
        "tax": "included",
        "fields": [{"name": "工事番号", "value": "K-001"}],
        "documents": [{"name": "注文書.pdf", "content_base64": b64(&pdf(number))}],
    })
}

pub async fn register(app: &TestApp, token: &str, body: Value) -> Value {
    let (s, v) = app.post(&format!("{T}/contracts"), Some(token), body).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    v
}

pub async fn act(app: &TestApp, token: &str, id: &str, action: &str, body: Value) -> (StatusCode, Value) {
    app.post(&format!("{T}/contracts/{id}/{action}"), Some(token), body).await
}

pub async fn ok(app: &TestApp, token: &str, id: &str, action: &str, body: Value) -> Value {
    let (s, v) = act(app, token, id, action, body).await;
    assert_eq!(s, StatusCode::OK, "{action}: {v}");
    v
}

pub async fn waiting(app: &TestApp, token: &str) -> Vec<(String, u64)> {
    let (s, v) = app.get(&format!("{T}/dashboard"), Some(token)).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    v["waiting"]
        .as_array()
        .expect("waiting")
        .iter()
        .map(|l| (l["line"].as_str().unwrap_or_default().to_string(), l["count"].as_u64().unwrap_or(0)))
        .collect()
}

fn count(lines: &[(String, u64)], line: &str) -> u64 {
    lines.iter().find(|(l, _)| l == line).map(|(_, n)| *n).unwrap_or(0)
}

pub async fn download(app: &TestApp, token: &str, path: &str) -> (StatusCode, String, Vec<u8>) {
    let resp = app.client.get(app.url(path)).bearer_auth(token).send().await.expect("download");
    let status = resp.status();
    let ct = resp.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
    (status, ct, resp.bytes().await.map(|b| b.to_vec()).unwrap_or_default())
}

/// What the contracts tables hold, to prove a refused request wrote nothing.
pub async fn contracts_snapshot(app: &TestApp) -> String {
    let store = app.services().kernel.store.clone();
    let base = app.snapshot().await;
    let mine = store
        .read(|tx| {
            use keiyaku_kernel::store::Read;
            let mut out = String::new();
            for (k, c) in tx.scan(&keiyaku_contracts::model::CONTRACTS, "")? {
                out.push_str(&format!("{k}={c:?};"));
            }
            out.push_str(&format!("chain={};", tx.count(&keiyaku_contracts::model::CHAIN, "")?));
            out.push_str(&format!("blobs={};", tx.count(&keiyaku_contracts::model::BLOB_META, "")?));
            Ok::<_, keiyaku_kernel::StoreError>(out)
        })
        .await
        .expect("snapshot");
    short_digest(&format!("{base}{mine}"))
}

/// pyHanko's verdict on every signature of `file`, trusting the tenant CA.
pub fn pyhanko(file: &std::path::Path, ca: &std::path::Path) -> (bool, String) {
    let out = Command::new("pyhanko")
        .args(["sign", "validate", "--pretty-print", "--no-revocation-check", "--trust"])
        .arg(ca)
        .arg(file)
        .output()
        .expect("pyhanko");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.success(), text)
}

/// pyHanko's ETSI AdES validation at PAdES-LTA of every signature of `file` at `at`:
/// revocation data required, only what the file carries, the tenant CA the only root
/// (`tools/pyhanko_lta.py`). One JSON line per signature.
pub fn pyhanko_lta(file: &std::path::Path, ca: &std::path::Path, at: jiff::Timestamp) -> (bool, String) {
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/tools/pyhanko_lta.py");
    let out = Command::new("python3").arg(script).arg(file).arg(ca).arg(at.to_string()).output().expect("python3");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.success(), text)
}

pub fn pdfsig(file: &std::path::Path) -> String {
    let out = Command::new("pdfsig").arg(file).output().expect("pdfsig");
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

/// Red pixels (the seal) in the rendered last page.
fn red_pixels(file: &std::path::Path, page: usize) -> usize {
    let prefix = file.with_extension("");
    let status = Command::new("pdftoppm")
        .args(["-r", "50", "-f", &page.to_string(), "-l", &page.to_string(), "-singlefile"])
        .arg(file)
        .arg(&prefix)
        .status()
        .expect("pdftoppm");
    assert!(status.success());
    let ppm = std::fs::read(format!("{}.ppm", prefix.display())).expect("ppm");
    // P6\n<w> <h>\n255\n then RGB.
    let mut fields = 0;
    let mut start = 0;
    for (i, b) in ppm.iter().enumerate() {
        if b.is_ascii_whitespace() {
            fields += 1;
            if fields == 4 {
                start = i + 1;
                break;
            }
        }
    }
    ppm[start..].chunks_exact(3).filter(|p| p[0] > 150 && p[1] < 90 && p[2] < 90).count()
}

#[tokio::test(flavor = "multi_thread")]
async fn register_circulate_send_back_sign_and_validate() {
    let app = TestApp::demo().await;
    let registrant = app.demo_token("HX000002").await;
    let partner = app.demo_token("A1533601").await;
    let admin = app.demo_token("HX000001").await;
    let owner_signer = app.demo_token("HX000003").await;
    let partner_signer = app.demo_token("A1533602").await;

    let before_registrant = waiting(&app, &registrant).await;
    let before_partner = waiting(&app, &partner).await;

    let c = register(&app, &registrant, contract_body("T-0001", "2026-11-25", 1_100_000, "A15336")).await;
    let id = c["id"].as_str().expect("id").to_string();
    assert_eq!(c["status"], "circulating");
    assert_eq!(c["current_step"], 0);
    let lines: Vec<&str> =
        c["route"].as_array().expect("route").iter().map(|s| s["line"].as_str().unwrap_or("")).collect();
    assert_eq!(
        lines,
        [
            "owner_approver",
            "partner_person_in_charge",
            "partner_approver",
            "partner_signer",
            "owner_administration",
            "owner_signer"
        ]
    );
    assert_eq!(c["route"][0]["users"], json!(["HX000002"]));
    assert_eq!(c["permissions"]["approve"], true);
    let mail = app.last_mail_to("sato@hxos2.example.jp").await.expect("request mail");
    assert!(mail["body"].as_str().unwrap_or_default().contains("T-0001"), "{mail}");
    // The registrant's dashboard counts one more for the owner approver line.
    let now_registrant = waiting(&app, &registrant).await;
    assert_eq!(count(&now_registrant, "owner_approver"), count(&before_registrant, "owner_approver") + 1);

    // Step 1: the owner approver; step 2's person in charge is told and then sends it back.
    ok(&app, &registrant, &id, "approve", json!({"comment": "確認しました"})).await;
    let now_partner = waiting(&app, &partner).await;
    assert_eq!(count(&now_partner, "partner_person_in_charge"), count(&before_partner, "partner_person_in_charge") + 1);
    let (s, v) = act(&app, &partner, &id, "send-back", json!({"comment": ""})).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "a send-back needs a comment: {v}");
    let v = ok(&app, &partner, &id, "send-back", json!({"comment": "金額を確認してください"})).await;
    assert_eq!(v["status"], "sent_back");
    assert_eq!(
        count(&waiting(&app, &partner).await, "partner_person_in_charge"),
        count(&before_partner, "partner_person_in_charge")
    );
    let (s, _) = act(&app, &partner, &id, "resubmit", json!({})).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "only the registrant resubmits");
    let v = ok(&app, &registrant, &id, "resubmit", json!({"comment": "内訳を追記しました"})).await;
    assert_eq!((v["status"].as_str(), v["current_step"].as_u64()), (Some("circulating"), Some(0)));

    // Around again: owner approver, partner person in charge, partner approver.
    ok(&app, &registrant, &id, "approve", json!({})).await;
    ok(&app, &partner, &id, "approve", json!({})).await;
    let v = ok(&app, &partner, &id, "approve", json!({})).await;
    assert_eq!(v["route"][3]["line"], "partner_signer");
    assert_eq!(v["current_step"], 3);
    // The delegate may sign; someone else may not (403, nothing written).
    assert_eq!(v["permissions"]["sign"], true);
    assert_eq!(v["permissions"]["sign_for"], "A1533602");
    let snap = contracts_snapshot(&app).await;
    let (s, v) = act(&app, &admin, &id, "sign", json!({})).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{v}");
    let (s, v) = act(&app, &admin, &id, "sign", json!({"on_behalf_of": "A1533602"})).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{v}");
    assert_eq!(v["code"], "forbidden");
    let (s, _) = act(&app, &partner_signer, &id, "approve", json!({})).await;
    assert_eq!(s, StatusCode::CONFLICT, "a signing step is not approved");
    assert_eq!(contracts_snapshot(&app).await, snap, "refusals wrote nothing");

    // Authority at the moment of signing: while the principal is suspended, nobody signs
    // with their certificate (403 principal_suspended, nothing written).
    let (s, v) = app
        .call(Method::PATCH, &format!("{T}/users/A1533602"), Some(&partner), Some(json!({"status": "suspended"})))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let snap = contracts_snapshot(&app).await;
    let (s, v) = act(&app, &partner, &id, "sign", json!({})).await;
    assert_eq!((s, v["code"].as_str()), (StatusCode::FORBIDDEN, Some("principal_suspended")), "{v}");
    assert_eq!(contracts_snapshot(&app).await, snap, "a refused signature wrote something");
    let (s, v) = app
        .call(Method::PATCH, &format!("{T}/users/A1533602"), Some(&partner), Some(json!({"status": "active"})))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let partner_signer = app.demo_token("A1533602").await;

    // The partner signer's delegate signs for them, after a step-up: without a code 403
    // step_up_required, a wrong code 403 code_invalid (nothing signed), then the mailed one.
    let (s, v) = act(&app, &partner, &id, "sign", json!({})).await;
    assert_eq!((s, v["code"].as_str()), (StatusCode::FORBIDDEN, Some("step_up_required")), "{v}");
    let code = app.signing_code(&partner, &id).await;
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let (s, v) = act(&app, &partner, &id, "sign", json!({"code": wrong})).await;
    assert_eq!((s, v["code"].as_str()), (StatusCode::FORBIDDEN, Some("code_invalid")), "{v}");
    let v = ok(&app, &partner, &id, "sign", json!({"code": code})).await;
    assert_eq!(v["route"][3]["done_by"], "A1533601");
    assert_eq!(v["route"][3]["on_behalf_of"], "A1533602");
    let version = &v["documents"][0]["versions"][1];
    assert_eq!((version["signer"].as_str(), version["by"].as_str()), (Some("A1533602"), Some("A1533601")));
    // The signer themself sees the contract too (a party of it).
    let (s, _) = app.get(&format!("{T}/contracts/{id}"), Some(&partner_signer)).await;
    assert_eq!(s, StatusCode::OK);

    // 管理部, then the owner signer: completed.
    ok(&app, &admin, &id, "approve", json!({})).await;
    // A signer whose role was taken away cannot sign their step (403 not_signer).
    let roles = |r: Value| json!({"roles": r});
    let (s, v) = app.call(Method::PATCH, &format!("{T}/users/HX000003"), Some(&admin), Some(roles(json!([])))).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let snap = contracts_snapshot(&app).await;
    let (s, v) = act(&app, &owner_signer, &id, "sign", json!({})).await;
    assert_eq!((s, v["code"].as_str()), (StatusCode::FORBIDDEN, Some("not_signer")), "{v}");
    assert_eq!(contracts_snapshot(&app).await, snap, "a refused signature wrote something");
    let (s, v) =
        app.call(Method::PATCH, &format!("{T}/users/HX000003"), Some(&admin), Some(roles(json!(["signer"])))).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    // One's own signature takes the certificate PIN: none is a field error, a wrong one 403.
    let (s, v) = act(&app, &owner_signer, &id, "sign", json!({})).await;
    assert_eq!((s, v["errors"][0]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("pin")), "{v}");
    let (s, v) = act(&app, &owner_signer, &id, "sign", json!({"pin": "999999999999"})).await;
    assert_eq!((s, v["code"].as_str()), (StatusCode::FORBIDDEN, Some("pin_invalid")), "{v}");
    let v = ok(&app, &owner_signer, &id, "sign", json!({"pin": DEMO_PIN})).await;
    assert_eq!(v["status"], "completed", "{v}");
    assert!(v["completed_at"].is_string());
    let done_mail = app.last_mail_to("horii@hxos2.example.jp").await.expect("completion mail");
    assert!(done_mail["subject"].as_str().unwrap_or_default().contains("締結"), "{done_mail}");

    // The signed PDF: two signatures, validated by outside tools.
    let (s, ct, signed) = download(&app, &registrant, &format!("{T}/contracts/{id}/documents/D1")).await;
    assert_eq!((s, ct.as_str()), (StatusCode::OK, "application/pdf"));
    assert!(signed.starts_with(b"%PDF"));
    let original = pdf("T-0001");
    assert!(signed.starts_with(&original), "incremental updates keep the original bytes");
    let ours = keiyaku_pades::verify(&signed).expect("verify");
    // Two signatures, then (at completion) a document time-stamp over the whole file.
    assert_eq!(ours.len(), 3, "{ours:?}");
    assert!(ours.iter().all(|s| s.is_intact()), "{ours:?}");
    assert!(!ours[0].covers_whole_file && !ours[1].covers_whole_file && ours[2].covers_whole_file);
    assert!(!ours[0].is_document_timestamp() && !ours[1].is_document_timestamp() && ours[2].is_document_timestamp());
    // The page sizes were read once, when the upload was checked, and every signed version
    // carries them: signing places the stamp without parsing the file again.
    let key = keiyaku_contracts::model::key("HXOS2", &id);
    let stored = app
        .services()
        .kernel
        .store
        .read(move |tx| {
            use keiyaku_kernel::store::Read;
            tx.get(&keiyaku_contracts::model::CONTRACTS, &key)
        })
        .await
        .expect("read")
        .expect("stored contract");
    let sizes = keiyaku_pades::page_count_and_sizes(&original).expect("pages");
    let expected = keiyaku_contracts::model::Version::pages_of(&sizes);
    assert!(!expected.is_empty() && expected[0][0] > 50_000, "{expected:?}");
    for v in &stored.documents[0].versions {
        assert_eq!(v.pages, expected, "version {}", v.n);
    }

    let dir = tempdir("signed");
    let file = dir.join("signed.pdf");
    std::fs::write(&file, &signed).expect("write");
    let (s, _, ca) = download(&app, &registrant, &format!("{T}/ca/certificate")).await;
    assert_eq!(s, StatusCode::OK);
    let ca_file = dir.join("ca.pem");
    std::fs::write(&ca_file, &ca).expect("ca");
    let mut tampered = signed.clone();
    let at = original.len() / 2;
    tampered[at] ^= 0x01;
    let bad = dir.join("tampered.pdf");
    std::fs::write(&bad, &tampered).expect("write");
    assert!(keiyaku_pades::verify(&tampered).expect("verify").iter().any(|s| !s.is_intact()));
    // registerContract refuses a signed PDF whose signature is broken, writing nothing; the
    // intact signed file is accepted.
    let mut body = contract_body("T-TAMPERED", "2026-11-25", 10_000, "A15336");
    body["documents"][0]["content_base64"] = json!(b64(&tampered));
    let snap = contracts_snapshot(&app).await;
    let (s, refused) = app.post(&format!("{T}/contracts"), Some(&registrant), body).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");
    assert!(refused.to_string().contains("signed_pdf_modified"), "{refused}");
    assert_eq!(contracts_snapshot(&app).await, snap, "a refused registration wrote something");
    let mut body = contract_body("T-RESIGN", "2026-11-25", 10_000, "A15336");
    body["documents"][0]["content_base64"] = json!(b64(&signed));
    let (s, accepted) = app.post(&format!("{T}/contracts"), Some(&registrant), body).await;
    assert_eq!(s, StatusCode::CREATED, "an intact signed PDF registers: {accepted}");

    if tool("pdfsig") {
        let out = pdfsig(&file);
        assert_eq!(out.matches("Signature is Valid.").count(), 2, "{out}");
        let out = pdfsig(&bad);
        assert!(!out.contains("Signature is Valid."), "pdfsig must see the change: {out}");
    }
    if tool("pyhanko") {
        let (success, out) = pyhanko(&file, &ca_file);
        assert!(success, "{out}");
        assert_eq!(out.matches("The signature is judged VALID.").count(), 2, "{out}");
        assert_eq!(out.matches("The timestamp token is cryptographically sound.").count(), 2, "{out}");
        assert_eq!(out.matches("The TSA certificate is trusted.").count(), 2, "{out}");
        let (success, out) = pyhanko(&bad, &ca_file);
        assert!(!success, "pyHanko must see the change: {out}");
        assert!(!out.contains("The signature is judged VALID."), "{out}");
        // PAdES-B-LTA: the DSS carries the chain and OCSP responses, the document
        // time-stamp covers it; validated with revocation required and no network.
        let (success, out) = pyhanko_lta(&file, &ca_file, keiyaku_kernel::Clock::now(app.clock.as_ref()));
        assert!(success, "{out}");
        assert_eq!(out.matches("\"passed\": true").count(), 2, "{out}");
        // Without the validation data (the revisions before the first DSS) it fails.
        let [_, _, at, len] = ours[0].byte_range;
        let bt = dir.join("b-t.pdf");
        std::fs::write(&bt, &signed[..at + len]).expect("write");
        let (success, out) = pyhanko_lta(&bt, &ca_file, keiyaku_kernel::Clock::now(app.clock.as_ref()));
        assert!(!success && out.contains("\"passed\": false"), "a B-T file must not pass LTA validation: {out}");
    }
    if tool("pdftoppm") {
        let pages = keiyaku_pades::page_count_and_sizes(&signed).expect("pages").len();
        let red = red_pixels(&file, pages);
        assert!(red > 50, "the seals are visible ({red} red pixels)");
        let plain = dir.join("plain.pdf");
        std::fs::write(&plain, &original).expect("write");
        assert!(red_pixels(&plain, pages) < red / 4, "the original has no seal");
    }

    // The completion report names the parties, the delegate and the hashes.
    let (s, ct, report) = download(&app, &registrant, &format!("{T}/contracts/{id}/report")).await;
    assert_eq!((s, ct.as_str()), (StatusCode::OK, "application/pdf"));
    if tool("pdftotext") {
        let f = dir.join("report.pdf");
        std::fs::write(&f, &report).expect("write");
        let out = Command::new("pdftotext").arg("-layout").arg(&f).arg("-").output().expect("pdftotext");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("合意締結証明書") && text.contains("T-0001"), "{text}");
        assert!(text.contains("代理") && text.contains("差戻し"), "{text}");
        let sha = v["documents"][0]["versions"][2]["sha256"].as_str().expect("sha");
        assert!(text.contains(sha), "{text}");
    }

    // The hash chain holds, and `verify` would see an altered link.
    let problems = app.services().kernel.store.read(keiyaku_contracts::storage::verify_chain).await.expect("verify");
    assert!(problems.is_empty(), "{problems:?}");
    let _ = std::fs::remove_dir_all(&dir);
    app.stop().await;
}

/// Registers a contract whose route is only the owner signer (HX000003).
async fn signer_only(app: &TestApp, token: &str, number: &str) -> String {
    let mut body = contract_body(number, "2026-11-25", 10_000, "A15336");
    body["route"] = json!([{"party": "owner", "role": "signer"}]);
    let v = register(app, token, body).await;
    v["id"].as_str().expect("id").to_string()
}

#[tokio::test]
async fn certificates_that_are_not_usable_cannot_sign() {
    let app = TestApp::demo().await;
    let registrant = app.demo_token("HX000002").await;
    let signer = app.demo_token("HX000003").await;
    let id = signer_only(&app, &registrant, "T-CERT-1").await;

    // Not yet usable: the first day moved to tomorrow.
    let store = app.services().kernel.store.clone();
    let set_usable_from = |day: &'static str| {
        let store = store.clone();
        async move {
            store
                .write(move |tx| {
                    use keiyaku_kernel::store::Read;
                    let serial = tx.get(&keiyaku_certs::model::USER_CERTS, "HXOS2/HX000003")?.expect("serial");
                    let key = format!("HXOS2/{serial}");
                    let mut cert = tx.get(&keiyaku_certs::model::CERTIFICATES, &key)?.expect("cert");
                    let old = cert.usable_from;
                    cert.usable_from = day.parse().expect("day");
                    tx.put(&keiyaku_certs::model::CERTIFICATES, &key, &cert)?;
                    Ok::<_, keiyaku_kernel::StoreError>(old)
                })
                .await
                .expect("write")
        }
    };
    let original = set_usable_from("2026-11-26").await;
    let snap = contracts_snapshot(&app).await;
    let (s, v) = act(&app, &signer, &id, "sign", json!({"pin": DEMO_PIN})).await;
    assert_eq!((s, v["code"].as_str()), (StatusCode::CONFLICT, Some("certificate_not_usable")), "{v}");
    assert_eq!(v["title"], "証明書はまだ利用できません。");
    assert!(v["detail"].as_str().unwrap_or_default().contains("2026/11/26"), "{v}");
    assert_eq!(contracts_snapshot(&app).await, snap, "nothing written");
    let original = original.to_string();
    let restore: &'static str = Box::leak(original.into_boxed_str());
    set_usable_from(restore).await;

    // Expired: ten years on (sessions expire too: log in again).
    app.clock.advance(jiff::SignedDuration::from_hours(24 * 366 * 10));
    let signer_later = app.demo_token("HX000003").await;
    let (s, v) = act(&app, &signer_later, &id, "sign", json!({"pin": DEMO_PIN})).await;
    assert_eq!((s, v["code"].as_str()), (StatusCode::CONFLICT, Some("certificate_not_usable")), "{v}");
    assert_eq!(v["title"], "証明書の有効期限が切れています。");
    app.clock.advance(jiff::SignedDuration::from_hours(-24 * 366 * 10));

    // Revoked by the group administrator: refused, nothing written.
    let admin = app.demo_token("HX000001").await;
    let signer = app.demo_token("HX000003").await;
    let (s, v) = app
        .post(&format!("{T}/users/HX000003/certificate/revoke"), Some(&admin), json!({"reason": "key_compromise"}))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let snap = contracts_snapshot(&app).await;
    let (s, v) = act(&app, &signer, &id, "sign", json!({"pin": DEMO_PIN})).await;
    assert_eq!((s, v["code"].as_str()), (StatusCode::CONFLICT, Some("certificate_not_usable")), "{v}");
    assert_eq!(contracts_snapshot(&app).await, snap);
    let (s, v) = app.get(&format!("{T}/contracts/{id}"), Some(&signer)).await;
    assert_eq!((s, v["status"].as_str()), (StatusCode::OK, Some("circulating")));
    app.stop().await;
}

fn numbers(v: &Value) -> Vec<String> {
    let mut n: Vec<String> =
        v["items"].as_array().expect("items").iter().map(|c| c["number"].as_str().unwrap_or("").to_string()).collect();
    n.sort();
    n
}

/// Partner B with one user who holds every partner role; returns the user's token.
async fn partner_b(app: &TestApp) -> String {
    let admin = app.demo_token("HX000001").await;
    let (s, v) = app
        .post(
            &format!("{T}/companies"),
            Some(&admin),
            json!({"name": "ビーテック建設株式会社", "name_kana": "ビーテックケンセツ", "vendor_code": "B22001"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let group = v["root_group"]["id"].as_str().expect("group").to_string();
    let (s, v) = app
        .post(
            &format!("{T}/groups/{group}/users"),
            Some(&admin),
            json!({"user_id": "B2200101", "name": "林 次郎", "email": "hayashi@b22001.example.jp",
                   "roles": ["group_admin", "person_in_charge", "approver", "signer"]}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let mail = app.last_mail_to("hayashi@b22001.example.jp").await.expect("mail");
    let pw = initial_password(mail["body"].as_str().unwrap_or_default());
    app.login_ready("HXOS2", "B2200101", &pw, "NewPass-b220").await
}

#[tokio::test]
async fn search_by_each_criterion_and_combinations_and_partners_see_only_their_own() {
    let app = TestApp::demo().await;
    let registrant = app.demo_token("HX000002").await;
    let admin = app.demo_token("HX000001").await;
    let partner_a = app.demo_token("A1533601").await;
    let signer_a = app.demo_token("A1533602").await;
    let partner_b = partner_b(&app).await;

    let mut ids = std::collections::BTreeMap::new();
    for (number, date, amount, company) in [
        ("S1", "2025-04-01", 100_000, "A15336"),
        ("S2", "2025-04-30", 500_000, "A15336"),
        ("S3", "2025-05-01", 1_000_000, "A15336"),
        ("S4", "2025-04-15", 500_000, "B22001"),
        ("S5", "2025-06-30", 2_000_000, "B22001"),
    ] {
        let v = register(&app, &registrant, contract_body(number, date, amount, company)).await;
        ids.insert(number, v["id"].as_str().expect("id").to_string());
    }
    let search = |token: String, query: &'static str| {
        let app = &app;
        async move {
            let (s, v) = app.get(&format!("{T}/contracts?{query}&per_page=200"), Some(&token)).await;
            assert_eq!(s, StatusCode::OK, "{query}: {v}");
            numbers(&v)
        }
    };
    let year = "date_from=2025-01-01&date_to=2025-12-31";
    let cases: Vec<(&'static str, Vec<&str>)> = vec![
        ("date_from=2025-04-01&date_to=2025-04-30", vec!["S1", "S2", "S4"]),
        ("date_from=2025-04-02&date_to=2025-04-29", vec!["S4"]),
        ("date_from=2025-04-30&date_to=2025-04-30", vec!["S2"]),
        ("date_from=2025/05/01&date_to=2025/06/30", vec!["S3", "S5"]),
        ("date_to=2025-04-01", vec!["S1"]),
        ("date_from=2025-01-01&date_to=2025-12-31&amount_min=500000&amount_max=500000", vec!["S2", "S4"]),
        ("date_from=2025-01-01&date_to=2025-12-31&amount_min=1000000", vec!["S3", "S5"]),
        ("date_from=2025-01-01&date_to=2025-12-31&amount_max=100000", vec!["S1"]),
        ("date_from=2025-01-01&date_to=2025-12-31&counterparty=B22001", vec!["S4", "S5"]),
        ("date_from=2025-01-01&date_to=2025-12-31&counterparty=A15336&amount_min=500000", vec!["S2", "S3"]),
        ("date_from=2025-04-01&date_to=2025-04-30&counterparty=A15336&amount_max=100000", vec!["S1"]),
        ("amount_min=499999&amount_max=500001&counterparty=B22001", vec!["S4"]),
        ("date_from=2025-01-01&date_to=2025-12-31&counterparty=Z99999", vec![]),
        ("date_from=2025-01-01&date_to=2025-12-31&number=S3", vec!["S3"]),
        ("date_from=2025-01-01&date_to=2025-12-31&title=S5", vec!["S5"]),
        ("date_from=2025-01-01&date_to=2025-12-31&step=owner_approver", vec!["S1", "S2", "S3", "S4", "S5"]),
        ("date_from=2025-01-01&date_to=2025-12-31&status=completed", vec![]),
        (
            "date_from=2025-01-01&date_to=2025-12-31&registrant=HX000002&doc_type=purchase_order",
            vec!["S1", "S2", "S3", "S4", "S5"],
        ),
    ];
    for (query, want) in &cases {
        assert_eq!(search(admin.clone(), query).await, *want, "{query}");
        // Partner A sees the same minus B's contracts; partner B the same minus A's.
        let a: Vec<&str> = want.iter().copied().filter(|n| ["S1", "S2", "S3"].contains(n)).collect();
        let b: Vec<&str> = want.iter().copied().filter(|n| ["S4", "S5"].contains(n)).collect();
        assert_eq!(search(partner_a.clone(), query).await, a, "partner A: {query}");
        assert_eq!(search(signer_a.clone(), query).await, a, "partner A signer: {query}");
        assert_eq!(search(partner_b.clone(), query).await, b, "partner B: {query}");
    }

    // Sorting and paging.
    let (_, v) = app.get(&format!("{T}/contracts?{year}&sort=amount&order=asc&per_page=2&page=2"), Some(&admin)).await;
    assert_eq!(v["total"], 5);
    let order: Vec<&str> = v["items"].as_array().expect("items").iter().filter_map(|c| c["number"].as_str()).collect();
    assert_eq!(order, ["S4", "S3"], "amount ascending, ties by registration");
    let (_, v) = app.get(&format!("{T}/contracts?{year}&sort=transaction_date"), Some(&admin)).await;
    let order: Vec<&str> = v["items"].as_array().expect("items").iter().filter_map(|c| c["number"].as_str()).collect();
    assert_eq!(order, ["S5", "S3", "S2", "S4", "S1"], "newest transaction first by default");

    // Bad criteria: 422 naming the field.
    for (query, field) in [
        ("date_from=2025-13-01", "date_from"),
        ("date_from=2025-05-01&date_to=2025-04-01", "date_to"),
        ("amount_min=-1", "amount_min"),
        ("amount_min=10&amount_max=5", "amount_max"),
        ("sort=price", "sort"),
        ("status=signed", "status"),
        ("per_page=0", "per_page"),
    ] {
        let (s, v) = app.get(&format!("{T}/contracts?{query}"), Some(&admin)).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{query}: {v}");
        assert_eq!(v["errors"][0]["field"], field, "{query}: {v}");
    }

    // 文書検索 and CSV respect visibility too.
    let (_, v) = app.get(&format!("{T}/documents?{year}&title=注文書"), Some(&partner_b)).await;
    let docs: Vec<&str> =
        v["items"].as_array().expect("items").iter().filter_map(|r| r["contract"]["number"].as_str()).collect();
    assert_eq!(docs, ["S5", "S4"]);
    let resp = app
        .client
        .get(app.url(&format!("{T}/contracts/csv?{year}")))
        .bearer_auth(&partner_a)
        .send()
        .await
        .expect("csv");
    assert_eq!(resp.status(), StatusCode::OK);
    let csv = resp.text().await.expect("text");
    assert!(csv.starts_with('\u{feff}') && csv.contains("契約番号,件名"), "{csv}");
    assert_eq!(csv.lines().count(), 4, "header and S1-S3: {csv}");
    assert!(!csv.contains("S4") && !csv.contains("ビーテック"), "{csv}");

    // Every per-contract operation on the other partner's contracts: 404, nothing written.
    let snap = contracts_snapshot(&app).await;
    for (token, others) in [(&partner_a, ["S4", "S5"]), (&signer_a, ["S4", "S5"]), (&partner_b, ["S1", "S3"])] {
        for n in others {
            let id = &ids[n];
            for path in [
                format!("{T}/contracts/{id}"),
                format!("{T}/contracts/{id}/documents/D1"),
                format!("{T}/contracts/{id}/report"),
            ] {
                let (s, _, _) = download(&app, token, &path).await;
                assert_eq!(s, StatusCode::NOT_FOUND, "{path}");
            }
            for action in ["approve", "send-back", "sign", "resubmit", "cancel"] {
                let (s, v) = act(&app, token, id, action, json!({"comment": "x"})).await;
                assert_eq!(s, StatusCode::NOT_FOUND, "{action} {n}: {v}");
            }
        }
    }
    assert_eq!(contracts_snapshot(&app).await, snap, "refusals wrote nothing");
    // Another tenant's user never sees these either.
    let other = app.create_tenant("OTHR1", "OT000001", "ot@example.jp").await;
    let other = app.login_ready("OTHR1", "OT000001", &other, "NewPass-oth1").await;
    let (s, v) = app.get(&format!("/api/v1/t/OTHR1/contracts/{}", ids["S1"]), Some(&other)).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{v}");
    let (s, _) = app.get(&format!("{T}/contracts/{}", ids["S1"]), Some(&other)).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "a token is for its own tenant");
    app.stop().await;
}

/// Every user's 確認待ち文書 counts equal their waiting list grouped by step (demo data).
#[tokio::test]
async fn dashboard_counts_match_each_users_waiting_steps() {
    let app = TestApp::demo().await;
    for user in ["HX000001", "HX000002", "HX000003", "A1533601", "A1533602"] {
        let token = app.demo_token(user).await;
        let (s, list) = app.get(&format!("{T}/contracts/waiting"), Some(&token)).await;
        assert_eq!(s, StatusCode::OK, "{list}");
        let mut expected: std::collections::BTreeMap<String, u64> = std::collections::BTreeMap::new();
        for c in list["items"].as_array().expect("items") {
            *expected.entry(c["step"].as_str().expect("step").to_string()).or_default() += 1;
        }
        assert!(!expected.is_empty(), "the demo has something waiting for {user}");
        let got: std::collections::BTreeMap<String, u64> =
            waiting(&app, &token).await.into_iter().filter(|(_, n)| *n > 0).collect();
        assert_eq!(got, expected, "{user}");
    }
    app.stop().await;
}

/// `keiyaku verify` reports an altered link of the contract audit chain.
#[tokio::test(flavor = "multi_thread")]
async fn verify_detects_an_altered_contract_audit_record() {
    let app = TestApp::demo().await;
    let dir = app.dir.clone();
    app.stop().await;
    let verify = || keiyaku_command().args(["verify", "--data"]).arg(&dir).current_dir(&dir).output().expect("verify");
    let out = verify();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    {
        let modules = keiyaku::app::modules();
        let refs: Vec<&dyn keiyaku_kernel::Module> = modules.iter().map(|m| m.as_ref()).collect();
        let store = keiyaku_kernel::Store::open(
            &dir.join(keiyaku::backup::DB_FILE),
            std::sync::Arc::new(keiyaku_kernel::SystemClock),
            &refs,
        )
        .expect("open");
        store
            .write_blocking(|tx| {
                use keiyaku_kernel::store::Read;
                let chain = keiyaku_contracts::model::CHAIN;
                let (k, mut link) = tx.scan(&chain, "HXOS2/")?.into_iter().nth(2).expect("a third link");
                link.actor = "someone-else".into();
                tx.put(&chain, &k, &link)
            })
            .expect("tamper");
    }
    let out = verify();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains("contract chain HXOS2: link 3 was altered"), "{err}");
}

/// Bad registrations: a clear 4xx naming the problem, and nothing written.
#[tokio::test]
async fn bad_registrations_are_refused_and_change_nothing() {
    let app = TestApp::demo().await;
    let registrant = app.demo_token("HX000002").await;
    let partner = app.demo_token("A1533601").await;
    let signer = app.demo_token("HX000003").await;
    let snap = contracts_snapshot(&app).await;
    let good = contract_body("BAD-1", "2026-11-25", 1000, "A15336");
    let with = |f: &dyn Fn(&mut Value)| {
        let mut b = good.clone();
        f(&mut b);
        b
    };
    let cases: Vec<(Value, StatusCode, &str)> = vec![
        (with(&|b| b["number"] = json!("")), StatusCode::UNPROCESSABLE_ENTITY, "number"),
        (with(&|b| b["number"] = json!("HX-2026-0101")), StatusCode::UNPROCESSABLE_ENTITY, "number"),
        (with(&|b| b["title"] = json!("x".repeat(201))), StatusCode::UNPROCESSABLE_ENTITY, "title"),
        (with(&|b| b["doc_type"] = json!("invoice")), StatusCode::UNPROCESSABLE_ENTITY, "doc_type"),
        (with(&|b| b["counterparty"] = json!("Z99999")), StatusCode::UNPROCESSABLE_ENTITY, "counterparty"),
        (with(&|b| b["counterparty"] = json!("")), StatusCode::UNPROCESSABLE_ENTITY, "counterparty"),
        (with(&|b| b["transaction_date"] = json!("2026-02-30")), StatusCode::UNPROCESSABLE_ENTITY, "transaction_date"),
        (with(&|b| b["amount"] = json!(-5)), StatusCode::UNPROCESSABLE_ENTITY, "amount"),
        (with(&|b| b["amount"] = Value::Null), StatusCode::UNPROCESSABLE_ENTITY, "amount"),
        (with(&|b| b["tax"] = json!("maybe")), StatusCode::UNPROCESSABLE_ENTITY, "tax"),
        (with(&|b| b["documents"] = json!([])), StatusCode::UNPROCESSABLE_ENTITY, "documents"),
        (
            with(&|b| b["documents"][0]["content_base64"] = json!("not base64!")),
            StatusCode::UNPROCESSABLE_ENTITY,
            "documents[0].content_base64",
        ),
        (
            with(&|b| b["documents"][0]["content_base64"] = json!(b64(b"%PDF-1.7 but not really a PDF"))),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "",
        ),
        (
            with(&|b| b["route"] = json!([{"party": "owner", "role": "signer", "users": ["HX000002"]}])),
            StatusCode::UNPROCESSABLE_ENTITY,
            "route[0].users",
        ),
        (
            with(&|b| b["route"] = json!([{"party": "owner", "role": "approver"}])),
            StatusCode::UNPROCESSABLE_ENTITY,
            "route",
        ),
        (
            with(&|b| b["route"] = json!([{"party": "nobody", "role": "signer"}])),
            StatusCode::UNPROCESSABLE_ENTITY,
            "route[0].party",
        ),
    ];
    for (body, status, field) in cases {
        let (s, v) = app.post(&format!("{T}/contracts"), Some(&registrant), body).await;
        assert_eq!(s, status, "{field}: {v}");
        assert!(v["title"].as_str().is_some_and(|t| !t.is_empty()), "{v}");
        if !field.is_empty() {
            assert_eq!(v["errors"][0]["field"], field, "{v}");
        }
    }
    // Partners and signers do not register.
    for token in [&partner, &signer] {
        let (s, v) = app.post(&format!("{T}/contracts"), Some(token), good.clone()).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{v}");
    }
    assert_eq!(contracts_snapshot(&app).await, snap, "nothing written");
    // The English messages follow Accept-Language.
    let resp = app
        .client
        .post(app.url(&format!("{T}/contracts")))
        .bearer_auth(&registrant)
        .header("accept-language", "en")
        .json(&with(&|b| b["amount"] = json!(-1)))
        .send()
        .await
        .expect("send");
    let v: Value = resp.json().await.expect("json");
    assert!(v["errors"][0]["message"].as_str().unwrap_or_default().contains("trillion"), "{v}");
    app.stop().await;
}

/// The tenant's timestamp authority answers RFC 3161 requests that openssl makes and checks.
#[tokio::test(flavor = "multi_thread")]
async fn the_tenant_timestamp_authority_answers_openssl() {
    if !tool("openssl") {
        return;
    }
    let app = TestApp::demo().await;
    let token = app.demo_token("HX000002").await;
    let dir = tempdir("tsa");
    std::fs::write(dir.join("data.txt"), "注文書の内容").expect("data");
    let status = Command::new("openssl")
        .args(["ts", "-query", "-sha256", "-cert", "-data"])
        .arg(dir.join("data.txt"))
        .arg("-out")
        .arg(dir.join("q.tsq"))
        .status()
        .expect("openssl");
    assert!(status.success());
    let query = std::fs::read(dir.join("q.tsq")).expect("query");
    let resp = app
        .client
        .post(app.url(&format!("{T}/tsa")))
        .bearer_auth(&token)
        .header("content-type", "application/timestamp-query")
        .body(query)
        .send()
        .await
        .expect("tsa");
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers()["content-type"], "application/timestamp-reply");
    std::fs::write(dir.join("r.tsr"), resp.bytes().await.expect("body")).expect("reply");
    let (_, _, ca) = download(&app, &token, &format!("{T}/ca/certificate")).await;
    std::fs::write(dir.join("ca.pem"), ca).expect("ca");
    let out = Command::new("openssl")
        .args(["ts", "-verify", "-queryfile"])
        .arg(dir.join("q.tsq"))
        .arg("-in")
        .arg(dir.join("r.tsr"))
        .arg("-CAfile")
        .arg(dir.join("ca.pem"))
        .output()
        .expect("verify");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success() && text.contains("Verification: OK"), "{text}");
    // Garbage gets a rejection, never a 5xx; no token, no stamp.
    let resp = app
        .client
        .post(app.url(&format!("{T}/tsa")))
        .bearer_auth(&token)
        .header("content-type", "application/timestamp-query")
        .body(vec![0x30, 0x03, 0x02, 0x01])
        .send()
        .await
        .expect("tsa");
    assert_eq!(resp.status(), StatusCode::OK);
    let resp = app
        .client
        .post(app.url(&format!("{T}/tsa")))
        .header("content-type", "application/timestamp-query")
        .body(vec![0x30, 0x00])
        .send()
        .await
        .expect("tsa");
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    let _ = std::fs::remove_dir_all(&dir);
    app.stop().await;
}

/// 訂正削除履歴: corrections keep every old and new value; deletion only after retention.
#[tokio::test]
async fn corrections_are_recorded_and_deletion_waits_for_the_retention_period() {
    let app = TestApp::demo().await;
    let registrant = app.demo_token("HX000002").await;
    let admin = app.demo_token("HX000001").await;
    let c = register(&app, &registrant, contract_body("R-0001", "2026-11-25", 500_000, "A15336")).await;
    let id = c["id"].as_str().expect("id").to_string();
    let patch = |token: String, body: Value| {
        let app = &app;
        let id = id.clone();
        async move {
            let resp = app
                .client
                .patch(app.url(&format!("{T}/contracts/{id}")))
                .bearer_auth(token)
                .json(&body)
                .send()
                .await
                .expect("patch");
            let s = resp.status();
            (s, resp.json::<Value>().await.unwrap_or(Value::Null))
        }
    };
    // The registrant corrects only while the contract is sent back; a reason is required.
    let (s, v) = patch(registrant.clone(), json!({"amount": 550_000, "reason": "税込額の誤り"})).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{v}");
    let (s, v) = patch(admin.clone(), json!({"amount": 550_000})).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(v["errors"][0]["field"], "reason");
    let (s, v) =
        patch(admin.clone(), json!({"amount": 550_000, "title": "R-0001 訂正後", "reason": "税込額の誤り"})).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!((v["amount"].as_i64(), v["title"].as_str()), (Some(550_000), Some("R-0001 訂正後")));
    let event = v["history"].as_array().expect("history").last().cloned().expect("event");
    assert_eq!(event["action"], "correct");
    let comment = event["comment"].as_str().unwrap_or_default();
    assert!(comment.contains("税込額の誤り") && comment.contains("500000") && comment.contains("550000"), "{comment}");
    let (_, found) =
        app.get(&format!("{T}/contracts?number=R-0001&amount_min=550000&amount_max=550000"), Some(&admin)).await;
    assert_eq!(found["total"], 1, "the index follows the correction");
    let (_, found) = app.get(&format!("{T}/contracts?number=R-0001&amount_max=500000"), Some(&admin)).await;
    assert_eq!(found["total"], 0);

    // No deletion during the retention period (ten years from the transaction date).
    let delete = |token: String| {
        let app = &app;
        let id = id.clone();
        async move {
            let resp = app
                .client
                .delete(app.url(&format!("{T}/contracts/{id}")))
                .bearer_auth(token)
                .json(&json!({"reason": "保存期間満了"}))
                .send()
                .await
                .expect("delete");
            let s = resp.status();
            (s, resp.json::<Value>().await.unwrap_or(Value::Null))
        }
    };
    let snap = contracts_snapshot(&app).await;
    let (s, v) = delete(admin.clone()).await;
    assert_eq!((s, v["code"].as_str()), (StatusCode::CONFLICT, Some("conflict")), "{v}");
    assert_eq!(v["title"], "保存期間中の契約は削除できません。");
    let (s, _) = delete(registrant.clone()).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert_eq!(contracts_snapshot(&app).await, snap);

    // After it: deleted, the record and its history stay, the content is gone.
    app.clock.advance(jiff::SignedDuration::from_hours(24 * 366 * 10 + 24 * 5));
    let admin = app.demo_token("HX000001").await;
    let (s, v) = delete(admin.clone()).await;
    assert_eq!((s, v["status"].as_str()), (StatusCode::OK, Some("deleted")), "{v}");
    assert!(v["documents"][0]["versions"][0]["deleted_at"].is_string());
    let (s, _, _) = download(&app, &admin, &format!("{T}/contracts/{id}/documents/D1")).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _, _) = download(&app, &admin, &format!("{T}/contracts/{id}/report")).await;
    assert_eq!(s, StatusCode::OK, "the report of a deleted contract remains");
    let (s, v) = delete(admin.clone()).await;
    assert_eq!(s, StatusCode::CONFLICT, "{v}");
    let problems = app.services().kernel.store.read(keiyaku_contracts::storage::verify_chain).await.expect("verify");
    assert!(problems.is_empty(), "{problems:?}");
    let actions = app
        .services()
        .kernel
        .store
        .read(|tx| {
            use keiyaku_kernel::store::Read;
            Ok::<_, keiyaku_kernel::StoreError>(
                tx.scan(&keiyaku_contracts::model::CHAIN, "HXOS2/")?
                    .into_iter()
                    .map(|(_, e)| e.action)
                    .collect::<Vec<_>>(),
            )
        })
        .await
        .expect("chain");
    assert!(actions.contains(&"contract.correct".to_string()) && actions.contains(&"contract.delete".to_string()));
    app.stop().await;
}

/// The names `searchContracts` documents for a query parameter.
fn documented(doc: &Value, param: &str) -> Vec<String> {
    let params =
        doc["paths"]["/api/v1/t/{tenant}/contracts"]["get"]["parameters"].as_array().cloned().unwrap_or_default();
    let p = params.iter().find(|p| p["name"] == param).cloned().unwrap_or(Value::Null);
    p["schema"]["enum"].as_array().into_iter().flatten().filter_map(|v| v.as_str().map(str::to_string)).collect()
}

/// `sort`, `order`, `status` and `step` take exactly the names the OpenAPI document lists (from the
/// domain's enums): each is answered, and any other name is a 422 problem+json naming the
/// field with the stable code `unknown_value`, in the three operations that share the
/// criteria, with nothing written.
#[tokio::test]
async fn search_takes_the_documented_names_and_refuses_others() {
    let app = TestApp::demo().await;
    let registrant = app.demo_token("HX000002").await;
    register(&app, &registrant, contract_body("E1", "2025-04-01", 100_000, "A15336")).await;
    let (s, doc) = app.get("/api/openapi.json", None).await;
    assert_eq!(s, StatusCode::OK);
    let year = "date_from=2025-01-01&date_to=2025-12-31";
    for (param, expected) in [
        ("sort", &["transaction_date", "amount", "number", "created_at"][..]),
        ("order", &["desc", "asc"][..]),
        ("status", &["circulating", "sent_back", "completed", "cancelled", "deleted"][..]),
        (
            "step",
            &[
                "owner_person_in_charge",
                "owner_approver",
                "owner_signer",
                "owner_group_admin",
                "owner_administration",
                "partner_person_in_charge",
                "partner_approver",
                "partner_signer",
                "partner_group_admin",
                "partner_administration",
            ][..],
        ),
    ] {
        let names = documented(&doc, param);
        assert_eq!(names, expected, "{param}");
        for name in &names {
            let (s, v) = app.get(&format!("{T}/contracts?{year}&{param}={name}"), Some(&registrant)).await;
            assert_eq!(s, StatusCode::OK, "{param}={name}: {v}");
        }
    }
    let (_, v) = app.get(&format!("{T}/contracts?{year}&status=circulating"), Some(&registrant)).await;
    assert_eq!(numbers(&v), ["E1"]);

    let snap = contracts_snapshot(&app).await;
    for path in ["contracts", "contracts/csv", "documents"] {
        for (query, field) in [
            ("sort=price", "sort"),
            ("sort=Amount", "sort"),
            ("order=ascending", "order"),
            ("order=ASC", "order"),
            ("status=signed", "status"),
            ("status=Circulating", "status"),
            ("step=signer", "step"),
            ("step=owner-approver", "step"),
        ] {
            let resp = app
                .client
                .get(app.url(&format!("{T}/{path}?{year}&{query}")))
                .bearer_auth(&registrant)
                .header("accept-language", "en")
                .send()
                .await
                .expect("search");
            assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY, "{path}?{query}");
            let ct = resp.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
            assert!(ct.starts_with("application/problem+json"), "{path}?{query}: {ct}");
            let v: Value = resp.json().await.expect("problem");
            assert_eq!(v["code"], "validation_failed", "{path}?{query}: {v}");
            assert_eq!(v["errors"][0]["field"], field, "{path}?{query}: {v}");
            assert_eq!(v["errors"][0]["code"], "unknown_value", "{path}?{query}: {v}");
            assert!(v["errors"][0]["message"].as_str().is_some_and(|m| m.contains("not an allowed value")), "{v}");
        }
    }
    assert_eq!(contracts_snapshot(&app).await, snap, "a refused search writes nothing");
}

/// Where the committed OpenAPI document lists names in backticks beside an enum, it lists
/// only the enum's members (a hand-written list cannot drift from the domain's set).
#[test]
fn documented_names_beside_an_enum_are_its_members() {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/openapi.json")).expect("openapi.json");
    let doc: Value = serde_json::from_str(&text).expect("json");
    let mut checked = 0;
    let mut stack = vec![("".to_string(), &doc)];
    while let Some((at, v)) = stack.pop() {
        match v {
            Value::Object(map) => {
                if let (Some(Value::String(description)), Some(Value::Array(members))) =
                    (map.get("description"), map.get("enum"))
                {
                    let members: Vec<&str> = members.iter().filter_map(Value::as_str).collect();
                    // Names are snake_case (operation ids and the like in backticks are not).
                    let named: Vec<&str> = description
                        .split('`')
                        .skip(1)
                        .step_by(2)
                        .filter(|n| n.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'))
                        .collect();
                    for n in &named {
                        assert!(members.contains(n), "{at}: `{n}` is not one of {members:?}");
                    }
                    // A description that lists several names lists them all, except where only
                    // some apply: an application's outcome is never `registered`, and a route
                    // step is never a `group_admin`'s.
                    let partial = at.ends_with("/CertApplicationOutcome/properties/status")
                        || at.ends_with("/ContractRouteStepInput/properties/role");
                    if named.len() > 1 && !partial {
                        checked += 1;
                        let missing: Vec<&&str> = members.iter().filter(|m| !named.contains(m)).collect();
                        assert!(missing.is_empty(), "{at}: {description:?} leaves out {missing:?}");
                    }
                }
                stack.extend(map.iter().map(|(k, v)| (format!("{at}/{k}"), v)));
            }
            Value::Array(items) => stack.extend(items.iter().enumerate().map(|(i, v)| (format!("{at}/{i}"), v))),
            _ => {}
        }
    }
    assert!(checked >= 5, "only {checked} listing descriptions found");
}
