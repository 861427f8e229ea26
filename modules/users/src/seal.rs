//! Seals (印影): the round red stamp of a signer, generated from the surname when the user
//! becomes a signer and stored once. There is no update path: [`ensure_seal`] only creates a
//! seal that does not exist yet, and nothing else in this crate writes the table.
//!
//! The surname is the part of the name before the first space (half or full width). Kanji and
//! kana are written vertically, at most 4 characters; a Latin surname is written across, at
//! most 8 characters. In a trial tenant the stamp is a date stamp (日付印 / データネーム印 look,
//! seed §3.3): 「電子契約」 on top, the date (`26.11.25`) between two lines, the surname below.
//! The SVG depends on nothing but the name and that date: same input, same bytes.

use jiff::civil::Date;
use keiyaku_kernel::clock::{rfc3339, tokyo};
use keiyaku_kernel::context::Actor;
use keiyaku_kernel::directory::{Tenant, User};
use keiyaku_kernel::store::{Read, StoreError, Table, Tx};
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;

/// `tenant/user id` → the stored seal.
pub const SEALS: Table<Seal> = Table::new("users_seals");

pub const SEAL_RED: &str = "#d2232a";
const SIZE: i32 = 120;
const FONT: &str =
    "'Hiragino Mincho ProN','Yu Mincho','YuMincho','Noto Serif JP','Noto Serif CJK JP','IPAexMincho',serif";
/// At most this many kanji/kana are shown (vertically).
pub const MAX_CJK: usize = 4;
/// At most this many Latin letters are shown (across).
pub const MAX_LATIN: usize = 8;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Seal {
    pub user_id: String,
    /// The characters shown.
    pub text: String,
    /// `26.11.25` in trial tenants.
    pub date: Option<String>,
    pub svg: String,
    pub created_at: String,
}

/// How the surname is laid out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealText {
    pub chars: Vec<char>,
    pub vertical: bool,
}

impl SealText {
    pub fn as_string(&self) -> String {
        self.chars.iter().collect()
    }
}

/// Kanji, kana and full-width forms: written vertically.
fn is_wide(c: char) -> bool {
    matches!(c as u32,
        0x3005..=0x3007      // 々 〆 〇
        | 0x3040..=0x30ff    // hiragana, katakana
        | 0x31f0..=0x31ff    // katakana extensions
        | 0x3400..=0x4dbf    // CJK extension A
        | 0x4e00..=0x9fff    // CJK unified ideographs
        | 0xf900..=0xfaff    // compatibility ideographs
        | 0xff10..=0xff5a    // full-width digits and letters
        | 0xff66..=0xff9f    // half-width katakana
        | 0x20000..=0x3134f  // CJK extensions B–G
    )
}

/// Characters that may appear in the stamp: printable and legal in XML 1.0.
fn printable(c: char) -> bool {
    !c.is_control()
        && !c.is_whitespace()
        && !matches!(c as u32, 0xfffe | 0xffff | 0x200b..=0x200f | 0x2028..=0x202e | 0x2060..=0x206f | 0xfeff)
        && !(0xd800..=0xdfff).contains(&(c as u32))
}

/// The surname: the part of the name before the first space (half or full width).
pub fn surname(name: &str) -> &str {
    name.split(char::is_whitespace).find(|s| !s.is_empty()).unwrap_or("")
}

/// What the stamp shows for a name.
pub fn seal_text(name: &str) -> SealText {
    let chars: Vec<char> = surname(name).chars().filter(|c| printable(*c)).collect();
    if chars.is_empty() {
        // Nothing printable in the name (the directory's rules make this unreachable).
        return SealText { chars: vec!['印'], vertical: true };
    }
    if chars.iter().any(|c| is_wide(*c)) {
        // Prefer the kanji/kana; anything else in the surname is dropped when there is some.
        let wide: Vec<char> = chars.iter().copied().filter(|c| is_wide(*c)).take(MAX_CJK).collect();
        SealText { chars: wide, vertical: true }
    } else {
        let latin: Vec<char> = chars.into_iter().take(MAX_LATIN).collect();
        SealText { chars: latin, vertical: false }
    }
}

/// XML-escapes text for element content and attribute values.
pub fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c if printable(c) || c == ' ' => out.push(c),
            _ => {}
        }
    }
    out
}

/// The date as shown in a trial seal: `26.11.25`.
pub fn date_label(d: Date) -> String {
    d.strftime("%y.%m.%d").to_string()
}

fn text_el(out: &mut String, x: i32, y: i32, size: i32, text: &str) {
    let _ = write!(
        out,
        "<text x=\"{x}\" y=\"{y}\" font-size=\"{size}\" text-anchor=\"middle\" dominant-baseline=\"central\">{}</text>",
        xml_escape(text)
    );
}

