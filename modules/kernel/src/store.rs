//! Storage over one redb file. Only the kernel opens redb tables: modules declare
//! [`Table`]s (string keys, JSON values) and read and write them through [`Tx`] and
//! [`ReadTx`]. Every table a module uses is created when the store opens, each module's
//! schema version is recorded, older versions are migrated forward and newer ones refused.

use crate::clock::Clock;
use crate::events::Observers;
use crate::module::Module;
use jiff::Timestamp;
use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};
use serde::{Serialize, de::DeserializeOwned};
use std::cell::Cell;
use std::marker::PhantomData;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock, Weak};
use std::time::{Duration, Instant};
use tokio::sync::Notify;

/// A typed table: `&str` keys, values of type `V` stored as JSON.
pub struct Table<V> {
    name: &'static str,
    _value: PhantomData<fn() -> V>,
}

impl<V> Table<V> {
    pub const fn new(name: &'static str) -> Self {
        Self { name, _value: PhantomData }
    }

    pub const fn name(&self) -> &'static str {
        self.name
    }

    fn def(&self) -> TableDefinition<'static, &'static str, &'static [u8]> {
        TableDefinition::new(self.name)
    }
}

/// The value type of a table holding raw bytes (document contents) rather than JSON. The
/// names of such tables end in [`BLOB_SUFFIX`], which is how `verify` tells them apart.
pub struct Bytes;

/// Name suffix of raw-bytes tables.
pub const BLOB_SUFFIX: &str = "_blobs";

type RawDef = TableDefinition<'static, &'static str, &'static [u8]>;

const META_NAME: &str = "meta";
const META: RawDef = TableDefinition::new(META_NAME);

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Database(String),
    #[error("stored record {table}/{key} cannot be read: {reason}")]
    Corrupt { table: &'static str, key: String, reason: String },
    #[error(
        "the data was written by a newer keiyaku (module {module} schema {found}, this build knows {supported}); refusing to open it"
    )]
    TooNew { module: &'static str, found: u32, supported: u32 },
    #[error("storage task failed: {0}")]
    Task(String),
}

thread_local! {
    /// Set when a redb error of this thread was an I/O failure (see [`watch_io`]).
    static IO_FAILED: Cell<bool> = const { Cell::new(false) };
}

/// Runs `f` and tells whether a redb I/O failure (`Io` or `PreviousIo`) was converted into a
/// [`StoreError`] on this thread meanwhile. Every redb error reaches the modules through the
/// conversions below, so this sees failures the closures of [`Store::write`] wrap in their own
/// error types.
fn watch_io<T>(f: impl FnOnce() -> T) -> (T, bool) {
    let outer = IO_FAILED.with(|c| c.replace(false));
    let out = f();
    let failed = IO_FAILED.with(|c| c.replace(outer || c.get()));
    (out, failed)
}

fn is_io(e: &redb::StorageError) -> bool {
    matches!(e, redb::StorageError::Io(_) | redb::StorageError::PreviousIo)
}

fn note_io(e: Option<&redb::StorageError>) {
    if e.is_some_and(is_io) {
        IO_FAILED.with(|c| c.set(true));
    }
}

/// The storage error inside a redb error, if any.
trait StorageCause {
    fn storage(&self) -> Option<&redb::StorageError>;
}

macro_rules! from_redb {
    ($($t:ty),*) => {$(
        impl StorageCause for $t {
            fn storage(&self) -> Option<&redb::StorageError> {
                match self {
                    Self::Storage(s) => Some(s),
                    _ => None,
                }
            }
        }

        impl From<$t> for StoreError {
            fn from(e: $t) -> Self {
                note_io(e.storage());
                StoreError::Database(e.to_string())
            }
        }
    )*};
}
from_redb!(redb::DatabaseError, redb::TransactionError, redb::TableError, redb::CommitError);

impl From<redb::StorageError> for StoreError {
    fn from(e: redb::StorageError) -> Self {
        note_io(Some(&e));
        StoreError::Database(e.to_string())
    }
}

/// redb's page cache for [`Store::open`] (`storage.cache_mb` in the configuration).
pub const DEFAULT_CACHE_BYTES: usize = 64 * 1024 * 1024;

/// How long reopening after an I/O failure waits for the transactions still using the failed
/// database (redb lets a process open a file only once, so the old handle must be gone first).
const REOPEN_WAIT: Duration = Duration::from_secs(2);

/// Opens the database file again (after an I/O failure).
type Opener = Box<dyn Fn() -> Result<Database, redb::DatabaseError> + Send + Sync>;

/// The open database, and the freshly opened one that replaces it after an I/O failure: once a
/// write fails with an I/O error redb refuses every later transaction (`PreviousIo`) until the
/// database is closed and opened again, which also repairs it.
struct Handle {
    /// `None` after an I/O failure while the reopen has not succeeded yet.
    current: RwLock<Option<Current>>,
    /// `None` for a store over a storage backend: there is nothing to open again.
    opener: Option<Opener>,
    /// Held by the one thread reopening; keeps the database given up, until every transaction
    /// that still used it has ended.
    retired: Mutex<Option<Weak<Database>>>,
    /// Successful reopens.
    reopens: AtomicU64,
    /// Write transactions attempted and reopens: see [`Store::changes`].
    changes: AtomicU64,
}

#[derive(Clone)]
struct Current {
    /// Counts reopens, so a failure is pinned on the database it happened on.
    generation: u64,
    db: Arc<Database>,
}

impl Handle {
    fn new(db: Database, opener: Option<Opener>) -> Self {
        Self {
            current: RwLock::new(Some(Current { generation: 0, db: Arc::new(db) })),
            opener,
            retired: Mutex::new(None),
            reopens: AtomicU64::new(0),
            changes: AtomicU64::new(0),
        }
    }

    /// The database to use; after a failed reopen, tries again.
    fn get(&self) -> Result<Current, StoreError> {
        if let Some(c) = self.current.read().unwrap_or_else(PoisonError::into_inner).clone() {
            return Ok(c);
        }
        self.reopen(None)
    }

