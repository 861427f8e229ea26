//! Issue 4: the directory over real HTTPS — companies, groups, users with vendor-code IDs,
//! registration mails, search and paging, delegates, fixed seals, the authorization matrix
//! and validation in Japanese and English.

// Test helpers outside #[test] functions: a failed request is a failed test.
#![allow(clippy::expect_used)]

use crate::common::*;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

const NEW_PW: &str = "Keiyaku-2026a";

fn t(path: &str) -> String {
    format!("/api/v1/t/HXOS2{path}")
}

/// Everything a request could change: the directory digest of the fixture plus the users
/// module's own tables and the auth credentials.
async fn state(app: &TestApp) -> String {
    let mut out = app.snapshot().await;
    let store = app.services().kernel.store.clone();
    let own = store
        .read(|tx| {
            use keiyaku_kernel::store::Read;
            Ok::<_, keiyaku_kernel::StoreError>(format!(
                "{:?}|{:?}|{:?}|{:?}|{:?}",
                tx.scan(&keiyaku_users::seal::SEALS, "")?,
                tx.scan(&keiyaku_users::delegates::DELEGATES, "")?,
                tx.scan(&keiyaku_users::delegates::DELEGATE_OF, "")?,
                tx.scan(&keiyaku_auth::CREDENTIALS, "")?,
                tx.count(&keiyaku_auth::SESSIONS, "")?,
            ))
        })
        .await
        .expect("state");
    out.push_str(&own);
    out
}

