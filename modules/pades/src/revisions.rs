//! The incremental revisions of a PDF and what each one changed after a signature:
//! signing, validation data (DSS), document time-stamps and form filling are what a signed
//! document may receive; anything else is a modification.
//!
//! Each revision is compared with the one before it (the first with the signed revision),
//! object by object, the way pyHanko's default difference policy judges them: every object
//! the revision adds or changes must be explained by a rule, else it is a modification.
//!
//! - **Validation data.** The catalog's `/DSS`: the DSS and VRI dictionaries (only their
//!   PAdES entries) and new streams in `/Certs`, `/OCSPs`, `/CRLs` (and a VRI's `/TS`).
//! - **Signatures and document time-stamps.** A new signature field (at any level of the
//!   field tree) or the filling of an empty one: the field and its widgets, the signature
//!   dictionary (a new object), new objects of its appearance (`/AP`, also `/Lock`, `/SV`),
//!   the form's `/Fields`, and the pages' `/Annots` gaining the new widgets (the page changing
//!   in nothing else). A `/Type /DocTimeStamp` or `/SubFilter /ETSI.RFC3161` value makes it a
//!   document time-stamp. After a certification a new *visible* signature field is a
//!   modification (pyHanko: certified documents reserve their fields).
//! - **Form filling.** A non-signature field changing only in `/V`, `/AP`, `/AS`, `/F`, `/DA`,
//!   `/Q`, `/Ff` or `/Type`, with new objects of its value and appearance.
//! - **Neutral.** The catalog changing in `/AcroForm`, `/DSS`, `/Extensions`, `/Metadata`,
//!   `/MarkInfo` or `/Version` only; the form dictionary in `/Fields`, `/DR`, `/DA`, `/Q`,
//!   `/NeedAppearances` or `/SigFlags`; the document information dictionary; objects
//!   rewritten unchanged; new objects nothing refers to; object and cross-reference streams.
//!
//! Anything else is a [`Change::Modification`]: changed page content, added or removed
//! annotations (pyHanko's default policy allows none, whatever the DocMDP level), removed
//! or changed signatures, removed or added non-signature fields, deleted objects, a changed
//! catalog. Under DocMDP `P=1` signatures, form filling and visible document time-stamps
//! are modifications too; validation data and invisible document time-stamps never are.

use std::collections::{BTreeMap, BTreeSet};

use lopdf::{Dictionary, Document, Object, ObjectId};

use crate::PadesError;
use crate::pdf::{deref, dict_deref, load, pages};

/// Deepest field hierarchy or direct-object nesting followed.
const MAX_DEPTH: usize = 32;
/// Objects followed from one appearance, value or the trailer (a bound for hostile files).
const MAX_DEPS: usize = 200_000;
/// Catalog entries a later revision may change (their contents are judged by other rules).
const CATALOG_MUTABLE: &[&[u8]] = &[b"AcroForm", b"DSS", b"Extensions", b"Metadata", b"MarkInfo", b"Version"];
/// Form dictionary entries a later revision may change.
const ACROFORM_MUTABLE: &[&[u8]] = &[b"Fields", b"DR", b"DA", b"Q", b"NeedAppearances", b"SigFlags"];
/// Field entries filling a field may change.
const FIELD_VALUE_KEYS: &[&[u8]] = &[b"AP", b"AS", b"V", b"F", b"DA", b"Q", b"Ff", b"Type"];
/// Field entries that may change on any field.
const FIELD_ALWAYS_MUTABLE: &[&[u8]] = &[b"Ff", b"Type"];
/// The entries of a DSS.
const DSS_KEYS: &[&[u8]] = &[b"Type", b"VRI", b"Certs", b"OCSPs", b"CRLs"];
/// The entries of a VRI dictionary.
const VRI_KEYS: &[&[u8]] = &[b"Type", b"Cert", b"OCSP", b"CRL", b"TU", b"TS"];

/// What one revision after a signature did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// A new signature (its field, widget and appearance; filling a reserved field).
    Signature,
    /// Validation data: the DSS (and VRI) with certificates, OCSP responses and CRLs.
    ValidationData,
    /// A document time-stamp (`ETSI.RFC3161`).
    DocumentTimestamp,
    /// Form filling (field values and their appearances) other than signatures.
    FormFilling,
    /// Anything else, described (e.g. "page 1 content changed", "annotation added").
    Modification(String),
}

/// One revision after the signed one: its index (0 = the original file), where it ends
/// and what it changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevisionChange {
    /// Counted from 0 (the original file).
    pub revision: usize,
    /// Byte offset just past this revision's `%%EOF` line.
    pub end: usize,
    /// What it changed (empty: nothing).
    pub changes: Vec<Change>,
}

/// Byte offsets just past each revision's `%%EOF` (and its end-of-line), oldest first.
///
/// A marker counts when it starts a line and is followed by an end-of-line (`\r\n`, `\n`,
/// `\r`) or the end of the file; markers inside stream data (between `stream` after a
/// dictionary and `endstream`) do not count.
pub fn revision_ends(pdf: &[u8]) -> Vec<usize> {
    let mut ends = Vec::new();
    let mut i = 0;
    // Where no `endstream` follows any more (searched once, not again for every `stream`).
    let mut no_endstream_from = pdf.len();
    while i < pdf.len() {
        if let Some(data) = stream_data_at(pdf, i).filter(|&d| d < no_endstream_from) {
            match find(pdf, data, b"endstream") {
                Some(stop) => {
                    i = stop + b"endstream".len();
                    continue;
                }
                None => no_endstream_from = data,
            }
        }
        if pdf[i] == b'%' && pdf[i..].starts_with(b"%%EOF") && (i == 0 || matches!(pdf[i - 1], b'\n' | b'\r')) {
            let mut end = i + b"%%EOF".len();
            let counts = match pdf.get(end) {
                None => true,
                Some(b'\n') => {
                    end += 1;
                    true
                }
                Some(b'\r') => {
                    end += if pdf.get(end + 1) == Some(&b'\n') { 2 } else { 1 };
                    true
                }
                Some(_) => false,
            };
            if counts {
                ends.push(end);
            }
            i = end;
            continue;
        }
        i += 1;
    }
    ends
}

/// Where stream data starts when the `stream` keyword of a stream object starts at `i`:
/// after `>>` (and white space), followed by an end-of-line.
fn stream_data_at(pdf: &[u8], i: usize) -> Option<usize> {
    if pdf[i] != b's' || !pdf[i..].starts_with(b"stream") {
        return None;
    }
    let before = pdf[..i].iter().rposition(|b| !b.is_ascii_whitespace())?;
    if before < 1 || &pdf[before - 1..=before] != b">>" {
        return None;
    }
    let after = i + b"stream".len();
    match pdf.get(after..after + 2) {
        Some(b"\r\n") => Some(after + 2),
        _ => matches!(pdf.get(after), Some(b'\n' | b'\r')).then_some(after + 1),
    }
}

fn find(hay: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    hay.get(from..)?.windows(needle.len()).position(|w| w == needle).map(|p| p + from)
}

