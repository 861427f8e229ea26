//! HTTP API of the certs module (API.md "Certificates"). Handlers parse, call
//! [`Certs`](keiyaku_certs::Certs) once and map; every rule lives in the service.

use crate::api::auth::{BearerToken, caller};
use crate::api::enums::OneOf;
use crate::api::http::{ApiResult, Ctx};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use keiyaku_certs::applications::{Decided, DetailsInput, StartInput, Submitted, Upload};
use keiyaku_certs::captcha::CaptchaAnswer;
use keiyaku_certs::certificates;
use keiyaku_certs::error::CertsError;
use keiyaku_certs::model::{AppStatus, ApplicantKind, Application, Billing, CertRecord, Delivery, Order};
use keiyaku_certs::orders::OrderInput;
use keiyaku_kernel::FieldCode;
use keiyaku_kernel::clock::rfc3339;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::{Binary, Json};
use poem_openapi::types::multipart::Upload as FileUpload;
use poem_openapi::{ApiResponse, Object, OpenApi, Tags};

#[derive(Tags)]
enum Tag {
    /// Certificate tickets, issuance applications, the tenant CA (JCAN証明書)
    Certificates,
}

pub struct CertsApi {
    pub auth: keiyaku_auth::Auth,
    pub certs: keiyaku_certs::Certs,
}

// ---------------------------------------------------------------------------------------
// Bodies

/// Something per certificate term: `"1"`, `"2"`, `"3"` years.
#[derive(Object, Default)]
#[oai(skip_serializing_if_is_none, rename = "TicketPerTerm")]
struct PerTerm {
    #[oai(rename = "1", default)]
    y1: i64,
    #[oai(rename = "2", default)]
    y2: i64,
    #[oai(rename = "3", default)]
    y3: i64,
}

impl PerTerm {
    fn of<T: Copy + Into<i64>>(v: [T; 3]) -> Self {
        Self { y1: v[0].into(), y2: v[1].into(), y3: v[2].into() }
    }
}

#[derive(Object)]
#[oai(skip_serializing_if_is_none, rename = "TicketOrderLinkRequest")]
struct EmailRequest {
    #[oai(default)]
    email: String,
    /// From `getCaptcha` (ignored when `certs.captcha = false`).
    #[oai(default)]
    captcha_id: String,
    #[oai(default)]
    captcha_answer: String,
}

#[derive(Object)]
#[oai(skip_serializing_if_is_none, rename = "CertAccepted")]
struct AcceptedBody {
    status: String,
}

#[derive(ApiResponse)]
enum Accepted {
    /// Accepted; the mail is in the outbox.
    #[oai(status = 202)]
    Accepted(Json<AcceptedBody>),
}

fn accepted(status: &str) -> Accepted {
    Accepted::Accepted(Json(AcceptedBody { status: status.into() }))
}

/// The order form's defaults.
#[derive(Object)]
#[oai(skip_serializing_if_is_none, rename = "TicketOrderLink")]
struct OrderLinkView {
    enterprise_code: String,
    tenant_name: String,
    /// The buyer's e-mail (担当者メールアドレス) the link was sent to.
    email: String,
    /// Unit prices in yen, tax excluded.
    prices: PerTerm,
    tax_percent: u64,
    /// `service` (電子契約サービスに直接送付) or `key_file` (PKCS#12 download).
    delivery_options: Vec<OneOf<Delivery>>,
    expires_at: String,
}

#[derive(Object, Default)]
#[oai(skip_serializing_if_is_none, rename = "TicketBilling")]
struct BillingBody {
    #[oai(default)]
    company: String,
    #[oai(default)]
    department: String,
    #[oai(default)]
    postal_code: String,
    #[oai(default)]
    address: String,
    #[oai(default)]
    phone: String,
    #[oai(default)]
    contact_name: String,
}

impl From<&Billing> for BillingBody {
    fn from(b: &Billing) -> Self {
        Self {
            company: b.company.clone(),
            department: b.department.clone(),
            postal_code: b.postal_code.clone(),
            address: b.address.clone(),
            phone: b.phone.clone(),
            contact_name: b.contact_name.clone(),
        }
    }
}

#[derive(Object)]
#[oai(skip_serializing_if_is_none, rename = "TicketOrderRequest")]
struct OrderRequest {
    #[oai(default)]
    token: String,
    /// `service` or `key_file`.
    #[oai(default)]
    delivery: OneOf<Delivery>,
    #[oai(default)]
    billing: BillingBody,
    #[oai(default)]
    quantities: PerTerm,
}

#[derive(Object)]
#[oai(skip_serializing_if_is_none, rename = "TicketOrder")]
struct OrderView {
    order_id: String,
    /// Order and invoice number.
    number: String,
    delivery: OneOf<Delivery>,
    billing: BillingBody,
    quantities: PerTerm,
    prices: PerTerm,
    subtotals: PerTerm,
    /// Yen, tax excluded.
    total: i64,
    tax: i64,
    total_with_tax: i64,
    tickets_released: bool,
    paid: bool,
    created_at: String,
}

