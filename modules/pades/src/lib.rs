//! PAdES signatures for keiyaku: a pure library, no HTTP.
//!
//! - [`sign`] appends an incremental update to a PDF with a signature field (optionally a
//!   visible stamp, see [`Appearance`]) and a PAdES-B-T signature: a detached CMS SignedData
//!   (`/SubFilter /ETSI.CAdES.detached`, ECDSA P-256 / SHA-256, ESS signingCertificateV2, no
//!   signing-time attribute) carrying an RFC 3161 signature time-stamp.
//! - [`TimeStamper`] issues time-stamp tokens; [`LocalTsa`] is an in-process TSA whose
//!   [`tsa_response`] answers RFC 3161 requests (for a `/tsa` endpoint).
//! - [`verify`] checks every signature of a PDF; [`page_count_and_sizes`] validates uploads.
//!
//! Nothing here panics on bad input: unreadable PDFs and DER give a [`PadesError`].
//!
//! ```no_run
//! # fn demo(pdf: &[u8], cert: &[u8], ca: Vec<u8>, key: &[u8], tsa: keiyaku_pades::LocalTsa)
//! # -> Result<(), keiyaku_pades::PadesError> {
//! use keiyaku_pades::{Appearance, Seal, SignRequest, sign, verify};
//! let chain = vec![ca];
//! let mut req = SignRequest::new(pdf, cert, &chain, key, jiff::Timestamp::now());
//! req.appearance = Some(Appearance {
//!     page: 0,
//!     rect: None,
//!     seal: Seal { chars: vec!['山', '田'], vertical: true, date: None },
//!     label_lines: vec!["山田 太郎".into(), "2026-11-25".into()],
//! });
//! let signed = sign(&req, &tsa)?;
//! assert!(verify(&signed)?.iter().all(|s| s.is_intact()));
//! # Ok(()) }
//! ```

#![deny(missing_docs)]

mod appearance;
mod cms;
mod der;
mod ocsp;
mod pdf;
mod placement;
mod preflight;
mod report;
mod revisions;
mod seal_ref;
mod tsa;
mod verify;

pub use appearance::{Appearance, Seal};
pub use cms::Delegation;
pub use der::{crl_urls, is_issued_by};
pub use ocsp::{
    CertId, CertIdHash, CertStatus, OID_KP_OCSP_SIGNING, OID_OCSP_NOCHECK, OcspAnswer, OcspFailure, OcspRequest,
    OcspResponder, OcspTimes, ParsedOcsp, ocsp_failure, ocsp_request, ocsp_response, parse_ocsp_request,
    parse_ocsp_response,
};
pub use pdf::{CONTENTS_SIZE, ValidationData, has_open_signature_field};
pub use placement::{free_spots, occupied};
pub use preflight::{InflateLimits, preflight};
pub use report::{
    CertificateInfo, Level, Report, Revocation, RevocationSource, SealCheck, SignatureKind, SignatureReport, TimeProof,
    TimeProofKind, TimestampCertificate, Trust, Verdict, certificate_issued_by, certificate_not_after, describe,
    report, signer_certificates, timestamp_certificates,
};
pub use revisions::{Change, RevisionChange, changes_after, revision_ends};
pub use seal_ref::{SEAL_ATTRIBUTE_OID, certificate_seal, seal_extension};
pub use tsa::{
    DEFAULT_TSA_POLICY, LocalTsa, TimeStamper, TimestampInfo, check_token as check_timestamp_token, encode_oid,
    timestamp_request, token_certificate, token_from_response, tsa_eku_extension, tsa_response,
};
pub use verify::{SignatureInfo, page_count_and_sizes, verify};

/// Why signing, time-stamping or reading failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PadesError {
    /// The input is not a PDF this library can read.
    #[error("not a readable PDF: {0}")]
    Pdf(String),
    /// Encrypted PDFs are not signed.
    #[error("the PDF is encrypted")]
    Encrypted,
    /// Its compressed streams expand past a limit of [`InflateLimits`] (bytes).
    #[error("the PDF's streams expand past {limit} bytes")]
    TooExpanded {
        /// The limit reached.
        limit: usize,
    },
    /// The requested page (0-based) does not exist.
    #[error("page {0} does not exist")]
    NoSuchPage(usize),
    /// The private key is unusable or does not match the certificate.
    #[error("key: {0}")]
    Key(String),
    /// A certificate cannot be used.
    #[error("certificate: {0}")]
    Certificate(String),
    /// Malformed DER.
    #[error("ASN.1: {0}")]
    Asn1(String),
    /// The CMS does not fit the reserved `/Contents` space.
    #[error("the signature needs {needed} bytes but only {available} are reserved")]
    PlaceholderTooSmall {
        /// Size of the CMS.
        needed: usize,
        /// [`CONTENTS_SIZE`].
        available: usize,
    },
    /// The time-stamp could not be obtained.
    #[error("time-stamp: {0}")]
    Timestamp(String),
    /// A parameter is invalid.
    #[error("invalid: {0}")]
    Invalid(String),
}

