//! Support documents (サポート資料): manuals, 電子帳簿保存法 material, FAQ and support
//! information that the owner's administrators upload and anyone may download from the
//! support page. The content is kept in the kernel's content store ([`keiyaku_kernel::blob`])
//! over this module's tables ([`CONTENT`]), addressed by the SHA-256 in the document record:
//! stored once per tenant and content, checked on every download.
//!
//! Schema 1 kept the chunks as base64 text in a JSON table ([`CHUNKS`]); schema 2 kept the
//! bytes themselves keyed by document id ([`BLOBS`]), and [`migrate_chunks_to_blobs`] moves
//! them over; schema 3 is the content store, and [`migrate_blobs_to_content`] moves them on.

use crate::SupportError;
use crate::sniff::{Kind, sniff};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use jiff::Timestamp;
use keiyaku_kernel::blob::{self, BlobMeta, Blobs};
use keiyaku_kernel::context::Actor;
use keiyaku_kernel::error::Lang;
use keiyaku_kernel::ids::new_id;
use keiyaku_kernel::store::{Bytes, Read, StoreError, Table, Tx};
use keiyaku_kernel::validate::Rule;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// `tenant/id` → document record (ids are time-ordered: a scan lists in upload order).
pub const DOCUMENTS: Table<Document> = Table::new("support_documents");
/// `tenant/sha-256/NNNNNN` → one chunk of a document's content (raw bytes; schema 3).
pub const CONTENT_CHUNKS: Table<Bytes> = Table::new("support_content_blobs");
/// `tenant/sha-256` → size and chunk count of stored content (schema 3).
pub const CONTENT_META: Table<BlobMeta> = Table::new("support_content_meta");
/// The documents' content store.
pub const CONTENT: Blobs = Blobs::new(CONTENT_CHUNKS, CONTENT_META, CHUNK_BYTES);
/// Schema 2: `tenant/id/NNNNNN` → one chunk of the content (raw bytes). Still declared so the
/// migration can read it; empty once migrated (except chunks of damaged documents).
pub const BLOBS: Table<Bytes> = Table::new("support_document_blobs");
/// Schema 1: `tenant/id/NNNNNN` → one chunk of the content as base64 text. Still declared so
/// the migration can read it; empty once migrated (except chunks that were not base64).
pub const CHUNKS: Table<String> = Table::new("support_document_chunks");

/// Raw bytes per stored chunk.
pub const CHUNK_BYTES: usize = 512 * 1024;
/// Longest file name kept, in characters.
pub const FILE_NAME_MAX: usize = 120;

/// The sections of the support page a document belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Hash, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    /// サポート情報
    Info,
    /// 利用説明資料 (user, English and administrator manuals)
    Manual,
    /// 電子帳簿保存法関連資料
    EbookLaw,
    /// よくあるご質問
    Faq,
}

impl Category {
    /// In the order of the support page's sections.
    pub const ALL: [Category; 4] = [Category::Info, Category::Manual, Category::EbookLaw, Category::Faq];