    /// Gives up the database of `failed` (when it is still the current one) and opens the file
    /// again. The caller must have dropped its own reference to that database. Returns the
    /// database to use now.
    fn reopen(&self, failed: Option<u64>) -> Result<Current, StoreError> {
        let Some(opener) = &self.opener else {
            return Err(StoreError::Database("the storage backend cannot be reopened after an I/O failure".into()));
        };
        let mut retired = self.retired.lock().unwrap_or_else(PoisonError::into_inner);
        {
            let mut current = self.current.write().unwrap_or_else(PoisonError::into_inner);
            match (&*current, failed) {
                // Someone else reopened it meanwhile.
                (Some(c), Some(generation)) if c.generation != generation => return Ok(c.clone()),
                (Some(c), None) => return Ok(c.clone()),
                _ => {}
            }
            if let Some(old) = current.take() {
                *retired = Some(Arc::downgrade(&old.db));
            }
        }
        let deadline = Instant::now() + REOPEN_WAIT;
        if let Some(old) = retired.as_ref() {
            while old.strong_count() > 0 {
                if Instant::now() >= deadline {
                    return Err(StoreError::Database(
                        "the database is being reopened after an I/O failure and still in use; try again".into(),
                    ));
                }
                std::thread::sleep(Duration::from_millis(10));
            }
        }
        *retired = None;
        let db = loop {
            match opener() {
                Ok(db) => break db,
                Err(redb::DatabaseError::DatabaseAlreadyOpen) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(20));
                }
                Err(e) => {
                    tracing::error!(error = %e, "reopening the database after an I/O failure failed");
                    return Err(StoreError::Database(format!("reopening the database after an I/O failure: {e}")));
                }
            }
        };
        let generation = self.reopens.fetch_add(1, Ordering::AcqRel) + 1;
        self.changes.fetch_add(1, Ordering::AcqRel);
        let c = Current { generation, db: Arc::new(db) };
        *self.current.write().unwrap_or_else(PoisonError::into_inner) = Some(c.clone());
        tracing::warn!(generation, "the database was reopened after an I/O failure");
        Ok(c)
    }

    /// After an I/O failure on the database of `generation`: reopen it (file-backed stores).
    /// The failing operation keeps its own error; a failed reopen is retried by the next one.
    fn recover(&self, generation: u64) {
        if self.opener.is_some()
            && let Err(e) = self.reopen(Some(generation))
        {
            tracing::error!(error = %e, "the database stays unavailable after an I/O failure");
        }
    }

    /// Begins a transaction with `begin`; when the database was left unusable by an earlier
    /// I/O failure, reopens it and tries once more.
    fn begin<T>(
        &self,
        begin: impl Fn(&Database) -> Result<T, redb::TransactionError>,
    ) -> Result<(Current, T), StoreError> {
        let c = self.get()?;
        match begin(&c.db) {
            Ok(t) => Ok((c, t)),
            Err(e) if self.opener.is_some() && e.storage().is_some_and(is_io) => {
                let generation = c.generation;
                drop(c);
                let c = self.reopen(Some(generation))?;
                let t = begin(&c.db)?;
                Ok((c, t))
            }
            Err(e) => Err(e.into()),
        }
    }
}

/// The database handle; cheap to clone.
#[derive(Clone)]
pub struct Store {
    handle: Arc<Handle>,
    clock: Arc<dyn Clock>,
    outbox_changed: Arc<Notify>,
    /// Every table of the enabled modules, and `meta`.
    tables: Arc<Vec<&'static str>>,
    /// The enabled modules' audit observers, called by every [`Tx::audit`].
    observers: Observers,
}

/// What [`Store::verify`] found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VerifyReport {
    /// Records per table.
    pub tables: Vec<(&'static str, u64)>,
    /// Records that cannot be read, as `table/key: reason`.
    pub problems: Vec<String>,
}

/// Schema steps due: (module, found version, supported version).
fn due_migrations(db: &Database, modules: &[&dyn Module]) -> Result<Vec<(&'static str, u32, u32)>, StoreError> {
    let rtx = db.begin_read()?;
    let meta = match rtx.open_table(META) {
        Ok(t) => t,
        Err(redb::TableError::TableDoesNotExist(_)) => return Ok(Vec::new()),
        Err(e) => return Err(e.into()),
    };
    let mut due = Vec::new();
    for module in modules {
        let key = format!("schema_version/{}", module.name());
        let found: Option<u32> = get_from(&meta, "meta", &key)?;
        let supported = module.schema_version();
        match found {
            Some(v) if v > supported => {
                return Err(StoreError::TooNew { module: module.name(), found: v, supported });
            }
            Some(v) if v < supported => due.push((module.name(), v, supported)),
            _ => {}
        }
    }
    Ok(due)
}

/// Creates every module's tables and records (or migrates to) each module's schema version,
/// in one transaction.
fn init_schema(db: &Database, now: Timestamp, modules: &[&dyn Module]) -> Result<(), StoreError> {
    let mut tx = Tx { inner: db.begin_write()?, now, mail_enqueued: false, observers: Observers::default() };
    tx.inner.open_table(META)?;
    for module in modules {
        for table in module.tables() {
            tx.inner.open_table(RawDef::new(table))?;
        }
        let key = format!("schema_version/{}", module.name());
        let found: Option<u32> = tx.get_raw(META, "meta", &key)?;
        let supported = module.schema_version();
        match found {
            None => {}
            Some(v) if v > supported => {
                return Err(StoreError::TooNew { module: module.name(), found: v, supported });
            }
            Some(v) => {
                for from in v..supported {
                    module.migrate(&mut tx, from)?;
                }
            }
        }
        tx.put_raw(META, &key, &supported)?;
    }
    tx.inner.commit()?;
    Ok(())
}

/// Where a new database is built before it is renamed to `path`.
/// Creates (or truncates) a file only its owner may read and write (mode 0600): the
/// database, backups and key material hold what unseals every key.
pub fn create_private(path: &Path) -> std::io::Result<std::fs::File> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let file = opts.open(path)?;
    make_private(path)?;
    Ok(file)
}

/// Sets an existing file to mode 0600 (a file created before, or by a library).
pub fn make_private(path: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

fn creating_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".creating");
    PathBuf::from(name)
}

impl Store {
    /// Opens (or creates) the database file, creates every module's tables and brings each
    /// module's schema up to date in one transaction.
    ///
    /// A new file is built beside the final one (`<path>.creating`) and renamed into place
    /// only once it is complete and synced, so a crash during the first start never leaves a
    /// half-written database at `path`.
    ///
    /// When a migration is due, the file is first copied beside itself
    /// (`<name>.pre-migration-<unix time>.redb`), so an upgrade can always be undone.
    ///
    /// After an I/O failure the store closes the file and opens it again (see [`Handle`]).
    pub fn open(path: &Path, clock: Arc<dyn Clock>, modules: &[&dyn Module]) -> Result<Self, StoreError> {
        Self::open_with_cache(path, clock, modules, DEFAULT_CACHE_BYTES)
    }

