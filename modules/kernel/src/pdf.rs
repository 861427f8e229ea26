//! A small PDF writer for Japanese documents (invoices, manuals, the 合意締結証明書).
//!
//! Text is set in keiyaku's own fonts (`keiyaku_font`: IPAex明朝 and IPAexゴシック), embedded
//! as subsets of exactly the glyphs the document uses, so every viewer shows the same
//! document and none substitutes a font of its own. Each font carries a `ToUnicode` CMap, so
//! text extraction (`pdftotext`, search, copy) gives back the Unicode that was written.
//!
//! Coordinates are PDF points (1/72 inch) measured from the **top-left** corner of the page,
//! y growing downwards; `y` of a text call is its baseline. Widths are the fonts' own.
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
//! Characters the fonts lack (emoji, for one) are drawn as 〓 and control characters are
//! dropped.

use std::fmt::Write as _;

use keiyaku_font::{Subset, Typeface};

/// A4 portrait, in points.
pub const A4: (f32, f32) = (595.28, 841.89);

/// The two standard Japanese typefaces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Font {
    /// 明朝体 (serif), IPAex明朝.
    #[default]
    Mincho,
    /// ゴシック体 (sans-serif), IPAexゴシック.
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

    fn typeface(self) -> Typeface {
        match self {
            Font::Mincho => Typeface::Mincho,
            Font::Gothic => Typeface::Gothic,
        }
    }

    /// Width of `s` set in this font at `size` points.
    pub fn width(self, s: &str, size: f32) -> f32 {
        self.typeface().width(s) * size
    }
}

/// Width of `s` set in 明朝 at `size` points.
pub fn text_width(s: &str, size: f32) -> f32 {
    Font::Mincho.width(s, size)
}

/// Characters that must not start a line (行頭禁則).
fn no_line_start(c: char) -> bool {
    "、。，．・：；？！ー）」』】〕〉》”’ぁぃぅぇぉっゃゅょァィゥェォッャュョ,.:;!?)]}".contains(c)
}