/// The revisions after the one ending at `signed_end` (a signature's byte range end) and
/// what each changed, judged under DocMDP `permission` (1, 2 or 3; `None` when the
/// document is not certified: form filling and signing are allowed, as pyHanko judges
/// approval signatures).
///
/// Errors when the signed revision or a later one cannot be read.
pub fn changes_after(pdf: &[u8], signed_end: usize, permission: Option<u8>) -> Result<Vec<RevisionChange>, PadesError> {
    let base = pdf.get(..signed_end).ok_or_else(|| PadesError::Pdf("the signed range lies outside the file".into()))?;
    let mut ends: Vec<usize> = revision_ends(pdf).into_iter().filter(|&e| e > signed_end).collect();
    // Bytes after the last marker that are more than white space: read as one more revision.
    let last = ends.last().copied().unwrap_or(signed_end);
    if pdf[last..].iter().any(|b| !b.is_ascii_whitespace() && *b != 0) {
        ends.push(pdf.len());
    }
    let all = revision_ends(pdf);
    let mut old = load(base)?;
    let mut out = Vec::with_capacity(ends.len());
    for end in ends {
        let revision = all.iter().position(|&e| e == end).unwrap_or(all.len());
        let new = load(&pdf[..end]).map_err(|e| PadesError::Pdf(format!("revision {revision}: {e}")))?;
        let changes = Diff::new(&old, &new, permission).run();
        out.push(RevisionChange { revision, end, changes });
        old = new;
    }
    Ok(out)
}

/// The internal kinds of change, before they become [`Change`]s.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Signature,
    ValidationData,
    DocumentTimestamp,
    FormFilling,
}

impl Kind {
    fn change(self) -> Change {
        match self {
            Self::Signature => Change::Signature,
            Self::ValidationData => Change::ValidationData,
            Self::DocumentTimestamp => Change::DocumentTimestamp,
            Self::FormFilling => Change::FormFilling,
        }
    }
}

/// pyHanko's modification levels that explained changes reach: `LTA_UPDATES` (allowed even
/// under DocMDP P=1) and `FORM_FILLING` (allowed under P=2, P=3 and without certification).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Level {
    Lta,
    FormFilling,
}

/// A form field: its object, dictionary, type (inherited) and widgets (kids without `/T`).
struct Field<'a> {
    id: ObjectId,
    dict: &'a Dictionary,
    ft: Option<&'a [u8]>,
    widgets: Vec<(ObjectId, &'a Dictionary)>,
}

impl Field<'_> {
    fn is_signature(&self) -> bool {
        self.ft == Some(b"Sig")
    }
}

/// One revision compared with the previous one.
struct Diff<'a> {
    old: &'a Document,
    new: &'a Document,
    permission: Option<u8>,
    /// Objects the revision added or changed (and that something refers to).
    pending: BTreeSet<ObjectId>,
    /// Objects in the old revision that the new one lacks.
    deleted: Vec<ObjectId>,
    /// Explained objects: their kind (none: neutral) and level.
    explained: BTreeMap<ObjectId, (Option<Kind>, Level)>,
    /// Modifications found by the rules.
    problems: Vec<String>,
    /// The widgets of new signature fields (which may join the pages' `/Annots`).
    widgets: BTreeSet<ObjectId>,
    /// Objects a problem already describes.
    blamed: BTreeSet<ObjectId>,
}

/// The object `value` refers to, if it is a reference.
fn reference(value: Option<&Object>) -> Option<ObjectId> {
    match value {
        Some(Object::Reference(id)) => Some(*id),
        _ => None,
    }
}

/// Whether an object is an object stream or a cross-reference stream (file structure).
fn is_structure(obj: &Object) -> bool {
    matches!(obj, Object::Stream(s) if s.dict.has_type(b"ObjStm") || s.dict.has_type(b"XRef"))
}

/// Whether two objects have the same content (strings: their bytes, whether written as
/// literal or hexadecimal; streams: dictionary and data).
fn same(a: &Object, b: &Object) -> bool {
    same_at(a, b, 0)
}

fn same_at(a: &Object, b: &Object, depth: usize) -> bool {
    if depth > MAX_DEPTH {
        return false;
    }
    match (a, b) {
        (Object::String(x, _), Object::String(y, _)) => x == y,
        (Object::Array(x), Object::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same_at(a, b, depth + 1))
        }
        (Object::Dictionary(x), Object::Dictionary(y)) => same_dict(x, y, depth),
        (Object::Stream(x), Object::Stream(y)) => same_dict(&x.dict, &y.dict, depth) && x.content == y.content,
        _ => a == b,
    }
}

fn same_dict(x: &Dictionary, y: &Dictionary, depth: usize) -> bool {
    x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_ok_and(|w| same_at(v, w, depth + 1)))
}

/// The references directly inside `obj` (through arrays, dictionaries, stream dictionaries).
fn refs_in(obj: &Object, out: &mut Vec<ObjectId>, depth: usize) {
    if depth > MAX_DEPTH {
        return;
    }
    match obj {
        Object::Reference(id) => out.push(*id),
        Object::Array(items) => items.iter().for_each(|o| refs_in(o, out, depth + 1)),
        Object::Dictionary(d) => d.iter().for_each(|(_, o)| refs_in(o, out, depth + 1)),
        Object::Stream(s) => s.dict.iter().for_each(|(_, o)| refs_in(o, out, depth + 1)),
        _ => {}
    }
}

/// The keys whose values differ between `old` and `new` (present in one only, or unequal),
/// `ignored` keys aside.
fn differing(old: &Dictionary, new: &Dictionary, ignored: &[&[u8]]) -> Vec<Vec<u8>> {
    let mut keys: Vec<Vec<u8>> = Vec::new();
    for (k, _) in old.iter().chain(new.iter()) {
        if ignored.contains(&k.as_slice()) || keys.contains(k) {
            continue;
        }
        let equal = match (old.get(k), new.get(k)) {
            (Ok(a), Ok(b)) => same(a, b),
            _ => false,
        };
        if !equal {
            keys.push(k.clone());
        }
    }
    keys
}

/// A PDF text string (UTF-16BE with a byte order mark, else PDFDocEncoding read as Latin-1).
fn text(bytes: &[u8]) -> String {
    match bytes.strip_prefix(&[0xFE, 0xFF]) {
        Some(rest) => {
            let units: Vec<u16> = rest.chunks_exact(2).map(|c| u16::from_be_bytes([c[0], c[1]])).collect();
            String::from_utf16_lossy(&units)
        }
        None => bytes.iter().map(|&b| char::from(b)).collect(),
    }
}

/// Whether an annotation has an area (pyHanko's visibility test).
fn has_area(doc: &Document, annot: &Dictionary) -> bool {
    let Some(rect) = annot.get(b"Rect").ok().and_then(|r| deref(doc, r)).and_then(|r| r.as_array().ok()) else {
        return false;
    };
    let n: Vec<f32> = rect.iter().filter_map(|o| deref(doc, o)?.as_float().ok()).collect();
    match n.as_slice() {
        [x1, y1, x2, y2] => ((x1 - x2) * (y1 - y2)).abs() > 0.0,
        _ => false,
    }
}

