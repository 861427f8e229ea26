//! Damaged input never panics: random byte changes, insertions and truncations of valid
//! (signed) PDFs are fed to `sign`, `verify` and `page_count_and_sizes`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::OnceLock;

use common::*;
use keiyaku_pades::{page_count_and_sizes, sign, verify};
use proptest::prelude::*;

struct Inputs {
    pki: Pki,
    pdfs: Vec<Vec<u8>>,
}

fn inputs() -> &'static Inputs {
    static INPUTS: OnceLock<Inputs> = OnceLock::new();
    INPUTS.get_or_init(|| {
        let pki = pki();
        let plain = simple_pdf();
        let signed = sign(&pki.request(&plain), &pki.tsa()).unwrap();
        let mut pdfs = vec![plain.clone(), signed];
        if let Some(objstm) = with_object_streams(&plain) {
            let signed = sign(&pki.request(&objstm), &pki.tsa()).unwrap();
            pdfs.push(objstm);
            pdfs.push(signed);
        }
        Inputs { pki, pdfs }
    })
}

fn exercise(data: &[u8]) {
    let inputs = inputs();
    let _ = page_count_and_sizes(data);
    if let Ok(infos) = verify(data) {
        for i in infos {
            let _ = i.is_intact();
        }
    }
    if let Ok(signed) = sign(&inputs.pki.request(data), &inputs.pki.tsa()) {
        assert!(signed.starts_with(data));
        let _ = verify(&signed);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn mutated_bytes_never_panic(which in 0usize..4, changes in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8)) {
        let pdfs = &inputs().pdfs;
        let mut data = pdfs[which % pdfs.len()].clone();
        for (at, byte) in changes {
            let i = at.index(data.len());
            data[i] = byte;
        }
        exercise(&data);
    }

    #[test]
    fn structural_characters_never_panic(which in 0usize..4, changes in prop::collection::vec((any::<prop::sample::Index>(), prop::sample::select(b"0123456789 /<>[]()R\nobjendstreamxref%-".to_vec())), 1..6)) {
        let pdfs = &inputs().pdfs;
        let mut data = pdfs[which % pdfs.len()].clone();
        for (at, byte) in changes {
            let i = at.index(data.len());
            data[i] = byte;
        }
        exercise(&data);
    }

    #[test]
    fn truncations_and_insertions_never_panic(which in 0usize..4, cut in any::<prop::sample::Index>(), insert in prop::collection::vec(any::<u8>(), 0..40), at in any::<prop::sample::Index>()) {
        let pdfs = &inputs().pdfs;
        let mut data = pdfs[which % pdfs.len()].clone();
        let i = at.index(data.len());
        data.splice(i..i, insert);
        let keep = cut.index(data.len() + 1);
        data.truncate(keep);
        exercise(&data);
    }

    #[test]
    fn arbitrary_bytes_never_panic(data in prop::collection::vec(any::<u8>(), 0..2000)) {
        exercise(&data);
        let mut pdf = b"%PDF-1.7\n".to_vec();
        pdf.extend_from_slice(&data);
        exercise(&pdf);
    }
}
