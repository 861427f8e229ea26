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
    pub code: FieldCode,
    pub message: String,
}

/// Declares a closed set of codes: each member with its wire name, `ALL` in declaration
/// order, display, comparison with text and serialisation as the name.
macro_rules! codes {
    ($(#[$outer:meta])* $ty:ident { $($member:ident = $name:literal,)* }) => {
        $(#[$outer])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $ty {
            $($member,)*
        }

        impl $ty {
            /// Every code, in declaration order.
            pub const ALL: &'static [$ty] = &[$($ty::$member,)*];

            /// The wire name.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($ty::$member => $name,)*
                }
            }

        }

        impl std::fmt::Display for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl PartialEq<&str> for $ty {
            fn eq(&self, other: &&str) -> bool {
                self.as_str() == *other
            }
        }

        impl Serialize for $ty {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }
    };
}

codes! {
    /// The stable machine code of a problem: the one closed set every module's error table
    /// answers with, and the enum of the Problem schema's `code` in the OpenAPI document.
    /// A new code is added here first, so the API description lists it.
    Code {
        // The generic answers of each HTTP status (`Problem::for_status`).
        BadRequest = "bad_request",
        Unauthorized = "unauthorized",
        Forbidden = "forbidden",
        NotFound = "not_found",
        MethodNotAllowed = "method_not_allowed",
        NotAcceptable = "not_acceptable",
        Conflict = "conflict",
        PayloadTooLarge = "payload_too_large",
        UnsupportedMediaType = "unsupported_media_type",
        ValidationFailed = "validation_failed",
        RateLimited = "rate_limited",
        InternalError = "internal_error",
        // Logging in and two-factor authentication.
        InvalidCredentials = "invalid_credentials",
        PasswordChangeRequired = "password_change_required",
        CodeInvalid = "code_invalid",
        ChallengeInvalid = "challenge_invalid",
        TotpEnrollmentRequired = "totp_enrollment_required",
        TotpNotEnrolled = "totp_not_enrolled",
        // The certificate PIN.
        PinInvalid = "pin_invalid",
        PinLocked = "pin_locked",
        PinNotSet = "pin_not_set",
        // Signing for oneself and for a principal.
        NotSigner = "not_signer",
        PrincipalSuspended = "principal_suspended",
        MandatePending = "mandate_pending",
        MandateExceeded = "mandate_exceeded",
        StepUpRequired = "step_up_required",
        CertificateNotUsable = "certificate_not_usable",
        TsaUnavailable = "tsa_unavailable",
        // Certificate applications, orders and imports.
        LinkExpired = "link_expired",
        OrdersClosed = "orders_closed",
        Pkcs12Invalid = "pkcs12_invalid",
        Pkcs12Unsupported = "pkcs12_unsupported",
        PasswordInvalid = "password_invalid",
        KeyMissing = "key_missing",
        KeyUnsupported = "key_unsupported",
        KeyMismatch = "key_mismatch",
        CertificateExpired = "certificate_expired",
        CertificateNotYetValid = "certificate_not_yet_valid",
        KeyUsageInvalid = "key_usage_invalid",
        ChainIncomplete = "chain_incomplete",
        ChainInvalid = "chain_invalid",
        CrlInvalid = "crl_invalid",
        RevocationUnavailable = "revocation_unavailable",
        CertificateRevoked = "certificate_revoked",
        CertificateExists = "certificate_exists",
        FileTooLarge = "file_too_large",
        // Integrations.
        TooManyWebhooks = "too_many_webhooks",
    }
}

