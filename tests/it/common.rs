//! Test fixture: the application started in-process on an ephemeral port over HTTPS, with
//! a manual clock, a fresh data directory and a client that trusts exactly its local TLS CA.

#![allow(dead_code)]

use jiff::Timestamp;
use keiyaku::{App, Running, StartOptions};
use keiyaku_kernel::{Config, ManualClock};
use reqwest::{Client, Method, StatusCode};
use serde_json::{Value, json};
use std::path::PathBuf;
use std::sync::Arc;

pub const OPERATOR_PASSWORD: &str = "operator-Pass-1234";
pub const DEMO_PASSWORD: &str = "keiyaku-demo";
/// Every demo certificate's PIN (`demo.pin`).
pub const DEMO_PIN: &str = "123456789012";

pub struct TestApp {
    pub base: String,
    pub client: Client,
    pub clock: Arc<ManualClock>,
    pub dir: PathBuf,
    pub cert_pem: String,
    running: Option<Running>,
}

pub fn tempdir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("keiyaku-it-{tag}-{}", keiyaku_kernel::ids::new_id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

pub fn client_for(cert_pem: &str) -> Client {
    let cert = reqwest::Certificate::from_pem(cert_pem.as_bytes()).expect("cert");
    Client::builder().tls_certs_only([cert]).redirect(reqwest::redirect::Policy::none()).build().expect("client")
}

impl TestApp {
    pub async fn start() -> Self {
        Self::start_with(|_| {}).await
    }

    pub async fn demo() -> Self {
        Self::start_with(|c| {
            keiyaku::registry::enable_demo(c);
            c.mail.mailbox_public = true;
        })
        .await
    }

    pub async fn start_with(adjust: impl FnOnce(&mut Config)) -> Self {
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
        let dir = tempdir("app");
        let mut config = Config::default();
        config.storage.data_dir = dir.clone();
        config.server.listen = "127.0.0.1:0".into();
        adjust(&mut config);
        Self::open(config, dir).await
    }

    pub async fn open(config: Config, dir: PathBuf) -> Self {
        let clock = Arc::new(ManualClock::new("2026-11-25T01:00:00Z".parse::<Timestamp>().expect("ts")));
        let opts = StartOptions { operator_password: Some(OPERATOR_PASSWORD.into()) };
        let app = App::open(config, clock.clone(), opts).expect("open app");
        let cert_pem = std::fs::read_to_string(dir.join("tls/ca.pem")).expect("local CA");
        let running = app.start().await.expect("start");
        let base = format!("https://127.0.0.1:{}", running.addr.port());
        TestApp { base, client: client_for(&cert_pem), clock, dir, cert_pem, running: Some(running) }
    }

    pub fn running(&self) -> &Running {
        self.running.as_ref().expect("running")
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// Sends a JSON request; returns status and the parsed body (Null when empty).
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        // A connection that fails before the request is sent (seen once on a loaded CI
        // machine: "tls handshake eof") is retried; nothing reached the server then.
        let mut attempt = 0;
        let resp = loop {
            let mut req = self.client.request(method.clone(), self.url(path));
            if let Some(t) = token {
                req = req.bearer_auth(t);
            }
            if let Some(b) = &body {
                req = req.json(b);
            }
            match req.send().await {
                Ok(resp) => break resp,
                Err(e) if e.is_connect() && attempt < 3 => {
                    attempt += 1;
                    eprintln!("retrying {path} after a connection failure: {e}");
                    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
                }
                Err(e) => panic!("request {path}: {e}"),
            }
        };
        let status = resp.status();
        let text = resp.text().await.unwrap_or_default();
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        if status.as_u16() >= 400 {
            assert_documented_codes(path, &body);
        }
        (status, body)
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> (StatusCode, Value) {
        self.call(Method::GET, path, token, None).await
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: Value) -> (StatusCode, Value) {
        self.call(Method::POST, path, token, Some(body)).await
    }

    pub async fn operator_token(&self) -> String {
        let (s, v) = self
            .post("/api/v1/operator/login", None, json!({"login": "operator", "password": OPERATOR_PASSWORD}))
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        v["token"].as_str().expect("token").to_string()
    }

    /// Creates a tenant through the operator API; returns the admin's initial password.
    pub async fn create_tenant(&self, code: &str, admin_id: &str, admin_email: &str) -> String {
        let op = self.operator_token().await;
        let (s, v) = self
            .post(
                "/api/v1/operator/tenants",
                Some(&op),
                json!({
                    "code": code,
                    "name": "オリエンタル白石",
                    "owner_company": {"name": "オリエンタル白石株式会社", "name_kana": "オリエンタルシライシ"},
                    "admin": {"user_id": admin_id, "name": "堀井 裕蔵", "email": admin_email},
                }),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        let mail = self.last_mail_to(admin_email).await.expect("registration mail");
        initial_password(mail["body"].as_str().unwrap_or_default())
    }

    pub async fn mails_to(&self, address: &str) -> Vec<Value> {
        let op = self.operator_token().await;
        let (s, v) = self.get(&format!("/api/v1/mailbox?to={}", urlencode(address)), Some(&op)).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        v["items"].as_array().cloned().unwrap_or_default()
    }

    pub async fn last_mail_to(&self, address: &str) -> Option<Value> {
        self.mails_to(address).await.into_iter().next()
    }

    /// A delegate asks for a signing code for contract `id` and reads it from the mail.
    pub async fn signing_code(&self, token: &str, id: &str) -> String {
        let (s, v) = self.post(&format!("/api/v1/t/HXOS2/contracts/{id}/sign-code"), Some(token), json!({})).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        let to = v["sent_to"].as_str().expect("sent_to").to_string();
        signing_code_in(&self.last_mail_to(&to).await.expect("signing code mail"))
    }

    /// Logs in; returns (status, body).
    pub async fn login(&self, tenant: &str, login: &str, password: &str) -> (StatusCode, Value) {
        self.post(&format!("/api/v1/t/{tenant}/auth/login"), None, json!({"login": login, "password": password})).await
    }

    /// Logs in and completes the forced password change; returns a usable token.
    pub async fn login_ready(&self, tenant: &str, login: &str, password: &str, new_password: &str) -> String {
        let (s, v) = self.login(tenant, login, password).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        let token = v["token"].as_str().expect("token").to_string();
        if v["password_change_required"] == json!(true) {
            let (s, v) = self
                .post(
                    &format!("/api/v1/t/{tenant}/auth/password"),
                    Some(&token),
                    json!({"current_password": password, "new_password": new_password}),
                )
                .await;
            assert_eq!(s, StatusCode::NO_CONTENT, "{v}");
        }
        token
    }

    /// Demo login (no forced change).
    pub async fn demo_token(&self, user: &str) -> String {
        let (s, v) = self.login("HXOS2", user, DEMO_PASSWORD).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        assert_eq!(v["password_change_required"], json!(false));
        v["token"].as_str().expect("token").to_string()
    }

    pub fn services(&self) -> &keiyaku::app::Services {
        &self.running.as_ref().expect("running").services
    }

    /// A digest of every table's content, to prove that a request changed nothing.
    pub async fn snapshot(&self) -> String {
        let store = self.services().kernel.store.clone();
        store
            .read(|tx| {
                use keiyaku_kernel::store::Read;
                let mut out = String::new();
                let audit = tx.count(&keiyaku_kernel::audit::AUDIT, "")?;
                out.push_str(&format!("audit={audit};"));
                let outbox = tx.count(&keiyaku_kernel::mail::OUTBOX, "")?;
                out.push_str(&format!("outbox={outbox};"));
                for t in keiyaku_kernel::directory::list_tenants(tx)? {
                    out.push_str(&format!("{t:?};"));
                    for u in keiyaku_kernel::directory::list_users(tx, &t.code)? {
                        out.push_str(&format!("{u:?};"));
                    }
                    for g in keiyaku_kernel::directory::list_groups(tx, &t.code)? {
                        out.push_str(&format!("{g:?};"));
                    }
                    for c in keiyaku_kernel::directory::list_companies(tx, &t.code)? {
                        out.push_str(&format!("{c:?};"));
                    }
                }
                Ok::<_, keiyaku_kernel::StoreError>(out)
            })
            .await
            .expect("snapshot")
    }

    pub async fn stop(mut self) {
        if let Some(r) = self.running.take() {
            r.stop().await;
        }
    }
}

/// Whether an outside tool is installed; under CI a missing one fails the test.
pub fn tool(name: &str) -> bool {
    let found = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {name}"))
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        assert!(std::env::var_os("CI").is_none(), "CI must have {name} (see .ci/run)");
        eprintln!("{name} not installed: its checks are skipped");
    }
    found
}

/// The initial password in a 「ユーザー登録通知」 mail.
pub fn initial_password(body: &str) -> String {
    body.lines()
        .find_map(|l| l.strip_prefix("パスワード : "))
        .map(|p| p.trim().to_string())
        .expect("password line in the registration mail")
}

pub fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

// ---------------------------------------------------------------------------------------
// The real binary

/// `keiyaku` as built for these tests, without the caller's operator/demo passwords.
pub fn keiyaku_command() -> std::process::Command {
    let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_keiyaku"));
    c.env_remove("KEIYAKU_OPERATOR_PASSWORD").env_remove("KEIYAKU_DEMO_PASSWORD").env("KEIYAKU_LOG", "warn");
    c
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("port")
}

/// A running `keiyaku serve`, killed when dropped; `stdout` holds what it printed up to the
/// line that says it serves.
pub struct Server {
    pub child: std::process::Child,
    pub stdout: Vec<String>,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    /// Sends SIGTERM and waits (up to 15 s) for the exit status.
    pub fn terminate(&mut self) -> Option<std::process::ExitStatus> {
        let _ = std::process::Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
        while std::time::Instant::now() < deadline {
            if let Ok(Some(s)) = self.child.try_wait() {
                return Some(s);
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        None
    }
}

/// Starts `keiyaku serve --data DATA --listen 127.0.0.1:PORT EXTRA…` in `data` and reads its
/// stdout up to the `API:` line it prints once serving (at most 60 s).
pub fn serve(data: &std::path::Path, port: u16, extra: &[&str]) -> Server {
    use std::io::{BufRead, BufReader};
    use std::time::{Duration, Instant};
    let mut child = keiyaku_command()
        .args(["serve", "--data"])
        .arg(data)
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .args(extra)
        .current_dir(data)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn");
    let out = child.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut lines = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        match rx.recv_timeout(Duration::from_millis(100)) {
            Ok(l) => {
                let done = l.contains("API:");
                lines.push(l);
                if done {
                    break;
                }
            }
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => continue,
            Err(_) => break,
        }
    }
    Server { child, stdout: lines }
}

/// The 6-digit code of a 「署名用認証コードのお知らせ」 mail.
pub fn signing_code_in(mail: &Value) -> String {
    assert_eq!(mail["subject"], "【電子契約サービス】署名用認証コードのお知らせ", "{mail}");
    let body = mail["body"].as_str().unwrap_or_default();
    let code: String =
        body.split("認証コード：").nth(1).unwrap_or_default().chars().take_while(char::is_ascii_digit).collect();
    assert_eq!(code.len(), 6, "{body}");
    code
}

pub const BOUNDARY: &str = "keiyaku-test-boundary";

/// A part of a `multipart/form-data` body: a text field, or a file (field, file name, bytes).
#[derive(Clone, Copy)]
pub enum Part<'a> {
    Text(&'a str, &'a str),
    File(&'a str, &'a str, &'a [u8]),
}

/// A `multipart/form-data` body of `parts` and its content type.
pub fn multipart(parts: &[Part<'_>]) -> (String, Vec<u8>) {
    let mut body = Vec::new();
    for p in parts {
        match p {
            Part::Text(name, value) => body.extend_from_slice(
                format!("--{BOUNDARY}\r\ncontent-disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n")
                    .as_bytes(),
            ),
            Part::File(name, file, bytes) => {
                body.extend_from_slice(
                    format!(
                        "--{BOUNDARY}\r\ncontent-disposition: form-data; name=\"{name}\"; filename=\"{file}\"\r\ncontent-type: application/octet-stream\r\n\r\n"
                    )
                    .as_bytes(),
                );
                body.extend_from_slice(bytes);
                body.extend_from_slice(b"\r\n");
            }
        }
    }
    body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={BOUNDARY}"), body)
}

/// A short digest of a snapshot, so a failed comparison prints two short strings.
pub fn short_digest(s: &str) -> String {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    s.hash(&mut h);
    format!("{:016x}", h.finish())
}

/// The names the committed OpenAPI document lists for `schema`'s `code`.
fn documented_codes(schema: &str) -> Vec<String> {
    static DOC: std::sync::LazyLock<Value> = std::sync::LazyLock::new(|| {
        let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/openapi.json")).unwrap_or_default();
        serde_json::from_str(&text).unwrap_or(Value::Null)
    });
    DOC["components"]["schemas"][schema]["properties"]["code"]["enum"]
        .as_array()
        .map(|a| a.iter().filter_map(|v| v.as_str().map(String::from)).collect())
        .unwrap_or_default()
}

/// Every problem the API answers carries a `code` (and field codes) the OpenAPI document
/// lists, so a client generated from it can match on them.
pub fn assert_documented_codes(path: &str, body: &Value) {
    let Some(code) = body["code"].as_str() else { return };
    let codes = documented_codes("Problem");
    assert!(codes.iter().any(|c| c == code), "{path}: problem code {code:?} is not in the Problem schema");
    let fields = documented_codes("FieldError");
    for e in body["errors"].as_array().into_iter().flatten() {
        let c = e["code"].as_str().unwrap_or("");
        assert!(fields.iter().any(|f| f == c), "{path}: field code {c:?} is not in the FieldError schema");
    }
}
