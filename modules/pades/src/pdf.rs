//! Reading PDFs (with lopdf) and writing the incremental update of a signature.

use std::fmt::Write as _;

use lopdf::{Dictionary, Document, Object, ObjectId};
use sha2::{Digest, Sha256};

use crate::appearance::num;
use crate::cms::{self, Content, Signer};
use crate::der::{OID_DATA, pdf_date};
use crate::{PadesError, SignRequest, TimeStamper};

/// Bytes reserved for the DER CMS in `/Contents` (written as twice as many hex digits).
pub const CONTENTS_SIZE: usize = 16 * 1024;
/// Width reserved for the `/ByteRange` array.
const BYTE_RANGE_WIDTH: usize = 60;
/// Deepest /Parent or /Kids chain followed.
const MAX_DEPTH: usize = 64;

/// Loads a PDF with lopdf, turning parser panics into errors.
pub(crate) fn load(pdf: &[u8]) -> Result<Document, PadesError> {
    if !pdf.starts_with(b"%PDF-") {
        return Err(PadesError::Pdf("the file does not start with %PDF-".into()));
    }
    match std::panic::catch_unwind(|| Document::load_mem(pdf)) {
        Ok(Ok(doc)) => Ok(doc),
        Ok(Err(e)) => Err(PadesError::Pdf(e.to_string())),
        Err(_) => Err(PadesError::Pdf("the PDF parser failed".into())),
    }
}

/// `obj`, or the object it refers to.
pub(crate) fn deref<'a>(doc: &'a Document, obj: &'a Object) -> Option<&'a Object> {
    doc.dereference(obj).ok().map(|(_, o)| o)
}

/// The dictionary `obj` is or refers to.
pub(crate) fn dict_deref<'a>(doc: &'a Document, obj: &'a Object) -> Option<&'a Dictionary> {
    deref(doc, obj).and_then(|o| o.as_dict().ok())
}

/// A page attribute, inherited through /Parent.
fn inherited<'a>(doc: &'a Document, page: &'a Dictionary, key: &[u8]) -> Option<&'a Object> {
    let mut node = page;
    for _ in 0..MAX_DEPTH {
        if let Ok(v) = node.get(key) {
            return deref(doc, v);
        }
        node = node.get(b"Parent").ok().and_then(|p| dict_deref(doc, p))?;
    }
    None
}

/// `[llx lly urx ury]` of a rectangle array (direct or referenced), normalised; None unless
/// four finite numbers.
pub(crate) fn as_rect(doc: &Document, obj: &Object) -> Option<[f32; 4]> {
    let arr = deref(doc, obj)?.as_array().ok()?;
    if arr.len() != 4 {
        return None;
    }
    let mut v = [0f32; 4];
    for (slot, o) in v.iter_mut().zip(arr) {
        *slot = deref(doc, o)?.as_float().ok()?;
        if !slot.is_finite() {
            return None;
        }
    }
    Some([v[0].min(v[2]), v[1].min(v[3]), v[0].max(v[2]), v[1].max(v[3])])
}

/// The visible box of a page (CropBox, else MediaBox, else A4) as `[llx lly urx ury]`.
pub(crate) fn page_box(doc: &Document, page: &Dictionary) -> [f32; 4] {
    inherited(doc, page, b"CropBox")
        .and_then(|o| as_rect(doc, o))
        .or_else(|| inherited(doc, page, b"MediaBox").and_then(|o| as_rect(doc, o)))
        .unwrap_or([0.0, 0.0, 595.28, 841.89])
}

/// The page object ids in order.
pub(crate) fn pages(doc: &Document) -> Vec<ObjectId> {
    doc.get_pages().into_values().collect()
}

/// Writes a lopdf object in PDF syntax.
pub(crate) fn write_object(out: &mut String, obj: &Object, depth: usize) -> Result<(), PadesError> {
    if depth > MAX_DEPTH {
        return Err(PadesError::Pdf("objects nested too deeply".into()));
    }
    match obj {
        Object::Null => out.push_str("null"),
        Object::Boolean(b) => out.push_str(if *b { "true" } else { "false" }),
        Object::Integer(i) => {
            let _ = write!(out, "{i}");
        }
        Object::Real(r) => out.push_str(&num(*r)),
        Object::Name(n) => write_name(out, n),
        Object::String(s, _) => out.push_str(&hex_string(s)),
        Object::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                write_object(out, item, depth + 1)?;
            }
            out.push(']');
        }
        Object::Dictionary(d) => write_dict(out, d, depth)?,
        Object::Stream(_) => return Err(PadesError::Pdf("unexpected stream object".into())),
        Object::Reference((id, generation)) => {
            let _ = write!(out, "{id} {generation} R");
        }
    }
    Ok(())
}

