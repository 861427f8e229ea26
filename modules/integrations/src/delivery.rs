//! Webhook deliveries: queued with the event (same transaction), posted by the worker with
//! Standard Webhooks headers, retried with exponential backoff, logged per endpoint, in order
//! per subject, and marked done only after a 2xx (at least once: after a crash the worker
//! resumes from the queue, and a retry carries the same `webhook-id`).

use crate::config::WebhooksConfig;
use crate::events::Event;
use crate::webhooks::{self, WEBHOOKS, Webhook};
use crate::{mails, signature, target};
use jiff::{SignedDuration, Timestamp};
use keiyaku_kernel::context::Actor;
use keiyaku_kernel::directory;
use keiyaku_kernel::ids::new_id;
use keiyaku_kernel::store::{Read, StoreError, Table, Tx};
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

/// `tenant/{webhook}/{event:020}` → the delivery of an event to an endpoint.
pub const DELIVERIES: Table<Delivery> = Table::new("integrations_deliveries");
/// The deliveries still to be made, same keys: key order is event order per endpoint.
pub const QUEUE: Table<Queued> = Table::new("integrations_delivery_queue");
/// `tenant/{webhook}/{time-ordered id}` → one attempt: the delivery log of an endpoint.
pub const ATTEMPTS: Table<Attempt> = Table::new("integrations_delivery_attempts");

/// Attempts kept in an endpoint's log (the oldest go first).
pub const LOG_KEPT: usize = 200;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    Pending,
    Delivered,
    /// Every attempt failed.
    GivenUp,
    /// The endpoint was disabled or deleted before it was delivered.
    Abandoned,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delivery {
    pub tenant: String,
    pub webhook_id: String,
    pub event_id: u64,
    /// `webhook-id`: the same for every attempt of this event to this endpoint.
    pub msg_id: String,
    pub state: State,
    pub attempts: u32,
    pub next_attempt_at: Timestamp,
    pub created_at: Timestamp,
    #[serde(default)]
    pub delivered_at: Option<Timestamp>,
    #[serde(default)]
    pub last_status: Option<u16>,
    #[serde(default)]
    pub last_error: Option<String>,
}

/// A queue entry: what the worker needs to pick the next deliveries without reading them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Queued {
    /// [`Event::subject_key`]: one delivery per subject and endpoint at a time, oldest first.
    pub subject: String,
    pub due: Timestamp,
}

/// What an attempt ended as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AttemptResult {
    Delivered,
    /// Failed; tried again later.
    Retry,
    /// Failed for the last time.
    GivenUp,
    /// A test delivery (`testWebhook`), outside the queue.
    Test,
}

impl AttemptResult {
    pub const ALL: [AttemptResult; 4] =
        [AttemptResult::Delivered, AttemptResult::Retry, AttemptResult::GivenUp, AttemptResult::Test];

    pub fn as_str(self) -> &'static str {
        match self {
            AttemptResult::Delivered => "delivered",
            AttemptResult::Retry => "retry",
            AttemptResult::GivenUp => "given_up",
            AttemptResult::Test => "test",
        }
    }
}

/// One attempt in an endpoint's delivery log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attempt {
    pub id: String,
    pub webhook_id: String,
    /// None for a test delivery.
    pub event_id: Option<u64>,
    pub event_type: String,
    pub msg_id: String,
    pub at: Timestamp,
    /// 1 for the first attempt of a delivery.
    pub attempt: u32,
    pub status: Option<u16>,
    pub error: Option<String>,
    pub duration_ms: u64,
    pub result: AttemptResult,
}

/// What one POST came to.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Outcome {
    pub status: Option<u16>,
    pub error: Option<String>,
    pub duration_ms: u64,
}

impl Outcome {
    pub fn is_success(&self) -> bool {
        self.status.is_some_and(|s| (200..300).contains(&s))
    }
}

/// The wait after the `attempts`-th failed attempt: 30 s, 2 min, 10 min, 1 h, 6 h, 12 h,
/// then a day.
pub fn backoff(attempts: u32) -> SignedDuration {
    const SCHEDULE: [i64; 7] = [30, 120, 600, 3600, 6 * 3600, 12 * 3600, 24 * 3600];
    let i = usize::try_from(attempts.saturating_sub(1)).unwrap_or(usize::MAX).min(SCHEDULE.len() - 1);
    SignedDuration::from_secs(SCHEDULE[i])
}

pub fn key(tenant: &str, webhook: &str, event: u64) -> String {
    format!("{tenant}/{webhook}/{event:020}")
}

