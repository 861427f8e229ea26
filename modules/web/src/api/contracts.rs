//! HTTP API of the contracts module (`/api/v1/t/{tenant}/contracts…` and `/documents`).
//! Handlers authenticate, parse, call [`Contracts`](keiyaku_contracts::Contracts) and map.

use crate::api::auth::{BearerToken, caller};
use crate::api::enums::{OneOf, schema};
use crate::api::http::{ApiResult, Ctx, content_disposition};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use keiyaku_contracts::model::{Contract, Summary};
use keiyaku_contracts::model::{DocType, EventAction, Party, Status, Tax};
use keiyaku_contracts::search::DocumentRow;
use keiyaku_contracts::search::{Order, SortKey};
use keiyaku_contracts::{
    ContractView, Contracts, ContractsError, NewContract, NewDocument, RouteStepInput, SearchInput, SignInput,
};
use keiyaku_kernel::FieldCode;
use keiyaku_kernel::Lang;
use keiyaku_kernel::clock::rfc3339;
use keiyaku_kernel::directory::Role;
use keiyaku_kernel::paging::{Page, Paging};
use keiyaku_kernel::validate::Rule;
use keiyaku_kernel::waiting::WaitingLine;
use poem::endpoint::BoxEndpoint;
use poem::http::Method;
use poem::{Request, RequestBody};
use poem_openapi::ApiResponse;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::{Binary, Json};
use poem_openapi::registry::{MetaApi, MetaOperationParam, MetaParamIn, MetaSchema, MetaSchemaRef, Registry};
use poem_openapi::types::{ParseFromParameter, Type};
use poem_openapi::{ApiExtractor, ApiExtractorType, ExtractParamOptions, Object, OpenApi, Tags};
use std::collections::HashMap;

#[derive(Tags)]
enum Tag {
    /// Contracts (契約) and documents (文書): registration, circulation, signing, search
    Contracts,
}

pub struct ContractsApi {
    pub auth: keiyaku_auth::Auth,
    pub contracts: Contracts,
}

// ---------------------------------------------------------------------------------------
// Bodies

#[derive(Object)]
#[oai(skip_serializing_if_is_none, rename = "ContractField")]
struct FieldView {
    name: String,
    #[oai(default)]
    value: String,
}

/// A PDF document given inline.
#[derive(Object)]
#[oai(skip_serializing_if_is_none, rename = "ContractDocumentUpload")]
struct DocumentUpload {
    /// File name, e.g. 注文書.pdf.
    #[oai(default)]
    name: String,
    /// The PDF, base64.
    #[oai(default)]
    content_base64: String,
}

#[derive(Object)]
#[oai(skip_serializing_if_is_none, rename = "ContractRouteStepInput")]
struct RouteStepBody {
    /// `owner` or `partner`.
    #[oai(default)]
    party: OneOf<Party>,
    /// `approver`, `person_in_charge`, `signer` or (owner) `administration`.
    #[oai(default)]
    role: OneOf<Role>,
    /// User IDs chosen for the step; empty: every active holder of the role.
    #[oai(default)]
    users: Vec<String>,
}

#[derive(Object)]
#[oai(skip_serializing_if_is_none, rename = "RegisterContractRequest")]
struct RegisterBody {
    /// 契約番号 (unique per tenant).
    #[oai(default)]
    number: String,
    /// 件名.
    #[oai(default)]
    title: String,
    /// `purchase_order` (注文書), `order_acceptance` (請書), `agreement` (契約書),
    /// `memorandum` (覚書), `quotation` (見積書), `other`.
    #[oai(default)]
    doc_type: OneOf<DocType>,
    /// The partner company: its id or 業者コード.
    #[oai(default)]
    counterparty: String,
    /// 取引年月日, `YYYY-MM-DD`.
    #[oai(default)]
    transaction_date: String,
    /// 取引金額 in yen.
    amount: Option<i64>,
    /// `included` (税込, default) or `excluded` (税抜).
    #[oai(default)]
    tax: OneOf<Tax>,
    #[oai(default)]
    fields: Vec<FieldView>,
    #[oai(default)]
    documents: Vec<DocumentUpload>,
    /// The circulation route; default owner approver → partner person in charge → partner
    /// approver → partner signer → owner administration → owner signer.
    route: Option<Vec<RouteStepBody>>,
}

#[derive(Object)]
#[oai(skip_serializing_if_is_none, rename = "ContractCommentRequest")]
struct CommentBody {
    /// Comment (required for a send-back).
    #[oai(default)]
    comment: String,
}

#[derive(Object)]
#[oai(skip_serializing_if_is_none, rename = "ContractReplacement")]
struct ReplacementBody {
    /// Which document (`D1`, …) the new version replaces.
    #[oai(default)]
    document_id: String,
    #[oai(default)]
    name: String,
    #[oai(default)]
    content_base64: String,
}

#[derive(Object)]
#[oai(skip_serializing_if_is_none, rename = "CorrectContractRequest")]
struct CorrectBody {
    title: Option<String>,
    /// `YYYY-MM-DD`.
    transaction_date: Option<String>,
    amount: Option<i64>,
    /// `included` or `excluded`.
    tax: Option<OneOf<Tax>>,
    /// Replaces all free fields.
    fields: Option<Vec<FieldView>>,
    /// Why the correction is made (kept in the 訂正削除履歴).
    #[oai(default)]
    reason: String,
}

#[derive(Object)]
#[oai(skip_serializing_if_is_none, rename = "DeleteContractRequest")]
struct DeleteBody {
    /// Why (kept in the 訂正削除履歴).
    #[oai(default)]
    reason: String,
}

#[derive(Object)]
#[oai(skip_serializing_if_is_none, rename = "ResubmitContractRequest")]
struct ResubmitBody {
    #[oai(default)]
    comment: String,
    /// New versions of documents, if any.
    #[oai(default)]
    documents: Vec<ReplacementBody>,
}

#[derive(Object)]
#[oai(skip_serializing_if_is_none, rename = "SignContractRequest")]
struct SignBody {
    /// The signer a delegate signs for (only needed when the caller is a delegate of
    /// several of the step's signers).
    on_behalf_of: Option<String>,
    /// 1-based page for the visible seal (default: the last page).
    page: Option<u32>,
    /// Stamp position: points from the page's top-left corner (default: bottom right).
    x: Option<f32>,
    y: Option<f32>,
    /// Own signature: the certificate PIN (12 digits; five wrong ones lock signing).
    pin: Option<String>,
    /// A delegate with an authenticator app: its current code.
    otp: Option<String>,
    /// A delegate without one: the code mailed by `requestSigningCode`.
    code: Option<String>,
}

