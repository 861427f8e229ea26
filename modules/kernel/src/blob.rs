//! The one store of document contents: contract documents, support documents and the
//! identity documents of certificate applications. Content is addressed by its SHA-256 per
//! tenant, stored once, in chunks of raw bytes under `tenant/sha-256/NNNNNN`, with a
//! [`BlobMeta`] record under `tenant/sha-256`; every read checks the bytes against the hash.
//!
//! The tables stay their module's: each module declares its two [`Table`]s and names them in
//! a [`Blobs`] descriptor it passes to these functions. The chunk table's name ends in
//! [`crate::store::BLOB_SUFFIX`], so `verify` does not read its values as JSON.

use crate::store::{Bytes, Read, StoreError, Table, Tx};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Size and chunk count of stored content (the value of a [`Blobs::meta`] table).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlobMeta {
    pub size: u64,
    pub chunks: u32,
    pub created_at: Timestamp,
}

/// A module's content store: its chunk and meta tables and the chunk size it writes.
pub struct Blobs {
    /// `tenant/sha-256/NNNNNN` → one chunk of the content (raw bytes).
    pub chunks: Table<Bytes>,
    /// `tenant/sha-256` → size and chunk count.
    pub meta: Table<BlobMeta>,
    /// Raw bytes per chunk written (reading follows the stored chunk count).
    pub chunk_bytes: usize,
}

impl Blobs {
    pub const fn new(chunks: Table<Bytes>, meta: Table<BlobMeta>, chunk_bytes: usize) -> Self {
        Self { chunks, meta, chunk_bytes }
    }
}

/// Lowercase hex SHA-256 of `bytes`: the address content is stored under.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

fn meta_key(tenant: &str, sha: &str) -> String {
    format!("{tenant}/{sha}")
}

fn chunk_key(tenant: &str, sha: &str, n: u32) -> String {
    format!("{tenant}/{sha}/{n:06}")
}

/// Stores `bytes` for `tenant` (once per content) and returns their SHA-256.
pub fn put(tx: &mut Tx, blobs: &Blobs, tenant: &str, bytes: &[u8]) -> Result<String, StoreError> {
    let sha = sha256_hex(bytes);
    let key = meta_key(tenant, &sha);
    if tx.get(&blobs.meta, &key)?.is_some() {
        return Ok(sha);
    }
    let mut n = 0u32;
    for part in bytes.chunks(blobs.chunk_bytes.max(1)) {
        tx.put_bytes(&blobs.chunks, &chunk_key(tenant, &sha, n), part)?;
        n += 1;
    }
    let meta = BlobMeta { size: bytes.len() as u64, chunks: n, created_at: tx.now() };
    tx.put(&blobs.meta, &key, &meta)?;
    Ok(sha)
}

/// Size and chunk count of the content stored under `sha`, if any.
pub fn meta(tx: &impl Read, blobs: &Blobs, tenant: &str, sha: &str) -> Result<Option<BlobMeta>, StoreError> {
    tx.get(&blobs.meta, &meta_key(tenant, sha))
}

/// The content stored under `sha` (`None`: nothing is). A missing chunk, a wrong size or
/// bytes that do not match the hash are [`StoreError::Corrupt`].
pub fn get(tx: &impl Read, blobs: &Blobs, tenant: &str, sha: &str) -> Result<Option<Vec<u8>>, StoreError> {
    let Some(meta) = meta(tx, blobs, tenant, sha)? else {
        return Ok(None);
    };
    let corrupt = |key: String, reason: String| StoreError::Corrupt { table: blobs.chunks.name(), key, reason };
    let mut out = Vec::with_capacity(usize::try_from(meta.size).unwrap_or(0));
    for n in 0..meta.chunks {
        let key = chunk_key(tenant, sha, n);
        let part = tx.get_bytes(&blobs.chunks, &key)?.ok_or_else(|| corrupt(key, "chunk missing".into()))?;
        out.extend_from_slice(&part);
    }
    if out.len() as u64 != meta.size {
        return Err(corrupt(meta_key(tenant, sha), format!("{} bytes stored, {} recorded", out.len(), meta.size)));
    }
    if sha256_hex(&out) != sha {
        return Err(corrupt(meta_key(tenant, sha), "content does not match its SHA-256".into()));
    }
    Ok(Some(out))
}

/// Removes the content stored under `sha`; false when there was none. Callers that share
/// content between records remove it only when no record refers to it any more.
pub fn remove(tx: &mut Tx, blobs: &Blobs, tenant: &str, sha: &str) -> Result<bool, StoreError> {
    let Some(meta) = meta(tx, blobs, tenant, sha)? else {
        return Ok(false);
    };
    for n in 0..meta.chunks {
        tx.remove(&blobs.chunks, &chunk_key(tenant, sha, n))?;
    }
    tx.remove(&blobs.meta, &meta_key(tenant, sha))?;
    Ok(true)
}

