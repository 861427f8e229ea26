//! The `[contracts]` section of the settings: document limits, retention, the upload check
//! and an outside time-stamping authority.

use keiyaku_kernel::config::Section;
use serde::{Deserialize, Serialize};

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

impl Section for ContractsConfig {
    const NAME: &'static str = "contracts";

    fn check(&self) -> Result<(), String> {
        let mut errs = Vec::new();
        if let Some(u) = &self.tsa_url
            && !(u.starts_with("https://") || u.starts_with("http://"))
        {
            errs.push(format!("configuration key `contracts.tsa_url`: `{u}` must start with https:// or http://"));
        }
        if self.tsa_password.is_some() && self.tsa_username.is_none() {
            errs.push("configuration key `contracts.tsa_password` needs `contracts.tsa_username`".into());
        }
        if errs.is_empty() { Ok(()) } else { Err(errs.join("\n")) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_outside_tsa_needs_an_http_url_and_a_user_for_its_password() {
        assert!(ContractsConfig::default().check().is_ok());
        let mut c = ContractsConfig {
            tsa_url: Some("ftp://tsa.example.jp".into()),
            tsa_password: Some("secret".into()),
            ..ContractsConfig::default()
        };
        let e = c.check().unwrap_err();
        assert!(e.contains("`contracts.tsa_url`") && e.contains("`contracts.tsa_password`"), "{e}");
        c.tsa_url = Some("https://tsa.example.jp/tsp".into());
        c.tsa_username = Some("keiyaku".into());
        assert!(c.check().is_ok());
    }
}
