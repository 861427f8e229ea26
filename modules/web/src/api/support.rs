//! HTTP API of the support module (API.md "Support and dashboard"). Handlers authenticate,
//! parse, call [`Support`](keiyaku_support::Support) and map; every rule lives in the service.

use crate::api::auth::{BearerToken, authenticated, caller};
use crate::api::enums::OneOf;
use crate::api::http::content_disposition;
use crate::api::http::{ApiResult, Ctx};
use keiyaku_kernel::Lang;
use keiyaku_kernel::clock::rfc3339;
use keiyaku_kernel::waiting::{WaitingLine, short_company_name};
use keiyaku_support::documents::{Category, Document, NewDocument};
use keiyaku_support::notices::{Audience, Notice, NoticeInput};
use keiyaku_support::usage::{self, Report};
use keiyaku_support::{Dashboard, Page, Paging, SupportError};
use poem::http::{StatusCode, header};
use poem::{IntoResponse, Response};
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::{Binary, Json};
use poem_openapi::registry::{MetaHeader, MetaMediaType, MetaResponse, MetaResponses, Registry};
use poem_openapi::types::Type;
use poem_openapi::types::multipart::Upload;
use poem_openapi::{ApiResponse, Multipart, Object, OpenApi, Tags};

#[derive(Tags)]
enum Tag {
    /// Notices, support documents, the dashboard and the usage report (利用状況照会)
    Support,
}

pub struct SupportApi {
    pub auth: keiyaku_auth::Auth,
    pub support: keiyaku_support::Support,
}

// ---------------------------------------------------------------------------------------
// Bodies

/// A notice (お知らせ).
#[derive(Object)]
#[oai(skip_serializing_if_is_none, rename = "Notice")]
struct NoticeView {
    id: String,
    title: String,
    /// Plain text; URLs in it are shown as links.
    body: String,
    /// `all`, `owner` or `partners`.
    audience: OneOf<Audience>,
    publish_at: String,
    expire_at: Option<String>,
    created_at: String,
    /// Inside its publication window now.
    live: bool,
}

impl NoticeView {
    fn of(n: &Notice, now: jiff::Timestamp) -> Self {
        Self {
            id: n.id.clone(),
            title: n.title.clone(),
            body: n.body.clone(),
            audience: n.audience.into(),
            publish_at: rfc3339(n.publish_at),
            expire_at: n.expire_at.map(rfc3339),
            created_at: rfc3339(n.created_at),
            live: n.is_live(now),
        }
    }
}

#[derive(Object)]
#[oai(skip_serializing_if_is_none, rename = "NoticeList")]
struct NoticeList {
    items: Vec<NoticeView>,
    total: u64,
    page: u64,
    per_page: u64,
}

#[derive(Object)]
#[oai(skip_serializing_if_is_none, rename = "CreateNoticeRequest")]
struct CreateNoticeRequest {
    #[oai(default)]
    title: String,
    /// Plain text (line breaks kept), at most 4000 characters.
    #[oai(default)]
    body: String,
    /// `all` (default), `owner` (the service owner's users) or `partners`.
    audience: Option<OneOf<Audience>>,
    /// RFC 3339, or `YYYY-MM-DD[THH:MM]` in Japan time; default: now.
    publish_at: Option<String>,
    /// Same forms; shown until then (exclusive). Default: no end.
    expire_at: Option<String>,
}

/// A support document (サポート資料).
#[derive(Object)]
#[oai(skip_serializing_if_is_none, rename = "SupportDocument")]
struct DocumentView {
    id: String,
    /// `manual`, `ebook_law`, `faq` or `info`.
    category: OneOf<Category>,
    /// The support page's section name, e.g. 利用説明資料.
    category_label: String,
    file_name: String,
    content_type: String,
    size: u64,
    /// SHA-256 of the content, hex.
    sha256: String,
    uploaded_at: String,
    /// Where to download it (no login needed).
    url: String,
}

impl DocumentView {
    fn of(d: &Document, lang: Lang) -> Self {
        Self {
            url: format!("/api/v1/t/{}/support/documents/{}", d.tenant, d.id),
            id: d.id.clone(),
            category: d.category.into(),
            category_label: d.category.label(lang).into(),
            file_name: d.file_name.clone(),
            content_type: d.content_type().into(),
            size: d.size,
            sha256: d.sha256.clone(),
            uploaded_at: rfc3339(d.uploaded_at),
        }
    }
}

