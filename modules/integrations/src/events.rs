//! The event feed: the tenant's audited changes that integrations care about, as a stable
//! list of typed events with a per-tenant cursor.
//!
//! Events are made by [`Recorder`], the kernel's audit observer of this module: when a module
//! writes an audit record whose action is in [`ACTIONS`], the event is written, and a delivery
//! queued for every enabled webhook that wants it, in the same transaction as the change. No
//! other module knows of this one; nothing is lost on a crash.

use crate::delivery;
use jiff::Timestamp;
use keiyaku_kernel::audit::AuditRecord;
use keiyaku_kernel::directory;
use keiyaku_kernel::events::AuditObserver;
use keiyaku_kernel::store::{Read, StoreError, Table, Tx};
use serde::{Deserialize, Serialize};

/// `tenant/{id:020}` → the event: key order is cursor order.
pub const EVENTS: Table<Event> = Table::new("integrations_events");
/// `tenant/{contract id}` → the counterparty company, noted at registration: which partner
/// sees the contract's later events.
pub const CONTRACT_PARTIES: Table<String> = Table::new("integrations_contract_parties");
/// `tenant/{user id}` of users whose suspension was announced (`user.suspended` once per
/// suspension, not on every later change of a suspended user).
pub const SUSPENDED: Table<()> = Table::new("integrations_suspended");

/// The event types, with the dotted names of the API. Stable: names are never reused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum EventType {
    #[serde(rename = "contract.registered")]
    ContractRegistered,
    #[serde(rename = "contract.approved")]
    ContractApproved,
    #[serde(rename = "contract.sent_back")]
    ContractSentBack,
    #[serde(rename = "contract.resubmitted")]
    ContractResubmitted,
    #[serde(rename = "contract.signed")]
    ContractSigned,
    #[serde(rename = "contract.completed")]
    ContractCompleted,
    #[serde(rename = "contract.cancelled")]
    ContractCancelled,
    #[serde(rename = "contract.corrected")]
    ContractCorrected,
    #[serde(rename = "certificate.issued")]
    CertificateIssued,
    #[serde(rename = "certificate.revoked")]
    CertificateRevoked,
    #[serde(rename = "certificate.expiring")]
    CertificateExpiring,
    #[serde(rename = "user.created")]
    UserCreated,
    #[serde(rename = "user.suspended")]
    UserSuspended,
}

impl EventType {
    pub const ALL: [EventType; 13] = [
        EventType::ContractRegistered,
        EventType::ContractApproved,
        EventType::ContractSentBack,
        EventType::ContractResubmitted,
        EventType::ContractSigned,
        EventType::ContractCompleted,
        EventType::ContractCancelled,
        EventType::ContractCorrected,
        EventType::CertificateIssued,
        EventType::CertificateRevoked,
        EventType::CertificateExpiring,
        EventType::UserCreated,
        EventType::UserSuspended,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EventType::ContractRegistered => "contract.registered",
            EventType::ContractApproved => "contract.approved",
            EventType::ContractSentBack => "contract.sent_back",
            EventType::ContractResubmitted => "contract.resubmitted",
            EventType::ContractSigned => "contract.signed",
            EventType::ContractCompleted => "contract.completed",
            EventType::ContractCancelled => "contract.cancelled",
            EventType::ContractCorrected => "contract.corrected",
            EventType::CertificateIssued => "certificate.issued",
            EventType::CertificateRevoked => "certificate.revoked",
            EventType::CertificateExpiring => "certificate.expiring",
            EventType::UserCreated => "user.created",
            EventType::UserSuspended => "user.suspended",
        }
    }

    /// The type named `s` (its [`EventType::as_str`]); `None` for any other name.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == s)
    }

    /// What the event is about: `contract`, `certificate` or `user`.
    pub fn family(self) -> &'static str {
        self.as_str().split('.').next().unwrap_or_default()
    }
}