    /// [`Store::open`] with redb's page cache bounded to `cache_bytes` (redb's own default is
    /// 1 GiB, more than a small server should give a cache that fills under sustained reads).
    pub fn open_with_cache(
        path: &Path,
        clock: Arc<dyn Clock>,
        modules: &[&dyn Module],
        cache_bytes: usize,
    ) -> Result<Self, StoreError> {
        let builder = move || {
            let mut b = redb::Builder::new();
            b.set_cache_size(cache_bytes);
            b
        };
        let create = move |p: &Path| builder().create(p);
        let exists =
            path.try_exists().map_err(|e| StoreError::Database(format!("cannot look for {}: {e}", path.display())))?;
        if !exists {
            Self::create_file(path, &clock, modules)?;
        }
        let in_use = |e: redb::DatabaseError| match e {
            redb::DatabaseError::DatabaseAlreadyOpen => StoreError::Database(format!(
                "{} is in use by another keiyaku process (stop it first, or use the operator backup API)",
                path.display()
            )),
            other => other.into(),
        };
        let mut db = create(path).map_err(in_use)?;
        // Databases made before keiyaku restricted them become owner-only too.
        make_private(path).map_err(|e| StoreError::Database(format!("cannot restrict {}: {e}", path.display())))?;
        let due = due_migrations(&db, modules)?;
        if !due.is_empty() {
            drop(db);
            let stamp = clock.now().as_second();
            let backup = path.with_extension(format!("pre-migration-{stamp}.redb"));
            std::fs::copy(path, &backup)
                .and_then(|_| make_private(&backup))
                .map_err(|e| StoreError::Database(format!("backup before migration to {}: {e}", backup.display())))?;
            tracing::info!(?due, backup = %backup.display(), "migrating the database");
            db = create(path)?;
        }
        let reopen_path = path.to_path_buf();
        Self::init(db, clock, modules, Some(Box::new(move || builder().open(&reopen_path))))
    }

