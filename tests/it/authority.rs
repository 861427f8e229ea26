//! Signing authority and intent: who may set, confirm and remove a signer's delegate (every
//! role × company), what a mandate allows, the PIN of one's own signature and its lock, the
//! delegate's step-up codes, and the proof of the delegation inside the signature.

use crate::common::*;
use crate::contracts::{act, contract_body, contracts_snapshot, download, ok, pdfsig, pyhanko, register, tool};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::process::Command;

const T: &str = "/api/v1/t/HXOS2";

fn t(path: &str) -> String {
    format!("{T}{path}")
}

/// Runs `f` on the store (fixtures).
async fn with_store<R: Send + 'static>(
    app: &TestApp,
    f: impl FnOnce(&mut keiyaku_kernel::Tx) -> Result<R, keiyaku_kernel::StoreError> + Send + 'static,
) -> R {
    app.services().kernel.store.write(f).await.expect("store")
}

/// Makes `signer`'s mandate for `delegate` exist and be pending (fixture, no checks).
async fn pending_mandate(app: &TestApp, signer: &'static str, delegate: &'static str) {
    with_store(app, move |tx| {
        use keiyaku_users::delegates;
        let actor = keiyaku_kernel::Actor::system();
        if delegates::is_delegate(tx, "HXOS2", signer, delegate)? {
            tx.remove(&delegates::DELEGATES, &format!("HXOS2/{signer}/{delegate}"))?;
        }
        delegates::link(tx, &actor, "HXOS2", signer, delegate)
    })
    .await;
}

async fn no_mandate(app: &TestApp, signer: &'static str, delegate: &'static str) {
    with_store(app, move |tx| {
        use keiyaku_users::delegates;
        tx.remove(&delegates::DELEGATES, &format!("HXOS2/{signer}/{delegate}"))?;
        tx.remove(&delegates::DELEGATE_OF, &format!("HXOS2/{delegate}/{signer}"))?;
        Ok(())
    })
    .await;
}

async fn mandate_state(app: &TestApp, signer: &'static str, delegate: &'static str) -> Option<String> {
    app.services()
        .kernel
        .store
        .read(move |tx| keiyaku_users::delegates::mandate(tx, "HXOS2", signer, delegate))
        .await
        .expect("read")
        .map(|m| m.state.as_str().to_string())
}

async fn pin_failures(app: &TestApp, user: &'static str) -> u32 {
    app.services()
        .kernel
        .store
        .read(move |tx| {
            use keiyaku_kernel::store::Read;
            let serial = tx.get(&keiyaku_certs::model::USER_CERTS, &format!("HXOS2/{user}"))?.unwrap_or_default();
            Ok::<_, keiyaku_kernel::StoreError>(
                tx.get(&keiyaku_certs::model::CERTIFICATES, &format!("HXOS2/{serial}"))?.map_or(0, |c| c.pin_failures),
            )
        })
        .await
        .expect("read")
}

