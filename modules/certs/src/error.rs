//! The one error type of the certs module: one stable problem `code` per variant.

use keiyaku_kernel::directory::invalid_problem;
use keiyaku_kernel::error::{ApiError, Code, Lang, Problem};
use keiyaku_kernel::intent::PinRefusal;
use keiyaku_kernel::store::StoreError;
use keiyaku_kernel::validate::{Invalid, Rule};

#[derive(Debug, thiserror::Error)]
pub enum CertsError {
    /// 500 `internal_error` (logged, never shown).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// 500 `internal_error`: key generation, signing, sealing or the key file failed.
    #[error("crypto: {0}")]
    Crypto(String),
    /// 404 `not_found`: unknown (or, for the caller, invisible) tenant, user, order,
    /// certificate or link.
    #[error("{0} not found")]
    NotFound(&'static str),
    /// 403 `forbidden`.
    #[error("forbidden")]
    Forbidden,
    /// 422 `validation_failed` with `errors[]`.
    #[error("invalid input")]
    Invalid(Vec<Invalid>),
    /// 410 `link_expired`: a one-time link that expired or was used already.
    #[error("the link has expired or was used")]
    LinkExpired,
    /// 409 `conflict`: the ticket was consumed already, or the thing is not in a state
    /// that allows this (an order paid twice, an application decided twice).
    #[error("conflict: {0}")]
    Conflict(Conflict),
    /// 409 `certificate_not_usable`: before `usable_from`, after expiry, or revoked.
    #[error("certificate not usable: {0:?}")]
    NotUsable(Unusable),
    /// 403 `pin_invalid` / `pin_locked` / `pin_not_set`.
    #[error("pin: {0:?}")]
    Pin(PinRefusal),
    /// 429 `rate_limited` with `retry_after`: the client's budget of anonymous writes, or of
    /// attempts on one link, is spent.
    #[error("budget spent; retry after {0} s")]
    Budget(u64),
    /// 429 `orders_closed`: the tenant took `certs.max_orders_per_day` orders today.
    #[error("{0} orders today")]
    DailyOrdersReached(u32),
    /// 422 with the refusal's own code (`password_invalid`, `pkcs12_invalid`, …): a
    /// PKCS#12 import that cannot be used; nothing is written.
    #[error("import refused: {0:?}")]
    Import(Refusal),
}

/// Why an imported PKCS#12 file (`importCertificate`) is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Not a PKCS#12 file, or damaged.
    Pkcs12Invalid,
    /// Protected in a way not read here (the legacy 3DES/RC2 PBEs of `openssl pkcs12 -legacy`).
    Pkcs12Unsupported,
    /// The integrity check or the decryption fails with the password given.
    PasswordInvalid,
    /// No private key, or several, in the file.
    KeyMissing,
    /// A key the signer cannot use (keiyaku signs with ECDSA P-256 only).
    KeyUnsupported,
    /// No certificate in the file belongs to the key.
    KeyMismatch,
    /// The certificate's validity has ended.
    CertificateExpired,
    /// The certificate's validity has not begun.
    CertificateNotYetValid,
    /// Its key usage allows neither digitalSignature nor nonRepudiation.
    KeyUsage,
    /// The issuer's certificate is in neither the file nor the `chain` uploads.
    ChainIncomplete,
    /// A `chain` upload is not a certificate (PEM or DER).
    ChainInvalid,
    /// A `revocation` upload is not a CRL, or not one of the issuer's.
    CrlInvalid,
    /// No current CRL of the issuer could be had (none uploaded, the distribution point
    /// unreachable or none named).
    RevocationUnavailable,
    /// The issuer's CRL lists the certificate.
    CertificateRevoked,
    /// A certificate with this serial number is registered in the tenant already.
    CertificateExists,
    /// A file is larger than the import takes.
    FileTooLarge,
}

impl Refusal {
    pub fn code(self) -> Code {
        match self {
            Refusal::Pkcs12Invalid => Code::Pkcs12Invalid,
            Refusal::Pkcs12Unsupported => Code::Pkcs12Unsupported,
            Refusal::PasswordInvalid => Code::PasswordInvalid,
            Refusal::KeyMissing => Code::KeyMissing,
            Refusal::KeyUnsupported => Code::KeyUnsupported,
            Refusal::KeyMismatch => Code::KeyMismatch,
            Refusal::CertificateExpired => Code::CertificateExpired,
            Refusal::CertificateNotYetValid => Code::CertificateNotYetValid,
            Refusal::KeyUsage => Code::KeyUsageInvalid,
            Refusal::ChainIncomplete => Code::ChainIncomplete,
            Refusal::ChainInvalid => Code::ChainInvalid,
            Refusal::CrlInvalid => Code::CrlInvalid,
            Refusal::RevocationUnavailable => Code::RevocationUnavailable,
            Refusal::CertificateRevoked => Code::CertificateRevoked,
            Refusal::CertificateExists => Code::CertificateExists,
            Refusal::FileTooLarge => Code::FileTooLarge,
        }
    }

