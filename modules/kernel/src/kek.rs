//! The key-encryption key (KEK): every private key and shared secret the appliance keeps
//! (tenant CAs, signer keys, key files, TOTP secrets) is sealed with it before it reaches the
//! database, so a copy of `keiyaku.redb` alone reveals none.
//!
//! The KEK is 32 random bytes, hex, in `<data_dir>/certs-kek`, created on first use with
//! mode 0600 and refused when group or others can read it. Sealing is AES-256-GCM with a
//! random 96-bit nonce; the record's identity (e.g. `HXOS2/ca`) is the associated data, so a
//! sealed key cannot be moved to another record.

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Why the KEK cannot be used (its file, or a sealed value that does not open).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct KekError(pub String);

impl KekError {
    fn new(what: &str) -> Self {
        KekError(what.to_string())
    }
}

/// File name of the KEK inside the data directory.
pub const KEK_FILE: &str = "certs-kek";

/// A sealed secret: base64 of nonce ‖ ciphertext ‖ tag.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sealed(pub String);

pub struct Kek {
    key: LessSafeKey,
    path: PathBuf,
}

impl std::fmt::Debug for Kek {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Kek").field("path", &self.path).finish_non_exhaustive()
    }
}

impl Kek {
    /// The KEK of a data directory, created (0600) when missing.
    pub fn for_data_dir(dir: &Path) -> Result<Self, KekError> {
        Self::load_or_create(&dir.join(KEK_FILE))
    }

    pub fn load_or_create(path: &Path) -> Result<Self, KekError> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => {
                check_private(path)?;
                t
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => create(path)?,
            Err(e) => return Err(KekError(format!("{}: {e}", path.display()))),
        };
        let bytes = hex::decode(text.trim()).map_err(|_| KekError(format!("{}: not a hex key", path.display())))?;
        if bytes.len() != 32 {
            return Err(KekError(format!("{}: the key must be 32 bytes", path.display())));
        }
        let key = UnboundKey::new(&AES_256_GCM, &bytes).map_err(|_| KekError::new("kek: bad key"))?;
        Ok(Self { key: LessSafeKey::new(key), path: path.to_path_buf() })
    }

    /// Seals `plain` for the record `aad`.
    pub fn seal(&self, aad: &str, plain: &[u8]) -> Result<Sealed, KekError> {
        let mut nonce = [0u8; NONCE_LEN];
        aws_lc_rs::rand::fill(&mut nonce).map_err(|_| KekError::new("kek: no randomness"))?;
        let mut buf = plain.to_vec();
        self.key
            .seal_in_place_append_tag(Nonce::assume_unique_for_key(nonce), Aad::from(aad.as_bytes()), &mut buf)
            .map_err(|_| KekError::new("kek: seal failed"))?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&buf);
        Ok(Sealed(B64.encode(out)))
    }

    /// Opens what [`Kek::seal`] sealed for `aad`.
    pub fn open(&self, aad: &str, sealed: &Sealed) -> Result<Vec<u8>, KekError> {
        let raw = B64.decode(&sealed.0).map_err(|_| KekError::new("kek: sealed value is not base64"))?;
        if raw.len() < NONCE_LEN + 16 {
            return Err(KekError::new("kek: sealed value too short"));
        }
        let (nonce, body) = raw.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| KekError::new("kek: bad nonce"))?;
        let mut buf = body.to_vec();
        let plain = self
            .key
            .open_in_place(nonce, Aad::from(aad.as_bytes()), &mut buf)
            .map_err(|_| KekError::new("kek: cannot open a sealed key (wrong KEK or record)"))?;
        Ok(plain.to_vec())
    }
}

/// Writes a new random key with mode 0600; when another process won the race, reads its key.
fn create(path: &Path) -> Result<String, KekError> {
    let mut key = [0u8; 32];
    aws_lc_rs::rand::fill(&mut key).map_err(|_| KekError::new("kek: no randomness"))?;
    let text = format!("{}\n", hex::encode(key));
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| KekError(format!("{}: {e}", dir.display())))?;
    }
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    match opts.open(path) {
        Ok(mut f) => {
            f.write_all(text.as_bytes())
                .and_then(|()| f.sync_all())
                .map_err(|e| KekError(format!("{}: {e}", path.display())))?;
            tracing::info!(path = %path.display(), "created the key-encryption key");
            Ok(text)
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            std::fs::read_to_string(path).map_err(|e| KekError(format!("{}: {e}", path.display())))
        }
        Err(e) => Err(KekError(format!("{}: {e}", path.display()))),
    }
}

/// Refuses a KEK file that group or others may read.
fn check_private(path: &Path) -> Result<(), KekError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let meta = std::fs::metadata(path).map_err(|e| KekError(format!("{}: {e}", path.display())))?;
        if meta.permissions().mode() & 0o077 != 0 {
            return Err(KekError(format!("{}: readable by others; refusing to use it (chmod 600)", path.display())));
        }
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir() -> PathBuf {
        let d = std::env::temp_dir().join(format!("keiyaku-kek-{}", crate::ids::new_id()));
        let _ = std::fs::create_dir_all(&d);
        d
    }

    #[test]
    fn seals_and_opens_bound_to_the_record() {
        let d = dir();
        let kek = Kek::for_data_dir(&d).unwrap_or_else(|e| panic!("{e}"));
        let sealed = kek.seal("HXOS2/ca", b"secret key").unwrap_or_else(|e| panic!("{e}"));
        assert!(!sealed.0.contains("secret"));
        assert_eq!(kek.open("HXOS2/ca", &sealed).ok().as_deref(), Some(&b"secret key"[..]));
        assert!(kek.open("OTHER/ca", &sealed).is_err());
        assert!(kek.open("HXOS2/ca", &Sealed("AAAA".into())).is_err());
        // The same file gives the same key.
        let again = Kek::for_data_dir(&d).unwrap_or_else(|e| panic!("{e}"));
        assert!(again.open("HXOS2/ca", &sealed).is_ok());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(d.join(KEK_FILE)).map(|m| m.permissions().mode() & 0o777).unwrap_or(0);
            assert_eq!(mode, 0o600);
            let _ = std::fs::set_permissions(d.join(KEK_FILE), std::fs::Permissions::from_mode(0o644));
            assert!(Kek::for_data_dir(&d).is_err());
        }
        let _ = std::fs::remove_dir_all(&d);
    }
}