/// A group administrator of another group of the signer's company (A15336), and one of
/// another partner company; their tokens.
async fn extra_admins(app: &TestApp) -> (String, String) {
    let admin = app.demo_token("HX000001").await;
    let (s, org) = app.get(&t("/org"), Some(&admin)).await;
    assert_eq!(s, StatusCode::OK, "{org}");
    let partner = org["companies"]
        .as_array()
        .expect("companies")
        .iter()
        .find(|c| c["company"]["vendor_code"] == "A15336")
        .cloned()
        .expect("partner");
    let company_id = partner["company"]["id"].as_str().expect("id").to_string();
    let (s, g) = app.post(&t("/groups"), Some(&admin), json!({"company_id": company_id, "name": "大阪支店"})).await;
    assert_eq!(s, StatusCode::CREATED, "{g}");
    let branch = g["id"].as_str().expect("group").to_string();
    let branch_admin =
        create_user(app, &admin, &branch, "大阪 管理", "osaka@a15336.example.jp", &["group_admin"]).await;
    let (s, co) = app
        .post(
            &t("/companies"),
            Some(&admin),
            json!({"name": "ビーテック株式会社", "name_kana": "ビーテック", "vendor_code": "B20001"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{co}");
    let b_root = co["root_group"]["id"].as_str().expect("root").to_string();
    let other_admin =
        create_user(app, &admin, &b_root, "別会社 管理", "admin@b20001.example.jp", &["group_admin"]).await;
    (branch_admin, other_admin)
}

/// Creates a user in `group`; returns (user ID, a token after the forced password change).
async fn new_user(
    app: &TestApp,
    admin: &str,
    group: &str,
    name: &str,
    email: &str,
    roles: &[&str],
) -> (String, String) {
    let mut body = json!({"name": name, "email": email, "roles": roles});
    if email.ends_with("hxos2.example.jp") {
        body["user_id"] = json!("HX000050");
    }
    let (s, v) = app.post(&t(&format!("/groups/{group}/users")), Some(admin), body).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let id = v["user_id"].as_str().expect("user_id").to_string();
    let mail = app.last_mail_to(email).await.expect("registration mail");
    let pw = initial_password(mail["body"].as_str().unwrap_or_default());
    let token = app.login_ready("HXOS2", &id, &pw, "NewPass-9876x").await;
    (id, token)
}

async fn create_user(app: &TestApp, admin: &str, group: &str, name: &str, email: &str, roles: &[&str]) -> String {
    new_user(app, admin, group, name, email, roles).await.1
}

/// Who may add, confirm and remove a delegate of the partner signer A1533602 and of the
/// owner signer HX000003: every caller × both signers × the three operations, each cell's
/// status asserted. Refused cells change nothing, and a refused confirmation never counts
/// as a wrong PIN.
#[tokio::test(flavor = "multi_thread")]
async fn delegation_matrix_over_https() {
    let app = TestApp::demo().await;
    let (branch_admin, other_admin) = extra_admins(&app).await;
    let owner_admin = app.demo_token("HX000001").await;
    let partner_admin = app.demo_token("A1533601").await;
    let partner_signer = app.demo_token("A1533602").await;
    let owner_signer = app.demo_token("HX000003").await;
    // The picks: a user of each signer's own company who is not yet their delegate.
    let partner_root =
        app.get(&t("/users/A1533601"), Some(&partner_admin)).await.1["group_id"].as_str().expect("group").to_string();
    let (partner_pick, _) =
        new_user(&app, &partner_admin, &partner_root, "佐々木 三郎", "sasaki@a15336.example.jp", &["approver"]).await;
    let partner_pick: &'static str = Box::leak(partner_pick.into_boxed_str());
    let owner_root =
        app.get(&t("/users/HX000003"), Some(&owner_admin)).await.1["group_id"].as_str().expect("group").to_string();
    let (owner_pick, _) =
        new_user(&app, &owner_admin, &owner_root, "白石 次郎", "jiro@hxos2.example.jp", &["approver"]).await;
    let owner_pick: &'static str = Box::leak(owner_pick.into_boxed_str());
    use StatusCode as S;
    const OK: S = S::OK;
    const GONE: S = S::NO_CONTENT;
    const NO: S = S::FORBIDDEN;
    const HIDDEN: S = S::NOT_FOUND;
    // caller, [add, confirm, remove] for the partner signer, then for the owner signer.
    let cases: [(&str, &str, [S; 3], [S; 3]); 6] = [
        ("owner tenant administrator", &owner_admin, [NO, NO, NO], [OK, NO, GONE]),
        ("partner administrator of the signer's group", &partner_admin, [OK, NO, GONE], [HIDDEN; 3]),
        ("partner administrator of another group", &branch_admin, [NO, NO, NO], [HIDDEN; 3]),
        ("the partner signer", &partner_signer, [OK, OK, GONE], [HIDDEN; 3]),
        ("the owner signer", &owner_signer, [HIDDEN; 3], [OK, OK, GONE]),
        ("another partner's administrator", &other_admin, [HIDDEN; 3], [HIDDEN; 3]),
    ];
    let signers: [(&'static str, &'static str); 2] = [("A1533602", partner_pick), ("HX000003", owner_pick)];
    for (who, token, partner_cells, owner_cells) in cases {
        for ((signer, pick), cells) in signers.into_iter().zip([partner_cells, owner_cells]) {
            // add
            no_mandate(&app, signer, pick).await;
            let before = contracts_snapshot(&app).await;
            let (s, v) =
                app.post(&t(&format!("/users/{signer}/delegates")), Some(token), json!({"user_ids": [pick]})).await;
            assert_eq!(s, cells[0], "{who} adds a delegate of {signer}: {v}");
            if s == OK {
                assert_eq!(mandate_state(&app, signer, pick).await.as_deref(), Some("pending"), "{who}");
            } else {
                assert_eq!(mandate_state(&app, signer, pick).await, None, "{who}: a refused add wrote");
                assert_eq!(contracts_snapshot(&app).await, before, "{who}: a refused add wrote");
            }
            // confirm (a pending mandate exists)
            pending_mandate(&app, signer, pick).await;
            let failures = pin_failures(&app, signer).await;
            let (s, v) = app
                .post(
                    &t(&format!("/users/{signer}/delegates/{pick}/confirm")),
                    Some(token),
                    json!({"pin": "000000000000"}),
                )
                .await;
            if cells[1] == OK {
                // The signer: a wrong PIN is counted, the right one confirms.
                assert_eq!((s, v["code"].as_str()), (NO, Some("pin_invalid")), "{who}: {v}");
                assert_eq!(pin_failures(&app, signer).await, failures + 1);
                let (s, v) = app
                    .post(
                        &t(&format!("/users/{signer}/delegates/{pick}/confirm")),
                        Some(token),
                        json!({"pin": DEMO_PIN}),
                    )
                    .await;
                assert_eq!(s, OK, "{who} confirms for {signer}: {v}");
                assert_eq!(v["mandate"]["state"], "confirmed", "{v}");
                assert_eq!(pin_failures(&app, signer).await, 0, "a right PIN clears the count");
            } else {
                assert_eq!(s, cells[1], "{who} confirms for {signer}: {v}");
                assert_eq!(mandate_state(&app, signer, pick).await.as_deref(), Some("pending"), "{who}");
                assert_eq!(pin_failures(&app, signer).await, failures, "{who}: a refused confirmation counted a PIN");
            }
            // remove
            let (s, v) =
                app.call(Method::DELETE, &t(&format!("/users/{signer}/delegates/{pick}")), Some(token), None).await;
            assert_eq!(s, cells[2], "{who} removes a delegate of {signer}: {v}");
            let left = mandate_state(&app, signer, pick).await;
            assert_eq!(left.is_none(), s == GONE, "{who}: {left:?}");
        }
    }
    app.stop().await;
}

/// The PEM of a user's certificate.
async fn certificate_pem(app: &TestApp, token: &str, user: &str) -> String {
    let (s, v) = app.get(&t(&format!("/users/{user}/certificate")), Some(token)).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    v["pem"].as_str().expect("pem").to_string()
}

fn openssl(args: &[&str], dir: &std::path::Path) -> (bool, String) {
    let out = Command::new("openssl").args(args).current_dir(dir).output().expect("openssl");
    (out.status.success(), format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
}

/// A delegate signs only under a confirmed mandate whose limits cover the contract, after a
/// mailed code used once; the signature names the delegation (pyHanko and pdfsig still
/// judge it valid), the confirmation verifies with openssl against the signer's
/// certificate, the signer is told, and the completion report lists the mandate.
#[tokio::test(flavor = "multi_thread")]
async fn a_delegate_signs_within_a_confirmed_mandate_with_a_fresh_code() {
    let app = TestApp::demo().await;
    let registrant = app.demo_token("HX000002").await;
    let delegate = app.demo_token("A1533601").await;
    let signer = app.demo_token("A1533602").await;
    let mut body = contract_body("T-MANDATE-1", "2026-11-25", 1_100_000, "A15336");
    // Two partner signing steps: the second shows that a used code does not work again.
    body["route"] = json!([{"party": "partner", "role": "signer"}, {"party": "partner", "role": "signer"}]);
    let c = register(&app, &registrant, body).await;
    let id = c["id"].as_str().expect("id").to_string();
    let on_list = |v: &Value| v["items"].as_array().is_some_and(|l| l.iter().any(|c| c["id"] == id.as_str()));

    // Pending (set again by the administrator): refused with mandate_pending, no code sent,
    // and the contract is not on the delegate's waiting list.
    let (s, v) = app.call(Method::DELETE, &t("/users/A1533602/delegates/A1533601"), Some(&signer), None).await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{v}");
    let (s, v) = app.post(&t("/users/A1533602/delegates"), Some(&delegate), json!({"user_ids": ["A1533601"]})).await;
    assert_eq!((s, v["items"][0]["mandate"]["state"].as_str()), (StatusCode::OK, Some("pending")), "{v}");
    let (_, detail) = app.get(&t(&format!("/contracts/{id}")), Some(&delegate)).await;
    assert_eq!(detail["permissions"]["sign"], false, "{detail}");
    assert_eq!(detail["permissions"]["sign_refusal"], "mandate_pending", "{detail}");
    let (_, list) = app.get(&t("/contracts/waiting"), Some(&delegate)).await;
    assert!(!on_list(&list), "a pending mandate shows nothing to sign: {list}");
    let mails_before = app.mails_to("suzuki@a15336.example.jp").await.len();
    let snap = contracts_snapshot(&app).await;
    let (s, v) = app.post(&t(&format!("/contracts/{id}/sign-code")), Some(&delegate), json!({})).await;
    assert_eq!((s, v["code"].as_str()), (StatusCode::FORBIDDEN, Some("mandate_pending")), "{v}");
    let (s, v) = act(&app, &delegate, &id, "sign", json!({"code": "123456"})).await;
    assert_eq!((s, v["code"].as_str()), (StatusCode::FORBIDDEN, Some("mandate_pending")), "{v}");
    assert_eq!(contracts_snapshot(&app).await, snap, "refusals wrote nothing");
    assert_eq!(app.mails_to("suzuki@a15336.example.jp").await.len(), mails_before, "no code was mailed");

    // Limits that do not cover the contract: amount, document type, last day.
    let today = keiyaku_kernel::Clock::now(&*app.clock).to_zoned_datetime(keiyaku_kernel::clock::tokyo()).date();
    for (limits, what) in [
        (json!({"max_amount": 1_000_000}), "amount"),
        (json!({"doc_types": ["agreement", "memorandum"]}), "document type"),
        (json!({"valid_until": today.to_string()}), "expired"),
    ] {
        let (s, v) = app.call(Method::DELETE, &t("/users/A1533602/delegates/A1533601"), Some(&signer), None).await;
        assert_eq!(s, StatusCode::NO_CONTENT, "{v}");
        let mut add = limits.clone();
        add["user_ids"] = json!(["A1533601"]);
        add["pin"] = json!(DEMO_PIN);
        let (s, v) = app.post(&t("/users/A1533602/delegates"), Some(&signer), add).await;
        assert_eq!((s, v["items"][0]["mandate"]["state"].as_str()), (StatusCode::OK, Some("confirmed")), "{v}");
        if what == "expired" {
            app.clock.advance(jiff::SignedDuration::from_hours(48));
        }
        let delegate = app.demo_token("A1533601").await;
        let (s, v) = act(&app, &delegate, &id, "sign", json!({"code": "123456"})).await;
        assert_eq!((s, v["code"].as_str()), (StatusCode::FORBIDDEN, Some("mandate_exceeded")), "{what}: {v}");
        let (s, v) = app.post(&t(&format!("/contracts/{id}/sign-code")), Some(&delegate), json!({})).await;
        assert_eq!((s, v["code"].as_str()), (StatusCode::FORBIDDEN, Some("mandate_exceeded")), "{what}: {v}");
        if what == "expired" {
            app.clock.advance(jiff::SignedDuration::from_hours(-48));
        }
    }

    // Set by the administrator, confirmed by the signer with the PIN.
    let (s, v) = app.call(Method::DELETE, &t("/users/A1533602/delegates/A1533601"), Some(&signer), None).await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{v}");
    let (s, v) = app
        .post(
            &t("/users/A1533602/delegates"),
            Some(&delegate),
            json!({"user_ids": ["A1533601"], "max_amount": 5_000_000}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let ask = app.last_mail_to("ito@a15336.example.jp").await.expect("mail");
    assert_eq!(ask["subject"], "【電子契約サービス】 署名操作代行の委任確認のお願い");
    assert!(ask["body"].as_str().unwrap_or_default().contains("金額の上限：5,000,000円"), "{ask}");
    let (s, v) =
        app.post(&t("/users/A1533602/delegates/A1533601/confirm"), Some(&delegate), json!({"pin": DEMO_PIN})).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "only the signer confirms: {v}");
    let (s, m) =
        app.post(&t("/users/A1533602/delegates/A1533601/confirm"), Some(&signer), json!({"pin": DEMO_PIN})).await;
    assert_eq!((s, m["mandate"]["state"].as_str()), (StatusCode::OK, Some("confirmed")), "{m}");
    let confirmed = app.last_mail_to("suzuki@a15336.example.jp").await.expect("mail");
    assert_eq!(confirmed["subject"], "【電子契約サービス】 署名操作代行の委任が確認されました");

    // The stored confirmation: the statement's hash, and a CMS that openssl verifies with
    // the signer's certificate (and refuses for a changed statement).
    let (s, doc) = app.get(&t("/users/A1533602/delegates/A1533601/mandate"), Some(&delegate)).await;
    assert_eq!(s, StatusCode::OK, "{doc}");
    let statement = doc["statement"].as_str().expect("statement").to_string();
    let sha = doc["mandate"]["sha256"].as_str().expect("sha").to_string();
    {
        use sha2::Digest;
        assert_eq!(hex::encode(sha2::Sha256::digest(statement.as_bytes())), sha);
    }
    let parsed: Value = serde_json::from_str(&statement).expect("canonical JSON");
    assert_eq!(serde_json::to_string(&parsed).expect("json"), statement, "keys sorted, no spaces");
    assert_eq!(
        (parsed["signer"]["user_id"].as_str(), parsed["delegate"]["user_id"].as_str()),
        (Some("A1533602"), Some("A1533601"))
    );
    assert_eq!(parsed["limits"]["max_amount"], 5_000_000);
    let dir = tempdir("mandate");
    let (_, _, ca) = download(&app, &delegate, &t("/ca/certificate")).await;
    std::fs::write(dir.join("ca.pem"), &ca).expect("ca");
    std::fs::write(dir.join("signer.pem"), certificate_pem(&app, &signer, "A1533602").await).expect("pem");
    std::fs::write(dir.join("statement.json"), &statement).expect("statement");
    use base64::Engine;
    let cms =
        base64::engine::general_purpose::STANDARD.decode(doc["confirmation"].as_str().expect("cms")).expect("b64");
    std::fs::write(dir.join("confirmation.p7s"), &cms).expect("cms");
    if tool("openssl") {
        let verify = [
            "cms",
            "-verify",
            "-binary",
            "-inform",
            "DER",
            "-in",
            "confirmation.p7s",
            "-content",
            "statement.json",
            "-CAfile",
            "ca.pem",
            "-purpose",
            "any",
            "-out",
            "/dev/null",
        ];
        let (ok, out) = openssl(&verify, &dir);
        assert!(ok && out.contains("Verification successful"), "{out}");
        let (ok, out) = openssl(
            &[
                "cms",
                "-verify",
                "-binary",
                "-inform",
                "DER",
                "-in",
                "confirmation.p7s",
                "-content",
                "statement.json",
                "-CAfile",
                "ca.pem",
                "-purpose",
                "any",
                "-certfile",
                "signer.pem",
                "-signer",
                "used.pem",
                "-out",
                "/dev/null",
            ],
            &dir,
        );
        assert!(ok, "{out}");
        let used = std::fs::read_to_string(dir.join("used.pem")).expect("used");
        let signer_pem = std::fs::read_to_string(dir.join("signer.pem")).expect("signer");
        assert_eq!(used.trim(), signer_pem.trim(), "signed by the signer's own certificate");
        std::fs::write(dir.join("statement.json"), statement.replace("5000000", "9000000")).expect("write");
        let (ok, _) = openssl(&verify, &dir);
        assert!(!ok, "a changed statement must not verify");
    }

    // Now on the delegate's list; signing needs a step-up code.
    let (_, list) = app.get(&t("/contracts/waiting"), Some(&delegate)).await;
    assert!(on_list(&list), "{list}");
    let (s, v) = act(&app, &delegate, &id, "sign", json!({})).await;
    assert_eq!((s, v["code"].as_str()), (StatusCode::FORBIDDEN, Some("step_up_required")), "{v}");
    let code = app.signing_code(&delegate, &id).await;
    let v = ok(&app, &delegate, &id, "sign", json!({"code": code})).await;
    assert_eq!(v["current_step"], 1, "{v}");
    // The same code again on the next step: used, refused (nothing written).
    let snap = contracts_snapshot(&app).await;
    let (s, v) = act(&app, &delegate, &id, "sign", json!({"code": code})).await;
    assert_eq!((s, v["code"].as_str()), (StatusCode::FORBIDDEN, Some("code_invalid")), "{v}");
    assert_eq!(contracts_snapshot(&app).await, snap);
    let code = app.signing_code(&delegate, &id).await;
    let v = ok(&app, &delegate, &id, "sign", json!({"code": code})).await;
    assert_eq!(v["status"], "completed", "{v}");
    let told: Vec<Value> = app
        .mails_to("ito@a15336.example.jp")
        .await
        .into_iter()
        .filter(|m| {
            m["subject"] == "【電子契約サービス】代理署名のお知らせ"
                && m["body"].as_str().is_some_and(|b| b.contains("T-MANDATE-1"))
        })
        .collect();
    assert_eq!(told.len(), 2, "the signer is told of each signature on their behalf");
    assert!(told[0]["body"].as_str().unwrap_or_default().contains("T-MANDATE-1"), "{}", told[0]);

    // The signed PDF names the delegation in each signature's signed attributes.
    let (s, _, signed) = download(&app, &delegate, &t(&format!("/contracts/{id}/documents/D1"))).await;
    assert_eq!(s, StatusCode::OK);
    let mandate_id = m["mandate"]["id"].as_str().expect("mandate id").to_string();
    let ours = keiyaku_pades::verify(&signed).expect("verify");
    // Two signatures, then the document time-stamp of completion.
    assert_eq!(ours.len(), 3, "{ours:?}");
    assert!(ours[2].is_document_timestamp() && ours[2].is_intact(), "{ours:?}");
    for sig in &ours[..2] {
        assert!(sig.is_intact(), "{sig:?}");
        let d = sig.delegation.as_ref().expect("delegation attribute");
        assert_eq!((d.delegate_id.as_str(), d.delegate_name.as_str()), ("A1533601", "鈴木 一郎"));
        assert_eq!(d.mandate_id, mandate_id);
        assert_eq!(hex::encode(d.mandate_sha256), sha);
    }
    std::fs::write(dir.join("signed.pdf"), &signed).expect("write");
    if tool("openssl") {
        // Independently: the DER of the last signature's CMS holds the delegate, the mandate
        // ID and its hash under keiyaku's OID.
        let [_, from, to, _] = ours[1].byte_range;
        let hex_cms = String::from_utf8_lossy(&signed[from + 1..to - 1]).to_string();
        let der = hex::decode(hex_cms.trim_end_matches('0')).unwrap_or_default();
        let der = if der.is_empty() { hex::decode(&hex_cms).expect("hex") } else { der };
        std::fs::write(dir.join("sig.der"), &der).expect("der");
        let (_, parsed) = openssl(&["asn1parse", "-inform", "DER", "-in", "sig.der"], &dir);
        assert!(parsed.contains("2.25.212763563025824543551271583885707350849"), "{parsed}");
        assert!(parsed.contains(":A1533601") && parsed.contains(&format!(":{mandate_id}")), "{parsed}");
        assert!(parsed.to_uppercase().contains(&sha.to_uppercase()), "the mandate hash: {parsed}");
    }
    if tool("pdfsig") {
        let out = pdfsig(&dir.join("signed.pdf"));
        assert_eq!(out.matches("Signature is Valid.").count(), 2, "{out}");
    }
    if tool("pyhanko") {
        let (success, out) = pyhanko(&dir.join("signed.pdf"), &dir.join("ca.pem"));
        assert!(success, "{out}");
        assert_eq!(out.matches("The signature is judged VALID.").count(), 2, "{out}");
    }
    // The completion report lists the mandate.
    let (s, _, report) = download(&app, &registrant, &t(&format!("/contracts/{id}/report"))).await;
    assert_eq!(s, StatusCode::OK);
    if tool("pdftotext") {
        std::fs::write(dir.join("report.pdf"), &report).expect("write");
        let out = Command::new("pdftotext").args(["report.pdf", "-"]).current_dir(&dir).output().expect("pdftotext");
        let text = String::from_utf8_lossy(&out.stdout).replace(['\n', ' '], "");
        assert!(text.contains(&mandate_id) && text.contains("署名操作代行の委任"), "{text}");
    }
    app.stop().await;
}

/// One's own signature: five wrong PINs lock signing with the certificate (the right PIN
/// then fails too) until the group administrator unlocks it; the holder cannot.
#[tokio::test(flavor = "multi_thread")]
async fn five_wrong_pins_lock_signing_until_the_administrator_unlocks() {
    let app = TestApp::demo().await;
    let registrant = app.demo_token("HX000002").await;
    let signer = app.demo_token("HX000003").await;
    let admin = app.demo_token("HX000001").await;
    let mut body = contract_body("T-PIN-1", "2026-11-25", 10_000, "A15336");
    body["route"] = json!([{"party": "owner", "role": "signer"}]);
    let id = register(&app, &registrant, body).await["id"].as_str().expect("id").to_string();
    let versions = |v: &Value| v["documents"][0]["versions"].as_array().map_or(0, Vec::len);
    let before = versions(&app.get(&t(&format!("/contracts/{id}")), Some(&signer)).await.1);
    for n in 1..=4 {
        let (s, v) = act(&app, &signer, &id, "sign", json!({"pin": "111111111111"})).await;
        assert_eq!((s, v["code"].as_str()), (StatusCode::FORBIDDEN, Some("pin_invalid")), "{n}: {v}");
        assert!(v["detail"].as_str().unwrap_or_default().contains(&format!("あと{}回", 5 - n)), "{v}");
    }
    let (s, v) = act(&app, &signer, &id, "sign", json!({"pin": "111111111111"})).await;
    assert_eq!((s, v["code"].as_str()), (StatusCode::FORBIDDEN, Some("pin_locked")), "{v}");
    let (s, v) = act(&app, &signer, &id, "sign", json!({"pin": DEMO_PIN})).await;
    assert_eq!((s, v["code"].as_str()), (StatusCode::FORBIDDEN, Some("pin_locked")), "{v}");
    let (_, now) = app.get(&t(&format!("/contracts/{id}")), Some(&signer)).await;
    assert_eq!((versions(&now), now["status"].as_str()), (before, Some("circulating")), "nothing was signed");
    let (_, cert) = app.get(&t("/users/HX000003/certificate"), Some(&signer)).await;
    assert_eq!(cert["pin_locked"], true, "{cert}");
    let (s, v) = app.post(&t("/users/HX000003/certificate/unlock-pin"), Some(&signer), json!({})).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "the holder cannot unlock: {v}");
    let (s, v) = app.post(&t("/users/HX000003/certificate/unlock-pin"), Some(&admin), json!({})).await;
    assert_eq!((s, v["pin_locked"].as_bool()), (StatusCode::OK, Some(false)), "{v}");
    let v = ok(&app, &signer, &id, "sign", json!({"pin": DEMO_PIN})).await;
    assert_eq!(v["status"], "completed", "{v}");
    app.stop().await;
}

/// The certificate's subject comes from the directory (a typed company or name that differs
/// is the generic holder error), and a new certificate does not silently replace a usable one: the old
/// one keeps signing until the new one's first day, then is revoked as superseded.
#[tokio::test(flavor = "multi_thread")]
async fn the_subject_comes_from_the_directory_and_a_new_certificate_supersedes_the_old_on_its_first_day() {
    use crate::certs::{demo_app, details, order_tickets, put, start};
    let app = demo_app().await;
    let (_, tickets) = order_tickets(&app, "horii@hxos2.example.jp", [1, 1, 1], "service").await;
    let ito = "ito@a15336.example.jp";
    let token = start(&app, "self", ito, &tickets[2]).await;
    let good = |company: &str, names: [&str; 4]| {
        let mut d = details(ito, ito, names, "Ito.Makoto", company);
        d["user_id"] = json!("A1533602");
        d["company_name_kana"] = json!("アイテックコンサルタントカブシキガイシャ");
        d
    };
    let path = t(&format!("/cert-applications/{token}"));
    // A wrong company or name is the one generic holder error (no directory oracle).
    let (s, v) = put(&app, &path, good("ビーテック株式会社", ["伊藤", "誠", "イトウ", "マコト"])).await;
    assert_eq!((s, v["errors"][0]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("user_id")), "{v}");
    assert_eq!(v["errors"][0]["code"], "holder_mismatch", "{v}");
    let (s, v) = put(&app, &path, good("アイテックコンサルタント株式会社", ["伊東", "誠", "イトウ", "マコト"])).await;
    assert_eq!(
        (s, v["errors"][0]["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("holder_mismatch")),
        "{v}"
    );
    let (s, v) = put(&app, &path, good("アイテックコンサルタント株式会社", ["伊藤", "誠", "イトウ", "マコト"])).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let signer = app.demo_token("A1533602").await;
    let old = app.get(&t("/users/A1533602/certificate"), Some(&signer)).await.1["serial"]
        .as_str()
        .expect("serial")
        .to_string();
    let new_pin = "210987654321";
    let (s, v) = app.post(&t(&format!("/cert-applications/{token}/submit")), None, json!({"pin": new_pin})).await;
    assert_eq!((s, v["status"].as_str()), (StatusCode::OK, Some("issued")), "{v}");
    let new = v["certificate"]["serial"].as_str().expect("serial").to_string();
    assert_eq!(v["certificate"]["organization"], "アイテックコンサルタント株式会社", "O from the directory: {v}");
    assert_eq!(v["certificate"]["status"], "not_yet_usable", "{v}");

    // Until the new one's first day the old certificate signs (with its own PIN).
    let registrant = app.demo_token("HX000002").await;
    let sign_once = |number: &'static str, pin: &'static str| {
        let (app, registrant, signer) = (&app, registrant.clone(), signer.clone());
        async move {
            let mut body = contract_body(number, "2026-11-25", 10_000, "A15336");
            body["route"] = json!([{"party": "partner", "role": "signer"}]);
            let id = register(app, &registrant, body).await["id"].as_str().expect("id").to_string();
            let v = ok(app, &signer, &id, "sign", json!({"pin": pin})).await;
            v["documents"][0]["versions"][1]["cert_serial"].as_str().unwrap_or_default().to_string()
        }
    };
    assert_eq!(sign_once("T-SUPERSEDE-1", DEMO_PIN).await, old);
    assert_eq!(app.services().certs.revoke_superseded().await.expect("sweep"), 0, "not yet");

    // From the new one's first day: the old one is revoked as superseded, the new one signs.
    app.clock.advance(jiff::SignedDuration::from_hours(24 * 14));
    let signer = app.demo_token("A1533602").await;
    assert_eq!(app.services().certs.revoke_superseded().await.expect("sweep"), 1);
    let old_record = app
        .services()
        .kernel
        .store
        .read(move |tx| {
            use keiyaku_kernel::store::Read;
            tx.get(&keiyaku_certs::model::CERTIFICATES, &format!("HXOS2/{old}"))
        })
        .await
        .expect("read")
        .expect("old record");
    assert_eq!(old_record.status, keiyaku_certs::model::CertStatus::Revoked);
    assert!(old_record.revocation_reason.as_deref().is_some_and(|r| r.contains("superseded")));
    let (_, _, crl) = download(&app, &signer, &t("/ca/crl")).await;
    if tool("openssl") {
        let dir = tempdir("superseded");
        std::fs::write(dir.join("crl.der"), &crl).expect("crl");
        let (_, text) = openssl(&["crl", "-inform", "DER", "-in", "crl.der", "-noout", "-text"], &dir);
        assert!(text.to_uppercase().contains(&old_record.serial.to_uppercase()), "{text}");
        assert!(text.contains("Superseded"), "{text}");
    }
    let registrant = app.demo_token("HX000002").await;
    let mut body = contract_body("T-SUPERSEDE-2", "2026-11-25", 10_000, "A15336");
    body["route"] = json!([{"party": "partner", "role": "signer"}]);
    let id = register(&app, &registrant, body).await["id"].as_str().expect("id").to_string();
    let (s, v) = act(&app, &signer, &id, "sign", json!({"pin": DEMO_PIN})).await;
    assert_eq!((s, v["code"].as_str()), (StatusCode::FORBIDDEN, Some("pin_invalid")), "the old PIN is gone: {v}");
    let v = ok(&app, &signer, &id, "sign", json!({"pin": new_pin})).await;
    assert_eq!(v["documents"][0]["versions"][1]["cert_serial"], new.as_str());
    app.stop().await;
}

/// Lists show only what the caller may see, by the same rule as getContract: for every
/// demo user (and a partner delegate whose mandate is pending), each contract that the
/// contract search, the document search and the waiting list return opens, every other
/// contract is 404, and each waiting entry is one the user may act on now.
#[tokio::test(flavor = "multi_thread")]
async fn lists_and_searches_follow_the_get_contract_rule() {
    let app = TestApp::demo().await;
    let all: Vec<String> = app
        .services()
        .kernel
        .store
        .read(|tx| {
            use keiyaku_kernel::store::Read;
            Ok::<_, keiyaku_kernel::StoreError>(
                tx.scan(&keiyaku_contracts::model::CONTRACTS, "HXOS2/")?.into_iter().map(|(_, c)| c.id).collect(),
            )
        })
        .await
        .expect("read");
    assert!(all.len() >= 3, "{all:?}");
    let ids = |v: &Value, field: &str| -> Vec<String> {
        v["items"].as_array().into_iter().flatten().filter_map(|c| c[field].as_str().map(str::to_string)).collect()
    };
    // A1533601 with a pending mandate: the partner signer's contracts no longer wait for them.
    let signer = app.demo_token("A1533602").await;
    let a1 = app.demo_token("A1533601").await;
    let (s, _) = app.call(Method::DELETE, &t("/users/A1533602/delegates/A1533601"), Some(&signer), None).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _) = app.post(&t("/users/A1533602/delegates"), Some(&a1), json!({"user_ids": ["A1533601"]})).await;
    assert_eq!(s, StatusCode::OK);
    for user in ["HX000001", "HX000002", "HX000003", "A1533601", "A1533602"] {
        let token = app.demo_token(user).await;
        let (s, found) = app.get(&t("/contracts?per_page=200"), Some(&token)).await;
        assert_eq!(s, StatusCode::OK, "{found}");
        let found = ids(&found, "id");
        let (s, docs) = app.get(&t("/documents?per_page=200"), Some(&token)).await;
        assert_eq!(s, StatusCode::OK, "{docs}");
        let docs = ids(&docs, "contract_id");
        let (s, waiting) = app.get(&t("/contracts/waiting"), Some(&token)).await;
        assert_eq!(s, StatusCode::OK, "{waiting}");
        let waiting = ids(&waiting, "id");
        assert_eq!(found.is_empty(), docs.is_empty(), "{user}: {found:?} {docs:?}");
        for id in &all {
            let (s, v) = app.get(&t(&format!("/contracts/{id}")), Some(&token)).await;
            let visible = s == StatusCode::OK;
            assert!(visible || s == StatusCode::NOT_FOUND, "{user} {id}: {v}");
            assert_eq!(found.contains(id), visible, "{user}: search and getContract disagree on {id}");
            if docs.contains(id) {
                assert!(visible, "{user}: the document search shows {id}");
            }
            if waiting.contains(id) {
                let p = &v["permissions"];
                assert!(p["approve"] == true || p["sign"] == true, "{user}: {id} waits but cannot be acted on: {v}");
            }
        }
        if user == "A1533601" {
            for id in &waiting {
                let (_, v) = app.get(&t(&format!("/contracts/{id}")), Some(&token)).await;
                let step = v["current_step"].as_u64().unwrap_or(0) as usize;
                assert_ne!(v["route"][step]["line"], "partner_signer", "a pending mandate lists nothing to sign: {v}");
            }
        }
    }
    app.stop().await;
}
