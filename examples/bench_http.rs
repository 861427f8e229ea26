//! HTTP benchmark of the appliance (run via `bench/run.sh`): cold start to the first
//! `/healthz` answer, idle RSS, and `/healthz` and `me` requests per second over TLS, each
//! as a ratio to a bare poem hello-world server with the same TLS setup, measured in one run.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const CONCURRENCY: usize = 32;
const SECONDS: u64 = 4;
/// The benchmarks send thousands of requests per second from one address (and one account):
/// the rate limits stay on, so their cost is measured, but far above what the load reaches.
const NO_RATE_LIMITS: [(&str, &str); 2] = [
    ("KEIYAKU_LIMITS__REQUESTS_PER_MINUTE_PER_CLIENT", "100000000"),
    ("KEIYAKU_LIMITS__REQUESTS_PER_MINUTE_PER_ACCOUNT", "100000000"),
];

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).unwrap_or(18443)
}

fn rss_mb(pid: u32) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("VmRSS:")).map(str::to_string))
        .and_then(|l| l.split_whitespace().nth(1).and_then(|kb| kb.parse::<f64>().ok()))
        .map(|kb| kb / 1024.0)
        .unwrap_or(f64::NAN)
}

struct Proc(Child);
impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn wait_healthy(client: &reqwest::Client, url: &str, started: Instant) -> Duration {
    loop {
        if let Ok(r) = client.get(url).send().await
            && r.status().is_success()
        {
            return started.elapsed();
        }
        if started.elapsed() > Duration::from_secs(30) {
            return started.elapsed();
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

/// Requests per second with CONCURRENCY clients for SECONDS.
async fn load(client: &reqwest::Client, url: &str, token: Option<&str>) -> f64 {
    let deadline = Instant::now() + Duration::from_secs(SECONDS);
    let mut tasks = Vec::new();
    for _ in 0..CONCURRENCY {
        let (client, url, token) = (client.clone(), url.to_string(), token.map(str::to_string));
        tasks.push(tokio::spawn(async move {
            let mut n = 0u64;
            while Instant::now() < deadline {
                let mut req = client.get(&url);
                if let Some(t) = &token {
                    req = req.bearer_auth(t);
                }
                if let Ok(r) = req.send().await
                    && r.status().is_success()
                    && r.bytes().await.is_ok()
                {
                    n += 1;
                }
            }
            n
        }));
    }
    let mut total = 0;
    for t in tasks {
        total += t.await.unwrap_or(0);
    }
    total as f64 / SECONDS as f64
}

fn bare_server(port: u16, cert: String, key: String) {
    use poem::listener::{Listener, RustlsCertificate, RustlsConfig, TcpListener};
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let rt = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(_) => return,
    };
    rt.block_on(async move {
        let app = poem::Route::new().at(
            "/healthz",
            poem::endpoint::make_sync(|_| poem::web::Json(serde_json::json!({"status": "ok", "version": "bare"}))),
        );
        let listener = TcpListener::bind(format!("127.0.0.1:{port}"))
            .rustls(RustlsConfig::new().fallback(RustlsCertificate::new().cert(cert).key(key)));
        let _ = poem::Server::new(listener).run(app).await;
    });
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("--bare") {
        let port = args.get(2).and_then(|p| p.parse().ok()).unwrap_or(18443);
        let cert = std::fs::read_to_string(args.get(3).cloned().unwrap_or_default()).unwrap_or_default();
        let key = std::fs::read_to_string(args.get(4).cloned().unwrap_or_default()).unwrap_or_default();
        bare_server(port, cert, key);
        return;
    }
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let rt = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("{e}");
            return;
        }
    };
    if args.get(1).map(String::as_str) == Some("--load") {
        let secs = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(60);
        let clients = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(200);
        rt.block_on(load_test(secs, clients));
    } else {
        rt.block_on(run());
    }
}

