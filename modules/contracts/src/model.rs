//! The contracts module's tables and records.

use jiff::Timestamp;
use jiff::civil::Date;
use keiyaku_kernel::directory::Role;
use keiyaku_kernel::error::Lang;
use keiyaku_kernel::store::{Bytes, Table};
use keiyaku_kernel::waiting::{Side, WaitingLine};
use serde::{Deserialize, Serialize};

/// `tenant/contract id` → the contract (its fields, documents, route and history).
pub const CONTRACTS: Table<Contract> = Table::new("contracts");
/// `tenant/contract number` → contract id (numbers are unique per tenant).
pub const NUMBERS: Table<String> = Table::new("contracts_numbers");
/// `tenant/transaction date/contract id` → what search filters on (電子帳簿保存法 index).
pub const INDEX: Table<Summary> = Table::new("contracts_index");
/// `tenant/user id/contract id` → the waiting line key: the contract waits for that user.
pub const WAITING: Table<String> = Table::new("contracts_waiting");
/// `tenant/sha-256/chunk number` → document bytes, stored once per content.
pub const BLOBS: Table<Bytes> = Table::new("contracts_blobs");
/// `tenant/sha-256` → size and chunk count of stored content.
pub const BLOB_META: Table<BlobMeta> = Table::new("contracts_blob_meta");
/// `tenant/sequence (zero-padded)` → one link of the hash-chained contract audit log.
pub const CHAIN: Table<ChainEntry> = Table::new("contracts_chain");
/// `tenant` → the newest link of the chain.
pub const CHAIN_HEAD: Table<ChainHead> = Table::new("contracts_chain_head");

/// `tenant/sequence (zero-padded)` → an RFC 3161 time-stamp of the chain's head at that link
/// (see [`crate::storage::anchor_imprint`]).
pub const ANCHORS: Table<Anchor> = Table::new("contracts_chain_anchors");

/// The last archive renewal run (key `last`), for the operator's page.
pub const LTV_RUNS: Table<crate::archive::RenewalRun> = Table::new("contracts_ltv_runs");

pub const TABLES: [&str; 10] = [
    CONTRACTS.name(),
    NUMBERS.name(),
    INDEX.name(),
    WAITING.name(),
    BLOBS.name(),
    BLOB_META.name(),
    CHAIN.name(),
    CHAIN_HEAD.name(),
    LTV_RUNS.name(),
    ANCHORS.name(),
];

pub fn key(tenant: &str, id: &str) -> String {
    format!("{tenant}/{id}")
}

pub use keiyaku_kernel::doc_type::DocType;

/// Whether 取引金額 includes consumption tax.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Tax {
    Included,
    Excluded,
}

impl Tax {
    pub const ALL: [Tax; 2] = [Tax::Included, Tax::Excluded];

    pub fn as_str(self) -> &'static str {
        match self {
            Tax::Included => "included",
            Tax::Excluded => "excluded",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == s)
    }

    pub fn label(self, lang: Lang) -> &'static str {
        match self {
            Tax::Included => lang.pick("税込", "tax included"),
            Tax::Excluded => lang.pick("税抜", "tax excluded"),
        }
    }
}

/// Which company a route step belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Party {
    /// The service owner (サービスオーナー).
    Owner,
    /// The counterparty (取引先).
    Partner,
}

impl Party {
    pub const ALL: [Party; 2] = [Party::Owner, Party::Partner];