    /// Builds a new database at `path` atomically: every table and schema version is written
    /// to `<path>.creating` (a leftover from an interrupted start is removed first), which is
    /// synced, closed and renamed to `path`, and the directory synced.
    fn create_file(path: &Path, clock: &Arc<dyn Clock>, modules: &[&dyn Module]) -> Result<(), StoreError> {
        let creating = creating_path(path);
        let fs_err =
            |what: &str, p: &Path, e: std::io::Error| StoreError::Database(format!("{what} {}: {e}", p.display()));
        match std::fs::remove_file(&creating) {
            Ok(()) => {
                tracing::warn!(file = %creating.display(), "removed an unfinished database of an interrupted start")
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(fs_err("cannot remove", &creating, e)),
        }
        let built = Database::create(&creating).map_err(StoreError::from).and_then(|db| {
            make_private(&creating).map_err(|e| fs_err("cannot restrict", &creating, e))?;
            init_schema(&db, clock.now(), modules)?;
            db.close().map_err(StoreError::from)
        });
        let synced = built.and_then(|()| {
            std::fs::File::open(&creating).and_then(|f| f.sync_all()).map_err(|e| fs_err("cannot sync", &creating, e))
        });
        if let Err(e) = synced {
            let _ = std::fs::remove_file(&creating);
            return Err(e);
        }
        std::fs::rename(&creating, path).map_err(|e| fs_err("cannot rename into place", path, e))?;
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        std::fs::File::open(dir).and_then(|d| d.sync_all()).map_err(|e| fs_err("cannot sync the directory", dir, e))?;
        tracing::info!(file = %path.display(), "created the database");
        Ok(())
    }

    /// [`Store::open`] over a given redb storage backend (in-memory storage, or a wrapper that
    /// injects I/O failures in tests): the same tables, schema checks and migrations in one
    /// transaction. There is no file to copy, so no backup is taken before a migration, and
    /// nothing to reopen: after an I/O failure such a store keeps reporting errors.
    pub fn open_with_backend(
        backend: impl redb::StorageBackend,
        clock: Arc<dyn Clock>,
        modules: &[&dyn Module],
    ) -> Result<Self, StoreError> {
        let db = redb::Builder::new().create_with_backend(backend)?;
        let due = due_migrations(&db, modules)?;
        if !due.is_empty() {
            tracing::info!(?due, "migrating the database (no backup: storage backend without a file)");
        }
        Self::init(db, clock, modules, None)
    }

    /// Creates every module's tables and brings each module's schema up to date in one
    /// transaction (the part of opening shared by [`Store::open`] and [`Store::open_with_backend`]).
    fn init(
        db: Database,
        clock: Arc<dyn Clock>,
        modules: &[&dyn Module],
        opener: Option<Opener>,
    ) -> Result<Self, StoreError> {
        let mut tables = vec![META_NAME];
        for m in modules {
            tables.extend(m.tables());
        }
        init_schema(&db, clock.now(), modules)?;
        Ok(Self {
            handle: Arc::new(Handle::new(db, opener)),
            clock,
            outbox_changed: Arc::new(Notify::new()),
            tables: Arc::new(tables),
            observers: Observers::new(modules.iter().filter_map(|m| m.audit_observer()).collect()),
        })
    }

    /// A store over whatever `opener` opens, reopened with it after an I/O failure (tests:
    /// a file behind a backend that fails on demand).
    #[cfg(test)]
    fn open_with_opener(opener: Opener, clock: Arc<dyn Clock>, modules: &[&dyn Module]) -> Result<Self, StoreError> {
        let db = opener()?;
        Self::init(db, clock, modules, Some(opener))
    }

    pub fn now(&self) -> Timestamp {
        self.clock.now()
    }

    /// A counter that moves with every write transaction (committed or not) and every reopen.
    /// What a read transaction found stays true while this still returns the value taken
    /// before that transaction began: a cache of reads keyed by it is never stale.
    pub fn changes(&self) -> u64 {
        self.handle.changes.load(Ordering::Acquire)
    }

    /// Runs `f` in one write transaction on a blocking thread; commits when `f` returns `Ok`
    /// (durably: redb's default immediate durability), aborts when it returns `Err`.
    pub async fn write<R, E, F>(&self, f: F) -> Result<R, E>
    where
        F: FnOnce(&mut Tx) -> Result<R, E> + Send + 'static,
        R: Send + 'static,
        E: From<StoreError> + Send + 'static,
    {
        let store = self.clone();
        tokio::task::spawn_blocking(move || store.write_blocking(f))
            .await
            .map_err(|e| E::from(StoreError::Task(e.to_string())))?
    }

    /// Runs `f` in one read transaction (a consistent snapshot) on a blocking thread.
    pub async fn read<R, E, F>(&self, f: F) -> Result<R, E>
    where
        F: FnOnce(&ReadTx) -> Result<R, E> + Send + 'static,
        R: Send + 'static,
        E: From<StoreError> + Send + 'static,
    {
        let store = self.clone();
        tokio::task::spawn_blocking(move || store.read_blocking(f))
            .await
            .map_err(|e| E::from(StoreError::Task(e.to_string())))?
    }

    /// [`Store::write`] on the calling thread.
    ///
    /// When the transaction meets an I/O failure, the database is closed and opened again
    /// before this returns (file-backed stores), so the next transaction finds it usable once
    /// the disk works again.
    pub fn write_blocking<R, E, F>(&self, f: F) -> Result<R, E>
    where
        F: FnOnce(&mut Tx) -> Result<R, E>,
        E: From<StoreError>,
    {
        let (current, inner) = self.handle.begin(Database::begin_write)?;
        let generation = current.generation;
        let tx = Tx { inner, now: self.clock.now(), mail_enqueued: false, observers: self.observers.clone() };
        let (out, io_failed) = watch_io(move || {
            let mut tx = tx;
            let out = f(&mut tx)?;
            let mail = tx.mail_enqueued;
            tx.inner.commit().map_err(StoreError::from)?;
            Ok::<_, E>((out, mail))
        });
        // Counted whether or not the commit went through: a reader only learns "maybe changed".
        self.handle.changes.fetch_add(1, Ordering::AcqRel);
        // Every transaction on the failed database has ended: it can be closed.
        drop(current);
        if io_failed {
            self.handle.recover(generation);
        }
        let (out, mail) = out?;
        if mail {
            self.outbox_changed.notify_one();
        }
        Ok(out)
    }

    /// [`Store::read`] on the calling thread; recovers from I/O failures as
    /// [`Store::write_blocking`] does.
    pub fn read_blocking<R, E, F>(&self, f: F) -> Result<R, E>
    where
        F: FnOnce(&ReadTx) -> Result<R, E>,
        E: From<StoreError>,
    {
        let (current, inner) = self.handle.begin(|db| db.begin_read())?;
        let generation = current.generation;
        let tx = ReadTx { inner, now: self.clock.now() };
        let (out, io_failed) = watch_io(move || f(&tx));
        drop(current);
        if io_failed {
            self.handle.recover(generation);
        }
        out
    }

    /// Copies every table into a new database file at `dest` from one read transaction: a
    /// consistent snapshot while the appliance keeps serving. Returns records per table.
    pub fn snapshot_to(&self, dest: &Path) -> Result<Vec<(&'static str, u64)>, StoreError> {
        // Held until the copy is done: the database stays open while `rtx` reads it.
        let current = self.handle.get()?;
        let rtx = current.db.begin_read()?;
        let out = Database::create(dest)?;
        make_private(dest).map_err(|e| StoreError::Database(format!("cannot restrict {}: {e}", dest.display())))?;
        let wtx = out.begin_write()?;
        let mut counts = Vec::new();
        for name in self.tables.iter() {
            let def = RawDef::new(name);
            let src = match rtx.open_table(def) {
                Ok(t) => t,
                Err(redb::TableError::TableDoesNotExist(_)) => continue,
                Err(e) => return Err(e.into()),
            };
            let mut dst = wtx.open_table(def)?;
            let mut n = 0u64;
            for entry in src.iter()? {
                let (k, v) = entry?;
                dst.insert(k.value(), v.value())?;
                n += 1;
            }
            counts.push((*name, n));
        }
        wtx.commit()?;
        Ok(counts)
    }

    /// Reads every record of every table and reports those that cannot be decoded.
    pub fn verify(&self) -> Result<VerifyReport, StoreError> {
        let current = self.handle.get()?;
        let rtx = current.db.begin_read()?;
        let mut report = VerifyReport::default();
        for name in self.tables.iter() {
            let t = match rtx.open_table(RawDef::new(name)) {
                Ok(t) => t,
                Err(redb::TableError::TableDoesNotExist(_)) => {
                    report.problems.push(format!("{name}: table missing"));
                    continue;
                }
                Err(e) => return Err(e.into()),
            };
            let mut n = 0u64;
            for entry in t.iter()? {
                let (k, v) = entry?;
                if !name.ends_with(BLOB_SUFFIX)
                    && let Err(e) = serde_json::from_slice::<serde_json::Value>(v.value())
                {
                    report.problems.push(format!("{name}/{}: {e}", k.value()));
                }
                n += 1;
            }
            report.tables.push((*name, n));
        }
        Ok(report)
    }

    /// Proves the database can still be written (a durable commit of a probe record).
    pub fn probe_write(&self) -> Result<(), StoreError> {
        self.write_blocking(|tx| {
            let now = tx.now;
            tx.put_raw(META, "health/probe", &now)
        })
    }

    /// Size of the database file in bytes (as redb reports its storage), for metrics.
    pub fn file_size(path: &Path) -> u64 {
        std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)
    }

    /// Woken after a transaction that put mail in the outbox commits.
    pub fn outbox_changed(&self) -> Arc<Notify> {
        self.outbox_changed.clone()
    }

    /// Verifies the file's checksums (redb `check_integrity` needs exclusive access, so this
    /// is for offline use: a freshly opened store that no one else holds).
    pub fn check_integrity(&mut self) -> Result<bool, StoreError> {
        let mut current = self.handle.current.write().unwrap_or_else(PoisonError::into_inner);
        match current.as_mut().and_then(|c| Arc::get_mut(&mut c.db)) {
            Some(db) => db.check_integrity().map_err(|e| StoreError::Database(e.to_string())),
            None => Err(StoreError::Database("the database is in use; integrity can only be checked offline".into())),
        }
    }
}

fn decode<V: DeserializeOwned>(table: &'static str, key: &str, bytes: &[u8]) -> Result<V, StoreError> {
    serde_json::from_slice(bytes).map_err(|e| StoreError::Corrupt {
        table,
        key: key.to_string(),
        reason: e.to_string(),
    })
}

fn encode<V: Serialize>(table: &'static str, key: &str, value: &V) -> Result<Vec<u8>, StoreError> {
    serde_json::to_vec(value).map_err(|e| StoreError::Corrupt { table, key: key.to_string(), reason: e.to_string() })
}

