//! CMS SignedData (RFC 5652) with ESS signingCertificateV2 (RFC 5035): writing and reading.

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_ASN1, ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair, RSA_PKCS1_2048_8192_SHA256, UnparsedPublicKey,
};
use sha2::{Digest, Sha256};
use yasna::Tag;
use yasna::models::ObjectIdentifier;

use crate::PadesError;
use crate::der::*;

/// A signing key with its certificate and chain.
pub(crate) struct Signer<'a> {
    pub key: EcdsaKeyPair,
    pub cert: CertFields,
    pub chain: &'a [Vec<u8>],
}

impl<'a> Signer<'a> {
    pub fn new(key_pkcs8: &[u8], cert_der: &[u8], chain: &'a [Vec<u8>]) -> Result<Self, PadesError> {
        let key = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, key_pkcs8)
            .map_err(|e| PadesError::Key(e.to_string()))?;
        let cert = parse_cert(cert_der)?;
        if !is_oid(&cert.key_alg, OID_EC_PUBLIC_KEY) || !cert.key_curve.as_ref().is_some_and(|c| is_oid(c, OID_P256)) {
            return Err(PadesError::Certificate("the certificate key is not ECDSA P-256".into()));
        }
        use aws_lc_rs::signature::KeyPair as _;
        if key.public_key().as_ref() != cert.public_key.as_slice() {
            return Err(PadesError::Key("the key does not belong to the certificate".into()));
        }
        Ok(Self { key, cert, chain })
    }

    pub(crate) fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, PadesError> {
        self.key
            .sign(&SystemRandom::new(), msg)
            .map(|s| s.as_ref().to_vec())
            .map_err(|e| PadesError::Key(e.to_string()))
    }
}

fn attribute(id: &[u64], value_der: &[u8]) -> Vec<u8> {
    yasna::construct_der(|w| {
        w.write_sequence(|w| {
            w.next().write_oid(&oid(id));
            w.next().write_set_of(|w| w.next().write_der(value_der));
        })
    })
}

/// ESS `SigningCertificateV2` with one ESSCertIDv2 (SHA-256, the default, so no hashAlgorithm)
/// including issuerSerial.
fn signing_certificate_v2(cert: &CertFields) -> Vec<u8> {
    let hash = Sha256::digest(&cert.der);
    yasna::construct_der(|w| {
        w.write_sequence(|w| {
            w.next().write_sequence(|w| {
                w.next().write_sequence(|w| {
                    w.next().write_bytes(&hash);
                    w.next().write_sequence(|w| {
                        w.next().write_sequence(|w| {
                            w.next().write_tagged(Tag::context(4), |w| w.write_der(&cert.issuer));
                        });
                        w.next().write_der(&cert.serial);
                    });
                });
            });
        })
    })
}

/// What to sign.
pub(crate) struct Content<'a> {
    /// eContentType.
    pub content_type: &'a [u64],
    /// Encapsulated content (None: detached).
    pub econtent: Option<&'a [u8]>,
    /// SHA-256 of the content.
    pub digest: [u8; 32],
    /// Whether to include the certificates.
    pub with_certs: bool,
    /// Further signed attributes (DER `Attribute`s), e.g. the keiyaku delegation.
    pub extra_attrs: Vec<Vec<u8>>,
}

/// Computes unsigned attributes (DER `Attribute`s) from the signature value.
pub(crate) type UnsignedAttrs<'a> = dyn Fn(&[u8]) -> Result<Vec<Vec<u8>>, PadesError> + 'a;

