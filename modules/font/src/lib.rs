//! The Japanese fonts of keiyaku's PDFs, embedded: IPAex明朝 and IPAexゴシック (IPAexMincho,
//! IPAexGothic, `fonts/`, under the IPA Font License v1.0 whose text is beside them), built
//! into the binary compressed and each opened once, when first used.
//!
//! A PDF never depends on the fonts of the machine that shows it: each text run is measured
//! with the font's own advance widths, encoded as glyph ids (`Identity-H`), and the glyphs a
//! document used are embedded as a subset (a TrueType `CIDFontType2` with a `ToUnicode` map,
//! so text stays searchable and copyable). A character the font lacks is drawn as 〓.
//!
//! Nothing here fails: the fonts are part of the build (the tests open and subset both). Were
//! one unreadable all the same, its text would be written unembedded, still extractable.
//!
//! ```
//! use keiyaku_font::{Subset, Typeface};
//! let mut subset = Subset::new(Typeface::Mincho);
//! let shown = subset.encode("山田 太郎");
//! assert_eq!(shown.len(), 2 + 4 * 5); // <…>, one 4-digit glyph id per character
//! assert!(Typeface::Gothic.width("山田") > 1.9);
//! let objects = subset.pdf_objects(11, 12, 13, 14);
//! assert!(objects.type0.contains("/Identity-H"));
//! ```

#![deny(missing_docs)]

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{Read as _, Write as _};
use std::sync::OnceLock;

use ttf_parser::{Face, GlyphId};

/// The typefaces, as shipped (IPAex fonts 004.01, gzip-compressed).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Typeface {
    /// 明朝体 (serif): IPAexMincho.
    #[default]
    Mincho,
    /// ゴシック体 (sans-serif): IPAexGothic.
    Gothic,
}

struct Shipped {
    gz: &'static [u8],
    name: &'static str,
    /// FontDescriptor flags: symbolic (4), plus serif (2).
    flags: u32,
    data: OnceLock<Option<Vec<u8>>>,
    face: OnceLock<Option<Face<'static>>>,
}

static MINCHO: Shipped = Shipped {
    gz: include_bytes!("../fonts/ipaexm.ttf.gz"),
    name: "IPAexMincho",
    flags: 6,
    data: OnceLock::new(),
    face: OnceLock::new(),
};
static GOTHIC: Shipped = Shipped {
    gz: include_bytes!("../fonts/ipaexg.ttf.gz"),
    name: "IPAexGothic",
    flags: 4,
    data: OnceLock::new(),
    face: OnceLock::new(),
};

impl Typeface {
    fn shipped(self) -> &'static Shipped {
        match self {
            Typeface::Mincho => &MINCHO,
            Typeface::Gothic => &GOTHIC,
        }
    }

    /// The font file, uncompressed once.
    fn data(self) -> Option<&'static [u8]> {
        let s = self.shipped();
        s.data
            .get_or_init(|| {
                let mut out = Vec::with_capacity(8 << 20);
                flate2::read::GzDecoder::new(s.gz).read_to_end(&mut out).ok()?;
                Some(out)
            })
            .as_deref()
    }

    fn face(self) -> Option<&'static Face<'static>> {
        self.shipped().face.get_or_init(|| Face::parse(self.data()?, 0).ok()).as_ref()
    }

    /// The width of `s` in ems, as drawn in this typeface (0 when it cannot be opened).
    pub fn width(self, s: &str) -> f32 {
        let Some(face) = self.face() else { return 0.0 };
        shown(s).map(|c| advance(face, glyph(face, c))).sum::<u32>() as f32 / 1000.0
    }

    /// The width of the character `c` in ems.
    pub fn char_width(self, c: char) -> f32 {
        let Some(face) = self.face() else { return 0.0 };
        advance(face, glyph(face, c)) as f32 / 1000.0
    }
}

/// What a character the font lacks is drawn as.
const MISSING: char = '〓';

/// The glyph drawing `c`: its own, else 〓's, else `.notdef`.
fn glyph(face: &Face<'_>, c: char) -> GlyphId {
    face.glyph_index(c).or_else(|| face.glyph_index(MISSING)).unwrap_or(GlyphId(0))
}

/// Advance width of `g` in thousandths of an em.
fn advance(face: &Face<'_>, g: GlyphId) -> u32 {
    let upem = u32::from(face.units_per_em().max(1));
    (u32::from(face.glyph_hor_advance(g).unwrap_or(0)) * 1000 + upem / 2) / upem
}

/// `v` font units in thousandths of an em.
fn scaled(face: &Face<'_>, v: i16) -> i32 {
    i32::from(v) * 1000 / i32::from(face.units_per_em().max(1))
}

/// The characters of `s` that are drawn (control characters are not).
fn shown(s: &str) -> impl Iterator<Item = char> + '_ {
    s.chars().filter(|c| !c.is_control())
}

