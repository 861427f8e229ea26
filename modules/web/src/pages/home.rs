//! `GET /`: the landing page — product name, a field for the enterprise code (and, when
//! `server.list_tenants`, the tenants with links to their login pages; in a demo the demo
//! tenant only), and links to the API documentation and the mailbox.

use crate::Web;
use crate::layout::{self, PRODUCT, PageCtx};
use crate::session::tenant_path;
use keiyaku_kernel::directory::{self, Tenant};
use maud::{Markup, html};
use poem::http::StatusCode;
use poem::web::Data;
use poem::{EndpointExt, Request, Response, Route, get, handler};

pub(crate) fn mount(route: Route, web: &Web) -> Route {
    route.at("/", get(home).data(web.clone())).at("/login", get(go_to_login))
}

/// The tenants anonymous visitors may see listed.
fn listed(config: &keiyaku_kernel::Config, tenants: Vec<Tenant>) -> Vec<Tenant> {
    match config.public_tenants() {
        Some(codes) => tenants.into_iter().filter(|t| codes.contains(&t.code.as_str())).collect(),
        None if config.server.list_tenants => tenants,
        None => Vec::new(),
    }
}

#[handler]
async fn home(req: &Request, Data(web): Data<&Web>) -> Response {
    let pc = PageCtx::of(req);
    match web.kernel.store.read(directory::list_tenants).await {
        Ok(tenants) => pc.respond(StatusCode::OK, home_view(&pc, &listed(&web.kernel.config, tenants))),
        Err(e) => layout::server_error(&pc, &e),
    }
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
struct CodeQuery {
    code: String,
}

/// `GET /login?code=…`: the typed enterprise code's login page (an unknown code lands on the
/// same 「見つかりません」 page as any unknown tenant).
#[handler]
fn go_to_login(query: poem::Result<poem::web::Query<CodeQuery>>) -> Response {
    let code = query.map(|q| q.0.code).unwrap_or_default();
    let code = code.trim().to_ascii_uppercase();
    if code.is_empty() || code.len() > 20 || !code.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return layout::see_other("/", &[]);
    }
    layout::see_other(&tenant_path(&code, "login"), &[])
}

/// The landing page.
pub fn home_view(pc: &PageCtx, tenants: &[Tenant]) -> Markup {
    let with_login = cfg!(feature = "auth");
    let body = html! {
        section.card.card-wide {
            h1.card-title { (PRODUCT) }
            p.lead {
                (pc.t(
                    "keiyaku は、自社のサーバーで運用できる電子契約サービスです。ご利用の企業コードを入力してログインしてください。",
                    "keiyaku is a self-hosted electronic-contract service. Enter your enterprise code to log in.",
                ))
            }
            @if with_login {
                form.filter-form method="get" action="/login" {
                    label for="code" { (pc.t("企業コード", "Enterprise code")) }
                    input #code type="text" name="code" maxlength="20" autocapitalize="characters" autocomplete="organization" spellcheck="false";
                    button.button.button-small type="submit" { (pc.t("ログイン画面へ", "To the login page")) }
                }
            }
            @if !tenants.is_empty() {
                h2.section-title { (pc.t("企業コード一覧", "Enterprise codes")) }
                table.list {
                    thead { tr {
                        th scope="col" { (pc.t("企業コード", "Code")) }
                        th scope="col" { (pc.t("名称", "Name")) }
                        @if with_login { th scope="col" { span.visually-hidden { (pc.t("ログイン", "Log in")) } } }
                    } }
                    tbody {
                        @for t in tenants {
                            tr {
                                td.code { (t.code) }
                                td {
                                    (t.name)
                                    @if t.trial { " " span.badge { (pc.t("トライアル", "trial")) } }
                                }
                                @if with_login {
                                    td.actions { a.button.button-small href=(tenant_path(&t.code, "login")) { (pc.t("ログイン", "Log in")) } }
                                }
                            }
                        }
                    }
                }
            }
            h2.section-title { (pc.t("リンク", "Links")) }
            ul.link-list {
                li { a href="/api/docs" { (pc.t("API仕様書 (OpenAPI)", "API documentation (OpenAPI)")) } }
                @if cfg!(feature = "contracts") {
                    li { a href="/verify" { (pc.t("署名検証(署名されたPDFの確認)", "Verify a signed PDF")) } }
                }
                @if with_login {
                    li { a href="/mailbox" { (pc.t("メールボックス(送信済みメール)", "Mailbox (sent mail)")) } }
                }
            }
        }
    };
    layout::public_page(pc, PRODUCT, None, false, body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use keiyaku_kernel::Lang;

    #[test]
    fn lists_tenants_escaped_with_login_links() {
        let pc = PageCtx::new(Lang::Ja, None, "/", "", None);
        let tenants = vec![Tenant {
            code: "HXOS2".into(),
            name: "オリエンタル白石<script>".into(),
            owner_company_id: "c".into(),
            trial: true,
            created_at: String::new(),
        }];
        let html = home_view(&pc, &tenants).into_string();
        assert!(html.contains("<title>電子契約サービス</title>"));
        assert!(html.contains("HXOS2"));
        assert!(html.contains("オリエンタル白石&lt;script&gt;"));
        assert!(html.contains("href=\"/api/docs\""));
        if cfg!(feature = "auth") {
            assert!(html.contains("href=\"/t/HXOS2/login\""));
            assert!(html.contains("href=\"/mailbox\""));
        }
        let empty = home_view(&pc, &[]).into_string();
        assert!(!empty.contains("企業コード一覧"), "no tenant is listed when none may be shown");
        assert!(!empty.contains("HXOS2"));
        if cfg!(feature = "auth") {
            assert!(empty.contains("action=\"/login\""), "the code field leads to the login page");
        }
    }
}