/// Builds a DER ContentInfo(SignedData). `unsigned` receives the signature value and returns
/// unsigned attributes (already DER-encoded Attribute values) to add.
pub(crate) fn signed_data(signer: &Signer, content: &Content, unsigned: &UnsignedAttrs) -> Result<Vec<u8>, PadesError> {
    let mut attrs = vec![
        attribute(OID_CONTENT_TYPE, &yasna::construct_der(|w| w.write_oid(&oid(content.content_type)))),
        attribute(OID_MESSAGE_DIGEST, &yasna::construct_der(|w| w.write_bytes(&content.digest))),
        attribute(OID_SIGNING_CERT_V2, &signing_certificate_v2(&signer.cert)),
    ];
    attrs.extend(content.extra_attrs.iter().cloned());
    let signed_set = yasna::construct_der(|w| {
        w.write_set_of(|w| {
            for a in &attrs {
                w.next().write_der(a);
            }
        })
    });
    let signature = signer.sign(&signed_set)?;
    let unsigned_attrs = unsigned(&signature)?;
    let version = if is_default_data(content.content_type) { 1 } else { 3 };
    Ok(yasna::construct_der(|w| {
        w.write_sequence(|w| {
            w.next().write_oid(&oid(OID_SIGNED_DATA));
            w.next().write_tagged(Tag::context(0), |w| {
                w.write_sequence(|w| {
                    w.next().write_u8(version);
                    w.next().write_set_of(|w| write_alg(w.next(), OID_SHA256));
                    w.next().write_sequence(|w| {
                        w.next().write_oid(&oid(content.content_type));
                        if let Some(e) = content.econtent {
                            w.next().write_tagged(Tag::context(0), |w| w.write_bytes(e));
                        }
                    });
                    if content.with_certs {
                        w.next().write_tagged_implicit(Tag::context(0), |w| {
                            w.write_set_of(|w| {
                                w.next().write_der(&signer.cert.der);
                                for c in signer.chain {
                                    if tlv_len(c).is_some() {
                                        w.next().write_der(c);
                                    }
                                }
                            })
                        });
                    }
                    w.next().write_set_of(|w| {
                        w.next().write_sequence(|w| {
                            w.next().write_u8(1);
                            w.next().write_sequence(|w| {
                                w.next().write_der(&signer.cert.issuer);
                                w.next().write_der(&signer.cert.serial);
                            });
                            write_alg(w.next(), OID_SHA256);
                            w.next().write_tagged_implicit(Tag::context(0), |w| {
                                w.write_set_of(|w| {
                                    for a in &attrs {
                                        w.next().write_der(a);
                                    }
                                })
                            });
                            write_alg(w.next(), OID_ECDSA_SHA256);
                            w.next().write_bytes(&signature);
                            if !unsigned_attrs.is_empty() {
                                w.next().write_tagged_implicit(Tag::context(1), |w| {
                                    w.write_set_of(|w| {
                                        for a in &unsigned_attrs {
                                            w.next().write_der(a);
                                        }
                                    })
                                });
                            }
                        });
                    });
                })
            });
        })
    }))
}

fn is_default_data(content_type: &[u64]) -> bool {
    content_type == OID_DATA
}

/// The signature-time-stamp unsigned attribute holding `token`.
pub(crate) fn timestamp_attribute(token: &[u8]) -> Vec<u8> {
    attribute(OID_TIMESTAMP_TOKEN, token)
}

/// Attributes as read: (the type's OID as DER, its values as DER).
pub(crate) type Attributes = Vec<(Vec<u8>, Vec<Vec<u8>>)>;

/// A parsed SignedData (first SignerInfo only).
#[derive(Debug, Clone)]
pub(crate) struct ParsedSignedData {
    pub content_type: ObjectIdentifier,
    pub econtent: Option<Vec<u8>>,
    pub certs: Vec<Vec<u8>>,
    pub sid_issuer: Option<Vec<u8>>,
    pub sid_serial: Option<Vec<u8>>,
    pub digest_alg: ObjectIdentifier,
    /// Signed attributes re-encoded as a SET (the signature input), and parsed.
    pub signed_attrs_set: Option<Vec<u8>>,
    /// (the attribute type's OID as DER, its values): kept as DER so that OIDs with arcs
    /// beyond 64 bits (such as keiyaku's 2.25 UUID arc) read like any other.
    pub signed_attrs: Attributes,
    pub signature_alg: ObjectIdentifier,
    pub signature: Vec<u8>,
    pub unsigned_attrs: Attributes,
}

fn read_attributes(r: yasna::BERReader) -> yasna::ASN1Result<Attributes> {
    let mut out = Vec::new();
    r.read_set_of(|r| {
        r.read_sequence(|r| {
            let id = r.next().read_der()?;
            let mut values = Vec::new();
            r.next().read_set_of(|r| {
                values.push(r.read_der()?);
                Ok(())
            })?;
            out.push((id, values));
            Ok(())
        })
    })?;
    Ok(out)
}

