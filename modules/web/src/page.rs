//! What a page handler returns: [`PageResult`]. A step that can end the request early — no
//! session (a redirect to the login page), an unknown tenant (the 404 page), a failed
//! service call (its error page) — yields `Err(Early)`, so handlers read top to bottom with
//! `?` instead of `match … return` blocks. The early response reaches the client unchanged:
//! poem turns the error back into exactly that response, and the security headers are set on
//! it like on any other (`security.rs` applies them to errors too).

use poem::{IntoResponse, Response};

/// A response that replaces the page (redirect, error page, 404); boxed, so a `PageResult`
/// stays a pointer wide on the happy path.
#[derive(Debug)]
pub struct Early(pub Box<Response>);

impl From<Response> for Early {
    fn from(resp: Response) -> Self {
        Self(Box::new(resp))
    }
}

impl From<Early> for poem::Error {
    fn from(early: Early) -> Self {
        poem::Error::from_response(*early.0)
    }
}

/// The page, or the response that takes its place.
pub type PageResult = Result<Response, Early>;

/// A page answer from anything that is a response.
pub fn ok(resp: impl IntoResponse) -> PageResult {
    Ok(resp.into_response())
}

#[cfg(test)]
mod tests {
    use super::*;
    use poem::http::StatusCode;
    use poem::{Endpoint, Request, Route, get, handler};

    #[handler]
    fn early() -> PageResult {
        let redirect = Response::builder().status(StatusCode::SEE_OTHER).header("location", "/t/A/login").finish();
        Err(redirect)?;
        ok("unreachable")
    }

    #[handler]
    fn page() -> PageResult {
        ok("本文")
    }

    #[tokio::test]
    async fn an_early_response_reaches_the_client_unchanged() {
        let app = Route::new().at("/early", get(early)).at("/page", get(page));
        let resp = app.get_response(Request::builder().uri_str("/early").finish()).await;
        assert_eq!(resp.status(), StatusCode::SEE_OTHER);
        assert_eq!(resp.headers().get("location").and_then(|v| v.to_str().ok()), Some("/t/A/login"));
        let resp = app.get_response(Request::builder().uri_str("/page").finish()).await;
        assert_eq!(resp.status(), StatusCode::OK);
        assert_eq!(resp.into_body().into_string().await.ok().as_deref(), Some("本文"));
    }
}
