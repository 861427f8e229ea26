use poem::web::Multipart;
use serde::Deserialize;

/// The fields of the upload form.
#[derive(Default)]
pub(super) struct UploadFields {
    pub(super) csrf: String,
    pub(super) category: String,
    pub(super) file_name: String,
    pub(super) bytes: Vec<u8>,
}

pub(super) async fn read_upload(mut mp: Multipart) -> Option<UploadFields> {
    let mut f = UploadFields::default();
    while let Some(field) = mp.next_field().await.ok()? {
        match field.name().unwrap_or_default() {
            "csrf" => f.csrf = field.text().await.ok()?.chars().take(200).collect(),
            "category" => f.category = field.text().await.ok()?.chars().take(40).collect(),
            "file" => {
                f.file_name = field.file_name().unwrap_or_default().to_string();
                f.bytes = field.bytes().await.ok()?;
            }
            _ => {}
        }
    }
    Some(f)
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct CsrfForm {
    pub(super) csrf: String,
}

// ---------------------------------------------------------------------------------------
// お知らせ

#[derive(Debug, Default, Deserialize, Clone)]
#[serde(default)]
pub(super) struct NoticeForm {
    pub(super) csrf: String,
    pub(super) title: String,
    pub(super) body: String,
    pub(super) audience: String,
    pub(super) publish_at: String,
    pub(super) expire_at: String,
}
