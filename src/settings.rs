//! Loads the configuration: built-in defaults < `config.toml` < `KEIYAKU_*` environment
//! variables (`__` separates nested keys: `KEIYAKU_SERVER__LISTEN=0.0.0.0:8443`).

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use keiyaku_kernel::Config;
use std::path::Path;

/// Environment variables with the `KEIYAKU_` prefix that are not configuration keys.
const NOT_SETTINGS: [&str; 5] = ["operator_password", "demo_password", "config", "log", "log_format"];

/// Reads the configuration. `file` is used when given (and must exist); otherwise
/// `./config.toml` is read when present.
pub fn load(file: Option<&Path>) -> Result<Config, String> {
    let mut figment = Figment::from(Serialized::defaults(Config::default()));
    match file {
        Some(path) => {
            if !path.is_file() {
                return Err(format!("configuration file {} does not exist", path.display()));
            }
            figment = figment.merge(Toml::file_exact(path));
        }
        None => {
            if Path::new("config.toml").is_file() {
                figment = figment.merge(Toml::file_exact("config.toml"));
            }
        }
    }
    figment = figment.merge(
        Env::prefixed("KEIYAKU_")
            .filter(|k| !NOT_SETTINGS.contains(&k.as_str().to_ascii_lowercase().as_str()))
            .split("__"),
    );
    let mut config: Config = figment.extract().map_err(describe)?;
    if let Ok(pw) = std::env::var("KEIYAKU_DEMO_PASSWORD")
        && !pw.is_empty()
    {
        config.demo.password = pw;
    }
    check(&config)?;
    Ok(config)
}

/// [`load`], with the data directory given on the command line (when it is) in place of
/// `storage.data_dir`.
pub fn load_with_data(file: Option<&Path>, data: Option<std::path::PathBuf>) -> Result<Config, String> {
    let mut config = load(file)?;
    if let Some(d) = data {
        config.storage.data_dir = d;
    }
    Ok(config)
}

