//! Benchmark of archive renewal (`keiyaku ltv renew`, 長期署名の延長) over completed
//! contracts: contracts per second of `Contracts::renew_archives` with a margin that makes
//! every contract due (each one: its document read back, a DSS with fresh OCSP responses
//! from the tenant's responder, a document time-stamp from the tenant TSA, the new version
//! stored, the index and the audit log written, one transaction per contract), beside, as
//! the baseline measured in the same run, the same number of plain
//! `keiyaku_pades::timestamp_document` calls on the same PDF (the cryptographic floor).
//!
//! The data set: one tenant with its CA, TSA and OCSP responder (the certs module, made as
//! on first signing), one small PDF signed once as a completed contract is (B-T signature by
//! a signer certificate of the tenant CA, DSS, document time-stamp) and stored once
//! (documents are content-addressed per tenant), and N completed contracts whose document
//! is that blob, written directly with the crate's model and flow functions as
//! `bench_search` does. The signer certificate is made with the CA directly and registered
//! as a signer's certificate (no ticket or application), so the tenant responder answers
//! `good` for it as for any signer.
//!
//! Run: `cargo run --release -p keiyaku-contracts --example bench_ltv [contracts]` (default 10,000).

use jiff::{SignedDuration, Timestamp};
use keiyaku_certs::signing::{self, Material};
use keiyaku_certs::{CertsError, CertsModule, ca, certificates, model};
use keiyaku_contracts::model::{Contract, DocType, Document, Party, Status, Step, Tax, Version};
use keiyaku_contracts::{Contracts, ContractsModule, flow, sign, storage};
use keiyaku_kernel::config::Config;
use keiyaku_kernel::context::Actor;
use keiyaku_kernel::directory::{self, NewCompany, NewTenant, Role};
use keiyaku_kernel::module::{KernelModule, Module};
use keiyaku_kernel::store::Read;
use keiyaku_kernel::{Kernel, Store, StoreError, SystemClock};
use std::sync::Arc;
use std::time::{Duration, Instant};

type Res<T> = Result<T, Box<dyn std::error::Error>>;

const TENANT: &str = "BENCH";

fn task(e: impl std::fmt::Display) -> StoreError {
    StoreError::Task(e.to_string())
}

/// The tenant's TSA (made on first use, with the tenant CA) and a signer certificate of
/// the tenant CA with its key.
fn materials(certs: &keiyaku_certs::Certs) -> Result<(Material, Material), CertsError> {
    certs.write_blocking(|tx, env| {
        let tenant = signing::tenant(tx, TENANT)?;
        let tsa = signing::tsa_material(tx, env.kek, &tenant, env.base_url)?;
        let ca_record = certificates::ensure_ca(tx, env.kek, &tenant)?;
        let loaded = certificates::load_ca(env.kek, &ca_record)?;
        let serial = ca::random_serial()?;
        let now = tx.now();
        let subject = ca::Subject {
            common_name: "Yamada.Taro".into(),
            organization: "ベンチ建設株式会社".into(),
            email: "taro@bench.example.jp".into(),
            seal_sha256: None,
        };
        let not_before = now.checked_sub(SignedDuration::from_hours(1)).unwrap_or(now);
        let not_after = ca::add_years(now, 3).min(ca_record.not_after);
        let endpoints = ca::Endpoints::new(env.base_url, TENANT);
        let issued = ca::issue(&loaded, &subject, &serial, not_before, not_after, &endpoints)?;
        // Registered, so the tenant's OCSP responder knows it (its key is never opened here).
        let record = model::CertRecord {
            serial: issued.serial.clone(),
            tenant: TENANT.into(),
            user_id: "U0000002".into(),
            common_name: subject.common_name.clone(),
            organization: subject.organization.clone(),
            email: subject.email.clone(),
            not_before,
            not_after,
            usable_from: now.to_zoned_datetime(keiyaku_kernel::clock::tokyo()).date(),
            issued_at: now,
            status: model::CertStatus::Active,
            revoked_at: None,
            revocation_reason: None,
            cert_pem: issued.pem.clone(),
            sealed_key: env.kek.seal("bench", &issued.key_pkcs8)?,
            ticket: "BENCH".into(),
            term_years: 3,
            delivery: model::Delivery::Service,
            application_id: None,
            pin_hash: None,
            pin_failures: 0,
            pin_locked_at: None,
            replaces: None,
            expiry_noticed_at: None,
            imported: None,
        };
        tx.put(&model::CERTIFICATES, &model::key(TENANT, &record.serial), &record)?;
        let signer = Material {
            serial: issued.serial,
            common_name: subject.common_name,
            cert_der: issued.der,
            ca_der: tsa.ca_der.clone(),
            chain: vec![tsa.ca_der.clone()],
            key_pkcs8: issued.key_pkcs8,
        };
        Ok((tsa, signer))
    })
}

