//! An honest verification report of a signed PDF: for each signature its signer, time
//! proof, PAdES level, integrity, trust and revocation at the proven time, and what was
//! changed after it.
//!
//! [`report`] judges what [`crate::verify`] only measures:
//!
//! - **Time proof.** A signature's own signature time-stamp, else the first later intact
//!   document time-stamp (which covers every byte before it). Certificates are judged at that
//!   time; without one, at `now`. A time-stamp's own TSA certificate is judged at the time of
//!   the next later document time-stamp, else at `now`.
//! - **Trust.** A path from the certificate through the certificates found in the file (the
//!   CMS, the time-stamp tokens, the DSS and its OCSP responses) to one of the trust roots,
//!   every certificate signature verifying (ECDSA P-256/P-384 with SHA-256/384, RSA PKCS#1
//!   v1.5 with SHA-256/384/512), every certificate valid at the judging time, every issuer a
//!   CA (basicConstraints, keyCertSign). A time-stamp certificate needs id-kp-timeStamping.
//! - **Revocation.** OCSP responses in the DSS (signed by the issuer, or by a responder
//!   certificate the issuer issued with id-kp-OCSPSigning, valid when the response was
//!   produced) and CRLs in the DSS (signed by the issuer). A revocation counts whenever it is
//!   dated; a "good" answer counts only when it is not older than the time proof.
//! - **Level.** `B-B` without a time proof, `B-T` with one (a signature time-stamp, or a
//!   document time-stamp over the signature as ETSI EN 319 142-1 allows), `B-LT` when the DSS
//!   also holds revocation information for every certificate of the signer's and the time
//!   proof's TSA's paths except their roots, `B-LTA` when a later document time-stamp covers a
//!   DSS that already did. Document time-stamps have no level (`null`).
//! - **Changes after.** [`crate::changes_after`] under the document's DocMDP permission.
//!
//! The verdict of one signature: `invalid` when it is broken, modified after, or its
//! certificate was revoked before the proven signing time; `indeterminate` when it is intact
//! but trust or revocation cannot be established (or the time proof's TSA is not trusted);
//! `valid` otherwise. A document time-stamp is judged on integrity and its TSA's trust; its
//! TSA's revocation is reported but not required (the newest time-stamp's validation data
//! cannot be in the file it stamps). The document's verdict is the worst of its entries,
//! `unsigned` when it has none.

use std::fmt::Write as _;

use aws_lc_rs::signature::{self as sig, UnparsedPublicKey, VerificationAlgorithm};
use jiff::Timestamp;
use lopdf::{Dictionary, Document, Object};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use yasna::Tag;
use yasna::models::ObjectIdentifier;

use crate::PadesError;
use crate::cms::parse_signed_data;
use crate::der::*;
use crate::ocsp::{CertId, CertStatus, OID_KP_OCSP_SIGNING, ParsedOcsp, parse_ocsp_response};
use crate::pdf::load;
use crate::revisions::{Change, changes_after};
use crate::verify::{SignatureInfo, decode_hex};

const OID_ECDSA_SHA384: &[u64] = &[1, 2, 840, 10045, 4, 3, 3];
const OID_SHA384_WITH_RSA: &[u64] = &[1, 2, 840, 113549, 1, 1, 12];
const OID_SHA512_WITH_RSA: &[u64] = &[1, 2, 840, 113549, 1, 1, 13];
const OID_P384: &[u64] = &[1, 3, 132, 0, 34];
const OID_BASIC_CONSTRAINTS: &[u64] = &[2, 5, 29, 19];
const OID_KEY_USAGE: &[u64] = &[2, 5, 29, 15];
const OID_CRL_REASON: &[u64] = &[2, 5, 29, 21];
/// keyUsage bits.
const KU_KEY_CERT_SIGN: usize = 5;
const KU_CRL_SIGN: usize = 6;
/// Longest certificate path followed.
const MAX_PATH: usize = 8;
/// DSS entries read per array.
const MAX_DSS_ITEMS: usize = 1000;

/// The verification report of a PDF: every signature and document time-stamp, oldest first,
/// and the verdict on the whole.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    /// Signatures and document time-stamps in the order of the revisions that added them.
    pub signatures: Vec<SignatureReport>,
    /// The worst verdict of the entries; `unsigned` when there are none.
    pub verdict: Verdict,
    /// Why the verdict is not `valid`: the entries' reasons, each prefixed with the entry's
    /// field name (or "signature N").
    pub reasons: Vec<String>,
}

/// A verdict, serialised in lower case; ordered from best to worst (`unsigned` last, as a
/// document-level value only).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// Intact, trusted, not revoked before its proven time, not modified after.
    Valid,
    /// Intact, but trust or revocation could not be established.
    Indeterminate,
    /// Broken, modified after signing, or signed with a certificate revoked before.
    Invalid,
    /// The document has no signature (never the verdict of one entry).
    Unsigned,
}

impl std::fmt::Display for Verdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Valid => "valid",
            Self::Indeterminate => "indeterminate",
            Self::Invalid => "invalid",
            Self::Unsigned => "unsigned",
        })
    }
}

/// Whether an entry is a person's signature or a document time-stamp.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SignatureKind {
    /// A PAdES signature (`ETSI.CAdES.detached`).
    Signature,
    /// A document time-stamp (`ETSI.RFC3161`).
    DocumentTimestamp,
}

/// The PAdES baseline level a signature reaches, serialised as `"B-B"`, `"B-T"`, `"B-LT"`,
/// `"B-LTA"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Level {
    /// No time proof.
    #[serde(rename = "B-B")]
    BB,
    /// A time proof (signature time-stamp or a later document time-stamp).
    #[serde(rename = "B-T")]
    BT,
    /// B-T with validation data in the DSS for the signer's and the TSA's paths.
    #[serde(rename = "B-LT")]
    BLt,
    /// B-LT with a document time-stamp over that DSS.
    #[serde(rename = "B-LTA")]
    BLta,
}

impl std::fmt::Display for Level {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::BB => "B-B",
            Self::BT => "B-T",
            Self::BLt => "B-LT",
            Self::BLta => "B-LTA",
        })
    }
}

/// What proves the time before which a signature existed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TimeProofKind {
    /// The signature's own signature time-stamp token.
    SignatureTimestamp,
    /// A document time-stamp added later (or the document time-stamp itself).
    DocumentTimestamp,
}

/// The earliest proof of existence of a signature.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimeProof {
    /// The time-stamp's `genTime`.
    pub at: Timestamp,
    /// The TSA certificate's common name.
    pub by: String,
    /// Which time-stamp.
    pub kind: TimeProofKind,
    /// For a document time-stamp, its field name.
    pub field: Option<String>,
    /// Whether the TSA certificate is trusted (judged at the next document time-stamp, else now).
    pub trusted: Trust,
    /// The TSA certificate's revocation status at `at`.
    pub revocation: Revocation,
}

/// Whether a certificate chains to a trust root and is valid at the time it is judged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Trust {
    /// A path to a trust root, every certificate valid at `evaluated_at`.
    Trusted {
        /// The common names of the path, the certificate first, the root last.
        chain: Vec<String>,
        /// When the certificates were judged (the proven time, else now).
        evaluated_at: Timestamp,
    },
    /// Not trusted.
    Untrusted {
        /// Why, e.g. `no chain to a trusted root`, `certificate expired at the proven time: …`.
        reason: String,
        /// When the certificates were judged.
        evaluated_at: Timestamp,
    },
}

impl Trust {
    /// Whether this is [`Trust::Trusted`].
    pub fn is_trusted(&self) -> bool {
        matches!(self, Self::Trusted { .. })
    }
}

/// Where revocation information came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RevocationSource {
    /// An OCSP response in the DSS.
    Ocsp,
    /// A CRL in the DSS.
    Crl,
}

/// What the validation data in the file says about a certificate's revocation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Revocation {
    /// Not revoked as of `checked_at` (not earlier than the time proof).
    Good {
        /// The OCSP answer's thisUpdate or the CRL's thisUpdate.
        checked_at: Timestamp,
        /// OCSP or CRL.
        source: RevocationSource,
    },
    /// Revoked.
    Revoked {
        /// The revocation time.
        at: Timestamp,
        /// The CRLReason in snake case (`key_compromise`, …), when given.
        reason: Option<String>,
        /// The revocation is not after the proven signing time (always true without a time
        /// proof). A revocation after the proven time does not invalidate the signature.
        revoked_before_signing: bool,
        /// OCSP or CRL.
        source: RevocationSource,
    },
    /// No usable revocation information.
    Unknown {
        /// Why, e.g. `no revocation information`.
        reason: String,
    },
}

/// The certificate of a signature (or of a document time-stamp's TSA).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertificateInfo {
    /// The subject's common name.
    pub subject: String,
    /// The issuer's common name.
    pub issuer: String,
    /// The serial number in upper-case hex (as keiyaku's certificate records name it).
    pub serial: String,
    /// notBefore.
    pub not_before: Option<Timestamp>,
    /// notAfter.
    pub not_after: Option<Timestamp>,
    /// SHA-256 of the certificate's DER, lower-case hex.
    pub sha256: String,
}

/// One signature or document time-stamp of a [`Report`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignatureReport {
    /// The signature field's name (`/T`).
    pub field: Option<String>,
    /// Signature or document time-stamp.
    pub kind: SignatureKind,
    /// Who performed the signing: the delegate's name when a delegate signed, else the
    /// certificate's common name (for a document time-stamp: the TSA's).
    pub signer: String,
    /// When a delegate signed: the certificate holder, on whose behalf.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_behalf_of: Option<String>,
    /// When a delegate signed: the delegate's user ID.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delegate_id: Option<String>,
    /// When a delegate signed: the mandate's ID.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mandate_id: Option<String>,
    /// When a delegate signed: SHA-256 of the mandate, lower-case hex.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mandate_sha256: Option<String>,
    /// The claimed signing time (`/M`; for a document time-stamp its genTime).
    pub signed_at: Option<Timestamp>,
    /// The earliest proof of existence, if any.
    pub time_proof: Option<TimeProof>,
    /// The PAdES level; `None` (null) for document time-stamps.
    pub level: Option<Level>,
    /// Digest, signature and time-stamp token check out.
    pub intact: bool,
    /// The byte range covers the whole file (nothing was added after).
    pub covers_whole_file: bool,
    /// The signer's (or TSA's) certificate.
    pub certificate: Option<CertificateInfo>,
    /// Whether the certificate is trusted at the proven time.
    pub trusted: Trust,
    /// The certificate's revocation status.
    pub revocation: Revocation,
    /// Changes after this signature that it does not permit (empty: none).
    pub modifications_after: Vec<String>,
    /// The permitted kinds of change made after it, in order of first appearance:
    /// `signature`, `validation_data`, `document_timestamp`, `form_filling`.
    pub allowed_changes_after: Vec<String>,
    /// The seal: the one the certificate was issued for and the one the stamp was drawn
    /// from; `None` when neither is named.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seal: Option<SealCheck>,
    /// This entry's verdict (never `unsigned`).
    pub verdict: Verdict,
    /// Why the verdict is not `valid` (English, short).
    pub reasons: Vec<String>,
}

