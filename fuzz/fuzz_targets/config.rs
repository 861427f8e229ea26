//! The configuration file on arbitrary text, read the way the binary reads it:
//! `keiyaku::settings::load` (built-in defaults < config.toml < `KEIYAKU_*`, then the rules
//! serde cannot express) on a file holding the input, then what start-up derives from it.
//! Property: a configuration or a readable error message, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::path::PathBuf;
use std::sync::OnceLock;

fn file() -> &'static PathBuf {
    static FILE: OnceLock<PathBuf> = OnceLock::new();
    FILE.get_or_init(|| std::env::temp_dir().join(format!("keiyaku-fuzz-config-{}.toml", std::process::id())))
}

fuzz_target!(|text: &str| {
    let path = file();
    if std::fs::write(path, text).is_err() {
        return;
    }
    match keiyaku::settings::load(Some(path)) {
        Ok(config) => {
            assert!(keiyaku::settings::check(&config).is_ok(), "a loaded configuration passes its checks");
            let _ = config.server.public_base_url();
            let _ = config.mail.smtp_enabled();
        }
        Err(message) => assert!(!message.is_empty(), "every refusal says why"),
    }
});
