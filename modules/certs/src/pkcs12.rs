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
    kdf_with(&aws_lc_rs::digest::SHA256, &bmp_password(password), salt, id, iterations, len)
}

/// The password as a BMPString with a terminating NUL (what the PKCS#12 KDF takes).
fn bmp_password(password: &str) -> Vec<u8> {
    let mut pw: Vec<u8> = password.encode_utf16().flat_map(u16::to_be_bytes).collect();
    pw.extend_from_slice(&[0, 0]);
    pw
}

/// The PKCS#12 key derivation over hash `alg` and the password bytes `pw` (BMPString).
fn kdf_with(
    alg: &'static aws_lc_rs::digest::Algorithm,
    pw: &[u8],
    salt: &[u8],
    id: u8,
    iterations: u32,
    len: usize,
) -> Vec<u8> {
    let v = alg.block_len();
    let fill = |src: &[u8]| -> Vec<u8> {
        if src.is_empty() {
            return Vec::new();
        }
        let n = v * src.len().div_ceil(v);
        src.iter().cycle().take(n).copied().collect()
    };
    let mut i_block = fill(salt);
    i_block.extend(fill(pw));
    let d = vec![id; v];
    let mut out = Vec::with_capacity(len + alg.output_len());
    while out.len() < len {
        let mut ctx = aws_lc_rs::digest::Context::new(alg);
        ctx.update(&d);
        ctx.update(&i_block);
        let mut a = ctx.finish().as_ref().to_vec();
        for _ in 1..iterations {
            a = aws_lc_rs::digest::digest(alg, &a).as_ref().to_vec();
        }
        out.extend_from_slice(&a);
        if out.len() >= len {
            break;
        }
        let b: Vec<u8> = a.iter().cycle().take(v).copied().collect();
        for chunk in i_block.chunks_mut(v) {
            // chunk = (chunk + b + 1) mod 2^(8v)
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

// ---------------------------------------------------------------------------------------
// Reading a PKCS#12 file from an outside CA (`importCertificate`)

const KEY_BAG: &[u64] = &[1, 2, 840, 113549, 1, 12, 10, 1, 1];
const SAFE_CONTENTS_BAG: &[u64] = &[1, 2, 840, 113549, 1, 12, 10, 1, 6];
const ID_ENCRYPTED_DATA: &[u64] = &[1, 2, 840, 113549, 1, 7, 6];
/// The PKCS#12 PBE arc (pbeWithSHAAnd3-KeyTripleDES-CBC, RC2, …: `openssl pkcs12 -legacy`).
const PKCS12_PBE_ARC: &[u64] = &[1, 2, 840, 113549, 1, 12, 1];
const HMAC_SHA1: &[u64] = &[1, 2, 840, 113549, 2, 7];
const HMAC_SHA384: &[u64] = &[1, 2, 840, 113549, 2, 10];
const HMAC_SHA512: &[u64] = &[1, 2, 840, 113549, 2, 11];
const AES_128_CBC: &[u64] = &[2, 16, 840, 1, 101, 3, 4, 1, 2];
const AES_192_CBC: &[u64] = &[2, 16, 840, 1, 101, 3, 4, 1, 22];
const SHA1: &[u64] = &[1, 3, 14, 3, 2, 26];
const SHA384: &[u64] = &[2, 16, 840, 1, 101, 3, 4, 2, 2];
const SHA512: &[u64] = &[2, 16, 840, 1, 101, 3, 4, 2, 3];
/// More iterations than this (of the MAC or of PBKDF2) are refused: a file must not make
/// the appliance compute for minutes.
const MAX_ITERATIONS: u64 = 10_000_000;
/// At most this many bags are read.
const MAX_BAGS: usize = 64;

/// What a PKCS#12 file holds: its private keys (PKCS#8 DER) and certificates (DER), in
/// file order.
#[derive(Debug, Default)]
pub struct Contents {
    pub keys: Vec<Vec<u8>>,
    pub certs: Vec<Vec<u8>>,
}

/// Why a PKCS#12 file could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadError {
    /// Not PKCS#12 (or damaged).
    Invalid,
    /// The integrity MAC or the decryption says the password is wrong.
    WrongPassword,
    /// A protection this reader does not implement (the legacy PKCS#12 PBEs: 3DES, RC2;
    /// PBMAC1), or absurd iteration counts.
    Unsupported,
}

fn is(o: &ObjectIdentifier, parts: &[u64]) -> bool {
    o.components().as_slice() == parts
}

struct MacData {
    alg: ObjectIdentifier,
    digest: Vec<u8>,
    salt: Vec<u8>,
    iterations: u64,
}

/// `AlgorithmIdentifier` as (OID, DER of the parameters when present).
fn read_alg(r: yasna::BERReader<'_, '_>) -> yasna::ASN1Result<(ObjectIdentifier, Option<Vec<u8>>)> {
    r.read_sequence(|r| {
        let o = r.next().read_oid()?;
        let params = r.read_optional(|r| r.read_der())?;
        Ok((o, params))
    })
}

/// Reads `file` with `password`: checks the integrity MAC (HMAC with SHA-1/256/384/512 over
/// the PKCS#12 key derivation), decrypts PBES2 (PBKDF2 with HMAC-SHA-1/256/384/512,
/// AES-128/192/256-CBC) content and key bags, and collects keys and certificates.
pub fn read(file: &[u8], password: &str) -> Result<Contents, ReadError> {
    let (auth_safe, mac) = yasna::parse_ber(file, |r| {
        r.read_sequence(|r| {
            if r.next().read_u64()? != 3 {
                return Err(yasna::ASN1Error::new(yasna::ASN1ErrorKind::Invalid));
            }
            let auth_safe = r.next().read_sequence(|r| {
                if !is(&r.next().read_oid()?, ID_DATA) {
                    return Err(yasna::ASN1Error::new(yasna::ASN1ErrorKind::Invalid));
                }
                r.next().read_tagged(Tag::context(0), |r| r.read_bytes())
            })?;
            let mac = r.read_optional(|r| {
                r.read_sequence(|r| {
                    let (alg, digest) = r.next().read_sequence(|r| {
                        let (alg, _) = read_alg(r.next())?;
                        Ok((alg, r.next().read_bytes()?))
                    })?;
                    let salt = r.next().read_bytes()?;
                    let iterations = r.read_default(1, |r| r.read_u64())?;
                    Ok(MacData { alg, digest, salt, iterations })
                })
            })?;
            Ok((auth_safe, mac))
        })
    })
    .map_err(|_| ReadError::Invalid)?;
    let verified = match &mac {
        Some(m) => {
            check_mac(m, &auth_safe, password)?;
            true
        }
        None => false,
    };
    let infos = yasna::parse_ber(&auth_safe, |r| {
        let mut out = Vec::new();
        r.read_sequence_of(|r| {
            out.push(r.read_sequence(|r| {
                let kind = r.next().read_oid()?;
                let body = r.next().read_tagged(Tag::context(0), |r| r.read_der())?;
                Ok((kind, body))
            })?);
            Ok(())
        })?;
        Ok(out)
    })
    .map_err(|_| ReadError::Invalid)?;
    // Without a MAC a wrong password shows as content that does not decrypt or parse.
    let undecryptable = if verified { ReadError::Invalid } else { ReadError::WrongPassword };
    let mut contents = Contents::default();
    let mut bags = 0;
    for (kind, body) in infos {
        let safe_contents = if is(&kind, ID_DATA) {
            yasna::parse_ber(&body, |r| r.read_bytes()).map_err(|_| ReadError::Invalid)?
        } else if is(&kind, ID_ENCRYPTED_DATA) {
            let (alg, data) = yasna::parse_ber(&body, |r| {
                r.read_sequence(|r| {
                    r.next().read_u64()?;
                    r.next().read_sequence(|r| {
                        r.next().read_oid()?;
                        let alg = r.next().read_der()?;
                        let data = r.next().read_tagged_implicit(Tag::context(0), |r| r.read_bytes())?;
                        Ok((alg, data))
                    })
                })
            })
            .map_err(|_| ReadError::Invalid)?;
            decrypt(&alg, &data, password).map_err(|e| if e == ReadError::WrongPassword { undecryptable } else { e })?
        } else {
            // Enveloped (public-key) content cannot be opened with a password.
            return Err(ReadError::Unsupported);
        };
        read_bags(&safe_contents, password, undecryptable, &mut contents, &mut bags, 0)?;
    }
    Ok(contents)
}

fn check_mac(m: &MacData, auth_safe: &[u8], password: &str) -> Result<(), ReadError> {
    use aws_lc_rs::{digest, hmac};
    let (d, h) = if is(&m.alg, SHA256) {
        (&digest::SHA256, hmac::HMAC_SHA256)
    } else if is(&m.alg, SHA1) {
        (&digest::SHA1_FOR_LEGACY_USE_ONLY, hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY)
    } else if is(&m.alg, SHA384) {
        (&digest::SHA384, hmac::HMAC_SHA384)
    } else if is(&m.alg, SHA512) {
        (&digest::SHA512, hmac::HMAC_SHA512)
    } else {
        // PBMAC1 (`openssl pkcs12 -pbmac1_pbkdf2`) and anything else.
        return Err(ReadError::Unsupported);
    };
    if m.iterations == 0 || m.iterations > MAX_ITERATIONS {
        return Err(ReadError::Unsupported);
    }
    let iterations = u32::try_from(m.iterations).map_err(|_| ReadError::Unsupported)?;
    // An empty password is derived as an empty BMPString with its NUL, or (as some
    // writers do) as nothing at all.
    let mut candidates = vec![bmp_password(password)];
    if password.is_empty() {
        candidates.push(Vec::new());
    }
    for pw in candidates {
        let key = kdf_with(d, &pw, &m.salt, 3, iterations, d.output_len());
        if hmac::verify(&hmac::Key::new(h, &key), auth_safe, &m.digest).is_ok() {
            return Ok(());
        }
    }
    Err(ReadError::WrongPassword)
}

/// Decrypts `data` protected by the PBES2 `AlgorithmIdentifier` DER `alg` with `password`.
fn decrypt(alg: &[u8], data: &[u8], password: &str) -> Result<Vec<u8>, ReadError> {
    use aws_lc_rs::cipher::{AES_128, AES_192, DecryptionContext, PaddedBlockDecryptingKey};
    let (scheme, params) = yasna::parse_ber(alg, read_alg).map_err(|_| ReadError::Invalid)?;
    if !is(&scheme, PBES2) {
        let legacy =
            scheme.components().len() > PKCS12_PBE_ARC.len() && scheme.components().starts_with(PKCS12_PBE_ARC);
        return Err(if legacy { ReadError::Unsupported } else { ReadError::Invalid });
    }
    let params = params.ok_or(ReadError::Invalid)?;
    let (kdf, salt, iterations, prf, cipher, iv) = yasna::parse_ber(&params, |r| {
        r.read_sequence(|r| {
            let (kdf, salt, iterations, prf) = r.next().read_sequence(|r| {
                let kdf = r.next().read_oid()?;
                let (salt, iterations, prf) = r.next().read_sequence(|r| {
                    let salt = r.next().read_bytes()?;
                    let iterations = r.next().read_u64()?;
                    r.read_optional(|r| r.read_u64())?;
                    let prf = r.read_optional(|r| read_alg(r).map(|(o, _)| o))?;
                    Ok((salt, iterations, prf))
                })?;
                Ok((kdf, salt, iterations, prf))
            })?;
            let (cipher, iv) = r.next().read_sequence(|r| {
                let cipher = r.next().read_oid()?;
                let iv = r.next().read_bytes()?;
                Ok((cipher, iv))
            })?;
            Ok((kdf, salt, iterations, prf, cipher, iv))
        })
    })
    .map_err(|_| ReadError::Invalid)?;
    if !is(&kdf, PBKDF2) {
        return Err(ReadError::Unsupported);
    }
    let prf = match prf {
        None => aws_lc_rs::pbkdf2::PBKDF2_HMAC_SHA1,
        Some(o) if is(&o, HMAC_SHA1) => aws_lc_rs::pbkdf2::PBKDF2_HMAC_SHA1,
        Some(o) if is(&o, HMAC_SHA256) => aws_lc_rs::pbkdf2::PBKDF2_HMAC_SHA256,
        Some(o) if is(&o, HMAC_SHA384) => aws_lc_rs::pbkdf2::PBKDF2_HMAC_SHA384,
        Some(o) if is(&o, HMAC_SHA512) => aws_lc_rs::pbkdf2::PBKDF2_HMAC_SHA512,
        Some(_) => return Err(ReadError::Unsupported),
    };
    let (algorithm, key_len) = if is(&cipher, AES_256_CBC) {
        (&AES_256, 32)
    } else if is(&cipher, AES_192_CBC) {
        (&AES_192, 24)
    } else if is(&cipher, AES_128_CBC) {
        (&AES_128, 16)
    } else {
        return Err(ReadError::Unsupported);
    };
    if iterations > MAX_ITERATIONS {
        return Err(ReadError::Unsupported);
    }
    let iterations = u32::try_from(iterations).ok().and_then(NonZeroU32::new).ok_or(ReadError::Invalid)?;
    let iv: [u8; 16] = iv.as_slice().try_into().map_err(|_| ReadError::Invalid)?;
    let mut dk = vec![0u8; key_len];
    aws_lc_rs::pbkdf2::derive(prf, iterations, &salt, password.as_bytes(), &mut dk);
    let key = UnboundCipherKey::new(algorithm, &dk).map_err(|_| ReadError::Invalid)?;
    let dec = PaddedBlockDecryptingKey::cbc_pkcs7(key).map_err(|_| ReadError::Invalid)?;
    let mut buf = data.to_vec();
    let plain =
        dec.decrypt(&mut buf, DecryptionContext::Iv128(FixedLength::from(iv))).map_err(|_| ReadError::WrongPassword)?;
    Ok(plain.to_vec())
}

/// Collects the keys and certificates of a `SafeContents` (nested ones up to 3 deep).
fn read_bags(
    safe_contents: &[u8],
    password: &str,
    undecryptable: ReadError,
    out: &mut Contents,
    bags: &mut usize,
    depth: usize,
) -> Result<(), ReadError> {
    let list = yasna::parse_ber(safe_contents, |r| {
        let mut list = Vec::new();
        r.read_sequence_of(|r| {
            list.push(r.read_sequence(|r| {
                let id = r.next().read_oid()?;
                let value = r.next().read_tagged(Tag::context(0), |r| r.read_der())?;
                r.read_optional(|r| r.read_der())?;
                Ok((id, value))
            })?);
            Ok(())
        })?;
        Ok(list)
    })
    .map_err(|_| undecryptable)?;
    for (id, value) in list {
        *bags += 1;
        if *bags > MAX_BAGS {
            return Err(ReadError::Invalid);
        }
        if is(&id, KEY_BAG) {
            out.keys.push(value);
        } else if is(&id, SHROUDED_KEY_BAG) {
            let (alg, data) =
                yasna::parse_ber(&value, |r| r.read_sequence(|r| Ok((r.next().read_der()?, r.next().read_bytes()?))))
                    .map_err(|_| ReadError::Invalid)?;
            let key = decrypt(&alg, &data, password)
                .map_err(|e| if e == ReadError::WrongPassword { undecryptable } else { e })?;
            out.keys.push(key);
        } else if is(&id, CERT_BAG) {
            let cert = yasna::parse_ber(&value, |r| {
                r.read_sequence(|r| {
                    let kind = r.next().read_oid()?;
                    let der = r.next().read_tagged(Tag::context(0), |r| r.read_bytes())?;
                    Ok(is(&kind, X509_CERTIFICATE).then_some(der))
                })
            })
            .map_err(|_| ReadError::Invalid)?;
            out.certs.extend(cert);
        } else if is(&id, SAFE_CONTENTS_BAG) && depth < 3 {
            read_bags(&value, password, undecryptable, out, bags, depth + 1)?;
        }
    }
    Ok(())
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
            seal_sha256: None,
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