    /// (ja, en) of the title.
    pub fn text(self) -> (&'static str, &'static str) {
        match self {
            Refusal::Pkcs12Invalid => ("PKCS#12ファイルを読み取れません。", "The file is not a readable PKCS#12 file."),
            Refusal::Pkcs12Unsupported => (
                "このPKCS#12ファイルの暗号化方式には対応していません(AES方式で作成し直してください)。",
                "This PKCS#12 protection is not supported (export it again with AES).",
            ),
            Refusal::PasswordInvalid => {
                ("PKCS#12ファイルのパスワードが正しくありません。", "The PKCS#12 password is wrong.")
            }
            Refusal::KeyMissing => (
                "PKCS#12ファイルに秘密鍵が1つだけ含まれている必要があります。",
                "The PKCS#12 file must hold exactly one private key.",
            ),
            Refusal::KeyUnsupported => (
                "この鍵の種類は署名に使用できません(ECDSA P-256の鍵のみ使用できます)。",
                "This key type cannot be used for signing (only ECDSA P-256 keys can).",
            ),
            Refusal::KeyMismatch => (
                "秘密鍵に対応する証明書がPKCS#12ファイルにありません。",
                "The PKCS#12 file holds no certificate for its private key.",
            ),
            Refusal::CertificateExpired => ("証明書の有効期限が切れています。", "The certificate has expired."),
            Refusal::CertificateNotYetValid => {
                ("証明書の有効期間がまだ始まっていません。", "The certificate is not valid yet.")
            }
            Refusal::KeyUsage => (
                "この証明書は電子署名用ではありません(鍵用途にdigitalSignatureまたはnonRepudiationがありません)。",
                "The certificate is not for signatures (its key usage has neither digitalSignature nor nonRepudiation).",
            ),
            Refusal::ChainIncomplete => (
                "発行者(認証局)の証明書がありません。chainに発行者の証明書を指定してください。",
                "The issuer's certificate is missing: add it as a chain file.",
            ),
            Refusal::ChainInvalid => (
                "chainのファイルを証明書(PEMまたはDER)として読み取れません。",
                "A chain file is not a certificate (PEM or DER).",
            ),
            Refusal::CrlInvalid => (
                "revocationのファイルが発行者のCRL(DER)ではありません。",
                "A revocation file is not a CRL (DER) of the issuer.",
            ),
            Refusal::RevocationUnavailable => (
                "発行者の有効なCRLを取得できません。revocationにCRLファイルを指定してください。",
                "No current CRL of the issuer could be obtained: add it as a revocation file.",
            ),
            Refusal::CertificateRevoked => ("この証明書は失効しています。", "The certificate has been revoked."),
            Refusal::CertificateExists => (
                "同じシリアル番号の証明書が既に登録されています。",
                "A certificate with this serial number is registered already.",
            ),
            Refusal::FileTooLarge => ("ファイルが大きすぎます。", "A file is too large."),
        }
    }
}

/// What a 409 is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Conflict {
    TicketConsumed,
    AlreadyPaid,
    AlreadyDecided,
    AlreadyRevoked,
}

impl std::fmt::Display for Conflict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{self:?}")
    }
}

/// Why a certificate cannot be used now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unusable {
    /// Usable from this day (displayed as `YYYY/MM/DD`).
    NotYet(String),
    Expired,
    Revoked,
    /// The signer has no certificate.
    Missing,
}

impl From<keiyaku_kernel::kek::KekError> for CertsError {
    fn from(e: keiyaku_kernel::kek::KekError) -> Self {
        CertsError::Crypto(e.0)
    }
}

impl From<Vec<Invalid>> for CertsError {
    fn from(v: Vec<Invalid>) -> Self {
        CertsError::Invalid(v)
    }
}

impl CertsError {
    pub fn invalid(field: impl Into<String>, rule: Rule) -> Self {
        CertsError::Invalid(vec![Invalid::new(field, rule)])
    }

    pub fn crypto(e: impl std::fmt::Display) -> Self {
        CertsError::Crypto(e.to_string())
    }

    /// The HTTP status this error answers with.
    pub fn status(&self) -> u16 {
        match self {
            CertsError::Store(_) | CertsError::Crypto(_) => 500,
            CertsError::NotFound(_) => 404,
            CertsError::Forbidden | CertsError::Pin(_) => 403,
            CertsError::Invalid(_) | CertsError::Import(_) => 422,
            CertsError::LinkExpired => 410,
            CertsError::Conflict(_) | CertsError::NotUsable(_) => 409,
            CertsError::Budget(_) | CertsError::DailyOrdersReached(_) => 429,
        }
    }
}