/// A horizontal line of text fitted into `width` pixels at most `max` pixels high.
fn line_el(out: &mut String, y: i32, width: i32, max: i32, t: &SealText) {
    let n = i32::try_from(t.chars.len()).unwrap_or(1).max(1);
    // Kanji are about 1em wide, Latin letters about 0.6em.
    let size = if t.vertical { width / n } else { width * 10 / (6 * n) }.clamp(8, max);
    text_el(out, SIZE / 2, y, size, &t.as_string());
}

/// The stamp as SVG for `name`, with the date when `date` is given (trial).
pub fn render(name: &str, date: Option<Date>) -> String {
    let t = seal_text(name);
    let label = t.as_string();
    let mut out = String::with_capacity(1024);
    let _ = write!(
        out,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{SIZE}\" height=\"{SIZE}\" viewBox=\"0 0 {SIZE} {SIZE}\" role=\"img\" aria-label=\"{}\">",
        xml_escape(&format!("印影 {label}"))
    );
    let _ = write!(out, "<title>{}</title>", xml_escape(&label));
    let _ =
        write!(out, "<circle cx=\"60\" cy=\"60\" r=\"56\" fill=\"none\" stroke=\"{SEAL_RED}\" stroke-width=\"5\"/>");
    let _ = write!(out, "<g fill=\"{SEAL_RED}\" font-family=\"{FONT}\" font-weight=\"bold\">");
    match date {
        Some(d) => {
            // Two lines at y = 44 and 76: chord half-width √(54² − 16²) ≈ 51.
            let _ = write!(
                out,
                "<line x1=\"9\" y1=\"44\" x2=\"111\" y2=\"44\" stroke=\"{SEAL_RED}\" stroke-width=\"3\"/>\
                 <line x1=\"9\" y1=\"76\" x2=\"111\" y2=\"76\" stroke=\"{SEAL_RED}\" stroke-width=\"3\"/>"
            );
            text_el(&mut out, 60, 27, 15, "電子契約");
            text_el(&mut out, 60, 60, 20, &date_label(d));
            line_el(&mut out, 93, 64, 24, &t);
        }
        None if t.vertical => {
            let n = i32::try_from(t.chars.len()).unwrap_or(1).max(1);
            let size = match n {
                1 => 56,
                2 => 42,
                3 => 30,
                _ => 23,
            };
            let step = size * 21 / 20;
            let top = SIZE / 2 - step * n / 2 + step / 2;
            for (i, c) in t.chars.iter().enumerate() {
                let i = i32::try_from(i).unwrap_or(0);
                text_el(&mut out, 60, top + i * step, size, &c.to_string());
            }
        }
        None => line_el(&mut out, 60, 92, 40, &t),
    }
    out.push_str("</g></svg>");
    out
}

fn key(tenant: &str, user_id: &str) -> String {
    format!("{tenant}/{user_id}")
}

pub fn get_seal(tx: &impl Read, tenant: &str, user_id: &str) -> Result<Option<Seal>, StoreError> {
    tx.get(&SEALS, &key(tenant, user_id))
}

