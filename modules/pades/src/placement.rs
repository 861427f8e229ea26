//! Where a visible stamp may go: the areas a page's content and annotations occupy
//! ([`occupied`]), and spots of a given size clear of them ([`free_spots`]).
//!
//! Rectangles are `[x, y, width, height]` in points, `x` and `y` of the top-left corner
//! measured from the top-left corner of the page box (CropBox, else MediaBox), as
//! [`crate::Appearance::rect`] takes them.
//!
//! The content is interpreted only as far as geometry goes (text and graphics state, paths,
//! images, form XObjects), with a bound on the operators run, so a hostile file costs a
//! bounded amount of work; what cannot be read is left out rather than failing.

use std::collections::HashMap;
use std::rc::Rc;

use lopdf::content::{Content, Operation};
use lopdf::{Dictionary, Document, Object, ObjectId};

use crate::PadesError;
use crate::pdf::{as_rect, deref, dict_deref, load, page_box, pages};

/// Most content operators interpreted per page, form XObjects included.
const MAX_OPERATIONS: usize = 200_000;
/// Most bytes of content (decompressed) read per page, form XObjects included.
const MAX_CONTENT_BYTES: usize = 64 << 20;
/// Deepest form XObject nesting followed; deeper forms count as their BBox.
const MAX_FORM_DEPTH: usize = 8;
/// Deepest `q` nesting kept (deeper saves are not restored separately).
const MAX_SAVE_DEPTH: usize = 256;
/// Entries of a `/Widths` or `/W` array read.
const MAX_WIDTH_ENTRIES: usize = 65_536;
/// A painted path covering this share of the page is its background, not content.
const BACKGROUND_SHARE: f32 = 0.9;
/// Clearance kept between a spot and the occupied areas, and between spots.
const GAP: f32 = 4.0;
/// Candidate spots lie on a grid of this pitch (points), finer pitches are not tried.
const STEP: f32 = 6.0;
/// Most candidate positions along one side of the page.
const MAX_STEPS: f32 = 500.0;
/// Most raster cells along one side of the page (occupancy is rastered to answer overlap
/// queries in constant time).
const MAX_CELLS: f32 = 1000.0;
/// Most spots asked of [`free_spots`].
const MAX_SPOTS: usize = 64;

/// The areas in use on page `page` (from 0): the box of every text showing operator, every
/// painted path (but a page-sized background), image and form XObject content, and every
/// annotation's `/Rect` (earlier stamps and reserved signature fields). Each is clipped to
/// the page box; areas outside it are left out.
pub fn occupied(pdf: &[u8], page: usize) -> Result<Vec<[f32; 4]>, PadesError> {
    let doc = load(pdf)?;
    Ok(page_areas(&doc, page)?.areas)
}

/// `count` spots of `size` (width, height) on page `page` (from 0), each inside the page
/// less `margin`, clear of every [`occupied`] area and of each other by a small gap; the
/// first spot is the one nearest the bottom-right corner, the next ones to its left, then a
/// row up. When no clear spot is left, the spot overlapping the least occupied area is
/// taken (spots still avoid each other where the page has room).
pub fn free_spots(
    pdf: &[u8],
    page: usize,
    size: (f32, f32),
    count: usize,
    margin: f32,
) -> Result<Vec<[f32; 4]>, PadesError> {
    let (sw, sh) = size;
    if !(sw.is_finite() && sh.is_finite() && sw > 0.0 && sh > 0.0) {
        return Err(PadesError::Invalid("the stamp size must be positive".into()));
    }
    if !(margin.is_finite() && margin >= 0.0) {
        return Err(PadesError::Invalid("the margin must not be negative".into()));
    }
    if count > MAX_SPOTS {
        return Err(PadesError::Invalid(format!("at most {MAX_SPOTS} spots are placed at once")));
    }
    let doc = load(pdf)?;
    let found = page_areas(&doc, page)?;
    let raster = Raster::new(found.width, found.height, &found.areas);
    let xs = positions(found.width, sw, margin);
    let ys = positions(found.height, sh, margin);
    let mut spots: Vec<[f32; 4]> = Vec::with_capacity(count);
    for _ in 0..count {
        let mut best: Option<(Rank, [f32; 4])> = None;
        'scan: for &y in &ys {
            for &x in &xs {
                let spot = [x, y, sw, sh];
                let shared: f32 = spots.iter().map(|s| intersection(&inflate(s, GAP), &spot)).sum();
                let clear = raster.covered(&inflate(&spot, GAP)) == 0;
                let key = (shared > 0.0, !clear, raster.covered(&spot), shared.ceil() as u64);
                if best.is_none_or(|(b, _)| key < b) {
                    best = Some((key, spot));
                    if key == (false, false, 0, 0) {
                        break 'scan;
                    }
                }
            }
        }
        match best {
            Some((_, spot)) => spots.push(spot),
            None => break,
        }
    }
    Ok(spots)
}

/// How good a candidate spot is, lower first: whether it overlaps a spot already taken,
/// whether it is not clear of the occupied areas, the occupied cells under it, and the area
/// it shares with the spots taken.
type Rank = (bool, bool, u64, u64);

/// A page's size and occupied areas.
struct PageAreas {
    width: f32,
    height: f32,
    areas: Vec<[f32; 4]>,
}

fn page_areas(doc: &Document, page: usize) -> Result<PageAreas, PadesError> {
    let page_id = *pages(doc).get(page).ok_or(PadesError::NoSuchPage(page))?;
    let dict = doc.get_dictionary(page_id).map_err(|_| PadesError::NoSuchPage(page))?;
    let pbox = page_box(doc, dict);
    let mut device: Vec<[f32; 4]> = Vec::new();
    let content = doc.get_page_content_with_limit(page_id, MAX_CONTENT_BYTES).unwrap_or_default();
    let resources = inherited(doc, dict, b"Resources").and_then(|r| r.as_dict().ok());
    let mut run = Interpreter {
        doc,
        page: pbox,
        budget: MAX_OPERATIONS,
        bytes: MAX_CONTENT_BYTES.saturating_sub(content.len()),
        fonts: HashMap::new(),
        forms: HashMap::new(),
        out: &mut device,
    };
    // lopdf's parser is not expected to panic; if it does, what was found so far stands.
    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let ops = run.decode(&content);
        run.run(&ops, resources, IDENTITY, 0);
    }));
    device.extend(annotation_rects(doc, dict));
    let [llx, lly, urx, ury] = pbox;
    let areas = device
        .into_iter()
        .filter_map(|[x0, y0, x1, y1]| {
            let (x0, y0, x1, y1) = (x0.max(llx), y0.max(lly), x1.min(urx), y1.min(ury));
            (x0 < x1 && y0 < y1).then_some([x0 - llx, ury - y1, x1 - x0, y1 - y0])
        })
        .collect();
    Ok(PageAreas { width: (urx - llx).max(1.0), height: (ury - lly).max(1.0), areas })
}

