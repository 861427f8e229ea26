//! Content-addressed document storage and the hash-chained contract audit log.
//!
//! Documents are stored once per content under their SHA-256, in the kernel's content store
//! ([`keiyaku_kernel::blob`]) over this module's tables, and read back only after their hash
//! is checked. Every change to a contract appends a link to
//! the tenant's chain: `hash = SHA-256(prev hash ‖ JSON of the link without its hash)`, so
//! changing, removing or reordering a stored link is detected by [`verify_chain`] (run by
//! `keiyaku verify`). Each day with activity the head is time-stamped ([`anchor`]): a chain
//! rewritten whole, every hash recomputed, no longer matches its anchors
//! ([`verify_anchors`]); and each contract's history has one link per event
//! ([`verify_records`]).

use crate::error::ContractsError;
use crate::model::{ANCHORS, Anchor, BLOB_META, BLOBS, CHAIN, CHAIN_HEAD, CONTRACTS, ChainEntry, ChainHead, key};
use keiyaku_kernel::blob::{self, Blobs};
use keiyaku_kernel::context::Actor;
use keiyaku_kernel::store::{Read, StoreError, Tx};
use sha2::{Digest, Sha256};

/// Bytes per stored chunk.
pub const CHUNK_BYTES: usize = 1024 * 1024;

/// Contract documents in the kernel's content store, in this module's tables.
pub const CONTENT: Blobs = Blobs::new(BLOBS, BLOB_META, CHUNK_BYTES);

pub fn sha256_hex(bytes: &[u8]) -> String {
    blob::sha256_hex(bytes)
}

/// Stores `bytes` (once per content) and returns their SHA-256.
pub fn put_blob(tx: &mut Tx, tenant: &str, bytes: &[u8]) -> Result<String, StoreError> {
    blob::put(tx, &CONTENT, tenant, bytes)
}

/// The content stored under `sha`, checked against it.
pub fn get_blob(tx: &impl Read, tenant: &str, sha: &str) -> Result<Vec<u8>, ContractsError> {
    match blob::get(tx, &CONTENT, tenant, sha) {
        Ok(Some(bytes)) => Ok(bytes),
        Ok(None) => Err(ContractsError::NotFound("document")),
        Err(e @ StoreError::Corrupt { .. }) => Err(ContractsError::internal(format!("document {sha}: {e}"))),
        Err(e) => Err(e.into()),
    }
}

/// Removes stored content (after its retention period).
pub fn remove_blob(tx: &mut Tx, tenant: &str, sha: &str) -> Result<(), StoreError> {
    blob::remove(tx, &CONTENT, tenant, sha).map(|_| ())
}

/// The hash of a link: SHA-256 of `prev` and the canonical JSON of `entry` without its hash.
pub fn link_hash(prev: &str, entry: &ChainEntry) -> Result<String, StoreError> {
    let mut e = entry.clone();
    e.hash = String::new();
    let json = serde_json::to_vec(&e).map_err(|err| StoreError::Corrupt {
        table: CHAIN.name(),
        key: e.seq.to_string(),
        reason: err.to_string(),
    })?;
    let mut h = Sha256::new();
    h.update(prev.as_bytes());
    h.update(&json);
    Ok(hex::encode(h.finalize()))
}

const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Appends a link to the tenant's contract chain (and the kernel audit record), in `tx`.
pub fn record(
    tx: &mut Tx,
    actor: &Actor,
    tenant: &str,
    action: &str,
    contract: &str,
    detail: serde_json::Value,
) -> Result<(), StoreError> {
    let head = tx.get(&CHAIN_HEAD, tenant)?.unwrap_or(ChainHead { seq: 0, hash: GENESIS.into() });
    let mut entry = ChainEntry {
        seq: head.seq + 1,
        prev: head.hash.clone(),
        at: tx.now(),
        actor: actor.id.clone(),
        client: actor.client.clone(),
        action: action.to_string(),
        contract: contract.to_string(),
        detail: detail.clone(),
        hash: String::new(),
    };
    entry.hash = link_hash(&head.hash, &entry)?;
    tx.put(&CHAIN, &format!("{tenant}/{:012}", entry.seq), &entry)?;
    tx.put(&CHAIN_HEAD, tenant, &ChainHead { seq: entry.seq, hash: entry.hash.clone() })?;
    tx.audit(actor, action, &key(tenant, contract), detail)?;
    Ok(())
}

/// Checks every stored document: all its chunks present and its content matching the
/// SHA-256 it is stored under. One line per problem.
pub fn verify_blobs(tx: &impl Read) -> Result<Vec<String>, StoreError> {
    Ok(blob::verify(tx, &CONTENT)?.into_iter().map(|p| format!("document {p}")).collect())
}