/// The fields of a form by fully qualified name (fields without `/T` are widgets).
fn list_fields<'a>(doc: &'a Document, fields: Option<&'a Object>) -> BTreeMap<String, Field<'a>> {
    let mut out = BTreeMap::new();
    if let Some(items) = fields.and_then(|f| deref(doc, f)).and_then(|f| f.as_array().ok()) {
        walk_fields(doc, items, "", None, 0, &mut out, &mut BTreeSet::new());
    }
    out
}

fn walk_fields<'a>(
    doc: &'a Document,
    items: &'a [Object],
    parent: &str,
    inherited: Option<&'a [u8]>,
    depth: usize,
    out: &mut BTreeMap<String, Field<'a>>,
    seen: &mut BTreeSet<ObjectId>,
) {
    for item in items {
        let Object::Reference(id) = item else { continue };
        if !seen.insert(*id) {
            continue;
        }
        let Some(dict) = doc.get_object(*id).ok().and_then(|o| o.as_dict().ok()) else { continue };
        let Some(name) = dict.get(b"T").ok().and_then(|t| deref(doc, t)).and_then(|t| t.as_str().ok()) else {
            continue;
        };
        let name = if parent.is_empty() { text(name) } else { format!("{parent}.{}", text(name)) };
        let ft = dict.get(b"FT").ok().and_then(|t| deref(doc, t)).and_then(|t| t.as_name().ok()).or(inherited);
        let kids = dict.get(b"Kids").ok().and_then(|k| deref(doc, k)).and_then(|k| k.as_array().ok());
        let widgets = kids
            .into_iter()
            .flatten()
            .filter_map(|k| {
                let Object::Reference(kid) = k else { return None };
                let d = doc.get_object(*kid).ok()?.as_dict().ok()?;
                d.get(b"T").is_err().then_some((*kid, d))
            })
            .collect();
        if let (Some(kids), true) = (kids, depth < MAX_DEPTH) {
            walk_fields(doc, kids, &name, ft, depth + 1, out, seen);
        }
        out.insert(name, Field { id: *id, dict, ft, widgets });
    }
}

impl<'a> Diff<'a> {
    fn new(old: &'a Document, new: &'a Document, permission: Option<u8>) -> Self {
        let mut pending: BTreeSet<ObjectId> = new
            .objects
            .iter()
            .filter(|(id, o)| !is_structure(o) && old.objects.get(id).is_none_or(|p| !same(p, o)))
            .map(|(id, _)| *id)
            .collect();
        let deleted =
            old.objects.iter().filter(|(id, o)| !is_structure(o) && !new.objects.contains_key(id)).map(|(id, _)| *id);
        let deleted = deleted.collect();
        // New objects that neither the trailer nor a changed object leads to are orphans.
        let mut reached = BTreeSet::new();
        let mut queue = Vec::new();
        for (_, v) in new.trailer.iter() {
            refs_in(v, &mut queue, 0);
        }
        for id in pending.iter().filter(|id| old.objects.contains_key(id)) {
            if let Some(o) = new.objects.get(id) {
                refs_in(o, &mut queue, 0);
            }
        }
        let mut truncated = false;
        while let Some(id) = queue.pop() {
            if reached.len() > MAX_DEPS {
                truncated = true;
                break;
            }
            if !reached.insert(id) || old.objects.contains_key(&id) {
                continue;
            }
            if let Some(o) = new.objects.get(&id) {
                refs_in(o, &mut queue, 0);
            }
        }
        // (Past the bound every new object counts.)
        if !truncated {
            pending.retain(|id| old.objects.contains_key(id) || reached.contains(id));
        }
        Self {
            old,
            new,
            permission,
            pending,
            deleted,
            explained: BTreeMap::new(),
            problems: Vec::new(),
            widgets: BTreeSet::new(),
            blamed: BTreeSet::new(),
        }
    }

    fn is_new(&self, id: ObjectId) -> bool {
        !self.old.objects.contains_key(&id)
    }

    fn problem(&mut self, what: impl Into<String>) {
        let what = what.into();
        if !self.problems.contains(&what) {
            self.problems.push(what);
        }
    }

    /// A problem with an object (which needs no description of its own then).
    fn blame(&mut self, id: Option<ObjectId>, what: impl Into<String>) {
        self.blamed.extend(id);
        self.problem(what);
    }

    fn explain(&mut self, id: ObjectId, kind: Option<Kind>, level: Level) {
        let entry = self.explained.entry(id).or_insert((kind, level));
        entry.0 = entry.0.or(kind);
        entry.1 = entry.1.max(level);
    }

    /// Explains the object a dictionary entry refers to when it is new or was the entry's
    /// object before too (an existing object is never taken over from elsewhere).
    fn slot(&mut self, new_value: Option<&Object>, old_value: Option<&Object>, kind: Option<Kind>, level: Level) {
        if let Some(Object::Reference(id)) = new_value
            && (self.is_new(*id) || old_value == Some(&Object::Reference(*id)))
        {
            self.explain(*id, kind, level);
        }
    }

    /// Explains the new objects `obj` leads to (through new objects only).
    fn deps(&mut self, obj: &Object, kind: Option<Kind>, level: Level) {
        let mut queue = Vec::new();
        refs_in(obj, &mut queue, 0);
        let mut seen = BTreeSet::new();
        while let Some(id) = queue.pop() {
            if seen.len() > MAX_DEPS || !self.is_new(id) || !seen.insert(id) {
                continue;
            }
            self.explain(id, kind, level);
            if let Some(o) = self.new.objects.get(&id) {
                refs_in(o, &mut queue, 0);
            }
        }
    }

    fn run(mut self) -> Vec<Change> {
        let (old, new) = (self.old, self.new);
        for id in self.deleted.clone() {
            self.problem(format!("object {} was deleted", id.0));
        }
        self.slot(new.trailer.get(b"Info").ok(), old.trailer.get(b"Info").ok(), None, Level::Lta);
        match (old.catalog(), new.catalog()) {
            (Ok(old_cat), Ok(new_cat)) => {
                if !differing(old_cat, new_cat, CATALOG_MUTABLE).is_empty() {
                    self.blame(reference(new.trailer.get(b"Root").ok()), "the catalog changed");
                }
                if let Ok(Object::Reference(root)) = new.trailer.get(b"Root") {
                    self.explain(*root, None, Level::Lta);
                }
                for key in [&b"Extensions"[..], b"MarkInfo", b"Metadata"] {
                    self.slot(new_cat.get(key).ok(), old_cat.get(key).ok(), None, Level::Lta);
                }
                self.dss(old_cat, new_cat);
                self.forms(old_cat, new_cat);
            }
            (Ok(_), Err(_)) => self.problem("the catalog is missing"),
            _ => {}
        }
        self.pages();
        self.finish()
    }

