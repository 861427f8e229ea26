//! Mail delivery: the outbox is delivered by SMTP when configured (a minimal SMTP sink on
//! loopback stands in for the mail server), with retries and back-off when it is down.

use crate::common::*;
use jiff::SignedDuration;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

/// Accepts SMTP sessions and records each message's DATA.
async fn smtp_sink() -> (u16, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let got = Arc::new(Mutex::new(Vec::new()));
    let store = got.clone();
    tokio::spawn(async move {
        while let Ok((sock, _)) = listener.accept().await {
            let store = store.clone();
            tokio::spawn(async move {
                let (r, mut w) = sock.into_split();
                let mut lines = BufReader::new(r).lines();
                let _ = w.write_all(b"220 sink ESMTP\r\n").await;
                let mut data = None::<String>;
                while let Ok(Some(line)) = lines.next_line().await {
                    if let Some(buf) = data.as_mut() {
                        if line == "." {
                            store.lock().expect("lock").push(std::mem::take(buf));
                            data = None;
                            let _ = w.write_all(b"250 queued\r\n").await;
                        } else {
                            buf.push_str(&line);
                            buf.push('\n');
                        }
                        continue;
                    }
                    let cmd = line.to_ascii_uppercase();
                    let reply: &[u8] = if cmd.starts_with("EHLO") || cmd.starts_with("HELO") {
                        b"250 sink\r\n"
                    } else if cmd.starts_with("DATA") {
                        data = Some(String::new());
                        b"354 go on\r\n"
                    } else if cmd.starts_with("QUIT") {
                        let _ = w.write_all(b"221 bye\r\n").await;
                        break;
                    } else {
                        b"250 ok\r\n"
                    };
                    let _ = w.write_all(reply).await;
                }
            });
        }
    });
    (port, got)
}

async fn delivery_of(app: &TestApp, to: &str) -> (String, serde_json::Value) {
    let m = app.last_mail_to(to).await.expect("mail");
    (m["delivery"].as_str().unwrap_or_default().to_string(), m)
}

#[tokio::test]
async fn outbox_is_delivered_by_smtp() {
    let (port, got) = smtp_sink().await;
    let app = TestApp::start_with(|c| c.mail.smtp_url = Some(format!("smtp://127.0.0.1:{port}"))).await;
    app.create_tenant("HXOS2", "HX000001", "horii@example.jp").await;
    let mut delivered = String::new();
    for _ in 0..100 {
        delivered = delivery_of(&app, "horii@example.jp").await.0;
        if delivered == "sent" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(delivered, "sent");
    let messages = got.lock().expect("lock").clone();
    assert_eq!(messages.len(), 1);
    assert!(messages[0].contains("horii@example.jp"), "{}", messages[0]);
    // Delivered: the stored copy no longer holds the initial password.
    let (_, m) = delivery_of(&app, "horii@example.jp").await;
    let body = m["body"].as_str().unwrap_or_default();
    assert_eq!(initial_password(body), keiyaku_kernel::mail::SCRUBBED, "{body}");
    app.stop().await;
}

#[tokio::test]
async fn unreachable_smtp_is_retried_with_back_off() {
    // A port nobody listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("port");
    let app = TestApp::start_with(|c| {
        c.mail.smtp_url = Some(format!("smtp://127.0.0.1:{port}"));
        c.mail.smtp_max_attempts = 2;
    })
    .await;
    app.create_tenant("HXOS2", "HX000001", "horii@example.jp").await;
    let store = app.services().kernel.store.clone();
    let mut mail = None;
    for _ in 0..200 {
        let first = store.read(|tx| keiyaku_kernel::mail::list(tx, None, 1)).await.expect("outbox");
        if let Some(m) = first.into_iter().next().filter(|m| m.attempts >= 1) {
            mail = Some(m);
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mail = mail.expect("a delivery attempt was made");
    assert_eq!(mail.delivery, keiyaku_kernel::mail::Delivery::Pending, "retried later, not lost");
    assert!(mail.last_error.is_some());
    let next = mail.next_attempt_at.expect("next attempt scheduled");
    assert_eq!(next.duration_since(keiyaku_kernel::Clock::now(app.clock.as_ref())), SignedDuration::from_mins(2));
    // The mail stays readable in the mailbox while delivery is retried.
    let (delivery, m) = delivery_of(&app, "horii@example.jp").await;
    assert_eq!(delivery, "pending");
    assert!(m["body"].as_str().unwrap_or_default().contains("HX000001"));
    app.stop().await;
}
