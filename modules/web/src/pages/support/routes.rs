use super::forms::{CsrfForm, NoticeForm, read_upload};
use super::views::{
    NOTICES_PER_PAGE, NoticesView, Outcome, SupportView, done_msg, notices_view, support_view, usage_view,
};
use crate::Web;
use crate::layout::{self, Msg, PageCtx};
use crate::page::PageResult;
use crate::query::param as query_param;
use crate::session::{Need, SESSION_COOKIE, Signed, is_tenant_code, signed_in, tenant_path, token_cookie};
use keiyaku_kernel::error::{ApiError, FieldError};
use keiyaku_support::policy;
use keiyaku_support::usage::{self, Month};
use keiyaku_support::{Category, NewDocument, NoticeInput, Paging, Support, SupportError};
use poem::http::{StatusCode, header};
use poem::web::{Data, Form, Multipart, Path};
use poem::{Request, Response, handler};

/// A logged-in page: its context, the session and the service; Err is the page to answer
/// with instead (the session's refusal).
async fn open<'a>(web: &'a Web, req: &Request, tenant: &str) -> Result<(PageCtx, Signed, &'a Support), Response> {
    let pc = PageCtx::of(req);
    let s = signed_in(web, &pc, req, tenant, Need::Ready).await?;
    Ok((pc, s, &web.support))
}

/// A service error as a status, a message and field errors; None for server errors
/// (answered with the 500 page).
fn failure(e: &SupportError, pc: &PageCtx) -> Option<(StatusCode, Msg, Vec<FieldError>)> {
    let p = e.problem(pc.lang);
    let status = StatusCode::from_u16(p.status).unwrap_or(StatusCode::BAD_REQUEST);
    if status.is_server_error() {
        return None;
    }
    Some((status, Msg::from_problem(&p), p.errors))
}

/// The logged-in user when the request carries a usable session, for public pages.
async fn maybe_signed(web: &Web, pc: &PageCtx, req: &Request, tenant: &str) -> Option<Signed> {
    token_cookie(req, SESSION_COOKIE)?;
    signed_in(web, pc, req, tenant, Need::Ready).await.ok()
}

async fn render_support(
    web: &Web,
    pc: &PageCtx,
    tenant: &str,
    signed: Option<&Signed>,
    out: Outcome,
    category: &str,
) -> Response {
    let support = &web.support;
    if !is_tenant_code(tenant) {
        return layout::not_found(pc);
    }
    match support.support_page(tenant).await {
        Ok(page) => {
            let v = SupportView { page: &page, signed, msg: out.msg, errors: &out.errors, category };
            pc.respond(
                out.status,
                support_view(pc, &v, web.kernel.config.section::<keiyaku_support::SupportConfig>().max_document_bytes),
            )
        }
        Err(SupportError::NotFound(_)) => layout::not_found(pc),
        Err(e) => layout::server_error(pc, &e),
    }
}

#[handler]
pub(super) async fn support_page(req: &Request, Path(tenant): Path<String>, Data(web): Data<&Web>) -> PageResult {
    let pc = PageCtx::of(req);
    if !is_tenant_code(&tenant) {
        return Ok(layout::not_found(&pc));
    }
    let signed = maybe_signed(web, &pc, req, &tenant).await;
    Ok(render_support(web, &pc, &tenant, signed.as_ref(), Outcome::ok(done_msg(req, pc.lang)), "").await)
}

