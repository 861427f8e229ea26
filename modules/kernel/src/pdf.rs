//! A small PDF writer for Japanese documents (invoices, manuals).
//!
//! Text is set in a standard, **non-embedded** Adobe-Japan1 CID font (明朝 `KozMinPr6N-Regular`
//! or ゴシック `KozGoPr6N-Medium`) with the `UniJIS-UTF16-H` CMap, as many Japanese PDF
//! generators do: viewers substitute an installed Japanese font (Acrobat ships these, poppler
//! uses fontconfig, e.g. Noto CJK), so keiyaku needs no font file and the output stays small.
//! Every font also carries a `ToUnicode` CMap, so text extraction (`pdftotext`, search, copy)
//! gives back exactly the Unicode that was written.
//!
//! Coordinates are PDF points (1/72 inch) measured from the **top-left** corner of the page,
//! y growing downwards; `y` of a text call is its baseline. Widths assume half-width glyphs
//! (500/1000 em) for ASCII and half-width katakana and full-width (1000/1000 em) for
//! everything else, which is what the `/W` array tells the viewer.
//!
//! ```
//! use keiyaku_kernel::pdf::{Document, Font};
//! let bytes = Document::new()
//!     .title("請求書")
//!     .page(|p| {
//!         p.font(Font::Gothic).text(56.0, 80.0, 20.0, "請求書");
//!         p.font(Font::Mincho).text(56.0, 120.0, 10.5, "下記のとおりご請求申し上げます。");
//!         p.line(56.0, 130.0, 539.0, 130.0, 0.5);
//!     })
//!     .to_bytes();
//! assert!(bytes.starts_with(b"%PDF-1.7"));
//! ```
//!
//! Only characters of the Basic Multilingual Plane are written; others (rare kanji outside
//! it, emoji) become 〓 and control characters are dropped.

use std::fmt::Write as _;

/// A4 portrait, in points.
pub const A4: (f32, f32) = (595.28, 841.89);

/// The two standard Japanese typefaces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Font {
    /// 明朝体 (serif), `KozMinPr6N-Regular`.
    #[default]
    Mincho,
    /// ゴシック体 (sans-serif), `KozGoPr6N-Medium`.
    Gothic,
}

impl Font {
    const ALL: [Font; 2] = [Font::Mincho, Font::Gothic];

    fn resource(self) -> &'static str {
        match self {
            Font::Mincho => "F1",
            Font::Gothic => "F2",
        }
    }

    fn base_name(self) -> &'static str {
        match self {
            Font::Mincho => "KozMinPr6N-Regular",
            Font::Gothic => "KozGoPr6N-Medium",
        }
    }

    /// FontDescriptor flags: symbolic (4), plus serif (2) for Mincho.
    fn flags(self) -> u32 {
        match self {
            Font::Mincho => 6,
            Font::Gothic => 4,
        }
    }
}

/// Proportional widths (thousandths of an em, Helvetica-like) of ASCII 0x20–0x7E, which
/// `UniJIS-UTF16-H` maps to the proportional CIDs 1–95 (0x5C is the yen sign there).
const ASCII_WIDTHS: [u16; 95] = [
    278, 278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278, 333, 278, 278, // ' '–'/'
    556, 556, 556, 556, 556, 556, 556, 556, 556, 556, 278, 278, 584, 584, 584, 556, // '0'–'?'
    1015, 667, 667, 722, 722, 667, 611, 778, 722, 278, 500, 667, 556, 833, 722, 778, // '@'–'O'
    667, 778, 722, 667, 611, 722, 667, 944, 667, 667, 611, 278, 556, 278, 469, 556, // 'P'–'_'
    333, 556, 556, 500, 556, 556, 278, 556, 556, 222, 222, 500, 222, 833, 556, 556, // '`'–'o'
    556, 556, 333, 500, 278, 556, 500, 722, 500, 500, 500, 334, 260, 334, 584, // 'p'–'~'
];