/// A request with an explicit Accept-Language; returns status, content type and body.
async fn call_lang(
    app: &TestApp,
    method: Method,
    path: &str,
    token: &str,
    body: Option<Value>,
    lang: &str,
) -> (StatusCode, Value) {
    let mut req = app.client.request(method, app.url(path)).bearer_auth(token).header("accept-language", lang);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.expect("send");
    let status = resp.status();
    let text = resp.text().await.unwrap_or_default();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

async fn patch(app: &TestApp, path: &str, token: &str, body: Value) -> (StatusCode, Value) {
    app.call(Method::PATCH, path, Some(token), Some(body)).await
}

async fn delete(app: &TestApp, path: &str, token: &str) -> (StatusCode, Value) {
    app.call(Method::DELETE, path, Some(token), None).await
}

/// Raw bytes and content type of a GET.
async fn raw(app: &TestApp, path: &str, token: &str) -> (StatusCode, String, Vec<u8>) {
    let resp = app.client.get(app.url(path)).bearer_auth(token).send().await.expect("send");
    let status = resp.status();
    let ct = resp.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
    (status, ct, resp.bytes().await.map(|b| b.to_vec()).unwrap_or_default())
}

/// The id of a group by company and group name in `getOrgTree`.
fn group_id(org: &Value, company: &str, group: &str) -> String {
    org["companies"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|c| c["company"]["name"] == company)
        .flat_map(|c| c["groups"].as_array().cloned().unwrap_or_default())
        .find(|g| g["name"] == group)
        .and_then(|g| g["id"].as_str().map(str::to_string))
        .unwrap_or_else(|| panic!("group {company}/{group} in {org}"))
}

fn company_id(org: &Value, company: &str) -> String {
    org["companies"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|c| c["company"]["name"] == company)
        .and_then(|c| c["company"]["id"].as_str().map(str::to_string))
        .unwrap_or_else(|| panic!("company {company} in {org}"))
}

fn ids(page: &Value) -> Vec<String> {
    page["items"].as_array().into_iter().flatten().filter_map(|u| u["user_id"].as_str().map(str::to_string)).collect()
}

async fn create_user(app: &TestApp, token: &str, group: &str, body: Value) -> Value {
    let (s, v) = app.post(&t(&format!("/groups/{group}/users")), Some(token), body).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    v
}

#[tokio::test]
async fn directory_walk_over_https() {
    let app = TestApp::start().await;
    let pw = app.create_tenant("HXOS2", "HX000001", "horii@example.jp").await;
    let admin = app.login_ready("HXOS2", "HX000001", &pw, NEW_PW).await;

    // The owner's tree: one company, its root group.
    let (s, org) = app.get(&t("/org"), Some(&admin)).await;
    assert_eq!(s, StatusCode::OK, "{org}");
    assert_eq!(org["companies"].as_array().map(Vec::len), Some(1));
    assert_eq!(org["companies"][0]["company"]["owner"], true);
    let owner = company_id(&org, "オリエンタル白石株式会社");

    // A partner company with its vendor code; groups below the owner and the partner.
    let (s, v) = app
        .post(
            &t("/companies"),
            Some(&admin),
            json!({"name": "アイテックコンサルタント株式会社", "name_kana": "アイテックコンサルタント", "vendor_code": "A15336"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(v["company"]["vendor_code"], "A15336");
    assert_eq!(v["root_group"]["name"], "本社");
    let partner = v["company"]["id"].as_str().expect("id").to_string();
    let proot = v["root_group"]["id"].as_str().expect("id").to_string();
    let (s, tokyo) = app.post(&t("/groups"), Some(&admin), json!({"company_id": owner, "name": "東京支店"})).await;
    assert_eq!(s, StatusCode::CREATED, "{tokyo}");
    let tokyo = tokyo["id"].as_str().expect("id").to_string();
    let (s, osaka) = app
        .post(
            &t("/groups"),
            Some(&admin),
            json!({"company_id": partner, "parent_group_id": proot, "name": "大坂事業所"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{osaka}");
    let osaka = osaka["id"].as_str().expect("id").to_string();
    let (s, v) = patch(&app, &t(&format!("/groups/{osaka}")), &admin, json!({"name": "大阪事業所"})).await;
    assert_eq!((s, v["name"].as_str()), (StatusCode::OK, Some("大阪事業所")), "{v}");
    let (s, v) = patch(&app, &t(&format!("/groups/{proot}")), &admin, json!({"parent_group_id": osaka})).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "a root group stays: {v}");
    let (_, org) = app.get(&t("/org"), Some(&admin)).await;
    assert_eq!(group_id(&org, "アイテックコンサルタント株式会社", "大阪事業所"), osaka);
    let partner_groups: Vec<(i64, String)> = org["companies"][1]["groups"]
        .as_array()
        .expect("groups")
        .iter()
        .map(|g| (g["depth"].as_i64().unwrap_or(-1), g["name"].as_str().unwrap_or_default().to_string()))
        .collect();
    assert_eq!(partner_groups, [(0, "本社".to_string()), (1, "大阪事業所".to_string())]);

    // The partner's initial users get vendor code + 2-digit IDs, offered by the API.
    let (s, v) = app.get(&t(&format!("/groups/{proot}/users/next-id")), Some(&admin)).await;
    assert_eq!((s, v["user_id"].as_str()), (StatusCode::OK, Some("A1533601")), "{v}");
    let a1 = create_user(
        &app,
        &admin,
        &proot,
        json!({"user_id": "A1533601", "name": "鈴木 一郎", "email": "suzuki@a15336.example.jp",
               "roles": ["group_admin", "person_in_charge", "approver"]}),
    )
    .await;
    assert_eq!(a1["company_name"], "アイテックコンサルタント株式会社");
    assert_eq!(a1["vendor_code"], "A15336");
    let (_, v) = app.get(&t(&format!("/groups/{proot}/users/next-id")), Some(&admin)).await;
    assert_eq!(v["user_id"], "A1533602");
    // Leaving the ID out takes the suggestion.
    let a2 = create_user(
        &app,
        &admin,
        &proot,
        json!({"name": "伊藤 誠", "email": "ito@a15336.example.jp", "sub_emails": ["ito.sub@a15336.example.jp"],
               "roles": ["signer"], "title": "代表取締役"}),
    )
    .await;
    assert_eq!(a2["user_id"], "A1533602");
    assert_eq!(a2["roles"], json!(["signer"]));
    assert_eq!(a2["sub_emails"], json!(["ito.sub@a15336.example.jp"]));

    // Registration mails carry the ID, the initial password and the login URL.
    let mails = app.mails_to("suzuki@a15336.example.jp").await;
    assert_eq!(mails.len(), 1);
    assert_eq!(mails[0]["subject"], "【電子契約サービス】 ユーザー登録通知");
    let body = mails[0]["body"].as_str().unwrap_or_default();
    assert!(
        body.contains("鈴木 一郎様") && body.contains("ユーザーID: A1533601") && body.contains("/t/HXOS2/login"),
        "{body}"
    );
    let a1_pw = initial_password(body);
    let a2_pw = initial_password(
        app.last_mail_to("ito@a15336.example.jp").await.expect("mail")["body"].as_str().unwrap_or_default(),
    );
    let (s, v) = app.login("HXOS2", "A1533601", &a1_pw).await;
    assert_eq!((s, v["password_change_required"].as_bool()), (StatusCode::OK, Some(true)), "{v}");
    let a1_token = app.login_ready("HXOS2", "A1533601", &a1_pw, NEW_PW).await;
    let a2_token = app.login_ready("HXOS2", "ito@a15336.example.jp", &a2_pw, NEW_PW).await;

    // The partner's group administrator sees the own company only.
    let (s, org_p) = app.get(&t("/org"), Some(&a1_token)).await;
    assert_eq!(s, StatusCode::OK, "{org_p}");
    assert_eq!(org_p["companies"].as_array().map(Vec::len), Some(1));
    assert_eq!(org_p["companies"][0]["company"]["vendor_code"], "A15336");
    let manage: Vec<bool> = org_p["companies"][0]["groups"]
        .as_array()
        .expect("groups")
        .iter()
        .map(|g| g["can_manage"].as_bool().unwrap_or(true))
        .collect();
    assert_eq!(manage, [true, false], "own group only");

    // Sixty users in 東京支店: counted and paged.
    for i in 1..=60 {
        create_user(
            &app,
            &admin,
            &tokyo,
            json!({"user_id": format!("HX1{i:05}"), "name": format!("東京 社員{i}"), "email": format!("tokyo{i}@example.jp"),
                   "roles": ["person_in_charge"]}),
        )
        .await;
    }
    let (_, v) = app.get(&t(&format!("/groups/{tokyo}/users/next-id")), Some(&admin)).await;
    assert_eq!(v["user_id"], "HX100061", "the owner's numbering continues");
    let (s, page) = app.get(&t(&format!("/groups/{tokyo}/users?page=2&per_page=25")), Some(&admin)).await;
    assert_eq!(s, StatusCode::OK, "{page}");
    assert_eq!(
        (page["total"].as_u64(), page["page"].as_u64(), page["per_page"].as_u64()),
        (Some(60), Some(2), Some(25))
    );
    let expected: Vec<String> = (26..=50).map(|i| format!("HX1{i:05}")).collect();
    assert_eq!(ids(&page), expected);
    let (_, page) = app.get(&t(&format!("/groups/{tokyo}/users?page=2")), Some(&admin)).await;
    assert_eq!((ids(&page).len(), page["per_page"].as_u64()), (10, Some(50)));
    let (_, page) = app.get(&t(&format!("/groups/{tokyo}/users?page=9")), Some(&admin)).await;
    assert_eq!((ids(&page).len(), page["total"].as_u64()), (0, Some(60)));
    let (_, org) = app.get(&t("/org"), Some(&admin)).await;
    let tokyo_node =
        org["companies"][0]["groups"].as_array().expect("groups").iter().find(|g| g["id"] == tokyo.as_str()).cloned();
    assert_eq!(tokyo_node.map(|g| g["member_count"].clone()), Some(json!(60)));

    // Search by ID prefix, by part of the name, paged.
    let (_, v) = app.get(&t("/users?q=a15336"), Some(&admin)).await;
    assert_eq!(ids(&v), ["A1533601", "A1533602"]);
    let (_, v) = app.get(&t(&format!("/users?q={}", urlencode("伊藤"))), Some(&admin)).await;
    assert_eq!(ids(&v), ["A1533602"]);
    assert_eq!(v["items"][0]["email"], "ito@a15336.example.jp");
    let (_, v) = app.get(&t(&format!("/users?q={}&page=3&per_page=20", urlencode("社員"))), Some(&admin)).await;
    assert_eq!((v["total"].as_u64(), ids(&v).len()), (Some(60), 20));
    assert_eq!(ids(&v)[0], "HX100041");
    let (_, v) = app.get(&t("/users?q=hx10001&per_page=200"), Some(&admin)).await;
    assert_eq!(v["total"], 10);
    // The partner's administrator finds only the own group.
    let (_, v) = app.get(&t("/users?per_page=200"), Some(&a1_token)).await;
    assert_eq!(ids(&v), ["A1533601", "A1533602"]);

    // Delegates: the signer's dialog search, add several at once, remove.
    let (_, v) = app.get(&t(&format!("/users?user_id=A15&name={}", urlencode("鈴木"))), Some(&a2_token)).await;
    assert_eq!(ids(&v), ["A1533601"]);
    let b3 = create_user(
        &app,
        &a1_token,
        &proot,
        json!({"name": "佐々木 三郎", "email": "sasaki@a15336.example.jp", "roles": ["approver"]}),
    )
    .await;
    assert_eq!(b3["user_id"], "A1533603");
    let (s, v) =
        app.post(&t("/users/A1533602/delegates"), Some(&a2_token), json!({"user_ids": ["A1533601", "A1533603"]})).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(ids(&v), ["A1533601", "A1533603"]);
    assert_eq!(v["items"][0]["company"]["name"], "アイテックコンサルタント株式会社");
    assert_eq!(v["items"][0]["email"], "suzuki@a15336.example.jp");
    // Set without the PIN: pending until the signer confirms; signer and delegates are told.
    assert_eq!(v["items"][0]["mandate"]["state"], "pending", "{v}");
    let to_signer = app.last_mail_to("ito@a15336.example.jp").await.expect("signer mail");
    assert_eq!(to_signer["subject"], "【電子契約サービス】 署名操作代行の委任確認のお願い", "{to_signer}");
    assert!(to_signer["body"].as_str().unwrap_or_default().contains("A1533603"), "{to_signer}");
    let to_delegate = app.last_mail_to("sasaki@a15336.example.jp").await.expect("delegate mail");
    assert_eq!(to_delegate["subject"], "【電子契約サービス】 署名操作代行ユーザーに設定されました");
    let (s, _) = delete(&app, &t("/users/A1533602/delegates/A1533603"), &a1_token).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let removed = app.last_mail_to("sasaki@a15336.example.jp").await.expect("removal mail");
    assert_eq!(removed["subject"], "【電子契約サービス】 署名操作代行の委任が削除されました", "{removed}");
    let (s, v) = app.get(&t("/users/A1533602/delegates"), Some(&a2_token)).await;
    assert_eq!((s, ids(&v)), (StatusCode::OK, vec!["A1533601".to_string()]));
    assert_eq!(v["total"], 1);
    let (s, v) = delete(&app, &t("/users/A1533602/delegates/A1533603"), &a1_token).await;
    assert_eq!((s, v["code"].as_str()), (StatusCode::NOT_FOUND, Some("not_found")));

    // The seal: made with the signer, the same bytes every time, and nothing changes it.
    let (s, detail) = app.get(&t("/users/A1533602"), Some(&a1_token)).await;
    assert_eq!(s, StatusCode::OK, "{detail}");
    assert_eq!((detail["signer"].as_bool(), detail["has_seal"].as_bool()), (Some(true), Some(true)));
    assert_eq!(detail["seal_url"], "/api/v1/t/HXOS2/users/A1533602/seal");
    assert_eq!(detail["delegate_count"], 1);
    assert_eq!(detail["title"], "代表取締役");
    let (s, ct, first) = raw(&app, &t("/users/A1533602/seal"), &a2_token).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(ct, "image/svg+xml");
    let svg = String::from_utf8(first.clone()).expect("utf-8");
    assert!(svg.starts_with("<svg") && svg.contains("伊</text>") && svg.contains("藤</text>"), "{svg}");
    assert!(!svg.contains("26.11.25"), "no date outside trial tenants");
    let before = state(&app).await;
    for method in [Method::PUT, Method::POST, Method::DELETE] {
        let resp = app
            .client
            .request(method.clone(), app.url(&t("/users/A1533602/seal")))
            .bearer_auth(&admin)
            .header("content-type", "image/svg+xml")
            .body("<svg xmlns=\"http://www.w3.org/2000/svg\"/>")
            .send()
            .await
            .expect("send");
        assert_eq!(resp.status(), StatusCode::METHOD_NOT_ALLOWED, "{method}");
        assert_eq!(resp.headers()["allow"], "GET");
        let v: Value = resp.json().await.expect("problem");
        assert_eq!(v["code"], "method_not_allowed", "{v}");
    }
    for who in [&admin, &a1_token, &a2_token] {
        let (_, _, again) = raw(&app, &t("/users/A1533602/seal"), who).await;
        assert_eq!(again, first);
    }
    assert_eq!(state(&app).await, before, "the refused methods changed nothing");
    // Renaming the signer does not touch the seal either.
    let (s, v) = patch(&app, &t("/users/A1533602"), &a1_token, json!({"name": "伊東 誠"})).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (_, _, again) = raw(&app, &t("/users/A1533602/seal"), &a2_token).await;
    assert_eq!(again, first);

    // A user who becomes a signer gets a seal; one who is not has none.
    let (s, _, _) = raw(&app, &t("/users/A1533603/seal"), &a1_token).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, v) = patch(&app, &t("/users/A1533603"), &a1_token, json!({"roles": ["approver", "signer"]})).await;
    assert_eq!((s, v["has_seal"].as_bool()), (StatusCode::OK, Some(true)), "{v}");
    let (s, _, sasaki) = raw(&app, &t("/users/A1533603/seal"), &a1_token).await;
    assert_eq!(s, StatusCode::OK);
    assert!(String::from_utf8_lossy(&sasaki).contains("佐</text>"));

    // Password reset by the administrator: a new mail, a forced change, sessions ended.
    let (s, v) = app.post(&t("/users/A1533602/password-reset"), Some(&a1_token), json!({})).await;
    assert_eq!((s, v["sent_to"].as_str()), (StatusCode::OK, Some("ito@a15336.example.jp")), "{v}");
    let (s, _) = app.get(&t("/users/A1533602"), Some(&a2_token)).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "the old session is gone");
    let mails: Vec<Value> = app
        .mails_to("ito@a15336.example.jp")
        .await
        .into_iter()
        .filter(|m| m["subject"].as_str().is_some_and(|s| s.contains("ユーザー登録通知")))
        .collect();
    assert_eq!(mails.len(), 2);
    let new_pw = initial_password(mails[0]["body"].as_str().unwrap_or_default());
    assert_ne!(new_pw, a2_pw);
    let (s, v) = app.login("HXOS2", "A1533602", &new_pw).await;
    assert_eq!((s, v["password_change_required"].as_bool()), (StatusCode::OK, Some(true)), "{v}");
    let (s, _) = app.login("HXOS2", "A1533602", NEW_PW).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);

    // Suspension ends the sessions and blocks login; reactivation allows it again.
    let tok3 = {
        let mails = app.mails_to("sasaki@a15336.example.jp").await;
        let registration =
            mails.iter().find(|m| m["subject"] == "【電子契約サービス】 ユーザー登録通知").expect("mail");
        let pw3 = initial_password(registration["body"].as_str().unwrap_or_default());
        app.login_ready("HXOS2", "A1533603", &pw3, NEW_PW).await
    };
    let (s, v) = patch(&app, &t("/users/A1533603"), &a1_token, json!({"status": "suspended"})).await;
    assert_eq!((s, v["status"].as_str()), (StatusCode::OK, Some("suspended")), "{v}");
    let (s, _) = app.get(&t("/users/A1533603"), Some(&tok3)).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, _) = app.login("HXOS2", "A1533603", NEW_PW).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (_, v) = app.get(&t("/users?status=suspended"), Some(&admin)).await;
    assert_eq!(ids(&v), ["A1533603"]);
    let (s, _) = patch(&app, &t("/users/A1533603"), &a1_token, json!({"status": "active", "title": null})).await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = app.login("HXOS2", "A1533603", NEW_PW).await;
    assert_eq!(s, StatusCode::OK);

    // Every change is in the audit log.
    let store = app.services().kernel.store.clone();
    let actions: Vec<String> = store
        .read(|tx| keiyaku_kernel::audit::recent(tx, 10_000))
        .await
        .expect("audit")
        .into_iter()
        .map(|r| r.action)
        .collect();
    for want in [
        "company.create",
        "group.create",
        "group.rename",
        "user.create",
        "user.update",
        "seal.create",
        "delegate.add",
        "delegate.remove",
        "user.password_reset",
        "auth.sessions_revoked",
    ] {
        assert!(actions.iter().any(|a| a == want), "{want} not audited");
    }
    app.stop().await;
}

/// The reproduction of the cross-company delegation: the owner's tenant administrator adding
/// itself (or any owner-side user) as a partner signer's delegate is refused with 403 and
/// writes nothing; a partner user cannot be made an owner signer's delegate either.
#[tokio::test]
async fn delegation_never_crosses_companies() {
    let app = TestApp::demo().await;
    let admin = app.demo_token("HX000001").await;
    let a1 = app.demo_token("A1533601").await;
    let before = state(&app).await;
    for ids in [json!(["HX000001"]), json!(["HX000003"]), json!(["A1533601"])] {
        let (s, v) = app.post(&t("/users/A1533602/delegates"), Some(&admin), json!({"user_ids": ids})).await;
        assert_eq!((s, v["code"].as_str()), (StatusCode::FORBIDDEN, Some("forbidden")), "{ids} {v}");
    }
    let (s, v) = delete(&app, &t("/users/A1533602/delegates/A1533601"), &admin).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{v}");
    // The partner's own administrator cannot pick an owner-side user.
    let (s, v) = app.post(&t("/users/A1533602/delegates"), Some(&a1), json!({"user_ids": ["HX000001"]})).await;
    assert_eq!((s, v["errors"][0]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("user_ids[0]")), "{v}");
    assert_eq!(state(&app).await, before, "a refused delegation wrote something");
    app.stop().await;
}

/// Demo data: the signers' seals (trial: dated), A1533602's delegate, the menu entry.
#[tokio::test]
async fn demo_directory_has_seals_delegate_and_menu() {
    let app = TestApp::demo().await;
    let a1 = app.demo_token("A1533601").await;
    let (s, v) = app.get(&t("/users/A1533602/delegates"), Some(&a1)).await;
    assert_eq!((s, ids(&v)), (StatusCode::OK, vec!["A1533601".to_string()]), "{v}");
    let (s, ct, svg) = raw(&app, &t("/users/A1533602/seal"), &a1).await;
    assert_eq!((s, ct.as_str()), (StatusCode::OK, "image/svg+xml"));
    let svg = String::from_utf8_lossy(&svg).to_string();
    assert!(
        svg.contains(">26.11.25</text>") && svg.contains(">伊藤</text>") && svg.matches("<line").count() == 2,
        "{svg}"
    );
    let admin = app.demo_token("HX000001").await;
    let (s, _, _) = raw(&app, &t("/users/HX000003/seal"), &admin).await;
    assert_eq!(s, StatusCode::OK);
    let (_, me) = app.get(&t("/me"), Some(&a1)).await;
    let menu = me["menus"].as_array().cloned().unwrap_or_default();
    let entry = menu.iter().find(|m| m["path"] == "admin/users").cloned().unwrap_or(Value::Null);
    assert_eq!(entry["label"], "ユーザー管理", "{me}");
    assert_eq!(entry["description"], "電子契約を利用するユーザーを管理します。");
    assert_eq!(entry["admin"], true);
    let plain = app.demo_token("HX000002").await;
    let (_, me) = app.get(&t("/me"), Some(&plain)).await;
    assert!(!me["menus"].as_array().cloned().unwrap_or_default().iter().any(|m| m["path"] == "admin/users"));
    // The OpenAPI document lists every operation, the seal's refusals included.
    let (_, doc) = app.get("/api/openapi.json", None).await;
    let mut op_ids = Vec::new();
    for (_, item) in doc["paths"].as_object().expect("paths") {
        for (_, op) in item.as_object().expect("ops") {
            if let Some(id) = op["operationId"].as_str() {
                op_ids.push(id.to_string());
            }
        }
    }
    for want in [
        "getOrgTree",
        "createCompany",
        "createGroup",
        "updateGroup",
        "listGroupUsers",
        "createUser",
        "suggestUserId",
        "searchUsers",
        "getUser",
        "updateUser",
        "resetPassword",
        "getSeal",
        "replaceSeal",
        "createSeal",
        "deleteSeal",
        "listDelegates",
        "addDelegates",
        "removeDelegate",
    ] {
        assert!(op_ids.iter().any(|i| i == want), "operationId {want} missing");
    }
    let seal = &doc["paths"]["/api/v1/t/{tenant}/users/{user_id}/seal"];
    for m in ["put", "post", "delete"] {
        assert!(seal[m]["responses"]["405"].is_object(), "{m}: {}", seal[m]);
    }
    assert!(seal["get"]["responses"]["200"]["content"]["image/svg+xml"].is_object());
    app.stop().await;
}

// ---------------------------------------------------------------------------------------
// Authorization matrix

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// The caller themself.
    Me,
    /// The caller's own group (another user there).
    OwnGroup,
    /// Another group of the caller's company.
    OtherGroup,
    /// Another company of the tenant.
    OtherCompany,
    /// Another tenant's object, addressed under the caller's tenant.
    OtherTenantId,
    /// Another tenant's path with the caller's token.
    OtherTenantPath,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Probe {
    Tree,
    CreateCompany,
    Search,
    CreateGroup,
    UpdateGroup,
    ListUsers,
    CreateUser,
    SuggestId,
    GetUser,
    UpdateUser,
    ChangeAccess,
    ResetPassword,
    GetSeal,
    ListDelegates,
    AddDelegates,
    RemoveDelegate,
}

struct Who {
    id: &'static str,
    tenant_admin: bool,
    group_admin: bool,
    signer: bool,
    token: String,
    /// (own group, other group of the company, group of another company)
    groups: [String; 3],
    /// Target users: own group, other group, other company (all signers with one delegate).
    users: [&'static str; 3],
    company: String,
    other_company: String,
}

/// The rules, restated independently of the implementation.
fn expected(w: &Who, probe: Probe, kind: Kind) -> u16 {
    if kind == Kind::OtherTenantPath {
        return 401;
    }
    if kind == Kind::OtherTenantId {
        return 404;
    }
    if !w.tenant_admin && kind == Kind::OtherCompany {
        return 404;
    }
    let ta = w.tenant_admin;
    let manages = ta || (w.group_admin && matches!(kind, Kind::OwnGroup | Kind::Me));
    let me = kind == Kind::Me;
    let allowed = match probe {
        Probe::Tree => ta || w.group_admin,
        Probe::CreateCompany | Probe::CreateGroup | Probe::UpdateGroup => ta,
        Probe::Search => ta || w.group_admin || w.signer,
        Probe::ListUsers | Probe::CreateUser | Probe::SuggestId | Probe::UpdateUser => manages,
        Probe::GetUser | Probe::GetSeal | Probe::ListDelegates => me || manages,
        Probe::ChangeAccess | Probe::ResetPassword => manages && !me,
        // Delegation never crosses companies, not even for the tenant administrator.
        Probe::AddDelegates | Probe::RemoveDelegate => kind != Kind::OtherCompany && ((me && w.signer) || manages),
    };
    if !allowed {
        return 403;
    }
    match probe {
        // Probes whose body is invalid: passing authorization shows as 422, nothing written.
        Probe::CreateCompany
        | Probe::CreateGroup
        | Probe::UpdateGroup
        | Probe::CreateUser
        | Probe::UpdateUser
        | Probe::ChangeAccess
        | Probe::AddDelegates => 422,
        Probe::RemoveDelegate => 204,
        _ => 200,
    }
}

struct Fixture {
    other_group: String,
    other_company: String,
    other_user: &'static str,
    other_admin: String,
    /// signer → delegate of every target user
    delegate_of: Vec<(&'static str, &'static str)>,
}

fn request(
    probe: Probe,
    tenant: &str,
    group: &str,
    company: &str,
    user: &str,
    delegate: &str,
) -> (Method, String, Option<Value>) {
    let base = format!("/api/v1/t/{tenant}");
    match probe {
        Probe::Tree => (Method::GET, format!("{base}/org"), None),
        Probe::CreateCompany => {
            (Method::POST, format!("{base}/companies"), Some(json!({"name": "", "vendor_code": "b-1"})))
        }
        Probe::Search => (Method::GET, format!("{base}/users?per_page=200"), None),
        Probe::CreateGroup => {
            (Method::POST, format!("{base}/groups"), Some(json!({"company_id": company, "name": ""})))
        }
        Probe::UpdateGroup => (Method::PATCH, format!("{base}/groups/{group}"), Some(json!({"name": ""}))),
        Probe::ListUsers => (Method::GET, format!("{base}/groups/{group}/users"), None),
        Probe::CreateUser => (
            Method::POST,
            format!("{base}/groups/{group}/users"),
            Some(json!({"user_id": "NEW0001", "name": "", "email": "x"})),
        ),
        Probe::SuggestId => (Method::GET, format!("{base}/groups/{group}/users/next-id"), None),
        Probe::GetUser => (Method::GET, format!("{base}/users/{user}"), None),
        Probe::UpdateUser => (Method::PATCH, format!("{base}/users/{user}"), Some(json!({"email": "not-an-address"}))),
        Probe::ChangeAccess => {
            (Method::PATCH, format!("{base}/users/{user}"), Some(json!({"status": "suspended", "email": "bad"})))
        }
        Probe::ResetPassword => (Method::POST, format!("{base}/users/{user}/password-reset"), Some(json!({}))),
        Probe::GetSeal => (Method::GET, format!("{base}/users/{user}/seal"), None),
        Probe::ListDelegates => (Method::GET, format!("{base}/users/{user}/delegates"), None),
        Probe::AddDelegates => (Method::POST, format!("{base}/users/{user}/delegates"), Some(json!({"user_ids": []}))),
        Probe::RemoveDelegate => (Method::DELETE, format!("{base}/users/{user}/delegates/{delegate}"), None),
    }
}

#[tokio::test]
async fn authorization_matrix() {
    let app = TestApp::demo().await;
    let admin = app.demo_token("HX000001").await;
    let (_, org) = app.get(&t("/org"), Some(&admin)).await;
    let owner = company_id(&org, "オリエンタル白石株式会社");
    let partner = company_id(&org, "アイテックコンサルタント株式会社");
    let g_admin = group_id(&org, "オリエンタル白石株式会社", "本社 管理部");
    let g_tokyo = group_id(&org, "オリエンタル白石株式会社", "東京支店");
    let g_root = group_id(&org, "オリエンタル白石株式会社", "本社");
    let p_root = group_id(&org, "アイテックコンサルタント株式会社", "本社");
    let (s, v) = app.post(&t("/groups"), Some(&admin), json!({"company_id": partner, "name": "大阪事業所"})).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let p_osaka = v["id"].as_str().expect("id").to_string();

    // Target signers (not callers), each with one delegate; an owner group administrator.
    let targets = [
        (&g_admin, "HX000021", "HX000022"),
        (&g_tokyo, "HX000031", "HX000032"),
        (&g_root, "HX000041", "HX000042"),
        (&p_root, "A1533603", "A1533604"),
        (&p_osaka, "A1533605", "A1533606"),
    ];
    for (group, signer, delegate) in targets {
        for (id, roles) in [(signer, json!(["signer"])), (delegate, json!(["person_in_charge"]))] {
            create_user(&app, &admin, group, json!({"user_id": id, "name": format!("対象 {id}"), "email": format!("{id}@example.jp"), "roles": roles})).await;
        }
        // Fixture links, set without a caller (the partner's side is not the admin's to set).
        let (signer, delegate) = (signer.to_string(), delegate.to_string());
        app.services()
            .kernel
            .store
            .write(move |tx| {
                keiyaku_users::delegates::link(tx, &keiyaku_kernel::Actor::system(), "HXOS2", &signer, &delegate)
            })
            .await
            .expect("delegate link");
    }
    create_user(
        &app,
        &admin,
        &g_tokyo,
        json!({"user_id": "HX000010", "name": "東 京子", "email": "azuma@example.jp", "roles": ["group_admin"]}),
    )
    .await;
    let pw = initial_password(
        app.last_mail_to("azuma@example.jp").await.expect("mail")["body"].as_str().unwrap_or_default(),
    );
    let oga_token = app.login_ready("HXOS2", "HX000010", &pw, NEW_PW).await;
    // HX000003 (owner signer) gets a delegate of the own group to remove.
    let (s, v) = app.post(&t("/users/HX000003/delegates"), Some(&admin), json!({"user_ids": ["HX000042"]})).await;
    assert_eq!(s, StatusCode::OK, "{v}");

    // Another tenant with its own administrator, group and user.
    let dm_pw = app.create_tenant("DMOEX", "DM000001", "dm@example.jp").await;
    let dm_admin = app.login_ready("DMOEX", "DM000001", &dm_pw, NEW_PW).await;
    let (_, dm_org) = app.get("/api/v1/t/DMOEX/org", Some(&dm_admin)).await;
    let dm_company = dm_org["companies"][0]["company"]["id"].as_str().expect("id").to_string();
    let dm_root = dm_org["companies"][0]["groups"][0]["id"].as_str().expect("id").to_string();
    let (s, v) = app
        .post(
            &format!("/api/v1/t/DMOEX/groups/{dm_root}/users"),
            Some(&dm_admin),
            json!({"user_id": "DM000002", "name": "他社 署名者", "email": "dm2@example.jp", "roles": ["signer"]}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let fx = Fixture {
        other_group: dm_root,
        other_company: dm_company,
        other_user: "DM000002",
        other_admin: dm_admin,
        delegate_of: targets
            .iter()
            .map(|(_, s, d)| (*s, *d))
            .chain([("HX000003", "HX000042"), ("A1533602", "A1533601")])
            .collect(),
    };

    let callers = vec![
        Who {
            id: "HX000001",
            tenant_admin: true,
            group_admin: true,
            signer: false,
            token: admin.clone(),
            groups: [g_admin.clone(), g_tokyo.clone(), p_root.clone()],
            users: ["HX000021", "HX000031", "A1533603"],
            company: owner.clone(),
            other_company: partner.clone(),
        },
        Who {
            id: "HX000010",
            tenant_admin: false,
            group_admin: true,
            signer: false,
            token: oga_token,
            groups: [g_tokyo.clone(), g_admin.clone(), p_root.clone()],
            users: ["HX000031", "HX000021", "A1533603"],
            company: owner.clone(),
            other_company: partner.clone(),
        },
        Who {
            id: "HX000002",
            tenant_admin: false,
            group_admin: false,
            signer: false,
            token: app.demo_token("HX000002").await,
            groups: [g_tokyo.clone(), g_admin.clone(), p_root.clone()],
            users: ["HX000031", "HX000021", "A1533603"],
            company: owner.clone(),
            other_company: partner.clone(),
        },
        Who {
            id: "HX000003",
            tenant_admin: false,
            group_admin: false,
            signer: true,
            token: app.demo_token("HX000003").await,
            groups: [g_root.clone(), g_tokyo.clone(), p_root.clone()],
            users: ["HX000041", "HX000031", "A1533603"],
            company: owner.clone(),
            other_company: partner.clone(),
        },
        Who {
            id: "A1533601",
            tenant_admin: false,
            group_admin: true,
            signer: false,
            token: app.demo_token("A1533601").await,
            groups: [p_root.clone(), p_osaka.clone(), g_tokyo.clone()],
            users: ["A1533603", "A1533605", "HX000031"],
            company: partner.clone(),
            other_company: owner.clone(),
        },
        Who {
            id: "A1533602",
            tenant_admin: false,
            group_admin: false,
            signer: true,
            token: app.demo_token("A1533602").await,
            groups: [p_root.clone(), p_osaka.clone(), g_tokyo.clone()],
            users: ["A1533603", "A1533605", "HX000031"],
            company: partner.clone(),
            other_company: owner.clone(),
        },
    ];

    let mut checked = 0;
    let mut denied = 0;
    let mut baseline = state(&app).await;
    for w in &callers {
        let mut cases: Vec<(Probe, Kind)> = vec![
            (Probe::Tree, Kind::OwnGroup),
            (Probe::CreateCompany, Kind::OwnGroup),
            (Probe::Search, Kind::OwnGroup),
            (Probe::CreateGroup, Kind::OwnGroup),
            (Probe::CreateGroup, Kind::OtherCompany),
        ];
        for probe in [Probe::UpdateGroup, Probe::ListUsers, Probe::CreateUser, Probe::SuggestId] {
            for kind in
                [Kind::OwnGroup, Kind::OtherGroup, Kind::OtherCompany, Kind::OtherTenantId, Kind::OtherTenantPath]
            {
                cases.push((probe, kind));
            }
        }
        for probe in [
            Probe::GetUser,
            Probe::UpdateUser,
            Probe::ChangeAccess,
            Probe::ResetPassword,
            Probe::GetSeal,
            Probe::ListDelegates,
            Probe::AddDelegates,
            Probe::RemoveDelegate,
        ] {
            for kind in [
                Kind::Me,
                Kind::OwnGroup,
                Kind::OtherGroup,
                Kind::OtherCompany,
                Kind::OtherTenantId,
                Kind::OtherTenantPath,
            ] {
                let me_without_seal = kind == Kind::Me
                    && !w.signer
                    && matches!(probe, Probe::GetSeal | Probe::AddDelegates | Probe::RemoveDelegate);
                if !me_without_seal {
                    cases.push((probe, kind));
                }
            }
        }
        for (probe, kind) in cases {
            let idx = match kind {
                Kind::OtherGroup => 1,
                Kind::OtherCompany => 2,
                _ => 0,
            };
            let tenant = if kind == Kind::OtherTenantPath { "DMOEX" } else { "HXOS2" };
            let (group, company, user) = match kind {
                Kind::OtherTenantId | Kind::OtherTenantPath => {
                    (fx.other_group.as_str(), fx.other_company.as_str(), fx.other_user)
                }
                Kind::Me => (w.groups[0].as_str(), w.company.as_str(), w.id),
                Kind::OtherCompany => (w.groups[2].as_str(), w.other_company.as_str(), w.users[2]),
                _ => (w.groups[idx].as_str(), w.company.as_str(), w.users[idx]),
            };
            let delegate = fx.delegate_of.iter().find(|(s, _)| *s == user).map(|(_, d)| *d).unwrap_or("DM000001");
            let (method, path, body) = request(probe, tenant, group, company, user, delegate);
            let want = expected(w, probe, kind);
            let (status, v) = app.call(method.clone(), &path, Some(&w.token), body).await;
            assert_eq!(status.as_u16(), want, "{} {probe:?} {kind:?}: {method} {path} → {v}", w.id);
            assert_eq!(
                v.is_null(),
                status == StatusCode::NO_CONTENT || (probe == Probe::GetSeal && status == StatusCode::OK),
                "{v}"
            );
            if want >= 400 && want != 422 {
                assert!(v["code"].is_string(), "problem+json: {v}");
            }
            checked += 1;
            let now = state(&app).await;
            if matches!(want, 401 | 403 | 404 | 422) {
                denied += u32::from(want != 422);
                assert_eq!(now, baseline, "{} {probe:?} {kind:?} changed the store", w.id);
            } else if probe == Probe::RemoveDelegate {
                let (signer, delegate) = (user.to_string(), delegate.to_string());
                let code = tenant.to_string();
                app.services()
                    .kernel
                    .store
                    .write(move |tx| {
                        keiyaku_users::delegates::link(tx, &keiyaku_kernel::Actor::system(), &code, &signer, &delegate)
                    })
                    .await
                    .expect("restore");
                baseline = state(&app).await;
            } else {
                baseline = now;
            }
        }
        // Search shows only what the caller may see.
        if expected(w, Probe::Search, Kind::OwnGroup) == 200 {
            let (_, v) = app.get(&t("/users?per_page=200"), Some(&w.token)).await;
            let groups: Vec<&str> =
                v["items"].as_array().into_iter().flatten().filter_map(|u| u["group_id"].as_str()).collect();
            assert!(!groups.is_empty());
            if !w.tenant_admin {
                assert!(groups.iter().all(|g| *g == w.groups[0]), "{}: {v}", w.id);
            } else {
                assert_eq!(v["total"], 16);
            }
        }
        // The tree shows the own company only, except to the tenant administrator.
        if expected(w, Probe::Tree, Kind::OwnGroup) == 200 {
            let (_, v) = app.get(&t("/org"), Some(&w.token)).await;
            let n = v["companies"].as_array().map(Vec::len);
            assert_eq!(n, Some(if w.tenant_admin { 2 } else { 1 }), "{}: {v}", w.id);
            assert_eq!(v["companies"][0]["company"]["id"], w.company.as_str());
        }
    }
    // The other tenant's administrator reaches nothing of HXOS2.
    for probe in [
        Probe::Tree,
        Probe::Search,
        Probe::ListUsers,
        Probe::GetUser,
        Probe::GetSeal,
        Probe::AddDelegates,
        Probe::ResetPassword,
    ] {
        let (method, path, body) = request(probe, "HXOS2", &g_tokyo, &owner, "HX000031", "HX000032");
        let (status, _) = app.call(method, &path, Some(&fx.other_admin), body).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{probe:?}");
        assert_eq!(state(&app).await, baseline);
    }
    // Nobody grants themselves more: a group administrator adding administration.
    let (s, v) =
        patch(&app, &t("/users/A1533601"), &callers[4].token, json!({"roles": ["group_admin", "administration"]}))
            .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{v}");
    let (s, v) =
        patch(&app, &t("/users/HX000031"), &callers[1].token, json!({"roles": ["signer", "administration"]})).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{v}");
    assert_eq!(state(&app).await, baseline);
    assert!(checked > 300, "{checked} cases");
    assert!(denied > 150, "{denied} denied cases");
    app.stop().await;
}

// ---------------------------------------------------------------------------------------
// Validation

#[tokio::test]
async fn validation_errors_in_japanese_and_english() {
    let app = TestApp::demo().await;
    let admin = app.demo_token("HX000001").await;
    let partner_admin = app.demo_token("A1533601").await;
    let (_, org) = app.get(&t("/org"), Some(&admin)).await;
    let root = group_id(&org, "オリエンタル白石株式会社", "本社");
    let users = t(&format!("/groups/{root}/users"));
    let before = state(&app).await;

    // Duplicate user ID, duplicate e-mail (any case): 409 conflict naming the field.
    for (lang, title) in
        [("ja", "このユーザーIDは既に登録されています。"), ("en", "This user ID is already registered.")]
    {
        let (s, v) = call_lang(
            &app,
            Method::POST,
            &users,
            &admin,
            Some(json!({"user_id": "HX000002", "name": "重複", "email": "new@example.jp"})),
            lang,
        )
        .await;
        assert_eq!(s, StatusCode::CONFLICT, "{v}");
        assert_eq!((v["code"].as_str(), v["title"].as_str()), (Some("conflict"), Some(title)));
        assert_eq!(v["errors"][0]["field"], "user_id");
    }
    for (lang, title) in
        [("ja", "このメールアドレスは既に登録されています。"), ("en", "This e-mail address is already registered.")]
    {
        let (s, v) = call_lang(
            &app,
            Method::POST,
            &users,
            &admin,
            Some(json!({"user_id": "HX000099", "name": "重複", "email": "SATO@hxos2.example.jp"})),
            lang,
        )
        .await;
        assert_eq!(s, StatusCode::CONFLICT, "{v}");
        assert_eq!((v["code"].as_str(), v["title"].as_str()), (Some("conflict"), Some(title)));
        assert_eq!(v["errors"][0]["field"], "email");
    }
    let (s, v) = app.post(&t("/companies"), Some(&admin), json!({"name": "別会社", "vendor_code": "A15336"})).await;
    assert_eq!((s, v["errors"][0]["field"].as_str()), (StatusCode::CONFLICT, Some("vendor_code")), "{v}");
    let (s, v) = patch(&app, &t("/users/HX000002"), &admin, json!({"email": "horii@hxos2.example.jp"})).await;
    assert_eq!((s, v["errors"][0]["field"].as_str()), (StatusCode::CONFLICT, Some("email")), "{v}");

    // Bad e-mail, empty name, unknown role, over-long fields: 422 with every field.
    let bad = json!({
        "user_id": "X".repeat(33), "name": "   ", "email": "not-an-address",
        "sub_emails": ["ok@example.jp", "bad address"], "roles": ["signer", "superuser"], "title": "長".repeat(101),
    });
    let mut messages = Vec::new();
    for lang in ["ja", "en"] {
        let (s, v) = call_lang(&app, Method::POST, &users, &admin, Some(bad.clone()), lang).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
        assert_eq!(v["code"], "validation_failed");
        let fields: Vec<(&str, &str)> = v["errors"]
            .as_array()
            .expect("errors")
            .iter()
            .map(|e| (e["field"].as_str().unwrap_or_default(), e["code"].as_str().unwrap_or_default()))
            .collect();
        assert_eq!(
            fields,
            [
                ("user_id", "too_long"),
                ("name", "required"),
                ("email", "invalid_email"),
                ("sub_emails[1]", "invalid_email"),
                ("title", "too_long"),
                ("roles", "unknown_value"),
            ]
        );
        messages.push(v["errors"].clone());
    }
    assert_eq!(messages[0][1]["message"], "必須項目です。");
    assert_eq!(messages[1][1]["message"], "This field is required.");
    assert_eq!(messages[0][5]["message"], "「superuser」は指定できません。");
    assert_eq!(messages[1][0]["message"], "Use at most 32 characters.");

    let long_name = "名".repeat(101);
    let cases: Vec<(Method, String, Value, &str)> = vec![
        (Method::PATCH, t("/users/HX000002"), json!({"name": long_name, "roles": ["approver", "nope"]}), "roles"),
        (Method::PATCH, t("/users/HX000002"), json!({"status": "deleted"}), "status"),
        (
            Method::PATCH,
            t("/users/HX000002"),
            json!({"sub_emails": ["a@b.jp", "c@d.jp", "e@f.jp", "g@h.jp", "i@j.jp", "k@l.jp"]}),
            "sub_emails",
        ),
        (Method::PATCH, t("/users/A1533601"), json!({"roles": ["group_admin", "administration"]}), "roles"),
        (Method::POST, t("/companies"), json!({"name": "", "vendor_code": "a-1"}), "name"),
        (Method::POST, t("/groups"), json!({"company_id": "nope", "name": "x"}), "company_id"),
        (Method::POST, t("/users/HX000003/delegates"), json!({"user_ids": ["GHOST1", "HX000003"]}), "user_ids[0]"),
        (Method::POST, t("/users/HX000003/delegates"), json!({"user_ids": []}), "user_ids"),
    ];
    for (method, path, body, field) in cases {
        for lang in ["ja", "en"] {
            let (s, v) = call_lang(&app, method.clone(), &path, &admin, Some(body.clone()), lang).await;
            assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{method} {path} {body}: {v}");
            assert!(v["errors"].as_array().into_iter().flatten().any(|e| e["field"] == field), "{field}: {v}");
            let title = v["title"].as_str().unwrap_or_default();
            assert_eq!(title == "Some fields are invalid.", lang == "en", "{v}");
        }
    }
    let (s, v) =
        app.post(&t("/users/HX000003/delegates"), Some(&admin), json!({"user_ids": ["GHOST1", "HX000003"]})).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(v["errors"][0]["message"], "「GHOST1」は指定できません。");
    assert_eq!(v["errors"][1]["code"], "self");
    let (s, v) =
        app.post(&t("/users/A1533602/delegates"), Some(&partner_admin), json!({"user_ids": ["A1533601"]})).await;
    assert_eq!((s, v["code"].as_str()), (StatusCode::CONFLICT, Some("conflict")), "an existing delegate: {v}");
    let (s, v) = app.post(&t("/users/HX000002/delegates"), Some(&admin), json!({"user_ids": ["A1533601"]})).await;
    assert_eq!((s, v["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("not_signer")), "{v}");

    // Paging and search limits; malformed bodies; unknown things.
    for q in ["/users?per_page=201", "/users?page=0", "/users?status=gone"] {
        let (s, v) = app.get(&t(q), Some(&admin)).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{q}: {v}");
    }
    let (s, _) = app.get(&t(&format!("/users?q={}", "x".repeat(101))), Some(&admin)).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    for (method, path) in
        [(Method::POST, users.clone()), (Method::PATCH, t("/users/HX000002")), (Method::POST, t("/groups"))]
    {
        let resp = app
            .client
            .request(method.clone(), app.url(&path))
            .bearer_auth(&admin)
            .header("content-type", "application/json")
            .body("{not json")
            .send()
            .await
            .expect("send");
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST, "{method} {path}");
    }
    for path in ["/users/NOBODY", "/users/NOBODY/seal", "/users/HX000002/seal", "/groups/nope/users"] {
        let (s, v) = app.get(&t(path), Some(&admin)).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{path}: {v}");
    }
    let (s, v) = app.get(&t(&format!("/users/{}", "%F0%9F%92%A5".repeat(500))), Some(&admin)).await;
    assert!(s.is_client_error(), "{s} {v}");
    assert_eq!(state(&app).await, before, "nothing was written");
    app.stop().await;
}