#[handler]
pub(super) async fn upload_document(
    req: &Request,
    Path(tenant): Path<String>,
    Data(web): Data<&Web>,
    mp: poem::Result<Multipart>,
) -> PageResult {
    let (pc, s, support) = open(web, req, &tenant).await?;
    let Some(fields) = (match mp {
        Ok(mp) => read_upload(mp).await,
        Err(_) => None,
    }) else {
        return Ok(layout::bad_form(&pc));
    };
    if !s.check_csrf(&fields.csrf) {
        let out = Outcome::expired(&pc);
        return Ok(render_support(web, &pc, &tenant, Some(&s), out, "").await);
    }
    let category = fields.category.clone();
    let new = NewDocument { category: fields.category, file_name: fields.file_name, bytes: fields.bytes };
    Ok(match support.upload_document(s.caller(), new).await {
        Ok((doc, replaced)) => {
            let done = if replaced.is_some() { "replaced" } else { "uploaded" };
            let anchor = match doc.category {
                Category::Info => "support-info",
                Category::Manual => "support-manual",
                Category::EbookLaw => "support-ebook-law",
                Category::Faq => "support-faq",
            };
            layout::see_other(&format!("{}?done={done}#{anchor}", tenant_path(&tenant, "support")), &[])
        }
        Err(e) => match failure(&e, &pc) {
            Some((status, msg, errors)) => {
                render_support(web, &pc, &tenant, Some(&s), Outcome::error(status, msg, errors), &category).await
            }
            None => layout::server_error(&pc, &e),
        },
    })
}

#[handler]
pub(super) async fn delete_document(
    req: &Request,
    Path((tenant, id)): Path<(String, String)>,
    Data(web): Data<&Web>,
    form: poem::Result<Form<CsrfForm>>,
) -> PageResult {
    let (pc, s, support) = open(web, req, &tenant).await?;
    let csrf = form.map(|f| f.0.csrf).unwrap_or_default();
    if !s.check_csrf(&csrf) {
        let out = Outcome::expired(&pc);
        return Ok(render_support(web, &pc, &tenant, Some(&s), out, "").await);
    }
    Ok(match support.delete_document(s.caller(), &id).await {
        Ok(_) => layout::see_other(&format!("{}?done=document_deleted", tenant_path(&tenant, "support")), &[]),
        Err(e) => match failure(&e, &pc) {
            Some((status, msg, errors)) => {
                render_support(web, &pc, &tenant, Some(&s), Outcome::error(status, msg, errors), "").await
            }
            None => layout::server_error(&pc, &e),
        },
    })
}

/// Renders the notices page: `page` of the list (all notices when `all`), the outcome of a
/// submission and the form as it was sent.
async fn render_notices(
    support: &Support,
    pc: &PageCtx,
    s: &Signed,
    (page, all): (usize, bool),
    out: Outcome,
    form: &NoticeForm,
) -> Response {
    let paging = Paging { page: page.max(1), per_page: NOTICES_PER_PAGE };
    let list = match support.list_notices(s.caller(), paging, all).await {
        Ok(l) => l,
        Err(e) => return layout::server_error(pc, &e),
    };
    let v = NoticesView { page: &list, all, msg: out.msg, errors: &out.errors, form, now: support.kernel.now() };
    pc.respond(out.status, notices_view(pc, s, &v))
}

#[handler]
pub(super) async fn notices_page(req: &Request, Path(tenant): Path<String>, Data(web): Data<&Web>) -> PageResult {
    let (pc, s, support) = open(web, req, &tenant).await?;
    let page = query_param(req, "page").and_then(|p| p.parse::<usize>().ok()).filter(|p| (1..=1_000_000).contains(p));
    let all = query_param(req, "all").as_deref() == Some("1") && policy::can_manage(s.caller());
    let form = NoticeForm::default();
    Ok(render_notices(support, &pc, &s, (page.unwrap_or(1), all), Outcome::ok(done_msg(req, pc.lang)), &form).await)
}

