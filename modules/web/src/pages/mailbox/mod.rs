//! `/mailbox`: the outbox (every mail the appliance sent, newest first), so one-time links
//! can be followed without a mail server. Open to anyone when `mail.mailbox_public`,
//! otherwise to the operator, who logs in on the page (`POST /mailbox/login`, cookie
//! `keiyaku_operator`, double-submit CSRF like the login form).

pub mod forms;
pub mod routes;
#[cfg(test)]
mod tests;
pub mod views;

use crate::Web;
use poem::{EndpointExt, Route, get, post};
use routes::{attachment, mailbox, operator_login, operator_login_totp, operator_logout};
pub use views::{MailboxView, mailbox_view};

pub(crate) fn mount(route: Route, web: &Web) -> Route {
    route
        .at("/mailbox", get(mailbox).data(web.clone()))
        .at("/mailbox/login", post(operator_login).data(web.clone()))
        .at("/mailbox/login/totp", post(operator_login_totp).data(web.clone()))
        .at("/mailbox/logout", post(operator_logout).data(web.clone()))
        .at("/mailbox/:id/attachments/:index", get(attachment).data(web.clone()))
}
