//! Storage fault injection, in the style of redb's own crash-consistency tests: the store runs
//! over a storage backend whose `write`, `set_len` and `sync_data` fail from the N-th such call
//! on (or only at the N-th call), for every N over a deterministic sweep. For each N:
//!
//! - nothing panics: every kernel operation returns `Ok` or a clean `Err`;
//! - the bytes left behind, both as written (a process crash: the page cache survives) and as
//!   last synced (a power cut), reopen with a healthy backend, pass redb's integrity check and
//!   `Store::verify`;
//! - every operation that returned `Ok` is there in full, every operation is all or nothing,
//!   and the directory, outbox and audit records agree (no user without its e-mail index or
//!   group membership, no tenant without its owner company and root group, no audit record or
//!   mail of a change that is not there, and the other way round).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use keiyaku_kernel::audit::AUDIT;
use keiyaku_kernel::directory::{
    self, COMPANIES, GROUP_MEMBERS, GROUPS, NewCompany, NewTenant, NewUser, Role, TENANTS, USER_EMAILS, USERS,
    VENDOR_CODES,
};
use keiyaku_kernel::mail::{Delivery, NewMail, OUTBOX, OUTBOX_QUEUE};
use keiyaku_kernel::module::KernelModule;
use keiyaku_kernel::store::{Bytes, Read};
use keiyaku_kernel::{Actor, ManualClock, Module, Store, StoreError, Table};
use redb::StorageBackend;
use redb::backends::InMemoryBackend;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};
use std::io;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, Mutex, MutexGuard};

const TENANT: &str = "ACME";
const VENDOR: &str = "V100";
/// Raw document bytes (the name ends in `_blobs`, so `Store::verify` does not parse them).
const BLOBS: Table<Bytes> = Table::new("fault_blobs");
/// The JSON record describing each blob.
const DOCS: Table<Doc> = Table::new("fault_docs");
/// Big enough to grow the file (redb then extends it with `set_len`).
const BLOB_LEN: usize = 300 * 1024;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Doc {
    len: usize,
    sha256: String,
}

/// A module owning the raw-bytes table and its JSON records, as a document module would.
struct DocsModule;

impl Module for DocsModule {
    fn name(&self) -> &'static str {
        "fault_docs"
    }

    fn tables(&self) -> Vec<&'static str> {
        // `outbox_queue` belongs to the kernel but is not among `KernelModule::tables()`: it is
        // created by the first queued mail. Declared here so the checks can read it (through
        // `ReadTx`) in stores where no mail was ever queued.
        vec![BLOBS.name(), DOCS.name(), OUTBOX_QUEUE.name()]
    }
}

fn modules() -> [&'static dyn Module; 2] {
    [&KernelModule, &DocsModule]
}

fn clock() -> Arc<ManualClock> {
    Arc::new(ManualClock::new(jiff::Timestamp::from_second(1_764_000_000).expect("a valid time")))
}

// ---------------------------------------------------------------------------------------------
// The failing backend.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fault {
    /// Every write, set_len and sync_data from the N-th on fails (the disk is gone).
    From(u64),
    /// Only the N-th fails (a transient error).
    Once(u64),
}

#[derive(Debug, Default)]
struct Disk {
    /// The file as written (what a process crash leaves: the page cache survives).
    live: Vec<u8>,
    /// The file as of the last successful `sync_data` (what a power cut leaves).
    synced: Vec<u8>,
    /// `write`, `set_len` and `sync_data` calls so far.
    ops: u64,
    /// Successful `set_len` calls (creating and growing the file).
    resizes: u64,
    fault: Option<Fault>,
    injected: u64,
}

/// A backend over [`Disk`] that injects I/O errors. A failing `write` is torn: it applies the
/// first half of its whole 512-byte sectors before failing (sectors themselves are atomic).
#[derive(Debug, Clone, Default)]
struct FaultyBackend(Arc<Mutex<Disk>>);

impl FaultyBackend {
    fn new(fault: Option<Fault>) -> Self {
        Self(Arc::new(Mutex::new(Disk { fault, ..Disk::default() })))
    }

