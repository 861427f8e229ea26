use super::views::Upload;
use poem::web::Multipart;

pub(super) async fn read_upload(mut mp: Multipart) -> Option<Upload> {
    let mut u = Upload::default();
    while let Some(field) = mp.next_field().await.ok()? {
        match field.name().unwrap_or_default() {
            "file" => {
                u.file_name = field.file_name().unwrap_or_default().chars().take(200).collect();
                u.pdf = field.bytes().await.ok()?;
            }
            "trust" => {
                let bytes = field.bytes().await.ok()?;
                if !bytes.is_empty() {
                    u.trust.push(bytes);
                }
            }
            crate::session::CSRF_FIELD => u.csrf = field.text().await.ok()?.chars().take(100).collect(),
            _ => {}
        }
    }
    Some(u)
}