/// The audit actions that make events (the rest of the audit log is not an event).
/// `user.update` makes `user.suspended` when it suspends the user, see [`event_type`];
/// `certs.expiring` is the action of a certificate-expiry notice.
pub const ACTIONS: [(&str, EventType); 13] = [
    ("document.register", EventType::ContractRegistered),
    ("contract.approve", EventType::ContractApproved),
    ("contract.send_back", EventType::ContractSentBack),
    ("contract.resubmit", EventType::ContractResubmitted),
    ("contract.sign", EventType::ContractSigned),
    ("contract.complete", EventType::ContractCompleted),
    ("contract.cancel", EventType::ContractCancelled),
    ("contract.correct", EventType::ContractCorrected),
    ("certs.issue", EventType::CertificateIssued),
    ("certs.revoke", EventType::CertificateRevoked),
    ("certs.expiring", EventType::CertificateExpiring),
    ("user.create", EventType::UserCreated),
    ("user.update", EventType::UserSuspended),
];

/// The event type an audit action makes, if any. `user.update` counts only when it leaves
/// the user suspended (whether that is news is [`Recorder`]'s to tell).
pub fn event_type(action: &str, detail: &serde_json::Value) -> Option<EventType> {
    let (_, t) = ACTIONS.iter().find(|(a, _)| *a == action)?;
    if *t == EventType::UserSuspended && detail.get("status").and_then(|s| s.as_str()) != Some("suspended") {
        return None;
    }
    Some(*t)
}

/// One event of a tenant's feed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// The cursor: 1, 2, 3, … per tenant, in the order the changes committed.
    pub id: u64,
    pub tenant: String,
    #[serde(rename = "type")]
    pub kind: EventType,
    pub at: Timestamp,
    /// The contract id, certificate serial or user id.
    pub subject_id: String,
    /// The company whose side the subject is on (a user's or certificate holder's company,
    /// a contract's counterparty), when known: who besides the owner sees the event.
    #[serde(default)]
    pub company: Option<String>,
    /// `actor` (`{kind, id}`) and the audited detail.
    pub data: serde_json::Value,
    /// The audit record the event was made from.
    pub audit_id: String,
}

impl Event {
    /// Ordering scope of deliveries: events of the same subject are delivered in order.
    pub fn subject_key(&self) -> String {
        format!("{}/{}", self.kind.family(), self.subject_id)
    }

    /// The body of a delivery (Standard Webhooks: `type`, `timestamp`, `data`).
    pub fn payload(&self) -> serde_json::Value {
        let mut data = serde_json::Map::new();
        data.insert("event_id".into(), self.id.to_string().into());
        data.insert("subject_id".into(), self.subject_id.clone().into());
        if let serde_json::Value::Object(m) = &self.data {
            for (k, v) in m {
                data.entry(k.clone()).or_insert_with(|| v.clone());
            }
        }
        serde_json::json!({
            "type": self.kind.as_str(),
            "timestamp": self.at.to_string(),
            "data": data,
        })
    }
}

pub fn key(tenant: &str, id: u64) -> String {
    format!("{tenant}/{id:020}")
}

fn seq_name(tenant: &str) -> String {
    format!("integrations_events/{tenant}")
}

/// The kernel's audit observer of this module.
#[derive(Debug, Default)]
pub struct Recorder;

