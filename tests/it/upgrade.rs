//! Upgrading a data directory written by an older keiyaku: the committed fixture
//! `tests/fixtures/support-v1/` (support schema 1: document chunks as base64 in JSON) is
//! opened by this build's binary, which copies the file aside, migrates it through schema 2
//! (raw bytes) to schema 3 (the content store, by SHA-256) and serves the same documents; the
//! certs module's base64 identity documents move to its content store alike; a data directory
//! claiming a newer schema is refused.

use crate::common::*;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The fixture archive (keiyaku.redb and certs-kek of a `serve --demo` data directory).
const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/support-v1/data-v1.tar.gz");
/// SHA-256 of the fixture's keiyaku.redb as archived.
const FIXTURE_DB_SHA256: &str = "3ebfad3d2ab7d22422aeecd68065981cd215e2b914714f684a7411242a384152";
const TENANT: &str = "HXOS2";

/// The fixture's support documents: (file name, size, SHA-256), as downloaded from the
/// schema-1 build that wrote it (see the fixture's README). `migration-check.txt` spans two
/// 512 KiB chunks.
const DOCUMENTS: [(&str, u64, &str); 7] = [
    ("サポート窓口のご案内.txt", 265, "a10e6244a5af01c0a2831c5c6e602d2e4ffd16bbf06a690d8cfc2ea4d5890d22"),
    ("migration-check.txt", 716_853, "6e7be7b79d713677c4acfd404ef2a8ebfe87dfaeb255fbf23e474478f483021d"),
    ("ユーザーズマニュアル.pdf", 11_248, "de0358a03d25138efc4e0baf4743604eb18105b37d8eae425389c170ce0a38bf"),
    ("管理者マニュアル.pdf", 9_966, "f2baf87bab97874bbc614527ccb3c30cf9234ffe7e3d8ca4ea822793e86eba9f"),
    ("システム概要書.pdf", 9_463, "0200280dfa577de26a2a86c404ac6b123cce2c706a9fba72b5e23a9add441cfd"),
    ("FAQ.pdf", 9_557, "fa63a9165ac5de13bfde66e42f5a53005ef9983578f4df07f4422b492ebcd7ad"),
    ("FAQ.txt", 1_018, "4da5034c387b356e265f85fdd54b447622b09096dbd4d53e1503632cd55d8b91"),
];
/// Chunks of those documents (every one fits one chunk but migration-check.txt).
const CHUNKS: usize = 8;

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// A fresh copy of the fixture's data directory.
fn unpack_fixture(tag: &str) -> PathBuf {
    let dir = tempdir(tag);
    let out = std::process::Command::new("tar").arg("-xzf").arg(FIXTURE).arg("-C").arg(&dir).output().expect("tar");
    assert!(out.status.success(), "unpack {FIXTURE}: {}", String::from_utf8_lossy(&out.stderr));
    // The key-encryption key is refused when others can read it.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir.join("certs-kek"), std::fs::Permissions::from_mode(0o600)).expect("chmod");
    }
    let db = std::fs::read(dir.join(keiyaku::backup::DB_FILE)).expect("fixture database");
    assert_eq!(sha256_hex(&db), FIXTURE_DB_SHA256, "the fixture database is the recorded one");
    dir
}

/// `keiyaku.pre-migration-*.redb` files beside the database.
fn pre_migration_copies(dir: &Path) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("read dir")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.contains(".pre-migration-")))
        .collect();
    found.sort();
    found
}

/// What the file says, read with redb directly (the test looks behind the kernel's back):
/// the support schema version recorded in `meta`, and the records in the schema-1 chunk table
/// and the schema-2 blob table (None: no such table).
fn raw_state(db: &Path) -> (Option<String>, Option<u64>, Option<u64>) {
    use redb::{ReadableDatabase, ReadableTableMetadata};
    let db = redb::Database::open(db).expect("open with redb");
    let rtx = db.begin_read().expect("read");
    let def = |name| redb::TableDefinition::<&str, &[u8]>::new(name);
    let len = |name| rtx.open_table(def(name)).ok().map(|t| t.len().expect("len"));
    let schema = rtx
        .open_table(def("meta"))
        .expect("meta")
        .get("schema_version/support")
        .expect("get")
        .map(|v| String::from_utf8_lossy(v.value()).into_owned());
    (schema, len("support_document_chunks"), len("support_document_blobs"))
}