fn write_dict(out: &mut String, d: &Dictionary, depth: usize) -> Result<(), PadesError> {
    out.push_str("<<");
    for (k, v) in d.iter() {
        out.push(' ');
        write_name(out, k);
        out.push(' ');
        write_object(out, v, depth + 1)?;
    }
    out.push_str(" >>");
    Ok(())
}

fn write_name(out: &mut String, name: &[u8]) {
    out.push('/');
    for &b in name {
        if b.is_ascii_graphic() && !b"#/%()<>[]{}".contains(&b) {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "#{b:02X}");
        }
    }
}

fn hex_string(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2 + 2);
    s.push('<');
    for b in bytes {
        let _ = write!(s, "{b:02X}");
    }
    s.push('>');
    s
}

/// A PDF text string: a literal for printable ASCII, else UTF-16BE with a byte-order mark.
pub(crate) fn text_string(s: &str) -> String {
    if s.chars().all(|c| (' '..='~').contains(&c)) {
        let mut out = String::from("(");
        for c in s.chars() {
            if matches!(c, '(' | ')' | '\\') {
                out.push('\\');
            }
            out.push(c);
        }
        out.push(')');
        out
    } else {
        let mut out = String::from("<FEFF");
        for unit in s.encode_utf16() {
            let _ = write!(out, "{unit:04X}");
        }
        out.push('>');
        out
    }
}

/// The objects of one incremental update.
struct Update {
    buf: Vec<u8>,
    offsets: Vec<(ObjectId, usize)>,
}

impl Update {
    fn object(&mut self, id: ObjectId, body: &str) {
        self.offsets.push((id, self.buf.len()));
        self.buf.extend_from_slice(format!("{} {} obj\n{body}\nendobj\n", id.0, id.1).as_bytes());
    }

    fn stream(&mut self, id: ObjectId, dict_entries: &str, data: &[u8]) {
        self.offsets.push((id, self.buf.len()));
        self.buf.extend_from_slice(
            format!("{} {} obj\n<< {dict_entries} /Length {} >>\nstream\n", id.0, id.1, data.len()).as_bytes(),
        );
        self.buf.extend_from_slice(data);
        self.buf.extend_from_slice(b"\nendstream\nendobj\n");
    }
}

/// Groups sorted ids into `(first, count)` runs.
fn runs(ids: &[u32]) -> Vec<(u32, u32)> {
    let mut out: Vec<(u32, u32)> = Vec::new();
    for &id in ids {
        match out.last_mut() {
            Some((first, count)) if *first + *count == id => *count += 1,
            _ => out.push((id, 1)),
        }
    }
    out
}

/// Whether a certification signature forbids any change (`/Perms /DocMDP`, `/P 1`).
fn certified_without_changes(doc: &Document, catalog: &Dictionary) -> bool {
    let get = |d: &Dictionary, key: &[u8]| d.get(key).ok().and_then(|o| deref(doc, o)).cloned();
    let Some(sig) = get(catalog, b"Perms").and_then(|p| p.as_dict().ok().and_then(|p| get(p, b"DocMDP"))) else {
        return false;
    };
    let refs = sig.as_dict().ok().and_then(|s| get(s, b"Reference")).and_then(|r| r.as_array().ok().cloned());
    refs.unwrap_or_default().iter().filter_map(|r| dict_deref(doc, r)).any(|r| {
        get(r, b"TransformParams")
            .and_then(|t| t.as_dict().ok().and_then(|t| get(t, b"P")))
            .and_then(|p| p.as_i64().ok())
            == Some(1)
    })
}

/// An incremental update being written after a PDF: the parsed document, the new objects,
/// and where the cross-reference section goes.
struct Increment<'p> {
    pdf: &'p [u8],
    doc: Document,
    up: Update,
    /// Offset of the update in the output (after a newline when the file lacks one).
    base: usize,
    next: u32,
    prev: usize,
    prev_is_stream: bool,
    prev_size: u32,
}

