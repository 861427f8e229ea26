//! The one error type of the contracts module: one stable problem `code` per variant.

use keiyaku_kernel::directory::invalid_problem;
use keiyaku_kernel::error::{ApiError, Code, Lang, Problem};
use keiyaku_kernel::intent::PinRefusal;
use keiyaku_kernel::store::StoreError;
use keiyaku_kernel::validate::{Invalid, Rule};
use keiyaku_users::delegates::Exceeded;

#[derive(Debug, thiserror::Error)]
pub enum ContractsError {
    /// 500 `internal_error` (logged, never shown).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// 500 `internal_error`: signing failed, or stored content no longer matches its hash.
    #[error("internal: {0}")]
    Internal(String),
    /// 404 `not_found`: no such contract or document, or not visible to the caller.
    #[error("{0} not found")]
    NotFound(&'static str),
    /// 403 `forbidden`: the caller may see the contract but not do this.
    #[error("forbidden: {0}")]
    Forbidden(Forbidden),
    /// 422 `validation_failed` with `errors[]`.
    #[error("invalid input")]
    Invalid(Vec<Invalid>),
    /// 409 `conflict`: the contract is not in a state that allows this (already approved,
    /// completed, cancelled, not the step's turn).
    #[error("conflict: {}", .0.as_str())]
    Conflict(Conflict),
    /// 409 `certificate_not_usable`: the signer's certificate is missing, not yet usable,
    /// expired or revoked.
    #[error("certificate not usable")]
    Certificate(keiyaku_certs::CertsError),
    /// 413 `payload_too_large`.
    #[error("document larger than {max} bytes")]
    TooLarge { max: usize },
    /// 415 `unsupported_media_type`: a document that is not a readable PDF.
    #[error("not a PDF: {0}")]
    NotPdf(String),
    /// 503 `tsa_unavailable`: the outside time-stamping authority (`contracts.tsa_url`) did
    /// not answer or refused; nothing was signed.
    #[error("time-stamping authority unavailable: {0}")]
    TsaUnavailable(String),
}

/// Why a 409 `conflict`: the state that does not allow the operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Conflict {
    NotCirculating,
    NotSentBack,
    /// Approval asked on a step that is completed by signing.
    SigningStep,
    NotSigningStep,
    /// Completed, cancelled or deleted.
    Closed,
    /// A signing code asked for one's own signature (that takes the PIN).
    OwnSignature,
    /// Deletion during the retention period.
    Retention,
}

impl Conflict {
    pub const ALL: [Conflict; 7] = [
        Conflict::NotCirculating,
        Conflict::NotSentBack,
        Conflict::SigningStep,
        Conflict::NotSigningStep,
        Conflict::Closed,
        Conflict::OwnSignature,
        Conflict::Retention,
    ];

    /// A name for logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Conflict::NotCirculating => "not_circulating",
            Conflict::NotSentBack => "not_sent_back",
            Conflict::SigningStep => "signing_step",
            Conflict::NotSigningStep => "not_signing_step",
            Conflict::Closed => "closed",
            Conflict::OwnSignature => "own_signature",
            Conflict::Retention => "retention",
        }
    }
}

/// Why a 403.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Forbidden {
    /// Only owner-side persons in charge, administration and group administrators register.
    Register,
    /// Not one of the current step's users.
    NotYourStep,
    /// Neither the signer of the current step nor one of their delegates.
    NotSignerOrDelegate,
    /// Only the registrant resubmits or cancels.
    NotRegistrant,
    /// 403 `not_signer`: the principal no longer holds the signer role.
    NotSigner,
    /// 403 `principal_suspended`: the principal's account is suspended.
    PrincipalSuspended,
    /// 403 `mandate_pending`: the signer has not confirmed the delegate's mandate yet.
    MandatePending,
    /// 403 `mandate_exceeded`: the mandate's limits do not cover this contract.
    MandateExceeded(Exceeded),
    /// 403 `step_up_required`: a delegate signs with a TOTP code or a mailed signing code.
    StepUpRequired,
    /// 403 `code_invalid`: the signing code or TOTP code is wrong, expired or used.
    CodeInvalid,
    /// 403 `pin_invalid` / `pin_locked` / `pin_not_set`.
    Pin(PinRefusal),
}

