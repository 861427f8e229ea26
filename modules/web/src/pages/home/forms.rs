#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
pub(super) struct CodeQuery {
    pub(super) code: String,
}
