//! The one error type of the integrations module: one stable problem `code` per variant.

use keiyaku_kernel::directory::invalid_problem;
use keiyaku_kernel::error::{ApiError, Code, Lang, Problem};
use keiyaku_kernel::store::StoreError;
use keiyaku_kernel::validate::{Invalid, Rule};

#[derive(Debug, thiserror::Error)]
pub enum IntegrationsError {
    /// 500 `internal_error` (logged, never shown).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// 500 `internal_error`: the key-encryption key cannot seal or open a webhook secret.
    #[error("webhook secret: {0}")]
    Kek(String),
    /// 404 `not_found`: no such webhook (in this tenant).
    #[error("{0} not found")]
    NotFound(&'static str),
    /// 403 `forbidden`: webhooks are managed by the service owner's group administrators;
    /// the event feed is read by group administrators (and the owner's 管理部).
    #[error("forbidden")]
    Forbidden,
    /// 422 `validation_failed` with `errors[]` (e.g. `url`: `private_target`).
    #[error("invalid input")]
    Invalid(Vec<Invalid>),
    /// 409 `too_many_webhooks`: the tenant has `webhooks.max_endpoints` endpoints already.
    #[error("at most {max} webhooks")]
    TooMany { max: usize },
}

impl IntegrationsError {
    pub fn invalid(field: impl Into<String>, rule: Rule) -> Self {
        IntegrationsError::Invalid(vec![Invalid::new(field, rule)])
    }

    /// The HTTP status this error answers with.
    pub fn status(&self) -> u16 {
        match self {
            IntegrationsError::Store(_) | IntegrationsError::Kek(_) => 500,
            IntegrationsError::NotFound(_) => 404,
            IntegrationsError::Forbidden => 403,
            IntegrationsError::Invalid(_) => 422,
            IntegrationsError::TooMany { .. } => 409,
        }
    }
}

impl From<Vec<Invalid>> for IntegrationsError {
    fn from(v: Vec<Invalid>) -> Self {
        IntegrationsError::Invalid(v)
    }
}

impl From<keiyaku_kernel::kek::KekError> for IntegrationsError {
    fn from(e: keiyaku_kernel::kek::KekError) -> Self {
        IntegrationsError::Kek(e.0)
    }
}

impl ApiError for IntegrationsError {
    fn problem(&self, lang: Lang) -> Problem {
        match self {
            IntegrationsError::Store(e) => {
                tracing::error!(error = %e, "storage failure");
                Problem::for_status(500, lang)
            }
            IntegrationsError::Kek(e) => {
                tracing::error!(error = %e, "webhook secret cannot be sealed or opened");
                Problem::for_status(500, lang)
            }
            IntegrationsError::NotFound(_) => Problem::for_status(404, lang),
            IntegrationsError::Forbidden => Problem::new(
                403,
                Code::Forbidden,
                lang.pick("この操作はグループ管理者のみ行えます。", "Only group administrators can do this."),
            ),
            IntegrationsError::Invalid(list) => invalid_problem(list, lang),
            IntegrationsError::TooMany { max } => Problem::new(
                409,
                Code::TooManyWebhooks,
                lang.pick("Webhookの登録数が上限に達しています。", "The tenant has the most webhooks it may have."),
            )
            .with_detail(match lang {
                Lang::Ja => format!("Webhookは{max}件まで登録できます。不要なWebhookを削除してください。"),
                Lang::En => format!("Up to {max} webhooks can be registered; delete one that is no longer needed."),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_variant_has_its_status_and_code() {
        let cases = [
            (IntegrationsError::NotFound("webhook"), 404, "not_found"),
            (IntegrationsError::Forbidden, 403, "forbidden"),
            (IntegrationsError::invalid("url", Rule::Required), 422, "validation_failed"),
            (IntegrationsError::TooMany { max: 20 }, 409, "too_many_webhooks"),
            (IntegrationsError::Kek("x".into()), 500, "internal_error"),
            (IntegrationsError::Store(StoreError::Database("x".into())), 500, "internal_error"),
        ];
        for (e, status, code) in cases {
            let p = e.problem(Lang::Ja);
            assert_eq!((p.status, p.code.as_str()), (status, code), "{e}");
            assert_eq!(e.status(), status);
        }
    }
}