/// Width of one character in thousandths of an em: proportional ASCII, half-width katakana
/// 500, everything else full width.
fn char_width(c: char) -> f32 {
    match c {
        ' '..='~' => f32::from(ASCII_WIDTHS[(u32::from(c) - 0x20) as usize]),
        '\u{A5}' => 556.0,
        '\u{FF61}'..='\u{FF9F}' => 500.0,
        _ => 1000.0,
    }
}

/// The `/W` array of the CID fonts: ASCII widths for CIDs 1–95, half-width CIDs 231–632.
fn widths_array() -> String {
    let ascii: Vec<String> = ASCII_WIDTHS.iter().map(|w| w.to_string()).collect();
    format!("[1 [{}] 231 632 500]", ascii.join(" "))
}

/// Width of `s` set at `size` points.
pub fn text_width(s: &str, size: f32) -> f32 {
    s.chars().filter(|c| !c.is_control()).map(char_width).sum::<f32>() * size / 1000.0
}

/// Characters that must not start a line (行頭禁則).
fn no_line_start(c: char) -> bool {
    "、。，．・：；？！ー）」』】〕〉》”’ぁぃぅぇぉっゃゅょァィゥェォッャュョ,.:;!?)]}".contains(c)
}

/// Splits `s` into lines at most `max_width` wide (explicit `\n` breaks are kept). Latin words
/// are not split when a space allows breaking before them; a line never starts with a
/// closing bracket or punctuation (it hangs on the line before).
pub fn wrap_lines(s: &str, size: f32, max_width: f32) -> Vec<String> {
    let mut out = Vec::new();
    for para in s.split('\n') {
        let mut line: Vec<char> = Vec::new();
        let mut width = 0.0;
        for c in para.chars().filter(|c| !c.is_control()) {
            let w = char_width(c) * size / 1000.0;
            if width + w > max_width && !line.is_empty() && !no_line_start(c) {
                // Break before the current Latin word when the line has a space.
                let mut carry: Vec<char> = Vec::new();
                if c.is_ascii_alphanumeric()
                    && line.last().is_some_and(|l| l.is_ascii_alphanumeric())
                    && let Some(space) = line.iter().rposition(|&l| l == ' ')
                {
                    carry = line.split_off(space + 1);
                }
                out.push(line.iter().collect::<String>().trim_end().to_string());
                line = carry;
                width = line.iter().map(|&l| char_width(l) * size / 1000.0).sum();
            }
            line.push(c);
            width += w;
        }
        out.push(line.iter().collect::<String>().trim_end().to_string());
    }
    out
}

/// Fixed-precision number for content streams (no exponent, no `-0`).
fn num(v: f32) -> String {
    let v = if v.is_finite() { v } else { 0.0 };
    let s = format!("{v:.2}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" || s.is_empty() { "0".to_string() } else { s.to_string() }
}

/// The text as a PDF hex string of UTF-16BE code units (BMP only).
fn hex_utf16(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 4 + 2);
    out.push('<');
    for c in s.chars().filter(|c| !c.is_control()) {
        let code = u32::from(c);
        let unit = if code <= 0xFFFF { code } else { 0x3013 };
        let _ = write!(out, "{unit:04X}");
    }
    out.push('>');
    out
}

/// One page: its size and content stream.
#[derive(Debug, Clone)]
pub struct Page {
    width: f32,
    height: f32,
    font: Font,
    ops: String,
}

impl Page {
    fn new(width: f32, height: f32) -> Self {
        Self { width, height, font: Font::Mincho, ops: String::new() }
    }

    pub fn width(&self) -> f32 {
        self.width
    }

    pub fn height(&self) -> f32 {
        self.height
    }

    /// The typeface of the following text calls (明朝 until changed).
    pub fn font(&mut self, font: Font) -> &mut Self {
        self.font = font;
        self
    }

    /// Text with its baseline starting at (`x`, `y`).
    pub fn text(&mut self, x: f32, y: f32, size: f32, s: &str) -> &mut Self {
        let _ = writeln!(
            self.ops,
            "BT /{} {} Tf {} {} Td {} Tj ET",
            self.font.resource(),
            num(size),
            num(x),
            num(self.height - y),
            hex_utf16(s)
        );
        self
    }

