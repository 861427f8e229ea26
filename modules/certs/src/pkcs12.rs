//! PKCS#12 (RFC 7292) key files, as OpenSSL 3 writes them by default: the certificates in a
//! plain `data` SafeContents, the private key in a PKCS#8 shrouded key bag encrypted with
//! PBES2 (PBKDF2-HMAC-SHA256, AES-256-CBC), and an HMAC-SHA256 integrity MAC keyed by the
//! PKCS#12 key derivation of the password. Readable by OpenSSL, Windows, macOS and Acrobat.

use crate::error::CertsError;
use aws_lc_rs::cipher::{AES_256, EncryptionContext, PaddedBlockEncryptingKey, UnboundCipherKey};
use aws_lc_rs::iv::FixedLength;
use sha2::{Digest, Sha256};
use std::num::NonZeroU32;
use yasna::models::ObjectIdentifier;
use yasna::{DERWriter, Tag};

const ID_DATA: &[u64] = &[1, 2, 840, 113549, 1, 7, 1];
const CERT_BAG: &[u64] = &[1, 2, 840, 113549, 1, 12, 10, 1, 3];
const SHROUDED_KEY_BAG: &[u64] = &[1, 2, 840, 113549, 1, 12, 10, 1, 2];
const X509_CERTIFICATE: &[u64] = &[1, 2, 840, 113549, 1, 9, 22, 1];
const FRIENDLY_NAME: &[u64] = &[1, 2, 840, 113549, 1, 9, 20];
const LOCAL_KEY_ID: &[u64] = &[1, 2, 840, 113549, 1, 9, 21];
const PBES2: &[u64] = &[1, 2, 840, 113549, 1, 5, 13];
const PBKDF2: &[u64] = &[1, 2, 840, 113549, 1, 5, 12];
const HMAC_SHA256: &[u64] = &[1, 2, 840, 113549, 2, 9];
const AES_256_CBC: &[u64] = &[2, 16, 840, 1, 101, 3, 4, 1, 42];
const SHA256: &[u64] = &[2, 16, 840, 1, 101, 3, 4, 2, 1];

/// PBKDF2 iterations of the key encryption (OWASP 2023 for PBKDF2-HMAC-SHA256).
pub const KEY_ITERATIONS: u32 = 600_000;
/// Iterations of the MAC key derivation.
pub const MAC_ITERATIONS: u32 = 2048;

fn oid(w: DERWriter<'_>, parts: &[u64]) {
    w.write_oid(&ObjectIdentifier::from_slice(parts));
}

fn random<const N: usize>() -> Result<[u8; N], CertsError> {
    let mut b = [0u8; N];
    aws_lc_rs::rand::fill(&mut b).map_err(|_| CertsError::crypto("no randomness"))?;
    Ok(b)
}

/// Bag attributes: friendlyName and localKeyId (the same on the key and its certificate).
fn attributes(w: DERWriter<'_>, name: &str, key_id: &[u8]) {
    w.write_set(|w| {
        w.next().write_sequence(|w| {
            oid(w.next(), FRIENDLY_NAME);
            w.next().write_set(|w| w.next().write_bmp_string(name));
        });
        w.next().write_sequence(|w| {
            oid(w.next(), LOCAL_KEY_ID);
            w.next().write_set(|w| w.next().write_bytes(key_id));
        });
    });
}

/// The PKCS#12 key derivation (RFC 7292 appendix B.2) with SHA-256: `id` 3 is the MAC key.
fn pkcs12_kdf(password: &str, salt: &[u8], id: u8, iterations: u32, len: usize) -> Vec<u8> {
    const V: usize = 64;
    const U: usize = 32;
    // The password as a BMPString with a terminating NUL.
    let mut pw: Vec<u8> = password.encode_utf16().flat_map(u16::to_be_bytes).collect();
    pw.extend_from_slice(&[0, 0]);
    let fill = |src: &[u8]| -> Vec<u8> {
        if src.is_empty() {
            return Vec::new();
        }
        let n = V * src.len().div_ceil(V);
        src.iter().cycle().take(n).copied().collect()
    };
    let mut i_block = fill(salt);
    i_block.extend(fill(&pw));
    let d = [id; V];
    let mut out = Vec::with_capacity(len + U);
    while out.len() < len {
        let mut a = Sha256::new().chain_update(d).chain_update(&i_block).finalize();
        for _ in 1..iterations {
            a = Sha256::digest(a);
        }
        out.extend_from_slice(&a);
        if out.len() >= len {
            break;
        }
        let b: Vec<u8> = a.iter().cycle().take(V).copied().collect();
        for chunk in i_block.chunks_mut(V) {
            // chunk = (chunk + b + 1) mod 2^(8V)
            let mut carry = 1u16;
            for k in (0..chunk.len()).rev() {
                let sum = u16::from(chunk[k]) + u16::from(b[k]) + carry;
                chunk[k] = (sum & 0xFF) as u8;
                carry = sum >> 8;
            }
        }
    }
    out.truncate(len);
    out
}