/// The seal of a signature (see [`crate::certificate_seal`]): SHA-256s in lower-case hex.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SealCheck {
    /// The seal the signer's certificate was issued for.
    pub certificate: Option<String>,
    /// The seal the signature says its stamp was drawn from.
    pub stamp: Option<String>,
    /// Both are named and equal: the stamp was drawn from the certificate's seal.
    pub matches: bool,
}

/// Verifies every signature and document time-stamp of `pdf` and judges it: integrity,
/// time proof, PAdES level, trust in `trust_roots` (DER certificates) at the proven time
/// (`now` without one), revocation from the DSS, and changes made after it. See the module
/// documentation for the rules.
///
/// Errors only when the file cannot be read as a PDF.
pub fn report(pdf: &[u8], trust_roots: &[Vec<u8>], now: Timestamp) -> Result<Report, PadesError> {
    let infos = crate::verify(pdf)?;
    let doc = load(pdf)?;
    let (dss_certs, store) = read_dss(&doc);
    let permission = docmdp_permission(&doc);
    drop(doc);

    let mut pool: Vec<Cert> = Vec::new();
    let add = |pool: &mut Vec<Cert>, der: &[u8]| {
        if let Some(c) = Cert::parse(der)
            && !pool.iter().any(|p| p.der() == c.der())
        {
            pool.push(c);
        }
    };
    let mut entries = Vec::with_capacity(infos.len());
    for info in infos {
        let [_, _, c, len] = info.byte_range;
        let end = c.saturating_add(len);
        let contents = contents_of(pdf, info.byte_range);
        let sd = contents.as_deref().and_then(|c| parse_signed_data(c).ok());
        let cert = sd.as_ref().and_then(|sd| sd.signer_cert()).and_then(|c| Cert::parse(&c.der));
        let mut token = None;
        if let Some(sd) = &sd {
            for c in &sd.certs {
                add(&mut pool, c);
            }
            if !info.is_document_timestamp()
                && let Some(raw) = sd.timestamp_token()
                && let Ok(tsd) = parse_signed_data(raw)
            {
                for c in &tsd.certs {
                    add(&mut pool, c);
                }
                let intact = info.timestamp.as_ref().is_some_and(|t| t.imprint_matches && t.signature_valid);
                if let (true, Some(at)) = (intact, info.timestamp.as_ref().and_then(|t| t.gen_time)) {
                    let tsa = tsd.signer_cert().and_then(|c| Cert::parse(&c.der));
                    token = Some(Token { at, tsa });
                }
            }
        }
        entries.push(Entry { info, end, cert, token });
    }
    for c in &dss_certs {
        add(&mut pool, c);
    }
    for o in &store.ocsps {
        for c in &o.certs {
            if !pool.iter().any(|p| p.der() == c.der()) {
                pool.push(c.clone());
            }
        }
    }
    let roots: Vec<Cert> = trust_roots.iter().filter_map(|r| Cert::parse(r)).collect();
    // The DSS as each intact document time-stamp saw it (for B-LTA).
    let mut stamped_stores = Vec::new();
    for e in entries.iter().filter(|e| e.is_intact_doc_ts()) {
        let prefix = pdf.get(..e.end).and_then(|p| load(p).ok());
        stamped_stores.push((e.end, prefix.map(|d| read_dss(&d).1).unwrap_or_default()));
    }
    let ctx = Ctx { pool, roots, store, stamped_stores, now };

    let mut signatures = Vec::with_capacity(entries.len());
    for entry in &entries {
        let changes = changes_after(pdf, entry.end, permission);
        signatures.push(ctx.judge(entry, &entries, changes));
    }
    let verdict = signatures.iter().map(|s| s.verdict).max().unwrap_or(Verdict::Unsigned);
    let reasons = signatures
        .iter()
        .enumerate()
        .flat_map(|(i, s)| {
            let label = s.field.clone().unwrap_or_else(|| format!("signature {}", i + 1));
            s.reasons.iter().map(move |r| format!("{label}: {r}"))
        })
        .collect();
    Ok(Report { signatures, verdict, reasons })
}

/// A short plain-text rendering of `report` (English), one block per signature, for a
/// terminal.
pub fn describe(report: &Report) -> String {
    let mut out = String::new();
    let n = report.signatures.len();
    let _ = writeln!(out, "Verdict: {} ({n} {})", report.verdict, if n == 1 { "entry" } else { "entries" });
    for (i, s) in report.signatures.iter().enumerate() {
        let kind = match s.kind {
            SignatureKind::Signature => "Signature",
            SignatureKind::DocumentTimestamp => "Document time-stamp",
        };
        let field = s.field.as_deref().map(|f| format!(" \"{f}\"")).unwrap_or_default();
        let _ = write!(out, "\n{}. {kind}{field} by {}", i + 1, s.signer);
        if let Some(holder) = &s.on_behalf_of {
            let _ = write!(out, " on behalf of {holder}");
        }
        if let Some(m) = &s.mandate_id {
            let _ = write!(out, " (mandate {m})");
        }
        out.push('\n');
        let _ = writeln!(out, "   verdict: {}", s.verdict);
        if s.kind == SignatureKind::Signature {
            let claimed = s.signed_at.map_or_else(|| "not stated".to_string(), |t| t.to_string());
            let _ = writeln!(out, "   claimed signing time: {claimed}");
        }
        match &s.time_proof {
            Some(p) => {
                let kind = match p.kind {
                    TimeProofKind::SignatureTimestamp => "signature time-stamp",
                    TimeProofKind::DocumentTimestamp => "document time-stamp",
                };
                let _ = writeln!(out, "   time proof: {} by {} ({kind}), TSA {}", p.at, p.by, trust_text(&p.trusted));
            }
            None => out.push_str("   time proof: none\n"),
        }
        if let Some(level) = s.level {
            let _ = writeln!(out, "   level: {level}");
        }
        let _ =
            writeln!(out, "   intact: {}; covers the whole file: {}", yes_no(s.intact), yes_no(s.covers_whole_file));
        if let Some(c) = &s.certificate {
            let range = |t: Option<Timestamp>| t.map_or_else(|| "?".to_string(), |t| t.to_string());
            let _ = writeln!(
                out,
                "   certificate: {}, serial {}, issued by {}, valid {} to {}",
                c.subject,
                c.serial,
                c.issuer,
                range(c.not_before),
                range(c.not_after)
            );
        }
        let _ = writeln!(out, "   trust: {}", trust_text(&s.trusted));
        let _ = writeln!(out, "   revocation: {}", revocation_text(&s.revocation));
        if !s.allowed_changes_after.is_empty() {
            let _ = writeln!(out, "   later changes: {}", s.allowed_changes_after.join(", ").replace('_', " "));
        }
        if let Some(seal) = &s.seal {
            let _ = writeln!(
                out,
                "   seal: {}",
                if seal.matches {
                    "the stamp is drawn from the certificate's seal"
                } else {
                    "the stamp is not the certificate's seal"
                }
            );
        }
        if s.modifications_after.is_empty() {
            out.push_str("   modifications after: none\n");
        } else {
            let _ = writeln!(out, "   modifications after: {}", s.modifications_after.join("; "));
        }
        for r in &s.reasons {
            let _ = writeln!(out, "   - {r}");
        }
    }
    out
}

fn yes_no(b: bool) -> &'static str {
    if b { "yes" } else { "no" }
}

fn trust_text(t: &Trust) -> String {
    match t {
        Trust::Trusted { chain, evaluated_at } => format!("trusted at {evaluated_at} ({})", chain.join(" < ")),
        Trust::Untrusted { reason, evaluated_at } => format!("untrusted at {evaluated_at}: {reason}"),
    }
}

fn source_text(s: RevocationSource) -> &'static str {
    match s {
        RevocationSource::Ocsp => "OCSP",
        RevocationSource::Crl => "CRL",
    }
}

fn revocation_text(r: &Revocation) -> String {
    match r {
        Revocation::Good { checked_at, source } => format!("good ({}, as of {checked_at})", source_text(*source)),
        Revocation::Revoked { at, reason, revoked_before_signing, source } => format!(
            "revoked at {at}{} ({}), {} the proven signing time",
            reason.as_deref().map(|r| format!(" for {}", r.replace('_', " "))).unwrap_or_default(),
            source_text(*source),
            if *revoked_before_signing { "not after" } else { "after" }
        ),
        Revocation::Unknown { reason } => format!("unknown: {reason}"),
    }
}

/// The DER inside a signature's `/Contents`, located by its byte range.
fn contents_of(pdf: &[u8], byte_range: [usize; 4]) -> Option<Vec<u8>> {
    let [_, b, c, _] = byte_range;
    decode_hex(pdf.get(b.checked_add(1)?..c.checked_sub(1)?)?)
}

fn resolve<'a>(doc: &'a Document, obj: &'a Object) -> Option<&'a Object> {
    doc.dereference(obj).ok().map(|(_, o)| o)
}

fn dict_in<'a>(doc: &'a Document, d: &'a Dictionary, key: &[u8]) -> Option<&'a Dictionary> {
    resolve(doc, d.get(key).ok()?)?.as_dict().ok()
}

/// The DSS's certificates and its OCSP responses and CRLs, parsed (unreadable ones skipped).
fn read_dss(doc: &Document) -> (Vec<Vec<u8>>, Store) {
    let mut arrays: [Vec<Vec<u8>>; 3] = [Vec::new(), Vec::new(), Vec::new()];
    if let Some(dss) = doc.catalog().ok().and_then(|c| dict_in(doc, c, b"DSS")) {
        for (slot, key) in arrays.iter_mut().zip([&b"Certs"[..], b"OCSPs", b"CRLs"]) {
            let items = dss.get(key).ok().and_then(|a| resolve(doc, a)).and_then(|a| a.as_array().ok());
            for item in items.into_iter().flatten().take(MAX_DSS_ITEMS) {
                if let Some(Object::Stream(s)) = resolve(doc, item) {
                    slot.push(s.decompressed_content().unwrap_or_else(|_| s.content.clone()));
                }
            }
        }
    }
    let [certs, ocsps, crls] = arrays;
    let store = Store {
        ocsps: ocsps.iter().filter_map(|o| Ocsp::parse(o)).collect(),
        crls: crls.iter().filter_map(|c| Crl::parse(c)).collect(),
    };
    (certs, store)
}