    /// Text ending at `right`.
    pub fn text_right(&mut self, right: f32, y: f32, size: f32, s: &str) -> &mut Self {
        self.text(right - text_width(s, size), y, size, s)
    }

    /// Text centred on `center`.
    pub fn text_center(&mut self, center: f32, y: f32, size: f32, s: &str) -> &mut Self {
        self.text(center - text_width(s, size) / 2.0, y, size, s)
    }

    /// Text wrapped to `max_width`, one line every `leading` points from the baseline `y`;
    /// returns the baseline after the last line.
    pub fn text_wrapped(&mut self, x: f32, y: f32, max_width: f32, size: f32, leading: f32, s: &str) -> f32 {
        let mut y = y;
        for line in wrap_lines(s, size, max_width) {
            self.text(x, y, size, &line);
            y += leading;
        }
        y
    }

    /// A straight line of `width` points.
    pub fn line(&mut self, x1: f32, y1: f32, x2: f32, y2: f32, width: f32) -> &mut Self {
        let _ = writeln!(
            self.ops,
            "{} w {} {} m {} {} l S",
            num(width),
            num(x1),
            num(self.height - y1),
            num(x2),
            num(self.height - y2)
        );
        self
    }

    /// A rectangle outline with its top-left corner at (`x`, `y`).
    pub fn rect(&mut self, x: f32, y: f32, w: f32, h: f32, width: f32) -> &mut Self {
        let _ =
            writeln!(self.ops, "{} w {} {} {} {} re S", num(width), num(x), num(self.height - y - h), num(w), num(h));
        self
    }

    /// A filled rectangle in `gray` (0 black – 1 white); later drawing is black again.
    pub fn fill_rect(&mut self, x: f32, y: f32, w: f32, h: f32, gray: f32) -> &mut Self {
        let gray = gray.clamp(0.0, 1.0);
        let _ = writeln!(
            self.ops,
            "{} g {} {} {} {} re f 0 g",
            num(gray),
            num(x),
            num(self.height - y - h),
            num(w),
            num(h)
        );
        self
    }
}

/// A document: pages and a title.
#[derive(Debug, Clone)]
pub struct Document {
    title: String,
    size: (f32, f32),
    pages: Vec<Page>,
}

impl Default for Document {
    fn default() -> Self {
        Self::new()
    }
}

impl Document {
    /// An empty A4 portrait document.
    pub fn new() -> Self {
        Self { title: String::new(), size: A4, pages: Vec::new() }
    }

    /// The size of the pages added from now on, in points.
    pub fn page_size(mut self, width: f32, height: f32) -> Self {
        self.size = (width, height);
        self
    }

    /// The document title (shown by viewers).
    pub fn title(mut self, title: &str) -> Self {
        self.title = title.to_string();
        self
    }

    /// Adds a page drawn by `draw`.
    pub fn page(mut self, draw: impl FnOnce(&mut Page)) -> Self {
        draw(self.add_page());
        self
    }

    /// Adds an empty page and returns it for drawing.
    pub fn add_page(&mut self) -> &mut Page {
        self.pages.push(Page::new(self.size.0, self.size.1));
        let last = self.pages.len() - 1;
        &mut self.pages[last]
    }

    pub fn page_count(&self) -> usize {
        self.pages.len()
    }

    /// The PDF file.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut pages = self.pages.clone();
        if pages.is_empty() {
            pages.push(Page::new(self.size.0, self.size.1));
        }
        let mut w = Writer::default();
        // Object numbers: 1 catalog, 2 page tree, 3 info, 4 ToUnicode, then 3 per font, then
        // 2 per page.
        let to_unicode = 4;
        let font_base = 5;
        let page_base = font_base + 3 * Font::ALL.len();
        let font_ref = |i: usize| font_base + 3 * i;

