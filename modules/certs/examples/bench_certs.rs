//! Benchmark of the tenant CA, each figure beside the raw rcgen cost of the same work,
//! measured in the same run:
//!
//! - certificate issuance per second: ours = ticket check and consumption, CA key unsealed,
//!   key generation + signing (rcgen), signer key sealed, certificate, ticket and audit
//!   records stored, one durable redb transaction per certificate (and, to separate the
//!   fsync, 100 certificates per transaction); raw = rcgen key generation + signing only;
//! - CRL generation with 10,000 revoked entries: ours = scan of the revocation table, signing
//!   (rcgen), storage, commit; raw = rcgen building and signing the same list.
//!
//! Run: `cargo run --release -p keiyaku-certs --example bench_certs [issuances]`.

use jiff::Timestamp;
use keiyaku_certs::ca::{self, Subject};
use keiyaku_certs::certificates::{self, IssueRequest};
use keiyaku_certs::model::{self, Delivery, Details, REVOKED, RevokedEntry, TICKETS, Ticket, TicketStatus};
use keiyaku_certs::{Certs, CertsError, CertsModule};
use keiyaku_kernel::context::Actor;
use keiyaku_kernel::directory::{self, NewTenant, NewUser, Role};
use keiyaku_kernel::module::{KernelModule, Module};
use keiyaku_kernel::store::Read;
use keiyaku_kernel::{Config, Kernel, Store, SystemClock};
use rcgen::{
    BasicConstraints, CertificateParams, CertificateRevocationListParams, DnType, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, PKCS_ECDSA_P256_SHA256, RevocationReason, RevokedCertParams, SerialNumber,
};
use std::sync::Arc;
use std::time::{Duration, Instant};

type Res<T> = Result<T, Box<dyn std::error::Error>>;

const TENANT: &str = "BENCH";
const CRL_ENTRIES: usize = 10_000;

fn per_second(n: usize, d: Duration) -> f64 {
    n as f64 / d.as_secs_f64().max(f64::EPSILON)
}

fn overhead(ours: Duration, raw: Duration) -> f64 {
    (ours.as_secs_f64() / raw.as_secs_f64().max(f64::EPSILON) - 1.0) * 100.0
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v.get(v.len() / 2).copied().unwrap_or_default()
}

fn details(i: usize) -> Details {
    Details {
        company_name: "アイテックコンサルタント株式会社".into(),
        company_name_kana: "アイテックコンサルタントカブシキガイシャ".into(),
        surname: "伊藤".into(),
        given_name: "誠".into(),
        surname_kana: "イトウ".into(),
        given_name_kana: "マコト".into(),
        user_id: "A1533602".into(),
        email: "ito@example.jp".into(),
        display_name: format!("Ito.Makoto{i}"),
        phone: "03-6220-0635".into(),
    }
}

fn setup(dir: &std::path::Path) -> Res<Certs> {
    let modules: [&dyn Module; 2] = [&KernelModule, &CertsModule];
    let store = Store::open(&dir.join("bench.redb"), Arc::new(SystemClock), &modules)?;
    let mut config = Config::default();
    config.storage.data_dir = dir.to_path_buf();
    let kernel = Kernel::new(store, Arc::new(SystemClock), Arc::new(config));
    kernel.store.write_blocking(|tx| {
        let actor = Actor::system();
        let (_, _, root) = directory::create_tenant(
            tx,
            &actor,
            NewTenant {
                code: TENANT.into(),
                name: "ベンチマーク".into(),
                trial: false,
                owner_name: "ベンチマーク株式会社".into(),
                owner_name_kana: "ベンチマークカブシキガイシャ".into(),
            },
        )?;
        directory::create_user(
            tx,
            &actor,
            TENANT,
            NewUser {
                user_id: "A1533602".into(),
                name: "伊藤 誠".into(),
                email: "ito@example.jp".into(),
                roles: vec![Role::Signer],
                group_id: root.id,
                ..Default::default()
            },
        )?;
        Ok::<_, directory::DirectoryError>(())
    })?;
    Ok(Certs::new(kernel))
}

fn add_tickets(certs: &Certs, n: usize) -> Res<Vec<String>> {
    let numbers: Vec<String> = (0..n).map(|_| uuid::Uuid::new_v4().hyphenated().to_string()).collect();
    let list = numbers.clone();
    certs.kernel.store.write_blocking(move |tx| {
        for number in &list {
            let t = Ticket {
                number: number.clone(),
                tenant: TENANT.into(),
                order_id: "bench".into(),
                term_years: 1,
                delivery: Delivery::Service,
                status: TicketStatus::Available,
                consumed_by: None,
                consumed_at: None,
            };
            tx.put(&TICKETS, &model::key(TENANT, number), &t)?;
        }
        Ok::<_, keiyaku_kernel::StoreError>(())
    })?;
    Ok(numbers)
}

