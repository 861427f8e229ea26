//! `GET /verify`, `POST /verify` (署名検証): a public page where anyone uploads a signed PDF
//! (and, optionally, certificates to trust besides this appliance's tenant CAs) and sees the
//! verifier's report — the same [`keiyaku_contracts::Contracts::verify_upload`] as
//! `verifyPdf` and `keiyaku verify-pdf`. Nothing is stored.

pub mod forms;
pub mod routes;
#[cfg(test)]
mod tests;
pub mod views;

use crate::Web;
use poem::{EndpointExt, Route, get};
use routes::{form_page, submit};

pub(crate) fn mount(route: Route, web: &Web) -> Route {
    route.at("/verify", get(form_page).post(submit).data(web.clone()))
}
