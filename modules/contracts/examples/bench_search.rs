//! Benchmark of 契約検索 over 100,000 contracts: p50/p99 of a transaction-date range (one
//! month) + amount range + counterparty query as the 電子帳簿保存法 asks, beside the same
//! criteria without a date range (a scan of the tenant's whole index), measured in the same
//! run; and the memory the process and the database use.
//!
//! Run: `cargo run --release -p keiyaku-contracts --example bench_search [contracts]`.

use jiff::civil::Date;
use jiff::{Timestamp, ToSpan};
use keiyaku_contracts::model::{Contract, DocType, Document, Party, Status, Step, Tax, Version};
use keiyaku_contracts::search::{self, SearchInput};
use keiyaku_contracts::{ContractsModule, flow};
use keiyaku_kernel::context::{Actor, Caller};
use keiyaku_kernel::directory::{self, NewCompany, NewTenant, Role};
use keiyaku_kernel::module::{KernelModule, Module};
use keiyaku_kernel::paging::Paging;
use keiyaku_kernel::{Store, SystemClock};
use std::sync::Arc;
use std::time::{Duration, Instant};

type Res<T> = Result<T, Box<dyn std::error::Error>>;

const TENANT: &str = "BENCH";
const PARTNERS: usize = 50;
const QUERIES: usize = 400;

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("VmRSS:")).and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

