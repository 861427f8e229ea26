//! `importCertificate` over HTTPS: a signer's certificate and key from an outside CA (made
//! here with rcgen, its CRL served on loopback), packed by `openssl pkcs12 -export` (OpenSSL
//! 3 defaults), imported by the tenant administrator, then signing a contract with it —
//! judged by keiyaku's report and by pyHanko's PAdES-LTA validation trusting both roots.
//!
//! Tools: openssl, and `pip install pyhanko pyhanko-cli` (.ci/run installs them). Outside CI
//! a missing tool skips with a message; under CI it fails.

use crate::common::*;
use crate::contracts::{act, contract_body, download, pyhanko_lta, register, tool};
use rcgen::{
    BasicConstraints, CertificateParams, CertificateRevocationListParams, CrlDistributionPoint, DnType, IsCa, Issuer,
    KeyIdMethod, KeyPair, KeyUsagePurpose, PKCS_ECDSA_P256_SHA256, PKCS_ECDSA_P384_SHA384, RevocationReason,
    RevokedCertParams, SerialNumber, date_time_ymd,
};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

const T: &str = "/api/v1/t/HXOS2";
const P12_PASSWORD: &str = "outside-p12-secret";
/// The PIN the import sets.
const IMPORT_PIN: &str = "246813579024";
const SIGNER_SERIAL: &[u8] = &[0x4B, 0x59, 0x4B, 0x01];

/// The stand-in outside CA, its signer certificate for HX000003 and its CRL.
struct OutsideCa {
    ca_der: Vec<u8>,
    ca_pem: String,
    signer_pem: String,
    signer_key_pem: String,
    crl_der: Vec<u8>,
}

fn ca_params() -> CertificateParams {
    let mut p = CertificateParams::new(Vec::<String>::new()).expect("params");
    p.distinguished_name.push(DnType::CommonName, "Outside Trust Root CA");
    p.distinguished_name.push(DnType::OrganizationName, "Outside Trust K.K.");
    p.not_before = date_time_ymd(2026, 1, 1);
    p.not_after = date_time_ymd(2036, 1, 1);
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    p
}

/// A signer certificate of the outside CA with `key`, naming `crl_url` as its CDP.
fn signer_params(crl_url: &str, serial: &[u8], usages: Vec<KeyUsagePurpose>) -> CertificateParams {
    let mut p = CertificateParams::new(Vec::<String>::new()).expect("params");
    p.distinguished_name.push(DnType::CommonName, "Outside Signer 保坂 花子");
    p.distinguished_name.push(DnType::OrganizationName, "オリエンタル白石株式会社");
    p.serial_number = Some(SerialNumber::from_slice(serial));
    p.not_before = date_time_ymd(2026, 1, 1);
    p.not_after = date_time_ymd(2028, 1, 1);
    p.key_usages = usages;
    p.crl_distribution_points = vec![CrlDistributionPoint { uris: vec![crl_url.to_string()] }];
    p
}

/// A CRL of `issuer` valid from `this_update` for a month, listing `revoked` serials.
fn crl_of(issuer: &Issuer<'static, KeyPair>, this_update: (i32, u8, u8), number: u64, revoked: &[&[u8]]) -> Vec<u8> {
    let (y, m, d) = this_update;
    let (ny, nm) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
    CertificateRevocationListParams {
        this_update: date_time_ymd(y, m, d),
        next_update: date_time_ymd(ny, nm, d),
        crl_number: SerialNumber::from(number),
        issuing_distribution_point: None,
        revoked_certs: revoked
            .iter()
            .map(|serial| RevokedCertParams {
                serial_number: SerialNumber::from_slice(serial),
                revocation_time: date_time_ymd(2026, 6, 1),
                reason_code: Some(RevocationReason::KeyCompromise),
                invalidity_date: None,
            })
            .collect(),
        key_identifier_method: KeyIdMethod::Sha256,
    }
    .signed_by(issuer)
    .expect("crl")
    .der()
    .to_vec()
}

