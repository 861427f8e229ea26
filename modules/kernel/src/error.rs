//! The one error model of the HTTP surface: RFC 9457 problem details with a stable `code`,
//! and titles/messages in Japanese (default) or English.

use serde::Serialize;

/// The language a message is shown in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub enum Lang {
    #[default]
    Ja,
    En,
}

impl Lang {
    pub const ALL: [Lang; 2] = [Lang::Ja, Lang::En];

    /// Picks the language from an `Accept-Language` value: English when the first language
    /// the client lists that we know is English, Japanese otherwise.
    pub fn from_accept_language(header: Option<&str>) -> Self {
        let Some(header) = header else {
            return Lang::Ja;
        };
        let mut best: Option<(f32, Lang)> = None;
        for part in header.split(',') {
            let mut pieces = part.trim().split(';');
            let tag = pieces.next().unwrap_or("").trim().to_ascii_lowercase();
            let q = pieces.find_map(|p| p.trim().strip_prefix("q=").and_then(|v| v.parse::<f32>().ok())).unwrap_or(1.0);
            let lang = if tag.starts_with("en") {
                Lang::En
            } else if tag.starts_with("ja") {
                Lang::Ja
            } else {
                continue;
            };
            if best.is_none_or(|(bq, _)| q > bq) {
                best = Some((q, lang));
            }
        }
        best.map(|(_, l)| l).unwrap_or(Lang::Ja)
    }

    pub fn code(self) -> &'static str {
        match self {
            Lang::Ja => "ja",
            Lang::En => "en",
        }
    }

    /// The language whose [`Lang::code`] is `s`; `None` for any other text.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|l| l.code() == s)
    }

    /// Chooses between a Japanese and an English text.
    pub fn pick<'a>(self, ja: &'a str, en: &'a str) -> &'a str {
        match self {
            Lang::Ja => ja,
            Lang::En => en,
        }
    }
}

/// One invalid field of a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    pub field: String,
    pub code: String,
    pub message: String,
}

/// A problem+json body.
#[derive(Debug, Clone, Serialize)]
pub struct Problem {
    #[serde(rename = "type")]
    pub type_: String,
    pub title: String,
    pub status: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    pub code: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
    /// Seconds after which a retry may succeed (rate limiting); sent as `Retry-After` too.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<u64>,
}

impl Problem {
    pub fn new(status: u16, code: &str, title: impl Into<String>) -> Self {
        Self {
            type_: format!("https://keiyaku.invalid/problems/{code}"),
            title: title.into(),
            status,
            detail: None,
            code: code.to_string(),
            errors: Vec::new(),
            retry_after: None,
        }
    }

    pub fn with_detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }

    /// The generic problem for an HTTP status (used for errors raised before a handler runs:
    /// unparsable JSON, missing fields, unknown routes, oversized bodies).
    pub fn for_status(status: u16, lang: Lang) -> Self {
        let (code, ja, en) = match status {
            400 => ("bad_request", "リクエストの形式が正しくありません。", "The request is malformed."),
            401 => ("unauthorized", "ログインが必要です。", "Authentication is required."),
            403 => ("forbidden", "この操作を行う権限がありません。", "You are not allowed to do this."),
            404 => ("not_found", "お探しのものは見つかりませんでした。", "Not found."),
            405 => ("method_not_allowed", "この操作はできません。", "This method is not allowed here."),
            406 => ("not_acceptable", "応答の形式が受け付けられません。", "Not acceptable."),
            409 => ("conflict", "既に登録されています。", "It already exists."),
            413 => ("payload_too_large", "送信されたデータが大きすぎます。", "The request body is too large."),
            415 => {
                ("unsupported_media_type", "送信されたデータの形式に対応していません。", "Unsupported content type.")
            }
            422 => ("validation_failed", "入力内容に誤りがあります。", "Some fields are invalid."),
            429 => (
                "rate_limited",
                "試行回数が多すぎます。しばらくしてから再度お試しください。",
                "Too many attempts. Please try again later.",
            ),
            s if s >= 500 => ("internal_error", "システムエラーが発生しました。", "An internal error occurred."),
            _ => ("bad_request", "リクエストを処理できません。", "The request cannot be processed."),
        };
        Problem::new(status, code, lang.pick(ja, en))
    }
}

/// A domain error that can be shown to a client. Every module error implements this so one
/// table per module decides status, stable code and localized text.
pub trait ApiError: std::fmt::Display {
    fn problem(&self, lang: Lang) -> Problem;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_language_picks_known_language() {
        assert_eq!(Lang::from_accept_language(None), Lang::Ja);
        assert_eq!(Lang::from_accept_language(Some("en-US,en;q=0.9")), Lang::En);
        assert_eq!(Lang::from_accept_language(Some("ja,en;q=0.5")), Lang::Ja);
        assert_eq!(Lang::from_accept_language(Some("fr, en;q=0.3")), Lang::En);
        assert_eq!(Lang::from_accept_language(Some("en;q=0.2, ja;q=0.8")), Lang::Ja);
        assert_eq!(Lang::from_accept_language(Some(";;;,,q=")), Lang::Ja);
    }

    #[test]
    fn languages_parse_from_their_codes() {
        for l in Lang::ALL {
            assert_eq!(Lang::parse(l.code()), Some(l));
        }
        for bad in ["", "JA", "en-US", "fr", " ja"] {
            assert_eq!(Lang::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn generic_problems_never_leak_and_have_codes() {
        for s in [400, 401, 403, 404, 405, 409, 413, 415, 422, 429, 500] {
            let p = Problem::for_status(s, Lang::En);
            assert_eq!(p.status, s);
            assert!(!p.code.is_empty());
        }
    }
}
