//! The real `keiyaku` binary: start-up on an empty data directory, HTTPS, restart reusing
//! the certificate and data, SIGTERM, configuration errors and the printed OpenAPI document.

use crate::common::*;
use std::process::Command;
use std::time::{Duration, Instant};

fn bin() -> Command {
    keiyaku_command()
}

#[tokio::test]
async fn serve_on_empty_data_dir_then_restart_reuses_everything() {
    let data = tempdir("bin");
    let port = free_port();
    let started = Instant::now();
    let server = serve(&data, port, &[]);
    let text = server.stdout.join("\n");
    assert!(text.contains("operator account created"), "{text}");
    let cert = std::fs::read_to_string(data.join("tls/ca.pem")).expect("local CA kept in the data dir");
    let leaf = std::fs::read_to_string(data.join("tls/cert.pem")).expect("server certificate kept in the data dir");
    assert!(data.join("keiyaku.redb").is_file());
    let client = client_for(&cert);
    let mut healthy = false;
    while started.elapsed() < Duration::from_secs(20) {
        if let Ok(r) = client.get(format!("https://127.0.0.1:{port}/healthz")).send().await {
            let v: serde_json::Value = r.json().await.unwrap_or_default();
            assert_eq!(v["status"], "ok");
            healthy = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(healthy, "no /healthz answer");
    // The operator password printed once works.
    let pw = text
        .lines()
        .find_map(|l| l.split("password: ").nth(1))
        .map(|p| p.trim().to_string())
        .expect("printed password");
    let r = client
        .post(format!("https://127.0.0.1:{port}/api/v1/operator/login"))
        .json(&serde_json::json!({"password": pw}))
        .send()
        .await
        .expect("login");
    assert_eq!(r.status(), 200);
    // Plain HTTP on the TLS port is not served.
    let plain = reqwest::Client::new().get(format!("http://127.0.0.1:{port}/healthz")).send().await;
    assert!(plain.map(|r| !r.status().is_success()).unwrap_or(true));

    // SIGTERM stops it cleanly.
    let mut server = server;
    let status = server.terminate();
    assert!(status.is_some_and(|s| s.success()), "exit after SIGTERM: {status:?}");
    drop(server);

    // Restart: same certificate, same operator, no new password printed.
    let server = serve(&data, port, &[]);
    let text = server.stdout.join("\n");
    assert!(!text.contains("operator account created"), "{text}");
    assert!(text.contains("reused"), "{text}");
    let cert2 = std::fs::read_to_string(data.join("tls/ca.pem")).expect("cert");
    assert_eq!(cert, cert2);
    assert_eq!(std::fs::read_to_string(data.join("tls/cert.pem")).ok().as_deref(), Some(leaf.as_str()));
    let client = client_for(&cert2);
    let mut ok = false;
    for _ in 0..200 {
        if let Ok(r) = client
            .post(format!("https://127.0.0.1:{port}/api/v1/operator/login"))
            .json(&serde_json::json!({"password": pw}))
            .send()
            .await
        {
            ok = r.status() == 200;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(ok, "the same operator password works after restart");
}

#[test]
fn bad_configuration_stops_start_up_with_the_key_named() {
    let data = tempdir("badcfg");
    let cfg = data.join("config.toml");
    std::fs::write(&cfg, "[server]\nlisten = \"127.0.0.1:1\"\nlisten_typo = true\n").expect("write");
    let out = bin().args(["serve", "--config"]).arg(&cfg).arg("--data").arg(&data).output().expect("run");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("listen_typo"), "{err}");

    std::fs::write(&cfg, "[auth]\nlockout_minutes = -3\n").expect("write");
    let out = bin().args(["serve", "--config"]).arg(&cfg).arg("--data").arg(&data).output().expect("run");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("auth.lockout_minutes"));

    std::fs::remove_file(&cfg).expect("remove");
    let out = bin()
        .args(["serve", "--data"])
        .arg(&data)
        .current_dir(&data)
        .env("KEIYAKU_SERVER__LISTEN", "not-an-address")
        .output()
        .expect("run");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("server.listen"));

    let out = bin().args(["serve", "--config", "/nonexistent/keiyaku.toml"]).output().expect("run");
    assert!(!out.status.success());
}

#[test]
fn openapi_and_version_commands() {
    let out = bin().arg("openapi").output().expect("run");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert!(doc["openapi"].as_str().unwrap_or_default().starts_with("3."));
    assert!(doc["paths"]["/api/v1/operator/tenants"]["post"]["operationId"] == "createTenant");
    // The committed document describes the default build (every module).
    if cfg!(all(feature = "auth", feature = "users", feature = "certs", feature = "support")) {
        let committed = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/openapi.json"))
            .expect("committed openapi.json");
        let committed: serde_json::Value = serde_json::from_str(&committed).expect("json");
        assert!(committed == doc, "openapi.json is out of date: run `cargo run -- openapi > openapi.json`");
    }

    let out = bin().arg("--version").output().expect("run");
    assert!(String::from_utf8_lossy(&out.stdout).contains(env!("CARGO_PKG_VERSION")));
}

#[test]
fn tenant_create_command() {
    let data = tempdir("cli");
    let out = bin()
        .args(["tenant", "create", "--data"])
        .arg(&data)
        .args([
            "--code",
            "DMOEX",
            "--company",
            "デモ建設株式会社",
            "--admin-id",
            "DM000001",
            "--admin-name",
            "山田 花子",
            "--admin-email",
            "yamada@example.jp",
        ])
        .current_dir(&data)
        .output()
        .expect("run");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let out = bin().args(["tenant", "list", "--data"]).arg(&data).current_dir(&data).output().expect("run");
    assert!(String::from_utf8_lossy(&out.stdout).contains("DMOEX"));
    let out = bin()
        .args(["tenant", "create", "--data"])
        .arg(&data)
        .args(["--code", "bad code", "--company", "x", "--admin-id", "a", "--admin-name", "a", "--admin-email", "bad"])
        .current_dir(&data)
        .output()
        .expect("run");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("code"));
}