/// Records in a table, read with redb directly (None: no such table).
fn raw_len(db: &Path, name: &str) -> Option<u64> {
    use redb::{ReadableDatabase, ReadableTableMetadata};
    let db = redb::Database::open(db).expect("open with redb");
    let rtx = db.begin_read().expect("read");
    rtx.open_table(redb::TableDefinition::<&str, &[u8]>::new(name)).ok().map(|t| t.len().expect("len"))
}

fn verify(dir: &Path) -> std::process::Output {
    keiyaku_command().args(["verify", "--data"]).arg(dir).current_dir(dir).output().expect("verify")
}

#[tokio::test(flavor = "multi_thread")]
async fn schema_1_support_documents_survive_the_upgrade_byte_for_byte() {
    let dir = unpack_fixture("upgrade");
    assert!(pre_migration_copies(&dir).is_empty());
    let db = dir.join(keiyaku::backup::DB_FILE);
    assert_eq!(raw_state(&db), (Some("1".into()), Some(CHUNKS as u64), None), "the fixture is schema 1");
    let identity_documents = raw_len(&db, "certs_documents").expect("certs schema 1 table");
    assert!(identity_documents > 0, "the demo's application has an identity document");
    assert_eq!(raw_len(&db, "certs_document_meta"), None);

    // The real binary opens the old data directory (and migrates it) and serves.
    let port = free_port();
    let mut server = serve(&dir, port, &[]);
    let text = server.stdout.join("\n");
    assert!(text.contains("API:"), "keiyaku did not start on the schema-1 data: {text}");
    assert!(!text.contains("operator account created"), "the fixture's operator is kept: {text}");
    let cert =
        std::fs::read_to_string(dir.join("tls/ca.pem")).expect("local CA that replaced the self-signed certificate");
    let client = client_for(&cert);
    let base = format!("https://127.0.0.1:{port}");
    let mut up = false;
    for _ in 0..200 {
        if client.get(format!("{base}/healthz")).send().await.is_ok_and(|r| r.status().is_success()) {
            up = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(up, "no /healthz answer");

    // Every document is listed with its recorded digest and downloads byte-identical.
    let list: serde_json::Value = client
        .get(format!("{base}/api/v1/t/{TENANT}/support/documents"))
        .send()
        .await
        .expect("list")
        .json()
        .await
        .expect("list json");
    let items = list["items"].as_array().expect("items");
    assert_eq!(items.len(), DOCUMENTS.len(), "{list}");
    for (name, size, sha) in DOCUMENTS {
        let item = items.iter().find(|d| d["file_name"] == name).unwrap_or_else(|| panic!("{name} listed: {list}"));
        assert_eq!(item["sha256"], sha, "{name}");
        let resp = client.get(format!("{base}{}", item["url"].as_str().expect("url"))).send().await.expect("download");
        assert_eq!(resp.status(), 200, "{name}");
        let bytes = resp.bytes().await.expect("body");
        assert_eq!(bytes.len() as u64, size, "{name}");
        assert_eq!(sha256_hex(&bytes), sha, "{name} downloads byte-identical after the migration");
    }
    // The support page (inline text documents) still renders.
    let page = client.get(format!("{base}/t/{TENANT}/support")).send().await.expect("support page");
    assert_eq!(page.status(), 200);
    let status = server.terminate();
    assert!(status.is_some_and(|s| s.success()), "exit after SIGTERM: {status:?}");
    drop(server);

    // The file was copied aside before the migration: the copy is still schema 1 with the
    // base64 chunks (not byte-identical to the archive: redb rewrites its header on open).
    let copies = pre_migration_copies(&dir);
    assert_eq!(copies.len(), 1, "one copy before migrating: {copies:?}");
    let name = copies[0].file_name().and_then(|n| n.to_str()).unwrap_or_default().to_string();
    assert!(name.starts_with("keiyaku.pre-migration-") && name.ends_with(".redb"), "{name}");
    assert_eq!(raw_state(&copies[0]), (Some("1".into()), Some(CHUNKS as u64), None), "the copy is the old data");

    // The chunks moved on to the content store; the old tables are empty. So did the
    // identity documents of certificate applications.
    assert_eq!(raw_state(&db), (Some("3".into()), Some(0), Some(0)));
    assert_eq!(raw_len(&db, "support_content_blobs"), Some(CHUNKS as u64));
    assert_eq!(raw_len(&db, "certs_documents"), Some(0));
    assert_eq!(raw_len(&db, "certs_document_meta"), Some(identity_documents));
    {
        use keiyaku_kernel::store::Read;
        use keiyaku_support::documents::{BLOBS as OLD_BLOBS, CHUNKS as OLD_CHUNKS, CONTENT_CHUNKS};
        let modules = keiyaku::app::modules();
        let refs: Vec<&dyn keiyaku_kernel::Module> = modules.iter().map(|m| m.as_ref()).collect();
        let store = keiyaku_kernel::Store::open(
            &dir.join(keiyaku::backup::DB_FILE),
            std::sync::Arc::new(keiyaku_kernel::SystemClock),
            &refs,
        )
        .expect("open migrated");
        let counts = store
            .read_blocking(|tx| {
                Ok::<_, keiyaku_kernel::StoreError>((
                    tx.count(&CONTENT_CHUNKS, "")?,
                    tx.count(&OLD_BLOBS, "")?,
                    tx.count(&OLD_CHUNKS, "")?,
                ))
            })
            .expect("count");
        assert_eq!(counts, (CHUNKS, 0, 0));
    }

    // `keiyaku verify` passes, and opening again takes no further copy.
    let out = verify(&dir);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("OK:"), "{stdout}");
    assert!(
        stdout.lines().any(|l| l.starts_with("support_content_blobs") && l.contains(&format!(" {CHUNKS} records"))),
        "{stdout}"
    );
    assert_eq!(pre_migration_copies(&dir).len(), 1);
    let _ = std::fs::remove_dir_all(&dir);
}

/// A data directory whose support schema is newer than this build knows is refused, by
/// `serve` and `verify` alike, with a message that says so, and left untouched.
#[test]
fn a_newer_schema_is_refused_with_a_clear_message() {
    let dir = unpack_fixture("newer");
    let db = dir.join(keiyaku::backup::DB_FILE);
    {
        // Forge what a future keiyaku would have written: the test reaches into the file's
        // `meta` table directly (the application only ever goes through the kernel's store).
        let db = redb::Database::create(&db).expect("open fixture");
        let wtx = db.begin_write().expect("begin");
        {
            let def: redb::TableDefinition<&str, &[u8]> = redb::TableDefinition::new("meta");
            let mut meta = wtx.open_table(def).expect("meta");
            meta.insert("schema_version/support", b"99".as_slice()).expect("insert");
        }
        wtx.commit().expect("commit");
    }
    let expected =
        "the data was written by a newer keiyaku (module support schema 99, this build knows 3); refusing to open it";

    let port = free_port();
    let out = keiyaku_command()
        .args(["serve", "--data"])
        .arg(&dir)
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .current_dir(&dir)
        .output()
        .expect("serve");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "serve must refuse: {stderr}");
    assert!(stderr.contains(expected), "{stderr}");

    let out = verify(&dir);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "verify must refuse: {stderr}");
    assert!(stderr.contains(expected), "{stderr}");

    assert_eq!(raw_state(&db), (Some("99".into()), Some(CHUNKS as u64), None), "nothing was migrated");
    assert!(pre_migration_copies(&dir).is_empty(), "nothing is migrated, so nothing is copied");
    let _ = std::fs::remove_dir_all(&dir);
}
