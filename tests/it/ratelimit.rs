//! Request limits: the rate limits per client address and per signed-in account
//! (`[limits]`), and the configurable body and upload sizes (`server.max_body_bytes`,
//! `server.max_upload_bytes`), over real HTTPS.

use crate::common::*;
use jiff::SignedDuration;
use reqwest::{Client, StatusCode, header};
use serde_json::{Value, json};

/// A client that connects from another loopback address (all of 127/8 is local on Linux).
pub fn client_from(app: &TestApp, addr: [u8; 4]) -> Client {
    let cert = reqwest::Certificate::from_pem(app.cert_pem.as_bytes()).expect("cert");
    Client::builder()
        .tls_certs_only([cert])
        .local_address(std::net::IpAddr::from(addr))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

async fn status_of(client: &Client, url: &str, token: Option<&str>) -> StatusCode {
    let mut req = client.get(url);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    req.send().await.expect("request").status()
}

#[tokio::test]
async fn per_client_limit_answers_429_then_refills_and_spares_other_clients() {
    let app = TestApp::start_with(|c| {
        c.limits.requests_per_minute_per_client = 5;
        c.limits.requests_per_minute_per_account = 0;
    })
    .await;
    let url = app.url("/api/v1/t/NOPE1/me");
    for i in 0..5 {
        let s = status_of(&app.client, &url, None).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED, "request {i} passes the limiter");
    }
    // The sixth: problem+json, code rate_limited, in the client's language, with Retry-After.
    let resp = app.client.get(&url).header("accept-language", "en").send().await.expect("request");
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(resp.headers().get(header::RETRY_AFTER).and_then(|v| v.to_str().ok()), Some("12"), "5/min: 12 s");
    // Where the client stands (draft-ietf-httpapi-ratelimit-headers): nothing left, full in a minute.
    let field = |resp: &reqwest::Response, name: &str| {
        resp.headers().get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_string()
    };
    assert_eq!(field(&resp, "ratelimit-policy"), "\"client\";q=5;w=60");
    assert_eq!(field(&resp, "ratelimit"), "\"client\";r=0;t=60");
    let ct = resp.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
    assert!(ct.starts_with("application/problem+json"), "{ct}");
    let v: Value = resp.json().await.expect("json");
    assert_eq!(v["code"], "rate_limited", "{v}");
    assert_eq!(v["status"], 429);
    assert_eq!(v["retry_after"], 12);
    assert_eq!(v["title"], "Too many requests. Please try again later.");
    let resp = app.client.get(&url).header("accept-language", "ja").send().await.expect("request");
    let v: Value = resp.json().await.expect("json");
    assert!(v["title"].as_str().unwrap_or_default().contains("リクエストが多すぎます"), "{v}");

    // A browser gets a page, with the same status and Retry-After.
    let resp = app.client.get(app.url("/")).header("accept", "text/html").send().await.expect("request");
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(resp.headers().contains_key(header::RETRY_AFTER));
    let ct = resp.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
    assert!(ct.starts_with("text/html"), "{ct}");
    let page = resp.text().await.unwrap_or_default();
    assert!(page.contains("429") && page.contains("リクエストが多すぎます"), "{page}");

    // Health checks and metrics are never limited.
    let (s, _) = app.get("/healthz", None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(status_of(&app.client, &app.url("/metrics"), None).await, StatusCode::OK);

    // Another client address is not affected.
    let other = client_from(&app, [127, 0, 0, 2]);
    for _ in 0..5 {
        assert_eq!(status_of(&other, &url, None).await, StatusCode::UNAUTHORIZED);
    }
    assert_eq!(status_of(&other, &url, None).await, StatusCode::TOO_MANY_REQUESTS);

    // After the window the first client may go on (one request per 12 s, a minute's worth at most).
    app.clock.advance(SignedDuration::from_secs(12));
    assert_eq!(status_of(&app.client, &url, None).await, StatusCode::UNAUTHORIZED);
    assert_eq!(status_of(&app.client, &url, None).await, StatusCode::TOO_MANY_REQUESTS);
    app.clock.advance(SignedDuration::from_mins(10));
    for _ in 0..5 {
        assert_eq!(status_of(&app.client, &url, None).await, StatusCode::UNAUTHORIZED);
    }
    assert_eq!(status_of(&app.client, &url, None).await, StatusCode::TOO_MANY_REQUESTS);
    app.stop().await;
}

#[tokio::test]
async fn per_account_limit_covers_every_session_of_the_user_only() {
    let app = TestApp::start_with(|c| {
        keiyaku::registry::enable_demo(c);
        c.limits.requests_per_minute_per_account = 4;
    })
    .await;
    // Logins carry no token: they count against the address only.
    let first = app.demo_token("A1533601").await;
    let second = app.demo_token("A1533601").await;
    let other_user = app.demo_token("HX000001").await;
    let me = app.url("/api/v1/t/HXOS2/me");
    for token in [&first, &second, &first, &second] {
        assert_eq!(status_of(&app.client, &me, Some(token)).await, StatusCode::OK);
    }
    // The fifth request of the account is refused, whichever session and address it comes from.
    let resp = app.client.get(&me).bearer_auth(&first).send().await.expect("request");
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(resp.headers().get(header::RETRY_AFTER).and_then(|v| v.to_str().ok()), Some("15"), "4/min: 15 s");
    let state = resp.headers().get("ratelimit").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
    assert!(state.contains("\"account\";r=0;t=60"), "{state}");
    let policy = resp.headers().get("ratelimit-policy").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
    assert!(policy.starts_with("\"client\";q=") && policy.ends_with(", \"account\";q=4;w=60"), "{policy}");
    let v: Value = resp.json().await.expect("json");
    assert_eq!(v["code"], "rate_limited", "{v}");
    let elsewhere = client_from(&app, [127, 0, 0, 3]);
    assert_eq!(status_of(&elsewhere, &me, Some(&second)).await, StatusCode::TOO_MANY_REQUESTS);
    // A web session (cookie) of the same user counts too.
    #[cfg(feature = "auth")]
    {
        let web = app
            .services()
            .auth
            .login("HXOS2", "A1533601", DEMO_PASSWORD, None, keiyaku_auth::SessionKind::Web)
            .await
            .expect("web login");
        let keiyaku_auth::Login::Session(web) = web else { panic!("no authenticator in the demo") };
        let resp = app
            .client
            .get(app.url("/t/HXOS2/"))
            .header("accept", "text/html")
            .header("cookie", format!("keiyaku_session={}", web.token))
            .send()
            .await
            .expect("request");
        assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
    }

    // Other accounts and anonymous requests from the same address go on.
    for _ in 0..4 {
        assert_eq!(status_of(&app.client, &me, Some(&other_user)).await, StatusCode::OK);
    }
    let (s, _) = app.get("/api/v1/t/HXOS2/me", None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    // An unknown token is not an account: limited by address only.
    assert_eq!(status_of(&app.client, &me, Some("not-a-session")).await, StatusCode::UNAUTHORIZED);

    // After the window the account may go on.
    app.clock.advance(SignedDuration::from_secs(61));
    for token in [&second, &first, &second, &first] {
        assert_eq!(status_of(&app.client, &me, Some(token)).await, StatusCode::OK);
    }
    assert_eq!(status_of(&app.client, &me, Some(&first)).await, StatusCode::TOO_MANY_REQUESTS);
    app.stop().await;
}

#[tokio::test]
async fn defaults_leave_ordinary_use_alone_and_zero_turns_limits_off() {
    let app = TestApp::start_with(|c| {
        c.limits.requests_per_minute_per_client = 0;
        c.limits.requests_per_minute_per_account = 0;
    })
    .await;
    let url = app.url("/api/v1/t/NOPE1/me");
    for _ in 0..300 {
        assert_eq!(status_of(&app.client, &url, None).await, StatusCode::UNAUTHORIZED);
    }
    app.stop().await;
    let defaults = keiyaku_kernel::Config::default().limits;
    assert_eq!((defaults.requests_per_minute_per_client, defaults.requests_per_minute_per_account), (1200, 600));
}

/// Sends a body of `len` bytes with the content type; returns status and problem code.
async fn send_body(app: &TestApp, path: &str, content_type: &str, len: usize) -> (StatusCode, String) {
    let body = if content_type == "application/json" {
        let overhead = json!({"login": "operator", "password": ""}).to_string().len();
        let text = json!({"login": "operator", "password": "x".repeat(len - overhead)}).to_string();
        assert_eq!(text.len(), len);
        text.into_bytes()
    } else {
        vec![b'%'; len]
    };
    let resp =
        app.client.post(app.url(path)).header("content-type", content_type).body(body).send().await.expect("request");
    let status = resp.status();
    let v: Value = resp.json().await.unwrap_or(Value::Null);
    (status, v["code"].as_str().unwrap_or_default().to_string())
}

#[tokio::test]
async fn body_and_upload_sizes_are_configurable() {
    let app = TestApp::start_with(|c| {
        c.server.max_body_bytes = 2048;
        c.server.max_upload_bytes = 8192;
    })
    .await;
    let login = "/api/v1/operator/login";
    // JSON: the configured body size decides.
    let (s, code) = send_body(&app, login, "application/json", 2048).await;
    assert_ne!(s, StatusCode::PAYLOAD_TOO_LARGE, "{code}: a body of exactly the limit is read");
    let (s, code) = send_body(&app, login, "application/json", 2049).await;
    assert_eq!((s, code.as_str()), (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"));
    // Uploads (raw file bodies and multipart): the configured upload size decides.
    let upload = "/api/v1/t/NOPE1/contracts/none/documents";
    for ct in ["application/octet-stream", "multipart/form-data; boundary=x"] {
        let (s, code) = send_body(&app, upload, ct, 8192).await;
        assert_ne!(s, StatusCode::PAYLOAD_TOO_LARGE, "{ct} {code}: within the upload limit");
        let (s, code) = send_body(&app, upload, ct, 8193).await;
        assert_eq!((s, code.as_str()), (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"), "{ct}");
    }

    // A browser's form post over the limit gets a page with the limit and a way back to the
    // form; the same body to the API with the same Accept header stays problem+json.
    let form = "/t/HXOS2/contracts/new";
    let post = |path: &str| {
        app.client
            .post(app.url(path))
            .header("content-type", "multipart/form-data; boundary=x")
            .header("accept", "text/html,application/xhtml+xml")
            .header("accept-language", "ja")
            .header("referer", app.url(form))
            .body(vec![b'%'; 16 * 1024])
            .send()
    };
    let resp = post(form).await.expect("form post");
    assert_eq!(resp.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert!(
        resp.headers().get("content-type").and_then(|v| v.to_str().ok()).is_some_and(|c| c.starts_with("text/html"))
    );
    assert!(resp.headers().get("content-security-policy").is_some(), "the page has the security headers");
    let page = resp.text().await.unwrap_or_default();
    assert!(page.contains("送信されたファイルが大きすぎます。") && page.contains("合計 1 MB まで"), "{page}");
    assert!(page.contains(&format!("href=\"{form}\"")) && page.contains("入力画面に戻る"), "{page}");
    let resp = post(upload).await.expect("api post");
    assert_eq!(resp.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let v: Value = resp.json().await.unwrap_or(Value::Null);
    assert_eq!(v["code"], "payload_too_large");
    app.stop().await;

    // The defaults take a larger request of the same kind.
    let app = TestApp::start().await;
    let (s, code) = send_body(&app, login, "application/json", 4096).await;
    assert_ne!(s, StatusCode::PAYLOAD_TOO_LARGE, "{code}");
    app.stop().await;
}

/// Behind a reverse proxy in `server.trusted_proxies`, the limits count the address in
/// `X-Forwarded-For`; from anyone else the header is ignored.
#[tokio::test]
async fn trusted_proxies_make_limits_count_the_forwarded_client() {
    let limited = |trusted: bool| {
        TestApp::start_with(move |c| {
            c.limits.requests_per_minute_per_client = 3;
            c.limits.requests_per_minute_per_account = 0;
            if trusted {
                c.server.trusted_proxies = vec!["127.0.0.0/8".into()];
            }
        })
    };
    let status = async |app: &TestApp, xff: &str| {
        let resp = app.client.get(app.url("/api/v1/t/NOPE1/me")).header("x-forwarded-for", xff).send().await;
        resp.expect("request").status()
    };
    let app = limited(true).await;
    for _ in 0..3 {
        assert_eq!(status(&app, "203.0.113.1").await, StatusCode::UNAUTHORIZED);
    }
    assert_eq!(status(&app, "203.0.113.1").await, StatusCode::TOO_MANY_REQUESTS, "the forwarded client is limited");
    assert_eq!(status(&app, "203.0.113.2").await, StatusCode::UNAUTHORIZED, "another client behind the proxy is not");
    app.stop().await;
    // Untrusted: every forwarded address is the one peer.
    let app = limited(false).await;
    for i in 0..3 {
        assert_eq!(status(&app, &format!("203.0.113.{i}")).await, StatusCode::UNAUTHORIZED);
    }
    assert_eq!(status(&app, "203.0.113.9").await, StatusCode::TOO_MANY_REQUESTS, "a forged header buys nothing");
    app.stop().await;
}

/// Every response reaches the client even when the handler did not read the body: a 404 for
/// a POST to an unknown path, a 401 for a refused token, and 413 problem+json above
/// `server.max_body_bytes` and `server.max_upload_bytes`, over HTTP/1.1 and HTTP/2 (curl, as a user would try it).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn responses_reach_the_client_when_the_body_was_not_read() {
    if !tool("curl") {
        return;
    }
    let app = TestApp::start_with(|c| {
        c.server.max_body_bytes = 1024 * 1024;
        c.server.max_upload_bytes = 2 * 1024 * 1024;
    })
    .await;
    let ca = app.dir.join("tls/ca.pem");
    let big = app.dir.join("big.bin");
    std::fs::write(&big, vec![b'a'; 3 * 1024 * 1024]).expect("write");
    let small = app.dir.join("small.bin");
    std::fs::write(&small, vec![b'a'; 256 * 1024]).expect("write");
    let curl = |proto: &str, path: &str, file: &std::path::Path, ctype: &str| {
        let out = std::process::Command::new("curl")
            .args(["-sS", proto, "--cacert"])
            .arg(&ca)
            .args(["-o", "/dev/null", "-w", "%{http_code}", "-X", "POST", "-H", &format!("content-type: {ctype}")])
            .arg("--data-binary")
            .arg(format!("@{}", file.display()))
            .arg(app.url(path))
            .output()
            .expect("curl");
        String::from_utf8_lossy(&out.stdout).to_string()
    };
    for proto in ["--http1.1", "--http2"] {
        assert_eq!(curl(proto, "/api/v1/nothing", &small, "application/json"), "404", "{proto}");
        assert_eq!(curl(proto, "/api/v1/t/HXOS2/groups/G1/users", &small, "application/json"), "401", "{proto}");
        assert_eq!(curl(proto, "/api/v1/t/HXOS2/groups/G1/users", &big, "application/json"), "413", "{proto}");
        let code = curl(proto, "/api/v1/t/HXOS2/groups/G1/users", &big, "multipart/form-data; boundary=x");
        assert_eq!(code, "413", "{proto}");
    }
    app.stop().await;
}
