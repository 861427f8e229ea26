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
/// each present exactly when its feature is ([`Web::new`] builds it). Cheap to clone.
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

impl Web {
    /// The services of the compiled-in modules over `kernel`, linked where one uses another;
    /// `menus` are the modules' menu items in order (the header shows those the caller may
    /// open). The binary's registry and the tests build the app through this one function.
    pub fn new(kernel: Kernel, menus: Vec<keiyaku_kernel::module::MenuItem>) -> Self {
        let _ = &menus;
        #[cfg(feature = "certs")]
        let certs = keiyaku_certs::Certs::new(kernel.clone());
        Self {
            #[cfg(feature = "auth")]
            auth: keiyaku_auth::Auth::new(kernel.clone(), menus),
            // Signers confirm delegation mandates with their certificate's key and PIN.
            #[cfg(feature = "certs")]
            users: keiyaku_users::Users::new(kernel.clone()).with_signer_keys(std::sync::Arc::new(certs.clone())),
            #[cfg(all(feature = "users", not(feature = "certs")))]
            users: keiyaku_users::Users::new(kernel.clone()),
            // The dashboard lists the contracts waiting for the user.
            #[cfg(feature = "contracts")]
            support: keiyaku_support::Support::new(kernel.clone())
                .with_waiting(std::sync::Arc::new(keiyaku_contracts::ContractsWaiting)),
            #[cfg(all(feature = "support", not(feature = "contracts")))]
            support: keiyaku_support::Support::new(kernel.clone()),
            #[cfg(feature = "contracts")]
            contracts: keiyaku_contracts::Contracts::new(kernel.clone(), certs.clone()),
            #[cfg(feature = "certs")]
            certs,
            #[cfg(feature = "integrations")]
            integrations: keiyaku_integrations::Integrations::new(
                kernel.clone(),
                kernel.config.section::<keiyaku_integrations::WebhooksConfig>().clone(),
            ),
            kernel,
        }
    }
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
