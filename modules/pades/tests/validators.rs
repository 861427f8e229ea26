//! keiyaku-pades output checked by tools nobody here wrote: pyHanko, poppler (pdfsig,
//! pdftoppm), OpenSSL (cms, ts) and qpdf.
//!
//! They must be installed (a test whose tool is missing prints SKIP, but fails when the `CI`
//! environment variable is set):
//!
//! ```sh
//! apt-get update && apt-get install -y poppler-utils libnss3-tools qpdf openssl fonts-noto-cjk
//! pip install pyhanko pyhanko-cli    # pyHanko 0.38 / CLI 0.6: the `pyhanko` command
//! ```
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;
use std::process::Command;

use common::*;
use keiyaku_pades::{Appearance, Seal, sign};
use sha2::{Digest, Sha256};

fn run(program: &str, args: &[&str], dir: &Path) -> (bool, String) {
    let out = Command::new(program).args(args).current_dir(dir).output().unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    eprintln!("$ {program} {}\n{text}", args.join(" "));
    (out.status.success(), text)
}

/// The length of the DER TLV at `at`.
fn tlv_len(b: &[u8], at: usize) -> usize {
    let l = b[at + 1] as usize;
    if l < 0x80 {
        2 + l
    } else {
        let n = l & 0x7f;
        2 + n + b[at + 2..at + 2 + n].iter().fold(0usize, |a, &x| (a << 8) | x as usize)
    }
}

/// The parts of the last signature: (CMS DER, signed bytes, time-stamp token, signature value).
fn parts(pdf: &[u8]) -> (Vec<u8>, Vec<u8>, Vec<u8>, Vec<u8>) {
    let text = String::from_utf8_lossy(pdf);
    let at = text.rfind("/ByteRange [").unwrap() + 12;
    let nums: Vec<usize> =
        text[at..].split(']').next().unwrap().split_whitespace().map(|n| n.parse().unwrap()).collect();
    let (b, c, l) = (nums[1], nums[2], nums[3]);
    let hex = &pdf[b + 1..c - 1];
    let raw: Vec<u8> =
        hex.chunks(2).map(|p| u8::from_str_radix(std::str::from_utf8(p).unwrap(), 16).unwrap()).collect();
    let cms = raw[..tlv_len(&raw, 0)].to_vec();
    let data = [&pdf[..b], &pdf[c..c + l]].concat();
    // The signature value: the OCTET STRING after the SignerInfo's ecdsa-with-SHA256.
    let alg = [0x30, 0x0A, 0x06, 0x08, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x04, 0x03, 0x02, 0x04];
    let s = cms.windows(alg.len()).position(|w| w == alg).unwrap() + alg.len() - 1;
    let sig = cms[s + 2..s + tlv_len(&cms, s)].to_vec();
    // The token: the value of the id-aa-signatureTimeStampToken attribute.
    let oid = [0x06, 0x0B, 0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x09, 0x10, 0x02, 0x0E];
    let set = cms.windows(oid.len()).position(|w| w == oid).unwrap() + oid.len();
    let tok_at = set + if cms[set + 1] < 0x80 { 2 } else { 2 + (cms[set + 1] & 0x7f) as usize };
    let token = cms[tok_at..tok_at + tlv_len(&cms, tok_at)].to_vec();
    (cms, data, token, sig)
}

struct Files {
    dir: std::path::PathBuf,
    pki: Pki,
    original: Vec<u8>,
    once: Vec<u8>,
}

impl Drop for Files {
    /// Removes the scratch directory unless the test failed (then it is kept for inspection).
    fn drop(&mut self) {
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.dir);
        } else {
            eprintln!("files kept in {}", self.dir.display());
        }
    }
}

fn files(name: &str) -> Files {
    let pki = pki();
    let dir = scratch(name);
    let original = simple_pdf();
    let once = sign(&pki.request(&original), &pki.tsa()).unwrap();
    let mut req = pki.request(&once);
    req.appearance = Some(Appearance {
        page: 0,
        rect: Some([72.0, 100.0, 200.0, 60.0]),
        seal: Seal { chars: vec!['鈴', '木'], vertical: false, date: Some("26.11.25".into()) },
        label_lines: vec!["鈴木 一郎".into(), "2026-11-25".into()],
    });
    let twice = sign(&req, &pki.tsa()).unwrap();
    write(&dir, "ca.pem", &pki.ca_pem);
    write(&dir, "tsa.pem", &pki.tsa_pem);
    write(&dir, "original.pdf", &original);
    write(&dir, "once.pdf", &once);
    write(&dir, "twice.pdf", &twice);
    let mut bad = once.clone();
    let at = bad.windows(13).position(|w| w == b"Hello keiyaku").unwrap();
    bad[at] = b'J';
    write(&dir, "tampered.pdf", &bad);
    Files { dir, pki, original, once }
}