    pub fn as_str(self) -> &'static str {
        match self {
            Category::Info => "info",
            Category::Manual => "manual",
            Category::EbookLaw => "ebook_law",
            Category::Faq => "faq",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == s)
    }

    pub fn label(self, lang: Lang) -> &'static str {
        match self {
            Category::Info => lang.pick("サポート情報", "Support information"),
            Category::Manual => lang.pick("利用説明資料", "Manuals"),
            Category::EbookLaw => lang.pick("電子帳簿保存法関連資料", "Electronic Books Maintenance Act"),
            Category::Faq => lang.pick("よくあるご質問", "Frequently asked questions"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Document {
    pub id: String,
    pub tenant: String,
    pub category: Category,
    pub file_name: String,
    pub kind: Kind,
    pub size: u64,
    /// SHA-256 of the content, hex.
    pub sha256: String,
    pub chunks: u32,
    pub uploaded_by: String,
    pub uploaded_at: Timestamp,
}

impl Document {
    pub fn content_type(&self) -> &'static str {
        self.kind.content_type()
    }
}

/// An upload, before any check.
#[derive(Debug, Clone, Default)]
pub struct NewDocument {
    pub category: String,
    /// As the client sent it (a path is cut to its last part).
    pub file_name: String,
    pub bytes: Vec<u8>,
}

/// The file name to keep: the last part of a path, without control characters, trimmed,
/// with the kind's extension added when it has none we know. An extension of another kind
/// than the content is refused (415).
pub fn file_name_for(raw: &str, kind: Kind) -> Result<String, SupportError> {
    let last = raw.rsplit(['/', '\\']).next().unwrap_or("");
    let clean: String = last.chars().filter(|c| !c.is_control()).collect();
    let clean = clean.trim().trim_start_matches('.').trim();
    let ext = clean.rsplit_once('.').filter(|(stem, _)| !stem.is_empty()).map(|(_, ext)| ext);
    let name = match ext.and_then(Kind::of_extension) {
        Some(claimed) if claimed == kind => clean.to_string(),
        Some(claimed) => return Err(SupportError::Unsupported { expected: Some(claimed.label()) }),
        None if clean.is_empty() => format!("document.{}", kind.extensions()[0]),
        None => format!("{clean}.{}", kind.extensions()[0]),
    };
    if name.chars().count() > FILE_NAME_MAX {
        return Err(SupportError::invalid("file", Rule::TooLong { max: FILE_NAME_MAX }));
    }
    Ok(name)
}

/// Checks an upload: category, size (≤ `max`), content kind and name.
pub fn check(new: &NewDocument, max: usize) -> Result<(Category, Kind, String), SupportError> {
    let category = Category::parse(new.category.trim()).ok_or_else(|| {
        if new.category.trim().is_empty() {
            SupportError::invalid("category", Rule::Required)
        } else {
            SupportError::invalid("category", Rule::Unknown { value: new.category.chars().take(40).collect() })
        }
    })?;
    if new.bytes.len() > max {
        return Err(SupportError::TooLarge { max });
    }
    if new.bytes.is_empty() {
        return Err(SupportError::invalid("file", Rule::Required));
    }
    let kind = sniff(&new.bytes).ok_or(SupportError::Unsupported { expected: None })?;
    let name = file_name_for(&new.file_name, kind)?;
    Ok((category, kind, name))
}

fn key(tenant: &str, id: &str) -> String {
    format!("{tenant}/{id}")
}

fn chunk_key(tenant: &str, id: &str, n: u32) -> String {
    format!("{tenant}/{id}/{n:06}")
}

/// Stores a checked upload with its audit record. A document of the same category and file
/// name is replaced (that is how a corrected manual or FAQ is published). Returns the new
/// record and the replaced one.
pub fn store(
    tx: &mut Tx,
    actor: &Actor,
    tenant: &str,
    max: usize,
    new: &NewDocument,
) -> Result<(Document, Option<Document>), SupportError> {
    let (category, kind, file_name) = check(new, max)?;
    let replaced = all(tx, tenant)?.into_iter().find(|d| d.category == category && d.file_name == file_name);
    if let Some(old) = &replaced {
        tx.remove(&DOCUMENTS, &key(tenant, &old.id))?;
        release(tx, old)?;
    }
    let sha256 = blob::put(tx, &CONTENT, tenant, &new.bytes)?;
    let chunks = blob::meta(tx, &CONTENT, tenant, &sha256)?.map_or(0, |m| m.chunks);
    let doc = Document {
        id: new_id(),
        tenant: tenant.to_string(),
        category,
        file_name,
        kind,
        size: new.bytes.len() as u64,
        sha256,
        chunks,
        uploaded_by: actor.id.clone(),
        uploaded_at: tx.now(),
    };
    tx.put(&DOCUMENTS, &key(tenant, &doc.id), &doc)?;
    tx.audit(
        actor,
        "support.document_upload",
        &key(tenant, &doc.id),
        serde_json::json!({
            "category": doc.category,
            "file_name": doc.file_name,
            "content_type": doc.content_type(),
            "size": doc.size,
            "sha256": doc.sha256,
            "replaced": replaced.as_ref().map(|d| &d.id),
        }),
    )?;
    Ok((doc, replaced))
}

/// Removes the content of a document whose record is gone, unless another document of the
/// tenant has the same content.
fn release(tx: &mut Tx, doc: &Document) -> Result<(), StoreError> {
    if !all(tx, &doc.tenant)?.iter().any(|d| d.sha256 == doc.sha256) {
        blob::remove(tx, &CONTENT, &doc.tenant, &doc.sha256)?;
    }
    Ok(())
}

/// Every document of a tenant, in upload order.
pub fn all(tx: &impl Read, tenant: &str) -> Result<Vec<Document>, StoreError> {
    Ok(tx.scan(&DOCUMENTS, &format!("{tenant}/"))?.into_iter().map(|(_, d)| d).collect())
}

pub fn get(tx: &impl Read, tenant: &str, id: &str) -> Result<Option<Document>, StoreError> {
    if id.is_empty() || id.len() > 64 || id.contains('/') {
        return Ok(None);
    }
    tx.get(&DOCUMENTS, &key(tenant, id))
}

/// The content, reassembled and checked against the recorded SHA-256.
pub fn content(tx: &impl Read, doc: &Document) -> Result<Vec<u8>, SupportError> {
    match blob::get(tx, &CONTENT, &doc.tenant, &doc.sha256) {
        Ok(Some(bytes)) if bytes.len() as u64 == doc.size => Ok(bytes),
        Ok(_) => Err(SupportError::Damaged(doc.id.clone())),
        Err(e @ StoreError::Corrupt { .. }) => {
            tracing::error!(document = %doc.id, error = %e, "support document content damaged");
            Err(SupportError::Damaged(doc.id.clone()))
        }
        Err(e) => Err(e.into()),
    }
}

pub fn delete(tx: &mut Tx, actor: &Actor, tenant: &str, id: &str) -> Result<Document, SupportError> {
    let doc = get(tx, tenant, id)?.ok_or(SupportError::NotFound("document"))?;
    tx.remove(&DOCUMENTS, &key(tenant, id))?;
    release(tx, &doc)?;
    tx.audit(
        actor,
        "support.document_delete",
        &key(tenant, id),
        serde_json::json!({"file_name": doc.file_name, "sha256": doc.sha256}),
    )?;
    Ok(doc)
}

/// Chunks moved per step of [`migrate_chunks_to_blobs`] (bounds the memory it holds).
const MIGRATE_BATCH: usize = 16;

/// Schema 1 → 2: moves every base64 chunk of [`CHUNKS`] into [`BLOBS`] as its bytes, under the
/// same key, and removes the old record. Runs in the store's opening transaction (after the
/// store has copied the file aside), so it happens completely or not at all.
///
/// A chunk that is not valid base64 was already unreadable (its document's download reported
/// it damaged); it stays where it is, for whoever investigates, and its document still reports
/// the damage. Returns (chunks moved, chunks left behind).
pub fn migrate_chunks_to_blobs(tx: &mut Tx) -> Result<(usize, usize), StoreError> {
    let (mut moved, mut kept) = (0usize, 0usize);
    loop {
        // Moved records are gone, so the next page starts after the ones left behind.
        let page = tx.scan_page(&CHUNKS, "", kept, MIGRATE_BATCH)?;
        if page.is_empty() {
            break;
        }
        for (key, text) in page {
            match STANDARD.decode(text.as_bytes()) {
                Ok(bytes) => {
                    tx.put_bytes(&BLOBS, &key, &bytes)?;
                    tx.remove(&CHUNKS, &key)?;
                    moved += 1;
                }
                Err(e) => {
                    tracing::error!(chunk = %key, error = %e, "support document chunk is not base64; left in place");
                    kept += 1;
                }
            }
        }
    }
    Ok((moved, kept))
}

/// Schema 2 → 3: moves each document's chunks of [`BLOBS`] (keyed by document id) into the
/// content store [`CONTENT`] (keyed by SHA-256, stored once per tenant and content) and
/// removes them. The content is checked against the document's size and SHA-256 first; a
/// document whose chunks are missing or do not match was already unreadable, and its chunks
/// stay where they are, for whoever investigates. Runs in the store's opening transaction.
/// Returns (documents moved, documents left behind).
pub fn migrate_blobs_to_content(tx: &mut Tx) -> Result<(usize, usize), StoreError> {
    let (mut moved, mut kept) = (0usize, 0usize);
    for (k, doc) in tx.scan(&DOCUMENTS, "")? {
        let mut bytes = Vec::with_capacity(usize::try_from(doc.size).unwrap_or(0));
        let mut complete = true;
        for n in 0..doc.chunks {
            match tx.get_bytes(&BLOBS, &chunk_key(&doc.tenant, &doc.id, n))? {
                Some(part) => bytes.extend_from_slice(&part),
                None => {
                    complete = false;
                    break;
                }
            }
        }
        if !complete || bytes.len() as u64 != doc.size || hex::encode(Sha256::digest(&bytes)) != doc.sha256 {
            tracing::error!(document = %k, "support document content missing or damaged; left in place");
            kept += 1;
            continue;
        }
        blob::put(tx, &CONTENT, &doc.tenant, &bytes)?;
        for n in 0..doc.chunks {
            tx.remove(&BLOBS, &chunk_key(&doc.tenant, &doc.id, n))?;
        }
        moved += 1;
    }
    Ok((moved, kept))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sniff::tests::{pdf, zip};

    #[test]
    fn names_keep_or_get_the_right_extension() {
        assert_eq!(
            file_name_for("ユーザーズマニュアル.pdf", Kind::Pdf).ok().as_deref(),
            Some("ユーザーズマニュアル.pdf")
        );
        assert_eq!(file_name_for("C:\\fakepath\\FAQ.PDF", Kind::Pdf).ok().as_deref(), Some("FAQ.PDF"));
        assert_eq!(file_name_for("FAQ", Kind::Text).ok().as_deref(), Some("FAQ.txt"));
        assert_eq!(file_name_for("", Kind::Docx).ok().as_deref(), Some("document.docx"));
        assert_eq!(file_name_for("../../etc/passwd", Kind::Text).ok().as_deref(), Some("passwd.txt"));
        assert_eq!(file_name_for("notes.csv", Kind::Text).ok().as_deref(), Some("notes.csv"));
        assert_eq!(file_name_for("v1.2 案内", Kind::Pdf).ok().as_deref(), Some("v1.2 案内.pdf"));
        assert!(matches!(
            file_name_for("manual.pdf", Kind::Text),
            Err(SupportError::Unsupported { expected: Some("PDF") })
        ));
        assert!(matches!(file_name_for(&"あ".repeat(200), Kind::Pdf), Err(SupportError::Invalid(_))));
    }

    #[test]
    fn checks_in_order_category_size_content() {
        let doc =
            |category: &str, bytes: Vec<u8>| NewDocument { category: category.into(), file_name: "x".into(), bytes };
        assert!(matches!(check(&doc("", pdf()), 1000), Err(SupportError::Invalid(_))));
        assert!(matches!(check(&doc("faqs", pdf()), 1000), Err(SupportError::Invalid(_))));
        assert!(matches!(check(&doc("faq", pdf()), 10), Err(SupportError::TooLarge { max: 10 })));
        assert!(matches!(check(&doc("faq", vec![0xff; 20]), 1000), Err(SupportError::Unsupported { .. })));
        assert!(matches!(check(&doc("faq", Vec::new()), 1000), Err(SupportError::Invalid(_))));
        let ok = check(&doc("manual", zip(&["[Content_Types].xml", "word/document.xml"])), 10_000);
        assert!(matches!(ok, Ok((Category::Manual, Kind::Docx, ref n)) if n == "x.docx"), "{ok:?}");
    }

    /// Schema 1 of this module: the same tables, chunks written as base64 text.
    struct SupportV1;
    impl keiyaku_kernel::module::Module for SupportV1 {
        fn name(&self) -> &'static str {
            "support"
        }
        fn tables(&self) -> Vec<&'static str> {
            vec![DOCUMENTS.name(), CHUNKS.name()]
        }
    }

    #[test]
    fn schema_1_chunks_move_to_raw_bytes_and_download_unchanged() {
        use keiyaku_kernel::Store;
        use keiyaku_kernel::module::{KernelModule, Module};
        use std::sync::Arc;

        let dir = std::env::temp_dir().join(format!("keiyaku-support-migrate-{}", new_id()));
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
        let path = dir.join("k.redb");
        let clock = Arc::new(keiyaku_kernel::SystemClock);
        // A PDF-looking body of three chunks, and one document whose only chunk is damaged.
        let mut body = pdf();
        body.extend((0..(CHUNK_BYTES * 2 + 7)).map(|i| (i % 251) as u8));
        let doc = |id: &str, bytes: &[u8], chunks: u32| Document {
            id: id.into(),
            tenant: "T".into(),
            category: Category::Manual,
            file_name: format!("{id}.pdf"),
            kind: Kind::Pdf,
            size: bytes.len() as u64,
            sha256: hex::encode(Sha256::digest(bytes)),
            chunks,
            uploaded_by: "admin".into(),
            uploaded_at: Timestamp::UNIX_EPOCH,
        };
        {
            let v1: [&dyn Module; 2] = [&KernelModule, &SupportV1];
            let store = Store::open(&path, clock.clone(), &v1).unwrap_or_else(|e| panic!("{e}"));
            let r: Result<(), StoreError> = store.write_blocking(|tx| {
                for (n, part) in body.chunks(CHUNK_BYTES).enumerate() {
                    tx.put(&CHUNKS, &chunk_key("T", "good", n as u32), &STANDARD.encode(part))?;
                }
                tx.put(&DOCUMENTS, "T/good", &doc("good", &body, 3))?;
                tx.put(&CHUNKS, &chunk_key("T", "bad", 0), &"%%% not base64".to_string())?;
                tx.put(&DOCUMENTS, "T/bad", &doc("bad", b"x", 1))
            });
            r.unwrap_or_else(|e| panic!("{e}"));
        }
        // Schema 1 → 2 → 3 in one opening.
        let v3: [&dyn Module; 2] = [&KernelModule, &crate::SupportModule];
        let store = Store::open(&path, clock, &v3).unwrap_or_else(|e| panic!("{e}"));
        let (good, bad, old, blobs, content_chunks) = store
            .read_blocking(|tx| {
                let good = get(tx, "T", "good")?.map(|d| content(tx, &d));
                let bad = get(tx, "T", "bad")?.map(|d| content(tx, &d));
                let old: Vec<(String, String)> = tx.scan(&CHUNKS, "")?;
                Ok::<_, SupportError>((good, bad, old, tx.count(&BLOBS, "")?, tx.count(&CONTENT_CHUNKS, "T/")?))
            })
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(good.map(|r| r.ok()), Some(Some(body)), "byte-identical after the migration");
        assert!(matches!(bad, Some(Err(SupportError::Damaged(ref id))) if id == "bad"));
        assert_eq!(
            old.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>(),
            ["T/bad/000000"],
            "only the damaged chunk stays"
        );
        assert_eq!((blobs, content_chunks), (0, 3), "the content moved on to the content store");
        let problems = store.read_blocking(|tx| crate::SupportModule.verify(tx)).unwrap_or_else(|e| panic!("{e}"));
        assert!(problems.is_empty(), "{problems:?}");
        let backups = std::fs::read_dir(&dir)
            .map(|d| {
                d.filter_map(|e| e.ok()).filter(|e| e.file_name().to_string_lossy().contains(".pre-migration-")).count()
            })
            .unwrap_or(0);
        assert_eq!(backups, 1, "the store copied the file before migrating");
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// Schema 2 of this module: document chunks as raw bytes keyed by document id.
    struct SupportV2;
    impl keiyaku_kernel::module::Module for SupportV2 {
        fn name(&self) -> &'static str {
            "support"
        }
        fn tables(&self) -> Vec<&'static str> {
            vec![DOCUMENTS.name(), BLOBS.name(), CHUNKS.name()]
        }
        fn schema_version(&self) -> u32 {
            2
        }
    }

    fn temp_store(tag: &str) -> (std::path::PathBuf, std::path::PathBuf) {
        let dir = std::env::temp_dir().join(format!("keiyaku-support-{tag}-{}", new_id()));
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
        let path = dir.join("k.redb");
        (dir, path)
    }

    #[test]
    fn schema_2_content_moves_to_the_content_store_checked() {
        use keiyaku_kernel::Store;
        use keiyaku_kernel::module::{KernelModule, Module};
        use std::sync::Arc;

        let (dir, path) = temp_store("migrate-3");
        let clock = Arc::new(keiyaku_kernel::SystemClock);
        let mut body = pdf();
        body.extend((0..(CHUNK_BYTES + 3)).map(|i| (i % 241) as u8));
        let doc = |id: &str, bytes: &[u8], sha: String| Document {
            id: id.into(),
            tenant: "T".into(),
            category: Category::Manual,
            file_name: format!("{id}.pdf"),
            kind: Kind::Pdf,
            size: bytes.len() as u64,
            sha256: sha,
            chunks: bytes.len().div_ceil(CHUNK_BYTES) as u32,
            uploaded_by: "admin".into(),
            uploaded_at: Timestamp::UNIX_EPOCH,
        };
        let sha = hex::encode(Sha256::digest(&body));
        {
            let v2: [&dyn Module; 2] = [&KernelModule, &SupportV2];
            let store = Store::open(&path, clock.clone(), &v2).unwrap_or_else(|e| panic!("{e}"));
            let r: Result<(), StoreError> = store.write_blocking(|tx| {
                // Two documents of the same content, and one whose chunk does not match.
                for id in ["a", "b", "bad"] {
                    for (n, part) in body.chunks(CHUNK_BYTES).enumerate() {
                        let part = if id == "bad" && n == 1 { b"damaged".as_slice() } else { part };
                        tx.put_bytes(&BLOBS, &chunk_key("T", id, n as u32), part)?;
                    }
                    tx.put(&DOCUMENTS, &format!("T/{id}"), &doc(id, &body, sha.clone()))?;
                }
                Ok(())
            });
            r.unwrap_or_else(|e| panic!("{e}"));
        }
        let v3: [&dyn Module; 2] = [&KernelModule, &crate::SupportModule];
        let store = Store::open(&path, clock, &v3).unwrap_or_else(|e| panic!("{e}"));
        let (a, b, bad, old, stored) = store
            .read_blocking(|tx| {
                let read = |id: &str| get(tx, "T", id).map(|d| d.map(|d| content(tx, &d)));
                Ok::<_, SupportError>((
                    read("a")?,
                    read("b")?,
                    read("bad")?,
                    tx.count(&BLOBS, "")?,
                    (tx.count(&CONTENT_CHUNKS, "")?, tx.count(&CONTENT_META, "")?),
                ))
            })
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(a.map(|r| r.ok()), Some(Some(body.clone())));
        assert_eq!(b.map(|r| r.ok()), Some(Some(body.clone())));
        // The damaged document's record names the same hash: it now reads the good content
        // stored once for the tenant, and its own damaged chunks are kept for investigation.
        assert_eq!(bad.map(|r| r.ok()), Some(Some(body)));
        assert_eq!(old, 2, "the damaged document's chunks stay");
        assert_eq!(stored, (2, 1), "the content is stored once");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn content_is_removed_with_the_last_document_that_has_it() {
        use keiyaku_kernel::Store;
        use keiyaku_kernel::module::{KernelModule, Module};
        use std::sync::Arc;

        let (dir, path) = temp_store("shared");
        let modules: [&dyn Module; 2] = [&KernelModule, &crate::SupportModule];
        let store =
            Store::open(&path, Arc::new(keiyaku_kernel::SystemClock), &modules).unwrap_or_else(|e| panic!("{e}"));
        let actor = Actor::system();
        let upload =
            |name: &str, bytes: Vec<u8>| NewDocument { category: "manual".into(), file_name: name.into(), bytes };
        let counts = |store: &Store| {
            store
                .read_blocking(|tx| Ok::<_, StoreError>((tx.count(&CONTENT_CHUNKS, "")?, tx.count(&CONTENT_META, "")?)))
                .unwrap_or_else(|e| panic!("{e}"))
        };
        let max = 10 * CHUNK_BYTES;
        let (a, b) = store
            .write_blocking(|tx| {
                let (a, _) = store_doc(tx, &actor, max, &upload("a.pdf", pdf()))?;
                let (b, _) = store_doc(tx, &actor, max, &upload("b.pdf", pdf()))?;
                Ok::<_, SupportError>((a, b))
            })
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(a.sha256, b.sha256);
        assert_eq!(counts(&store), (1, 1), "one content for both");
        // Replacing `a` with other content keeps `b`'s.
        let mut other = pdf();
        other.extend_from_slice(b"%% other");
        let (a2, replaced) = store
            .write_blocking(|tx| store_doc(tx, &actor, max, &upload("a.pdf", other.clone())))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(replaced.map(|d| d.id), Some(a.id));
        assert_eq!(counts(&store), (2, 2));
        let read = |id: &str| {
            store
                .read_blocking(|tx| get(tx, "T", id)?.map(|d| content(tx, &d)).transpose())
                .unwrap_or_else(|e| panic!("{e}"))
        };
        assert_eq!(read(&b.id), Some(pdf()));
        assert_eq!(read(&a2.id), Some(other));
        store.write_blocking(|tx| delete(tx, &actor, "T", &b.id)).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(counts(&store), (1, 1), "b's content went with the last document that had it");
        store.write_blocking(|tx| delete(tx, &actor, "T", &a2.id)).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(counts(&store), (0, 0));
        let _ = std::fs::remove_dir_all(&dir);
    }

    fn store_doc(
        tx: &mut Tx,
        actor: &Actor,
        max: usize,
        new: &NewDocument,
    ) -> Result<(Document, Option<Document>), SupportError> {
        store(tx, actor, "T", max, new)
    }
}