    pub fn as_str(self) -> &'static str {
        match self {
            Party::Owner => "owner",
            Party::Partner => "partner",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.as_str() == s)
    }

    pub fn side(self) -> Side {
        match self {
            Party::Owner => Side::Owner,
            Party::Partner => Side::Partner,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// 回覧中: waiting on the current step.
    Circulating,
    /// 差戻し: back with the registrant, who may correct and resubmit.
    SentBack,
    /// 締結済: every step done.
    Completed,
    /// 取消: cancelled by the registrant.
    Cancelled,
    /// 削除済: deleted after its retention period; the record and its history stay.
    Deleted,
}

impl Status {
    pub const ALL: [Status; 5] =
        [Status::Circulating, Status::SentBack, Status::Completed, Status::Cancelled, Status::Deleted];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Circulating => "circulating",
            Status::SentBack => "sent_back",
            Status::Completed => "completed",
            Status::Cancelled => "cancelled",
            Status::Deleted => "deleted",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == s)
    }

    pub fn label(self, lang: Lang) -> &'static str {
        match self {
            Status::Circulating => lang.pick("回覧中", "Circulating"),
            Status::SentBack => lang.pick("差戻し", "Sent back"),
            Status::Completed => lang.pick("締結済", "Completed"),
            Status::Cancelled => lang.pick("取消", "Cancelled"),
            Status::Deleted => lang.pick("削除済", "Deleted"),
        }
    }
}

/// A free field (自由項目).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Field {
    pub name: String,
    pub value: String,
}

/// One stored version of a document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Version {
    /// 1 for the original, then one per signature or replacement.
    pub n: u32,
    /// SHA-256 of the content, hex: its address in [`BLOBS`].
    pub sha256: String,
    pub size: u64,
    pub created_at: Timestamp,
    /// Who made it: the registrant (original, replacement) or who signed.
    pub by: String,
    /// For a signed version: the signer whose certificate signed (differs from `by` when a
    /// delegate signed on the signer's behalf).
    #[serde(default)]
    pub signer: Option<String>,
    #[serde(default)]
    pub cert_serial: Option<String>,
    /// When the content was deleted (after the retention period); the hash stays.
    #[serde(default)]
    pub deleted_at: Option<Timestamp>,
    /// Page sizes (width, height in 1/100 pt), read once when the PDF was checked, so
    /// signing places the stamp without parsing the file again. Empty for versions stored
    /// before sizes were kept: those are read at signing.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pages: Vec<[u32; 2]>,
}

impl Version {
    /// The page sizes in points, when stored.
    pub fn page_sizes(&self) -> Option<Vec<(f32, f32)>> {
        (!self.pages.is_empty())
            .then(|| self.pages.iter().map(|[w, h]| (*w as f32 / 100.0, *h as f32 / 100.0)).collect())
    }

    /// Page sizes in points as stored in [`Version::pages`].
    pub fn pages_of(sizes: &[(f32, f32)]) -> Vec<[u32; 2]> {
        let hundredths = |v: f32| (v.max(0.0) * 100.0).round().min(u32::MAX as f32) as u32;
        sizes.iter().map(|(w, h)| [hundredths(*w), hundredths(*h)]).collect()
    }
}

/// A document (文書) of a contract: a PDF with every version kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Document {
    /// `D1`, `D2`, … within the contract.
    pub id: String,
    pub name: String,
    pub versions: Vec<Version>,
}

impl Document {
    pub fn latest(&self) -> Option<&Version> {
        self.versions.last()
    }
}

/// Who finished a step, and when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Done {
    pub by: String,
    /// The signer a delegate acted for.
    #[serde(default)]
    pub on_behalf_of: Option<String>,
    pub at: Timestamp,
}

/// A step of the circulation route: a role at one of the two companies, with the users
/// chosen for it (any one of them completes the step).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Step {
    pub party: Party,
    pub role: Role,
    pub company_id: String,
    pub users: Vec<String>,
    #[serde(default)]
    pub done: Option<Done>,
}

impl Step {
    pub fn line(&self) -> WaitingLine {
        WaitingLine { side: self.party.side(), role: self.role }
    }

    /// A signer step is completed by signing, every other step by 確認/承認.
    pub fn is_signing(&self) -> bool {
        self.role == Role::Signer
    }
}

/// What an [`Event`] records; its name is what the history stores in [`Event::action`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventAction {
    Register,
    Approve,
    Sign,
    SendBack,
    Resubmit,
    Cancel,
    Complete,
    /// The comment lists each field's old and new value.
    Correct,
    Delete,
}