/// The DocMDP permission `P` of the certification signature (`/Perms /DocMDP`), if any.
fn docmdp_permission(doc: &Document) -> Option<u8> {
    let catalog = doc.catalog().ok()?;
    let sig = dict_in(doc, dict_in(doc, catalog, b"Perms")?, b"DocMDP")?;
    let refs = resolve(doc, sig.get(b"Reference").ok()?)?.as_array().ok()?;
    refs.iter().filter_map(|r| resolve(doc, r)?.as_dict().ok()).find_map(|r| {
        let method = r.get(b"TransformMethod").ok().and_then(|m| m.as_name().ok());
        if method.is_some_and(|m| m != b"DocMDP") {
            return None;
        }
        let p = dict_in(doc, r, b"TransformParams")
            .and_then(|t| resolve(doc, t.get(b"P").ok()?))
            .and_then(|p| p.as_i64().ok())
            .unwrap_or(2);
        u8::try_from(p).ok().filter(|p| (1..=3).contains(p)).or(Some(2))
    })
}

/// A `UTCTime` or `GeneralizedTime` TLV.
fn time_of(tlv: &[u8]) -> Option<Timestamp> {
    let (&tag, rest) = tlv.split_first()?;
    let (&len, value) = rest.split_first()?;
    if usize::from(len) != value.len() {
        return None;
    }
    match tag {
        0x17 => {
            let yy: u32 = std::str::from_utf8(value.get(..2)?).ok()?.parse().ok()?;
            let century: &[u8] = if yy >= 50 { b"19" } else { b"20" };
            parse_generalized_time(&[century, value].concat())
        }
        0x18 => parse_generalized_time(value),
        _ => None,
    }
}

fn magnitude(integer_tlv: &[u8]) -> Vec<u8> {
    let bytes = parse_der(integer_tlv, |r| r.read_bigint_bytes()).map(|(b, _)| b).unwrap_or_default();
    strip_zeros(&bytes)
}

fn strip_zeros(bytes: &[u8]) -> Vec<u8> {
    let skip = bytes.iter().take_while(|&&b| b == 0).count().min(bytes.len().saturating_sub(1));
    bytes.get(skip..).unwrap_or_default().to_vec()
}

fn hex(bytes: &[u8], upper: bool) -> String {
    bytes.iter().fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
        let _ = if upper { write!(s, "{b:02X}") } else { write!(s, "{b:02x}") };
        s
    })
}

fn reason_name(code: u8) -> String {
    match code {
        0 => "unspecified",
        1 => "key_compromise",
        2 => "ca_compromise",
        3 => "affiliation_changed",
        4 => "superseded",
        5 => "cessation_of_operation",
        6 => "certificate_hold",
        8 => "remove_from_crl",
        9 => "privilege_withdrawn",
        10 => "aa_compromise",
        other => return format!("reason_{other}"),
    }
    .to_string()
}

/// Raises `verdict` to `v` for the reason `why`.
fn fail(v: Verdict, why: String, verdict: &mut Verdict, reasons: &mut Vec<String>) {
    *verdict = (*verdict).max(v);
    reasons.push(why);
}

/// Verifies `signature` over `msg` with the key of `key` under `alg`.
fn verify_with(key: &Cert, alg: &ObjectIdentifier, msg: &[u8], signature: &[u8]) -> bool {
    let fields = &key.fields;
    let curve = |c: &[u64]| fields.key_curve.as_ref().is_some_and(|k| is_oid(k, c));
    let algorithm: &'static dyn VerificationAlgorithm = if is_oid(&fields.key_alg, OID_EC_PUBLIC_KEY) {
        match (is_oid(alg, OID_ECDSA_SHA256), is_oid(alg, OID_ECDSA_SHA384), curve(OID_P256), curve(OID_P384)) {
            (true, _, true, _) => &sig::ECDSA_P256_SHA256_ASN1,
            (true, _, _, true) => &sig::ECDSA_P384_SHA256_ASN1,
            (_, true, true, _) => &sig::ECDSA_P256_SHA384_ASN1,
            (_, true, _, true) => &sig::ECDSA_P384_SHA384_ASN1,
            _ => return false,
        }
    } else if is_oid(&fields.key_alg, OID_RSA_ENCRYPTION) {
        if is_oid(alg, OID_SHA256_WITH_RSA) {
            &sig::RSA_PKCS1_2048_8192_SHA256
        } else if is_oid(alg, OID_SHA384_WITH_RSA) {
            &sig::RSA_PKCS1_2048_8192_SHA384
        } else if is_oid(alg, OID_SHA512_WITH_RSA) {
            &sig::RSA_PKCS1_2048_8192_SHA512
        } else {
            return false;
        }
    } else {
        return false;
    };
    UnparsedPublicKey::new(algorithm, &fields.public_key).verify(msg, signature).is_ok()
}

/// A time-stamp authority certificate found in a PDF's time-stamp tokens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimestampCertificate {
    /// The certificate (DER).
    pub der: Vec<u8>,
    /// Its `notAfter`.
    pub not_after: Option<Timestamp>,
    /// Whether it signed a document time-stamp (else a signature time-stamp).
    pub document_timestamp: bool,
}

/// The TSA certificates of every time-stamp token in `pdf` (signature time-stamps and
/// document time-stamps), oldest revision first: what archive renewal must keep provable,
/// and — the last document time-stamp's — when the file needs a new one.
pub fn timestamp_certificates(pdf: &[u8]) -> Result<Vec<TimestampCertificate>, PadesError> {
    let mut out = Vec::new();
    for info in crate::verify(pdf)? {
        let Some(sd) = contents_of(pdf, info.byte_range).and_then(|c| parse_signed_data(&c).ok()) else { continue };
        let token = if info.is_document_timestamp() {
            Some(sd)
        } else {
            sd.timestamp_token().and_then(|raw| parse_signed_data(raw).ok())
        };
        if let Some(cert) = token.as_ref().and_then(|t| t.signer_cert()).and_then(|c| Cert::parse(&c.der)) {
            out.push(TimestampCertificate {
                der: cert.der().to_vec(),
                not_after: cert.not_after,
                document_timestamp: info.is_document_timestamp(),
            });
        }
    }
    Ok(out)
}

/// The signers' certificates (DER) of the signatures in `pdf` (not document time-stamps),
/// oldest revision first, each once: what archive renewal adds fresh revocation data for,
/// so a revocation after signing is on file.
pub fn signer_certificates(pdf: &[u8]) -> Result<Vec<Vec<u8>>, PadesError> {
    let mut out: Vec<Vec<u8>> = Vec::new();
    for info in crate::verify(pdf)?.iter().filter(|i| !i.is_document_timestamp()) {
        let Some(sd) = contents_of(pdf, info.byte_range).and_then(|c| parse_signed_data(&c).ok()) else { continue };
        if let Some(cert) = sd.signer_cert()
            && !out.iter().any(|c| c == &cert.der)
        {
            out.push(cert.der.clone());
        }
    }
    Ok(out)
}

/// A certificate's `notAfter` (None when it cannot be read).
pub fn certificate_not_after(der: &[u8]) -> Option<Timestamp> {
    Cert::parse(der).and_then(|c| c.not_after)
}

/// Whether `ca_der` issued `cert_der`: the issuer name matches and the CA's key verifies
/// the certificate's signature.
pub fn certificate_issued_by(cert_der: &[u8], ca_der: &[u8]) -> bool {
    match (Cert::parse(cert_der), Cert::parse(ca_der)) {
        (Some(cert), Some(ca)) => ca.issued(&cert),
        _ => false,
    }
}

/// An X.509 certificate with what path validation needs.
#[derive(Debug, Clone)]
struct Cert {
    fields: CertFields,
    tbs: Vec<u8>,
    sig_alg: ObjectIdentifier,
    signature: Vec<u8>,
    not_before: Option<Timestamp>,
    not_after: Option<Timestamp>,
}

/// The three parts of a signed X.509 structure (certificate, CRL): the to-be-signed DER,
/// the signature algorithm and the signature bits.
fn signed_parts(der: &[u8]) -> Option<(Vec<u8>, ObjectIdentifier, Vec<u8>)> {
    parse_der(der, |r| {
        r.read_sequence(|r| {
            let tbs = r.next().read_der()?;
            let alg = read_alg(r.next())?;
            let (signature, _) = r.next().read_bitvec_bytes()?;
            Ok((tbs, alg, signature))
        })
    })
    .ok()
}

impl Cert {
    fn parse(der: &[u8]) -> Option<Self> {
        let fields = parse_cert(der).ok()?;
        let (tbs, sig_alg, signature) = signed_parts(&fields.der)?;
        let (not_before, not_after) = parse_der(&tbs, |r| {
            r.read_sequence(|r| {
                r.read_optional(|r| r.read_tagged(Tag::context(0), |r| r.read_der()))?;
                for _ in 0..3 {
                    r.next().read_der()?; // serial, signature, issuer
                }
                let validity = r.next().read_sequence(|r| Ok((r.next().read_der()?, r.next().read_der()?)))?;
                while r.read_optional(|r| r.read_der())?.is_some() {}
                Ok(validity)
            })
        })
        .ok()?;
        Some(Self { fields, tbs, sig_alg, signature, not_before: time_of(&not_before), not_after: time_of(&not_after) })
    }

    fn der(&self) -> &[u8] {
        &self.fields.der
    }

    fn cn(&self) -> String {
        common_name(&self.fields.subject)
    }

    fn ext(&self, id: &[u64]) -> Option<&[u8]> {
        self.fields.extensions.iter().find(|(o, _, _)| is_oid(o, id)).map(|(_, _, v)| v.as_slice())
    }

    fn is_ca(&self) -> bool {
        self.ext(OID_BASIC_CONSTRAINTS).is_some_and(|v| {
            parse_der(v, |r| {
                r.read_sequence(|r| {
                    let ca = r.read_optional(|r| r.read_bool())?.unwrap_or(false);
                    r.read_optional(|r| r.read_der())?;
                    Ok(ca)
                })
            })
            .unwrap_or(false)
        })
    }

    /// Whether keyUsage allows `bit` (true when the certificate has no keyUsage).
    fn key_usage_allows(&self, bit: usize) -> bool {
        let Some(v) = self.ext(OID_KEY_USAGE) else { return true };
        parse_der(v, |r| r.read_bitvec_bytes())
            .ok()
            .is_some_and(|(bytes, _)| bytes.get(bit / 8).is_some_and(|b| b & (0x80 >> (bit % 8)) != 0))
    }

