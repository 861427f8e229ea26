//! Issue: foundation — health, OpenAPI, tenants, login, forced change, lockout, sessions,
//! and bad input over real HTTPS.

use crate::common::*;
use jiff::SignedDuration;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

#[tokio::test]
async fn health_and_openapi_document() {
    let app = TestApp::start().await;
    let (s, v) = app.get("/healthz", None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["status"], "ok");
    assert_eq!(v["version"], env!("CARGO_PKG_VERSION"));

    let (s, doc) = app.get("/api/openapi.json", None).await;
    assert_eq!(s, StatusCode::OK);
    assert!(doc["openapi"].as_str().unwrap_or_default().starts_with("3."), "{}", doc["openapi"]);
    let mut ids = Vec::new();
    for (_, item) in doc["paths"].as_object().expect("paths") {
        for (_, op) in item.as_object().expect("ops") {
            if let Some(id) = op["operationId"].as_str() {
                ids.push(id.to_string());
            }
        }
    }
    for want in [
        "health",
        "operatorLogin",
        "createTenant",
        "listTenants",
        "login",
        "changePassword",
        "logout",
        "me",
        "listMail",
    ] {
        assert!(ids.iter().any(|i| i == want), "operationId {want} missing from {ids:?}");
    }
    assert!(doc["paths"]["/api/v1/t/{tenant}/auth/login"].is_object());
    let docs = app.client.get(app.url("/api/docs")).send().await.expect("docs");
    assert_eq!(docs.status(), StatusCode::OK);
    app.stop().await;
}

