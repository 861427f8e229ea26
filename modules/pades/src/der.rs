//! DER helpers: object identifiers, raw TLVs, certificate fields, times.

use yasna::models::ObjectIdentifier;
use yasna::{ASN1Error, ASN1ErrorKind, ASN1Result, Tag};

use crate::PadesError;

pub(crate) const OID_DATA: &[u64] = &[1, 2, 840, 113549, 1, 7, 1];
pub(crate) const OID_SIGNED_DATA: &[u64] = &[1, 2, 840, 113549, 1, 7, 2];
pub(crate) const OID_SHA1: &[u64] = &[1, 3, 14, 3, 2, 26];
pub(crate) const OID_SHA256: &[u64] = &[2, 16, 840, 1, 101, 3, 4, 2, 1];
pub(crate) const OID_SHA384: &[u64] = &[2, 16, 840, 1, 101, 3, 4, 2, 2];
pub(crate) const OID_SHA512: &[u64] = &[2, 16, 840, 1, 101, 3, 4, 2, 3];
pub(crate) const OID_ECDSA_SHA256: &[u64] = &[1, 2, 840, 10045, 4, 3, 2];
pub(crate) const OID_EC_PUBLIC_KEY: &[u64] = &[1, 2, 840, 10045, 2, 1];
pub(crate) const OID_P256: &[u64] = &[1, 2, 840, 10045, 3, 1, 7];
pub(crate) const OID_RSA_ENCRYPTION: &[u64] = &[1, 2, 840, 113549, 1, 1, 1];
pub(crate) const OID_SHA256_WITH_RSA: &[u64] = &[1, 2, 840, 113549, 1, 1, 11];
pub(crate) const OID_CONTENT_TYPE: &[u64] = &[1, 2, 840, 113549, 1, 9, 3];
pub(crate) const OID_MESSAGE_DIGEST: &[u64] = &[1, 2, 840, 113549, 1, 9, 4];
pub(crate) const OID_SIGNING_CERT_V2: &[u64] = &[1, 2, 840, 113549, 1, 9, 16, 2, 47];
pub(crate) const OID_TIMESTAMP_TOKEN: &[u64] = &[1, 2, 840, 113549, 1, 9, 16, 2, 14];
pub(crate) const OID_TST_INFO: &[u64] = &[1, 2, 840, 113549, 1, 9, 16, 1, 4];
pub(crate) const OID_KP_TIMESTAMPING: &[u64] = &[1, 3, 6, 1, 5, 5, 7, 3, 8];
pub(crate) const OID_EXT_KEY_USAGE: &[u64] = &[2, 5, 29, 37];
pub(crate) const OID_EXT_CRL_DP: &[u64] = &[2, 5, 29, 31];
pub(crate) const OID_EXT_SUBJECT_DIRECTORY_ATTRIBUTES: &[u64] = &[2, 5, 29, 9];
pub(crate) const OID_COMMON_NAME: &[u64] = &[2, 5, 4, 3];

pub(crate) fn oid(components: &[u64]) -> ObjectIdentifier {
    ObjectIdentifier::from_slice(components)
}

pub(crate) fn is_oid(value: &ObjectIdentifier, components: &[u64]) -> bool {
    value.components().as_slice() == components
}

pub(crate) fn asn1_err(e: ASN1Error) -> PadesError {
    PadesError::Asn1(e.to_string())
}

pub(crate) fn invalid<T>() -> ASN1Result<T> {
    Err(ASN1Error::new(ASN1ErrorKind::Invalid))
}

/// A raw TLV with a single-byte tag.
pub(crate) fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(content.len() + 6);
    out.push(tag);
    let len = content.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|&&b| b == 0).count();
        out.push(0x80 | (bytes.len() - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
    out.extend_from_slice(content);
    out
}

/// Length of the first (definite-length) TLV in `buf`, if it is well formed.
pub(crate) fn tlv_len(buf: &[u8]) -> Option<usize> {
    let first_len = *buf.get(1)?;
    let (header, len) = if first_len < 0x80 {
        (2usize, usize::from(first_len))
    } else {
        let n = usize::from(first_len & 0x7f);
        if n == 0 || n > 4 {
            return None;
        }
        let mut len = 0usize;
        for i in 0..n {
            len = (len << 8) | usize::from(*buf.get(2 + i)?);
        }
        (2 + n, len)
    };
    let total = header.checked_add(len)?;
    (total <= buf.len()).then_some(total)
}

/// [`yasna::parse_der`] for bytes from outside (requests, signatures in PDFs), after
/// [`lengths_fit`]: yasna's `skip_general`, behind `read_der` and `read_optional`, adds a
/// length to its position unchecked (qnighy/yasna.rs#81, open), so a length near
/// `usize::MAX` wraps, and the reader panics or moves backwards.
pub(crate) fn parse_der<'a, T>(
    buf: &'a [u8],
    callback: impl for<'b> FnOnce(yasna::BERReader<'a, 'b>) -> ASN1Result<T>,
) -> ASN1Result<T> {
    lengths_fit(buf)?;
    yasna::parse_der(buf, callback)
}