impl AuditObserver for Recorder {
    fn observe(&self, tx: &mut Tx, id: &str, record: &AuditRecord) -> Result<(), StoreError> {
        let Some(kind) = event_type(&record.action, &record.detail) else {
            if record.action == "user.update"
                && let Some((tenant, user)) = record.target.split_once('/')
            {
                // Active again: a later suspension is news.
                tx.remove(&SUSPENDED, &format!("{tenant}/{user}"))?;
            }
            return Ok(());
        };
        let Some((tenant, subject)) = record.target.split_once('/') else { return Ok(()) };
        let company = match kind.family() {
            "contract" => {
                let k = format!("{tenant}/{subject}");
                if kind == EventType::ContractRegistered
                    && let Some(c) = record.detail.get("counterparty").and_then(|c| c.as_str())
                {
                    tx.put(&CONTRACT_PARTIES, &k, &c.to_string())?;
                }
                tx.get(&CONTRACT_PARTIES, &k)?
            }
            "certificate" => match record.detail.get("user_id").and_then(|u| u.as_str()) {
                Some(u) => directory::get_user(tx, tenant, u)?.map(|u| u.company_id),
                None => None,
            },
            _ => directory::get_user(tx, tenant, subject)?.map(|u| u.company_id),
        };
        if kind == EventType::UserSuspended && !tx.insert_new(&SUSPENDED, &format!("{tenant}/{subject}"), &())? {
            return Ok(());
        }
        let mut data = serde_json::Map::new();
        data.insert("actor".into(), serde_json::json!({"kind": record.actor.kind, "id": record.actor.id}));
        match &record.detail {
            serde_json::Value::Object(m) => data.extend(m.clone()),
            serde_json::Value::Null => {}
            other => {
                data.insert("detail".into(), other.clone());
            }
        }
        let event = Event {
            id: tx.next_seq(&seq_name(tenant))?,
            tenant: tenant.to_string(),
            kind,
            at: tx.now(),
            subject_id: subject.to_string(),
            company,
            data: serde_json::Value::Object(data),
            audit_id: id.to_string(),
        };
        tx.put(&EVENTS, &key(tenant, event.id), &event)?;
        delivery::queue_for_event(tx, &event)
    }
}

/// One page of the feed.
#[derive(Debug, Clone, PartialEq)]
pub struct EventPage {
    pub items: Vec<Event>,
    /// Where the next page starts (`after=`): the last event looked at, so events the caller
    /// may not see are not read again; the given cursor when nothing is newer.
    pub next: u64,
}

/// Events after `after` that `visible` admits, at most `limit`, oldest first. Cursors are
/// the events' ids: a page read again gives the same events.
pub fn page(
    tx: &impl Read,
    tenant: &str,
    after: u64,
    limit: usize,
    visible: impl Fn(&Event) -> bool,
) -> Result<EventPage, StoreError> {
    let mut items = Vec::new();
    let mut next = after;
    let end = format!("{tenant}0");
    while items.len() < limit {
        // The next keys in order (a bounded read), then their events.
        let mut keys = Vec::new();
        tx.visit_keys(&EVENTS, &key(tenant, next.saturating_add(1)), &end, false, &mut |k| {
            keys.push(k.to_string());
            keys.len() < 256
        })?;
        if keys.is_empty() {
            break;
        }
        for k in keys {
            let Some(e) = tx.get(&EVENTS, &k)? else { continue };
            next = e.id;
            if visible(&e) {
                items.push(e);
                if items.len() >= limit {
                    break;
                }
            }
        }
    }
    Ok(EventPage { items, next })
}

/// The newest event id of a tenant (0 before the first).
pub fn last_id(tx: &impl Read, tenant: &str) -> Result<u64, StoreError> {
    let mut last = 0;
    tx.visit_keys(&EVENTS, &format!("{tenant}/"), &format!("{tenant}0"), true, &mut |k| {
        last = k.rsplit('/').next().and_then(|n| n.parse().ok()).unwrap_or(0);
        false
    })?;
    Ok(last)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_match_serde() {
        for t in EventType::ALL {
            assert_eq!(EventType::parse(t.as_str()), Some(t));
            assert_eq!(serde_json::to_value(t).ok(), Some(serde_json::Value::String(t.as_str().into())));
        }
        assert_eq!(EventType::parse("contract.deleted"), None);
        // Every type is made by some action.
        for t in EventType::ALL {
            assert!(ACTIONS.iter().any(|(_, e)| *e == t), "{t:?}");
        }
    }

    #[test]
    fn user_update_is_an_event_only_when_it_suspends() {
        let suspended = serde_json::json!({"status": "suspended"});
        let active = serde_json::json!({"status": "active"});
        assert_eq!(event_type("user.update", &suspended), Some(EventType::UserSuspended));
        assert_eq!(event_type("user.update", &active), None);
        assert_eq!(event_type("contract.sign", &active), Some(EventType::ContractSigned));
        assert_eq!(event_type("auth.login", &active), None);
    }
}
