//! The honest verifier (`keiyaku verify-pdf`, `verifyPdf`, the `/verify` page): one
//! function over [`keiyaku_pades::report`], offline, with the trust roots the caller gives
//! (PEM or DER files), and the rule `registerContract` applies to uploads that are signed
//! already.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use jiff::Timestamp;
pub use keiyaku_pades::{Report, Revocation, SignatureKind, SignatureReport, Trust, Verdict};

/// The certificates in `bytes`: every `CERTIFICATE` block of a PEM file, or the file itself
/// when it is DER. Anything unreadable is skipped.
pub fn certificates(bytes: &[u8]) -> Vec<Vec<u8>> {
    if bytes.first() == Some(&0x30) {
        return vec![bytes.to_vec()];
    }
    let text = String::from_utf8_lossy(bytes);
    let mut out = Vec::new();
    let mut rest = text.as_ref();
    while let Some(start) = rest.find("-----BEGIN CERTIFICATE-----") {
        let body = &rest[start + 27..];
        let Some(end) = body.find("-----END CERTIFICATE-----") else { break };
        let b64: String = body[..end].chars().filter(|c| !c.is_whitespace()).collect();
        if let Ok(der) = B64.decode(b64.as_bytes()) {
            out.push(der);
        }
        rest = &body[end..];
    }
    out
}

/// The report on `pdf`, trusting `trust_roots` (DER), at `now`; a file that is not a PDF
/// is an error with the reason.
pub fn verify_pdf(pdf: &[u8], trust_roots: &[Vec<u8>], now: Timestamp) -> Result<Report, String> {
    keiyaku_pades::report(pdf, trust_roots, now).map_err(|e| e.to_string())
}

/// Why an upload with signatures is refused: a broken signature, or a change after one
/// that is not signing, validation data, a time-stamp or permitted form filling. Trust is
/// not judged here (the signers may be of another CA). None: acceptable.
pub fn refusal(pdf: &[u8], now: Timestamp) -> Option<String> {
    let report = keiyaku_pades::report(pdf, &[], now).ok()?;
    for s in &report.signatures {
        if !s.intact {
            return Some(format!(
                "{}: the signature does not match the signed bytes",
                s.field.as_deref().unwrap_or("?")
            ));
        }
        if let Some(m) = s.modifications_after.first() {
            return Some(format!("{}: changed after signing ({m})", s.field.as_deref().unwrap_or("?")));
        }
    }
    None
}

/// The report as plain text (`keiyaku verify-pdf` without `--json`).
pub fn describe(report: &Report) -> String {
    keiyaku_pades::describe(report)
}

/// The process exit code `keiyaku verify-pdf` ends with for a verdict.
pub fn exit_code(verdict: Verdict) -> u8 {
    match verdict {
        Verdict::Valid => 0,
        Verdict::Indeterminate => 2,
        Verdict::Invalid | Verdict::Unsigned => 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pem_bundles_and_der_are_read() {
        let der = vec![0x30, 0x03, 0x02, 0x01, 0x01];
        assert_eq!(certificates(&der), vec![der.clone()]);
        let pem = format!(
            "junk\n-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
            B64.encode(&der),
            B64.encode([0x30, 0x00])
        );
        assert_eq!(certificates(pem.as_bytes()), vec![der, vec![0x30, 0x00]]);
        assert!(certificates(b"-----BEGIN CERTIFICATE-----\n!!\n").is_empty());
    }

    #[test]
    fn unsigned_files_are_not_refused_and_junk_is_an_error() {
        assert!(verify_pdf(b"not a pdf", &[], Timestamp::UNIX_EPOCH).is_err());
        assert_eq!(exit_code(Verdict::Valid), 0);
        assert_eq!(exit_code(Verdict::Indeterminate), 2);
    }
}
