//! Checking the signatures of a PDF.

use lopdf::Object;
use sha2::{Digest, Sha256};

use crate::PadesError;
use crate::cms;
use crate::der::{common_name, parse_pdf_date};
use crate::pdf::{load, page_box, pages};
use crate::tsa::{TimestampInfo, check_token};

/// What [`verify`] found out about one signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatureInfo {
    /// The signature field's `/T`, if a field points at this signature.
    pub field_name: Option<String>,
    /// `/SubFilter`, e.g. `ETSI.CAdES.detached`.
    pub sub_filter: String,
    /// The signer certificate's subject common name.
    pub signer_name: String,
    /// `/M`, the claimed signing time.
    pub signing_time: Option<jiff::Timestamp>,
    /// `/ByteRange`.
    pub byte_range: [usize; 4],
    /// The byte range covers the whole file except `/Contents` (the last revision was signed).
    pub covers_whole_file: bool,
    /// The CMS messageDigest equals the SHA-256 of the byte ranges.
    pub digest_matches: bool,
    /// The CMS signature verifies with the embedded signer certificate.
    pub signature_valid: bool,
    /// The signature time-stamp (its imprint is checked against the signature value).
    pub timestamp: Option<TimestampInfo>,
    /// For a delegate's signature: who signed under which mandate (a signed attribute).
    pub delegation: Option<crate::Delegation>,
    /// The SHA-256 of the seal the stamp was drawn from, as the signature names it.
    pub seal_sha256: Option<[u8; 32]>,
}

impl SignatureInfo {
    /// A document time-stamp (`ETSI.RFC3161`, PAdES-B-LTA), not a person's signature.
    pub fn is_document_timestamp(&self) -> bool {
        self.sub_filter == "ETSI.RFC3161"
    }

    /// Digest, signature and (when present) time-stamp all check out. Trust in the
    /// certificates is not judged here.
    pub fn is_intact(&self) -> bool {
        self.digest_matches
            && self.signature_valid
            && self.timestamp.as_ref().is_none_or(|t| t.imprint_matches && t.signature_valid)
    }
}

fn usize_of(o: &Object) -> Option<usize> {
    o.as_i64().ok().and_then(|i| usize::try_from(i).ok())
}

pub(crate) fn decode_hex(hex: &[u8]) -> Option<Vec<u8>> {
    let digits: Vec<u8> = hex.iter().copied().filter(|c| !c.is_ascii_whitespace()).collect();
    let val = |c: u8| char::from(c).to_digit(16).map(|d| d as u8);
    digits.chunks(2).map(|p| Some(val(p[0])? << 4 | val(*p.get(1).unwrap_or(&b'0'))?)).collect()
}

/// Checks every signature dictionary (`/ByteRange` + `/Contents`) of `pdf`, oldest first.
///
/// Errors only when the file cannot be read as a PDF; a damaged signature is reported in its
/// [`SignatureInfo`].
pub fn verify(pdf: &[u8]) -> Result<Vec<SignatureInfo>, PadesError> {
    let doc = load(pdf)?;
    let mut names = std::collections::HashMap::new();
    for obj in doc.objects.values() {
        if let Ok(d) = obj.as_dict()
            && let Ok(Object::Reference(v)) = d.get(b"V")
            && let Ok(t) = d.get(b"T")
        {
            let name = lopdf::decode_text_string(t)
                .unwrap_or_else(|_| t.as_str().map(|b| String::from_utf8_lossy(b).into_owned()).unwrap_or_default());
            names.insert(*v, name);
        }
    }
    let mut out = Vec::new();
    for (id, obj) in &doc.objects {
        let Ok(d) = obj.as_dict() else { continue };
        let (Ok(br), Ok(_)) = (d.get(b"ByteRange").and_then(Object::as_array), d.get(b"Contents")) else {
            continue;
        };
        let Some(br): Option<Vec<usize>> = br.iter().map(usize_of).collect() else { continue };
        let Ok(byte_range): Result<[usize; 4], _> = br.try_into() else { continue };
        let sub_filter = d
            .get(b"SubFilter")
            .and_then(Object::as_name)
            .map(|n| String::from_utf8_lossy(n).into_owned())
            .unwrap_or_default();
        let mut info = SignatureInfo {
            field_name: names.get(id).cloned(),
            sub_filter: sub_filter.clone(),
            signer_name: String::new(),
            signing_time: d.get(b"M").and_then(Object::as_str).ok().and_then(parse_pdf_date),
            byte_range,
            covers_whole_file: false,
            digest_matches: false,
            signature_valid: false,
            timestamp: None,
            delegation: None,
            seal_sha256: None,
        };
        let [a, b, c, len] = byte_range;
        let ranges_ok = a == 0 && b < c && c.checked_add(len).is_some_and(|end| end <= pdf.len());
        if !ranges_ok || pdf.get(b) != Some(&b'<') || pdf.get(c - 1) != Some(&b'>') {
            out.push(info);
            continue;
        }
        info.covers_whole_file = c + len == pdf.len();
        let mut hasher = Sha256::new();
        hasher.update(&pdf[..b]);
        hasher.update(&pdf[c..c + len]);
        let digest: [u8; 32] = hasher.finalize().into();
        let Some(contents) = decode_hex(&pdf[b + 1..c - 1]) else {
            out.push(info);
            continue;
        };
        if sub_filter == "ETSI.RFC3161" {
            if let Ok(t) = check_token(&contents, &digest) {
                info.digest_matches = t.imprint_matches;
                info.signature_valid = t.signature_valid;
                info.signer_name = t.tsa_name.clone();
                info.signing_time = t.gen_time;
            }
        } else if let Ok(sd) = cms::parse_signed_data(&contents) {
            let checked = sd.check(Some(digest));
            info.digest_matches = checked.digest_ok;
            info.signature_valid = checked.signature_ok;
            info.signer_name = checked.signer.map(|c| common_name(&c.subject)).unwrap_or_default();
            info.delegation = sd.delegation();
            info.seal_sha256 = sd.seal();
            if let Some(token) = sd.timestamp_token() {
                let imprint: [u8; 32] = Sha256::digest(&sd.signature).into();
                info.timestamp = Some(check_token(token, &imprint).unwrap_or(TimestampInfo {
                    gen_time: None,
                    policy: String::new(),
                    imprint_matches: false,
                    signature_valid: false,
                    tsa_name: String::new(),
                }));
            }
        }
        out.push(info);
    }
    out.sort_by_key(|i| (i.byte_range[2].saturating_add(i.byte_range[3]), i.byte_range[1]));
    Ok(out)
}

/// The number of pages and each page's size `(width, height)` in points (CropBox, else
/// MediaBox, inherited through the page tree; rotation not applied). Errors when the file is
/// not a readable, unencrypted PDF with at least one page.
pub fn page_count_and_sizes(pdf: &[u8]) -> Result<Vec<(f32, f32)>, PadesError> {
    let doc = load(pdf)?;
    if doc.trailer.get(b"Encrypt").is_ok() {
        return Err(PadesError::Encrypted);
    }
    let sizes: Vec<(f32, f32)> = pages(&doc)
        .into_iter()
        .filter_map(|id| doc.get_dictionary(id).ok())
        .map(|page| {
            let [llx, lly, urx, ury] = page_box(&doc, page);
            (urx - llx, ury - lly)
        })
        .collect();
    if sizes.is_empty() {
        return Err(PadesError::Pdf("the document has no pages".into()));
    }
    Ok(sizes)
}
