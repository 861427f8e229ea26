use super::forms::read_upload;
use super::views::view;
use crate::Web;
use crate::layout::{self, Msg, PageCtx};
use crate::page::PageResult;
use crate::session::FormToken;
use keiyaku_kernel::error::ApiError;
use poem::http::StatusCode;
use poem::web::{Data, Multipart};
use poem::{Request, handler};

#[handler]
pub(super) fn form_page(req: &Request) -> PageResult {
    let pc = PageCtx::of(req);
    let ft = FormToken::for_request(req);
    Ok(pc.respond_with(StatusCode::OK, view(&pc, &ft.value, None, None), &ft.set_cookie()))
}

#[handler]
pub(super) async fn submit(req: &Request, Data(web): Data<&Web>, mp: poem::Result<Multipart>) -> PageResult {
    let pc = PageCtx::of(req);
    let contracts = &web.contracts;
    let Some(upload) = (match mp {
        Ok(mp) => read_upload(mp).await,
        Err(_) => None,
    }) else {
        return Ok(layout::bad_form(&pc));
    };
    let ft = FormToken::for_request(req);
    if !FormToken::verify(req, &upload.csrf) {
        let msg = layout::expired_public_form(&pc);
        return Ok(pc.respond_with(StatusCode::FORBIDDEN, view(&pc, &ft.value, Some(&msg), None), &ft.set_cookie()));
    }
    if upload.pdf.is_empty() {
        let msg = Msg::error(pc.t("PDFファイルを選択してください。", "Please choose a PDF file."), None);
        return Ok(pc.respond_with(
            StatusCode::UNPROCESSABLE_ENTITY,
            view(&pc, &ft.value, Some(&msg), None),
            &ft.set_cookie(),
        ));
    }
    Ok(match contracts.verify_upload(upload.pdf, upload.trust).await {
        Ok(report) => pc.respond_with(
            StatusCode::OK,
            view(&pc, &ft.value, None, Some((&upload.file_name, &report))),
            &ft.set_cookie(),
        ),
        Err(e) => {
            let problem = e.problem(pc.lang);
            let status = StatusCode::from_u16(problem.status).unwrap_or(StatusCode::UNPROCESSABLE_ENTITY);
            let msg = Msg::from_problem(&problem);
            pc.respond_with(status, view(&pc, &ft.value, Some(&msg), None), &ft.set_cookie())
        }
    })
}