    /// The Document Security Store.
    fn dss(&mut self, old_cat: &'a Dictionary, new_cat: &'a Dictionary) {
        let (old, new) = (self.old, self.new);
        let old_dss = old_cat.get(b"DSS").ok();
        let Ok(value) = new_cat.get(b"DSS") else {
            if old_dss.is_some() {
                self.problem("the DSS was removed");
            }
            return;
        };
        let vd = Some(Kind::ValidationData);
        self.slot(Some(value), old_dss, vd, Level::Lta);
        let Some(dss) = dict_deref(new, value) else {
            self.problem("the DSS is not a dictionary");
            return;
        };
        if dss.iter().any(|(k, _)| !DSS_KEYS.contains(&k.as_slice())) {
            self.blame(reference(Some(value)), "the DSS has unexpected entries");
        }
        let old_dss = old_dss.and_then(|d| dict_deref(old, d));
        for key in [&b"Certs"[..], b"OCSPs", b"CRLs"] {
            self.streams(dss.get(key).ok(), old_dss.and_then(|d| d.get(key).ok()));
        }
        let Ok(vri) = dss.get(b"VRI") else { return };
        let old_vri = old_dss.and_then(|d| d.get(b"VRI").ok());
        self.slot(Some(vri), old_vri, vd, Level::Lta);
        let Some(vri) = dict_deref(new, vri) else {
            self.problem("the DSS's VRI is not a dictionary");
            return;
        };
        let old_vri = old_vri.and_then(|v| dict_deref(old, v));
        for (key, entry) in vri.iter() {
            let old_entry = old_vri.and_then(|v| v.get(key).ok());
            self.slot(Some(entry), old_entry, vd, Level::Lta);
            let Some(e) = dict_deref(new, entry) else {
                self.problem("a VRI entry is not a dictionary");
                continue;
            };
            if e.iter().any(|(k, _)| !VRI_KEYS.contains(&k.as_slice())) {
                self.blame(reference(Some(entry)), "a VRI entry has unexpected entries");
            }
            let old_entry = old_entry.and_then(|v| dict_deref(old, v));
            for key in [&b"Cert"[..], b"OCSP", b"CRL"] {
                self.streams(e.get(key).ok(), old_entry.and_then(|v| v.get(key).ok()));
            }
            if let Ok(ts) = e.get(b"TS") {
                self.new_stream(ts);
            }
        }
    }

    /// A DSS array of streams: the array (when indirect) and its new streams.
    fn streams(&mut self, new_value: Option<&Object>, old_value: Option<&Object>) {
        let new = self.new;
        let Some(value) = new_value else { return };
        self.slot(Some(value), old_value, Some(Kind::ValidationData), Level::Lta);
        for item in deref(new, value).and_then(|a| a.as_array().ok()).into_iter().flatten() {
            self.new_stream(item);
        }
    }

    fn new_stream(&mut self, item: &Object) {
        if let Object::Reference(id) = item
            && self.is_new(*id)
            && matches!(self.new.objects.get(id), Some(Object::Stream(_)))
        {
            self.explain(*id, Some(Kind::ValidationData), Level::Lta);
        }
    }

    /// The form: its dictionary and each field.
    fn forms(&mut self, old_cat: &'a Dictionary, new_cat: &'a Dictionary) {
        let (old, new) = (self.old, self.new);
        let old_value = old_cat.get(b"AcroForm").ok();
        let Ok(value) = new_cat.get(b"AcroForm") else {
            if old_value.is_some() {
                self.problem("the form was removed");
            }
            return;
        };
        self.slot(Some(value), old_value, None, Level::Lta);
        let Some(form) = dict_deref(new, value) else {
            self.problem("the form is not a dictionary");
            return;
        };
        let empty = Dictionary::new();
        let old_form = old_value.and_then(|v| dict_deref(old, v));
        if !differing(old_form.unwrap_or(&empty), form, ACROFORM_MUTABLE).is_empty() {
            self.blame(reference(Some(value)), "the form's settings changed");
        }
        let old_fields = old_form.and_then(|f| f.get(b"Fields").ok());
        self.slot(form.get(b"Fields").ok(), old_fields, None, Level::Lta);
        if let Ok(dr) = form.get(b"DR") {
            self.slot(Some(dr), old_form.and_then(|f| f.get(b"DR").ok()), None, Level::FormFilling);
            self.deps(dr, None, Level::FormFilling);
        }
        let before = list_fields(old, old_fields);
        let after = list_fields(new, form.get(b"Fields").ok());
        for (name, field) in &before {
            if !after.contains_key(name) {
                if field.is_signature() && field.dict.has(b"V") {
                    self.problem("a signature was removed");
                } else {
                    self.problem(format!("form field {name} was removed"));
                }
            }
        }
        for (name, field) in &after {
            match before.get(name) {
                None => self.new_field(name, field),
                Some(previous) => self.changed_field(name, previous, field),
            }
        }
    }

    fn visible(&self, field: &Field<'_>) -> bool {
        has_area(self.new, field.dict) || field.widgets.iter().any(|(_, w)| has_area(self.new, w))
    }

    /// A signature field's new value: the signature dictionary (a new object), explained;
    /// its kind, or `None` (a modification) when it is not a new dictionary.
    fn signature_value(&mut self, name: &str, field: &Field<'a>, visible: bool) -> Option<Kind> {
        let new = self.new;
        let value = field.dict.get(b"V").ok()?;
        let Object::Reference(id) = value else {
            self.problem(format!("signature field {name} has a direct value"));
            return None;
        };
        let Some(sig) = new.get_object(*id).ok().and_then(|o| o.as_dict().ok()).filter(|_| self.is_new(*id)) else {
            self.problem(format!("signature field {name} refers to an object that is not a new signature"));
            return None;
        };
        let doc_ts_type = sig.has_type(b"DocTimeStamp");
        let rfc3161 = sig.get(b"SubFilter").and_then(Object::as_name).is_ok_and(|n| n == b"ETSI.RFC3161");
        let kind = if doc_ts_type || rfc3161 { Kind::DocumentTimestamp } else { Kind::Signature };
        // pyHanko: only an invisible /Type /DocTimeStamp is an LTA update.
        let level = if doc_ts_type && !visible { Level::Lta } else { Level::FormFilling };
        self.explain(*id, Some(kind), level);
        for r in
            sig.get(b"Reference").ok().and_then(|r| deref(new, r)).and_then(|r| r.as_array().ok()).into_iter().flatten()
        {
            self.slot(Some(r), None, Some(kind), level);
            if let Some(rd) = dict_deref(new, r) {
                self.slot(rd.get(b"TransformParams").ok(), None, Some(kind), level);
            }
        }
        Some(kind)
    }

    /// A field the revision added: only signature fields may be added.
    fn new_field(&mut self, name: &str, field: &Field<'a>) {
        if !field.is_signature() {
            self.blame(Some(field.id), format!("form field {name} was added"));
            return;
        }
        let visible = self.visible(field);
        if visible && self.permission.is_some() {
            self.problem("a visible signature field was added after certification");
        }
        let kind = self.signature_value(name, field, visible).unwrap_or(Kind::Signature);
        let level = if visible { Level::FormFilling } else { Level::Lta };
        if self.is_new(field.id) {
            self.explain(field.id, Some(kind), level);
        }
        for key in [&b"AP"[..], b"Lock", b"SV"] {
            if let Ok(v) = field.dict.get(key) {
                self.deps(v, Some(kind), Level::FormFilling);
            }
        }
        self.slot(field.dict.get(b"Kids").ok(), None, Some(kind), level);
        if field.widgets.is_empty() {
            self.widgets.insert(field.id);
        }
        for (id, widget) in &field.widgets {
            self.widgets.insert(*id);
            if self.is_new(*id) {
                self.explain(*id, Some(kind), level);
            }
            if let Ok(ap) = widget.get(b"AP") {
                self.deps(ap, Some(kind), Level::FormFilling);
            }
        }
    }