/// Parses a ContentInfo(SignedData); trailing bytes (the zero padding of /Contents) are ignored.
pub(crate) fn parse_signed_data(buf: &[u8]) -> Result<ParsedSignedData, PadesError> {
    let len = tlv_len(buf).ok_or_else(|| PadesError::Asn1("CMS is not a definite-length DER value".into()))?;
    parse_ber(&buf[..len], |r| {
        r.read_sequence(|r| {
            let ct = r.next().read_oid()?;
            if !is_oid(&ct, OID_SIGNED_DATA) {
                return invalid();
            }
            r.next().read_tagged(Tag::context(0), |r| {
                r.read_sequence(|r| {
                    let _version = r.next().read_u8()?;
                    r.next().read_set_of(|r| read_alg(r).map(|_| ()))?;
                    let (content_type, econtent) = r.next().read_sequence(|r| {
                        let ct = r.next().read_oid()?;
                        let e = r.read_optional(|r| r.read_tagged(Tag::context(0), |r| r.read_bytes()))?;
                        Ok((ct, e))
                    })?;
                    let mut certs = Vec::new();
                    r.read_optional(|r| {
                        r.read_tagged_implicit(Tag::context(0), |r| {
                            r.read_set_of(|r| {
                                certs.push(r.read_der()?);
                                Ok(())
                            })
                        })
                    })?;
                    r.read_optional(|r| {
                        r.read_tagged_implicit(Tag::context(1), |r| r.read_set_of(|r| r.read_der().map(|_| ())))
                    })?;
                    let mut signers = Vec::new();
                    r.next().read_set_of(|r| {
                        signers.push(r.read_sequence(|r| {
                            let _version = r.next().read_u8()?;
                            let sid = r.next().read_der()?;
                            let digest_alg = read_alg(r.next())?;
                            let signed_raw = r.read_optional(|r| r.read_tagged_der())?;
                            let signature_alg = read_alg(r.next())?;
                            let signature = r.next().read_bytes()?;
                            let unsigned = r
                                .read_optional(|r| r.read_tagged_implicit(Tag::context(1), |r| read_attributes(r)))?
                                .unwrap_or_default();
                            Ok((sid, digest_alg, signed_raw, signature_alg, signature, unsigned))
                        })?);
                        Ok(())
                    })?;
                    let Some((sid, digest_alg, signed_raw, signature_alg, signature, unsigned_attrs)) =
                        signers.into_iter().next()
                    else {
                        return invalid();
                    };
                    let (sid_issuer, sid_serial) =
                        parse_ber(&sid, |r| r.read_sequence(|r| Ok((r.next().read_der()?, r.next().read_der()?))))
                            .map(|(a, b)| (Some(a), Some(b)))
                            .unwrap_or((None, None));
                    let (signed_attrs_set, signed_attrs) = match signed_raw {
                        Some(v) if v.tag() == Tag::context(0) => {
                            let set = tlv(0x31, v.value());
                            let attrs = parse_ber(&set, read_attributes)?;
                            (Some(set), attrs)
                        }
                        Some(_) => return invalid(),
                        None => (None, Vec::new()),
                    };
                    Ok(ParsedSignedData {
                        content_type,
                        econtent,
                        certs,
                        sid_issuer,
                        sid_serial,
                        digest_alg,
                        signed_attrs_set,
                        signed_attrs,
                        signature_alg,
                        signature,
                        unsigned_attrs,
                    })
                })
            })
        })
    })
    .map_err(asn1_err)
}

/// The outcome of checking a SignedData.
#[derive(Debug, Clone)]
pub(crate) struct Checked {
    pub signer: Option<CertFields>,
    /// messageDigest equals the digest of the content.
    pub digest_ok: bool,
    /// The signature verifies with the signer's public key.
    pub signature_ok: bool,
}

impl ParsedSignedData {
    fn attr(&self, id: &[u64]) -> Option<&[u8]> {
        let id = oid_der(id);
        self.signed_attrs.iter().find(|(a, _)| *a == id).and_then(|(_, v)| v.first()).map(Vec::as_slice)
    }

