use super::forms::{
    Action, ActionForm, Criteria, RegisterForm, max_documents, new_contract, not_a_number, parse_amount, read_file,
    read_register, remap_fields,
};
use super::views::{
    DetailView, PER_PAGE, RegisterView, Results, SearchKind, SearchView, choose_partner_view, contract_href,
    detail_view, done_text, new_title, not_found_msg, register_view, search_view, waiting_view,
};
use crate::Web;
use crate::api::http::content_disposition;
use crate::layout::{self, Msg, PageCtx, Tab, app_page, expired_form, invalid_msg};
use crate::page::PageResult;
use crate::query::Pairs;
use crate::session::{Need, Signed, signed_in, tenant_path};
use keiyaku_contracts::model::{DocType, Summary, Tax};
use keiyaku_contracts::{Contracts, ContractsError, Download, NewDocument, SignInput, line_of};
use keiyaku_kernel::FieldCode;
use keiyaku_kernel::clock;
use keiyaku_kernel::error::{ApiError, FieldError};
use keiyaku_kernel::paging::Paging;
use maud::html;
use poem::http::{StatusCode, header};
use poem::web::{Data, Form, Multipart, Path};
use poem::{Request, Response, handler};

/// A service error as status, message and field errors; None for server errors.
fn failure(pc: &PageCtx, e: &ContractsError) -> Option<(StatusCode, Msg, Vec<FieldError>)> {
    if e.status() >= 500 {
        return None;
    }
    let p = e.problem(pc.lang);
    let status = StatusCode::from_u16(p.status).unwrap_or(StatusCode::BAD_REQUEST);
    let msg = match e {
        ContractsError::Invalid(_) => invalid_msg(pc),
        ContractsError::NotFound(_) => not_found_msg(pc),
        _ => Msg::from_problem(&p),
    };
    Some((status, msg, p.errors))
}

async fn open<'a>(web: &'a Web, req: &Request, tenant: &str) -> Result<(PageCtx, Signed, &'a Contracts), Response> {
    let pc = PageCtx::of(req);
    let s = signed_in(web, &pc, req, tenant, Need::Ready).await?;
    Ok((pc, s, &web.contracts))
}

/// A message page inside the logged-in shell (403, 404, a refusal of the service).
fn message_page(pc: &PageCtx, s: &Signed, status: StatusCode, title: &str, msg: &Msg) -> Response {
    let body = html! {
        (layout::message(msg))
        p.card-links {
            a href=(tenant_path(&s.tenant_code, "contracts")) { (pc.t("契約検索へ", "Contract search")) }
            " · "
            a href=(tenant_path(&s.tenant_code, "")) { (pc.t("ダッシュボードへ戻る", "Back to the dashboard")) }
        }
    };
    pc.respond(status, app_page(pc, s, Tab::Normal, title, body))
}

/// The page for a refusal or failure of the service.
fn refused(pc: &PageCtx, s: &Signed, title: &str, e: &ContractsError) -> Response {
    match failure(pc, e) {
        Some((status, msg, _)) => message_page(pc, s, status, title, &msg),
        None => layout::server_error(pc, e),
    }
}

fn pdf_response(d: Download) -> Response {
    Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, "application/pdf")
        .header(header::CONTENT_DISPOSITION, content_disposition(&d.file_name))
        .header(header::CACHE_CONTROL, "private, no-store")
        .body(d.bytes)
}

pub(super) async fn search(web: &Web, req: &Request, tenant: &str, kind: SearchKind) -> Response {
    let (pc, s, contracts) = match open(web, req, tenant).await {
        Ok(x) => x,
        Err(resp) => return resp,
    };
    let p = Pairs::parse(req.uri().query().unwrap_or_default());
    let criteria = Criteria::of(&p);
    let page = p.get("page").trim().parse::<i64>().ok().filter(|n| (1..=1_000_000).contains(n)).unwrap_or(1);
    let paging = Paging::new(Some(page), Some(PER_PAGE as i64)).unwrap_or_default();
    let caller = s.caller();
    let partners = match contracts.partners(caller).await {
        Ok(c) => c,
        Err(e) => return layout::server_error(&pc, &e),
    };
    let (mut status, mut msg, mut errors, mut results) = (StatusCode::OK, None, Vec::new(), None);
    match criteria.input(pc.lang) {
        Err(e) => (status, msg, errors) = (StatusCode::UNPROCESSABLE_ENTITY, Some(invalid_msg(&pc)), e),
        Ok(input) => {
            let found = match kind {
                SearchKind::Contracts => contracts.search(caller, input, paging).await.map(Results::Contracts),
                SearchKind::Documents => {
                    contracts.search_documents(caller, input, paging).await.map(Results::Documents)
                }
            };
            match found {
                Ok(r) => results = Some(r),
                Err(e) => match failure(&pc, &e) {
                    Some((st, m, errs)) => (status, msg, errors) = (st, Some(m), errs),
                    None => return layout::server_error(&pc, &e),
                },
            }
        }
    }
    let v = SearchView { kind, criteria: &criteria, partners: &partners, results, msg, errors: &errors };
    pc.respond(status, search_view(&pc, &s, &v))
}

