//! HTTP benchmark of the appliance (run via `bench/run.sh`): cold start to the first
//! `/healthz` answer, idle RSS, and `/healthz` and `me` requests per second over TLS, each
//! as a ratio to a bare poem hello-world server with the same TLS setup, measured in one run.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const CONCURRENCY: usize = 32;
const SECONDS: u64 = 4;

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
    rt.block_on(run());
}

async fn run() {
    let bin = std::env::var("BENCH_KEIYAKU_BIN").unwrap_or_else(|_| "target/release/keiyaku".into());
    let data = std::env::temp_dir().join(format!("keiyaku-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&data);
    let port = free_port();
    let client = reqwest::Client::builder().danger_accept_invalid_certs(true).build().unwrap_or_default();
    let health = format!("https://127.0.0.1:{port}/healthz");

    // Cold start: empty data directory (database, certificate, operator, demo data).
    let started = Instant::now();
    let child = Command::new(&bin)
        .args(["serve", "--demo", "--data"])
        .arg(&data)
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .env("KEIYAKU_LOG", "warn")
        .stdout(Stdio::null())
        .spawn();
    let Ok(child) = child else {
        eprintln!("cannot start {bin}: build it with cargo build --release");
        return;
    };
    let first = Proc(child);
    let cold = wait_healthy(&client, &health, started).await;
    drop(first);
    // Warm start: the same data directory again.
    let started = Instant::now();
    let Ok(child) = Command::new(&bin)
        .args(["serve", "--data"])
        .arg(&data)
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .env("KEIYAKU_LOG", "warn")
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
    println!("| cold start to first /healthz (empty data dir, demo data) | {} ms | ≤ 150 ms |", cold.as_millis());
    println!("| warm start to first /healthz | {} ms | |", warm.as_millis());
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
