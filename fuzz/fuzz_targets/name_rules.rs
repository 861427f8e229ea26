//! Name and field rules on arbitrary UTF-8: the users module's seal (印影) text and SVG,
//! its search folding, the certs application rules (company name, katakana, kanji name,
//! display name, phone, postal code, PIN, JIS X 0208) and the kernel validators (text,
//! e-mail, enterprise code, user ID, vendor code, roles), with their error messages in
//! both languages. Properties: no panic; the seal shows 1..=8 characters; the SVG never
//! carries the raw text unescaped.
#![no_main]

use keiyaku_certs::rules;
use keiyaku_kernel::directory::{self, NAME_MAX};
use keiyaku_kernel::validate::{Validator, is_email, normalize_email};
use keiyaku_kernel::{Lang, validate::Invalid};
use keiyaku_users::seal;
use libfuzzer_sys::fuzz_target;

fn messages(list: &[Invalid]) {
    for i in list {
        let _ = (i.to_field_error(Lang::Ja), i.to_field_error(Lang::En));
    }
}

fuzz_target!(|s: &str| {
    // 印影
    let text = seal::seal_text(s);
    assert!(
        (1..=seal::MAX_LATIN).contains(&text.chars.len()),
        "the seal shows 1 to {} characters, not {:?}",
        seal::MAX_LATIN,
        text.chars
    );
    let _ = seal::surname(s);
    let escaped = seal::xml_escape(s);
    assert!(!escaped.contains(['<', '>', '"']), "escaped text has no markup characters");
    let date = jiff::civil::Date::new(2026, 11, 25).ok();
    for d in [None, date] {
        let svg = seal::render(s, d);
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert_eq!(svg.matches('<').count(), svg.matches('>').count(), "balanced tags: {svg}");
    }
    let _ = keiyaku_users::search::fold(s);

    // 電子証明書 application fields.
    let mut v = Validator::new();
    rules::company_name(&mut v, "company", s);
    rules::katakana(&mut v, "kana", s, rules::KANA_MAX, true);
    rules::katakana(&mut v, "kana_nospace", s, rules::NAME_PART_MAX, false);
    rules::name_kanji(&mut v, "name", s);
    let _ = rules::display_name(&mut v, "display_name", s);
    let _ = rules::phone(&mut v, "phone", s);
    let _ = rules::postal_code(&mut v, "postal_code", s);
    rules::pin(&mut v, "pin", s);
    let _ = rules::ascii_digits(s);
    for c in s.chars().take(64) {
        let _ = rules::is_jis_x0208(c);
    }
    if let Err(list) = v.finish() {
        messages(&list);
    }

    // Kernel validators.
    let mut v = Validator::new();
    v.text("name", s, NAME_MAX).optional_text("title", s, NAME_MAX).email("email", s);
    directory::check_tenant_code(&mut v, "code", s);
    directory::check_user_id(&mut v, "user_id", s);
    directory::check_vendor_code(&mut v, "vendor_code", s);
    if let Err(list) = v.finish() {
        messages(&list);
    }
    if is_email(s) {
        assert!(is_email(&normalize_email(s)), "a normalised address is still an address");
    }
    let names: Vec<String> = s.split(',').take(16).map(str::to_string).collect();
    if let Err(i) = directory::parse_roles("roles", &names) {
        messages(&[i]);
    }
});