#[derive(Object)]
#[oai(skip_serializing_if_is_none, rename = "SupportDocumentList")]
struct DocumentList {
    items: Vec<DocumentView>,
    total: u64,
    page: u64,
    per_page: u64,
}

#[derive(Object)]
#[oai(skip_serializing_if_is_none, rename = "UploadedSupportDocument")]
struct UploadedDocument {
    #[oai(flatten)]
    document: DocumentView,
    /// The document of the same category and file name this upload replaced.
    replaced_id: Option<String>,
}

/// `multipart/form-data` of an upload.
#[derive(Multipart)]
struct SupportUploadForm {
    /// `manual`, `ebook_law`, `faq` or `info`.
    category: Option<OneOf<Category>>,
    /// PDF, Word/Excel/PowerPoint (docx, xlsx, pptx, doc, xls, ppt) or UTF-8 text; at most
    /// `support.max_document_bytes` (default 20 MiB).
    file: Option<Upload>,
}

/// One line of 確認待ち文書.
#[derive(Object)]
#[oai(skip_serializing_if_is_none, rename = "WaitingLine")]
struct WaitingView {
    /// The line's name, e.g. `owner_approver`.
    line: OneOf<WaitingLine>,
    /// e.g. オリ白:承認者.
    label: String,
    count: u64,
}

#[derive(Object)]
#[oai(skip_serializing_if_is_none, rename = "DashboardUser")]
struct DashboardUser {
    user_id: String,
    name: String,
}

#[derive(Object)]
#[oai(skip_serializing_if_is_none, rename = "Dashboard")]
struct DashboardView {
    /// The service owner's company name (header).
    company_name: String,
    user: DashboardUser,
    /// 前回ログイン日時: the previous login, RFC 3339.
    last_login_at: Option<String>,
    waiting: Vec<WaitingView>,
    /// The newest notices the caller may see.
    notices: Vec<NoticeView>,
    notices_total: u64,
    /// サポート情報: the downloadable support files.
    support_files: Vec<DocumentView>,
}

#[derive(Object)]
#[oai(skip_serializing_if_is_none, rename = "UsageCounts")]
struct UsageCounts {
    logins: u64,
    /// Distinct users who logged in.
    active_users: u64,
    certificates_issued: u64,
    certificates_revoked: u64,
    tickets_ordered: u64,
    tickets_used: u64,
    mails_sent: u64,
    documents: u64,
}

impl From<&usage::Counts> for UsageCounts {
    fn from(c: &usage::Counts) -> Self {
        Self {
            logins: c.logins,
            active_users: c.active_users,
            certificates_issued: c.certificates_issued,
            certificates_revoked: c.certificates_revoked,
            tickets_ordered: c.tickets_ordered,
            tickets_used: c.tickets_used,
            mails_sent: c.mails_sent,
            documents: c.documents,
        }
    }
}

/// One company group's figures; company and group are none for what is not attributable
/// to a user of the tenant.
#[derive(Object)]
#[oai(skip_serializing_if_is_none, rename = "UsageRow")]
struct UsageRowView {
    company_id: Option<String>,
    company_name: Option<String>,
    vendor_code: Option<String>,
    group_id: Option<String>,
    group_name: Option<String>,
    #[oai(flatten)]
    counts: UsageCounts,
}

#[derive(Object)]
#[oai(skip_serializing_if_is_none, rename = "UsageReport")]
struct UsageView {
    /// `YYYY-MM` (Japan time).
    month: String,
    rows: Vec<UsageRowView>,
    total: UsageCounts,
}

impl From<&Report> for UsageView {
    fn from(r: &Report) -> Self {
        Self {
            month: r.month.to_string(),
            rows: r
                .rows
                .iter()
                .map(|row| UsageRowView {
                    company_id: row.company_id.clone(),
                    company_name: row.company_id.as_ref().map(|_| row.company_name.clone()),
                    vendor_code: row.vendor_code.clone(),
                    group_id: row.group_id.clone(),
                    group_name: row.group_id.as_ref().map(|_| row.group_name.clone()),
                    counts: UsageCounts::from(&row.counts),
                })
                .collect(),
            total: UsageCounts::from(&r.total),
        }
    }
}

#[derive(ApiResponse)]
enum CreatedNotice {
    #[oai(status = 201)]
    Created(Json<NoticeView>),
}