    fn disk(&self) -> MutexGuard<'_, Disk> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Counts one fallible call; true when it must fail.
    fn fails(d: &mut Disk) -> bool {
        let n = d.ops;
        d.ops += 1;
        let fail = match d.fault {
            Some(Fault::From(f)) => n >= f,
            Some(Fault::Once(f)) => n == f,
            None => false,
        };
        if fail {
            d.injected += 1;
        }
        fail
    }
}

fn injected() -> io::Error {
    io::Error::other("injected I/O failure")
}

fn put(buf: &mut Vec<u8>, offset: u64, data: &[u8]) -> io::Result<()> {
    let start = usize::try_from(offset).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    let end = start + data.len();
    if buf.len() < end {
        buf.resize(end, 0);
    }
    buf[start..end].copy_from_slice(data);
    Ok(())
}

impl StorageBackend for FaultyBackend {
    fn len(&self) -> io::Result<u64> {
        Ok(self.disk().live.len() as u64)
    }

    fn read(&self, offset: u64, out: &mut [u8]) -> io::Result<()> {
        let d = self.disk();
        let start = usize::try_from(offset).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
        let src = d.live.get(start..start + out.len()).ok_or_else(|| io::Error::from(io::ErrorKind::UnexpectedEof))?;
        out.copy_from_slice(src);
        Ok(())
    }

    fn set_len(&self, len: u64) -> io::Result<()> {
        let mut d = self.disk();
        if Self::fails(&mut d) {
            return Err(injected());
        }
        let len = usize::try_from(len).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
        d.live.resize(len, 0);
        d.resizes += 1;
        Ok(())
    }

    fn sync_data(&self) -> io::Result<()> {
        let mut d = self.disk();
        if Self::fails(&mut d) {
            return Err(injected());
        }
        d.synced = d.live.clone();
        Ok(())
    }

    fn write(&self, offset: u64, data: &[u8]) -> io::Result<()> {
        let mut d = self.disk();
        if Self::fails(&mut d) {
            let torn = data.len() / 2 / 512 * 512;
            put(&mut d.live, offset, &data[..torn])?;
            return Err(injected());
        }
        put(&mut d.live, offset, data)
    }
}

fn healthy(image: &[u8]) -> InMemoryBackend {
    let b = InMemoryBackend::new();
    b.set_len(image.len() as u64).expect("in-memory set_len");
    b.write(0, image).expect("in-memory write");
    b
}

// ---------------------------------------------------------------------------------------------
// The workload: kernel operations, each its own write transaction.

/// What an operation that returned `Ok` left, to be found after reopening.
#[derive(Debug, Clone)]
enum Done {
    Tenant,
    Partner { company_id: String },
    User { user_id: String, mail_id: Option<String> },
    Blob { key: String },
    Mail { id: String },
}

const OPS: usize = 7;

fn blob() -> Vec<u8> {
    (0..BLOB_LEN).map(|i| (i % 251) as u8).collect()
}

