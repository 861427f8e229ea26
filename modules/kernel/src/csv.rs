//! CSV for Excel, one rule for every file keiyaku writes (契約検索, ticket lists, usage
//! reports): UTF-8 with a byte-order mark, CRLF line ends, RFC 4180 quoting, and cells that a
//! spreadsheet would run as a formula defused with a leading `'` (OWASP "CSV injection": a
//! leading `=`, `+`, `-`, `@`, tab or carriage return).

/// What a CSV file starts with, so Excel reads it as UTF-8.
pub const BOM: &str = "\u{feff}";

/// One cell: defused when it starts like a formula, quoted when it holds a comma, quote or
/// line break.
pub fn cell(s: &str) -> String {
    let s = if s.starts_with(['=', '+', '-', '@', '\t', '\r']) { format!("'{s}") } else { s.to_string() };
    if s.contains([',', '"', '\n', '\r']) { format!("\"{}\"", s.replace('"', "\"\"")) } else { s }
}

/// One line: the cells joined by commas, ended by CRLF.
pub fn line<S: AsRef<str>>(cells: impl IntoIterator<Item = S>) -> String {
    let mut out = cells.into_iter().map(|c| cell(c.as_ref())).collect::<Vec<_>>().join(",");
    out.push_str("\r\n");
    out
}

/// A whole file: the byte-order mark, then each line.
pub fn file<S: AsRef<str>, L: IntoIterator<Item = S>>(lines: impl IntoIterator<Item = L>) -> Vec<u8> {
    let mut out = String::from(BOM);
    for l in lines {
        out.push_str(&line(l));
    }
    out.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn cells_are_quoted_and_formulas_defused() {
        assert_eq!(cell("abc"), "abc");
        assert_eq!(cell("a,b"), "\"a,b\"");
        assert_eq!(cell("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(cell("=SUM(A1)"), "'=SUM(A1)");
        assert_eq!(cell("-1"), "'-1");
        assert_eq!(cell("+81"), "'+81");
        assert_eq!(cell("@cmd"), "'@cmd");
        assert_eq!(cell("\tx"), "'\tx");
        assert_eq!(cell("\r=1"), "\"'\r=1\"");
        assert_eq!(cell("本社, 管理部"), "\"本社, 管理部\"");
    }

    #[test]
    fn files_have_a_bom_and_crlf() {
        let f = file([vec!["a", "b"], vec!["=1", "c"]]);
        assert_eq!(String::from_utf8(f).unwrap(), "\u{feff}a,b\r\n'=1,c\r\n");
    }

    proptest! {
        /// A cell never breaks its row, never starts like a formula, and reads back as written.
        #[test]
        fn cells_stay_in_their_place(s in ".*") {
            let c = cell(&s);
            if c.contains([',', '\n', '\r', '"']) {
                prop_assert!(c.starts_with('"') && c.ends_with('"'));
            }
            let inner = if c.starts_with('"') { c[1..c.len() - 1].replace("\"\"", "\"") } else { c.clone() };
            prop_assert!(!inner.starts_with(['=', '+', '-', '@', '\t', '\r']));
            let original = inner.strip_prefix('\'').filter(|_| s.starts_with(['=', '+', '-', '@', '\t', '\r'])).unwrap_or(&inner);
            prop_assert_eq!(original, s.as_str());
        }
    }
}
