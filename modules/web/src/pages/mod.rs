//! The pages, one folder per module: `NAME/mod.rs` has a `mount(route, web) -> Route` that
//! adds its pages (with full paths); `routes.rs` the handlers, `views.rs` the markup,
//! `forms.rs` the forms. Pages reuse [`crate::layout`], [`crate::session`], [`crate::form`],
//! [`crate::page`] and [`crate::views`], never each other.
//!
//! Adding a module's pages: create `pages/<module>/`, declare it below behind the
//! module's feature (e.g. `#[cfg(feature = "users")] pub mod users;`) and call its `mount`
//! in [`mount`]. Tenant pages without a page of their own fall through to the 準備中
//! (coming soon) page of `dashboard/`, so menu links work before their module exists.

pub mod home;

#[cfg(feature = "auth")]
pub mod auth;
#[cfg(feature = "certs")]
pub mod certs;
#[cfg(feature = "contracts")]
pub mod contracts;
#[cfg(feature = "auth")]
pub mod dashboard;
#[cfg(feature = "auth")]
pub mod mailbox;
#[cfg(feature = "support")]
pub mod support;
#[cfg(feature = "users")]
pub mod users;
#[cfg(feature = "contracts")]
pub mod verify;

use crate::Web;
use poem::Route;

pub(crate) fn mount(route: Route, web: &Web) -> Route {
    let route = home::mount(route, web);
    #[cfg(feature = "auth")]
    let route = {
        let route = auth::mount(route, web);
        // Module pages before the dashboard: its 準備中 fallback catches the rest.
        #[cfg(feature = "users")]
        let route = users::mount(route, web);
        #[cfg(feature = "certs")]
        let route = certs::mount(route, web);
        #[cfg(feature = "support")]
        let route = support::mount(route, web);
        #[cfg(feature = "contracts")]
        let route = contracts::mount(route, web);
        #[cfg(feature = "contracts")]
        let route = verify::mount(route, web);
        let route = dashboard::mount(route, web);
        mailbox::mount(route, web)
    };
    route
}