/// Ours: one durable transaction per certificate (`batch = 1`) or `batch` per transaction.
fn issue_ours(certs: &Certs, tickets: &[String], batch: usize) -> Res<Duration> {
    let start = Instant::now();
    for chunk in tickets.chunks(batch) {
        certs.write_blocking(|tx, env| {
            let tenant = directory::get_tenant(tx, TENANT)?.ok_or(CertsError::NotFound("tenant"))?;
            let holder = directory::get_user(tx, TENANT, "A1533602")?.ok_or(CertsError::NotFound("user"))?;
            for (i, ticket) in chunk.iter().enumerate() {
                let d = details(i);
                let req = IssueRequest {
                    tenant: &tenant,
                    holder: &holder,
                    details: &d,
                    ticket,
                    application_id: None,
                    pin: None,
                    pin_hash: None,
                    issued_at: tx.now(),
                };
                certificates::issue(tx, env, &Actor::system(), &req)?;
            }
            Ok(())
        })?;
    }
    Ok(start.elapsed())
}

fn raw_ca() -> Res<(CertificateParams, KeyPair)> {
    let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)?;
    let mut p = CertificateParams::default();
    p.distinguished_name.push(DnType::CommonName, "raw CA");
    p.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    p.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    p.self_signed(&key)?;
    Ok((p, key))
}

/// keiyaku's CA code without storage: the tenant CA as loaded from its sealed key, the
/// certificate profile, key generation + signing, PEM and the sealing of the new key.
fn issue_code_only(certs: &Certs, n: usize) -> Res<Duration> {
    let kek = certs.kek()?;
    let record = certs.kernel.store.read_blocking(|tx| tx.get(&model::CAS, TENANT))?.ok_or("no CA")?;
    let cache = certificates::CaCache::default();
    let ca = cache.get(&kek, &record)?;
    let now = Timestamp::now();
    let subject = Subject {
        common_name: "BN-Ito.Makoto".into(),
        organization: "アイテックコンサルタント株式会社".into(),
        email: "ito@example.jp".into(),
        seal_sha256: None,
    };
    let start = Instant::now();
    for _ in 0..n {
        let serial = ca::random_serial()?;
        let issued = ca::issue(
            &ca,
            &subject,
            &serial,
            now,
            ca::add_years(now, 1),
            &ca::Endpoints::new("https://localhost:8443", TENANT),
        )?;
        let sealed = kek.seal(&format!("{TENANT}/cert/{}", issued.serial), &issued.key_pkcs8)?;
        std::hint::black_box((issued.pem.len(), sealed));
    }
    Ok(start.elapsed())
}

/// Raw rcgen: the same key generation and signing of the same certificate profile.
fn issue_raw(n: usize) -> Res<Duration> {
    let (ca_params, ca_key) = raw_ca()?;
    let issuer = Issuer::from_params(&ca_params, &ca_key);
    let now = Timestamp::now();
    let subject = Subject {
        common_name: "BN-Ito.Makoto".into(),
        organization: "アイテックコンサルタント株式会社".into(),
        email: "ito@example.jp".into(),
        seal_sha256: None,
    };
    let start = Instant::now();
    for _ in 0..n {
        let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)?;
        let serial = ca::random_serial()?;
        let params = ca::signer_params(
            &subject,
            &serial,
            now,
            ca::add_years(now, 1),
            &ca::Endpoints::new("https://localhost:8443", TENANT),
        )?;
        let cert = params.signed_by(&key, &issuer)?;
        std::hint::black_box((cert.der().len(), key.serialize_der()));
    }
    Ok(start.elapsed())
}

fn revoked_entries(certs: &Certs) -> Res<Vec<(Vec<u8>, RevokedEntry)>> {
    let now = Timestamp::now();
    let entries: Vec<(Vec<u8>, RevokedEntry)> = (0..CRL_ENTRIES)
        .map(|_| Ok((ca::random_serial()?.to_vec(), RevokedEntry { revoked_at: now, reason_code: 5 })))
        .collect::<Result<_, CertsError>>()?;
    let list = entries.clone();
    certs.kernel.store.write_blocking(move |tx| {
        for (serial, e) in &list {
            tx.put(&REVOKED, &model::key(TENANT, &ca::serial_hex(serial)), e)?;
        }
        Ok::<_, keiyaku_kernel::StoreError>(())
    })?;
    Ok(entries)
}

fn crl_ours(certs: &Certs) -> Res<(Duration, usize)> {
    let start = Instant::now();
    let (entries, len) = certs.write_blocking(|tx, env| {
        let tenant = directory::get_tenant(tx, TENANT)?.ok_or(CertsError::NotFound("tenant"))?;
        let record = certificates::ensure_ca(tx, env.kek, &tenant)?;
        let ca = env.cas.get(env.kek, &record)?;
        let crl = certificates::refresh_crl(tx, &ca, TENANT)?;
        Ok((crl.entries, crl.der.len()))
    })?;
    let elapsed = start.elapsed();
    if entries != CRL_ENTRIES {
        return Err(format!("the CRL lists {entries} entries, expected {CRL_ENTRIES}").into());
    }
    Ok((elapsed, len))
}

