//! The check an uploaded PDF passes before anything parses it in full: every Flate stream is
//! inflated with a cap, so a file whose streams expand to gigabytes (lopdf inflates object
//! streams while loading) is refused after reading at most the caps, then the pages are read.

use crate::PadesError;
use std::io::Read;

/// How far an upload's compressed streams may expand.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InflateLimits {
    /// Most bytes one stream may inflate to.
    pub per_stream: usize,
    /// Most bytes all streams of the file may inflate to together.
    pub per_document: usize,
}

/// Checks the streams against `limits`, then reads the page sizes (points) the signer needs.
pub fn preflight(pdf: &[u8], limits: InflateLimits) -> Result<Vec<(f32, f32)>, PadesError> {
    if !pdf.starts_with(b"%PDF-") {
        return Err(PadesError::Pdf("the file does not start with %PDF-".into()));
    }
    let mut total = 0usize;
    for body in streams(pdf) {
        let inflated = inflated_len(body, limits.per_stream.saturating_add(1));
        if inflated > limits.per_stream {
            return Err(PadesError::TooExpanded { limit: limits.per_stream });
        }
        total = total.saturating_add(inflated);
        if total > limits.per_document {
            return Err(PadesError::TooExpanded { limit: limits.per_document });
        }
    }
    crate::page_count_and_sizes(pdf)
}

/// The raw bodies between `stream` and `endstream`.
fn streams(pdf: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut at = 0usize;
    std::iter::from_fn(move || {
        loop {
            let start = at + find(&pdf[at..], b"stream")?;
            let mut body = start + b"stream".len();
            at = body;
            // `endstream` also contains `stream`: only a keyword followed by an end of line opens one.
            if pdf[..start].ends_with(b"end") {
                continue;
            }
            match pdf.get(body..body + 2) {
                Some([b'\r', b'\n']) => body += 2,
                Some([b'\n', _]) | Some([b'\r', _]) => body += 1,
                _ => continue,
            }
            let end = body + find(&pdf[body..], b"endstream").unwrap_or(pdf.len() - body);
            at = end;
            return Some(&pdf[body..end]);
        }
    })
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// How many bytes `body` inflates to, read up to `cap` (0 when it is not zlib data).
fn inflated_len(body: &[u8], cap: usize) -> usize {
    let mut decoder = flate2::read::ZlibDecoder::new(body).take(cap as u64);
    let mut sink = [0u8; 64 * 1024];
    let mut n = 0usize;
    loop {
        match decoder.read(&mut sink) {
            Ok(0) | Err(_) => return n,
            Ok(k) => n += k,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn zlib(bytes: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
        let _ = e.write_all(bytes);
        e.finish().unwrap_or_default()
    }

    fn pdf_with_stream(content: &[u8]) -> Vec<u8> {
        let mut pdf = b"%PDF-1.7\n1 0 obj\n<< /Length 1 /Filter /FlateDecode >>\nstream\n".to_vec();
        pdf.extend_from_slice(&zlib(content));
        pdf.extend_from_slice(b"\nendstream\nendobj\n");
        pdf
    }

    #[test]
    fn a_stream_that_expands_past_the_cap_is_refused_quickly() {
        let limits = InflateLimits { per_stream: 1 << 20, per_document: 4 << 20 };
        let bomb = pdf_with_stream(&vec![0u8; 64 << 20]);
        assert!(bomb.len() < 200 << 10, "64 MiB of zeros compress to {} bytes", bomb.len());
        let started = std::time::Instant::now();
        assert_eq!(preflight(&bomb, limits), Err(PadesError::TooExpanded { limit: 1 << 20 }));
        assert!(started.elapsed() < std::time::Duration::from_secs(1));
        // Many streams under the per-stream cap add up to the per-document cap.
        let mut many = b"%PDF-1.7\n".to_vec();
        for _ in 0..8 {
            many.extend_from_slice(&pdf_with_stream(&vec![0u8; 900 << 10])[9..]);
        }
        assert_eq!(preflight(&many, limits), Err(PadesError::TooExpanded { limit: 4 << 20 }));
        assert_eq!(streams(b"%PDF stream\nabc\nendstream x stream\r\nd endstream").count(), 2);
    }
}