/// A small deterministic generator (xorshift), so runs compare.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn main() -> Res<()> {
    let n: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(100_000);
    let dir = std::env::temp_dir().join(format!("keiyaku-bench-search-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let modules: Vec<Box<dyn Module>> = vec![Box::new(KernelModule), Box::new(ContractsModule)];
    let refs: Vec<&dyn Module> = modules.iter().map(|m| m.as_ref()).collect();
    let db = dir.join("bench.redb");
    let store = Store::open(&db, Arc::new(SystemClock), &refs)?;
    let rss_start = rss_kib();

    // The tenant and its partners.
    let (owner, partners) = store.write_blocking(|tx| {
        let actor = Actor::system();
        let (_, owner, group) = directory::create_tenant(
            tx,
            &actor,
            NewTenant {
                code: TENANT.into(),
                name: "ベンチ".into(),
                trial: false,
                owner_name: "ベンチ建設株式会社".into(),
                owner_name_kana: String::new(),
            },
        )
        .map_err(|e| keiyaku_kernel::StoreError::Task(e.to_string()))?;
        let mut partners = Vec::new();
        for i in 0..PARTNERS {
            let (c, _) = directory::create_partner_company(
                tx,
                &actor,
                TENANT,
                NewCompany {
                    name: format!("取引先{i}株式会社"),
                    name_kana: String::new(),
                    vendor_code: format!("P{i:05}"),
                },
            )
            .map_err(|e| keiyaku_kernel::StoreError::Task(e.to_string()))?;
            partners.push(c.id);
        }
        Ok::<_, keiyaku_kernel::StoreError>(((owner.id, group.id), partners))
    })?;

    // n contracts over ten years, written 5,000 per transaction.
    let start = Instant::now();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let first = Date::new(2016, 1, 1)?;
    let now = Timestamp::now();
    let mut written = 0;
    while written < n {
        let batch = (n - written).min(5_000);
        let base = written;
        let mut items = Vec::with_capacity(batch);
        for i in 0..batch {
            let day = (rng.next() % 3650) as i64;
            let partner = partners[(rng.next() % PARTNERS as u64) as usize].clone();
            let amount = ((rng.next() % 10_000) as i64 + 1) * 1_000;
            items.push((base + i, first.checked_add(day.days())?, partner, amount));
        }
        store.write_blocking(|tx| {
            for (i, date, partner, amount) in &items {
                let c = Contract {
                    id: format!("C{:08}", i + 1),
                    tenant: TENANT.into(),
                    number: format!("N-{:08}", i + 1),
                    title: format!("工事 {}", i + 1),
                    doc_type: DocType::PurchaseOrder,
                    counterparty: partner.clone(),
                    transaction_date: *date,
                    amount: *amount,
                    tax: Tax::Included,
                    fields: Vec::new(),
                    registrant: "U0000001".into(),
                    registrant_group: owner.1.clone(),
                    documents: vec![Document {
                        id: "D1".into(),
                        name: "注文書.pdf".into(),
                        versions: vec![Version {
                            n: 1,
                            sha256: format!("{:064x}", i),
                            size: 10_000,
                            created_at: now,
                            by: "U0000001".into(),
                            signer: None,
                            cert_serial: None,
                            deleted_at: None,
                            pages: Vec::new(),
                        }],
                    }],
                    route: vec![Step {
                        party: Party::Owner,
                        role: Role::Signer,
                        company_id: owner.0.clone(),
                        users: vec!["U0000002".into()],
                        done: None,
                    }],
                    status: Status::Completed,
                    current: None,
                    history: Vec::new(),
                    retention_until: *date,
                    created_at: now,
                    updated_at: now,
                    completed_at: Some(now),
                    completion_report: None,
                };
                flow::save(tx, None, &c).map_err(|e| keiyaku_kernel::StoreError::Task(e.to_string()))?;
            }
            Ok::<_, keiyaku_kernel::StoreError>(())
        })?;
        written += batch;
    }
    let load = start.elapsed();

    let caller = Caller {
        tenant: TENANT.into(),
        user_id: "U0000001".into(),
        name: "管理部".into(),
        company_id: owner.0.clone(),
        group_id: owner.1.clone(),
        owner_side: true,
        roles: vec![Role::Administration, Role::GroupAdmin],
        client: None,
    };
    let run = |with_dates: bool| -> Res<(Vec<Duration>, usize)> {
        let mut rng = Rng(42);
        let mut times = Vec::with_capacity(QUERIES);
        let mut hits = 0;
        for _ in 0..QUERIES {
            let from = first.checked_add(((rng.next() % 3600) as i64).days())?;
            let to = from.checked_add(1.month())?;
            let min = ((rng.next() % 5_000) as i64) * 1_000;
            let input = SearchInput {
                date_from: with_dates.then(|| from.to_string()),
                date_to: with_dates.then(|| to.to_string()),
                amount_min: Some(min),
                amount_max: Some(min + 3_000_000),
                counterparty: Some(format!("P{:05}", rng.next() % PARTNERS as u64)),
                ..SearchInput::default()
            };
            let t = Instant::now();
            let page = store.read_blocking(|tx| {
                let q = search::parse(tx, TENANT, &input)?;
                search::contracts(tx, &caller, &q, Paging::default())
            })?;
            times.push(t.elapsed());
            hits += page.total;
        }
        times.sort();
        Ok((times, hits))
    };
    let (indexed, hits) = run(true)?;
    let (scan, _) = run(false)?;
    let rss_end = rss_kib();
    let db_size = std::fs::metadata(&db).map(|m| m.len()).unwrap_or(0);

    println!(
        "契約検索 benchmark: {n} contracts, {PARTNERS} partners, {QUERIES} queries each (loaded in {:.1} s)",
        load.as_secs_f64()
    );
    println!(
        "  date range (1 month) + amount + counterparty: p50 {:.2} ms  p99 {:.2} ms  (avg {:.1} hits; target p99 ≤ 20 ms)",
        ms(percentile(&indexed, 0.5)),
        ms(percentile(&indexed, 0.99)),
        hits as f64 / QUERIES as f64
    );
    println!(
        "  baseline, same criteria without dates (whole index): p50 {:.2} ms  p99 {:.2} ms",
        ms(percentile(&scan, 0.5)),
        ms(percentile(&scan, 0.99))
    );
    println!(
        "  ratio baseline/date-range at p50: {:.1}×",
        ms(percentile(&scan, 0.5)) / ms(percentile(&indexed, 0.5)).max(f64::EPSILON)
    );
    println!(
        "  memory: process RSS {:.1} MiB (start {:.1} MiB), database file {:.1} MiB",
        rss_end as f64 / 1024.0,
        rss_start as f64 / 1024.0,
        db_size as f64 / (1024.0 * 1024.0)
    );
    drop(store);
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