        w.object(1, "<< /Type /Catalog /Pages 2 0 R >>");
        let kids: Vec<String> = (0..pages.len()).map(|i| format!("{} 0 R", page_base + 2 * i)).collect();
        w.object(2, &format!("<< /Type /Pages /Kids [{}] /Count {} >>", kids.join(" "), pages.len()));
        w.object(3, &format!("<< /Title {} /Producer (keiyaku) /Creator (keiyaku) >>", hex_utf16_bom(&self.title)));
        w.stream(to_unicode, "", to_unicode_cmap().as_bytes());
        for (i, font) in Font::ALL.iter().enumerate() {
            let (type0, cid, desc) = (font_ref(i), font_ref(i) + 1, font_ref(i) + 2);
            w.object(
                type0,
                &format!(
                    "<< /Type /Font /Subtype /Type0 /BaseFont /{name}-UniJIS-UTF16-H /Encoding /UniJIS-UTF16-H \
                     /DescendantFonts [{cid} 0 R] /ToUnicode {to_unicode} 0 R >>",
                    name = font.base_name()
                ),
            );
            w.object(
                cid,
                &format!(
                    "<< /Type /Font /Subtype /CIDFontType0 /BaseFont /{name} \
                     /CIDSystemInfo << /Registry (Adobe) /Ordering (Japan1) /Supplement 6 >> \
                     /FontDescriptor {desc} 0 R /DW 1000 /W {w} >>",
                    name = font.base_name(),
                    w = widths_array()
                ),
            );
            w.object(
                desc,
                &format!(
                    "<< /Type /FontDescriptor /FontName /{name} /Flags {flags} /FontBBox [-200 -300 1200 1100] \
                     /ItalicAngle 0 /Ascent 880 /Descent -120 /CapHeight 740 /StemV 80 >>",
                    name = font.base_name(),
                    flags = font.flags()
                ),
            );
        }
        let fonts: Vec<String> =
            Font::ALL.iter().enumerate().map(|(i, f)| format!("/{} {} 0 R", f.resource(), font_ref(i))).collect();
        for (i, page) in pages.iter().enumerate() {
            let (obj, content) = (page_base + 2 * i, page_base + 2 * i + 1);
            w.object(
                obj,
                &format!(
                    "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {} {}] /Resources << /Font << {} >> >> \
                     /Contents {content} 0 R >>",
                    num(page.width),
                    num(page.height),
                    fonts.join(" ")
                ),
            );
            w.stream(content, "", page.ops.as_bytes());
        }
        w.finish(1, 3)
    }
}

/// A text string for the info dictionary: UTF-16BE with a byte-order mark.
fn hex_utf16_bom(s: &str) -> String {
    let mut out = String::from("<FEFF");
    for unit in s.encode_utf16() {
        let _ = write!(out, "{unit:04X}");
    }
    out.push('>');
    out
}

/// The ToUnicode CMap: codes are UTF-16 code units already, so every code maps to itself
/// (ranges per high byte; surrogates are never written).
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

/// Accumulates numbered objects and writes the cross-reference table.
#[derive(Default)]
struct Writer {
    buf: Vec<u8>,
    offsets: Vec<(usize, usize)>,
}

impl Writer {
    fn start(&mut self) {
        if self.buf.is_empty() {
            // The binary comment line marks the file as binary for transfer programs.
            self.buf.extend_from_slice(b"%PDF-1.7\n%\xE2\xE3\xCF\xD3\n");
        }
    }

    fn object(&mut self, id: usize, body: &str) {
        self.start();
        self.offsets.push((id, self.buf.len()));
        self.buf.extend_from_slice(format!("{id} 0 obj\n{body}\nendobj\n").as_bytes());
    }

    fn stream(&mut self, id: usize, extra: &str, data: &[u8]) {
        self.start();
        self.offsets.push((id, self.buf.len()));
        self.buf.extend_from_slice(format!("{id} 0 obj\n<< /Length {}{extra} >>\nstream\n", data.len()).as_bytes());
        self.buf.extend_from_slice(data);
        self.buf.extend_from_slice(b"\nendstream\nendobj\n");
    }