#[derive(Object)]
#[oai(skip_serializing_if_is_none, rename = "SigningCodeSent")]
struct SigningCodeSent {
    /// Where the code went (the delegate's e-mail address).
    sent_to: String,
    /// RFC 3339; the code is valid for 10 minutes and once.
    expires_at: String,
}

#[derive(Object)]
#[oai(skip_serializing_if_is_none, rename = "ContractVersion")]
struct VersionView {
    n: u32,
    sha256: String,
    size: u64,
    created_at: String,
    by: String,
    /// The signer whose certificate signed this version (a delegate's signature names the
    /// signer here and the delegate in `by`).
    signer: Option<String>,
    cert_serial: Option<String>,
    /// Set when the content was deleted after the retention period.
    deleted_at: Option<String>,
    url: String,
}

#[derive(Object)]
#[oai(skip_serializing_if_is_none, rename = "ContractDocument")]
struct DocumentView {
    id: String,
    name: String,
    versions: Vec<VersionView>,
}

#[derive(Object)]
#[oai(skip_serializing_if_is_none, rename = "ContractStep")]
struct StepView {
    party: OneOf<Party>,
    role: OneOf<Role>,
    /// e.g. `owner_approver`.
    line: OneOf<WaitingLine>,
    company_id: String,
    users: Vec<String>,
    done_by: Option<String>,
    on_behalf_of: Option<String>,
    done_at: Option<String>,
    current: bool,
}

#[derive(Object)]
#[oai(skip_serializing_if_is_none, rename = "ContractEvent")]
struct EventView {
    at: String,
    by: String,
    on_behalf_of: Option<String>,
    action: OneOf<EventAction>,
    step: Option<u32>,
    comment: Option<String>,
}

#[derive(Object)]
#[oai(skip_serializing_if_is_none, rename = "ContractPermissions")]
struct PermissionsView {
    approve: bool,
    sign: bool,
    send_back: bool,
    resubmit: bool,
    cancel: bool,
    correct: bool,
    delete: bool,
    /// Whom the caller would sign for.
    sign_for: Option<String>,
    /// For a delegate: `totp` (authenticator code) or `code` (request a mailed code first).
    step_up: Option<String>,
    /// Why a delegate who holds a mandate for this step cannot sign now
    /// (`mandate_pending`, `mandate_exceeded`, …).
    sign_refusal: Option<String>,
}

#[derive(Object)]
#[oai(skip_serializing_if_is_none, rename = "Contract")]
struct ContractDetail {
    id: String,
    number: String,
    title: String,
    doc_type: OneOf<DocType>,
    doc_type_label: String,
    counterparty: String,
    counterparty_name: String,
    vendor_code: Option<String>,
    transaction_date: String,
    amount: i64,
    tax: OneOf<Tax>,
    fields: Vec<FieldView>,
    /// `circulating`, `sent_back`, `completed`, `cancelled` or `deleted`.
    status: OneOf<Status>,
    status_label: String,
    current_step: Option<u32>,
    registrant: String,
    documents: Vec<DocumentView>,
    route: Vec<StepView>,
    history: Vec<EventView>,
    retention_until: String,
    created_at: String,
    updated_at: String,
    completed_at: Option<String>,
    permissions: PermissionsView,
}

fn detail(v: &ContractView, lang: Lang) -> ContractDetail {
    let c: &Contract = &v.contract;
    ContractDetail {
        id: c.id.clone(),
        number: c.number.clone(),
        title: c.title.clone(),
        doc_type: c.doc_type.into(),
        doc_type_label: c.doc_type.label(lang).into(),
        counterparty: c.counterparty.clone(),
        counterparty_name: v.counterparty_name.clone(),
        vendor_code: v.vendor_code.clone(),
        transaction_date: c.transaction_date.to_string(),
        amount: c.amount,
        tax: c.tax.into(),
        fields: c.fields.iter().map(|f| FieldView { name: f.name.clone(), value: f.value.clone() }).collect(),
        status: c.status.into(),
        status_label: c.status.label(lang).into(),
        current_step: c.current.map(|i| i as u32),
        registrant: c.registrant.clone(),
        documents: c
            .documents
            .iter()
            .map(|d| DocumentView {
                id: d.id.clone(),
                name: d.name.clone(),
                versions: d
                    .versions
                    .iter()
                    .map(|x| VersionView {
                        n: x.n,
                        sha256: x.sha256.clone(),
                        size: x.size,
                        created_at: rfc3339(x.created_at),
                        by: x.by.clone(),
                        signer: x.signer.clone(),
                        cert_serial: x.cert_serial.clone(),
                        deleted_at: x.deleted_at.map(rfc3339),
                        url: format!("/api/v1/t/{}/contracts/{}/documents/{}?version={}", c.tenant, c.id, d.id, x.n),
                    })
                    .collect(),
            })
            .collect(),
        route: c
            .route
            .iter()
            .enumerate()
            .map(|(i, s)| StepView {
                party: s.party.into(),
                role: s.role.into(),
                line: s.line().into(),
                company_id: s.company_id.clone(),
                users: s.users.clone(),
                done_by: s.done.as_ref().map(|d| d.by.clone()),
                on_behalf_of: s.done.as_ref().and_then(|d| d.on_behalf_of.clone()),
                done_at: s.done.as_ref().map(|d| rfc3339(d.at)),
                current: c.current == Some(i),
            })
            .collect(),
        history: c
            .history
            .iter()
            .map(|e| EventView {
                at: rfc3339(e.at),
                by: e.by.clone(),
                on_behalf_of: e.on_behalf_of.clone(),
                action: OneOf::new(e.action.clone()),
                step: e.step.map(|s| s as u32),
                comment: e.comment.clone(),
            })
            .collect(),
        retention_until: c.retention_until.to_string(),
        created_at: rfc3339(c.created_at),
        updated_at: rfc3339(c.updated_at),
        completed_at: c.completed_at.map(rfc3339),
        permissions: PermissionsView {
            approve: v.can_approve,
            sign: v.can_sign,
            send_back: v.can_send_back,
            resubmit: v.can_resubmit,
            cancel: v.can_cancel,
            correct: v.can_correct,
            delete: v.can_delete,
            sign_for: v.sign_for.clone(),
            step_up: v.step_up.map(|s| match s {
                keiyaku_contracts::StepUp::Totp => "totp".to_string(),
                keiyaku_contracts::StepUp::Code { .. } => "code".to_string(),
            }),
            sign_refusal: v.sign_refusal.map(|f| f.code().to_string()),
        },
    }
}