impl<'p> Increment<'p> {
    fn open(pdf: &'p [u8]) -> Result<Self, PadesError> {
        let doc = load(pdf)?;
        if doc.trailer.get(b"Encrypt").is_ok() {
            return Err(PadesError::Encrypted);
        }
        if doc.xref_recovery == Some(lopdf::xref::XrefRecovery::Reconstructed) {
            return Err(PadesError::Pdf("the cross-reference table is damaged".into()));
        }
        let prev = doc.xref_start;
        let prev_is_stream = match pdf.get(prev..) {
            Some(rest) => !rest.trim_ascii_start().starts_with(b"xref"),
            None => return Err(PadesError::Pdf("bad startxref".into())),
        };
        let size = doc.trailer.get(b"Size").and_then(Object::as_i64).unwrap_or(0).max(0);
        let prev_size = u32::try_from(size).unwrap_or(0);
        let next = prev_size.max(doc.max_id.saturating_add(1));
        let base = pdf.len() + usize::from(!pdf.ends_with(b"\n") && !pdf.ends_with(b"\r"));
        let up = Update { buf: Vec::with_capacity(CONTENTS_SIZE * 2 + 16 * 1024), offsets: Vec::new() };
        Ok(Self { pdf, doc, up, base, next, prev, prev_is_stream, prev_size })
    }

    fn alloc(&mut self) -> ObjectId {
        let id = (self.next, 0u16);
        self.next = self.next.saturating_add(1);
        id
    }

    fn dictionary(&self, id: ObjectId) -> Result<Dictionary, PadesError> {
        self.doc.get_dictionary(id).cloned().map_err(|e| PadesError::Pdf(e.to_string()))
    }

    /// The catalog's id and a copy of it.
    fn catalog(&self) -> Result<(ObjectId, Dictionary), PadesError> {
        let root_id = self
            .doc
            .trailer
            .get(b"Root")
            .and_then(Object::as_reference)
            .map_err(|_| PadesError::Pdf("the trailer has no /Root reference".into()))?;
        Ok((root_id, self.dictionary(root_id)?))
    }

    fn put_dict(&mut self, id: ObjectId, d: &Dictionary) -> Result<(), PadesError> {
        let mut s = String::new();
        write_dict(&mut s, d, 0)?;
        self.up.object(id, &s);
        Ok(())
    }

    /// Where the next object written starts in the output.
    fn offset_of_next(&self, header: ObjectId) -> usize {
        self.base + self.up.buf.len() + format!("{} {} obj\n", header.0, header.1).len()
    }

    /// Writes the cross-reference section and trailer; returns the whole new file.
    fn finish(mut self) -> Result<Vec<u8>, PadesError> {
        let (base, prev, prev_size) = (self.base, self.prev, self.prev_size);
        let xref_at = base + self.up.buf.len();
        let refs = trailer_refs(&self.doc)?;
        if self.prev_is_stream {
            let xref_id = self.alloc();
            let up = &mut self.up;
            up.offsets.push((xref_id, up.buf.len()));
            let mut entries = up.offsets.clone();
            entries.sort_unstable();
            let ids: Vec<u32> = entries.iter().map(|(id, _)| id.0).collect();
            let size = prev_size.max(ids.last().map_or(0, |l| l + 1));
            let width = {
                let max = (base + up.buf.len()) as u64;
                (1..=8usize).find(|w| *w == 8 || max < 1u64 << (8 * w)).unwrap_or(8)
            };
            let mut data = Vec::with_capacity(entries.len() * (3 + width));
            for (id, off) in &entries {
                data.push(1u8);
                data.extend_from_slice(&((base + off) as u64).to_be_bytes()[8 - width..]);
                data.extend_from_slice(&id.1.to_be_bytes());
            }
            let index: Vec<String> = runs(&ids).iter().map(|(f, c)| format!("{f} {c}")).collect();
            let dict =
                format!("/Type /XRef /W [1 {width} 2] /Index [{}] /Size {size} /Prev {prev}{refs}", index.join(" "));
            up.offsets.pop();
            up.stream(xref_id, &dict, &data);
        } else {
            let up = &mut self.up;
            let mut entries = up.offsets.clone();
            entries.sort_unstable();
            let ids: Vec<u32> = entries.iter().map(|(id, _)| id.0).collect();
            let size = prev_size.max(ids.last().map_or(0, |l| l + 1));
            let mut table = String::from("xref\n");
            let mut i = 0;
            for (first, count) in runs(&ids) {
                let _ = writeln!(table, "{first} {count}");
                for (id, off) in &entries[i..i + count as usize] {
                    let _ = write!(table, "{:010} {:05} n\r\n", base + off, id.1);
                }
                i += count as usize;
            }
            let _ = write!(table, "trailer\n<< /Size {size} /Prev {prev}{refs} >>\n");
            up.buf.extend_from_slice(table.as_bytes());
        }
        self.up.buf.extend_from_slice(format!("startxref\n{xref_at}\n%%EOF\n").as_bytes());
        let mut out = Vec::with_capacity(base + self.up.buf.len());
        out.extend_from_slice(self.pdf);
        if base > self.pdf.len() {
            out.push(b'\n');
        }
        out.extend_from_slice(&self.up.buf);
        Ok(out)
    }
}