/// Creates the user's seal when none is stored yet (in the caller's transaction); an existing
/// seal is never replaced. Returns whether a seal was created.
pub fn ensure_seal(tx: &mut Tx, actor: &Actor, tenant: &Tenant, user: &User) -> Result<bool, StoreError> {
    let k = key(&tenant.code, &user.user_id);
    if tx.get(&SEALS, &k)?.is_some() {
        return Ok(false);
    }
    let now = tx.now();
    let date = tenant.trial.then(|| now.to_zoned_datetime(tokyo()).date());
    let seal = Seal {
        user_id: user.user_id.clone(),
        text: seal_text(&user.name).as_string(),
        date: date.map(date_label),
        svg: render(&user.name, date),
        created_at: rfc3339(now),
    };
    if !tx.insert_new(&SEALS, &k, &seal)? {
        return Ok(false);
    }
    tx.audit(actor, "seal.create", &k, serde_json::json!({"text": seal.text, "date": seal.date}))?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn well_formed(svg: &str) -> Result<usize, String> {
        let mut reader = quick_xml::Reader::from_str(svg);
        let mut depth: i64 = 0;
        let mut elements = 0;
        loop {
            match reader.read_event() {
                Ok(quick_xml::events::Event::Start(e)) => {
                    depth += 1;
                    elements += 1;
                    for a in e.attributes() {
                        let a = a.map_err(|e| e.to_string())?;
                        a.unescape_value().map_err(|e| e.to_string())?;
                    }
                }
                Ok(quick_xml::events::Event::Empty(_)) => elements += 1,
                Ok(quick_xml::events::Event::End(_)) => depth -= 1,
                Ok(quick_xml::events::Event::Text(t)) => {
                    t.unescape().map_err(|e| e.to_string())?;
                }
                Ok(quick_xml::events::Event::Eof) => break,
                Ok(_) => {}
                Err(e) => return Err(e.to_string()),
            }
            if depth < 0 {
                return Err("unbalanced".into());
            }
        }
        if depth != 0 {
            return Err("unclosed".into());
        }
        Ok(elements)
    }

    fn texts(svg: &str) -> Vec<String> {
        let mut reader = quick_xml::Reader::from_str(svg);
        let mut out = Vec::new();
        while let Ok(ev) = reader.read_event() {
            match ev {
                quick_xml::events::Event::Text(t) => out.push(t.unescape().map(|s| s.into_owned()).unwrap_or_default()),
                quick_xml::events::Event::Eof => break,
                _ => {}
            }
        }
        out
    }

    #[test]
    fn surname_is_the_part_before_the_first_half_or_full_width_space() {
        assert_eq!(surname("伊藤 誠"), "伊藤");
        assert_eq!(surname("伊藤\u{3000}誠"), "伊藤");
        assert_eq!(surname("  白石 太郎"), "白石");
        assert_eq!(surname("勅使河原"), "勅使河原");
        assert_eq!(surname("Smith John"), "Smith");
        assert_eq!(surname(""), "");
    }

    #[test]
    fn kanji_go_vertical_latin_across_and_lengths_are_capped() {
        assert_eq!(seal_text("伊藤 誠"), SealText { chars: vec!['伊', '藤'], vertical: true });
        assert_eq!(seal_text("いとう まこと").as_string(), "いとう");
        assert_eq!(seal_text("長谷川部田 一").chars.len(), MAX_CJK);
        let t = seal_text("Montgomery-Smith Alex");
        assert!(!t.vertical);
        assert_eq!(t.as_string(), "Montgome");
        assert_eq!(seal_text("  ").as_string(), "印");
        assert_eq!(seal_text("\u{200b}\u{7}").as_string(), "印");
    }

    #[test]
    fn production_seal_is_a_red_circle_with_the_surname_and_no_date() {
        let svg = render("白石 太郎", None);
        assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
        assert!(svg.contains("<circle"));
        assert!(svg.contains(SEAL_RED));
        assert_eq!(well_formed(&svg), Ok(6));
        let t = texts(&svg);
        assert!(t.contains(&"白".to_string()) && t.contains(&"石".to_string()), "{t:?}");
        assert!(!svg.contains("<line"));
        assert!(!svg.contains("id="), "no ids in a deterministic stamp");
    }

    #[test]
    fn trial_seal_shows_the_date_between_two_lines() {
        let d = jiff::civil::date(2026, 11, 25);
        let svg = render("伊藤 誠", Some(d));
        assert_eq!(svg.matches("<line").count(), 2);
        let t = texts(&svg);
        assert!(t.contains(&"26.11.25".to_string()), "{t:?}");
        assert!(t.contains(&"伊藤".to_string()), "{t:?}");
        assert!(well_formed(&svg).is_ok());
        assert_eq!(svg, render("伊藤 誠", Some(d)));
        assert_ne!(svg, render("伊藤 誠", Some(jiff::civil::date(2026, 11, 26))));
    }

    #[test]
    fn markup_in_names_is_escaped() {
        let svg = render("<b>&\"' x", None);
        assert!(!svg.contains("<b>"));
        assert!(well_formed(&svg).is_ok(), "{svg}");
        assert_eq!(texts(&svg).last().map(String::as_str), Some("<b>&\"'"));
        assert!(!render("<script>alert(1)</script>", None).contains("<script"));
        assert_eq!(xml_escape("a<b>&\"'"), "a&lt;b&gt;&amp;&quot;&apos;");
        assert_eq!(xml_escape("x\u{0}\u{1b}y"), "xy");
    }

    proptest! {
        #[test]
        fn any_name_gives_the_same_well_formed_stamp_every_time(name in "\\PC{0,60}", trial in proptest::bool::ANY) {
            let date = trial.then(|| jiff::civil::date(2026, 1, 5));
            let svg = render(&name, date);
            prop_assert_eq!(&svg, &render(&name, date));
            prop_assert!(well_formed(&svg).is_ok(), "{}", svg);
            let t = seal_text(&name);
            prop_assert!(!t.chars.is_empty());
            let max = if t.vertical { MAX_CJK } else { MAX_LATIN };
            prop_assert!(t.chars.len() <= max);
        }

        #[test]
        fn arbitrary_characters_never_break_the_markup(name in proptest::collection::vec(proptest::char::any(), 0..40)) {
            let name: String = name.into_iter().collect();
            prop_assert!(well_formed(&render(&name, None)).is_ok());
        }
    }
}