#[derive(Object)]
#[oai(skip_serializing_if_is_none, rename = "ContractSummary")]
struct SummaryView {
    id: String,
    number: String,
    title: String,
    doc_type: OneOf<DocType>,
    counterparty: String,
    transaction_date: String,
    amount: i64,
    status: OneOf<Status>,
    /// The current step's line, e.g. `partner_signer`.
    step: Option<OneOf<WaitingLine>>,
    registrant: String,
    documents: Vec<String>,
    created_at: String,
}

impl From<&Summary> for SummaryView {
    fn from(s: &Summary) -> Self {
        Self {
            id: s.id.clone(),
            number: s.number.clone(),
            title: s.title.clone(),
            doc_type: s.doc_type.into(),
            counterparty: s.counterparty.clone(),
            transaction_date: s.transaction_date.to_string(),
            amount: s.amount,
            status: s.status.into(),
            step: s.step.clone().map(OneOf::new),
            registrant: s.registrant.clone(),
            documents: s.documents.clone(),
            created_at: rfc3339(s.created_at),
        }
    }
}

#[derive(Object)]
#[oai(skip_serializing_if_is_none, rename = "ContractList")]
struct ContractList {
    items: Vec<SummaryView>,
    total: u64,
    page: u64,
    per_page: u64,
}

fn list(p: Page<Summary>) -> ContractList {
    ContractList {
        items: p.items.iter().map(SummaryView::from).collect(),
        total: p.total as u64,
        page: p.page as u64,
        per_page: p.per_page as u64,
    }
}

#[derive(Object)]
#[oai(skip_serializing_if_is_none, rename = "ContractDocumentRow")]
struct DocumentRowView {
    contract_id: String,
    document_id: String,
    name: String,
    contract: SummaryView,
    url: String,
}

#[derive(Object)]
#[oai(skip_serializing_if_is_none, rename = "ContractDocumentList")]
struct DocumentRowList {
    items: Vec<DocumentRowView>,
    total: u64,
    page: u64,
    per_page: u64,
}

#[derive(Object)]
#[oai(skip_serializing_if_is_none, rename = "ContractRouteCandidate")]
struct CandidateView {
    user_id: String,
    name: String,
}

#[derive(Object)]
#[oai(skip_serializing_if_is_none, rename = "ContractRouteCandidateStep")]
struct CandidateStep {
    party: OneOf<Party>,
    role: OneOf<Role>,
    users: Vec<CandidateView>,
}

#[derive(Object)]
#[oai(skip_serializing_if_is_none, rename = "ContractPartner")]
struct PartnerView {
    id: String,
    name: String,
    vendor_code: Option<String>,
}

#[derive(Object)]
#[oai(skip_serializing_if_is_none, rename = "ContractRouteCandidates")]
struct CandidatesView {
    partners: Vec<PartnerView>,
    /// The default route's steps with who can take them (partner steps need `counterparty`).
    steps: Vec<CandidateStep>,
}

#[derive(ApiResponse)]
enum Registered {
    #[oai(status = 201)]
    Created(Json<ContractDetail>),
}