#[tokio::test]
async fn tenant_login_forced_change_me_lockout_logout() {
    let app = TestApp::start().await;
    let op = app.operator_token().await;

    // The operator creates tenant HXOS2; the admin's registration mail has the password.
    let password = app.create_tenant("HXOS2", "HX000001", "horii@example.jp").await;
    let mail = app.last_mail_to("horii@example.jp").await.expect("mail");
    assert_eq!(mail["subject"], "【電子契約サービス】 ユーザー登録通知");
    let body = mail["body"].as_str().unwrap_or_default();
    assert!(body.contains("堀井 裕蔵様"), "{body}");
    assert!(body.contains("ユーザーID: HX000001"), "{body}");
    assert!(
        body.contains(&format!("{}/t/HXOS2/login", "https://localhost:")) || body.contains("/t/HXOS2/login"),
        "{body}"
    );
    let (s, v) = app.get("/api/v1/operator/tenants", Some(&op)).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["items"][0]["code"], "HXOS2");
    // Creating it again conflicts.
    let (s, v) = app
        .post(
            "/api/v1/operator/tenants",
            Some(&op),
            json!({"code": "HXOS2", "owner_company": {"name": "x"}, "admin": {"user_id": "X1", "name": "x", "email": "x@example.jp"}}),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "{v}");
    assert_eq!(v["code"], "conflict");

    // Login by user ID: the password must be changed first.
    let (s, v) = app.login("HXOS2", "HX000001", &password).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["password_change_required"], true);
    let token = v["token"].as_str().expect("token").to_string();
    let (s, v) = app.get("/api/v1/t/HXOS2/me", Some(&token)).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert_eq!(v["code"], "password_change_required");

    // Policy violations are explained; the right change succeeds.
    let (s, v) = app
        .post(
            "/api/v1/t/HXOS2/auth/password",
            Some(&token),
            json!({"current_password": password, "new_password": "short"}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(v["errors"][0]["field"], "new_password");
    let (s, v) = app
        .post(
            "/api/v1/t/HXOS2/auth/password",
            Some(&token),
            json!({"current_password": "wrong", "new_password": "NewPass123"}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(v["errors"][0]["code"], "wrong_password");
    let (s, _) = app
        .post(
            "/api/v1/t/HXOS2/auth/password",
            Some(&token),
            json!({"current_password": password, "new_password": "NewPass123"}),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, me) = app.get("/api/v1/t/HXOS2/me", Some(&token)).await;
    assert_eq!(s, StatusCode::OK, "{me}");
    assert_eq!(me["user"]["user_id"], "HX000001");
    assert_eq!(me["company"]["name"], "オリエンタル白石株式会社");
    assert_eq!(me["last_login_at"], Value::Null, "first login has no previous login");
    let first_login = "2026-11-25T10:00:00+09:00";

    // Second login, by e-mail (any case), an hour later: `me` shows the first login time.
    app.clock.advance(SignedDuration::from_hours(1));
    let (s, v) = app.login("HXOS2", "Horii@Example.JP", "NewPass123").await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["password_change_required"], false);
    let token2 = v["token"].as_str().expect("token").to_string();
    let (_, me) = app.get("/api/v1/t/HXOS2/me", Some(&token2)).await;
    assert_eq!(me["last_login_at"], first_login);
    // The old password no longer works.
    let (s, v) = app.login("HXOS2", "HX000001", &password).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert_eq!(v["code"], "invalid_credentials");

    // Unknown users and wrong passwords get the same answer.
    let (s1, v1) = app.login("HXOS2", "nobody", "NewPass123").await;
    let (s2, v2) = app.login("HXOS2", "HX000001", "wrong-password1").await;
    assert_eq!((s1, s2), (StatusCode::UNAUTHORIZED, StatusCode::UNAUTHORIZED));
    assert_eq!(v1["title"], v2["title"]);

    // Logout revokes the token.
    let (s, _) = app.post("/api/v1/t/HXOS2/auth/logout", Some(&token2), json!({})).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, v) = app.get("/api/v1/t/HXOS2/me", Some(&token2)).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert_eq!(v["code"], "unauthorized");

    // Five wrong passwords lock the account (for this client) even for the right one.
    // Two failures so far; two more by e-mail (same account), then the fifth locks.
    for _ in 0..2 {
        let (s, _) = app.login("HXOS2", "horii@example.jp", "wrong-password1").await;
        assert_eq!(s, StatusCode::UNAUTHORIZED);
    }
    let (s, v) = app.login("HXOS2", "HX000001", "wrong-password1").await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS, "{v}");
    assert_eq!(v["code"], "rate_limited");
    let (s, _) = app.login("HXOS2", "HX000001", "NewPass123").await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS, "locked even with the right password");
    // Each failed attempt is audited once; attempts refused by the lock write nothing.
    let audit_len = async || app.services().kernel.store.read(keiyaku_kernel::audit::all).await.expect("audit").len();
    let before = audit_len().await;
    for _ in 0..3 {
        let (s, _) = app.login("HXOS2", "HX000001", "wrong-password1").await;
        assert_eq!(s, StatusCode::TOO_MANY_REQUESTS);
    }
    assert_eq!(audit_len().await, before, "a locked account's attempts write nothing");
    // Unknown login names lock the same way (no account enumeration).
    for _ in 0..4 {
        app.login("HXOS2", "ghost@example.jp", "x1234567").await;
    }
    let (s, _) = app.login("HXOS2", "ghost@example.jp", "x1234567").await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS);
    // After 15 minutes the lock is gone.
    app.clock.advance(SignedDuration::from_mins(16));
    let (s, _) = app.login("HXOS2", "HX000001", "NewPass123").await;
    assert_eq!(s, StatusCode::OK);
    app.stop().await;
}

