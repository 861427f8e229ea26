//! TLS for the HTTPS listener.
//!
//! Either the operator configures a certificate and key (`server.tls_cert`, `server.tls_key`),
//! or keiyaku runs its own small certificate authority in `<data_dir>/tls`:
//!
//! - `ca.pem` / `ca-key.pem`: the local CA (10 years). Clients trust this one file once
//!   (it is also served at `/tls/ca.pem`).
//! - `cert.pem` / `key.pem`: the server certificate it issues, valid for 397 days (the most
//!   browsers accept), naming `localhost`, the loopback addresses and `server.host_names`,
//!   with a CRL distribution point at `<public URL>/tls/crl`. It is renewed 30 days before it
//!   expires, or when the names or the public URL change, while the server runs; the replaced
//!   certificate is listed on the CRL as superseded.
//! - `local-ca.json`: what renewal needs to know (validity, serials, revoked serials).
//!
//! The listener ([`TlsAcceptor`]) completes handshakes off the accept loop with a time limit,
//! picks cipher suites in the server's order (all ECDHE with AEAD) and offers TLS 1.2 and 1.3
//! only. A renewed certificate is used from the next handshake on.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use jiff::{Timestamp, ToSpan};
use poem::listener::Acceptor;
use poem::web::{LocalAddr, RemoteAddr};
use rcgen::{
    BasicConstraints, CertificateParams, CertificateRevocationListParams, CrlDistributionPoint, DistinguishedName,
    DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair, KeyUsagePurpose, RevocationReason, RevokedCertParams,
    SerialNumber,
};
use rustls::ServerConfig;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use serde::{Deserialize, Serialize};

/// Validity of the server certificate keiyaku issues itself (CA/Browser Forum: at most 398).
pub const LEAF_DAYS: i64 = 397;
/// Renew the server certificate when fewer days than this are left.
pub const RENEW_DAYS: i64 = 30;
/// Validity of the local CA.
pub const CA_DAYS: i64 = 3652;
/// Make a new local CA when fewer days than this are left (a leaf must fit in its validity).
pub const CA_RENEW_DAYS: i64 = LEAF_DAYS + RENEW_DAYS;
/// How long a CRL is valid; it is re-signed daily.
const CRL_DAYS: i64 = 7;
/// A client that has not finished its handshake by then is dropped.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Handshaken connections waiting for the HTTP server.
const ACCEPT_QUEUE: usize = 256;

const STATE_FILE: &str = "local-ca.json";

/// The TLS state of a running server: the current rustls configuration and, when keiyaku
/// issues its own certificate, the local CA that renews it.
pub struct Tls {
    config: Arc<RwLock<Arc<ServerConfig>>>,
    local: Option<Mutex<LocalCa>>,
    /// Where the certificate came from, for the start-up message.
    pub source: PathBuf,
    /// A new certificate (or a new local CA) was made at this start.
    pub generated: bool,
}

impl Tls {
    /// Loads the configured pair, or the local CA in `data_dir/tls` (made first when absent)
    /// with a current server certificate for `names` and `crl_url`.
    pub fn open(
        data_dir: &Path,
        cert: Option<&Path>,
        key: Option<&Path>,
        host_names: &[String],
        public_base: &str,
        now: Timestamp,
    ) -> Result<Tls, String> {
        if let (Some(cert), Some(key)) = (cert, key) {
            let cert_pem = std::fs::read(cert).map_err(|e| format!("server.tls_cert {}: {e}", cert.display()))?;
            let key_pem = std::fs::read(key).map_err(|e| format!("server.tls_key {}: {e}", key.display()))?;
            let config = server_config(&cert_pem, &key_pem)?;
            return Ok(Tls {
                config: Arc::new(RwLock::new(Arc::new(config))),
                local: None,
                source: cert.to_path_buf(),
                generated: false,
            });
        }
        let want = Want::new(host_names, public_base);
        let (local, generated) = LocalCa::open(&data_dir.join("tls"), &want, now)?;
        let config = server_config(local.leaf_pem.as_bytes(), local.leaf_key_pem.as_bytes())?;
        Ok(Tls {
            config: Arc::new(RwLock::new(Arc::new(config))),
            source: local.dir.join("cert.pem"),
            local: Some(Mutex::new(local)),
            generated,
        })
    }

    /// The local CA certificate (PEM), when keiyaku issues its own.
    pub fn ca_pem(&self) -> Option<String> {
        let local = self.local.as_ref()?.lock().ok()?;
        Some(local.ca_pem.clone())
    }