/// [`yasna::parse_ber`] after [`lengths_fit`] (see [`parse_der`]).
pub(crate) fn parse_ber<'a, T>(
    buf: &'a [u8],
    callback: impl for<'b> FnOnce(yasna::BERReader<'a, 'b>) -> ASN1Result<T>,
) -> ASN1Result<T> {
    lengths_fit(buf)?;
    yasna::parse_ber(buf, callback)
}

/// How deep [`lengths_fit`] follows constructed values (yasna stops at 10).
const MAX_DEPTH: usize = 64;

/// Walks the BER/DER values in `buf` (constructed ones recursively, indefinite lengths to
/// their end-of-contents) and refuses any length that does not fit in what encloses it. The
/// contents of primitive values are not looked into: yasna never reads them as values.
pub(crate) fn lengths_fit(buf: &[u8]) -> ASN1Result<()> {
    let mut rest = buf;
    while !rest.is_empty() {
        rest = &rest[value_end(rest, 0)?..];
    }
    Ok(())
}

/// The length of the one value at the start of `buf`, its header included.
fn value_end(buf: &[u8], depth: usize) -> ASN1Result<usize> {
    let eof = || ASN1Error::new(ASN1ErrorKind::Eof);
    let invalid = || ASN1Error::new(ASN1ErrorKind::Invalid);
    if depth > MAX_DEPTH {
        return Err(ASN1Error::new(ASN1ErrorKind::StackOverflow));
    }
    let first = *buf.first().ok_or_else(eof)?;
    let constructed = first & 0x20 != 0;
    let mut pos = 1;
    if first & 0x1f == 0x1f {
        // High tag number: base-128 digits, the last without the top bit.
        loop {
            let b = *buf.get(pos).ok_or_else(eof)?;
            pos += 1;
            if b & 0x80 == 0 {
                break;
            }
            if pos > 10 {
                return Err(invalid());
            }
        }
    }
    let l = *buf.get(pos).ok_or_else(eof)?;
    pos += 1;
    if l == 0x80 {
        // Indefinite length: constructed only, contents up to two zero bytes.
        if !constructed {
            return Err(invalid());
        }
        loop {
            match buf.get(pos..pos + 2) {
                Some([0, 0]) => return Ok(pos + 2),
                Some(_) => pos += value_end(&buf[pos..], depth + 1)?,
                None => return Err(eof()),
            }
        }
    }
    let len = if l < 0x80 {
        usize::from(l)
    } else {
        let n = usize::from(l & 0x7f);
        if n > std::mem::size_of::<usize>() {
            return Err(invalid());
        }
        let mut len = 0usize;
        for _ in 0..n {
            let b = *buf.get(pos).ok_or_else(eof)?;
            pos += 1;
            len = len.checked_mul(256).ok_or_else(eof)? | usize::from(b);
        }
        len
    };
    let end = pos.checked_add(len).filter(|&end| end <= buf.len()).ok_or_else(eof)?;
    if constructed {
        let mut at = pos;
        while at < end {
            at += value_end(&buf[at..end], depth + 1)?;
        }
    }
    Ok(end)
}

/// A positive INTEGER TLV from big-endian magnitude bytes.
pub(crate) fn integer_tlv(magnitude: &[u8]) -> Vec<u8> {
    let skip = magnitude.iter().take_while(|&&b| b == 0).count();
    let mut content: Vec<u8> = magnitude[skip..].to_vec();
    if content.first().is_none_or(|&b| b & 0x80 != 0) {
        content.insert(0, 0);
    }
    tlv(0x02, &content)
}

/// `GeneralizedTime` TLV `YYYYMMDDHHMMSSZ` (UTC, whole seconds).
pub(crate) fn generalized_time_tlv(ts: jiff::Timestamp) -> Vec<u8> {
    tlv(0x18, ts.strftime("%Y%m%d%H%M%SZ").to_string().as_bytes())
}

