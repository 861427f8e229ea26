//! Benchmark of 契約検索 at 100,000 and 1,000,000 contracts: p50/p99 of every combination of
//! the 電子帳簿保存法 criteria — transaction date range (one month), amount range (±300,000
//! yen around a random amount, and a wide 3,000,000-yen band), counterparty — and of a status
//! alone, each against the baseline of the same query answered by reading every record of
//! the tenant (what search did before its indexes), measured in the same run; and the memory
//! the process and the database use.
//!
//! Run: `cargo run --release -p keiyaku-contracts --example bench_search [contracts…]`
//! (default: 100000 1000000).

use jiff::civil::Date;
use jiff::{Timestamp, ToSpan};
use keiyaku_contracts::model::{Contract, DocType, Document, INDEX, Party, Status, Step, Tax, Version};
use keiyaku_contracts::search::{self, SearchInput};
use keiyaku_contracts::{ContractsModule, flow};
use keiyaku_kernel::context::{Actor, Caller};
use keiyaku_kernel::directory::{self, NewCompany, NewTenant, Role};
use keiyaku_kernel::module::{KernelModule, Module};
use keiyaku_kernel::paging::Paging;
use keiyaku_kernel::store::Read;
use keiyaku_kernel::{Store, SystemClock};
use std::sync::Arc;
use std::time::{Duration, Instant};

type Res<T> = Result<T, Box<dyn std::error::Error>>;

const TENANT: &str = "BENCH";
const PARTNERS: usize = 50;
const QUERIES: usize = 400;
/// Queries of the baseline per combination (it reads the whole tenant each time).
const BASELINE_QUERIES: usize = 5;

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
    let sizes: Vec<usize> = std::env::args().skip(1).filter_map(|a| a.parse().ok()).collect();
    let sizes = if sizes.is_empty() { vec![100_000, 1_000_000] } else { sizes };
    for n in sizes {
        bench(n)?;
    }
    Ok(())
}

/// A query of one combination, and what reading every record would answer (the baseline).
#[derive(Clone, Copy)]
struct Combo {
    name: &'static str,
    date: bool,
    amount: Option<i64>,
    counterparty: bool,
    status: bool,
}

const COMBOS: [Combo; 9] = [
    Combo { name: "date", date: true, amount: None, counterparty: false, status: false },
    Combo { name: "amount ±300k", date: false, amount: Some(300_000), counterparty: false, status: false },
    Combo { name: "amount 3M band", date: false, amount: Some(1_500_000), counterparty: false, status: false },
    Combo { name: "counterparty", date: false, amount: None, counterparty: true, status: false },
    Combo { name: "date+amount", date: true, amount: Some(1_500_000), counterparty: false, status: false },
    Combo { name: "date+counterparty", date: true, amount: None, counterparty: true, status: false },
    Combo { name: "amount+counterparty", date: false, amount: Some(1_500_000), counterparty: true, status: false },
    Combo { name: "date+amount+counterparty", date: true, amount: Some(1_500_000), counterparty: true, status: false },
    Combo { name: "status", date: false, amount: None, counterparty: false, status: true },
];

fn bench(n: usize) -> Res<()> {
    let dir = std::env::temp_dir().join(format!("keiyaku-bench-search-{}-{n}", std::process::id()));
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
                    // One in ten still circulating.
                    status: if i % 10 == 0 { Status::Circulating } else { Status::Completed },
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
    let query = |combo: Combo, rng: &mut Rng| -> Res<SearchInput> {
        let from = first.checked_add(((rng.next() % 3600) as i64).days())?;
        let to = from.checked_add(1.month())?;
        let centre = ((rng.next() % 10_000) as i64 + 1) * 1_000;
        Ok(SearchInput {
            date_from: combo.date.then(|| from.to_string()),
            date_to: combo.date.then(|| to.to_string()),
            amount_min: combo.amount.map(|w| (centre - w).max(0)),
            amount_max: combo.amount.map(|w| centre + w),
            counterparty: combo.counterparty.then(|| format!("P{:05}", rng.next() % PARTNERS as u64)),
            status: combo.status.then(|| "completed".to_string()),
            ..SearchInput::default()
        })
    };
    println!(
        "契約検索 benchmark: {n} contracts, {PARTNERS} partners, {QUERIES} queries per combination (loaded in {:.1} s)",
        load.as_secs_f64()
    );
    println!(
        "  {:<26} {:>9} {:>9} {:>10} {:>13} {:>7}",
        "criteria", "p50 ms", "p99 ms", "avg hits", "baseline p50", "ratio"
    );
    let mut worst = Duration::ZERO;
    for combo in COMBOS {
        let mut rng = Rng(42);
        let mut times = Vec::with_capacity(QUERIES);
        let mut hits = 0;
        let mut inputs = Vec::with_capacity(QUERIES);
        for _ in 0..QUERIES {
            let input = query(combo, &mut rng)?;
            let t = Instant::now();
            let page = store.read_blocking(|tx| {
                let q = search::parse(tx, TENANT, &input)?;
                search::contracts(tx, &caller, &q, Paging::default())
            })?;
            times.push(t.elapsed());
            hits += page.total;
            inputs.push(input);
        }
        times.sort();
        // The baseline: the same answer from every record of the tenant (a few queries).
        let mut base = Vec::new();
        for input in inputs.iter().take(BASELINE_QUERIES) {
            let t = Instant::now();
            let total = store.read_blocking(|tx| {
                let q = search::parse(tx, TENANT, input)?;
                let every = tx.scan(&INDEX, &format!("{TENANT}/"))?;
                Ok::<_, keiyaku_contracts::error::ContractsError>(
                    every
                        .into_iter()
                        .filter(|(_, s)| {
                            q.date_from.is_none_or(|d| s.transaction_date >= d)
                                && q.date_to.is_none_or(|d| s.transaction_date <= d)
                                && q.matches(s)
                        })
                        .count(),
                )
            })?;
            base.push(t.elapsed());
            std::hint::black_box(total);
        }
        base.sort();
        let (p50, p99, b50) = (percentile(&times, 0.5), percentile(&times, 0.99), percentile(&base, 0.5));
        worst = worst.max(p99);
        println!(
            "  {:<26} {:>9.2} {:>9.2} {:>10.0} {:>13.1} {:>6.0}×",
            combo.name,
            ms(p50),
            ms(p99),
            hits as f64 / QUERIES as f64,
            ms(b50),
            ms(b50) / ms(p50).max(f64::EPSILON)
        );
    }
    let target = if n <= 100_000 { 20.0 } else { 50.0 };
    println!(
        "  worst p99 {:.2} ms (target ≤ {target} ms at this size: {})",
        ms(worst),
        if ms(worst) <= target { "met" } else { "NOT met" }
    );
    let rss_end = rss_kib();
    let db_size = std::fs::metadata(&db).map(|m| m.len()).unwrap_or(0);
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
