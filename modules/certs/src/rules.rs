//! Field rules of the ticket order and the issuance application (seed §2.1 (8), §2.2 (10)–(11)):
//! plain functions over strings, each adding at most one error per field to a
//! [`Validator`]. None of them panics, whatever the input.

use keiyaku_kernel::FieldCode;
use keiyaku_kernel::validate::{Rule, Validator};

/// Names of branches and offices that a certificate's company name must not contain
/// (会社名は、支店名・営業所名の入力ができません).
pub const BRANCH_WORDS: [&str; 7] = ["支店", "支社", "営業所", "事業所", "出張所", "本社", "本店"];

/// Longest company name (X.509 `ub-organization-name`).
pub const COMPANY_MAX: usize = 64;
/// Longest name part (姓 or 名).
pub const NAME_PART_MAX: usize = 20;
/// Longest katakana reading of a company.
pub const KANA_MAX: usize = 100;
/// Longest certificate display name without `BN-` (64 − 3).
pub const DISPLAY_NAME_MAX: usize = 61;
/// Largest identity document.
pub const DOCUMENT_MAX: usize = 5 * 1024 * 1024;

/// Whether `c` is a character of JIS X 0208 (the standard kanji, kana and symbols of
/// Shift_JIS' double-byte rows), excluding the NEC row 13 (`0x87`), the NEC-selected IBM
/// extensions (`0xED`–`0xEE`), the IBM extensions (`0xFA`–`0xFC`) and user-defined rows.
/// Old-style and variant kanji outside JIS X 0208 (髙, 﨑, 德 …) are not.
pub fn is_jis_x0208(c: char) -> bool {
    let mut buf = [0u8; 4];
    let (bytes, _, unmappable) = encoding_rs::SHIFT_JIS.encode(c.encode_utf8(&mut buf));
    if unmappable || bytes.len() != 2 {
        return false;
    }
    let lead = bytes[0];
    !(lead == 0x87 || (0xED..=0xEE).contains(&lead) || (0xF0..=0xFC).contains(&lead))
}

fn is_full_width_katakana(c: char) -> bool {
    matches!(c, '\u{30A1}'..='\u{30F6}' | 'ー')
}

fn half_width(c: char) -> bool {
    c.is_ascii() || ('\u{FF61}'..='\u{FF9F}').contains(&c)
}

/// Full-width digits and dash-like characters to ASCII (for phone numbers and postal codes).
pub fn ascii_digits(s: &str) -> String {
    s.trim()
        .chars()
        .map(|c| match c {
            '０'..='９' => char::from_u32(u32::from(c) - 0xFF10 + 0x30).unwrap_or(c),
            '－' | 'ー' | '‐' | '−' | '―' | '‑' => '-',
            '＋' => '+',
            c => c,
        })
        .collect()
}

fn custom(code: FieldCode, ja: impl Into<String>, en: impl Into<String>) -> Rule {
    Rule::Custom { code, ja: ja.into(), en: en.into() }
}

fn required_within(v: &mut Validator, field: &str, value: &str, max: usize) -> bool {
    if value.trim().is_empty() {
        v.fail(field, Rule::Required);
        false
    } else if value.chars().count() > max {
        v.fail(field, Rule::TooLong { max });
        false
    } else if value.chars().any(char::is_control) {
        v.fail(
            field,
            custom(FieldCode::InvalidCharacters, "制御文字は使用できません。", "Control characters are not allowed."),
        );
        false
    } else {
        true
    }
}

/// The rule for a character that is not JIS X 0208, naming it.
fn not_standard(c: char) -> Rule {
    custom(
        FieldCode::NotJisX0208,
        format!("「{c}」は使用できません。旧字体・異体字・機種依存文字は標準字体で入力してください。"),
        format!(
            "\"{c}\" cannot be used: enter old-style, variant or vendor-specific characters in their standard form."
        ),
    )
}