codes! {
    /// The stable machine code of one invalid field (`errors[].code` of a 422 or 409).
    FieldCode {
        Required = "required",
        TooLong = "too_long",
        TooShort = "too_short",
        InvalidEmail = "invalid_email",
        InvalidCharacters = "invalid_characters",
        UnknownValue = "unknown_value",
        Duplicate = "duplicate",
        Mismatch = "mismatch",
        InvalidDate = "invalid_date",
        InvalidDatetime = "invalid_datetime",
        InvalidMonth = "invalid_month",
        InvalidRange = "invalid_range",
        OutOfRange = "out_of_range",
        InvalidCursor = "invalid_cursor",
        InvalidBase64 = "invalid_base64",
        NotANumber = "not_a_number",
        InvalidQuantity = "invalid_quantity",
        TooMany = "too_many",
        Cycle = "cycle",
        SelfReference = "self",
        Inactive = "inactive",
        RootGroup = "root_group",
        OtherCompany = "other_company",
        OwnerOnly = "owner_only",
        NotTheSigner = "not_the_signer",
        NotSigner = "not_signer",
        WrongPassword = "wrong_password",
        LettersAndDigits = "letters_and_digits",
        ContainsUserId = "contains_user_id",
        CommonPassword = "common_password",
        SameAsCurrent = "same_as_current",
        ConsentRequired = "consent_required",
        CaptchaMismatch = "captcha_mismatch",
        WrongEnterpriseCode = "wrong_enterprise_code",
        UnknownTicket = "unknown_ticket",
        TicketNotReleased = "ticket_not_released",
        HolderMismatch = "holder_mismatch",
        DetailsMissing = "details_missing",
        NoTickets = "no_tickets",
        BeforePublish = "before_publish",
        PositionFixed = "position_fixed",
        InvalidRoute = "invalid_route",
        SignedPdfModified = "signed_pdf_modified",
        PayloadTooLarge = "payload_too_large",
        FileTooLarge = "file_too_large",
        UnsupportedFile = "unsupported_file",
        InvalidFileName = "invalid_file_name",
        BranchName = "branch_name",
        DisplayNameFormat = "display_name_format",
        FullWidthOnly = "full_width_only",
        NoSpaces = "no_spaces",
        InvalidPhone = "invalid_phone",
        InvalidPin = "invalid_pin",
        InvalidPostalCode = "invalid_postal_code",
        NotJisX0208 = "not_jis_x0208",
        // A page shows a refusal of the whole form beside the field it concerns.
        Refused = "refused",
        PrivateTarget = "private_target",
        InvalidUrl = "invalid_url",
        UnresolvableHost = "unresolvable_host",
    }
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
    pub code: Code,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
    /// Seconds after which a retry may succeed (rate limiting); sent as `Retry-After` too.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<u64>,
}

impl Problem {
    pub fn new(status: u16, code: Code, title: impl Into<String>) -> Self {
        Self {
            type_: format!("https://keiyaku.invalid/problems/{code}"),
            title: title.into(),
            status,
            detail: None,
            code,
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
            400 => (Code::BadRequest, "リクエストの形式が正しくありません。", "The request is malformed."),
            401 => (Code::Unauthorized, "ログインが必要です。", "Authentication is required."),
            403 => (Code::Forbidden, "この操作を行う権限がありません。", "You are not allowed to do this."),
            404 => (Code::NotFound, "お探しのものは見つかりませんでした。", "Not found."),
            405 => (Code::MethodNotAllowed, "この操作はできません。", "This method is not allowed here."),
            406 => (Code::NotAcceptable, "応答の形式が受け付けられません。", "Not acceptable."),
            409 => (Code::Conflict, "既に登録されています。", "It already exists."),
            413 => (Code::PayloadTooLarge, "送信されたデータが大きすぎます。", "The request body is too large."),
            415 => {
                (Code::UnsupportedMediaType, "送信されたデータの形式に対応していません。", "Unsupported content type.")
            }
            422 => (Code::ValidationFailed, "入力内容に誤りがあります。", "Some fields are invalid."),
            429 => (
                Code::RateLimited,
                "試行回数が多すぎます。しばらくしてから再度お試しください。",
                "Too many attempts. Please try again later.",
            ),
            s if s >= 500 => (Code::InternalError, "システムエラーが発生しました。", "An internal error occurred."),
            _ => (Code::BadRequest, "リクエストを処理できません。", "The request cannot be processed."),
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

    /// Each code set names its members once, in lower snake case.
    fn names_are_unique_snake_case<C: Copy>(all: &[C], name: fn(C) -> &'static str) {
        let mut seen = std::collections::HashSet::new();
        for &c in all {
            let n = name(c);
            assert!(seen.insert(n), "{n} twice");
            assert!(
                !n.is_empty() && n.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'),
                "{n}"
            );
        }
    }

    #[test]
    fn code_sets_are_closed_and_named_once() {
        names_are_unique_snake_case(Code::ALL, Code::as_str);
        names_are_unique_snake_case(FieldCode::ALL, FieldCode::as_str);
        let p = Problem::new(403, Code::PinLocked, "t");
        assert_eq!(p.type_, "https://keiyaku.invalid/problems/pin_locked");
        assert_eq!(
            serde_json::to_value(&p).ok().and_then(|v| v["code"].as_str().map(String::from)).as_deref(),
            Some("pin_locked")
        );
    }

    #[test]
    fn generic_problems_never_leak_and_have_codes() {
        for s in [400, 401, 403, 404, 405, 409, 413, 415, 422, 429, 500] {
            let p = Problem::for_status(s, Lang::En);
            assert_eq!(p.status, s);
            assert!(!p.code.as_str().is_empty());
        }
    }
}
