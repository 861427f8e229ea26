//! Upload checks of the support module on arbitrary files: content sniffing (PDF, OOXML ZIP
//! directories, OLE compound-file directories, UTF-8 text), the kept file name
//! (`file_name_for`), the whole `documents::check`, the download `Content-Disposition`, and
//! the certs module's identity-document sniffing. Input: `category byte, file name, 0x00,
//! content` (without a 0x00 the whole input is the content).
#![no_main]

use keiyaku_kernel::Lang;
use keiyaku_kernel::error::ApiError;
use keiyaku_web::api::http::content_disposition;
use keiyaku_kernel::validate::Validator;
use keiyaku_support::documents::{self, Category, NewDocument, file_name_for};
use keiyaku_support::sniff::{Kind, sniff};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // The raw input as a file, as most uploads arrive.
    let _ = sniff(data);

    let (category, name, content) = match data.split_first() {
        Some((c, rest)) => match rest.iter().position(|b| *b == 0) {
            Some(at) => (*c, String::from_utf8_lossy(&rest[..at]).into_owned(), &rest[at + 1..]),
            None => (*c, String::new(), data),
        },
        None => (0, String::new(), data),
    };
    let kind = sniff(content);
    for k in Kind::ALL {
        let _ = (k.content_type(), k.label());
        match file_name_for(&name, k) {
            Ok(kept) => {
                assert!(!kept.is_empty(), "a kept file name is never empty");
                assert!(!kept.contains(['/', '\\']), "a kept file name has no path: {kept:?}");
                assert!(!kept.chars().any(char::is_control), "no control characters: {kept:?}");
                let cd = content_disposition(&kept);
                assert!(cd.bytes().all(|b| b == b' ' || b.is_ascii_graphic()), "header-safe: {cd:?}");
            }
            Err(e) => {
                let _ = e.problem(Lang::Ja);
            }
        }
    }
    if let Some(ext) = name.rsplit_once('.').map(|(_, e)| e) {
        let _ = Kind::of_extension(ext);
    }
    let cd = content_disposition(&name);
    assert!(cd.bytes().all(|b| b == b' ' || b.is_ascii_graphic()), "header-safe: {cd:?}");

    let categories = Category::ALL;
    let category = match categories.get(usize::from(category) % (categories.len() + 1)) {
        Some(c) => c.as_str().to_string(),
        None => name.clone(),
    };
    let upload = NewDocument { category, file_name: name.clone(), bytes: content.to_vec() };
    match documents::check(&upload, 64 * 1024) {
        Ok((_, k, kept)) => {
            assert_eq!(Some(k), kind);
            assert!(!kept.is_empty());
        }
        Err(e) => {
            let _ = (e.problem(Lang::Ja), e.problem(Lang::En));
        }
    }

    // 名義人 本人確認書類 (certs applications): JPEG, PNG or PDF by content.
    let _ = keiyaku_certs::rules::sniff_document(content);
    let mut v = Validator::new();
    let _ = keiyaku_certs::rules::document(&mut v, "document", &name, content);
    let _ = v.finish();
});