/// 会社名(漢字): the company's name only — no branch or office names; JIS X 0208 characters
/// and ASCII letters, digits and punctuation.
pub fn company_name(v: &mut Validator, field: &str, value: &str) {
    let value = value.trim();
    if !required_within(v, field, value, COMPANY_MAX) {
        return;
    }
    if let Some(word) = BRANCH_WORDS.iter().find(|w| value.contains(*w)) {
        v.fail(
            field,
            custom(
                FieldCode::BranchName,
                format!("会社名のみを入力してください。支店名・営業所名(「{word}」など)は入力できません。"),
                format!("Enter the company name only, without branch or office names (\"{word}\")."),
            ),
        );
    } else if let Some(c) = value.chars().find(|&c| !(is_jis_x0208(c) || (c.is_ascii() && !c.is_control()))) {
        v.fail(field, not_standard(c));
    }
}

/// フリガナ: full-width katakana and ー, with spaces when `spaces`.
pub fn katakana(v: &mut Validator, field: &str, value: &str, max: usize, spaces: bool) {
    let value = value.trim();
    if !required_within(v, field, value, max) {
        return;
    }
    let ok = |c: char| is_full_width_katakana(c) || (spaces && (c == ' ' || c == '\u{3000}'));
    if !value.chars().all(ok) {
        let (ja, en) = if spaces {
            ("全角カタカナ・長音(ー)・スペース", "full-width katakana, ー and spaces")
        } else {
            ("全角カタカナと長音(ー)", "full-width katakana and ー")
        };
        v.fail(field, Rule::Charset { ja, en });
    }
}

/// 名義人 姓/名(漢字): JIS X 0208 only (standard forms), full width, no spaces.
pub fn name_kanji(v: &mut Validator, field: &str, value: &str) {
    let value = value.trim();
    if !required_within(v, field, value, NAME_PART_MAX) {
        return;
    }
    for c in value.chars() {
        if c.is_whitespace() {
            v.fail(field, custom(FieldCode::NoSpaces, "スペースは入力できません。", "Spaces are not allowed."));
            return;
        }
        if half_width(c) {
            v.fail(field, custom(FieldCode::FullWidthOnly, "全角で入力してください。", "Use full-width characters."));
            return;
        }
        if !is_jis_x0208(c) {
            v.fail(field, not_standard(c));
            return;
        }
    }
}

/// JCAN証明書上の表記名: `Surname.Given` — ASCII letters, digits, `.`, `(`, `)`, at most 61
/// characters, the first letters of surname and given name capitals and only those (the
/// letters before any parenthesis). A `BN-` the applicant typed is dropped. Returns the
/// normalised name when valid.
pub fn display_name(v: &mut Validator, field: &str, value: &str) -> Option<String> {
    let value = value.trim();
    let value = value.strip_prefix("BN-").unwrap_or(value);
    if !required_within(v, field, value, DISPLAY_NAME_MAX) {
        return None;
    }
    if !value.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '(' | ')')) {
        v.fail(field, Rule::Charset { ja: "半角英数字とピリオド、括弧", en: "letters, digits, '.', '(' and ')'" });
        return None;
    }
    let capitalised = |part: &str| {
        let mut chars = part.chars();
        chars.next().is_some_and(|c| c.is_ascii_uppercase())
            && chars.take_while(|&c| c != '(').all(|c| !c.is_ascii_uppercase())
    };
    let well_formed = value.split_once('.').is_some_and(|(surname, given)| capitalised(surname) && capitalised(given));
    if !well_formed {
        v.fail(
            field,
            custom(
                FieldCode::DisplayNameFormat,
                "姓・名の順に「Yamada.Taro」の形式で、姓と名の最初の文字だけ大文字で入力してください。",
                "Enter surname and given name as \"Yamada.Taro\", only their first letters in capitals.",
            ),
        );
        return None;
    }
    Some(value.to_string())
}