/// Checks every stored content of `blobs`: all chunks present and the bytes matching the
/// SHA-256 they are stored under. One line per problem (naming `tenant/sha-256`).
pub fn verify(tx: &impl Read, blobs: &Blobs) -> Result<Vec<String>, StoreError> {
    let mut problems = Vec::new();
    for (k, _) in tx.scan(&blobs.meta, "")? {
        let Some((tenant, sha)) = k.split_once('/') else {
            problems.push(format!("{}/{k}: malformed key", blobs.meta.name()));
            continue;
        };
        match get(tx, blobs, tenant, sha) {
            Ok(_) => {}
            Err(StoreError::Corrupt { table, key, reason }) => problems.push(format!("{table}/{key}: {reason}")),
            Err(e) => return Err(e),
        }
    }
    Ok(problems)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Store;
    use crate::clock::SystemClock;
    use crate::module::{KernelModule, Module};
    use std::sync::Arc;

    const TEST_CHUNKS: Table<Bytes> = Table::new("test_blobs");
    const TEST_META: Table<BlobMeta> = Table::new("test_blob_meta");
    const TEST_BLOBS: Blobs = Blobs::new(TEST_CHUNKS, TEST_META, 64);

    struct TestModule;
    impl Module for TestModule {
        fn name(&self) -> &'static str {
            "test"
        }
        fn tables(&self) -> Vec<&'static str> {
            vec![TEST_CHUNKS.name(), TEST_META.name()]
        }
    }

    fn open() -> (Store, std::path::PathBuf) {
        let dir = std::env::temp_dir().join(format!("keiyaku-blob-{}", crate::ids::new_id()));
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
        let modules: [&dyn Module; 2] = [&KernelModule, &TestModule];
        let store = Store::open(&dir.join("k.redb"), Arc::new(SystemClock), &modules).unwrap_or_else(|e| panic!("{e}"));
        (store, dir)
    }

    fn put_one(store: &Store, tenant: &str, bytes: &[u8]) -> String {
        store.write_blocking(|tx| put(tx, &TEST_BLOBS, tenant, bytes)).unwrap_or_else(|e| panic!("{e}"))
    }

    fn read(store: &Store, tenant: &str, sha: &str) -> Result<Option<Vec<u8>>, StoreError> {
        store.read_blocking(|tx| get(tx, &TEST_BLOBS, tenant, sha))
    }

    fn count<V>(store: &Store, table: &Table<V>) -> usize {
        store.read_blocking(|tx| tx.count(table, "")).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn round_trips_empty_small_and_many_chunks() {
        let (store, dir) = open();
        let many: Vec<u8> = (0..64 * 2 + 5).map(|i| (i % 251) as u8).collect();
        for (bytes, chunks) in [(Vec::new(), 0), (b"short".to_vec(), 1), (many, 3)] {
            let sha = put_one(&store, "T", &bytes);
            assert_eq!(sha, sha256_hex(&bytes));
            assert_eq!(read(&store, "T", &sha).ok(), Some(Some(bytes.clone())));
            let m = store.read_blocking(|tx| meta(tx, &TEST_BLOBS, "T", &sha)).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(m.map(|m| (m.size, m.chunks)), Some((bytes.len() as u64, chunks)));
        }
        assert_eq!(count(&store, &TEST_CHUNKS), 4);
        assert!(store.read_blocking(|tx| verify(tx, &TEST_BLOBS)).unwrap_or_else(|e| panic!("{e}")).is_empty());
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn content_is_stored_once_per_tenant() {
        let (store, dir) = open();
        let bytes = vec![7u8; 100];
        let a = put_one(&store, "T", &bytes);
        let b = put_one(&store, "T", &bytes);
        assert_eq!(a, b);
        assert_eq!((count(&store, &TEST_CHUNKS), count(&store, &TEST_META)), (2, 1));
        // Another tenant cannot read it by its hash.
        assert_eq!(read(&store, "U", &a).ok(), Some(None));
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn damage_is_an_error_not_content() {
        let (store, dir) = open();
        let bytes: Vec<u8> = (0..200u32).map(|i| i as u8).collect();
        let sha = put_one(&store, "T", &bytes);
        let r: Result<(), StoreError> =
            store.write_blocking(|tx| tx.put_bytes(&TEST_CHUNKS, &chunk_key("T", &sha, 1), b"damaged"));
        r.unwrap_or_else(|e| panic!("{e}"));
        assert!(matches!(read(&store, "T", &sha), Err(StoreError::Corrupt { .. })));
        let problems = store.read_blocking(|tx| verify(tx, &TEST_BLOBS)).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].contains(&sha), "{problems:?}");
        // A missing chunk too.
        let r: Result<bool, StoreError> = store.write_blocking(|tx| tx.remove(&TEST_CHUNKS, &chunk_key("T", &sha, 2)));
        r.unwrap_or_else(|e| panic!("{e}"));
        assert!(
            matches!(read(&store, "T", &sha), Err(StoreError::Corrupt { reason, .. }) if reason == "chunk missing")
        );
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn remove_takes_every_chunk() {
        let (store, dir) = open();
        let keep = put_one(&store, "T", b"keep");
        let gone = put_one(&store, "T", &[1u8; 150]);
        assert!(store.write_blocking(|tx| remove(tx, &TEST_BLOBS, "T", &gone)).unwrap_or_else(|e| panic!("{e}")));
        assert!(!store.write_blocking(|tx| remove(tx, &TEST_BLOBS, "T", &gone)).unwrap_or_else(|e| panic!("{e}")));
        assert_eq!(read(&store, "T", &gone).ok(), Some(None));
        assert_eq!(read(&store, "T", &keep).ok(), Some(Some(b"keep".to_vec())));
        assert_eq!((count(&store, &TEST_CHUNKS), count(&store, &TEST_META)), (1, 1));
        let _ = std::fs::remove_dir_all(dir);
    }
}