    /// The current CRL of the local CA (DER).
    pub fn crl_der(&self) -> Option<Vec<u8>> {
        let local = self.local.as_ref()?.lock().ok()?;
        Some(local.crl_der.clone())
    }

    /// The local CA's file, for the start-up message.
    pub fn ca_path(&self) -> Option<PathBuf> {
        let local = self.local.as_ref()?.lock().ok()?;
        Some(local.dir.join("ca.pem"))
    }

    /// Renews what is due at `now`: the server certificate (then the listener uses it from
    /// the next handshake) and the CRL. Returns true when the certificate changed.
    pub fn maintain(&self, host_names: &[String], public_base: &str, now: Timestamp) -> Result<bool, String> {
        let Some(local) = &self.local else { return Ok(false) };
        let mut local = local.lock().map_err(|_| "TLS state is unavailable".to_string())?;
        let renewed = local.renew_if_due(&Want::new(host_names, public_base), now)?;
        if renewed {
            let config = server_config(local.leaf_pem.as_bytes(), local.leaf_key_pem.as_bytes())?;
            if let Ok(mut current) = self.config.write() {
                *current = Arc::new(config);
            }
        }
        Ok(renewed)
    }

    /// Binds `addr` and returns the acceptor for poem's server.
    pub async fn bind(&self, addr: SocketAddr) -> std::io::Result<TlsAcceptor> {
        TlsAcceptor::bind(addr, self.config.clone()).await
    }
}

/// What the server certificate must say.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Want {
    names: Vec<String>,
    crl_url: String,
}

impl Want {
    fn new(host_names: &[String], public_base: &str) -> Self {
        let mut names = vec!["localhost".to_string(), "127.0.0.1".to_string(), "::1".to_string()];
        for h in host_names {
            if !h.is_empty() && !names.contains(h) {
                names.push(h.clone());
            }
        }
        // An ephemeral port (`:0`) says nothing; name the host only.
        let base = public_base.trim_end_matches('/');
        let base = base.strip_suffix(":0").unwrap_or(base);
        Want { names, crl_url: format!("{base}/tls/crl") }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct RevokedLeaf {
    serial: String,
    revoked_at: i64,
}

/// `local-ca.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct State {
    ca_common_name: String,
    ca_not_before: i64,
    ca_not_after: i64,
    leaf_serial: String,
    leaf_not_before: i64,
    leaf_not_after: i64,
    names: Vec<String>,
    crl_url: String,
    crl_number: u64,
    revoked: Vec<RevokedLeaf>,
}

struct LocalCa {
    dir: PathBuf,
    state: State,
    ca_params: CertificateParams,
    ca_key: KeyPair,
    ca_pem: String,
    leaf_pem: String,
    leaf_key_pem: String,
    crl_der: Vec<u8>,
    crl_signed_at: Timestamp,
}

fn read(path: &Path) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))
}

fn ts(seconds: i64) -> Timestamp {
    Timestamp::from_second(seconds).unwrap_or(Timestamp::UNIX_EPOCH)
}

fn odt(t: Timestamp) -> time::OffsetDateTime {
    time::OffsetDateTime::from_unix_timestamp(t.as_second()).unwrap_or(time::OffsetDateTime::UNIX_EPOCH)
}

fn days(t: Timestamp, n: i64) -> Timestamp {
    t.checked_add((n * 24).hours()).unwrap_or(t)
}

/// A fresh positive 16-byte serial.
fn random_serial() -> Vec<u8> {
    let digest = keiyaku_kernel::ids::digest(&keiyaku_kernel::ids::secret_token(32));
    let mut bytes = hex::decode(&digest[..32]).unwrap_or_else(|_| vec![0x5a; 16]);
    bytes[0] = (bytes[0] & 0x7f) | 0x01;
    bytes
}

fn ca_params(common_name: &str) -> CertificateParams {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::OrganizationName, "keiyaku");
    dn.push(DnType::CommonName, common_name);
    let mut p = CertificateParams::default();
    p.distinguished_name = dn;
    p.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    p.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    p
}