#[handler]
pub(super) async fn search_page(req: &Request, Path(tenant): Path<String>, Data(web): Data<&Web>) -> PageResult {
    Ok(search(web, req, &tenant, SearchKind::Contracts).await)
}

#[handler]
pub(super) async fn documents_page(req: &Request, Path(tenant): Path<String>, Data(web): Data<&Web>) -> PageResult {
    Ok(search(web, req, &tenant, SearchKind::Documents).await)
}

#[handler]
pub(super) async fn search_csv(req: &Request, Path(tenant): Path<String>, Data(web): Data<&Web>) -> PageResult {
    let (pc, s, contracts) = open(web, req, &tenant).await?;
    let criteria = Criteria::of(&Pairs::parse(req.uri().query().unwrap_or_default()));
    let back = format!("{}?{}", tenant_path(&tenant, "contracts"), criteria.query(&[]));
    let back = Some((back.as_str(), pc.t("契約検索へ戻る", "Back to the contract search")));
    let input = match criteria.input(pc.lang) {
        Ok(i) => i,
        Err(errors) => {
            let detail = errors.first().map(|e| e.message.as_str());
            return Ok(layout::error_page(
                &pc,
                StatusCode::UNPROCESSABLE_ENTITY,
                &invalid_msg(&pc).title,
                detail,
                back,
            ));
        }
    };
    Ok(match contracts.csv(s.caller(), input, pc.lang).await {
        Ok(bytes) => {
            let name = format!(
                "{}_{}.csv",
                pc.t("契約一覧", "contracts"),
                clock::display(web.kernel.now()).get(..10).unwrap_or_default().replace('/', "")
            );
            Response::builder()
                .status(StatusCode::OK)
                .header(header::CONTENT_TYPE, "text/csv; charset=utf-8")
                .header(header::CONTENT_DISPOSITION, content_disposition(&name))
                .header(header::CACHE_CONTROL, "private, no-store")
                .body(bytes)
        }
        Err(e) => match failure(&pc, &e) {
            Some((status, msg, errors)) => {
                let detail = errors.first().map(|e| e.message.clone()).or(msg.detail);
                layout::error_page(&pc, status, &msg.title, detail.as_deref(), back)
            }
            None => layout::server_error(&pc, &e),
        },
    })
}

#[handler]
pub(super) async fn waiting_page(req: &Request, Path(tenant): Path<String>, Data(web): Data<&Web>) -> PageResult {
    let (pc, s, contracts) = open(web, req, &tenant).await?;
    let p = Pairs::parse(req.uri().query().unwrap_or_default());
    let line = Some(p.get("line")).filter(|l| line_of(l).is_some());
    let list = match contracts.waiting(s.caller()).await {
        Ok(l) => l,
        Err(e) => return Ok(refused(&pc, &s, pc.t("確認待ち一覧", "Waiting for you"), &e)),
    };
    let list: Vec<Summary> = list.into_iter().filter(|c| line.is_none_or(|l| c.step.as_deref() == Some(l))).collect();
    let partners = match contracts.partners(s.caller()).await {
        Ok(c) => c,
        Err(e) => return Ok(layout::server_error(&pc, &e)),
    };
    Ok(pc.respond(StatusCode::OK, waiting_view(&pc, &s, &list, &partners, line)))
}