/// Whether any of the AcroForm `fields` is a signature field with a value.
fn has_signed_field(doc: &Document, fields: &[Object]) -> bool {
    fields
        .iter()
        .filter_map(|f| deref(doc, f))
        .filter_map(|f| f.as_dict().ok())
        .any(|f| f.get(b"FT").and_then(Object::as_name).is_ok_and(|n| n == b"Sig") && f.get(b"V").is_ok())
}

/// What kind of signature field [`add_signature`] writes.
enum SigKind<'r> {
    /// A PAdES signature (`/Type /Sig`, `ETSI.CAdES.detached`), certifying (DocMDP P=2)
    /// when asked.
    Cades(&'r SignRequest<'r>),
    /// A document time-stamp (`/Type /DocTimeStamp`, `ETSI.RFC3161`), invisible.
    DocTimestamp,
}

/// Appends an update with a new signature field whose `/Contents` is `contents(digest)`,
/// `digest` being the SHA-256 of the byte ranges.
fn add_signature(
    pdf: &[u8],
    kind: &SigKind<'_>,
    contents: &dyn Fn([u8; 32]) -> Result<Vec<u8>, PadesError>,
) -> Result<Vec<u8>, PadesError> {
    let mut inc = Increment::open(pdf)?;
    let req = match kind {
        SigKind::Cades(req) => Some(*req),
        SigKind::DocTimestamp => None,
    };
    let appearance = req.and_then(|r| r.appearance.as_ref());
    let (root_id, mut catalog) = inc.catalog()?;
    if certified_without_changes(&inc.doc, &catalog) {
        return Err(PadesError::Invalid("the document is certified with no changes permitted (DocMDP P=1)".into()));
    }
    let sig_id = inc.alloc();

    // The AcroForm: indirect (rewritten in place), direct in the catalog, or new.
    let (acro_ref, mut acroform) = match catalog.get(b"AcroForm") {
        Ok(Object::Reference(id)) => {
            let id = *id;
            (Some(id), inc.dictionary(id)?)
        }
        Ok(Object::Dictionary(d)) => (None, d.clone()),
        _ => (None, Dictionary::new()),
    };
    let mut fields: Vec<Object> = acroform
        .get(b"Fields")
        .ok()
        .and_then(|f| deref(&inc.doc, f))
        .and_then(|f| f.as_array().ok())
        .cloned()
        .unwrap_or_default();

    // A person's signature fills the first empty signature field the certification
    // reserved (a new visible field after certification is a modification DocMDP forbids).
    if let (Some(req), Some(field_id)) = (req, open_signature_field(&inc.doc, &fields)) {
        let mut field = inc.dictionary(field_id)?;
        let [x0, y0, x1, y1] = rect_of(&field);
        if let Some(a) = appearance {
            let ap_id = appearance_stream(&mut inc, a, (x1 - x0).abs(), (y1 - y0).abs());
            let mut ap = Dictionary::new();
            ap.set("N", Object::Reference(ap_id));
            field.set("AP", Object::Dictionary(ap));
        }
        field.set("V", Object::Reference(sig_id));
        inc.put_dict(field_id, &field)?;
        return finish_signature(inc, kind, Some(req), false, sig_id, contents);
    }

    let page_index = appearance.map(|a| a.page).unwrap_or(0);
    let page_ids = pages(&inc.doc);
    let page_id = *page_ids.get(page_index).ok_or(PadesError::NoSuchPage(page_index))?;
    // Only the first signature of a document may certify it.
    let certify =
        req.is_some_and(|r| r.certify) && catalog.get(b"Perms").is_err() && !has_signed_field(&inc.doc, &fields);
    let widget_id = inc.alloc();
    let mut names: Vec<String> = Vec::new();
    let mut next_name = |doc: &Document, fields: &[Object]| {
        let taken = |n: &str| names.iter().any(|t| t == n);
        let name = (1..)
            .map(|i| format!("Signature{i}"))
            .find(|n| !taken(n) && !field_named(doc, fields, n))
            .unwrap_or_else(|| "Signature".into());
        names.push(name.clone());
        name
    };
    let field_name = match req.and_then(|r| r.field_name.clone()) {
        Some(n) => n,
        None => next_name(&inc.doc, &fields),
    };
    fields.push(Object::Reference(widget_id));
    // Annotations to add, per page.
    let mut new_annots: Vec<(ObjectId, ObjectId)> = vec![(page_id, widget_id)];
    // The certification reserves the later signers' fields, empty and visible.
    if let (true, Some(req)) = (certify, req) {
        for spot in &req.reserve {
            let Some(&spot_page) = page_ids.get(spot.page) else { continue };
            let spot_dict = inc.dictionary(spot_page)?;
            let [llx, _, _, ury] = page_box(&inc.doc, &spot_dict);
            let [x, y, w, h] = spot.rect;
            let id = inc.alloc();
            let name = next_name(&inc.doc, &fields);
            inc.up.object(
                id,
                &format!(
                    "<< /Type /Annot /Subtype /Widget /FT /Sig /T {} /F 4 /Rect [{} {} {} {}] /P {} {} R >>",
                    text_string(&name),
                    num(llx + x),
                    num(ury - y - h),
                    num(llx + x + w),
                    num(ury - y),
                    spot_page.0,
                    spot_page.1
                ),
            );
            fields.push(Object::Reference(id));
            new_annots.push((spot_page, id));
        }
    }
    acroform.set("Fields", Object::Array(fields));
    let flags = acroform.get(b"SigFlags").and_then(Object::as_i64).unwrap_or(0);
    acroform.set("SigFlags", Object::Integer(flags | 3));

    // Each page's annotations, with the widgets added.
    let mut touched: Vec<ObjectId> = Vec::new();
    for (pid, _) in &new_annots {
        if !touched.contains(pid) {
            touched.push(*pid);
        }
    }
    for pid in touched {
        let mut page = inc.dictionary(pid)?;
        let mut annots: Vec<Object> = page
            .get(b"Annots")
            .ok()
            .and_then(|a| deref(&inc.doc, a))
            .and_then(|a| a.as_array().ok())
            .cloned()
            .unwrap_or_default();
        annots.extend(new_annots.iter().filter(|(p, _)| *p == pid).map(|(_, w)| Object::Reference(*w)));
        page.set("Annots", Object::Array(annots));
        inc.put_dict(pid, &page)?;
    }

    let mut catalog_changed = certify;
    match acro_ref {
        Some(id) => inc.put_dict(id, &acroform)?,
        None => {
            let id = inc.alloc();
            inc.put_dict(id, &acroform)?;
            catalog.set("AcroForm", Object::Reference(id));
            catalog_changed = true;
        }
    }
    if certify {
        let mut perms = Dictionary::new();
        perms.set("DocMDP", Object::Reference(sig_id));
        catalog.set("Perms", Object::Dictionary(perms));
    }
    if catalog_changed {
        inc.put_dict(root_id, &catalog)?;
    }

    // The widget and its appearance.
    let page = inc.dictionary(page_id)?;
    let [llx, lly, urx, ury] = page_box(&inc.doc, &page);
    let (rect, ap) = match appearance {
        Some(a) => {
            let [x, y, w, h] = a.rect_on(urx - llx, ury - lly);
            let rect = [llx + x, ury - y - h, llx + x + w, ury - y];
            (rect, Some(appearance_stream(&mut inc, a, w, h)))
        }
        None => ([0.0; 4], None),
    };
    let ap_entry = ap.map(|id| format!(" /AP << /N {} 0 R >>", id.0)).unwrap_or_default();
    inc.up.object(
        widget_id,
        &format!(
            "<< /Type /Annot /Subtype /Widget /FT /Sig /T {} /V {} 0 R /F {} /Rect [{} {} {} {}] /P {} {} R{ap_entry} >>",
            text_string(&field_name),
            sig_id.0,
            if ap.is_some() { 4 } else { 132 },
            num(rect[0]),
            num(rect[1]),
            num(rect[2]),
            num(rect[3]),
            page_id.0,
            page_id.1
        ),
    );
    finish_signature(inc, kind, req, certify, sig_id, contents)
}