    fn has_eku(&self, purpose: &[u64]) -> bool {
        self.ext(OID_EXT_KEY_USAGE).is_some_and(|v| {
            let mut found = false;
            let _ = parse_der(v, |r| {
                r.read_sequence_of(|r| {
                    found |= is_oid(&r.read_oid()?, purpose);
                    Ok(())
                })
            });
            found
        })
    }

    /// Whether this certificate's key signed `child` and the names chain.
    fn issued(&self, child: &Cert) -> bool {
        child.fields.issuer == self.fields.subject && verify_with(self, &child.sig_alg, &child.tbs, &child.signature)
    }

    fn valid_at(&self, t: Timestamp) -> bool {
        self.not_before.is_some_and(|b| b <= t) && self.not_after.is_some_and(|a| t <= a)
    }

    fn info(&self) -> CertificateInfo {
        CertificateInfo {
            subject: self.cn(),
            issuer: common_name(&self.fields.issuer),
            serial: hex(&magnitude(&self.fields.serial), true),
            not_before: self.not_before,
            not_after: self.not_after,
            sha256: hex(&Sha256::digest(self.der()), false),
        }
    }
}

/// An OCSP response from the DSS with what checking its signature needs.
#[derive(Debug, Clone)]
struct Ocsp {
    parsed: ParsedOcsp,
    tbs: Vec<u8>,
    alg: ObjectIdentifier,
    signature: Vec<u8>,
    certs: Vec<Cert>,
}

impl Ocsp {
    fn parse(der: &[u8]) -> Option<Self> {
        let parsed = parse_ocsp_response(der).ok()?;
        let basic = parse_der(der, |r| {
            r.read_sequence(|r| {
                r.next().read_enum()?;
                r.next().read_tagged(Tag::context(0), |r| {
                    r.read_sequence(|r| {
                        r.next().read_oid()?;
                        r.next().read_bytes()
                    })
                })
            })
        })
        .ok()?;
        let (tbs, alg, signature) = parse_der(&basic, |r| {
            r.read_sequence(|r| {
                let tbs = r.next().read_der()?;
                let alg = read_alg(r.next())?;
                let (signature, _) = r.next().read_bitvec_bytes()?;
                r.read_optional(|r| r.read_der())?;
                Ok((tbs, alg, signature))
            })
        })
        .ok()?;
        let certs = parsed.certs.iter().filter_map(|c| Cert::parse(c)).collect();
        Some(Self { parsed, tbs, alg, signature, certs })
    }

    /// Whether the issuer `ca`, or a responder `ca` delegated (id-kp-OCSPSigning, valid when
    /// the response was produced), signed this response. `pool` may hold the responder.
    fn signed_for(&self, ca: &Cert, pool: &[Cert]) -> bool {
        let produced = self.parsed.produced_at;
        std::iter::once(ca).chain(self.certs.iter()).chain(pool.iter()).any(|r| {
            let authorized =
                r.der() == ca.der() || (r.has_eku(OID_KP_OCSP_SIGNING) && r.valid_at(produced) && ca.issued(r));
            authorized && verify_with(r, &self.alg, &self.tbs, &self.signature)
        })
    }
}

/// A CRL from the DSS.
#[derive(Debug, Clone)]
struct Crl {
    issuer: Vec<u8>,
    this_update: Timestamp,
    revoked: Vec<RevokedEntry>,
    tbs: Vec<u8>,
    alg: ObjectIdentifier,
    signature: Vec<u8>,
}

impl Crl {
    fn parse(der: &[u8]) -> Option<Self> {
        let (tbs, alg, signature) = signed_parts(der)?;
        let items = parse_der(&tbs, |r| {
            r.read_sequence(|r| {
                let mut items = Vec::new();
                while let Some(v) = r.read_optional(|r| r.read_der())? {
                    items.push(v);
                }
                Ok(items)
            })
        })
        .ok()?;
        // version?, signature, issuer, thisUpdate, nextUpdate?, revokedCertificates?, [0] extensions?
        let mut rest = items.iter().skip_while(|v| v.first() == Some(&0x02));
        let _signature = rest.next()?;
        let issuer = rest.next()?.clone();
        let this_update = time_of(rest.next()?)?;
        let mut revoked = Vec::new();
        for item in rest {
            if item.first() == Some(&0x30) {
                revoked = parse_der(item, read_revoked).ok()?;
            }
        }
        Some(Self { issuer, this_update, revoked, tbs, alg, signature })
    }
}

/// A CRL entry: (serial magnitude, revocation date, reason code).
type RevokedEntry = (Vec<u8>, Timestamp, Option<u8>);

fn read_revoked(r: yasna::BERReader) -> yasna::ASN1Result<Vec<RevokedEntry>> {
    let mut out = Vec::new();
    r.read_sequence_of(|r| {
        r.read_sequence(|r| {
            let (serial, _) = r.next().read_bigint_bytes()?;
            let at = time_of(&r.next().read_der()?).map_or_else(invalid, Ok)?;
            let mut reason = None;
            r.read_optional(|r| {
                r.read_sequence_of(|r| {
                    r.read_sequence(|r| {
                        let id = r.next().read_oid()?;
                        r.read_optional(|r| r.read_bool())?;
                        let value = r.next().read_bytes()?;
                        if is_oid(&id, OID_CRL_REASON) {
                            reason = parse_der(&value, |r| r.read_enum()).ok().and_then(|c| u8::try_from(c).ok());
                        }
                        Ok(())
                    })
                })
            })?;
            out.push((strip_zeros(&serial), at, reason));
            Ok(())
        })
    })?;
    Ok(out)
}

/// Revocation information (OCSP responses and CRLs) of one DSS.
#[derive(Debug, Clone, Default)]
struct Store {
    ocsps: Vec<Ocsp>,
    crls: Vec<Crl>,
}

/// One statement about a certificate's revocation.
#[derive(Debug, Clone, Copy)]
struct Statement {
    /// `None`: good as of `at`; `Some((revoked at, reason))`.
    revoked: Option<(Timestamp, Option<u8>)>,
    at: Timestamp,
    source: RevocationSource,
}

/// A certificate path, the certificate first.
#[derive(Debug, Clone)]
struct Path {
    certs: Vec<Cert>,
    /// The last certificate is a trust root.
    anchored: bool,
    /// The last certificate is a trust root or self-signed.
    complete: bool,
}

/// What a time-stamp certificate or signer certificate is used for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Purpose {
    Signing,
    Timestamping,
}

/// A signature's own, intact signature time-stamp.
#[derive(Debug, Clone)]
struct Token {
    at: Timestamp,
    tsa: Option<Cert>,
}

/// A signature as read, with its certificates.
#[derive(Debug, Clone)]
struct Entry {
    info: SignatureInfo,
    /// Where its signed revision ends.
    end: usize,
    /// The signer's certificate, or a document time-stamp's TSA certificate.
    cert: Option<Cert>,
    token: Option<Token>,
}

impl Entry {
    fn is_intact_doc_ts(&self) -> bool {
        self.info.is_document_timestamp() && self.info.is_intact() && self.info.signing_time.is_some()
    }
}

/// Where a time proof came from, before it is judged.
struct Proof<'e> {
    at: Timestamp,
    tsa: Option<&'e Cert>,
    kind: TimeProofKind,
    field: Option<String>,
    /// When the TSA certificate is judged, and whether that time is proven.
    tsa_judged_at: (Timestamp, bool),
}

struct Ctx {
    pool: Vec<Cert>,
    roots: Vec<Cert>,
    store: Store,
    /// (a document time-stamp's end, the DSS it covers).
    stamped_stores: Vec<(usize, Store)>,
    now: Timestamp,
}

impl Ctx {
    fn path(&self, leaf: &Cert) -> Path {
        let mut certs = vec![leaf.clone()];
        while let Some(cur) = certs.last() {
            if self.roots.iter().any(|r| r.der() == cur.der()) {
                return Path { certs, anchored: true, complete: true };
            }
            if certs.len() >= MAX_PATH {
                break;
            }
            let next = self
                .roots
                .iter()
                .chain(self.pool.iter())
                .find(|c| c.issued(cur) && !certs.iter().any(|p| p.der() == c.der()))
                .cloned();
            match next {
                Some(c) => certs.push(c),
                None => {
                    let complete = cur.issued(cur);
                    return Path { certs, anchored: false, complete };
                }
            }
        }
        Path { certs, anchored: false, complete: false }
    }

    fn trust(&self, path: &Path, at: Timestamp, proven: bool, purpose: Purpose) -> Trust {
        let untrusted = |reason: String| Trust::Untrusted { reason, evaluated_at: at };
        if !path.anchored {
            return untrusted("no chain to a trusted root".into());
        }
        let when = if proven { " at the proven time" } else { "" };
        for c in &path.certs {
            if c.not_after.is_none_or(|a| a < at) {
                return untrusted(format!("certificate expired{when}: {}", c.cn()));
            }
            if c.not_before.is_none_or(|b| at < b) {
                return untrusted(format!("certificate not yet valid{when}: {}", c.cn()));
            }
        }
        let issuers = path.certs.len().saturating_sub(1);
        for c in path.certs.iter().skip(1).take(issuers.saturating_sub(1)) {
            if !c.is_ca() || !c.key_usage_allows(KU_KEY_CERT_SIGN) {
                return untrusted(format!("issuer is not a CA: {}", c.cn()));
            }
        }
        if purpose == Purpose::Timestamping && !path.certs.first().is_some_and(|c| c.has_eku(OID_KP_TIMESTAMPING)) {
            return untrusted("the certificate is not for time-stamping".into());
        }
        Trust::Trusted { chain: path.certs.iter().map(Cert::cn).collect(), evaluated_at: at }
    }

    /// What `store` says about `cert`, issued by `issuer`.
    fn statements(&self, store: &Store, cert: &Cert, issuer: &Cert) -> Vec<Statement> {
        let mut out = Vec::new();
        for o in &store.ocsps {
            let mut signed = None;
            for a in &o.parsed.answers {
                if CertId::of(cert.der(), issuer.der(), a.id.hash).ok().as_ref() != Some(&a.id) {
                    continue;
                }
                if !*signed.get_or_insert_with(|| o.signed_for(issuer, &self.pool)) {
                    break;
                }
                let revoked = match a.status {
                    CertStatus::Good => None,
                    CertStatus::Revoked { at, reason } => Some((at, reason)),
                    CertStatus::Unknown => continue,
                };
                out.push(Statement { revoked, at: a.this_update, source: RevocationSource::Ocsp });
            }
        }
        let serial = magnitude(&cert.fields.serial);
        for crl in &store.crls {
            if crl.issuer != cert.fields.issuer
                || crl.issuer != issuer.fields.subject
                || !issuer.key_usage_allows(KU_CRL_SIGN)
                || !verify_with(issuer, &crl.alg, &crl.tbs, &crl.signature)
            {
                continue;
            }
            let revoked = crl.revoked.iter().find(|(s, _, _)| *s == serial).map(|(_, at, reason)| (*at, *reason));
            out.push(Statement { revoked, at: crl.this_update, source: RevocationSource::Crl });
        }
        out
    }