impl Forbidden {
    /// The problem `code`: `forbidden`, or a precise one where the caller can act on it.
    pub fn code(self) -> Code {
        match self {
            Forbidden::NotSigner => Code::NotSigner,
            Forbidden::PrincipalSuspended => Code::PrincipalSuspended,
            Forbidden::MandatePending => Code::MandatePending,
            Forbidden::MandateExceeded(_) => Code::MandateExceeded,
            Forbidden::StepUpRequired => Code::StepUpRequired,
            Forbidden::CodeInvalid => Code::CodeInvalid,
            Forbidden::Pin(p) => p.code(),
            _ => Code::Forbidden,
        }
    }
}

impl std::fmt::Display for Forbidden {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{self:?}")
    }
}

impl ContractsError {
    pub fn invalid(field: impl Into<String>, rule: Rule) -> Self {
        ContractsError::Invalid(vec![Invalid::new(field, rule)])
    }

    pub fn internal(e: impl std::fmt::Display) -> Self {
        ContractsError::Internal(e.to_string())
    }

    pub fn status(&self) -> u16 {
        match self {
            ContractsError::Store(_) | ContractsError::Internal(_) => 500,
            ContractsError::NotFound(_) => 404,
            ContractsError::Forbidden(_) => 403,
            ContractsError::Invalid(_) => 422,
            ContractsError::Conflict(_) | ContractsError::Certificate(_) => 409,
            ContractsError::TooLarge { .. } => 413,
            ContractsError::NotPdf(_) => 415,
            ContractsError::TsaUnavailable(_) => 503,
        }
    }
}

impl From<Vec<Invalid>> for ContractsError {
    fn from(v: Vec<Invalid>) -> Self {
        ContractsError::Invalid(v)
    }
}

impl From<keiyaku_certs::CertsError> for ContractsError {
    fn from(e: keiyaku_certs::CertsError) -> Self {
        use keiyaku_certs::CertsError as C;
        match e {
            C::Store(s) => ContractsError::Store(s),
            C::NotUsable(_) | C::NotFound("certificate") => ContractsError::Certificate(e),
            C::Pin(p) => ContractsError::Forbidden(Forbidden::Pin(p)),
            other => ContractsError::Internal(other.to_string()),
        }
    }
}

fn conflict_text(what: Conflict, lang: Lang) -> &'static str {
    match what {
        Conflict::NotCirculating => lang.pick("この契約は回覧中ではありません。", "The contract is not circulating."),
        Conflict::NotSentBack => {
            lang.pick("この契約は差戻し中ではありません。", "The contract has not been sent back.")
        }
        Conflict::SigningStep => lang.pick(
            "このステップは署名で完了します。承認ではなく署名してください。",
            "This step is completed by signing, not by approval.",
        ),
        Conflict::NotSigningStep => {
            lang.pick("現在のステップは署名のステップではありません。", "The current step is not a signing step.")
        }
        Conflict::Closed => lang
            .pick("締結済または取消済の契約は変更できません。", "A completed or cancelled contract cannot be changed."),
        Conflict::OwnSignature => lang.pick(
            "ご自身の署名には証明書のPINコードを使います。認証コードは代行署名のときだけ必要です。",
            "Your own signature takes your certificate PIN; signing codes are for delegates.",
        ),
        Conflict::Retention => {
            lang.pick("保存期間中の契約は削除できません。", "A contract cannot be deleted during its retention period.")
        }
    }
}