#[derive(ApiResponse)]
enum PdfFile {
    /// The PDF; `ETag` is its SHA-256.
    #[oai(status = 200, content_type = "application/pdf")]
    Pdf(Binary<Vec<u8>>, #[oai(header = "Content-Disposition")] String, #[oai(header = "ETag")] String),
}

/// An RFC 3161 `TimeStampReq`.
#[derive(poem_openapi::ApiRequest)]
enum TimestampQuery {
    #[oai(content_type = "application/timestamp-query")]
    Der(Binary<Vec<u8>>),
}

#[derive(ApiResponse)]
enum TimestampReply {
    /// The RFC 3161 `TimeStampResp` (granted, or rejected with a failure reason).
    #[oai(status = 200, content_type = "application/timestamp-reply")]
    Der(Binary<Vec<u8>>),
}

#[derive(ApiResponse)]
enum CsvFile {
    /// UTF-8 with a byte order mark (Excel), CRLF line ends.
    #[oai(status = 200, content_type = "text/csv; charset=utf-8")]
    Csv(Binary<Vec<u8>>, #[oai(header = "Content-Disposition")] String),
}

// ---------------------------------------------------------------------------------------
// The verifier's report (`verifyPdf`)

/// `application/pdf`, or `multipart/form-data` with `file` and optional `trust` files.
#[derive(poem_openapi::ApiRequest)]
enum VerifyBody {
    #[oai(content_type = "application/pdf")]
    Pdf(Binary<Vec<u8>>),
    /// `multipart/form-data` (any boundary).
    Form(VerifyForm),
}

/// The PDF to verify and extra trust roots.
#[derive(poem_openapi::Multipart)]
struct VerifyForm {
    /// The PDF.
    file: Option<poem_openapi::types::multipart::Upload>,
    /// Trust roots besides this appliance's tenant CAs: PEM (one or more certificates) or
    /// DER files.
    trust: Option<Vec<poem_openapi::types::multipart::Upload>>,
}

/// The verifier's report on a PDF.
#[derive(Object)]
#[oai(skip_serializing_if_is_none, rename = "VerificationReport")]
struct ReportView {
    /// Signatures and document time-stamps, in the order of the revisions that added them.
    signatures: Vec<SignatureView>,
    /// `valid` (every entry intact, trusted, not revoked before its proven time and not
    /// modified after), `indeterminate`, `invalid`, or `unsigned`.
    verdict: String,
    /// Why the verdict is not `valid`.
    reasons: Vec<String>,
}

/// One signature or document time-stamp.
#[derive(Object)]
#[oai(skip_serializing_if_is_none, rename = "VerifiedSignature")]
struct SignatureView {
    /// The signature field's name.
    field: Option<String>,
    /// `signature` or `document_timestamp`.
    kind: String,
    /// Who signed: the delegate when a delegate signed, else the certificate's holder.
    signer: String,
    /// When a delegate signed: the certificate holder.
    on_behalf_of: Option<String>,
    delegate_id: Option<String>,
    mandate_id: Option<String>,
    /// The claimed signing time.
    signed_at: Option<String>,
    /// The earliest time-stamp proving the signature existed.
    time_proof: Option<TimeProofView>,
    /// `B-B`, `B-T`, `B-LT` or `B-LTA`; absent for document time-stamps.
    level: Option<String>,
    /// Digest, signature and time-stamp token check out.
    intact: bool,
    /// The certificate chains to a trust root and was valid at the proven time.
    trusted: bool,
    /// The path to the root (the certificate first) when trusted.
    chain: Vec<String>,
    /// Why it is not trusted.
    trust_reason: Option<String>,
    /// When trust was judged.
    trust_evaluated_at: String,
    revocation: RevocationView,
    certificate: Option<CertificateView>,
    /// Changes after this signature that it does not permit.
    modifications_after: Vec<String>,
    /// Permitted changes after it: `signature`, `validation_data`, `document_timestamp`,
    /// `form_filling`.
    allowed_changes_after: Vec<String>,
    /// The seal the certificate was issued for and the one the stamp was drawn from.
    seal: Option<SealView>,
    /// `valid`, `indeterminate` or `invalid`.
    verdict: String,
    reasons: Vec<String>,
}

/// SHA-256s (lower-case hex) of the certified seal and of the seal the stamp was drawn from.
#[derive(Object)]
#[oai(skip_serializing_if_is_none, rename = "VerifiedSeal")]
struct SealView {
    certificate: Option<String>,
    stamp: Option<String>,
    /// The stamp was drawn from the certificate's seal.
    matches: bool,
}

#[derive(Object)]
#[oai(skip_serializing_if_is_none, rename = "VerifiedTimeProof")]
struct TimeProofView {
    at: String,
    /// The time-stamp authority.
    by: String,
    /// `signature_timestamp` or `document_timestamp`.
    kind: String,
    /// Whether the time-stamp authority's certificate is trusted.
    trusted: bool,
    revocation: RevocationView,
}

/// What the validation data says about a certificate's revocation.
#[derive(Object)]
#[oai(skip_serializing_if_is_none, rename = "VerifiedRevocation")]
struct RevocationView {
    /// `good`, `revoked` or `unknown`.
    status: String,
    /// `ocsp` or `crl`.
    source: Option<String>,
    /// For `good`: as of when.
    checked_at: Option<String>,
    /// For `revoked`: when the certificate was revoked.
    revoked_at: Option<String>,
    /// For `revoked`: the CRL reason, e.g. `key_compromise`.
    reason: Option<String>,
    /// For `revoked`: whether that was before the proven signing time (then the signature
    /// is invalid).
    revoked_before_signing: Option<bool>,
    /// For `unknown`: why.
    detail: Option<String>,
}

#[derive(Object)]
#[oai(skip_serializing_if_is_none, rename = "VerifiedCertificate")]
struct CertificateView {
    subject: String,
    issuer: String,
    /// Upper-case hex.
    serial: String,
    not_before: Option<String>,
    not_after: Option<String>,
    sha256: String,
}

#[derive(ApiResponse)]
enum Verified {
    #[oai(status = 200)]
    Report(Json<ReportView>),
}

fn snake<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_value(v).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default()
}

impl RevocationView {
    fn of(r: &keiyaku_pades::Revocation) -> Self {
        use keiyaku_pades::Revocation as R;
        let empty = Self {
            status: String::new(),
            source: None,
            checked_at: None,
            revoked_at: None,
            reason: None,
            revoked_before_signing: None,
            detail: None,
        };
        match r {
            R::Good { checked_at, source } => Self {
                status: "good".into(),
                source: Some(snake(source)),
                checked_at: Some(rfc3339(*checked_at)),
                ..empty
            },
            R::Revoked { at, reason, revoked_before_signing, source } => Self {
                status: "revoked".into(),
                source: Some(snake(source)),
                revoked_at: Some(rfc3339(*at)),
                reason: reason.clone(),
                revoked_before_signing: Some(*revoked_before_signing),
                ..empty
            },
            R::Unknown { reason } => Self { status: "unknown".into(), detail: Some(reason.clone()), ..empty },
        }
    }
}

impl ReportView {
    fn of(r: &keiyaku_pades::Report) -> Self {
        use keiyaku_pades::Trust;
        let signatures = r
            .signatures
            .iter()
            .map(|s| {
                let (chain, trust_reason, evaluated_at) = match &s.trusted {
                    Trust::Trusted { chain, evaluated_at } => (chain.clone(), None, *evaluated_at),
                    Trust::Untrusted { reason, evaluated_at } => (Vec::new(), Some(reason.clone()), *evaluated_at),
                };
                SignatureView {
                    field: s.field.clone(),
                    kind: snake(&s.kind),
                    signer: s.signer.clone(),
                    on_behalf_of: s.on_behalf_of.clone(),
                    delegate_id: s.delegate_id.clone(),
                    mandate_id: s.mandate_id.clone(),
                    signed_at: s.signed_at.map(rfc3339),
                    time_proof: s.time_proof.as_ref().map(|t| TimeProofView {
                        at: rfc3339(t.at),
                        by: t.by.clone(),
                        kind: snake(&t.kind),
                        trusted: t.trusted.is_trusted(),
                        revocation: RevocationView::of(&t.revocation),
                    }),
                    level: s.level.map(|l| l.to_string()),
                    intact: s.intact,
                    trusted: s.trusted.is_trusted(),
                    chain,
                    trust_reason,
                    trust_evaluated_at: rfc3339(evaluated_at),
                    revocation: RevocationView::of(&s.revocation),
                    certificate: s.certificate.as_ref().map(|c| CertificateView {
                        subject: c.subject.clone(),
                        issuer: c.issuer.clone(),
                        serial: c.serial.clone(),
                        not_before: c.not_before.map(rfc3339),
                        not_after: c.not_after.map(rfc3339),
                        sha256: c.sha256.clone(),
                    }),
                    modifications_after: s.modifications_after.clone(),
                    allowed_changes_after: s.allowed_changes_after.clone(),
                    seal: s.seal.as_ref().map(|x| SealView {
                        certificate: x.certificate.clone(),
                        stamp: x.stamp.clone(),
                        matches: x.matches,
                    }),
                    verdict: s.verdict.to_string(),
                    reasons: s.reasons.clone(),
                }
            })
            .collect();
        Self { signatures, verdict: r.verdict.to_string(), reasons: r.reasons.clone() }
    }
}

fn decode_pdf(field: &str, name: String, content: &str) -> Result<NewDocument, ContractsError> {
    let cleaned: String = content.chars().filter(|c| !c.is_whitespace()).collect();
    let bytes = B64.decode(cleaned.as_bytes()).map_err(|_| {
        ContractsError::invalid(
            format!("{field}.content_base64"),
            Rule::Custom {
                code: FieldCode::InvalidBase64,
                ja: "base64で指定してください。".into(),
                en: "Use base64.".into(),
            },
        )
    })?;
    Ok(NewDocument { name, bytes, pages: None })
}

/// The search criteria of `searchContracts`, `exportContracts` and `searchDocuments`: one
/// query parameter per field of [`SearchInput`], read and documented here once. Values are
/// taken as given (strings, amounts as integers); the domain checks them and answers with
/// its 422 on the field, a non-integer amount is poem-openapi's 400, as for any parameter.
///
/// poem-openapi binds one parameter per argument, so an operation taking `SearchParams`
/// carries one placeholder parameter ([`SEARCH_MARKER`]) that [`ContractsApi`]'s
/// [`OpenApi::meta`] replaces by [`search_params`].
pub struct SearchParams(pub SearchInput);

/// The schema title of the placeholder parameter.
const SEARCH_MARKER: &str = "keiyaku.search-criteria";

/// The query parameters of [`SearchParams`], in the order of [`SearchInput::FIELDS`].
fn search_params() -> Vec<MetaOperationParam> {
    let date = || {
        let mut s = MetaSchema::new("string");
        s.format = Some("date");
        MetaSchemaRef::Inline(Box::new(s))
    };
    let text = <Option<String> as Type>::schema_ref;
    let amount = <Option<i64> as Type>::schema_ref;
    [
        ("date_from", date()),
        ("date_to", date()),
        ("amount_min", amount()),
        ("amount_max", amount()),
        ("counterparty", text()),
        ("number", text()),
        ("title", text()),
        ("doc_type", schema::<DocType>()),
        ("status", schema::<Status>()),
        ("step", schema::<WaitingLine>()),
        ("registrant", text()),
        ("sort", schema::<SortKey>()),
        ("order", schema::<Order>()),
    ]
    .into_iter()
    .map(|(name, schema)| MetaOperationParam {
        name: name.to_string(),
        schema,
        in_type: MetaParamIn::Query,
        description: None,
        required: false,
        deprecated: false,
        explode: true,
        style: None,
    })
    .collect()
}

/// One query parameter, read exactly as a `Query<T>` argument reads it (same errors).
async fn query_param<T: ParseFromParameter>(
    req: &Request,
    body: &mut RequestBody,
    name: &'static str,
) -> poem::Result<T> {
    let opts = ExtractParamOptions {
        name,
        ignore_case: false,
        default_value: None,
        example_value: None,
        explode: true,
        style: None,
    };
    Query::<T>::from_request(req, body, opts).await.map(|q| q.0)
}

impl<'a> ApiExtractor<'a> for SearchParams {
    const TYPES: &'static [ApiExtractorType] = &[ApiExtractorType::Parameter];
    type ParamType = ();
    type ParamRawType = ();

