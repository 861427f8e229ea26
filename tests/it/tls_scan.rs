//! testssl.sh against the real binary (`bench/testssl.sh`): TLS 1.2 and 1.3 only, no weak
//! cipher, no HIGH or CRITICAL finding. Skipped when testssl is not installed, except in CI
//! (`CI` set), where a missing scanner is a failure.

use std::path::Path;
use std::process::Command;

fn testssl_installed() -> bool {
    ["testssl", "testssl.sh"].iter().any(|name| {
        Command::new("sh").args(["-c", &format!("command -v {name}")]).output().is_ok_and(|o| o.status.success())
    })
}

#[test]
fn testssl_finds_nothing_weak() {
    if !testssl_installed() {
        assert!(std::env::var_os("CI").is_none(), "testssl is not installed (apt-get install testssl.sh)");
        eprintln!("skip: testssl is not installed (apt-get install testssl.sh)");
        return;
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out_dir = std::env::temp_dir().join(format!("keiyaku-testssl-{}", keiyaku_kernel::ids::new_id()));
    let out = Command::new("bash")
        .arg(root.join("bench/testssl.sh"))
        .arg(env!("CARGO_BIN_EXE_keiyaku"))
        .env("TESTSSL_OUT", &out_dir)
        .env_remove("KEIYAKU_CONFIG")
        .output()
        .expect("run bench/testssl.sh");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    // The summary is worth seeing in the test log either way.
    println!("{stdout}");
    assert!(out.status.success(), "testssl found problems (log in {}):\n{stdout}\n{stderr}", out_dir.display());
    assert!(stdout.contains("protocols offered: TLS1_2 TLS1_3"), "{stdout}");
    let _ = std::fs::remove_dir_all(&out_dir);
}
