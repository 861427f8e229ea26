//! Loads the configuration: built-in defaults < `config.toml` < `KEIYAKU_*` environment
//! variables (`__` separates nested keys: `KEIYAKU_SERVER__LISTEN=0.0.0.0:8443`).
//!
//! The document is the kernel's sections and one section per compiled-in module
//! ([`crate::registry::sections`]), each read from the same figment and checked by its owner.

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use keiyaku_kernel::Config;
use keiyaku_kernel::config::Section;
use std::path::Path;
use std::sync::OnceLock;

/// Environment variables with the `KEIYAKU_` prefix that are not configuration keys.
const NOT_SETTINGS: [&str; 5] = ["operator_password", "demo_password", "config", "log", "log_format"];

/// A compiled-in module's section, behind its type: how the settings read, check and show it.
pub struct SectionEntry {
    pub name: &'static str,
    defaults: fn(Figment) -> Figment,
    read: fn(&Figment, &mut Config) -> Result<(), String>,
    check: fn(&Config) -> Result<(), String>,
    show: fn(&Config) -> serde_json::Value,
}

/// The entry of section `S`.
pub fn section<S: Section>() -> SectionEntry {
    SectionEntry {
        name: S::NAME,
        defaults: |f| f.merge(Serialized::default(S::NAME, S::default())),
        read: |f, c| {
            c.set_section(f.extract_inner::<S>(S::NAME).map_err(|e| describe(in_section(e, S::NAME)))?);
            Ok(())
        },
        check: |c| c.section::<S>().check(),
        show: |c| serde_json::to_value(c.section::<S>()).unwrap_or_default(),
    }
}

/// `e` with the paths of its errors starting at `name` (figment appends the key given to
/// `extract_inner` to the path of an error inside it).
fn in_section(e: figment::Error, name: &str) -> figment::Error {
    let mut errs = e.into_iter().map(|mut e| {
        if e.path.last().is_some_and(|k| k == name) {
            e.path.pop();
        }
        e.path.insert(0, name.to_string());
        e
    });
    let first = errs.next().unwrap_or_else(|| figment::Error::from(format!("section `{name}`")));
    errs.fold(first, |all, e| e.chain(all))
}

/// Reads the configuration. `file` is used when given (and must exist); otherwise
/// `./config.toml` is read when present.
pub fn load(file: Option<&Path>) -> Result<Config, String> {
    let mut figment = defaults();
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
    let mut config = extract(&figment)?;
    if let Ok(pw) = std::env::var("KEIYAKU_DEMO_PASSWORD")
        && !pw.is_empty()
    {
        config.demo.password = pw;
    }
    check(&config)?;
    Ok(config)
}

/// The built-in defaults of the kernel and of every compiled-in module.
fn defaults() -> Figment {
    crate::registry::sections()
        .iter()
        .fold(Figment::from(Serialized::defaults(Config::default())), |f, s| (s.defaults)(f))
}

/// The kernel's part and each module's section, every problem named by its key.
fn extract(figment: &Figment) -> Result<Config, String> {
    // A file that does not parse is one error, not one per section.
    let top: figment::value::Dict = figment.extract().map_err(describe)?;
    let sections = crate::registry::sections();
    let mut errs: Vec<String> = unknown_keys(figment, &top, &sections).map(describe).into_iter().collect();
    let mut config = Config::default();
    match figment.extract::<Config>() {
        Ok(c) => config = c,
        Err(e) => errs.push(describe(e)),
    }
    for s in &sections {
        if let Err(e) = (s.read)(figment, &mut config) {
            errs.push(e);
        }
    }
    if errs.is_empty() { Ok(config) } else { Err(errs.join("\n")) }
}

/// Top-level keys that are neither the kernel's sections, nor a compiled-in module's, nor
/// those of a module this build leaves out (accepted and unread, so one `config.toml` serves
/// every build).
fn unknown_keys(figment: &Figment, top: &figment::value::Dict, sections: &[SectionEntry]) -> Option<figment::Error> {
    static EXPECTED: OnceLock<&'static [&'static str]> = OnceLock::new();
    let expected = *EXPECTED.get_or_init(|| {
        let kernel = serde_json::to_value(Config::default()).unwrap_or_default();
        let mut names: Vec<&'static str> =
            kernel.as_object().into_iter().flatten().map(|(k, _)| &*Box::leak(k.clone().into_boxed_str())).collect();
        names.extend(sections.iter().map(|s| s.name));
        names.extend(crate::registry::ABSENT_SECTIONS);
        Box::leak(names.into_boxed_slice())
    });
    let mut errs: Option<figment::Error> = None;
    for key in top.keys().filter(|k| !expected.contains(&k.as_str())) {
        let mut e = figment::Error::from(figment::error::Kind::UnknownField(key.clone(), expected));
        e.path = vec![key.clone()];
        e.metadata = figment.find_metadata(key).cloned();
        errs = Some(match errs {
            Some(prev) => prev.chain(e),
            None => e,
        });
    }
    errs
}

/// The whole document: the kernel's sections and each compiled-in module's.
pub fn document(config: &Config) -> serde_json::Value {
    let mut doc = serde_json::to_value(config).unwrap_or_default();
    if let Some(map) = doc.as_object_mut() {
        for s in crate::registry::sections() {
            map.insert(s.name.to_string(), (s.show)(config));
        }
    }
    doc
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

/// Rules serde cannot express: the kernel's, then each compiled-in module's [`Section::check`].
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
    if c.server.max_body_bytes < 1024 {
        errs.push("configuration key `server.max_body_bytes`: must be at least 1024".into());
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
    errs.extend(crate::registry::sections().iter().filter_map(|s| (s.check)(c).err()));
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
                // The sections of modules this build leaves out are documented, not read.
                if !crate::registry::ABSENT_SECTIONS.contains(&section.as_str()) {
                    documented.insert(format!("{section}.{key}"));
                }
            }
        }
        let defaults = document(&Config::default());
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
        let parsed = extract(&Figment::from(Toml::string(&uncommented))).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(document(&parsed), document(&Config::default()));
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
        // Each section's problems are named, the kernel's and every module's.
        let _ = std::fs::write(&file, "[certs]\nprice_1y = \"x\"\n[server]\nmax_body_bytes = -1\n");
        if !crate::registry::ABSENT_SECTIONS.contains(&"certs") {
            let err = load(Some(&file)).err().unwrap_or_default();
            assert!(
                err.contains("`certs.price_1y` (from TOML file)") && err.contains("`server.max_body_bytes`"),
                "{err}"
            );
        }
        let _ = std::fs::write(&file, "[sever]\nlisten = \"127.0.0.1:9443\"\n");
        let err = load(Some(&file)).err().unwrap_or_default();
        assert!(err.starts_with("configuration key `sever` (from TOML file): unknown field: found `sever`"), "{err}");
        let _ = std::fs::write(&file, "[server]\nlisten = \"nowhere\"\n");
        let err = load(Some(&file)).err().unwrap_or_default();
        assert!(err.contains("server.listen"), "{err}");
        let _ = std::fs::write(&file, "[server]\nlisten = \"127.0.0.1:9443\"\n");
        assert_eq!(load(Some(&file)).map(|c| c.server.listen).ok().as_deref(), Some("127.0.0.1:9443"));
        assert!(load(Some(&dir.join("missing.toml"))).is_err());
    }
}
