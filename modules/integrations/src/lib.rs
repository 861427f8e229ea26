//! Integrations: the event feed and signed webhooks.
//!
//! - [`events`]: the event types, and [`events::Recorder`], the kernel audit observer that
//!   turns audited changes into events (and queues their deliveries) in the transaction of the
//!   change — no other module knows of this one;
//! - [`webhooks`]: a tenant's endpoints, their secrets sealed with the key-encryption key;
//! - [`delivery`]: the queue, the worker's attempts, backoff, the delivery log, auto-disable;
//! - [`target`]: which URLs may be targets; [`signature`]: Standard Webhooks signatures;
//! - [`policy`]: who may do what (the only place that looks at roles);
//! - [`Integrations`]: the service every transport calls, and the delivery job's round
//!   ([`Integrations::deliver_pending`], run by the binary every `webhooks.poll_millis`).

pub mod config;
pub mod delivery;
pub mod error;
pub mod events;
pub mod mails;
pub mod policy;
pub mod signature;
pub mod target;
pub mod webhooks;

#[cfg(test)]
mod tests;

pub use config::WebhooksConfig;
pub use delivery::{Attempt, AttemptResult};
pub use error::IntegrationsError;
pub use events::{Event, EventPage, EventType};
pub use webhooks::Webhook;

use keiyaku_kernel::FieldCode;
use keiyaku_kernel::Kernel;
use keiyaku_kernel::context::Caller;
use keiyaku_kernel::events::AuditObserver;
use keiyaku_kernel::ids::new_id;
use keiyaku_kernel::kek::Kek;
use keiyaku_kernel::module::Module;
use keiyaku_kernel::validate::{Invalid, Rule};
use policy::Op;
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub struct IntegrationsModule;

impl Module for IntegrationsModule {
    fn name(&self) -> &'static str {
        "integrations"
    }

    fn tables(&self) -> Vec<&'static str> {
        vec![
            events::EVENTS.name(),
            events::CONTRACT_PARTIES.name(),
            events::SUSPENDED.name(),
            webhooks::WEBHOOKS.name(),
            delivery::DELIVERIES.name(),
            delivery::QUEUE.name(),
            delivery::ATTEMPTS.name(),
        ]
    }

    fn audit_observer(&self) -> Option<Arc<dyn AuditObserver>> {
        Some(Arc::new(events::Recorder))
    }
}

/// What `createWebhook` is given.
#[derive(Debug, Clone, Default)]
pub struct NewWebhook {
    pub url: String,
    /// Event type names (`contract.signed`, …).
    pub events: Vec<String>,
}

/// A created endpoint and its secret (`whsec_…`), shown this once.
#[derive(Debug, Clone)]
pub struct Created {
    pub webhook: Webhook,
    pub secret: String,
}

/// Events per page of the feed.
pub const EVENTS_PER_PAGE_DEFAULT: usize = 100;
pub const EVENTS_PER_PAGE_MAX: usize = 500;
/// Deliveries the worker attempts per round.
const ROUND: usize = 64;

/// The integrations service; cheap to clone.
#[derive(Clone)]
pub struct Integrations {
    pub kernel: Kernel,
    config: Arc<WebhooksConfig>,
    kek: Arc<Mutex<Option<Arc<Kek>>>>,
}

impl Integrations {
    pub fn new(kernel: Kernel, config: WebhooksConfig) -> Self {
        Self { kernel, config: Arc::new(config), kek: Arc::default() }
    }

    pub fn config(&self) -> &WebhooksConfig {
        &self.config
    }

    fn kek(&self) -> Result<Arc<Kek>, IntegrationsError> {
        let mut slot = self.kek.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(k) = slot.as_ref() {
            return Ok(k.clone());
        }
        let k = Arc::new(Kek::for_data_dir(&self.kernel.config.storage.data_dir)?);
        *slot = Some(k.clone());
        Ok(k)
    }

    fn timeout(&self) -> Duration {
        Duration::from_millis(self.config.timeout_millis.max(1))
    }

    /// listWebhooks: the tenant's endpoints (never their secrets).
    pub async fn list_webhooks(&self, caller: &Caller) -> Result<Vec<Webhook>, IntegrationsError> {
        policy::decide(caller, Op::ListWebhooks)?;
        let tenant = caller.tenant.clone();
        self.kernel.store.read(move |tx| Ok(webhooks::list(tx, &tenant)?)).await
    }

