//! Pages of the support module:
//! - `/t/:tenant/support` — サポートページ (seed §2 (2)), public: サポート情報, JCAN証明書関連,
//!   利用説明資料, 電子帳簿保存法関連資料, よくあるご質問; the owner's group administrators also
//!   get the upload form and delete buttons (`POST …/support/documents`,
//!   `POST …/support/documents/:id/delete`);
//! - `/t/:tenant/notices` — お知らせ, paged; administrators publish and delete notices;
//! - `/t/:tenant/usage` — 利用状況照会 for a month, and `/t/:tenant/usage.csv` (Excel CSV).
//!
//! Handlers extract, call [`keiyaku_support::Support`] and render; downloads use the API's
//! public document URL.

pub mod forms;
pub mod routes;
#[cfg(test)]
mod tests;
pub mod views;

use crate::Web;
use poem::{EndpointExt, Route, get, post};
use routes::{
    create_notice, delete_document, delete_notice, notices_page, support_page, upload_document, usage_csv, usage_page,
};

pub fn mount(route: Route, web: &Web) -> Route {
    route
        .at("/t/:tenant/support", get(support_page).data(web.clone()))
        .at("/t/:tenant/support/documents", post(upload_document).data(web.clone()))
        .at("/t/:tenant/support/documents/:id/delete", post(delete_document).data(web.clone()))
        .at("/t/:tenant/notices", get(notices_page).post(create_notice).data(web.clone()))
        .at("/t/:tenant/notices/:id/delete", post(delete_notice).data(web.clone()))
        .at("/t/:tenant/usage", get(usage_page).data(web.clone()))
        .at("/t/:tenant/usage.csv", get(usage_csv).data(web.clone()))
}