#[tokio::test]
async fn sessions_expire_when_idle() {
    let app = TestApp::demo().await;
    let token = app.demo_token("A1533601").await;
    let (s, me) = app.get("/api/v1/t/HXOS2/me", Some(&token)).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(me["company"]["name"], "アイテックコンサルタント株式会社");
    assert!(me["menus"].is_array());
    app.clock.advance(SignedDuration::from_mins(59));
    let (s, _) = app.get("/api/v1/t/HXOS2/me", Some(&token)).await;
    assert_eq!(s, StatusCode::OK, "59 minutes of idleness is allowed");
    app.clock.advance(SignedDuration::from_mins(61));
    let (s, v) = app.get("/api/v1/t/HXOS2/me", Some(&token)).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "{v}");
    // A token of one tenant is useless on another.
    let token = app.demo_token("A1533601").await;
    let (s, _) = app.get("/api/v1/t/OTHER/me", Some(&token)).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    app.stop().await;
}

#[tokio::test]
async fn errors_follow_accept_language() {
    let app = TestApp::demo().await;
    let resp = app
        .client
        .post(app.url("/api/v1/t/HXOS2/auth/login"))
        .header("accept-language", "en-US,en;q=0.9")
        .json(&json!({"login": "HX000001", "password": "wrong"}))
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(resp.headers()["content-type"], "application/problem+json");
    let v: Value = resp.json().await.expect("json");
    assert_eq!(v["title"], "The user ID (e-mail) or password is incorrect.");
    let (_, v) = app.login("HXOS2", "HX000001", "wrong").await;
    assert_eq!(v["title"], "ユーザーID(メールアドレス)またはパスワードが正しくありません。");
    app.stop().await;
}

