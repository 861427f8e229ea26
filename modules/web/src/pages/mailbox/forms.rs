use super::views::ADDRESS_MAX;
use serde::Deserialize;

/// Percent-encodes a query parameter value.
pub(super) fn encode_query_value(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'@') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The address filter of the query: trimmed, empty or absurdly long means none.
pub(super) fn address_filter(to: Option<&str>) -> Option<String> {
    to.map(str::trim).filter(|t| !t.is_empty() && t.chars().count() <= ADDRESS_MAX).map(str::to_string)
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct OperatorCodeForm {
    pub(super) challenge: String,
    pub(super) code: String,
    pub(super) csrf: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct MailboxQuery {
    pub(super) to: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct OperatorLoginForm {
    pub(super) login: String,
    pub(super) password: String,
    pub(super) csrf: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct CsrfForm {
    pub(super) csrf: String,
}
