//! The kernel's settings, with their defaults, and the store of the modules' sections. Loaded
//! by the binary with figment: built-in defaults < `config.toml` < `KEIYAKU_*` environment
//! variables (nested keys with `__`, e.g. `KEIYAKU_SERVER__LISTEN`). Unknown keys are refused.
//!
//! A module owns its section (`[auth]`, `[certs]`, …): a type implementing [`Section`] in its
//! crate, with its defaults, documentation and [`Section::check`]. The binary reads each
//! compiled-in module's section into [`Config`]; a module reads it with [`Config::section`].

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Mutex, OnceLock};

/// The kernel's sections, and the modules' sections read at load ([`Config::section`]).
/// Top-level keys are checked by the binary, which knows the modules' section names.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Config {
    pub server: ServerConfig,
    pub limits: LimitsConfig,
    pub storage: StorageConfig,
    pub mail: MailConfig,
    pub calendar: CalendarConfig,
    pub backup: BackupConfig,
    pub demo: DemoConfig,
    /// The modules' sections, by type.
    #[serde(skip)]
    sections: Sections,
}

/// A module's section of the settings: the table `[NAME]` of `config.toml`, and the
/// `KEIYAKU_NAME__…` variables.
pub trait Section: Default + DeserializeOwned + Serialize + Clone + std::fmt::Debug + Send + Sync + 'static {
    /// The section's key.
    const NAME: &'static str;

    /// Rules serde cannot express, one line per problem naming the key
    /// (`configuration key `NAME.key`: …`).
    fn check(&self) -> Result<(), String> {
        Ok(())
    }
}

/// The enterprise code of the demo tenant (`serve --demo`).
pub const DEMO_TENANT: &str = "HXOS2";

impl Config {
    /// What `serve --demo` turns on in the kernel: the demo data and the public mailbox (of
    /// the demo tenant only). `registry::enable_demo` adds what the modules change.
    pub fn enable_demo(&mut self) {
        self.demo.enabled = true;
        self.mail.mailbox_public = true;
    }

    /// The tenants whose mail and name anonymous visitors may see: `None` for every tenant,
    /// the demo tenant alone in a demo.
    pub fn public_tenants(&self) -> Option<&'static [&'static str]> {
        self.demo.enabled.then_some(&[DEMO_TENANT])
    }

    /// A module's section: as loaded, or its defaults when it was not set.
    pub fn section<S: Section>(&self) -> &S {
        match self.sections.0.get(&TypeId::of::<S>()).and_then(|s| s.as_any().downcast_ref()) {
            Some(s) => s,
            None => default_of::<S>(),
        }
    }

    /// A module's section to change (its defaults first when it was not set).
    pub fn section_mut<S: Section>(&mut self) -> &mut S {
        let entry = self.sections.0.entry(TypeId::of::<S>()).or_insert_with(|| Box::new(S::default()));
        match entry.as_any_mut().downcast_mut() {
            Some(s) => s,
            None => unreachable!("sections are stored by their type"),
        }
    }

    /// Sets a module's section.
    pub fn set_section<S: Section>(&mut self, section: S) {
        self.sections.0.insert(TypeId::of::<S>(), Box::new(section));
    }
}

/// The defaults of a section read before it is set: one per section type, made once.
fn default_of<S: Section>() -> &'static S {
    static DEFAULTS: OnceLock<Mutex<HashMap<TypeId, &'static (dyn Any + Send + Sync)>>> = OnceLock::new();
    let mut map = DEFAULTS.get_or_init(Mutex::default).lock().unwrap_or_else(|e| e.into_inner());
    let any: &'static (dyn Any + Send + Sync) =
        *map.entry(TypeId::of::<S>()).or_insert_with(|| Box::leak(Box::new(S::default())));
    match any.downcast_ref() {
        Some(s) => s,
        None => unreachable!("defaults are stored by their type"),
    }
}

/// The modules' sections, by type.
#[derive(Debug, Default)]
struct Sections(HashMap<TypeId, Box<dyn Stored>>);

impl Clone for Sections {
    fn clone(&self) -> Self {
        Self(self.0.iter().map(|(k, v)| (*k, v.clone_box())).collect())
    }
}

/// A section behind its type.
trait Stored: std::fmt::Debug + Send + Sync {
    fn as_any(&self) -> &dyn Any;
    fn as_any_mut(&mut self) -> &mut dyn Any;
    fn clone_box(&self) -> Box<dyn Stored>;
}

impl<S: Section> Stored for S {
    fn as_any(&self) -> &dyn Any {
        self
    }
    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }
    fn clone_box(&self) -> Box<dyn Stored> {
        Box::new(self.clone())
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerConfig {
    /// Address and port of the HTTPS listener.
    pub listen: String,
    /// Base URL people use to reach keiyaku, used in mails. Empty: `https://localhost:PORT`.
    pub public_url: String,
    /// Extra host names (and IP addresses) for the certificate keiyaku issues itself, besides
    /// `localhost` and `127.0.0.1`.
    pub host_names: Vec<String>,
    /// PEM certificate chain to serve instead of keiyaku's own (with `tls_key`).
    pub tls_cert: Option<PathBuf>,
    /// PEM private key (PKCS#8, PKCS#1 or SEC1) for `tls_cert`.
    pub tls_key: Option<PathBuf>,
    /// When set, a plain-HTTP listener on this address that only redirects to HTTPS.
    pub http_redirect_listen: Option<String>,
    /// Largest request body accepted, in bytes (JSON and forms).
    pub max_body_bytes: usize,
    /// Largest upload accepted (multipart or raw file bodies), in bytes. Modules apply their
    /// own, smaller limits per kind of file.
    pub max_upload_bytes: usize,
    /// List the tenants (enterprise codes and names) on `/` for anonymous visitors. In a
    /// demo only the demo tenant is listed.
    pub list_tenants: bool,
    /// Reverse proxies (IP addresses or CIDR blocks) whose `X-Forwarded-For` names the
    /// client: rate limits, budgets and lockout then count that address.
    pub trusted_proxies: Vec<String>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8443".into(),
            public_url: String::new(),
            host_names: Vec::new(),
            tls_cert: None,
            tls_key: None,
            http_redirect_listen: None,
            max_body_bytes: 8 * 1024 * 1024,
            max_upload_bytes: 25 * 1024 * 1024,
            list_tenants: false,
            trusted_proxies: Vec::new(),
        }
    }
}

