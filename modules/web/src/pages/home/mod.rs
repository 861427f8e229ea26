//! `GET /`: the landing page — product name, a field for the enterprise code (and, when
//! `server.list_tenants`, the tenants with links to their login pages; in a demo the demo
//! tenant only), and links to the API documentation and the mailbox.

pub mod forms;
pub mod routes;
#[cfg(test)]
mod tests;
pub mod views;

use crate::Web;
use poem::{EndpointExt, Route, get};
use routes::{go_to_login, home};

pub(crate) fn mount(route: Route, web: &Web) -> Route {
    route.at("/", get(home).data(web.clone())).at("/login", get(go_to_login))
}