    /// A field present before: a signature field may be signed once (not changed after);
    /// another field may change its value and appearance.
    fn changed_field(&mut self, name: &str, before: &Field<'a>, after: &Field<'a>) {
        if before.ft != after.ft {
            self.blame(Some(after.id), format!("form field {name} changed type"));
            return;
        }
        let changed = |ignored: &[&[u8]]| !differing(before.dict, after.dict, ignored).is_empty();
        if after.is_signature() {
            let (was, now) = (before.dict.has(b"V"), after.dict.has(b"V"));
            if was || !now {
                if changed(FIELD_ALWAYS_MUTABLE) {
                    self.blame(
                        Some(after.id),
                        if was && !now {
                            "a signature was removed".to_string()
                        } else {
                            format!("signature field {name} changed")
                        },
                    );
                } else {
                    self.explain(after.id, None, Level::Lta);
                }
                return;
            }
            if changed(FIELD_VALUE_KEYS) {
                self.blame(Some(after.id), format!("signature field {name} changed"));
                return;
            }
            let visible = self.visible(after);
            let kind = self.signature_value(name, after, visible).unwrap_or(Kind::Signature);
            self.explain(after.id, Some(kind), Level::Lta);
            self.fill_widgets(before, after, Some(kind));
        } else {
            if changed(FIELD_VALUE_KEYS) {
                self.blame(Some(after.id), format!("form field {name} changed"));
                return;
            }
            let kind = Some(Kind::FormFilling);
            self.explain(after.id, kind, Level::FormFilling);
            if let Ok(v) = after.dict.get(b"V")
                && !before.dict.get(b"V").is_ok_and(|w| same(v, w))
            {
                self.deps(v, kind, Level::FormFilling);
            }
            self.fill_widgets(before, after, kind);
        }
    }

    /// The appearances of a filled field and of its widgets (changing only in value keys).
    fn fill_widgets(&mut self, before: &Field<'a>, after: &Field<'a>, kind: Option<Kind>) {
        if let Ok(ap) = after.dict.get(b"AP") {
            self.deps(ap, kind, Level::FormFilling);
        }
        for (id, widget) in &after.widgets {
            let Some((_, old)) = before.widgets.iter().find(|(o, _)| o == id) else { continue };
            if differing(old, widget, FIELD_VALUE_KEYS).is_empty() {
                self.explain(*id, kind, Level::FormFilling);
                if let Ok(ap) = widget.get(b"AP") {
                    self.deps(ap, kind, Level::FormFilling);
                }
            }
        }
    }