/// Checks every tenant's chain: each link's hash, its link to the previous one, the
/// sequence without gaps, and the head. One line per problem.
pub fn verify_chain(tx: &impl Read) -> Result<Vec<String>, StoreError> {
    let mut problems = Vec::new();
    let heads = tx.scan(&CHAIN_HEAD, "")?;
    for (tenant, head) in heads {
        let mut prev = GENESIS.to_string();
        let mut expected = 1u64;
        for (k, entry) in tx.scan(&CHAIN, &format!("{tenant}/"))? {
            if entry.seq != expected {
                problems.push(format!("contract chain {tenant}: link {expected} missing (found {k})"));
                expected = entry.seq;
            }
            if entry.prev != prev {
                problems.push(format!(
                    "contract chain {tenant}: link {} does not follow link {}",
                    entry.seq,
                    expected - 1
                ));
            }
            if link_hash(&entry.prev, &entry)? != entry.hash {
                problems.push(format!("contract chain {tenant}: link {} was altered", entry.seq));
            }
            prev = entry.hash.clone();
            expected += 1;
        }
        if head.seq != expected - 1 || head.hash != prev {
            problems.push(format!("contract chain {tenant}: the newest links are missing (head {})", head.seq));
        }
    }
    Ok(problems)
}

/// What an anchor's time-stamp covers: SHA-256 of `keiyaku contract chain {tenant} {seq} {hash}`.
pub fn anchor_imprint(tenant: &str, seq: u64, hash: &str) -> [u8; 32] {
    Sha256::digest(format!("keiyaku contract chain {tenant} {seq} {hash}").as_bytes()).into()
}

/// The tenants whose chain head is newer than their last anchor, with that head.
pub fn unanchored(tx: &impl Read) -> Result<Vec<(String, ChainHead)>, StoreError> {
    let mut out = Vec::new();
    for (tenant, head) in tx.scan(&CHAIN_HEAD, "")? {
        let last = tx.scan(&ANCHORS, &format!("{tenant}/"))?.into_iter().map(|(_, a)| a.seq).max().unwrap_or(0);
        if head.seq > last {
            out.push((tenant, head));
        }
    }
    Ok(out)
}

/// Stores `token`, a time-stamp of [`anchor_imprint`] for the tenant's `head`.
pub fn anchor(tx: &mut Tx, tenant: &str, head: &ChainHead, token: &[u8]) -> Result<(), StoreError> {
    use base64::Engine as _;
    let a = Anchor {
        seq: head.seq,
        hash: head.hash.clone(),
        at: tx.now(),
        token: base64::engine::general_purpose::STANDARD.encode(token),
    };
    tx.put(&ANCHORS, &format!("{tenant}/{:012}", head.seq), &a)
}

/// Checks every anchor against its chain: the link it names exists with the anchored hash,
/// and the token is intact, covers [`anchor_imprint`] and was signed by a certificate the
/// tenant CA issued (the tenant's TSA, whose key is sealed under the key file).
pub fn verify_anchors(tx: &impl Read) -> Result<Vec<String>, StoreError> {
    use base64::Engine as _;
    let mut problems = Vec::new();
    for (k, a) in tx.scan(&ANCHORS, "")? {
        let tenant = k.split('/').next().unwrap_or_default().to_string();
        match tx.get(&CHAIN, &format!("{tenant}/{:012}", a.seq))? {
            Some(link) if link.hash == a.hash => {}
            Some(_) => problems.push(format!("contract chain {tenant}: link {} differs from its time-stamp", a.seq)),
            None => problems.push(format!("contract chain {tenant}: link {} of a time-stamp is missing", a.seq)),
        }
        let token = base64::engine::general_purpose::STANDARD.decode(&a.token).unwrap_or_default();
        let imprint = anchor_imprint(&tenant, a.seq, &a.hash);
        let intact = keiyaku_pades::check_timestamp_token(&token, &imprint)
            .is_ok_and(|t| t.imprint_matches && t.signature_valid);
        let ca = keiyaku_certs::signing::ca_pem(tx, &tenant)
            .ok()
            .flatten()
            .and_then(|pem| keiyaku_certs::certificates::pem_body(&pem).ok());
        let issuer_ok = keiyaku_pades::token_certificate(&token)
            .zip(ca)
            .is_some_and(|(cert, ca)| keiyaku_pades::certificate_issued_by(&cert, &ca));
        if !intact || !issuer_ok {
            problems.push(format!("contract chain {tenant}: the time-stamp of link {} does not verify", a.seq));
        }
    }
    Ok(problems)
}

/// Links that record no event of the contract's history: archive renewals and the issue of
/// the 合意締結証明書.
const LINKS_WITHOUT_EVENT: [&str; 2] = ["contract.ltv_renew", "contract.report_issued"];

