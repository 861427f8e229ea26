//! The certs module's tables and records.

use crate::kek::Sealed;
use jiff::Timestamp;
use keiyaku_kernel::blob::{BlobMeta, Blobs};
use keiyaku_kernel::store::{Bytes, Table};
use serde::{Deserialize, Serialize};

/// `tenant` → the tenant's certificate authority.
pub const CAS: Table<CaRecord> = Table::new("certs_ca");
/// `tenant` → the current CRL.
pub const CRLS: Table<CrlRecord> = Table::new("certs_crl");
/// SHA-256 of the link token → one-time link.
pub const LINKS: Table<Link> = Table::new("certs_links");
/// `tenant/order id` → ticket order.
pub const ORDERS: Table<Order> = Table::new("certs_orders");
/// `tenant/ticket number` → ticket.
pub const TICKETS: Table<Ticket> = Table::new("certs_tickets");
/// `tenant/application id` → issuance application.
pub const APPLICATIONS: Table<Application> = Table::new("certs_applications");
/// `tenant/sha-256/NNNNNN` → one chunk of an uploaded identity document (raw bytes; schema
/// 2). The application's [`DocumentMeta::sha256`] names its content.
pub const DOCUMENT_CHUNKS: Table<Bytes> = Table::new("certs_document_blobs");
/// `tenant/sha-256` → size and chunk count of an identity document's content (schema 2).
pub const DOCUMENT_META: Table<BlobMeta> = Table::new("certs_document_meta");
/// The identity documents' content store.
pub const DOCUMENT_CONTENT: Blobs = Blobs::new(DOCUMENT_CHUNKS, DOCUMENT_META, 1024 * 1024);
/// Schema 1: `tenant/application id` → the uploaded identity document (base64). Still
/// declared so the migration can read it; empty once migrated (except records that did not
/// match their application).
pub const DOCUMENTS: Table<String> = Table::new("certs_documents");
/// `tenant/serial` → issued certificate.
pub const CERTIFICATES: Table<CertRecord> = Table::new("certs_certificates");
/// `tenant/user id` → serial of the user's current certificate.
pub const USER_CERTS: Table<String> = Table::new("certs_user_certs");
/// `tenant/serial` → revocation (what the CRL lists).
pub const REVOKED: Table<RevokedEntry> = Table::new("certs_revoked");
/// `tenant/serial` → the PKCS#12 key file of a key-file delivery, sealed.
pub const KEY_FILES: Table<KeyFile> = Table::new("certs_key_files");

/// `tenant` → the tenant's timestamp authority (RFC 3161), certified by the tenant CA.
pub const TSAS: Table<TsaRecord> = Table::new("certs_tsa");

/// `tenant` → the tenant CA's delegated OCSP responder (same record shape as the TSA's).
pub const OCSP_RESPONDERS: Table<TsaRecord> = Table::new("certs_ocsp_responder");

/// `tenant` → the tenant's system certificate (システム証明書), which signs what the
/// appliance itself issues, such as the 合意締結証明書 (same record shape as the TSA's).
pub const SYSTEM_CERTS: Table<TsaRecord> = Table::new("certs_system");

/// `tenant/serial` → every service certificate (TSA, OCSP responder, system) the tenant CA issued,
/// so OCSP answers `good` for one that was replaced.
pub const SERVICE_CERTS: Table<ServiceCert> = Table::new("certs_service_certs");

pub const TABLES: [&str; 17] = [
    TSAS.name(),
    OCSP_RESPONDERS.name(),
    SYSTEM_CERTS.name(),
    SERVICE_CERTS.name(),
    CAS.name(),
    CRLS.name(),
    LINKS.name(),
    ORDERS.name(),
    TICKETS.name(),
    APPLICATIONS.name(),
    DOCUMENTS.name(),
    DOCUMENT_CHUNKS.name(),
    DOCUMENT_META.name(),
    CERTIFICATES.name(),
    USER_CERTS.name(),
    REVOKED.name(),
    KEY_FILES.name(),
];