/// Bad input: 4xx problem+json, never 5xx, and nothing written.
#[tokio::test]
async fn bad_input_is_refused_without_changes() {
    let app = TestApp::demo().await;
    let op = app.operator_token().await;
    let before = app.snapshot().await;
    let huge = "あ".repeat(1_000_000 / 3);
    let cases: Vec<(Method, String, Option<String>, Option<String>)> = vec![
        (Method::POST, "/api/v1/operator/tenants".into(), Some(op.clone()), Some("{not json".into())),
        (Method::POST, "/api/v1/operator/tenants".into(), Some(op.clone()), Some("{}".into())),
        (Method::POST, "/api/v1/operator/tenants".into(), Some(op.clone()), Some(json!({"code": "ok1"}).to_string())),
        (
            Method::POST,
            "/api/v1/operator/tenants".into(),
            Some(op.clone()),
            Some(json!({"code": "BIG", "owner_company": {"name": huge}, "admin": {"user_id": "B1", "name": "b", "email": "b@example.jp"}}).to_string()),
        ),
        (
            Method::POST,
            "/api/v1/operator/tenants".into(),
            Some(op.clone()),
            Some(json!({"code": "bad code!", "owner_company": {"name": ""}, "admin": {"user_id": "ä", "name": "", "email": "nope"}}).to_string()),
        ),
        (Method::POST, "/api/v1/operator/tenants".into(), Some("forged-token".into()), Some(json!({}).to_string())),
        (Method::POST, "/api/v1/operator/tenants".into(), None, Some(json!({}).to_string())),
        (Method::GET, "/api/v1/operator/tenants".into(), Some("x".repeat(5000)), None),
        (Method::POST, "/api/v1/t/NOPE/auth/login".into(), None, Some(json!({"login": "a", "password": "b"}).to_string())),
        (Method::POST, "/api/v1/t/HXOS2/auth/login".into(), None, Some("[]".into())),
        (Method::POST, "/api/v1/t/HXOS2/auth/login".into(), None, Some(json!({"login": 5}).to_string())),
        (Method::GET, "/api/v1/t/HXOS2/me".into(), Some("not-a-token".into()), None),
        (Method::GET, "/api/v1/t/HXOS2/me".into(), None, None),
        (Method::POST, "/api/v1/t/HXOS2/auth/password".into(), Some("bad".into()), Some(json!({}).to_string())),
        (Method::GET, "/api/v1/t/HXOS2/no-such-thing".into(), None, None),
        (Method::DELETE, "/healthz".into(), None, None),
        (Method::POST, "/api/v1/operator/login".into(), None, Some(format!("{{\"password\": \"{}\"}}", "p".repeat(9_000_000)))),
    ];
    for (method, path, token, body) in cases {
        let mut req = app.client.request(method.clone(), app.url(&path)).header("content-type", "application/json");
        if let Some(t) = &token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.body(b);
        }
        let resp = req.send().await.expect("send");
        let status = resp.status();
        let ct = resp.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
        let v: Value = resp.json().await.unwrap_or(Value::Null);
        assert!(status.is_client_error(), "{method} {path}: {status} {v}");
        assert_eq!(ct, "application/problem+json", "{method} {path}");
        assert_eq!(v["status"], status.as_u16(), "{method} {path}: {v}");
        assert!(v["code"].is_string() && v["title"].is_string(), "{v}");
    }
    // Validation errors list every field.
    let (s, v) = app
        .post(
            "/api/v1/operator/tenants",
            Some(&op),
            json!({"code": "bad code!", "owner_company": {"name": ""}, "admin": {"user_id": "ä", "name": "", "email": "nope"}}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let fields: Vec<&str> =
        v["errors"].as_array().expect("errors").iter().filter_map(|e| e["field"].as_str()).collect();
    for f in ["code", "owner_company.name", "admin.user_id", "admin.name", "admin.email"] {
        assert!(fields.contains(&f), "{f} missing in {fields:?}");
    }
    let after = app.snapshot().await;
    // Failed logins are audited by design; everything else is unchanged.
    let strip = |s: &str| s.split(';').filter(|p| !p.starts_with("audit=")).collect::<Vec<_>>().join(";");
    assert_eq!(strip(&before), strip(&after));
    app.stop().await;
}

#[tokio::test]
async fn security_headers_on_every_response() {
    let app = TestApp::start().await;
    for path in ["/healthz", "/api/v1/t/X/me"] {
        let resp = app.client.get(app.url(path)).send().await.expect("send");
        let h = resp.headers();
        assert!(h.get("strict-transport-security").is_some(), "{path}");
        assert_eq!(h.get("x-content-type-options").and_then(|v| v.to_str().ok()), Some("nosniff"));
        let csp = h.get("content-security-policy").and_then(|v| v.to_str().ok()).unwrap_or_default();
        assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    }
    app.stop().await;
}

#[tokio::test]
async fn plain_http_only_redirects_when_configured() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("port");
    let app = TestApp::start_with(|c| c.server.http_redirect_listen = Some(format!("127.0.0.1:{port}"))).await;
    let plain = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("client");
    let resp = plain.get(format!("http://127.0.0.1:{port}/t/HXOS2/login?x=1")).send().await.expect("send");
    assert!(resp.status().is_redirection(), "{}", resp.status());
    let location = resp.headers()["location"].to_str().unwrap_or_default().to_string();
    let https_port = app.base.rsplit(':').next().unwrap_or_default();
    assert_eq!(location, format!("https://127.0.0.1:{https_port}/t/HXOS2/login?x=1"));
    app.stop().await;
}

#[tokio::test]
async fn request_ids_and_metrics() {
    let app = TestApp::start().await;
    let resp = app.client.get(app.url("/healthz")).header("x-request-id", "trace-42").send().await.expect("send");
    assert_eq!(resp.headers()["x-request-id"], "trace-42");
    let resp = app.client.get(app.url("/healthz")).header("x-request-id", "bad id!").send().await.expect("send");
    let id = resp.headers()["x-request-id"].to_str().unwrap_or_default().to_string();
    assert_eq!(id.len(), 32, "a fresh id replaces an unusable one");
    let _ = app.get("/api/v1/t/NOPE/me", None).await;
    let text = app.client.get(app.url("/metrics")).send().await.expect("send").text().await.expect("text");
    assert!(text.contains("keiyaku_http_requests_total{class=\"2xx\"} 2"), "{text}");
    assert!(text.contains("keiyaku_http_requests_total{class=\"4xx\"} 1"), "{text}");
    assert!(text.contains("keiyaku_http_request_duration_seconds_count 3"), "{text}");
    assert!(text.contains("keiyaku_db_size_bytes"), "{text}");
    app.stop().await;
}