    /// createWebhook: the URL checked (and its host resolved) before the write, the event
    /// types known and at least one, a new secret sealed; audited as `webhook.create`.
    pub async fn create_webhook(&self, caller: &Caller, input: NewWebhook) -> Result<Created, IntegrationsError> {
        policy::decide(caller, Op::CreateWebhook)?;
        let allow = self.config.allow_private_targets;
        let mut invalid = Vec::new();
        let target = match target::parse("url", &input.url, allow) {
            Ok(t) => Some(t),
            Err(e) => {
                invalid.push(e);
                None
            }
        };
        let mut kinds = Vec::new();
        for name in &input.events {
            match EventType::parse(name.trim()) {
                Some(t) if !kinds.contains(&t) => kinds.push(t),
                Some(_) => {}
                None => {
                    invalid.push(Invalid::new("events", Rule::Unknown { value: name.chars().take(40).collect() }));
                    break;
                }
            }
        }
        if input.events.is_empty() {
            invalid.push(Invalid::new("events", Rule::Required));
        }
        if let Some(t) = &target
            && let Err(e) = target::resolve("url", t, allow).await
        {
            invalid.push(e);
        }
        let Some(target) = target.filter(|_| invalid.is_empty()) else {
            return Err(IntegrationsError::Invalid(invalid));
        };
        kinds.sort();
        let id = new_id();
        let (key, secret) = signature::new_secret().map_err(IntegrationsError::Kek)?;
        let sealed = self.kek()?.seal(&webhooks::key(&caller.tenant, &id), &key)?;
        let hook = Webhook {
            id,
            tenant: caller.tenant.clone(),
            url: target.url.to_string(),
            events: kinds,
            secret: sealed,
            enabled: true,
            failures: 0,
            created_at: self.kernel.now(),
            created_by: caller.user_id.clone(),
            disabled_at: None,
        };
        let (actor, max, stored) = (caller.actor(), self.config.max_endpoints, hook.clone());
        self.kernel.store.write(move |tx| webhooks::create(tx, &actor, &stored, max)).await?;
        Ok(Created { webhook: hook, secret })
    }

    /// deleteWebhook: audited as `webhook.delete`; pending deliveries are dropped.
    pub async fn delete_webhook(&self, caller: &Caller, id: &str) -> Result<Webhook, IntegrationsError> {
        policy::decide(caller, Op::DeleteWebhook)?;
        let (actor, tenant, id) = (caller.actor(), caller.tenant.clone(), id.to_string());
        self.kernel.store.write(move |tx| webhooks::delete(tx, &actor, &tenant, &id)).await
    }

    /// listWebhookDeliveries: the endpoint's delivery log, newest first (at most
    /// [`delivery::LOG_KEPT`]).
    pub async fn list_deliveries(&self, caller: &Caller, id: &str) -> Result<Vec<Attempt>, IntegrationsError> {
        policy::decide(caller, Op::ListWebhookDeliveries)?;
        let (tenant, id) = (caller.tenant.clone(), id.to_string());
        self.kernel
            .store
            .read(move |tx| {
                webhooks::get(tx, &tenant, &id)?.ok_or(IntegrationsError::NotFound("webhook"))?;
                let mut items: Vec<Attempt> = keiyaku_kernel::store::Read::scan(
                    tx,
                    &delivery::ATTEMPTS,
                    &format!("{}/", webhooks::key(&tenant, &id)),
                )?
                .into_iter()
                .map(|(_, a)| a)
                .collect();
                items.reverse();
                Ok(items)
            })
            .await
    }

    /// testWebhook: posts a `webhook.test` message now (also to a disabled endpoint), logs
    /// the attempt and audits it as `webhook.test`; failures do not count towards disabling.
    pub async fn test_webhook(&self, caller: &Caller, id: &str) -> Result<Attempt, IntegrationsError> {
        policy::decide(caller, Op::TestWebhook)?;
        let (tenant, hid) = (caller.tenant.clone(), id.to_string());
        let hook = self
            .kernel
            .store
            .read(move |tx| webhooks::get(tx, &tenant, &hid)?.ok_or(IntegrationsError::NotFound("webhook")))
            .await?;
        let key = self.kek()?.open(&webhooks::key(&hook.tenant, &hook.id), &hook.secret)?;
        let at = self.kernel.now();
        let msg_id = format!("msg_test_{}", new_id());
        let payload = serde_json::json!({
            "type": "webhook.test",
            "timestamp": at.to_string(),
            "data": {"webhook_id": hook.id, "tenant": hook.tenant},
        });
        let message = delivery::Message::new(&key, &msg_id, at.as_second(), &payload);
        let outcome = delivery::post(&hook.url, self.config.allow_private_targets, self.timeout(), &message).await;
        let attempt = Attempt {
            id: new_id(),
            webhook_id: hook.id.clone(),
            event_id: None,
            event_type: "webhook.test".into(),
            msg_id,
            at,
            attempt: 1,
            status: outcome.status,
            error: outcome.error.clone(),
            duration_ms: outcome.duration_ms,
            result: AttemptResult::Test,
        };
        let (actor, logged) = (caller.actor(), attempt.clone());
        self.kernel
            .store
            .write(move |tx| {
                delivery::log(tx, &hook.tenant, &logged)?;
                tx.audit(
                    &actor,
                    "webhook.test",
                    &webhooks::key(&hook.tenant, &hook.id),
                    serde_json::json!({"status": logged.status, "error": logged.error}),
                )?;
                Ok::<_, IntegrationsError>(())
            })
            .await?;
        Ok(attempt)
    }