    fn revocation(&self, path: &Path, proof: Option<Timestamp>) -> Revocation {
        let unknown = |reason: &str| Revocation::Unknown { reason: reason.into() };
        let (Some(cert), Some(issuer)) = (path.certs.first(), path.certs.get(1)) else {
            return if path.anchored {
                unknown("the certificate is itself a trust root")
            } else {
                unknown("the issuer's certificate is missing")
            };
        };
        let statements = self.statements(&self.store, cert, issuer);
        if statements.is_empty() {
            return unknown("no revocation information");
        }
        let first_revocation = statements
            .iter()
            .filter_map(|s| s.revoked.map(|(at, reason)| (at, reason, s.source)))
            .min_by_key(|(at, _, _)| *at);
        if let Some((at, reason, source)) = first_revocation {
            return Revocation::Revoked {
                at,
                reason: reason.map(reason_name),
                revoked_before_signing: proof.is_none_or(|p| at <= p),
                source,
            };
        }
        match statements.iter().max_by_key(|s| s.at) {
            Some(s) if proof.is_none_or(|p| s.at >= p) => Revocation::Good { checked_at: s.at, source: s.source },
            _ => unknown("the revocation information predates the time proof"),
        }
    }

    /// Whether `store` holds revocation information for every certificate of `path` but its
    /// root.
    fn covers(&self, store: &Store, path: &Path) -> bool {
        path.complete
            && path.certs.windows(2).all(|w| match w {
                [cert, issuer] => !self.statements(store, cert, issuer).is_empty(),
                _ => false,
            })
    }

    fn judge(
        &self,
        entry: &Entry,
        all: &[Entry],
        changes: Result<Vec<crate::RevisionChange>, PadesError>,
    ) -> SignatureReport {
        let info = &entry.info;
        let doc_ts = info.is_document_timestamp();
        let next_stamp = |after: usize| all.iter().find(|e| e.is_intact_doc_ts() && e.end > after);
        let judged_at =
            |after: usize| next_stamp(after).and_then(|d| d.info.signing_time).map_or((self.now, false), |t| (t, true));
        let mut reasons = Vec::new();

        // The time proof.
        let proof = if doc_ts {
            entry.is_intact_doc_ts().then_some(()).and(info.signing_time).map(|at| Proof {
                at,
                tsa: entry.cert.as_ref(),
                kind: TimeProofKind::DocumentTimestamp,
                field: info.field_name.clone(),
                tsa_judged_at: judged_at(entry.end),
            })
        } else if let Some(t) = &entry.token {
            Some(Proof {
                at: t.at,
                tsa: t.tsa.as_ref(),
                kind: TimeProofKind::SignatureTimestamp,
                field: None,
                tsa_judged_at: judged_at(entry.end),
            })
        } else {
            next_stamp(entry.end).and_then(|d| {
                Some(Proof {
                    at: d.info.signing_time?,
                    tsa: d.cert.as_ref(),
                    kind: TimeProofKind::DocumentTimestamp,
                    field: d.info.field_name.clone(),
                    tsa_judged_at: judged_at(d.end),
                })
            })
        };
        let tsa_path = proof.as_ref().and_then(|p| p.tsa).map(|c| self.path(c));
        let time_proof = proof.as_ref().map(|p| {
            let (at, proven) = p.tsa_judged_at;
            let (trusted, revocation) = match &tsa_path {
                Some(path) => (self.trust(path, at, proven, Purpose::Timestamping), self.revocation(path, Some(p.at))),
                None => (
                    Trust::Untrusted { reason: "no time-stamp certificate".into(), evaluated_at: at },
                    Revocation::Unknown { reason: "no time-stamp certificate".into() },
                ),
            };
            TimeProof {
                at: p.at,
                by: p.tsa.map(Cert::cn).unwrap_or_default(),
                kind: p.kind,
                field: p.field.clone(),
                trusted,
                revocation,
            }
        });

        // The signer (or a document time-stamp's TSA).
        let path = entry.cert.as_ref().map(|c| self.path(c));
        let proof_at = proof.as_ref().map(|p| p.at);
        let (trusted, revocation) = match (&path, doc_ts, &time_proof) {
            (Some(_), true, Some(tp)) => (tp.trusted.clone(), tp.revocation.clone()),
            (Some(path), true, None) => {
                let (at, proven) = judged_at(entry.end);
                (self.trust(path, at, proven, Purpose::Timestamping), self.revocation(path, info.signing_time))
            }
            (Some(path), false, _) => (
                self.trust(path, proof_at.unwrap_or(self.now), proof_at.is_some(), Purpose::Signing),
                self.revocation(path, proof_at),
            ),
            (None, _, _) => (
                Trust::Untrusted { reason: "no certificate".into(), evaluated_at: proof_at.unwrap_or(self.now) },
                Revocation::Unknown { reason: "no certificate".into() },
            ),
        };

        // The level.
        let level = (!doc_ts).then(|| {
            if proof.is_none() {
                return Level::BB;
            }
            let covered = |store: &Store| {
                path.as_ref().is_some_and(|p| self.covers(store, p))
                    && tsa_path.as_ref().is_some_and(|p| self.covers(store, p))
            };
            if !covered(&self.store) {
                return Level::BT;
            }
            let archived = self.stamped_stores.iter().any(|(end, store)| *end > entry.end && covered(store));
            if archived { Level::BLta } else { Level::BLt }
        });

        // Changes after.
        let mut modifications_after = Vec::new();
        let mut allowed_changes_after: Vec<String> = Vec::new();
        let mut changes_unknown = false;
        match changes {
            Ok(revisions) => {
                for change in revisions.iter().flat_map(|r| r.changes.iter()) {
                    let kind = match change {
                        Change::Signature => "signature",
                        Change::ValidationData => "validation_data",
                        Change::DocumentTimestamp => "document_timestamp",
                        Change::FormFilling => "form_filling",
                        Change::Modification(what) => {
                            modifications_after.push(what.clone());
                            continue;
                        }
                    };
                    if !allowed_changes_after.iter().any(|k| k == kind) {
                        allowed_changes_after.push(kind.to_string());
                    }
                }
            }
            Err(e) => {
                changes_unknown = true;
                reasons.push(format!("the later revisions could not be read: {e}"));
            }
        }

        // The verdict.
        let mut verdict = if changes_unknown { Verdict::Indeterminate } else { Verdict::Valid };
        let what = if doc_ts { "the document time-stamp" } else { "the signature" };
        if !info.digest_matches {
            fail(Verdict::Invalid, format!("the signed bytes do not match {what}"), &mut verdict, &mut reasons);
        }
        if !info.signature_valid {
            fail(Verdict::Invalid, format!("{what} does not verify"), &mut verdict, &mut reasons);
        }
        if info.timestamp.as_ref().is_some_and(|t| !(t.imprint_matches && t.signature_valid)) {
            fail(Verdict::Invalid, "the signature time-stamp does not verify".into(), &mut verdict, &mut reasons);
        }
        for m in &modifications_after {
            fail(Verdict::Invalid, format!("modified after signing: {m}"), &mut verdict, &mut reasons);
        }
        if let Revocation::Revoked { revoked_before_signing: true, .. } = revocation {
            if proof.is_some() {
                let who = if doc_ts { "the time-stamp certificate" } else { "the certificate" };
                fail(Verdict::Invalid, format!("{who} was revoked before the proven time"), &mut verdict, &mut reasons);
            } else {
                fail(
                    Verdict::Indeterminate,
                    "the certificate is revoked and nothing proves it signed before".into(),
                    &mut verdict,
                    &mut reasons,
                );
            }
        }
        if let Trust::Untrusted { reason, .. } = &trusted {
            fail(Verdict::Indeterminate, reason.clone(), &mut verdict, &mut reasons);
        }
        if !doc_ts {
            if let Revocation::Unknown { reason } = &revocation {
                fail(Verdict::Indeterminate, format!("revocation: {reason}"), &mut verdict, &mut reasons);
            }
            if let Some(tp) = &time_proof {
                if let Trust::Untrusted { reason, .. } = &tp.trusted {
                    fail(Verdict::Indeterminate, format!("time-stamp authority: {reason}"), &mut verdict, &mut reasons);
                }
                if let Revocation::Revoked { revoked_before_signing: true, .. } = tp.revocation {
                    fail(
                        Verdict::Indeterminate,
                        "the time-stamp authority's certificate was revoked before the time-stamp".into(),
                        &mut verdict,
                        &mut reasons,
                    );
                }
            }
        }

        let cert_cn = entry.cert.as_ref().map(Cert::cn).unwrap_or_else(|| info.signer_name.clone());
        let delegation = info.delegation.as_ref();
        SignatureReport {
            field: info.field_name.clone(),
            kind: if doc_ts { SignatureKind::DocumentTimestamp } else { SignatureKind::Signature },
            signer: delegation.map_or_else(|| cert_cn.clone(), |d| d.delegate_name.clone()),
            on_behalf_of: delegation.map(|_| cert_cn.clone()),
            delegate_id: delegation.map(|d| d.delegate_id.clone()),
            mandate_id: delegation.map(|d| d.mandate_id.clone()),
            mandate_sha256: delegation.map(|d| hex(&d.mandate_sha256, false)),
            signed_at: info.signing_time,
            time_proof,
            level,
            intact: info.is_intact(),
            covers_whole_file: info.covers_whole_file,
            certificate: entry.cert.as_ref().map(Cert::info),
            trusted,
            revocation,
            modifications_after,
            allowed_changes_after,
            seal: {
                let certified = entry.cert.as_ref().and_then(|c| crate::certificate_seal(c.der()));
                let stamp = info.seal_sha256;
                (certified.is_some() || stamp.is_some()).then(|| SealCheck {
                    certificate: certified.map(|h| hex(&h, false)),
                    stamp: stamp.map(|h| hex(&h, false)),
                    matches: certified.is_some() && certified == stamp,
                })
            },
            verdict,
            reasons,
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use crate::{
        CertIdHash, Delegation, LocalTsa, OcspResponder, OcspTimes, SignRequest, ValidationData, add_validation_data,
        ocsp_response, sign, timestamp_document, tsa_eku_extension,
    };
    use rcgen::{
        BasicConstraints, CertificateParams, CertificateRevocationListParams, CustomExtension, DnType,
        ExtendedKeyUsagePurpose, IsCa, Issuer, KeyIdMethod, KeyPair, KeyUsagePurpose, PKCS_ECDSA_P256_SHA256,
        PKCS_ECDSA_P384_SHA384, PKCS_RSA_SHA256, RevocationReason, RevokedCertParams, SerialNumber, date_time_ymd,
    };

    /// The signature time-stamp's genTime.
    const SIGNED: &str = "2026-06-01T00:00:00Z";
    /// When the OCSP responses and CRLs in the DSS were made.
    const CHECKED: &str = "2026-06-02T00:00:00Z";
    /// The document time-stamp.
    const ARCHIVED: &str = "2026-06-03T00:00:00Z";
    const NOW: &str = "2026-07-01T00:00:00Z";
    const SIGNER_SERIAL: &[u8] = &[0x01, 0x23, 0x45];

    fn at(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    /// Year, month, day (for rcgen).
    type Day = (i32, u8, u8);

    fn params(cn: &str) -> CertificateParams {
        let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
        p.distinguished_name.push(DnType::CommonName, cn);
        p.not_before = date_time_ymd(2024, 1, 1);
        p.not_after = date_time_ymd(2036, 1, 1);
        p
    }

    fn ca_params(cn: &str) -> CertificateParams {
        let mut p = params(cn);
        p.is_ca = IsCa::Ca(BasicConstraints::Constrained(1));
        p.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
        p
    }

    struct Pki {
        ca: Vec<u8>,
        issuer: Issuer<'static, KeyPair>,
        signer: Vec<u8>,
        signer_key: Vec<u8>,
        tsa: Vec<u8>,
        tsa_key: Vec<u8>,
        responder: Vec<u8>,
        responder_key: Vec<u8>,
    }

    fn ca(cn: &str) -> (Vec<u8>, Issuer<'static, KeyPair>) {
        let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).unwrap();
        let p = ca_params(cn);
        let cert = p.self_signed(&key).unwrap();
        (cert.der().to_vec(), Issuer::new(p, key))
    }

    fn leaf(issuer: &Issuer<'static, KeyPair>, p: &CertificateParams) -> (Vec<u8>, Vec<u8>) {
        let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).unwrap();
        let cert = p.signed_by(&key, issuer).unwrap();
        (cert.der().to_vec(), key.serialize_der())
    }

    fn signer_params(not_after: (i32, u8, u8)) -> CertificateParams {
        let mut p = params("山田 太郎");
        p.serial_number = Some(SerialNumber::from_slice(SIGNER_SERIAL));
        p.not_after = date_time_ymd(not_after.0, not_after.1, not_after.2);
        p.key_usages = vec![KeyUsagePurpose::DigitalSignature, KeyUsagePurpose::ContentCommitment];
        p
    }

    fn pki_with(signer_until: (i32, u8, u8)) -> Pki {
        let (ca, issuer) = ca("keiyaku test CA");
        let (signer, signer_key) = leaf(&issuer, &signer_params(signer_until));
        let mut tp = params("keiyaku test TSA");
        let (oid, content) = tsa_eku_extension();
        let mut eku = CustomExtension::from_oid_content(&oid, content);
        eku.set_criticality(true);
        tp.custom_extensions = vec![eku];
        let (tsa, tsa_key) = leaf(&issuer, &tp);
        let mut rp = params("keiyaku test OCSP");
        rp.extended_key_usages = vec![ExtendedKeyUsagePurpose::OcspSigning];
        rp.custom_extensions = vec![CustomExtension::from_oid_content(crate::OID_OCSP_NOCHECK, vec![0x05, 0x00])];
        let (responder, responder_key) = leaf(&issuer, &rp);
        Pki { ca, issuer, signer, signer_key, tsa, tsa_key, responder, responder_key }
    }

    fn pki() -> Pki {
        pki_with((2036, 1, 1))
    }

    impl Pki {
        fn tsa(&self, time: &str) -> LocalTsa {
            let mut tsa = LocalTsa::new(self.tsa.clone(), vec![self.ca.clone()], self.tsa_key.clone());
            tsa.time = Some(at(time));
            tsa
        }

        fn sign(&self, pdf: &[u8]) -> Vec<u8> {
            let chain = vec![self.ca.clone()];
            sign(&SignRequest::new(pdf, &self.signer, &chain, &self.signer_key, at(SIGNED)), &self.tsa(SIGNED)).unwrap()
        }

        fn ocsp_by(&self, responder: &[u8], key: &[u8], cert: &[u8], status: CertStatus) -> Vec<u8> {
            let id = CertId::of(cert, &self.ca, CertIdHash::Sha1).unwrap();
            let times = OcspTimes { produced_at: at(CHECKED), next_update: Some(at(NOW)) };
            ocsp_response(&OcspResponder { cert_der: responder, key_pkcs8: key }, &[(id, status)], times, None).unwrap()
        }

        fn ocsp(&self, cert: &[u8], status: CertStatus) -> Vec<u8> {
            self.ocsp_by(&self.responder, &self.responder_key, cert, status)
        }

        /// The DSS with the chain and an OCSP response for the signer (`status`) and the TSA.
        fn with_dss(&self, pdf: &[u8], status: CertStatus) -> Vec<u8> {
            let data = ValidationData {
                certs: vec![self.signer.clone(), self.tsa.clone(), self.ca.clone(), self.responder.clone()],
                ocsps: vec![self.ocsp(&self.signer, status), self.ocsp(&self.tsa, CertStatus::Good)],
                crls: Vec::new(),
            };
            add_validation_data(pdf, &data).unwrap()
        }

        /// A CRL from the CA, made at CHECKED, revoking `revoked` (serial, day).
        fn crl(&self, revoked: &[(&[u8], Day)]) -> Vec<u8> {
            let params = CertificateRevocationListParams {
                this_update: date_time_ymd(2026, 6, 2),
                next_update: date_time_ymd(2026, 7, 2),
                crl_number: SerialNumber::from(7u64),
                issuing_distribution_point: None,
                revoked_certs: revoked
                    .iter()
                    .map(|&(serial, (y, m, d))| RevokedCertParams {
                        serial_number: SerialNumber::from_slice(serial),
                        revocation_time: date_time_ymd(y, m, d),
                        reason_code: Some(RevocationReason::KeyCompromise),
                        invalidity_date: None,
                    })
                    .collect(),
                key_identifier_method: KeyIdMethod::Sha256,
            };
            params.signed_by(&self.issuer).unwrap().der().to_vec()
        }
    }

    fn classic_pdf(objects: &[&[u8]]) -> Vec<u8> {
        let mut buf = b"%PDF-1.7\n%\xE2\xE3\xCF\xD3\n".to_vec();
        let mut offsets = Vec::new();
        for (i, body) in objects.iter().enumerate() {
            offsets.push(buf.len());
            buf.extend_from_slice(format!("{} 0 obj\n", i + 1).as_bytes());
            buf.extend_from_slice(body);
            buf.extend_from_slice(b"\nendobj\n");
        }
        let xref = buf.len();
        let mut t = format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1);
        for off in offsets {
            let _ = writeln!(t, "{off:010} 00000 n ");
        }
        let _ = write!(t, "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n", objects.len() + 1);
        buf.extend_from_slice(t.as_bytes());
        buf
    }