impl ApiError for ContractsError {
    fn problem(&self, lang: Lang) -> Problem {
        match self {
            ContractsError::Store(e) => {
                tracing::error!(error = %e, "storage failure");
                Problem::for_status(500, lang)
            }
            ContractsError::Internal(e) => {
                tracing::error!(error = %e, "contracts: internal failure");
                Problem::for_status(500, lang)
            }
            ContractsError::NotFound(_) => Problem::for_status(404, lang),
            ContractsError::Forbidden(Forbidden::Pin(p)) => p.problem(lang),
            ContractsError::Forbidden(Forbidden::MandateExceeded(e)) => Problem::new(
                403,
                Code::MandateExceeded,
                lang.pick(
                    "委任の範囲外のため、代行ユーザーは署名できません。",
                    "The mandate does not cover this contract.",
                ),
            )
            .with_detail(crate::policy::exceeded_text(*e, lang)),
            ContractsError::Forbidden(why) => Problem::new(
                403,
                why.code(),
                match why {
                    Forbidden::Register => lang.pick(
                        "契約を登録できるのはサービスオーナーの担当者・管理部・グループ管理者です。",
                        "Only the service owner's persons in charge, administration and group administrators can register contracts.",
                    ),
                    Forbidden::NotYourStep => lang.pick(
                        "この文書はあなたの確認待ちではありません。",
                        "This document is not waiting for you.",
                    ),
                    Forbidden::NotSignerOrDelegate => lang.pick(
                        "署名できるのは署名者本人または署名/電子捺印操作代行ユーザーのみです。",
                        "Only the signer or one of the signer's delegates can sign.",
                    ),
                    Forbidden::NotRegistrant => lang.pick(
                        "この操作は契約の登録者のみ行えます。",
                        "Only the registrant of the contract can do this.",
                    ),
                    Forbidden::NotSigner => lang.pick(
                        "署名者の権限がないため署名できません。",
                        "The principal does not hold the signer role.",
                    ),
                    Forbidden::PrincipalSuspended => lang.pick(
                        "署名者が利用停止中のため署名できません。",
                        "The principal's account is suspended.",
                    ),
                    Forbidden::MandatePending => lang.pick(
                        "署名者が委任をまだ確認していないため、代行ユーザーは署名できません。",
                        "The signer has not confirmed the mandate yet.",
                    ),
                    Forbidden::StepUpRequired => lang.pick(
                        "代行署名には認証コードが必要です。認証アプリのコード、またはメールで受け取った署名用コードを入力してください。",
                        "A delegate signs with a code: from the authenticator app, or a signing code sent by e-mail.",
                    ),
                    Forbidden::CodeInvalid => lang.pick(
                        "認証コードが正しくないか、有効期限が切れています。",
                        "The code is wrong, expired or already used.",
                    ),
                    Forbidden::MandateExceeded(_) | Forbidden::Pin(_) => "",
                },
            ),
            ContractsError::Invalid(list) => invalid_problem(list, lang),
            ContractsError::Conflict(what) => Problem::new(409, Code::Conflict, conflict_text(*what, lang)),
            ContractsError::Certificate(e) => {
                let p = e.problem(lang);
                let detail = p.detail.clone();
                let title = match e {
                    keiyaku_certs::CertsError::NotFound(_) => lang
                        .pick("署名者の電子証明書が登録されていません。", "The signer has no certificate.")
                        .to_string(),
                    _ => p.title.clone(),
                };
                let out = Problem::new(409, Code::CertificateNotUsable, &title);
                match detail {
                    Some(d) => out.with_detail(d),
                    None => out,
                }
            }
            ContractsError::TooLarge { max } => {
                let mib = (*max as u64) / (1024 * 1024);
                Problem::new(413, Code::PayloadTooLarge, lang.pick("ファイルが大きすぎます。", "The file is too large."))
                    .with_detail(match lang {
                        Lang::Ja => format!("アップロードできる文書は{mib}MBまでです。"),
                        Lang::En => format!("Documents of up to {mib} MB can be uploaded."),
                    })
            }
            ContractsError::NotPdf(_) => Problem::new(
                415,
                Code::UnsupportedMediaType,
                lang.pick("PDFファイルを指定してください。", "Please choose a PDF file."),
            )
            .with_detail(
                lang.pick("ファイルをPDFとして読み取れませんでした。", "The file could not be read as a PDF.").to_string(),
            ),
            ContractsError::TsaUnavailable(why) => {
                tracing::warn!(error = %why, "outside time-stamping authority");
                Problem::new(
                    503,
                    Code::TsaUnavailable,
                    lang.pick(
                        "タイムスタンプ局に接続できないため、署名できませんでした。",
                        "The time-stamping authority could not be reached; nothing was signed.",
                    ),
                )
                .with_detail(
                    lang.pick("しばらくしてから、もう一度お試しください。", "Please try again later.").to_string(),
                )
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every conflict is a 409 `conflict` with its own text in both languages.
    #[test]
    fn conflicts_have_their_own_texts() {
        let mut seen = std::collections::HashSet::new();
        for c in Conflict::ALL {
            for lang in Lang::ALL {
                let p = ContractsError::Conflict(c).problem(lang);
                assert_eq!((p.status, p.code.as_str()), (409, "conflict"), "{c:?}");
                assert!(seen.insert(p.title.clone()), "{c:?}: {}", p.title);
            }
            assert!(ContractsError::Conflict(c).to_string().ends_with(c.as_str()));
        }
    }
}