impl ApiError for CertsError {
    fn problem(&self, lang: Lang) -> Problem {
        match self {
            CertsError::Store(e) => {
                tracing::error!(error = %e, "storage failure");
                Problem::for_status(500, lang)
            }
            CertsError::Crypto(e) => {
                tracing::error!(error = %e, "certificate authority failure");
                Problem::for_status(500, lang)
            }
            CertsError::NotFound(_) => Problem::for_status(404, lang),
            CertsError::Forbidden => Problem::for_status(403, lang),
            CertsError::Invalid(list) => invalid_problem(list, lang),
            CertsError::LinkExpired => Problem::new(
                410,
                Code::LinkExpired,
                lang.pick(
                    "このURLは有効期限が切れているか、既に使用されています。",
                    "This link has expired or has already been used.",
                ),
            )
            .with_detail(lang.pick(
                "お手数ですが、最初から手続きをやり直してください。",
                "Please start the procedure again from the beginning.",
            )),
            CertsError::Conflict(c) => {
                let (ja, en) = match c {
                    Conflict::TicketConsumed => {
                        ("このチケット番号は既に使用されています。", "This ticket number has already been used.")
                    }
                    Conflict::AlreadyPaid => ("この注文は既に入金済みです。", "This order is already marked paid."),
                    Conflict::AlreadyDecided => {
                        ("この申請は既に処理されています。", "This application has already been processed.")
                    }
                    Conflict::AlreadyRevoked => {
                        ("この証明書は既に失効しています。", "This certificate has already been revoked.")
                    }
                };
                Problem::new(409, Code::Conflict, lang.pick(ja, en))
            }
            CertsError::NotUsable(u) => {
                let (title, detail) = match (u, lang) {
                    (Unusable::NotYet(day), Lang::Ja) => {
                        ("証明書はまだ利用できません。".to_string(), format!("この証明書は{day}から利用できます。"))
                    }
                    (Unusable::NotYet(day), Lang::En) => {
                        ("The certificate cannot be used yet.".to_string(), format!("It can be used from {day}."))
                    }
                    (Unusable::Expired, _) => (
                        lang.pick("証明書の有効期限が切れています。", "The certificate has expired.").to_string(),
                        lang.pick("新しい証明書の発行を申請してください。", "Please apply for a new certificate.")
                            .to_string(),
                    ),
                    (Unusable::Missing, _) => (
                        lang.pick("証明書が発行されていません。", "No certificate has been issued.").to_string(),
                        lang.pick("証明書の発行を申請してください。", "Please apply for a certificate.").to_string(),
                    ),
                    (Unusable::Revoked, _) => (
                        lang.pick("証明書は失効しています。", "The certificate has been revoked.").to_string(),
                        lang.pick("新しい証明書の発行を申請してください。", "Please apply for a new certificate.")
                            .to_string(),
                    ),
                };
                Problem::new(409, Code::CertificateNotUsable, title).with_detail(detail)
            }
            CertsError::Pin(p) => p.problem(lang),
            CertsError::Budget(secs) => {
                let mut p = Problem::for_status(429, lang);
                p.retry_after = Some(*secs);
                p
            }
            CertsError::DailyOrdersReached(_) => Problem::new(
                429,
                Code::OrdersClosed,
                lang.pick("本日のチケット注文の受付は終了しました。", "No more ticket orders are taken today."),
            )
            .with_detail(lang.pick("翌日以降に、改めてお申し込みください。", "Please order again tomorrow.")),
            CertsError::Import(r) => {
                let (ja, en) = r.text();
                Problem::new(422, r.code(), lang.pick(ja, en)).with_detail(lang.pick(
                    "証明書は登録されていません。内容を確認して、もう一度お試しください。",
                    "Nothing was registered. Please check the files and try again.",
                ))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_variant_has_its_status_and_a_code_in_both_languages() {
        let all = [
            CertsError::Store(StoreError::Task("x".into())),
            CertsError::Crypto("x".into()),
            CertsError::NotFound("user"),
            CertsError::Forbidden,
            CertsError::invalid("email", Rule::Email),
            CertsError::LinkExpired,
            CertsError::Budget(60),
            CertsError::DailyOrdersReached(50),
            CertsError::Conflict(Conflict::TicketConsumed),
            CertsError::Conflict(Conflict::AlreadyPaid),
            CertsError::Conflict(Conflict::AlreadyDecided),
            CertsError::Conflict(Conflict::AlreadyRevoked),
            CertsError::NotUsable(Unusable::NotYet("2026/11/25".into())),
            CertsError::NotUsable(Unusable::Expired),
            CertsError::NotUsable(Unusable::Revoked),
            CertsError::NotUsable(Unusable::Missing),
            CertsError::Pin(PinRefusal::Invalid { remaining: 4 }),
            CertsError::Pin(PinRefusal::Locked),
            CertsError::Pin(PinRefusal::NotSet),
            CertsError::Import(Refusal::PasswordInvalid),
            CertsError::Import(Refusal::KeyUnsupported),
        ];
        for e in &all {
            for lang in [Lang::Ja, Lang::En] {
                let p = e.problem(lang);
                assert_eq!(p.status, e.status(), "{e}");
                assert!(!p.code.as_str().is_empty() && !p.title.is_empty());
                assert!(!p.title.contains("crypto") && p.detail.as_deref().is_none_or(|d| !d.contains("crypto")));
            }
        }
        assert_eq!(CertsError::LinkExpired.problem(Lang::Ja).code, "link_expired");
        assert_eq!(CertsError::Conflict(Conflict::TicketConsumed).problem(Lang::En).code, "conflict");
        assert_eq!(CertsError::Import(Refusal::PasswordInvalid).problem(Lang::Ja).code, "password_invalid");
    }
}