/// Checks each contract record against the chain: one link per event of its history
/// (besides [`LINKS_WITHOUT_EVENT`]).
pub fn verify_records(tx: &impl Read) -> Result<Vec<String>, StoreError> {
    let mut links: std::collections::HashMap<(String, String), usize> = std::collections::HashMap::new();
    for (k, e) in tx.scan(&CHAIN, "")? {
        if !LINKS_WITHOUT_EVENT.contains(&e.action.as_str()) {
            let tenant = k.split('/').next().unwrap_or_default().to_string();
            *links.entry((tenant, e.contract)).or_default() += 1;
        }
    }
    let mut problems = Vec::new();
    for (_, c) in tx.scan(&CONTRACTS, "")? {
        let n = links.get(&(c.tenant.clone(), c.id.clone())).copied().unwrap_or(0);
        if n != c.history.len() {
            problems.push(format!(
                "contract {}/{}: {} events in its record, {n} links in the chain",
                c.tenant,
                c.id,
                c.history.len()
            ));
        }
    }
    Ok(problems)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use keiyaku_kernel::Store;
    use keiyaku_kernel::module::{KernelModule, Module};
    use std::sync::Arc;

    fn store() -> (Store, std::path::PathBuf) {
        let dir = std::env::temp_dir().join(format!("keiyaku-contracts-storage-{}", keiyaku_kernel::ids::new_id()));
        std::fs::create_dir_all(&dir).unwrap();
        let modules: Vec<Box<dyn Module>> = vec![Box::new(KernelModule), Box::new(crate::ContractsModule)];
        let refs: Vec<&dyn Module> = modules.iter().map(|m| m.as_ref()).collect();
        let s = Store::open(&dir.join("t.redb"), Arc::new(keiyaku_kernel::SystemClock), &refs).unwrap();
        (s, dir)
    }

    #[test]
    fn blobs_are_stored_once_and_checked() {
        let (s, dir) = store();
        let big: Vec<u8> = (0..(CHUNK_BYTES * 2 + 10)).map(|i| (i % 251) as u8).collect();
        let sha = s
            .write_blocking(|tx| {
                let a = put_blob(tx, "T", &big)?;
                let b = put_blob(tx, "T", &big)?;
                assert_eq!(a, b);
                Ok::<_, StoreError>(a)
            })
            .unwrap();
        assert_eq!(s.read_blocking(|tx| tx.count(&BLOBS, "T/")).unwrap(), 3);
        assert_eq!(s.read_blocking(|tx| get_blob(tx, "T", &sha)).unwrap(), big);
        // Another tenant cannot read it by hash.
        assert!(matches!(s.read_blocking(|tx| get_blob(tx, "U", &sha)), Err(ContractsError::NotFound(_))));
        assert!(s.read_blocking(verify_blobs).unwrap().is_empty());
        // A damaged chunk is detected, not served, and `verify` names it.
        s.write_blocking(|tx| tx.put_bytes(&BLOBS, &format!("T/{sha}/000001"), b"damaged")).unwrap();
        assert!(matches!(s.read_blocking(|tx| get_blob(tx, "T", &sha)), Err(ContractsError::Internal(_))));
        let problems = s.read_blocking(verify_blobs).unwrap();
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].contains(&sha), "{problems:?}");
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn the_chain_detects_changed_removed_and_truncated_links() {
        let (s, dir) = store();
        let actor = Actor::system();
        s.write_blocking(|tx| {
            for i in 0..5 {
                record(tx, &actor, "T", "contract.approve", &format!("C{i}"), serde_json::json!({"step": i}))?;
            }
            record(tx, &actor, "U", "contract.approve", "C9", serde_json::json!({}))
        })
        .unwrap();
        assert!(s.read_blocking(verify_chain).unwrap().is_empty());

        // Changed.
        s.write_blocking(|tx| {
            let mut e = tx.get(&CHAIN, "T/000000000002")?.unwrap();
            e.detail = serde_json::json!({"step": 99});
            tx.put(&CHAIN, "T/000000000002", &e)
        })
        .unwrap();
        let p = s.read_blocking(verify_chain).unwrap();
        assert_eq!(p, ["contract chain T: link 2 was altered"]);

        // Removed (after restoring the hash, the gap alone is reported).
        s.write_blocking(|tx| tx.remove(&CHAIN, "T/000000000002").map(|_| ())).unwrap();
        let p = s.read_blocking(verify_chain).unwrap();
        assert!(p.iter().any(|l| l.contains("link 2 missing")), "{p:?}");

        // Truncated at the end.
        let (s2, dir2) = store();
        s2.write_blocking(|tx| {
            for i in 0..3 {
                record(tx, &actor, "T", "x", &format!("C{i}"), serde_json::json!({}))?;
            }
            tx.remove(&CHAIN, "T/000000000003").map(|_| ())
        })
        .unwrap();
        let p = s2.read_blocking(verify_chain).unwrap();
        assert!(p.iter().any(|l| l.contains("newest links are missing")), "{p:?}");
        let _ = std::fs::remove_dir_all(dir);
        let _ = std::fs::remove_dir_all(dir2);
    }
}
