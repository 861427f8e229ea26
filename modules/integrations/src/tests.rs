//! The rules without HTTP transport of our own: a real store with the kernel and this module,
//! a manual clock, and (for delivery) a receiver on loopback.

use crate::delivery::{self, DELIVERIES, Outcome, QUEUE, State};
use crate::events::{EVENTS, EventType};
use crate::webhooks::WEBHOOKS;
use crate::{Integrations, IntegrationsError, IntegrationsModule, NewWebhook, WebhooksConfig};
use jiff::SignedDuration;
use keiyaku_kernel::context::{Actor, Caller};
use keiyaku_kernel::directory::{self, NewCompany, NewTenant, NewUser, Role, UserPatch, UserStatus};
use keiyaku_kernel::module::{KernelModule, Module};
use keiyaku_kernel::store::{Read, Store, StoreError, Tx};
use keiyaku_kernel::{Config, Kernel, ManualClock};
use std::sync::Arc;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const T: &str = "HXOS2";

struct Fixture {
    service: Integrations,
    clock: Arc<ManualClock>,
    owner_admin: Caller,
    partner_admin: Caller,
    partner_company: String,
    signer: Caller,
    /// Events the fixture made (its users' `user.created`): the tests' events follow.
    base: u64,
}

impl Fixture {
    /// The id of the test's `n`-th event.
    fn e(&self, n: u64) -> u64 {
        self.base + n
    }

    fn es<const N: usize>(&self, ns: [u64; N]) -> Vec<u64> {
        ns.iter().map(|n| self.e(*n)).collect()
    }
}

fn caller(user: &directory::User, owner_side: bool) -> Caller {
    Caller {
        tenant: T.into(),
        user_id: user.user_id.clone(),
        name: user.name.clone(),
        company_id: user.company_id.clone(),
        group_id: user.group_id.clone(),
        owner_side,
        roles: user.roles.clone(),
        client: Some("192.0.2.1".into()),
    }
}