/// Seconds since the epoch of a proleptic Gregorian civil time (UTC).
fn civil_to_unix(y: i64, m: i64, d: i64, hh: i64, mm: i64, ss: i64) -> Option<i64> {
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) || !(0..=23).contains(&hh) || !(0..=59).contains(&mm) {
        return None;
    }
    if !(0..=60).contains(&ss) {
        return None;
    }
    // Howard Hinnant's days_from_civil.
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146097 + doe - 719468;
    Some(days * 86400 + hh * 3600 + mm * 60 + ss)
}

fn digits(s: &[u8], at: usize, n: usize) -> Option<i64> {
    let part = s.get(at..at + n)?;
    if !part.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(part).ok()?.parse().ok()
}

/// Parses the contents of a `GeneralizedTime` (`YYYYMMDDHHMMSS[.f*]Z`).
pub(crate) fn parse_generalized_time(s: &[u8]) -> Option<jiff::Timestamp> {
    let secs = civil_to_unix(
        digits(s, 0, 4)?,
        digits(s, 4, 2)?,
        digits(s, 6, 2)?,
        digits(s, 8, 2)?,
        digits(s, 10, 2)?,
        digits(s, 12, 2)?,
    )?;
    if s.last() != Some(&b'Z') {
        return None;
    }
    jiff::Timestamp::from_second(secs).ok()
}

/// A PDF date string `D:YYYYMMDDHHmmSS+09'00'` in Japan time (PDF 32000 §7.9.4).
pub(crate) fn pdf_date(ts: jiff::Timestamp) -> String {
    let jst = jiff::Timestamp::from_second(ts.as_second().saturating_add(9 * 3600)).unwrap_or(ts);
    format!("D:{}+09'00'", jst.strftime("%Y%m%d%H%M%S"))
}

/// Parses a PDF date string (missing parts default as the specification says).
pub(crate) fn parse_pdf_date(s: &[u8]) -> Option<jiff::Timestamp> {
    let s = s.strip_prefix(b"D:").unwrap_or(s);
    let year = digits(s, 0, 4)?;
    let month = digits(s, 4, 2).unwrap_or(1);
    let day = digits(s, 6, 2).unwrap_or(1);
    let hour = digits(s, 8, 2).unwrap_or(0);
    let minute = digits(s, 10, 2).unwrap_or(0);
    let second = digits(s, 12, 2).unwrap_or(0);
    let mut secs = civil_to_unix(year, month, day, hour, minute, second)?;
    let rest_at = s.iter().position(|c| matches!(c, b'+' | b'-' | b'Z')).unwrap_or(s.len());
    if let Some(&sign) = s.get(rest_at)
        && sign != b'Z'
    {
        let oh = digits(s, rest_at + 1, 2).unwrap_or(0);
        let om = digits(s, rest_at + 4, 2).unwrap_or(0);
        let offset = oh * 3600 + om * 60;
        secs = if sign == b'+' { secs - offset } else { secs + offset };
    }
    jiff::Timestamp::from_second(secs).ok()
}

/// The fields of an X.509 certificate that CMS needs.
#[derive(Debug, Clone)]
pub(crate) struct CertFields {
    /// The whole certificate.
    pub der: Vec<u8>,
    /// `serialNumber` INTEGER TLV.
    pub serial: Vec<u8>,
    /// `issuer` Name TLV.
    pub issuer: Vec<u8>,
    /// `subject` Name TLV.
    pub subject: Vec<u8>,
    /// Public key algorithm and its curve (EC keys).
    pub key_alg: ObjectIdentifier,
    pub key_curve: Option<ObjectIdentifier>,
    /// Contents of the subjectPublicKey BIT STRING.
    pub public_key: Vec<u8>,
    /// Extension OID → (critical, extnValue contents).
    pub extensions: Vec<(ObjectIdentifier, bool, Vec<u8>)>,
}