fn money(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

impl From<&Order> for OrderView {
    fn from(o: &Order) -> Self {
        Self {
            order_id: o.id.clone(),
            number: o.number.clone(),
            delivery: o.delivery.into(),
            billing: BillingBody::from(&o.billing),
            quantities: PerTerm::of(o.quantities),
            prices: PerTerm::of(o.prices),
            subtotals: PerTerm { y1: money(o.subtotals[0]), y2: money(o.subtotals[1]), y3: money(o.subtotals[2]) },
            total: money(o.total),
            tax: money(o.tax),
            total_with_tax: money(o.total + o.tax),
            tickets_released: o.released_at.is_some(),
            paid: o.paid_at.is_some(),
            created_at: rfc3339(o.created_at),
        }
    }
}

#[derive(ApiResponse)]
enum OrderPlaced {
    #[oai(status = 201)]
    Created(Json<OrderView>),
}

#[derive(Object)]
#[oai(skip_serializing_if_is_none, rename = "Captcha")]
struct CaptchaView {
    captcha_id: String,
    /// `data:image/png;base64,…`
    image: String,
    /// False when `certs.captcha = false`: any answer is accepted.
    required: bool,
}

#[derive(Object)]
#[oai(skip_serializing_if_is_none, rename = "CertApplicationStart")]
struct StartRequest {
    /// `self` (本人) or `proxy` (代理人).
    #[oai(default)]
    applicant: OneOf<ApplicantKind>,
    #[oai(default)]
    enterprise_code: String,
    #[oai(default)]
    ticket: String,
    #[oai(default)]
    email: String,
    /// The e-mail again (checked when given).
    email_confirm: Option<String>,
    #[oai(default)]
    captcha_id: String,
    #[oai(default)]
    captcha_answer: String,
    /// Agreement to 利用者の義務 and 個人情報の取扱い.
    #[oai(default)]
    consent: bool,
}

#[derive(Object)]
#[oai(skip_serializing_if_is_none, rename = "CertApplicationDetails")]
struct DetailsView {
    /// 会社名(漢字)
    company_name: String,
    company_name_kana: String,
    /// 名義人 姓(漢字)
    surname: String,
    given_name: String,
    surname_kana: String,
    given_name_kana: String,
    /// The holder's user ID.
    user_id: String,
    email: String,
    /// `Surname.Given` as entered.
    display_name: String,
    /// `BN-Surname.Given`, as the certificate shows it.
    certificate_name: String,
    phone: String,
}

#[derive(Object)]
#[oai(skip_serializing_if_is_none, rename = "CertIdDocument")]
struct DocumentView {
    name: String,
    content_type: String,
    size: u64,
    sha256: String,
}

#[derive(Object)]
#[oai(skip_serializing_if_is_none, rename = "CertApplication")]
struct ApplicationView {
    id: String,
    enterprise_code: String,
    /// `self` or `proxy`.
    applicant: OneOf<ApplicantKind>,
    /// The applicant's e-mail.
    email: String,
    ticket: String,
    term_years: u8,
    delivery: OneOf<Delivery>,
    /// `registered`, `awaiting_approval`, `issued`, `rejected`.
    status: OneOf<AppStatus>,
    details: Option<DetailsView>,
    id_document: Option<DocumentView>,
    created_at: String,
}

impl From<&Application> for ApplicationView {
    fn from(a: &Application) -> Self {
        Self {
            id: a.id.clone(),
            enterprise_code: a.tenant.clone(),
            applicant: a.applicant.into(),
            email: a.email.clone(),
            ticket: a.ticket.clone(),
            term_years: a.term_years,
            delivery: a.delivery.into(),
            status: a.status.into(),
            details: a.details.as_ref().map(|d| DetailsView {
                company_name: d.company_name.clone(),
                company_name_kana: d.company_name_kana.clone(),
                surname: d.surname.clone(),
                given_name: d.given_name.clone(),
                surname_kana: d.surname_kana.clone(),
                given_name_kana: d.given_name_kana.clone(),
                user_id: d.user_id.clone(),
                email: d.email.clone(),
                display_name: d.display_name.clone(),
                certificate_name: d.certificate_name(),
                phone: d.phone.clone(),
            }),
            id_document: a.document.as_ref().map(|d| DocumentView {
                name: d.name.clone(),
                content_type: d.content_type.clone(),
                size: d.size as u64,
                sha256: d.sha256.clone(),
            }),
            created_at: rfc3339(a.created_at),
        }
    }
}

#[derive(Object)]
#[oai(skip_serializing_if_is_none, rename = "CertIdDocumentUpload")]
struct UploadBody {
    /// The file name, e.g. `名刺.pdf`.
    #[oai(default)]
    name: String,
    /// The file, base64 (standard alphabet): JPEG, PNG or PDF, at most 5 MB.
    #[oai(default)]
    content_base64: String,
}

#[derive(Object)]
#[oai(skip_serializing_if_is_none, rename = "CertApplicationDetailsInput")]
struct DetailsRequest {
    #[oai(default)]
    company_name: String,
    #[oai(default)]
    company_name_kana: String,
    #[oai(default)]
    surname: String,
    #[oai(default)]
    given_name: String,
    #[oai(default)]
    surname_kana: String,
    #[oai(default)]
    given_name_kana: String,
    #[oai(default)]
    user_id: String,
    #[oai(default)]
    email: String,
    /// `Surname.Given` (the certificate shows `BN-Surname.Given`).
    #[oai(default)]
    display_name: String,
    #[oai(default)]
    phone: String,
    /// The identity document (名刺, 社員証, 在職証明書); may be left out once uploaded.
    id_document: Option<UploadBody>,
}

#[derive(Object)]
#[oai(skip_serializing_if_is_none, rename = "CertPinRequest")]
struct PinRequest {
    /// The 12-digit PIN (self applications).
    pin: Option<String>,
}

#[derive(Object)]
#[oai(skip_serializing_if_is_none, rename = "CertApprovalDecision")]
struct ApproveRequest {
    /// Required when approving.
    pin: Option<String>,
    #[oai(default)]
    approve: bool,
}

#[derive(Object)]
#[oai(skip_serializing_if_is_none, rename = "CertificateView")]
struct CertificateView {
    user_id: String,
    /// `CN=BN-Yamada.Taro, O=…, C=JP`
    subject: String,
    common_name: String,
    organization: String,
    issuer: String,
    /// Upper-case hex.
    serial: String,
    not_before: String,
    not_after: String,
    /// First day (Japan) it may be used, `YYYY-MM-DD`.
    usable_from: String,
    /// `not_yet_usable`, `active`, `expired` or `revoked`.
    status: OneOf<certificates::State>,
    delivery: OneOf<Delivery>,
    ticket: String,
    term_years: u8,
    issued_at: String,
    revoked_at: Option<String>,
    revocation_reason: Option<String>,
    /// Signing is locked after five wrong PINs until the group administrator unlocks it.
    pin_locked: bool,
    pem: String,
    /// An outside CA's certificate imported from PKCS#12 (`importCertificate`).
    imported: bool,
    /// For an imported certificate: its CRL distribution points and OCSP URLs.
    crl_urls: Option<Vec<String>>,
    ocsp_urls: Option<Vec<String>>,
}

fn certificate_view(c: &CertRecord, now: jiff::Timestamp) -> CertificateView {
    CertificateView {
        user_id: c.user_id.clone(),
        subject: match &c.imported {
            Some(_) if c.organization.is_empty() => format!("CN={}", c.common_name),
            Some(_) => format!("CN={}, O={}", c.common_name, c.organization),
            None => format!("CN={}, O={}, C=JP", c.common_name, c.organization),
        },
        common_name: c.common_name.clone(),
        organization: c.organization.clone(),
        issuer: match &c.imported {
            Some(i) => i.issuer.clone(),
            None => format!("{} 電子契約 認証局", c.tenant),
        },
        serial: c.serial.clone(),
        not_before: rfc3339(c.not_before),
        not_after: rfc3339(c.not_after),
        usable_from: c.usable_from.to_string(),
        status: certificates::state(c, now).into(),
        delivery: c.delivery.into(),
        ticket: c.ticket.clone(),
        term_years: c.term_years,
        issued_at: rfc3339(c.issued_at),
        revoked_at: c.revoked_at.map(rfc3339),
        revocation_reason: c.revocation_reason.clone(),
        pin_locked: c.pin_locked_at.is_some(),
        pem: c.cert_pem.clone(),
        imported: c.imported.is_some(),
        crl_urls: c.imported.as_ref().map(|i| i.crl_urls.clone()),
        ocsp_urls: c.imported.as_ref().map(|i| i.ocsp_urls.clone()),
    }
}

#[derive(Object)]
#[oai(skip_serializing_if_is_none, rename = "CertApplicationOutcome")]
struct OutcomeView {
    /// `issued`, `awaiting_approval` or `rejected`.
    status: OneOf<AppStatus>,
    certificate: Option<CertificateView>,
    /// Where the approval request went (proxy applications).
    holder_email: Option<String>,
}

#[derive(Object)]
#[oai(skip_serializing_if_is_none, rename = "CertificateTest")]
struct TestView {
    result: String,
    serial: String,
    payload: String,
    /// Base64 DER ECDSA signature of the payload.
    signature: String,
    tested_at: String,
}

#[derive(Object)]
#[oai(skip_serializing_if_is_none, rename = "CertificateRevocation")]
struct RevokeRequest {
    /// A reason (`cessation_of_operation`, `affiliation_changed`, `key_compromise`,
    /// `superseded`, `unspecified`) or free text.
    #[oai(default)]
    reason: String,
}

/// `multipart/form-data` of `importCertificate`.
#[derive(poem_openapi::Multipart)]
struct ImportForm {
    /// The PKCS#12 file (`.p12`/`.pfx`, as `openssl pkcs12 -export` writes: PBES2 with
    /// AES-CBC and PBKDF2, HMAC-SHA-256 MAC), with the signer's ECDSA P-256 key.
    file: Option<FileUpload>,
    /// The PKCS#12 password (used once, kept nowhere).
    password: Option<String>,
    /// The certificate PIN the holder signs with from now on (12 digits).
    pin: Option<String>,
    /// Issuer certificates the file lacks (PEM, one or more, or DER).
    chain: Option<Vec<FileUpload>>,
    /// The issuers' CRLs (DER), when the CRL distribution point cannot be reached.
    revocation: Option<Vec<FileUpload>>,
}

#[derive(ApiResponse)]
enum Imported {
    /// Registered as the signer's certificate.
    #[oai(status = 201)]
    Created(Json<CertificateView>),
}

/// The bytes of an upload, at most `max` (a larger one is `file_too_large`).
async fn upload_bytes(u: FileUpload, max: usize) -> Result<Vec<u8>, CertsError> {
    if u.size() > max {
        return Err(CertsError::Import(keiyaku_certs::error::Refusal::FileTooLarge));
    }
    u.into_vec().await.map_err(|_| CertsError::Import(keiyaku_certs::error::Refusal::Pkcs12Invalid))
}

#[derive(ApiResponse)]
enum FileResponse {
    #[oai(status = 200, content_type = "text/plain; charset=utf-8")]
    Text(Binary<Vec<u8>>, #[oai(header = "Content-Disposition")] String),
}

#[derive(ApiResponse)]
enum KeyFileResponse {
    #[oai(status = 200, content_type = "application/x-pkcs12")]
    File(Binary<Vec<u8>>, #[oai(header = "Content-Disposition")] String),
}

/// The CA certificate as PEM (default) or DER (`?format=der`, as the AIA caIssuers points).
#[derive(ApiResponse)]
enum CaCertificate {
    #[oai(status = 200)]
    Ok(CaCertificateBody),
}

/// Both media types of [`CaCertificate`].
#[derive(poem_openapi::ResponseContent)]
enum CaCertificateBody {
    #[oai(content_type = "application/x-pem-file")]
    Pem(Binary<Vec<u8>>),
    #[oai(content_type = "application/pkix-cert")]
    Der(Binary<Vec<u8>>),
}

/// An RFC 6960 `OCSPRequest`.
#[derive(poem_openapi::ApiRequest)]
enum OcspRequest {
    #[oai(content_type = "application/ocsp-request")]
    Der(Binary<Vec<u8>>),
}

#[derive(ApiResponse)]
enum OcspResponse {
    /// The RFC 6960 `OCSPResponse` (signed, or an error status such as `malformedRequest`).
    #[oai(status = 200, content_type = "application/ocsp-response")]
    Der(Binary<Vec<u8>>, #[oai(header = "Cache-Control")] String),
}

/// The certificate format `getCaCertificate` answers in.
#[derive(poem_openapi::Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[oai(rename_all = "lowercase")]
enum CertFormat {
    Pem,
    Der,
}

/// The DER of an `ocspGet` path segment: base64 (RFC 6960 appendix A), percent-decoded by
/// the router; the URL-safe alphabet is accepted too. Empty when it is not base64, which
/// the responder answers with `malformedRequest`.
fn ocsp_get_der(segment: &str) -> Vec<u8> {
    let cleaned: String = segment.chars().filter(|c| !c.is_whitespace()).collect();
    B64.decode(cleaned.as_bytes())
        .or_else(|_| base64::engine::general_purpose::URL_SAFE.decode(cleaned.as_bytes()))
        .or_else(|_| base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(cleaned.as_bytes()))
        .unwrap_or_default()
}

#[derive(ApiResponse)]
enum CrlResponse {
    #[oai(status = 200, content_type = "application/pkix-crl")]
    Crl(Binary<Vec<u8>>),
}

pub use crate::api::http::content_disposition;

fn text_file(name: &str, text: String) -> FileResponse {
    FileResponse::Text(Binary(text.into_bytes()), content_disposition(name))
}

fn decode_upload(u: Option<UploadBody>) -> Result<Option<Upload>, CertsError> {
    match u {
        None => Ok(None),
        Some(u) => {
            let cleaned: String = u.content_base64.chars().filter(|c| !c.is_whitespace()).collect();
            let bytes = B64.decode(cleaned.as_bytes()).map_err(|_| {
                CertsError::invalid(
                    "id_document",
                    keiyaku_kernel::validate::Rule::Custom {
                        code: FieldCode::InvalidBase64,
                        ja: "ファイルの内容(base64)を読み取れません。".into(),
                        en: "The file content is not valid base64.".into(),
                    },
                )
            })?;
            Ok(Some(Upload { name: u.name, bytes }))
        }
    }
}

fn outcome_submitted(s: Submitted, now: jiff::Timestamp) -> OutcomeView {
    match s {
        Submitted::Issued(c) => OutcomeView {
            status: AppStatus::Issued.into(),
            certificate: Some(certificate_view(&c, now)),
            holder_email: None,
        },
        Submitted::AwaitingApproval { holder_email } => OutcomeView {
            status: AppStatus::AwaitingApproval.into(),
            certificate: None,
            holder_email: Some(holder_email),
        },
    }
}

#[OpenApi(tag = "Tag::Certificates")]
impl CertsApi {
    /// Mails 「チケット購入用URLのご案内」 with a one-time order link (seed §2.1 (4)).
    #[oai(path = "/api/v1/t/:tenant/ticket-orders/links", method = "post", operation_id = "requestOrderLink")]
    async fn request_order_link(
        &self,
        ctx: Ctx,
        tenant: Path<String>,
        body: Json<EmailRequest>,
    ) -> ApiResult<Accepted> {
        let b = body.0;
        let captcha = CaptchaAnswer { id: b.captcha_id, answer: b.captcha_answer };
        self.certs
            .request_order_link(&tenant.0, &b.email, &captcha, ctx.client.clone())
            .await
            .map_err(|e| ctx.fail(&e))?;
        Ok(accepted("mailed"))
    }

    /// The order form behind a link: enterprise code, buyer e-mail, unit prices.
    #[oai(path = "/api/v1/t/:tenant/ticket-orders/links/:token", method = "get", operation_id = "openOrderLink")]
    async fn open_order_link(
        &self,
        ctx: Ctx,
        tenant: Path<String>,
        token: Path<String>,
    ) -> ApiResult<Json<OrderLinkView>> {
        let f = self.certs.open_order_link(&tenant.0, &token.0).await.map_err(|e| ctx.fail(&e))?;
        Ok(Json(OrderLinkView {
            enterprise_code: f.tenant.code,
            tenant_name: f.tenant.name,
            email: f.email,
            prices: PerTerm::of(f.prices),
            tax_percent: keiyaku_certs::documents::TAX_PERCENT,
            delivery_options: Delivery::ALL.into_iter().map(OneOf::from).collect(),
            expires_at: rfc3339(f.expires_at),
        }))
    }

    /// Places a ticket order with the link's token; mails 「注文受付のご案内」 and (unless
    /// tickets wait for payment) 「チケット番号と請求書のご送付」 with the CSV and PDF.
    #[oai(path = "/api/v1/t/:tenant/ticket-orders", method = "post", operation_id = "placeTicketOrder")]
    async fn place_ticket_order(
        &self,
        ctx: Ctx,
        tenant: Path<String>,
        body: Json<OrderRequest>,
    ) -> ApiResult<OrderPlaced> {
        let b = body.0;
        let input = OrderInput {
            token: b.token,
            delivery: b.delivery.into_string(),
            billing: Billing {
                company: b.billing.company,
                department: b.billing.department,
                postal_code: b.billing.postal_code,
                address: b.billing.address,
                phone: b.billing.phone,
                contact_name: b.billing.contact_name,
            },
            quantities: [b.quantities.y1, b.quantities.y2, b.quantities.y3],
        };
        let order = self.certs.place_order(&tenant.0, input, ctx.client.clone()).await.map_err(|e| ctx.fail(&e))?;
        Ok(OrderPlaced::Created(Json(OrderView::from(&order))))
    }

    /// Records the payment of an order (tenant administrators) and releases its tickets
    /// when `certs.release_tickets = "on_payment"`.
    #[oai(path = "/api/v1/t/:tenant/ticket-orders/:order_id/paid", method = "post", operation_id = "markOrderPaid")]
    async fn mark_order_paid(
        &self,
        ctx: Ctx,
        tenant: Path<String>,
        order_id: Path<String>,
        token: BearerToken,
    ) -> ApiResult<Json<OrderView>> {
        let caller = caller(&self.auth, &ctx, &tenant.0, &token).await?;
        let order = self.certs.mark_order_paid(&caller, &order_id.0).await.map_err(|e| ctx.fail(&e))?;
        Ok(Json(OrderView::from(&order)))
    }

    /// A new image captcha for `startApplication` and `requestOrderLink` (answer within ten
    /// minutes, once).
    #[oai(path = "/api/v1/captcha", method = "get", operation_id = "getCaptcha")]
    async fn get_captcha(&self, ctx: Ctx) -> ApiResult<Json<CaptchaView>> {
        let (id, png) = self.certs.captcha().await.map_err(|e| ctx.fail(&e))?;
        Ok(Json(CaptchaView {
            captcha_id: id,
            image: format!("data:image/png;base64,{}", B64.encode(png)),
            required: self.certs.captcha_required(),
        }))
    }

    /// Registers an application (seed §2.2 (5)–(8)) and mails 「申請登録のご案内」 with the
    /// one-time details URL.
    #[oai(path = "/api/v1/t/:tenant/cert-applications", method = "post", operation_id = "startApplication")]
    async fn start_application(&self, ctx: Ctx, tenant: Path<String>, body: Json<StartRequest>) -> ApiResult<Accepted> {
        let b = body.0;
        let input = StartInput {
            applicant: b.applicant.into_string(),
            enterprise_code: b.enterprise_code,
            ticket: b.ticket,
            email: b.email,
            email_confirm: b.email_confirm,
            consent: b.consent,
        };
        let captcha = CaptchaAnswer { id: b.captcha_id, answer: b.captcha_answer };
        self.certs.start_application(&tenant.0, input, &captcha, ctx.client.clone()).await.map_err(|e| ctx.fail(&e))?;
        Ok(accepted("registered"))
    }

    /// The application behind a details link.
    #[oai(path = "/api/v1/t/:tenant/cert-applications/:token", method = "get", operation_id = "getApplication")]
    async fn get_application(
        &self,
        ctx: Ctx,
        tenant: Path<String>,
        token: Path<String>,
    ) -> ApiResult<Json<ApplicationView>> {
        let app = self.certs.application(&tenant.0, &token.0).await.map_err(|e| ctx.fail(&e))?;
        Ok(Json(ApplicationView::from(&app)))
    }

    /// Saves the application details (seed §2.2 (10)–(11)); every field is checked and
    /// errors name the field.
    #[oai(path = "/api/v1/t/:tenant/cert-applications/:token", method = "put", operation_id = "saveApplicationDetails")]
    async fn save_application_details(
        &self,
        ctx: Ctx,
        tenant: Path<String>,
        token: Path<String>,
        body: Json<DetailsRequest>,
    ) -> ApiResult<Json<ApplicationView>> {
        let b = body.0;
        let document = decode_upload(b.id_document).map_err(|e| ctx.fail(&e))?;
        let input = DetailsInput {
            company_name: b.company_name,
            company_name_kana: b.company_name_kana,
            surname: b.surname,
            given_name: b.given_name,
            surname_kana: b.surname_kana,
            given_name_kana: b.given_name_kana,
            user_id: b.user_id,
            email: b.email,
            display_name: b.display_name,
            phone: b.phone,
            document,
        };
        let app = self
            .certs
            .save_application_details(&tenant.0, &token.0, input, ctx.client.clone())
            .await
            .map_err(|e| ctx.fail(&e))?;
        Ok(Json(ApplicationView::from(&app)))
    }

    /// 登録内容のダウンロード: everything entered, as a text file.
    #[oai(
        path = "/api/v1/t/:tenant/cert-applications/:token/registration.txt",
        method = "get",
        operation_id = "downloadRegistration"
    )]
    async fn download_registration(
        &self,
        ctx: Ctx,
        tenant: Path<String>,
        token: Path<String>,
    ) -> ApiResult<FileResponse> {
        let text = self.certs.registration(&tenant.0, &token.0).await.map_err(|e| ctx.fail(&e))?;
        Ok(text_file("登録内容.txt", text))
    }

    /// 発行申請. Self: `{pin}` (12 digits) and the certificate is issued; proxy: the holder
    /// is mailed 「発行申請のご案内」 with a one-time approval URL.
    #[oai(
        path = "/api/v1/t/:tenant/cert-applications/:token/submit",
        method = "post",
        operation_id = "submitApplication"
    )]
    async fn submit_application(
        &self,
        ctx: Ctx,
        tenant: Path<String>,
        token: Path<String>,
        body: Json<PinRequest>,
    ) -> ApiResult<Json<OutcomeView>> {
        let s = self
            .certs
            .submit_application(&tenant.0, &token.0, body.0.pin, ctx.client.clone())
            .await
            .map_err(|e| ctx.fail(&e))?;
        Ok(Json(outcome_submitted(s, self.certs.kernel.now())))
    }

    /// The application behind an approval link, for the holder to review.
    #[oai(path = "/api/v1/t/:tenant/cert-approvals/:token", method = "get", operation_id = "getApproval")]
    async fn get_approval(
        &self,
        ctx: Ctx,
        tenant: Path<String>,
        token: Path<String>,
    ) -> ApiResult<Json<ApplicationView>> {
        let app = self.certs.approval(&tenant.0, &token.0).await.map_err(|e| ctx.fail(&e))?;
        Ok(Json(ApplicationView::from(&app)))
    }

    /// 承認する (`{pin, approve: true}`, issues the certificate) or 承認しない.
    #[oai(path = "/api/v1/t/:tenant/cert-approvals/:token", method = "post", operation_id = "approveApplication")]
    async fn approve_application(
        &self,
        ctx: Ctx,
        tenant: Path<String>,
        token: Path<String>,
        body: Json<ApproveRequest>,
    ) -> ApiResult<Json<OutcomeView>> {
        let b = body.0;
        let d = self
            .certs
            .approve_application(&tenant.0, &token.0, b.approve, b.pin, ctx.client.clone())
            .await
            .map_err(|e| ctx.fail(&e))?;
        let view = match d {
            Decided::Issued(c) => OutcomeView {
                status: AppStatus::Issued.into(),
                certificate: Some(certificate_view(&c, self.certs.kernel.now())),
                holder_email: None,
            },
            Decided::Rejected => {
                OutcomeView { status: AppStatus::Rejected.into(), certificate: None, holder_email: None }
            }
        };
        Ok(Json(view))
    }

    /// The registration text of an approval link, including the PIN typed (`{pin}`).
    #[oai(
        path = "/api/v1/t/:tenant/cert-approvals/:token/registration.txt",
        method = "post",
        operation_id = "downloadApprovalRegistration"
    )]
    async fn download_approval_registration(
        &self,
        ctx: Ctx,
        tenant: Path<String>,
        token: Path<String>,
        body: Json<PinRequest>,
    ) -> ApiResult<FileResponse> {
        let pin = body.0.pin.unwrap_or_default();
        let text = self.certs.approval_registration(&tenant.0, &token.0, &pin).await.map_err(|e| ctx.fail(&e))?;
        Ok(text_file("登録内容.txt", text))
    }

    /// The PKCS#12 key file of a key-file delivery (protected by the PIN); the link works once.
    #[oai(path = "/api/v1/t/:tenant/cert-keyfiles/:token", method = "post", operation_id = "downloadKeyFile")]
    async fn download_key_file(
        &self,
        ctx: Ctx,
        tenant: Path<String>,
        token: Path<String>,
    ) -> ApiResult<KeyFileResponse> {
        let (name, bytes) =
            self.certs.download_key_file(&tenant.0, &token.0, ctx.client.clone()).await.map_err(|e| ctx.fail(&e))?;
        Ok(KeyFileResponse::File(Binary(bytes), content_disposition(&name)))
    }

    /// A signer's certificate: subject, serial, validity, usable from, status, PEM.
    #[oai(path = "/api/v1/t/:tenant/users/:user_id/certificate", method = "get", operation_id = "getCertificate")]
    async fn get_certificate(
        &self,
        ctx: Ctx,
        tenant: Path<String>,
        user_id: Path<String>,
        token: BearerToken,
    ) -> ApiResult<Json<CertificateView>> {
        let caller = caller(&self.auth, &ctx, &tenant.0, &token).await?;
        let (_, cert) = self.certs.certificate(&caller, &user_id.0).await.map_err(|e| ctx.fail(&e))?;
        let cert = cert.ok_or_else(|| ctx.fail(&CertsError::NotFound("certificate")))?;
        Ok(Json(certificate_view(&cert, self.certs.kernel.now())))
    }

    /// 証明書のテスト: signs a test payload with the registered key and verifies it.
    #[oai(
        path = "/api/v1/t/:tenant/users/:user_id/certificate/test",
        method = "post",
        operation_id = "testCertificate"
    )]
    async fn test_certificate(
        &self,
        ctx: Ctx,
        tenant: Path<String>,
        user_id: Path<String>,
        token: BearerToken,
    ) -> ApiResult<Json<TestView>> {
        let caller = caller(&self.auth, &ctx, &tenant.0, &token).await?;
        let t = self.certs.test_certificate(&caller, &user_id.0).await.map_err(|e| ctx.fail(&e))?;
        Ok(Json(TestView {
            result: "ok".into(),
            serial: t.serial,
            payload: t.payload,
            signature: t.signature,
            tested_at: rfc3339(t.tested_at),
        }))
    }

    /// 失効申請 (the holder or their group administrator); the CRL lists it at once.
    #[oai(
        path = "/api/v1/t/:tenant/users/:user_id/certificate/revoke",
        method = "post",
        operation_id = "revokeCertificate"
    )]
    async fn revoke_certificate(
        &self,
        ctx: Ctx,
        tenant: Path<String>,
        user_id: Path<String>,
        token: BearerToken,
        body: Json<RevokeRequest>,
    ) -> ApiResult<Json<CertificateView>> {
        let caller = caller(&self.auth, &ctx, &tenant.0, &token).await?;
        let c = self.certs.revoke_certificate(&caller, &user_id.0, &body.0.reason).await.map_err(|e| ctx.fail(&e))?;
        Ok(Json(certificate_view(&c, self.certs.kernel.now())))
    }

    /// 証明書の取込み: registers a certificate and key from an outside CA (PKCS#12) as the
    /// signer's certificate, with its issuer chain and CRLs (uploaded, or fetched from its
    /// CRL distribution point now), and sets its PIN. By the administrators who may revoke
    /// the holder's certificate. Refusals are 422 with their own `code`
    /// (`pkcs12_invalid`, `pkcs12_unsupported`, `password_invalid`, `key_missing`,
    /// `key_unsupported`, `key_mismatch`, `certificate_expired`, `certificate_not_yet_valid`,
    /// `key_usage_invalid`, `chain_incomplete`, `chain_invalid`, `crl_invalid`,
    /// `revocation_unavailable`, `certificate_revoked`, `certificate_exists`,
    /// `file_too_large`) and write nothing.
    #[oai(
        path = "/api/v1/t/:tenant/users/:user_id/certificate/import",
        method = "post",
        operation_id = "importCertificate"
    )]
    async fn import_certificate(
        &self,
        ctx: Ctx,
        tenant: Path<String>,
        user_id: Path<String>,
        token: BearerToken,
        form: ImportForm,
    ) -> ApiResult<Imported> {
        use keiyaku_certs::import::{ImportInput, MAX_CHAIN_FILE, MAX_CRL, MAX_FILE};
        let caller = caller(&self.auth, &ctx, &tenant.0, &token).await?;
        let read = async {
            let mut input = ImportInput {
                password: form.password.unwrap_or_default(),
                pin: form.pin.unwrap_or_default(),
                ..Default::default()
            };
            if let Some(f) = form.file {
                input.file = upload_bytes(f, MAX_FILE).await?;
            }
            for f in form.chain.unwrap_or_default() {
                input.chain.push(upload_bytes(f, MAX_CHAIN_FILE).await?);
            }
            for f in form.revocation.unwrap_or_default() {
                input.revocation.push(upload_bytes(f, MAX_CRL).await?);
            }
            Ok::<_, CertsError>(input)
        };
        let input = read.await.map_err(|e| ctx.fail(&e))?;
        let c = self.certs.import_certificate(&caller, &user_id.0, input).await.map_err(|e| ctx.fail(&e))?;
        Ok(Imported::Created(Json(certificate_view(&c, self.certs.kernel.now()))))
    }

    /// PINロック解除: after five wrong PINs signing with the certificate is locked until the
    /// administrator who manages the holder's group unlocks it (never the holder).
    #[oai(
        path = "/api/v1/t/:tenant/users/:user_id/certificate/unlock-pin",
        method = "post",
        operation_id = "unlockCertificatePin"
    )]
    async fn unlock_certificate_pin(
        &self,
        ctx: Ctx,
        tenant: Path<String>,
        user_id: Path<String>,
        token: BearerToken,
    ) -> ApiResult<Json<CertificateView>> {
        let caller = caller(&self.auth, &ctx, &tenant.0, &token).await?;
        let c = self.certs.unlock_pin(&caller, &user_id.0).await.map_err(|e| ctx.fail(&e))?;
        Ok(Json(certificate_view(&c, self.certs.kernel.now())))
    }

    /// The tenant CA certificate, PEM or (`format=der`) DER.
    #[oai(path = "/api/v1/t/:tenant/ca/certificate", method = "get", operation_id = "getCaCertificate")]
    async fn get_ca_certificate(
        &self,
        ctx: Ctx,
        tenant: Path<String>,
        format: Query<Option<CertFormat>>,
    ) -> ApiResult<CaCertificate> {
        let pem = self.certs.ca_certificate(&tenant.0).await.map_err(|e| ctx.fail(&e))?;
        Ok(match format.0.unwrap_or(CertFormat::Pem) {
            CertFormat::Pem => CaCertificate::Ok(CaCertificateBody::Pem(Binary(pem.into_bytes()))),
            CertFormat::Der => CaCertificate::Ok(CaCertificateBody::Der(Binary(
                keiyaku_certs::certificates::pem_body(&pem).map_err(|e| ctx.fail(&e))?,
            ))),
        })
    }

    /// The tenant CA's OCSP responder (RFC 6960), POST form.
    #[oai(path = "/api/v1/t/:tenant/ca/ocsp", method = "post", operation_id = "ocsp")]
    async fn ocsp(&self, ctx: Ctx, tenant: Path<String>, body: OcspRequest) -> ApiResult<OcspResponse> {
        let OcspRequest::Der(der) = body;
        let reply = self.certs.ocsp(&tenant.0, der.0).await.map_err(|e| ctx.fail(&e))?;
        Ok(OcspResponse::Der(Binary(reply), "no-store".into()))
    }

    /// The tenant CA's OCSP responder (RFC 6960), GET form: the DER request in base64.
    #[oai(path = "/api/v1/t/:tenant/ca/ocsp/:request", method = "get", operation_id = "ocspGet")]
    async fn ocsp_get(&self, ctx: Ctx, tenant: Path<String>, request: Path<String>) -> ApiResult<OcspResponse> {
        let reply = self.certs.ocsp(&tenant.0, ocsp_get_der(&request.0)).await.map_err(|e| ctx.fail(&e))?;
        Ok(OcspResponse::Der(Binary(reply), "max-age=60".into()))
    }

    /// The tenant's certificate revocation list (DER), signed anew on every revocation.
    #[oai(path = "/api/v1/t/:tenant/ca/crl", method = "get", operation_id = "getCrl")]
    async fn get_crl(&self, ctx: Ctx, tenant: Path<String>) -> ApiResult<CrlResponse> {
        let der = self.certs.crl(&tenant.0).await.map_err(|e| ctx.fail(&e))?;
        Ok(CrlResponse::Crl(Binary(der)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_are_encoded() {
        assert_eq!(
            content_disposition("登録内容.txt"),
            "attachment; filename=\"download.txt\"; filename*=UTF-8''%E7%99%BB%E9%8C%B2%E5%86%85%E5%AE%B9.txt"
        );
        assert!(!content_disposition("a\"\r\nb").contains('\n'));
    }
}