/// Bounded load on loopback: `clients` concurrent clients for `secs` seconds mixing logins,
/// reads, user and contract searches and writes (tenants, contracts with a PDF) against a demo
/// appliance. Prints req/s, p50/p99, errors and RSS before and after.
///
/// With `BENCH_URL` (and `BENCH_PID` for the RSS) the load goes to an appliance already
/// serving the demo with the operator password `bench-Operator-1` (`bench/backup_under_load.sh`).
async fn load_test(secs: u64, clients: usize) {
    let bin = std::env::var("BENCH_KEIYAKU_BIN").unwrap_or_else(|_| "target/release/keiyaku".into());
    let data = std::env::temp_dir().join(format!("keiyaku-load-{}", std::process::id()));
    let client = reqwest::Client::builder().danger_accept_invalid_certs(true).build().unwrap_or_default();
    let (base, server, pid) = match std::env::var("BENCH_URL") {
        Ok(url) => {
            let pid = std::env::var("BENCH_PID").ok().and_then(|p| p.parse().ok()).unwrap_or(0);
            (url.trim_end_matches('/').to_string(), None, pid)
        }
        Err(_) => {
            let _ = std::fs::remove_dir_all(&data);
            let port = free_port();
            let Ok(child) = Command::new(&bin)
                .args(["serve", "--demo", "--data"])
                .arg(&data)
                .args(["--listen", &format!("127.0.0.1:{port}")])
                .env("KEIYAKU_LOG", "error")
                .env("KEIYAKU_OPERATOR_PASSWORD", "bench-Operator-1")
                .envs(NO_RATE_LIMITS)
                .stdout(Stdio::null())
                .spawn()
            else {
                eprintln!("cannot start {bin}");
                return;
            };
            let pid = child.id();
            (format!("https://127.0.0.1:{port}"), Some(Proc(child)), pid)
        }
    };
    wait_healthy(&client, &format!("{base}/healthz"), Instant::now()).await;
    let rss_before = rss_mb(pid);
    // One PDF for every registration (a 注文書 as the demo makes them).
    let pdf = std::sync::Arc::new(keiyaku_contracts::demo::order_pdf_base64(
        "L-0001",
        "負荷試験 注文",
        "アイテックコンサルタント株式会社",
        1_100_000,
        "2026-11-25",
    ));
    let run = std::process::id() % 10_000;
    let op = client
        .post(format!("{base}/api/v1/operator/login"))
        .json(&serde_json::json!({"password": "bench-Operator-1"}))
        .send()
        .await
        .ok();
    let op_token = match op {
        Some(r) => r.json::<serde_json::Value>().await.ok().and_then(|v| v["token"].as_str().map(str::to_string)),
        None => None,
    }
    .unwrap_or_default();
    let deadline = Instant::now() + Duration::from_secs(secs);
    // RSS every second while the load runs: its peak, and its value after each third, show
    // whether memory levels off or keeps growing.
    let sampler = tokio::spawn(async move {
        let (mut peak, mut thirds) = (0f64, Vec::new());
        let started = Instant::now();
        while Instant::now() < deadline {
            tokio::time::sleep(Duration::from_secs(1)).await;
            let rss = rss_mb(pid);
            peak = peak.max(rss);
            let elapsed = started.elapsed().as_secs();
            if thirds.len() < 2 && elapsed >= secs * (thirds.len() as u64 + 1) / 3 {
                thirds.push(rss);
            }
        }
        (peak, thirds)
    });
    let mut tasks = Vec::new();
    for c in 0..clients {
        let (client, base, op_token, pdf) = (client.clone(), base.clone(), op_token.clone(), pdf.clone());
        // Half the clients are the owner's group administrator (searches users, registers
        // contracts), half a partner's person in charge.
        let user = if c % 2 == 0 { "HX000001" } else { "A1533601" };
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let mut errors = 0u64;
            let mut token = String::new();
            let mut n = 0u64;
            while Instant::now() < deadline {
                n += 1;
                let started = Instant::now();
                let kind = if token.is_empty() { 0 } else { n % 10 };
                let result = match kind {
                    0 => {
                        let r = client
                            .post(format!("{base}/api/v1/t/HXOS2/auth/login"))
                            .json(&serde_json::json!({"login": user, "password": "keiyaku-demo"}))
                            .send()
                            .await;
                        match r {
                            Ok(r) if r.status().is_success() => {
                                token = r
                                    .json::<serde_json::Value>()
                                    .await
                                    .ok()
                                    .and_then(|v| v["token"].as_str().map(str::to_string))
                                    .unwrap_or_default();
                                Ok(())
                            }
                            Ok(r) => Err(r.status().to_string()),
                            Err(e) => Err(e.to_string()),
                        }
                    }
                    1 if n % 50 == 1 => {
                        // A write: a new tenant (directory, credential, mail, audit in one commit).
                        let code = format!("L{c:03}{:05}", n % 100_000);
                        let body = serde_json::json!({"code": code, "owner_company": {"name": "負荷試験株式会社"},
                            "admin": {"user_id": format!("{code}A"), "name": "負荷 太郎", "email": format!("{}@example.jp", code.to_lowercase())}});
                        match client.post(format!("{base}/api/v1/operator/tenants")).bearer_auth(&op_token).json(&body).send().await {
                            Ok(r) if r.status().is_success() || r.status() == 409 => Ok(()),
                            Ok(r) => Err(r.status().to_string()),
                            Err(e) => Err(e.to_string()),
                        }
                    }
                    2 | 3 => match client.get(format!("{base}/api/v1/t/HXOS2/users?q=A15")).bearer_auth(&token).send().await {
                        Ok(r) if r.status().is_success() || r.status() == 404 => Ok(()),
                        Ok(r) => Err(r.status().to_string()),
                        Err(e) => Err(e.to_string()),
                    },
                    4 => match client.get(format!("{base}/healthz")).send().await {
                        Ok(r) if r.status().is_success() => Ok(()),
                        Ok(r) => Err(r.status().to_string()),
                        Err(e) => Err(e.to_string()),
                    },
                    5 if n % 100 == 5 && c % 2 == 0 => {
                        // A write: 契約登録 with one PDF (content-addressed document, route,
                        // date index, audit chain, notification mail in one commit).
                        let number = format!("L{run}-{c}-{n}");
                        let body = serde_json::json!({"number": number, "title": "負荷試験 注文",
                            "doc_type": "purchase_order", "counterparty": "A15336", "transaction_date": "2026-11-25",
                            "amount": 1_100_000, "tax": "included",
                            "documents": [{"name": "注文書.pdf", "content_base64": pdf.as_str()}]});
                        match client.post(format!("{base}/api/v1/t/HXOS2/contracts")).bearer_auth(&token).json(&body).send().await {
                            Ok(r) if r.status() == 201 => Ok(()),
                            Ok(r) => Err(format!("{} {}", r.status(), r.text().await.unwrap_or_default())),
                            Err(e) => Err(e.to_string()),
                        }
                    }
                    5 | 6 => {
                        // 契約検索 by transaction date (電子帳簿保存法), first page.
                        let url = format!("{base}/api/v1/t/HXOS2/contracts?date_from=2025-01-01&date_to=2027-12-31");
                        match client.get(url).bearer_auth(&token).send().await {
                            Ok(r) if r.status().is_success() => r.bytes().await.map(|_| ()).map_err(|e| e.to_string()),
                            Ok(r) => Err(r.status().to_string()),
                            Err(e) => Err(e.to_string()),
                        }
                    }
                    _ => match client.get(format!("{base}/api/v1/t/HXOS2/me")).bearer_auth(&token).send().await {
                        Ok(r) if r.status().is_success() => Ok(()),
                        Ok(r) => Err(r.status().to_string()),
                        Err(e) => Err(e.to_string()),
                    },
                };
                lat.push(started.elapsed().as_secs_f64() * 1e3);
                if let Err(e) = result {
                    errors += 1;
                    if errors <= 3 {
                        eprintln!("client {c}: {e}");
                    }
                }
            }
            (lat, errors)
        }));
    }
    let mut all = Vec::new();
    let mut errors = 0;
    for t in tasks {
        if let Ok((lat, e)) = t.await {
            all.extend(lat);
            errors += e;
        }
    }
    all.sort_by(|a, b| a.total_cmp(b));
    let pct = |p: f64| {
        all.get(((all.len() as f64 * p) as usize).min(all.len().saturating_sub(1))).copied().unwrap_or(f64::NAN)
    };
    let rss_after = rss_mb(pid);
    let (peak, thirds) = sampler.await.unwrap_or_default();
    let course: String = thirds.iter().map(|r| format!("{r:.1} → ")).collect();
    println!("keiyaku load test: {clients} clients, {secs} s, loopback");
    println!(
        "(mix: 10% logins, 20% user searches, 19.5% 契約検索, 10% /healthz, 38% me, 2% tenant creations, 0.5% 契約登録 with a PDF)"
    );
    println!("| requests | req/s | p50 | p99 | errors | RSS before → ⅓ → ⅔ → after (peak) |");
    println!("|---|---|---|---|---|---|");
    println!(
        "| {} | {:.0} | {:.1} ms | {:.1} ms | {errors} | {rss_before:.1} → {course}{rss_after:.1} MB (peak {peak:.1}) |",
        all.len(),
        all.len() as f64 / secs as f64,
        pct(0.5),
        pct(0.99)
    );
    drop(server);
    let _ = std::fs::remove_dir_all(&data);
}