fn pyhanko(dir: &Path, file: &str) -> (bool, String) {
    run(
        "pyhanko",
        &["sign", "validate", "--pretty-print", "--no-revocation-check", "--trust-replace", "--trust", "ca.pem", file],
        dir,
    )
}

#[test]
fn pyhanko_judges_the_signatures_valid_and_trusted() {
    if !have("pyhanko", "--version") {
        return;
    }
    let f = files("pyhanko");
    for (file, count) in [("once.pdf", 1), ("twice.pdf", 2)] {
        let (ok, out) = pyhanko(&f.dir, file);
        assert!(ok, "{out}");
        assert_eq!(out.matches("The signature is judged VALID.").count(), count, "{out}");
        assert_eq!(out.matches("The signer's certificate is trusted.").count(), count);
        assert_eq!(out.matches("The signature is cryptographically sound.").count(), count);
        assert_eq!(out.matches("The timestamp token is cryptographically sound.").count(), count);
        assert_eq!(out.matches("The TSA certificate is trusted.").count(), count);
        assert_eq!(out.matches("The signature covers the entire file.").count(), 1);
    }
    // The earlier signature of the twice-signed file: only signing/form-filling changes after it.
    let (_, out) = pyhanko(&f.dir, "twice.pdf");
    assert!(out.contains("All modifications relate to signing and form filling operations"), "{out}");
    // Cross-reference stream + object stream input.
    if let Some(objstm) = with_object_streams(&f.original) {
        let signed = sign(&f.pki.request(&objstm), &f.pki.tsa()).unwrap();
        let twice = sign(&f.pki.request(&signed), &f.pki.tsa()).unwrap();
        write(&f.dir, "objstm.pdf", &twice);
        let (ok, out) = pyhanko(&f.dir, "objstm.pdf");
        assert!(ok, "{out}");
        assert_eq!(out.matches("The signature is judged VALID.").count(), 2, "{out}");
    }
    // One changed byte.
    let (ok, out) = pyhanko(&f.dir, "tampered.pdf");
    assert!(!ok && out.contains("cryptographically unsound") && !out.contains("judged VALID"), "{out}");
}

#[test]
fn pdfsig_reports_valid_signatures_and_a_digest_mismatch() {
    if !have("pdfsig", "-v") {
        return;
    }
    let f = files("pdfsig");
    // Trust the test CA through an NSS database when certutil is available.
    let mut nss = Vec::new();
    if have("certutil", "-H") {
        std::fs::create_dir_all(f.dir.join("nss")).unwrap();
        let (ok, _) = run("certutil", &["-N", "-d", "sql:nss", "--empty-password"], &f.dir);
        assert!(ok);
        let (ok, _) =
            run("certutil", &["-A", "-d", "sql:nss", "-n", "keiyaku-test-ca", "-t", "CT,C,C", "-i", "ca.pem"], &f.dir);
        assert!(ok);
        nss = vec!["-nssdir", "sql:nss"];
    }
    let args = |file: &'static str| -> Vec<&str> { nss.iter().copied().chain([file]).collect() };
    let (_, out) = run("pdfsig", &args("once.pdf"), &f.dir);
    assert_eq!(out.matches("Signature Validation: Signature is Valid.").count(), 1, "{out}");
    assert!(out.contains("Total document signed") && out.contains("ETSI.CAdES.detached"));
    if !nss.is_empty() {
        assert!(out.contains("Certificate Validation: Certificate is Trusted."), "{out}");
    }
    let (_, out) = run("pdfsig", &args("twice.pdf"), &f.dir);
    // (poppler 22 reports "Unknown issue with Certificate" for the second signature of the
    // same signer certificate in one run; pyHanko-signed files behave the same, so only the
    // signature validity is asserted here.)
    assert_eq!(out.matches("Signature Validation: Signature is Valid.").count(), 2, "{out}");
    assert!(out.contains("Not total document signed") && out.contains("Total document signed"));
    let (_, out) = run("pdfsig", &args("tampered.pdf"), &f.dir);
    assert!(out.contains("Digest Mismatch") && !out.contains("Signature is Valid."), "{out}");
}