#[handler]
pub(super) async fn create_notice(
    req: &Request,
    Path(tenant): Path<String>,
    Data(web): Data<&Web>,
    form: poem::Result<Form<NoticeForm>>,
) -> PageResult {
    let (pc, s, support) = open(web, req, &tenant).await?;
    let Ok(Form(form)) = form else {
        return Ok(layout::bad_form(&pc));
    };
    if !s.check_csrf(&form.csrf) {
        let out = Outcome::expired(&pc);
        return Ok(render_notices(support, &pc, &s, (1, false), out, &form).await);
    }
    let input = NoticeInput {
        title: form.title.clone(),
        body: form.body.clone(),
        audience: Some(form.audience.clone()),
        publish_at: Some(form.publish_at.clone()),
        expire_at: Some(form.expire_at.clone()),
    };
    Ok(match support.create_notice(s.caller(), input).await {
        Ok(_) => layout::see_other(&format!("{}?done=notice_created", tenant_path(&tenant, "notices")), &[]),
        Err(e) => match failure(&e, &pc) {
            Some((status, msg, errors)) => {
                render_notices(support, &pc, &s, (1, false), Outcome::error(status, msg, errors), &form).await
            }
            None => layout::server_error(&pc, &e),
        },
    })
}

#[handler]
pub(super) async fn delete_notice(
    req: &Request,
    Path((tenant, id)): Path<(String, String)>,
    Data(web): Data<&Web>,
    form: poem::Result<Form<CsrfForm>>,
) -> PageResult {
    let (pc, s, support) = open(web, req, &tenant).await?;
    let csrf = form.map(|f| f.0.csrf).unwrap_or_default();
    let empty = NoticeForm::default();
    if !s.check_csrf(&csrf) {
        let out = Outcome::expired(&pc);
        return Ok(render_notices(support, &pc, &s, (1, false), out, &empty).await);
    }
    Ok(match support.delete_notice(s.caller(), &id).await {
        Ok(_) => layout::see_other(&format!("{}?done=notice_deleted", tenant_path(&tenant, "notices")), &[]),
        Err(e) => match failure(&e, &pc) {
            Some((status, msg, _)) => {
                render_notices(support, &pc, &s, (1, false), Outcome::error(status, msg, Vec::new()), &empty).await
            }
            None => layout::server_error(&pc, &e),
        },
    })
}

#[handler]
pub(super) async fn usage_page(req: &Request, Path(tenant): Path<String>, Data(web): Data<&Web>) -> PageResult {
    let (pc, s, support) = open(web, req, &tenant).await?;
    let asked = query_param(req, "month").filter(|m| !m.is_empty());
    let this_month = Month::of(support.kernel.now());
    Ok(match support.usage(s.caller(), asked.as_deref()).await {
        Ok(report) => pc.respond(StatusCode::OK, usage_view(&pc, &s, report.month, Some(&report), None)),
        Err(e) => match failure(&e, &pc) {
            Some((status, msg, errors)) => {
                let detail = errors.first().map(|f| f.message.clone());
                let msg = Msg::error(msg.title, detail.or(msg.detail));
                pc.respond(status, usage_view(&pc, &s, this_month, None, Some(msg)))
            }
            None => layout::server_error(&pc, &e),
        },
    })
}

#[handler]
pub(super) async fn usage_csv(req: &Request, Path(tenant): Path<String>, Data(web): Data<&Web>) -> PageResult {
    let (pc, s, support) = open(web, req, &tenant).await?;
    Ok(match support.usage(s.caller(), query_param(req, "month").as_deref()).await {
        Ok(report) => Response::builder()
            .status(StatusCode::OK)
            .header(header::CONTENT_TYPE, "text/csv; charset=utf-8")
            .header(header::CONTENT_DISPOSITION, crate::api::http::content_disposition(&usage::csv_file_name(&report)))
            .header(header::CACHE_CONTROL, "no-store")
            .body(usage::csv(&report, pc.lang)),
        Err(e) => match failure(&e, &pc) {
            Some((status, msg, _)) => layout::error_page(
                &pc,
                status,
                &msg.title,
                msg.detail.as_deref(),
                Some((&tenant_path(&tenant, "usage"), pc.t("利用状況照会へ戻る", "Back to the usage page"))),
            ),
            None => layout::server_error(&pc, &e),
        },
    })
}