    fn param_in() -> Option<MetaParamIn> {
        Some(MetaParamIn::Query)
    }

    fn param_schema_ref() -> Option<MetaSchemaRef> {
        let mut s = MetaSchema::new("object");
        s.title = Some(SEARCH_MARKER.to_string());
        Some(MetaSchemaRef::Inline(Box::new(s)))
    }

    async fn from_request(
        req: &'a Request,
        body: &mut RequestBody,
        _opts: ExtractParamOptions<Self::ParamType>,
    ) -> poem::Result<Self> {
        type Text = Option<String>;
        Ok(SearchParams(SearchInput {
            date_from: query_param::<Text>(req, body, "date_from").await?,
            date_to: query_param::<Text>(req, body, "date_to").await?,
            amount_min: query_param(req, body, "amount_min").await?,
            amount_max: query_param(req, body, "amount_max").await?,
            counterparty: query_param::<Text>(req, body, "counterparty").await?,
            number: query_param::<Text>(req, body, "number").await?,
            title: query_param::<Text>(req, body, "title").await?,
            doc_type: query_param::<Option<OneOf<DocType>>>(req, body, "doc_type").await?.map(OneOf::into_string),
            status: query_param::<Option<OneOf<Status>>>(req, body, "status").await?.map(OneOf::into_string),
            step: query_param::<Option<OneOf<WaitingLine>>>(req, body, "step").await?.map(OneOf::into_string),
            registrant: query_param::<Text>(req, body, "registrant").await?,
            sort: query_param::<Option<OneOf<SortKey>>>(req, body, "sort").await?.map(OneOf::into_string),
            order: query_param::<Option<OneOf<Order>>>(req, body, "order").await?.map(OneOf::into_string),
        }))
    }
}

/// The operations of [`Operations`], with each [`SearchParams`] placeholder replaced by the
/// criteria's parameters.
impl OpenApi for ContractsApi {
    fn meta() -> Vec<MetaApi> {
        let mut meta = <Operations as OpenApi>::meta();
        let is_marker = |p: &MetaOperationParam| matches!(&p.schema, MetaSchemaRef::Inline(s) if s.title.as_deref() == Some(SEARCH_MARKER));
        for op in meta.iter_mut().flat_map(|a| a.paths.iter_mut()).flat_map(|p| p.operations.iter_mut()) {
            if let Some(at) = op.params.iter().position(is_marker) {
                op.params.splice(at..=at, search_params());
            }
        }
        meta
    }

    fn register(registry: &mut Registry) {
        <Operations as OpenApi>::register(registry);
    }

    fn add_routes(self, route_table: &mut HashMap<String, HashMap<Method, BoxEndpoint<'static>>>) {
        OpenApi::add_routes(Operations(self), route_table);
    }
}

/// The handlers; [`ContractsApi`] is their OpenAPI service.
struct Operations(ContractsApi);

impl std::ops::Deref for Operations {
    type Target = ContractsApi;

