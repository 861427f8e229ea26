//! Every setting of the appliance, with its default. Loaded by the binary with figment:
//! built-in defaults < `config.toml` < `KEIYAKU_*` environment variables (nested keys with
//! `__`, e.g. `KEIYAKU_SERVER__LISTEN`). Unknown keys are refused.

use serde::{Deserialize, Serialize};
use std::path::PathBuf;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub server: ServerConfig,
    pub limits: LimitsConfig,
    pub storage: StorageConfig,
    pub mail: MailConfig,
    pub auth: AuthConfig,
    pub calendar: CalendarConfig,
    pub certs: CertsConfig,
    pub support: SupportConfig,
    pub contracts: ContractsConfig,
    pub backup: BackupConfig,
    pub demo: DemoConfig,
}

/// The enterprise code of the demo tenant (`serve --demo`).
pub const DEMO_TENANT: &str = "HXOS2";

impl Config {
    /// What `serve --demo` turns on: the demo data, the public mailbox (of the demo tenant
    /// only), tickets released with the order unless configured otherwise.
    pub fn enable_demo(&mut self) {
        self.demo.enabled = true;
        self.mail.mailbox_public = true;
        self.certs.release_tickets.get_or_insert(ReleaseTickets::Immediately);
    }

    /// The tenants whose mail and name anonymous visitors may see: `None` for every tenant,
    /// the demo tenant alone in a demo.
    pub fn public_tenants(&self) -> Option<&'static [&'static str]> {
        self.demo.enabled.then_some(&[DEMO_TENANT])
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
pub struct AuthConfig {
    /// Failed logins (per account and client address) before the login is locked.
    pub lockout_threshold: u32,
    /// How long a lock lasts, in minutes.
    pub lockout_minutes: u32,
    /// Failed logins from one client address, over all accounts, before it is locked.
    pub client_lockout_threshold: u32,
    /// Minimum password length.
    pub password_min_length: usize,
    /// A password must contain a letter and a digit.
    pub password_require_letters_and_digits: bool,
    /// A session ends after this many minutes without a request.
    pub session_idle_minutes: u32,
    /// A session ends this many hours after login, whatever its use.
    pub session_absolute_hours: u32,
    /// Users holding any of these roles must enroll a TOTP authenticator at their next login
    /// (e.g. `["group_admin", "signer"]`).
    pub require_totp_for: Vec<crate::directory::Role>,
}

impl Default for AuthConfig {
    fn default() -> Self {
        Self {
            lockout_threshold: 5,
            lockout_minutes: 15,
            client_lockout_threshold: 50,
            password_min_length: 8,
            password_require_letters_and_digits: true,
            session_idle_minutes: 60,
            session_absolute_hours: 12,
            require_totp_for: Vec::new(),
        }
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

/// When purchased certificate tickets are released to the buyer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum ReleaseTickets {
    /// With the order confirmation.
    Immediately,
    /// When an owner administrator marks the order paid.
    #[default]
    OnPayment,
}

impl CertsConfig {
    /// When tickets are released: as configured, else when the order is paid.
    pub fn release(&self) -> ReleaseTickets {
        self.release_tickets.unwrap_or_default()
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CertsConfig {
    /// When ticket numbers are sent: `immediately` or `on_payment`. Unset: `on_payment`, and
    /// `immediately` with `--demo`.
    pub release_tickets: Option<ReleaseTickets>,
    /// Most tickets of one term in one order.
    pub max_tickets_per_term: u32,
    /// Most ticket orders one tenant takes per day (Japan time).
    pub max_orders_per_day: u32,
    /// How long one-time links (order, application, approval) stay valid, in hours.
    pub link_ttl_hours: u32,
    /// Ask for the image captcha when an application starts (off for tests and offline demos).
    pub captcha: bool,
    /// A certificate becomes usable this many Japanese business days after issuance (翌々営業日 = 2).
    pub activation_business_days: u32,
    /// Default unit prices in yen (tax excluded) of 1-, 2- and 3-year certificates; a tenant may
    /// override them.
    pub price_1y: u32,
    pub price_2y: u32,
    pub price_3y: u32,
    /// Per-tenant unit prices `[1y, 2y, 3y]` by enterprise code, replacing the defaults above,
    /// e.g. `{ HXOS2 = [3000, 4500, 6000] }`.
    pub tenant_prices: std::collections::BTreeMap<String, [u32; 3]>,
}

impl Default for CertsConfig {
    fn default() -> Self {
        Self {
            release_tickets: None,
            max_tickets_per_term: 20,
            max_orders_per_day: 50,
            link_ttl_hours: 72,
            captcha: true,
            activation_business_days: 2,
            price_1y: 3000,
            price_2y: 4500,
            price_3y: 6000,
            tenant_prices: std::collections::BTreeMap::new(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SupportConfig {
    /// Largest support document accepted, in bytes.
    pub max_document_bytes: usize,
}

impl Default for SupportConfig {
    fn default() -> Self {
        Self { max_document_bytes: 20 * 1024 * 1024 }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ContractsConfig {
    /// Largest PDF document accepted, in bytes.
    pub max_document_bytes: usize,
    /// Most documents one contract may hold.
    pub max_documents: usize,
    /// Years a contract and every version of its documents are kept unchanged after its
    /// transaction date (電子帳簿保存法 asks for 7; 10 covers the statute of limitations).
    pub retention_years: u16,
    /// Most bytes one compressed stream of an uploaded PDF may expand to.
    pub max_inflated_stream_bytes: usize,
    /// Most bytes all compressed streams of an uploaded PDF may expand to together.
    pub max_inflated_document_bytes: usize,
    /// Longest an upload's PDF check may take, in milliseconds (it runs before the write
    /// transaction, on a blocking thread).
    pub pdf_check_millis: u64,
    /// An outside RFC 3161 time-stamping authority (e.g. a 総務大臣認定 service),
    /// `http(s)://…`: signature and document time-stamps come from it instead of the
    /// tenant's own TSA. Unset: the tenant's TSA.
    pub tsa_url: Option<String>,
    /// HTTP basic authentication for `tsa_url`.
    pub tsa_username: Option<String>,
    pub tsa_password: Option<String>,
    /// Longest a request to `tsa_url` (or to a CRL distribution point of its certificate)
    /// may take, in milliseconds.
    pub tsa_timeout_millis: u64,
}

impl Default for ContractsConfig {
    fn default() -> Self {
        Self {
            max_document_bytes: 20 * 1024 * 1024,
            max_documents: 10,
            retention_years: 10,
            max_inflated_stream_bytes: 32 * 1024 * 1024,
            max_inflated_document_bytes: 128 * 1024 * 1024,
            pdf_check_millis: 3000,
            tsa_url: None,
            tsa_username: None,
            tsa_password: None,
            tsa_timeout_millis: 10_000,
        }
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

    #[test]
    fn tickets_wait_for_payment_unless_a_demo_or_the_configuration_says_otherwise() {
        let mut c = Config::default();
        assert_eq!(c.certs.release(), ReleaseTickets::OnPayment);
        assert_eq!(c.public_tenants(), None);
        c.enable_demo();
        assert_eq!(c.certs.release(), ReleaseTickets::Immediately);
        assert!(c.mail.mailbox_public);
        assert_eq!(c.public_tenants(), Some(&[DEMO_TENANT][..]));
        let mut c = Config::default();
        c.certs.release_tickets = Some(ReleaseTickets::OnPayment);
        c.enable_demo();
        assert_eq!(c.certs.release(), ReleaseTickets::OnPayment, "configured stays configured");
    }
}
