//! Two-factor login (TOTP, RFC 6238): enrollment with its QR code, the second login step,
//! wrong and replayed codes, recovery codes used once, removal, the tenant policy that
//! forces enrollment, the operator, and a delegate's step-up with the authenticator. Codes
//! are computed by an independent implementation (Python's `pyotp`).

use crate::common::*;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::process::Command;

const T: &str = "/api/v1/t/HXOS2";

/// The current TOTP code of a base32 `secret`, by pyotp (`offset` steps of 30 s from the
/// appliance clock's `now`).
pub fn pyotp(secret: &str, at: jiff::Timestamp, offset: i64) -> String {
    let script = format!("import pyotp; print(pyotp.TOTP('{secret}').at({}))", at.as_second() + offset * 30);
    let out = Command::new("python3").args(["-c", &script]).output().expect("python3");
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr).to_string();
        assert!(std::env::var_os("CI").is_none(), "CI must have pyotp (see .ci/run): {err}");
        panic!("pyotp is needed for this test (pip install pyotp): {err}");
    }
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn now(app: &TestApp) -> jiff::Timestamp {
    keiyaku_kernel::Clock::now(&*app.clock)
}

/// Enrolls and confirms an authenticator for the holder of `token`; returns the secret and
/// the recovery codes.
async fn enroll(app: &TestApp, token: &str, base: &str) -> (String, Vec<String>) {
    let (s, e) = app.post(&format!("{base}/totp"), Some(token), json!({})).await;
    assert_eq!(s, StatusCode::OK, "{e}");
    let secret = e["secret"].as_str().expect("secret").to_string();
    let uri = e["otpauth_uri"].as_str().expect("uri");
    assert!(uri.starts_with("otpauth://totp/") && uri.contains(&format!("secret={secret}")), "{uri}");
    let svg = e["qr_svg"].as_str().expect("svg");
    assert!(svg.starts_with("<svg") && svg.contains("</svg>"), "{svg}");
    // A wrong code does not confirm it.
    let (s, v) = app.post(&format!("{base}/totp/confirm"), Some(token), json!({"code": "12345x"})).await;
    assert_eq!((s, v["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("code_invalid")), "{v}");
    let (s, v) =
        app.post(&format!("{base}/totp/confirm"), Some(token), json!({"code": pyotp(&secret, now(app), 0)})).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let codes: Vec<String> = v["recovery_codes"]
        .as_array()
        .expect("codes")
        .iter()
        .map(|c| c.as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(codes.len(), 10);
    assert_eq!(codes.iter().collect::<std::collections::HashSet<_>>().len(), 10, "distinct: {codes:?}");
    (secret, codes)
}

async fn login_code(app: &TestApp, challenge: &str, code: &str) -> (StatusCode, Value) {
    app.post(&format!("{T}/auth/login/totp"), None, json!({"challenge": challenge, "code": code})).await
}

async fn challenge(app: &TestApp, user: &str) -> String {
    let (s, v) = app.login("HXOS2", user, DEMO_PASSWORD).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!((v["totp_required"].as_bool(), v["token"].as_str()), (Some(true), None), "{v}");
    v["challenge"].as_str().expect("challenge").to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn totp_enrollment_login_recovery_and_removal() {
    let app = TestApp::demo().await;
    let token = app.demo_token("HX000002").await;
    let (secret, codes) = enroll(&app, &token, &format!("{T}/auth")).await;
    let (s, v) = app.post(&format!("{T}/auth/totp"), Some(&token), json!({})).await;
    assert_eq!(s, StatusCode::CONFLICT, "enrolled once: {v}");

    // Login now takes a second step.
    let ch = challenge(&app, "HX000002").await;
    let (s, v) = login_code(&app, &ch, "000000").await;
    assert_eq!((s, v["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("code_invalid")), "{v}");
    // The code used to confirm cannot be replayed; the next step's code works.
    let used = pyotp(&secret, now(&app), 0);
    let (s, v) = login_code(&app, &ch, &used).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "a used time step: {v}");
    app.clock.advance(jiff::SignedDuration::from_secs(30));
    let (s, v) = login_code(&app, &ch, &pyotp(&secret, now(&app), 0)).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let t2 = v["token"].as_str().expect("token").to_string();
    let (s, _) = app.get(&format!("{T}/me"), Some(&t2)).await;
    assert_eq!(s, StatusCode::OK);
    let (s, v) = login_code(&app, &ch, &pyotp(&secret, now(&app), 1)).await;
    assert_eq!((s, v["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("challenge_invalid")), "one use: {v}");

    // A recovery code works once.
    let ch = challenge(&app, "HX000002").await;
    let (s, v) = login_code(&app, &ch, &codes[0].to_lowercase()).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let ch = challenge(&app, "HX000002").await;
    let (s, v) = login_code(&app, &ch, &codes[0]).await;
    assert_eq!((s, v["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("code_invalid")), "used: {v}");

    // Removal needs a code; then login is one step again.
    let (s, v) = app.call(Method::DELETE, &format!("{T}/auth/totp"), Some(&t2), Some(json!({"code": "999999"}))).await;
    assert_eq!((s, v["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("code_invalid")), "{v}");
    let (s, v) =
        app.call(Method::DELETE, &format!("{T}/auth/totp"), Some(&t2), Some(json!({"code": codes[1].clone()}))).await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{v}");
    let (s, v) = app.login("HXOS2", "HX000002", DEMO_PASSWORD).await;
    assert_eq!((s, v["totp_required"].as_bool()), (StatusCode::OK, Some(false)), "{v}");
    assert!(v["token"].is_string(), "{v}");
    app.stop().await;
}

/// `auth.require_totp_for`: a signer without an authenticator gets a session that serves only
/// enrollment; after confirming, everything works.
#[tokio::test(flavor = "multi_thread")]
async fn the_tenant_policy_forces_enrollment_for_its_roles() {
    let app = TestApp::start_with(|c| {
        keiyaku::registry::enable_demo(c);
        c.mail.mailbox_public = true;
        c.section_mut::<keiyaku_auth::AuthConfig>().require_totp_for = vec![keiyaku_kernel::directory::Role::Signer];
    })
    .await;
    let (s, v) = app.login("HXOS2", "HX000003", DEMO_PASSWORD).await;
    assert_eq!((s, v["totp_enrollment_required"].as_bool()), (StatusCode::OK, Some(true)), "{v}");
    let token = v["token"].as_str().expect("token").to_string();
    let (s, v) = app.get(&format!("{T}/me"), Some(&token)).await;
    assert_eq!((s, v["code"].as_str()), (StatusCode::FORBIDDEN, Some("totp_enrollment_required")), "{v}");
    // Other roles are not asked.
    let (s, v) = app.login("HXOS2", "HX000002", DEMO_PASSWORD).await;
    assert_eq!((s, v["totp_enrollment_required"].as_bool()), (StatusCode::OK, Some(false)), "{v}");
    let (secret, _) = enroll(&app, &token, &format!("{T}/auth")).await;
    let (s, _) = app.get(&format!("{T}/me"), Some(&token)).await;
    assert_eq!(s, StatusCode::OK, "enrolled: the session serves everything");
    // The web login leads to the page, too.
    let ch = challenge(&app, "HX000003").await;
    app.clock.advance(jiff::SignedDuration::from_secs(30));
    let (s, v) = login_code(&app, &ch, &pyotp(&secret, now(&app), 0)).await;
    assert_eq!((s, v["totp_enrollment_required"].as_bool()), (StatusCode::OK, Some(false)), "{v}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_operator_enrolls_and_logs_in_with_a_code() {
    let app = TestApp::start().await;
    let op = app.operator_token().await;
    let (secret, codes) = enroll(&app, &op, "/api/v1/operator").await;
    let (s, v) = app.post("/api/v1/operator/login", None, json!({"password": OPERATOR_PASSWORD})).await;
    assert_eq!((s, v["totp_required"].as_bool()), (StatusCode::OK, Some(true)), "{v}");
    assert!(v["token"].is_null(), "{v}");
    let ch = v["challenge"].as_str().expect("challenge").to_string();
    let (s, v) = app.post("/api/v1/operator/login/totp", None, json!({"challenge": ch, "code": "000000"})).await;
    assert_eq!((s, v["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("code_invalid")), "{v}");
    app.clock.advance(jiff::SignedDuration::from_secs(30));
    let code = pyotp(&secret, now(&app), 0);
    let (s, v) = app.post("/api/v1/operator/login/totp", None, json!({"challenge": ch, "code": code})).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let token = v["token"].as_str().expect("token").to_string();
    let (s, _) = app.get("/api/v1/operator/tenants", Some(&token)).await;
    assert_eq!(s, StatusCode::OK);
    let (s, v) =
        app.call(Method::DELETE, "/api/v1/operator/totp", Some(&token), Some(json!({"code": codes[9].clone()}))).await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{v}");
    app.stop().await;
}

/// A delegate with an authenticator steps up with its code instead of a mailed one.
#[cfg(feature = "contracts")]
#[tokio::test(flavor = "multi_thread")]
async fn a_delegate_with_an_authenticator_signs_with_its_code() {
    let app = TestApp::demo().await;
    let delegate = app.demo_token("A1533601").await;
    let (secret, _) = enroll(&app, &delegate, &format!("{T}/auth")).await;
    let registrant = app.demo_token("HX000002").await;
    let mut body = crate::contracts::contract_body("T-TOTP-1", "2026-11-25", 10_000, "A15336");
    body["route"] = json!([{"party": "partner", "role": "signer"}]);
    let id = crate::contracts::register(&app, &registrant, body).await["id"].as_str().expect("id").to_string();
    let (_, v) = app.get(&format!("{T}/contracts/{id}"), Some(&delegate)).await;
    assert_eq!(v["permissions"]["step_up"], "totp", "{v}");
    let (s, v) = crate::contracts::act(&app, &delegate, &id, "sign", json!({"otp": "000000"})).await;
    assert_eq!((s, v["code"].as_str()), (StatusCode::FORBIDDEN, Some("code_invalid")), "{v}");
    app.clock.advance(jiff::SignedDuration::from_secs(30));
    let v = crate::contracts::ok(&app, &delegate, &id, "sign", json!({"otp": pyotp(&secret, now(&app), 0)})).await;
    assert_eq!(v["status"], "completed", "{v}");
    app.stop().await;
}

/// In the browser: 二要素認証 from the header, the QR code and key, confirmation with a code
/// (recovery codes shown once), then a login that asks for the code.
#[tokio::test]
async fn totp_pages_in_the_browser() {
    use fantoccini::Locator;
    let Some(b) = crate::browser::browser().await else { return };
    let app = TestApp::demo().await;
    b.client.goto(&app.url("/t/HXOS2/login")).await.expect("goto");
    b.fill("login", "HX000002").await;
    b.fill("password", DEMO_PASSWORD).await;
    b.submit().await;
    b.wait_path("/t/HXOS2/").await;
    b.click_nav(Locator::LinkText("二要素認証")).await;
    b.wait_text("設定を開始する").await;
    b.click_nav(Locator::Css("#totp-start")).await;
    b.wait_text("認証アプリでQRコードを読み取る").await;
    let qr = b.client.find_all(Locator::Css(".totp-qr svg")).await.expect("qr");
    assert_eq!(qr.len(), 1, "the QR code is inline SVG");
    let secret = b.client.find(Locator::Css("#totp-secret")).await.expect("secret").text().await.expect("text");
    b.screenshot("auth-totp-enroll").await;
    b.fill("code", &pyotp(&secret, now(&app), 0)).await;
    b.click_nav(Locator::Css("#totp-confirm")).await;
    b.wait_text("二要素認証を設定しました。").await;
    let codes = b.client.find_all(Locator::Css("#recovery-codes li")).await.expect("codes");
    assert_eq!(codes.len(), 10);
    b.screenshot("auth-totp-recovery").await;
    // Log out and in again: the second step.
    b.client.delete_all_cookies().await.expect("cookies");
    b.client.goto(&app.url("/t/HXOS2/login")).await.expect("goto");
    b.fill("login", "HX000002").await;
    b.fill("password", DEMO_PASSWORD).await;
    b.submit().await;
    b.wait_text("認証アプリに表示されている6桁の認証コード").await;
    b.fill("code", "000000").await;
    b.submit().await;
    b.wait_text("認証コードが正しくないか").await;
    app.clock.advance(jiff::SignedDuration::from_secs(30));
    b.fill("code", &pyotp(&secret, now(&app), 0)).await;
    b.submit().await;
    b.wait_path("/t/HXOS2/").await;
    b.close().await;
    app.stop().await;
}
