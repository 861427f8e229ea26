//! The one error type of the support module: one stable problem `code` per variant.

use keiyaku_kernel::directory::invalid_problem;
use keiyaku_kernel::error::{ApiError, Code, Lang, Problem};
use keiyaku_kernel::store::StoreError;
use keiyaku_kernel::validate::{Invalid, Rule};

#[derive(Debug, thiserror::Error)]
pub enum SupportError {
    /// 500 `internal_error` (logged, never shown).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// 500 `internal_error`: an upload could not be read from its temporary file.
    #[error("reading the upload failed: {0}")]
    Io(String),
    /// 500 `internal_error`: a stored document no longer matches its checksum.
    #[error("support document {0} is damaged (checksum mismatch)")]
    Damaged(String),
    /// 404 `not_found`: no such tenant, notice or document (in this tenant).
    #[error("{0} not found")]
    NotFound(&'static str),
    /// 403 `forbidden`: only the owner company's group administrators manage notices and
    /// support documents.
    #[error("forbidden")]
    Forbidden,
    /// 422 `validation_failed` with `errors[]`.
    #[error("invalid input")]
    Invalid(Vec<Invalid>),
    /// 413 `payload_too_large`: the document exceeds `support.max_document_bytes`.
    #[error("document larger than {max} bytes")]
    TooLarge { max: usize },
    /// 415 `unsupported_media_type`: the content is not a PDF, an Office file or plain text,
    /// or does not match the file name's extension.
    #[error("unsupported content")]
    Unsupported { expected: Option<&'static str> },
}

impl SupportError {
    pub fn invalid(field: impl Into<String>, rule: Rule) -> Self {
        SupportError::Invalid(vec![Invalid::new(field, rule)])
    }

    /// The HTTP status this error answers with.
    pub fn status(&self) -> u16 {
        match self {
            SupportError::Store(_) | SupportError::Io(_) | SupportError::Damaged(_) => 500,
            SupportError::NotFound(_) => 404,
            SupportError::Forbidden => 403,
            SupportError::Invalid(_) => 422,
            SupportError::TooLarge { .. } => 413,
            SupportError::Unsupported { .. } => 415,
        }
    }
}

impl From<Vec<Invalid>> for SupportError {
    fn from(v: Vec<Invalid>) -> Self {
        SupportError::Invalid(v)
    }
}

fn mib(bytes: usize) -> String {
    let tenths = (bytes as u64).saturating_mul(10) / (1024 * 1024);
    if tenths.is_multiple_of(10) { format!("{}", tenths / 10) } else { format!("{}.{}", tenths / 10, tenths % 10) }
}

impl ApiError for SupportError {
    fn problem(&self, lang: Lang) -> Problem {
        match self {
            SupportError::Store(e) => {
                tracing::error!(error = %e, "storage failure");
                Problem::for_status(500, lang)
            }
            SupportError::Io(e) => {
                tracing::error!(error = %e, "reading an upload failed");
                Problem::for_status(500, lang)
            }
            SupportError::Damaged(id) => {
                tracing::error!(document = %id, "support document fails its checksum");
                Problem::for_status(500, lang)
            }
            SupportError::NotFound(_) => Problem::for_status(404, lang),
            SupportError::Forbidden => Problem::new(
                403,
                Code::Forbidden,
                lang.pick(
                    "この操作はサービスオーナーのグループ管理者のみ行えます。",
                    "Only group administrators of the service owner can do this.",
                ),
            ),
            SupportError::Invalid(list) => invalid_problem(list, lang),
            SupportError::TooLarge { max } => {
                let size = mib(*max);
                Problem::new(
                    413,
                    Code::PayloadTooLarge,
                    lang.pick("ファイルが大きすぎます。", "The file is too large."),
                )
                .with_detail(match lang {
                    Lang::Ja => format!("アップロードできるファイルは{size}MBまでです。"),
                    Lang::En => format!("Files of up to {size} MB can be uploaded."),
                })
            }
            SupportError::Unsupported { expected } => {
                let p = Problem::new(
                    415,
                    Code::UnsupportedMediaType,
                    lang.pick("このファイルの形式には対応していません。", "This kind of file is not supported."),
                );
                match expected {
                    Some(kind) => p.with_detail(match lang {
                        Lang::Ja => format!("ファイルの内容が拡張子({kind})と一致しません。"),
                        Lang::En => format!("The content does not match the file name's extension ({kind})."),
                    }),
                    None => p.with_detail(
                        lang.pick(
                            "PDF、Office文書(Word・Excel・PowerPoint)、テキストファイルをアップロードしてください。",
                            "Upload a PDF, an Office document (Word, Excel, PowerPoint) or a text file.",
                        )
                        .to_string(),
                    ),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_variant_has_its_status_and_code() {
        let cases = [
            (SupportError::NotFound("notice"), 404, "not_found"),
            (SupportError::Forbidden, 403, "forbidden"),
            (SupportError::invalid("title", Rule::Required), 422, "validation_failed"),
            (SupportError::TooLarge { max: 20 * 1024 * 1024 }, 413, "payload_too_large"),
            (SupportError::Unsupported { expected: None }, 415, "unsupported_media_type"),
            (SupportError::Damaged("x".into()), 500, "internal_error"),
            (SupportError::Io("x".into()), 500, "internal_error"),
        ];
        for (e, status, code) in cases {
            let p = e.problem(Lang::Ja);
            assert_eq!((p.status, p.code.as_str()), (status, code), "{e}");
            assert_eq!(e.status(), status);
        }
        let p = SupportError::TooLarge { max: 20 * 1024 * 1024 }.problem(Lang::Ja);
        assert_eq!(p.detail.as_deref(), Some("アップロードできるファイルは20MBまでです。"));
        assert_eq!(mib(1536 * 1024), "1.5");
    }
}