/// Parses a binary PPM (P6) into (width, height, rgb).
fn ppm(data: &[u8]) -> (usize, usize, Vec<u8>) {
    let mut fields = Vec::new();
    let mut i = 0;
    while fields.len() < 4 {
        while data[i].is_ascii_whitespace() {
            i += 1;
        }
        let start = i;
        while !data[i].is_ascii_whitespace() {
            i += 1;
        }
        fields.push(String::from_utf8_lossy(&data[start..i]).into_owned());
    }
    assert_eq!(fields[0], "P6");
    let (w, h): (usize, usize) = (fields[1].parse().unwrap(), fields[2].parse().unwrap());
    (w, h, data[i + 1..i + 1 + w * h * 3].to_vec())
}

fn red_pixels(img: &(usize, usize, Vec<u8>), x0: usize, y0: usize, x1: usize, y1: usize) -> usize {
    let (w, _, rgb) = img;
    let mut n = 0;
    for y in y0..y1 {
        for x in x0..x1 {
            let p = &rgb[(y * w + x) * 3..(y * w + x) * 3 + 3];
            if p[0] > 150 && p[1] < 110 && p[2] < 110 {
                n += 1;
            }
        }
    }
    n
}

#[test]
fn poppler_finds_the_stamps_font_embedded_as_a_subset() {
    if !have("pdffonts", "-v") {
        return;
    }
    let f = files("pdffonts");
    let (ok, out) = run("pdffonts", &["twice.pdf"], &f.dir);
    assert!(ok, "{out}");
    // name  type  encoding  emb sub uni: both stamps' fonts, embedded subsets with ToUnicode.
    let fonts: Vec<&str> = out.lines().filter(|l| l.contains("+IPAexMincho")).collect();
    assert_eq!(fonts.len(), 2, "{out}");
    for line in fonts {
        let cols: Vec<&str> = line.split_whitespace().collect();
        assert!(cols[0].len() == 6 + "+IPAexMincho".len() && cols[0][..6].bytes().all(|b| b.is_ascii_uppercase()));
        assert!(line.contains("CID TrueType") && line.contains("Identity-H"), "{line}");
        assert_eq!(cols[cols.len() - 5..cols.len() - 2], ["yes", "yes", "yes"], "{line}");
    }
    // The signatures leave no font for the viewer to substitute: the only one not embedded
    // is the original page's Helvetica.
    let (_, original) = run("pdffonts", &["original.pdf"], &f.dir);
    let not_embedded = |t: &str| -> Vec<String> {
        t.lines()
            .filter(|l| l.contains(" no "))
            .map(|l| l.split_whitespace().next().unwrap_or("").to_string())
            .collect()
    };
    assert_eq!(not_embedded(&out), not_embedded(&original));
    assert_eq!(not_embedded(&original), ["Helvetica"]);
}