/// The domain crates know nothing of HTTP: only the transport (`keiyaku-web`) and the binary
/// depend on poem and poem-openapi. `.ci/run` checks the resolved graph with `cargo tree`.
#[test]
fn http_stays_out_of_the_domain_crates() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut checked = Vec::new();
    for entry in std::fs::read_dir(root.join("modules")).unwrap() {
        let dir = entry.unwrap().path();
        let Ok(manifest) = std::fs::read_to_string(dir.join("Cargo.toml")) else { continue };
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        // Every dependency table: [dependencies], [dev-dependencies], [target.….dependencies].
        let mut in_deps = false;
        let mut http: Vec<String> = Vec::new();
        for line in manifest.lines().map(str::trim) {
            if line.starts_with('[') {
                in_deps = line.trim_matches(['[', ']']).ends_with("dependencies");
                continue;
            }
            let dep = line.split(['=', '.', ' ']).next().unwrap_or("");
            if in_deps && (dep == "poem" || dep == "poem-openapi") {
                http.push(dep.to_string());
            }
        }
        if name == "web" {
            assert_eq!(http, ["poem", "poem-openapi"], "the transport crate is where HTTP lives");
        } else {
            assert!(http.is_empty(), "modules/{name} depends on {http:?}: HTTP belongs in modules/web/src/api");
        }
        checked.push(name);
    }
    checked.sort();
    assert_eq!(
        checked,
        ["auth", "certs", "contracts", "font", "integrations", "kernel", "pades", "support", "users", "web"]
    );
}

