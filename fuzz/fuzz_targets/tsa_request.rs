//! The in-process time-stamping authority answering arbitrary DER as an RFC 3161
//! `TimeStampReq` (what the `/tsa` endpoint receives). Property: a response or an error,
//! never a panic.
#![no_main]

use keiyaku_pades::tsa_response;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let pki = keiyaku_fuzz::pki();
    if let Ok(reply) = tsa_response(&pki.tsa, data) {
        // A TimeStampResp is one DER SEQUENCE.
        assert_eq!(reply.first(), Some(&0x30), "a TimeStampResp starts with a SEQUENCE");
    }
});