/// Everything [`sign`] needs. Its `Debug` output shows sizes only (never the key).
#[derive(Clone)]
pub struct SignRequest<'a> {
    /// The PDF to sign (kept unchanged as the prefix of the result).
    pub pdf: &'a [u8],
    /// The signer certificate (DER, ECDSA P-256).
    pub cert_der: &'a [u8],
    /// The issuer chain (DER), e.g. the tenant CA; included in the CMS.
    pub chain: &'a [Vec<u8>],
    /// The signer's key, PKCS#8 DER (ECDSA P-256).
    pub key_pkcs8: &'a [u8],
    /// The signing time written as `/M` (Japan time).
    pub signing_time: jiff::Timestamp,
    /// `/Name`.
    pub name: Option<String>,
    /// `/Reason`.
    pub reason: Option<String>,
    /// `/Location`.
    pub location: Option<String>,
    /// `/ContactInfo`.
    pub contact_info: Option<String>,
    /// The field name `/T`; default `SignatureN` (the first unused N).
    pub field_name: Option<String>,
    /// The visible stamp; `None`: an invisible signature field on the first page.
    pub appearance: Option<Appearance>,
    /// SHA-256 of the registered seal the visible stamp is drawn from, named in a signed
    /// attribute (see [`certificate_seal`]).
    pub seal_sha256: Option<[u8; 32]>,
    /// A delegate's signature: who signed under which mandate, as a signed attribute.
    pub delegation: Option<Delegation>,
    /// Make this the certification signature (DocMDP, `/P 2`: later form filling, signatures,
    /// validation data and document time-stamps are allowed; any other change is flagged).
    /// Ignored when the document is certified already.
    pub certify: bool,
    /// With `certify`: empty, visible signature fields for the later signers, which their
    /// signatures fill (DocMDP P=2 allows filling fields, not adding visible ones).
    pub reserve: Vec<Reserved>,
}

/// A signature field reserved at certification: its page (from 0) and `[x, y, width,
/// height]` in points from the page's top-left corner, as [`Appearance::rect`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Reserved {
    /// The page, counted from 0.
    pub page: usize,
    /// `[x, y, width, height]`, top-left origin.
    pub rect: [f32; 4],
}

impl std::fmt::Debug for SignRequest<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignRequest")
            .field("pdf_len", &self.pdf.len())
            .field("cert_len", &self.cert_der.len())
            .field("chain_len", &self.chain.len())
            .field("signing_time", &self.signing_time)
            .field("name", &self.name)
            .field("reason", &self.reason)
            .field("location", &self.location)
            .field("field_name", &self.field_name)
            .field("appearance", &self.appearance)
            .field("delegation", &self.delegation)
            .field("seal_sha256", &self.seal_sha256)
            .field("certify", &self.certify)
            .field("reserve", &self.reserve)
            .finish_non_exhaustive()
    }
}

impl<'a> SignRequest<'a> {
    /// A request without name, reason, location or appearance.
    pub fn new(
        pdf: &'a [u8],
        cert_der: &'a [u8],
        chain: &'a [Vec<u8>],
        key_pkcs8: &'a [u8],
        signing_time: jiff::Timestamp,
    ) -> Self {
        Self {
            pdf,
            cert_der,
            chain,
            key_pkcs8,
            signing_time,
            name: None,
            reason: None,
            location: None,
            contact_info: None,
            field_name: None,
            appearance: None,
            seal_sha256: None,
            delegation: None,
            certify: false,
            reserve: Vec::new(),
        }
    }
}

/// A detached CMS SignedData (RFC 5652; id-data, SHA-256, ECDSA P-256, ESS
/// signingCertificateV2, the certificate and `chain` included) over `content`: how a signer
/// confirms a statement such as a delegation mandate with their own key.
pub fn sign_detached(
    key_pkcs8: &[u8],
    cert_der: &[u8],
    chain: &[Vec<u8>],
    content: &[u8],
) -> Result<Vec<u8>, PadesError> {
    let signer = cms::Signer::new(key_pkcs8, cert_der, chain)?;
    cms::detached(&signer, content)
}

/// The delegation named in a CMS SignedData's signed attributes (None when there is none
/// or the CMS cannot be read).
pub fn delegation_in(cms_der: &[u8]) -> Option<Delegation> {
    cms::parse_signed_data(cms_der).ok()?.delegation()
}

/// Checks a detached CMS SignedData over `content`: the digest matches and the signature
/// verifies with the embedded signer certificate, whose DER is returned.
pub fn verify_detached(cms_der: &[u8], content: &[u8]) -> Option<Vec<u8>> {
    use sha2::Digest;
    let sd = cms::parse_signed_data(cms_der).ok()?;
    let checked = sd.check(Some(sha2::Sha256::digest(content).into()));
    (checked.digest_ok && checked.signature_ok).then(|| checked.signer.map(|c| c.der)).flatten()
}

/// Signs `req.pdf` (PAdES-B-T): appends an incremental update with the signature field,
/// widget, appearance and signature dictionary, then fills `/Contents` with the CMS whose
/// signature is time-stamped by `tsa`. Earlier signatures stay valid.
pub fn sign(req: &SignRequest, tsa: &dyn TimeStamper) -> Result<Vec<u8>, PadesError> {
    pdf::sign(req, tsa)
}

/// Adds a document time-stamp (PAdES-B-LTA; `/Type /DocTimeStamp`, `/SubFilter
/// /ETSI.RFC3161`) over the whole file as an incremental update: the token's imprint is the
/// SHA-256 of the byte ranges. Earlier signatures stay valid.
pub fn timestamp_document(pdf: &[u8], tsa: &dyn TimeStamper) -> Result<Vec<u8>, PadesError> {
    pdf::timestamp_document(pdf, tsa)
}

/// Adds validation data to the Document Security Store (PAdES-B-LT) as an incremental
/// update: certificates, OCSP responses and CRLs join the DSS arrays (each stored once), and
/// the newest signature's VRI entry (keyed by the SHA-1 of its `/Contents`) lists them.
pub fn add_validation_data(pdf: &[u8], data: &ValidationData) -> Result<Vec<u8>, PadesError> {
    pdf::add_validation_data(pdf, data)
}
