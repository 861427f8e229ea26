//! Security headers on every response (HSTS, CSP, nosniff, Referrer-Policy, frame denial).

use poem::http::{HeaderMap, HeaderName, HeaderValue, header};
use poem::{Endpoint, IntoResponse, Middleware, Request, Response};

/// The Content-Security-Policy of every page: nothing inline, nothing from elsewhere.
pub const CSP: &str = "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; \
frame-ancestors 'none'; form-action 'self'; base-uri 'none'";

/// The policy below `/api/docs`: the OpenAPI viewer inlines its scripts and styles.
pub const CSP_API_DOCS: &str = "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; \
script-src 'self' 'unsafe-inline'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'";

pub const HSTS: &str = "max-age=31536000";

/// Middleware adding security headers to every response, errors included.
#[derive(Debug, Clone, Copy, Default)]
pub struct SecurityHeaders;

impl<E: Endpoint> Middleware<E> for SecurityHeaders {
    type Output = SecurityHeadersEndpoint<E>;

    fn transform(&self, ep: E) -> Self::Output {
        SecurityHeadersEndpoint(ep)
    }
}

pub struct SecurityHeadersEndpoint<E>(E);

impl<E: Endpoint> Endpoint for SecurityHeadersEndpoint<E> {
    type Output = Response;

    async fn call(&self, req: Request) -> poem::Result<Response> {
        let docs = is_api_docs(req.uri().path());
        let mut resp = match self.0.call(req).await {
            Ok(out) => out.into_response(),
            Err(err) => err.into_response(),
        };
        apply(resp.headers_mut(), docs);
        Ok(resp)
    }
}

fn is_api_docs(path: &str) -> bool {
    path == "/api/docs" || path.starts_with("/api/docs/")
}

/// Sets the headers (overwriting what the endpoint may have set).
pub fn apply(headers: &mut HeaderMap, api_docs: bool) {
    let csp = if api_docs { CSP_API_DOCS } else { CSP };
    let pairs: [(HeaderName, &'static str); 5] = [
        (header::STRICT_TRANSPORT_SECURITY, HSTS),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "same-origin"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::CONTENT_SECURITY_POLICY, csp),
    ];
    for (name, value) in pairs {
        headers.insert(name, HeaderValue::from_static(value));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use poem::http::StatusCode;
    use poem::{EndpointExt, Route, handler};

    #[handler]
    fn ok() -> &'static str {
        "ok"
    }

    async fn headers_of(path: &str) -> (StatusCode, HeaderMap) {
        let app = Route::new().at("/x", poem::get(ok)).at("/api/docs", poem::get(ok)).with(SecurityHeaders);
        let req = Request::builder().uri(path.parse().unwrap()).finish();
        let resp = app.call(req).await.unwrap();
        (resp.status(), resp.headers().clone())
    }

    #[tokio::test]
    async fn every_response_gets_the_headers() {
        for path in ["/x", "/missing"] {
            let (_, h) = headers_of(path).await;
            assert_eq!(h.get(header::STRICT_TRANSPORT_SECURITY).unwrap(), "max-age=31536000");
            assert_eq!(h.get(header::X_CONTENT_TYPE_OPTIONS).unwrap(), "nosniff");
            assert_eq!(h.get(header::REFERRER_POLICY).unwrap(), "same-origin");
            assert_eq!(h.get(header::X_FRAME_OPTIONS).unwrap(), "DENY");
            let csp = h.get(header::CONTENT_SECURITY_POLICY).unwrap().to_str().unwrap();
            assert!(csp.contains("script-src 'self';"));
            assert!(!csp.contains("unsafe-inline"));
        }
        let (status, _) = headers_of("/missing").await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    }

    #[tokio::test]
    async fn the_api_viewer_may_inline() {
        let (_, h) = headers_of("/api/docs").await;
        let csp = h.get(header::CONTENT_SECURITY_POLICY).unwrap().to_str().unwrap();
        assert!(csp.contains("script-src 'self' 'unsafe-inline'"));
        assert!(csp.contains("style-src 'self' 'unsafe-inline'"));
        assert!(csp.contains("frame-ancestors 'none'"));
        assert!(!is_api_docs("/api/docsx"));
        assert!(is_api_docs("/api/docs/openapi.json"));
    }
}