pub fn key(tenant: &str, id: &str) -> String {
    format!("{tenant}/{id}")
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaRecord {
    pub tenant: String,
    pub common_name: String,
    pub organization: String,
    pub cert_pem: String,
    /// Base64 DER of the CA certificate.
    pub cert_der: String,
    pub sealed_key: Sealed,
    pub not_before: Timestamp,
    pub not_after: Timestamp,
    pub created_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CrlRecord {
    pub number: u64,
    /// Base64 DER.
    pub der: String,
    pub this_update: Timestamp,
    pub next_update: Timestamp,
    pub entries: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LinkKind {
    /// Ticket order (subject: the buyer's e-mail).
    Order,
    /// Application details (subject: application id).
    Application,
    /// Holder approval (subject: application id).
    Approval,
    /// PKCS#12 download (subject: certificate serial).
    KeyFile,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Link {
    pub tenant: String,
    pub kind: LinkKind,
    pub subject: String,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    #[serde(default)]
    pub used_at: Option<Timestamp>,
}

/// How a certificate reaches its holder (証明書送付種類).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Delivery {
    /// 電子契約サービスに直接送付: registered to the signer's user.
    #[default]
    Service,
    /// A PKCS#12 key file for signing outside the service (also registered).
    KeyFile,
}

impl Delivery {
    pub const ALL: [Delivery; 2] = [Delivery::Service, Delivery::KeyFile];

    /// The member named `s` (its [`Delivery::as_str`]); `None` for any other name.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|d| d.as_str() == s)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Delivery::Service => "service",
            Delivery::KeyFile => "key_file",
        }
    }

    pub fn label_ja(self) -> &'static str {
        match self {
            Delivery::Service => "電子契約サービスに直接送付",
            Delivery::KeyFile => "鍵ファイル(PKCS#12)をダウンロード",
        }
    }

    pub fn label_en(self) -> &'static str {
        match self {
            Delivery::Service => "Registered directly in the e-contract service",
            Delivery::KeyFile => "Download a key file (PKCS#12)",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Billing {
    pub company: String,
    pub department: String,
    pub postal_code: String,
    pub address: String,
    pub phone: String,
    pub contact_name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Order {
    pub id: String,
    /// Order / invoice number shown to people, e.g. `T000001`.
    pub number: String,
    pub tenant: String,
    pub email: String,
    pub delivery: Delivery,
    pub billing: Billing,
    /// Quantities of 1-, 2- and 3-year tickets.
    pub quantities: [u32; 3],
    /// Unit prices (yen, tax excluded) at the time of the order.
    pub prices: [u32; 3],
    pub subtotals: [u64; 3],
    pub total: u64,
    pub tax: u64,
    pub tickets: Vec<String>,
    pub created_at: Timestamp,
    #[serde(default)]
    pub paid_at: Option<Timestamp>,
    #[serde(default)]
    pub released_at: Option<Timestamp>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TicketStatus {
    /// Bought, waiting for payment (`release_tickets = "on_payment"`).
    Unreleased,
    Available,
    Consumed,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ticket {
    pub number: String,
    pub tenant: String,
    pub order_id: String,
    pub term_years: u8,
    pub delivery: Delivery,
    pub status: TicketStatus,
    #[serde(default)]
    pub consumed_by: Option<String>,
    #[serde(default)]
    pub consumed_at: Option<Timestamp>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ApplicantKind {
    /// 本人
    #[serde(rename = "self")]
    Holder,
    /// 代理人
    Proxy,
}

impl ApplicantKind {
    pub const ALL: [ApplicantKind; 2] = [ApplicantKind::Holder, ApplicantKind::Proxy];

    /// The member named `s` (its [`ApplicantKind::as_str`]); `None` for any other name.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ApplicantKind::Holder => "self",
            ApplicantKind::Proxy => "proxy",
        }
    }

    pub fn label_ja(self) -> &'static str {
        match self {
            ApplicantKind::Holder => "本人",
            ApplicantKind::Proxy => "代理人",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AppStatus {
    /// Registered; details are entered through the mailed link.
    Registered,
    /// Proxy application submitted; waiting for the holder's approval.
    AwaitingApproval,
    Issued,
    Rejected,
}

impl AppStatus {
    pub const ALL: [AppStatus; 4] =
        [AppStatus::Registered, AppStatus::AwaitingApproval, AppStatus::Issued, AppStatus::Rejected];

    pub fn as_str(self) -> &'static str {
        match self {
            AppStatus::Registered => "registered",
            AppStatus::AwaitingApproval => "awaiting_approval",
            AppStatus::Issued => "issued",
            AppStatus::Rejected => "rejected",
        }
    }
}

/// What the applicant enters (seed §2.2 (10)–(11)), validated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Details {
    pub company_name: String,
    pub company_name_kana: String,
    pub surname: String,
    pub given_name: String,
    pub surname_kana: String,
    pub given_name_kana: String,
    pub user_id: String,
    pub email: String,
    /// `Surname.Given`; the certificate shows `BN-` + this.
    pub display_name: String,
    pub phone: String,
}

impl Details {
    pub fn certificate_name(&self) -> String {
        format!("BN-{}", self.display_name)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocumentMeta {
    pub name: String,
    pub content_type: String,
    pub size: usize,
    pub sha256: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Application {
    pub id: String,
    pub tenant: String,
    pub applicant: ApplicantKind,
    /// The applicant's e-mail (receives the details link and the issuance notice).
    pub email: String,
    pub ticket: String,
    pub term_years: u8,
    pub delivery: Delivery,
    pub status: AppStatus,
    #[serde(default)]
    pub details: Option<Details>,
    #[serde(default)]
    pub document: Option<DocumentMeta>,
    /// Argon2id hash of the 12-digit PIN (never the PIN).
    #[serde(default)]
    pub pin_hash: Option<String>,
    pub created_at: Timestamp,
    #[serde(default)]
    pub submitted_at: Option<Timestamp>,
    #[serde(default)]
    pub decided_at: Option<Timestamp>,
    #[serde(default)]
    pub serial: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CertStatus {
    Active,
    Revoked,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertRecord {
    /// Upper-case hex of the serial number.
    pub serial: String,
    pub tenant: String,
    pub user_id: String,
    pub common_name: String,
    pub organization: String,
    pub email: String,
    pub not_before: Timestamp,
    pub not_after: Timestamp,
    /// First day (Japan) the certificate may be used: issuance + N business days.
    pub usable_from: jiff::civil::Date,
    pub issued_at: Timestamp,
    pub status: CertStatus,
    #[serde(default)]
    pub revoked_at: Option<Timestamp>,
    #[serde(default)]
    pub revocation_reason: Option<String>,
    pub cert_pem: String,
    pub sealed_key: Sealed,
    pub ticket: String,
    pub term_years: u8,
    pub delivery: Delivery,
    #[serde(default)]
    pub application_id: Option<String>,
    /// argon2id hash of the certificate PIN (set when the holder set the PIN at issuance).
    #[serde(default)]
    pub pin_hash: Option<String>,
    /// Wrong PINs in a row; at `keiyaku_kernel::intent::PIN_TRIES` signing is locked.
    #[serde(default)]
    pub pin_failures: u32,
    #[serde(default)]
    pub pin_locked_at: Option<Timestamp>,
    /// The holder's earlier certificate this one replaces: it stays usable until this one's
    /// `usable_from`, then is revoked as superseded.
    #[serde(default)]
    pub replaces: Option<String>,
    /// When the holder was told the certificate ends soon (once per certificate).
    #[serde(default)]
    pub expiry_noticed_at: Option<Timestamp>,
    /// Set for a certificate of an outside CA imported from a PKCS#12 file
    /// (`importCertificate`); `None` for the tenant CA's.
    #[serde(default)]
    pub imported: Option<Imported>,
}

/// What keiyaku keeps of an imported certificate besides the record: the issuer chain and
/// the revocation sources, embedded in every PDF it signs (the tenant's OCSP responder
/// does not know it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Imported {
    /// The issuer's subject, as shown.
    #[serde(default)]
    pub issuer: String,
    /// Base64 DER of the issuer chain, the direct issuer first.
    #[serde(default)]
    pub chain: Vec<String>,
    /// The certificate's CRL distribution point URLs.
    #[serde(default)]
    pub crl_urls: Vec<String>,
    /// The certificate's OCSP responder URLs (authority information access).
    #[serde(default)]
    pub ocsp_urls: Vec<String>,
    /// Base64 DER of the CRLs taken at import (uploaded or fetched from the CDP).
    #[serde(default)]
    pub crls: Vec<String>,
    /// SHA-256 (hex) of the imported PKCS#12 file.
    #[serde(default)]
    pub file_sha256: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RevokedEntry {
    pub revoked_at: Timestamp,
    /// RFC 5280 CRLReason code.
    pub reason_code: u8,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyFile {
    pub sealed: Sealed,
    pub file_name: String,
    pub created_at: Timestamp,
    #[serde(default)]
    pub downloaded_at: Option<Timestamp>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceCert {
    /// `tsa`, `ocsp` or `system`.
    pub service: String,
    pub not_before: Timestamp,
    pub not_after: Timestamp,
}

/// A service certificate of the tenant (the TSA's, the OCSP responder's or the system
/// certificate) with its sealed key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TsaRecord {
    pub tenant: String,
    pub serial: String,
    pub common_name: String,
    pub cert_pem: String,
    pub sealed_key: Sealed,
    pub not_before: Timestamp,
    pub not_after: Timestamp,
    pub created_at: Timestamp,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each name parses back to its member and is the name serde stores; others are refused.
    #[test]
    fn closed_sets_round_trip() {
        for d in Delivery::ALL {
            assert_eq!(Delivery::parse(d.as_str()), Some(d));
            assert_eq!(serde_json::to_value(d).ok(), Some(serde_json::Value::from(d.as_str())));
        }
        for k in ApplicantKind::ALL {
            assert_eq!(ApplicantKind::parse(k.as_str()), Some(k));
            assert_eq!(serde_json::to_value(k).ok(), Some(serde_json::Value::from(k.as_str())));
        }
        for s in AppStatus::ALL {
            assert_eq!(serde_json::to_value(s).ok(), Some(serde_json::Value::from(s.as_str())));
        }
        for bad in ["", "Service", "key-file", "holder", " self", "proxy "] {
            assert_eq!(Delivery::parse(bad), None, "{bad:?}");
            assert_eq!(ApplicantKind::parse(bad), None, "{bad:?}");
        }
    }
}