#[derive(ApiResponse)]
enum CreatedDocument {
    /// Stored; `replaced_id` names the document it replaced.
    #[oai(status = 201)]
    Created(Json<UploadedDocument>),
}

#[derive(ApiResponse)]
enum NoContent {
    #[oai(status = 204)]
    Done,
}

#[derive(ApiResponse)]
enum UsageCsv {
    /// UTF-8 with a byte order mark (Excel), CRLF line ends.
    #[oai(status = 200, content_type = "text/csv; charset=utf-8")]
    Csv(Binary<Vec<u8>>, #[oai(header = "Content-Disposition")] String),
}

/// A support document's content with its own content type, `Content-Disposition` (the
/// Japanese name per RFC 6266/5987) and its SHA-256 as `ETag`.
pub struct FileDownload {
    pub content_type: String,
    pub disposition: String,
    pub sha256: String,
    pub bytes: Vec<u8>,
}

impl FileDownload {
    pub fn of(doc: &Document, bytes: Vec<u8>) -> Self {
        Self {
            content_type: doc.content_type().to_string(),
            disposition: content_disposition(&doc.file_name),
            sha256: doc.sha256.clone(),
            bytes,
        }
    }
}

impl IntoResponse for FileDownload {
    fn into_response(self) -> Response {
        Response::builder()
            .status(StatusCode::OK)
            .header(header::CONTENT_TYPE, self.content_type)
            .header(header::CONTENT_DISPOSITION, self.disposition)
            .header(header::ETAG, format!("\"{}\"", self.sha256))
            .header(header::CACHE_CONTROL, "no-cache")
            .body(self.bytes)
    }
}

impl ApiResponse for FileDownload {
    fn meta() -> MetaResponses {
        let header = |name: &str, description: &str| MetaHeader {
            name: name.to_string(),
            description: Some(description.to_string()),
            required: true,
            deprecated: false,
            schema: String::schema_ref(),
        };
        MetaResponses {
            responses: vec![MetaResponse {
                description: "The document's content, with the content type found when it was uploaded",
                status: Some(200),
                status_range: None,
                content: keiyaku_support::sniff::Kind::ALL
                    .iter()
                    .map(|k| MetaMediaType {
                        content_type: k.content_type(),
                        schema: <Binary<Vec<u8>> as poem_openapi::payload::Payload>::schema_ref(),
                    })
                    .collect(),
                headers: vec![
                    header("Content-Disposition", "`attachment` with `filename` (ASCII) and `filename*` (UTF-8)"),
                    header("ETag", "The SHA-256 of the content, hex, quoted"),
                ],
            }],
        }
    }

    fn register(_registry: &mut Registry) {}
}

fn notice_list(page: Page<Notice>, now: jiff::Timestamp) -> NoticeList {
    NoticeList {
        items: page.items.iter().map(|n| NoticeView::of(n, now)).collect(),
        total: page.total as u64,
        page: page.page as u64,
        per_page: page.per_page as u64,
    }
}

fn dashboard_view(d: &Dashboard, me: keiyaku_auth::Me, lang: Lang, now: jiff::Timestamp) -> DashboardView {
    let short = short_company_name(&d.owner_company_name);
    DashboardView {
        company_name: d.owner_company_name.clone(),
        user: DashboardUser { user_id: me.user.user_id, name: me.user.name },
        last_login_at: me.last_login_at.map(rfc3339),
        waiting: d
            .waiting
            .iter()
            .map(|(line, n)| WaitingView { line: (*line).into(), label: line.label(lang, &short), count: *n })
            .collect(),
        notices: d.notices.iter().map(|n| NoticeView::of(n, now)).collect(),
        notices_total: d.notices_total as u64,
        support_files: d.documents.iter().map(|doc| DocumentView::of(doc, lang)).collect(),
    }
}

#[OpenApi]
impl SupportApi {
    /// The notices the caller may see (published, not expired, for the caller's side),
    /// newest first. Owner group administrators may add `include_hidden=true` to see
    /// scheduled and expired ones too.
    #[oai(path = "/api/v1/t/:tenant/notices", method = "get", operation_id = "listNotices", tag = "Tag::Support")]
    async fn list_notices(
        &self,
        ctx: Ctx,
        tenant: Path<String>,
        token: BearerToken,
        page: Query<Option<i64>>,
        per_page: Query<Option<i64>>,
        include_hidden: Query<Option<bool>>,
    ) -> ApiResult<Json<NoticeList>> {
        let caller = caller(&self.auth, &ctx, &tenant.0, &token).await?;
        let paging = Paging::new(page.0, per_page.0).map_err(|e| ctx.fail(&SupportError::Invalid(e)))?;
        let list = self
            .support
            .list_notices(&caller, paging, include_hidden.0.unwrap_or(false))
            .await
            .map_err(|e| ctx.fail(&e))?;
        Ok(Json(notice_list(list, self.support.kernel.now())))
    }

