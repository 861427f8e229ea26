//! OCSP (RFC 6960): reading requests, writing signed responses, and reading responses back
//! (to embed them in a PDF's DSS and to report what they say).
//!
//! A responder signs with a delegated OCSP signing certificate (issued by the CA it answers
//! for, extendedKeyUsage id-kp-OCSPSigning, id-pkix-ocsp-nocheck); `responderID` is byKey.

use aws_lc_rs::digest::{SHA1_FOR_LEGACY_USE_ONLY, digest};
use sha2::{Digest, Sha256};
use yasna::Tag;

use crate::PadesError;
use crate::cms::Signer;
use crate::der::*;

/// id-pkix-ocsp-basic.
const OID_OCSP_BASIC: &[u64] = &[1, 3, 6, 1, 5, 5, 7, 48, 1, 1];
/// id-pkix-ocsp-nonce.
const OID_OCSP_NONCE: &[u64] = &[1, 3, 6, 1, 5, 5, 7, 48, 1, 2];
/// id-kp-OCSPSigning.
pub const OID_KP_OCSP_SIGNING: &[u64] = &[1, 3, 6, 1, 5, 5, 7, 3, 9];
/// id-pkix-ocsp-nocheck: the responder certificate itself is not checked for revocation.
pub const OID_OCSP_NOCHECK: &[u64] = &[1, 3, 6, 1, 5, 5, 7, 48, 1, 5];
/// Nonces longer than this are refused (RFC 8954 allows 1 to 32 octets).
const MAX_NONCE: usize = 128;
/// Certificates asked about in one request.
const MAX_REQUESTS: usize = 16;

/// The hash of a [`CertId`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CertIdHash {
    /// SHA-1 (what most clients send).
    Sha1,
    /// SHA-256.
    Sha256,
}

impl CertIdHash {
    fn oid(self) -> &'static [u64] {
        match self {
            Self::Sha1 => OID_SHA1,
            Self::Sha256 => OID_SHA256,
        }
    }

    fn hash(self, data: &[u8]) -> Vec<u8> {
        match self {
            Self::Sha1 => digest(&SHA1_FOR_LEGACY_USE_ONLY, data).as_ref().to_vec(),
            Self::Sha256 => Sha256::digest(data).to_vec(),
        }
    }
}

/// A certificate named as OCSP names it: hashes of its issuer's name and key, and its serial.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertId {
    /// The hash algorithm of both hashes.
    pub hash: CertIdHash,
    /// Hash of the issuer's subject Name (DER).
    pub issuer_name_hash: Vec<u8>,
    /// Hash of the issuer's subjectPublicKey (the BIT STRING's contents).
    pub issuer_key_hash: Vec<u8>,
    /// The serial number's magnitude, big-endian, without leading zero bytes.
    pub serial: Vec<u8>,
}

impl CertId {
    /// The CertID of `cert_der`, issued by `issuer_der`.
    pub fn of(cert_der: &[u8], issuer_der: &[u8], hash: CertIdHash) -> Result<Self, PadesError> {
        let cert = parse_cert(cert_der)?;
        let issuer = parse_cert(issuer_der)?;
        let serial = parse_der(&cert.serial, |r| r.read_bigint_bytes()).map_err(asn1_err)?.0;
        Ok(Self {
            hash,
            issuer_name_hash: hash.hash(&issuer.subject),
            issuer_key_hash: hash.hash(&issuer.public_key),
            serial: strip_zeros(&serial),
        })
    }

    /// Whether this names a certificate issued by `issuer_der`.
    pub fn is_issued_by(&self, issuer_der: &[u8]) -> bool {
        parse_cert(issuer_der).is_ok_and(|issuer| {
            self.issuer_name_hash == self.hash.hash(&issuer.subject)
                && self.issuer_key_hash == self.hash.hash(&issuer.public_key)
        })
    }

    /// The serial in upper-case hex (as keiyaku's certificate records name it).
    pub fn serial_hex(&self) -> String {
        self.serial.iter().map(|b| format!("{b:02X}")).collect()
    }

    fn write(&self, w: yasna::DERWriter) {
        w.write_sequence(|w| {
            write_alg(w.next(), self.hash.oid());
            w.next().write_bytes(&self.issuer_name_hash);
            w.next().write_bytes(&self.issuer_key_hash);
            w.next().write_der(&integer_tlv(&self.serial));
        })
    }

