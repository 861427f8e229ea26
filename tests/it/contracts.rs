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
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::process::Command;

const T: &str = "/api/v1/t/HXOS2";

pub fn tool(name: &str) -> bool {
    let found = Command::new("sh").arg("-c").arg(format!("command -v {name}")).output().is_ok_and(|o| o.status.success());
    if !found {
        assert!(std::env::var_os("CI").is_none(), "CI must have {name} (see .ci/run)");
        eprintln!("{name} not installed: its checks are skipped");
    }
    found
}

pub fn pdf(number: &str) -> Vec<u8> {
    keiyaku_contracts::demo::order_pdf(number, "テスト工事 注文", "アイテックコンサルタント株式会社", 1_100_000, "2026-11-25")
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

async fn register(app: &TestApp, token: &str, body: Value) -> Value {
    let (s, v) = app.post(&format!("{T}/contracts"), Some(token), body).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    v
}

async fn act(app: &TestApp, token: &str, id: &str, action: &str, body: Value) -> (StatusCode, Value) {
    app.post(&format!("{T}/contracts/{id}/{action}"), Some(token), body).await
}

async fn ok(app: &TestApp, token: &str, id: &str, action: &str, body: Value) -> Value {
    let (s, v) = act(app, token, id, action, body).await;
    assert_eq!(s, StatusCode::OK, "{action}: {v}");
    v
}

async fn waiting(app: &TestApp, token: &str) -> Vec<(String, u64)> {
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

async fn download(app: &TestApp, token: &str, path: &str) -> (StatusCode, String, Vec<u8>) {
    let resp = app.client.get(app.url(path)).bearer_auth(token).send().await.expect("download");
    let status = resp.status();
    let ct = resp.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
    (status, ct, resp.bytes().await.map(|b| b.to_vec()).unwrap_or_default())
}

/// What the contracts tables hold, to prove a refused request wrote nothing.
async fn contracts_snapshot(app: &TestApp) -> String {
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
    format!("{base}{mine}")
}

/// pyHanko's verdict on every signature of `file`, trusting the tenant CA.
fn pyhanko(file: &std::path::Path, ca: &std::path::Path) -> (bool, String) {
    let out = Command::new("pyhanko")
        .args(["sign", "validate", "--pretty-print", "--no-revocation-check", "--trust"])
        .arg(ca)
        .arg(file)
        .output()
        .expect("pyhanko");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.success(), text)
}

fn pdfsig(file: &std::path::Path) -> String {
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
    let lines: Vec<&str> = c["route"].as_array().expect("route").iter().map(|s| s["line"].as_str().unwrap_or("")).collect();
    assert_eq!(
        lines,
        ["owner_approver", "partner_person_in_charge", "partner_approver", "partner_signer", "owner_administration", "owner_signer"]
    );
    assert_eq!(c["route"][0]["users"], json!(["HX000002"]));
    assert_eq!(c["permissions"]["approve"], true);
    let mail = app.last_mail_to("sato@hxos2.example.jp").await;
    let _ = mail;
    // The registrant's dashboard counts one more for the owner approver line.
    let now_registrant = waiting(&app, &registrant).await;
    assert_eq!(count(&now_registrant, "owner_approver"), count(&before_registrant, "owner_approver") + 1);

    // Step 1: the owner approver; step 2's person in charge is told and then sends it back.
    ok(&app, &registrant, &id, "approve", json!({"comment": "確認しました"})).await;
    let now_partner = waiting(&app, &partner).await;
    assert_eq!(
        count(&now_partner, "partner_person_in_charge"),
        count(&before_partner, "partner_person_in_charge") + 1
    );
    let (s, v) = act(&app, &partner, &id, "send-back", json!({"comment": ""})).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "a send-back needs a comment: {v}");
    let v = ok(&app, &partner, &id, "send-back", json!({"comment": "金額を確認してください"})).await;
    assert_eq!(v["status"], "sent_back");
    assert_eq!(count(&waiting(&app, &partner).await, "partner_person_in_charge"), count(&before_partner, "partner_person_in_charge"));
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

    // The partner signer's delegate signs for them.
    let v = ok(&app, &partner, &id, "sign", json!({})).await;
    assert_eq!(v["route"][3]["done_by"], "A1533601");
    assert_eq!(v["route"][3]["on_behalf_of"], "A1533602");
    let version = &v["documents"][0]["versions"][1];
    assert_eq!((version["signer"].as_str(), version["by"].as_str()), (Some("A1533602"), Some("A1533601")));
    // The signer themself sees the contract too (a party of it).
    let (s, _) = app.get(&format!("{T}/contracts/{id}"), Some(&partner_signer)).await;
    assert_eq!(s, StatusCode::OK);

    // 管理部, then the owner signer: completed.
    ok(&app, &admin, &id, "approve", json!({})).await;
    let v = ok(&app, &owner_signer, &id, "sign", json!({})).await;
    assert_eq!(v["status"], "completed", "{v}");
    assert!(v["completed_at"].is_string());
    let done_mail = app.mails_to("horii@hxos2.example.jp").await;
    let _ = done_mail;

    // The signed PDF: two signatures, validated by outside tools.
    let (s, ct, signed) = download(&app, &registrant, &format!("{T}/contracts/{id}/documents/D1")).await;
    assert_eq!((s, ct.as_str()), (StatusCode::OK, "application/pdf"));
    assert!(signed.starts_with(b"%PDF"));
    let original = pdf("T-0001");
    assert!(signed.starts_with(&original), "incremental updates keep the original bytes");
    let ours = keiyaku_pades::verify(&signed).expect("verify");
    assert_eq!(ours.len(), 2);
    assert!(ours.iter().all(|s| s.is_intact()), "{ours:?}");
    assert!(!ours[0].covers_whole_file && ours[1].covers_whole_file);

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
    let problems = app
        .services()
        .kernel
        .store
        .read(|tx| keiyaku_contracts::storage::verify_chain(tx))
        .await
        .expect("verify");
    assert!(problems.is_empty(), "{problems:?}");
    let _ = std::fs::remove_dir_all(&dir);
    app.stop().await;
}
