//! Issue 6 over real HTTPS: notices (publication windows, audiences, paging), support
//! documents (upload → list → download with identical bytes and headers, authorization,
//! size and content checks), the dashboard API, the usage report and its CSV, and the demo
//! scenario loaded twice by the real binary.

// Test helpers outside #[test] functions: a failed request is a failed test.
#![allow(clippy::expect_used)]

use crate::common::*;
use jiff::SignedDuration;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

fn t(path: &str) -> String {
    format!("/api/v1/t/HXOS2{path}")
}

/// The support module's tables and the audit count: what a refused request must leave alone.
async fn support_state(app: &TestApp) -> String {
    let store = app.services().kernel.store.clone();
    let own = store
        .read(|tx| {
            use keiyaku_kernel::store::Read;
            Ok::<_, keiyaku_kernel::StoreError>(format!(
                "{:?}|{:?}|{}",
                tx.scan(&keiyaku_support::notices::NOTICES, "")?,
                tx.scan(&keiyaku_support::documents::DOCUMENTS, "")?,
                tx.count(&keiyaku_support::documents::CONTENT_CHUNKS, "")?,
            ))
        })
        .await
        .expect("state");
    format!("{}{own}", app.snapshot().await)
}

/// A `multipart/form-data` body with text fields and one file.
fn multipart(fields: &[(&str, &str)], file: Option<(&str, &str, &[u8])>) -> (String, Vec<u8>) {
    let boundary = format!("keiyaku-{}", keiyaku_kernel::ids::new_id());
    let mut body = Vec::new();
    for (name, value) in fields {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n").as_bytes(),
        );
    }
    if let Some((field, file_name, bytes)) = file {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"; filename=\"{file_name}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

async fn upload(app: &TestApp, token: Option<&str>, category: &str, name: &str, bytes: &[u8]) -> (StatusCode, Value) {
    let (ct, body) = multipart(&[("category", category)], Some(("file", name, bytes)));
    let mut req = app.client.post(app.url(&t("/support/documents"))).header("content-type", ct).body(body);
    if let Some(tok) = token {
        req = req.bearer_auth(tok);
    }
    let resp = req.send().await.expect("upload");
    let status = resp.status();
    let text = resp.text().await.unwrap_or_default();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// Status, headers and bytes of a GET without a token.
async fn fetch(app: &TestApp, path: &str) -> (StatusCode, reqwest::header::HeaderMap, Vec<u8>) {
    let resp = app.client.get(app.url(path)).send().await.expect("get");
    let status = resp.status();
    let headers = resp.headers().clone();
    (status, headers, resp.bytes().await.map(|b| b.to_vec()).unwrap_or_default())
}

fn header(h: &reqwest::header::HeaderMap, name: &str) -> String {
    h.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_string()
}

fn titles(list: &Value) -> Vec<String> {
    list["items"].as_array().into_iter().flatten().filter_map(|n| n["title"].as_str().map(str::to_string)).collect()
}

async fn notice(app: &TestApp, token: &str, body: Value) -> (StatusCode, Value) {
    app.post(&t("/notices"), Some(token), body).await
}

async fn visible(app: &TestApp, token: &str) -> Vec<String> {
    let (s, v) = app.get(&t("/notices?per_page=200"), Some(token)).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    titles(&v)
}

fn pdf_bytes(text: &str) -> Vec<u8> {
    keiyaku_kernel::pdf::Document::new()
        .title(text)
        .page(|p| {
            p.text(56.0, 80.0, 12.0, text);
        })
        .to_bytes()
}

/// A stored ZIP with the entries of an Office Open XML file.
fn ooxml(names: &[&str]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut central = Vec::new();
    for name in names {
        let offset = out.len() as u32;
        out.extend_from_slice(&[0x50, 0x4b, 0x03, 0x04, 20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        out.extend_from_slice(&[0; 8]);
        out.extend_from_slice(&(name.len() as u16).to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes());
        out.extend_from_slice(name.as_bytes());
        central.extend_from_slice(&[0x50, 0x4b, 0x01, 0x02, 20, 0, 20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        central.extend_from_slice(&[0; 8]);
        central.extend_from_slice(&(name.len() as u16).to_le_bytes());
        central.extend_from_slice(&[0; 12]);
        central.extend_from_slice(&offset.to_le_bytes());
        central.extend_from_slice(name.as_bytes());
    }
    let cd = out.len() as u32;
    out.extend_from_slice(&central);
    out.extend_from_slice(&[0x50, 0x4b, 0x05, 0x06, 0, 0, 0, 0]);
    out.extend_from_slice(&(names.len() as u16).to_le_bytes());
    out.extend_from_slice(&(names.len() as u16).to_le_bytes());
    out.extend_from_slice(&(central.len() as u32).to_le_bytes());
    out.extend_from_slice(&cd.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out
}

#[tokio::test]
async fn notices_show_to_the_right_users_in_their_window() {
    let app = TestApp::demo().await;
    let admin = app.demo_token("HX000001").await;
    let owner_user = app.demo_token("HX000002").await;
    let partner_admin = app.demo_token("A1533601").await;
    let before_owner = visible(&app, &owner_user).await;
    let before_partner = visible(&app, &partner_admin).await;
    assert!(before_owner.iter().any(|t| t.contains("ようこそ")), "demo notice for everyone: {before_owner:?}");
    assert!(!before_owner.iter().any(|t| t.contains("JCAN")), "partner notice hidden from the owner");
    assert!(before_partner.iter().any(|t| t.contains("JCAN")), "{before_partner:?}");

    // Only the owner's group administrators publish; a refusal stores nothing.
    let state = support_state(&app).await;
    for tok in [&owner_user, &partner_admin] {
        let (s, v) = notice(&app, tok, json!({"title": "x", "body": "y"})).await;
        assert_eq!((s, v["code"].as_str()), (StatusCode::FORBIDDEN, Some("forbidden")), "{v}");
    }
    let (s, v) = notice(&app, &admin, json!({"title": "", "body": "本文", "audience": "nobody"})).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    let fields: Vec<&str> = v["errors"].as_array().into_iter().flatten().filter_map(|e| e["field"].as_str()).collect();
    assert_eq!(fields, ["title", "audience"]);
    let (s, v) = notice(
        &app,
        &admin,
        json!({"title": "t", "body": "b", "publish_at": "2026-12-01T09:00+09:00", "expire_at": "2026-11-30"}),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(v["errors"][0]["field"], "expire_at");
    let (s, _) = app.call(Method::POST, &t("/notices"), Some(&admin), Some(json!({"title": 5}))).await;
    assert!(s == StatusCode::BAD_REQUEST || s == StatusCode::UNPROCESSABLE_ENTITY, "{s}");
    assert_eq!(support_state(&app).await, state, "refused notices change nothing");

    // Now 2026-11-25 10:00 JST.
    let created = [
        json!({"title": "全員へ", "body": "詳細は https://example.jp/info をご覧ください。"}),
        json!({"title": "社内のみ", "body": "管理部より", "audience": "owner"}),
        json!({"title": "取引先のみ", "body": "協力業者様へ", "audience": "partners"}),
        json!({"title": "明日から", "body": "予約掲載", "publish_at": "2026-11-26T09:00:00+09:00"}),
        json!({"title": "二時間だけ", "body": "すぐ終わる", "expire_at": "2026-11-25T12:00"}),
    ];
    for body in created {
        let (s, v) = notice(&app, &admin, body).await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
    }
    let new_for = |all: Vec<String>, before: &[String]| -> Vec<String> {
        let mut v: Vec<String> = all.into_iter().filter(|t| !before.contains(t)).collect();
        v.sort();
        v
    };
    let sorted = |v: &[&str]| {
        let mut v: Vec<String> = v.iter().map(|s| s.to_string()).collect();
        v.sort();
        v
    };
    assert_eq!(new_for(visible(&app, &owner_user).await, &before_owner), sorted(&["全員へ", "社内のみ", "二時間だけ"]));
    assert_eq!(
        new_for(visible(&app, &partner_admin).await, &before_partner),
        sorted(&["全員へ", "取引先のみ", "二時間だけ"])
    );
    // The administrator may list the scheduled one too; others cannot.
    let (_, all) = app.get(&t("/notices?include_hidden=true&per_page=200"), Some(&admin)).await;
    let scheduled = all["items"].as_array().into_iter().flatten().find(|n| n["title"] == "明日から").cloned();
    assert_eq!(scheduled.as_ref().map(|n| n["live"].clone()), Some(json!(false)), "{all}");
    let (_, mine) = app.get(&t("/notices?include_hidden=true&per_page=200"), Some(&owner_user)).await;
    assert!(!titles(&mine).contains(&"明日から".to_string()));

    // Three hours later the two-hour notice has ended; the next day the scheduled one shows.
    // (Sessions end after an hour without use: log in again after moving the clock.)
    app.clock.advance(SignedDuration::from_hours(3));
    let owner_user = app.demo_token("HX000002").await;
    let now = visible(&app, &owner_user).await;
    assert!(!now.contains(&"二時間だけ".to_string()) && !now.contains(&"明日から".to_string()), "{now:?}");
    app.clock.advance(SignedDuration::from_hours(21));
    let (admin, owner_user, partner_admin) =
        (app.demo_token("HX000001").await, app.demo_token("HX000002").await, app.demo_token("A1533601").await);
    let now = visible(&app, &partner_admin).await;
    assert!(now.contains(&"明日から".to_string()) && !now.contains(&"社内のみ".to_string()), "{now:?}");
    assert_eq!(now.first().map(String::as_str), Some("明日から"), "newest publication first");

    // Paging follows the conventions.
    let (s, p) = app.get(&t("/notices?page=2&per_page=2"), Some(&owner_user)).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!((p["page"].as_u64(), p["per_page"].as_u64()), (Some(2), Some(2)));
    assert_eq!(p["total"].as_u64(), Some(visible(&app, &owner_user).await.len() as u64));
    for bad in ["?page=0", "?per_page=201", "?page=-1", "?per_page=x", "?include_hidden=maybe"] {
        let (s, v) = app.get(&t(&format!("/notices{bad}")), Some(&owner_user)).await;
        assert!(s == StatusCode::UNPROCESSABLE_ENTITY || s == StatusCode::BAD_REQUEST, "{bad}: {s} {v}");
    }
    let (s, _) = app.get(&t("/notices"), None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);

    // The dashboard API: waiting lines (the demo's contract waiting for the owner approver
    // HX000002 when the contracts module is built in), notices, files, last login.
    let (s, d) = app.get(&t("/dashboard"), Some(&owner_user)).await;
    assert_eq!(s, StatusCode::OK, "{d}");
    let lines: Vec<(&str, &str, u64)> = d["waiting"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|w| {
            (w["line"].as_str().unwrap_or(""), w["label"].as_str().unwrap_or(""), w["count"].as_u64().unwrap_or(9))
        })
        .collect();
    assert_eq!(
        lines,
        [
            ("owner_approver", "オリ白:承認者", u64::from(cfg!(feature = "contracts"))),
            ("partner_person_in_charge", "取引先:担当", 0),
            ("owner_administration", "オリ白:管理部", 0),
            ("owner_signer", "オリ白:署名者", 0),
        ]
    );
    assert_eq!(d["company_name"], "オリエンタル白石株式会社");
    assert_eq!(d["notices"][0]["title"], "明日から");
    assert!(d["notices"].as_array().map(Vec::len).unwrap_or(0) <= 5);
    assert!(d["support_files"].as_array().is_some_and(|f| f.iter().any(|f| f["file_name"] == "FAQ.txt")), "{d}");
    assert_eq!(d["last_login_at"], "2026-11-25T13:00:00+09:00", "the login before this one: {d}");

    // Deleting: administrators only.
    let (_, list) = app.get(&t("/notices?per_page=200"), Some(&admin)).await;
    let id = list["items"].as_array().into_iter().flatten().find(|n| n["title"] == "全員へ").map(|n| n["id"].clone());
    let id = id.and_then(|i| i.as_str().map(str::to_string)).expect("id");
    let (s, _) = app.call(Method::DELETE, &t(&format!("/notices/{id}")), Some(&owner_user), None).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = app.call(Method::DELETE, &t(&format!("/notices/{id}")), Some(&admin), None).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _) = app.call(Method::DELETE, &t(&format!("/notices/{id}")), Some(&admin), None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert!(!visible(&app, &owner_user).await.contains(&"全員へ".to_string()));
    app.stop().await;
}

#[tokio::test]
async fn documents_upload_list_download_and_refusals() {
    let app = TestApp::demo().await;
    let admin = app.demo_token("HX000001").await;
    let owner_user = app.demo_token("HX000002").await;
    let partner_admin = app.demo_token("A1533601").await;

    // Upload → list → download: identical bytes, the sniffed type, the Japanese name.
    let pdf = pdf_bytes("操作マニュアル");
    let name = "【電子契約サービス】操作マニュアル(手続き編).pdf";
    let (s, up) = upload(&app, Some(&admin), "manual", name, &pdf).await;
    assert_eq!(s, StatusCode::CREATED, "{up}");
    assert_eq!((up["file_name"].as_str(), up["content_type"].as_str()), (Some(name), Some("application/pdf")));
    assert_eq!(up["size"].as_u64(), Some(pdf.len() as u64));
    assert!(up["replaced_id"].is_null());
    let id = up["id"].as_str().expect("id").to_string();
    let (s, list) = app.get(&t("/support/documents?category=manual"), None).await;
    assert_eq!(s, StatusCode::OK, "{list}");
    let listed =
        list["items"].as_array().into_iter().flatten().find(|d| d["id"] == id.as_str()).cloned().expect("listed");
    assert_eq!(listed["category_label"], "利用説明資料");
    assert_eq!(listed["sha256"], up["sha256"]);
    let (s, h, bytes) = fetch(&app, listed["url"].as_str().expect("url")).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(bytes, pdf, "the same bytes come back");
    assert_eq!(header(&h, "content-type"), "application/pdf");
    let cd = header(&h, "content-disposition");
    assert!(cd.starts_with("attachment; filename=\""), "{cd}");
    let encoded: String = name
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    assert!(cd.ends_with(&format!("; filename*=UTF-8''{encoded}")), "{cd}");
    assert!(cd.is_ascii());
    assert_eq!(header(&h, "etag"), format!("\"{}\"", up["sha256"].as_str().unwrap_or_default()));
    assert_eq!(header(&h, "x-content-type-options"), "nosniff");

    // Office and text files get their own types.
    for (file, bytes, ct) in [
        (
            "説明.docx",
            ooxml(&["[Content_Types].xml", "word/document.xml"]),
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        ),
        (
            "集計.xlsx",
            ooxml(&["[Content_Types].xml", "xl/workbook.xml"]),
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        ),
        ("お知らせ", "テキストの案内です。\n".as_bytes().to_vec(), "text/plain; charset=utf-8"),
    ] {
        let (s, v) = upload(&app, Some(&admin), "info", file, &bytes).await;
        assert_eq!(s, StatusCode::CREATED, "{file}: {v}");
        assert_eq!(v["content_type"], ct);
        let (_, h, got) = fetch(&app, v["url"].as_str().unwrap_or_default()).await;
        assert_eq!((header(&h, "content-type"), got), (ct.to_string(), bytes));
    }
    let (_, list) = app.get(&t("/support/documents?category=info"), None).await;
    assert!(list["items"].as_array().into_iter().flatten().any(|d| d["file_name"] == "お知らせ.txt"), "{list}");

    // Same category and name: replaced, not duplicated.
    let (_, before) = app.get(&t("/support/documents"), None).await;
    let pdf2 = pdf_bytes("第2版");
    let (s, v) = upload(&app, Some(&admin), "manual", name, &pdf2).await;
    assert_eq!((s, v["replaced_id"].as_str()), (StatusCode::CREATED, Some(id.as_str())), "{v}");
    let (_, after) = app.get(&t("/support/documents"), None).await;
    assert_eq!(before["total"], after["total"]);
    let (s, _, _) = fetch(&app, &t(&format!("/support/documents/{id}"))).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "the replaced document is gone");
    let (_, _, got) = fetch(&app, v["url"].as_str().unwrap_or_default()).await;
    assert_eq!(got, pdf2);

    // Refusals change nothing: not an owner administrator (403), no login (401), too large
    // (413), content of no allowed type or not matching the extension (415), bad fields (422).
    let state = support_state(&app).await;
    for tok in [&owner_user, &partner_admin] {
        let (s, v) = upload(&app, Some(tok), "faq", "FAQ.pdf", &pdf).await;
        assert_eq!((s, v["code"].as_str()), (StatusCode::FORBIDDEN, Some("forbidden")), "{v}");
    }
    let (s, _) = upload(&app, None, "faq", "FAQ.pdf", &pdf).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let mut big = pdf.clone();
    big.resize(20 * 1024 * 1024 + 1, b' ');
    big.extend_from_slice(b"\n%%EOF\n");
    let (s, v) = upload(&app, Some(&admin), "manual", "big.pdf", &big).await;
    assert_eq!((s, v["code"].as_str()), (StatusCode::PAYLOAD_TOO_LARGE, Some("payload_too_large")), "{v}");
    assert!(v["detail"].as_str().unwrap_or_default().contains("20MB"), "{v}");
    drop(big);
    for (file, bytes) in [
        ("image.png", b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec()),
        ("tool.exe", b"MZ\x90\0\x03\0\0\0\x04\0".to_vec()),
        ("archive.zip", ooxml(&["a.txt"])),
        ("sjis.txt", vec![0x82, 0xa0, 0x82, 0xa2, 0x0d, 0x0a]),
        ("manual.pdf", "PDFではありません".as_bytes().to_vec()),
    ] {
        let (s, v) = upload(&app, Some(&admin), "faq", file, &bytes).await;
        assert_eq!(
            (s, v["code"].as_str()),
            (StatusCode::UNSUPPORTED_MEDIA_TYPE, Some("unsupported_media_type")),
            "{file}: {v}"
        );
    }
    let (s, v) = upload(&app, Some(&admin), "misc", "a.pdf", &pdf).await;
    assert_eq!((s, v["errors"][0]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("category")), "{v}");
    let (ct, body) = multipart(&[("category", "faq")], None);
    let resp = app
        .client
        .post(app.url(&t("/support/documents")))
        .bearer_auth(&admin)
        .header("content-type", ct)
        .body(body)
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let resp = app
        .client
        .post(app.url(&t("/support/documents")))
        .bearer_auth(&admin)
        .header("content-type", "multipart/form-data; boundary=x")
        .body("garbage")
        .send()
        .await
        .expect("send");
    assert!(resp.status().is_client_error(), "{}", resp.status());
    assert_eq!(support_state(&app).await, state, "refused uploads store nothing");

    // Lookups that find nothing.
    for path in [
        "/api/v1/t/NOPE/support/documents",
        "/api/v1/t/HXOS2/support/documents/00000000000000000000000000000000",
        "/api/v1/t/HXOS2/support/documents/..%2F..%2Fetc",
        "/api/v1/t/nope!/support/documents",
    ] {
        let (s, _, _) = fetch(&app, path).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{path}");
    }
    let (s, _) = app.get(&t("/support/documents?category=nope"), None).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let (s, _, _) = fetch(&app, &format!("/api/v1/t/DMOEX/support/documents/{id}")).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "another tenant's URL finds nothing");

    // Deleting: administrators only; the content goes too.
    let doc = v_id(&app, "説明.docx").await;
    let (s, _) = app.call(Method::DELETE, &t(&format!("/support/documents/{doc}")), Some(&owner_user), None).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = app.call(Method::DELETE, &t(&format!("/support/documents/{doc}")), Some(&admin), None).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _, _) = fetch(&app, &t(&format!("/support/documents/{doc}"))).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    app.stop().await;
}

async fn v_id(app: &TestApp, file_name: &str) -> String {
    let (_, list) = app.get(&t("/support/documents?per_page=200"), None).await;
    list["items"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|d| d["file_name"] == file_name)
        .and_then(|d| d["id"].as_str().map(str::to_string))
        .unwrap_or_else(|| panic!("{file_name} in {list}"))
}

/// (company, group) → the row of a usage report.
fn row<'a>(report: &'a Value, company: &str, group: &str) -> &'a Value {
    report["rows"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|r| r["company_name"] == company && r["group_name"] == group)
        .unwrap_or_else(|| panic!("row {company}/{group} in {report}"))
}

fn n(v: &Value, key: &str) -> u64 {
    v[key].as_u64().unwrap_or_else(|| panic!("{key} in {v}"))
}

const OWNER: &str = "オリエンタル白石株式会社";
const PARTNER: &str = "アイテックコンサルタント株式会社";

#[tokio::test]
async fn usage_figures_match_the_actions() {
    let app = TestApp::demo().await;
    let admin = app.demo_token("HX000001").await;
    let (s, start) = app.get(&t("/usage?month=2026-11"), Some(&admin)).await;
    assert_eq!(s, StatusCode::OK, "{start}");
    assert_eq!(start["month"], "2026-11");

    // Logins: HX000001 ×2 more (3 with the one above), HX000002 ×1, A1533601 ×2.
    app.demo_token("HX000001").await;
    app.demo_token("HX000001").await;
    app.demo_token("HX000002").await;
    let partner = app.demo_token("A1533601").await;
    app.demo_token("A1533601").await;
    // A failed login is not a login.
    let (s, _) = app.login("HXOS2", "HX000002", "wrong-password").await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    // A new partner user: the registration mail counts for the partner's 本社.
    let (_, org) = app.get(&t("/org"), Some(&partner)).await;
    let partner_root = org["companies"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|c| c["company"]["name"] == PARTNER)
        .and_then(|c| c["groups"][0]["id"].as_str().map(str::to_string))
        .expect("partner root group");
    let (s, v) = app
        .post(
            &t(&format!("/groups/{partner_root}/users")),
            Some(&partner),
            json!({"user_id": "A1533603", "name": "高橋 三郎", "email": "takahashi@a15336.example.jp", "roles": ["person_in_charge"]}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    // Certificate events as the certs module records them: two issued to A1533602 (each
    // consuming a ticket), one revoked by the partner's administrator; ticket orders by
    // e-mail: one from an outside address (3 tickets, not attributable), one from the
    // partner administrator's address (2 tickets), one of another tenant.
    let store = app.services().kernel.store.clone();
    store
        .write(|tx| {
            let public = keiyaku_kernel::Actor::public(Some("HXOS2".into()), None);
            let issued = json!({"user_id": "A1533602", "ticket": "T-1"});
            tx.audit(&public, "certs.issue", "HXOS2/0a01", issued.clone())?;
            tx.audit(&public, "certs.issue", "HXOS2/0a02", issued)?;
            tx.audit(&public, "certs.revoke", "HXOS2/0a01", json!({"user_id": "A1533602", "reason": "test"}))?;
            tx.audit(
                &public,
                "certs.order_place",
                "HXOS2/o1",
                json!({"quantities": [1, 0, 2], "email": "buyer@example.com"}),
            )?;
            tx.audit(
                &public,
                "certs.order_place",
                "HXOS2/o2",
                json!({"quantities": [0, 2, 0], "email": "Suzuki@A15336.example.jp"}),
            )?;
            let other = keiyaku_kernel::Actor::public(Some("OTHER".into()), None);
            tx.audit(&other, "certs.order_place", "OTHER/o3", json!({"quantities": [5, 0, 0]}))?;
            Ok::<_, keiyaku_kernel::StoreError>(())
        })
        .await
        .expect("audit");

    let (s, end) = app.get(&t("/usage?month=2026-11"), Some(&admin)).await;
    assert_eq!(s, StatusCode::OK, "{end}");
    let delta =
        |company: &str, group: &str, key: &str| n(row(&end, company, group), key) - n(row(&start, company, group), key);
    assert_eq!(delta(OWNER, "本社 管理部", "logins"), 2);
    assert_eq!(n(row(&end, OWNER, "本社 管理部"), "active_users"), 1);
    assert_eq!(delta(OWNER, "東京支店", "logins"), 1);
    assert_eq!(n(row(&end, OWNER, "東京支店"), "active_users"), 1);
    assert_eq!(delta(PARTNER, "本社", "logins"), 2);
    assert_eq!(n(row(&end, PARTNER, "本社"), "active_users"), 1);
    assert_eq!(delta(PARTNER, "本社", "mails_sent"), 1);
    assert_eq!(delta(PARTNER, "本社", "certificates_issued"), 2);
    assert_eq!(delta(PARTNER, "本社", "certificates_revoked"), 1);
    assert_eq!(delta(PARTNER, "本社", "tickets_used"), 2);
    assert_eq!(delta(PARTNER, "本社", "tickets_ordered"), 2);
    assert_eq!(delta(OWNER, "本社", "logins"), 0);
    let unattributed = end["rows"].as_array().into_iter().flatten().find(|r| r["company_id"].is_null()).cloned();
    let start_unattributed =
        start["rows"].as_array().into_iter().flatten().find(|r| r["company_id"].is_null()).cloned();
    let tickets = |r: &Option<Value>| r.as_ref().map(|r| n(r, "tickets_ordered")).unwrap_or(0);
    assert_eq!(tickets(&unattributed) - tickets(&start_unattributed), 3, "{end}");
    let total: u64 = end["rows"].as_array().into_iter().flatten().map(|r| n(r, "logins")).sum();
    assert_eq!(n(&end["total"], "logins"), total);

    // Another month (00:00 on 1 December, Japan time): only its own logins; November is
    // unchanged. (The sessions ended meanwhile: log in again.)
    app.clock.set("2026-11-30T15:00:00Z".parse().expect("ts"));
    app.demo_token("HX000002").await;
    app.demo_token("HX000002").await;
    let admin = app.demo_token("HX000001").await;
    let partner = app.demo_token("A1533601").await;
    let (_, dec) = app.get(&t("/usage"), Some(&admin)).await;
    assert_eq!(dec["month"], "2026-12");
    assert_eq!((n(row(&dec, OWNER, "東京支店"), "logins"), n(row(&dec, OWNER, "東京支店"), "active_users")), (2, 1));
    assert_eq!(n(row(&dec, OWNER, "本社 管理部"), "logins"), 1);
    assert_eq!(n(row(&dec, PARTNER, "本社"), "certificates_issued"), 0);
    let (_, nov) = app.get(&t("/usage?month=2026-11"), Some(&admin)).await;
    for (company, group) in [(OWNER, "東京支店"), (OWNER, "本社 管理部"), (PARTNER, "本社")] {
        assert_eq!(row(&nov, company, group), row(&end, company, group));
    }

    // Who sees what: a partner only its own company, an owner user without admin roles only
    // the owner company; the owner's administrators everything.
    let (_, p) = app.get(&t("/usage?month=2026-11"), Some(&partner)).await;
    assert!(p["rows"].as_array().into_iter().flatten().all(|r| r["company_name"] == PARTNER), "{p}");
    let owner_user = app.demo_token("HX000002").await;
    let (_, o) = app.get(&t("/usage?month=2026-11"), Some(&owner_user)).await;
    assert!(o["rows"].as_array().into_iter().flatten().all(|r| r["company_name"] == OWNER), "{o}");

    // Bad months are refused with the field named.
    for bad in ["2026-13", "2026/11", "11-2026", "x", "1999-01", "2026-1"] {
        let (s, v) = app.get(&t(&format!("/usage?month={}", urlencode(bad))), Some(&admin)).await;
        assert_eq!(
            (s, v["errors"][0]["field"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("month")),
            "{bad}: {v}"
        );
    }

    // CSV for Excel: BOM, CRLF, header, one line per row and a total.
    let resp = app.client.get(app.url(&t("/usage.csv?month=2026-11"))).bearer_auth(&admin).send().await.expect("csv");
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(header(resp.headers(), "content-type"), "text/csv; charset=utf-8");
    assert!(header(resp.headers(), "content-disposition").contains("usage-HXOS2-2026-11.csv"));
    let bytes = resp.bytes().await.expect("body").to_vec();
    assert!(bytes.starts_with(b"\xEF\xBB\xBF"));
    let text = String::from_utf8(bytes[3..].to_vec()).expect("utf-8");
    let lines: Vec<&str> = text.split("\r\n").filter(|l| !l.is_empty()).collect();
    assert!(lines[0].starts_with("年月,会社名,業者コード,グループ,ログイン回数,"), "{}", lines[0]);
    assert_eq!(lines.len(), nov["rows"].as_array().map(Vec::len).unwrap_or(0) + 2);
    assert!(
        lines.iter().any(
            |l| l.starts_with(&format!("2026-11,{OWNER},,東京支店,{},", n(row(&nov, OWNER, "東京支店"), "logins")))
        ),
        "{text}"
    );
    assert!(lines.last().is_some_and(|l| l.starts_with("2026-11,合計,")));
    app.stop().await;
}

// ---------------------------------------------------------------------------------------
// The demo scenario through the real binary

mod binary_demo {
    use super::*;
    use std::process::Command;
    use std::time::Duration;

    fn serve_demo(data: &std::path::Path, port: u16) -> Server {
        let server = serve(data, port, &["--demo"]);
        assert!(
            server.stdout.iter().any(|l| l.contains("API:")),
            "keiyaku serve --demo did not start: {:?}",
            server.stdout
        );
        server
    }

    fn stop(mut server: Server) {
        server.terminate();
    }

    /// What the demo's support part consists of, as the API shows it to HX000001 and to
    /// anyone: notice titles, document (category, name) pairs, and the manual's bytes.
    async fn scenario(client: &reqwest::Client, base: &str) -> (Vec<String>, Vec<(String, String)>, Vec<u8>) {
        let mut token = None;
        for _ in 0..200 {
            if let Ok(r) = client
                .post(format!("{base}/api/v1/t/HXOS2/auth/login"))
                .json(&json!({"login": "HX000001", "password": DEMO_PASSWORD}))
                .send()
                .await
            {
                let v: Value = r.json().await.unwrap_or_default();
                token = v["token"].as_str().map(str::to_string);
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let token = token.expect("demo login");
        let get = |path: String| {
            let req = client.get(format!("{base}{path}")).bearer_auth(&token);
            async move {
                let resp = req.send().await.expect("get");
                let status = resp.status();
                let v: Value = resp.json().await.unwrap_or_default();
                assert_eq!(status, StatusCode::OK, "{path}: {v}");
                v
            }
        };
        let notices = get("/api/v1/t/HXOS2/notices?per_page=200&include_hidden=true".into()).await;
        let docs = get("/api/v1/t/HXOS2/support/documents?per_page=200".into()).await;
        let mut titles = super::titles(&notices);
        titles.sort();
        let mut files: Vec<(String, String)> = docs["items"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|d| {
                (d["category"].as_str().unwrap_or("").to_string(), d["file_name"].as_str().unwrap_or("").to_string())
            })
            .collect();
        files.sort();
        let manual = docs["items"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|d| d["file_name"] == "ユーザーズマニュアル.pdf")
            .and_then(|d| d["url"].as_str().map(str::to_string))
            .unwrap_or_else(|| panic!("manual listed in {docs}"));
        let pdf = client.get(format!("{base}{manual}")).send().await.expect("manual").bytes().await.expect("bytes");
        (titles, files, pdf.to_vec())
    }

    #[tokio::test]
    async fn demo_scenario_is_complete_and_loads_once() {
        let data = tempdir("demo-bin");
        let port = free_port();
        let server = serve_demo(&data, port);
        let out = server.stdout.join("\n");
        assert!(out.contains("/t/HXOS2/login") && out.contains("keiyaku-demo") && out.contains("/mailbox"), "{out}");
        let cert = std::fs::read_to_string(data.join("tls/ca.pem")).expect("cert");
        let client = client_for(&cert);
        let base = format!("https://127.0.0.1:{port}");
        let first = scenario(&client, &base).await;
        stop(server);

        let (titles, files, pdf) = &first;
        assert_eq!(titles.len(), 3, "{titles:?}");
        assert!(titles.iter().any(|t| t.contains("ようこそ")));
        for (category, name) in [
            ("info", "サポート窓口のご案内.txt"),
            ("manual", "ユーザーズマニュアル.pdf"),
            ("manual", "管理者マニュアル.pdf"),
            ("ebook_law", "システム概要書.pdf"),
            ("faq", "FAQ.pdf"),
            ("faq", "FAQ.txt"),
        ] {
            let count = files.iter().filter(|(c, n)| c == category && n == name).count();
            assert_eq!(count, 1, "{category}/{name} in {files:?}");
        }
        assert!(pdf.starts_with(b"%PDF-"));
        // The generated manual is Japanese text a PDF tool can read.
        let path = data.join("manual.pdf");
        std::fs::write(&path, pdf).expect("write");
        if let Ok(out) = Command::new("pdftotext").arg(&path).arg("-").output() {
            let text = String::from_utf8_lossy(&out.stdout);
            assert!(text.contains("ユーザーズマニュアル") && text.contains("ログイン"), "{text}");
        }

        // Second start on the same directory: nothing loaded twice.
        let port = free_port();
        let server = serve_demo(&data, port);
        let client = client_for(&std::fs::read_to_string(data.join("tls/ca.pem")).expect("cert"));
        let second = scenario(&client, &format!("https://127.0.0.1:{port}")).await;
        stop(server);
        assert_eq!(second.0, first.0, "notices not duplicated");
        assert_eq!(second.1, first.1, "documents not duplicated");
        assert_eq!(second.2, first.2);
        let _ = std::fs::remove_dir_all(&data);
    }
}