pub(crate) fn parse_cert(der: &[u8]) -> Result<CertFields, PadesError> {
    let len = tlv_len(der).ok_or_else(|| PadesError::Certificate("not DER".into()))?;
    let der = &der[..len];
    parse_der(der, |r| {
        r.read_sequence(|r| {
            let fields = r.next().read_sequence(|r| {
                r.read_optional(|r| r.read_tagged(Tag::context(0), |r| r.read_i64()))?;
                let serial = r.next().read_der()?;
                let _sig_alg = r.next().read_der()?;
                let issuer = r.next().read_der()?;
                let _validity = r.next().read_der()?;
                let subject = r.next().read_der()?;
                let (key_alg, key_curve, public_key) = r.next().read_sequence(|r| {
                    let (alg, curve) = r.next().read_sequence(|r| {
                        let alg = r.next().read_oid()?;
                        let curve = r.read_optional(|r| r.read_oid())?;
                        if curve.is_none() {
                            r.read_optional(|r| r.read_null())?;
                        }
                        Ok((alg, curve))
                    })?;
                    let (key, _bits) = r.next().read_bitvec_bytes()?;
                    Ok((alg, curve, key))
                })?;
                r.read_optional(|r| r.read_tagged_implicit(Tag::context(1), |r| r.read_bitvec_bytes()))?;
                r.read_optional(|r| r.read_tagged_implicit(Tag::context(2), |r| r.read_bitvec_bytes()))?;
                let mut extensions = Vec::new();
                r.read_optional(|r| {
                    r.read_tagged(Tag::context(3), |r| {
                        r.read_sequence_of(|r| {
                            r.read_sequence(|r| {
                                let id = r.next().read_oid()?;
                                let critical = r.read_optional(|r| r.read_bool())?.unwrap_or(false);
                                let value = r.next().read_bytes()?;
                                extensions.push((id, critical, value));
                                Ok(())
                            })
                        })
                    })
                })?;
                Ok(CertFields {
                    der: der.to_vec(),
                    serial,
                    issuer,
                    subject,
                    key_alg,
                    key_curve,
                    public_key,
                    extensions,
                })
            })?;
            let _alg = r.next().read_der()?;
            let _sig = r.next().read_der()?;
            Ok(fields)
        })
    })
    .map_err(|e| PadesError::Certificate(e.to_string()))
}

/// The `commonName` of a Name TLV (empty when absent).
pub(crate) fn common_name(name_der: &[u8]) -> String {
    let mut cn = String::new();
    let _ = parse_ber(name_der, |r| {
        r.read_sequence_of(|r| {
            r.read_set_of(|r| {
                r.read_sequence(|r| {
                    let id = r.next().read_oid()?;
                    let value = r.next().read_tagged_der()?;
                    if is_oid(&id, OID_COMMON_NAME) {
                        let bytes = value.value();
                        cn = if value.tag() == yasna::tags::TAG_BMPSTRING {
                            let units: Vec<u16> =
                                bytes.chunks(2).map(|c| u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)])).collect();
                            String::from_utf16_lossy(&units)
                        } else {
                            String::from_utf8_lossy(bytes).into_owned()
                        };
                    }
                    Ok(())
                })
            })
        })
    });
    cn
}

/// The DER of a `SEQUENCE { OID, NULL? }` AlgorithmIdentifier without parameters.
pub(crate) fn write_alg(w: yasna::DERWriter, alg: &[u64]) {
    w.write_sequence(|w| w.next().write_oid(&oid(alg)));
}

/// Reads an AlgorithmIdentifier, ignoring its parameters.
pub(crate) fn read_alg(r: yasna::BERReader) -> ASN1Result<ObjectIdentifier> {
    r.read_sequence(|r| {
        let id = r.next().read_oid()?;
        r.read_optional(|r| r.read_der())?;
        Ok(id)
    })
}

/// The URIs of a certificate's CRL distribution points (`fullName` uniformResourceIdentifier
/// entries), in order; none when it has no such extension or cannot be read.
pub fn crl_urls(cert_der: &[u8]) -> Vec<String> {
    let Ok(cert) = parse_cert(cert_der) else { return Vec::new() };
    let mut out = Vec::new();
    for (_, _, value) in cert.extensions.iter().filter(|(id, _, _)| is_oid(id, OID_EXT_CRL_DP)) {
        uris_in(value, 0, &mut out);
    }
    out
}

/// Collects the `[6]` (uniformResourceIdentifier) values among the TLVs of `buf`, walking
/// into constructed ones (at most 8 deep).
fn uris_in(mut buf: &[u8], depth: usize, out: &mut Vec<String>) {
    while let Some(len) = tlv_len(buf) {
        let (item, rest) = buf.split_at(len);
        let header = len - content_len(item);
        if item[0] == 0x86 {
            if let Ok(uri) = std::str::from_utf8(&item[header..]) {
                out.push(uri.to_string());
            }
        } else if item[0] & 0x20 != 0 && depth < 8 {
            uris_in(&item[header..], depth + 1, out);
        }
        buf = rest;
    }
}