    fn read(r: yasna::BERReader) -> yasna::ASN1Result<Self> {
        r.read_sequence(|r| {
            let alg = read_alg(r.next())?;
            let hash = if is_oid(&alg, OID_SHA1) {
                CertIdHash::Sha1
            } else if is_oid(&alg, OID_SHA256) {
                CertIdHash::Sha256
            } else {
                return invalid();
            };
            let issuer_name_hash = r.next().read_bytes()?;
            let issuer_key_hash = r.next().read_bytes()?;
            let (serial, _) = r.next().read_bigint_bytes()?;
            Ok(Self { hash, issuer_name_hash, issuer_key_hash, serial: strip_zeros(&serial) })
        })
    }
}

fn strip_zeros(bytes: &[u8]) -> Vec<u8> {
    let skip = bytes.iter().take_while(|&&b| b == 0).count().min(bytes.len().saturating_sub(1));
    bytes[skip..].to_vec()
}

/// A parsed OCSP request: the certificates asked about and the nonce (the extension's
/// extnValue contents, echoed as received).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OcspRequest {
    /// What is asked.
    pub certs: Vec<CertId>,
    /// The nonce extension's value, if any.
    pub nonce: Option<Vec<u8>>,
}

/// Reads a DER `OCSPRequest` (a request signature, if any, is ignored: the responder answers
/// anyone).
pub fn parse_ocsp_request(der: &[u8]) -> Result<OcspRequest, PadesError> {
    let req = parse_der(der, |r| {
        r.read_sequence(|r| {
            let req = r.next().read_sequence(|r| {
                let version = r.read_optional(|r| r.read_tagged(Tag::context(0), |r| r.read_u8()))?;
                if version.is_some_and(|v| v != 0) {
                    return invalid();
                }
                r.read_optional(|r| r.read_tagged(Tag::context(1), |r| r.read_der()))?;
                let mut certs = Vec::new();
                r.next().read_sequence_of(|r| {
                    let id = r.read_sequence(|r| {
                        let id = CertId::read(r.next())?;
                        r.read_optional(|r| r.read_tagged(Tag::context(0), |r| r.read_der()))?;
                        Ok(id)
                    })?;
                    certs.push(id);
                    Ok(())
                })?;
                let nonce = r.read_optional(|r| read_nonce(r, 2))?.flatten();
                Ok(OcspRequest { certs, nonce })
            })?;
            r.read_optional(|r| r.read_tagged(Tag::context(0), |r| r.read_der()))?;
            Ok(req)
        })
    })
    .map_err(asn1_err)?;
    if req.certs.is_empty() || req.certs.len() > MAX_REQUESTS {
        return Err(PadesError::Invalid("an OCSP request names 1 to 16 certificates".into()));
    }
    if req.nonce.as_ref().is_some_and(|n| n.is_empty() || n.len() > MAX_NONCE) {
        return Err(PadesError::Invalid("the OCSP nonce is empty or too long".into()));
    }
    Ok(req)
}

/// A DER `OCSPRequest` for `ids`, with a nonce when given (as a client such as `openssl
/// ocsp` sends it).
pub fn ocsp_request(ids: &[CertId], nonce: Option<&[u8]>) -> Vec<u8> {
    yasna::construct_der(|w| {
        w.write_sequence(|w| {
            w.next().write_sequence(|w| {
                w.next().write_sequence(|w| {
                    for id in ids {
                        w.next().write_sequence(|w| id.write(w.next()));
                    }
                });
                if let Some(n) = nonce {
                    w.next().write_tagged(Tag::context(2), |w| {
                        w.write_sequence(|w| {
                            w.next().write_sequence(|w| {
                                w.next().write_oid(&oid(OID_OCSP_NONCE));
                                w.next().write_bytes(&tlv(0x04, n));
                            })
                        })
                    });
                }
            })
        })
    })
}

/// What the CA says of a certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CertStatus {
    /// Issued by this CA and not revoked.
    Good,
    /// Revoked at this time, for this CRLReason code.
    Revoked {
        /// When.
        at: jiff::Timestamp,
        /// CRLReason (RFC 5280 §5.3.1), when known.
        reason: Option<u8>,
    },
    /// Not a certificate this CA knows.
    Unknown,
}

/// `OCSPResponseStatus` values other than successful.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OcspFailure {
    /// The request could not be read.
    MalformedRequest = 1,
    /// The responder failed.
    InternalError = 2,
    /// Try again later.
    TryLater = 3,
    /// The responder does not answer for this CA.
    Unauthorized = 6,
}

/// An `OCSPResponse` without responseBytes.
pub fn ocsp_failure(status: OcspFailure) -> Vec<u8> {
    yasna::construct_der(|w| w.write_sequence(|w| w.next().write_enum(status as i64)))
}