/// `webhook-id` of an event's delivery to an endpoint.
pub fn msg_id(webhook: &str, event: u64) -> String {
    format!("msg_{webhook}_{event}")
}

/// Queues a delivery of `event` for every enabled endpoint of its tenant that wants it.
pub fn queue_for_event(tx: &mut Tx, event: &Event) -> Result<(), StoreError> {
    let now = tx.now();
    for (_, hook) in tx.scan(&WEBHOOKS, &format!("{}/", event.tenant))? {
        if !hook.enabled || !hook.events.contains(&event.kind) {
            continue;
        }
        let k = key(&event.tenant, &hook.id, event.id);
        let d = Delivery {
            tenant: event.tenant.clone(),
            webhook_id: hook.id.clone(),
            event_id: event.id,
            msg_id: msg_id(&hook.id, event.id),
            state: State::Pending,
            attempts: 0,
            next_attempt_at: now,
            created_at: now,
            delivered_at: None,
            last_status: None,
            last_error: None,
        };
        tx.put(&DELIVERIES, &k, &d)?;
        tx.put(&QUEUE, &k, &Queued { subject: event.subject_key(), due: now })?;
    }
    Ok(())
}

/// A delivery the worker is to attempt now.
#[derive(Debug, Clone)]
pub struct Due {
    pub key: String,
    pub webhook: Webhook,
    pub event: Event,
    pub delivery: Delivery,
}

/// The deliveries to attempt now, at most `limit`: per endpoint and subject only the oldest
/// pending one (a later event of the subject waits until it is delivered or given up), of
/// enabled endpoints, due by `now`.
pub fn due(tx: &impl Read, now: Timestamp, limit: usize) -> Result<Vec<Due>, StoreError> {
    let mut out = Vec::new();
    let mut blocked: HashSet<(String, String)> = HashSet::new();
    let mut hooks: HashMap<String, Option<Webhook>> = HashMap::new();
    for (k, q) in tx.scan(&QUEUE, "")? {
        if out.len() >= limit {
            break;
        }
        let mut parts = k.splitn(3, '/');
        let (Some(tenant), Some(hook_id)) = (parts.next(), parts.next()) else { continue };
        let endpoint = format!("{tenant}/{hook_id}");
        if !blocked.insert((endpoint.clone(), q.subject.clone())) || q.due > now {
            continue;
        }
        let hook = match hooks.get(&endpoint) {
            Some(h) => h.clone(),
            None => {
                let h = tx.get(&WEBHOOKS, &endpoint)?;
                hooks.insert(endpoint.clone(), h.clone());
                h
            }
        };
        let Some(hook) = hook.filter(|h| h.enabled) else { continue };
        let Some(delivery) = tx.get(&DELIVERIES, &k)? else { continue };
        let Some(event) = tx.get(&crate::events::EVENTS, &crate::events::key(tenant, delivery.event_id))? else {
            continue;
        };
        out.push(Due { key: k, webhook: hook, event, delivery });
    }
    Ok(out)
}

/// Adds an attempt to an endpoint's log, dropping the oldest beyond [`LOG_KEPT`].
pub fn log(tx: &mut Tx, tenant: &str, attempt: &Attempt) -> Result<(), StoreError> {
    let prefix = format!("{tenant}/{}/", attempt.webhook_id);
    tx.put(&ATTEMPTS, &format!("{prefix}{}", attempt.id), attempt)?;
    let n = tx.count(&ATTEMPTS, &prefix)?;
    if n > LOG_KEPT {
        let mut old = Vec::new();
        tx.visit_keys(&ATTEMPTS, &prefix, &format!("{tenant}/{}0", attempt.webhook_id), false, &mut |k| {
            old.push(k.to_string());
            old.len() < n - LOG_KEPT
        })?;
        for k in old {
            tx.remove(&ATTEMPTS, &k)?;
        }
    }
    Ok(())
}