/// 電話番号: digits with optional hyphens (or a leading +), 10 to 15 digits. Returns the
/// normalised number when valid.
pub fn phone(v: &mut Validator, field: &str, value: &str) -> Option<String> {
    let value = ascii_digits(value);
    if !required_within(v, field, &value, 20) {
        return None;
    }
    let digits = value.chars().filter(char::is_ascii_digit).count();
    let chars_ok = value.chars().enumerate().all(|(i, c)| c.is_ascii_digit() || c == '-' || (c == '+' && i == 0));
    if !chars_ok || !(10..=15).contains(&digits) || value.contains("--") || value.ends_with('-') {
        v.fail(
            field,
            custom(
                FieldCode::InvalidPhone,
                "電話番号の形式が正しくありません(例: 03-6220-0635)。",
                "Enter a phone number such as 03-6220-0635.",
            ),
        );
        return None;
    }
    Some(value)
}

/// 郵便番号: `NNN-NNNN` (the hyphen may be left out). Returns `NNN-NNNN` when valid.
pub fn postal_code(v: &mut Validator, field: &str, value: &str) -> Option<String> {
    let value = ascii_digits(value).trim_start_matches('〒').to_string();
    if !required_within(v, field, &value, 10) {
        return None;
    }
    let digits: String = value.chars().filter(char::is_ascii_digit).collect();
    let shape_ok = match value.len() {
        7 => value.chars().all(|c| c.is_ascii_digit()),
        8 => value.as_bytes().get(3) == Some(&b'-') && digits.len() == 7,
        _ => false,
    };
    if !shape_ok {
        v.fail(
            field,
            custom(
                FieldCode::InvalidPostalCode,
                "郵便番号は「135-0061」の形式で入力してください。",
                "Enter a postal code such as 135-0061.",
            ),
        );
        return None;
    }
    Some(format!("{}-{}", &digits[..3], &digits[3..]))
}

/// JCAN証明書パスワード(PINコード): exactly 12 digits.
pub fn pin(v: &mut Validator, field: &str, value: &str) {
    if value.is_empty() {
        v.fail(field, Rule::Required);
    } else if value.len() != 12 || !value.bytes().all(|b| b.is_ascii_digit()) {
        v.fail(
            field,
            custom(
                FieldCode::InvalidPin,
                "PINコードは12桁の数字で入力してください。",
                "The PIN must be exactly 12 digits.",
            ),
        );
    }
}

/// The kind of an identity document, by its content: JPEG, PNG or PDF.
pub fn sniff_document(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some("image/jpeg")
    } else if bytes.starts_with(&[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A]) {
        Some("image/png")
    } else if bytes.starts_with(b"%PDF-") {
        Some("application/pdf")
    } else {
        None
    }
}