/// Encrypts the PKCS#8 key with PBES2; returns the EncryptedPrivateKeyInfo DER.
fn shroud(key_pkcs8: &[u8], password: &str) -> Result<Vec<u8>, CertsError> {
    let salt: [u8; 16] = random()?;
    let iv: [u8; 16] = random()?;
    let mut dk = [0u8; 32];
    let iterations = NonZeroU32::new(KEY_ITERATIONS).unwrap_or(NonZeroU32::MIN);
    aws_lc_rs::pbkdf2::derive(aws_lc_rs::pbkdf2::PBKDF2_HMAC_SHA256, iterations, &salt, password.as_bytes(), &mut dk);
    let key = UnboundCipherKey::new(&AES_256, &dk).map_err(|_| CertsError::crypto("pkcs12: bad key"))?;
    let enc = PaddedBlockEncryptingKey::cbc_pkcs7(key).map_err(|_| CertsError::crypto("pkcs12: cipher"))?;
    let mut data = key_pkcs8.to_vec();
    enc.less_safe_encrypt(&mut data, EncryptionContext::Iv128(FixedLength::from(iv)))
        .map_err(|_| CertsError::crypto("pkcs12: encryption failed"))?;
    Ok(yasna::construct_der(|w| {
        w.write_sequence(|w| {
            w.next().write_sequence(|w| {
                oid(w.next(), PBES2);
                w.next().write_sequence(|w| {
                    w.next().write_sequence(|w| {
                        oid(w.next(), PBKDF2);
                        w.next().write_sequence(|w| {
                            w.next().write_bytes(&salt);
                            w.next().write_u32(KEY_ITERATIONS);
                            w.next().write_sequence(|w| {
                                oid(w.next(), HMAC_SHA256);
                                w.next().write_null();
                            });
                        });
                    });
                    w.next().write_sequence(|w| {
                        oid(w.next(), AES_256_CBC);
                        w.next().write_bytes(&iv);
                    });
                });
            });
            w.next().write_bytes(&data);
        });
    }))
}

/// `ContentInfo { id-data, [0] OCTET STRING content }`.
fn data_content_info(w: DERWriter<'_>, content: &[u8]) {
    w.write_sequence(|w| {
        oid(w.next(), ID_DATA);
        w.next().write_tagged(Tag::context(0), |w| w.write_bytes(content));
    });
}