/// A page attribute, inherited through /Parent.
fn inherited<'a>(doc: &'a Document, page: &'a Dictionary, key: &[u8]) -> Option<&'a Object> {
    let mut node = page;
    for _ in 0..64 {
        if let Ok(v) = node.get(key) {
            return deref(doc, v);
        }
        node = node.get(b"Parent").ok().and_then(|p| dict_deref(doc, p))?;
    }
    None
}

/// The `/Rect` of each annotation of the page (popups, shown only when opened, aside).
fn annotation_rects(doc: &Document, page: &Dictionary) -> Vec<[f32; 4]> {
    let Some(annots) = page.get(b"Annots").ok().and_then(|a| deref(doc, a)).and_then(|a| a.as_array().ok()) else {
        return Vec::new();
    };
    annots
        .iter()
        .take(MAX_WIDTH_ENTRIES)
        .filter_map(|a| dict_deref(doc, a))
        .filter(|a| a.get(b"Subtype").and_then(Object::as_name).ok() != Some(b"Popup".as_slice()))
        .filter_map(|a| as_rect(doc, a.get(b"Rect").ok()?))
        .collect()
}

/// `[a b c d e f]`: x' = a·x + c·y + e, y' = b·x + d·y + f.
type Matrix = [f32; 6];
const IDENTITY: Matrix = [1.0, 0.0, 0.0, 1.0, 0.0, 0.0];

/// `m` then `n`.
fn mul(m: &Matrix, n: &Matrix) -> Matrix {
    [
        m[0] * n[0] + m[1] * n[2],
        m[0] * n[1] + m[1] * n[3],
        m[2] * n[0] + m[3] * n[2],
        m[2] * n[1] + m[3] * n[3],
        m[4] * n[0] + m[5] * n[2] + n[4],
        m[4] * n[1] + m[5] * n[3] + n[5],
    ]
}

fn translate(tx: f32, ty: f32) -> Matrix {
    [1.0, 0.0, 0.0, 1.0, tx, ty]
}

fn apply(m: &Matrix, x: f32, y: f32) -> (f32, f32) {
    (m[0] * x + m[2] * y + m[4], m[1] * x + m[3] * y + m[5])
}

/// The bounding box (`[llx lly urx ury]`) of `[x0 y0 x1 y1]` under `m`.
fn transformed(m: &Matrix, [x0, y0, x1, y1]: [f32; 4]) -> [f32; 4] {
    let mut b = Bounds::default();
    for (x, y) in [(x0, y0), (x1, y0), (x0, y1), (x1, y1)] {
        let (x, y) = apply(m, x, y);
        b.add(x, y);
    }
    b.get().unwrap_or([0.0; 4])
}

/// A growing bounding box.
#[derive(Debug, Clone, Copy, Default)]
struct Bounds(Option<[f32; 4]>);

impl Bounds {
    fn add(&mut self, x: f32, y: f32) {
        if !(x.is_finite() && y.is_finite()) {
            return;
        }
        self.0 = Some(match self.0 {
            Some([x0, y0, x1, y1]) => [x0.min(x), y0.min(y), x1.max(x), y1.max(y)],
            None => [x, y, x, y],
        });
    }

    fn get(self) -> Option<[f32; 4]> {
        self.0
    }
}

/// What a font tells about the size of its glyphs (in text space units per unit of font size).
#[derive(Debug, Clone)]
struct Font {
    /// Type0: two-byte codes, widths from /W and /DW.
    two_byte: bool,
    first_char: i64,
    widths: Vec<f32>,
    /// Width of codes outside `widths` (simple fonts) or absent from `/W` (Type0, `/DW`).
    default_width: f32,
    /// Type0: `(first, last, width)` ranges from `/W`.
    ranges: Vec<(u32, u32, f32)>,
    ascent: f32,
    descent: f32,
}

impl Font {
    /// A font nothing is known of: 0.6 em per byte.
    fn unknown() -> Self {
        Font {
            two_byte: false,
            first_char: 0,
            widths: Vec::new(),
            default_width: 0.6,
            ranges: Vec::new(),
            ascent: 0.95,
            descent: -0.3,
        }
    }

    fn read(doc: &Document, font: &Dictionary) -> Self {
        let num = |o: &Object| deref(doc, o).and_then(|o| o.as_float().ok()).filter(|v| v.is_finite());
        let subtype = font.get(b"Subtype").and_then(Object::as_name).unwrap_or_default();
        let mut out = Font::unknown();
        let (descriptor_of, scale) = if subtype == b"Type0" {
            out.two_byte = true;
            out.default_width = 1.0;
            let descendant = entry(doc, font, b"DescendantFonts")
                .and_then(|d| d.as_array().ok())
                .and_then(|d| d.first())
                .and_then(|d| dict_deref(doc, d));
            if let Some(cid) = descendant {
                if let Some(dw) = entry(doc, cid, b"DW").and_then(num) {
                    out.default_width = dw / 1000.0;
                }
                if let Some(w) = entry(doc, cid, b"W").and_then(|w| w.as_array().ok()) {
                    out.ranges = cid_widths(doc, w);
                }
            }
            (descendant, 0.001)
        } else {
            // Type 3 glyph space maps to text space by /FontMatrix, the others by 1/1000.
            let scale = if subtype == b"Type3" {
                entry(doc, font, b"FontMatrix")
                    .and_then(|m| m.as_array().ok())
                    .and_then(|m| m.first())
                    .and_then(num)
                    .map(f32::abs)
                    .unwrap_or(0.001)
            } else {
                0.001
            };
            if let Some(widths) = entry(doc, font, b"Widths").and_then(|w| w.as_array().ok()) {
                out.first_char = entry(doc, font, b"FirstChar").and_then(|f| f.as_i64().ok()).unwrap_or(0);
                out.widths = widths.iter().take(MAX_WIDTH_ENTRIES).map(|w| num(w).unwrap_or(0.0) * scale).collect();
                let missing = entry(doc, font, b"FontDescriptor")
                    .and_then(|d| d.as_dict().ok())
                    .and_then(|d| entry(doc, d, b"MissingWidth"))
                    .and_then(num)
                    .filter(|w| *w > 0.0);
                if let Some(m) = missing {
                    out.default_width = m * scale;
                }
            }
            (Some(font), scale)
        };
        if subtype != b"Type3"
            && let Some(desc) =
                descriptor_of.and_then(|f| entry(doc, f, b"FontDescriptor")).and_then(|d| d.as_dict().ok())
        {
            if let Some(a) = entry(doc, desc, b"Ascent").and_then(num) {
                out.ascent = (a * scale).clamp(0.5, 1.2);
            }
            if let Some(d) = entry(doc, desc, b"Descent").and_then(num) {
                out.descent = (d * scale).clamp(-0.6, 0.0);
            }
        }
        out
    }