    /// The pages: unchanged but for `/Annots` gaining the widgets of new signature fields.
    fn pages(&mut self) {
        let (old, new) = (self.old, self.new);
        let (before, after) = (pages(old), pages(new));
        if before != after {
            self.problem("the pages changed");
        }
        for (i, id) in after.iter().enumerate() {
            let n = i + 1;
            let (Some(op), Some(np)) = (
                old.get_object(*id).ok().and_then(|o| o.as_dict().ok()),
                new.get_object(*id).ok().and_then(|o| o.as_dict().ok()),
            ) else {
                continue;
            };
            let annots_ref = match np.get(b"Annots") {
                Ok(Object::Reference(a)) => Some(*a),
                _ => None,
            };
            if !self.pending.contains(id) && !annots_ref.is_some_and(|a| self.pending.contains(&a)) {
                continue;
            }
            self.blamed.extend(annots_ref);
            let keys = differing(op, np, &[b"Annots"]);
            if keys.iter().any(|k| k == b"Contents") {
                self.blame(Some(*id), format!("page {n} content changed"));
                continue;
            }
            if !keys.is_empty() {
                self.blame(Some(*id), format!("page {n} changed"));
                continue;
            }
            let annots = |doc: &'a Document, page: &'a Dictionary| -> Vec<&'a Object> {
                page.get(b"Annots")
                    .ok()
                    .and_then(|a| deref(doc, a))
                    .and_then(|a| a.as_array().ok())
                    .map(|a| a.iter().collect())
                    .unwrap_or_default()
            };
            let (was, now) = (annots(old, op), annots(new, np));
            if was.iter().any(|a| !now.contains(a)) {
                self.blame(Some(*id), format!("an annotation was removed from page {n}"));
            }
            let foreign = now.iter().filter(|a| !was.contains(a)).any(|a| match a {
                Object::Reference(r) => !self.widgets.contains(r),
                _ => true,
            });
            if foreign {
                self.blame(Some(*id), format!("annotation added on page {n}"));
            }
            if !foreign && was.iter().all(|a| now.contains(a)) {
                self.explain(*id, None, Level::Lta);
                self.slot(np.get(b"Annots").ok(), op.get(b"Annots").ok(), None, Level::Lta);
            }
        }
    }

    /// A short description of an object nothing explains.
    fn describe(&self, id: ObjectId, page_of: &BTreeMap<ObjectId, (usize, &'static str)>) -> String {
        let fresh = self.is_new(id);
        if let Some((n, role)) = page_of.get(&id) {
            return match *role {
                "page" => format!("page {n} changed"),
                "contents" => format!("page {n} content changed"),
                _ if fresh => format!("annotation added on page {n}"),
                _ => format!("annotation changed on page {n}"),
            };
        }
        let dict = self.new.objects.get(&id).and_then(|o| match o {
            Object::Dictionary(d) => Some(d),
            Object::Stream(s) => Some(&s.dict),
            _ => None,
        });
        if self.new.trailer.get(b"Root").ok() == Some(&Object::Reference(id)) {
            "the catalog changed".into()
        } else if dict.is_some_and(|d| d.has(b"ByteRange")) {
            "a signature dictionary changed".into()
        } else if dict.is_some_and(|d| d.has_type(b"Pages")) {
            "the page tree changed".into()
        } else if dict.is_some_and(|d| d.has_type(b"Annot")) {
            if fresh { "an annotation was added".into() } else { "an annotation changed".into() }
        } else if fresh {
            format!("object {} added", id.0)
        } else {
            format!("object {} changed", id.0)
        }
    }

    fn finish(mut self) -> Vec<Change> {
        let mut kinds: Vec<Kind> = Vec::new();
        let mut beyond_p1: Vec<Option<Kind>> = Vec::new();
        let mut unexplained = Vec::new();
        for id in &self.pending {
            match self.explained.get(id) {
                Some(&(kind, level)) => {
                    if let Some(k) = kind
                        && !kinds.contains(&k)
                    {
                        kinds.push(k);
                    }
                    if level == Level::FormFilling && !beyond_p1.contains(&kind) {
                        beyond_p1.push(kind);
                    }
                }
                None if self.blamed.contains(id) => {}
                None => unexplained.push(*id),
            }
        }
        if self.permission == Some(1) {
            for kind in beyond_p1 {
                self.problem(match kind {
                    Some(Kind::Signature) => "a signature was added after a certification that allows no changes",
                    Some(Kind::FormFilling) => {
                        "a form field was filled in after a certification that allows no changes"
                    }
                    Some(Kind::DocumentTimestamp) => {
                        "a visible document time-stamp was added after a certification that allows no changes"
                    }
                    _ => "the form was changed after a certification that allows no changes",
                });
            }
        }
        // Objects nothing explains, each new one described through the first unexplained
        // object that refers to it (an annotation, not its appearance stream).
        let mut page_of: BTreeMap<ObjectId, (usize, &'static str)> = BTreeMap::new();
        for (i, page) in pages(self.new).into_iter().enumerate() {
            page_of.insert(page, (i + 1, "page"));
            if let Some(p) = self.new.get_object(page).ok().and_then(|o| o.as_dict().ok()) {
                for (key, role) in [(&b"Contents"[..], "contents"), (b"Annots", "annot")] {
                    let mut refs = Vec::new();
                    if let Ok(v) = p.get(key) {
                        refs_in(v, &mut refs, 0);
                        if let Some(arr) = deref(self.new, v).and_then(|a| a.as_array().ok()) {
                            arr.iter().for_each(|o| refs_in(o, &mut refs, 0));
                        }
                    }
                    for r in refs {
                        page_of.entry(r).or_insert((i + 1, role));
                    }
                }
            }
        }
        let mut covered = BTreeSet::new();
        for id in unexplained.iter().chain(self.blamed.iter()) {
            let mut refs = Vec::new();
            if let Some(o) = self.new.objects.get(id) {
                refs_in(o, &mut refs, 0);
            }
            covered.extend(refs.into_iter().filter(|r| r != id && self.is_new(*r) && !page_of.contains_key(r)));
        }
        let mut described = Vec::new();
        for id in &unexplained {
            if !covered.contains(id) {
                described.push(self.describe(*id, &page_of));
            }
        }
        if described.is_empty()
            && self.problems.is_empty()
            && let Some(first) = unexplained.first()
        {
            described.push(self.describe(*first, &page_of));
        }
        for d in described {
            self.problem(d);
        }
        kinds.into_iter().map(Kind::change).chain(self.problems.into_iter().map(Change::Modification)).collect()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use std::fmt::Write as _;

    use super::*;

    /// The signed original: a page with a text field (merged widget) and a signed, invisible
    /// signature field.
    fn base() -> Vec<u8> {
        let objects: [&str; 8] = [
            "<< /Type /Catalog /Pages 2 0 R /AcroForm 5 0 R >>",
            "<< /Type /Pages /Kids [3 0 R] /Count 1 /MediaBox [0 0 595 842] >>",
            "<< /Type /Page /Parent 2 0 R /Contents 4 0 R /Annots [6 0 R 7 0 R] >>",
            "<< /Length 20 >>\nstream\nBT (Hello) Tj ET   \nendstream",
            "<< /Fields [6 0 R 7 0 R] /SigFlags 3 >>",
            "<< /Type /Annot /Subtype /Widget /FT /Tx /T (name) /V (old) /Rect [10 10 100 30] /P 3 0 R >>",
            "<< /Type /Annot /Subtype /Widget /FT /Sig /T (Signature1) /V 8 0 R /F 132 /Rect [0 0 0 0] /P 3 0 R >>",
            "<< /Type /Sig /Filter /Adobe.PPKLite /SubFilter /ETSI.CAdES.detached /ByteRange [0 1 2 3] /Contents <00> >>",
        ];
        let mut buf = b"%PDF-1.7\n%\xE2\xE3\xCF\xD3\n".to_vec();
        let mut offsets = Vec::new();
        for (i, body) in objects.iter().enumerate() {
            offsets.push(buf.len());
            buf.extend_from_slice(format!("{} 0 obj\n{body}\nendobj\n", i + 1).as_bytes());
        }
        let xref = buf.len();
        let mut t = format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1);
        for off in offsets {
            let _ = writeln!(t, "{off:010} 00000 n ");
        }
        let _ = write!(t, "trailer\n<< /Size 9 /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n");
        buf.extend_from_slice(t.as_bytes());
        buf
    }

    /// Appends an incremental update (classic cross-reference section) with `objects`.
    fn update(pdf: &[u8], objects: &[(u32, &str)]) -> Vec<u8> {
        let prev = startxref(pdf);
        let mut out = pdf.to_vec();
        let mut t = String::from("xref\n0 1\n0000000000 65535 f \n");
        let mut size = 9;
        let mut entries = Vec::new();
        for (id, body) in objects {
            entries.push((*id, out.len()));
            out.extend_from_slice(format!("{id} 0 obj\n{body}\nendobj\n").as_bytes());
            size = size.max(id + 1);
        }
        for (id, off) in entries {
            let _ = write!(t, "{id} 1\n{off:010} 00000 n \n");
        }
        let xref = out.len();
        let _ = write!(t, "trailer\n<< /Size {size} /Root 1 0 R /Prev {prev} >>\nstartxref\n{xref}\n%%EOF\n");
        out.extend_from_slice(t.as_bytes());
        out
    }

    fn startxref(pdf: &[u8]) -> usize {
        let at = pdf.windows(9).rposition(|w| w == b"startxref").unwrap() + 9;
        let digits: String = pdf[at..]
            .iter()
            .map(|&b| b as char)
            .skip_while(char::is_ascii_whitespace)
            .take_while(char::is_ascii_digit)
            .collect();
        digits.parse().unwrap()
    }

    fn changes(pdf: &[u8], permission: Option<u8>) -> Vec<Change> {
        let signed = base().len();
        let revs = changes_after(pdf, signed, permission).unwrap();
        revs.into_iter().flat_map(|r| r.changes).collect()
    }

    fn modified(changes: &[Change]) -> Vec<&str> {
        changes
            .iter()
            .filter_map(|c| match c {
                Change::Modification(m) => Some(m.as_str()),
                _ => None,
            })
            .collect()
    }

    const SIG: &str =
        "<< /Type /Sig /Filter /Adobe.PPKLite /SubFilter /ETSI.CAdES.detached /ByteRange [0 1 2 3] /Contents <00> >>";
    const DOC_TS: &str =
        "<< /Type /DocTimeStamp /Filter /Adobe.PPKLite /SubFilter /ETSI.RFC3161 /ByteRange [0 1 2 3] /Contents <00> >>";

    /// A second signature: field 9 (with `rect` and an appearance when visible), value 10.
    fn second_signature(value: &str, rect: &str) -> Vec<u8> {
        let visible = rect != "[0 0 0 0]";
        let ap = if visible { " /AP << /N 11 0 R >>" } else { "" };
        let field = format!(
            "<< /Type /Annot /Subtype /Widget /FT /Sig /T (Signature2) /V 10 0 R /F 4 /Rect {rect} /P 3 0 R{ap} >>"
        );
        let mut objects = vec![
            (3, "<< /Type /Page /Parent 2 0 R /Contents 4 0 R /Annots [6 0 R 7 0 R 9 0 R] >>".to_string()),
            (5, "<< /Fields [6 0 R 7 0 R 9 0 R] /SigFlags 3 >>".to_string()),
            (9, field),
            (10, value.to_string()),
        ];
        if visible {
            objects.push((
                11,
                "<< /Type /XObject /Subtype /Form /BBox [0 0 60 60] /Resources << /Font << /F1 12 0 R >> >> /Length 8 >>\nstream\n0 0 1 rg\nendstream".into(),
            ));
            objects.push((12, "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".into()));
        }
        let objects: Vec<(u32, &str)> = objects.iter().map(|(i, b)| (*i, b.as_str())).collect();
        update(&base(), &objects)
    }

    #[test]
    fn revision_ends_follow_the_eof_markers() {
        assert_eq!(revision_ends(b"%PDF-1.7\n%%EOF\n"), vec![15]);
        assert_eq!(revision_ends(b"%PDF\n%%EOF\r\nx\n%%EOF\r"), vec![12, 20]);
        assert_eq!(revision_ends(b"%PDF\n%%EOF"), vec![10]);
        // Not at a line start, not followed by an end-of-line, inside stream data.
        assert_eq!(revision_ends(b"%PDF\nx %%EOF\n%%EOFx\n%%EOF\n"), vec![26]);
        let in_stream = b"%PDF\n1 0 obj\n<< /Length 7 >>\nstream\n\n%%EOF\n\nendstream\nendobj\n%%EOF\n";
        assert_eq!(revision_ends(in_stream), vec![in_stream.len()]);
        let base = base();
        assert_eq!(revision_ends(&base), vec![base.len()]);
        let twice = update(&base, &[(4, "<< /Length 20 >>\nstream\nBT (Hello) Tj ET   \nendstream")]);
        assert_eq!(revision_ends(&twice), vec![base.len(), twice.len()]);
    }

    #[test]
    fn nothing_after_the_signature_and_unchanged_rewrites_are_no_changes() {
        let base = base();
        assert_eq!(changes_after(&base, base.len(), None).unwrap(), vec![]);
        let same = update(&base, &[(4, "<< /Length 20 >>\nstream\nBT (Hello) Tj ET   \nendstream")]);
        let revs = changes_after(&same, base.len(), None).unwrap();
        assert_eq!(revs, vec![RevisionChange { revision: 1, end: same.len(), changes: vec![] }]);
        // An object nothing refers to, and a new /Info dictionary.
        let orphan = update(&base, &[(9, "<< /Whatever 1 >>")]);
        assert_eq!(changes(&orphan, None), vec![]);
    }

    #[test]
    fn a_new_signature_is_signing() {
        for rect in ["[0 0 0 0]", "[100 100 160 160]"] {
            let pdf = second_signature(SIG, rect);
            assert_eq!(changes(&pdf, None), vec![Change::Signature], "{rect}");
            assert_eq!(changes(&pdf, Some(3)).first(), Some(&Change::Signature));
            // Under P=1 any signature is a modification.
            assert!(
                modified(&changes(&pdf, Some(1)))
                    .contains(&"a signature was added after a certification that allows no changes")
            );
        }
        // After certification an invisible one is fine, a new visible one is not.
        assert_eq!(changes(&second_signature(SIG, "[0 0 0 0]"), Some(2)), vec![Change::Signature]);
        assert_eq!(
            modified(&changes(&second_signature(SIG, "[100 100 160 160]"), Some(2))),
            vec!["a visible signature field was added after certification"]
        );
    }

    #[test]
    fn filling_a_reserved_field_is_signing() {
        let reserved = update(
            &base(),
            &[
                (3, "<< /Type /Page /Parent 2 0 R /Contents 4 0 R /Annots [6 0 R 7 0 R 9 0 R] >>"),
                (5, "<< /Fields [6 0 R 7 0 R 9 0 R] /SigFlags 3 >>"),
                (
                    9,
                    "<< /Type /Annot /Subtype /Widget /FT /Sig /T (Signature2) /F 4 /Rect [100 100 160 160] /P 3 0 R >>",
                ),
            ],
        );
        let signed = reserved.len();
        let filled = update(
            &reserved,
            &[
                (
                    9,
                    "<< /Type /Annot /Subtype /Widget /FT /Sig /T (Signature2) /F 4 /Rect [100 100 160 160] /P 3 0 R /V 10 0 R /AP << /N 11 0 R >> >>",
                ),
                (10, SIG),
                (11, "<< /Type /XObject /Subtype /Form /BBox [0 0 60 60] /Length 8 >>\nstream\n0 0 1 rg\nendstream"),
            ],
        );
        let all =
            |p| changes_after(&filled, signed, p).unwrap().into_iter().flat_map(|r| r.changes).collect::<Vec<_>>();
        assert_eq!(all(Some(2)), vec![Change::Signature]);
        assert_eq!(all(None), vec![Change::Signature]);
        assert!(!modified(&all(Some(1))).is_empty());
    }

    #[test]
    fn the_dss_is_validation_data() {
        let pdf = update(
            &base(),
            &[
                (1, "<< /Type /Catalog /Pages 2 0 R /AcroForm 5 0 R /DSS 9 0 R >>"),
                (9, "<< /Type /DSS /Certs [10 0 R] /OCSPs [11 0 R] /VRI 12 0 R >>"),
                (10, "<< /Length 2 >>\nstream\n0\x00\nendstream"),
                (11, "<< /Length 2 >>\nstream\n0\x01\nendstream"),
                (12, "<< /0123456789ABCDEF0123456789ABCDEF01234567 << /Cert [10 0 R] /OCSP [11 0 R] >> >>"),
            ],
        );
        for p in [None, Some(1), Some(2), Some(3)] {
            assert_eq!(changes(&pdf, p), vec![Change::ValidationData], "{p:?}");
        }
        // Not a DSS: an existing object (the page's content) pulled into it.
        let sneaky = update(
            &base(),
            &[
                (1, "<< /Type /Catalog /Pages 2 0 R /AcroForm 5 0 R /DSS 9 0 R >>"),
                (9, "<< /Type /DSS /Certs [4 0 R] >>"),
                (4, "<< /Length 20 >>\nstream\nBT (Jello) Tj ET   \nendstream"),
            ],
        );
        assert_eq!(modified(&changes(&sneaky, None)), vec!["page 1 content changed"]);
        let odd = update(
            &base(),
            &[
                (1, "<< /Type /Catalog /Pages 2 0 R /AcroForm 5 0 R /DSS 9 0 R >>"),
                (9, "<< /Type /DSS /JavaScript 3 >>"),
            ],
        );
        assert_eq!(modified(&changes(&odd, None)), vec!["the DSS has unexpected entries"]);
    }

    #[test]
    fn a_document_timestamp_is_allowed_even_under_p1() {
        let pdf = second_signature(DOC_TS, "[0 0 0 0]");
        for p in [None, Some(1), Some(2)] {
            assert_eq!(changes(&pdf, p), vec![Change::DocumentTimestamp], "{p:?}");
        }
    }

    #[test]
    fn form_filling_is_allowed_unless_p1() {
        let pdf = update(
            &base(),
            &[
                (
                    6,
                    "<< /Type /Annot /Subtype /Widget /FT /Tx /T (name) /V (new) /Rect [10 10 100 30] /P 3 0 R /AP << /N 9 0 R >> >>",
                ),
                (9, "<< /Type /XObject /Subtype /Form /BBox [0 0 90 20] /Length 8 >>\nstream\n0 0 1 rg\nendstream"),
            ],
        );
        for p in [None, Some(2), Some(3)] {
            assert_eq!(changes(&pdf, p), vec![Change::FormFilling], "{p:?}");
        }
        assert_eq!(
            modified(&changes(&pdf, Some(1))),
            vec!["a form field was filled in after a certification that allows no changes"]
        );
        // Moving the field is not filling it.
        let moved = update(
            &base(),
            &[(6, "<< /Type /Annot /Subtype /Widget /FT /Tx /T (name) /V (old) /Rect [10 500 100 530] /P 3 0 R >>")],
        );
        assert_eq!(modified(&changes(&moved, None)), vec!["form field name changed"]);
        // A new text field is not allowed.
        let added = update(
            &base(),
            &[(5, "<< /Fields [6 0 R 7 0 R 9 0 R] /SigFlags 3 >>"), (9, "<< /FT /Tx /T (extra) /V (x) >>")],
        );
        assert_eq!(modified(&changes(&added, None)), vec!["form field extra was added"]);
    }

    #[test]
    fn changed_content_and_annotations_are_modifications() {
        let content = update(&base(), &[(4, "<< /Length 20 >>\nstream\nBT (Jello) Tj ET   \nendstream")]);
        for p in [None, Some(2), Some(3)] {
            assert_eq!(changes(&content, p), vec![Change::Modification("page 1 content changed".into())]);
        }
        let annotated = update(
            &base(),
            &[
                (3, "<< /Type /Page /Parent 2 0 R /Contents 4 0 R /Annots [6 0 R 7 0 R 9 0 R] >>"),
                (
                    9,
                    "<< /Type /Annot /Subtype /FreeText /Rect [50 50 300 80] /Contents (VOID) /DA (/Helv 12 Tf 0 g) /AP << /N 10 0 R >> >>",
                ),
                (10, "<< /Type /XObject /Subtype /Form /BBox [0 0 250 30] /Length 8 >>\nstream\n1 0 0 rg\nendstream"),
            ],
        );
        for p in [None, Some(2), Some(3)] {
            assert_eq!(modified(&changes(&annotated, p)), vec!["annotation added on page 1"], "{p:?}");
        }
        let new_contents = update(
            &base(),
            &[
                (3, "<< /Type /Page /Parent 2 0 R /Contents [4 0 R 9 0 R] /Annots [6 0 R 7 0 R] >>"),
                (9, "<< /Length 8 >>\nstream\n1 0 0 rg\nendstream"),
            ],
        );
        assert_eq!(modified(&changes(&new_contents, None)), vec!["page 1 content changed"]);
        let catalog = update(
            &base(),
            &[
                (1, "<< /Type /Catalog /Pages 2 0 R /AcroForm 5 0 R /OpenAction 9 0 R >>"),
                (9, "<< /S /JavaScript /JS (x) >>"),
            ],
        );
        assert_eq!(modified(&changes(&catalog, None)), vec!["the catalog changed"]);
        let other = update(&base(), &[(2, "<< /Type /Pages /Kids [3 0 R] /Count 1 /MediaBox [0 0 842 595] >>")]);
        assert_eq!(modified(&changes(&other, None)), vec!["the page tree changed"]);
    }

    #[test]
    fn removing_a_signature_is_a_modification() {
        let unsigned = update(
            &base(),
            &[(7, "<< /Type /Annot /Subtype /Widget /FT /Sig /T (Signature1) /F 132 /Rect [0 0 0 0] /P 3 0 R >>")],
        );
        assert_eq!(modified(&changes(&unsigned, None)), vec!["a signature was removed"]);
        let dropped = update(
            &base(),
            &[
                (5, "<< /Fields [6 0 R] /SigFlags 3 >>"),
                (3, "<< /Type /Page /Parent 2 0 R /Contents 4 0 R /Annots [6 0 R] >>"),
            ],
        );
        let m = changes(&dropped, None);
        assert!(modified(&m).contains(&"a signature was removed"), "{m:?}");
        assert!(modified(&m).contains(&"an annotation was removed from page 1"), "{m:?}");
        // Changing the signature dictionary in place.
        let rewritten = update(&base(), &[(8, &SIG.replace("<00>", "<01>"))]);
        assert_eq!(modified(&changes(&rewritten, None)), vec!["a signature dictionary changed"]);
    }

    #[test]
    fn object_streams_and_xref_streams_are_read() {
        // The second signature's objects in an object stream with a cross-reference stream.
        let base = base();
        let objects = [
            (3u32, "<< /Type /Page /Parent 2 0 R /Contents 4 0 R /Annots [6 0 R 7 0 R 9 0 R] >>"),
            (5, "<< /Fields [6 0 R 7 0 R 9 0 R] /SigFlags 3 >>"),
            (
                9,
                "<< /Type /Annot /Subtype /Widget /FT /Sig /T (Signature2) /V 10 0 R /F 132 /Rect [0 0 0 0] /P 3 0 R >>",
            ),
        ];
        let mut header = String::new();
        let mut body = String::new();
        for (id, obj) in objects {
            let _ = write!(header, "{id} {} ", body.len());
            body.push_str(obj);
            body.push('\n');
        }
        let content = format!("{header}{body}");
        let mut out = base.clone();
        let sig_at = out.len();
        out.extend_from_slice(format!("10 0 obj\n{SIG}\nendobj\n").as_bytes());
        let stm_at = out.len();
        out.extend_from_slice(
            format!(
                "11 0 obj\n<< /Type /ObjStm /N 3 /First {} /Length {} >>\nstream\n{content}\nendstream\nendobj\n",
                header.len(),
                content.len()
            )
            .as_bytes(),
        );
        let xref_at = out.len();
        let mut rows: Vec<u8> = Vec::new();
        let mut row = |t: u8, a: usize, b: u16| {
            rows.push(t);
            rows.extend_from_slice(&(a as u32).to_be_bytes());
            rows.extend_from_slice(&b.to_be_bytes());
        };
        row(2, 11, 0); // 3
        row(2, 11, 1); // 5
        row(2, 11, 2); // 9
        row(1, sig_at, 0); // 10
        row(1, stm_at, 0); // 11
        row(1, xref_at, 0); // 12
        out.extend_from_slice(
            format!(
                "12 0 obj\n<< /Type /XRef /Size 13 /Root 1 0 R /Prev {} /W [1 4 2] /Index [3 1 5 1 9 4] /Length {} >>\nstream\n",
                startxref(&base),
                rows.len()
            )
            .as_bytes(),
        );
        out.extend_from_slice(&rows);
        out.extend_from_slice(format!("\nendstream\nendobj\nstartxref\n{xref_at}\n%%EOF\n").as_bytes());
        assert_eq!(changes(&out, None), vec![Change::Signature]);
    }

    #[test]
    fn unreadable_revisions_are_errors() {
        let base = base();
        assert!(changes_after(&base, base.len() + 10, None).is_err());
        // A signed revision that is not a PDF.
        assert!(changes_after(b"%PDF-1.7\n%%EOF\ngarbage\n%%EOF\n", 4, None).is_err());
    }
}