    fn deref(&self) -> &ContractsApi {
        &self.0
    }
}

fn paging(page: Option<i64>, per_page: Option<i64>) -> Result<Paging, ContractsError> {
    Paging::new(page, per_page).map_err(ContractsError::Invalid)
}

#[OpenApi]
impl Operations {
    /// 契約検索: by transaction date range, amount range and counterparty (電子帳簿保存法), and
    /// number, title, type, status, current step and registrant; paged and sorted. Only
    /// contracts the caller may see.
    #[oai(
        path = "/api/v1/t/:tenant/contracts",
        method = "get",
        operation_id = "searchContracts",
        tag = "Tag::Contracts"
    )]
    async fn search(
        &self,
        ctx: Ctx,
        tenant: Path<String>,
        token: BearerToken,
        criteria: SearchParams,
        page: Query<Option<i64>>,
        per_page: Query<Option<i64>>,
    ) -> ApiResult<Json<ContractList>> {
        let caller = caller(&self.auth, &ctx, &tenant.0, &token).await?;
        let paging = paging(page.0, per_page.0).map_err(|e| ctx.fail(&e))?;
        let input = criteria.0;
        let p = self.contracts.search(&caller, input, paging).await.map_err(|e| ctx.fail(&e))?;
        Ok(Json(list(p)))
    }

    /// 契約検索 as CSV (same criteria, every match).
    #[oai(
        path = "/api/v1/t/:tenant/contracts/csv",
        method = "get",
        operation_id = "exportContracts",
        tag = "Tag::Contracts"
    )]
    async fn csv(
        &self,
        ctx: Ctx,
        tenant: Path<String>,
        token: BearerToken,
        criteria: SearchParams,
    ) -> ApiResult<CsvFile> {
        let caller = caller(&self.auth, &ctx, &tenant.0, &token).await?;
        let input = criteria.0;
        let bytes = self.contracts.csv(&caller, input, ctx.lang).await.map_err(|e| ctx.fail(&e))?;
        let name = format!("contracts_{}.csv", self.contracts.kernel.now().strftime("%Y%m%d"));
        Ok(CsvFile::Csv(Binary(bytes), content_disposition(&name)))
    }

    /// 文書検索: the documents of the matching contracts (`title` also matches document
    /// names).
    #[oai(
        path = "/api/v1/t/:tenant/documents",
        method = "get",
        operation_id = "searchDocuments",
        tag = "Tag::Contracts"
    )]
    async fn documents(
        &self,
        ctx: Ctx,
        tenant: Path<String>,
        token: BearerToken,
        criteria: SearchParams,
        page: Query<Option<i64>>,
        per_page: Query<Option<i64>>,
    ) -> ApiResult<Json<DocumentRowList>> {
        let caller = caller(&self.auth, &ctx, &tenant.0, &token).await?;
        let paging = paging(page.0, per_page.0).map_err(|e| ctx.fail(&e))?;
        let input = criteria.0;
        let p = self.contracts.search_documents(&caller, input, paging).await.map_err(|e| ctx.fail(&e))?;
        let rows = |r: &DocumentRow| DocumentRowView {
            url: format!("/api/v1/t/{}/contracts/{}/documents/{}", tenant.0, r.contract.id, r.document_id),
            contract_id: r.contract.id.clone(),
            document_id: r.document_id.clone(),
            name: r.name.clone(),
            contract: SummaryView::from(&r.contract),
        };
        Ok(Json(DocumentRowList {
            items: p.items.iter().map(rows).collect(),
            total: p.total as u64,
            page: p.page as u64,
            per_page: p.per_page as u64,
        }))
    }

    /// 契約登録 (owner-side persons in charge, administration, group administrators): the
    /// contract with its PDFs (base64) and route; circulation starts at the first step.
    #[oai(
        path = "/api/v1/t/:tenant/contracts",
        method = "post",
        operation_id = "registerContract",
        tag = "Tag::Contracts"
    )]
    async fn register(
        &self,
        ctx: Ctx,
        tenant: Path<String>,
        token: BearerToken,
        body: Json<RegisterBody>,
    ) -> ApiResult<Registered> {
        let caller = caller(&self.auth, &ctx, &tenant.0, &token).await?;
        let b = body.0;
        let mut documents = Vec::new();
        for (i, d) in b.documents.into_iter().enumerate() {
            documents
                .push(decode_pdf(&format!("documents[{i}]"), d.name, &d.content_base64).map_err(|e| ctx.fail(&e))?);
        }
        let new = NewContract {
            number: b.number,
            title: b.title,
            doc_type: b.doc_type.into_string(),
            counterparty: b.counterparty,
            transaction_date: b.transaction_date,
            amount: b.amount,
            tax: b.tax.into_string(),
            fields: b
                .fields
                .into_iter()
                .map(|f| keiyaku_contracts::model::Field { name: f.name, value: f.value })
                .collect(),
            documents,
            route: b.route.map(|r| {
                r.into_iter()
                    .map(|s| RouteStepInput {
                        party: s.party.into_string(),
                        role: s.role.into_string(),
                        users: s.users,
                    })
                    .collect()
            }),
        };
        let c = self.contracts.register(&caller, new).await.map_err(|e| ctx.fail(&e))?;
        let v = self.contracts.get(&caller, &c.id).await.map_err(|e| ctx.fail(&e))?;
        Ok(Registered::Created(Json(detail(&v, ctx.lang))))
    }

    /// For the registration form: the partner companies and who can take each default step.
    #[oai(
        path = "/api/v1/t/:tenant/contracts/route-candidates",
        method = "get",
        operation_id = "listRouteCandidates",
        tag = "Tag::Contracts"
    )]
    async fn candidates(
        &self,
        ctx: Ctx,
        tenant: Path<String>,
        token: BearerToken,
        counterparty: Query<Option<String>>,
    ) -> ApiResult<Json<CandidatesView>> {
        let caller = caller(&self.auth, &ctx, &tenant.0, &token).await?;
        let r = self.contracts.route_candidates(&caller, counterparty.0).await.map_err(|e| ctx.fail(&e))?;
        Ok(Json(CandidatesView {
            partners: r
                .partners
                .iter()
                .map(|p| PartnerView { id: p.id.clone(), name: p.name.clone(), vendor_code: p.vendor_code.clone() })
                .collect(),
            steps: r
                .steps
                .iter()
                .map(|(party, role, users)| CandidateStep {
                    party: (*party).into(),
                    role: (*role).into(),
                    users: users
                        .iter()
                        .map(|u| CandidateView { user_id: u.user_id.clone(), name: u.name.clone() })
                        .collect(),
                })
                .collect(),
        }))
    }

    /// 確認待ち文書: the contracts waiting for the caller (and, for signing steps, for the
    /// signers the caller is a delegate of).
    #[oai(
        path = "/api/v1/t/:tenant/contracts/waiting",
        method = "get",
        operation_id = "listWaitingContracts",
        tag = "Tag::Contracts"
    )]
    async fn waiting(&self, ctx: Ctx, tenant: Path<String>, token: BearerToken) -> ApiResult<Json<ContractList>> {
        let caller = caller(&self.auth, &ctx, &tenant.0, &token).await?;
        let items = self.contracts.waiting(&caller).await.map_err(|e| ctx.fail(&e))?;
        let total = items.len();
        Ok(Json(list(Page { items, total, page: 1, per_page: total.max(1) })))
    }

    /// A contract: fields, documents with every version, route, history and what the
    /// caller may do.
    #[oai(
        path = "/api/v1/t/:tenant/contracts/:id",
        method = "get",
        operation_id = "getContract",
        tag = "Tag::Contracts"
    )]
    async fn get(
        &self,
        ctx: Ctx,
        tenant: Path<String>,
        id: Path<String>,
        token: BearerToken,
    ) -> ApiResult<Json<ContractDetail>> {
        let caller = caller(&self.auth, &ctx, &tenant.0, &token).await?;
        let v = self.contracts.get(&caller, &id.0).await.map_err(|e| ctx.fail(&e))?;
        Ok(Json(detail(&v, ctx.lang)))
    }

    async fn after(&self, ctx: &Ctx, caller: &keiyaku_kernel::Caller, id: &str) -> ApiResult<Json<ContractDetail>> {
        let v = self.contracts.get(caller, id).await.map_err(|e| ctx.fail(&e))?;
        Ok(Json(detail(&v, ctx.lang)))
    }

    /// 訂正: corrects the registered attributes (the registrant while sent back; 管理部 and
    /// group administrators at any time). Documents are never changed; every old and new
    /// value is kept in the history and the audit chain (訂正削除履歴).
    #[oai(
        path = "/api/v1/t/:tenant/contracts/:id",
        method = "patch",
        operation_id = "correctContract",
        tag = "Tag::Contracts"
    )]
    async fn correct(
        &self,
        ctx: Ctx,
        tenant: Path<String>,
        id: Path<String>,
        token: BearerToken,
        body: Json<CorrectBody>,
    ) -> ApiResult<Json<ContractDetail>> {
        let caller = caller(&self.auth, &ctx, &tenant.0, &token).await?;
        let b = body.0;
        let input = keiyaku_contracts::flow::Correction {
            title: b.title,
            transaction_date: b.transaction_date,
            amount: b.amount,
            tax: b.tax.map(OneOf::into_string),
            fields: b.fields.map(|f| {
                f.into_iter().map(|f| keiyaku_contracts::model::Field { name: f.name, value: f.value }).collect()
            }),
            reason: b.reason,
        };
        self.contracts.correct(&caller, &id.0, input).await.map_err(|e| ctx.fail(&e))?;
        self.after(&ctx, &caller, &id.0).await
    }

    /// 削除: after the retention period only (409 before), by 管理部 or group administrators;
    /// the documents' contents go, the record and its history stay.
    #[oai(
        path = "/api/v1/t/:tenant/contracts/:id",
        method = "delete",
        operation_id = "deleteContract",
        tag = "Tag::Contracts"
    )]
    async fn delete(
        &self,
        ctx: Ctx,
        tenant: Path<String>,
        id: Path<String>,
        token: BearerToken,
        body: Json<DeleteBody>,
    ) -> ApiResult<Json<ContractDetail>> {
        let caller = caller(&self.auth, &ctx, &tenant.0, &token).await?;
        self.contracts.delete(&caller, &id.0, &body.0.reason).await.map_err(|e| ctx.fail(&e))?;
        self.after(&ctx, &caller, &id.0).await
    }

    /// 確認/承認 of the current step by one of its users.
    #[oai(
        path = "/api/v1/t/:tenant/contracts/:id/approve",
        method = "post",
        operation_id = "approveContract",
        tag = "Tag::Contracts"
    )]
    async fn approve(
        &self,
        ctx: Ctx,
        tenant: Path<String>,
        id: Path<String>,
        token: BearerToken,
        body: Json<CommentBody>,
    ) -> ApiResult<Json<ContractDetail>> {
        let caller = caller(&self.auth, &ctx, &tenant.0, &token).await?;
        self.contracts.approve(&caller, &id.0, &body.0.comment).await.map_err(|e| ctx.fail(&e))?;
        self.after(&ctx, &caller, &id.0).await
    }

    /// 差戻し with a comment: back to the registrant.
    #[oai(
        path = "/api/v1/t/:tenant/contracts/:id/send-back",
        method = "post",
        operation_id = "sendBackContract",
        tag = "Tag::Contracts"
    )]
    async fn send_back(
        &self,
        ctx: Ctx,
        tenant: Path<String>,
        id: Path<String>,
        token: BearerToken,
        body: Json<CommentBody>,
    ) -> ApiResult<Json<ContractDetail>> {
        let caller = caller(&self.auth, &ctx, &tenant.0, &token).await?;
        self.contracts.send_back(&caller, &id.0, &body.0.comment).await.map_err(|e| ctx.fail(&e))?;
        self.after(&ctx, &caller, &id.0).await
    }

    /// Resubmission by the registrant (optionally with new document versions): the route
    /// starts again.
    #[oai(
        path = "/api/v1/t/:tenant/contracts/:id/resubmit",
        method = "post",
        operation_id = "resubmitContract",
        tag = "Tag::Contracts"
    )]
    async fn resubmit(
        &self,
        ctx: Ctx,
        tenant: Path<String>,
        id: Path<String>,
        token: BearerToken,
        body: Json<ResubmitBody>,
    ) -> ApiResult<Json<ContractDetail>> {
        let caller = caller(&self.auth, &ctx, &tenant.0, &token).await?;
        let b = body.0;
        let mut replacements = Vec::new();
        for (i, d) in b.documents.into_iter().enumerate() {
            let doc = decode_pdf(&format!("documents[{i}]"), d.name, &d.content_base64).map_err(|e| ctx.fail(&e))?;
            replacements.push((d.document_id, doc));
        }
        self.contracts.resubmit(&caller, &id.0, replacements, &b.comment).await.map_err(|e| ctx.fail(&e))?;
        self.after(&ctx, &caller, &id.0).await
    }

    /// 取消 by the registrant.
    #[oai(
        path = "/api/v1/t/:tenant/contracts/:id/cancel",
        method = "post",
        operation_id = "cancelContract",
        tag = "Tag::Contracts"
    )]
    async fn cancel(
        &self,
        ctx: Ctx,
        tenant: Path<String>,
        id: Path<String>,
        token: BearerToken,
        body: Json<CommentBody>,
    ) -> ApiResult<Json<ContractDetail>> {
        let caller = caller(&self.auth, &ctx, &tenant.0, &token).await?;
        self.contracts.cancel(&caller, &id.0, &body.0.comment).await.map_err(|e| ctx.fail(&e))?;
        self.after(&ctx, &caller, &id.0).await
    }

    /// Signs every document at the current signing step with the signer's certificate and
    /// seal (PAdES with the tenant's timestamp), by the signer or one of their delegates.
    #[oai(
        path = "/api/v1/t/:tenant/contracts/:id/sign",
        method = "post",
        operation_id = "signContract",
        tag = "Tag::Contracts"
    )]
    async fn sign(
        &self,
        ctx: Ctx,
        tenant: Path<String>,
        id: Path<String>,
        token: BearerToken,
        body: Json<SignBody>,
    ) -> ApiResult<Json<ContractDetail>> {
        let caller = caller(&self.auth, &ctx, &tenant.0, &token).await?;
        let b = body.0;
        let input = SignInput {
            on_behalf_of: b.on_behalf_of,
            page: b.page,
            x: b.x,
            y: b.y,
            pin: b.pin,
            otp: b.otp,
            code: b.code,
        };
        self.contracts.sign(&caller, &id.0, input).await.map_err(|e| ctx.fail(&e))?;
        self.after(&ctx, &caller, &id.0).await
    }

    /// A delegate without an authenticator app asks for a signing code: 6 digits, mailed to
    /// the delegate, valid for 10 minutes and once. Authority is checked first (a refused
    /// delegate gets no code).
    #[oai(
        path = "/api/v1/t/:tenant/contracts/:id/sign-code",
        method = "post",
        operation_id = "requestSigningCode",
        tag = "Tag::Contracts"
    )]
    async fn request_signing_code(
        &self,
        ctx: Ctx,
        tenant: Path<String>,
        id: Path<String>,
        token: BearerToken,
    ) -> ApiResult<Json<SigningCodeSent>> {
        let caller = caller(&self.auth, &ctx, &tenant.0, &token).await?;
        let sent = self.contracts.request_signing_code(&caller, &id.0).await.map_err(|e| ctx.fail(&e))?;
        Ok(Json(SigningCodeSent { sent_to: sent.sent_to, expires_at: rfc3339(sent.expires_at) }))
    }

    /// A document's PDF: the latest version, or `version`.
    #[oai(
        path = "/api/v1/t/:tenant/contracts/:id/documents/:document_id",
        method = "get",
        operation_id = "downloadContractDocument",
        tag = "Tag::Contracts"
    )]
    async fn download(
        &self,
        ctx: Ctx,
        tenant: Path<String>,
        id: Path<String>,
        document_id: Path<String>,
        token: BearerToken,
        version: Query<Option<u32>>,
    ) -> ApiResult<PdfFile> {
        let caller = caller(&self.auth, &ctx, &tenant.0, &token).await?;
        let d = self.contracts.download(&caller, &id.0, &document_id.0, version.0).await.map_err(|e| ctx.fail(&e))?;
        Ok(PdfFile::Pdf(Binary(d.bytes), content_disposition(&d.file_name), format!("\"{}\"", d.sha256)))
    }

    /// 合意締結証明書 (PDF): parties, every step with who and when, signatures and hashes.
    #[oai(
        path = "/api/v1/t/:tenant/contracts/:id/report",
        method = "get",
        operation_id = "getCompletionReport",
        tag = "Tag::Contracts"
    )]
    async fn report(&self, ctx: Ctx, tenant: Path<String>, id: Path<String>, token: BearerToken) -> ApiResult<PdfFile> {
        let caller = caller(&self.auth, &ctx, &tenant.0, &token).await?;
        let d = self.contracts.report(&caller, &id.0).await.map_err(|e| ctx.fail(&e))?;
        Ok(PdfFile::Pdf(Binary(d.bytes), content_disposition(&d.file_name), format!("\"{}\"", d.sha256)))
    }

    /// Verifies a PDF's signatures (no authentication; nothing is stored): for each
    /// signature and document time-stamp its signer, time proof, PAdES level, integrity,
    /// trust (this appliance's tenant CAs and the `trust` files given), revocation at the
    /// proven time, and the changes made after it. 415 for a file that is not a PDF.
    #[oai(path = "/api/v1/verify", method = "post", operation_id = "verifyPdf", tag = "Tag::Contracts")]
    async fn verify_pdf(&self, ctx: Ctx, body: VerifyBody) -> ApiResult<Verified> {
        let read = |e: std::io::Error| ctx.fail(&ContractsError::NotPdf(e.to_string()));
        let (pdf, trust) = match body {
            VerifyBody::Pdf(b) => (b.0, Vec::new()),
            VerifyBody::Form(form) => {
                let pdf = match form.file {
                    Some(u) => u.into_vec().await.map_err(read)?,
                    None => Vec::new(),
                };
                let mut trust = Vec::new();
                for t in form.trust.unwrap_or_default() {
                    trust.push(t.into_vec().await.map_err(read)?);
                }
                (pdf, trust)
            }
        };
        let report = self.contracts.verify_upload(pdf, trust).await.map_err(|e| ctx.fail(&e))?;
        Ok(Verified::Report(Json(ReportView::of(&report))))
    }

    /// The tenant's RFC 3161 timestamp authority (the one that stamps keiyaku's signatures),
    /// for tenant users: `application/timestamp-query` in, `application/timestamp-reply` out.
    #[oai(path = "/api/v1/t/:tenant/tsa", method = "post", operation_id = "timestamp", tag = "Tag::Contracts")]
    async fn timestamp(
        &self,
        ctx: Ctx,
        tenant: Path<String>,
        token: BearerToken,
        body: TimestampQuery,
    ) -> ApiResult<TimestampReply> {
        let caller = caller(&self.auth, &ctx, &tenant.0, &token).await?;
        let TimestampQuery::Der(der) = body;
        let reply = self.contracts.timestamp(&caller, der.0).await.map_err(|e| ctx.fail(&e))?;
        Ok(TimestampReply::Der(Binary(reply)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The three search operations document the criteria in the domain's order, and no
    /// placeholder is left in the document.
    #[test]
    fn search_operations_document_every_criterion() {
        let names: Vec<String> = search_params().into_iter().map(|p| p.name).collect();
        assert_eq!(names, SearchInput::FIELDS);
        let meta = <ContractsApi as OpenApi>::meta();
        let ops: Vec<_> = meta.iter().flat_map(|a| a.paths.iter()).flat_map(|p| p.operations.iter()).collect();
        for id in ["searchContracts", "exportContracts", "searchDocuments"] {
            let op = ops.iter().find(|o| o.operation_id == Some(id));
            let params: Vec<&str> = op.map(|o| o.params.iter().map(|p| p.name.as_str()).collect()).unwrap_or_default();
            assert_eq!(params.get(1..14), Some(&SearchInput::FIELDS[..]), "{id}");
        }
        let json =
            serde_json::to_string(&ops.iter().flat_map(|o| o.params.iter()).collect::<Vec<_>>()).unwrap_or_default();
        assert!(!json.contains(SEARCH_MARKER));
    }
}