    /// The width of code `code` (text space units per unit of font size).
    fn width(&self, code: u32) -> f32 {
        if self.two_byte {
            return self.ranges.iter().find(|(a, b, _)| (*a..=*b).contains(&code)).map_or(self.default_width, |r| r.2);
        }
        if self.widths.is_empty() {
            return self.default_width;
        }
        usize::try_from(i64::from(code) - self.first_char)
            .ok()
            .and_then(|i| self.widths.get(i))
            .copied()
            .unwrap_or(self.default_width)
    }
}

/// `d[key]`, dereferenced.
fn entry<'d>(doc: &'d Document, d: &'d Dictionary, key: &[u8]) -> Option<&'d Object> {
    d.get(key).ok().and_then(|o| deref(doc, o))
}

/// The `/W` array of a CID font: `c [w1 w2 …]` and `c_first c_last w` entries.
fn cid_widths(doc: &Document, w: &[Object]) -> Vec<(u32, u32, f32)> {
    let num = |o: &Object| deref(doc, o).and_then(|o| o.as_float().ok()).filter(|v| v.is_finite());
    let code = |o: &Object| deref(doc, o).and_then(|o| o.as_i64().ok()).and_then(|c| u32::try_from(c).ok());
    let mut out = Vec::new();
    let mut i = 0;
    while i < w.len() && out.len() < MAX_WIDTH_ENTRIES {
        let Some(first) = code(&w[i]) else { break };
        match w.get(i + 1).and_then(|o| deref(doc, o)) {
            Some(Object::Array(list)) => {
                for (k, v) in list.iter().take(MAX_WIDTH_ENTRIES).enumerate() {
                    let c = first.saturating_add(k as u32);
                    out.push((c, c, num(v).unwrap_or(0.0) / 1000.0));
                }
                i += 2;
            }
            Some(last) => {
                let (Some(last), Some(width)) = (code(last), w.get(i + 2).and_then(num)) else { break };
                out.push((first, last, width / 1000.0));
                i += 3;
            }
            None => break,
        }
    }
    out
}

/// The graphics and text state parameters `q`/`Q` save.
#[derive(Debug, Clone)]
struct State {
    ctm: Matrix,
    font: Rc<Font>,
    size: f32,
    char_spacing: f32,
    word_spacing: f32,
    /// `Tz` / 100.
    scale: f32,
    leading: f32,
    rise: f32,
    line_width: f32,
}

impl State {
    fn new(ctm: Matrix) -> Self {
        State {
            ctm,
            font: Rc::new(Font::unknown()),
            size: 0.0,
            char_spacing: 0.0,
            word_spacing: 0.0,
            scale: 1.0,
            leading: 0.0,
            rise: 0.0,
            line_width: 1.0,
        }
    }
}

struct Interpreter<'a, 'o> {
    doc: &'a Document,
    /// The page box, `[llx lly urx ury]`.
    page: [f32; 4],
    /// Operators left to interpret.
    budget: usize,
    /// Content bytes left to read (form XObjects).
    bytes: usize,
    /// Fonts read, by the address of their dictionary in `doc`.
    fonts: HashMap<usize, Rc<Font>>,
    /// Form XObjects decoded.
    forms: HashMap<ObjectId, Rc<Vec<Operation>>>,
    /// Areas found, `[llx lly urx ury]` in default user space.
    out: &'o mut Vec<[f32; 4]>,
}

impl Interpreter<'_, '_> {
    /// The operators of `content`, as far as they parse and the budget goes.
    fn decode(&self, content: &[u8]) -> Vec<Operation> {
        Content::decode_iter(content).map_while(Result::ok).take(self.budget).collect()
    }

    fn font(&mut self, resources: Option<&Dictionary>, name: &[u8]) -> Rc<Font> {
        let doc = self.doc;
        let Some(dict) = resources
            .and_then(|r| r.get(b"Font").ok())
            .and_then(|g| dict_deref(doc, g))
            .and_then(|g| g.get(name).ok())
            .and_then(|f| dict_deref(doc, f))
        else {
            return Rc::new(Font::unknown());
        };
        let key = dict as *const Dictionary as usize;
        self.fonts.entry(key).or_insert_with(|| Rc::new(Font::read(doc, dict))).clone()
    }

    /// Records `area` (default user space), unless it is empty or not finite.
    fn emit(&mut self, area: [f32; 4], clip: Option<[f32; 4]>) {
        let [mut x0, mut y0, mut x1, mut y1] = area;
        if let Some([cx0, cy0, cx1, cy1]) = clip {
            (x0, y0, x1, y1) = (x0.max(cx0), y0.max(cy0), x1.min(cx1), y1.min(cy1));
        }
        if area.iter().all(|v| v.is_finite()) && x0 < x1 && y0 < y1 {
            self.out.push([x0, y0, x1, y1]);
        }
    }

    /// Whether `area` covers most of the page: a background.
    fn is_background(&self, [x0, y0, x1, y1]: [f32; 4]) -> bool {
        let [px0, py0, px1, py1] = self.page;
        let page = (px1 - px0) * (py1 - py0);
        let w = (x1.min(px1) - x0.max(px0)).max(0.0);
        let h = (y1.min(py1) - y0.max(py0)).max(0.0);
        page > 0.0 && w * h >= BACKGROUND_SHARE * page
    }