fn hex_sha(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Runs operation `i`; `Err` is a clean failure (storage or a refused change).
fn run_op(store: &Store, i: usize) -> Result<Done, String> {
    let actor = Actor::system();
    let err = |e: directory::DirectoryError| e.to_string();
    match i {
        0 => store
            .write_blocking(|tx| {
                let new = NewTenant {
                    code: TENANT.into(),
                    name: "アクメ".into(),
                    trial: false,
                    owner_name: "アクメ株式会社".into(),
                    owner_name_kana: "アクメ".into(),
                };
                directory::create_tenant(tx, &actor, new)
            })
            .map(|_| Done::Tenant)
            .map_err(err),
        1 => store
            .write_blocking(|tx| {
                let new =
                    NewCompany {
                        name: "取引先".into(), name_kana: "トリヒキサキ".into(), vendor_code: VENDOR.into()
                    };
                directory::create_partner_company(tx, &actor, TENANT, new)
            })
            .map(|(c, _)| Done::Partner { company_id: c.id })
            .map_err(err),
        // A user of the owner company, with the registration notice queued for SMTP.
        2 | 4 => store
            .write_blocking(|tx| {
                let tenant = directory::get_tenant(tx, TENANT)?.ok_or(directory::DirectoryError::NotFound("tenant"))?;
                let company = if i == 2 {
                    directory::get_company(tx, TENANT, &tenant.owner_company_id)?
                } else {
                    directory::company_by_vendor_code(tx, TENANT, VENDOR)?
                };
                let company = company.ok_or(directory::DirectoryError::NotFound("company"))?;
                let user_id = format!("u{i}");
                let email = format!("U{i}@Acme.example");
                let new = NewUser {
                    user_id: user_id.clone(),
                    name: format!("利用者 {i}"),
                    email: email.clone(),
                    sub_emails: vec![format!("sub{i}@acme.example")],
                    roles: vec![Role::PersonInCharge, Role::Signer],
                    group_id: company.root_group_id,
                    title: None,
                };
                let user = directory::create_user(tx, &actor, TENANT, new)?;
                let mail_id = if i == 2 {
                    let mail = NewMail {
                        tenant: Some(TENANT.into()),
                        to: email,
                        subject: "ユーザー登録通知".into(),
                        body: "https://localhost:8443/t/ACME/login".into(),
                        attachments: Vec::new(),
                    };
                    let id = tx.send_mail(mail, true)?;
                    tx.audit(&actor, "mail.notice", &id, serde_json::json!({"user": user.user_id}))?;
                    Some(id)
                } else {
                    None
                };
                Ok(Done::User { user_id, mail_id })
            })
            .map_err(err),
        3 => store
            .write_blocking(|tx| {
                let bytes = blob();
                let key = format!("{TENANT}/doc1");
                tx.put_bytes(&BLOBS, &key, &bytes)?;
                tx.put(&DOCS, &key, &Doc { len: bytes.len(), sha256: hex_sha(&bytes) })?;
                tx.audit(&actor, "doc.store", &key, serde_json::json!({"len": bytes.len()}))?;
                Ok::<_, StoreError>(Done::Blob { key })
            })
            .map_err(|e| e.to_string()),
        // Mail on its own (kept in the outbox only).
        5 => store
            .write_blocking(|tx| {
                let mail = NewMail {
                    tenant: None,
                    to: "ops@acme.example".into(),
                    subject: "通知".into(),
                    ..NewMail::default()
                };
                let id = tx.send_mail(mail, false)?;
                tx.audit(&actor, "mail.notice", &id, serde_json::json!({}))?;
                Ok::<_, StoreError>(Done::Mail { id })
            })
            .map_err(|e| e.to_string()),
        // A change refused after its first write (a new group, then a user whose ID breaks the
        // rules): never `Ok`, and the group must not survive.
        _ => store
            .write_blocking(|tx| {
                let tenant = directory::get_tenant(tx, TENANT)?.ok_or(directory::DirectoryError::NotFound("tenant"))?;
                let g = directory::create_group(tx, &actor, TENANT, &tenant.owner_company_id, None, "営業部")?;
                let new = NewUser {
                    user_id: "not a valid id!".into(),
                    name: "規則違反".into(),
                    email: "refused@acme.example".into(),
                    group_id: g.id,
                    ..NewUser::default()
                };
                directory::create_user(tx, &actor, TENANT, new)
            })
            .map(|u| Done::User { user_id: u.user_id, mail_id: None })
            .map_err(err),
    }
}

struct Outcome {
    /// `None`: opening the store failed.
    done: Option<Vec<Result<Done, String>>>,
    live: Vec<u8>,
    synced: Vec<u8>,
    ops: u64,
    resizes: u64,
    injected: u64,
}

fn run(fault: Option<Fault>) -> Outcome {
    let backend = FaultyBackend::new(fault);
    let done = match Store::open_with_backend(backend.clone(), clock(), &modules()) {
        Ok(store) => {
            let results: Vec<Result<Done, String>> = (0..OPS).map(|i| run_op(&store, i)).collect();
            // Closing the database (its shutdown writes) may fail too.
            drop(store);
            Some(results)
        }
        Err(_) => None,
    };
    let d = backend.disk();
    Outcome {
        done,
        live: d.live.clone(),
        synced: d.synced.clone(),
        ops: d.ops,
        resizes: d.resizes,
        injected: d.injected,
    }
}

// ---------------------------------------------------------------------------------------------
// The checks.

/// Reopens `image` with a healthy backend and checks it: redb's integrity check, the store
/// opens over it, `Store::verify`, and [`consistent`].
fn check_image(image: &[u8], done: Option<&[Result<Done, String>]>) -> Result<(), String> {
    // redb's own check first, before the store writes anything.
    {
        let mut db = match redb::Builder::new().create_with_backend(healthy(image)) {
            Ok(db) => db,
            // redb writes the magic number last when it creates a file, and refuses to
            // initialise a non-empty file without it. A failure while the file is being
            // created (before `Store::open_with_backend` ever returned) leaves such a file:
            // nothing was acknowledged, so nothing is lost. (`Store::open` builds a new file
            // as `<path>.creating` and renames it into place only when complete, so a file
            // store never meets this.)
            Err(e) if done.is_none() && e.to_string().contains("magic number mismatch") => return Ok(()),
            Err(e) => return Err(format!("reopen: {e}")),
        };
        match db.check_integrity() {
            Ok(true) => {}
            Ok(false) => return Err("check_integrity had to repair the file".into()),
            Err(e) => return Err(format!("check_integrity: {e}")),
        }
    }
    let store = Store::open_with_backend(healthy(image), clock(), &modules())
        .map_err(|e| format!("Store::open_with_backend: {e}"))?;
    let report = store.verify().map_err(|e| format!("verify: {e}"))?;
    if !report.problems.is_empty() {
        return Err(format!("verify: {:?}", report.problems));
    }
    store.read_blocking(|tx| Ok::<_, StoreError>(consistent(tx, done))).map_err(|e| format!("read: {e}"))?
}

fn scan<V: serde::de::DeserializeOwned>(tx: &impl Read, t: &Table<V>) -> Result<Vec<(String, V)>, String> {
    tx.scan(t, "").map_err(|e| format!("scan {}: {e}", t.name()))
}

/// Directory, outbox, documents and audit agree; the operations that returned `Ok` are there.
fn consistent(tx: &impl Read, done: Option<&[Result<Done, String>]>) -> Result<(), String> {
    let tenants = scan(tx, &TENANTS)?;
    let companies: BTreeMap<String, directory::Company> = scan(tx, &COMPANIES)?.into_iter().collect();
    let groups: BTreeMap<String, directory::Group> = scan(tx, &GROUPS)?.into_iter().collect();
    let users: BTreeMap<String, directory::User> = scan(tx, &USERS)?.into_iter().collect();
    let emails: BTreeMap<String, String> = scan(tx, &USER_EMAILS)?.into_iter().collect();
    let members: BTreeSet<String> = scan(tx, &GROUP_MEMBERS)?.into_iter().map(|(k, ())| k).collect();
    let vendors: BTreeMap<String, String> = scan(tx, &VENDOR_CODES)?.into_iter().collect();
    let mails: BTreeMap<String, keiyaku_kernel::mail::Mail> = scan(tx, &OUTBOX)?.into_iter().collect();
    let queue: BTreeSet<String> = scan(tx, &OUTBOX_QUEUE)?.into_iter().map(|(k, ())| k).collect();
    let docs: BTreeMap<String, Doc> = scan(tx, &DOCS)?.into_iter().collect();
    let audit = scan(tx, &AUDIT)?;
    let audited =
        |action: &str, target: &str| audit.iter().filter(|(_, r)| r.action == action && r.target == target).count();
    let fail = |what: String| Err::<(), String>(what);

    // Every audit record names something that exists (no trace of a change that is not there).
    for (_, r) in &audit {
        let exists = match r.action.as_str() {
            "tenant.create" => tenants.iter().any(|(k, _)| *k == r.target),
            "company.create" => companies.contains_key(&r.target),
            "group.create" => groups.contains_key(&r.target),
            "user.create" => users.contains_key(&r.target),
            "mail.notice" => mails.contains_key(&r.target),
            "doc.store" => docs.contains_key(&r.target),
            other => return fail(format!("unexpected audit action {other}")),
        };
        if !exists {
            return fail(format!("audit {} {} without its record", r.action, r.target));
        }
    }
    // Every tenant has its owner company, and every company its root group, all audited once.
    for (code, t) in &tenants {
        let key = format!("{code}/{}", t.owner_company_id);
        match companies.get(&key) {
            Some(c) if c.owner => {}
            _ => return fail(format!("tenant {code} without its owner company")),
        }
        if audited("tenant.create", code) != 1 {
            return fail(format!("tenant {code}: audit records {}", audited("tenant.create", code)));
        }
    }
    for (key, c) in &companies {
        if !tenants.iter().any(|(code, _)| *code == c.tenant) {
            return fail(format!("company {key} of a missing tenant"));
        }
        let root = format!("{}/{}", c.tenant, c.root_group_id);
        if !groups.contains_key(&root) {
            return fail(format!("company {key} without its root group"));
        }
        if audited("company.create", key) != 1 {
            return fail(format!("company {key}: audit records {}", audited("company.create", key)));
        }
        if let Some(code) = &c.vendor_code
            && vendors.get(&format!("{}/{code}", c.tenant)) != Some(&c.id)
        {
            return fail(format!("company {key} without its vendor code index"));
        }
    }
    for (key, id) in &vendors {
        let tenant = key.split('/').next().unwrap_or_default();
        if !companies.contains_key(&format!("{tenant}/{id}")) {
            return fail(format!("vendor code {key} of a missing company"));
        }
    }
    for (key, g) in &groups {
        if !companies.contains_key(&format!("{}/{}", g.tenant, g.company_id)) {
            return fail(format!("group {key} of a missing company"));
        }
        if audited("group.create", key) != 1 {
            return fail(format!("group {key}: audit records {}", audited("group.create", key)));
        }
    }
    // Every user has its e-mail index record and group membership, and the other way round.
    for (key, u) in &users {
        let email_key = format!("{}/{}", u.tenant, u.email.to_ascii_lowercase());
        if emails.get(&email_key) != Some(&u.user_id) {
            return fail(format!("user {key} without its e-mail index record"));
        }
        if !members.contains(&format!("{}/{}/{}", u.tenant, u.group_id, u.user_id)) {
            return fail(format!("user {key} without its group membership"));
        }
        if !groups.contains_key(&format!("{}/{}", u.tenant, u.group_id)) {
            return fail(format!("user {key} in a missing group"));
        }
        if audited("user.create", key) != 1 {
            return fail(format!("user {key}: audit records {}", audited("user.create", key)));
        }
    }
    for (key, id) in &emails {
        let tenant = key.split('/').next().unwrap_or_default();
        if !users.contains_key(&format!("{tenant}/{id}")) {
            return fail(format!("e-mail index {key} of a missing user"));
        }
    }
    for key in &members {
        let parts: Vec<&str> = key.split('/').collect();
        let (t, u) = (parts.first().copied().unwrap_or_default(), parts.last().copied().unwrap_or_default());
        if parts.len() != 3 || !users.contains_key(&format!("{t}/{u}")) {
            return fail(format!("group membership {key} of a missing user"));
        }
    }
    // Mail: each is audited once; queued exactly when pending; the notice of user u2 is there
    // exactly when the user is.
    for (id, m) in &mails {
        if audited("mail.notice", id) != 1 {
            return fail(format!("mail {id}: audit records {}", audited("mail.notice", id)));
        }
        if (m.delivery == Delivery::Pending) != queue.contains(id) {
            return fail(format!("mail {id} ({:?}) and the SMTP queue disagree", m.delivery));
        }
    }
    for id in &queue {
        if !mails.contains_key(id) {
            return fail(format!("queued mail {id} not in the outbox"));
        }
    }
    let notices = mails.values().filter(|m| m.to == "U2@Acme.example").count();
    let u2 = users.contains_key(&format!("{TENANT}/u2"));
    if notices != usize::from(u2) {
        return fail(format!("user u2 present: {u2}, registration notices: {notices}"));
    }
    // Documents: the bytes and their record together, with matching content.
    for (key, doc) in &docs {
        match tx.get_bytes(&BLOBS, key).map_err(|e| e.to_string())? {
            Some(bytes) if bytes.len() == doc.len && hex_sha(&bytes) == doc.sha256 => {}
            Some(_) => return fail(format!("document {key}: content does not match its record")),
            None => return fail(format!("document {key} without its bytes")),
        }
        if audited("doc.store", key) != 1 {
            return fail(format!("document {key}: audit records {}", audited("doc.store", key)));
        }
    }
    if tx.count(&BLOBS, "").map_err(|e| e.to_string())? != docs.len() {
        return fail("document bytes without their record".into());
    }
    // The refused operation left nothing.
    if groups.values().any(|g| g.name == "営業部") || users.values().any(|u| u.name == "規則違反") {
        return fail("the refused change left records".into());
    }

    // What returned `Ok` is durable.
    for (i, result) in done.unwrap_or_default().iter().enumerate() {
        let Ok(d) = result else { continue };
        let present = match d {
            Done::Tenant => tenants.iter().any(|(c, _)| c == TENANT),
            Done::Partner { company_id } => companies.contains_key(&format!("{TENANT}/{company_id}")),
            Done::User { user_id, mail_id } => {
                users.contains_key(&format!("{TENANT}/{user_id}"))
                    && mail_id.as_ref().is_none_or(|m| mails.contains_key(m) && queue.contains(m))
            }
            Done::Blob { key } => docs.contains_key(key),
            Done::Mail { id } => mails.contains_key(id),
        };
        if !present {
            return fail(format!("operation {i} returned Ok ({d:?}) but is not in the file"));
        }
    }
    Ok(())
}

fn check_outcome(fault: Option<Fault>, out: &Outcome) -> Result<(), String> {
    let done = out.done.as_deref();
    if fault.is_none() {
        match done {
            Some(results) if results.iter().take(OPS - 1).all(Result::is_ok) => {}
            _ => return Err("without faults every operation but the refused one succeeds".into()),
        }
    }
    if let Some(results) = done
        && results.last().is_some_and(Result::is_ok)
    {
        return Err("the refused change returned Ok".into());
    }
    check_image(&out.live, done).map_err(|e| format!("as written: {e}"))?;
    if out.synced != out.live {
        check_image(&out.synced, done).map_err(|e| format!("as synced: {e}"))?;
    }
    Ok(())
}

/// Runs the workload failing at calls `first, first + step, …` up to `total`; returns the runs
/// and the operations that returned `Err`.
fn sweep(make: fn(u64) -> Fault, first: u64, total: u64, step: u64) -> (u64, u64) {
    let mut runs = 0;
    let mut failed_ops = 0;
    let mut n = first;
    while n <= total {
        let fault = make(n);
        let outcome = catch_unwind(AssertUnwindSafe(|| run(Some(fault))))
            .unwrap_or_else(|_| panic!("{fault:?}: the store panicked under an I/O failure"));
        if let Err(e) = check_outcome(Some(fault), &outcome) {
            panic!("{fault:?} (injected {} failures): {e}", outcome.injected);
        }
        if let Some(results) = &outcome.done {
            failed_ops += results.iter().filter(|r| r.is_err()).count() as u64;
        }
        runs += 1;
        n += step;
    }
    (runs, failed_ops)
}

#[test]
fn every_operation_commits_whole_or_fails_cleanly_under_io_failures() {
    // A run without faults: every operation succeeds, and it counts the fallible calls.
    let clean = run(None);
    check_outcome(None, &clean).unwrap_or_else(|e| panic!("without faults: {e}"));
    let total = clean.ops;
    assert!(total > 20, "the workload makes {total} fallible storage calls");
    assert!(
        clean.resizes >= 2 && clean.live.len() > BLOB_LEN,
        "the document grows the file ({} resizes, {} bytes)",
        clean.resizes,
        clean.live.len()
    );
    let mut store = Store::open_with_backend(healthy(&clean.live), clock(), &modules()).expect("reopen");
    assert!(matches!(store.check_integrity(), Ok(true)), "Store::check_integrity of the clean run");

    // Deterministic sweeps: a dead disk from call N on (every N up to about 60 runs), and a
    // single failure at call N (every third of those N, shifted by one).
    let step = (total / 60).max(1);
    let started = std::time::Instant::now();
    let (runs_from, failed_from) = sweep(Fault::From, 0, total, step);
    let (runs_once, failed_once) = sweep(Fault::Once, 1, total, 3 * step);
    eprintln!(
        "fault injection: {total} fallible calls per run, step {step}; {runs_from} runs failing from call N ({failed_from} \
         failed operations), {runs_once} runs failing at call N ({failed_once}); {:?}",
        started.elapsed()
    );
}
