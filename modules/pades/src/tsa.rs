//! RFC 3161 time-stamping: the [`TimeStamper`] trait, a local TSA and its request/response codec.

use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use sha2::{Digest, Sha256};
use yasna::Tag;

use crate::PadesError;
use crate::cms::{self, Content, Signer};
use crate::der::*;

/// Something that issues RFC 3161 time-stamp tokens.
pub trait TimeStamper {
    /// A DER `TimeStampToken` (ContentInfo(SignedData) with an encapsulated `TSTInfo`) whose
    /// messageImprint is the SHA-256 hash `message_imprint_sha256`.
    fn timestamp(&self, message_imprint_sha256: &[u8; 32]) -> Result<Vec<u8>, PadesError>;
}

/// keiyaku's default TSA policy: an OID under the UUID arc `2.25` (ITU-T X.667), which needs
/// no registration: `2.25.<UUID 0ea81c41-9c36-47ea-9741-e1d14244b54b as an integer>.1`.
/// (`1.3.6.1.4.1.57264` is the Sigstore project's private enterprise number and must not be
/// used.) Replace it when keiyaku has its own enterprise number.
pub const DEFAULT_TSA_POLICY: &str = "2.25.19482070918867422078046894882061333835.1";

/// A time-stamping authority running in-process: signs `TSTInfo`s with its own key.
///
/// The certificate must be ECDSA P-256 with a **critical** extendedKeyUsage containing only
/// `id-kp-timeStamping` (see [`tsa_eku_extension`]).
#[derive(Clone)]
pub struct LocalTsa {
    /// The TSA certificate (DER).
    pub cert_der: Vec<u8>,
    /// Issuer certificates (DER), included in tokens after the TSA certificate.
    pub chain: Vec<Vec<u8>>,
    /// The TSA key, PKCS#8 DER (ECDSA P-256).
    pub key_pkcs8: Vec<u8>,
    /// The TSA policy OID in dotted form (arcs may exceed 64 bits).
    pub policy: String,
    /// The time written as `genTime`; `None`: the system clock at each token. The
    /// appliance sets it to its own clock's time (which tests may move).
    pub time: Option<jiff::Timestamp>,
}

impl std::fmt::Debug for LocalTsa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalTsa").field("policy", &self.policy).finish_non_exhaustive()
    }
}

/// The hash algorithms accepted in time-stamp requests and their digest lengths.
const IMPRINT_ALGS: [(&[u64], usize); 4] = [(OID_SHA256, 32), (OID_SHA384, 48), (OID_SHA512, 64), (OID_SHA1, 20)];

impl LocalTsa {
    /// A TSA with the [`DEFAULT_TSA_POLICY`] and the system clock.
    pub fn new(cert_der: Vec<u8>, chain: Vec<Vec<u8>>, key_pkcs8: Vec<u8>) -> Self {
        Self { cert_der, chain, key_pkcs8, policy: DEFAULT_TSA_POLICY.to_string(), time: None }
    }

    /// A token over `imprint` hashed with `hash_alg_der` (an AlgorithmIdentifier, copied
    /// into the token verbatim), echoing `nonce` (INTEGER contents).
    fn token(
        &self,
        hash_alg_der: &[u8],
        imprint: &[u8],
        nonce: Option<&[u8]>,
        with_certs: bool,
    ) -> Result<Vec<u8>, PadesError> {
        let policy = encode_oid(&self.policy).ok_or_else(|| PadesError::Invalid("bad TSA policy OID".into()))?;
        let signer = Signer::new(&self.key_pkcs8, &self.cert_der, &self.chain)?;
        if !has_timestamping_eku(&signer.cert) {
            return Err(PadesError::Certificate(
                "the TSA certificate needs a critical extendedKeyUsage with only id-kp-timeStamping".into(),
            ));
        }
        let mut serial = [0u8; 16];
        SystemRandom::new().fill(&mut serial).map_err(|_| PadesError::Timestamp("no randomness".into()))?;
        serial[0] = (serial[0] & 0x7f) | 0x40;
        let gen_time = self.time.unwrap_or_else(jiff::Timestamp::now);
        let tst_info = yasna::construct_der(|w| {
            w.write_sequence(|w| {
                w.next().write_u8(1);
                w.next().write_der(&policy);
                w.next().write_sequence(|w| {
                    w.next().write_der(hash_alg_der);
                    w.next().write_bytes(imprint);
                });
                w.next().write_der(&integer_tlv(&serial));
                w.next().write_der(&generalized_time_tlv(gen_time));
                w.next().write_sequence(|w| w.next().write_u8(1));
                if let Some(n) = nonce {
                    w.next().write_der(&tlv(0x02, n));
                }
            })
        });
        let content = Content {
            content_type: OID_TST_INFO,
            econtent: Some(&tst_info),
            digest: Sha256::digest(&tst_info).into(),
            with_certs,
            extra_attrs: Vec::new(),
        };
        cms::signed_data(&signer, &content, &|_| Ok(Vec::new()))
    }

