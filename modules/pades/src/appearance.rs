//! The visible stamp: a red seal (印影) drawn with vector graphics and text, plus label lines.
//!
//! Text is set in the embedded font of [`keiyaku_font`]: measured with its widths and drawn
//! with only the glyphs used, so the stamp looks the same in every viewer.

use keiyaku_font::{Subset, Typeface};
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

fn text_width(s: &str) -> f32 {
    Typeface::Mincho.width(s)
}

/// Fixed-precision number for content streams.
pub(crate) fn num(v: f32) -> String {
    let v = if v.is_finite() { v } else { 0.0 };
    let s = format!("{v:.3}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" || s.is_empty() { "0".to_string() } else { s.to_string() }
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
    /// the font resource `/F1`, whose glyphs `font` collects.
    pub(crate) fn content(&self, w: f32, h: f32, font: &mut Subset) -> String {
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
            Some(date) => self.date_seal(&mut out, font, cx, cy, d, inner, lw, date),
            None => self.name_seal(&mut out, font, cx, cy, inner),
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
                text(&mut out, font, x0, y, size, l);
            }
            out.push_str("Q\n");
        }
        out
    }

    fn name_seal(&self, out: &mut String, font: &mut Subset, cx: f32, cy: f32, inner: f32) {
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
                text(out, font, cx - text_width(&s) * size / 2.0, baseline, size, &s);
            }
        } else {
            let s: String = chars.iter().collect();
            let tw = text_width(&s);
            let size = (usable / tw.max(0.1)).min(inner * 1.1);
            text(out, font, cx - tw * size / 2.0, cy - size * 0.35, size, &s);
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn date_seal(
        &self,
        out: &mut String,
        font: &mut Subset,
        cx: f32,
        cy: f32,
        d: f32,
        inner: f32,
        lw: f32,
        date: &str,
    ) {
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
        text(out, font, cx - text_width(top) * size / 2.0, cy + band + d * 0.05, size, top);
        // Middle: the date.
        let tw = text_width(date).max(0.1);
        let size = (band * 2.0 * 0.75).min(half_chord(band) * 2.0 * 0.88 / tw);
        text(out, font, cx - tw * size / 2.0, cy - size * 0.36, size, date);
        // Bottom: the surname.
        let name: String = self.seal.chars.iter().filter(|c| !c.is_control()).take(6).collect();
        let tw = text_width(&name);
        if tw > 0.0 {
            let size = (d * 0.17).min(half_chord(band + d * 0.2) * 2.0 * 0.9 / tw);
            text(out, font, cx - tw * size / 2.0, cy - band - d * 0.05 - size * 0.8, size, &name);
        }
    }
}

fn text(out: &mut String, font: &mut Subset, x: f32, y: f32, size: f32, s: &str) {
    let _ = writeln!(out, "BT /F1 {} Tf {} {} Td {} Tj ET", num(size), num(x), num(y), font.encode(s));
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
        let mut font = Subset::new(Typeface::Mincho);
        let c = a.content(w, h, &mut font);
        assert!(c.contains("0.824 0.137 0.165 RG"));
        // 山 and 田 (the seal, top to bottom), then the label's glyphs.
        assert!(c.contains("<0001> Tj") && c.contains("<0002> Tj"), "{c}");
        assert!(c.contains("<00010002000300040005> Tj"), "{c}");
        assert_eq!(c.matches(" c\n").count(), 4);
    }

    #[test]
    fn date_seal_and_odd_input_do_not_panic() {
        let a = Appearance {
            rect: Some([0.0, 0.0, 0.0, f32::NAN]),
            seal: Seal { chars: vec!['\u{0}', '😀'], vertical: false, date: Some("26.11.25".into()) },
            ..Default::default()
        };
        let mut font = Subset::new(Typeface::Mincho);
        let c = a.content(10.0, 10.0, &mut font);
        // 電子契約 on top of the date seal.
        assert!(c.contains("<0001000200030004> Tj"), "{c}");
        assert!(!c.contains("NaN") && !c.contains("inf"));
    }
}