impl EventAction {
    pub const ALL: [EventAction; 9] = [
        EventAction::Register,
        EventAction::Approve,
        EventAction::Sign,
        EventAction::SendBack,
        EventAction::Resubmit,
        EventAction::Cancel,
        EventAction::Complete,
        EventAction::Correct,
        EventAction::Delete,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EventAction::Register => "register",
            EventAction::Approve => "approve",
            EventAction::Sign => "sign",
            EventAction::SendBack => "send_back",
            EventAction::Resubmit => "resubmit",
            EventAction::Cancel => "cancel",
            EventAction::Complete => "complete",
            EventAction::Correct => "correct",
            EventAction::Delete => "delete",
        }
    }

    /// The member named `s` (its [`EventAction::as_str`]); `None` for any other name.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.as_str() == s)
    }

    /// As the history and the 合意締結証明書 name it.
    pub fn label(self, lang: Lang) -> &'static str {
        match self {
            EventAction::Register => lang.pick("登録", "Registered"),
            EventAction::Approve => lang.pick("承認", "Approved"),
            EventAction::Sign => lang.pick("署名", "Signed"),
            EventAction::SendBack => lang.pick("差戻し", "Sent back"),
            EventAction::Resubmit => lang.pick("再提出", "Resubmitted"),
            EventAction::Cancel => lang.pick("取消", "Cancelled"),
            EventAction::Complete => lang.pick("締結完了", "Completed"),
            EventAction::Correct => lang.pick("訂正", "Corrected"),
            EventAction::Delete => lang.pick("削除", "Deleted"),
        }
    }
}

/// What happened to a contract (its history, shown on the detail page and the report).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    pub at: Timestamp,
    pub by: String,
    #[serde(default)]
    pub on_behalf_of: Option<String>,
    /// An [`EventAction`]'s name.
    pub action: String,
    #[serde(default)]
    pub step: Option<usize>,
    #[serde(default)]
    pub comment: Option<String>,
    /// A delegate's signature: the mandate it was made under.
    #[serde(default)]
    pub mandate: Option<MandateRef>,
}

impl Event {
    /// What the event records (`None` only for a name this version does not know).
    pub fn kind(&self) -> Option<EventAction> {
        EventAction::parse(&self.action)
    }
}

/// The mandate a delegate signed under: its ID and the SHA-256 of the confirmed statement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MandateRef {
    pub id: String,
    pub sha256: String,
}

/// A contract (契約, "folder").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contract {
    /// `C00000001`, …
    pub id: String,
    pub tenant: String,
    /// 契約番号, unique per tenant.
    pub number: String,
    pub title: String,
    pub doc_type: DocType,
    /// The partner company (取引先).
    pub counterparty: String,
    /// 取引年月日.
    pub transaction_date: Date,
    /// 取引金額 in yen.
    pub amount: i64,
    pub tax: Tax,
    pub fields: Vec<Field>,
    pub registrant: String,
    pub registrant_group: String,
    pub documents: Vec<Document>,
    pub route: Vec<Step>,
    pub status: Status,
    /// Index of the step it waits on while circulating.
    pub current: Option<usize>,
    pub history: Vec<Event>,
    /// Kept unchanged until this day (`contracts.retention_years`, default 10).
    pub retention_until: Date,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    #[serde(default)]
    pub completed_at: Option<Timestamp>,
    /// The 合意締結証明書 issued at completion (stored, document-time-stamped); contracts
    /// completed before it was stored have none and get it built on request.
    #[serde(default)]
    pub completion_report: Option<StoredReport>,
}

/// A stored 合意締結証明書: its blob and when it was issued.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredReport {
    pub sha256: String,
    pub size: u64,
    pub issued_at: Timestamp,
}

impl Contract {
    pub fn current_step(&self) -> Option<&Step> {
        self.current.and_then(|i| self.route.get(i))
    }

    /// Everyone on the route and the registrant.
    pub fn participants(&self) -> Vec<String> {
        let mut all: Vec<String> = self.route.iter().flat_map(|s| s.users.iter().cloned()).collect();
        all.push(self.registrant.clone());
        all.sort();
        all.dedup();
        all
    }
}