/// A PKCS#12 file with the signer's certificate (and the CA's, when given) and its key,
/// protected by `password`.
pub fn build(
    cert_der: &[u8],
    ca_der: Option<&[u8]>,
    key_pkcs8: &[u8],
    password: &str,
    friendly_name: &str,
) -> Result<Vec<u8>, CertsError> {
    let key_id: Vec<u8> = Sha256::digest(cert_der)[..20].to_vec();
    let certs = yasna::construct_der(|w| {
        w.write_sequence(|w| {
            for (der, is_leaf) in std::iter::once((cert_der, true)).chain(ca_der.map(|c| (c, false))) {
                w.next().write_sequence(|w| {
                    oid(w.next(), CERT_BAG);
                    w.next().write_tagged(Tag::context(0), |w| {
                        w.write_sequence(|w| {
                            oid(w.next(), X509_CERTIFICATE);
                            w.next().write_tagged(Tag::context(0), |w| w.write_bytes(der));
                        });
                    });
                    if is_leaf {
                        attributes(w.next(), friendly_name, &key_id);
                    }
                });
            }
        });
    });
    let shrouded = shroud(key_pkcs8, password)?;
    let keys = yasna::construct_der(|w| {
        w.write_sequence(|w| {
            w.next().write_sequence(|w| {
                oid(w.next(), SHROUDED_KEY_BAG);
                w.next().write_tagged(Tag::context(0), |w| w.write_der(&shrouded));
                attributes(w.next(), friendly_name, &key_id);
            });
        });
    });
    let auth_safe = yasna::construct_der(|w| {
        w.write_sequence(|w| {
            data_content_info(w.next(), &certs);
            data_content_info(w.next(), &keys);
        });
    });
    let mac_salt: [u8; 16] = random()?;
    let mac_key = pkcs12_kdf(password, &mac_salt, 3, MAC_ITERATIONS, 32);
    let tag = aws_lc_rs::hmac::sign(&aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, &mac_key), &auth_safe);
    Ok(yasna::construct_der(|w| {
        w.write_sequence(|w| {
            w.next().write_u8(3);
            data_content_info(w.next(), &auth_safe);
            w.next().write_sequence(|w| {
                w.next().write_sequence(|w| {
                    w.next().write_sequence(|w| {
                        oid(w.next(), SHA256);
                        w.next().write_null();
                    });
                    w.next().write_bytes(tag.as_ref());
                });
                w.next().write_bytes(&mac_salt);
                w.next().write_u32(MAC_ITERATIONS);
            });
        });
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ca;

    #[test]
    fn kdf_is_deterministic_and_salted() {
        let a = pkcs12_kdf("123456789012", b"saltsalt", 3, 10, 32);
        assert_eq!(a.len(), 32);
        assert_eq!(a, pkcs12_kdf("123456789012", b"saltsalt", 3, 10, 32));
        assert_ne!(a, pkcs12_kdf("123456789012", b"saltsalT", 3, 10, 32));
        assert_ne!(a, pkcs12_kdf("123456789012", b"saltsalt", 1, 10, 32));
        assert_eq!(pkcs12_kdf("x", b"s", 3, 1, 70).len(), 70);
    }

    /// OpenSSL reads the file with the PIN and finds the certificate and the key.
    #[test]
    fn openssl_reads_the_key_file() {
        if std::process::Command::new("openssl").arg("version").output().is_err() {
            eprintln!("skipping: no openssl");
            return;
        }
        let now: jiff::Timestamp = "2026-11-25T01:00:00Z".parse().unwrap_or(jiff::Timestamp::UNIX_EPOCH);
        let ca = ca::tests_support::loaded();
        let subject = ca::Subject {
            common_name: "BN-Yamada.Taro".into(),
            organization: "アイテックコンサルタント株式会社".into(),
            email: "ito@example.jp".into(),
        };
        let endpoints = ca::Endpoints::new("https://localhost:8443", "HXOS2");
        let issued = ca::issue(&ca, &subject, &[1, 2, 3], now, ca::add_years(now, 1), &endpoints)
            .unwrap_or_else(|e| panic!("{e}"));
        let p12 = build(&issued.der, Some(&ca.der), &issued.key_pkcs8, "123456789012", "BN-Yamada.Taro")
            .unwrap_or_else(|e| panic!("{e}"));
        let dir = std::env::temp_dir().join(format!("keiyaku-p12-{}", keiyaku_kernel::ids::new_id()));
        let _ = std::fs::create_dir_all(&dir);
        let file = dir.join("k.p12");
        let _ = std::fs::write(&file, &p12);
        let out = std::process::Command::new("openssl")
            .args(["pkcs12", "-in"])
            .arg(&file)
            .args(["-passin", "pass:123456789012", "-nodes"])
            .output()
            .unwrap_or_else(|e| panic!("{e}"));
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        assert!(text.contains("BEGIN PRIVATE KEY") && text.matches("BEGIN CERTIFICATE").count() == 2, "{text}");
        assert!(text.contains("friendlyName: BN-Yamada.Taro"), "{text}");
        let wrong = std::process::Command::new("openssl")
            .args(["pkcs12", "-in"])
            .arg(&file)
            .args(["-passin", "pass:000000000000", "-nodes"])
            .output()
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(!wrong.status.success());
        // The key bag: PBES2 with PBKDF2-HMAC-SHA256 at 600,000 iterations and AES-256-CBC.
        let info = std::process::Command::new("openssl")
            .args(["pkcs12", "-info", "-noout", "-in"])
            .arg(&file)
            .args(["-passin", "pass:123456789012"])
            .output()
            .unwrap_or_else(|e| panic!("{e}"));
        let info = String::from_utf8_lossy(&info.stdout).to_string() + &String::from_utf8_lossy(&info.stderr);
        assert!(
            info.contains("Shrouded Keybag: PBES2, PBKDF2, AES-256-CBC, Iteration 600000, PRF hmacWithSHA256"),
            "{info}"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