impl LocalCa {
    /// Opens the local CA in `dir`, making it (and a server certificate) when absent, and
    /// renews what is due. Returns whether anything new was made.
    fn open(dir: &Path, want: &Want, now: Timestamp) -> Result<(LocalCa, bool), String> {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let state_path = dir.join(STATE_FILE);
        if !state_path.is_file() {
            if dir.join("cert.pem").is_file() {
                // A self-signed certificate from an earlier keiyaku: kept beside, replaced.
                let _ = std::fs::rename(dir.join("cert.pem"), dir.join("cert.pem.self-signed"));
                let _ = std::fs::rename(dir.join("key.pem"), dir.join("key.pem.self-signed"));
                tracing::warn!("the self-signed TLS certificate is replaced by one from keiyaku's local CA");
            }
            return Ok((Self::create(dir, want, now)?, true));
        }
        let state: State = serde_json::from_str(&read(&state_path)?)
            .map_err(|e| format!("{}: {e} (remove the tls directory to start over)", state_path.display()))?;
        let ca_key_pem = read(&dir.join("ca-key.pem"))?;
        let ca_key =
            KeyPair::from_pem(&ca_key_pem).map_err(|e| format!("{}: {e}", dir.join("ca-key.pem").display()))?;
        let mut ca_params = ca_params(&state.ca_common_name);
        ca_params.not_before = odt(ts(state.ca_not_before));
        ca_params.not_after = odt(ts(state.ca_not_after));
        let mut local = LocalCa {
            dir: dir.to_path_buf(),
            ca_pem: read(&dir.join("ca.pem"))?,
            leaf_pem: read(&dir.join("cert.pem"))?,
            leaf_key_pem: read(&dir.join("key.pem"))?,
            state,
            ca_params,
            ca_key,
            crl_der: Vec::new(),
            crl_signed_at: Timestamp::UNIX_EPOCH,
        };
        // Signs the CRL too: it was never signed in this process.
        let renewed = local.renew_if_due(want, now)?;
        Ok((local, renewed))
    }