    /// The signer certificate: matched by issuer and serial, else the first certificate.
    pub fn signer_cert(&self) -> Option<CertFields> {
        let parsed: Vec<CertFields> = self.certs.iter().filter_map(|c| parse_cert(c).ok()).collect();
        parsed
            .iter()
            .find(|c| Some(&c.issuer) == self.sid_issuer.as_ref() && Some(&c.serial) == self.sid_serial.as_ref())
            .or_else(|| parsed.first())
            .cloned()
    }

    /// Checks the content digest (SHA-256 of the content computed by the caller, or of
    /// the encapsulated content) and the signature.
    pub fn check(&self, content_sha256: Option<[u8; 32]>) -> Checked {
        let signer = self.signer_cert();
        let digest = content_sha256.or_else(|| self.econtent.as_ref().map(|e| Sha256::digest(e).into()));
        let md = self.attr(OID_MESSAGE_DIGEST).and_then(|v| parse_der(v, |r| r.read_bytes()).ok());
        let sha256 = is_oid(&self.digest_alg, OID_SHA256);
        let digest_ok = sha256 && digest.is_some() && md.as_deref() == digest.as_ref().map(|d| d.as_slice());
        let content_type_ok = self
            .attr(OID_CONTENT_TYPE)
            .and_then(|v| parse_der(v, |r| r.read_oid()).ok())
            .is_some_and(|ct| ct == self.content_type);
        let cert_ok = match (&signer, self.attr(OID_SIGNING_CERT_V2)) {
            (Some(cert), Some(v)) => first_cert_hash(v).is_none_or(|h| h == Sha256::digest(&cert.der).as_slice()),
            _ => true,
        };
        let signature_ok = match (&signer, &self.signed_attrs_set) {
            (Some(cert), Some(msg)) if content_type_ok && cert_ok => {
                verify_signature(cert, &self.signature_alg, msg, &self.signature)
            }
            _ => false,
        };
        Checked { signer, digest_ok, signature_ok }
    }

    /// The signature-time-stamp token, if any.
    pub fn timestamp_token(&self) -> Option<&[u8]> {
        let id = oid_der(OID_TIMESTAMP_TOKEN);
        self.unsigned_attrs.iter().find(|(a, _)| *a == id).and_then(|(_, v)| v.first()).map(Vec::as_slice)
    }

    /// The SHA-256 of the seal the signature's stamp was drawn from, when it names one.
    pub fn seal(&self) -> Option<[u8; 32]> {
        crate::seal_ref::seal_in(self.signed_attrs.iter().map(|(t, v)| (t.as_slice(), v.as_slice())))
    }

    /// The keiyaku delegation attribute, when a delegate signed.
    pub fn delegation(&self) -> Option<Delegation> {
        let id = keiyaku_delegation_oid();
        let value = self.signed_attrs.iter().find(|(a, _)| *a == id).and_then(|(_, v)| v.first())?;
        parse_der(value, |r| {
            r.read_sequence(|r| {
                let delegate_name = r.next().read_utf8string()?;
                let delegate_id = r.next().read_utf8string()?;
                let mandate_id = r.next().read_utf8string()?;
                let hash = r.next().read_bytes()?;
                let mandate_sha256: [u8; 32] =
                    hash.try_into().map_err(|_| yasna::ASN1Error::new(yasna::ASN1ErrorKind::Invalid))?;
                Ok(Delegation { delegate_name, delegate_id, mandate_id, mandate_sha256 })
            })
        })
        .ok()
    }
}

fn oid_der(id: &[u64]) -> Vec<u8> {
    yasna::construct_der(|w| w.write_oid(&oid(id)))
}

