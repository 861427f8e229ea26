//! The server-rendered Japanese web UI of keiyaku (電子契約サービス), English as second
//! language.
//!
//! Layout of the crate:
//! - [`api`]: the HTTP API (`/api/v1`), one file per module, and the transport primitives
//!   (`api::http`: request context, problem+json, body limit, client address).
//! - [`layout`]: the page frame every page shares (document head, header bar, tabs, message
//!   boxes, the language toggle) and the HTML response helper.
//! - [`session`]: cookies, the web session of a logged-in user and both CSRF schemes
//!   (double-submit token for the pre-login forms, session-bound token afterwards).
//! - [`pages`]: one folder per module (`pages/auth/`, `pages/dashboard/`, …: `routes.rs`,
//!   `views.rs`, `forms.rs`); each has a `mount(route, web)` that adds its pages to the
//!   [`poem::Route`]. What pages share: [`form`], [`page`], [`views`].
//! - [`security`]: the security-headers middleware the binary wraps the whole app with.
//! - [`assets`]: the stylesheet and icon, compiled into the binary.
//!
//! Handlers stay thin: they extract, call one service (`keiyaku_auth::Auth`, the kernel's
//! directory and outbox), and render. Without the `auth` feature only the landing page and
//! the static assets exist.

pub mod api;
pub mod assets;
pub mod form;
pub mod layout;
pub mod linkify;
pub mod page;
pub mod pages;
pub mod query;
pub mod security;
pub mod session;
pub mod views;

pub use security::SecurityHeaders;

use keiyaku_kernel::Kernel;

/// What every page handler needs: the kernel and the services of the compiled-in modules,
/// each present exactly when its feature is (the binary's registry builds it). Cheap to clone.
#[derive(Clone)]
pub struct Web {
    pub kernel: Kernel,
    #[cfg(feature = "auth")]
    pub auth: keiyaku_auth::Auth,
    #[cfg(feature = "users")]
    pub users: keiyaku_users::Users,
    #[cfg(feature = "certs")]
    pub certs: keiyaku_certs::Certs,
    #[cfg(feature = "support")]
    pub support: keiyaku_support::Support,
    #[cfg(feature = "contracts")]
    pub contracts: keiyaku_contracts::Contracts,
    #[cfg(feature = "integrations")]
    pub integrations: keiyaku_integrations::Integrations,
}

/// All web pages, with full paths (`/`, `/t/:tenant/...`, `/mailbox`, `/static/...`), as a
/// poem Route.
pub fn routes(web: Web) -> poem::Route {
    let route = poem::Route::new();
    let route = assets::mount(route);
    pages::mount(route, &web)
}

#[cfg(test)]
#[cfg(feature = "auth")]
mod flow_tests;
#[cfg(test)]
#[cfg(feature = "auth")]
mod test_app;