    /// Answers a DER RFC 3161 `TimeStampReq` with a DER `TimeStampResp`: status granted and a
    /// token, or status rejection with a failInfo (badAlg, badDataFormat, unacceptedPolicy,
    /// unacceptedExtension) for requests it cannot serve. The certificates are included when
    /// the request sets certReq. Errors only when the TSA itself is misconfigured.
    pub fn respond(&self, request_der: &[u8]) -> Result<Vec<u8>, PadesError> {
        let req = match parse_request(request_der) {
            Ok(req) => req,
            Err(bit) => return Ok(rejection(bit)),
        };
        let Some((_, len)) = IMPRINT_ALGS.iter().find(|(a, _)| is_oid(&req.hash_alg, a)) else {
            return Ok(rejection(FAIL_BAD_ALG));
        };
        if req.imprint.len() != *len {
            return Ok(rejection(FAIL_BAD_DATA_FORMAT));
        }
        if let Some(p) = &req.policy
            && Some(p) != encode_oid(&self.policy).as_ref()
        {
            return Ok(rejection(FAIL_UNACCEPTED_POLICY));
        }
        if req.has_extensions {
            return Ok(rejection(FAIL_UNACCEPTED_EXTENSION));
        }
        let token = self.token(&req.hash_alg_der, &req.imprint, req.nonce.as_deref(), req.cert_req)?;
        Ok(yasna::construct_der(|w| {
            w.write_sequence(|w| {
                w.next().write_sequence(|w| w.next().write_u8(0));
                w.next().write_der(&token);
            })
        }))
    }
}

impl TimeStamper for LocalTsa {
    fn timestamp(&self, message_imprint_sha256: &[u8; 32]) -> Result<Vec<u8>, PadesError> {
        let alg = yasna::construct_der(|w| write_alg(w, OID_SHA256));
        self.token(&alg, message_imprint_sha256, None, true)
    }
}

/// [`LocalTsa::respond`] as a free function, for an HTTP `/tsa` endpoint
/// (`application/timestamp-query` in, `application/timestamp-reply` out).
pub fn tsa_response(tsa: &LocalTsa, request_der: &[u8]) -> Result<Vec<u8>, PadesError> {
    tsa.respond(request_der)
}

/// The extendedKeyUsage extension a TSA certificate needs (it must be marked **critical**):
/// `(extension OID 2.5.29.37, DER extnValue contents = SEQUENCE { id-kp-timeStamping })`.
///
/// With rcgen: `CustomExtension::from_oid_content(&oid, content)` then `set_criticality(true)`.
pub fn tsa_eku_extension() -> (Vec<u64>, Vec<u8>) {
    let content = yasna::construct_der(|w| w.write_sequence(|w| w.next().write_oid(&oid(OID_KP_TIMESTAMPING))));
    (OID_EXT_KEY_USAGE.to_vec(), content)
}

fn has_timestamping_eku(cert: &CertFields) -> bool {
    let (_, expected) = tsa_eku_extension();
    cert.extensions.iter().any(|(id, critical, value)| is_oid(id, OID_EXT_KEY_USAGE) && *critical && *value == expected)
}

