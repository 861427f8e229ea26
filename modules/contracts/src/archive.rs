//! Archive renewal (長期署名の延長, PAdES-B-LTA): before the TSA certificate of a
//! completed contract's newest time-stamp ends, its documents get fresh validation data
//! (the chain and OCSP responses for every time-stamp authority in the file) and a new
//! document time-stamp from the tenant's current TSA, as a new version. Run by the
//! background task and `keiyaku ltv renew`; each contract in its own transaction, audited.

use crate::error::ContractsError;
use crate::model::{CONTRACTS, Contract, LTV_RUNS, Status, Version};
use crate::{ContractsConfig, Env, sign, storage};
use jiff::{SignedDuration, Timestamp};
use keiyaku_kernel::store::{Read, Tx};
use keiyaku_kernel::{Actor, directory};
use serde::{Deserialize, Serialize};
use serde_json::json;

const LAST: &str = "last";

/// The default margin: renew when the newest time-stamp's TSA certificate ends within a year.
pub const DEFAULT_WITHIN_DAYS: u32 = 365;

/// What a renewal run did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RenewalRun {
    pub started_at: Option<Timestamp>,
    pub finished_at: Option<Timestamp>,
    pub within_days: u32,
    /// Completed contracts looked at.
    pub checked: u64,
    /// Contracts that got a new document time-stamp.
    pub renewed: u64,
    /// Contracts that could not be renewed (see `errors`).
    pub failed: u64,
    /// The first few failures: contract key and why.
    #[serde(default)]
    pub errors: Vec<String>,
}

/// Keys (`tenant/id`) of every completed contract, in key order.
pub fn completed(tx: &impl Read) -> Result<Vec<String>, ContractsError> {
    Ok(tx.scan(&CONTRACTS, "")?.into_iter().filter(|(_, c)| c.status == Status::Completed).map(|(k, _)| k).collect())
}

/// Whether `pdf` needs a new document time-stamp at `now`: it has none yet, or the newest
/// one's TSA certificate ends before `now + margin`.
pub fn is_due(pdf: &[u8], now: Timestamp, margin: SignedDuration) -> bool {
    let Ok(certs) = keiyaku_pades::timestamp_certificates(pdf) else { return false };
    let limit = now.checked_add(margin).unwrap_or(Timestamp::MAX);
    match certs.iter().rev().find(|c| c.document_timestamp) {
        Some(newest) => newest.not_after.is_none_or(|end| end <= limit),
        // Signed before B-LTA: the renewal brings it there (when it was signed at all).
        None => !certs.is_empty(),
    }
}

/// Renews one completed contract when due: each document's latest version gets a DSS with
/// the validation data of every TSA certificate in it and of the current one (rolled over
/// first when it ends within a year), then a document time-stamp. Ok(false): not due.
pub fn renew(tx: &mut Tx, env: &Env<'_>, contract_key: &str, margin: SignedDuration) -> Result<bool, ContractsError> {
    let Some(old) = tx.get(&CONTRACTS, contract_key)? else { return Ok(false) };
    if old.status != Status::Completed {
        return Ok(false);
    }
    let now = tx.now();
    let mut c: Contract = old.clone();
    let mut renewed = Vec::new();
    let kek = env.kek;
    let tenant = directory::get_tenant(tx, &c.tenant)?.ok_or(ContractsError::NotFound("tenant"))?;
    for doc in &mut c.documents {
        let Some(latest) = doc.latest().cloned() else { continue };
        let pdf = storage::get_blob(tx, &c.tenant, &latest.sha256)?;
        if !is_due(&pdf, now, margin) {
            continue;
        }
        let tsa = keiyaku_certs::signing::tsa_material(tx, kek, &tenant, env.base_url)?;
        let stamps = keiyaku_pades::timestamp_certificates(&pdf)
            .map_err(|e| ContractsError::internal(format!("reading time-stamps: {e}")))?;
        let mut certs: Vec<&[u8]> = Vec::new();
        for s in &stamps {
            if !certs.contains(&s.der.as_slice()) {
                certs.push(&s.der);
            }
        }
        if !certs.contains(&tsa.cert_der.as_slice()) {
            certs.push(&tsa.cert_der);
        }
        // The signers' certificates too: a revocation since signing is then on file (it
        // does not touch a signature its time-stamp proves older).
        let signers = keiyaku_pades::signer_certificates(&pdf)
            .map_err(|e| ContractsError::internal(format!("reading signatures: {e}")))?;
        certs.extend(signers.iter().map(Vec::as_slice));
        // Only certificates still valid get fresh revocation data: an ended certificate's
        // status was put on file, under a time-stamp, before it ended.
        certs.retain(|c| keiyaku_pades::certificate_not_after(c).is_some_and(|end| end > now));
        // The tenant CA's certificates are answered by its OCSP responder; an outside TSA's
        // by the CRLs of their distribution points.
        let (ours, foreign): (Vec<&[u8]>, Vec<&[u8]>) =
            certs.iter().partition(|c| keiyaku_pades::is_issued_by(c, &tsa.ca_der));
        let mut data = keiyaku_certs::signing::validation_data(tx, kek, &tenant, env.base_url, &ours)?;
        let timeout =
            std::time::Duration::from_millis(env.config.section::<ContractsConfig>().tsa_timeout_millis.max(1));
        let extra = crate::outside_tsa::foreign_validation_data(foreign.into_iter(), timeout);
        data.certs.extend(extra.certs);
        data.crls.extend(extra.crls);
        let outside = crate::outside_tsa::OutsideTsa::from_config(env.config.section::<ContractsConfig>());
        let stamped = sign::archive_timestamp(
            &sign::add_validation(&pdf, &data)?,
            sign::stamper(outside.as_ref(), &tsa, now).as_ref(),
        )?;
        let sha = storage::put_blob(tx, &c.tenant, &stamped)?;
        renewed.push(json!({"document": doc.id, "sha256": sha, "previous": latest.sha256, "tsa": tsa.serial}));
        let n = doc.versions.len() as u32 + 1;
        doc.versions.push(Version {
            n,
            sha256: sha,
            size: stamped.len() as u64,
            created_at: now,
            by: "system".into(),
            signer: None,
            cert_serial: None,
            deleted_at: None,
            pages: latest.pages.clone(),
        });
    }
    if renewed.is_empty() {
        return Ok(false);
    }
    c.updated_at = now;
    crate::flow::save(tx, Some(&old), &c)?;
    storage::record(tx, &Actor::system(), &c.tenant, "contract.ltv_renew", &c.id, json!({"documents": renewed}))?;
    Ok(true)
}

/// The last run's record.
pub fn last_run(tx: &impl Read) -> Result<Option<RenewalRun>, ContractsError> {
    Ok(tx.get(&LTV_RUNS, LAST)?)
}

/// Stores the run's record.
pub fn save_run(tx: &mut Tx, run: &RenewalRun) -> Result<(), ContractsError> {
    tx.put(&LTV_RUNS, LAST, run)?;
    Ok(())
}
