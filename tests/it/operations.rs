//! Operations: backups while serving, restore, verify, and refusing to share a data
//! directory between two processes.

use crate::common::*;
use std::process::Command;

fn bin() -> Command {
    keiyaku_command()
}

/// The permission bits of a file.
fn mode(path: &std::path::Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .map(|m| m.permissions().mode() & 0o777)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

// The server runs in this process: the blocking `keiyaku backup` call needs a second thread.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backup_while_serving_restores_and_verifies() {
    let app = TestApp::demo().await;
    let op = app.operator_token().await;
    app.create_tenant("DMOEX", "DM000001", "yamada@example.jp").await;

    // `keiyaku backup` while serving: the server takes the snapshot (control socket), the
    // command writes and checks the archive; the request is audited.
    let cli_archive = app.dir.join("cli.tar");
    let out = bin().args(["backup", "--data"]).arg(&app.dir).arg("--to").arg(&cli_archive).output().expect("run");
    let said = String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success() && said.contains("by the running server"), "{said}");
    // The archive holds certs-kek and the database: owner-only, like the database itself.
    assert_eq!(mode(&cli_archive), 0o600, "the control-socket backup");
    assert_eq!(mode(&app.dir.join("keiyaku.redb")), 0o600, "the database");
    let out = bin().args(["verify", "--backup"]).arg(&cli_archive).output().expect("run");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let audited = app
        .services()
        .kernel
        .store
        .read(|tx| keiyaku_kernel::audit::recent(tx, 1000))
        .await
        .map(|records| records.iter().any(|r| r.action == "backup.local"));
    assert_eq!(audited.ok(), Some(true), "the control-socket backup is audited");
    // Anything but `backup` on the socket is refused with an error line, nothing written.
    {
        use std::io::{Read, Write};
        let mut s = std::os::unix::net::UnixStream::connect(app.dir.join("control.sock")).expect("socket");
        s.write_all(b"restore everything\n").expect("write");
        let mut answer = String::new();
        s.read_to_string(&mut answer).expect("read");
        assert!(answer.starts_with("error unknown request"), "{answer}");
    }

    // The operator downloads a consistent backup while the appliance serves.
    let resp = app.client.post(app.url("/api/v1/operator/backup")).bearer_auth(&op).send().await.expect("send");
    assert_eq!(resp.status(), 200);
    let bytes = resp.bytes().await.expect("body");
    let (s, _) = app.post("/api/v1/operator/backup", Some("forged"), serde_json::json!({})).await;
    assert_eq!(s, 401, "only the operator may take backups");
    // The download is audited with its size.
    let downloads = app
        .services()
        .kernel
        .store
        .read(|tx| keiyaku_kernel::audit::recent(tx, 1000))
        .await
        .expect("audit")
        .into_iter()
        .filter(|r| r.action == "backup.download")
        .map(|r| r.detail["bytes"].as_u64())
        .collect::<Vec<_>>();
    assert_eq!(downloads, [Some(bytes.len() as u64)], "one audited download of exactly what was sent");
    let work = tempdir("ops");
    let archive = work.join("backup.tar");
    std::fs::write(&archive, &bytes).expect("write");

    let out = bin().args(["verify", "--backup"]).arg(&archive).output().expect("run");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    let restored = work.join("restored");
    let out = bin().args(["restore", "--from"]).arg(&archive).arg("--data").arg(&restored).output().expect("run");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let secrets: &[&str] = if cfg!(feature = "certs") { &["keiyaku.redb", "certs-kek"] } else { &["keiyaku.redb"] };
    for name in secrets {
        assert_eq!(mode(&restored.join(name)), 0o600, "restored {name}");
    }
    let out = bin().args(["restore", "--from"]).arg(&archive).arg("--data").arg(&restored).output().expect("run");
    assert!(!out.status.success(), "a non-empty data dir is not overwritten without --force");
    let out = bin().args(["verify", "--data"]).arg(&restored).current_dir(&work).output().expect("run");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("OK"));

    // A damaged archive is refused and writes nothing.
    let mut damaged = bytes.to_vec();
    let mid = damaged.len() / 2;
    damaged[mid] ^= 0x55;
    std::fs::write(work.join("damaged.tar"), &damaged).expect("write");
    let empty = work.join("empty");
    let out = bin()
        .args(["restore", "--from"])
        .arg(work.join("damaged.tar"))
        .arg("--data")
        .arg(&empty)
        .output()
        .expect("run");
    assert!(!out.status.success());
    assert!(!empty.join("keiyaku.redb").exists());
    app.stop().await;

    // The restored directory serves the same tenants and users.
    let mut config = keiyaku_kernel::Config::default();
    config.storage.data_dir = restored.clone();
    config.server.listen = "127.0.0.1:0".into();
    let again = TestApp::open(config, restored).await;
    let (s, _) = again.login("HXOS2", "A1533601", DEMO_PASSWORD).await;
    assert_eq!(s, 200);
    let tenants = again.get("/api/v1/operator/tenants", Some(&again.operator_token().await)).await.1;
    assert_eq!(tenants["total"], 2);
    again.stop().await;
}

