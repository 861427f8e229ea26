//! Pages of the contracts module, under `/t/:tenant/`:
//!
//! - `contracts/new` — 契約登録 in two steps without script: first the 取引先 (`GET
//!   ?counterparty=`), then the form with that partner's candidates for every step of the
//!   default 回覧ルート; `POST contracts/new` (multipart, the PDF documents);
//! - `contracts` — 契約検索 (criteria as GET, sortable, paged) and `contracts.csv` (same
//!   criteria, Excel CSV);
//! - `documents` — 文書検索, one row per document;
//! - `contracts/waiting` — 確認待ち一覧 (the contracts waiting for the caller);
//! - `contracts/:id` — the contract: fields, documents with every version, the route, the
//!   history and the forms the caller may use (`POST …/approve`, `…/send_back`, `…/sign`,
//!   `…/resubmit` (multipart), `…/cancel`);
//! - `contracts/:id/documents/:doc[?version=n]` — a document version (PDF);
//! - `contracts/:id/report` — 合意締結証明書 (PDF).
//!
//! Every rule and permission is the service's ([`Contracts`], [`ContractView`]); forms use
//! the service's field names (`number`, `fields[0].name`, `route[3].users`, …) so that its
//! errors are shown beside the right input. Success redirects with a fixed `?done=` code.

pub mod forms;
pub mod routes;
#[cfg(test)]
mod tests;
pub mod views;

use crate::Web;
use forms::Action;
use poem::{EndpointExt, Route, get, post};
use routes::{
    action_submit, detail_page, document_download, documents_page, new_page, new_submit, report_download,
    resubmit_submit, search_csv, search_page, sign_code_submit, waiting_page,
};

pub fn mount(route: Route, web: &Web) -> Route {
    route
        .at("/t/:tenant/contracts", get(search_page).data(web.clone()))
        .at("/t/:tenant/contracts.csv", get(search_csv).data(web.clone()))
        .at("/t/:tenant/documents", get(documents_page).data(web.clone()))
        .at("/t/:tenant/contracts/new", get(new_page).post(new_submit).data(web.clone()))
        .at("/t/:tenant/contracts/waiting", get(waiting_page).data(web.clone()))
        .at("/t/:tenant/contracts/:id", get(detail_page).data(web.clone()))
        .at("/t/:tenant/contracts/:id/approve", post(action_submit).data(web.clone()).data(Action::Approve))
        .at("/t/:tenant/contracts/:id/send_back", post(action_submit).data(web.clone()).data(Action::SendBack))
        .at("/t/:tenant/contracts/:id/sign", post(action_submit).data(web.clone()).data(Action::Sign))
        .at("/t/:tenant/contracts/:id/cancel", post(action_submit).data(web.clone()).data(Action::Cancel))
        .at("/t/:tenant/contracts/:id/sign-code", post(sign_code_submit).data(web.clone()))
        .at("/t/:tenant/contracts/:id/resubmit", post(resubmit_submit).data(web.clone()))
        .at("/t/:tenant/contracts/:id/report", get(report_download).data(web.clone()))
        .at("/t/:tenant/contracts/:id/documents/:doc", get(document_download).data(web.clone()))
}