fn outside_ca(crl_url: &str) -> (OutsideCa, Issuer<'static, KeyPair>) {
    let ca_key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).expect("key");
    let params = ca_params();
    let ca = params.self_signed(&ca_key).expect("ca");
    let issuer = Issuer::new(params, ca_key);
    let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).expect("key");
    let usages = vec![KeyUsagePurpose::DigitalSignature, KeyUsagePurpose::ContentCommitment];
    let signer = signer_params(crl_url, SIGNER_SERIAL, usages).signed_by(&key, &issuer).expect("signer");
    // Valid around the appliance's clock (2026-11-25), listing some other certificate.
    let crl_der = crl_of(&issuer, (2026, 11, 24), 42, &[&[0x77]]);
    let out = OutsideCa {
        ca_der: ca.der().to_vec(),
        ca_pem: ca.pem(),
        signer_pem: signer.pem(),
        signer_key_pem: key.serialize_pem(),
        crl_der,
    };
    (out, issuer)
}

/// What the loopback CDP serves (replaceable) and how often it was asked.
type Served = Arc<std::sync::Mutex<Vec<u8>>>;

/// A loopback HTTP server answering every GET with what `body` holds (the CRL); counts the
/// requests.
async fn serve_crl(listener: tokio::net::TcpListener, body: Served) -> Arc<AtomicUsize> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            counter.fetch_add(1, Ordering::SeqCst);
            let body = body.lock().map(|b| b.clone()).unwrap_or_default();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 4096];
                let mut seen = Vec::new();
                while !seen.windows(4).any(|w| w == b"\r\n\r\n") {
                    match sock.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => seen.extend_from_slice(&buf[..n]),
                    }
                }
                let head = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/pkix-crl\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                    body.len()
                );
                let _ = sock.write_all(head.as_bytes()).await;
                let _ = sock.write_all(&body).await;
                let _ = sock.shutdown().await;
            });
        }
    });
    hits
}

/// `openssl pkcs12 -export` of the key and certificate (with the CA when `with_ca`), OpenSSL
/// 3's defaults (PBES2 AES-256-CBC, PBKDF2-HMAC-SHA256, SHA-256 MAC).
fn pkcs12(dir: &std::path::Path, key_pem: &str, cert_pem: &str, ca_pem: Option<&str>, password: &str) -> Vec<u8> {
    let (key, cert, ca, out) = (dir.join("key.pem"), dir.join("cert.pem"), dir.join("ca.pem"), dir.join("out.p12"));
    std::fs::write(&key, key_pem).expect("write");
    std::fs::write(&cert, cert_pem).expect("write");
    let mut cmd = std::process::Command::new("openssl");
    cmd.args(["pkcs12", "-export", "-inkey"]).arg(&key).arg("-in").arg(&cert);
    if let Some(ca_pem) = ca_pem {
        std::fs::write(&ca, ca_pem).expect("write");
        cmd.arg("-certfile").arg(&ca);
    }
    let status = cmd.args(["-name", "outside", "-passout", &format!("pass:{password}"), "-out"]).arg(&out).status();
    assert!(status.expect("openssl").success());
    std::fs::read(&out).expect("p12")
}

