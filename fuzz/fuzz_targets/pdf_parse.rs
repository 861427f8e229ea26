//! Reading untrusted PDFs: the upload check (`page_count_and_sizes`) and the signature
//! verifier (`verify`) on arbitrary bytes. Property: an error, never a panic.
#![no_main]

use keiyaku_pades::{page_count_and_sizes, verify};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(sizes) = page_count_and_sizes(data) {
        for (w, h) in sizes {
            let _ = (w.is_finite(), h.is_finite());
        }
    }
    if let Ok(signatures) = verify(data) {
        for s in signatures {
            let _ = s.is_intact();
            let _ = format!("{s:?}");
        }
    }
});
