//! Crash safety: the real server (with the demo) is killed with SIGKILL at random moments
//! while clients create tenants (each a multi-table write: tenant, company, group,
//! administrator, credential, registration mail, audit records), users in the owner's group
//! (user, credential, mail, audit) and contracts with a PDF (contract, number, date index,
//! waiting list, document blobs, hash-chained history, mails). After every kill the database
//! must verify (`keiyaku verify`'s checks, including each module's: the contract chain and
//! every document's SHA-256), hold every write that was acknowledged, and show nothing
//! half-done.
//! `KEIYAKU_KILL_CYCLES` sets the number of cycles (CI: 50; `bench/crash.sh`: 1,000).

use crate::common::*;
use keiyaku_kernel::store::Read;
use std::collections::BTreeSet;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

fn start(data: &std::path::Path, port: u16) -> Child {
    Command::new(env!("CARGO_BIN_EXE_keiyaku"))
        .args(["serve", "--demo", "--data"])
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

/// What survived a kill: tenant codes, user ids of the demo tenant, contract ids.
#[derive(Default)]
struct Present {
    tenants: BTreeSet<String>,
    users: BTreeSet<String>,
    contracts: BTreeSet<String>,
}

/// The demo tenant the user and contract writers work in.
const DEMO: &str = "HXOS2";

/// Opens the data directory offline and checks it: integrity, every record readable, every
/// module's own checks, and every tenant, user and contract complete.
fn check_offline(data: &std::path::Path) -> Present {
    let db = data.join("keiyaku.redb");
    let report = keiyaku::backup::verify_db(&db).unwrap_or_else(|e| panic!("verify: {e}"));
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    let modules = keiyaku::app::modules();
    let refs: Vec<&dyn keiyaku_kernel::Module> = modules.iter().map(|m| m.as_ref()).collect();
    let store = keiyaku_kernel::Store::open(&db, Arc::new(keiyaku_kernel::SystemClock), &refs).expect("open");
    store
        .read_blocking(|tx| {
            let mut present = Present::default();
            let mails = keiyaku_kernel::mail::list(tx, None, usize::MAX)?;
            for t in keiyaku_kernel::directory::list_tenants(tx)? {
                let users = keiyaku_kernel::directory::list_users(tx, &t.code)?;
                for u in &users {
                    let cred = tx.get(&keiyaku_auth::CREDENTIALS, &format!("{}/{}", t.code, u.user_id))?;
                    assert!(cred.is_some(), "user {}/{} has a credential", t.code, u.user_id);
                }
                if t.code == DEMO {
                    present.users.extend(users.iter().map(|u| u.user_id.clone()));
                    continue;
                }
                assert_eq!(users.len(), 1, "tenant {} has its administrator", t.code);
                let admin = &users[0];
                assert!(mails.iter().any(|m| m.to == admin.email), "registration mail of {} exists", t.code);
                assert_eq!(keiyaku_kernel::directory::list_companies(tx, &t.code)?.len(), 1);
                present.tenants.insert(t.code);
            }
            use keiyaku_contracts::model;
            for (_, c) in tx.scan(&model::CONTRACTS, &format!("{DEMO}/"))? {
                let number = tx.get(&model::NUMBERS, &format!("{DEMO}/{}", c.number))?;
                assert_eq!(number.as_deref(), Some(c.id.as_str()), "contract {} has its number", c.id);
                present.contracts.insert(c.id);
            }
            assert_eq!(
                tx.count(&model::INDEX, &format!("{DEMO}/"))?,
                present.contracts.len(),
                "the search index holds exactly the contracts"
            );
            Ok::<_, keiyaku_kernel::StoreError>(present)
        })
        .expect("read")
}

/// What the writers were told was done.
#[derive(Default)]
struct Acked {
    tenants: BTreeSet<String>,
    users: BTreeSet<String>,
    contracts: BTreeSet<String>,
}

async fn login(client: &reqwest::Client, url: String, body: serde_json::Value) -> Option<String> {
    let r = client.post(url).json(&body).send().await.ok()?;
    r.json::<serde_json::Value>().await.ok().and_then(|v| v["token"].as_str().map(str::to_string))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigkill_during_writes_loses_nothing_acknowledged() {
    let cycles: u32 = std::env::var("KEIYAKU_KILL_CYCLES").ok().and_then(|v| v.parse().ok()).unwrap_or(50);
    let data = tempdir("crash");
    let port = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("port");
    let mut rng = Lcg(0x006b_6569_7961_6b75);
    let acked = Arc::new(Mutex::new(Acked::default()));
    let client = reqwest::Client::builder().danger_accept_invalid_certs(true).build().expect("client");
    let pdf = keiyaku_contracts::demo::order_pdf_base64(
        "K-0001",
        "耐障害試験 注文",
        "アイテックコンサルタント株式会社",
        550_000,
        "2026-11-25",
    );
    let started = Instant::now();
    for cycle in 0..cycles {
        let mut child = start(&data, port);
        let base = format!("https://127.0.0.1:{port}");
        // Wait for the server, then log in as the operator and as the demo's 管理部.
        let mut token = None;
        for _ in 0..400 {
            token = login(
                &client,
                format!("{base}/api/v1/operator/login"),
                serde_json::json!({"password": OPERATOR_PASSWORD}),
            )
            .await;
            if token.is_some() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        let Some(token) = token else {
            let status = child.try_wait();
            panic!("cycle {cycle}: no operator login (server: {status:?})");
        };
        let admin = login(
            &client,
            format!("{base}/api/v1/t/{DEMO}/auth/login"),
            serde_json::json!({"login": "HX000001", "password": DEMO_PASSWORD}),
        )
        .await
        .unwrap_or_else(|| panic!("cycle {cycle}: no demo login"));
        let me: serde_json::Value = client
            .get(format!("{base}/api/v1/t/{DEMO}/me"))
            .bearer_auth(&admin)
            .send()
            .await
            .expect("me")
            .json()
            .await
            .expect("me json");
        let group = me["group"]["id"].as_str().expect("group id").to_string();

        let mut writers = Vec::new();
        // Two writers create tenants until the kill.
        for w in 0..2u32 {
            let (client, base, token, acked) = (client.clone(), base.clone(), token.clone(), acked.clone());
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
                            acked.lock().expect("lock").tenants.insert(code);
                        }
                        Ok(r) => panic!("unexpected status {} for {code}", r.status()),
                        Err(_) => return, // the server is gone
                    }
                }
            }));
        }
        // One writer creates users in the owner's group.
        {
            let (client, base, admin, group, acked) =
                (client.clone(), base.clone(), admin.clone(), group.clone(), acked.clone());
            writers.push(tokio::spawn(async move {
                let users = format!("{base}/api/v1/t/{DEMO}/groups/{group}/users");
                for n in 0..10_000u32 {
                    let Ok(r) = client.get(format!("{users}/next-id")).bearer_auth(&admin).send().await else { return };
                    let Ok(v) = r.json::<serde_json::Value>().await else { return };
                    let user_id = v["user_id"].as_str().unwrap_or_default().to_string();
                    let body = serde_json::json!({
                        "user_id": user_id, "name": "試験 花子",
                        "email": format!("crash{cycle}-{n}@example.jp"), "roles": ["person_in_charge"],
                    });
                    match client.post(&users).bearer_auth(&admin).json(&body).send().await {
                        Ok(r) if r.status() == 201 => {
                            acked.lock().expect("lock").users.insert(user_id);
                        }
                        Ok(r) => panic!("unexpected status {} for user {user_id}", r.status()),
                        Err(_) => return,
                    }
                }
            }));
        }
        // One writer registers contracts with a PDF.
        {
            let (client, base, admin, pdf, acked) =
                (client.clone(), base.clone(), admin.clone(), pdf.clone(), acked.clone());
            writers.push(tokio::spawn(async move {
                for n in 0..10_000u32 {
                    let number = format!("K-{cycle:04}-{n:04}");
                    let body = serde_json::json!({
                        "number": number, "title": "耐障害試験 注文", "doc_type": "purchase_order",
                        "counterparty": "A15336", "transaction_date": "2026-11-25", "amount": 550_000,
                        "tax": "included", "documents": [{"name": "注文書.pdf", "content_base64": pdf}],
                    });
                    match client
                        .post(format!("{base}/api/v1/t/{DEMO}/contracts"))
                        .bearer_auth(&admin)
                        .json(&body)
                        .send()
                        .await
                    {
                        Ok(r) if r.status() == 201 => {
                            let v: serde_json::Value = r.json().await.unwrap_or_default();
                            let Some(id) = v["id"].as_str() else { return };
                            acked.lock().expect("lock").contracts.insert(id.to_string());
                        }
                        Ok(r) => panic!("unexpected status {} for contract {number}", r.status()),
                        Err(_) => return,
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
        let acked = acked.lock().expect("lock");
        for (what, acked, present) in [
            ("tenants", &acked.tenants, &present.tenants),
            ("users", &acked.users, &present.users),
            ("contracts", &acked.contracts, &present.contracts),
        ] {
            let missing: Vec<_> = acked.difference(present).collect();
            assert!(missing.is_empty(), "cycle {cycle}: {what} acknowledged but lost: {missing:?}");
        }
    }
    let acked = acked.lock().expect("lock");
    let (t, u, c) = (acked.tenants.len(), acked.users.len(), acked.contracts.len());
    eprintln!(
        "{cycles} kill cycles, {} acknowledged writes ({t} tenants, {u} users, {c} contracts), {:?}",
        t + u + c,
        started.elapsed()
    );
    assert!(t > 0 && u > 0 && c > 0, "writes of every kind were acknowledged");
}