    /// Interprets `ops` with `resources` from `ctm`; areas are clipped to `clip` (a form's BBox).
    fn run(&mut self, ops: &[Operation], resources: Option<&Dictionary>, ctm: Matrix, depth: usize) {
        self.run_clipped(ops, resources, ctm, depth, None);
    }

    fn run_clipped(
        &mut self,
        ops: &[Operation],
        resources: Option<&Dictionary>,
        ctm: Matrix,
        depth: usize,
        clip: Option<[f32; 4]>,
    ) {
        let mut gs = State::new(ctm);
        let mut saved: Vec<State> = Vec::new();
        let mut tm = IDENTITY;
        let mut tlm = IDENTITY;
        let mut path = Bounds::default();
        for op in ops {
            if self.budget == 0 {
                return;
            }
            self.budget -= 1;
            let n = numbers(&op.operands);
            match (op.operator.as_str(), n.as_slice()) {
                ("q", _) if saved.len() < MAX_SAVE_DEPTH => saved.push(gs.clone()),
                ("Q", _) => gs = saved.pop().unwrap_or(gs),
                ("cm", &[a, b, c, d, e, f]) => gs.ctm = mul(&[a, b, c, d, e, f], &gs.ctm),
                ("w", &[w]) => gs.line_width = w.abs(),
                // Text state.
                ("BT", _) => {
                    tm = IDENTITY;
                    tlm = IDENTITY;
                }
                ("Tf", _) => {
                    if let [Object::Name(name), size] = op.operands.as_slice() {
                        gs.font = self.font(resources, name);
                        gs.size = size.as_float().unwrap_or(0.0);
                    }
                }
                ("Tc", &[v]) => gs.char_spacing = v,
                ("Tw", &[v]) => gs.word_spacing = v,
                ("Tz", &[v]) => gs.scale = v / 100.0,
                ("TL", &[v]) => gs.leading = v,
                ("Ts", &[v]) => gs.rise = v,
                ("Td", &[tx, ty]) => {
                    tlm = mul(&translate(tx, ty), &tlm);
                    tm = tlm;
                }
                ("TD", &[tx, ty]) => {
                    gs.leading = -ty;
                    tlm = mul(&translate(tx, ty), &tlm);
                    tm = tlm;
                }
                ("Tm", &[a, b, c, d, e, f]) => {
                    tlm = [a, b, c, d, e, f];
                    tm = tlm;
                }
                ("T*", _) => {
                    tlm = mul(&translate(0.0, -gs.leading), &tlm);
                    tm = tlm;
                }
                // Text showing.
                ("Tj", _) | ("'", _) | ("\"", _) | ("TJ", _) => {
                    let parts: &[Object] = match op.operator.as_str() {
                        "'" | "Tj" => op.operands.get(..1).unwrap_or_default(),
                        "\"" => {
                            if let [aw, ac] = numbers(op.operands.get(..2).unwrap_or_default()).as_slice() {
                                gs.word_spacing = *aw;
                                gs.char_spacing = *ac;
                            }
                            op.operands.get(2..3).unwrap_or_default()
                        }
                        _ => match op.operands.first() {
                            Some(Object::Array(items)) => items,
                            _ => &[],
                        },
                    };
                    if matches!(op.operator.as_str(), "'" | "\"") {
                        tlm = mul(&translate(0.0, -gs.leading), &tlm);
                        tm = tlm;
                    }
                    let (lo, hi, advance) = show(&gs, parts);
                    if hi > lo {
                        let (d, a) = (gs.font.descent * gs.size, gs.font.ascent * gs.size);
                        let box_ = [lo, gs.rise + d.min(a), hi, gs.rise + d.max(a)];
                        let area = transformed(&mul(&tm, &gs.ctm), box_);
                        self.emit(area, clip);
                    }
                    tm = mul(&translate(advance, 0.0), &tm);
                }
                // Path construction.
                ("m", &[x, y]) | ("l", &[x, y]) => {
                    let (x, y) = apply(&gs.ctm, x, y);
                    path.add(x, y);
                }
                ("c", &[x1, y1, x2, y2, x3, y3]) => {
                    for (x, y) in [(x1, y1), (x2, y2), (x3, y3)] {
                        let (x, y) = apply(&gs.ctm, x, y);
                        path.add(x, y);
                    }
                }
                ("v", &[x1, y1, x2, y2]) | ("y", &[x1, y1, x2, y2]) => {
                    for (x, y) in [(x1, y1), (x2, y2)] {
                        let (x, y) = apply(&gs.ctm, x, y);
                        path.add(x, y);
                    }
                }
                ("re", &[x, y, w, h]) => {
                    for (x, y) in [(x, y), (x + w, y), (x, y + h), (x + w, y + h)] {
                        let (x, y) = apply(&gs.ctm, x, y);
                        path.add(x, y);
                    }
                }
                ("n", _) => path = Bounds::default(),
                ("S" | "s" | "f" | "F" | "f*" | "B" | "B*" | "b" | "b*", _) => {
                    if let Some(area) = path.get() {
                        let stroked = !matches!(op.operator.as_str(), "f" | "F" | "f*");
                        let half = if stroked {
                            let [a, b, c, d, ..] = gs.ctm;
                            (gs.line_width * (a * d - b * c).abs().sqrt()).max(1.0) / 2.0
                        } else {
                            0.0
                        };
                        let area = [area[0] - half, area[1] - half, area[2] + half, area[3] + half];
                        if !self.is_background(area) {
                            self.emit(area, clip);
                        }
                    }
                    path = Bounds::default();
                }
                // Images and forms.
                ("BI", _) => self.emit(transformed(&gs.ctm, [0.0, 0.0, 1.0, 1.0]), clip),
                ("Do", _) => {
                    if let Some(Object::Name(name)) = op.operands.first() {
                        self.xobject(resources, name, &gs.ctm, depth, clip);
                    }
                }
                _ => {}
            }
        }
    }

