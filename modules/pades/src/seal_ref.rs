//! The seal (印影) that belongs to a certificate.
//!
//! keiyaku certifies the holder's registered seal: the certificate carries, in a
//! non-critical subjectDirectoryAttributes extension (RFC 5280 §4.2.1.8), an attribute of
//! type [`SEAL_ATTRIBUTE_OID`] whose value is the OCTET STRING SHA-256 of the registered
//! seal image (its SVG bytes). A signature whose visible stamp is drawn from a seal names
//! that seal's SHA-256 in a signed attribute of the same type. The verifier reports both
//! and whether they match: the stamp on the page was drawn from the seal the certificate
//! was issued for.

use crate::der::{OID_EXT_SUBJECT_DIRECTORY_ATTRIBUTES, is_oid, parse_cert, parse_der};
use crate::tsa::encode_oid;

/// The attribute type of a seal image's SHA-256: `2.25.<keiyaku's UUID arc>.3` (the arc of
/// [`crate::DEFAULT_TSA_POLICY`], which needs no registration).
pub const SEAL_ATTRIBUTE_OID: &str = "2.25.19482070918867422078046894882061333835.3";

fn attribute_type() -> Vec<u8> {
    encode_oid(SEAL_ATTRIBUTE_OID).unwrap_or_default()
}

/// The DER `Attribute { type SEAL_ATTRIBUTE_OID, values SET { OCTET STRING sha256 } }`.
pub(crate) fn seal_attribute(sha256: &[u8; 32]) -> Vec<u8> {
    let ty = attribute_type();
    yasna::construct_der(|w| {
        w.write_sequence(|w| {
            w.next().write_der(&ty);
            w.next().write_set_of(|w| w.next().write_bytes(sha256));
        })
    })
}

/// The subjectDirectoryAttributes extension naming the seal, for a certificate being made
/// (rcgen: `CustomExtension::from_oid_content(&oid, content)`, non-critical):
/// `(extension OID 2.5.29.9, DER extnValue contents)`.
pub fn seal_extension(sha256: &[u8; 32]) -> (Vec<u64>, Vec<u8>) {
    let attr = seal_attribute(sha256);
    (
        OID_EXT_SUBJECT_DIRECTORY_ATTRIBUTES.to_vec(),
        yasna::construct_der(|w| w.write_sequence(|w| w.next().write_der(&attr))),
    )
}

/// The seal SHA-256 among DER `Attribute`s (a certificate's subjectDirectoryAttributes or a
/// signature's signed attributes, given as (type TLV, values)).
pub(crate) fn seal_in<'a>(attrs: impl IntoIterator<Item = (&'a [u8], &'a [Vec<u8>])>) -> Option<[u8; 32]> {
    let ty = attribute_type();
    let (_, values) = attrs.into_iter().find(|(t, _)| *t == ty.as_slice())?;
    let value = values.first()?;
    let bytes = parse_der(value, |r| r.read_bytes()).ok()?;
    bytes.try_into().ok()
}

/// The SHA-256 of the seal a certificate was issued for, if it names one.
pub fn certificate_seal(cert_der: &[u8]) -> Option<[u8; 32]> {
    let cert = parse_cert(cert_der).ok()?;
    let (_, _, value) = cert.extensions.iter().find(|(id, _, _)| is_oid(id, OID_EXT_SUBJECT_DIRECTORY_ATTRIBUTES))?;
    let attrs: Vec<(Vec<u8>, Vec<Vec<u8>>)> = parse_der(value, |r| {
        r.collect_sequence_of(|r| {
            r.read_sequence(|r| {
                let ty = r.next().read_der()?;
                let values = r.next().collect_set_of(|r| r.read_der())?;
                Ok((ty, values))
            })
        })
    })
    .ok()?;
    seal_in(attrs.iter().map(|(t, v)| (t.as_slice(), v.as_slice())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_extension_names_the_seal_and_other_certificates_none() {
        let (oid, content) = seal_extension(&[7u8; 32]);
        assert_eq!(oid, [2, 5, 29, 9]);
        let attrs: Vec<(Vec<u8>, Vec<Vec<u8>>)> = parse_der(&content, |r| {
            r.collect_sequence_of(|r| {
                r.read_sequence(|r| Ok((r.next().read_der()?, r.next().collect_set_of(|r| r.read_der())?)))
            })
        })
        .unwrap_or_default();
        assert_eq!(seal_in(attrs.iter().map(|(t, v)| (t.as_slice(), v.as_slice()))), Some([7u8; 32]));
        assert_eq!(certificate_seal(b"junk"), None);
    }
}
