//! Signing arbitrary bytes as the PDF (PAdES-B-T with a visible or invisible stamp, a fixed
//! test key, certificate and in-process TSA). Properties: no panic; a signed result is an
//! incremental update (the input is its unchanged prefix) that the verifier reads back.
#![no_main]

use keiyaku_pades::{Appearance, Seal, SignRequest, sign, verify};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let pki = keiyaku_fuzz::pki();
    let time = jiff::Timestamp::from_second(1_764_000_000).unwrap_or(jiff::Timestamp::UNIX_EPOCH);
    let mut req = SignRequest::new(data, &pki.signer_der, &pki.chain, &pki.signer_key, time);
    req.name = Some("山田 太郎".into());
    req.reason = Some("契約締結 (fuzz)".into());
    // The variant depends on the length, so a seed PDF is used unchanged as the document.
    match data.len() % 4 {
        0 => {}
        mode => {
            req.appearance = Some(Appearance {
                page: usize::from(mode == 3),
                rect: (mode == 2).then_some([36.0, 36.0, 200.0, 60.0]),
                seal: Seal {
                    chars: vec!['山', '田'],
                    vertical: mode != 2,
                    date: (mode == 3).then(|| "26.11.25".into()),
                },
                label_lines: vec!["山田 太郎".into(), "代理: 鈴木 一郎".into()],
            });
        }
    }
    if let Ok(signed) = sign(&req, &pki.tsa) {
        assert!(signed.starts_with(data), "a signature must be an incremental update of the input");
        if let Ok(signatures) = verify(&signed) {
            for s in signatures {
                let _ = s.is_intact();
            }
        }
    }
});