#[handler]
pub(super) async fn new_page(req: &Request, Path(tenant): Path<String>, Data(web): Data<&Web>) -> PageResult {
    let (pc, s, contracts) = open(web, req, &tenant).await?;
    let p = Pairs::parse(req.uri().query().unwrap_or_default());
    let asked = p.get("counterparty").trim().chars().take(64).collect::<String>();
    let rc = match contracts.route_candidates(s.caller(), Some(asked.clone()).filter(|a| !a.is_empty())).await {
        Ok(rc) => rc,
        Err(e) => return Ok(refused(&pc, &s, new_title(&pc), &e)),
    };
    let Some(partner) = rc.partner.clone() else {
        let (status, msg) = if asked.is_empty() {
            (StatusCode::OK, None)
        } else {
            (
                StatusCode::UNPROCESSABLE_ENTITY,
                Some(Msg::error(pc.t("取引先を選択してください。", "Please choose a counterparty."), None)),
            )
        };
        let current = p.get("current");
        return Ok(pc.respond(status, choose_partner_view(&pc, &s, &rc.partners, current, msg)));
    };
    let form = RegisterForm {
        counterparty: partner.id,
        doc_type: DocType::PurchaseOrder.as_str().into(),
        tax: Tax::Included.as_str().into(),
        ..RegisterForm::default()
    };
    let v = RegisterView {
        rc: &rc,
        form: &form,
        msg: None,
        errors: &[],
        max_bytes: contracts.max_document_bytes(),
        max_documents: max_documents(web),
    };
    Ok(pc.respond(StatusCode::OK, register_view(&pc, &s, &v)))
}

#[handler]
pub(super) async fn new_submit(
    req: &Request,
    Path(tenant): Path<String>,
    Data(web): Data<&Web>,
    mp: poem::Result<Multipart>,
) -> PageResult {
    let (pc, s, contracts) = open(web, req, &tenant).await?;
    let max = contracts.max_document_bytes();
    let Some(fields) = (match mp {
        Ok(mp) => read_register(mp, max, max_documents(web)).await,
        Err(_) => None,
    }) else {
        return Ok(layout::bad_form(&pc));
    };
    let form = fields.form;
    let rc = match contracts.route_candidates(s.caller(), Some(form.counterparty.clone())).await {
        Ok(rc) => rc,
        Err(e) => return Ok(refused(&pc, &s, new_title(&pc), &e)),
    };
    let again = |status: StatusCode, msg: Msg, errors: Vec<FieldError>| {
        if rc.partner.is_none() {
            let msg = Msg::error(pc.t("取引先を選択してください。", "Please choose a counterparty."), None);
            return pc
                .respond(StatusCode::UNPROCESSABLE_ENTITY, choose_partner_view(&pc, &s, &rc.partners, "", Some(msg)));
        }
        let v = RegisterView {
            rc: &rc,
            form: &form,
            msg: Some(msg),
            errors: &errors,
            max_bytes: max,
            max_documents: max_documents(web),
        };
        pc.respond(status, register_view(&pc, &s, &v))
    };
    if !s.check_csrf(&fields.csrf) {
        return Ok(again(StatusCode::FORBIDDEN, expired_form(&pc), Vec::new()));
    }
    if fields.too_large {
        let p = ContractsError::TooLarge { max }.problem(pc.lang);
        let errors = vec![FieldError {
            field: "documents".into(),
            code: FieldCode::PayloadTooLarge,
            message: p.detail.clone().unwrap_or_else(|| p.title.clone()),
        }];
        return Ok(again(StatusCode::PAYLOAD_TOO_LARGE, Msg::from_problem(&p), errors));
    }
    let amount_bad = parse_amount(&form.amount).is_err();
    let (new, sent) = new_contract(&form, fields.documents);
    Ok(match contracts.register(s.caller(), new).await {
        Ok(c) => layout::see_other(&format!("{}?done=registered", contract_href(&tenant, &c.id)), &[]),
        Err(e) => match failure(&pc, &e) {
            Some((status, msg, mut errors)) => {
                remap_fields(&mut errors, &sent);
                if amount_bad {
                    errors.retain(|e| e.field != "amount");
                    errors.push(not_a_number("amount", pc.lang));
                }
                again(status, msg, errors)
            }
            None => layout::server_error(&pc, &e),
        },
    })
}