async fn import(app: &TestApp, token: &str, user: &str, parts: &[Part<'_>]) -> (StatusCode, Value) {
    let (ct, body) = multipart(parts);
    let resp = app
        .client
        .post(app.url(&format!("{T}/users/{user}/certificate/import")))
        .bearer_auth(token)
        .header("content-type", ct)
        .body(body)
        .send()
        .await
        .expect("import");
    let status = resp.status();
    let text = resp.text().await.unwrap_or_default();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// Every table of the certs module, the audit log and the directory, as a digest.
async fn certs_snapshot(app: &TestApp) -> String {
    let base = app.snapshot().await;
    let mine = app
        .services()
        .kernel
        .store
        .read(|tx| {
            use keiyaku_kernel::store::Read;
            let mut out = String::new();
            for (k, c) in tx.scan(&keiyaku_certs::model::CERTIFICATES, "")? {
                out.push_str(&format!("{k}={c:?};"));
            }
            for (k, c) in tx.scan(&keiyaku_certs::model::USER_CERTS, "")? {
                out.push_str(&format!("{k}={c};"));
            }
            out.push_str(&format!("revoked={};", tx.count(&keiyaku_certs::model::REVOKED, "")?));
            Ok::<_, keiyaku_kernel::StoreError>(out)
        })
        .await
        .expect("snapshot");
    short_digest(&format!("{base}{mine}"))
}

/// A page of the web UI as `user` (session cookie).
async fn page(app: &TestApp, user: &str, path: &str) -> (StatusCode, String) {
    let login = app.services().auth.login("HXOS2", user, DEMO_PASSWORD, None, keiyaku_auth::SessionKind::Web);
    let keiyaku_auth::Login::Session(s) = login.await.expect("web login") else {
        panic!("no authenticator in the demo")
    };
    let resp = app
        .client
        .get(app.url(path))
        .header("accept", "text/html")
        .header("cookie", format!("keiyaku_session={}", s.token))
        .send()
        .await
        .expect("page");
    (resp.status(), resp.text().await.unwrap_or_default())
}

#[tokio::test]
async fn an_outside_ca_certificate_is_imported_and_signs_a_contract_valid_for_both_roots() {
    if !tool("openssl") {
        return;
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let crl_url = format!("http://127.0.0.1:{}/ca.crl", listener.local_addr().expect("addr").port());
    let (outside, issuer) = outside_ca(&crl_url);
    let served: Served = Arc::new(std::sync::Mutex::new(outside.crl_der.clone()));
    let hits = serve_crl(listener, served.clone()).await;
    let dir = tempdir("import");
    let p12 = pkcs12(&dir, &outside.signer_key_pem, &outside.signer_pem, Some(&outside.ca_pem), P12_PASSWORD);

    let app = TestApp::demo().await;
    let admin = app.demo_token("HX000001").await;
    let holder = app.demo_token("HX000003").await;
    let registrant = app.demo_token("HX000002").await;
    let before = certs_snapshot(&app).await;

    // Refusals write nothing: a wrong password, junk, a missing PIN, and callers without
    // the right (the holder themself, a registrant).
    let (s, v) = import(
        &app,
        &admin,
        "HX000003",
        &[Part::File("file", "s.p12", &p12), Part::Text("password", "wrong"), Part::Text("pin", IMPORT_PIN)],
    )
    .await;
    assert_eq!((s, v["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("password_invalid")), "{v}");
    assert!(v["title"].as_str().is_some_and(|t| t.contains("パスワード")), "{v}");
    let (s, v) = import(
        &app,
        &admin,
        "HX000003",
        &[
            Part::File("file", "s.p12", b"not a pkcs12 file"),
            Part::Text("password", "x"),
            Part::Text("pin", IMPORT_PIN),
        ],
    )
    .await;
    assert_eq!((s, v["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("pkcs12_invalid")), "{v}");
    let (s, v) =
        import(&app, &admin, "HX000003", &[Part::File("file", "s.p12", &p12), Part::Text("password", P12_PASSWORD)])
            .await;
    assert_eq!((s, v["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("validation_failed")), "{v}");
    assert!(v.to_string().contains("\"pin\""), "{v}");
    let good = [Part::File("file", "s.p12", &p12), Part::Text("password", P12_PASSWORD), Part::Text("pin", IMPORT_PIN)];
    for token in [&holder, &registrant] {
        let (s, v) = import(&app, token, "HX000003", &good).await;
        assert_eq!((s, v["code"].as_str()), (StatusCode::FORBIDDEN, Some("forbidden")), "{v}");
    }
    assert_eq!(hits.load(Ordering::SeqCst), 0, "nothing was fetched for a refused import");
    // An RSA key: the signer cannot use it.
    let rsa = std::process::Command::new("openssl")
        .args(["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"])
        .output()
        .expect("openssl");
    if rsa.status.success() {
        let rsa_key = String::from_utf8_lossy(&rsa.stdout).to_string();
        let rsa_p12 = {
            let key = KeyPair::from_pem(&rsa_key).expect("rsa key");
            let cert = signer_params(&crl_url, &[0x52], vec![KeyUsagePurpose::DigitalSignature])
                .signed_by(&key, &issuer)
                .expect("rsa cert");
            pkcs12(&dir, &rsa_key, &cert.pem(), Some(&outside.ca_pem), P12_PASSWORD)
        };
        let (s, v) = import(
            &app,
            &admin,
            "HX000003",
            &[
                Part::File("file", "r.p12", &rsa_p12),
                Part::Text("password", P12_PASSWORD),
                Part::Text("pin", IMPORT_PIN),
            ],
        )
        .await;
        assert_eq!((s, v["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("key_unsupported")), "{v}");
    }
    // A P-384 key, a certificate for key agreement only, and one without its issuer.
    let p384 = KeyPair::generate_for(&PKCS_ECDSA_P384_SHA384).expect("key");
    let cert = signer_params(&crl_url, &[0x53], vec![KeyUsagePurpose::DigitalSignature]).signed_by(&p384, &issuer);
    let p384_p12 = pkcs12(&dir, &p384.serialize_pem(), &cert.expect("cert").pem(), None, P12_PASSWORD);
    let ka = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).expect("key");
    let cert = signer_params(&crl_url, &[0x54], vec![KeyUsagePurpose::KeyAgreement]).signed_by(&ka, &issuer);
    let ka_p12 = pkcs12(&dir, &ka.serialize_pem(), &cert.expect("cert").pem(), Some(&outside.ca_pem), P12_PASSWORD);
    let bare = pkcs12(&dir, &outside.signer_key_pem, &outside.signer_pem, None, P12_PASSWORD);
    for (file, code) in [(&p384_p12, "key_unsupported"), (&ka_p12, "key_usage_invalid"), (&bare, "chain_incomplete")] {
        let parts =
            [Part::File("file", "x.p12", file), Part::Text("password", P12_PASSWORD), Part::Text("pin", IMPORT_PIN)];
        let (s, v) = import(&app, &admin, "HX000003", &parts).await;
        assert_eq!((s, v["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some(code)), "{v}");
    }
    assert_eq!(certs_snapshot(&app).await, before, "refused imports wrote nothing");

    // The tenant administrator imports it: the CRL is fetched from the CDP at once.
    let (s, v) = import(&app, &admin, "HX000003", &good).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!((v["imported"].as_bool(), v["serial"].as_str()), (Some(true), Some("4B594B01")), "{v}");
    assert_eq!((v["status"].as_str(), v["user_id"].as_str()), (Some("active"), Some("HX000003")), "{v}");
    assert_eq!(v["crl_urls"], json!([crl_url]), "{v}");
    assert!(v["issuer"].as_str().is_some_and(|i| i.contains("Outside Trust Root CA")), "{v}");
    assert!(hits.load(Ordering::SeqCst) >= 1, "the CDP was asked");
    let (s, v) = app.get(&format!("{T}/users/HX000003/certificate"), Some(&holder)).await;
    assert_eq!((s, v["serial"].as_str()), (StatusCode::OK, Some("4B594B01")), "{v}");
    let (s, v) = app.post(&format!("{T}/users/HX000003/certificate/test"), Some(&holder), json!({})).await;
    assert_eq!((s, v["result"].as_str()), (StatusCode::OK, Some("ok")), "{v}");
    // The same certificate again: its serial is taken.
    let (s, v) = import(&app, &admin, "HX000003", &good).await;
    assert_eq!((s, v["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("certificate_exists")), "{v}");
    let audit = app
        .services()
        .kernel
        .store
        .read(|tx| {
            use keiyaku_kernel::store::Read;
            let entries = tx.scan(&keiyaku_kernel::audit::AUDIT, "")?;
            Ok::<_, keiyaku_kernel::StoreError>(
                entries.iter().filter(|(_, e)| format!("{e:?}").contains("certs.import")).count(),
            )
        })
        .await
        .expect("audit");
    assert_eq!(audit, 1, "one certs.import audit record");

    // HX000003 signs a signer-only contract with the PIN set at import.
    let mut body = contract_body("T-IMPORT-1", "2026-11-25", 10_000, "A15336");
    body["route"] = json!([{"party": "owner", "role": "signer"}]);
    let id = register(&app, &registrant, body).await["id"].as_str().expect("id").to_string();
    let (s, v) = act(&app, &holder, &id, "sign", json!({"pin": DEMO_PIN})).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "the demo PIN is not the imported certificate's: {v}");
    let (s, v) = act(&app, &holder, &id, "sign", json!({"pin": IMPORT_PIN})).await;
    assert_eq!((s, v["status"].as_str()), (StatusCode::OK, Some("completed")), "{v}");
    let (s, _, pdf) = download(&app, &registrant, &format!("{T}/contracts/{id}/documents/D1")).await;
    assert_eq!(s, StatusCode::OK);

    // keiyaku's verifier, trusting the outside root and the tenant CA (the TSA's).
    let (_, _, tenant_ca_pem) = download(&app, &registrant, &format!("{T}/ca/certificate")).await;
    let (_, _, tenant_ca_der) = download(&app, &registrant, &format!("{T}/ca/certificate?format=der")).await;
    let now = keiyaku_kernel::Clock::now(app.clock.as_ref());
    let report = keiyaku_pades::report(&pdf, &[outside.ca_der.clone(), tenant_ca_der.clone()], now).expect("report");
    let r = serde_json::to_value(&report).expect("json");
    let sig = &r["signatures"][0];
    assert_eq!((sig["intact"].as_bool(), sig["level"].as_str()), (Some(true), Some("B-LTA")), "{sig:#}");
    assert!(sig["trusted"].to_string().contains("Outside Trust Root CA"), "{sig:#}");
    // Without the outside root it is not trusted.
    let r =
        serde_json::to_value(keiyaku_pades::report(&pdf, std::slice::from_ref(&tenant_ca_der), now).expect("report"))
            .expect("json");
    assert_ne!(r["verdict"], "valid", "{r:#}");

    if tool("pyhanko") {
        let (file, a, b) = (dir.join("signed.pdf"), dir.join("outside.pem"), dir.join("tenant.pem"));
        std::fs::write(&file, &pdf).expect("write");
        std::fs::write(&a, &outside.ca_pem).expect("write");
        std::fs::write(&b, &tenant_ca_pem).expect("write");
        let both = format!("{},{}", a.display(), b.display());
        let (ok, out) = pyhanko_lta(&file, std::path::Path::new(&both), now);
        assert!(ok && out.contains("\"passed\": true"), "pyHanko trusts both roots: {out}");
        let (ok, out) = pyhanko_lta(&file, &b, now);
        assert!(!ok, "the tenant CA alone does not vouch for the outside signer: {out}");
    }

    // The CRL taken at import predates the signature's time-stamp, so keiyaku's verifier
    // cannot yet vouch for the revocation status (PAdES-LT wants younger data). A day
    // later the CA has published a new CRL: the hourly refresh keeps it, and archive
    // renewal puts it on file under a new document time-stamp — now valid for keiyaku too.
    assert_eq!(sig["revocation"]["status"], "unknown", "{sig:#}");
    app.clock.advance(jiff::SignedDuration::from_hours(24));
    *served.lock().expect("lock") = crl_of(&issuer, (2026, 11, 26), 43, &[&[0x77]]);
    let refreshed = app.services().certs.refresh_imported_crls().await.expect("refresh");
    assert_eq!(refreshed, 1);
    assert_eq!(app.services().certs.refresh_imported_crls().await.expect("refresh"), 0, "nothing newer");
    let run = app.services().contracts.renew_archives(3650, |_, _| {}).await.expect("renew");
    assert!(run.renewed >= 1 && run.failed == 0, "{run:?}");
    // (A day on, the sessions have ended.)
    let registrant = app.demo_token("HX000002").await;
    let (s, _, renewed) = download(&app, &registrant, &format!("{T}/contracts/{id}/documents/D1")).await;
    assert_eq!(s, StatusCode::OK);
    let now = keiyaku_kernel::Clock::now(app.clock.as_ref());
    let r = serde_json::to_value(
        keiyaku_pades::report(&renewed, &[outside.ca_der.clone(), tenant_ca_der.clone()], now).expect("report"),
    )
    .expect("json");
    assert_eq!(r["verdict"], "valid", "{r:#}");
    assert_eq!(r["signatures"][0]["revocation"]["source"], "crl", "{r:#}");
    if tool("pyhanko") {
        let (file, a, b) = (dir.join("renewed.pdf"), dir.join("outside.pem"), dir.join("tenant.pem"));
        std::fs::write(&file, &renewed).expect("write");
        let both = format!("{},{}", a.display(), b.display());
        let (ok, out) = pyhanko_lta(&file, std::path::Path::new(&both), now);
        assert!(ok && out.contains("\"passed\": true"), "pyHanko on the renewed file: {out}");
    }

    // The page: the import form for the administrator, not for the holder.
    let (s, html) = page(&app, "HX000001", "/t/HXOS2/certificates/users/HX000003").await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        html.contains(r#"id="cert-import""#)
            && html.contains(r#"enctype="multipart/form-data""#)
            && html.contains(r#"name="password""#)
            && html.contains(r#"name="revocation""#)
            && html.contains("証明書の取込み"),
        "{html}"
    );
    let (s, html) = page(&app, "HX000003", "/t/HXOS2/certificates/users/HX000003").await;
    assert_eq!(s, StatusCode::OK);
    assert!(!html.contains(r#"id="cert-import""#), "{html}");
    let _ = std::fs::remove_dir_all(&dir);
    app.stop().await;
}

#[tokio::test]
async fn an_uploaded_crl_stands_in_for_an_unreachable_distribution_point_and_a_listed_certificate_is_refused() {
    if !tool("openssl") {
        return;
    }
    // A CDP nobody answers (a port bound and closed again).
    let port = free_port();
    let crl_url = format!("http://127.0.0.1:{port}/ca.crl");
    let (outside, issuer) = outside_ca(&crl_url);
    let dir = tempdir("import-crl");
    let p12 = pkcs12(&dir, &outside.signer_key_pem, &outside.signer_pem, None, P12_PASSWORD);
    let app = TestApp::demo().await;
    let admin = app.demo_token("HX000001").await;
    let before = certs_snapshot(&app).await;
    let base = [Part::File("file", "s.p12", &p12), Part::Text("password", P12_PASSWORD), Part::Text("pin", IMPORT_PIN)];
    let ca_part = Part::File("chain", "ca.pem", outside.ca_pem.as_bytes());
    let (s, v) = import(&app, &admin, "HX000003", &[&base[..], &[ca_part]].concat()).await;
    assert_eq!((s, v["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("revocation_unavailable")), "{v}");
    // A CRL listing the certificate, and a file that is no CRL.
    let listing = crl_of(&issuer, (2026, 11, 24), 43, &[SIGNER_SERIAL]);
    for (crl, code) in [(listing.as_slice(), "certificate_revoked"), (&b"junk"[..], "crl_invalid")] {
        let parts = [&base[..], &[ca_part, Part::File("revocation", "ca.crl", crl)]].concat();
        let (s, v) = import(&app, &admin, "HX000003", &parts).await;
        assert_eq!((s, v["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some(code)), "{v}");
    }
    assert_eq!(certs_snapshot(&app).await, before, "refused imports wrote nothing");
    // Through the page (session, CSRF): a wrong password shows its message and writes
    // nothing; then the issuer's current CRL uploaded, the CA as a chain file: imported.
    let login = app.services().auth.login("HXOS2", "HX000001", DEMO_PASSWORD, None, keiyaku_auth::SessionKind::Web);
    let keiyaku_auth::Login::Session(web) = login.await.expect("web login") else { panic!("no authenticator") };
    let before = certs_snapshot(&app).await;
    let post = |parts: Vec<Part<'_>>| {
        let (ct, body) = multipart(&parts);
        app.client
            .post(app.url("/t/HXOS2/certificates/users/HX000003/import"))
            .header("cookie", format!("keiyaku_session={}", web.token))
            .header("content-type", ct)
            .body(body)
            .send()
    };
    let crl_part = Part::File("revocation", "ca.crl", &outside.crl_der);
    let wrong = [Part::Text("csrf", &web.csrf), Part::File("file", "s.p12", &p12), Part::Text("password", "nope")];
    let resp = post([&wrong[..], &[Part::Text("pin", IMPORT_PIN), ca_part, crl_part]].concat()).await.expect("post");
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(resp.text().await.unwrap_or_default().contains("PKCS#12ファイルのパスワードが正しくありません。"));
    let stale = [Part::Text("csrf", "not-the-token"), Part::File("file", "s.p12", &p12)];
    let resp = post([&stale[..], &[Part::Text("password", P12_PASSWORD), Part::Text("pin", IMPORT_PIN)]].concat());
    assert_eq!(resp.await.expect("post").status(), StatusCode::FORBIDDEN);
    assert_eq!(certs_snapshot(&app).await, before, "refused page imports wrote nothing");
    let good = [Part::Text("csrf", &web.csrf), Part::File("file", "s.p12", &p12), Part::Text("password", P12_PASSWORD)];
    let resp = post([&good[..], &[Part::Text("pin", IMPORT_PIN), ca_part, crl_part]].concat()).await.expect("post");
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let to = resp.headers().get("location").and_then(|l| l.to_str().ok()).unwrap_or_default().to_string();
    assert!(to.ends_with("/certificates/users/HX000003?done=imported"), "{to}");
    let holder = app.demo_token("HX000003").await;
    let (s, v) = app.get(&format!("{T}/users/HX000003/certificate"), Some(&holder)).await;
    assert_eq!(
        (s, v["imported"].as_bool(), v["serial"].as_str()),
        (StatusCode::OK, Some(true), Some("4B594B01")),
        "{v}"
    );
    let _ = std::fs::remove_dir_all(&dir);
    app.stop().await;
}