/// Records what an attempt of the queued delivery `key` came to: logged; done on a 2xx;
/// otherwise tried again after [`backoff`], or given up after `max_attempts`, and after
/// `disable_after` consecutive given-up deliveries the endpoint is disabled and the tenant's
/// administrators are mailed. Audited as `webhook.delivered`, `webhook.retry`,
/// `webhook.given_up` (and `webhook.disable`).
pub fn record(
    tx: &mut Tx,
    config: &WebhooksConfig,
    smtp: bool,
    key: &str,
    started: Timestamp,
    outcome: &Outcome,
) -> Result<(), StoreError> {
    let Some(mut d) = tx.get(&DELIVERIES, key)?.filter(|d| d.state == State::Pending) else {
        // Done meanwhile (or gone with its endpoint): nothing left to attempt.
        tx.remove(&QUEUE, key)?;
        return Ok(());
    };
    let hook_key = format!("{}/{}", d.tenant, d.webhook_id);
    let Some(mut hook) = tx.get(&WEBHOOKS, &hook_key)? else {
        tx.remove(&QUEUE, key)?;
        return Ok(());
    };
    let kind = tx
        .get(&crate::events::EVENTS, &crate::events::key(&d.tenant, d.event_id))?
        .map(|e| e.kind.as_str().to_string())
        .unwrap_or_default();
    let now = tx.now();
    d.attempts = d.attempts.saturating_add(1);
    d.last_status = outcome.status;
    d.last_error = outcome.error.clone();
    let result = if outcome.is_success() {
        d.state = State::Delivered;
        d.delivered_at = Some(now);
        tx.remove(&QUEUE, key)?;
        if hook.failures != 0 {
            hook.failures = 0;
            tx.put(&WEBHOOKS, &hook_key, &hook)?;
        }
        AttemptResult::Delivered
    } else if d.attempts >= config.max_attempts.max(1) {
        d.state = State::GivenUp;
        tx.remove(&QUEUE, key)?;
        hook.failures = hook.failures.saturating_add(1);
        tx.put(&WEBHOOKS, &hook_key, &hook)?;
        AttemptResult::GivenUp
    } else {
        d.next_attempt_at = now.checked_add(backoff(d.attempts)).unwrap_or(now);
        if let Some(mut q) = tx.get(&QUEUE, key)? {
            q.due = d.next_attempt_at;
            tx.put(&QUEUE, key, &q)?;
        }
        AttemptResult::Retry
    };
    tx.put(&DELIVERIES, key, &d)?;
    let attempt = Attempt {
        id: new_id(),
        webhook_id: d.webhook_id.clone(),
        event_id: Some(d.event_id),
        event_type: kind,
        msg_id: d.msg_id.clone(),
        at: started,
        attempt: d.attempts,
        status: outcome.status,
        error: outcome.error.clone(),
        duration_ms: outcome.duration_ms,
        result,
    };
    log(tx, &d.tenant, &attempt)?;
    let action = match result {
        AttemptResult::Delivered => "webhook.delivered",
        AttemptResult::GivenUp => "webhook.given_up",
        _ => "webhook.retry",
    };
    tx.audit(
        &Actor::system(),
        action,
        &hook_key,
        serde_json::json!({"event_id": d.event_id, "msg_id": d.msg_id, "attempts": d.attempts,
                           "status": outcome.status, "error": outcome.error}),
    )?;
    if result == AttemptResult::GivenUp && hook.enabled && hook.failures >= config.disable_after.max(1) {
        disable(tx, smtp, hook, outcome)?;
    }
    Ok(())
}

/// Disables an endpoint after repeated failure: its pending deliveries are abandoned, the
/// change audited (`webhook.disable`) and the owner's group administrators mailed.
fn disable(tx: &mut Tx, smtp: bool, mut hook: Webhook, last: &Outcome) -> Result<(), StoreError> {
    let now = tx.now();
    hook.enabled = false;
    hook.disabled_at = Some(now);
    tx.put(&WEBHOOKS, &webhooks::key(&hook.tenant, &hook.id), &hook)?;
    abandon(tx, &hook.tenant, &hook.id)?;
    tx.audit(
        &Actor::system(),
        "webhook.disable",
        &webhooks::key(&hook.tenant, &hook.id),
        serde_json::json!({"url": hook.url, "failures": hook.failures}),
    )?;
    let Some(tenant) = directory::get_tenant(tx, &hook.tenant)? else { return Ok(()) };
    let last = match (last.status, &last.error) {
        (Some(s), _) => format!("HTTPステータス {s}"),
        (None, Some(e)) => e.clone(),
        (None, None) => "不明".to_string(),
    };
    for user in directory::list_users(tx, &tenant.code)? {
        let admin = user.company_id == tenant.owner_company_id
            && user.has(directory::Role::GroupAdmin)
            && user.status == directory::UserStatus::Active;
        if admin {
            tx.send_mail(mails::disabled(&tenant, &user, &hook, &last), smtp)?;
        }
    }
    Ok(())
}