fn get_from<T, V>(t: &T, table: &'static str, key: &str) -> Result<Option<V>, StoreError>
where
    T: ReadableTable<&'static str, &'static [u8]>,
    V: DeserializeOwned,
{
    match t.get(key)? {
        Some(guard) => Ok(Some(decode(table, key, guard.value())?)),
        None => Ok(None),
    }
}

/// The smallest string greater than every string starting with `prefix`.
fn prefix_end(prefix: &str) -> Option<String> {
    let mut chars: Vec<char> = prefix.chars().collect();
    while let Some(last) = chars.pop() {
        if let Some(next) = char::from_u32(last as u32 + 1) {
            chars.push(next);
            return Some(chars.into_iter().collect());
        }
    }
    None
}

fn scan_from<T, V>(
    t: &T,
    table: &'static str,
    prefix: &str,
    skip: usize,
    limit: usize,
) -> Result<Vec<(String, V)>, StoreError>
where
    T: ReadableTable<&'static str, &'static [u8]>,
    V: DeserializeOwned,
{
    let mut out = Vec::new();
    let end = prefix_end(prefix);
    let iter = match &end {
        Some(end) => t.range::<&str>(prefix..end.as_str())?,
        None => t.range::<&str>(prefix..)?,
    };
    for entry in iter.skip(skip).take(limit) {
        let (k, v) = entry?;
        let key = k.value().to_string();
        let value = decode(table, &key, v.value())?;
        out.push((key, value));
    }
    Ok(out)
}

fn count_from<T>(t: &T, prefix: &str) -> Result<usize, StoreError>
where
    T: ReadableTable<&'static str, &'static [u8]>,
{
    if prefix.is_empty() {
        return Ok(usize::try_from(t.len()?).unwrap_or(usize::MAX));
    }
    let end = prefix_end(prefix);
    let iter = match &end {
        Some(end) => t.range::<&str>(prefix..end.as_str())?,
        None => t.range::<&str>(prefix..)?,
    };
    Ok(iter.count())
}

/// Read access shared by [`Tx`] and [`ReadTx`].
pub trait Read {
    fn now(&self) -> Timestamp;
    fn get<V: DeserializeOwned>(&self, table: &Table<V>, key: &str) -> Result<Option<V>, StoreError>;
    /// Up to `limit` records whose key starts with `prefix`, in key order, after `skip`.
    fn scan_page<V: DeserializeOwned>(
        &self,
        table: &Table<V>,
        prefix: &str,
        skip: usize,
        limit: usize,
    ) -> Result<Vec<(String, V)>, StoreError>;
    fn count<V>(&self, table: &Table<V>, prefix: &str) -> Result<usize, StoreError>;
    /// Every record with `start <= key < end`, in key order.
    fn scan_range<V: DeserializeOwned>(
        &self,
        table: &Table<V>,
        start: &str,
        end: &str,
    ) -> Result<Vec<(String, V)>, StoreError>;
    /// The bytes stored under `key` in a raw-bytes table.
    fn get_bytes(&self, table: &Table<Bytes>, key: &str) -> Result<Option<Vec<u8>>, StoreError>;
    /// Calls `visit` with each key of `start <= key < end`, in key order (`reverse`: from the
    /// last), until it returns `false`. Values are not read: for indexes whose keys carry
    /// what a query filters on.
    fn visit_keys<V>(
        &self,
        table: &Table<V>,
        start: &str,
        end: &str,
        reverse: bool,
        visit: &mut dyn FnMut(&str) -> bool,
    ) -> Result<(), StoreError>;

    /// Every record whose key starts with `prefix`, in key order.
    fn scan<V: DeserializeOwned>(&self, table: &Table<V>, prefix: &str) -> Result<Vec<(String, V)>, StoreError> {
        self.scan_page(table, prefix, 0, usize::MAX)
    }
}

/// A write transaction. Dropping it without commit (an `Err` from the closure) changes nothing.
pub struct Tx {
    inner: redb::WriteTransaction,
    now: Timestamp,
    mail_enqueued: bool,
    /// Who follows this transaction's audit records; empty while they are being called.
    pub(crate) observers: Observers,
}

impl Tx {
    pub fn put<V: Serialize>(&mut self, table: &Table<V>, key: &str, value: &V) -> Result<(), StoreError> {
        let bytes = encode(table.name, key, value)?;
        let mut t = self.inner.open_table(table.def())?;
        t.insert(key, bytes.as_slice())?;
        Ok(())
    }

    /// Stores raw bytes (a table of [`Bytes`], name ending in [`BLOB_SUFFIX`]).
    pub fn put_bytes(&mut self, table: &Table<Bytes>, key: &str, bytes: &[u8]) -> Result<(), StoreError> {
        let mut t = self.inner.open_table(table.def())?;
        t.insert(key, bytes)?;
        Ok(())
    }

    /// Inserts only when the key is absent; returns false (and writes nothing) otherwise.
    pub fn insert_new<V: Serialize>(&mut self, table: &Table<V>, key: &str, value: &V) -> Result<bool, StoreError> {
        let bytes = encode(table.name, key, value)?;
        let mut t = self.inner.open_table(table.def())?;
        if t.get(key)?.is_some() {
            return Ok(false);
        }
        t.insert(key, bytes.as_slice())?;
        Ok(true)
    }

    pub fn remove<V>(&mut self, table: &Table<V>, key: &str) -> Result<bool, StoreError> {
        let mut t = self.inner.open_table(table.def())?;
        let removed = t.remove(key)?.is_some();
        Ok(removed)
    }

    /// Next value of a named counter (starting at 1), kept in the meta table.
    pub fn next_seq(&mut self, name: &str) -> Result<u64, StoreError> {
        let key = format!("seq/{name}");
        let next = self.get_raw::<u64>(META, "meta", &key)?.unwrap_or(0).saturating_add(1);
        self.put_raw(META, &key, &next)?;
        Ok(next)
    }

    pub(crate) fn note_mail_enqueued(&mut self) {
        self.mail_enqueued = true;
    }

    fn get_raw<V: DeserializeOwned>(
        &self,
        def: RawDef,
        name: &'static str,
        key: &str,
    ) -> Result<Option<V>, StoreError> {
        let t = self.inner.open_table(def)?;
        get_from(&t, name, key)
    }

    fn put_raw<V: Serialize>(&mut self, def: RawDef, key: &str, value: &V) -> Result<(), StoreError> {
        let bytes = encode("meta", key, value)?;
        let mut t = self.inner.open_table(def)?;
        t.insert(key, bytes.as_slice())?;
        Ok(())
    }
}

/// Both transaction kinds read the same way; only the redb table type differs.
macro_rules! impl_read {
    ($tx:ty) => {
        impl Read for $tx {
            fn now(&self) -> Timestamp {
                self.now
            }

            fn get<V: DeserializeOwned>(&self, table: &Table<V>, key: &str) -> Result<Option<V>, StoreError> {
                let t = self.inner.open_table(table.def())?;
                get_from(&t, table.name, key)
            }

            fn scan_page<V: DeserializeOwned>(
                &self,
                table: &Table<V>,
                prefix: &str,
                skip: usize,
                limit: usize,
            ) -> Result<Vec<(String, V)>, StoreError> {
                let t = self.inner.open_table(table.def())?;
                scan_from(&t, table.name, prefix, skip, limit)
            }

            fn count<V>(&self, table: &Table<V>, prefix: &str) -> Result<usize, StoreError> {
                let t = self.inner.open_table(table.def())?;
                count_from(&t, prefix)
            }

            fn scan_range<V: DeserializeOwned>(
                &self,
                table: &Table<V>,
                start: &str,
                end: &str,
            ) -> Result<Vec<(String, V)>, StoreError> {
                let t = self.inner.open_table(table.def())?;
                let mut out = Vec::new();
                if start >= end {
                    return Ok(out);
                }
                for entry in t.range::<&str>(start..end)? {
                    let (k, v) = entry?;
                    out.push((k.value().to_string(), decode(table.name, k.value(), v.value())?));
                }
                Ok(out)
            }

            fn get_bytes(&self, table: &Table<Bytes>, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
                let t = self.inner.open_table(table.def())?;
                Ok(t.get(key)?.map(|g| g.value().to_vec()))
            }

            fn visit_keys<V>(
                &self,
                table: &Table<V>,
                start: &str,
                end: &str,
                reverse: bool,
                visit: &mut dyn FnMut(&str) -> bool,
            ) -> Result<(), StoreError> {
                if start >= end {
                    return Ok(());
                }
                let t = self.inner.open_table(table.def())?;
                let range = t.range::<&str>(start..end)?;
                if reverse {
                    for entry in range.rev() {
                        if !visit(entry?.0.value()) {
                            break;
                        }
                    }
                } else {
                    for entry in range {
                        if !visit(entry?.0.value()) {
                            break;
                        }
                    }
                }
                Ok(())
            }
        }
    };
}

impl_read!(Tx);

/// A read transaction: a consistent snapshot.
pub struct ReadTx {
    inner: redb::ReadTransaction,
    now: Timestamp,
}

impl_read!(ReadTx);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::SystemClock;
    use crate::module::KernelModule;

    const THINGS: Table<String> = Table::new("test_things");

    struct TestModule;
    impl Module for TestModule {
        fn name(&self) -> &'static str {
            "test"
        }
        fn tables(&self) -> Vec<&'static str> {
            vec![THINGS.name()]
        }
    }

    fn open(dir: &Path) -> Store {
        let modules: [&dyn Module; 2] = [&KernelModule, &TestModule];
        match Store::open(&dir.join("k.redb"), Arc::new(SystemClock), &modules) {
            Ok(s) => s,
            Err(e) => panic!("open: {e}"),
        }
    }

    #[test]
    fn write_commits_and_error_aborts() {
        let dir = tempdir();
        let store = open(&dir);
        let r: Result<(), StoreError> = store.write_blocking(|tx| tx.put(&THINGS, "a/1", &"one".to_string()));
        assert!(r.is_ok());
        let r: Result<(), StoreError> = store.write_blocking(|tx| {
            tx.put(&THINGS, "a/2", &"two".to_string())?;
            Err(StoreError::Task("abort".into()))
        });
        assert!(r.is_err());
        let items: Vec<(String, String)> = store.read_blocking(|tx| tx.scan(&THINGS, "a/")).unwrap_or_default();
        assert_eq!(items, vec![("a/1".to_string(), "one".to_string())]);
    }

    #[test]
    fn prefix_scan_paging_and_count() {
        let dir = tempdir();
        let store = open(&dir);
        let r: Result<(), StoreError> = store.write_blocking(|tx| {
            for i in 0..10 {
                tx.put(&THINGS, &format!("t/{i:02}"), &i.to_string())?;
            }
            tx.put(&THINGS, "u/00", &"other".to_string())?;
            Ok(())
        });
        assert!(r.is_ok());
        let (page, count) = store
            .read_blocking(|tx| Ok::<_, StoreError>((tx.scan_page(&THINGS, "t/", 3, 4)?, tx.count(&THINGS, "t/")?)))
            .unwrap_or_default();
        assert_eq!(count, 10);
        assert_eq!(page.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>(), ["t/03", "t/04", "t/05", "t/06"]);
    }

    #[test]
    fn data_survives_reopen_and_newer_schema_is_refused() {
        let dir = tempdir();
        {
            let store = open(&dir);
            let r: Result<(), StoreError> = store.write_blocking(|tx| tx.put(&THINGS, "k", &"v".to_string()));
            assert!(r.is_ok());
        }
        let store = open(&dir);
        let v: Option<String> = store.read_blocking(|tx| tx.get(&THINGS, "k")).unwrap_or_default();
        assert_eq!(v.as_deref(), Some("v"));
        let r: Result<(), StoreError> = store.write_blocking(|tx| tx.put_raw(META, "schema_version/test", &99u32));
        assert!(r.is_ok());
        drop(store);
        let modules: [&dyn Module; 2] = [&KernelModule, &TestModule];
        let reopened = Store::open(&dir.join("k.redb"), Arc::new(SystemClock), &modules);
        assert!(matches!(reopened, Err(StoreError::TooNew { found: 99, .. })));
    }

    struct TestModuleV2;
    impl Module for TestModuleV2 {
        fn name(&self) -> &'static str {
            "test"
        }
        fn tables(&self) -> Vec<&'static str> {
            vec![THINGS.name()]
        }
        fn schema_version(&self) -> u32 {
            2
        }
        fn migrate(&self, tx: &mut Tx, from: u32) -> Result<(), StoreError> {
            assert_eq!(from, 1);
            let old: Vec<(String, String)> = tx.scan(&THINGS, "")?;
            for (k, v) in old {
                tx.put(&THINGS, &k, &v.to_uppercase())?;
            }
            Ok(())
        }
    }

    #[test]
    fn older_schema_is_backed_up_then_migrated_and_snapshots_copy_everything() {
        let dir = tempdir();
        {
            let store = open(&dir);
            let r: Result<(), StoreError> = store.write_blocking(|tx| tx.put(&THINGS, "k", &"v".to_string()));
            assert!(r.is_ok());
        }
        let modules: [&dyn Module; 2] = [&KernelModule, &TestModuleV2];
        let store = Store::open(&dir.join("k.redb"), Arc::new(SystemClock), &modules).unwrap_or_else(|e| panic!("{e}"));
        let v: Option<String> = store.read_blocking(|tx| tx.get(&THINGS, "k")).unwrap_or_default();
        assert_eq!(v.as_deref(), Some("V"), "migrated");
        let backups = std::fs::read_dir(&dir)
            .map(|d| {
                d.filter_map(|e| e.ok()).filter(|e| e.file_name().to_string_lossy().contains("pre-migration")).count()
            })
            .unwrap_or(0);
        assert_eq!(backups, 1, "one backup before the migration");
        // Reopening at the same version takes no further backup.
        drop(store);
        let store = Store::open(&dir.join("k.redb"), Arc::new(SystemClock), &modules).unwrap_or_else(|e| panic!("{e}"));
        let n = std::fs::read_dir(&dir).map(|d| d.count()).unwrap_or(0);
        assert_eq!(n, 2);
        // A snapshot holds every record and verifies clean.
        let counts = store.snapshot_to(&dir.join("snap.redb")).unwrap_or_else(|e| panic!("{e}"));
        assert!(counts.contains(&("test_things", 1)));
        let report = store.verify().unwrap_or_else(|e| panic!("{e}"));
        assert!(report.problems.is_empty(), "{:?}", report.problems);
        // A record that cannot be decoded is reported.
        let r: Result<(), StoreError> = store.write_blocking(|tx| {
            let mut t = tx.inner.open_table(THINGS.def())?;
            t.insert("broken", b"{not json".as_slice())?;
            Ok(())
        });
        assert!(r.is_ok());
        let report = store.verify().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(report.problems.len(), 1);
        assert!(report.problems[0].starts_with("test_things/broken"));
    }

    /// Two modules under one name, the second older: the opening transaction fails
    /// (`TooNew`) even on a new file, after it has written the first module's schema.
    struct DupNew;
    impl Module for DupNew {
        fn name(&self) -> &'static str {
            "dup"
        }
        fn tables(&self) -> Vec<&'static str> {
            vec![THINGS.name()]
        }
        fn schema_version(&self) -> u32 {
            2
        }
    }
    struct DupOld;
    impl Module for DupOld {
        fn name(&self) -> &'static str {
            "dup"
        }
        fn tables(&self) -> Vec<&'static str> {
            Vec::new()
        }
    }

    #[test]
    fn first_creation_replaces_a_leftover_and_only_a_complete_file_appears() {
        let dir = tempdir();
        let path = dir.join("k.redb");
        let creating = dir.join("k.redb.creating");
        // A start that died while creating the file left garbage beside it.
        std::fs::write(&creating, b"half a redb header").unwrap_or_else(|e| panic!("{e}"));
        let store = open(&dir);
        assert!(path.exists());
        assert!(!creating.exists(), "the leftover is gone (renamed over or removed)");
        let r: Result<(), StoreError> = store.write_blocking(|tx| tx.put(&THINGS, "k", &"v".to_string()));
        assert!(r.is_ok());
        drop(store);
        // The file was complete when it appeared: a read-only open sees every table and version.
        let db = redb::ReadOnlyDatabase::open(&path).unwrap_or_else(|e| panic!("{e}"));
        let rtx = db.begin_read().unwrap_or_else(|e| panic!("{e}"));
        let meta = rtx.open_table(META).unwrap_or_else(|e| panic!("{e}"));
        let v: Option<u32> = get_from(&meta, "meta", "schema_version/test").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(v, Some(1));

        // An open that fails while initialising a new file leaves nothing at the final path
        // (nor beside it), and the next open starts afresh.
        let dir = tempdir();
        let path = dir.join("k.redb");
        let bad: [&dyn Module; 3] = [&KernelModule, &DupNew, &DupOld];
        let r = Store::open(&path, Arc::new(SystemClock), &bad);
        assert!(matches!(r, Err(StoreError::TooNew { found: 2, supported: 1, .. })), "{:?}", r.err());
        assert!(!path.exists(), "no database appears at the final path when its creation fails");
        assert!(!creating_path(&path).exists());
        let store = open(&dir);
        let r: Result<(), StoreError> = store.write_blocking(|tx| tx.put(&THINGS, "k", &"v".to_string()));
        assert!(r.is_ok());
    }

    /// A file behind a backend whose writes, resizes and syncs fail while `fail` is set.
    #[derive(Debug)]
    struct FlakyFile {
        inner: redb::backends::FileBackend,
        fail: Arc<std::sync::atomic::AtomicBool>,
    }

    impl FlakyFile {
        fn check(&self) -> std::io::Result<()> {
            if self.fail.load(Ordering::SeqCst) { Err(std::io::Error::other("injected I/O failure")) } else { Ok(()) }
        }
    }

    impl redb::StorageBackend for FlakyFile {
        fn len(&self) -> std::io::Result<u64> {
            self.inner.len()
        }
        fn read(&self, offset: u64, out: &mut [u8]) -> std::io::Result<()> {
            self.inner.read(offset, out)
        }
        fn set_len(&self, len: u64) -> std::io::Result<()> {
            self.check()?;
            self.inner.set_len(len)
        }
        fn sync_data(&self) -> std::io::Result<()> {
            self.check()?;
            self.inner.sync_data()
        }
        fn write(&self, offset: u64, data: &[u8]) -> std::io::Result<()> {
            self.check()?;
            self.inner.write(offset, data)
        }
        fn close(&self) -> std::io::Result<()> {
            self.inner.close()
        }
        fn try_lock_range(
            &self,
            start: std::ops::Bound<u64>,
            end: std::ops::Bound<u64>,
        ) -> Result<bool, redb::BackendError> {
            self.inner.try_lock_range(start, end)
        }
        fn try_lock_shared_range(
            &self,
            start: std::ops::Bound<u64>,
            end: std::ops::Bound<u64>,
        ) -> Result<bool, redb::BackendError> {
            self.inner.try_lock_shared_range(start, end)
        }
        fn lock_range(&self, start: std::ops::Bound<u64>, end: std::ops::Bound<u64>) -> Result<(), redb::BackendError> {
            self.inner.lock_range(start, end)
        }
        fn lock_shared_range(
            &self,
            start: std::ops::Bound<u64>,
            end: std::ops::Bound<u64>,
        ) -> Result<(), redb::BackendError> {
            self.inner.lock_shared_range(start, end)
        }
        fn unlock_range(
            &self,
            start: std::ops::Bound<u64>,
            end: std::ops::Bound<u64>,
        ) -> Result<(), redb::BackendError> {
            self.inner.unlock_range(start, end)
        }
        fn query_lock_range(
            &self,
            start: std::ops::Bound<u64>,
            end: std::ops::Bound<u64>,
        ) -> Result<bool, redb::BackendError> {
            self.inner.query_lock_range(start, end)
        }
    }

    fn flaky_backend(path: &Path, fail: &Arc<std::sync::atomic::AtomicBool>) -> Result<FlakyFile, redb::DatabaseError> {
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .map_err(|e| redb::DatabaseError::Storage(redb::StorageError::Io(e)))?;
        Ok(FlakyFile { inner: redb::backends::FileBackend::new(file)?, fail: fail.clone() })
    }

    /// A file-backed store over [`FlakyFile`], reopened (like [`Store::open`]'s) from the file.
    fn flaky_store(dir: &Path) -> (Store, Arc<std::sync::atomic::AtomicBool>) {
        let fail = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (path, f) = (dir.join("k.redb"), fail.clone());
        let opener: Opener = Box::new(move || redb::Builder::new().create_with_backend(flaky_backend(&path, &f)?));
        let modules: [&dyn Module; 2] = [&KernelModule, &TestModule];
        let store = Store::open_with_opener(opener, Arc::new(SystemClock), &modules).unwrap_or_else(|e| panic!("{e}"));
        (store, fail)
    }

    fn put(store: &Store, key: &str) -> Result<(), StoreError> {
        let key = key.to_string();
        store.write_blocking(move |tx| tx.put(&THINGS, &key, &"v".to_string()))
    }

    fn get(store: &Store, key: &str) -> Result<Option<String>, StoreError> {
        store.read_blocking(|tx| tx.get(&THINGS, key))
    }

    #[test]
    fn a_backend_store_stays_failed_after_an_io_error() {
        // What redb does without the reopen: every later transaction fails, even once the
        // disk works again.
        let dir = tempdir();
        let fail = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let backend = flaky_backend(&dir.join("k.redb"), &fail).unwrap_or_else(|e| panic!("{e}"));
        let modules: [&dyn Module; 2] = [&KernelModule, &TestModule];
        let store =
            Store::open_with_backend(backend, Arc::new(SystemClock), &modules).unwrap_or_else(|e| panic!("{e}"));
        assert!(put(&store, "a").is_ok());
        fail.store(true, Ordering::SeqCst);
        assert!(put(&store, "b").is_err());
        fail.store(false, Ordering::SeqCst);
        let r = store.probe_write();
        assert!(r.as_ref().is_err_and(|e| e.to_string().contains("Previous I/O")), "{r:?}");
    }

    #[test]
    fn after_an_io_failure_the_file_is_reopened_once_the_disk_works() {
        let dir = tempdir();
        let (store, fail) = flaky_store(&dir);
        assert!(put(&store, "before").is_ok());
        fail.store(true, Ordering::SeqCst);
        assert!(put(&store, "during").is_err());
        // The disk still fails: the health probe fails, and so does every reopen attempt.
        assert!(store.probe_write().is_err());
        assert!(put(&store, "still").is_err());
        // The disk works again: the next transaction (the health probe) reopens the file.
        fail.store(false, Ordering::SeqCst);
        store.probe_write().unwrap_or_else(|e| panic!("probe after the disk recovered: {e}"));
        assert!(store.handle.reopens.load(Ordering::SeqCst) >= 1);
        assert!(put(&store, "after").is_ok());
        assert_eq!(get(&store, "before").ok().flatten().as_deref(), Some("v"));
        assert_eq!(get(&store, "after").ok().flatten().as_deref(), Some("v"));
        assert_eq!(get(&store, "during").ok().flatten(), None, "the failed write is not there");
        let report = store.verify().unwrap_or_else(|e| panic!("{e}"));
        assert!(report.problems.is_empty(), "{:?}", report.problems);
    }

    #[test]
    fn a_reader_of_the_failed_database_ends_before_the_file_is_reopened() {
        let dir = tempdir();
        let (store, fail) = flaky_store(&dir);
        assert!(put(&store, "before").is_ok());
        let (started_tx, started) = std::sync::mpsc::channel();
        let (go, go_rx) = std::sync::mpsc::channel::<()>();
        let reader = {
            let store = store.clone();
            std::thread::spawn(move || {
                store.read_blocking(move |tx| {
                    let _ = started_tx.send(());
                    let _ = go_rx.recv();
                    tx.get(&THINGS, "before")
                })
            })
        };
        let _ = started.recv();
        fail.store(true, Ordering::SeqCst);
        let writer = {
            let store = store.clone();
            std::thread::spawn(move || put(&store, "during"))
        };
        std::thread::sleep(Duration::from_millis(300));
        // The writer failed and waits for the reader before it closes the database.
        assert_eq!(store.handle.reopens.load(Ordering::SeqCst), 0);
        fail.store(false, Ordering::SeqCst);
        let _ = go.send(());
        // The reader ends cleanly (with its value, or an error), without a panic.
        let read = reader.join();
        assert!(read.is_ok(), "the reader panicked");
        assert!(writer.join().map(|r| r.is_err()).unwrap_or(false), "the failed write reports its error");
        assert_eq!(store.handle.reopens.load(Ordering::SeqCst), 1, "reopened once the reader was done");
        store.probe_write().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(get(&store, "before").ok().flatten().as_deref(), Some("v"));
    }

    #[test]
    fn a_file_store_reopens_from_its_path() {
        let dir = tempdir();
        let store = open(&dir);
        assert!(put(&store, "k").is_ok());
        let c = store.handle.reopen(Some(0)).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(c.generation, 1);
        drop(c);
        assert_eq!(get(&store, "k").ok().flatten().as_deref(), Some("v"));
        assert!(put(&store, "k2").is_ok());
    }

    #[test]
    fn prefix_end_is_the_next_string() {
        assert_eq!(prefix_end("a/").as_deref(), Some("a0"));
        assert_eq!(prefix_end(""), None);
    }

    pub(crate) fn tempdir() -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("keiyaku-test-{}", crate::ids::new_id()));
        let _ = std::fs::create_dir_all(&dir);
        dir
    }
}
