//! Abuse resistance: what anonymous clients can make the appliance write, and what they can
//! learn. Each test replays an attack and asserts the refusal and that nothing was written.

use crate::certs::{demo_app, details, order_tickets, put, start, state};
use crate::common::*;
use reqwest::StatusCode;
use serde_json::{Value, json};

fn t(path: &str) -> String {
    format!("/api/v1/t/HXOS2{path}")
}

fn billing() -> Value {
    json!({
        "company": "オリエンタル白石株式会社本社", "department": "土木事業本部工事部",
        "postal_code": "135-0061", "address": "東京都江東区豊洲五丁目6番52号",
        "phone": "03-6220-0635", "contact_name": "堀井 裕蔵",
    })
}

/// The token of the newest order link mailed to `to`.
async fn order_link(app: &TestApp, to: &str) -> String {
    let mail = app.last_mail_to(to).await.expect("order link mail");
    let body = mail["body"].as_str().unwrap_or_default().to_string();
    let at = body.find("/tickets/order/").expect("link in the mail") + "/tickets/order/".len();
    body[at..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_').collect()
}

/// `requestOrderLink` needs the captcha; 999 tickets per term are refused (20 by default);
/// a tenant takes `max_orders_per_day` orders a day; tickets wait for payment outside a demo.
#[tokio::test]
async fn free_ticket_orders_cannot_fill_the_disk() {
    // With the captcha on, an order link without the answer writes nothing.
    let app = TestApp::demo().await;
    let before = state(&app).await;
    let (s, v) = app.post(&t("/ticket-orders/links"), None, json!({"email": "x@example.jp"})).await;
    assert_eq!(
        (s, v["errors"][0]["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("captcha_mismatch")),
        "{v}"
    );
    let (s, v) = app
        .post(
            &t("/ticket-orders/links"),
            None,
            json!({"email": "x@example.jp", "captcha_id": "made-up", "captcha_answer": "abcde"}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(before, state(&app).await, "nothing written");
    app.stop().await;

    let app = TestApp::start_with(|c| {
        keiyaku::registry::enable_demo(c);
        let certs = c.section_mut::<keiyaku_certs::CertsConfig>();
        certs.captcha = false;
        certs.max_orders_per_day = 2;
    })
    .await;
    let buyer = "horii@hxos2.example.jp";
    // 999/999/999 is refused field by field, and uses neither the link nor the disk.
    let (s, v) = app.post(&t("/ticket-orders/links"), None, json!({"email": buyer})).await;
    assert_eq!(s, StatusCode::ACCEPTED, "{v}");
    let token = order_link(&app, buyer).await;
    let before = state(&app).await;
    let (s, v) = app
        .post(
            &t("/ticket-orders"),
            None,
            json!({"token": token, "delivery": "service", "billing": billing(), "quantities": {"1": 999, "2": 999, "3": 999}}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    let codes: Vec<&str> = v["errors"].as_array().into_iter().flatten().filter_map(|e| e["code"].as_str()).collect();
    assert_eq!(codes, ["invalid_quantity"; 3], "{v}");
    assert!(v["errors"][0]["message"].as_str().unwrap_or_default().contains("0〜20枚"), "{v}");
    assert_eq!(before, state(&app).await, "nothing written");
    // Two orders a day (the demo's own count too), then 429 orders_closed with nothing
    // written; the next day opens again.
    let mut placed = 0;
    let order = loop {
        let (s, v) = app.post(&t("/ticket-orders/links"), None, json!({"email": buyer})).await;
        assert_eq!(s, StatusCode::ACCEPTED, "{v}");
        let token = order_link(&app, buyer).await;
        let order = json!({"token": token, "delivery": "service", "billing": billing(), "quantities": {"1": 20, "2": 0, "3": 0}});
        let (s, v) = app.post(&t("/ticket-orders"), None, order.clone()).await;
        if s != StatusCode::CREATED {
            assert_eq!((s, v["code"].as_str()), (StatusCode::TOO_MANY_REQUESTS, Some("orders_closed")), "{v}");
            break order;
        }
        placed += 1;
        assert!(placed <= 2, "a third order the same day");
    };
    let before = state(&app).await;
    let (s, v) = app.post(&t("/ticket-orders"), None, order.clone()).await;
    assert_eq!((s, v["code"].as_str()), (StatusCode::TOO_MANY_REQUESTS, Some("orders_closed")), "{v}");
    assert_eq!(before, state(&app).await, "a refused order writes nothing, not even its day's count");
    app.clock.advance(jiff::SignedDuration::from_hours(24));
    let (s, v) = app.post(&t("/ticket-orders"), None, order).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    app.stop().await;

    // Outside a demo the tickets wait for the payment.
    let app = TestApp::start_with(|c| {
        c.demo.enabled = true;
        c.mail.mailbox_public = true;
        c.section_mut::<keiyaku_certs::CertsConfig>().captcha = false;
    })
    .await;
    let (s, v) = app.post(&t("/ticket-orders/links"), None, json!({"email": buyer})).await;
    assert_eq!(s, StatusCode::ACCEPTED, "{v}");
    let token = order_link(&app, buyer).await;
    let order =
        json!({"token": token, "delivery": "service", "billing": billing(), "quantities": {"1": 1, "2": 0, "3": 0}});
    let ticket_mails = async || {
        app.mails_to(buyer)
            .await
            .iter()
            .filter(|m| m["subject"].as_str().unwrap_or_default().contains("チケット番号と請求書"))
            .count()
    };
    let sent = ticket_mails().await;
    let (s, v) = app.post(&t("/ticket-orders"), None, order).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(v["tickets_released"], json!(false), "{v}");
    assert_eq!(ticket_mails().await, sent, "no tickets before the payment");
    app.stop().await;
}

/// One client address may cause `limits.anonymous_writes_per_hour` public writes an hour;
/// another address keeps its own budget; the refusal is 429 with Retry-After and writes nothing.
#[tokio::test]
async fn one_anonymous_client_has_an_hourly_write_budget() {
    let app = TestApp::start_with(|c| {
        keiyaku::registry::enable_demo(c);
        c.section_mut::<keiyaku_certs::CertsConfig>().captcha = false;
        c.limits.anonymous_writes_per_hour = 3;
    })
    .await;
    for i in 0..3 {
        let (s, v) = app.post(&t("/ticket-orders/links"), None, json!({"email": format!("a{i}@example.jp")})).await;
        assert_eq!(s, StatusCode::ACCEPTED, "{i}: {v}");
    }
    let before = state(&app).await;
    let resp = app
        .client
        .post(app.url(&t("/ticket-orders/links")))
        .json(&json!({"email": "a9@example.jp"}))
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = resp.headers()["retry-after"].to_str().unwrap_or_default().parse().unwrap_or(0);
    assert!((3000..=3600).contains(&retry), "{retry}");
    let v: Value = resp.json().await.expect("json");
    assert_eq!(v["code"], "rate_limited", "{v}");
    // Applications spend from the same budget.
    let (s, _) = app
        .post(&t("/cert-applications"), None, json!({"applicant": "self", "enterprise_code": "HXOS2", "ticket": "x", "email": "a@example.jp", "consent": true}))
        .await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(before, state(&app).await, "nothing written");
    let other = crate::ratelimit::client_from(&app, [127, 0, 0, 7]);
    let resp = other.post(app.url(&t("/ticket-orders/links"))).json(&json!({"email": "b@example.jp"})).send().await;
    assert_eq!(resp.expect("send").status(), StatusCode::ACCEPTED, "another client has its own budget");
    app.clock.advance(jiff::SignedDuration::from_mins(61));
    let (s, v) = app.post(&t("/ticket-orders/links"), None, json!({"email": "a9@example.jp"})).await;
    assert_eq!(s, StatusCode::ACCEPTED, "the budget refills after the hour: {v}");
    app.stop().await;
}

/// `saveApplicationDetails` answers one generic error whatever holder field is wrong, and a
/// link allows ten tries an hour.
#[tokio::test]
async fn application_details_are_no_directory_oracle() {
    let app = demo_app().await;
    let (_, tickets) = order_tickets(&app, "horii@hxos2.example.jp", [1, 0, 0], "service").await;
    let ito = "ito@a15336.example.jp";
    let token = start(&app, "proxy", "someone@example.jp", &tickets[0]).await;
    let path = t(&format!("/cert-applications/{token}"));
    let probe = |user_id: &str, email: &str| {
        let mut d = details(
            user_id,
            email,
            ["伊藤", "誠", "イトウ", "マコト"],
            "Ito.Makoto",
            "アイテックコンサルタント株式会社",
        );
        d["company_name_kana"] = json!("アイテックコンサルタントカブシキガイシャ");
        d
    };
    let before = state(&app).await;
    // Unknown ID, a non-signer, a signer with another's e-mail, a wrong name: one answer.
    let mut answers = Vec::new();
    for (user, email) in
        [("HX000099", ito), ("HX000001", ito), ("A1533602", "horii@hxos2.example.jp"), ("A1533601", ito)]
    {
        let (s, v) = put(&app, &path, probe(user, email)).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
        answers.push(v["errors"].clone());
    }
    assert!(answers.iter().all(|a| *a == answers[0]), "{answers:?}");
    assert_eq!(answers[0][0]["code"], "holder_mismatch", "{answers:?}");
    assert_eq!(answers[0].as_array().map(Vec::len), Some(1), "{answers:?}");
    for _ in 4..10 {
        let (s, _) = put(&app, &path, probe("HX000099", ito)).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    }
    let (s, v) = put(&app, &path, probe("A1533602", ito)).await;
    assert_eq!((s, v["code"].as_str()), (StatusCode::TOO_MANY_REQUESTS, Some("rate_limited")), "{v}");
    assert_eq!(before, state(&app).await, "nothing written");
    app.stop().await;
}

/// The demo's public mailbox shows the demo tenant's mail only: a tenant made later through
/// the operator keeps its mail (and its administrator's initial password) to the operator.
#[tokio::test]
async fn the_demo_mailbox_shows_only_the_demo_tenant() {
    let app = TestApp::demo().await;
    let password = app.create_tenant("DMOEX", "DM000001", "yamada@example.jp").await;
    let (s, v) = app.get("/api/v1/mailbox?to=yamada%40example.jp", None).await;
    assert_eq!((s, v["total"].as_u64()), (StatusCode::OK, Some(0)), "{v}");
    let (s, v) = app.get("/api/v1/mailbox", None).await;
    assert_eq!(s, StatusCode::OK);
    let all = v.to_string();
    assert!(!all.contains(&password) && !all.contains("yamada@example.jp"), "{all}");
    assert!(v["total"].as_u64().unwrap_or(0) > 0, "the demo tenant's mail stays public: {v}");
    let page = app.client.get(app.url("/mailbox?to=yamada%40example.jp")).send().await.expect("page");
    let html = page.text().await.expect("html");
    assert!(!html.contains(&password), "the page hides it too");
    let op = app.operator_token().await;
    let (s, v) = app.get("/api/v1/mailbox?to=yamada%40example.jp", Some(&op)).await;
    assert_eq!((s, v["total"].as_u64()), (StatusCode::OK, Some(1)), "the operator sees it: {v}");
    app.stop().await;
}

/// Changing the password ends the user's other sessions (the one that changed it stays);
/// expired sessions are swept, with their index entries.
#[tokio::test]
async fn a_password_change_ends_the_other_sessions_and_expired_ones_are_swept() {
    let app = TestApp::demo().await;
    let old = app.demo_token("A1533601").await;
    let current = app.demo_token("A1533601").await;
    let (s, _) = app.get(&t("/me"), Some(&old)).await;
    assert_eq!(s, StatusCode::OK);
    let (s, v) = app
        .post(
            &t("/auth/password"),
            Some(&current),
            json!({"current_password": DEMO_PASSWORD, "new_password": "Another-pass-2026"}),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{v}");
    let (s, _) = app.get(&t("/me"), Some(&old)).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "the older session ended");
    let (s, _) = app.get(&t("/me"), Some(&current)).await;
    assert_eq!(s, StatusCode::OK, "the session that changed it stays");

    let auth = app.services().auth.clone();
    let count = async || {
        app.services()
            .kernel
            .store
            .read(|tx| {
                use keiyaku_kernel::store::Read;
                Ok::<_, keiyaku_kernel::StoreError>((
                    tx.count(&keiyaku_auth::SESSIONS, "")?,
                    tx.count(&keiyaku_auth::SESSIONS_BY_USER, "")?,
                ))
            })
            .await
            .expect("count")
    };
    let (sessions, index) = count().await;
    assert_eq!(sessions, index, "every session is indexed by its user");
    assert!(sessions >= 1);
    assert_eq!(auth.sweep_sessions().await.ok(), Some(0), "nothing expired yet");
    app.clock.advance(jiff::SignedDuration::from_hours(13));
    assert_eq!(auth.sweep_sessions().await.ok(), Some(sessions));
    assert_eq!(count().await, (0, 0));
    app.stop().await;
}

/// A password reset or a suspension made while argon2 checks a login is not undone: the
/// login's write reads the credential and the user again and refuses.
#[tokio::test]
async fn a_login_racing_a_reset_or_a_suspension_is_refused() {
    use keiyaku_auth::{SessionKind, password};
    let app = TestApp::demo().await;
    let auth = app.services().auth.clone();
    let store = app.services().kernel.store.clone();
    let hash_now = async || {
        store
            .read(|tx| {
                use keiyaku_kernel::store::Read;
                tx.get(&keiyaku_auth::CREDENTIALS, "HXOS2/A1533602")
            })
            .await
            .expect("read")
            .expect("credential")
            .hash
    };
    // The password was verified against this hash …
    let verified = hash_now().await;
    assert!(password::verify(DEMO_PASSWORD, &verified));
    // … then an administrator resets it before the login writes.
    let admin = app.demo_token("HX000001").await;
    let (s, v) = app.post(&t("/users/A1533602/password-reset"), Some(&admin), json!({})).await;
    assert!(s.is_success(), "{v}");
    assert_ne!(hash_now().await, verified);
    let before = app.snapshot().await;
    let r = auth.finish_login("HXOS2", "A1533602", &verified, None, SessionKind::Api).await;
    assert!(matches!(r, Err(keiyaku_auth::AuthError::InvalidCredentials)), "{r:?}");
    assert_eq!(before, app.snapshot().await, "no session, no record written back");
    // A suspension in the same window.
    let verified = hash_now().await;
    let (s, v) = app
        .call(reqwest::Method::PATCH, &t("/users/HX000003"), Some(&admin), Some(json!({"status": "suspended"})))
        .await;
    assert!(s.is_success(), "{v}");
    let verified3 = store
        .read(|tx| {
            use keiyaku_kernel::store::Read;
            tx.get(&keiyaku_auth::CREDENTIALS, "HXOS2/HX000003")
        })
        .await
        .expect("read")
        .expect("credential")
        .hash;
    let r = auth.finish_login("HXOS2", "HX000003", &verified3, None, SessionKind::Api).await;
    assert!(matches!(r, Err(keiyaku_auth::AuthError::InvalidCredentials)), "{r:?}");
    // Unchanged, the same call opens the session.
    let r = auth.finish_login("HXOS2", "A1533602", &verified, None, SessionKind::Api).await;
    assert!(matches!(r, Ok(keiyaku_auth::Login::Session(_))), "{r:?}");
    app.stop().await;
}

/// Lockout answers the same for an unknown user ID and an existing one.
#[tokio::test]
async fn lockout_answers_the_same_for_unknown_and_existing_ids() {
    let app = TestApp::demo().await;
    let mut answers = Vec::new();
    for login in ["hx000099", "A1533601"] {
        let mut statuses = Vec::new();
        for _ in 0..7 {
            statuses.push(app.login("HXOS2", login, "wrong-password-1").await.0.as_u16());
        }
        answers.push(statuses);
    }
    assert_eq!(answers[0], answers[1], "{answers:?}");
    assert_eq!(answers[0].last(), Some(&429), "{answers:?}");
    app.stop().await;
}

/// An anonymous `getCrl` on a tenant that has issued nothing answers 404 and creates no CA.
#[tokio::test]
async fn an_anonymous_crl_request_creates_nothing() {
    let app = TestApp::demo().await;
    app.create_tenant("DMOEX", "DM000001", "yamada@example.jp").await;
    let before = state(&app).await;
    let (s, v) = app.get("/api/v1/t/DMOEX/ca/crl", None).await;
    assert_eq!((s, v["code"].as_str()), (StatusCode::NOT_FOUND, Some("not_found")), "{v}");
    assert_eq!(before, state(&app).await, "no CA was made");
    app.stop().await;
}

/// Initial passwords do not stay readable in the outbox (nor in backups of it): the stored
/// mail loses the password at the user's first login, or after seven days in mailbox mode
/// (after SMTP delivery: `mail::outbox_is_delivered_by_smtp`).
#[tokio::test]
async fn initial_passwords_are_scrubbed_from_stored_mail() {
    let app = TestApp::demo().await;
    let scrubbed = keiyaku_kernel::mail::SCRUBBED;
    let body_to = async |to: &str| {
        let m = app.last_mail_to(to).await.expect("mail");
        m["body"].as_str().unwrap_or_default().to_string()
    };
    let first = app.create_tenant("DMOEX", "DM000001", "yamada@example.jp").await;
    let second = app.create_tenant("DMOEY", "DY000001", "suzuki@example.jp").await;
    assert!(body_to("yamada@example.jp").await.contains(&first));
    // The first login scrubs the copy.
    let (s, v) = app.login("DMOEX", "DM000001", &first).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let body = body_to("yamada@example.jp").await;
    assert!(!body.contains(&first) && body.contains(scrubbed), "{body}");
    // The other waits seven days, then the hourly sweep scrubs it.
    let store = app.services().kernel.store.clone();
    assert_eq!(store.write(keiyaku_kernel::mail::scrub_expired).await.ok(), Some(0));
    assert!(body_to("suzuki@example.jp").await.contains(&second));
    app.clock.advance(jiff::SignedDuration::from_hours(24 * 7));
    assert_eq!(store.write(keiyaku_kernel::mail::scrub_expired).await.ok(), Some(1));
    let body = body_to("suzuki@example.jp").await;
    assert!(!body.contains(&second) && body.contains(scrubbed), "{body}");
    // A backup holds no password either.
    let op = app.operator_token().await;
    let resp = app.client.post(app.url("/api/v1/operator/backup")).bearer_auth(&op).send().await.expect("backup");
    let bytes = resp.bytes().await.expect("body");
    let find = |needle: &str| bytes.windows(needle.len()).any(|w| w == needle.as_bytes());
    assert!(!find(&first) && !find(&second), "no initial password in the backup");
    app.stop().await;
}

/// A PDF whose streams inflate to gigabytes (28 streams of 64 MiB of zeros in 2 MB) is
/// refused before the write transaction, in well under a second, and a notice saved at the
/// same moment is not held up.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crafted_pdf_is_refused_without_stalling_other_writes() {
    use std::io::Write;
    let app = TestApp::demo().await;
    let registrant = app.demo_token("HX000002").await;
    let admin = app.demo_token("HX000001").await;
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    z.write_all(&vec![0u8; 64 << 20]).expect("deflate");
    let bomb = z.finish().expect("deflate");
    let mut pdf = b"%PDF-1.7\n".to_vec();
    for i in 1..=28 {
        pdf.extend_from_slice(
            format!(
                "{i} 0 obj\n<< /Type /ObjStm /N 1 /First 4 /Length {} /Filter /FlateDecode >>\nstream\n",
                bomb.len()
            )
            .as_bytes(),
        );
        pdf.extend_from_slice(&bomb);
        pdf.extend_from_slice(b"\nendstream\nendobj\n");
    }
    pdf.extend_from_slice(b"trailer\n<< /Root 1 0 R >>\n%%EOF\n");
    let mut body = crate::contracts::contract_body("T-BOMB", "2026-11-25", 1_100_000, "A15336");
    body["documents"][0]["content_base64"] = json!(crate::contracts::b64(&pdf));
    let notice = json!({"title": "同時のお知らせ", "body": "本文", "audience": "owner"});
    // Alone, a notice takes this long.
    let started = std::time::Instant::now();
    let (s, v) = app.post(&t("/notices"), Some(&admin), notice.clone()).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let alone = started.elapsed();
    let before = app.snapshot().await;
    let started = std::time::Instant::now();
    let path = t("/contracts");
    let upload = app.post(&path, Some(&registrant), body);
    let concurrent = async {
        tokio::time::sleep(std::time::Duration::from_millis(30)).await;
        let at = std::time::Instant::now();
        let (s, v) = app.post(&t("/notices"), Some(&admin), notice.clone()).await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        at.elapsed()
    };
    let ((s, v), during) = tokio::join!(upload, concurrent);
    let took = started.elapsed();
    assert_eq!((s, v["code"].as_str()), (StatusCode::UNSUPPORTED_MEDIA_TYPE, Some("unsupported_media_type")), "{v}");
    assert!(took < std::time::Duration::from_secs(1), "refused in {took:?}");
    assert!(during < alone + std::time::Duration::from_millis(100), "a notice took {during:?} (alone {alone:?})");
    // The notice is the only change.
    let after = app.snapshot().await;
    let audit = |s: &str| s.split(';').next().unwrap_or_default().to_string();
    assert_ne!(audit(&before), audit(&after), "the notice was saved");
    let contracts = app.get(&t("/contracts?per_page=100"), Some(&registrant)).await.1;
    assert!(!contracts.to_string().contains("T-BOMB"), "{contracts}");
    app.stop().await;
}