/// A delegated OCSP responder: its certificate (issued by the CA it answers for) and key.
pub struct OcspResponder<'a> {
    /// The responder certificate (DER, ECDSA P-256).
    pub cert_der: &'a [u8],
    /// Its key, PKCS#8 DER.
    pub key_pkcs8: &'a [u8],
}

/// When a response says it was made and until when it holds.
#[derive(Debug, Clone, Copy)]
pub struct OcspTimes {
    /// `producedAt` and each `thisUpdate`.
    pub produced_at: jiff::Timestamp,
    /// `nextUpdate`.
    pub next_update: Option<jiff::Timestamp>,
}

/// A successful DER `OCSPResponse` (basic) answering `answers`, signed by `responder`, with
/// the responder certificate included and `nonce` echoed.
pub fn ocsp_response(
    responder: &OcspResponder<'_>,
    answers: &[(CertId, CertStatus)],
    times: OcspTimes,
    nonce: Option<&[u8]>,
) -> Result<Vec<u8>, PadesError> {
    let signer = Signer::new(responder.key_pkcs8, responder.cert_der, &[])?;
    let key_hash = CertIdHash::Sha1.hash(&signer.cert.public_key);
    let tbs = yasna::construct_der(|w| {
        w.write_sequence(|w| {
            w.next().write_tagged(Tag::context(2), |w| w.write_bytes(&key_hash));
            w.next().write_der(&generalized_time_tlv(times.produced_at));
            w.next().write_sequence(|w| {
                for (id, status) in answers {
                    w.next().write_sequence(|w| {
                        id.write(w.next());
                        match status {
                            CertStatus::Good => w.next().write_tagged_implicit(Tag::context(0), |w| w.write_null()),
                            CertStatus::Revoked { at, reason } => {
                                w.next().write_tagged_implicit(Tag::context(1), |w| {
                                    w.write_sequence(|w| {
                                        w.next().write_der(&generalized_time_tlv(*at));
                                        if let Some(code) = reason {
                                            w.next().write_tagged(Tag::context(0), |w| w.write_enum(i64::from(*code)));
                                        }
                                    })
                                })
                            }
                            CertStatus::Unknown => w.next().write_tagged_implicit(Tag::context(2), |w| w.write_null()),
                        }
                        w.next().write_der(&generalized_time_tlv(times.produced_at));
                        if let Some(next) = times.next_update {
                            w.next().write_tagged(Tag::context(0), |w| w.write_der(&generalized_time_tlv(next)));
                        }
                    });
                }
            });
            if let Some(n) = nonce {
                w.next().write_tagged(Tag::context(1), |w| {
                    w.write_sequence(|w| {
                        w.next().write_sequence(|w| {
                            w.next().write_oid(&oid(OID_OCSP_NONCE));
                            w.next().write_bytes(n);
                        })
                    })
                });
            }
        })
    });
    let signature = signer.sign(&tbs)?;
    let basic = yasna::construct_der(|w| {
        w.write_sequence(|w| {
            w.next().write_der(&tbs);
            write_alg(w.next(), OID_ECDSA_SHA256);
            w.next().write_bitvec_bytes(&signature, signature.len() * 8);
            w.next().write_tagged(Tag::context(0), |w| w.write_sequence(|w| w.next().write_der(&signer.cert.der)));
        })
    });
    Ok(yasna::construct_der(|w| {
        w.write_sequence(|w| {
            w.next().write_enum(0);
            w.next().write_tagged(Tag::context(0), |w| {
                w.write_sequence(|w| {
                    w.next().write_oid(&oid(OID_OCSP_BASIC));
                    w.next().write_bytes(&basic);
                })
            });
        })
    }))
}

/// What a successful OCSP response says about one certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OcspAnswer {
    /// Which certificate.
    pub id: CertId,
    /// Its status.
    pub status: CertStatus,
    /// `thisUpdate`.
    pub this_update: jiff::Timestamp,
    /// `nextUpdate`.
    pub next_update: Option<jiff::Timestamp>,
}

/// A read OCSP response: its answers, when it was produced, the certificates it carries and
/// whether its signature verifies with the first of them.
#[derive(Debug, Clone)]
pub struct ParsedOcsp {
    /// `producedAt`.
    pub produced_at: jiff::Timestamp,
    /// One per SingleResponse.
    pub answers: Vec<OcspAnswer>,
    /// Certificates in the response (the responder's first).
    pub certs: Vec<Vec<u8>>,
    /// The nonce echoed, if any.
    pub nonce: Option<Vec<u8>>,
    /// The signature verifies with the key of `certs[0]`.
    pub signature_ok: bool,
}