    /// `Do`: an image is its unit square, a form its content (clipped to its BBox) or, when
    /// that cannot be read, its BBox.
    fn xobject(
        &mut self,
        resources: Option<&Dictionary>,
        name: &[u8],
        ctm: &Matrix,
        depth: usize,
        clip: Option<[f32; 4]>,
    ) {
        let doc = self.doc;
        let Some(obj) = resources
            .and_then(|r| r.get(b"XObject").ok())
            .and_then(|g| dict_deref(doc, g))
            .and_then(|g| g.get(name).ok())
        else {
            return;
        };
        let id = obj.as_reference().ok();
        let Some(stream) = deref(doc, obj).and_then(|o| o.as_stream().ok()) else { return };
        let dict = &stream.dict;
        let subtype = dict.get(b"Subtype").and_then(Object::as_name).unwrap_or_default();
        if subtype == b"Image" {
            let area = transformed(ctm, [0.0, 0.0, 1.0, 1.0]);
            self.emit(area, clip);
            return;
        }
        if subtype != b"Form" {
            return;
        }
        let matrix = dict
            .get(b"Matrix")
            .ok()
            .and_then(|m| deref(doc, m))
            .and_then(|m| m.as_array().ok())
            .map(|m| numbers(m))
            .and_then(|m| <[f32; 6]>::try_from(m).ok())
            .unwrap_or(IDENTITY);
        let ctm = mul(&matrix, ctm);
        let Some(bbox) = dict.get(b"BBox").ok().and_then(|b| as_rect(doc, b)) else { return };
        let mut bounds = transformed(&ctm, bbox);
        if let Some([cx0, cy0, cx1, cy1]) = clip {
            bounds = [bounds[0].max(cx0), bounds[1].max(cy0), bounds[2].min(cx1), bounds[3].min(cy1)];
        }
        let ops = match id {
            Some(id) if depth < MAX_FORM_DEPTH => match self.forms.get(&id) {
                Some(ops) => Some(ops.clone()),
                None => {
                    let content = stream.decompressed_content_with_limit(self.bytes).ok().or_else(|| {
                        (stream.dict.get(b"Filter").is_err() && stream.content.len() <= self.bytes)
                            .then(|| stream.content.clone())
                    });
                    content.map(|content| {
                        self.bytes = self.bytes.saturating_sub(content.len());
                        let ops = Rc::new(self.decode(&content));
                        self.forms.insert(id, ops.clone());
                        ops
                    })
                }
            },
            _ => None,
        };
        match ops {
            Some(ops) => {
                let own = dict.get(b"Resources").ok().and_then(|r| dict_deref(doc, r));
                self.run_clipped(&ops, own.or(resources), ctm, depth + 1, Some(bounds));
            }
            None => {
                if !self.is_background(bounds) {
                    self.emit(bounds, None);
                }
            }
        }
    }
}

/// The numeric operands (all of them, or none when one is not a finite number).
fn numbers(operands: &[Object]) -> Vec<f32> {
    let mut out = Vec::with_capacity(operands.len());
    for o in operands {
        match o.as_float() {
            Ok(v) if v.is_finite() => out.push(v),
            _ => return Vec::new(),
        }
    }
    out
}

/// The horizontal extent `(lo, hi)` in text space of the glyphs of `parts` (strings, and
/// numbers that move the next glyph), and the total advance.
fn show(gs: &State, parts: &[Object]) -> (f32, f32, f32) {
    let font = &gs.font;
    let (mut x, mut lo, mut hi) = (0.0f32, f32::INFINITY, f32::NEG_INFINITY);
    for part in parts {
        match part {
            Object::String(bytes, _) => {
                let mut glyph = |code: u32, single_space: bool| {
                    let w = font.width(code) * gs.size;
                    let spacing = gs.char_spacing + if single_space { gs.word_spacing } else { 0.0 };
                    let next = x + (w + spacing) * gs.scale;
                    let end = x + w * gs.scale;
                    lo = lo.min(x.min(end));
                    hi = hi.max(x.max(end));
                    x = next;
                };
                if font.two_byte {
                    for pair in bytes.chunks(2) {
                        let code = pair.iter().fold(0u32, |c, b| (c << 8) | u32::from(*b));
                        glyph(code, false);
                    }
                } else {
                    for &b in bytes {
                        glyph(u32::from(b), b == b' ');
                    }
                }
            }
            other => {
                if let Ok(v) = other.as_float()
                    && v.is_finite()
                {
                    x -= v / 1000.0 * gs.size * gs.scale;
                }
            }
        }
    }
    if !(lo.is_finite() && hi.is_finite() && x.is_finite()) {
        return (0.0, 0.0, if x.is_finite() { x } else { 0.0 });
    }
    (lo, hi, x)
}

/// `r` grown by `by` on every side (`[x, y, w, h]`).
fn inflate(r: &[f32; 4], by: f32) -> [f32; 4] {
    [r[0] - by, r[1] - by, r[2] + 2.0 * by, r[3] + 2.0 * by]
}

/// The area `a` and `b` (`[x, y, w, h]`) share.
fn intersection(a: &[f32; 4], b: &[f32; 4]) -> f32 {
    let w = (a[0] + a[2]).min(b[0] + b[2]) - a[0].max(b[0]);
    let h = (a[1] + a[3]).min(b[1] + b[3]) - a[1].max(b[1]);
    if w > 0.0 && h > 0.0 { w * h } else { 0.0 }
}

/// The candidate positions along a side of `length` for an extent of `size`, the far end
/// first: from `length - margin - size` down to `margin`; centred when it does not fit.
fn positions(length: f32, size: f32, margin: f32) -> Vec<f32> {
    let (lo, hi) = (margin, length - margin - size);
    if hi < lo {
        return vec![((length - size) / 2.0).max(0.0)];
    }
    let step = STEP.max((hi - lo) / MAX_STEPS);
    let mut out: Vec<f32> = (0..).map(|k| hi - k as f32 * step).take_while(|v| *v > lo).collect();
    out.push(lo);
    out
}

/// Which cells of a page raster some occupied area touches, as a summed-area table.
struct Raster {
    cell: f32,
    nx: usize,
    ny: usize,
    /// `(ny + 1) × (nx + 1)`: covered cells above and left of each corner.
    sat: Vec<u32>,
}

