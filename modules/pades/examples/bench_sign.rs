//! Signing speed: `cargo run --release -p keiyaku-pades --example bench_sign -- DIR [RUNS]`.
//!
//! Writes `DIR/{ca,signer,signer.key,tsa,tsa.key}.pem` and `DIR/{1mb,10mb}.pdf`, signs each PDF
//! RUNS times (default 5) with a visible stamp and a local time-stamp, and prints
//! `keiyaku <file> <median ms> <signed bytes>` lines (used by `bench/pades.sh`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../tests/common/mod.rs"]
mod common;

use std::time::Instant;

fn main() {
    let mut args = std::env::args().skip(1);
    let dir = std::path::PathBuf::from(args.next().unwrap_or_else(|| "bench-out".into()));
    let runs: usize = args.next().and_then(|r| r.parse().ok()).unwrap_or(5);
    std::fs::create_dir_all(&dir).unwrap();
    let pki = common::pki();
    let tsa_key_pem = {
        // PKCS#8 DER → PEM for pyHanko.
        use std::fmt::Write as _;
        let b64 = base64(&pki.tsa_key);
        let mut s = String::from("-----BEGIN PRIVATE KEY-----\n");
        for line in b64.as_bytes().chunks(64) {
            let _ = writeln!(s, "{}", std::str::from_utf8(line).unwrap());
        }
        s.push_str("-----END PRIVATE KEY-----\n");
        s
    };
    common::write(&dir, "ca.pem", &pki.ca_pem);
    common::write(&dir, "signer.pem", &pki.signer_pem);
    common::write(&dir, "signer.key.pem", &pki.signer_key_pem);
    common::write(&dir, "tsa.pem", &pki.tsa_pem);
    common::write(&dir, "tsa.key.pem", &tsa_key_pem);
    let tsa = pki.tsa();
    for (name, pages, size) in [("1mb.pdf", 20, 1_000_000), ("10mb.pdf", 100, 10_000_000)] {
        let pdf = common::big_pdf(pages, size);
        common::write(&dir, name, &pdf);
        let mut times = Vec::new();
        let mut signed = Vec::new();
        for _ in 0..runs {
            let start = Instant::now();
            signed = keiyaku_pades::sign(&pki.request(&pdf), &tsa).unwrap();
            times.push(start.elapsed().as_secs_f64() * 1000.0);
        }
        let infos = keiyaku_pades::verify(&signed).unwrap();
        assert!(infos.len() == 1 && infos[0].is_intact());
        common::write(&dir, &format!("{name}.keiyaku-signed.pdf"), &signed);
        times.sort_by(f64::total_cmp);
        println!("keiyaku {name} {:.1} {}", times[times.len() / 2], signed.len());
    }
}

fn base64(data: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for c in data.chunks(3) {
        let n =
            (u32::from(c[0]) << 16) | (u32::from(*c.get(1).unwrap_or(&0)) << 8) | u32::from(*c.get(2).unwrap_or(&0));
        for i in 0..4 {
            if i <= c.len() {
                out.push(char::from(T[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}