/// keiyaku's CRL signing alone, the entries already in memory (no scan, no storage).
fn crl_code_only(certs: &Certs, entries: &[(Vec<u8>, RevokedEntry)]) -> Res<Duration> {
    let kek = certs.kek()?;
    let record = certs.kernel.store.read_blocking(|tx| tx.get(&model::CAS, TENANT))?.ok_or("no CA")?;
    let ca = certificates::CaCache::default().get(&kek, &record)?;
    let hexed: Vec<(String, &RevokedEntry)> = entries.iter().map(|(s, e)| (ca::serial_hex(s), e)).collect();
    let now = Timestamp::now();
    let start = Instant::now();
    let der = ca::sign_crl(
        &ca,
        1,
        hexed.iter().map(|(s, e)| (s.as_str(), *e)),
        now,
        now + jiff::SignedDuration::from_hours(168),
    )?;
    std::hint::black_box(der.len());
    Ok(start.elapsed())
}

fn crl_raw(entries: &[(Vec<u8>, RevokedEntry)]) -> Res<(Duration, usize)> {
    let (ca_params, ca_key) = raw_ca()?;
    let issuer = Issuer::from_params(&ca_params, &ca_key);
    let start = Instant::now();
    let now = time::OffsetDateTime::now_utc();
    let params = CertificateRevocationListParams {
        this_update: now,
        next_update: now + time::Duration::days(7),
        crl_number: SerialNumber::from_slice(&[1]),
        issuing_distribution_point: None,
        revoked_certs: entries
            .iter()
            .map(|(serial, _)| RevokedCertParams {
                serial_number: SerialNumber::from_slice(serial),
                revocation_time: now,
                reason_code: Some(RevocationReason::CessationOfOperation),
                invalidity_date: None,
            })
            .collect(),
        key_identifier_method: rcgen::KeyIdMethod::Sha256,
    };
    let crl = params.signed_by(&issuer)?;
    Ok((start.elapsed(), crl.der().len()))
}

fn main() -> Res<()> {
    let n: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(300).max(10);
    let dir = std::env::temp_dir().join(format!("keiyaku-bench-certs-{}", keiyaku_kernel::ids::new_id()));
    std::fs::create_dir_all(&dir)?;
    let certs = setup(&dir)?;
    // Warm-up: creates the tenant CA and the KEK, and warms the allocator and caches.
    let warm = add_tickets(&certs, 20)?;
    issue_ours(&certs, &warm, 20)?;
    issue_raw(20)?;

    println!(
        "keiyaku certs benchmark ({} build, ECDSA P-256)",
        if cfg!(debug_assertions) { "debug" } else { "release" }
    );
    println!("data dir: {}", dir.display());
    println!();
    let raw = issue_raw(n)?;
    let t1 = add_tickets(&certs, n)?;
    let ours_durable = issue_ours(&certs, &t1, 1)?;
    let t2 = add_tickets(&certs, n)?;
    let ours_batched = issue_ours(&certs, &t2, 100)?;
    let raw_again = issue_raw(n)?;
    let raw = raw.min(raw_again);
    let code_only = issue_code_only(&certs, n)?;
    println!("Certificate issuance ({n} certificates each)");
    println!("  raw rcgen (key generation + signing)            {:>9.0} /s", per_second(n, raw));
    println!(
        "  keiyaku CA code, no storage                      {:>9.0} /s   overhead {:>+6.1}%",
        per_second(n, code_only),
        overhead(code_only, raw)
    );
    println!(
        "  keiyaku, 100 per transaction                     {:>9.0} /s   overhead {:>+6.1}%",
        per_second(n, ours_batched),
        overhead(ours_batched, raw)
    );
    println!(
        "  keiyaku, one durable transaction each            {:>9.0} /s   overhead {:>+6.1}%",
        per_second(n, ours_durable),
        overhead(ours_durable, raw)
    );
    println!();

    let entries = revoked_entries(&certs)?;
    let mut ours = Vec::new();
    let mut raw = Vec::new();
    let mut code = Vec::new();
    let mut sizes = (0, 0);
    for _ in 0..5 {
        let (d, len) = crl_ours(&certs)?;
        ours.push(d);
        sizes.0 = len;
        let (d, len) = crl_raw(&entries)?;
        raw.push(d);
        sizes.1 = len;
        code.push(crl_code_only(&certs, &entries)?);
    }
    let (ours, raw, code) = (median(ours), median(raw), median(code));
    println!("CRL generation with {CRL_ENTRIES} revoked entries (median of 5)");
    println!(
        "  raw rcgen (build + sign)                          {:>8.1} ms  ({} bytes DER)",
        raw.as_secs_f64() * 1e3,
        sizes.1
    );
    println!(
        "  keiyaku CRL code, entries in memory               {:>8.1} ms                         overhead {:>+6.1}%",
        code.as_secs_f64() * 1e3,
        overhead(code, raw)
    );
    println!(
        "  keiyaku (scan + sign + store + commit)            {:>8.1} ms  ({} bytes base64)   overhead {:>+6.1}%",
        ours.as_secs_f64() * 1e3,
        sizes.0,
        overhead(ours, raw)
    );
    let count = certs.kernel.store.read_blocking(|tx| tx.count(&model::CERTIFICATES, ""))?;
    println!();
    println!("certificates stored: {count}");
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
