//! What kind of file an upload really is, from its content: PDF, Office Open XML (docx, xlsx,
//! pptx: a ZIP whose entries name the application), old Office binaries (doc, xls, ppt: an OLE
//! compound file whose directory names the main stream), or UTF-8 plain text. Anything else is
//! refused. The parsers only read inside the buffer and give up on anything odd.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Pdf,
    Docx,
    Xlsx,
    Pptx,
    Doc,
    Xls,
    Ppt,
    Text,
}

impl Kind {
    pub const ALL: [Kind; 8] =
        [Kind::Pdf, Kind::Docx, Kind::Xlsx, Kind::Pptx, Kind::Doc, Kind::Xls, Kind::Ppt, Kind::Text];

    pub fn content_type(self) -> &'static str {
        match self {
            Kind::Pdf => "application/pdf",
            Kind::Docx => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            Kind::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            Kind::Pptx => "application/vnd.openxmlformats-officedocument.presentationml.presentation",
            Kind::Doc => "application/msword",
            Kind::Xls => "application/vnd.ms-excel",
            Kind::Ppt => "application/vnd.ms-powerpoint",
            Kind::Text => "text/plain; charset=utf-8",
        }
    }

    /// File name extensions of the kind, the usual one first.
    pub fn extensions(self) -> &'static [&'static str] {
        match self {
            Kind::Pdf => &["pdf"],
            Kind::Docx => &["docx"],
            Kind::Xlsx => &["xlsx"],
            Kind::Pptx => &["pptx"],
            Kind::Doc => &["doc"],
            Kind::Xls => &["xls"],
            Kind::Ppt => &["ppt"],
            Kind::Text => &["txt", "text", "csv", "md", "log"],
        }
    }

    /// Short name for messages and icons.
    pub fn label(self) -> &'static str {
        match self {
            Kind::Pdf => "PDF",
            Kind::Docx | Kind::Doc => "Word",
            Kind::Xlsx | Kind::Xls => "Excel",
            Kind::Pptx | Kind::Ppt => "PowerPoint",
            Kind::Text => "テキスト",
        }
    }

    /// The kind a file name's extension claims, if it is one we know.
    pub fn of_extension(ext: &str) -> Option<Kind> {
        let ext = ext.to_ascii_lowercase();
        Kind::ALL.into_iter().find(|k| k.extensions().contains(&ext.as_str()))
    }
}

/// The kind of a file's content, or None when it is none we accept.
pub fn sniff(bytes: &[u8]) -> Option<Kind> {
    let head = &bytes[..bytes.len().min(1024)];
    if find(head, b"%PDF-").is_some() {
        // A PDF header without the end marker is a damaged (or disguised) file.
        return is_pdf(bytes).then_some(Kind::Pdf);
    }
    if bytes.starts_with(b"PK\x03\x04") {
        return ooxml(bytes);
    }
    if bytes.starts_with(&OLE_MAGIC) {
        return ole(bytes);
    }
    is_text(bytes).then_some(Kind::Text)
}

/// `%PDF-` within the first 1024 bytes (where readers look for it) and an end-of-file
/// marker in the last 1024.
fn is_pdf(bytes: &[u8]) -> bool {
    let head = &bytes[..bytes.len().min(1024)];
    let tail = &bytes[bytes.len().saturating_sub(1024)..];
    find(head, b"%PDF-").is_some() && find(tail, b"%%EOF").is_some()
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() || hay.len() < needle.len() {
        return None;
    }
    hay.windows(needle.len()).position(|w| w == needle)
}