fn read_time(r: yasna::BERReader) -> yasna::ASN1Result<jiff::Timestamp> {
    let t = r.read_tagged_der()?;
    if t.tag() != yasna::tags::TAG_GENERALIZEDTIME {
        return invalid();
    }
    parse_generalized_time(t.value()).map_or_else(invalid, Ok)
}

/// Reads a DER `OCSPResponse` (successful, basic).
pub fn parse_ocsp_response(der: &[u8]) -> Result<ParsedOcsp, PadesError> {
    let basic = parse_der(der, |r| {
        r.read_sequence(|r| {
            if r.next().read_enum()? != 0 {
                return invalid();
            }
            r.next().read_tagged(Tag::context(0), |r| {
                r.read_sequence(|r| {
                    let kind = r.next().read_oid()?;
                    if !is_oid(&kind, OID_OCSP_BASIC) {
                        return invalid();
                    }
                    r.next().read_bytes()
                })
            })
        })
    })
    .map_err(|_| PadesError::Invalid("not a successful basic OCSP response".into()))?;
    let (tbs, alg, signature, certs) = parse_der(&basic, |r| {
        r.read_sequence(|r| {
            let tbs = r.next().read_der()?;
            let alg = read_alg(r.next())?;
            let (sig, _) = r.next().read_bitvec_bytes()?;
            let mut certs = Vec::new();
            r.read_optional(|r| {
                r.read_tagged(Tag::context(0), |r| {
                    r.read_sequence_of(|r| {
                        certs.push(r.read_der()?);
                        Ok(())
                    })
                })
            })?;
            Ok((tbs, alg, sig, certs))
        })
    })
    .map_err(asn1_err)?;
    let (produced_at, answers, nonce) = parse_der(&tbs, |r| {
        r.read_sequence(|r| {
            r.read_optional(|r| r.read_tagged(Tag::context(0), |r| r.read_u8()))?;
            r.next().read_der()?; // responderID
            let produced_at = read_time(r.next())?;
            let mut answers = Vec::new();
            r.next().read_sequence_of(|r| {
                answers.push(r.read_sequence(|r| {
                    let id = CertId::read(r.next())?;
                    let status = r.next().read_tagged_der()?;
                    let status = match status.tag() {
                        t if t == Tag::context(0) => CertStatus::Good,
                        t if t == Tag::context(1) => parse_der(&tlv(0x30, status.value()), |r| {
                            r.read_sequence(|r| {
                                let at = read_time(r.next())?;
                                let reason = r.read_optional(|r| r.read_tagged(Tag::context(0), |r| r.read_enum()))?;
                                Ok(CertStatus::Revoked { at, reason: reason.and_then(|c| u8::try_from(c).ok()) })
                            })
                        })?,
                        _ => CertStatus::Unknown,
                    };
                    let this_update = read_time(r.next())?;
                    let next_update = r.read_optional(|r| r.read_tagged(Tag::context(0), read_time))?;
                    r.read_optional(|r| r.read_tagged(Tag::context(1), |r| r.read_der()))?;
                    Ok(OcspAnswer { id, status, this_update, next_update })
                })?);
                Ok(())
            })?;
            let nonce = r.read_optional(|r| read_nonce(r, 1))?.flatten();
            Ok((produced_at, answers, nonce))
        })
    })
    .map_err(asn1_err)?;
    let signature_ok = certs
        .first()
        .and_then(|c| parse_cert(c).ok())
        .is_some_and(|cert| crate::cms::verify_signature(&cert, &alg, &tbs, &signature));
    Ok(ParsedOcsp { produced_at, answers, certs, nonce, signature_ok })
}

