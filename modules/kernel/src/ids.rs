//! Identifiers.

/// A new time-ordered unique id (UUID v7, simple form), used for records and keys.
pub fn new_id() -> String {
    uuid::Uuid::now_v7().simple().to_string()
}

/// A random secret (for tokens and one-time links): `bytes` random bytes, URL-safe base64.
pub fn secret_token(bytes: usize) -> String {
    use base64::Engine;
    use rand::RngCore;
    let mut buf = vec![0u8; bytes];
    rand::rng().fill_bytes(&mut buf);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(buf)
}

/// SHA-256 of a secret, hex: what is stored instead of the secret itself.
pub fn digest(secret: &str) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(secret.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_and_ordered() {
        let a = new_id();
        let b = new_id();
        assert_ne!(a, b);
        assert_eq!(a.len(), 32);
        assert!(a < b || a[..12] == b[..12]);
    }

    #[test]
    fn tokens_are_random_and_urlsafe() {
        let t = secret_token(32);
        assert_ne!(t, secret_token(32));
        assert!(t.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'));
        assert_eq!(digest("abc").len(), 64);
    }
}