/// The seal's appearance stream (`w` × `h` points) and its embedded font subset, written
/// into `inc`.
fn appearance_stream(inc: &mut Increment<'_>, a: &crate::Appearance, w: f32, h: f32) -> ObjectId {
    let mut font = keiyaku_font::Subset::new(keiyaku_font::Typeface::Mincho);
    let content = a.content(w, h, &mut font);
    let ids: [ObjectId; 6] = std::array::from_fn(|_| inc.alloc());
    let [ap_id, font_id, cid_id, desc_id, file_id, tu_id] = ids;
    let objects = font.pdf_objects(cid_id.0, desc_id.0, file_id.0, tu_id.0);
    inc.up.stream(
        ap_id,
        &format!(
            "/Type /XObject /Subtype /Form /BBox [0 0 {} {}] /Resources << /Font << /F1 {} 0 R >> >>",
            num(w),
            num(h),
            font_id.0
        ),
        content.as_bytes(),
    );
    inc.up.object(font_id, &objects.type0);
    inc.up.object(cid_id, &objects.cid_font);
    inc.up.object(desc_id, &objects.descriptor);
    inc.up.stream(file_id, &objects.font_file_entries, &objects.font_file);
    inc.up.stream(tu_id, "", &objects.to_unicode);
    ap_id
}