/// The document as a completed contract stores it: signed (B-T), the DSS (B-LT), and a
/// document time-stamp (B-LTA).
fn completed_pdf(certs: &keiyaku_certs::Certs, tsa: &Material, signer: &Material) -> Res<Vec<u8>> {
    let now = Timestamp::now();
    let stamper = sign::stamper(None, tsa, now);
    let pdf = keiyaku_contracts::demo::order_pdf(
        "B-0001",
        "ベンチマーク 注文",
        "アイテックコンサルタント株式会社",
        1_100_000,
        "2026-11-25",
    );
    let request = sign::Request {
        registered_seal: None,
        pdf: &pdf,
        pages: None,
        signer_name: "山田 太郎",
        delegate_name: None,
        delegation: None,
        trial: false,
        now,
        page: None,
        x: None,
        y: None,
        contract: "C00000001",
        certify: false,
        later_signers: 0,
    };
    let signed = sign::sign(&request, signer, stamper.as_ref())?;
    let data = certs.write_blocking(|tx, env| {
        let tenant = signing::tenant(tx, TENANT)?;
        signing::validation_data(tx, env.kek, &tenant, env.base_url, &[&signer.cert_der, &tsa.cert_der])
    })?;
    Ok(sign::archive_timestamp(&sign::add_validation(&signed, &data)?, stamper.as_ref())?)
}

