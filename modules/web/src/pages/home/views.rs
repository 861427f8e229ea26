use crate::layout::{self, PRODUCT, PageCtx};
use crate::session::tenant_path;
use keiyaku_kernel::directory::Tenant;
use maud::{Markup, html};

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
