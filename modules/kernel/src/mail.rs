//! The mail outbox. Every notice keiyaku sends is written to the outbox in the same
//! transaction as the change that caused it; the mailbox page reads it, and when SMTP is
//! configured a background sender delivers it with retries.

use crate::clock::rfc3339;
use crate::config::MailConfig;
use crate::context::Actor;
use crate::ids::new_id;
use crate::store::{Read, Store, StoreError, Table, Tx};
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// Every mail, keyed by a time-ordered id.
pub const OUTBOX: Table<Mail> = Table::new("outbox");
/// Ids of mails still to be delivered by SMTP.
pub const OUTBOX_QUEUE: Table<()> = Table::new("outbox_queue");
/// `owner/mail id` → when it was queued: mails that hold a secret (an initial password)
/// until it is scrubbed ([`scrub`]).
pub const OUTBOX_SECRETS: Table<Timestamp> = Table::new("outbox_secrets");

/// How long a secret stays readable in a mail that is not delivered by SMTP.
pub const SECRET_KEPT: SignedDuration = SignedDuration::from_hours(24 * 7);

/// What replaces a scrubbed secret in a stored mail.
pub const SCRUBBED: &str = "(セキュリティのため削除しました)";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Delivery {
    /// Kept in the outbox only (no SMTP configured).
    Stored,
    Pending,
    Sent,
    Failed,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attachment {
    pub name: String,
    pub content_type: String,
    /// Base64 (standard) of the content.
    pub data: String,
}

impl Attachment {
    pub fn new(name: &str, content_type: &str, bytes: &[u8]) -> Self {
        use base64::Engine;
        Self {
            name: name.to_string(),
            content_type: content_type.to_string(),
            data: base64::engine::general_purpose::STANDARD.encode(bytes),
        }
    }

    pub fn bytes(&self) -> Vec<u8> {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD.decode(&self.data).unwrap_or_default()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mail {
    pub id: String,
    pub tenant: Option<String>,
    pub to: String,
    pub subject: String,
    pub body: String,
    #[serde(default)]
    pub attachments: Vec<Attachment>,
    pub created_at: String,
    pub delivery: Delivery,
    #[serde(default)]
    pub attempts: u32,
    #[serde(default)]
    pub next_attempt_at: Option<Timestamp>,
    #[serde(default)]
    pub last_error: Option<String>,
    #[serde(default)]
    pub sent_at: Option<String>,
    /// The secret in the body, until [`scrub`] replaces it with [`SCRUBBED`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
}

/// What a module hands to [`Tx::send_mail`].
#[derive(Debug, Clone, Default)]
pub struct NewMail {
    pub tenant: Option<String>,
    pub to: String,
    pub subject: String,
    pub body: String,
    pub attachments: Vec<Attachment>,
}

impl Tx {
    /// Puts a mail in the outbox (and in the SMTP queue when `smtp` is true).
    pub fn send_mail(&mut self, mail: NewMail, smtp: bool) -> Result<String, StoreError> {
        self.queue_mail(mail, smtp, None)
    }

    /// [`send_mail`](Self::send_mail) for a mail whose body holds `secret` (an initial
    /// password) meant for `owner` (`tenant/user id`): the stored copy loses it after SMTP
    /// delivery, after [`SECRET_KEPT`] in the outbox, or at the owner's first login.
    pub fn send_secret_mail(
        &mut self,
        mail: NewMail,
        smtp: bool,
        owner: &str,
        secret: &str,
    ) -> Result<String, StoreError> {
        let id = self.queue_mail(mail, smtp, Some(secret.to_string()))?;
        let now = self.now();
        self.put(&OUTBOX_SECRETS, &format!("{owner}/{id}"), &now)?;
        Ok(id)
    }

    fn queue_mail(&mut self, mail: NewMail, smtp: bool, secret: Option<String>) -> Result<String, StoreError> {
        let id = new_id();
        let record = Mail {
            id: id.clone(),
            tenant: mail.tenant,
            to: mail.to,
            subject: mail.subject,
            body: mail.body,
            attachments: mail.attachments,
            created_at: rfc3339(self.now()),
            delivery: if smtp { Delivery::Pending } else { Delivery::Stored },
            attempts: 0,
            next_attempt_at: None,
            last_error: None,
            sent_at: None,
            secret,
        };
        self.put(&OUTBOX, &id, &record)?;
        if smtp {
            self.put(&OUTBOX_QUEUE, &id, &())?;
            self.note_mail_enqueued();
        }
        Ok(id)
    }
}

/// Replaces the secret of a stored mail with [`SCRUBBED`] (nothing when it has none).
fn scrub_mail(tx: &mut Tx, id: &str) -> Result<bool, StoreError> {
    let Some(mut m) = tx.get(&OUTBOX, id)? else { return Ok(false) };
    let Some(secret) = m.secret.take().filter(|s| !s.is_empty()) else { return Ok(false) };
    m.body = m.body.replace(&secret, SCRUBBED);
    tx.put(&OUTBOX, id, &m)?;
    Ok(true)
}

/// Scrubs the secrets of the indexed mails under `prefix` that `doomed` picks; returns how many.
fn scrub_where(tx: &mut Tx, prefix: &str, doomed: impl Fn(&str, &Timestamp) -> bool) -> Result<usize, StoreError> {
    let rows: Vec<(String, Timestamp)> = tx.scan(&OUTBOX_SECRETS, prefix)?;
    let mut n = 0;
    for (key, _) in rows.iter().filter(|(k, at)| doomed(k, at)) {
        tx.remove(&OUTBOX_SECRETS, key)?;
        let id = key.rsplit('/').next().unwrap_or_default();
        n += usize::from(scrub_mail(tx, id)?);
    }
    Ok(n)
}

/// Scrubs one mail's secret (after its SMTP delivery).
pub fn scrub(tx: &mut Tx, id: &str) -> Result<usize, StoreError> {
    scrub_where(tx, "", |k, _| k.ends_with(&format!("/{id}")))
}

/// Scrubs the secrets mailed to `owner` (`tenant/user id`), at their first login.
pub fn scrub_for(tx: &mut Tx, owner: &str) -> Result<usize, StoreError> {
    scrub_where(tx, &format!("{owner}/"), |_, _| true)
}

/// Scrubs the secrets kept longer than [`SECRET_KEPT`] (run hourly).
pub fn scrub_expired(tx: &mut Tx) -> Result<usize, StoreError> {
    let cutoff = tx.now().checked_sub(SECRET_KEPT).unwrap_or(Timestamp::UNIX_EPOCH);
    scrub_where(tx, "", |_, at| *at <= cutoff)
}

/// Whose mail a reader of the outbox may see.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// The operator, or anyone on a public mailbox outside a demo.
    All,
    /// Anonymous readers of a demo's public mailbox: the demo tenant's mail only.
    Tenants(&'static [&'static str]),
}

impl Scope {
    /// What an anonymous reader of the public mailbox sees.
    pub fn public(config: &crate::Config) -> Self {
        config.public_tenants().map_or(Scope::All, Scope::Tenants)
    }

    pub fn shows(&self, m: &Mail) -> bool {
        match self {
            Scope::All => true,
            Scope::Tenants(codes) => m.tenant.as_deref().is_some_and(|t| codes.contains(&t)),
        }
    }
}

/// Mails in the outbox, newest first, optionally only those to one address
/// (case-insensitive), at most `limit`.
pub fn list(tx: &impl Read, to: Option<&str>, limit: usize) -> Result<Vec<Mail>, StoreError> {
    list_in(tx, Scope::All, to, limit)
}

/// [`list`] within what `scope` shows.
pub fn list_in(tx: &impl Read, scope: Scope, to: Option<&str>, limit: usize) -> Result<Vec<Mail>, StoreError> {
    let want = to.map(|t| t.trim().to_ascii_lowercase());
    let mut all: Vec<Mail> = tx.scan(&OUTBOX, "")?.into_iter().map(|(_, m)| m).collect();
    all.reverse();
    Ok(all
        .into_iter()
        .filter(|m| scope.shows(m) && want.as_ref().is_none_or(|w| m.to.to_ascii_lowercase() == *w))
        .take(limit)
        .collect())
}

pub fn get(tx: &impl Read, id: &str) -> Result<Option<Mail>, StoreError> {
    tx.get(&OUTBOX, id)
}

/// Back-off before attempt `n + 1`: 1, 2, 4 … minutes, at most an hour.
fn backoff(attempts: u32) -> SignedDuration {
    let mins = 1i64 << attempts.min(6);
    SignedDuration::from_mins(mins.min(60))
}

/// Delivers queued mail by SMTP until `shutdown` resolves. Does nothing when SMTP is not
/// configured.
pub async fn run_sender(store: Store, config: MailConfig, shutdown: tokio::sync::watch::Receiver<bool>) {
    let Some(url) = config.smtp_url.clone().filter(|u| !u.is_empty()) else {
        return;
    };
    let transport = match lettre::AsyncSmtpTransport::<lettre::Tokio1Executor>::from_url(&url) {
        Ok(b) => b.timeout(Some(Duration::from_secs(30))).build(),
        Err(e) => {
            tracing::error!(error = %e, "mail.smtp_url is not usable; mail stays in the outbox");
            return;
        }
    };
    let wake = store.outbox_changed();
    let mut shutdown = shutdown;
    loop {
        if let Err(e) = deliver_due(&store, &transport, &config).await {
            tracing::warn!(error = %e, "mail delivery round failed");
        }
        tokio::select! {
            _ = wake.notified() => {}
            _ = tokio::time::sleep(Duration::from_secs(30)) => {}
            _ = shutdown.changed() => return,
        }
    }
}

async fn deliver_due(
    store: &Store,
    transport: &lettre::AsyncSmtpTransport<lettre::Tokio1Executor>,
    config: &MailConfig,
) -> Result<(), StoreError> {
    use lettre::AsyncTransport;
    let now = store.now();
    let due: Vec<Mail> = store
        .read(move |tx| {
            let mut out = Vec::new();
            for (id, ()) in tx.scan(&OUTBOX_QUEUE, "")? {
                if let Some(m) = tx.get(&OUTBOX, &id)?
                    && m.next_attempt_at.is_none_or(|t| t <= now)
                {
                    out.push(m);
                }
            }
            Ok::<_, StoreError>(out)
        })
        .await?;
    for mail in due {
        let result = match build_message(&mail, &config.from) {
            Ok(msg) => transport.send(msg).await.map(|_| ()).map_err(|e| e.to_string()),
            Err(e) => Err(e),
        };
        let max = config.smtp_max_attempts;
        store
            .write(move |tx| {
                let Some(mut m) = tx.get(&OUTBOX, &mail.id)? else {
                    return Ok::<_, StoreError>(());
                };
                m.attempts = m.attempts.saturating_add(1);
                let action = match &result {
                    Ok(()) => {
                        m.delivery = Delivery::Sent;
                        m.sent_at = Some(rfc3339(tx.now()));
                        m.last_error = None;
                        tx.remove(&OUTBOX_QUEUE, &m.id)?;
                        if let Some(secret) = m.secret.take() {
                            m.body = m.body.replace(&secret, SCRUBBED);
                            scrub(tx, &m.id)?;
                        }
                        "mail.sent"
                    }
                    Err(e) if m.attempts >= max => {
                        m.delivery = Delivery::Failed;
                        m.last_error = Some(e.clone());
                        tx.remove(&OUTBOX_QUEUE, &m.id)?;
                        "mail.failed"
                    }
                    Err(e) => {
                        m.last_error = Some(e.clone());
                        m.next_attempt_at = tx.now().checked_add(backoff(m.attempts)).ok();
                        "mail.retry"
                    }
                };
                tx.put(&OUTBOX, &m.id.clone(), &m)?;
                tx.audit(
                    &Actor::system(),
                    action,
                    &m.id,
                    serde_json::json!({"to": m.to, "attempts": m.attempts, "error": m.last_error}),
                )
            })
            .await?;
    }
    Ok(())
}

fn build_message(mail: &Mail, from: &str) -> Result<lettre::Message, String> {
    use lettre::message::{Attachment as LAttachment, MultiPart, SinglePart, header::ContentType};
    let builder = lettre::Message::builder()
        .from(from.parse().map_err(|e| format!("from: {e}"))?)
        .to(mail.to.parse().map_err(|e| format!("to: {e}"))?)
        .subject(mail.subject.clone());
    let text = SinglePart::plain(mail.body.clone());
    if mail.attachments.is_empty() {
        return builder.singlepart(text).map_err(|e| e.to_string());
    }
    let mut multi = MultiPart::mixed().singlepart(text);
    for a in &mail.attachments {
        let ct = ContentType::parse(&a.content_type).unwrap_or(ContentType::TEXT_PLAIN);
        multi = multi.singlepart(LAttachment::new(a.name.clone()).body(a.bytes(), ct));
    }
    builder.multipart(multi).map_err(|e| e.to_string())
}

/// Every mail of the outbox (sent or not), in id order.
pub fn all_mails(tx: &impl Read) -> Result<Vec<Mail>, StoreError> {
    Ok(tx.scan(&OUTBOX, "")?.into_iter().map(|(_, m)| m).collect())
}

/// How many mails wait for SMTP delivery.
pub fn queued(tx: &impl Read) -> Result<usize, StoreError> {
    tx.count(&OUTBOX_QUEUE, "")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        assert_eq!(backoff(0), SignedDuration::from_mins(1));
        assert_eq!(backoff(3), SignedDuration::from_mins(8));
        assert_eq!(backoff(30), SignedDuration::from_mins(60));
    }

    #[test]
    fn messages_build_with_attachments() {
        let mail = Mail {
            id: "1".into(),
            tenant: None,
            to: "a@example.jp".into(),
            subject: "【電子契約サービス】 ユーザー登録通知".into(),
            body: "本文".into(),
            attachments: vec![Attachment::new("tickets.csv", "text/csv", b"a,b\n")],
            created_at: String::new(),
            delivery: Delivery::Pending,
            attempts: 0,
            next_attempt_at: None,
            last_error: None,
            sent_at: None,
            secret: None,
        };
        assert!(build_message(&mail, "keiyaku <noreply@localhost>").is_ok());
        assert!(build_message(&mail, "not an address").is_err());
        assert_eq!(mail.attachments[0].bytes(), b"a,b\n");
    }
}
