//! Crash safety: the real server is killed with SIGKILL at random moments while clients
//! create tenants (each a multi-table write: tenant, company, group, administrator,
//! credential, registration mail, audit records). After every kill the database must verify,
//! hold every tenant whose creation was acknowledged, and show nothing half-done.
//! `KEIYAKU_KILL_CYCLES` sets the number of cycles (CI: 50; `bench/crash.sh`: 1,000).

use crate::common::*;
use keiyaku_kernel::store::Read;
use std::collections::BTreeSet;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

fn start(data: &std::path::Path, port: u16) -> Child {
    Command::new(env!("CARGO_BIN_EXE_keiyaku"))
        .args(["serve", "--data"])
        .arg(data)
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .current_dir(data)
        .env_remove("KEIYAKU_KILL_CYCLES")
        .env("KEIYAKU_OPERATOR_PASSWORD", OPERATOR_PASSWORD)
        .env("KEIYAKU_LOG", "error")
        .env("KEIYAKU_BACKUP__INTERVAL_HOURS", "0")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn")
}

/// A cheap deterministic pseudo-random sequence (no extra dependency).
struct Lcg(u64);
impl Lcg {
    fn next(&mut self, below: u64) -> u64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (self.0 >> 33) % below.max(1)
    }
}

/// Opens the data directory offline and checks it: integrity, every record readable, and
/// every tenant complete. Returns the tenant codes.
fn check_offline(data: &std::path::Path) -> BTreeSet<String> {
    let db = data.join("keiyaku.redb");
    let report = keiyaku::backup::verify_db(&db).unwrap_or_else(|e| panic!("verify: {e}"));
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    let modules = keiyaku::app::modules();
    let refs: Vec<&dyn keiyaku_kernel::Module> = modules.iter().map(|m| m.as_ref()).collect();
    let store = keiyaku_kernel::Store::open(&db, Arc::new(keiyaku_kernel::SystemClock), &refs).expect("open");
    store
        .read_blocking(|tx| {
            let mut codes = BTreeSet::new();
            let mails = keiyaku_kernel::mail::list(tx, None, usize::MAX)?;
            for t in keiyaku_kernel::directory::list_tenants(tx)? {
                let users = keiyaku_kernel::directory::list_users(tx, &t.code)?;
                assert_eq!(users.len(), 1, "tenant {} has its administrator", t.code);
                let admin = &users[0];
                let cred = tx.get(&keiyaku_auth::CREDENTIALS, &format!("{}/{}", t.code, admin.user_id))?;
                assert!(cred.is_some(), "administrator of {} has a credential", t.code);
                assert!(mails.iter().any(|m| m.to == admin.email), "registration mail of {} exists", t.code);
                assert_eq!(keiyaku_kernel::directory::list_companies(tx, &t.code)?.len(), 1);
                codes.insert(t.code);
            }
            Ok::<_, keiyaku_kernel::StoreError>(codes)
        })
        .expect("read")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigkill_during_writes_loses_nothing_acknowledged() {
    let cycles: u32 = std::env::var("KEIYAKU_KILL_CYCLES").ok().and_then(|v| v.parse().ok()).unwrap_or(50);
    let data = tempdir("crash");
    let port = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("port");
    let mut rng = Lcg(0x006b_6569_7961_6b75);
    let acknowledged = Arc::new(Mutex::new(BTreeSet::<String>::new()));
    let client = reqwest::Client::builder().danger_accept_invalid_certs(true).build().expect("client");
    let started = Instant::now();
    for cycle in 0..cycles {
        let mut child = start(&data, port);
        let base = format!("https://127.0.0.1:{port}");
        // Wait for the server, then log in as the operator.
        let mut token = None;
        for _ in 0..400 {
            if let Ok(r) = client
                .post(format!("{base}/api/v1/operator/login"))
                .json(&serde_json::json!({"password": OPERATOR_PASSWORD}))
                .send()
                .await
            {
                token = r.json::<serde_json::Value>().await.ok().and_then(|v| v["token"].as_str().map(str::to_string));
                break;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        let Some(token) = token else {
            let status = child.try_wait();
            panic!("cycle {cycle}: no operator login (server: {status:?})");
        };
        // Four writers create tenants until the kill.
        let mut writers = Vec::new();
        for w in 0..4u32 {
            let (client, base, token, acked) = (client.clone(), base.clone(), token.clone(), acknowledged.clone());
            writers.push(tokio::spawn(async move {
                for n in 0..10_000u32 {
                    let code = format!("C{cycle:03}{w}{n:04}");
                    let body = serde_json::json!({
                        "code": code,
                        "owner_company": {"name": "クラッシュ試験株式会社"},
                        "admin": {"user_id": format!("{code}A"), "name": "試験 太郎", "email": format!("{}@example.jp", code.to_lowercase())},
                    });
                    match client.post(format!("{base}/api/v1/operator/tenants")).bearer_auth(&token).json(&body).send().await {
                        Ok(r) if r.status() == 201 => {
                            acked.lock().expect("lock").insert(code);
                        }
                        Ok(r) => panic!("unexpected status {} for {code}", r.status()),
                        Err(_) => return, // the server is gone
                    }
                }
            }));
        }
        tokio::time::sleep(Duration::from_millis(30 + rng.next(400))).await;
        child.kill().expect("SIGKILL");
        let _ = child.wait();
        for w in writers {
            let _ = w.await;
        }
        let present = check_offline(&data);
        let acked = acknowledged.lock().expect("lock").clone();
        let missing: Vec<_> = acked.difference(&present).collect();
        assert!(missing.is_empty(), "cycle {cycle}: acknowledged but lost: {missing:?}");
    }
    let total = acknowledged.lock().expect("lock").len();
    eprintln!("{cycles} kill cycles, {total} acknowledged tenants, {:?}", started.elapsed());
    assert!(total > 0, "some writes were acknowledged");
}