/// The `/Rect` of an annotation, normalised (`[0 0 0 0]` when missing).
fn rect_of(annot: &Dictionary) -> [f32; 4] {
    let n = |o: &Object| o.as_float().ok().or_else(|| o.as_i64().ok().map(|i| i as f32)).unwrap_or(0.0);
    match annot.get(b"Rect").and_then(Object::as_array) {
        Ok(r) if r.len() == 4 => {
            let (a, b, c, d) = (n(&r[0]), n(&r[1]), n(&r[2]), n(&r[3]));
            [a.min(c), b.min(d), a.max(c), b.max(d)]
        }
        _ => [0.0; 4],
    }
}

/// Whether one of `fields` is named `name`.
fn field_named(doc: &Document, fields: &[Object], name: &str) -> bool {
    fields
        .iter()
        .filter_map(|f| dict_deref(doc, f))
        .any(|d| d.get(b"T").ok().and_then(|t| t.as_str().ok()) == Some(name.as_bytes()))
}

/// The first signature field without a value (reserved by a certification), merged with
/// its widget.
fn open_signature_field(doc: &Document, fields: &[Object]) -> Option<ObjectId> {
    fields.iter().find_map(|f| {
        let Object::Reference(id) = f else { return None };
        let d = doc.get_object(*id).ok()?.as_dict().ok()?;
        let sig = d.get(b"FT").and_then(Object::as_name).is_ok_and(|n| n == b"Sig");
        (sig && d.get(b"V").is_err() && d.get(b"Rect").is_ok()).then_some(*id)
    })
}

/// Whether `pdf` has a reserved, empty signature field: the next signature fills it, at the
/// place fixed when the document was certified.
pub fn has_open_signature_field(pdf: &[u8]) -> bool {
    let Ok(inc) = Increment::open(pdf) else { return false };
    let Ok((_, catalog)) = inc.catalog() else { return false };
    let acro = catalog.get(b"AcroForm").ok().and_then(|a| deref(&inc.doc, a)).and_then(|a| a.as_dict().ok());
    let fields = acro
        .and_then(|a| a.get(b"Fields").ok())
        .and_then(|f| deref(&inc.doc, f))
        .and_then(|f| f.as_array().ok())
        .cloned()
        .unwrap_or_default();
    open_signature_field(&inc.doc, &fields).is_some()
}