const FAIL_BAD_ALG: usize = 0;
const FAIL_BAD_DATA_FORMAT: usize = 5;
const FAIL_UNACCEPTED_POLICY: usize = 15;
const FAIL_UNACCEPTED_EXTENSION: usize = 16;

/// A rejection `TimeStampResp` with one failInfo bit.
fn rejection(bit: usize) -> Vec<u8> {
    let mut bytes = vec![0u8; bit / 8 + 1];
    bytes[bit / 8] = 0x80 >> (bit % 8);
    yasna::construct_der(|w| {
        w.write_sequence(|w| {
            w.next().write_sequence(|w| {
                w.next().write_u8(2);
                w.next().write_bitvec_bytes(&bytes, bit + 1);
            });
        })
    })
}

struct Request {
    hash_alg: yasna::models::ObjectIdentifier,
    hash_alg_der: Vec<u8>,
    imprint: Vec<u8>,
    /// Policy OID TLV.
    policy: Option<Vec<u8>>,
    /// Nonce INTEGER contents.
    nonce: Option<Vec<u8>>,
    cert_req: bool,
    has_extensions: bool,
}

fn parse_request(der: &[u8]) -> Result<Request, usize> {
    parse_der(der, |r| {
        r.read_sequence(|r| {
            if r.next().read_u8()? != 1 {
                return invalid();
            }
            let (hash_alg_der, imprint) =
                r.next().read_sequence(|r| Ok((r.next().read_der()?, r.next().read_bytes()?)))?;
            let hash_alg = parse_der(&hash_alg_der, read_alg)?;
            let mut req = Request {
                hash_alg,
                hash_alg_der,
                imprint,
                policy: None,
                nonce: None,
                cert_req: false,
                has_extensions: false,
            };
            while let Some(v) = r.read_optional(|r| r.read_tagged_der())? {
                let tag = v.tag();
                if tag == yasna::tags::TAG_OID && req.policy.is_none() {
                    req.policy = Some(tlv(0x06, v.value()));
                } else if tag == yasna::tags::TAG_INTEGER && req.nonce.is_none() {
                    req.nonce = Some(v.value().to_vec());
                } else if tag == yasna::tags::TAG_BOOLEAN {
                    req.cert_req = v.value().first().is_some_and(|&b| b != 0);
                } else if tag == Tag::context(0) {
                    req.has_extensions = true;
                } else {
                    return invalid();
                }
            }
            Ok(req)
        })
    })
    .map_err(|_| FAIL_BAD_DATA_FORMAT)
}

/// Encodes a dotted OID (arcs up to 128 bits, as UUID-based `2.25.…` OIDs need) as a DER
/// TLV; `None` when it is not a valid OID.
pub fn encode_oid(dotted: &str) -> Option<Vec<u8>> {
    let arcs: Vec<u128> = dotted.split('.').map(|a| a.parse().ok()).collect::<Option<_>>()?;
    let (&first, rest) = arcs.split_first()?;
    let (&second, rest) = rest.split_first()?;
    if first > 2 || (first < 2 && second > 39) {
        return None;
    }
    let mut content = Vec::new();
    for arc in std::iter::once(first.checked_mul(40)?.checked_add(second)?).chain(rest.iter().copied()) {
        let mut groups = vec![(arc & 0x7f) as u8];
        let mut v = arc >> 7;
        while v > 0 {
            groups.push((v & 0x7f) as u8 | 0x80);
            v >>= 7;
        }
        content.extend(groups.iter().rev());
    }
    Some(tlv(0x06, &content))
}

/// Decodes an OID TLV's contents to dotted form.
pub(crate) fn decode_oid(content: &[u8]) -> Option<String> {
    let mut arcs: Vec<u128> = Vec::new();
    let mut v: u128 = 0;
    for &b in content {
        v = v.checked_mul(128)? | u128::from(b & 0x7f);
        if b & 0x80 == 0 {
            arcs.push(v);
            v = 0;
        }
    }
    let (&first, rest) = arcs.split_first()?;
    let (a, b) = if first < 80 { (first / 40, first % 40) } else { (2, first - 80) };
    Some(
        std::iter::once(a)
            .chain(std::iter::once(b))
            .chain(rest.iter().copied())
            .map(|x| x.to_string())
            .collect::<Vec<_>>()
            .join("."),
    )
}