fn fixture(config: WebhooksConfig) -> Fixture {
    let dir = std::env::temp_dir().join(format!("keiyaku-integrations-{}", keiyaku_kernel::ids::new_id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let clock = Arc::new(ManualClock::new("2026-11-25T01:00:00Z".parse().expect("ts")));
    let modules: [&dyn Module; 2] = [&KernelModule, &IntegrationsModule];
    let store = Store::open(&dir.join("k.redb"), clock.clone(), &modules).expect("store");
    let mut kernel_config = Config::default();
    kernel_config.storage.data_dir = dir;
    let kernel = Kernel::new(store, clock.clone(), Arc::new(kernel_config));
    let (owner_admin, partner_admin, partner_company, signer) = kernel
        .store
        .write_blocking(|tx| {
            let sys = Actor::system();
            let (_, _, root) = directory::create_tenant(
                tx,
                &sys,
                NewTenant {
                    code: T.into(),
                    name: "オリエンタル白石".into(),
                    trial: false,
                    owner_name: "オリエンタル白石株式会社".into(),
                    owner_name_kana: String::new(),
                },
            )?;
            let (partner, proot) = directory::create_partner_company(
                tx,
                &sys,
                T,
                NewCompany {
                    name: "アイテックコンサルタント株式会社".into(),
                    name_kana: String::new(),
                    vendor_code: "A15336".into(),
                },
            )?;
            let user = |tx: &mut Tx, id: &str, email: &str, roles: Vec<Role>, group: &str| {
                directory::create_user(
                    tx,
                    &sys,
                    T,
                    NewUser {
                        user_id: id.into(),
                        name: format!("利用者 {id}"),
                        email: email.into(),
                        roles,
                        group_id: group.into(),
                        ..Default::default()
                    },
                )
            };
            let admin =
                user(tx, "HX000001", "horii@example.jp", vec![Role::GroupAdmin, Role::Administration], &root.id)?;
            let signer = user(tx, "HX000003", "signer@example.jp", vec![Role::Signer], &root.id)?;
            let padmin = user(tx, "A1533601", "itec@example.jp", vec![Role::GroupAdmin], &proot.id)?;
            Ok::<_, directory::DirectoryError>((
                caller(&admin, true),
                caller(&padmin, false),
                partner.id,
                caller(&signer, true),
            ))
        })
        .expect("tenant");
    let base = kernel.store.read_blocking(|tx| crate::events::last_id(tx, T)).expect("events");
    assert_eq!(base, 3, "the fixture's users");
    Fixture {
        service: Integrations::new(kernel, config),
        clock,
        owner_admin,
        partner_admin,
        partner_company,
        signer,
        base,
    }
}

fn loopback() -> WebhooksConfig {
    WebhooksConfig { allow_private_targets: true, ..WebhooksConfig::default() }
}

fn store(f: &Fixture) -> &Store {
    &f.service.kernel.store
}

async fn hook(f: &Fixture, url: &str, events: &[&str]) -> crate::Created {
    f.service
        .create_webhook(
            &f.owner_admin,
            NewWebhook { url: url.into(), events: events.iter().map(|e| e.to_string()).collect() },
        )
        .await
        .expect("webhook")
}

/// What a contracts module writes for a transition (`storage::record` ends in the audit).
fn contract_change(tx: &mut Tx, action: &str, contract: &str, detail: serde_json::Value) -> Result<(), StoreError> {
    tx.audit(&Actor::system(), action, &format!("{T}/{contract}"), detail)
}

fn queue(f: &Fixture) -> Vec<String> {
    store(f).read_blocking(|tx| tx.scan(&QUEUE, "")).expect("queue").into_iter().map(|(k, _)| k).collect()
}

fn due_events(f: &Fixture) -> Vec<u64> {
    let now = f.service.kernel.now();
    store(f).read_blocking(|tx| delivery::due(tx, now, 100)).expect("due").into_iter().map(|d| d.event.id).collect()
}

fn record(f: &Fixture, key: &str, status: Option<u16>) {
    let config = f.service.config().clone();
    let started = f.service.kernel.now();
    let outcome = Outcome { status, error: status.is_none().then(|| "connection refused".into()), duration_ms: 3 };
    store(f).write_blocking(|tx| delivery::record(tx, &config, false, key, started, &outcome)).expect("record");
}

/// The queue key of the test's `event`-th event to `hook`.
fn key_of(f: &Fixture, hook: &str, event: u64) -> String {
    delivery::key(T, hook, f.e(event))
}

#[tokio::test]
async fn an_event_and_its_delivery_commit_with_the_change_or_not_at_all() {
    let f = fixture(loopback());
    let h = hook(&f, "http://127.0.0.1:9/hook", &["contract.signed"]).await;
    // Seen inside the very transaction that makes the change.
    let inside = store(&f)
        .write_blocking(|tx| {
            contract_change(tx, "contract.sign", "C1", serde_json::json!({"step": 2}))?;
            Ok::<_, StoreError>((tx.count(&EVENTS, "")?, tx.count(&DELIVERIES, "")?, tx.count(&QUEUE, "")?))
        })
        .expect("write");
    assert_eq!(inside, (f.e(1) as usize, 1, 1));
    // A change that is rolled back leaves no event and no delivery.
    let aborted: Result<(), StoreError> = store(&f).write_blocking(|tx| {
        contract_change(tx, "contract.sign", "C2", serde_json::json!({}))?;
        Err(StoreError::Database("the change failed".into()))
    });
    assert!(aborted.is_err());
    // Types the endpoint did not choose, and audit actions that are no event, queue nothing.
    store(&f)
        .write_blocking(|tx| {
            contract_change(tx, "contract.approve", "C1", serde_json::json!({}))?;
            tx.audit(&Actor::system(), "auth.login", &format!("{T}/HX000001"), serde_json::json!({}))
        })
        .expect("write");
    let (events, deliveries) = store(&f)
        .read_blocking(|tx| Ok::<_, StoreError>((tx.scan(&EVENTS, "")?, tx.scan(&DELIVERIES, "")?)))
        .expect("read");
    let kinds: Vec<(u64, EventType)> = events.iter().skip(3).map(|(_, e)| (e.id, e.kind)).collect();
    assert_eq!(kinds, [(f.e(1), EventType::ContractSigned), (f.e(2), EventType::ContractApproved)]);
    assert_eq!(deliveries.len(), 1);
    let d = &deliveries[0].1;
    assert_eq!((d.event_id, d.state), (f.e(1), State::Pending));
    assert_eq!(d.msg_id, format!("msg_{}_{}", h.webhook.id, f.e(1)));
}

#[tokio::test]
async fn a_later_event_of_a_subject_waits_for_the_earlier_one() {
    let f = fixture(loopback());
    let h = hook(&f, "http://127.0.0.1:9/hook", &["contract.approved", "contract.signed", "contract.completed"]).await;
    store(&f)
        .write_blocking(|tx| {
            contract_change(tx, "contract.approve", "C1", serde_json::json!({}))?; // 1
            contract_change(tx, "contract.sign", "C1", serde_json::json!({}))?; // 2
            contract_change(tx, "contract.approve", "C2", serde_json::json!({}))?; // 3
            contract_change(tx, "contract.complete", "C1", serde_json::json!({})) // 4
        })
        .expect("write");
    let id = h.webhook.id.clone();
    // One per subject: C1's first and C2's.
    assert_eq!(due_events(&f), f.es([1, 3]));
    // C1's first fails: C1 waits (its next event is not overtaking), C2 is delivered.
    record(&f, &key_of(&f, &id, 1), None);
    record(&f, &key_of(&f, &id, 3), Some(204));
    assert_eq!(due_events(&f), Vec::<u64>::new());
    f.clock.advance(SignedDuration::from_secs(30));
    assert_eq!(due_events(&f), f.es([1]));
    record(&f, &key_of(&f, &id, 1), Some(200));
    assert_eq!(due_events(&f), f.es([2]));
    record(&f, &key_of(&f, &id, 2), Some(200));
    assert_eq!(due_events(&f), f.es([4]));
    record(&f, &key_of(&f, &id, 4), Some(200));
    assert!(queue(&f).is_empty());
}

#[tokio::test]
async fn failed_attempts_back_off_then_give_up_and_the_subject_moves_on() {
    let f = fixture(WebhooksConfig { max_attempts: 4, ..loopback() });
    let h = hook(&f, "http://127.0.0.1:9/hook", &["contract.signed"]).await;
    store(&f)
        .write_blocking(|tx| {
            contract_change(tx, "contract.sign", "C1", serde_json::json!({}))?;
            contract_change(tx, "contract.sign", "C1", serde_json::json!({}))
        })
        .expect("write");
    let k = key_of(&f, &h.webhook.id, 1);
    for (attempt, wait) in [(1, 30), (2, 120), (3, 600)] {
        assert_eq!(due_events(&f), f.es([1]), "attempt {attempt}");
        record(&f, &k, Some(503));
        f.clock.advance(SignedDuration::from_secs(wait - 1));
        assert!(due_events(&f).is_empty(), "attempt {attempt} waits {wait} s");
        f.clock.advance(SignedDuration::from_secs(1));
    }
    record(&f, &k, Some(500));
    let d = store(&f).read_blocking(|tx| tx.get(&DELIVERIES, &k)).expect("read").expect("delivery");
    assert_eq!((d.state, d.attempts, d.last_status), (State::GivenUp, 4, Some(500)));
    // Given up: the subject's next event is due at once.
    assert_eq!(due_events(&f), f.es([2]));
    let log = f.service.list_deliveries(&f.owner_admin, &h.webhook.id).await.expect("log");
    let results: Vec<(u32, Option<u16>)> = log.iter().map(|a| (a.attempt, a.status)).collect();
    assert_eq!(results, [(4, Some(500)), (3, Some(503)), (2, Some(503)), (1, Some(503))]);
    assert_eq!(log[0].result, crate::AttemptResult::GivenUp);
    assert_eq!(log[1].result, crate::AttemptResult::Retry);
    let hook = store(&f).read_blocking(|tx| crate::webhooks::get(tx, T, &h.webhook.id)).expect("read").expect("hook");
    assert_eq!((hook.failures, hook.enabled), (1, true));
}

#[tokio::test]
async fn repeated_failure_disables_the_endpoint_and_mails_the_owners_administrators() {
    let f = fixture(WebhooksConfig { max_attempts: 1, disable_after: 3, ..loopback() });
    let h = hook(&f, "http://127.0.0.1:9/hook", &["contract.signed"]).await;
    store(&f)
        .write_blocking(|tx| {
            for c in ["C1", "C2", "C3", "C4", "C5"] {
                contract_change(tx, "contract.sign", c, serde_json::json!({}))?;
            }
            Ok::<_, StoreError>(())
        })
        .expect("write");
    let id = h.webhook.id.clone();
    // A success between failures starts the count again.
    record(&f, &key_of(&f, &id, 1), None);
    record(&f, &key_of(&f, &id, 2), Some(200));
    record(&f, &key_of(&f, &id, 3), None);
    record(&f, &key_of(&f, &id, 4), Some(404));
    let mails_before = store(&f).read_blocking(keiyaku_kernel::mail::all_mails).expect("mails").len();
    record(&f, &key_of(&f, &id, 5), Some(500));
    let hook = store(&f).read_blocking(|tx| crate::webhooks::get(tx, T, &id)).expect("read").expect("hook");
    assert!(!hook.enabled);
    assert_eq!(hook.failures, 3);
    assert!(hook.disabled_at.is_some());
    let mails = store(&f).read_blocking(keiyaku_kernel::mail::all_mails).expect("mails");
    let new: Vec<_> = mails.iter().skip(mails_before).collect();
    // The owner's group administrator only (not the partner's, not the signer).
    assert_eq!(new.len(), 1);
    assert_eq!(new[0].to, "horii@example.jp");
    assert_eq!(new[0].subject, "【電子契約サービス】 Webhookの送信停止のお知らせ");
    assert!(new[0].body.contains("3件続けて失敗"), "{}", new[0].body);
    assert!(new[0].body.contains("http://127.0.0.1:9/hook"));
    assert!(new[0].body.contains("HTTPステータス 500"));
    let actions: Vec<String> =
        store(&f).read_blocking(keiyaku_kernel::audit::all).expect("audit").into_iter().map(|r| r.action).collect();
    assert!(actions.contains(&"webhook.disable".to_string()));
    // A disabled endpoint gets no new deliveries.
    store(&f).write_blocking(|tx| contract_change(tx, "contract.sign", "C6", serde_json::json!({}))).expect("write");
    assert!(queue(&f).is_empty());
}

#[tokio::test]
async fn the_feed_pages_by_cursor_and_shows_each_caller_what_they_may_see() {
    let f = fixture(loopback());
    let partner = f.partner_company.clone();
    store(&f)
        .write_blocking(|tx| {
            contract_change(tx, "document.register", "C1", serde_json::json!({"counterparty": partner}))?; // 1
            contract_change(tx, "document.register", "C2", serde_json::json!({"counterparty": "other"}))?; // 2
            contract_change(tx, "contract.approve", "C1", serde_json::json!({"step": 0}))?; // 3
            contract_change(tx, "contract.approve", "C2", serde_json::json!({"step": 0}))?; // 4
            contract_change(tx, "contract.sign", "C1", serde_json::json!({}))?; // 5
            let sys = Actor::system();
            // The partner's own user is suspended: once, however often it is changed then.
            let patch = || UserPatch { status: Some(UserStatus::Suspended), ..Default::default() };
            directory::update_user(tx, &sys, T, "A1533601", patch())
                .map_err(|e| StoreError::Database(e.to_string()))?; // 6
            directory::update_user(tx, &sys, T, "A1533601", patch())
                .map_err(|e| StoreError::Database(e.to_string()))?;
            Ok::<_, StoreError>(())
        })
        .expect("write");
    let s = &f.service;
    let ids = |p: &crate::EventPage| p.items.iter().map(|e| e.id).collect::<Vec<_>>();
    let at = |n: u64| Some(f.e(n).to_string());
    let from_start = s.list_events(&f.owner_admin, None, Some(2)).await.expect("page");
    assert_eq!(ids(&from_start), [1, 2], "the fixture's users come first");
    let p1 = s.list_events(&f.owner_admin, at(0).as_deref(), Some(2)).await.expect("page");
    assert_eq!((ids(&p1), p1.next), (f.es([1, 2]), f.e(2)));
    let p2 = s.list_events(&f.owner_admin, Some(&p1.next.to_string()), Some(2)).await.expect("page");
    assert_eq!((ids(&p2), p2.next), (f.es([3, 4]), f.e(4)));
    let p3 = s.list_events(&f.owner_admin, at(4).as_deref(), Some(2)).await.expect("page");
    assert_eq!((ids(&p3), p3.next), (f.es([5, 6]), f.e(6)));
    let end = s.list_events(&f.owner_admin, at(6).as_deref(), Some(2)).await.expect("page");
    assert_eq!((ids(&end), end.next), (vec![], f.e(6)));
    // Stable: the same cursor gives the same page, also after more events.
    store(&f).write_blocking(|tx| contract_change(tx, "contract.complete", "C1", serde_json::json!({}))).expect("w");
    let again = s.list_events(&f.owner_admin, at(2).as_deref(), Some(2)).await.expect("page");
    assert_eq!(ids(&again), f.es([3, 4]));
    let newest = s.list_events(&f.owner_admin, at(6).as_deref(), None).await.expect("page");
    assert_eq!(newest.items[0].kind, EventType::ContractCompleted);
    assert_eq!(p3.items[1].kind, EventType::UserSuspended);
    assert_eq!(p3.items[0].data["actor"]["id"], "system");

    // The partner's administrator: the contract it is the counterparty of, and its own user.
    // (Its own user's creation, event 3 of the fixture, is among them.)
    let all = s.list_events(&f.partner_admin, None, None).await.expect("page");
    assert_eq!(ids(&all), [3, f.e(1), f.e(3), f.e(5), f.e(6), f.e(7)]);
    let part = s.list_events(&f.partner_admin, at(1).as_deref(), Some(1)).await.expect("page");
    assert_eq!((ids(&part), part.next), (f.es([3]), f.e(3)));
    // Neither a signer nor a bad cursor.
    assert!(matches!(s.list_events(&f.signer, None, None).await, Err(IntegrationsError::Forbidden)));
    assert!(matches!(s.list_events(&f.owner_admin, Some("x"), None).await, Err(IntegrationsError::Invalid(_))));
    assert!(matches!(s.list_events(&f.owner_admin, None, Some(0)).await, Err(IntegrationsError::Invalid(_))));
}

#[tokio::test]
async fn creating_checks_the_target_and_keeps_the_secret_sealed() {
    let f = fixture(WebhooksConfig::default());
    let s = &f.service;
    let code = |r: Result<crate::Created, IntegrationsError>| match r {
        Err(IntegrationsError::Invalid(list)) => {
            list.iter().map(|i| format!("{}:{}", i.field, i.rule.code())).collect()
        }
        Err(e) => vec![e.to_string()],
        Ok(_) => vec!["ok".to_string()],
    };
    let new = |url: &str, events: &[&str]| NewWebhook {
        url: url.into(),
        events: events.iter().map(|e| e.to_string()).collect(),
    };
    for url in
        ["http://127.0.0.1:8080/", "http://localhost/hook", "http://[::1]/", "http://10.1.2.3/", "http://192.168.0.2/"]
    {
        assert_eq!(
            code(s.create_webhook(&f.owner_admin, new(url, &["user.created"])).await),
            ["url:private_target"],
            "{url}"
        );
    }
    assert_eq!(
        code(s.create_webhook(&f.owner_admin, new("ftp://x.example/", &["contract.deleted"])).await),
        ["url:invalid_url", "events:unknown_value"]
    );
    assert_eq!(code(s.create_webhook(&f.owner_admin, new("https://203.0.114.5/", &[])).await), ["events:required"]);
    assert!(matches!(
        s.create_webhook(&f.partner_admin, new("https://203.0.114.5/", &["user.created"])).await,
        Err(IntegrationsError::Forbidden)
    ));

    // A literal public address needs no lookup; the secret is shown once and stored sealed.
    let created =
        s.create_webhook(&f.owner_admin, new("https://203.0.114.5/hook", &["user.created", "contract.signed"])).await;
    let created = created.expect("created");
    assert!(created.secret.starts_with("whsec_"));
    assert_eq!(crate::signature::key_of(&created.secret).map(|k| k.len()), Some(32));
    assert_eq!(created.webhook.events, [EventType::ContractSigned, EventType::UserCreated]);
    let raw = store(&f).read_blocking(|tx| tx.scan(&WEBHOOKS, "")).expect("read");
    let stored = serde_json::to_string(&raw).expect("json");
    assert!(!stored.contains(created.secret.trim_start_matches("whsec_")));
    let listed = s.list_webhooks(&f.owner_admin).await.expect("list");
    assert_eq!(listed.len(), 1);

    // Deleting drops its pending deliveries; both changes are audited.
    store(&f)
        .write_blocking(|tx| {
            directory::create_user(
                tx,
                &Actor::system(),
                T,
                NewUser {
                    user_id: "HX000009".into(),
                    name: "新規 利用者".into(),
                    email: "new@example.jp".into(),
                    roles: vec![Role::PersonInCharge],
                    group_id: f.owner_admin.group_id.clone(),
                    ..Default::default()
                },
            )
            .map(|_| ())
            .map_err(|e| StoreError::Database(e.to_string()))
        })
        .expect("user");
    assert_eq!(queue(&f).len(), 1);
    s.delete_webhook(&f.owner_admin, &created.webhook.id).await.expect("delete");
    assert!(queue(&f).is_empty());
    assert!(s.list_webhooks(&f.owner_admin).await.expect("list").is_empty());
    assert!(matches!(s.delete_webhook(&f.owner_admin, &created.webhook.id).await, Err(IntegrationsError::NotFound(_))));
    let actions: Vec<String> = store(&f)
        .read_blocking(keiyaku_kernel::audit::all)
        .expect("audit")
        .into_iter()
        .map(|r| r.action)
        .filter(|a| a.starts_with("webhook."))
        .collect();
    assert_eq!(actions, ["webhook.create", "webhook.delete"]);
}

/// One request as the receiver saw it.
#[derive(Debug, Clone)]
struct Received {
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Received {
    fn header(&self, name: &str) -> String {
        self.headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()).unwrap_or_default()
    }
}

/// A loopback HTTP/1.1 receiver: answers each request with the next status of `statuses`
/// (then 204) and hands what it received to the test.
async fn receiver(statuses: Vec<u16>) -> (String, tokio::sync::mpsc::UnboundedReceiver<Received>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://127.0.0.1:{}/hooks/keiyaku", listener.local_addr().expect("addr").port());
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        let mut statuses = statuses.into_iter();
        loop {
            let Ok((mut sock, _)) = listener.accept().await else { return };
            let mut buf = Vec::new();
            let mut chunk = [0u8; 4096];
            let (head_end, length) = loop {
                let Ok(n) = sock.read(&mut chunk).await else { break (0, 0) };
                if n == 0 {
                    break (0, 0);
                }
                buf.extend_from_slice(&chunk[..n]);
                if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                    let head = String::from_utf8_lossy(&buf[..i]).to_ascii_lowercase();
                    let len = head
                        .lines()
                        .find_map(|l| l.strip_prefix("content-length:").map(|v| v.trim().parse().unwrap_or(0)))
                        .unwrap_or(0);
                    break (i + 4, len);
                }
            };
            if head_end == 0 {
                continue;
            }
            while buf.len() < head_end + length {
                let Ok(n) = sock.read(&mut chunk).await else { break };
                if n == 0 {
                    break;
                }
                buf.extend_from_slice(&chunk[..n]);
            }
            let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
            let headers = head
                .lines()
                .skip(1)
                .filter_map(|l| l.split_once(':'))
                .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
                .collect();
            let _ = tx.send(Received { headers, body: buf[head_end..].to_vec() });
            let status = statuses.next().unwrap_or(204);
            let answer = format!("HTTP/1.1 {status} X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
            let _ = sock.write_all(answer.as_bytes()).await;
            let _ = sock.shutdown().await;
        }
    });
    (url, rx)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_worker_delivers_signed_messages_to_a_loopback_receiver() {
    let f = fixture(loopback());
    let (url, mut rx) = receiver(vec![500]).await;
    let created = hook(&f, &url, &["contract.signed", "user.created"]).await;
    let key = crate::signature::key_of(&created.secret).expect("key");
    store(&f)
        .write_blocking(|tx| contract_change(tx, "contract.sign", "C1", serde_json::json!({"step": 1})))
        .expect("w");

    // The first attempt is answered 500: logged, retried later with the same webhook-id.
    assert_eq!(f.service.deliver_due().await.expect("round"), 1);
    let first = rx.recv().await.expect("first");
    assert_eq!(f.service.deliver_due().await.expect("round"), 0, "not due before the backoff");
    f.clock.advance(SignedDuration::from_secs(30));
    assert_eq!(f.service.deliver_due().await.expect("round"), 1);
    let second = rx.recv().await.expect("second");
    assert_eq!(first.header("webhook-id"), second.header("webhook-id"));
    assert_eq!(first.header("webhook-id"), format!("msg_{}_{}", created.webhook.id, f.e(1)));
    assert_eq!(second.header("content-type"), "application/json");

    // The signature verifies over id, timestamp and body with the secret shown at creation.
    for r in [&first, &second] {
        let ts: i64 = r.header("webhook-timestamp").parse().expect("timestamp");
        let expected = crate::signature::sign(&key, &r.header("webhook-id"), ts, &r.body);
        assert_eq!(r.header("webhook-signature"), expected);
    }
    assert_eq!(
        second.header("webhook-timestamp").parse::<i64>().expect("ts"),
        f.service.kernel.now().as_second(),
        "the attempt's own time"
    );
    let body: serde_json::Value = serde_json::from_slice(&second.body).expect("json");
    assert_eq!(body["type"], "contract.signed");
    assert_eq!(body["data"]["subject_id"], "C1");
    assert_eq!(body["data"]["event_id"], f.e(1).to_string());
    assert_eq!(body["data"]["step"], 1);
    assert!(body["timestamp"].as_str().is_some_and(|t| t.starts_with("2026-11-25T01:00:00")));

    // Done after the 2xx: out of the queue, the log says so.
    assert!(queue(&f).is_empty());
    let log = f.service.list_deliveries(&f.owner_admin, &created.webhook.id).await.expect("log");
    let statuses: Vec<Option<u16>> = log.iter().map(|a| a.status).collect();
    assert_eq!(statuses, [Some(204), Some(500)]);

    // A test delivery goes out at once, signed the same way, and is logged.
    let test = f.service.test_webhook(&f.owner_admin, &created.webhook.id).await.expect("test");
    assert_eq!((test.status, test.result), (Some(204), crate::AttemptResult::Test));
    let t = rx.recv().await.expect("test message");
    let body: serde_json::Value = serde_json::from_slice(&t.body).expect("json");
    assert_eq!(body["type"], "webhook.test");
    let ts: i64 = t.header("webhook-timestamp").parse().expect("ts");
    assert_eq!(t.header("webhook-signature"), crate::signature::sign(&key, &t.header("webhook-id"), ts, &t.body));
    assert_eq!(f.service.list_deliveries(&f.owner_admin, &created.webhook.id).await.expect("log").len(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_allow_private_targets_a_delivery_never_reaches_loopback() {
    // An endpoint stored while allowed, delivered by a configuration that no longer allows it.
    let allowed = fixture(loopback());
    let (url, mut rx) = receiver(vec![]).await;
    let created = hook(&allowed, &url, &["contract.signed"]).await;
    let strict =
        Integrations::new(allowed.service.kernel.clone(), WebhooksConfig { max_attempts: 1, ..Default::default() });
    store(&allowed).write_blocking(|tx| contract_change(tx, "contract.sign", "C1", serde_json::json!({}))).expect("w");
    assert_eq!(strict.deliver_due().await.expect("round"), 1);
    assert!(rx.try_recv().is_err(), "nothing was sent");
    let log = strict.list_deliveries(&allowed.owner_admin, &created.webhook.id).await.expect("log");
    assert_eq!(log[0].error.as_deref(), Some("refused: private_target"));
    assert_eq!(log[0].result, crate::AttemptResult::GivenUp);
}
