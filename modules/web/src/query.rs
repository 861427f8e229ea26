//! Query strings and `application/x-www-form-urlencoded` forms, read one way for every page
//! and the API: `form_urlencoded` decodes (`+` is a space, broken escapes stay as they are,
//! invalid UTF-8 is replaced), and values are percent-encoded one way for links.

use poem::Request;

/// Name/value pairs of a query string or form, repeated names kept (check boxes).
#[derive(Debug, Clone, Default)]
pub struct Pairs(pub Vec<(String, String)>);

impl Pairs {
    pub fn parse(query: &str) -> Self {
        Pairs(form_urlencoded::parse(query.as_bytes()).into_owned().collect())
    }

    /// The request's query string.
    pub fn of_query(req: &Request) -> Self {
        Self::parse(req.uri().query().unwrap_or_default())
    }

    /// The first value of `name` ("" when absent).
    pub fn get(&self, name: &str) -> &str {
        self.0.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str()).unwrap_or_default()
    }

    pub fn has(&self, name: &str) -> bool {
        self.0.iter().any(|(k, _)| k == name)
    }

    /// Every value of `name`, in order.
    pub fn all(&self, name: &str) -> Vec<String> {
        self.0.iter().filter(|(k, _)| k == name).map(|(_, v)| v.clone()).collect()
    }
}

/// The first value of the query parameter `name`, decoded.
pub fn param(req: &Request, name: &str) -> Option<String> {
    let query = req.uri().query()?;
    form_urlencoded::parse(query.as_bytes()).find(|(k, _)| k == name).map(|(_, v)| v.into_owned())
}

/// Percent-encodes everything but unreserved characters (for paths and query values).
pub fn enc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(char::from(b)),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(s: &str) -> String {
        Pairs::parse(&format!("v={s}")).get("v").to_string()
    }

    #[test]
    fn query_strings_are_encoded_and_decoded() {
        assert_eq!(enc("田中 a+b/c"), "%E7%94%B0%E4%B8%AD%20a%2Bb%2Fc");
        assert_eq!(decode(&enc("田中 a+b/c&d=e")), "田中 a+b/c&d=e");
        assert_eq!(decode("a+b%20c"), "a b c");
        assert_eq!(decode("100%"), "100%");
        assert_eq!(decode("%zz%4"), "%zz%4");
        assert_eq!(decode("%FF"), "\u{FFFD}");
        let p = Pairs::parse("user_ids=A1&user_ids=A2&q_name=%E7%94%B0%E4%B8%AD&add&=x");
        assert_eq!(p.all("user_ids"), ["A1", "A2"]);
        assert_eq!(p.get("q_name"), "田中");
        assert!(p.has("add") && !p.has("edit"));
        assert_eq!(p.get("missing"), "");
    }

    #[test]
    fn a_parameter_is_found_decoded() {
        let req = Request::builder().uri_str("/x?tab=admin&lang=en&n=T%30001").finish();
        assert_eq!(param(&req, "lang").as_deref(), Some("en"));
        assert_eq!(param(&req, "n").as_deref(), Some("T0001"));
        assert_eq!(param(&req, "notice"), None);
        assert_eq!(param(&Request::builder().uri_str("/x").finish(), "lang"), None);
    }
}
