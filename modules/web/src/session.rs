//! Cookies and CSRF protection, and the web session of a logged-in user.
//!
//! Two CSRF schemes:
//! - before login (the login form, the mailbox's operator login): a double-submit token — a
//!   random `keiyaku_csrf` cookie (Secure, HttpOnly, SameSite=Strict) echoed in a hidden
//!   field; see [`FormToken`];
//! - after login: the token bound to the session (`Session::csrf`) in the hidden field
//!   `csrf` of every form, checked on every POST ([`Signed::check_csrf`]).

use keiyaku_kernel::ids::secret_token;
use poem::Request;

pub const SESSION_COOKIE: &str = "keiyaku_session";
pub const CSRF_COOKIE: &str = "keiyaku_csrf";
pub const OPERATOR_COOKIE: &str = "keiyaku_operator";
pub const LANG_COOKIE: &str = "lang";
/// Name of the hidden field carrying the CSRF token in every form.
pub const CSRF_FIELD: &str = "csrf";

/// `/t/{tenant}/{rest}`.
pub fn tenant_path(tenant: &str, rest: &str) -> String {
    format!("/t/{tenant}/{rest}")
}

/// Enterprise codes (2–10 upper-case letters and digits): checked before a code from the URL
/// is used anywhere, a cookie path included.
pub fn is_tenant_code(s: &str) -> bool {
    (2..=10).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
}

