//! The visible stamp: a red seal (印影) drawn with vector graphics and text, plus label lines.
//!
//! Text uses the same non-embedded Adobe-Japan1 CID font as `keiyaku_kernel::pdf`
//! (`KozMinPr6N-Regular`, `UniJIS-UTF16-H`, with a ToUnicode CMap); viewers substitute an
//! installed Japanese font.

use std::fmt::Write as _;

/// The seal (印影) drawn in the signature's appearance.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Seal {
    /// The characters inside the ring, e.g. `['山', '田']` or the Latin letters of a name.
    pub chars: Vec<char>,
    /// One vertical column (kanji and kana) instead of one line across (Latin).
    pub vertical: bool,
    /// A date seal (日付印): 「電子契約」 on top, this date (e.g. `"26.11.25"`) between two
    /// lines, and `chars` (the surname) below.
    pub date: Option<String>,
}

/// Where and how the signature is shown.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Appearance {
    /// The page, counted from 0.
    pub page: usize,
    /// `[x, y, width, height]` in points, x and y of the top-left corner measured from the
    /// page's top-left corner (of its CropBox, else MediaBox; page rotation is not applied).
    /// `None`: bottom right of the page, a 60 pt seal with the labels beside it.
    pub rect: Option<[f32; 4]>,
    /// The seal.
    pub seal: Seal,
    /// Small black lines beside the seal, e.g. the signer's name, `代理: …`, the date.
    pub label_lines: Vec<String>,
}

/// Red of the seal, #d2232a.
const RED: &str = "0.824 0.137 0.165";
const DEFAULT_SEAL: f32 = 60.0;
const LABEL_SIZE: f32 = 8.0;
const MARGIN: f32 = 36.0;
const GAP: f32 = 6.0;

/// Proportional widths of ASCII 0x20–0x7E (thousandths of an em), as in `keiyaku_kernel::pdf`.
const ASCII_WIDTHS: [u16; 95] = [
    278, 278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278, 333, 278, 278, // ' '–'/'
    556, 556, 556, 556, 556, 556, 556, 556, 556, 556, 278, 278, 584, 584, 584, 556, // '0'–'?'
    1015, 667, 667, 722, 722, 667, 611, 778, 722, 278, 500, 667, 556, 833, 722, 778, // '@'–'O'
    667, 778, 722, 667, 611, 722, 667, 944, 667, 667, 611, 278, 556, 278, 469, 556, // 'P'–'_'
    333, 556, 556, 500, 556, 556, 278, 556, 556, 222, 222, 500, 222, 833, 556, 556, // '`'–'o'
    556, 556, 333, 500, 278, 556, 500, 722, 500, 500, 500, 334, 260, 334, 584, // 'p'–'~'
];

/// Width of a character in ems.
fn char_width(c: char) -> f32 {
    let milli = match c {
        ' '..='~' => f32::from(ASCII_WIDTHS[(u32::from(c) - 0x20) as usize]),
        '\u{A5}' => 556.0,
        '\u{FF61}'..='\u{FF9F}' => 500.0,
        _ => 1000.0,
    };
    milli / 1000.0
}

fn text_width(s: &str) -> f32 {
    s.chars().filter(|c| !c.is_control()).map(char_width).sum()
}

