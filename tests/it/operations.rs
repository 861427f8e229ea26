//! Operations: backups while serving, restore, verify, and refusing to share a data
//! directory between two processes.

use crate::common::*;
use std::process::Command;

fn bin() -> Command {
    keiyaku_command()
}

#[tokio::test]
async fn backup_while_serving_restores_and_verifies() {
    let app = TestApp::demo().await;
    let op = app.operator_token().await;
    app.create_tenant("DMOEX", "DM000001", "yamada@example.jp").await;

    // The data directory is in use: the offline commands say so instead of corrupting it.
    let out =
        bin().args(["backup", "--data"]).arg(&app.dir).arg("--to").arg(app.dir.join("x.tar")).output().expect("run");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("in use"), "{}", String::from_utf8_lossy(&out.stderr));

    // The operator downloads a consistent backup while the appliance serves.
    let resp = app.client.post(app.url("/api/v1/operator/backup")).bearer_auth(&op).send().await.expect("send");
    assert_eq!(resp.status(), 200);
    let bytes = resp.bytes().await.expect("body");
    let (s, _) = app.post("/api/v1/operator/backup", Some("forged"), serde_json::json!({})).await;
    assert_eq!(s, 401, "only the operator may take backups");
    let work = tempdir("ops");
    let archive = work.join("backup.tar");
    std::fs::write(&archive, &bytes).expect("write");

    let out = bin().args(["verify", "--backup"]).arg(&archive).output().expect("run");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    let restored = work.join("restored");
    let out = bin().args(["restore", "--from"]).arg(&archive).arg("--data").arg(&restored).output().expect("run");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
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