/// The search index record of a contract.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    pub id: String,
    pub number: String,
    pub title: String,
    pub doc_type: DocType,
    pub counterparty: String,
    pub transaction_date: Date,
    pub amount: i64,
    pub status: Status,
    /// The waiting line key of the current step (`owner_signer`, …).
    #[serde(default)]
    pub step: Option<String>,
    pub registrant: String,
    pub registrant_group: String,
    pub participants: Vec<String>,
    pub documents: Vec<String>,
    pub created_at: Timestamp,
}

impl Summary {
    pub fn of(c: &Contract) -> Self {
        Self {
            id: c.id.clone(),
            number: c.number.clone(),
            title: c.title.clone(),
            doc_type: c.doc_type,
            counterparty: c.counterparty.clone(),
            transaction_date: c.transaction_date,
            amount: c.amount,
            status: c.status,
            step: c.current_step().map(|s| s.line().key()),
            registrant: c.registrant.clone(),
            registrant_group: c.registrant_group.clone(),
            participants: c.participants(),
            documents: c.documents.iter().map(|d| d.name.clone()).collect(),
            created_at: c.created_at,
        }
    }

    /// Index key: date first, so a date range is a key range.
    pub fn index_key(tenant: &str, date: Date, id: &str) -> String {
        format!("{tenant}/{date}/{id}")
    }
}

/// Size and chunk count of stored content: the kernel's record (this module's format).
pub use keiyaku_kernel::blob::BlobMeta;

/// One link of the hash chain: `hash = SHA-256(prev ‖ canonical JSON of the entry without
/// its hash)`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainEntry {
    pub seq: u64,
    pub prev: String,
    pub at: Timestamp,
    pub actor: String,
    #[serde(default)]
    pub client: Option<String>,
    pub action: String,
    pub contract: String,
    pub detail: serde_json::Value,
    pub hash: String,
}

/// A time-stamp of a chain head: anyone holding the token can tell the chain up to `seq`
/// existed at the token's time, so a chain rewritten later (every hash recomputed) is
/// detected.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Anchor {
    pub seq: u64,
    pub hash: String,
    pub at: Timestamp,
    /// The `TimeStampToken`, base64 DER.
    pub token: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainHead {
    pub seq: u64,
    pub hash: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each name parses back to its member and is the name serde stores; others are refused.
    #[test]
    fn event_actions_round_trip() {
        for a in EventAction::ALL {
            assert_eq!(EventAction::parse(a.as_str()), Some(a));
            assert_eq!(serde_json::to_value(a).ok(), Some(serde_json::Value::from(a.as_str())));
            assert!(!a.label(Lang::Ja).is_empty() && !a.label(Lang::En).is_empty());
        }
        for bad in ["", "Sign", "signed", "send-back", " approve"] {
            assert_eq!(EventAction::parse(bad), None, "{bad:?}");
        }
        let e = Event {
            at: jiff::Timestamp::UNIX_EPOCH,
            by: "u".into(),
            on_behalf_of: None,
            action: "resubmit".into(),
            step: None,
            comment: None,
            mandate: None,
        };
        assert_eq!(e.kind(), Some(EventAction::Resubmit));
        assert_eq!(Event { action: "archived".into(), ..e }.kind(), None);
    }

    #[test]
    fn closed_sets_parse_their_names_only() {
        for t in Tax::ALL {
            assert_eq!(Tax::parse(t.as_str()), Some(t));
        }
        for p in Party::ALL {
            assert_eq!(Party::parse(p.as_str()), Some(p));
        }
        for s in Status::ALL {
            assert_eq!(Status::parse(s.as_str()), Some(s));
            assert_eq!(serde_json::to_value(s).ok(), Some(serde_json::Value::from(s.as_str())));
        }
        assert_eq!((Tax::parse("gross"), Party::parse("vendor"), Status::parse("signed")), (None, None, None));
    }
}