/// Writes the signature dictionary with its placeholders, closes the update and fills in
/// the byte range and `/Contents`.
fn finish_signature(
    mut inc: Increment<'_>,
    kind: &SigKind<'_>,
    req: Option<&SignRequest<'_>>,
    certify: bool,
    sig_id: ObjectId,
    contents: &dyn Fn([u8; 32]) -> Result<Vec<u8>, PadesError>,
) -> Result<Vec<u8>, PadesError> {
    // The signature dictionary with placeholders.
    let mut sig = String::from(match kind {
        SigKind::Cades(_) => "<< /Type /Sig /Filter /Adobe.PPKLite /SubFilter /ETSI.CAdES.detached /ByteRange ",
        SigKind::DocTimestamp => "<< /Type /DocTimeStamp /Filter /Adobe.PPKLite /SubFilter /ETSI.RFC3161 /ByteRange ",
    });
    let byte_range_at = sig.len();
    sig.push_str(&" ".repeat(BYTE_RANGE_WIDTH));
    sig.push_str(" /Contents ");
    let contents_at = sig.len();
    sig.push('<');
    sig.push_str(&"0".repeat(CONTENTS_SIZE * 2));
    sig.push('>');
    if let Some(req) = req {
        let _ = write!(sig, " /M {}", text_string(&pdf_date(req.signing_time)));
        for (key, value) in [
            ("Name", &req.name),
            ("Reason", &req.reason),
            ("Location", &req.location),
            ("ContactInfo", &req.contact_info),
        ] {
            if let Some(v) = value {
                let _ = write!(sig, " /{key} {}", text_string(v));
            }
        }
        if certify {
            sig.push_str(
                " /Reference [<< /Type /SigRef /TransformMethod /DocMDP /TransformParams << /Type /TransformParams /P 2 /V /1.2 >> >>]",
            );
        }
    }
    sig.push_str(" >>");
    let sig_obj_at = inc.offset_of_next(sig_id);
    inc.up.object(sig_id, &sig);
    let byte_range_pos = sig_obj_at + byte_range_at;
    let contents_start = sig_obj_at + contents_at;
    let contents_end = contents_start + CONTENTS_SIZE * 2 + 2;
    let mut out = inc.finish()?;

    // Byte range, digest, contents.
    let total = out.len();
    let range = format!("[0 {contents_start} {contents_end} {}]", total - contents_end);
    out.get_mut(byte_range_pos..byte_range_pos + range.len().min(BYTE_RANGE_WIDTH))
        .filter(|slot| slot.len() == range.len())
        .ok_or_else(|| PadesError::Pdf("the file is too large".into()))?
        .copy_from_slice(range.as_bytes());
    let mut hasher = Sha256::new();
    hasher.update(&out[..contents_start]);
    hasher.update(&out[contents_end..]);
    let der = contents(hasher.finalize().into())?;
    if der.len() > CONTENTS_SIZE {
        return Err(PadesError::PlaceholderTooSmall { needed: der.len(), available: CONTENTS_SIZE });
    }
    let hex = hex_string(&der);
    let hex = &hex.as_bytes()[1..hex.len() - 1];
    out[contents_start + 1..contents_start + 1 + hex.len()].copy_from_slice(hex);
    Ok(out)
}

/// Signs: see [`crate::sign`].
pub(crate) fn sign(req: &SignRequest, tsa: &dyn TimeStamper) -> Result<Vec<u8>, PadesError> {
    let signer = Signer::new(req.key_pkcs8, req.cert_der, req.chain)?;
    add_signature(req.pdf, &SigKind::Cades(req), &|digest| {
        let content = Content {
            content_type: OID_DATA,
            econtent: None,
            digest,
            with_certs: true,
            extra_attrs: req
                .delegation
                .iter()
                .map(|d| d.attribute())
                .chain(req.seal_sha256.as_ref().map(crate::seal_ref::seal_attribute))
                .collect(),
        };
        cms::signed_data(&signer, &content, &|signature| {
            let imprint: [u8; 32] = Sha256::digest(signature).into();
            Ok(vec![cms::timestamp_attribute(&tsa.timestamp(&imprint)?)])
        })
    })
}

/// A document time-stamp: see [`crate::timestamp_document`].
pub(crate) fn timestamp_document(pdf: &[u8], tsa: &dyn TimeStamper) -> Result<Vec<u8>, PadesError> {
    add_signature(pdf, &SigKind::DocTimestamp, &|digest| tsa.timestamp(&digest))
}

/// Validation data for a PDF's Document Security Store (PAdES, ISO 32000-2 §12.8.4.3).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ValidationData {
    /// Certificates (DER): chains of signers, TSAs and OCSP responders.
    pub certs: Vec<Vec<u8>>,
    /// OCSP responses (DER `OCSPResponse`).
    pub ocsps: Vec<Vec<u8>>,
    /// CRLs (DER).
    pub crls: Vec<Vec<u8>>,
}

/// A document's DSS: the bytes of each stream it holds with its reference, the
/// `/Certs`, `/OCSPs` and `/CRLs` arrays, and the VRI dictionary.
#[derive(Default)]
struct Dss {
    known: Vec<(Vec<u8>, Object)>,
    arrays: [Vec<Object>; 3],
    vri: Dictionary,
}