/// The glyphs one PDF font resource uses: text is encoded through it, then its objects are
/// written once with exactly those glyphs.
#[derive(Debug)]
pub struct Subset {
    typeface: Typeface,
    face: Option<&'static Face<'static>>,
    remapper: subsetter::GlyphRemapper,
    /// The text each new glyph id stands for (for `ToUnicode`).
    text: BTreeMap<u16, char>,
}

/// The bodies of the four objects of an embedded font, given their object numbers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FontObjects {
    /// The `Type0` font (the resource a content stream names).
    pub type0: String,
    /// Its `CIDFontType2` descendant, with the glyphs' widths.
    pub cid_font: String,
    /// The `FontDescriptor`.
    pub descriptor: String,
    /// The `FontFile2` stream's dictionary entries other than `/Length`.
    pub font_file_entries: String,
    /// The `FontFile2` stream's data (Flate-compressed subset).
    pub font_file: Vec<u8>,
    /// The `ToUnicode` CMap stream's data.
    pub to_unicode: Vec<u8>,
}

impl Subset {
    /// An empty subset of `typeface` (only `.notdef`).
    pub fn new(typeface: Typeface) -> Self {
        Self { typeface, face: typeface.face(), remapper: subsetter::GlyphRemapper::new(), text: BTreeMap::new() }
    }

    /// Whether no text was encoded yet.
    pub fn is_empty(&self) -> bool {
        self.text.is_empty()
    }

    /// `s` as a PDF hex string of glyph ids for `Tj` (the font must be used with
    /// `Identity-H`), adding its glyphs to the subset.
    pub fn encode(&mut self, s: &str) -> String {
        let mut out = String::from("<");
        for c in shown(s) {
            let g = self.face.map_or(GlyphId(0), |f| glyph(f, c));
            let new = self.remapper.remap(g.0);
            let drawn = if self.face.is_none_or(|f| f.glyph_index(c).is_some()) { c } else { MISSING };
            self.text.entry(new).or_insert(drawn);
            let _ = write!(out, "{new:04X}");
        }
        out.push('>');
        out
    }

    /// The font's objects, given the object numbers of the descendant font, the descriptor,
    /// the font file and the `ToUnicode` CMap (the `Type0` font refers to the first and the
    /// last, the descendant to the descriptor, the descriptor to the font file).
    pub fn pdf_objects(&self, cid_font: u32, descriptor: u32, font_file: u32, to_unicode: u32) -> FontObjects {
        let shipped = self.typeface.shipped();
        let flags = shipped.flags;
        let embedded = self.typeface.data().zip(self.face).and_then(|(data, face)| {
            let subset = subsetter::subset(data, 0, &self.remapper).ok()?;
            let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
            z.write_all(&subset).ok()?;
            Some((face, subset.len(), z.finish().ok()?))
        });
        let Some((face, length, compressed)) = embedded else {
            return self.unembedded(cid_font, descriptor, to_unicode);
        };

        let olds: Vec<u16> = self.remapper.remapped_gids().collect();
        let name = format!("{}+{}", tag(&olds), shipped.name);
        let widths: Vec<String> = olds.iter().map(|g| advance(face, GlyphId(*g)).to_string()).collect();
        let type0 = format!(
            "<< /Type /Font /Subtype /Type0 /BaseFont /{name} /Encoding /Identity-H \
             /DescendantFonts [{cid_font} 0 R] /ToUnicode {to_unicode} 0 R >>"
        );
        let cid = format!(
            "<< /Type /Font /Subtype /CIDFontType2 /BaseFont /{name} \
             /CIDSystemInfo << /Registry (Adobe) /Ordering (Identity) /Supplement 0 >> \
             /FontDescriptor {descriptor} 0 R /DW 1000 /W [0 [{}]] /CIDToGIDMap /Identity >>",
            widths.join(" ")
        );
        let bbox = face.global_bounding_box();
        let ascent = scaled(face, face.ascender());
        let descent = scaled(face, face.descender());
        let cap = scaled(face, face.capital_height().unwrap_or(face.ascender()));
        let descriptor_body = format!(
            "<< /Type /FontDescriptor /FontName /{name} /Flags {flags} /FontBBox [{} {} {} {}] /ItalicAngle 0 \
             /Ascent {ascent} /Descent {descent} /CapHeight {cap} /StemV 80 /FontFile2 {font_file} 0 R >>",
            scaled(face, bbox.x_min),
            scaled(face, bbox.y_min),
            scaled(face, bbox.x_max),
            scaled(face, bbox.y_max),
        );
        FontObjects {
            type0,
            cid_font: cid,
            descriptor: descriptor_body,
            font_file_entries: format!("/Length1 {length} /Filter /FlateDecode"),
            font_file: compressed,
            to_unicode: to_unicode_cmap(&self.text).into_bytes(),
        }
    }