/// The contract page with what a form's outcome says.
async fn render_detail(
    contracts: &Contracts,
    pc: &PageCtx,
    s: &Signed,
    id: &str,
    status: StatusCode,
    msg: Option<Msg>,
    sent: Option<(Action, &str, &[FieldError])>,
) -> Response {
    let title = pc.t("契約詳細", "Contract");
    let view = match contracts.get(s.caller(), id).await {
        Ok(v) => v,
        Err(e) => return refused(pc, s, title, &e),
    };
    let (action, comment, errors) = match sent {
        Some((a, c, e)) => (Some(a), c, e),
        None => (None, "", &[][..]),
    };
    let v = DetailView { view: &view, msg, errors, action, comment };
    pc.respond(status, detail_view(pc, s, &v))
}

#[handler]
pub(super) async fn detail_page(
    req: &Request,
    Path((tenant, id)): Path<(String, String)>,
    Data(web): Data<&Web>,
) -> PageResult {
    let (pc, s, contracts) = open(web, req, &tenant).await?;
    let p = Pairs::parse(req.uri().query().unwrap_or_default());
    let msg = done_text(p.get("done"), pc.lang).map(Msg::notice);
    Ok(render_detail(contracts, &pc, &s, &id, StatusCode::OK, msg, None).await)
}

async fn act(
    web: &Web,
    req: &Request,
    (tenant, id): (String, String),
    form: poem::Result<Form<ActionForm>>,
    action: Action,
) -> Response {
    let (pc, s, contracts) = match open(web, req, &tenant).await {
        Ok(x) => x,
        Err(resp) => return resp,
    };
    let Ok(Form(form)) = form else {
        return layout::bad_form(&pc);
    };
    let comment: String = form.comment.chars().take(keiyaku_contracts::flow::COMMENT_MAX * 2).collect();
    if !s.check_csrf(&form.csrf) {
        let sent = Some((action, comment.as_str(), &[][..]));
        return render_detail(contracts, &pc, &s, &id, StatusCode::FORBIDDEN, Some(expired_form(&pc)), sent).await;
    }
    let caller = s.caller();
    let result = match action {
        Action::Approve => contracts.approve(caller, &id, &comment).await,
        Action::SendBack => contracts.send_back(caller, &id, &comment).await,
        Action::Cancel => contracts.cancel(caller, &id, &comment).await,
        Action::Sign => {
            let given = |v: &str| Some(v.trim().to_string()).filter(|o| !o.is_empty());
            let input = SignInput {
                on_behalf_of: given(&form.on_behalf_of),
                pin: given(&form.pin),
                otp: given(&form.otp),
                code: given(&form.code),
                ..SignInput::default()
            };
            contracts.sign(caller, &id, input).await
        }
        Action::Resubmit => contracts.resubmit(caller, &id, Vec::new(), &comment).await,
    };
    outcome(contracts, &pc, &s, &tenant, &id, action, &comment, result).await
}

#[allow(clippy::too_many_arguments)]
async fn outcome(
    contracts: &Contracts,
    pc: &PageCtx,
    s: &Signed,
    tenant: &str,
    id: &str,
    action: Action,
    comment: &str,
    result: Result<keiyaku_contracts::Contract, ContractsError>,
) -> Response {
    match result {
        Ok(c) => layout::see_other(&format!("{}?done={}", contract_href(tenant, &c.id), action.done()), &[]),
        Err(e) => match failure(pc, &e) {
            Some((status, msg, errors)) => {
                render_detail(contracts, pc, s, id, status, Some(msg), Some((action, comment, &errors))).await
            }
            None => layout::server_error(pc, &e),
        },
    }
}

/// `POST …/approve`, `…/send_back`, `…/sign`, `…/cancel`: the route says which ([`Action`]).
#[handler]
pub(super) async fn action_submit(
    req: &Request,
    Path(p): Path<(String, String)>,
    Data(web): Data<&Web>,
    Data(action): Data<&Action>,
    form: poem::Result<Form<ActionForm>>,
) -> PageResult {
    Ok(act(web, req, p, form, *action).await)
}