    /// A new CA and a server certificate from it.
    fn create(dir: &Path, want: &Want, now: Timestamp) -> Result<LocalCa, String> {
        let ca_key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).map_err(|e| format!("TLS CA key: {e}"))?;
        let host = want.names.get(3).cloned().unwrap_or_else(|| "localhost".into());
        let common_name = format!("keiyaku local CA {host} {}", now.strftime("%Y-%m-%d"));
        let not_before = now.checked_sub(1.hour()).unwrap_or(now);
        let not_after = days(now, CA_DAYS);
        let mut params = ca_params(&common_name);
        params.not_before = odt(not_before);
        params.not_after = odt(not_after);
        params.serial_number = Some(SerialNumber::from_slice(&random_serial()));
        let ca = params.self_signed(&ca_key).map_err(|e| format!("TLS CA certificate: {e}"))?;
        let mut local = LocalCa {
            dir: dir.to_path_buf(),
            state: State {
                ca_common_name: common_name,
                ca_not_before: not_before.as_second(),
                ca_not_after: not_after.as_second(),
                leaf_serial: String::new(),
                leaf_not_before: 0,
                leaf_not_after: 0,
                names: Vec::new(),
                crl_url: String::new(),
                crl_number: 0,
                revoked: Vec::new(),
            },
            ca_params: params,
            ca_pem: ca.pem(),
            ca_key,
            leaf_pem: String::new(),
            leaf_key_pem: String::new(),
            crl_der: Vec::new(),
            crl_signed_at: Timestamp::UNIX_EPOCH,
        };
        write_private(&dir.join("ca-key.pem"), local.ca_key.serialize_pem().as_bytes())?;
        write_file(&dir.join("ca.pem"), local.ca_pem.as_bytes())?;
        local.issue_leaf(want, now)?;
        Ok(local)
    }

    /// Renews the server certificate (and the CA when it nears its end) when due; re-signs
    /// the CRL daily. True when the certificate changed.
    fn renew_if_due(&mut self, want: &Want, now: Timestamp) -> Result<bool, String> {
        if ts(self.state.ca_not_after) < days(now, CA_RENEW_DAYS) {
            tracing::warn!("the local TLS CA nears its end; a new one is made (clients must trust the new ca.pem)");
            *self = Self::create(&self.dir, want, now)?;
            return Ok(true);
        }
        let due = ts(self.state.leaf_not_after) < days(now, RENEW_DAYS)
            || self.state.names != want.names
            || self.state.crl_url != want.crl_url;
        if due {
            if !self.state.leaf_serial.is_empty() {
                self.state
                    .revoked
                    .push(RevokedLeaf { serial: self.state.leaf_serial.clone(), revoked_at: now.as_second() });
            }
            self.issue_leaf(want, now)?;
            return Ok(true);
        }
        if now >= days(self.crl_signed_at, 1) {
            self.sign_crl(now)?;
        }
        Ok(false)
    }

    /// Issues a server certificate for `want`, writes it and the state, signs a new CRL.
    fn issue_leaf(&mut self, want: &Want, now: Timestamp) -> Result<(), String> {
        let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).map_err(|e| format!("TLS key: {e}"))?;
        let mut p = CertificateParams::new(want.names.clone()).map_err(|e| format!("TLS certificate names: {e}"))?;
        let mut dn = DistinguishedName::new();
        dn.push(DnType::OrganizationName, "keiyaku");
        dn.push(DnType::CommonName, want.names.get(3).map(String::as_str).unwrap_or("localhost"));
        p.distinguished_name = dn;
        let not_before = now.checked_sub(1.hour()).unwrap_or(now);
        let not_after = days(now, LEAF_DAYS).min(ts(self.state.ca_not_after));
        p.not_before = odt(not_before);
        p.not_after = odt(not_after);
        let serial = random_serial();
        p.serial_number = Some(SerialNumber::from_slice(&serial));
        p.is_ca = IsCa::ExplicitNoCa;
        p.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        p.use_authority_key_identifier_extension = true;
        p.crl_distribution_points = vec![CrlDistributionPoint { uris: vec![want.crl_url.clone()] }];
        let issuer = Issuer::from_params(&self.ca_params, &self.ca_key);
        let cert = p.signed_by(&key, &issuer).map_err(|e| format!("TLS certificate: {e}"))?;
        self.leaf_pem = cert.pem();
        self.leaf_key_pem = key.serialize_pem();
        self.state.leaf_serial = hex::encode_upper(&serial);
        self.state.leaf_not_before = not_before.as_second();
        self.state.leaf_not_after = not_after.as_second();
        self.state.names = want.names.clone();
        self.state.crl_url = want.crl_url.clone();
        // Certificate and key first, the state last: a crash in between leaves a state that
        // asks for renewal again (its serial is then revoked twice, which is harmless).
        write_private(&self.dir.join("key.pem"), self.leaf_key_pem.as_bytes())?;
        write_file(&self.dir.join("cert.pem"), self.leaf_pem.as_bytes())?;
        self.sign_crl(now)
    }

    /// Signs a CRL listing every replaced server certificate; saves the state.
    fn sign_crl(&mut self, now: Timestamp) -> Result<(), String> {
        self.state.crl_number += 1;
        let params = CertificateRevocationListParams {
            this_update: odt(now),
            next_update: odt(days(now, CRL_DAYS)),
            crl_number: SerialNumber::from_slice(&self.state.crl_number.to_be_bytes()),
            issuing_distribution_point: None,
            revoked_certs: self
                .state
                .revoked
                .iter()
                .filter_map(|r| {
                    Some(RevokedCertParams {
                        serial_number: SerialNumber::from_slice(&hex::decode(&r.serial).ok()?),
                        revocation_time: odt(ts(r.revoked_at)),
                        reason_code: Some(RevocationReason::Superseded),
                        invalidity_date: None,
                    })
                })
                .collect(),
            key_identifier_method: rcgen::KeyIdMethod::Sha256,
        };
        let issuer = Issuer::from_params(&self.ca_params, &self.ca_key);
        let crl = params.signed_by(&issuer).map_err(|e| format!("TLS CRL: {e}"))?;
        self.crl_der = crl.der().to_vec();
        self.crl_signed_at = now;
        let json = serde_json::to_vec_pretty(&self.state).map_err(|e| e.to_string())?;
        write_file(&self.dir.join(STATE_FILE), &json)
    }
}

/// The rustls configuration of the listener: TLS 1.2 and 1.3, the server's cipher order.
fn server_config(cert_pem: &[u8], key_pem: &[u8]) -> Result<ServerConfig, String> {
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(cert_pem)
        .collect::<Result<_, _>>()
        .map_err(|e| format!("the TLS certificate is not PEM: {e}"))?;
    if chain.is_empty() {
        return Err("the TLS certificate file holds no certificate".into());
    }
    let key =
        PrivateKeyDer::from_pem_slice(key_pem).map_err(|e| format!("the TLS key is not a PEM private key: {e}"))?;
    let provider = rustls::crypto::CryptoProvider::get_default()
        .cloned()
        .unwrap_or_else(|| Arc::new(rustls::crypto::aws_lc_rs::default_provider()));
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|e| format!("TLS: {e}"))?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|e| format!("the TLS certificate and key do not fit: {e}"))?;
    config.ignore_client_order = true;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(config)
}

