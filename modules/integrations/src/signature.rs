//! Standard Webhooks signatures: `v1,` + base64(HMAC-SHA256(key, "{id}.{timestamp}.{body}")),
//! the key being the bytes a `whsec_` secret encodes.

use aws_lc_rs::hmac;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;

/// The prefix of a serialized signing secret.
pub const SECRET_PREFIX: &str = "whsec_";

/// Random key bytes of a new endpoint (the specification asks for 24 to 64).
pub const KEY_BYTES: usize = 32;

/// A new signing key and its serialized form (`whsec_` + base64), shown once.
pub fn new_secret() -> Result<(Vec<u8>, String), String> {
    let mut key = vec![0u8; KEY_BYTES];
    aws_lc_rs::rand::fill(&mut key).map_err(|_| "no randomness".to_string())?;
    let shown = format!("{SECRET_PREFIX}{}", B64.encode(&key));
    Ok((key, shown))
}

/// The key bytes of a serialized secret (with or without the `whsec_` prefix).
pub fn key_of(secret: &str) -> Option<Vec<u8>> {
    B64.decode(secret.strip_prefix(SECRET_PREFIX).unwrap_or(secret)).ok()
}

/// The `webhook-signature` header value of a message.
pub fn sign(key: &[u8], msg_id: &str, timestamp: i64, body: &[u8]) -> String {
    let key = hmac::Key::new(hmac::HMAC_SHA256, key);
    let mut ctx = hmac::Context::with_key(&key);
    ctx.update(msg_id.as_bytes());
    ctx.update(b".");
    ctx.update(timestamp.to_string().as_bytes());
    ctx.update(b".");
    ctx.update(body);
    format!("v1,{}", B64.encode(ctx.sign().as_ref()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The signing vector of the specification's reference libraries
    /// (standard-webhooks `libraries/go/webhook_test.go` `TestWebhookSign`, the same in
    /// every language).
    #[test]
    fn reference_vector() {
        let key = key_of("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap_or_default();
        assert_eq!(key.len(), 24);
        let sig = sign(&key, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, br#"{"test": 2432232314}"#);
        assert_eq!(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
        // The prefix is optional when decoding, as in the reference libraries.
        assert_eq!(key_of("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"), Some(key));
    }

    #[test]
    fn new_secrets_are_random_and_decode_to_their_key() {
        let (k1, s1) = new_secret().unwrap_or_default();
        let (_, s2) = new_secret().unwrap_or_default();
        assert_ne!(s1, s2);
        assert!(s1.starts_with("whsec_"));
        assert_eq!(key_of(&s1), Some(k1.clone()));
        assert_eq!(k1.len(), KEY_BYTES);
    }
}
