//! An outside RFC 3161 time-stamping authority (`contracts.tsa_url`, optional basic
//! authentication): signature and document time-stamps come from it, and the validation
//! data added with a signature carries its certificates and the CRLs of its distribution
//! points, so the signature is B-LT without asking the outside service again later.
//!
//! Signing runs inside the write transaction on a blocking thread; the requests here block
//! that thread for at most `contracts.tsa_timeout_millis` each. Other writers
//! wait meanwhile — the price of one consistent transaction per signature.

use crate::config::ContractsConfig;
use keiyaku_pades::{PadesError, TimeStamper, ValidationData};
use std::time::Duration;

/// The configured outside TSA.
#[derive(Debug, Clone)]
pub struct OutsideTsa {
    url: String,
    username: Option<String>,
    password: Option<String>,
    timeout: Duration,
}

impl OutsideTsa {
    /// The outside TSA of the configuration, if one is set.
    pub fn from_config(cfg: &ContractsConfig) -> Option<Self> {
        let url = cfg.tsa_url.as_deref().map(str::trim).filter(|u| !u.is_empty())?;
        Some(Self {
            url: url.to_string(),
            username: cfg.tsa_username.clone(),
            password: cfg.tsa_password.clone(),
            timeout: Duration::from_millis(cfg.tsa_timeout_millis.max(1)),
        })
    }

    fn client(&self) -> Result<reqwest::Client, PadesError> {
        reqwest::Client::builder()
            .timeout(self.timeout)
            .build()
            .map_err(|e| PadesError::Timestamp(format!("outside TSA client: {e}")))
    }

    /// The validation data for the outside TSA's certificate in the newest time-stamp
    /// token of `signed` (see [`foreign_validation_data`]).
    pub fn validation_data(&self, signed: &[u8]) -> Result<ValidationData, PadesError> {
        let newest = keiyaku_pades::timestamp_certificates(signed)?.pop();
        Ok(foreign_validation_data(newest.as_ref().map(|c| c.der.as_slice()).into_iter(), self.timeout))
    }
}

/// Validation data for certificates the tenant CA did not issue (an outside TSA's): the
/// certificates and the CRLs of their distribution points, those that answer within
/// `timeout`.
pub fn foreign_validation_data<'a>(certs: impl Iterator<Item = &'a [u8]>, timeout: Duration) -> ValidationData {
    let mut data = ValidationData::default();
    for cert in certs {
        if !data.certs.iter().any(|c| c.as_slice() == cert) {
            data.certs.push(cert.to_vec());
        }
        for url in keiyaku_pades::crl_urls(cert) {
            match get(&url, timeout) {
                Ok(crl) if !data.crls.contains(&crl) => data.crls.push(crl),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "CRL distribution point"),
            }
        }
    }
    data
}

fn get(url: &str, timeout: Duration) -> Result<Vec<u8>, String> {
    let client = reqwest::Client::builder().timeout(timeout).build().map_err(|e| e.to_string())?;
    let url = url.to_string();
    block_on(async move {
        let resp = client.get(&url).send().await.map_err(|e| format!("{url}: {e}"))?;
        if !resp.status().is_success() {
            return Err(format!("{url}: HTTP {}", resp.status()));
        }
        resp.bytes().await.map(|b| b.to_vec()).map_err(|e| format!("{url}: {e}"))
    })
}

impl TimeStamper for OutsideTsa {
    fn timestamp(&self, message_imprint_sha256: &[u8; 32]) -> Result<Vec<u8>, PadesError> {
        let mut nonce: [u8; 12] = rand::random();
        nonce[0] = (nonce[0] & 0x7f) | 0x01;
        let request = keiyaku_pades::timestamp_request(message_imprint_sha256, &nonce);
        let client = self.client()?;
        let mut post = client.post(&self.url).header("content-type", "application/timestamp-query").body(request);
        if let Some(user) = &self.username {
            post = post.basic_auth(user, self.password.as_ref());
        }
        let url = self.url.clone();
        let answer = block_on(async move {
            let resp = post.send().await.map_err(|e| format!("{url}: {e}"))?;
            if !resp.status().is_success() {
                return Err(format!("{url}: HTTP {}", resp.status()));
            }
            resp.bytes().await.map(|b| b.to_vec()).map_err(|e| format!("{url}: {e}"))
        })
        .map_err(|e| PadesError::Timestamp(format!("the outside TSA did not answer: {e}")))?;
        keiyaku_pades::token_from_response(&answer, message_imprint_sha256, &nonce)
    }
}

/// Runs `f` to completion on a thread of its own with a small runtime: the caller is a
/// blocking thread (the write transaction's), which may not drive the server's runtime.
fn block_on<T: Send>(f: impl std::future::Future<Output = Result<T, String>> + Send) -> Result<T, String> {
    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .map_err(|e| format!("no runtime for the request: {e}"))?
                    .block_on(f)
            })
            .join()
            .unwrap_or_else(|_| Err("the request thread failed".into()))
    })
}

/// Whether an error of the signing library came from the outside TSA (the request may be
/// retried later; nothing was written).
pub fn is_outside_failure(e: &PadesError) -> bool {
    matches!(e, PadesError::Timestamp(_))
}