/// Tokens and cookie values we issue: URL-safe base64 of a sensible length.
fn is_token(s: &str) -> bool {
    (16..=200).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// A `Set-Cookie` value: Secure, HttpOnly, SameSite=Strict.
pub fn cookie(name: &str, value: &str, path: &str) -> String {
    format!("{name}={value}; Path={path}; Secure; HttpOnly; SameSite=Strict")
}

/// A `Set-Cookie` value that deletes the cookie.
pub fn expired_cookie(name: &str, path: &str) -> String {
    format!("{name}=; Path={path}; Max-Age=0; Secure; HttpOnly; SameSite=Strict")
}

/// The session cookie of a tenant's pages.
pub fn session_cookie(tenant: &str, token: &str) -> String {
    cookie(SESSION_COOKIE, token, &format!("/t/{tenant}"))
}

pub fn clear_session_cookie(tenant: &str) -> String {
    expired_cookie(SESSION_COOKIE, &format!("/t/{tenant}"))
}

/// A cookie's value when it looks like one of our tokens.
pub fn token_cookie(req: &Request, name: &str) -> Option<String> {
    crate::api::http::cookie_value(req, name).filter(|v| is_token(v))
}

/// Compares two secrets in time independent of where they differ.
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// True when a submitted token matches the expected one (an empty one never does).
pub fn tokens_match(expected: &str, submitted: &str) -> bool {
    !expected.is_empty() && ct_eq(expected.as_bytes(), submitted.as_bytes())
}

/// The double-submit token of a form shown before login.
#[derive(Debug, Clone)]
pub struct FormToken {
    pub value: String,
    fresh: bool,
}

impl FormToken {
    /// The request's `keiyaku_csrf` cookie when it has a well-formed one, a new token
    /// otherwise.
    pub fn for_request(req: &Request) -> Self {
        match token_cookie(req, CSRF_COOKIE) {
            Some(value) => Self { value, fresh: false },
            None => Self::fresh(),
        }
    }

    pub fn fresh() -> Self {
        Self { value: secret_token(24), fresh: true }
    }

    /// The cookie to set with the page (only when the token is new).
    pub fn set_cookie(&self) -> Vec<String> {
        if self.fresh { vec![cookie(CSRF_COOKIE, &self.value, "/")] } else { Vec::new() }
    }

    /// Whether the submitted field matches the request's cookie.
    pub fn verify(req: &Request, submitted: &str) -> bool {
        check_double_submit(token_cookie(req, CSRF_COOKIE).as_deref(), submitted)
    }
}

/// The double-submit rule: a cookie exists and the field equals it.
pub fn check_double_submit(cookie: Option<&str>, submitted: &str) -> bool {
    cookie.is_some_and(|c| tokens_match(c, submitted))
}

#[cfg(feature = "auth")]
pub use signed::{Need, Signed, signed_in};

#[cfg(feature = "auth")]
mod signed {
    use super::*;
    use crate::Web;
    use crate::layout::{self, PageCtx};
    use keiyaku_auth::{AuthError, Authenticated, Me};
    use keiyaku_kernel::context::Caller;
    use keiyaku_kernel::directory::{self, Role};
    use keiyaku_kernel::store::StoreError;
    use poem::Response;

    /// A logged-in user on a tenant's pages, with what the shell shows.
    #[derive(Debug, Clone)]
    pub struct Signed {
        pub tenant_code: String,
        /// The session token (the cookie's value).
        pub token: String,
        pub auth: Authenticated,
        pub me: Me,
        /// The service owner's company name, shown in the header (■ オリエンタル白石株式会社).
        pub owner_company_name: String,
    }

    impl Signed {
        pub fn caller(&self) -> &Caller {
            &self.auth.caller
        }

        /// The session's CSRF token, for the hidden `csrf` field of forms.
        pub fn csrf(&self) -> &str {
            &self.auth.session.csrf
        }

        /// Whether a submitted form carries this session's token.
        pub fn check_csrf(&self, submitted: &str) -> bool {
            tokens_match(&self.auth.session.csrf, submitted)
        }

        pub fn is_group_admin(&self) -> bool {
            self.auth.caller.has(Role::GroupAdmin)
        }
    }

    /// What a page needs of the session.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Need {
        /// A usable session: a pending password change redirects to the change page.
        Ready,
        /// Any session, also one whose password must still be changed or whose authenticator
        /// must still be enrolled (those pages).
        AllowPasswordChange,
    }

    /// Loads the logged-in user of a tenant's page. `Err` is the response to send instead:
    /// a redirect to the login page (no or ended session) or to the password change, or an
    /// error page (unknown tenant code, storage failure).
    pub async fn signed_in(
        web: &Web,
        pc: &PageCtx,
        req: &Request,
        tenant: &str,
        need: Need,
    ) -> Result<Signed, Response> {
        if !is_tenant_code(tenant) {
            return Err(layout::not_found(pc));
        }
        let login = tenant_path(tenant, "login");
        let Some(token) = token_cookie(req, SESSION_COOKIE) else {
            return Err(layout::see_other(&login, &[]));
        };
        // The rate-limit middleware's read of the session stands for this request's.
        let resolved = req.extensions().get::<std::sync::Arc<keiyaku_auth::ResolvedToken>>().map(|r| &**r);
        let auth = match web.auth.authenticate_resolved(resolved, tenant, &token, pc.client.clone(), true).await {
            Ok(a) => a,
            Err(AuthError::Unauthenticated | AuthError::UnknownTenant) => {
                return Err(layout::see_other(
                    &format!("{login}?notice=session_expired"),
                    &[clear_session_cookie(tenant)],
                ));
            }
            Err(e) => return Err(layout::server_error(pc, &e)),
        };
        if auth.must_change && need == Need::Ready {
            return Err(layout::see_other(&tenant_path(tenant, "password"), &[]));
        }
        if auth.must_enroll && !auth.must_change && need == Need::Ready {
            return Err(layout::see_other(&tenant_path(tenant, "totp"), &[]));
        }
        let me = match web.auth.me_of(&auth).await {
            Ok(me) => me,
            Err(AuthError::Unauthenticated | AuthError::UnknownTenant) => {
                return Err(layout::see_other(&login, &[clear_session_cookie(tenant)]));
            }
            Err(e) => return Err(layout::server_error(pc, &e)),
        };
        let owner_company_name = if me.company.owner {
            me.company.name.clone()
        } else {
            let (code, id) = (me.tenant.code.clone(), me.tenant.owner_company_id.clone());
            match web.kernel.store.read(move |tx| directory::get_company(tx, &code, &id)).await {
                Ok(Some(c)) => c.name,
                Ok(None) => me.tenant.name.clone(),
                Err(e) => return Err(layout::server_error(pc, &e as &StoreError)),
            }
        };
        Ok(Signed { tenant_code: tenant.to_string(), token, auth, me, owner_company_name })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tenant_codes_are_checked_before_use() {
        assert!(is_tenant_code("HXOS2"));
        assert!(!is_tenant_code("hxos2"));
        assert!(!is_tenant_code("X"));
        assert!(!is_tenant_code("HX; Path=/"));
        assert!(!is_tenant_code("ABCDEFGHIJK"));
    }

    #[test]
    fn cookies_are_secure_httponly_strict() {
        let c = session_cookie("HXOS2", "tok");
        assert_eq!(c, "keiyaku_session=tok; Path=/t/HXOS2; Secure; HttpOnly; SameSite=Strict");
        assert!(clear_session_cookie("HXOS2").contains("Max-Age=0"));
    }

    #[test]
    fn double_submit_needs_cookie_and_equal_field() {
        let tok = secret_token(24);
        assert!(check_double_submit(Some(&tok), &tok));
        assert!(!check_double_submit(Some(&tok), "other"));
        assert!(!check_double_submit(None, &tok));
        assert!(!check_double_submit(Some(""), ""));
        assert!(!tokens_match("", ""));
        assert!(ct_eq(b"abc", b"abc"));
        assert!(!ct_eq(b"abc", b"abd"));
        assert!(!ct_eq(b"abc", b"ab"));
    }

    #[test]
    fn form_tokens_reuse_a_well_formed_cookie() {
        let tok = secret_token(24);
        let req = Request::builder().header("cookie", format!("lang=ja; {CSRF_COOKIE}={tok}")).finish();
        let ft = FormToken::for_request(&req);
        assert_eq!(ft.value, tok);
        assert!(ft.set_cookie().is_empty());
        assert!(FormToken::verify(&req, &tok));
        assert!(!FormToken::verify(&req, "x"));

        let bad = Request::builder().header("cookie", format!("{CSRF_COOKIE}=<x>")).finish();
        let ft = FormToken::for_request(&bad);
        assert_ne!(ft.value, "<x>");
        assert_eq!(ft.set_cookie().len(), 1);
        assert!(ft.set_cookie()[0].starts_with("keiyaku_csrf="));
        assert!(!FormToken::verify(&bad, "<x>"));
    }
}
