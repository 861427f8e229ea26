use super::views::{coming_soon_view, dashboard_view};
use crate::Web;
use crate::layout::{self, PageCtx, Tab};
use crate::page::PageResult;
use crate::session::{Need, signed_in, tenant_path};
use poem::http::{Method, StatusCode};
use poem::web::{Data, Path};
use poem::{Request, Response, handler};

/// Loading [`DashData`]: from the support service when compiled in and configured, empty
/// otherwise (one `imp` per feature, so the page code has no `#[cfg]`).
#[cfg(feature = "support")]
mod imp {
    use super::super::views::{DashData, FileItem, NoticeItem, waiting_rows_of};
    use crate::Web;
    use crate::session::Signed;
    use keiyaku_kernel::clock::tokyo;
    use keiyaku_kernel::waiting::short_company_name;

    pub(super) async fn load(web: &Web, s: &Signed, lang: keiyaku_kernel::Lang) -> Result<DashData, String> {
        let support = &web.support;
        let d = support.dashboard(s.caller()).await.map_err(|e| e.to_string())?;
        let short = short_company_name(&d.owner_company_name);
        Ok(DashData {
            waiting: Some(waiting_rows_of(lang, &short, &d.waiting)),
            notices: d
                .notices
                .iter()
                .map(|n| NoticeItem {
                    id: n.id.clone(),
                    date: n.publish_at.to_zoned_datetime(tokyo()).strftime("%Y/%m/%d").to_string(),
                    title: n.title.clone(),
                    body: n.body.clone(),
                })
                .collect(),
            notices_total: d.notices_total,
            files: d
                .documents
                .iter()
                .map(|doc| FileItem {
                    name: doc.file_name.clone(),
                    href: format!("/api/v1/t/{}/support/documents/{}", doc.tenant, doc.id),
                    section: doc.category.label(lang).to_string(),
                })
                .collect(),
        })
    }
}

#[cfg(not(feature = "support"))]
mod imp {
    use super::super::views::DashData;
    use crate::Web;
    use crate::session::Signed;

    pub(super) async fn load(_web: &Web, _s: &Signed, _lang: keiyaku_kernel::Lang) -> Result<DashData, String> {
        Ok(DashData::default())
    }
}

#[handler]
pub(super) fn to_dashboard(Path(tenant): Path<String>, req: &Request) -> PageResult {
    Ok(if crate::session::is_tenant_code(&tenant) {
        layout::see_other(&tenant_path(&tenant, ""), &[])
    } else {
        layout::not_found(&PageCtx::of(req))
    })
}

#[handler]
pub(super) async fn dashboard(req: &Request, Path(tenant): Path<String>, Data(web): Data<&Web>) -> PageResult {
    Ok(show_dashboard(web, req, &tenant).await)
}

async fn show_dashboard(web: &Web, req: &Request, tenant: &str) -> Response {
    let pc = PageCtx::of(req);
    let s = match signed_in(web, &pc, req, tenant, Need::Ready).await {
        Ok(s) => s,
        Err(resp) => return resp,
    };
    let admin_asked = crate::query::param(req, "tab").is_some_and(|t| t == "admin");
    let tab = if admin_asked && s.is_group_admin() { Tab::Admin } else { Tab::Normal };
    let notice = layout::notice_of(req, pc.lang);
    let data = match imp::load(web, &s, pc.lang).await {
        Ok(d) => d,
        Err(e) => return layout::server_error(&pc, &e),
    };
    pc.respond(StatusCode::OK, dashboard_view(&pc, &s, tab, notice, &data))
}

#[handler]
pub(super) async fn coming_soon(
    req: &Request,
    Path((tenant, rest)): Path<(String, String)>,
    Data(web): Data<&Web>,
) -> PageResult {
    let pc = PageCtx::of(req);
    if req.method() != Method::GET && req.method() != Method::HEAD {
        return Ok(layout::error_page(
            &pc,
            StatusCode::METHOD_NOT_ALLOWED,
            pc.t("この操作はできません。", "This method is not allowed here."),
            None,
            None,
        ));
    }
    if rest.is_empty() {
        // `/t/:tenant/` itself: the router prefers the catch-all with an empty tail.
        return Ok(show_dashboard(web, req, &tenant).await);
    }
    let s = signed_in(web, &pc, req, &tenant, Need::Ready).await?;
    Ok(pc.respond(StatusCode::OK, coming_soon_view(&pc, &s, &rest)))
}
