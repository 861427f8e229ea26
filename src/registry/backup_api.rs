//! The operator's backup download while serving (with the auth module: only the operator
//! may take one).

use keiyaku_web::api::http::{ApiResult, Ctx, Failure};
use poem_openapi::OpenApi;
use poem_openapi::payload::Attachment;

pub struct BackupApi {
    pub auth: keiyaku_auth::Auth,
}

#[OpenApi]
impl BackupApi {
    /// A consistent backup of the running appliance (tar: manifest with SHA-256 checksums and
    /// the database), for `keiyaku restore`.
    // The archive is written to a temporary file and streamed from it (never held in memory);
    // the download is audited before it starts.
    #[oai(path = "/api/v1/operator/backup", method = "post", operation_id = "createBackup")]
    async fn create_backup(
        &self,
        ctx: Ctx,
        token: keiyaku_web::api::auth::BearerToken,
    ) -> ApiResult<Attachment<poem::Body>> {
        let actor = self.auth.operator(&token.0.token, ctx.client.clone()).await.map_err(|e| ctx.fail(&e))?;
        let store = self.auth.kernel().store.clone();
        let data_dir = self.auth.kernel().config.storage.data_dir.clone();
        let file = tokio::task::spawn_blocking(move || backup_download(&store, &data_dir, &actor))
            .await
            .map_err(|_| Failure::status(500, ctx.lang))?
            .map_err(|e| {
                tracing::error!(error = %e, "backup failed");
                Failure::status(500, ctx.lang)
            })?;
        let name = format!(
            "keiyaku-{}.tar",
            self.auth.kernel().now().to_zoned_datetime(keiyaku_kernel::clock::tokyo()).strftime("%Y%m%d-%H%M%S")
        );
        let body = poem::Body::from_async_read(tokio::fs::File::from_std(file));
        Ok(Attachment::new(body).filename(name))
    }
}

/// Writes a backup archive to a temporary file, records the download in the audit chain (a
/// failed record means no download), and returns the open file, its name already removed so
/// nothing is left behind however the download ends.
fn backup_download(
    store: &keiyaku_kernel::store::Store,
    data_dir: &std::path::Path,
    actor: &keiyaku_kernel::context::Actor,
) -> Result<std::fs::File, String> {
    let path = std::env::temp_dir().join(format!("keiyaku-api-backup-{}.tar", keiyaku_kernel::ids::new_id()));
    let opened = crate::backup::write_archive(store, data_dir, &path).and_then(|manifest| {
        let file = std::fs::File::open(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let size = file.metadata().map_err(|e| e.to_string())?.len();
        store
            .write_blocking(|tx| {
                tx.audit(
                    actor,
                    "backup.download",
                    "database",
                    serde_json::json!({"bytes": size, "created_at": manifest.created_at}),
                )
            })
            .map_err(|e| format!("audit: {e}"))?;
        Ok(file)
    });
    let _ = std::fs::remove_file(&path);
    opened
}
