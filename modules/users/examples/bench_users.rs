//! Benchmark of issue 4 (run: `cargo run --release -p keiyaku-users --example bench_users`).
//!
//! Seeds 10,000 users in one tenant of a temporary store and prints:
//! - `searchUsers` (service level, the tenant administrator's scope) p50/p99 and req/s;
//! - `createUser` throughput — user, credential, audit records and the outbox mail in one
//!   durable transaction, argon2 excluded — as a ratio to raw redb commits/s of a record of
//!   the same size (into a table already holding 10,000 of them, and into an empty one),
//!   measured in the same run;
//! - argon2id hashing of an initial password, separately.
//!
//! Numbers only; nothing is asserted (targets: search p99 ≤ 10 ms, create ≥ 30 % of raw).

#![allow(clippy::expect_used, clippy::unwrap_used)]

use keiyaku_auth::AuthModule;
use keiyaku_kernel::context::{Actor, Caller};
use keiyaku_kernel::directory::{self, NewCompany, NewTenant, NewUser, Role};
use keiyaku_kernel::module::{KernelModule, Module};
use keiyaku_kernel::{Config, Kernel, SystemClock};
use keiyaku_users::search::Query;
use keiyaku_users::service::{self, InitialSecret, NewUserInput};
use keiyaku_users::{Paging, Users, UsersError, UsersModule};
use std::sync::Arc;
use std::time::{Duration, Instant};

const TENANT: &str = "BENCH";
const USERS: usize = 10_000;
const GROUPS: usize = 20;
const SEARCHES: usize = 2_000;
const CREATES: usize = 400;
const ROUNDS: usize = 10;

const SURNAMES: [&str; 20] = [
    "佐藤",
    "鈴木",
    "高橋",
    "田中",
    "伊藤",
    "渡辺",
    "山本",
    "中村",
    "小林",
    "加藤",
    "吉田",
    "山田",
    "佐々木",
    "山口",
    "松本",
    "井上",
    "木村",
    "林",
    "清水",
    "山崎",
];
const GIVEN: [&str; 10] = ["太郎", "花子", "一郎", "誠", "健一", "裕子", "直樹", "美咲", "翔", "陽菜"];