impl ServerConfig {
    pub fn public_base_url(&self) -> String {
        if !self.public_url.is_empty() {
            return self.public_url.trim_end_matches('/').to_string();
        }
        let port = self.listen.rsplit(':').next().unwrap_or("8443");
        format!("https://localhost:{port}")
    }
}

/// Request rate limits (token buckets refilled continuously: a client may spend a minute's
/// allowance at once, then waits for it to refill). Over a limit the answer is 429 with
/// `Retry-After`. Login failures are throttled separately (`[auth]`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LimitsConfig {
    /// Requests per minute from one client address (IPv6: one /64), over every path but
    /// `/healthz` and `/metrics`. 0: no limit.
    pub requests_per_minute_per_client: u32,
    /// Requests per minute of one signed-in account (bearer token or session cookie), over all
    /// its sessions and addresses. 0: no limit.
    pub requests_per_minute_per_account: u32,
    /// Writes per hour one anonymous client address may cause (order links, orders,
    /// applications and their steps). 0: no limit.
    pub anonymous_writes_per_hour: u32,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        Self {
            requests_per_minute_per_client: 1200,
            requests_per_minute_per_account: 600,
            anonymous_writes_per_hour: 30,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StorageConfig {
    /// Directory holding the database, TLS certificate and keys.
    pub data_dir: PathBuf,
    /// Memory for the database's page cache, in MiB (the file itself may be larger).
    pub cache_mb: usize,
}

impl Default for StorageConfig {
    fn default() -> Self {
        Self { data_dir: PathBuf::from("./keiyaku-data"), cache_mb: crate::store::DEFAULT_CACHE_BYTES >> 20 }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MailConfig {
    /// Sender address of every mail.
    pub from: String,
    /// Show the outbox to anyone at `/mailbox` (trial and demo installations).
    pub mailbox_public: bool,
    /// SMTP server, e.g. `smtps://user:password@mail.example.jp:465` or
    /// `smtp://mail.example.jp:587?tls=required`. Empty: mail stays in the outbox.
    pub smtp_url: Option<String>,
    /// Delivery attempts before a mail is marked failed.
    pub smtp_max_attempts: u32,
}

impl Default for MailConfig {
    fn default() -> Self {
        Self {
            from: "電子契約サービス <noreply@keiyaku.localhost>".into(),
            mailbox_public: false,
            smtp_url: None,
            smtp_max_attempts: 8,
        }
    }
}

impl MailConfig {
    pub fn smtp_enabled(&self) -> bool {
        self.smtp_url.as_deref().is_some_and(|u| !u.is_empty())
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CalendarConfig {
    /// Treat 12/29–1/3 as non-business days (年末年始休業).
    pub year_end_closed: bool,
}

impl Default for CalendarConfig {
    fn default() -> Self {
        Self { year_end_closed: true }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BackupConfig {
    /// Take a backup every this many hours while serving (0: no scheduled backups).
    pub interval_hours: u32,
    /// How many scheduled backups to keep (older ones are deleted).
    pub keep: u32,
    /// Where scheduled backups go. Empty: `<data_dir>/backups`.
    pub dir: Option<PathBuf>,
}

impl Default for BackupConfig {
    fn default() -> Self {
        Self { interval_hours: 24, keep: 7, dir: None }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DemoConfig {
    /// Load the demo scenario on start (same as `serve --demo`; also makes the mailbox public).
    pub enabled: bool,
    /// Password of every demo user (also `KEIYAKU_DEMO_PASSWORD`).
    pub password: String,
    /// PIN of every demo certificate, 12 digits (also `KEIYAKU_DEMO__PIN`).
    pub pin: String,
}

impl Default for DemoConfig {
    fn default() -> Self {
        Self { enabled: false, password: "keiyaku-demo".into(), pin: "123456789012".into() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    #[serde(default)]
    struct Sample {
        n: u32,
    }
    impl Default for Sample {
        fn default() -> Self {
            Self { n: 7 }
        }
    }
    impl Section for Sample {
        const NAME: &'static str = "sample";
    }

    #[test]
    fn a_section_reads_its_defaults_until_it_is_set() {
        let mut c = Config::default();
        assert_eq!(c.section::<Sample>().n, 7);
        c.section_mut::<Sample>().n = 8;
        assert_eq!(c.clone().section::<Sample>().n, 8);
        c.set_section(Sample { n: 9 });
        assert_eq!(c.section::<Sample>(), &Sample { n: 9 });
        assert_eq!(Config::default().section::<Sample>().n, 7);
    }

    #[test]
    fn only_a_demo_shows_one_tenant_alone() {
        let mut c = Config::default();
        assert_eq!(c.public_tenants(), None);
        c.enable_demo();
        assert!(c.mail.mailbox_public);
        assert_eq!(c.public_tenants(), Some(&[DEMO_TENANT][..]));
    }
}