/// Takes an endpoint's pending deliveries out of the queue, as abandoned.
pub fn abandon(tx: &mut Tx, tenant: &str, hook_id: &str) -> Result<usize, StoreError> {
    let prefix = format!("{tenant}/{hook_id}/");
    let pending = tx.scan(&QUEUE, &prefix)?;
    for (k, _) in &pending {
        tx.remove(&QUEUE, k)?;
        if let Some(mut d) = tx.get(&DELIVERIES, k)? {
            d.state = State::Abandoned;
            tx.put(&DELIVERIES, k, &d)?;
        }
    }
    Ok(pending.len())
}

/// The headers and body of one message, signed.
#[derive(Debug, Clone)]
pub struct Message {
    pub msg_id: String,
    pub timestamp: i64,
    pub body: Vec<u8>,
    pub signature: String,
}

impl Message {
    pub fn new(key: &[u8], msg_id: &str, timestamp: i64, payload: &serde_json::Value) -> Self {
        let body = serde_json::to_vec(payload).unwrap_or_default();
        let signature = signature::sign(key, msg_id, timestamp, &body);
        Self { msg_id: msg_id.to_string(), timestamp, body, signature }
    }
}

/// POSTs a message to `url`: the target checked and resolved again (connecting only to the
/// addresses checked), no redirects followed, `timeout` for the whole exchange.
pub async fn post(url: &str, allow_private: bool, timeout: Duration, message: &Message) -> Outcome {
    let started = Instant::now();
    let elapsed = |started: Instant| u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    let fail = |error: String| Outcome { status: None, error: Some(error), duration_ms: elapsed(started) };
    let target = match target::parse("url", url, allow_private) {
        Ok(t) => t,
        Err(e) => return fail(format!("refused: {}", e.rule.code())),
    };
    let addrs = match target::resolve("url", &target, allow_private).await {
        Ok(a) => a,
        Err(e) => return fail(format!("refused: {}", e.rule.code())),
    };
    let mut builder = reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("keiyaku-webhooks/", env!("CARGO_PKG_VERSION")));
    if matches!(target.url.host(), Some(url::Host::Domain(_))) {
        builder = builder.resolve_to_addrs(&target.host, &addrs);
    }
    let client = match builder.build() {
        Ok(c) => c,
        Err(e) => return fail(format!("client: {e}")),
    };
    let sent = client
        .post(target.url.clone())
        .header("content-type", "application/json")
        .header("webhook-id", &message.msg_id)
        .header("webhook-timestamp", message.timestamp.to_string())
        .header("webhook-signature", &message.signature)
        .body(message.body.clone())
        .send()
        .await;
    match sent {
        Ok(resp) => {
            let status = resp.status().as_u16();
            // The answer's body is not kept; reading it lets the connection finish cleanly.
            let _ = resp.bytes().await;
            let error = (!(200..300).contains(&status)).then(|| format!("HTTP {status}"));
            Outcome { status: Some(status), error, duration_ms: elapsed(started) }
        }
        Err(e) => fail(describe(&e)),
    }
}

/// A transport error in a line, without the URL (it is in the endpoint already).
fn describe(e: &reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timeout"
    } else if e.is_connect() {
        "connection failed"
    } else {
        "request failed"
    };
    let mut source = std::error::Error::source(e);
    let mut detail = String::new();
    while let Some(s) = source {
        detail = s.to_string();
        source = s.source();
    }
    if detail.is_empty() { kind.to_string() } else { format!("{kind}: {detail}") }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_to_a_day() {
        let secs: Vec<i64> = (1..=9).map(|n| backoff(n).as_secs()).collect();
        assert_eq!(secs, [30, 120, 600, 3600, 21600, 43200, 86400, 86400, 86400]);
        assert_eq!(backoff(0).as_secs(), 30);
        assert_eq!(backoff(u32::MAX).as_secs(), 86400);
    }

    #[test]
    fn attempt_result_names_match_serde() {
        for r in AttemptResult::ALL {
            assert_eq!(serde_json::to_value(r).ok(), Some(serde_json::Value::String(r.as_str().into())));
        }
    }

    #[test]
    fn success_is_a_2xx_answer() {
        let o = |s: Option<u16>| Outcome { status: s, ..Outcome::default() };
        assert!(o(Some(200)).is_success());
        assert!(o(Some(204)).is_success());
        assert!(!o(Some(301)).is_success());
        assert!(!o(Some(500)).is_success());
        assert!(!o(None).is_success());
    }
}