/// Accepts TCP connections and completes their TLS handshakes in their own tasks (a slow
/// client holds up nobody), handing finished connections to poem's server.
pub struct TlsAcceptor {
    local: LocalAddr,
    ready: tokio::sync::mpsc::Receiver<(tokio_rustls::server::TlsStream<tokio::net::TcpStream>, SocketAddr)>,
    task: tokio::task::JoinHandle<()>,
}

impl TlsAcceptor {
    async fn bind(addr: SocketAddr, config: Arc<RwLock<Arc<ServerConfig>>>) -> std::io::Result<TlsAcceptor> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let local = LocalAddr(listener.local_addr()?.into());
        let (tx, ready) = tokio::sync::mpsc::channel(ACCEPT_QUEUE);
        let task = tokio::spawn(async move {
            loop {
                let (stream, peer) = match listener.accept().await {
                    Ok(accepted) => accepted,
                    Err(e) => {
                        // Out of file descriptors and the like: wait a moment, go on.
                        tracing::warn!(error = %e, "accepting a connection failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let _ = stream.set_nodelay(true);
                let current = match config.read() {
                    Ok(c) => c.clone(),
                    Err(_) => continue,
                };
                let tx = tx.clone();
                tokio::spawn(async move {
                    let acceptor = tokio_rustls::TlsAcceptor::from(current);
                    match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                        Ok(Ok(tls)) => {
                            let _ = tx.send((tls, peer)).await;
                        }
                        Ok(Err(e)) => tracing::debug!(%peer, error = %e, "TLS handshake failed"),
                        Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
                    }
                });
            }
        });
        Ok(TlsAcceptor { local, ready, task })
    }
}

impl Drop for TlsAcceptor {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Acceptor for TlsAcceptor {
    type Io = tokio_rustls::server::TlsStream<tokio::net::TcpStream>;

    fn local_addr(&self) -> Vec<LocalAddr> {
        vec![self.local.clone()]
    }