async fn run() {
    let bin = std::env::var("BENCH_KEIYAKU_BIN").unwrap_or_else(|_| "target/release/keiyaku".into());
    let data = std::env::temp_dir().join(format!("keiyaku-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&data);
    let port = free_port();
    let client = reqwest::Client::builder().danger_accept_invalid_certs(true).build().unwrap_or_default();
    let health = format!("https://127.0.0.1:{port}/healthz");

    // Cold start: empty data directory (database, certificate, operator account).
    let started = Instant::now();
    let child = Command::new(&bin)
        .args(["serve", "--data"])
        .arg(&data)
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .env("KEIYAKU_LOG", "warn")
        .envs(NO_RATE_LIMITS)
        .stdout(Stdio::null())
        .spawn();
    let Ok(child) = child else {
        eprintln!("cannot start {bin}: build it with cargo build --release");
        return;
    };
    let first = Proc(child);
    let cold = wait_healthy(&client, &health, started).await;
    drop(first);
    // The demo scenario loaded into the same directory (first start with --demo).
    let started = Instant::now();
    let Ok(child) = Command::new(&bin)
        .args(["serve", "--demo", "--data"])
        .arg(&data)
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .env("KEIYAKU_LOG", "warn")
        .envs(NO_RATE_LIMITS)
        .stdout(Stdio::null())
        .spawn()
    else {
        return;
    };
    let demo = Proc(child);
    let demo_start = wait_healthy(&client, &health, started).await;
    drop(demo);
    // Warm start: the same data directory again.
    let started = Instant::now();
    let Ok(child) = Command::new(&bin)
        .args(["serve", "--data"])
        .arg(&data)
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .env("KEIYAKU_LOG", "warn")
        .envs(NO_RATE_LIMITS)
        .stdout(Stdio::null())
        .spawn()
    else {
        return;
    };
    let server = Proc(child);
    let warm = wait_healthy(&client, &health, started).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let idle_rss = rss_mb(server.0.id());

    // The bare baseline with the same certificate and key.
    let bare_port = free_port();
    let exe = std::env::current_exe().unwrap_or_default();
    let Ok(bare) = Command::new(exe)
        .arg("--bare")
        .arg(bare_port.to_string())
        .arg(data.join("tls/cert.pem"))
        .arg(data.join("tls/key.pem"))
        .spawn()
    else {
        return;
    };
    let bare = Proc(bare);
    let bare_health = format!("https://127.0.0.1:{bare_port}/healthz");
    wait_healthy(&client, &bare_health, Instant::now()).await;
    let bare_rss = rss_mb(bare.0.id());

    let login = client
        .post(format!("https://127.0.0.1:{port}/api/v1/t/HXOS2/auth/login"))
        .json(&serde_json::json!({"login": "A1533601", "password": "keiyaku-demo"}))
        .send()
        .await;
    let token = match login {
        Ok(r) => r.json::<serde_json::Value>().await.ok().and_then(|v| v["token"].as_str().map(str::to_string)),
        Err(_) => None,
    }
    .unwrap_or_default();

    let bare_rps = load(&client, &bare_health, None).await;
    let health_rps = load(&client, &health, None).await;
    let me_rps = load(&client, &format!("https://127.0.0.1:{port}/api/v1/t/HXOS2/me"), Some(&token)).await;

    println!("keiyaku HTTP benchmark ({CONCURRENCY} concurrent clients, {SECONDS} s each, this machine)");
    println!("| measure | value | target |");
    println!("|---|---|---|");
    println!("| cold start to first /healthz (empty data dir) | {} ms | ≤ 150 ms |", cold.as_millis());
    println!("| first start with --demo (loads the demo scenario) | {} ms | |", demo_start.as_millis());
    println!("| warm start to first /healthz | {} ms | ≤ 150 ms |", warm.as_millis());
    println!("| idle RSS after start | {idle_rss:.1} MB (bare poem: {bare_rss:.1} MB) | ≤ 30 MB |");
    println!("| bare poem hello-world /healthz | {bare_rps:.0} req/s | baseline |");
    println!("| keiyaku /healthz | {health_rps:.0} req/s = {:.0}% of bare | |", 100.0 * health_rps / bare_rps);
    println!(
        "| keiyaku me (bearer token, redb read) | {me_rps:.0} req/s = {:.0}% of bare | ≥ 50% |",
        100.0 * me_rps / bare_rps
    );
    drop(server);
    drop(bare);
    let _ = std::fs::remove_dir_all(&data);
}