/// The keiyaku delegation attribute type: `2.25.212763563025824543551271583885707350849`
/// (the UUID a010c58e-d35a-419c-ac47-1c8507ea9341 under the ITU-T X.667 arc, which needs
/// no registration), as DER.
pub(crate) fn keiyaku_delegation_oid() -> Vec<u8> {
    const UUID: u128 = 0xa010c58e_d35a_419c_ac47_1c8507ea9341;
    // First two arcs 2.25 → 2 * 40 + 25 = 105; then the UUID in base 128.
    let mut arc = Vec::new();
    let mut n = UUID;
    arc.push((n & 0x7f) as u8);
    n >>= 7;
    while n > 0 {
        arc.push(0x80 | (n & 0x7f) as u8);
        n >>= 7;
    }
    arc.reverse();
    let mut body = vec![105];
    body.extend(arc);
    let mut der = vec![0x06, body.len() as u8];
    der.extend(body);
    der
}

/// Who signed as a delegate, under which mandate: a signed attribute of the delegate's
/// signature (`KeiyakuDelegation ::= SEQUENCE { delegateName UTF8String, delegateId
/// UTF8String, mandateId UTF8String, mandateSha256 OCTET STRING }`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delegation {
    /// The delegate's name as in the directory.
    pub delegate_name: String,
    /// The delegate's user ID.
    pub delegate_id: String,
    /// The mandate's ID.
    pub mandate_id: String,
    /// SHA-256 of the confirmed mandate's canonical JSON.
    pub mandate_sha256: [u8; 32],
}

impl Delegation {
    /// The DER `Attribute` carrying it.
    pub(crate) fn attribute(&self) -> Vec<u8> {
        let value = yasna::construct_der(|w| {
            w.write_sequence(|w| {
                w.next().write_utf8string(&self.delegate_name);
                w.next().write_utf8string(&self.delegate_id);
                w.next().write_utf8string(&self.mandate_id);
                w.next().write_bytes(&self.mandate_sha256);
            })
        });
        let oid = keiyaku_delegation_oid();
        yasna::construct_der(|w| {
            w.write_sequence(|w| {
                w.next().write_der(&oid);
                w.next().write_set_of(|w| w.next().write_der(&value));
            })
        })
    }
}

/// A detached CMS SignedData (id-data, with the certificates) over `content`.
pub(crate) fn detached(signer: &Signer, content: &[u8]) -> Result<Vec<u8>, PadesError> {
    let content = Content {
        content_type: OID_DATA,
        econtent: None,
        digest: Sha256::digest(content).into(),
        with_certs: true,
        extra_attrs: Vec::new(),
    };
    signed_data(signer, &content, &|_| Ok(Vec::new()))
}

/// The certHash of the first ESSCertIDv2 when it is a SHA-256 hash (hashAlgorithm absent or
/// SHA-256); `None` for other hash algorithms (not checked).
fn first_cert_hash(value: &[u8]) -> Option<Vec<u8>> {
    parse_ber(value, |r| {
        r.read_sequence(|r| {
            let mut first = None;
            r.next().read_sequence_of(|r| {
                let id = r.read_sequence(|r| {
                    let alg = r.read_optional(read_alg)?;
                    let hash = r.next().read_bytes()?;
                    while r.read_optional(|r| r.read_der())?.is_some() {}
                    Ok(alg.is_none_or(|a| is_oid(&a, OID_SHA256)).then_some(hash))
                })?;
                if first.is_none() {
                    first = Some(id);
                }
                Ok(())
            })?;
            while r.read_optional(|r| r.read_der())?.is_some() {}
            Ok(first.flatten())
        })
    })
    .unwrap_or(Some(Vec::new()))
}

/// Verifies an ECDSA P-256/SHA-256 or RSA PKCS#1 v1.5/SHA-256 signature.
pub(crate) fn verify_signature(cert: &CertFields, alg: &ObjectIdentifier, msg: &[u8], sig: &[u8]) -> bool {
    if is_oid(&cert.key_alg, OID_EC_PUBLIC_KEY) && is_oid(alg, OID_ECDSA_SHA256) {
        UnparsedPublicKey::new(&ECDSA_P256_SHA256_ASN1, &cert.public_key).verify(msg, sig).is_ok()
    } else if is_oid(&cert.key_alg, OID_RSA_ENCRYPTION)
        && (is_oid(alg, OID_SHA256_WITH_RSA) || is_oid(alg, OID_RSA_ENCRYPTION))
    {
        UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, &cert.public_key).verify(msg, sig).is_ok()
    } else {
        false
    }
}
