use super::forms::CodeQuery;
use super::views::home_view;
use crate::Web;
use crate::layout::{self, PageCtx};
use crate::session::tenant_path;
use keiyaku_kernel::directory::{self, Tenant};
use poem::http::StatusCode;
use poem::web::Data;
use poem::{Request, Response, handler};

/// The tenants anonymous visitors may see listed.
pub(super) fn listed(config: &keiyaku_kernel::Config, tenants: Vec<Tenant>) -> Vec<Tenant> {
    match config.public_tenants() {
        Some(codes) => tenants.into_iter().filter(|t| codes.contains(&t.code.as_str())).collect(),
        None if config.server.list_tenants => tenants,
        None => Vec::new(),
    }
}

#[handler]
pub(super) async fn home(req: &Request, Data(web): Data<&Web>) -> Response {
    let pc = PageCtx::of(req);
    match web.kernel.store.read(directory::list_tenants).await {
        Ok(tenants) => pc.respond(StatusCode::OK, home_view(&pc, &listed(&web.kernel.config, tenants))),
        Err(e) => layout::server_error(&pc, &e),
    }
}

/// `GET /login?code=…`: the typed enterprise code's login page (an unknown code lands on the
/// same 「見つかりません」 page as any unknown tenant).
#[handler]
pub(super) fn go_to_login(query: poem::Result<poem::web::Query<CodeQuery>>) -> Response {
    let code = query.map(|q| q.0.code).unwrap_or_default();
    let code = code.trim().to_ascii_uppercase();
    if code.is_empty() || code.len() > 20 || !code.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return layout::see_other("/", &[]);
    }
    layout::see_other(&tenant_path(&code, "login"), &[])
}