/// The `.rs` files under `dir`, recursively.
fn rust_files(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for entry in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                todo.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

/// The production part of a source file: test files and `#[cfg(test)]` modules are left out.
fn production_source(path: &std::path::Path) -> String {
    let name = path.file_name().unwrap().to_string_lossy();
    if name.contains("tests") {
        return String::new();
    }
    let text = std::fs::read_to_string(path).unwrap();
    match text.find("#[cfg(test)]\nmod ") {
        Some(at) => text[..at].to_string(),
        None => text,
    }
}

/// Each module owns its tables: a table name is declared by one crate, and no crate's code names
/// another crate's table constant; what crosses a module goes through its functions
/// (`directory::list_users`, `keiyaku_auth::credential`, `audit::all`, …). Tests may look.
#[test]
fn each_module_owns_its_tables() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    // crate (as written in paths) → its table constants; table name → declaring crate.
    let mut consts: Vec<(String, Vec<String>)> = Vec::new();
    let mut names: Vec<(String, String, String)> = Vec::new();
    let mut crates: Vec<(String, std::path::PathBuf)> = vec![("keiyaku".into(), root.join("src"))];
    for entry in std::fs::read_dir(root.join("modules")).unwrap().flatten() {
        let dir = entry.path();
        let krate = format!("keiyaku_{}", dir.file_name().unwrap().to_string_lossy());
        crates.push((krate, dir.join("src")));
    }
    for (krate, src) in &crates {
        let mut mine = Vec::new();
        for file in rust_files(src) {
            for line in std::fs::read_to_string(&file).unwrap().lines() {
                let Some(rest) =
                    line.trim().trim_start_matches("pub ").trim_start_matches("pub(crate) ").strip_prefix("const ")
                else {
                    continue;
                };
                let Some((name, ty)) = rest.split_once(':') else { continue };
                if !ty.trim_start().starts_with("Table<") {
                    continue;
                }
                mine.push(name.trim().to_string());
                if let Some(table) = ty.split("Table::new(\"").nth(1).and_then(|t| t.split('"').next()) {
                    names.push((table.to_string(), krate.clone(), file.display().to_string()));
                }
            }
        }
        consts.push((krate.clone(), mine));
    }
    names.sort();
    for pair in names.windows(2) {
        let [a, b] = pair else { continue };
        assert!(a.0 != b.0 || a.1 == b.1, "table {:?} declared by two crates: {} and {}", a.0, a.2, b.2);
    }
    assert!(names.len() > 20, "tables found: {names:?}");

    let mut found = Vec::new();
    for (krate, src) in &crates {
        for file in rust_files(src) {
            let text = production_source(&file);
            for (owner, tables) in consts.iter().filter(|(o, _)| o != krate) {
                let marker = format!("{owner}::");
                for (at, _) in text.match_indices(&marker) {
                    let line_start = text[..at].rfind('\n').map_or(0, |i| i + 1);
                    let is_use = text[line_start..].trim_start().starts_with("use ")
                        || text[line_start..].trim_start().starts_with("pub use ");
                    let rest = &text[at + marker.len()..];
                    let span = if is_use {
                        rest.split(';').next().unwrap_or("")
                    } else {
                        let end =
                            rest.find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':')).unwrap_or(rest.len());
                        &rest[..end]
                    };
                    for word in span.split(|c: char| !(c.is_alphanumeric() || c == '_')) {
                        if tables.iter().any(|t| t == word) {
                            found.push(format!("{} names {owner}::{word}", file.display()));
                        }
                    }
                }
            }
        }
    }
    assert!(found.is_empty(), "tables used outside their module:\n{}", found.join("\n"));

    // Only the store opens redb (and the offline integrity check of a database file).
    let mut redb_users: Vec<String> = crates
        .iter()
        .flat_map(|(_, src)| rust_files(src))
        .filter(|f| production_source(f).contains("redb::"))
        .map(|f| f.strip_prefix(root).unwrap().display().to_string())
        .collect();
    redb_users.sort();
    assert_eq!(redb_users, ["modules/kernel/src/store.rs", "src/backup.rs"]);
}

/// `login` and `operatorLogin` say how long the session lasts without use (`expires_in`,
/// seconds, from `auth.session_idle_minutes`), and the session ends then: used just before,
/// it lasts; left alone that long, it answers 401.
#[tokio::test]
async fn logins_say_when_the_session_expires() {
    let app = TestApp::start_with(|c| {
        keiyaku::registry::enable_demo(c);
        c.section_mut::<keiyaku_auth::AuthConfig>().session_idle_minutes = 5;
    })
    .await;
    let (s, v) = app.login("HXOS2", "HX000001", DEMO_PASSWORD).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["expires_in"], 300, "{v}");
    let token = v["token"].as_str().expect("token").to_string();
    let (s, v) =
        app.post("/api/v1/operator/login", None, json!({"login": "operator", "password": OPERATOR_PASSWORD})).await;
    assert_eq!((s, &v["expires_in"]), (StatusCode::OK, &json!(300)), "{v}");

    app.clock.advance(SignedDuration::from_secs(290));
    assert_eq!(app.get("/api/v1/t/HXOS2/me", Some(&token)).await.0, StatusCode::OK, "used within expires_in");
    app.clock.advance(SignedDuration::from_secs(290));
    assert_eq!(app.get("/api/v1/t/HXOS2/me", Some(&token)).await.0, StatusCode::OK, "each use starts it again");
    app.clock.advance(SignedDuration::from_secs(301));
    assert_eq!(app.get("/api/v1/t/HXOS2/me", Some(&token)).await.0, StatusCode::UNAUTHORIZED, "left alone past it");

    let (_, doc) = app.get("/api/openapi.json", None).await;
    let documented = &doc["components"]["schemas"]["LoginResponse"]["properties"]["expires_in"];
    assert_eq!(documented["type"], "integer", "{documented}");
}