fn main() -> Res<()> {
    let n: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(10_000);
    let dir = std::env::temp_dir().join(format!("keiyaku-bench-ltv-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let modules: Vec<Box<dyn Module>> = vec![Box::new(KernelModule), Box::new(CertsModule), Box::new(ContractsModule)];
    let refs: Vec<&dyn Module> = modules.iter().map(|m| m.as_ref()).collect();
    let store = Store::open(&dir.join("bench.redb"), Arc::new(SystemClock), &refs)?;
    let mut config = Config::default();
    // The key-encryption key lives beside the database.
    config.storage.data_dir = dir.clone();
    let kernel = Kernel::new(store, Arc::new(SystemClock), Arc::new(config));
    let certs = keiyaku_certs::Certs::new(kernel.clone());
    let contracts = Contracts::new(kernel.clone(), certs.clone());

    // The tenant and one partner.
    let (owner, partner) = kernel.store.write_blocking(|tx| {
        let actor = Actor::system();
        let new = NewTenant {
            code: TENANT.into(),
            name: "ベンチ建設".into(),
            trial: false,
            owner_name: "ベンチ建設株式会社".into(),
            owner_name_kana: String::new(),
        };
        let (_, owner, group) = directory::create_tenant(tx, &actor, new).map_err(task)?;
        let partner =
            NewCompany { name: "取引先株式会社".into(), name_kana: String::new(), vendor_code: "P00001".into() };
        let (partner, _) = directory::create_partner_company(tx, &actor, TENANT, partner).map_err(task)?;
        Ok::<_, StoreError>(((owner.id, group.id), partner.id))
    })?;

    // One completed document, stored once, and n completed contracts holding it.
    let start = Instant::now();
    let (tsa, signer) = materials(&certs)?;
    let pdf = completed_pdf(&certs, &tsa, &signer)?;
    let sha = kernel.store.write_blocking(|tx| storage::put_blob(tx, TENANT, &pdf))?;
    let now = Timestamp::now();
    let mut written = 0;
    while written < n {
        let batch = (n - written).min(5_000);
        kernel.store.write_blocking(|tx| {
            for i in written..written + batch {
                let c = Contract {
                    id: format!("C{:08}", i + 1),
                    tenant: TENANT.into(),
                    number: format!("N-{:08}", i + 1),
                    title: format!("工事 {}", i + 1),
                    doc_type: DocType::Agreement,
                    counterparty: partner.clone(),
                    transaction_date: jiff::civil::date(2026, 11, 1),
                    amount: 1_000_000,
                    tax: Tax::Included,
                    fields: Vec::new(),
                    registrant: "U0000001".into(),
                    registrant_group: owner.1.clone(),
                    documents: vec![Document {
                        id: "D1".into(),
                        name: "契約書.pdf".into(),
                        versions: vec![Version {
                            n: 1,
                            sha256: sha.clone(),
                            size: pdf.len() as u64,
                            created_at: now,
                            by: "U0000001".into(),
                            signer: None,
                            cert_serial: None,
                            deleted_at: None,
                            pages: vec![[595, 842]],
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
                    retention_until: jiff::civil::date(2033, 11, 1),
                    created_at: now,
                    updated_at: now,
                    completed_at: Some(now),
                    completion_report: None,
                };
                flow::save(tx, None, &c).map_err(task)?;
            }
            Ok::<_, StoreError>(())
        })?;
        written += batch;
    }
    let load = start.elapsed();

    // Baseline: n document time-stamps of the same PDF, in memory.
    let stamper = sign::stamper(None, &tsa, Timestamp::now());
    let t = Instant::now();
    for _ in 0..n {
        let stamped = keiyaku_pades::timestamp_document(&pdf, stamper.as_ref())?;
        std::hint::black_box(stamped);
    }
    let floor = t.elapsed();

    // `ltv renew --within`: the TSA certificate ends in five years, so six make every
    // contract due.
    let within_days = 6 * 366;
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    let t = Instant::now();
    let run = rt.block_on(contracts.renew_archives(within_days, |_, _| {}))?;
    let renewal = t.elapsed();
    if run.renewed != n as u64 || run.failed != 0 {
        return Err(format!("renewal run: {run:?}").into());
    }

    // Not timed: a renewed document is a valid B-LTA file with two document time-stamps.
    let key = format!("{TENANT}/C{:08}", n);
    let renewed = kernel.store.read_blocking(|tx| {
        let c = tx.get(&keiyaku_contracts::model::CONTRACTS, &key)?.ok_or_else(|| task("contract missing"))?;
        let latest = c.documents[0].latest().cloned().ok_or_else(|| task("no version"))?;
        storage::get_blob(tx, TENANT, &latest.sha256).map_err(task)
    })?;
    let report = keiyaku_pades::report(&renewed, std::slice::from_ref(&tsa.ca_der), Timestamp::now())?;
    let stamps = report.signatures.iter().filter(|s| s.kind == keiyaku_pades::SignatureKind::DocumentTimestamp);
    if report.signatures[0].level != Some(keiyaku_pades::Level::BLta) || stamps.count() != 2 {
        return Err(format!("renewed document: {:?}", report.reasons).into());
    }

    let per_sec = |d: Duration| n as f64 / d.as_secs_f64().max(f64::EPSILON);
    println!(
        "ltv renew benchmark: {n} completed contracts ({} byte B-LTA document; data set made in {:.1} s)",
        pdf.len(),
        load.as_secs_f64()
    );
    println!(
        "  renew_archives(within {within_days} days): {:.2} s, {:.0} contracts/s (all {} renewed, {} failed)",
        renewal.as_secs_f64(),
        per_sec(renewal),
        run.renewed,
        run.failed
    );
    println!(
        "  baseline, {n} plain keiyaku_pades::timestamp_document calls on the same PDF: {:.2} s, {:.0}/s",
        floor.as_secs_f64(),
        per_sec(floor)
    );
    println!(
        "  ratio renewal/baseline time: {:.1}× (the rest: DSS with two OCSP responses, storage, index, audit, one commit per contract)",
        renewal.as_secs_f64() / floor.as_secs_f64().max(f64::EPSILON)
    );
    drop(contracts);
    drop(certs);
    drop(kernel);
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