/// 名義人 本人確認書類: JPEG, PNG or PDF (by content), at most 5 MB, with a file name.
pub fn document(v: &mut Validator, field: &str, name: &str, bytes: &[u8]) -> Option<&'static str> {
    if bytes.is_empty() {
        v.fail(field, Rule::Required);
        return None;
    }
    if bytes.len() > DOCUMENT_MAX {
        v.fail(
            field,
            custom(FieldCode::FileTooLarge, "ファイルは5MB以内にしてください。", "The file must be at most 5 MB."),
        );
        return None;
    }
    if name.chars().count() > 200 || name.chars().any(char::is_control) {
        v.fail(
            field,
            custom(FieldCode::InvalidFileName, "ファイル名が正しくありません。", "The file name is not valid."),
        );
        return None;
    }
    let kind = sniff_document(bytes);
    if kind.is_none() {
        v.fail(
            field,
            custom(
                FieldCode::UnsupportedFile,
                "画像ファイル(JPEG・PNG)またはPDFファイルをアップロードしてください。",
                "Upload an image (JPEG, PNG) or a PDF file.",
            ),
        );
    }
    kind
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn errors(f: impl FnOnce(&mut Validator)) -> Vec<String> {
        let mut v = Validator::new();
        f(&mut v);
        v.finish().err().unwrap_or_default().iter().map(|i| i.rule.code().to_string()).collect()
    }

    fn message(f: impl FnOnce(&mut Validator)) -> String {
        let mut v = Validator::new();
        f(&mut v);
        v.finish()
            .err()
            .unwrap_or_default()
            .first()
            .map(|i| i.rule.message(keiyaku_kernel::Lang::Ja))
            .unwrap_or_default()
    }

    #[test]
    fn jis_x0208_keeps_standard_forms_and_refuses_variants_and_vendor_extensions() {
        for c in ['高', '崎', '山', '遊', '津', '一', '八', 'ア', 'あ', '々', '〇', '國', '澤'] {
            assert!(is_jis_x0208(c), "{c}");
        }
        // 髙 and 﨑: IBM extensions; ① and ㈱: NEC row 13; 德: JIS X 0212; 𠮷: outside the BMP.
        for c in ['髙', '﨑', '①', '㈱', '德', '𠮷', 'a', 'ｱ', '😀', '\u{0}'] {
            assert!(!is_jis_x0208(c), "{c}");
        }
    }

    #[test]
    fn the_seeds_own_examples_pass() {
        assert!(errors(|v| company_name(v, "f", "アイテックコンサルタント株式会社")).is_empty());
        assert!(errors(|v| company_name(v, "f", "オリエンタル白石株式会社")).is_empty());
        assert!(errors(|v| katakana(v, "f", "オリエンタルシライシカブシキガイシャ", KANA_MAX, true)).is_empty());
        assert!(errors(|v| katakana(v, "f", "アイテック コンサルタント", KANA_MAX, true)).is_empty());
        for name in ["遊津", "一八", "山田", "太郎", "高橋", "山崎"] {
            assert!(errors(|v| name_kanji(v, "f", name)).is_empty(), "{name}");
        }
        for kana in ["アソヅ", "カズヤ", "ヤマダ"] {
            assert!(errors(|v| katakana(v, "f", kana, NAME_PART_MAX, false)).is_empty(), "{kana}");
        }
        let mut v = Validator::new();
        assert_eq!(
            display_name(&mut v, "f", "Yamada.Taro").map(|n| format!("BN-{n}")).as_deref(),
            Some("BN-Yamada.Taro")
        );
        assert_eq!(display_name(&mut v, "f", "Asodu.Kazuya").as_deref(), Some("Asodu.Kazuya"));
        assert_eq!(display_name(&mut v, "f", "BN-Asodu.Kazuya").as_deref(), Some("Asodu.Kazuya"));
        assert_eq!(display_name(&mut v, "f", "Yamada.Taro2(Sales)").as_deref(), Some("Yamada.Taro2(Sales)"));
        assert!(v.is_ok());
        let mut v = Validator::new();
        assert_eq!(phone(&mut v, "f", "03-6220-0635").as_deref(), Some("03-6220-0635"));
        assert_eq!(phone(&mut v, "f", "０３－６２２０－０６３５").as_deref(), Some("03-6220-0635"));
        assert_eq!(postal_code(&mut v, "f", "135-0061").as_deref(), Some("135-0061"));
        assert_eq!(postal_code(&mut v, "f", "1350061").as_deref(), Some("135-0061"));
        pin(&mut v, "f", "123456789012");
        assert!(v.is_ok());
    }

    #[test]
    fn the_seeds_counter_examples_fail_with_a_clear_message() {
        assert_eq!(errors(|v| name_kanji(v, "f", "髙橋")), ["not_jis_x0208"]);
        assert!(message(|v| name_kanji(v, "f", "髙橋")).contains("「髙」"));
        assert_eq!(errors(|v| name_kanji(v, "f", "山﨑")), ["not_jis_x0208"]);
        assert!(message(|v| name_kanji(v, "f", "山﨑")).contains("「﨑」"));
        assert_eq!(errors(|v| company_name(v, "f", "東京支店")), ["branch_name"]);
        assert_eq!(errors(|v| company_name(v, "f", "アイテック株式会社 大阪営業所")), ["branch_name"]);
        assert_eq!(errors(|v| company_name(v, "f", "㈱アイテック")), ["not_jis_x0208"]);
        let mut v = Validator::new();
        assert_eq!(display_name(&mut v, "f", "yamada taro!"), None);
        assert_eq!(
            errors(|v| {
                display_name(v, "f", "yamada taro!");
            }),
            ["invalid_characters"]
        );
        for bad in ["yamada.taro", "YAMADA.TARO", "Yamada", "Yamada.", ".Taro", "YamaDa.Taro", "Yamada_Taro"] {
            assert!(
                !errors(|v| {
                    display_name(v, "f", bad);
                })
                .is_empty(),
                "{bad}"
            );
        }
        assert_eq!(
            errors(|v| {
                display_name(v, "f", &format!("A.{}", "b".repeat(60)));
            }),
            ["too_long"]
        );
        assert_eq!(errors(|v| name_kanji(v, "f", "Taro")), ["full_width_only"]);
        assert_eq!(errors(|v| name_kanji(v, "f", "山田 太郎")), ["no_spaces"]);
        assert_eq!(errors(|v| katakana(v, "f", "やまだ", 20, false)), ["invalid_characters"]);
        assert_eq!(errors(|v| katakana(v, "f", "ﾔﾏﾀﾞ", 20, false)), ["invalid_characters"]);
        assert_eq!(
            errors(|v| {
                phone(v, "f", "03-62");
            }),
            ["invalid_phone"]
        );
        assert_eq!(
            errors(|v| {
                postal_code(v, "f", "13-50061");
            }),
            ["invalid_postal_code"]
        );
        assert_eq!(errors(|v| pin(v, "f", "12345")), ["invalid_pin"]);
        assert_eq!(errors(|v| pin(v, "f", "１２３４５６７８９０１２")), ["invalid_pin"]);
        assert_eq!(
            errors(|v| {
                document(v, "f", "a.exe", b"MZ\x90\x00");
            }),
            ["unsupported_file"]
        );
        assert_eq!(
            errors(|v| {
                document(v, "f", "a.pdf", &vec![b'%'; DOCUMENT_MAX + 1]);
            }),
            ["file_too_large"]
        );
        assert_eq!(sniff_document(b"%PDF-1.7\n"), Some("application/pdf"));
        assert_eq!(sniff_document(&[0xFF, 0xD8, 0xFF, 0xE0]), Some("image/jpeg"));
    }

    proptest! {
        #[test]
        fn no_validator_panics_on_any_string(s in "\\PC{0,80}", b in proptest::collection::vec(any::<u8>(), 0..64)) {
            let mut v = Validator::new();
            company_name(&mut v, "a", &s);
            katakana(&mut v, "b", &s, KANA_MAX, true);
            katakana(&mut v, "b2", &s, NAME_PART_MAX, false);
            name_kanji(&mut v, "c", &s);
            let _ = display_name(&mut v, "d", &s);
            let _ = phone(&mut v, "e", &s);
            let _ = postal_code(&mut v, "f", &s);
            pin(&mut v, "g", &s);
            let _ = document(&mut v, "h", &s, &b);
            let _ = v.finish();
        }

        #[test]
        fn well_formed_display_names_pass(surname in "[A-Z][a-z]{0,20}", given in "[A-Z][a-z0-9]{0,20}") {
            let mut v = Validator::new();
            let name = format!("{surname}.{given}");
            prop_assert_eq!(display_name(&mut v, "d", &name), Some(name.clone()));
        }

        #[test]
        fn jis_x0208_names_pass(name in "[山田太郎高橋佐藤遊津一八崎]{1,20}") {
            let mut v = Validator::new();
            name_kanji(&mut v, "c", &name);
            prop_assert!(v.is_ok());
        }

        #[test]
        fn names_with_a_vendor_character_fail(prefix in "[山田]{0,5}", bad in "[髙﨑①㈱]") {
            let mut v = Validator::new();
            name_kanji(&mut v, "c", &format!("{prefix}{bad}"));
            prop_assert!(!v.is_ok());
        }
    }
}
