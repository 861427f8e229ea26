//! For the pages' tests: the web app over the real services on a temporary store with the
//! demo data, and requests sent with a logged-in user's session cookie.

use crate::{Web, routes};
use keiyaku_auth::{Auth, AuthModule, SessionKind};
use keiyaku_kernel::config::Config;
use keiyaku_kernel::module::{KernelModule, Module};
use keiyaku_kernel::store::StoreError;
use keiyaku_kernel::{Kernel, Store, SystemClock};
use poem::http::{Method, StatusCode, header};
use poem::{Endpoint, Request, Route};
use std::sync::Arc;

/// The app with one module's pages and its service (`service`); the store file goes with it.
pub(crate) struct TestApp<S> {
    pub route: Route,
    pub auth: Auth,
    pub kernel: Kernel,
    pub service: S,
    path: std::path::PathBuf,
}

impl<S> Drop for TestApp<S> {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// A logged-in user's session cookie and CSRF token.
pub(crate) struct Session {
    pub cookie: String,
    pub csrf: String,
}

/// What a request was answered with.
pub(crate) struct Answer {
    pub status: StatusCode,
    pub location: String,
    pub content_type: String,
    pub body: Vec<u8>,
}

impl Answer {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// `application/x-www-form-urlencoded` of `fields` (everything but letters, digits, `-`, `_`
/// and `.` percent-encoded).
pub(crate) fn form_body(fields: &[(&str, &str)]) -> String {
    let enc = |v: &str| {
        v.bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.' {
                    char::from(b).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect::<String>()
    };
    fields.iter().map(|(k, v)| format!("{k}={}", enc(v))).collect::<Vec<_>>().join("&")
}

/// Every compiled-in module, so that each mounted page finds its tables.
pub(crate) fn all_modules() -> Vec<&'static dyn Module> {
    vec![
        &KernelModule,
        &AuthModule,
        #[cfg(feature = "users")]
        &keiyaku_users::UsersModule,
        #[cfg(feature = "certs")]
        &keiyaku_certs::CertsModule,
        #[cfg(feature = "support")]
        &keiyaku_support::SupportModule,
        #[cfg(feature = "contracts")]
        &keiyaku_contracts::ContractsModule,
        #[cfg(feature = "integrations")]
        &keiyaku_integrations::IntegrationsModule,
    ]
}

impl<S> TestApp<S> {
    /// The app of `module` (its demo data over the auth module's, its menu), with the service
    /// `service` makes, mounted by `mount`; `name` goes into the store's file name.
    pub fn new(
        name: &str,
        module: &dyn Module,
        service: impl FnOnce(&Kernel) -> S,
        mount: impl FnOnce(Web, &S) -> Web,
    ) -> Self {
        let path = std::env::temp_dir().join(format!("keiyaku-web-{name}-{}.redb", keiyaku_kernel::ids::new_id()));
        let clock = Arc::new(SystemClock);
        let store = Store::open(&path, clock.clone(), &all_modules()).unwrap_or_else(|e| panic!("{e}"));
        let kernel = Kernel::new(store.clone(), clock, Arc::new(Config::default()));
        let seeded: Result<(), StoreError> = store.write_blocking(|tx| {
            AuthModule.seed_demo(&kernel, tx)?;
            module.seed_demo(&kernel, tx)
        });
        assert!(seeded.is_ok(), "{seeded:?}");
        let web = Web::new(kernel.clone(), module.menu());
        let auth = web.auth.clone();
        let service = service(&kernel);
        let route = routes(mount(web, &service));
        Self { route, auth, kernel, service, path }
    }

    /// Logs `user` of HXOS2 in with the demo password.
    pub async fn login(&self, user: &str) -> Session {
        let ok = self
            .auth
            .login("HXOS2", user, "keiyaku-demo", None, SessionKind::Web)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let keiyaku_auth::Login::Session(ok) = ok else { panic!("the demo users have no authenticator") };
        Session { cookie: format!("keiyaku_session={}", ok.token), csrf: ok.csrf }
    }

    /// A request, with the session's cookie when given and a body of a content type.
    pub async fn send(&self, method: Method, uri: &str, s: Option<&Session>, body: Option<(&str, Vec<u8>)>) -> Answer {
        let mut b = Request::builder().method(method).uri(uri.parse().unwrap_or_default());
        if let Some(s) = s {
            b = b.header(header::COOKIE, s.cookie.as_str());
        }
        let req = match body {
            Some((ct, bytes)) => b.header(header::CONTENT_TYPE, ct).body(bytes),
            None => b.finish(),
        };
        let resp = match self.route.call(req).await {
            Ok(r) => r,
            Err(e) => e.into_response(),
        };
        let h =
            |n: header::HeaderName| resp.headers().get(n).and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
        let (status, location, content_type) = (resp.status(), h(header::LOCATION), h(header::CONTENT_TYPE));
        let body = resp.into_body().into_vec().await.unwrap_or_default();
        Answer { status, location, content_type, body }
    }

    /// `GET`, logged in (`&session`) or not (`None`).
    pub async fn get<'a>(&self, uri: &str, s: impl Into<Option<&'a Session>>) -> Answer {
        self.send(Method::GET, uri, s.into(), None).await
    }

    /// Posts a form with the session's cookie.
    pub async fn form(&self, uri: &str, s: &Session, fields: &[(&str, &str)]) -> Answer {
        let body = form_body(fields).into_bytes();
        self.send(Method::POST, uri, Some(s), Some(("application/x-www-form-urlencoded", body))).await
    }
}