    /// listEvents: the events after the cursor `after` (none: from the start) the caller
    /// may see, oldest first, at most `limit` (default [`EVENTS_PER_PAGE_DEFAULT`]).
    pub async fn list_events(
        &self,
        caller: &Caller,
        after: Option<&str>,
        limit: Option<i64>,
    ) -> Result<EventPage, IntegrationsError> {
        let sight = policy::decide(caller, Op::ListEvents)?;
        let after = match after.map(str::trim).filter(|a| !a.is_empty()) {
            None => 0,
            Some(a) => a.parse::<u64>().map_err(|_| {
                IntegrationsError::invalid(
                    "after",
                    Rule::Custom {
                        code: FieldCode::InvalidCursor,
                        ja: "カーソルの形式が正しくありません。".into(),
                        en: "This is not a cursor of the event feed.".into(),
                    },
                )
            })?,
        };
        let limit = match limit {
            None => EVENTS_PER_PAGE_DEFAULT,
            Some(n) if n >= 1 && n <= EVENTS_PER_PAGE_MAX as i64 => n as usize,
            Some(_) => {
                return Err(IntegrationsError::invalid(
                    "limit",
                    Rule::Custom {
                        code: FieldCode::OutOfRange,
                        ja: format!("1から{EVENTS_PER_PAGE_MAX}までの数を指定してください。"),
                        en: format!("Use a number from 1 to {EVENTS_PER_PAGE_MAX}."),
                    },
                ));
            }
        };
        let tenant = caller.tenant.clone();
        self.kernel.store.read(move |tx| Ok(events::page(tx, &tenant, after, limit, |e| sight.sees(e))?)).await
    }

    /// One round of the worker: attempts the due deliveries (in parallel across endpoints
    /// and subjects) and records each outcome; how many were attempted.
    pub async fn deliver_due(&self) -> Result<usize, IntegrationsError> {
        let now = self.kernel.now();
        let due = self.kernel.store.read(move |tx| delivery::due(tx, now, ROUND)).await?;
        if due.is_empty() {
            return Ok(0);
        }
        let kek = self.kek()?;
        let mut tasks = tokio::task::JoinSet::new();
        let n = due.len();
        for d in due {
            let service = self.clone();
            let kek = kek.clone();
            tasks.spawn(async move { service.attempt(&kek, d).await });
        }
        while let Some(done) = tasks.join_next().await {
            match done {
                Ok(Ok(())) => {}
                Ok(Err(e)) => tracing::warn!(error = %e, "recording a webhook delivery failed"),
                Err(e) => tracing::warn!(error = %e, "a webhook delivery task failed"),
            }
        }
        Ok(n)
    }

    /// What the delivery job runs every `webhooks.poll_millis`: rounds of [`deliver_due`]
    /// while they find full rounds of due deliveries (at most 16), so a backlog drains
    /// without waiting for the next run. After a restart it resumes from the queue.
    ///
    /// [`deliver_due`]: Integrations::deliver_due
    pub async fn deliver_pending(&self) -> Result<usize, IntegrationsError> {
        let mut total = 0;
        for _ in 0..16 {
            let n = self.deliver_due().await?;
            total += n;
            if n < ROUND {
                break;
            }
        }
        Ok(total)
    }

    /// How often the delivery job runs.
    pub fn poll_interval(&self) -> Duration {
        Duration::from_millis(self.config.poll_millis.max(50))
    }

    async fn attempt(&self, kek: &Kek, d: delivery::Due) -> Result<(), IntegrationsError> {
        let started = self.kernel.now();
        let outcome = match kek.open(&webhooks::key(&d.webhook.tenant, &d.webhook.id), &d.webhook.secret) {
            Ok(key) => {
                let message = delivery::Message::new(&key, &d.delivery.msg_id, started.as_second(), &d.event.payload());
                delivery::post(&d.webhook.url, self.config.allow_private_targets, self.timeout(), &message).await
            }
            Err(e) => delivery::Outcome { status: None, error: Some(format!("secret: {}", e.0)), duration_ms: 0 },
        };
        let (config, smtp, key) = (self.config.clone(), self.kernel.config.mail.smtp_enabled(), d.key);
        self.kernel.store.write(move |tx| delivery::record(tx, &config, smtp, &key, started, &outcome)).await?;
        Ok(())
    }
}