/// One line per problem, naming the key and what is allowed.
fn describe(err: figment::Error) -> String {
    err.into_iter()
        .map(|e| {
            let key = if e.path.is_empty() { String::from("(top level)") } else { e.path.join(".") };
            let source = e.metadata.as_ref().map(|m| format!(" (from {})", m.name)).unwrap_or_default();
            format!("configuration key `{key}`{source}: {}", e.kind)
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Rules serde cannot express.
pub fn check(c: &Config) -> Result<(), String> {
    let mut errs = Vec::new();
    if c.server.listen.parse::<std::net::SocketAddr>().is_err() {
        errs.push(format!(
            "configuration key `server.listen`: `{}` is not an address like 127.0.0.1:8443",
            c.server.listen
        ));
    }
    if let Some(r) = &c.server.http_redirect_listen
        && r.parse::<std::net::SocketAddr>().is_err()
    {
        errs.push(format!(
            "configuration key `server.http_redirect_listen`: `{r}` is not an address like 127.0.0.1:8080"
        ));
    }
    if c.server.tls_cert.is_some() != c.server.tls_key.is_some() {
        errs.push("configuration keys `server.tls_cert` and `server.tls_key` must be given together".into());
    }
    if !c.server.public_url.is_empty()
        && !c.server.public_url.starts_with("https://")
        && !c.server.public_url.starts_with("http://")
    {
        errs.push("configuration key `server.public_url`: must start with https://".into());
    }
    if let Some(u) = &c.contracts.tsa_url
        && !(u.starts_with("https://") || u.starts_with("http://"))
    {
        errs.push(format!("configuration key `contracts.tsa_url`: `{u}` must start with https:// or http://"));
    }
    if c.contracts.tsa_password.is_some() && c.contracts.tsa_username.is_none() {
        errs.push("configuration key `contracts.tsa_password` needs `contracts.tsa_username`".into());
    }
    if c.server.max_body_bytes < 1024 {
        errs.push("configuration key `server.max_body_bytes`: must be at least 1024".into());
    }
    if c.auth.password_min_length < 8 || c.auth.password_min_length > 128 {
        errs.push("configuration key `auth.password_min_length`: must be between 8 and 128".into());
    }
    if c.auth.lockout_minutes == 0 || c.auth.session_idle_minutes == 0 || c.auth.session_absolute_hours == 0 {
        errs.push("configuration keys `auth.lockout_minutes`, `auth.session_idle_minutes` and `auth.session_absolute_hours` must be positive".into());
    }
    if c.mail.from.parse::<lettre::message::Mailbox>().is_err() {
        errs.push(format!("configuration key `mail.from`: `{}` is not a mail address", c.mail.from));
    }
    if let Err(e) = keiyaku_web::api::http::TrustedProxies::parse(&c.server.trusted_proxies) {
        errs.push(format!("configuration key `server.trusted_proxies`: {e}"));
    }
    if c.demo.password.len() < 8 {
        errs.push("configuration key `demo.password`: must have at least 8 characters".into());
    }
    if c.demo.pin.len() != 12 || !c.demo.pin.bytes().all(|b| b.is_ascii_digit()) {
        errs.push("configuration key `demo.pin`: must be 12 digits (a certificate PIN)".into());
    }
    if errs.is_empty() { Ok(()) } else { Err(errs.join("\n")) }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// config.toml documents every key with its default, and nothing else.
    #[test]
    fn config_toml_documents_every_key() {
        let text = include_str!("../config.toml");
        let mut documented = std::collections::BTreeSet::new();
        let mut section = String::new();
        for line in text.lines() {
            if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
                section = name.to_string();
            } else if let Some(rest) = line.strip_prefix("# ")
                && let Some((key, _)) = rest.split_once(" = ")
                && key.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
            {
                documented.insert(format!("{section}.{key}"));
            }
        }
        let defaults = serde_json::to_value(Config::default()).unwrap_or_default();
        let mut known = std::collections::BTreeSet::new();
        for (section, keys) in defaults.as_object().into_iter().flatten() {
            for key in keys.as_object().into_iter().flatten().map(|(k, _)| k) {
                known.insert(format!("{section}.{key}"));
            }
        }
        assert_eq!(documented, known);
        // Uncommenting the documented defaults gives the built-in defaults.
        let uncommented: String = text
            .lines()
            .map(|l| match l.strip_prefix("# ") {
                Some(rest)
                    if rest.split_once(" = ").is_some_and(|(k, _)| {
                        k.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
                    }) && !rest.contains("tls_")
                        && !rest.contains("http_redirect")
                        && !rest.contains("smtp_url")
                        && !rest.contains("release_tickets")
                        && !rest.starts_with("tsa_url")
                        && !rest.starts_with("tsa_username")
                        && !rest.starts_with("tsa_password")
                        && !rest.starts_with("dir =") =>
                {
                    rest
                }
                _ if l.starts_with('#') => "",
                _ => l,
            })
            .collect::<Vec<_>>()
            .join("\n");
        let parsed: Config =
            figment::Figment::from(Toml::string(&uncommented)).extract().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(serde_json::to_value(parsed).ok(), serde_json::to_value(Config::default()).ok());
    }

    #[test]
    fn an_outside_tsa_needs_an_http_url_and_a_user_for_its_password() {
        let mut c = Config::default();
        c.contracts.tsa_url = Some("ftp://tsa.example.jp".into());
        c.contracts.tsa_password = Some("secret".into());
        let e = check(&c).unwrap_err();
        assert!(e.contains("`contracts.tsa_url`") && e.contains("`contracts.tsa_password`"), "{e}");
        c.contracts.tsa_url = Some("https://tsa.example.jp/tsp".into());
        c.contracts.tsa_username = Some("keiyaku".into());
        assert!(check(&c).is_ok());
    }

    #[test]
    fn defaults_are_valid() {
        assert!(check(&Config::default()).is_ok());
    }

    #[test]
    fn the_demo_pin_is_a_certificate_pin() {
        let mut c = Config::default();
        assert_eq!(c.demo.pin, "123456789012");
        c.demo.pin = "1234".into();
        assert!(check(&c).is_err_and(|e| e.contains("demo.pin")));
    }

    #[test]
    fn unknown_keys_and_bad_values_name_the_key() {
        let dir = std::env::temp_dir().join(format!("keiyaku-cfg-{}", keiyaku_kernel::ids::new_id()));
        let _ = std::fs::create_dir_all(&dir);
        let file = dir.join("c.toml");
        let _ = std::fs::write(&file, "[server]\nlisten = \"127.0.0.1:9443\"\nlistn = 1\n");
        let err = load(Some(&file)).err().unwrap_or_default();
        assert!(err.contains("listn"), "{err}");
        let _ = std::fs::write(&file, "[auth]\nlockout_threshold = \"five\"\n");
        let err = load(Some(&file)).err().unwrap_or_default();
        assert!(err.contains("auth.lockout_threshold"), "{err}");
        let _ = std::fs::write(&file, "[auth]\nrequire_totp_for = [\"signer\", \"chief\"]\n");
        let err = load(Some(&file)).err().unwrap_or_default();
        assert!(err.contains("auth.require_totp_for"), "{err}");
        let _ = std::fs::write(&file, "[server]\nlisten = \"nowhere\"\n");
        let err = load(Some(&file)).err().unwrap_or_default();
        assert!(err.contains("server.listen"), "{err}");
        let _ = std::fs::write(&file, "[server]\nlisten = \"127.0.0.1:9443\"\n");
        assert_eq!(load(Some(&file)).map(|c| c.server.listen).ok().as_deref(), Some("127.0.0.1:9443"));
        assert!(load(Some(&dir.join("missing.toml"))).is_err());
    }
}