/// TLS: nothing below TLS 1.2, and no weak ciphers. (The server runs in this process: the
/// blocking `openssl` calls need a second runtime thread.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_refuses_old_protocols_and_weak_ciphers() {
    let app = TestApp::start().await;
    let port = app.base.rsplit(':').next().unwrap_or_default().to_string();
    let connect = format!("127.0.0.1:{port}");
    let try_tls = |args: &[&str]| {
        let out = std::process::Command::new("openssl")
            .args(["s_client", "-connect", &connect, "-servername", "localhost"])
            .args(args)
            .stdin(std::process::Stdio::null())
            .output();
        match out {
            Ok(o) => {
                let text = String::from_utf8_lossy(&o.stdout).to_string();
                o.status.success() && !text.contains("Cipher is (NONE)") && !text.contains("Cipher    : 0000")
            }
            Err(_) => panic!("openssl is needed for this test"),
        }
    };
    assert!(try_tls(&["-tls1_3"]), "TLS 1.3 works");
    assert!(try_tls(&["-tls1_2"]), "TLS 1.2 works");
    assert!(!try_tls(&["-tls1_1"]), "TLS 1.1 is refused");
    assert!(!try_tls(&["-tls1"]), "TLS 1.0 is refused");
    for weak in ["RC4-SHA", "DES-CBC3-SHA", "AES128-SHA", "ECDHE-RSA-AES128-SHA", "NULL-SHA"] {
        assert!(!try_tls(&["-tls1_2", "-cipher", weak]), "{weak} is refused");
    }
    app.stop().await;
}

/// The certificate the server presents on a new connection (PEM), read with openssl.
fn served_certificate(port: &str) -> String {
    let out = Command::new("openssl")
        .args(["s_client", "-connect", &format!("127.0.0.1:{port}"), "-servername", "localhost"])
        .stdin(std::process::Stdio::null())
        .output()
        .expect("openssl s_client");
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let start = text.find("-----BEGIN CERTIFICATE-----").expect("a certificate was served");
    let end = text.find("-----END CERTIFICATE-----").expect("certificate end") + "-----END CERTIFICATE-----".len();
    format!("{}\n", &text[start..end])
}

fn openssl(args: &[&str]) -> (bool, String) {
    let out = Command::new("openssl").args(args).output().expect("openssl");
    (out.status.success(), format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
}

/// keiyaku's local CA: clients trust `ca.pem` (the test client trusts nothing else), the
/// server certificate is short-lived and names its CRL, the CRL is signed by the CA, and a
/// renewal while serving is used from the next handshake with the old serial on the CRL.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_tls_ca_renews_while_serving_and_publishes_its_crl() {
    let app = TestApp::start().await;
    let port = app.base.rsplit(':').next().unwrap_or_default().to_string();
    let tls = app.dir.join("tls");
    let ca_file = tls.join("ca.pem").to_string_lossy().to_string();

    // /tls/ca.pem is the file clients install.
    let r = app.client.get(app.url("/tls/ca.pem")).send().await.expect("ca.pem");
    assert_eq!(r.status(), 200);
    assert_eq!(r.text().await.unwrap_or_default(), app.cert_pem);

    // The served certificate: issued by the CA, 397 days, a server certificate with a CRL URL.
    let first = served_certificate(&port);
    let first_file = app.dir.join("first.pem");
    std::fs::write(&first_file, &first).expect("write");
    let first_path = first_file.to_string_lossy().to_string();
    assert_eq!(std::fs::read_to_string(tls.join("cert.pem")).ok().as_deref(), Some(first.as_str()));
    let (ok, text) = openssl(&["verify", "-CAfile", &ca_file, "-purpose", "sslserver", &first_path]);
    assert!(ok, "{text}");
    let (_, text) = openssl(&["x509", "-in", &first_path, "-noout", "-text", "-serial", "-dates"]);
    assert!(text.contains("URI:https://localhost/tls/crl"), "{text}");
    assert!(text.contains("TLS Web Server Authentication") && text.contains("CA:FALSE"), "{text}");
    assert!(
        text.contains("notBefore=Nov 25 00:00:00 2026") && text.contains("notAfter=Dec 27 01:00:00 2027"),
        "{text}"
    );
    let old_serial = text.lines().find_map(|l| l.strip_prefix("serial=")).expect("serial").to_string();

    // The CRL verifies against the CA and lists nothing yet.
    let crl_file = app.dir.join("crl.der");
    let crl_path = crl_file.to_string_lossy().to_string();
    let fetch_crl = || async {
        let r = app.client.get(app.url("/tls/crl")).send().await.expect("crl");
        assert_eq!(r.status(), 200);
        assert_eq!(r.headers().get("content-type").and_then(|v| v.to_str().ok()), Some("application/pkix-crl"));
        std::fs::write(&crl_file, r.bytes().await.expect("crl body")).expect("write");
        let (ok, text) = openssl(&["crl", "-inform", "DER", "-in", &crl_path, "-CAfile", &ca_file, "-noout", "-text"]);
        assert!(ok && text.contains("verify OK"), "{text}");
        text
    };
    assert!(fetch_crl().await.contains("No Revoked Certificates"));

    // Not due: nothing changes.
    assert_eq!(app.running().renew_tls(), Ok(false));
    // 370 days on: renewed; the next handshake gets the new certificate, the CRL the old serial.
    app.clock.advance(jiff::SignedDuration::from_hours(370 * 24));
    assert_eq!(app.running().renew_tls(), Ok(true));
    let second = served_certificate(&port);
    assert_ne!(second, first);
    std::fs::write(&first_file, &second).expect("write");
    let (ok, text) = openssl(&["verify", "-CAfile", &ca_file, "-attime", "1830000000", &first_path]);
    assert!(ok, "{text}");
    let crl = fetch_crl().await;
    assert!(crl.contains(&format!("Serial Number: {old_serial}")) && crl.contains("Superseded"), "{crl}");
    // The client that trusts only the CA still connects.
    let (status, _) = app.get("/healthz", None).await;
    assert_eq!(status, 200);
    app.stop().await;
}