    const CONTENT: &[u8] = b"<< /Length 43 >>\nstream\nBT /F1 24 Tf 72 760 Td (Hello keiyaku) Tj ET\nendstream";

    fn simple_pdf() -> Vec<u8> {
        classic_pdf(&[
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 /MediaBox [0 0 595 842] >>",
            b"<< /Type /Page /Parent 2 0 R /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>",
            CONTENT,
            b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        ])
    }

    /// Appends a classic incremental update replacing object `id` with `body`.
    fn append_update(pdf: &[u8], id: u32, body: &[u8]) -> Vec<u8> {
        let sx = pdf.windows(9).rposition(|w| w == b"startxref").unwrap();
        let digits: Vec<u8> =
            pdf[sx + 9..].iter().copied().skip_while(u8::is_ascii_whitespace).take_while(u8::is_ascii_digit).collect();
        let prev: usize = String::from_utf8(digits).unwrap().parse().unwrap();
        let size = load(pdf).unwrap().trailer.get(b"Size").unwrap().as_i64().unwrap();
        let mut out = pdf.to_vec();
        let off = out.len();
        out.extend_from_slice(format!("{id} 0 obj\n").as_bytes());
        out.extend_from_slice(body);
        out.extend_from_slice(b"\nendobj\n");
        let xref = out.len();
        out.extend_from_slice(
            format!(
                "xref\n{id} 1\n{off:010} 00000 n\r\ntrailer\n<< /Size {size} /Prev {prev} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n"
            )
            .as_bytes(),
        );
        out
    }

    fn run(pdf: &[u8], roots: &[Vec<u8>]) -> Report {
        report(pdf, roots, at(NOW)).unwrap()
    }

    #[test]
    fn a_b_t_signature_without_validation_data_is_indeterminate() {
        let pki = pki();
        let signed = pki.sign(&simple_pdf());
        let r = run(&signed, std::slice::from_ref(&pki.ca));
        assert_eq!(r.signatures.len(), 1);
        let s = &r.signatures[0];
        assert_eq!(s.kind, SignatureKind::Signature);
        assert_eq!(s.field.as_deref(), Some("Signature1"));
        assert_eq!(s.signer, "山田 太郎");
        assert_eq!(s.on_behalf_of, None);
        assert_eq!(s.signed_at, Some(at(SIGNED)));
        assert_eq!(s.level, Some(Level::BT));
        assert!(s.intact && s.covers_whole_file);
        let proof = s.time_proof.as_ref().unwrap();
        assert_eq!(
            (proof.at, proof.by.as_str(), proof.kind),
            (at(SIGNED), "keiyaku test TSA", TimeProofKind::SignatureTimestamp)
        );
        // The TSA is judged now (no later document time-stamp), the signer at the proven time.
        assert_eq!(
            proof.trusted,
            Trust::Trusted { chain: vec!["keiyaku test TSA".into(), "keiyaku test CA".into()], evaluated_at: at(NOW) }
        );
        assert_eq!(
            s.trusted,
            Trust::Trusted { chain: vec!["山田 太郎".into(), "keiyaku test CA".into()], evaluated_at: at(SIGNED) }
        );
        assert_eq!(s.revocation, Revocation::Unknown { reason: "no revocation information".into() });
        assert_eq!(s.verdict, Verdict::Indeterminate);
        assert_eq!(r.verdict, Verdict::Indeterminate);
        assert_eq!(r.reasons, vec!["Signature1: revocation: no revocation information".to_string()]);
        let cert = s.certificate.as_ref().unwrap();
        assert_eq!(
            (cert.subject.as_str(), cert.issuer.as_str(), cert.serial.as_str()),
            ("山田 太郎", "keiyaku test CA", "012345")
        );
        assert_eq!(cert.not_after, Some(at("2036-01-01T00:00:00Z")));
        assert_eq!(cert.sha256, hex(&Sha256::digest(&pki.signer), false));
    }