    fn finish(mut self, root: usize, info: usize) -> Vec<u8> {
        self.start();
        self.offsets.sort_unstable();
        let size = self.offsets.last().map(|(id, _)| id + 1).unwrap_or(1);
        let xref = self.buf.len();
        let mut table = format!("xref\n0 {size}\n0000000000 65535 f \n");
        let mut next = 1;
        for (id, off) in &self.offsets {
            while next < *id {
                table.push_str("0000000000 65535 f \n");
                next += 1;
            }
            let _ = writeln!(table, "{off:010} 00000 n ");
            next = id + 1;
        }
        let _ =
            write!(table, "trailer\n<< /Size {size} /Root {root} 0 R /Info {info} 0 R >>\nstartxref\n{xref}\n%%EOF\n");
        self.buf.extend_from_slice(table.as_bytes());
        self.buf
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn sample() -> Vec<u8> {
        Document::new()
            .title("請求書 T000001")
            .page(|p| {
                p.font(Font::Gothic).text(56.0, 80.0, 20.0, "請求書");
                p.font(Font::Mincho).text(56.0, 120.0, 10.5, "合計金額(税別) ¥6,000 アイテックコンサルタント株式会社");
                p.text_right(539.0, 140.0, 10.5, "¥6,600");
                p.line(56.0, 150.0, 539.0, 150.0, 0.5).rect(56.0, 160.0, 100.0, 20.0, 0.5);
                p.fill_rect(56.0, 190.0, 100.0, 20.0, 0.9);
                p.text_wrapped(56.0, 230.0, 200.0, 10.5, 16.0, "長い文章は折り返されます。".repeat(5).as_str());
            })
            .page(|p| {
                p.text(56.0, 80.0, 12.0, "2ページ目 😀");
            })
            .to_bytes()
    }

    #[test]
    fn writes_a_well_formed_file_with_a_correct_xref() {
        let pdf = sample();
        assert!(pdf.starts_with(b"%PDF-1.7\n"));
        assert!(pdf.ends_with(b"%%EOF\n"));
        let text = String::from_utf8_lossy(&pdf);
        assert!(text.contains("/Encoding /UniJIS-UTF16-H"));
        assert!(text.contains("/Ordering (Japan1)"));
        assert!(text.contains("/Count 2"));
        // Each xref entry points at its object.
        let xref_at: usize =
            text.rsplit("startxref\n").next().and_then(|t| t.lines().next()).and_then(|n| n.parse().ok()).unwrap_or(0);
        let table = &text[xref_at..];
        for (i, line) in table.lines().skip(3).take_while(|l| l.ends_with(" n ")).enumerate() {
            let off: usize = line[..10].parse().unwrap_or(0);
            assert!(text[off..].starts_with(&format!("{} 0 obj", i + 1)), "object {}", i + 1);
        }
        // 請 = U+8ACB, non-BMP becomes 〓 (U+3013).
        assert!(text.contains("<8ACB6C4266F8>"));
        assert!(text.contains("3013>"));
    }

    #[test]
    fn widths_and_wrapping() {
        assert_eq!(text_width("0", 10.0), 5.56);
        assert_eq!(ASCII_WIDTHS.len(), 95);
        assert_eq!(text_width("請求", 10.0), 20.0);
        let lines = wrap_lines("あいうえお、かきくけこ", 10.0, 50.0);
        assert_eq!(lines, vec!["あいうえお、", "かきくけこ"]);
        let lines = wrap_lines("hello world again", 10.0, 30.0);
        assert_eq!(lines, vec!["hello", "world", "again"]);
        assert_eq!(wrap_lines("a\nb", 10.0, 100.0), vec!["a", "b"]);
        assert_eq!(num(-0.001), "0");
        assert_eq!(num(12.5), "12.5");
        assert_eq!(num(f32::NAN), "0");
    }

    #[test]
    fn empty_documents_still_have_a_page() {
        let pdf = Document::default().to_bytes();
        assert!(String::from_utf8_lossy(&pdf).contains("/Count 1"));
    }

    proptest! {
        #[test]
        fn any_text_is_written_without_panicking(s in "\\PC{0,200}", size in 1.0f32..40.0) {
            let pdf = Document::new().page(|p| { p.text_wrapped(10.0, 10.0, 100.0, size, size, &s); }).to_bytes();
            prop_assert!(pdf.ends_with(b"%%EOF\n"));
        }
    }
}