/// UTF-8 (an optional BOM), not empty, and no control characters besides tab, line breaks and
/// form feed.
fn is_text(bytes: &[u8]) -> bool {
    let body = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    match std::str::from_utf8(body) {
        Ok(s) => {
            !s.trim().is_empty() && !s.chars().any(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r' | '\x0c'))
        }
        Err(_) => false,
    }
}

fn u16_at(b: &[u8], at: usize) -> Option<usize> {
    let s = b.get(at..at.checked_add(2)?)?;
    Some(usize::from(u16::from_le_bytes([s[0], s[1]])))
}

fn u32_at(b: &[u8], at: usize) -> Option<usize> {
    let s = b.get(at..at.checked_add(4)?)?;
    usize::try_from(u32::from_le_bytes([s[0], s[1], s[2], s[3]])).ok()
}

/// The entry names of a ZIP file, from its central directory.
fn zip_names(b: &[u8]) -> Option<Vec<String>> {
    const EOCD: [u8; 4] = [0x50, 0x4b, 0x05, 0x06];
    const CENTRAL: [u8; 4] = [0x50, 0x4b, 0x01, 0x02];
    if b.len() < 22 {
        return None;
    }
    // The end record is the last 22 bytes plus a comment of up to 65535 bytes.
    let lowest = b.len().saturating_sub(22 + 65_535);
    let eocd = (lowest..=b.len() - 22).rev().find(|&i| b.get(i..i + 4) == Some(&EOCD[..]))?;
    let entries = u16_at(b, eocd + 10)?;
    let mut at = u32_at(b, eocd + 16)?;
    let mut names = Vec::with_capacity(entries.min(4096));
    for _ in 0..entries.min(65_535) {
        if b.get(at..at + 4)? != CENTRAL {
            return None;
        }
        let name_len = u16_at(b, at + 28)?;
        let extra_len = u16_at(b, at + 30)?;
        let comment_len = u16_at(b, at + 32)?;
        let name = b.get(at + 46..at + 46 + name_len)?;
        names.push(String::from_utf8_lossy(name).into_owned());
        at = at.checked_add(46 + name_len + extra_len + comment_len)?;
    }
    Some(names)
}

fn ooxml(b: &[u8]) -> Option<Kind> {
    let names = zip_names(b)?;
    if !names.iter().any(|n| n == "[Content_Types].xml") {
        return None;
    }
    let has = |prefix: &str| names.iter().any(|n| n.starts_with(prefix));
    if has("word/") {
        Some(Kind::Docx)
    } else if has("xl/") {
        Some(Kind::Xlsx)
    } else if has("ppt/") {
        Some(Kind::Pptx)
    } else {
        None
    }
}

const OLE_MAGIC: [u8; 8] = [0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1];
const END_OF_CHAIN: usize = 0xFFFF_FFFE;

/// The stream names in an OLE compound file's directory (following the FAT chain of the
/// directory sectors; FAT sectors from the header's DIFAT and its DIFAT chain).
fn ole_names(b: &[u8]) -> Option<Vec<String>> {
    if u16_at(b, 28)? != 0xFFFE {
        return None;
    }
    let shift = u16_at(b, 30)?;
    if shift != 9 && shift != 12 {
        return None;
    }
    let size = 1usize << shift;
    let sector = |n: usize| -> Option<&[u8]> {
        let start = n.checked_add(1)?.checked_mul(size)?;
        b.get(start..start.checked_add(size)?)
    };
    let max_sectors = b.len() / size + 1;
    // FAT sector numbers: 109 in the header, more in the DIFAT chain.
    let mut fat_sectors: Vec<usize> =
        (0..109).filter_map(|i| u32_at(b, 76 + 4 * i)).filter(|&s| s < max_sectors).collect();
    let mut difat = u32_at(b, 68)?;
    let mut hops = 0;
    while difat < max_sectors && hops < max_sectors {
        let s = sector(difat)?;
        let per = size / 4 - 1;
        fat_sectors.extend((0..per).filter_map(|i| u32_at(s, 4 * i)).filter(|&x| x < max_sectors));
        difat = u32_at(s, 4 * per)?;
        hops += 1;
    }
    let fat: Vec<usize> = fat_sectors
        .iter()
        .filter_map(|&n| sector(n))
        .flat_map(|s| (0..size / 4).filter_map(move |i| u32_at(s, 4 * i)))
        .collect();
    let mut names = Vec::new();
    let mut dir = u32_at(b, 48)?;
    let mut hops = 0;
    while dir != END_OF_CHAIN && hops < max_sectors {
        let s = sector(dir)?;
        for entry in s.chunks_exact(128) {
            let len = u16_at(entry, 64)?.min(64);
            let units: Vec<u16> = entry[..len]
                .chunks_exact(2)
                .map(|c| u16::from_le_bytes([c[0], c[1]]))
                .take_while(|&u| u != 0)
                .collect();
            if entry[66] == 2 {
                names.push(String::from_utf16_lossy(&units));
            }
        }
        dir = *fat.get(dir)?;
        hops += 1;
    }
    Some(names)
}

fn ole(b: &[u8]) -> Option<Kind> {
    let names = ole_names(b)?;
    let has = |n: &str| names.iter().any(|x| x == n);
    if has("WordDocument") {
        Some(Kind::Doc)
    } else if has("PowerPoint Document") {
        Some(Kind::Ppt)
    } else if has("Workbook") || has("Book") {
        Some(Kind::Xls)
    } else {
        None
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A stored (uncompressed) ZIP with the given entry names, as Office writes them.
    pub(crate) fn zip(names: &[&str]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut central = Vec::new();
        for name in names {
            let offset = out.len() as u32;
            let data = b"<x/>";
            out.extend_from_slice(&[0x50, 0x4b, 0x03, 0x04, 20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
            out.extend_from_slice(&(data.len() as u32).to_le_bytes());
            out.extend_from_slice(&(data.len() as u32).to_le_bytes());
            out.extend_from_slice(&(name.len() as u16).to_le_bytes());
            out.extend_from_slice(&0u16.to_le_bytes());
            out.extend_from_slice(name.as_bytes());
            out.extend_from_slice(data);
            central.extend_from_slice(&[0x50, 0x4b, 0x01, 0x02, 20, 0, 20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
            central.extend_from_slice(&(data.len() as u32).to_le_bytes());
            central.extend_from_slice(&(data.len() as u32).to_le_bytes());
            central.extend_from_slice(&(name.len() as u16).to_le_bytes());
            central.extend_from_slice(&[0; 12]);
            central.extend_from_slice(&offset.to_le_bytes());
            central.extend_from_slice(name.as_bytes());
        }
        let cd_offset = out.len() as u32;
        out.extend_from_slice(&central);
        out.extend_from_slice(&[0x50, 0x4b, 0x05, 0x06, 0, 0, 0, 0]);
        out.extend_from_slice(&(names.len() as u16).to_le_bytes());
        out.extend_from_slice(&(names.len() as u16).to_le_bytes());
        out.extend_from_slice(&(central.len() as u32).to_le_bytes());
        out.extend_from_slice(&cd_offset.to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes());
        out
    }

    /// A minimal OLE compound file (512-byte sectors: FAT, one directory sector) with the
    /// given stream names.
    pub(crate) fn ole_file(streams: &[&str]) -> Vec<u8> {
        let mut h = vec![0u8; 512];
        h[..8].copy_from_slice(&OLE_MAGIC);
        h[24..26].copy_from_slice(&0x3Eu16.to_le_bytes());
        h[26..28].copy_from_slice(&3u16.to_le_bytes());
        h[28..30].copy_from_slice(&0xFFFEu16.to_le_bytes());
        h[30..32].copy_from_slice(&9u16.to_le_bytes());
        h[32..34].copy_from_slice(&6u16.to_le_bytes());
        h[44..48].copy_from_slice(&1u32.to_le_bytes());
        h[48..52].copy_from_slice(&1u32.to_le_bytes()); // directory in sector 1
        h[60..64].copy_from_slice(&0xFFFF_FFFEu32.to_le_bytes());
        h[68..72].copy_from_slice(&0xFFFF_FFFEu32.to_le_bytes());
        for i in 0..109 {
            let v: u32 = if i == 0 { 0 } else { 0xFFFF_FFFF };
            h[76 + 4 * i..80 + 4 * i].copy_from_slice(&v.to_le_bytes());
        }
        let mut fat = vec![0xFFu8; 512];
        fat[..4].copy_from_slice(&0xFFFF_FFFDu32.to_le_bytes()); // FAT sector
        fat[4..8].copy_from_slice(&0xFFFF_FFFEu32.to_le_bytes()); // directory: end of chain
        let mut dir = vec![0u8; 512];
        let names: Vec<(&str, u8)> =
            std::iter::once(("Root Entry", 5u8)).chain(streams.iter().map(|s| (*s, 2u8))).take(4).collect();
        for (i, (name, ty)) in names.iter().enumerate() {
            let e = &mut dir[i * 128..(i + 1) * 128];
            let units: Vec<u16> = name.encode_utf16().collect();
            for (j, u) in units.iter().enumerate() {
                e[2 * j..2 * j + 2].copy_from_slice(&u.to_le_bytes());
            }
            e[64..66].copy_from_slice(&(((units.len() + 1) * 2) as u16).to_le_bytes());
            e[66] = *ty;
        }
        [h, fat, dir].concat()
    }

    pub(crate) fn pdf() -> Vec<u8> {
        b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n".to_vec()
    }

    #[test]
    fn recognises_each_kind() {
        assert_eq!(sniff(&pdf()), Some(Kind::Pdf));
        assert_eq!(sniff(&zip(&["[Content_Types].xml", "_rels/.rels", "word/document.xml"])), Some(Kind::Docx));
        assert_eq!(sniff(&zip(&["[Content_Types].xml", "xl/workbook.xml"])), Some(Kind::Xlsx));
        assert_eq!(sniff(&zip(&["[Content_Types].xml", "ppt/presentation.xml"])), Some(Kind::Pptx));
        assert_eq!(sniff(&ole_file(&["1Table", "WordDocument"])), Some(Kind::Doc));
        assert_eq!(sniff(&ole_file(&["Workbook"])), Some(Kind::Xls));
        assert_eq!(sniff(&ole_file(&["PowerPoint Document", "Current User"])), Some(Kind::Ppt));
        assert_eq!(sniff("よくあるご質問\r\nQ. パスワードを忘れた\n".as_bytes()), Some(Kind::Text));
        assert_eq!(sniff(b"\xEF\xBB\xBFtext with BOM"), Some(Kind::Text));
    }

    #[test]
    fn refuses_everything_else() {
        let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
        let exe = b"MZ\x90\0\x03\0\0\0".to_vec();
        let plain_zip = zip(&["a.txt"]);
        let odt = zip(&["mimetype", "content.xml"]);
        let msi = ole_file(&["\u{4840}SummaryInformation"]);
        let truncated_pdf = b"%PDF-1.7\n1 0 obj".to_vec();
        let sjis = vec![0x82, 0xa0, 0x82, 0xa2];
        for (name, bytes) in [
            ("png", png),
            ("exe", exe),
            ("zip", plain_zip),
            ("odt", odt),
            ("msi", msi),
            ("truncated pdf", truncated_pdf),
            ("shift_jis", sjis),
            ("empty", Vec::new()),
            ("blank", b"  \n ".to_vec()),
            ("nul", b"abc\0def".to_vec()),
            ("broken zip", b"PK\x03\x04garbage".to_vec()),
            ("broken ole", OLE_MAGIC.to_vec()),
        ] {
            assert_eq!(sniff(&bytes), None, "{name}");
        }
    }

    #[test]
    fn extensions_map_to_kinds() {
        assert_eq!(Kind::of_extension("PDF"), Some(Kind::Pdf));
        assert_eq!(Kind::of_extension("csv"), Some(Kind::Text));
        assert_eq!(Kind::of_extension("exe"), None);
    }

    proptest! {
        #[test]
        fn never_panics_on_any_bytes(head in prop::sample::select(vec![
            b"PK\x03\x04".to_vec(), OLE_MAGIC.to_vec(), b"%PDF-".to_vec(), Vec::new()
        ]), body in prop::collection::vec(any::<u8>(), 0..2048)) {
            let bytes = [head, body].concat();
            let _ = sniff(&bytes);
        }

        #[test]
        fn never_panics_on_damaged_office_files(cut in 0usize..1600, flip in 0usize..1600, byte in any::<u8>()) {
            for mut f in [ole_file(&["WordDocument"]), zip(&["[Content_Types].xml", "word/document.xml"])] {
                if flip < f.len() { f[flip] = byte; }
                f.truncate(cut.max(1));
                let _ = sniff(&f);
            }
        }
    }
}