    #[test]
    fn validation_data_in_the_dss_makes_a_valid_b_lt_signature() {
        let pki = pki();
        let pdf = pki.with_dss(&pki.sign(&simple_pdf()), CertStatus::Good);
        let r = run(&pdf, std::slice::from_ref(&pki.ca));
        let s = &r.signatures[0];
        assert_eq!(s.level, Some(Level::BLt));
        assert!(s.trusted.is_trusted());
        assert_eq!(s.revocation, Revocation::Good { checked_at: at(CHECKED), source: RevocationSource::Ocsp });
        let proof = s.time_proof.as_ref().unwrap();
        assert_eq!(proof.revocation, Revocation::Good { checked_at: at(CHECKED), source: RevocationSource::Ocsp });
        assert!(!s.covers_whole_file);
        assert_eq!((s.verdict, r.verdict), (Verdict::Valid, Verdict::Valid), "{:?}", r.reasons);
        assert!(r.reasons.is_empty());
    }

    #[test]
    fn a_document_timestamp_over_the_dss_makes_b_lta() {
        let pki = pki();
        let pdf = pki.with_dss(&pki.sign(&simple_pdf()), CertStatus::Good);
        let pdf = timestamp_document(&pdf, &pki.tsa(ARCHIVED)).unwrap();
        let r = run(&pdf, std::slice::from_ref(&pki.ca));
        assert_eq!(r.signatures.len(), 2);
        let s = &r.signatures[0];
        assert_eq!(s.level, Some(Level::BLta));
        // The signature's own TSA is now judged at the document time-stamp.
        let proof = s.time_proof.as_ref().unwrap();
        assert!(matches!(proof.trusted, Trust::Trusted { evaluated_at, .. } if evaluated_at == at(ARCHIVED)));
        let d = &r.signatures[1];
        assert_eq!(d.kind, SignatureKind::DocumentTimestamp);
        assert_eq!(d.level, None);
        assert_eq!(d.signer, "keiyaku test TSA");
        assert_eq!(d.signed_at, Some(at(ARCHIVED)));
        let dp = d.time_proof.as_ref().unwrap();
        assert_eq!((dp.at, dp.kind), (at(ARCHIVED), TimeProofKind::DocumentTimestamp));
        assert!(d.intact && d.covers_whole_file && d.trusted.is_trusted());
        // The same TSA certificate: its OCSP response in the DSS is older than this time-stamp.
        assert!(matches!(d.revocation, Revocation::Unknown { .. }));
        assert_eq!(
            (s.verdict, d.verdict, r.verdict),
            (Verdict::Valid, Verdict::Valid, Verdict::Valid),
            "{:?}",
            r.reasons
        );

        // A document time-stamp before the DSS does not make B-LTA: it does not cover it.
        let early = timestamp_document(&pki.sign(&simple_pdf()), &pki.tsa(ARCHIVED)).unwrap();
        let early = pki.with_dss(&early, CertStatus::Good);
        let r = run(&early, std::slice::from_ref(&pki.ca));
        assert_eq!(r.signatures[0].level, Some(Level::BLt));
        assert_eq!(r.verdict, Verdict::Valid, "{:?}", r.reasons);
    }

    #[test]
    fn an_unknown_root_is_untrusted_and_indeterminate() {
        let pki = pki();
        let (other, _) = ca("another CA");
        let pdf = pki.with_dss(&pki.sign(&simple_pdf()), CertStatus::Good);
        let r = run(&pdf, &[other]);
        let s = &r.signatures[0];
        assert_eq!(
            s.trusted,
            Trust::Untrusted { reason: "no chain to a trusted root".into(), evaluated_at: at(SIGNED) }
        );
        assert!(!s.time_proof.as_ref().unwrap().trusted.is_trusted());
        // The level is about the data in the file, not about trust.
        assert_eq!(s.level, Some(Level::BLt));
        assert!(s.intact);
        assert_eq!(r.verdict, Verdict::Indeterminate);
        assert!(r.reasons.contains(&"Signature1: no chain to a trusted root".to_string()), "{:?}", r.reasons);
        // No roots at all: the same.
        assert_eq!(run(&pdf, &[]).verdict, Verdict::Indeterminate);
    }

    #[test]
    fn a_revocation_after_the_proven_time_leaves_the_signature_valid() {
        let pki = pki();
        let revoked = CertStatus::Revoked { at: at("2026-06-01T12:00:00Z"), reason: Some(1) };
        let pdf = pki.with_dss(&pki.sign(&simple_pdf()), revoked);
        let r = run(&pdf, std::slice::from_ref(&pki.ca));
        let s = &r.signatures[0];
        assert_eq!(
            s.revocation,
            Revocation::Revoked {
                at: at("2026-06-01T12:00:00Z"),
                reason: Some("key_compromise".into()),
                revoked_before_signing: false,
                source: RevocationSource::Ocsp,
            }
        );
        assert_eq!(s.level, Some(Level::BLt));
        assert_eq!(r.verdict, Verdict::Valid, "{:?}", r.reasons);
    }

    #[test]
    fn a_revocation_before_the_proven_time_is_invalid() {
        let pki = pki();
        let revoked = CertStatus::Revoked { at: at("2026-05-01T00:00:00Z"), reason: None };
        let pdf = pki.with_dss(&pki.sign(&simple_pdf()), revoked);
        let r = run(&pdf, std::slice::from_ref(&pki.ca));
        let s = &r.signatures[0];
        assert!(matches!(s.revocation, Revocation::Revoked { revoked_before_signing: true, reason: None, .. }));
        assert_eq!(r.verdict, Verdict::Invalid);
        assert!(r.reasons.contains(&"Signature1: the certificate was revoked before the proven time".to_string()));
    }

    #[test]
    fn a_changed_byte_makes_the_signature_invalid() {
        let pki = pki();
        let mut pdf = pki.with_dss(&pki.sign(&simple_pdf()), CertStatus::Good);
        let at_hello = pdf.windows(5).position(|w| w == b"Hello").unwrap();
        pdf[at_hello] = b'J';
        let r = run(&pdf, std::slice::from_ref(&pki.ca));
        let s = &r.signatures[0];
        assert!(!s.intact);
        assert_eq!(s.verdict, Verdict::Invalid);
        assert_eq!(r.verdict, Verdict::Invalid);
        assert_eq!(r.reasons, vec!["Signature1: the signed bytes do not match the signature".to_string()]);
    }

    #[test]
    fn a_signer_certificate_expired_at_the_proven_time_is_untrusted() {
        let pki = pki_with((2025, 1, 1));
        let pdf = pki.with_dss(&pki.sign(&simple_pdf()), CertStatus::Good);
        let r = run(&pdf, std::slice::from_ref(&pki.ca));
        let s = &r.signatures[0];
        assert_eq!(
            s.trusted,
            Trust::Untrusted {
                reason: "certificate expired at the proven time: 山田 太郎".into(),
                evaluated_at: at(SIGNED)
            }
        );
        assert!(s.intact);
        assert_eq!(r.verdict, Verdict::Indeterminate);
    }

    #[test]
    fn crls_in_the_dss_give_revocation_status() {
        let pki = pki();
        let signed = pki.sign(&simple_pdf());
        let dss = |crl: Vec<u8>| ValidationData {
            certs: vec![pki.ca.clone(), pki.signer.clone(), pki.tsa.clone()],
            ocsps: Vec::new(),
            crls: vec![crl],
        };
        // Not listed: good as of the CRL's thisUpdate, for the signer and the TSA.
        let pdf = add_validation_data(&signed, &dss(pki.crl(&[]))).unwrap();
        let r = run(&pdf, std::slice::from_ref(&pki.ca));
        let s = &r.signatures[0];
        assert_eq!(s.revocation, Revocation::Good { checked_at: at(CHECKED), source: RevocationSource::Crl });
        assert_eq!(s.level, Some(Level::BLt));
        assert_eq!(r.verdict, Verdict::Valid, "{:?}", r.reasons);
        // Listed before the signing time.
        let pdf = add_validation_data(&signed, &dss(pki.crl(&[(SIGNER_SERIAL, (2026, 5, 1))]))).unwrap();
        let r = run(&pdf, std::slice::from_ref(&pki.ca));
        assert_eq!(
            r.signatures[0].revocation,
            Revocation::Revoked {
                at: at("2026-05-01T00:00:00Z"),
                reason: Some("key_compromise".into()),
                revoked_before_signing: true,
                source: RevocationSource::Crl,
            }
        );
        assert_eq!(r.verdict, Verdict::Invalid);
        // A CRL from another CA says nothing.
        let other = pki_with((2036, 1, 1));
        let pdf = add_validation_data(&signed, &dss(other.crl(&[(SIGNER_SERIAL, (2026, 5, 1))]))).unwrap();
        let r = run(&pdf, std::slice::from_ref(&pki.ca));
        assert_eq!(r.signatures[0].revocation, Revocation::Unknown { reason: "no revocation information".into() });
    }