impl Raster {
    fn new(width: f32, height: f32, areas: &[[f32; 4]]) -> Self {
        let cell = (width.max(height) / MAX_CELLS).max(1.0);
        let nx = (width / cell).ceil().clamp(1.0, MAX_CELLS + 1.0) as usize;
        let ny = (height / cell).ceil().clamp(1.0, MAX_CELLS + 1.0) as usize;
        let stride = nx + 1;
        // Coverage counts by a 2-D difference array, then their prefix sums.
        let mut diff = vec![0i32; stride * (ny + 1)];
        for a in areas {
            let Some([x0, y0, x1, y1]) = cells(cell, nx, ny, a) else { continue };
            diff[y0 * stride + x0] += 1;
            diff[y0 * stride + x1] -= 1;
            diff[y1 * stride + x0] -= 1;
            diff[y1 * stride + x1] += 1;
        }
        for y in 0..=ny {
            for x in 1..=nx {
                diff[y * stride + x] += diff[y * stride + x - 1];
            }
        }
        for y in 1..=ny {
            for x in 0..=nx {
                diff[y * stride + x] += diff[(y - 1) * stride + x];
            }
        }
        let mut sat = vec![0u32; stride * (ny + 1)];
        for y in 0..ny {
            for x in 0..nx {
                let covered = u32::from(diff[y * stride + x] > 0);
                sat[(y + 1) * stride + x + 1] =
                    covered + sat[y * stride + x + 1] + sat[(y + 1) * stride + x] - sat[y * stride + x];
            }
        }
        Raster { cell, nx, ny, sat }
    }

    /// The covered cells `r` (`[x, y, w, h]`) touches.
    fn covered(&self, r: &[f32; 4]) -> u64 {
        let Some([x0, y0, x1, y1]) = cells(self.cell, self.nx, self.ny, r) else { return 0 };
        let s = |x: usize, y: usize| u64::from(self.sat[y * (self.nx + 1) + x]);
        (s(x1, y1) + s(x0, y0)).saturating_sub(s(x0, y1) + s(x1, y0))
    }
}