/// An RFC 3161 `TimeStampReq` for an outside TSA: SHA-256 `imprint`, `nonce` (a positive
/// INTEGER's magnitude), certReq TRUE (the token carries the TSA's certificates).
pub fn timestamp_request(imprint: &[u8; 32], nonce: &[u8]) -> Vec<u8> {
    yasna::construct_der(|w| {
        w.write_sequence(|w| {
            w.next().write_u8(1);
            w.next().write_sequence(|w| {
                write_alg(w.next(), OID_SHA256);
                w.next().write_bytes(imprint);
            });
            w.next().write_der(&integer_tlv(nonce));
            w.next().write_bool(true);
        })
    })
}

/// The token of an outside TSA's `TimeStampResp` to [`timestamp_request`]`(imprint, nonce)`:
/// status granted (or grantedWithMods), a TSTInfo over `imprint` with the same nonce, and a
/// signature that verifies. Anything else is an error saying why.
pub fn token_from_response(resp: &[u8], imprint: &[u8; 32], nonce: &[u8]) -> Result<Vec<u8>, PadesError> {
    let (status, token) = parse_der(resp, |r| {
        r.read_sequence(|r| {
            let status = r.next().read_sequence(|r| {
                let status = r.next().read_u8()?;
                while r.read_optional(|r| r.read_der())?.is_some() {}
                Ok(status)
            })?;
            let token = r.read_optional(|r| r.read_der())?;
            Ok((status, token))
        })
    })
    .map_err(|e| PadesError::Timestamp(format!("the TSA's answer is not a TimeStampResp: {e}")))?;
    if status > 1 {
        return Err(PadesError::Timestamp(format!("the TSA refused the request (status {status})")));
    }
    let token = token.ok_or_else(|| PadesError::Timestamp("the TSA granted no token".into()))?;
    let info = check_token(&token, imprint)?;
    if !info.imprint_matches || !info.signature_valid {
        return Err(PadesError::Timestamp("the TSA's token does not verify or stamps other data".into()));
    }
    if token_nonce(&token).as_deref() != Some(integer_tlv(nonce).as_slice()) {
        return Err(PadesError::Timestamp("the TSA's token answers another request (nonce)".into()));
    }
    Ok(token)
}

/// The certificate (DER) that signed a time-stamp token, if it carries it.
pub fn token_certificate(token: &[u8]) -> Option<Vec<u8>> {
    cms::parse_signed_data(token).ok()?.signer_cert().map(|c| c.der)
}

/// The nonce INTEGER TLV of a token's TSTInfo, if it has one.
fn token_nonce(token: &[u8]) -> Option<Vec<u8>> {
    let sd = cms::parse_signed_data(token).ok()?;
    let tst = sd.econtent.as_deref()?;
    parse_der(tst, |r| {
        r.read_sequence(|r| {
            let mut nonce = None;
            // version, policy, messageImprint, serialNumber, genTime, then the optional
            // accuracy (SEQUENCE), ordering (BOOLEAN), nonce (INTEGER), tsa [0], extensions [1].
            for _ in 0..5 {
                r.next().read_der()?;
            }
            while let Some(item) = r.read_optional(|r| r.read_der())? {
                if item.first() == Some(&0x02) && nonce.is_none() {
                    nonce = Some(item);
                }
            }
            Ok(nonce)
        })
    })
    .ok()
    .flatten()
}

/// What a time-stamp token says, and whether it is intact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimestampInfo {
    /// `genTime` of the TSTInfo.
    pub gen_time: Option<jiff::Timestamp>,
    /// The TSA policy OID (dotted).
    pub policy: String,
    /// The messageImprint (SHA-256 expected) matches the hashed data.
    pub imprint_matches: bool,
    /// The token's signature and messageDigest verify with the embedded TSA certificate.
    pub signature_valid: bool,
    /// The TSA certificate's subject CN.
    pub tsa_name: String,
}