fn existing_dss(doc: &Document, catalog: &Dictionary) -> Dss {
    let Some(dss) = catalog.get(b"DSS").ok().and_then(|d| dict_deref(doc, d)) else {
        return Dss::default();
    };
    let mut known = Vec::new();
    let mut arrays: [Vec<Object>; 3] = [Vec::new(), Vec::new(), Vec::new()];
    for (slot, key) in arrays.iter_mut().zip([&b"Certs"[..], b"OCSPs", b"CRLs"]) {
        let items = dss.get(key).ok().and_then(|a| deref(doc, a)).and_then(|a| a.as_array().ok()).cloned();
        for item in items.unwrap_or_default() {
            if let Some(Object::Stream(s)) = deref(doc, &item) {
                let bytes = s.decompressed_content().unwrap_or_else(|_| s.content.clone());
                known.push((bytes, item.clone()));
            }
            slot.push(item);
        }
    }
    let vri = dss.get(b"VRI").ok().and_then(|v| dict_deref(doc, v)).cloned().unwrap_or_default();
    Dss { known, arrays, vri }
}

/// The `/Contents` of the signature whose byte range ends last (the newest), if any.
fn newest_signature_contents(doc: &Document) -> Option<Vec<u8>> {
    doc.objects
        .values()
        .filter_map(|o| o.as_dict().ok())
        .filter_map(|d| {
            let br = d.get(b"ByteRange").ok()?.as_array().ok()?;
            let end = br.get(2)?.as_i64().ok()?.checked_add(br.get(3)?.as_i64().ok()?)?;
            Some((end, d.get(b"Contents").ok()?.as_str().ok()?.to_vec()))
        })
        .max_by_key(|(end, _)| *end)
        .map(|(_, c)| c)
}

/// Adds validation data: see [`crate::add_validation_data`].
pub(crate) fn add_validation_data(pdf: &[u8], data: &ValidationData) -> Result<Vec<u8>, PadesError> {
    use aws_lc_rs::digest::{SHA1_FOR_LEGACY_USE_ONLY, digest};
    let mut inc = Increment::open(pdf)?;
    let (root_id, mut catalog) = inc.catalog()?;
    let Dss { mut known, mut arrays, mut vri } = existing_dss(&inc.doc, &catalog);
    let mut vri_entry: [Vec<Object>; 3] = [Vec::new(), Vec::new(), Vec::new()];
    for (i, items) in [&data.certs, &data.ocsps, &data.crls].into_iter().enumerate() {
        for bytes in items {
            let reference = match known.iter().find(|(b, _)| b == bytes) {
                Some((_, r)) => r.clone(),
                None => {
                    let id = inc.alloc();
                    inc.up.stream(id, "", bytes);
                    let r = Object::Reference(id);
                    known.push((bytes.clone(), r.clone()));
                    arrays[i].push(r.clone());
                    r
                }
            };
            vri_entry[i].push(reference);
        }
    }
    if let Some(contents) = newest_signature_contents(&inc.doc) {
        let key: String =
            digest(&SHA1_FOR_LEGACY_USE_ONLY, &contents).as_ref().iter().map(|b| format!("{b:02X}")).collect();
        let mut entry = Dictionary::new();
        for (name, items) in ["Cert", "OCSP", "CRL"].into_iter().zip(vri_entry) {
            if !items.is_empty() {
                entry.set(name, Object::Array(items));
            }
        }
        vri.set(key.into_bytes(), Object::Dictionary(entry));
    }
    let mut dss = Dictionary::new();
    dss.set("Type", Object::Name(b"DSS".to_vec()));
    for (name, items) in ["Certs", "OCSPs", "CRLs"].into_iter().zip(arrays) {
        if !items.is_empty() {
            dss.set(name, Object::Array(items));
        }
    }
    let vri_id = inc.alloc();
    inc.put_dict(vri_id, &vri)?;
    dss.set("VRI", Object::Reference(vri_id));
    let dss_id = inc.alloc();
    inc.put_dict(dss_id, &dss)?;
    catalog.set("DSS", Object::Reference(dss_id));
    inc.put_dict(root_id, &catalog)?;
    inc.finish()
}

/// `/Root`, `/Info` and `/ID` of the previous trailer.
fn trailer_refs(doc: &Document) -> Result<String, PadesError> {
    let mut s = String::new();
    for key in [&b"Root"[..], b"Info", b"ID"] {
        if let Ok(v) = doc.trailer.get(key) {
            s.push(' ');
            write_name(&mut s, key);
            s.push(' ');
            write_object(&mut s, v, 0)?;
        }
    }
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_group_consecutive_ids() {
        assert_eq!(runs(&[3, 4, 5, 9, 11, 12]), vec![(3, 3), (9, 1), (11, 2)]);
        assert_eq!(text_string("a(b)"), "(a\\(b\\))");
        assert_eq!(text_string("東京"), "<FEFF67714EAC>");
        let mut s = String::new();
        write_name(&mut s, b"A B#");
        assert_eq!(s, "/A#20B#23");
    }
}