/// Splits `s`, set in 明朝, into lines at most `max_width` wide (explicit `\n` breaks are kept). Latin words
/// are not split when a space allows breaking before them; a line never starts with a
/// closing bracket or punctuation (it hangs on the line before).
pub fn wrap_lines(s: &str, size: f32, max_width: f32) -> Vec<String> {
    let char_width = |c: char| Typeface::Mincho.char_width(c) * 1000.0;
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

/// A part of a content stream: drawing operators as they are, or text to encode in its
/// font once the document's subsets are known.
#[derive(Debug, Clone)]
enum Piece {
    Ops(String),
    Text { font: Font, size: f32, x: f32, y: f32, text: String },
}

/// One page: its size and content.
#[derive(Debug, Clone)]
pub struct Page {
    width: f32,
    height: f32,
    font: Font,
    pieces: Vec<Piece>,
}

impl Page {
    fn new(width: f32, height: f32) -> Self {
        Self { width, height, font: Font::Mincho, pieces: Vec::new() }
    }

    fn ops(&mut self, ops: String) {
        self.pieces.push(Piece::Ops(ops));
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
        let y = self.height - y;
        self.pieces.push(Piece::Text { font: self.font, size, x, y, text: s.to_string() });
        self
    }

    /// Text ending at `right`.
    pub fn text_right(&mut self, right: f32, y: f32, size: f32, s: &str) -> &mut Self {
        self.text(right - self.font.width(s, size), y, size, s)
    }

    /// Text centred on `center`.
    pub fn text_center(&mut self, center: f32, y: f32, size: f32, s: &str) -> &mut Self {
        self.text(center - self.font.width(s, size) / 2.0, y, size, s)
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
        let ops = format!(
            "{} w {} {} m {} {} l S\n",
            num(width),
            num(x1),
            num(self.height - y1),
            num(x2),
            num(self.height - y2)
        );
        self.ops(ops);
        self
    }

    /// A rectangle outline with its top-left corner at (`x`, `y`).
    pub fn rect(&mut self, x: f32, y: f32, w: f32, h: f32, width: f32) -> &mut Self {
        let ops = format!("{} w {} {} {} {} re S\n", num(width), num(x), num(self.height - y - h), num(w), num(h));
        self.ops(ops);
        self
    }

    /// A filled rectangle in `gray` (0 black – 1 white); later drawing is black again.
    pub fn fill_rect(&mut self, x: f32, y: f32, w: f32, h: f32, gray: f32) -> &mut Self {
        let gray = gray.clamp(0.0, 1.0);
        let ops = format!("{} g {} {} {} {} re f 0 g\n", num(gray), num(x), num(self.height - y - h), num(w), num(h));
        self.ops(ops);
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

    /// The PDF file, its fonts embedded.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut pages = self.pages.clone();
        if pages.is_empty() {
            pages.push(Page::new(self.size.0, self.size.1));
        }
        // The content streams, with every text encoded in its font's subset.
        let mut subsets = [Subset::new(Typeface::Mincho), Subset::new(Typeface::Gothic)];
        let mut contents: Vec<(String, [bool; 2])> = Vec::with_capacity(pages.len());
        for page in &pages {
            let mut ops = String::new();
            let mut used = [false; 2];
            for piece in &page.pieces {
                match piece {
                    Piece::Ops(o) => ops.push_str(o),
                    Piece::Text { font, size, x, y, text } => {
                        let i = Font::ALL.iter().position(|f| f == font).unwrap_or(0);
                        used[i] = true;
                        let shown = subsets[i].encode(text);
                        let _ = writeln!(
                            ops,
                            "BT /{} {} Tf {} {} Td {shown} Tj ET",
                            font.resource(),
                            num(*size),
                            num(*x),
                            num(*y)
                        );
                    }
                }
            }
            contents.push((ops, used));
        }
        let mut w = Writer::default();
        // Object numbers: 1 catalog, 2 page tree, 3 info, then 5 per font, then 2 per page.
        let font_base = 4;
        let page_base = font_base + 5 * Font::ALL.len();
        let font_ref = |i: usize| font_base + 5 * i;

        w.object(1, "<< /Type /Catalog /Pages 2 0 R >>");
        let kids: Vec<String> = (0..pages.len()).map(|i| format!("{} 0 R", page_base + 2 * i)).collect();
        w.object(2, &format!("<< /Type /Pages /Kids [{}] /Count {} >>", kids.join(" "), pages.len()));
        w.object(3, &format!("<< /Title {} /Producer (keiyaku) /Creator (keiyaku) >>", hex_utf16_bom(&self.title)));
        for (i, subset) in subsets.iter().enumerate() {
            if subset.is_empty() {
                continue;
            }
            let base = font_ref(i);
            let (cid, desc, file, to_unicode) = (base + 1, base + 2, base + 3, base + 4);
            let o = subset.pdf_objects(cid as u32, desc as u32, file as u32, to_unicode as u32);
            w.object(base, &o.type0);
            w.object(cid, &o.cid_font);
            w.object(desc, &o.descriptor);
            w.stream(file, &format!(" {}", o.font_file_entries), &o.font_file);
            w.stream(to_unicode, "", &o.to_unicode);
        }
        for (i, (page, (ops, used))) in pages.iter().zip(&contents).enumerate() {
            let (obj, content) = (page_base + 2 * i, page_base + 2 * i + 1);
            let fonts: Vec<String> = Font::ALL
                .iter()
                .enumerate()
                .filter(|(j, _)| used[*j])
                .map(|(j, f)| format!("/{} {} 0 R", f.resource(), font_ref(j)))
                .collect();
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
            w.stream(content, "", ops.as_bytes());
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
        assert!(text.contains("+IPAexGothic /Encoding /Identity-H"));
        assert!(text.contains("+IPAexMincho /Encoding /Identity-H"));
        assert!(text.contains("/FontFile2 "));
        assert!(text.contains("/Count 2"));
        // Each xref entry points at its object.
        let xref_at: usize =
            text.rsplit("startxref\n").next().and_then(|t| t.lines().next()).and_then(|n| n.parse().ok()).unwrap_or(0);
        let table = String::from_utf8_lossy(&pdf[xref_at..]);
        let mut objects = 0;
        for (i, line) in table.lines().skip(3).enumerate() {
            if line.starts_with("trailer") {
                break;
            }
            if line.ends_with(" n ") {
                let off: usize = line[..10].parse().unwrap_or(0);
                assert!(pdf[off..].starts_with(format!("{} 0 obj", i + 1).as_bytes()), "object {}", i + 1);
                objects += 1;
            }
        }
        // Catalog, pages, info, two fonts of five objects, two pages of two.
        assert_eq!(objects, 3 + 10 + 4);
        // 請求書 in ゴシック: the first three glyphs of its subset; the ToUnicode maps say
        // which characters they are, a non-BMP character becoming 〓 (U+3013).
        assert!(text.contains("/F2 20 Tf 56 761.89 Td <000100020003> Tj"), "{text}");
        assert!(text.contains("<0001> <8ACB>") && text.contains("> <3013>"));
    }

    #[test]
    fn the_text_reads_back_through_the_embedded_fonts() {
        let doc = lopdf::Document::load_mem(&sample()).expect("lopdf reads it");
        let first = doc.extract_text(&[1]).expect("text");
        assert!(first.contains("請求書") && first.contains("アイテックコンサルタント株式会社"), "{first}");
        assert!(first.contains("¥6,600"), "{first}");
        assert!(doc.extract_text(&[2]).expect("text").contains("2ページ目 〓"));
    }

    #[test]
    fn widths_and_wrapping() {
        assert_eq!(text_width("0", 10.0), 6.18);
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