    /// Publishes a notice (owner group administrators).
    #[oai(path = "/api/v1/t/:tenant/notices", method = "post", operation_id = "createNotice", tag = "Tag::Support")]
    async fn create_notice(
        &self,
        ctx: Ctx,
        tenant: Path<String>,
        token: BearerToken,
        body: Json<CreateNoticeRequest>,
    ) -> ApiResult<CreatedNotice> {
        let caller = caller(&self.auth, &ctx, &tenant.0, &token).await?;
        let b = body.0;
        let input = NoticeInput {
            title: b.title,
            body: b.body,
            audience: b.audience.map(OneOf::into_string),
            publish_at: b.publish_at,
            expire_at: b.expire_at,
        };
        let n = self.support.create_notice(&caller, input).await.map_err(|e| ctx.fail(&e))?;
        Ok(CreatedNotice::Created(Json(NoticeView::of(&n, self.support.kernel.now()))))
    }

    /// Deletes a notice (owner group administrators).
    #[oai(
        path = "/api/v1/t/:tenant/notices/:id",
        method = "delete",
        operation_id = "deleteNotice",
        tag = "Tag::Support"
    )]
    async fn delete_notice(
        &self,
        ctx: Ctx,
        tenant: Path<String>,
        id: Path<String>,
        token: BearerToken,
    ) -> ApiResult<NoContent> {
        let caller = caller(&self.auth, &ctx, &tenant.0, &token).await?;
        self.support.delete_notice(&caller, &id.0).await.map_err(|e| ctx.fail(&e))?;
        Ok(NoContent::Done)
    }

    /// The support documents in support-page order (public, like the support page),
    /// optionally of one category.
    #[oai(
        path = "/api/v1/t/:tenant/support/documents",
        method = "get",
        operation_id = "listSupportDocuments",
        tag = "Tag::Support"
    )]
    async fn list_documents(
        &self,
        ctx: Ctx,
        tenant: Path<String>,
        category: Query<Option<OneOf<Category>>>,
        page: Query<Option<i64>>,
        per_page: Query<Option<i64>>,
    ) -> ApiResult<Json<DocumentList>> {
        let paging = Paging::new(page.0, per_page.0).map_err(|e| ctx.fail(&SupportError::Invalid(e)))?;
        let list = self
            .support
            .list_documents(&tenant.0, category.0.as_ref().map(OneOf::as_str), paging)
            .await
            .map_err(|e| ctx.fail(&e))?;
        Ok(Json(DocumentList {
            items: list.items.iter().map(|d| DocumentView::of(d, ctx.lang)).collect(),
            total: list.total as u64,
            page: list.page as u64,
            per_page: list.per_page as u64,
        }))
    }

    /// Uploads a support document (owner group administrators): `multipart/form-data` with
    /// `category` and `file`. The content decides the type (PDF, Office, UTF-8 text; else
    /// 415); larger than `support.max_document_bytes` → 413. A document of the same category
    /// and file name is replaced.
    #[oai(
        path = "/api/v1/t/:tenant/support/documents",
        method = "post",
        operation_id = "uploadSupportDocument",
        tag = "Tag::Support"
    )]
    async fn upload_document(
        &self,
        ctx: Ctx,
        tenant: Path<String>,
        token: BearerToken,
        form: SupportUploadForm,
    ) -> ApiResult<CreatedDocument> {
        let caller = caller(&self.auth, &ctx, &tenant.0, &token).await?;
        keiyaku_support::policy::require_manager(&caller).map_err(|e| ctx.fail(&e))?;
        let (file_name, bytes) = match form.file {
            Some(upload) => {
                self.support.check_size(upload.size()).map_err(|e| ctx.fail(&e))?;
                let name = upload.file_name().unwrap_or_default().to_string();
                let bytes = upload.into_vec().await.map_err(|e| ctx.fail(&SupportError::Io(e.to_string())))?;
                (name, bytes)
            }
            None => (String::new(), Vec::new()),
        };
        let new = NewDocument { category: form.category.map(OneOf::into_string).unwrap_or_default(), file_name, bytes };
        let (doc, replaced) = self.support.upload_document(&caller, new).await.map_err(|e| ctx.fail(&e))?;
        Ok(CreatedDocument::Created(Json(UploadedDocument {
            document: DocumentView::of(&doc, ctx.lang),
            replaced_id: replaced.map(|d| d.id),
        })))
    }

    /// Downloads a support document (public).
    #[oai(
        path = "/api/v1/t/:tenant/support/documents/:id",
        method = "get",
        operation_id = "downloadSupportDocument",
        tag = "Tag::Support"
    )]
    async fn download_document(&self, ctx: Ctx, tenant: Path<String>, id: Path<String>) -> ApiResult<FileDownload> {
        let (doc, bytes) = self.support.download_document(&tenant.0, &id.0).await.map_err(|e| ctx.fail(&e))?;
        Ok(FileDownload::of(&doc, bytes))
    }

    /// Deletes a support document (owner group administrators).
    #[oai(
        path = "/api/v1/t/:tenant/support/documents/:id",
        method = "delete",
        operation_id = "deleteSupportDocument",
        tag = "Tag::Support"
    )]
    async fn delete_document(
        &self,
        ctx: Ctx,
        tenant: Path<String>,
        id: Path<String>,
        token: BearerToken,
    ) -> ApiResult<NoContent> {
        let caller = caller(&self.auth, &ctx, &tenant.0, &token).await?;
        self.support.delete_document(&caller, &id.0).await.map_err(|e| ctx.fail(&e))?;
        Ok(NoContent::Done)
    }

    /// The dashboard: documents waiting per role line (確認待ち文書), the newest notices, the
    /// support files and the previous login (前回ログイン日時).
    #[oai(path = "/api/v1/t/:tenant/dashboard", method = "get", operation_id = "getDashboard", tag = "Tag::Support")]
    async fn dashboard(&self, ctx: Ctx, tenant: Path<String>, token: BearerToken) -> ApiResult<Json<DashboardView>> {
        let auth = authenticated(&self.auth, &ctx, &tenant.0, &token).await?;
        let me = self.auth.me_of(&auth).await.map_err(|e| ctx.fail(&e))?;
        let caller = auth.caller;
        let d = self.support.dashboard(&caller).await.map_err(|e| ctx.fail(&e))?;
        Ok(Json(dashboard_view(&d, me, ctx.lang, self.support.kernel.now())))
    }

    /// 利用状況照会: the month's figures (`month=YYYY-MM`, default this month, Japan time) per
    /// company and group. The owner's group administrators and 管理部 see every company,
    /// anyone else their own.
    #[oai(path = "/api/v1/t/:tenant/usage", method = "get", operation_id = "getUsage", tag = "Tag::Support")]
    async fn usage(
        &self,
        ctx: Ctx,
        tenant: Path<String>,
        token: BearerToken,
        month: Query<Option<String>>,
    ) -> ApiResult<Json<UsageView>> {
        let caller = caller(&self.auth, &ctx, &tenant.0, &token).await?;
        let report = self.support.usage(&caller, month.0.as_deref()).await.map_err(|e| ctx.fail(&e))?;
        Ok(Json(UsageView::from(&report)))
    }

    /// The same report as CSV for Excel (UTF-8 with BOM).
    #[oai(path = "/api/v1/t/:tenant/usage.csv", method = "get", operation_id = "getUsageCsv", tag = "Tag::Support")]
    async fn usage_csv(
        &self,
        ctx: Ctx,
        tenant: Path<String>,
        token: BearerToken,
        month: Query<Option<String>>,
    ) -> ApiResult<UsageCsv> {
        let caller = caller(&self.auth, &ctx, &tenant.0, &token).await?;
        let report = self.support.usage(&caller, month.0.as_deref()).await.map_err(|e| ctx.fail(&e))?;
        Ok(UsageCsv::Csv(Binary(usage::csv(&report, ctx.lang)), content_disposition(&usage::csv_file_name(&report))))
    }
}