/// The content length of a well-formed TLV (see [`tlv_len`]).
fn content_len(item: &[u8]) -> usize {
    match item.get(1) {
        Some(&l) if l < 0x80 => usize::from(l),
        Some(&l) => item.len() - 2 - usize::from(l & 0x7f),
        None => 0,
    }
}

/// Whether `cert_der` names `ca_der`'s subject as its issuer (names compared as encoded).
pub fn is_issued_by(cert_der: &[u8], ca_der: &[u8]) -> bool {
    match (parse_cert(cert_der), parse_cert(ca_der)) {
        (Ok(cert), Ok(ca)) => cert.issuer == ca.subject,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times() {
        let ts = jiff::Timestamp::from_second(1_795_000_000).unwrap_or(jiff::Timestamp::UNIX_EPOCH);
        let d = pdf_date(ts);
        assert_eq!(parse_pdf_date(d.as_bytes()), Some(ts));
        let g = generalized_time_tlv(ts);
        assert_eq!(parse_generalized_time(&g[2..]), Some(ts));
        assert_eq!(parse_pdf_date(b"D:2026"), jiff::Timestamp::from_second(1_767_225_600).ok());
        assert_eq!(parse_pdf_date(b"garbage"), None);
        assert_eq!(tlv_len(&tlv(4, &[0; 300])), Some(304));
        assert_eq!(tlv_len(&[4, 0x82, 1]), None);
        assert_eq!(integer_tlv(&[0x80]), vec![2, 2, 0, 0x80]);
        assert_eq!(integer_tlv(&[0, 0, 5]), vec![2, 1, 5]);
        assert_eq!(integer_tlv(&[]), vec![2, 1, 0]);
    }

    #[test]
    fn lengths_that_do_not_fit_are_refused_before_yasna_reads_them() {
        // qnighy/yasna.rs#81: a length of u64::MAX made yasna's skip_general wrap and panic.
        let wrap = [0x88, 0x88, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x0a];
        assert!(parse_der(&wrap, |r| r.read_der()).is_err());
        assert!(parse_ber(&wrap, |r| r.read_der()).is_err());
        // The same inside a SEQUENCE, behind read_optional.
        let nested = [0x30, 0x0b, 0x88, 0x88, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x0a];
        assert!(parse_ber(&nested, |r| r.read_sequence(|r| r.read_optional(|r| r.read_der()).map(|_| ()))).is_err());
        // A child longer than its parent, a truncated header, too deep a nesting.
        assert!(lengths_fit(&[0x30, 0x03, 0x04, 0x05, 0x00]).is_err());
        assert!(lengths_fit(&[0x30]).is_err());
        assert!(lengths_fit(&[0x04, 0x81]).is_err());
        assert!(lengths_fit(&[0x1f, 0x81]).is_err());
        let deep: Vec<u8> = std::iter::repeat_n([0x30, 0x80], 70).flatten().chain([0; 140]).collect();
        assert!(lengths_fit(&deep).is_err());
        // Indefinite lengths (BER) are walked to their end-of-contents; primitive ones refused.
        let ber = [0x30, 0x80, 0x31, 0x80, 0x04, 0x01, 0x07, 0x00, 0x00, 0x02, 0x01, 0x05, 0x00, 0x00];
        assert_eq!(lengths_fit(&ber), Ok(()));
        assert!(lengths_fit(&ber[..ber.len() - 1]).is_err());
        assert!(lengths_fit(&[0x04, 0x80, 0x00, 0x00]).is_err());
        // A high tag number, and an empty input.
        assert_eq!(lengths_fit(&[0xbf, 0x87, 0x68, 0x02, 0x05, 0x00]), Ok(()));
        assert_eq!(lengths_fit(&[]), Ok(()));
    }

    #[test]
    fn what_yasna_writes_fits() {
        let der = yasna::construct_der(|w| {
            w.write_sequence(|w| {
                w.next().write_oid(&oid(OID_SIGNED_DATA));
                w.next().write_tagged(Tag::context(0), |w| w.write_bytes(&[7; 300]));
                w.next().write_set(|w| {
                    w.next().write_u64(u64::MAX);
                    w.next().write_sequence(|w| w.next().write_bool(true));
                });
                w.next().write_tagged_implicit(Tag::context(70_000), |w| w.write_utf8_string("契約"));
            })
        });
        assert_eq!(lengths_fit(&der), Ok(()));
        assert!(parse_der(&der, |r| r.read_der()).is_ok());
        for cut in 1..der.len() {
            assert!(lengths_fit(&der[..cut]).is_err(), "cut at {cut}");
        }
    }
}
