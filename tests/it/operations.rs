//! Operations: backups while serving, restore, verify, and refusing to share a data
//! directory between two processes.

use crate::common::*;
use std::process::Command;

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_keiyaku"));
    c.env_remove("KEIYAKU_OPERATOR_PASSWORD").env("KEIYAKU_LOG", "warn");
    c
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