    /// The objects when the font cannot be embedded: the text keeps its `ToUnicode` map, the
    /// descriptor names no font file (and the font file stream is empty).
    fn unembedded(&self, cid_font: u32, descriptor: u32, to_unicode: u32) -> FontObjects {
        let name = self.typeface.shipped().name;
        FontObjects {
            type0: format!(
                "<< /Type /Font /Subtype /Type0 /BaseFont /{name} /Encoding /Identity-H \
                 /DescendantFonts [{cid_font} 0 R] /ToUnicode {to_unicode} 0 R >>"
            ),
            cid_font: format!(
                "<< /Type /Font /Subtype /CIDFontType2 /BaseFont /{name} \
                 /CIDSystemInfo << /Registry (Adobe) /Ordering (Identity) /Supplement 0 >> \
                 /FontDescriptor {descriptor} 0 R /DW 1000 /CIDToGIDMap /Identity >>"
            ),
            descriptor: format!(
                "<< /Type /FontDescriptor /FontName /{name} /Flags 4 /FontBBox [0 -120 1000 880] /ItalicAngle 0 \
                 /Ascent 880 /Descent -120 /CapHeight 740 /StemV 80 >>"
            ),
            font_file_entries: String::new(),
            font_file: Vec::new(),
            to_unicode: to_unicode_cmap(&self.text).into_bytes(),
        }
    }
}

/// The subset tag: six capital letters that depend on the glyphs (PDF 32000-1 §9.6.4).
fn tag(glyphs: &[u16]) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for g in glyphs {
        for b in g.to_be_bytes() {
            h = (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3);
        }
    }
    (0..6)
        .map(|i| {
            let letter = ((h >> (i * 10)) % 26) as u8;
            char::from(b'A' + letter)
        })
        .collect()
}

/// The `ToUnicode` CMap: each glyph id to the character it draws.
fn to_unicode_cmap(text: &BTreeMap<u16, char>) -> String {
    let mut s = String::from(
        "/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n\
         /CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n\
         /CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n\
         1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n",
    );
    let entries: Vec<(&u16, &char)> = text.iter().collect();
    for chunk in entries.chunks(100) {
        let _ = writeln!(s, "{} beginbfchar", chunk.len());
        for (g, c) in chunk {
            let mut units = [0u16; 2];
            let utf16: String = c.encode_utf16(&mut units).iter().map(|u| format!("{u:04X}")).collect();
            let _ = writeln!(s, "<{g:04X}> <{utf16}>");
        }
        s.push_str("endbfchar\n");
    }
    s.push_str("endcmap\nCMapName currentdict /CMap defineresource pop\nend\nend\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn widths_come_from_the_font() {
        for t in [Typeface::Mincho, Typeface::Gothic] {
            assert!((t.width("山") - 1.0).abs() < 0.01, "{}", t.width("山"));
            let latin = t.width("i");
            assert!(latin > 0.1 && latin < 0.6, "{latin}");
            assert_eq!(t.width("\u{0}\n"), 0.0);
            assert_eq!(t.char_width('山'), 1.0);
        }
    }

    #[test]
    fn a_subset_holds_only_the_glyphs_used_and_maps_them_back_to_text() {
        let mut s = Subset::new(Typeface::Mincho);
        assert!(s.is_empty());
        let a = s.encode("山田山");
        assert_eq!(a, "<000100020001>");
        let b = s.encode("😀");
        assert_eq!(b, "<0003>");
        let o = s.pdf_objects(2, 3, 4, 5);
        assert!(o.cid_font.contains("/W [0 ["), "{}", o.cid_font);
        let cmap = String::from_utf8(o.to_unicode.clone()).expect("utf8");
        assert!(cmap.contains("<0001> <5C71>") && cmap.contains("<0002> <7530>") && cmap.contains("<0003> <3013>"));
        // The embedded subset is a fraction of the font and parses as a font again.
        let mut raw = Vec::new();
        flate2::read::ZlibDecoder::new(&o.font_file[..]).read_to_end(&mut raw).expect("inflate");
        assert!(raw.len() < 64 * 1024, "{} bytes", raw.len());
        assert!(o.font_file_entries.contains(&format!("/Length1 {}", raw.len())));
        let sub = Face::parse(&raw, 0).expect("subset parses");
        assert_eq!(sub.number_of_glyphs(), 4);
        // The tag names the subset.
        let name = o.type0.split("/BaseFont /").nth(1).and_then(|r| r.split(' ').next()).expect("name");
        assert_eq!(name.len(), 6 + 1 + "IPAexMincho".len());
        assert!(name[..6].bytes().all(|b| b.is_ascii_uppercase()) && name.ends_with("+IPAexMincho"));
    }

    #[test]
    fn gothic_is_its_own_font() {
        let mut s = Subset::new(Typeface::Gothic);
        s.encode("契約");
        let o = s.pdf_objects(2, 3, 4, 5);
        assert!(o.type0.contains("+IPAexGothic /Encoding"), "{}", o.type0);
        assert!(o.descriptor.contains("/Flags 4 "), "{}", o.descriptor);
    }
}
