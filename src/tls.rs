//! TLS material: a configured PEM certificate and key, or a self-signed certificate made
//! with rcgen on first start and kept in the data directory.

use std::path::{Path, PathBuf};

pub struct TlsMaterial {
    pub cert_pem: String,
    pub key_pem: String,
    /// Where it came from, for the start-up message.
    pub source: PathBuf,
    pub generated: bool,
}

/// Loads the configured pair, or the self-signed pair from `data_dir/tls`, making it first
/// when absent. The self-signed certificate names `localhost`, `127.0.0.1`, `::1` and
/// `host_names`.
pub fn load_or_create(
    data_dir: &Path,
    cert: Option<&Path>,
    key: Option<&Path>,
    host_names: &[String],
) -> Result<TlsMaterial, String> {
    if let (Some(cert), Some(key)) = (cert, key) {
        let cert_pem = std::fs::read_to_string(cert).map_err(|e| format!("server.tls_cert {}: {e}", cert.display()))?;
        let key_pem = std::fs::read_to_string(key).map_err(|e| format!("server.tls_key {}: {e}", key.display()))?;
        check_pair(&cert_pem, &key_pem)?;
        return Ok(TlsMaterial { cert_pem, key_pem, source: cert.to_path_buf(), generated: false });
    }
    let dir = data_dir.join("tls");
    let (cert_path, key_path) = (dir.join("cert.pem"), dir.join("key.pem"));
    if cert_path.is_file() && key_path.is_file() {
        let cert_pem = std::fs::read_to_string(&cert_path).map_err(|e| format!("{}: {e}", cert_path.display()))?;
        let key_pem = std::fs::read_to_string(&key_path).map_err(|e| format!("{}: {e}", key_path.display()))?;
        check_pair(&cert_pem, &key_pem)?;
        return Ok(TlsMaterial { cert_pem, key_pem, source: cert_path, generated: false });
    }
    let mut names = vec!["localhost".to_string(), "127.0.0.1".to_string(), "::1".to_string()];
    for h in host_names {
        if !names.contains(h) {
            names.push(h.clone());
        }
    }
    let certified =
        rcgen::generate_simple_self_signed(names).map_err(|e| format!("generating the TLS certificate: {e}"))?;
    let cert_pem = certified.cert.pem();
    let key_pem = certified.signing_key.serialize_pem();
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    write_private(&key_path, key_pem.as_bytes())?;
    std::fs::write(&cert_path, cert_pem.as_bytes()).map_err(|e| format!("{}: {e}", cert_path.display()))?;
    Ok(TlsMaterial { cert_pem, key_pem, source: cert_path, generated: true })
}

/// Writes a secret file readable by the owner only.
pub fn write_private(path: &Path, bytes: &[u8]) -> Result<(), String> {
    use std::io::Write;
    #[cfg(unix)]
    use std::os::unix::fs::OpenOptionsExt;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    opts.mode(0o600);
    let mut f = opts.open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    f.write_all(bytes).and_then(|_| f.sync_all()).map_err(|e| format!("{}: {e}", path.display()))
}

fn check_pair(cert: &str, key: &str) -> Result<(), String> {
    if !cert.contains("-----BEGIN CERTIFICATE-----") {
        return Err("the TLS certificate is not a PEM certificate".into());
    }
    if !key.contains("PRIVATE KEY-----") {
        return Err("the TLS key is not a PEM private key".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn self_signed_is_made_once_and_reused() {
        let dir = std::env::temp_dir().join(format!("keiyaku-tls-{}", keiyaku_kernel::ids::new_id()));
        let first = load_or_create(&dir, None, None, &["keiyaku.example.jp".into()]);
        let first = match first {
            Ok(m) => m,
            Err(e) => panic!("{e}"),
        };
        assert!(first.generated);
        let again = load_or_create(&dir, None, None, &[]).map(|m| (m.generated, m.cert_pem));
        assert_eq!(again.ok(), Some((false, first.cert_pem)));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.join("tls/key.pem")).map(|m| m.permissions().mode() & 0o777).unwrap_or(0);
            assert_eq!(mode, 0o600);
        }
    }
}