/// Parses and checks a TimeStampToken against `sha256(data)`.
pub fn check_token(token: &[u8], expected_imprint: &[u8; 32]) -> Result<TimestampInfo, PadesError> {
    let sd = cms::parse_signed_data(token)?;
    if !is_oid(&sd.content_type, OID_TST_INFO) {
        return Err(PadesError::Asn1("not a TSTInfo".into()));
    }
    let tst = sd.econtent.as_deref().ok_or_else(|| PadesError::Asn1("token without TSTInfo".into()))?;
    let (policy, alg, imprint, gen_time) = parse_der(tst, |r| {
        r.read_sequence(|r| {
            let _version = r.next().read_u8()?;
            let policy = r.next().read_tagged_der()?;
            let (alg, imprint) = r.next().read_sequence(|r| Ok((read_alg(r.next())?, r.next().read_bytes()?)))?;
            let _serial = r.next().read_der()?;
            let time = r.next().read_tagged_der()?;
            while r.read_optional(|r| r.read_der())?.is_some() {}
            Ok((policy, alg, imprint, time))
        })
    })
    .map_err(asn1_err)?;
    let checked = sd.check(None);
    Ok(TimestampInfo {
        gen_time: parse_generalized_time(gen_time.value()),
        policy: decode_oid(policy.value()).unwrap_or_default(),
        imprint_matches: is_oid(&alg, OID_SHA256) && imprint.as_slice() == expected_imprint,
        signature_valid: checked.digest_ok && checked.signature_ok,
        tsa_name: checked.signer.map(|c| common_name(&c.subject)).unwrap_or_default(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oids_round_trip() {
        let enc = encode_oid(DEFAULT_TSA_POLICY).unwrap_or_default();
        assert_eq!(decode_oid(&enc[2..]).as_deref(), Some(DEFAULT_TSA_POLICY));
        assert_eq!(encode_oid("1.2.840.113549"), Some(vec![6, 6, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d]));
        assert_eq!(encode_oid("3.1"), None);
        assert_eq!(encode_oid("1"), None);
        assert_eq!(encode_oid("1.x"), None);
    }

    #[test]
    fn rejections_encode_fail_info() {
        assert_eq!(rejection(FAIL_BAD_ALG), vec![0x30, 0x09, 0x30, 0x07, 2, 1, 2, 3, 2, 7, 0x80]);
        assert_eq!(rejection(FAIL_UNACCEPTED_POLICY)[7..], [3, 3, 0, 0, 1]);
        assert_eq!(rejection(FAIL_UNACCEPTED_EXTENSION)[7..], [3, 4, 7, 0, 0, 0x80]);
        assert!(parse_request(b"\x30\x00").is_err());
    }

    #[test]
    fn a_length_near_usize_max_is_a_bad_request_not_a_panic() {
        // Found by `bench/fuzz.sh` (tsa_request): a TimeStampReq whose nested value claims a
        // length of 2^64 - 1 bytes made yasna's reader wrap its position (qnighy/yasna.rs#81).
        let found = [
            0x30, 0x43, 0x02, 0x01, 0x01, 0x30, 0x31, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x30, 0x88, 0xff, 0xff,
            0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
            0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff, 0xf3, 0x01, 0x00, 0x00, 0x00, 0x00, 0x44, 0xa2, 0xa2, 0xa2,
            0xa2, 0xa2, 0x30, 0x26, 0x02, 0x80, 0xff, 0x01, 0x30, 0xff, 0xff, 0xff, 0x1f, 0x00, 0xa2,
        ];
        assert_eq!(parse_request(&found).err(), Some(FAIL_BAD_DATA_FORMAT));
        let wrap = [0x30, 0x0d, 0x02, 0x01, 0x01, 0x30, 0x88, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff];
        assert_eq!(parse_request(&wrap).err(), Some(FAIL_BAD_DATA_FORMAT));
    }
}