/// Fixed-precision number for content streams.
pub(crate) fn num(v: f32) -> String {
    let v = if v.is_finite() { v } else { 0.0 };
    let s = format!("{v:.3}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" || s.is_empty() { "0".to_string() } else { s.to_string() }
}

/// The text as a hex string of UTF-16 code units (BMP only; others become 〓).
fn hex_utf16(s: &str) -> String {
    let mut out = String::from("<");
    for c in s.chars().filter(|c| !c.is_control()) {
        let code = u32::from(c);
        let unit = if code <= 0xFFFF { code } else { 0x3013 };
        let _ = write!(out, "{unit:04X}");
    }
    out.push('>');
    out
}

impl Appearance {
    /// The default size: a 60 pt seal and the labels beside it.
    fn default_size(&self) -> (f32, f32) {
        let label = self.label_lines.iter().map(|l| text_width(l) * LABEL_SIZE).fold(0.0, f32::max);
        let width = if label > 0.0 { DEFAULT_SEAL + GAP + label } else { DEFAULT_SEAL };
        (width, DEFAULT_SEAL)
    }

    /// The widget rectangle `[x, y, w, h]` (top-left origin) on a page of `page_w`×`page_h`.
    pub(crate) fn rect_on(&self, page_w: f32, page_h: f32) -> [f32; 4] {
        match self.rect {
            Some([x, y, w, h]) => [x, y, w.max(1.0), h.max(1.0)],
            None => {
                let (w, h) = self.default_size();
                [(page_w - MARGIN - w).max(0.0), (page_h - MARGIN - h).max(0.0), w, h]
            }
        }
    }

    /// The content stream of the appearance form XObject with BBox `[0 0 w h]`; text uses
    /// the font resource `/F1`.
    pub(crate) fn content(&self, w: f32, h: f32) -> String {
        let mut out = String::new();
        let has_labels = self.label_lines.iter().any(|l| !l.trim().is_empty());
        let d = if has_labels { h.min(w * 0.5) } else { h.min(w) };
        let (cx, cy) = (d / 2.0, h / 2.0);
        let _ = writeln!(out, "q {RED} RG {RED} rg");
        let lw = (d * 0.045).max(0.8);
        let r = d / 2.0 - lw / 2.0;
        circle(&mut out, cx, cy, r, lw);
        let inner = r - lw / 2.0;
        match &self.seal.date {
            Some(date) => self.date_seal(&mut out, cx, cy, d, inner, lw, date),
            None => self.name_seal(&mut out, cx, cy, inner),
        }
        out.push_str("Q\n");
        if has_labels {
            let x0 = d + GAP.min(d * 0.1);
            let avail = (w - x0).max(1.0);
            let lines: Vec<&String> = self.label_lines.iter().collect();
            let n = lines.len() as f32;
            let mut size = LABEL_SIZE.min(h / (n * 1.3));
            for l in &lines {
                let tw = text_width(l);
                if tw > 0.0 {
                    size = size.min(avail / tw);
                }
            }
            let leading = size * 1.3;
            let top = cy + n * leading / 2.0;
            out.push_str("q 0 g\n");
            for (i, l) in lines.iter().enumerate() {
                let y = top - (i as f32 + 1.0) * leading + size * 0.25;
                text(&mut out, x0, y, size, l);
            }
            out.push_str("Q\n");
        }
        out
    }

    fn name_seal(&self, out: &mut String, cx: f32, cy: f32, inner: f32) {
        let chars: Vec<char> = self.seal.chars.iter().copied().filter(|c| !c.is_control()).take(8).collect();
        if chars.is_empty() {
            return;
        }
        let usable = inner * 2.0 * 0.82;
        if self.seal.vertical {
            let n = chars.len() as f32;
            let size = (usable / n).min(inner * 1.25);
            let top = cy + n * size / 2.0;
            for (i, c) in chars.iter().enumerate() {
                let baseline = top - (i as f32 + 1.0) * size + size * 0.12;
                let s = c.to_string();
                text(out, cx - text_width(&s) * size / 2.0, baseline, size, &s);
            }
        } else {
            let s: String = chars.iter().collect();
            let tw = text_width(&s);
            let size = (usable / tw.max(0.1)).min(inner * 1.1);
            text(out, cx - tw * size / 2.0, cy - size * 0.35, size, &s);
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn date_seal(&self, out: &mut String, cx: f32, cy: f32, d: f32, inner: f32, lw: f32, date: &str) {
        let band = d * 0.16;
        let half_chord = |y: f32| (inner * inner - y * y).max(0.0).sqrt();
        // The two lines framing the date.
        for y in [band, -band] {
            let hc = half_chord(y);
            let _ = writeln!(
                out,
                "{} w {} {} m {} {} l S",
                num(lw * 0.8),
                num(cx - hc),
                num(cy + y),
                num(cx + hc),
                num(cy + y)
            );
        }
        // Top: 電子契約.
        let top = "電子契約";
        let size = (d * 0.15).min(half_chord(band + d * 0.2) * 2.0 * 0.9 / text_width(top));
        text(out, cx - text_width(top) * size / 2.0, cy + band + d * 0.05, size, top);
        // Middle: the date.
        let tw = text_width(date).max(0.1);
        let size = (band * 2.0 * 0.75).min(half_chord(band) * 2.0 * 0.88 / tw);
        text(out, cx - tw * size / 2.0, cy - size * 0.36, size, date);
        // Bottom: the surname.
        let name: String = self.seal.chars.iter().filter(|c| !c.is_control()).take(6).collect();
        let tw = text_width(&name);
        if tw > 0.0 {
            let size = (d * 0.17).min(half_chord(band + d * 0.2) * 2.0 * 0.9 / tw);
            text(out, cx - tw * size / 2.0, cy - band - d * 0.05 - size * 0.8, size, &name);
        }
    }
}

fn text(out: &mut String, x: f32, y: f32, size: f32, s: &str) {
    let _ = writeln!(out, "BT /F1 {} Tf {} {} Td {} Tj ET", num(size), num(x), num(y), hex_utf16(s));
}

/// A circle of radius `r` stroked with line width `lw`, as four Bézier curves.
fn circle(out: &mut String, cx: f32, cy: f32, r: f32, lw: f32) {
    let k = 0.552_284_8 * r;
    let _ = writeln!(out, "{} w {} {} m", num(lw), num(cx + r), num(cy));
    let quarters = [
        (cx + r, cy + k, cx + k, cy + r, cx, cy + r),
        (cx - k, cy + r, cx - r, cy + k, cx - r, cy),
        (cx - r, cy - k, cx - k, cy - r, cx, cy - r),
        (cx + k, cy - r, cx + r, cy - k, cx + r, cy),
    ];
    for (a, b, c, d, e, f) in quarters {
        let _ = writeln!(out, "{} {} {} {} {} {} c", num(a), num(b), num(c), num(d), num(e), num(f));
    }
    out.push_str("h S\n");
}

/// The font objects' bodies: Type0 font, CIDFontType0, FontDescriptor and the ToUnicode
/// CMap stream data, given the object numbers of the last three.
pub(crate) fn font_objects(cid: u32, desc: u32, to_unicode: u32) -> (String, String, String, Vec<u8>) {
    let name = "KozMinPr6N-Regular";
    let type0 = format!(
        "<< /Type /Font /Subtype /Type0 /BaseFont /{name}-UniJIS-UTF16-H /Encoding /UniJIS-UTF16-H \
         /DescendantFonts [{cid} 0 R] /ToUnicode {to_unicode} 0 R >>"
    );
    let ascii: Vec<String> = ASCII_WIDTHS.iter().map(|w| w.to_string()).collect();
    let cid_font = format!(
        "<< /Type /Font /Subtype /CIDFontType0 /BaseFont /{name} \
         /CIDSystemInfo << /Registry (Adobe) /Ordering (Japan1) /Supplement 6 >> \
         /FontDescriptor {desc} 0 R /DW 1000 /W [1 [{}] 231 632 500] >>",
        ascii.join(" ")
    );
    let descriptor = format!(
        "<< /Type /FontDescriptor /FontName /{name} /Flags 6 /FontBBox [-200 -300 1200 1100] \
         /ItalicAngle 0 /Ascent 880 /Descent -120 /CapHeight 740 /StemV 80 >>"
    );
    (type0, cid_font, descriptor, to_unicode_cmap().into_bytes())
}

/// The ToUnicode CMap: codes are UTF-16 code units, so every code maps to itself.
fn to_unicode_cmap() -> String {
    let ranges: Vec<u32> = (0u32..=0xFF).filter(|hi| !(0xD8..=0xDF).contains(hi)).collect();
    let mut s = String::from(
        "/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n\
         /CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n\
         /CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n\
         1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n",
    );
    for chunk in ranges.chunks(100) {
        let _ = writeln!(s, "{} beginbfrange", chunk.len());
        for hi in chunk {
            let _ = writeln!(s, "<{hi:02X}00> <{hi:02X}FF> <{hi:02X}00>");
        }
        s.push_str("endbfrange\n");
    }
    s.push_str("endcmap\nCMapName currentdict /CMap defineresource pop\nend\nend\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_rect_is_bottom_right() {
        let a = Appearance {
            seal: Seal { chars: vec!['山', '田'], vertical: true, date: None },
            label_lines: vec!["山田 太郎".into()],
            ..Default::default()
        };
        let [x, y, w, h] = a.rect_on(595.0, 842.0);
        assert_eq!(h, 60.0);
        assert!((x + w - (595.0 - 36.0)).abs() < 0.01);
        assert!((y + h - (842.0 - 36.0)).abs() < 0.01);
        let c = a.content(w, h);
        assert!(c.contains("0.824 0.137 0.165 RG"));
        assert!(c.contains("<5C71>") && c.contains("<7530>"));
        assert_eq!(c.matches(" c\n").count(), 4);
    }

    #[test]
    fn date_seal_and_odd_input_do_not_panic() {
        let a = Appearance {
            rect: Some([0.0, 0.0, 0.0, f32::NAN]),
            seal: Seal { chars: vec!['\u{0}', '😀'], vertical: false, date: Some("26.11.25".into()) },
            ..Default::default()
        };
        let c = a.content(10.0, 10.0);
        assert!(c.contains("<96FB5B5059517D04>"));
        assert!(!c.contains("NaN") && !c.contains("inf"));
    }
}