/// `POST …/sign-code`: a delegate asks for a mailed signing code.
#[handler]
pub(super) async fn sign_code_submit(
    req: &Request,
    Path((tenant, id)): Path<(String, String)>,
    Data(web): Data<&Web>,
    form: poem::Result<Form<ActionForm>>,
) -> PageResult {
    let (pc, s, contracts) = open(web, req, &tenant).await?;
    let Ok(Form(form)) = form else {
        return Ok(layout::bad_form(&pc));
    };
    if !s.check_csrf(&form.csrf) {
        return Ok(render_detail(contracts, &pc, &s, &id, StatusCode::FORBIDDEN, Some(expired_form(&pc)), None).await);
    }
    Ok(match contracts.request_signing_code(s.caller(), &id).await {
        Ok(_) => layout::see_other(&format!("{}?done=sign_code_sent#actions", contract_href(&tenant, &id)), &[]),
        Err(e) => match failure(&pc, &e) {
            Some((status, msg, _)) => render_detail(contracts, &pc, &s, &id, status, Some(msg), None).await,
            None => layout::server_error(&pc, &e),
        },
    })
}

#[handler]
pub(super) async fn resubmit_submit(
    req: &Request,
    Path((tenant, id)): Path<(String, String)>,
    Data(web): Data<&Web>,
    mp: poem::Result<Multipart>,
) -> PageResult {
    let (pc, s, contracts) = open(web, req, &tenant).await?;
    let max = contracts.max_document_bytes();
    let read = async {
        let mut mp = mp.ok()?;
        let (mut csrf, mut comment, mut docs, mut too_large) = (String::new(), String::new(), Vec::new(), false);
        while let Some(field) = mp.next_field().await.ok()? {
            let name = field.name().unwrap_or_default().to_string();
            if let Some(doc) = name.strip_prefix("replace_") {
                let doc = doc.chars().take(20).collect::<String>();
                let (file, bytes, big) = read_file(field, max).await?;
                too_large |= big;
                if !bytes.is_empty() && docs.len() < 100 {
                    docs.push((doc, NewDocument { name: file, bytes, pages: None }));
                }
                continue;
            }
            let text: String = field.text().await.ok()?.chars().take(4000).collect();
            match name.as_str() {
                "csrf" => csrf = text,
                "comment" => comment = text,
                _ => {}
            }
        }
        Some((csrf, comment, docs, too_large))
    };
    let Some((csrf, comment, docs, too_large)) = read.await else {
        return Ok(layout::bad_form(&pc));
    };
    let action = Action::Resubmit;
    if !s.check_csrf(&csrf) {
        let sent = Some((action, comment.as_str(), &[][..]));
        return Ok(render_detail(contracts, &pc, &s, &id, StatusCode::FORBIDDEN, Some(expired_form(&pc)), sent).await);
    }
    if too_large {
        let p = ContractsError::TooLarge { max }.problem(pc.lang);
        let sent = Some((action, comment.as_str(), &[][..]));
        return Ok(render_detail(
            contracts,
            &pc,
            &s,
            &id,
            StatusCode::PAYLOAD_TOO_LARGE,
            Some(Msg::from_problem(&p)),
            sent,
        )
        .await);
    }
    let result = contracts.resubmit(s.caller(), &id, docs, &comment).await;
    Ok(outcome(contracts, &pc, &s, &tenant, &id, action, &comment, result).await)
}

#[handler]
pub(super) async fn document_download(
    req: &Request,
    Path((tenant, id, doc)): Path<(String, String, String)>,
    Data(web): Data<&Web>,
) -> PageResult {
    let (pc, s, contracts) = open(web, req, &tenant).await?;
    let p = Pairs::parse(req.uri().query().unwrap_or_default());
    let version = match p.get("version").trim() {
        "" => None,
        v => match v.parse::<u32>() {
            Ok(n) => Some(n),
            Err(_) => return Ok(refused(&pc, &s, pc.t("文書", "Document"), &ContractsError::NotFound("version"))),
        },
    };
    Ok(match contracts.download(s.caller(), &id, &doc, version).await {
        Ok(d) => pdf_response(d),
        Err(e) => refused(&pc, &s, pc.t("文書", "Document"), &e),
    })
}

#[handler]
pub(super) async fn report_download(
    req: &Request,
    Path((tenant, id)): Path<(String, String)>,
    Data(web): Data<&Web>,
) -> PageResult {
    let (pc, s, contracts) = open(web, req, &tenant).await?;
    Ok(match contracts.report(s.caller(), &id).await {
        Ok(d) => pdf_response(d),
        Err(e) => refused(&pc, &s, pc.t("合意締結証明書", "Completion report"), &e),
    })
}