fn name(i: usize) -> String {
    format!("{} {}{}", SURNAMES[i % SURNAMES.len()], GIVEN[(i / SURNAMES.len()) % GIVEN.len()], i)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx.min(sorted.len() - 1)]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn main() {
    let dir = std::env::temp_dir().join(format!("keiyaku-bench-users-{}", keiyaku_kernel::ids::new_id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let modules: [&dyn Module; 3] = [&KernelModule, &AuthModule, &UsersModule];
    let clock = Arc::new(SystemClock);
    let store = keiyaku_kernel::Store::open(&dir.join("keiyaku.redb"), clock.clone(), &modules).expect("store");
    let kernel = Kernel::new(store, clock, Arc::new(Config::default()));
    let users = Users::new(kernel.clone());

    // Tenant, its administrator, groups in the owner company and one partner company.
    let groups: Vec<String> = kernel
        .store
        .write_blocking(|tx| {
            let sys = Actor::system();
            let (_, owner, root) = directory::create_tenant(
                tx,
                &sys,
                NewTenant {
                    code: TENANT.into(),
                    name: "ベンチ".into(),
                    trial: false,
                    owner_name: "ベンチ株式会社".into(),
                    owner_name_kana: String::new(),
                },
            )?;
            directory::create_user(
                tx,
                &sys,
                TENANT,
                NewUser {
                    user_id: "BA000001".into(),
                    name: "管理 太郎".into(),
                    email: "admin@bench.example.jp".into(),
                    roles: vec![Role::GroupAdmin, Role::Administration],
                    group_id: root.id.clone(),
                    ..Default::default()
                },
            )?;
            let (_, proot) = directory::create_partner_company(
                tx,
                &sys,
                TENANT,
                NewCompany {
                    name: "取引先株式会社".into(), name_kana: String::new(), vendor_code: "A15336".into()
                },
            )?;
            let mut groups = vec![root.id.clone(), proot.id];
            for g in 0..GROUPS - 2 {
                groups.push(directory::create_group(tx, &sys, TENANT, &owner.id, None, &format!("支店{g:02}"))?.id);
            }
            Ok::<_, directory::DirectoryError>(groups)
        })
        .expect("tenant");
    let admin: Caller =
        kernel.store.read_blocking(|tx| keiyaku_auth::load_caller(tx, TENANT, "BA000001", None)).expect("caller");

    // argon2id, reported separately (every created user needs one hash).
    let t = Instant::now();
    let secrets: Vec<InitialSecret> = (0..5).map(|_| InitialSecret::generate().expect("hash")).collect();
    let argon2 = t.elapsed() / secrets.len() as u32;
    let secret = secrets[0].clone();

    // Seed through the service (batched: 500 users per transaction).
    let t = Instant::now();
    for batch in 0..USERS / 500 {
        kernel
            .store
            .write_blocking(|tx| {
                for i in batch * 500..(batch + 1) * 500 {
                    let input = NewUserInput {
                        user_id: Some(format!("U{i:07}")),
                        name: name(i),
                        email: format!("u{i}@bench.example.jp"),
                        roles: vec!["person_in_charge".into()],
                        ..NewUserInput::default()
                    };
                    service::create_user(tx, &kernel, &admin, &groups[i % groups.len()], &input, &secret)?;
                }
                Ok::<_, UsersError>(())
            })
            .expect("seed");
    }
    println!("seeded {USERS} users in {:.1} s (500 per transaction)", t.elapsed().as_secs_f64());

    // searchUsers.
    let queries: Vec<Query> =
        ["U00012", "u0009", "A15336", "山田", "花子", "佐々木 翔", "太郎12", "9999", "存在しない", ""]
            .iter()
            .map(|q| Query { q: Some(q.to_string()), ..Query::default() })
            .collect();
    let paging = Paging::default();
    let t = Instant::now();
    let first = users.search_users_blocking(&admin, &queries[3], paging).expect("search");
    println!(
        "searchUsers: first call (index build over {} users) {:.2} ms; 「山田」 matches {}",
        USERS + 1,
        ms(t.elapsed()),
        first.total
    );
    let mut lat = Vec::with_capacity(SEARCHES);
    let t = Instant::now();
    for i in 0..SEARCHES {
        let q = &queries[i % queries.len()];
        let s = Instant::now();
        let page = users.search_users_blocking(&admin, q, paging).expect("search");
        lat.push(s.elapsed());
        std::hint::black_box(page);
    }
    let total = t.elapsed();
    lat.sort();
    println!(
        "searchUsers ({SEARCHES} queries, 10k users, tenant scope, 50 per page): p50 {:.3} ms  p99 {:.3} ms  max {:.3} ms  {:.0} req/s (1 thread)",
        ms(percentile(&lat, 0.50)),
        ms(percentile(&lat, 0.99)),
        ms(lat[lat.len() - 1]),
        SEARCHES as f64 / total.as_secs_f64()
    );
    let threads = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(4).min(8);
    let t = Instant::now();
    std::thread::scope(|s| {
        for w in 0..threads {
            let (users, admin, queries) = (&users, &admin, &queries);
            s.spawn(move || {
                for i in 0..SEARCHES / threads {
                    let q = &queries[(i + w) % queries.len()];
                    std::hint::black_box(users.search_users_blocking(admin, q, paging).expect("search"));
                }
            });
        }
    });
    println!(
        "searchUsers: {:.0} req/s with {threads} threads",
        (SEARCHES / threads * threads) as f64 / t.elapsed().as_secs_f64()
    );

    // createUser (one durable transaction per user; argon2 excluded: pre-hashed secret) and
    // raw redb commits of a record of the stored user's size, interleaved in rounds so that
    // both see the same disk and CPU conditions (fsync latency varies a lot between runs).
    let record = kernel
        .store
        .read_blocking(|tx| directory::get_user(tx, TENANT, "U0000001"))
        .expect("read")
        .map(|u| serde_json::to_vec(&u).map(|v| v.len()).unwrap_or(300))
        .unwrap_or(300);
    let table: redb::TableDefinition<&str, &[u8]> = redb::TableDefinition::new("raw");
    let value = vec![b'x'; record];
    let open_raw = |file: &str, prefill: usize| {
        let db = redb::Database::create(dir.join(file)).expect("raw db");
        let tx = db.begin_write().expect("begin");
        {
            let mut tbl = tx.open_table(table).expect("table");
            for i in 0..prefill {
                tbl.insert(format!("BENCH/P{i:07}").as_str(), value.as_slice()).expect("insert");
            }
        }
        tx.commit().expect("commit");
        db
    };
    let raw_full_db = open_raw("raw-10k.redb", USERS);
    let raw_empty_db = open_raw("raw-empty.redb", 0);
    let raw_commit = |db: &redb::Database, i: usize| {
        let tx = db.begin_write().expect("begin");
        {
            let mut tbl = tx.open_table(table).expect("table");
            tbl.insert(format!("BENCH/R{i:07}").as_str(), value.as_slice()).expect("insert");
        }
        tx.commit().expect("commit");
    };
    let per_round = CREATES / ROUNDS;
    let (mut t_create, mut t_full, mut t_empty) = (Duration::ZERO, Duration::ZERO, Duration::ZERO);
    let mut round_ratios = Vec::new();
    for round in 0..ROUNDS {
        let t = Instant::now();
        for i in round * per_round..(round + 1) * per_round {
            kernel
                .store
                .write_blocking(|tx| {
                    let input = NewUserInput {
                        user_id: Some(format!("C{i:07}")),
                        name: name(i),
                        email: format!("c{i}@bench.example.jp"),
                        roles: vec!["person_in_charge".into(), "approver".into()],
                        ..NewUserInput::default()
                    };
                    service::create_user(tx, &kernel, &admin, &groups[i % groups.len()], &input, &secret)
                })
                .expect("create");
        }
        let c = t.elapsed();
        let t = Instant::now();
        for i in round * per_round..(round + 1) * per_round {
            raw_commit(&raw_full_db, i);
        }
        let f = t.elapsed();
        let t = Instant::now();
        for i in round * per_round..(round + 1) * per_round {
            raw_commit(&raw_empty_db, i);
        }
        t_empty += t.elapsed();
        t_create += c;
        t_full += f;
        round_ratios.push(f.as_secs_f64() / c.as_secs_f64());
    }
    round_ratios.sort_by(f64::total_cmp);
    let n = (per_round * ROUNDS) as f64;
    let create_rate = n / t_create.as_secs_f64();
    let raw_full = n / t_full.as_secs_f64();
    let raw_empty = n / t_empty.as_secs_f64();
    println!(
        "createUser (user + e-mail index + membership + credential + 2 audit records + outbox mail, one durable commit each): {create_rate:.0} users/s"
    );
    println!(
        "raw redb durable commits of one {record}-byte record: {raw_full:.0}/s into a 10k-record table, {raw_empty:.0}/s into an empty one"
    );
    println!(
        "createUser / raw commit ratio: {:.0} % (vs the 10k-record table; median of {ROUNDS} interleaved rounds {:.0} %), {:.0} % (vs the empty table)",
        100.0 * create_rate / raw_full,
        100.0 * round_ratios[round_ratios.len() / 2],
        100.0 * create_rate / raw_empty
    );

    // An update bumps the generation: the next search rebuilds the index.
    kernel
        .store
        .write_blocking(|tx| {
            let changes = keiyaku_users::UserChanges { name: Some("改名 太郎".into()), ..Default::default() };
            service::update_user(tx, &admin, "U0000001", changes)
        })
        .expect("update");
    let s = Instant::now();
    users.search_users_blocking(&admin, &queries[0], paging).expect("search");
    let rebuild = s.elapsed();
    println!(
        "argon2id initial-password hash (excluded above): {:.1} ms each → {:.0} users/s if hashed inline on one core",
        ms(argon2),
        1.0 / argon2.as_secs_f64()
    );
    println!("searchUsers right after a write (index rebuilt): {:.2} ms", ms(rebuild));
    drop(users);
    drop(kernel);
    let _ = std::fs::remove_dir_all(&dir);
}
