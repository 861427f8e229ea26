//! Storage over one redb file. Only the kernel opens redb tables: modules declare
//! [`Table`]s (string keys, JSON values) and read and write them through [`Tx`] and
//! [`ReadTx`]. Every table a module uses is created when the store opens, each module's
//! schema version is recorded, older versions are migrated forward and newer ones refused.

use crate::clock::Clock;
use crate::module::Module;
use jiff::Timestamp;
use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};
use serde::{Serialize, de::DeserializeOwned};
use std::marker::PhantomData;
use std::path::Path;
use std::sync::Arc;
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

macro_rules! from_redb {
    ($($t:ty),*) => {$(
        impl From<$t> for StoreError {
            fn from(e: $t) -> Self {
                StoreError::Database(e.to_string())
            }
        }
    )*};
}
from_redb!(redb::DatabaseError, redb::TransactionError, redb::TableError, redb::StorageError, redb::CommitError);

/// The database handle; cheap to clone.
#[derive(Clone)]
pub struct Store {
    db: Arc<Database>,
    clock: Arc<dyn Clock>,
    outbox_changed: Arc<Notify>,
    /// Every table of the enabled modules, and `meta`.
    tables: Arc<Vec<&'static str>>,
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

impl Store {
    /// Opens (or creates) the database file, creates every module's tables and brings each
    /// module's schema up to date in one transaction.
    ///
    /// When a migration is due, the file is first copied beside itself
    /// (`<name>.pre-migration-<unix time>.redb`), so an upgrade can always be undone.
    pub fn open(path: &Path, clock: Arc<dyn Clock>, modules: &[&dyn Module]) -> Result<Self, StoreError> {
        let mut db = Database::create(path).map_err(|e| match e {
            redb::DatabaseError::DatabaseAlreadyOpen => StoreError::Database(format!(
                "{} is in use by another keiyaku process (stop it first, or use the operator backup API)",
                path.display()
            )),
            other => other.into(),
        })?;
        let due = due_migrations(&db, modules)?;
        if !due.is_empty() {
            drop(db);
            let stamp = clock.now().as_second();
            let backup = path.with_extension(format!("pre-migration-{stamp}.redb"));
            std::fs::copy(path, &backup)
                .map_err(|e| StoreError::Database(format!("backup before migration to {}: {e}", backup.display())))?;
            tracing::info!(?due, backup = %backup.display(), "migrating the database");
            db = Database::create(path)?;
        }
        Self::init(db, clock, modules)
    }

    /// [`Store::open`] over a given redb storage backend (in-memory storage, or a wrapper that
    /// injects I/O failures in tests): the same tables, schema checks and migrations in one
    /// transaction. There is no file to copy, so no backup is taken before a migration.
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
        Self::init(db, clock, modules)
    }

    /// Creates every module's tables and brings each module's schema up to date in one
    /// transaction (the part of opening shared by [`Store::open`] and [`Store::open_with_backend`]).
    fn init(db: Database, clock: Arc<dyn Clock>, modules: &[&dyn Module]) -> Result<Self, StoreError> {
        let mut tables = vec![META_NAME];
        for m in modules {
            tables.extend(m.tables());
        }
        let store = Self { db: Arc::new(db), clock, outbox_changed: Arc::new(Notify::new()), tables: Arc::new(tables) };
        store.write_blocking(|tx| {
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
                            module.migrate(tx, from)?;
                        }
                    }
                }
                tx.put_raw(META, &key, &supported)?;
            }
            Ok(())
        })?;
        Ok(store)
    }

    pub fn now(&self) -> Timestamp {
        self.clock.now()
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

    pub fn write_blocking<R, E, F>(&self, f: F) -> Result<R, E>
    where
        F: FnOnce(&mut Tx) -> Result<R, E>,
        E: From<StoreError>,
    {
        let inner = self.db.begin_write().map_err(StoreError::from)?;
        let mut tx = Tx { inner, now: self.clock.now(), mail_enqueued: false };
        let out = f(&mut tx)?;
        let mail = tx.mail_enqueued;
        tx.inner.commit().map_err(StoreError::from)?;
        if mail {
            self.outbox_changed.notify_one();
        }
        Ok(out)
    }

    pub fn read_blocking<R, E, F>(&self, f: F) -> Result<R, E>
    where
        F: FnOnce(&ReadTx) -> Result<R, E>,
        E: From<StoreError>,
    {
        let inner = self.db.begin_read().map_err(StoreError::from)?;
        let tx = ReadTx { inner, now: self.clock.now() };
        f(&tx)
    }

    /// Copies every table into a new database file at `dest` from one read transaction: a
    /// consistent snapshot while the appliance keeps serving. Returns records per table.
    pub fn snapshot_to(&self, dest: &Path) -> Result<Vec<(&'static str, u64)>, StoreError> {
        let rtx = self.db.begin_read()?;
        let out = Database::create(dest)?;
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
        let rtx = self.db.begin_read()?;
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
        match Arc::get_mut(&mut self.db) {
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