/// The cell range `[x0, y0, x1, y1)` that `r` (`[x, y, w, h]`) touches, clamped to the raster.
fn cells(cell: f32, nx: usize, ny: usize, r: &[f32; 4]) -> Option<[usize; 4]> {
    if !r.iter().all(|v| v.is_finite()) {
        return None;
    }
    let clamp = |v: f32, n: usize| v.clamp(0.0, n as f32) as usize;
    let x0 = clamp((r[0] / cell).floor(), nx);
    let y0 = clamp((r[1] / cell).floor(), ny);
    let x1 = clamp(((r[0] + r[2]) / cell).ceil(), nx);
    let y1 = clamp(((r[1] + r[3]) / cell).ceil(), ny);
    (x0 < x1 && y0 < y1).then_some([x0, y0, x1, y1])
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use lopdf::{Stream, dictionary};

    const A4: (f32, f32) = (595.0, 842.0);
    const STAMP: (f32, f32) = (150.0, 64.0);
    const MARGIN: f32 = 36.0;

    /// A one-page A4 PDF with `content`, the fonts F1 (Helvetica, no widths) and F2 (a
    /// Type0 font with /W), and `annots` as widget annotations (`[llx lly urx ury]`).
    fn pdf_with(content: &[u8], annots: &[[f32; 4]]) -> Vec<u8> {
        let mut doc = Document::with_version("1.7");
        let pages_id = doc.new_object_id();
        let f1 = doc.add_object(dictionary! {
            "Type" => "Font", "Subtype" => "Type1", "BaseFont" => "Helvetica",
        });
        let cid = doc.add_object(dictionary! {
            "Type" => "Font", "Subtype" => "CIDFontType2", "BaseFont" => "Test",
            "DW" => 1000, "W" => vec![Object::Integer(1), vec![Object::Integer(500), Object::Integer(500)].into()],
        });
        let f2 = doc.add_object(dictionary! {
            "Type" => "Font", "Subtype" => "Type0", "BaseFont" => "Test", "Encoding" => "Identity-H",
            "DescendantFonts" => vec![Object::Reference(cid)],
        });
        let content_id = doc.add_object(Stream::new(dictionary! {}, content.to_vec()));
        let annots: Vec<Object> = annots
            .iter()
            .map(|r| {
                let rect: Vec<Object> = r.iter().map(|v| Object::Real(*v)).collect();
                Object::Reference(doc.add_object(dictionary! {
                    "Type" => "Annot", "Subtype" => "Widget", "FT" => "Sig", "Rect" => rect,
                }))
            })
            .collect();
        let page_id = doc.add_object(dictionary! {
            "Type" => "Page",
            "Parent" => pages_id,
            "MediaBox" => vec![0.into(), 0.into(), A4.0.into(), A4.1.into()],
            "Contents" => content_id,
            "Resources" => dictionary! { "Font" => dictionary! { "F1" => f1, "F2" => f2 } },
            "Annots" => annots,
        });
        doc.objects.insert(
            pages_id,
            Object::Dictionary(dictionary! { "Type" => "Pages", "Kids" => vec![page_id.into()], "Count" => 1 }),
        );
        let catalog = doc.add_object(dictionary! { "Type" => "Catalog", "Pages" => pages_id });
        doc.trailer.set("Root", catalog);
        let mut out = Vec::new();
        doc.save_to(&mut out).unwrap();
        out
    }

    fn overlaps(a: &[f32; 4], b: &[f32; 4]) -> bool {
        intersection(a, b) > 0.0
    }

    fn inside_margin(s: &[f32; 4]) -> bool {
        s[0] >= MARGIN - 0.01
            && s[1] >= MARGIN - 0.01
            && s[0] + s[2] <= A4.0 - MARGIN + 0.01
            && s[1] + s[3] <= A4.1 - MARGIN + 0.01
    }

    /// The spot nearest the bottom-right corner of an empty A4 page.
    fn corner() -> [f32; 4] {
        [A4.0 - MARGIN - STAMP.0, A4.1 - MARGIN - STAMP.1, STAMP.0, STAMP.1]
    }

    #[test]
    fn an_empty_page_gives_the_bottom_right_corner_then_leftwards() {
        let pdf = pdf_with(b"", &[]);
        assert!(occupied(&pdf, 0).unwrap().is_empty());
        let spots = free_spots(&pdf, 0, STAMP, 3, MARGIN).unwrap();
        assert_eq!(spots.len(), 3);
        assert_eq!(spots[0], corner());
        for (i, a) in spots.iter().enumerate() {
            assert!(inside_margin(a), "{a:?}");
            assert_eq!(a[1], corner()[1], "one row: {spots:?}");
            for b in &spots[i + 1..] {
                assert!(!overlaps(&inflate(a, GAP), b), "{spots:?}");
            }
        }
        assert!(spots[1][0] < spots[0][0] && spots[2][0] < spots[1][0], "{spots:?}");
        assert_eq!(free_spots(&pdf, 1, STAMP, 1, MARGIN), Err(PadesError::NoSuchPage(1)));
    }

    #[test]
    fn text_in_the_bottom_right_corner_is_avoided() {
        // Three lines of 12 pt Helvetica ending near the right margin, 50–110 pt from the bottom.
        let content = b"BT /F1 12 Tf 14 TL 330 100 Td (Text in the bottom right corner) Tj T* (second line) Tj \
                        T* (third line of text here) Tj ET";
        let pdf = pdf_with(content, &[]);
        let areas = occupied(&pdf, 0).unwrap();
        assert_eq!(areas.len(), 3, "{areas:?}");
        // The first line: 31 bytes at 0.6 em of 12 pt from x 330, baseline 100 pt up.
        let [x, y, w, h] = areas[0];
        assert!((x - 330.0).abs() < 0.01 && (w - 31.0 * 0.6 * 12.0).abs() < 0.1, "{areas:?}");
        assert!(y < A4.1 - 100.0 && y + h > A4.1 - 100.0, "{areas:?}");
        let spots = free_spots(&pdf, 0, STAMP, 2, MARGIN).unwrap();
        assert_eq!(spots.len(), 2);
        for s in &spots {
            assert!(inside_margin(s), "{s:?}");
            for a in &areas {
                assert!(!overlaps(&inflate(s, GAP), a), "{s:?} covers {a:?}");
            }
        }
        assert!(!overlaps(&spots[0], &spots[1]), "{spots:?}");
        assert_ne!(spots[0], corner());
    }

    #[test]
    fn type0_widths_and_the_text_matrix_are_followed() {
        // Codes 1 and 2 are 500 wide, others 1000 (/DW); Tm scales by 2 and moves to 100 400.
        let content = b"BT /F2 10 Tf 2 0 0 2 100 400 Tm <00010002> Tj [<0003> -1000 <0001>] TJ ET";
        let areas = occupied(&pdf_with(content, &[]), 0).unwrap();
        assert_eq!(areas.len(), 2, "{areas:?}");
        // (0.5 + 0.5) em × 10 pt × 2.
        assert!((areas[0][0] - 100.0).abs() < 0.01 && (areas[0][2] - 20.0).abs() < 0.01, "{areas:?}");
        // After 20 pt: 1 em, 1 em of kerning, 0.5 em: 50 pt.
        assert!((areas[1][0] - 120.0).abs() < 0.01 && (areas[1][2] - 50.0).abs() < 0.01, "{areas:?}");
    }

    #[test]
    fn quote_operators_move_to_the_next_line_with_their_spacing() {
        // `"` sets word spacing 5 and character spacing 2: `a` (6 pt) + 2, then `b`.
        let content = b"BT /F1 10 Tf 12 TL 100 500 Td 5 2 (ab) \" (c) ' ET";
        let areas = occupied(&pdf_with(content, &[]), 0).unwrap();
        assert_eq!(areas.len(), 2, "{areas:?}");
        assert!((areas[0][0] - 100.0).abs() < 0.01 && (areas[0][2] - 14.0).abs() < 0.01, "{areas:?}");
        assert!((areas[1][1] - areas[0][1] - 12.0).abs() < 0.01, "a line down: {areas:?}");
    }

    #[test]
    fn a_page_background_is_ignored_and_paths_images_count() {
        let content = b"q 1 1 0.9 rg 0 0 595 842 re f Q \
                        0.5 w 56 700 m 300 700 l S \
                        q 100 0 0 50 400 60 cm /Im1 Do Q \
                        10 10 m 20 20 l n";
        let pdf = pdf_with(content, &[]);
        let areas = occupied(&pdf, 0).unwrap();
        // The line (grown to at least 1 pt thick); the image is not in the resources.
        assert_eq!(areas.len(), 1, "{areas:?}");
        assert!((areas[0][0] - 55.5).abs() < 0.01 && (areas[0][1] - (A4.1 - 700.5)).abs() < 0.01, "{areas:?}");
        assert_eq!(free_spots(&pdf, 0, STAMP, 1, MARGIN).unwrap(), vec![corner()]);
        // An inline image in the corner is avoided.
        let pdf = pdf_with(b"q 200 0 0 120 380 20 cm BI /W 1 /H 1 /BPC 8 /CS /G ID \x80 EI Q", &[]);
        let areas = occupied(&pdf, 0).unwrap();
        assert_eq!(areas, vec![[380.0, A4.1 - 140.0, 200.0, 120.0]]);
        let spot = free_spots(&pdf, 0, STAMP, 1, MARGIN).unwrap()[0];
        assert!(!overlaps(&inflate(&spot, GAP), &areas[0]), "{spot:?}");
    }

    #[test]
    fn an_existing_annotation_is_avoided() {
        // An earlier stamp exactly where the first spot would go.
        let pdf = pdf_with(b"", &[[409.0, 36.0, 559.0, 100.0]]);
        let areas = occupied(&pdf, 0).unwrap();
        assert_eq!(areas, vec![corner()]);
        let spots = free_spots(&pdf, 0, STAMP, 2, MARGIN).unwrap();
        for s in &spots {
            assert!(!overlaps(&inflate(s, GAP), &corner()), "{s:?}");
        }
        assert!(spots[0][0] < corner()[0] && spots[0][1] == corner()[1], "next to it: {spots:?}");
        // An invisible signature's empty rectangle takes no room.
        let pdf = pdf_with(b"", &[[0.0, 0.0, 0.0, 0.0]]);
        assert!(occupied(&pdf, 0).unwrap().is_empty());
    }

    #[test]
    fn a_page_full_of_text_gives_the_spot_overlapping_least() {
        // 10 pt lines every 12 pt over the whole width and height: no spot is clear.
        let mut content = String::from("BT /F1 10 Tf ");
        let mut y = 830.0;
        while y > 0.0 {
            content.push_str(&format!("1 0 0 1 20 {y} Tm ({}) Tj ", "x".repeat(92)));
            y -= 12.0;
        }
        content.push_str("ET");
        let pdf = pdf_with(content.as_bytes(), &[]);
        let full = free_spots(&pdf, 0, STAMP, 2, MARGIN).unwrap();
        assert_eq!(full.len(), 2);
        assert!(full.iter().all(inside_margin), "{full:?}");
        assert!(!overlaps(&inflate(&full[0], GAP), &full[1]), "{full:?}");

        // A left column dense all the way; a right one dense in the lower half and with a
        // line every 40 pt in the upper half: the spot goes to the upper right.
        let mut content = String::from("BT /F1 10 Tf ");
        let mut y = 830.0;
        while y > 0.0 {
            content.push_str(&format!("1 0 0 1 20 {y} Tm ({}) Tj ", "x".repeat(38)));
            let sparse = y > 421.0 && (830.0 - y) % 40.0 != 0.0;
            if !sparse {
                content.push_str(&format!("1 0 0 1 300 {y} Tm ({}) Tj ", "x".repeat(38)));
            }
            y -= 10.0;
        }
        content.push_str("ET");
        let pdf = pdf_with(content.as_bytes(), &[]);
        let areas = occupied(&pdf, 0).unwrap();
        let spot = free_spots(&pdf, 0, STAMP, 1, MARGIN).unwrap()[0];
        let raster = Raster::new(A4.0, A4.1, &areas);
        assert!(raster.covered(&spot) > 0, "no clear spot exists: {spot:?}");
        assert!(spot[0] + spot[2] > 300.0 && spot[1] + spot[3] <= A4.1 - 421.0, "in the sparse part: {spot:?}");
        // No candidate overlaps less.
        for y in positions(A4.1, STAMP.1, MARGIN) {
            for x in positions(A4.0, STAMP.0, MARGIN) {
                assert!(raster.covered(&[x, y, STAMP.0, STAMP.1]) >= raster.covered(&spot), "{x} {y}");
            }
        }
    }

    #[test]
    fn garbage_does_not_panic() {
        let contents: [&[u8]; 8] = [
            b"BT /F1 Tf (x) Tj ET Q Q Q cm 1 2 re f",
            b"BT /F9 12 Tf 1e38 0 0 1e38 1e38 1e38 Tm (overflow) Tj ET",
            b"q q q q BT [(a) /Name (b) 12] TJ ' \" ET 1 2 3 4 5 6 7 cm",
            b"/Im1 Do /F1 Do BI ID EI (unterminated",
            b"\x00\xff\xfe<<>>[[[[ endstream",
            b"BT /F1 12 Tf 0 Tz 0 0 Td (abc) Tj -5 Tz (abc) Tj ET 0 0 m S",
            b"1 0 0 1 0 0 cm 3.4e+39 0 m 0 0 l S NaN w 0 0 10 10 re B",
            b"q 0 0 0 0 0 0 cm BT /F2 1 Tf <0001000> Tj ET Q 0 0 5 5 re f",
        ];
        for c in contents {
            let pdf = pdf_with(c, &[]);
            for area in occupied(&pdf, 0).unwrap() {
                assert!(area.iter().all(|v| v.is_finite()) && area[2] > 0.0 && area[3] > 0.0, "{area:?}");
            }
            assert_eq!(free_spots(&pdf, 0, STAMP, 2, MARGIN).unwrap().len(), 2);
        }
        // Many operators are cut off at the budget.
        let many = "0 0 1 1 re f ".repeat(MAX_OPERATIONS);
        let pdf = pdf_with(many.as_bytes(), &[]);
        assert_eq!(occupied(&pdf, 0).unwrap().len(), MAX_OPERATIONS / 2);
        // Not a PDF, bad parameters.
        assert!(occupied(b"%PDF-1.7 nothing", 0).is_err());
        assert!(occupied(b"garbage", 0).is_err());
        let pdf = pdf_with(b"", &[]);
        assert!(free_spots(&pdf, 0, (f32::NAN, 1.0), 1, MARGIN).is_err());
        assert!(free_spots(&pdf, 0, STAMP, 1, -1.0).is_err());
        assert!(free_spots(&pdf, 0, STAMP, usize::MAX, MARGIN).is_err());
        // A stamp larger than the page is centred.
        assert_eq!(free_spots(&pdf, 0, (1000.0, 1000.0), 1, MARGIN).unwrap(), vec![[0.0, 0.0, 1000.0, 1000.0]]);
    }

    #[test]
    fn forms_are_followed_and_self_reference_is_bounded() {
        let mut doc = Document::with_version("1.7");
        let pages_id = doc.new_object_id();
        let form_id = doc.new_object_id();
        // The form draws a box and then itself, shifted: nesting stops at the depth limit.
        let form = Stream::new(
            dictionary! {
                "Type" => "XObject", "Subtype" => "Form",
                "BBox" => vec![0.into(), 0.into(), 1000.into(), 1000.into()],
                "Resources" => dictionary! { "XObject" => dictionary! { "Fm1" => form_id } },
            },
            b"0 0 20 20 re f q 1 0 0 1 30 0 cm /Fm1 Do Q".to_vec(),
        );
        doc.objects.insert(form_id, Object::Stream(form));
        let content_id = doc.add_object(Stream::new(dictionary! {}, b"q 1 0 0 1 50 50 cm /Fm1 Do Q".to_vec()));
        let page_id = doc.add_object(dictionary! {
            "Type" => "Page", "Parent" => pages_id,
            "MediaBox" => vec![0.into(), 0.into(), A4.0.into(), A4.1.into()],
            "Contents" => content_id,
            "Resources" => dictionary! { "XObject" => dictionary! { "Fm1" => form_id } },
        });
        doc.objects.insert(
            pages_id,
            Object::Dictionary(dictionary! { "Type" => "Pages", "Kids" => vec![page_id.into()], "Count" => 1 }),
        );
        let catalog = doc.add_object(dictionary! { "Type" => "Catalog", "Pages" => pages_id });
        doc.trailer.set("Root", catalog);
        let mut pdf = Vec::new();
        doc.save_to(&mut pdf).unwrap();
        let areas = occupied(&pdf, 0).unwrap();
        // One box per level the nesting is followed, then the innermost form's BBox (clipped
        // to the page).
        assert_eq!(areas.len(), MAX_FORM_DEPTH + 1, "{areas:?}");
        assert_eq!(areas[0], [50.0, A4.1 - 70.0, 20.0, 20.0]);
        assert_eq!(areas[1], [80.0, A4.1 - 70.0, 20.0, 20.0]);
    }
}