    #[test]
    fn ocsp_responses_from_unauthorized_responders_or_tampered_are_ignored() {
        let pki = pki();
        let signed = pki.sign(&simple_pdf());
        // A certificate of the same CA without id-kp-OCSPSigning.
        let (rogue, rogue_key) = leaf(&pki.issuer, &params("not a responder"));
        // A responder of another CA.
        let other = pki_with((2036, 1, 1));
        let mut tampered = pki.ocsp(&pki.signer, CertStatus::Good);
        let produced = generalized_time_tlv(at(CHECKED));
        let pos = tampered.windows(produced.len()).position(|w| w == produced).unwrap();
        tampered[pos + 5] ^= 1;
        for ocsp in [
            pki.ocsp_by(&rogue, &rogue_key, &pki.signer, CertStatus::Good),
            pki.ocsp_by(&other.responder, &other.responder_key, &pki.signer, CertStatus::Good),
            tampered,
        ] {
            let data =
                ValidationData { certs: vec![pki.ca.clone(), rogue.clone()], ocsps: vec![ocsp], crls: Vec::new() };
            let pdf = add_validation_data(&signed, &data).unwrap();
            let r = run(&pdf, std::slice::from_ref(&pki.ca));
            let s = &r.signatures[0];
            assert_eq!(s.revocation, Revocation::Unknown { reason: "no revocation information".into() });
            assert_eq!(s.level, Some(Level::BT));
            assert_eq!(r.verdict, Verdict::Indeterminate);
        }
        // Signed by the CA itself: accepted.
        let ca_key = pki.issuer.key().serialize_der();
        let pdf = add_validation_data(
            &signed,
            &ValidationData {
                certs: Vec::new(),
                ocsps: vec![pki.ocsp_by(&pki.ca, &ca_key, &pki.signer, CertStatus::Good)],
                crls: Vec::new(),
            },
        )
        .unwrap();
        let r = run(&pdf, std::slice::from_ref(&pki.ca));
        assert!(matches!(r.signatures[0].revocation, Revocation::Good { .. }));
    }

    #[test]
    fn a_good_answer_older_than_the_time_proof_is_not_enough() {
        let pki = pki();
        let signed = pki.sign(&simple_pdf());
        let id = CertId::of(&pki.signer, &pki.ca, CertIdHash::Sha1).unwrap();
        let times = OcspTimes { produced_at: at("2026-05-01T00:00:00Z"), next_update: None };
        let responder = OcspResponder { cert_der: &pki.responder, key_pkcs8: &pki.responder_key };
        let old = ocsp_response(&responder, &[(id, CertStatus::Good)], times, None).unwrap();
        let pdf =
            add_validation_data(&signed, &ValidationData { certs: Vec::new(), ocsps: vec![old], crls: Vec::new() })
                .unwrap();
        let r = run(&pdf, std::slice::from_ref(&pki.ca));
        assert_eq!(
            r.signatures[0].revocation,
            Revocation::Unknown { reason: "the revocation information predates the time proof".into() }
        );
    }

    #[test]
    fn a_delegate_signs_on_behalf_of_the_certificate_holder() {
        let pki = pki();
        let pdf = simple_pdf();
        let chain = vec![pki.ca.clone()];
        let mut req = SignRequest::new(&pdf, &pki.signer, &chain, &pki.signer_key, at(SIGNED));
        req.delegation = Some(Delegation {
            delegate_name: "鈴木 一郎".into(),
            delegate_id: "A1533603".into(),
            mandate_id: "M0123456789abcdef".into(),
            mandate_sha256: [0xab; 32],
        });
        let signed = sign(&req, &pki.tsa(SIGNED)).unwrap();
        let s = &run(&signed, std::slice::from_ref(&pki.ca)).signatures[0];
        assert_eq!(s.signer, "鈴木 一郎");
        assert_eq!(s.on_behalf_of.as_deref(), Some("山田 太郎"));
        assert_eq!(s.delegate_id.as_deref(), Some("A1533603"));
        assert_eq!(s.mandate_id.as_deref(), Some("M0123456789abcdef"));
        assert_eq!(s.mandate_sha256, Some("ab".repeat(32)));
        assert_eq!(s.certificate.as_ref().map(|c| c.subject.as_str()), Some("山田 太郎"));
    }

    #[test]
    fn an_rsa_root_and_a_p384_intermediate_chain() {
        let pki = pki();
        let root_key = KeyPair::generate_for(&PKCS_RSA_SHA256).unwrap();
        let root_params = ca_params("RSA root");
        let root = root_params.self_signed(&root_key).unwrap().der().to_vec();
        let root_issuer = Issuer::new(root_params, root_key);
        let mid_key = KeyPair::generate_for(&PKCS_ECDSA_P384_SHA384).unwrap();
        let mut mid_params = ca_params("P-384 intermediate");
        mid_params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        let mid = mid_params.signed_by(&mid_key, &root_issuer).unwrap().der().to_vec();
        let mid_issuer = Issuer::new(mid_params, mid_key);
        let (signer, signer_key) = leaf(&mid_issuer, &signer_params((2036, 1, 1)));
        let pdf = simple_pdf();
        let chain = vec![mid.clone(), root.clone()];
        let signed = sign(&SignRequest::new(&pdf, &signer, &chain, &signer_key, at(SIGNED)), &pki.tsa(SIGNED)).unwrap();
        let r = run(&signed, &[root.clone(), pki.ca.clone()]);
        assert_eq!(
            r.signatures[0].trusted,
            Trust::Trusted {
                chain: vec!["山田 太郎".into(), "P-384 intermediate".into(), "RSA root".into()],
                evaluated_at: at(SIGNED)
            }
        );
        // Without the RSA root the path stops at it, untrusted.
        let r = run(&signed, std::slice::from_ref(&pki.ca));
        assert!(!r.signatures[0].trusted.is_trusted());
        // A leaf posing as an intermediate is not a CA.
        let (fake, fake_key) = leaf(&pki.issuer, &params("not a CA"));
        let fake_issuer = Issuer::new(params("not a CA"), KeyPair::try_from(fake_key.as_slice()).unwrap());
        let (signer, signer_key) = leaf(&fake_issuer, &signer_params((2036, 1, 1)));
        let chain = vec![fake, pki.ca.clone()];
        let signed = sign(&SignRequest::new(&pdf, &signer, &chain, &signer_key, at(SIGNED)), &pki.tsa(SIGNED)).unwrap();
        let r = run(&signed, std::slice::from_ref(&pki.ca));
        assert!(
            matches!(&r.signatures[0].trusted, Trust::Untrusted { reason, .. } if reason == "issuer is not a CA: not a CA"),
            "{:?}",
            r.signatures[0].trusted
        );
    }

    #[test]
    fn unsigned_and_unreadable_files() {
        let r = run(&simple_pdf(), &[]);
        assert_eq!((r.signatures.len(), r.verdict), (0, Verdict::Unsigned));
        assert!(matches!(report(b"not a pdf", &[], at(NOW)), Err(PadesError::Pdf(_))));
        assert!(describe(&r).starts_with("Verdict: unsigned (0 entries)"));
    }

    #[test]
    fn modifications_after_come_from_changes_after() {
        let pki = pki();
        let signed = pki.sign(&simple_pdf());
        let end = signed.len();
        let changed = append_update(
            &signed,
            4,
            b"<< /Length 43 >>\nstream\nBT /F1 24 Tf 72 760 Td (Jello keiyaku) Tj ET\nendstream",
        );
        let r = run(&changed, std::slice::from_ref(&pki.ca));
        let s = &r.signatures[0];
        assert!(s.intact && !s.covers_whole_file);
        let expected: Vec<String> = changes_after(&changed, end, None)
            .unwrap()
            .into_iter()
            .flat_map(|c| c.changes)
            .filter_map(|c| match c {
                Change::Modification(m) => Some(m),
                _ => None,
            })
            .collect();
        assert_eq!(s.modifications_after, expected);
        if !expected.is_empty() {
            assert_eq!(r.verdict, Verdict::Invalid);
            assert!(r.reasons.iter().any(|r| r.starts_with("Signature1: modified after signing: ")));
        }
    }

    #[test]
    fn describe_renders_one_block_per_entry() {
        let pki = pki();
        let pdf = pki.with_dss(&pki.sign(&simple_pdf()), CertStatus::Good);
        let pdf = timestamp_document(&pdf, &pki.tsa(ARCHIVED)).unwrap();
        let text = describe(&run(&pdf, std::slice::from_ref(&pki.ca)));
        for line in [
            "Verdict: valid (2 entries)",
            "1. Signature \"Signature1\" by 山田 太郎\n",
            "   claimed signing time: 2026-06-01T00:00:00Z\n",
            "   time proof: 2026-06-01T00:00:00Z by keiyaku test TSA (signature time-stamp), TSA trusted at 2026-06-03T00:00:00Z (keiyaku test TSA < keiyaku test CA)\n",
            "   level: B-LTA\n",
            "   trust: trusted at 2026-06-01T00:00:00Z (山田 太郎 < keiyaku test CA)\n",
            "   revocation: good (OCSP, as of 2026-06-02T00:00:00Z)\n",
            "   certificate: 山田 太郎, serial 012345, issued by keiyaku test CA, valid 2024-01-01T00:00:00Z to 2036-01-01T00:00:00Z\n",
            "2. Document time-stamp \"Signature2\" by keiyaku test TSA\n",
        ] {
            assert!(text.contains(line), "{line:?} not in\n{text}");
        }
    }

    #[test]
    fn changed_and_cut_bytes_never_panic() {
        let pki = pki();
        let pdf = pki.with_dss(&pki.sign(&simple_pdf()), CertStatus::Good);
        let pdf = timestamp_document(&pdf, &pki.tsa(ARCHIVED)).unwrap();
        let roots = [pki.ca.clone()];
        // Hex digits of the signatures' /Contents (DER inside), the DSS revision (DER streams)
        // and any byte anywhere.
        let infos = crate::verify(&pdf).unwrap();
        let hex_digits: Vec<usize> =
            infos.iter().flat_map(|s| (s.byte_range[1] + 1..s.byte_range[1] + 6000).step_by(7)).collect();
        let dss_revision = infos[0].byte_range[2] + infos[0].byte_range[3]..infos[1].byte_range[1];
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed as usize
        };
        for round in 0..180 {
            let mut bad = pdf.clone();
            let pos = match round % 3 {
                0 => hex_digits[next() % hex_digits.len()],
                1 => dss_revision.start + next() % dss_revision.len(),
                _ => next() % bad.len(),
            };
            bad[pos] = if round % 3 == 0 { b"0123456789ABCDEF"[next() % 16] } else { next() as u8 };
            let _ = report(&bad, &roots, at(NOW));
        }
        for cut in (0..pdf.len()).step_by(pdf.len() / 40 + 1) {
            let _ = report(&pdf[..cut], &roots, at(NOW));
        }
    }

    #[test]
    fn garbage_in_the_dss_is_skipped() {
        let pki = pki();
        let signed = pki.sign(&simple_pdf());
        let junk = ValidationData {
            certs: vec![vec![0x30, 0x00]],
            ocsps: vec![vec![0x30, 0x03, 1, 2]],
            crls: vec![b"x".to_vec()],
        };
        let pdf = add_validation_data(&signed, &junk).unwrap();
        let r = run(&pdf, &[vec![0xff; 3], pki.ca.clone()]);
        assert!(r.signatures[0].trusted.is_trusted());
        assert_eq!(r.verdict, Verdict::Indeterminate);
    }
}