#[test]
fn poppler_renders_the_red_seal_in_its_rectangle() {
    if !have("pdftoppm", "-v") {
        return;
    }
    let f = files("pdftoppm");
    let (ok, out) = run("pdftoppm", &["-r", "72", "-f", "1", "-l", "1", "twice.pdf", "page"], &f.dir);
    assert!(ok, "{out}");
    let name = std::fs::read_dir(&f.dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .find(|n| n.starts_with("page") && n.ends_with(".ppm"))
        .unwrap();
    let img = ppm(&std::fs::read(f.dir.join(name)).unwrap());
    assert_eq!((img.0, img.1), (595, 842));
    // Default position: a 60 pt seal at the bottom right, 36 pt from the edges, labels beside.
    let label = 8.0 * 7.0; // "代理: 鈴木 一郎" is the widest label: ~7 em at 8 pt
    let x0 = (595.0 - 36.0 - (60.0 + 6.0 + label)) as usize;
    let seal = red_pixels(&img, x0, 842 - 36 - 60, x0 + 60, 842 - 36);
    assert!(seal > 200, "red pixels in the seal: {seal}");
    // The explicit rectangle of the second (date) seal.
    let date_seal = red_pixels(&img, 72, 100, 132, 160);
    assert!(date_seal > 200, "red pixels in the date seal: {date_seal}");
    // Nothing red elsewhere.
    assert_eq!(red_pixels(&img, 0, 200, 595, 700), 0);
    let (ok, _) = run("pdftoppm", &["-r", "72", "-f", "1", "-l", "1", "original.pdf", "orig"], &f.dir);
    assert!(ok);
}

#[test]
fn openssl_verifies_the_cms_and_the_timestamp_token() {
    if !have("openssl", "version") {
        return;
    }
    let f = files("openssl");
    let (cms, data, token, sig) = parts(&f.once);
    write(&f.dir, "sig.der", &cms);
    write(&f.dir, "data.bin", &data);
    write(&f.dir, "tok.der", &token);
    let (ok, out) = run(
        "openssl",
        &[
            "cms",
            "-verify",
            "-binary",
            "-inform",
            "DER",
            "-in",
            "sig.der",
            "-content",
            "data.bin",
            "-CAfile",
            "ca.pem",
            "-out",
            "/dev/null",
        ],
        &f.dir,
    );
    assert!(ok && out.contains("Verification successful"), "{out}");
    let (_, printed) = run("openssl", &["cms", "-cmsout", "-print", "-inform", "DER", "-in", "sig.der"], &f.dir);
    assert!(printed.contains("version: 1") && printed.contains("eContent: <ABSENT>"));
    assert!(!printed.contains("signingTime") && printed.contains("id-smime-aa-signingCertificateV2"));
    let digest = hex(&Sha256::digest(&sig));
    let (ok, out) = run(
        "openssl",
        &[
            "ts",
            "-verify",
            "-token_in",
            "-in",
            "tok.der",
            "-digest",
            &digest,
            "-CAfile",
            "ca.pem",
            "-untrusted",
            "tsa.pem",
        ],
        &f.dir,
    );
    assert!(ok && out.contains("Verification: OK"), "{out}");
    let (_, text) = run("openssl", &["ts", "-reply", "-token_in", "-in", "tok.der", "-token_out", "-text"], &f.dir);
    assert!(text.contains(&format!("Policy OID: {}", keiyaku_pades::DEFAULT_TSA_POLICY)), "{text}");
    // A wrong digest fails.
    let (ok, _) = run(
        "openssl",
        &[
            "ts",
            "-verify",
            "-token_in",
            "-in",
            "tok.der",
            "-digest",
            &"00".repeat(32),
            "-CAfile",
            "ca.pem",
            "-untrusted",
            "tsa.pem",
        ],
        &f.dir,
    );
    assert!(!ok);
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

#[test]
fn openssl_ts_clients_get_answers_from_the_local_tsa() {
    if !have("openssl", "version") {
        return;
    }
    let f = files("tsa");
    let tsa = f.pki.tsa();
    for (name, extra) in [("with-certs", vec!["-cert"]), ("without-certs", vec!["-no_nonce"])] {
        let mut args = vec!["ts", "-query", "-data", "original.pdf", "-sha256", "-out"];
        let query = format!("{name}.tsq");
        args.push(&query);
        args.extend(extra.iter().copied());
        let (ok, _) = run("openssl", &args, &f.dir);
        assert!(ok);
        let req = std::fs::read(f.dir.join(&query)).unwrap();
        let resp = keiyaku_pades::tsa_response(&tsa, &req).unwrap();
        let reply = format!("{name}.tsr");
        write(&f.dir, &reply, &resp);
        let (ok, out) = run(
            "openssl",
            &["ts", "-verify", "-in", &reply, "-queryfile", &query, "-CAfile", "ca.pem", "-untrusted", "tsa.pem"],
            &f.dir,
        );
        assert!(ok && out.contains("Verification: OK"), "{out}");
        let (_, text) = run("openssl", &["ts", "-reply", "-in", &reply, "-text"], &f.dir);
        assert!(text.contains("Status: Granted."), "{text}");
    }
    // Garbage and a foreign policy are rejected with a failure reason.
    write(&f.dir, "bad.tsr", keiyaku_pades::tsa_response(&tsa, b"\x30\x03\x02\x01\x07").unwrap());
    let (_, text) = run("openssl", &["ts", "-reply", "-in", "bad.tsr", "-text"], &f.dir);
    assert!(text.contains("Rejected") && text.contains("wrong format"), "{text}");
    let (ok, _) = run(
        "openssl",
        &["ts", "-query", "-data", "original.pdf", "-sha256", "-tspolicy", "1.2.3.4", "-out", "policy.tsq"],
        &f.dir,
    );
    assert!(ok);
    let req = std::fs::read(f.dir.join("policy.tsq")).unwrap();
    write(&f.dir, "policy.tsr", keiyaku_pades::tsa_response(&tsa, &req).unwrap());
    let (_, text) = run("openssl", &["ts", "-reply", "-in", "policy.tsr", "-text"], &f.dir);
    assert!(text.contains("Rejected") && text.contains("policy"), "{text}");
}

#[test]
fn signs_files_written_by_other_tools() {
    if !have("pyhanko", "--version") || !have("pdftocairo", "-v") || !have("qpdf", "--version") {
        return;
    }
    let f = files("others");
    write(&f.dir, "signer.pem", &f.pki.signer_pem);
    write(&f.dir, "signer.key.pem", &f.pki.signer_key_pem);
    let (ok, _) = run("pdftocairo", &["-pdf", "original.pdf", "cairo.pdf"], &f.dir);
    assert!(ok);
    let (ok, _) = run("qpdf", &["--linearize", "original.pdf", "linearized.pdf"], &f.dir);
    assert!(ok);
    let (ok, out) = run(
        "pyhanko",
        &[
            "sign",
            "addsig",
            "--field",
            "PySig",
            "pemder",
            "--key",
            "signer.key.pem",
            "--cert",
            "signer.pem",
            "--chain",
            "ca.pem",
            "--no-pass",
            "original.pdf",
            "pyhanko.pdf",
        ],
        &f.dir,
    );
    assert!(ok, "{out}");
    for (input, signatures) in [("cairo.pdf", 1), ("linearized.pdf", 1), ("pyhanko.pdf", 2)] {
        let pdf = std::fs::read(f.dir.join(input)).unwrap();
        let signed = sign(&f.pki.request(&pdf), &f.pki.tsa()).unwrap();
        let infos = keiyaku_pades::verify(&signed).unwrap();
        assert_eq!(infos.len(), signatures);
        assert!(infos.iter().all(|i| i.is_intact()), "{input}: {infos:?}");
        let name = format!("signed-{input}");
        write(&f.dir, &name, &signed);
        let (ok, out) = pyhanko(&f.dir, &name);
        assert!(ok, "{out}");
        assert_eq!(out.matches("The signature is judged VALID.").count(), signatures, "{input}: {out}");
    }
}

#[test]
fn openssl_verifies_a_detached_statement_and_reads_the_delegation_oid() {
    if !have("openssl", "version") {
        return;
    }
    let pki = pki();
    let dir = scratch("openssl-detached");
    write(&dir, "ca.pem", &pki.ca_pem);
    let content = "{\"mandate_id\":\"M1\",\"signer\":\"A1533602\"}";
    let cms = keiyaku_pades::sign_detached(&pki.signer_key, &pki.signer_der, &pki.chain, content.as_bytes()).unwrap();
    write(&dir, "mandate.json", content);
    write(&dir, "mandate.p7s", &cms);
    let verify_args = [
        "cms",
        "-verify",
        "-binary",
        "-inform",
        "DER",
        "-in",
        "mandate.p7s",
        "-content",
        "mandate.json",
        "-CAfile",
        "ca.pem",
        "-purpose",
        "any",
        "-out",
        "/dev/null",
    ];
    let (ok, out) = run("openssl", &verify_args, &dir);
    assert!(ok && out.contains("Verification successful"), "{out}");
    write(&dir, "mandate.json", content.replace("M1", "M2"));
    let (ok, _) = run("openssl", &verify_args, &dir);
    assert!(!ok, "a changed statement must not verify");
    // The delegation attribute's type prints as the 2.25 UUID OID.
    let original = simple_pdf();
    let mut req = pki.request(&original);
    req.delegation = Some(keiyaku_pades::Delegation {
        delegate_name: "鈴木 一郎".into(),
        delegate_id: "A1533603".into(),
        mandate_id: "M1".into(),
        mandate_sha256: [9; 32],
    });
    let signed = sign(&req, &pki.tsa()).unwrap();
    let (sig, _, _, _) = parts(&signed);
    write(&dir, "sig.der", &sig);
    let (_, printed) = run("openssl", &["cms", "-cmsout", "-print", "-inform", "DER", "-in", "sig.der"], &dir);
    assert!(printed.contains("2.25.212763563025824543551271583885707350849"), "{printed}");
}