    async fn accept(&mut self) -> std::io::Result<(Self::Io, LocalAddr, RemoteAddr, poem::http::uri::Scheme)> {
        match self.ready.recv().await {
            Some((io, peer)) => Ok((io, self.local.clone(), RemoteAddr(peer.into()), poem::http::uri::Scheme::HTTPS)),
            None => Err(std::io::Error::other("the TLS listener stopped")),
        }
    }
}

/// Writes a file through a temporary name and a rename, so a crash leaves the old or the new.
fn write_file(path: &Path, bytes: &[u8]) -> Result<(), String> {
    write_atomic(path, bytes, 0o644)
}

/// Writes a secret file readable by the owner only (through a temporary name and a rename).
pub fn write_private(path: &Path, bytes: &[u8]) -> Result<(), String> {
    write_atomic(path, bytes, 0o600)
}

fn write_atomic(path: &Path, bytes: &[u8], mode: u32) -> Result<(), String> {
    use std::io::Write;
    #[cfg(unix)]
    use std::os::unix::fs::OpenOptionsExt;
    let tmp = path.with_extension("tmp");
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    opts.mode(mode);
    #[cfg(not(unix))]
    let _ = mode;
    let err = |e: std::io::Error| format!("{}: {e}", path.display());
    let mut f = opts.open(&tmp).map_err(err)?;
    f.write_all(bytes).and_then(|_| f.sync_all()).map_err(err)?;
    std::fs::rename(&tmp, path).map_err(err)?;
    if let Some(dir) = path.parent()
        && let Ok(d) = std::fs::File::open(dir)
    {
        let _ = d.sync_all();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir() -> PathBuf {
        std::env::temp_dir().join(format!("keiyaku-tls-{}", keiyaku_kernel::ids::new_id()))
    }

    fn now() -> Timestamp {
        ts(1_790_000_000)
    }

    fn open(d: &Path, hosts: &[String], at: Timestamp) -> Tls {
        match Tls::open(d, None, None, hosts, "https://localhost:8443", at) {
            Ok(t) => t,
            Err(e) => panic!("{e}"),
        }
    }

    fn state(d: &Path) -> State {
        serde_json::from_str(&read(&d.join("tls").join(STATE_FILE)).unwrap_or_default()).expect("state")
    }

    #[test]
    fn local_ca_is_made_once_and_reused() {
        let d = dir();
        let first = open(&d, &["keiyaku.example.jp".into()], now());
        assert!(first.generated);
        let s = state(&d);
        assert_eq!(s.names, ["localhost", "127.0.0.1", "::1", "keiyaku.example.jp"]);
        assert_eq!(s.crl_url, "https://localhost:8443/tls/crl");
        assert_eq!(s.leaf_not_after - s.leaf_not_before, LEAF_DAYS * 86_400 + 3600);
        let cert = std::fs::read_to_string(d.join("tls/cert.pem")).unwrap_or_default();
        let again = open(&d, &["keiyaku.example.jp".into()], days(now(), 10));
        assert!(!again.generated);
        assert_eq!(std::fs::read_to_string(d.join("tls/cert.pem")).unwrap_or_default(), cert);
        assert_eq!(state(&d).leaf_serial, s.leaf_serial);
        assert_eq!(again.ca_pem(), first.ca_pem());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            for f in ["key.pem", "ca-key.pem"] {
                let mode = std::fs::metadata(d.join("tls").join(f)).map(|m| m.permissions().mode() & 0o777).ok();
                assert_eq!(mode, Some(0o600), "{f}");
            }
        }
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn renews_before_expiry_and_revokes_the_old_certificate() {
        let d = dir();
        let tls = open(&d, &[], now());
        let first = state(&d);
        // Not yet due.
        assert_eq!(tls.maintain(&[], "https://localhost:8443", days(now(), LEAF_DAYS - RENEW_DAYS - 1)), Ok(false));
        assert_eq!(state(&d).leaf_serial, first.leaf_serial);
        // Due: a new certificate, the old serial on the CRL.
        assert_eq!(tls.maintain(&[], "https://localhost:8443", days(now(), LEAF_DAYS - RENEW_DAYS + 1)), Ok(true));
        let second = state(&d);
        assert_ne!(second.leaf_serial, first.leaf_serial);
        assert_eq!(second.revoked.len(), 1);
        assert_eq!(second.revoked[0].serial, first.leaf_serial);
        let crl = tls.crl_der().unwrap_or_default();
        let old = hex::decode(&first.leaf_serial).unwrap_or_default();
        assert!(crl.windows(old.len()).any(|w| w == old.as_slice()), "the CRL lists the replaced serial");
        // A new host name is due at once; a restart with the same names is not.
        assert_eq!(tls.maintain(&["keiyaku.example.jp".into()], "https://localhost:8443", days(now(), 400)), Ok(true));
        assert!(!open(&d, &["keiyaku.example.jp".into()], days(now(), 401)).generated);
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn a_new_ca_when_the_old_one_nears_its_end() {
        let d = dir();
        let tls = open(&d, &[], now());
        let ca = tls.ca_pem();
        assert_eq!(tls.maintain(&[], "https://localhost:8443", days(now(), CA_DAYS - CA_RENEW_DAYS + 1)), Ok(true));
        assert_ne!(tls.ca_pem(), ca);
        let s = state(&d);
        assert!(s.leaf_not_after <= s.ca_not_after);
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn an_earlier_self_signed_certificate_is_replaced() {
        let d = dir();
        let tls_dir = d.join("tls");
        std::fs::create_dir_all(&tls_dir).expect("dir");
        let old = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).expect("self-signed");
        std::fs::write(tls_dir.join("cert.pem"), old.cert.pem()).expect("write");
        std::fs::write(tls_dir.join("key.pem"), old.signing_key.serialize_pem()).expect("write");
        let tls = open(&d, &[], now());
        assert!(tls.generated);
        assert!(tls_dir.join("cert.pem.self-signed").is_file());
        assert!(tls_dir.join("ca.pem").is_file());
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn configured_pairs_are_checked() {
        let d = dir();
        std::fs::create_dir_all(&d).expect("dir");
        let (cert, key) = (d.join("c.pem"), d.join("k.pem"));
        std::fs::write(&cert, "not a certificate").expect("write");
        std::fs::write(&key, "not a key").expect("write");
        let err = Tls::open(&d, Some(&cert), Some(&key), &[], "https://x", now()).err().unwrap_or_default();
        assert!(err.contains("certificate"), "{err}");
        let pair = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).expect("self-signed");
        std::fs::write(&cert, pair.cert.pem()).expect("write");
        std::fs::write(&key, pair.signing_key.serialize_pem()).expect("write");
        let tls = Tls::open(&d, Some(&cert), Some(&key), &[], "https://x", now()).map_err(|e| e.to_string());
        assert!(tls.as_ref().is_ok_and(|t| t.ca_pem().is_none() && !t.generated), "{:?}", tls.err());
        let _ = std::fs::remove_dir_all(&d);
    }
}