/// The nonce among an OCSP extension list (`[tag] EXPLICIT Extensions`, RFC 6960), as a
/// request and a response both carry it.
fn read_nonce(r: yasna::BERReader, tag: u64) -> yasna::ASN1Result<Option<Vec<u8>>> {
    let mut nonce = None;
    r.read_tagged(Tag::context(tag), |r| {
        r.read_sequence_of(|r| {
            r.read_sequence(|r| {
                let id = r.next().read_oid()?;
                r.read_optional(|r| r.read_bool())?;
                let value = r.next().read_bytes()?;
                if is_oid(&id, OID_OCSP_NONCE) {
                    nonce = Some(value);
                }
                Ok(())
            })
        })
    })?;
    Ok(nonce)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rcgen::{
        BasicConstraints, CertificateParams, CustomExtension, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
        PKCS_ECDSA_P256_SHA256,
    };

    fn at(s: &str) -> jiff::Timestamp {
        s.parse().unwrap_or(jiff::Timestamp::UNIX_EPOCH)
    }

    struct Pki {
        ca: Vec<u8>,
        leaf: Vec<u8>,
        responder: Vec<u8>,
        responder_key: Vec<u8>,
    }

    fn pki() -> Pki {
        let ca_key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).unwrap_or_else(|e| panic!("{e}"));
        let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap_or_else(|e| panic!("{e}"));
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let ca_cert = ca.self_signed(&ca_key).unwrap_or_else(|e| panic!("{e}"));
        let issuer = Issuer::from_params(&ca, &ca_key);
        let leaf_key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).unwrap_or_else(|e| panic!("{e}"));
        let mut leaf = CertificateParams::new(Vec::<String>::new()).unwrap_or_else(|e| panic!("{e}"));
        leaf.serial_number = Some(rcgen::SerialNumber::from_slice(&[0x00, 0x9a, 0x01]));
        let leaf = leaf.signed_by(&leaf_key, &issuer).unwrap_or_else(|e| panic!("{e}"));
        let r_key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).unwrap_or_else(|e| panic!("{e}"));
        let mut r = CertificateParams::new(Vec::<String>::new()).unwrap_or_else(|e| panic!("{e}"));
        r.extended_key_usages = vec![ExtendedKeyUsagePurpose::OcspSigning];
        r.custom_extensions = vec![CustomExtension::from_oid_content(OID_OCSP_NOCHECK, vec![0x05, 0x00])];
        let r = r.signed_by(&r_key, &issuer).unwrap_or_else(|e| panic!("{e}"));
        Pki {
            ca: ca_cert.der().to_vec(),
            leaf: leaf.der().to_vec(),
            responder: r.der().to_vec(),
            responder_key: r_key.serialize_der(),
        }
    }

    #[test]
    fn requests_and_responses_round_trip() {
        let pki = pki();
        let id = CertId::of(&pki.leaf, &pki.ca, CertIdHash::Sha1).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(id.serial_hex(), "9A01");
        assert!(id.is_issued_by(&pki.ca));
        assert!(!id.is_issued_by(&pki.leaf));
        let req = ocsp_request(std::slice::from_ref(&id), Some(b"0123456789abcdef"));
        let parsed = parse_ocsp_request(&req).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(parsed.certs, vec![id.clone()]);
        let nonce = parsed.nonce.clone().unwrap_or_default();
        assert_eq!(nonce, tlv(0x04, b"0123456789abcdef"));

        let responder = OcspResponder { cert_der: &pki.responder, key_pkcs8: &pki.responder_key };
        let times =
            OcspTimes { produced_at: at("2026-12-01T00:00:00Z"), next_update: Some(at("2026-12-08T00:00:00Z")) };
        let revoked = CertStatus::Revoked { at: at("2026-11-30T12:00:00Z"), reason: Some(1) };
        for status in [CertStatus::Good, revoked, CertStatus::Unknown] {
            let der = ocsp_response(&responder, &[(id.clone(), status)], times, Some(&nonce))
                .unwrap_or_else(|e| panic!("{e}"));
            let back = parse_ocsp_response(&der).unwrap_or_else(|e| panic!("{e}"));
            assert!(back.signature_ok);
            assert_eq!(back.answers.len(), 1);
            assert_eq!(back.answers[0].status, status);
            assert_eq!(back.answers[0].id, id);
            assert_eq!(back.answers[0].next_update, times.next_update);
            assert_eq!(back.nonce.as_deref(), Some(&nonce[..]));
            assert_eq!(back.certs, vec![pki.responder.clone()]);
            // A changed nonce (inside the signed data) no longer verifies.
            let mut flipped = der.clone();
            let at = der.windows(16).position(|w| w == b"0123456789abcdef").unwrap_or(0);
            flipped[at] ^= 1;
            assert!(parse_ocsp_response(&flipped).is_ok_and(|p| !p.signature_ok));
        }
        assert!(parse_ocsp_response(&ocsp_failure(OcspFailure::Unauthorized)).is_err());
        assert_eq!(ocsp_failure(OcspFailure::MalformedRequest), vec![0x30, 0x03, 0x0a, 0x01, 0x01]);
    }

    #[test]
    fn bad_requests_are_errors_not_panics() {
        for bad in [&b""[..], b"\x30\x00", b"\x30\x03\x30\x01\x00", &[0x30, 0x84, 0xff, 0xff, 0xff, 0xff]] {
            assert!(parse_ocsp_request(bad).is_err());
        }
        assert!(parse_ocsp_request(&ocsp_request(&[], None)).is_err());
    }
}
