//! The stylesheet and icon, compiled into the binary and served with a long cache lifetime;
//! pages link them with a content hash so a new build is picked up at once.

use poem::http::{StatusCode, header};
use poem::{Response, Route, get, handler};
use std::sync::LazyLock;

pub const CSS: &str = include_str!("../assets/keiyaku.css");
pub const FAVICON: &str = include_str!("../assets/favicon.svg");

const CACHE: &str = "public, max-age=604800";

/// FNV-1a of the content: a cache-busting version for the links.
fn fingerprint(s: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in s.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{:08x}", h >> 32)
}

static CSS_HREF: LazyLock<String> = LazyLock::new(|| format!("/static/keiyaku.css?v={}", fingerprint(CSS)));
static FAVICON_HREF: LazyLock<String> = LazyLock::new(|| format!("/static/favicon.svg?v={}", fingerprint(FAVICON)));

/// The stylesheet's URL, with its version.
pub fn css_href() -> &'static str {
    &CSS_HREF
}

pub fn favicon_href() -> &'static str {
    &FAVICON_HREF
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, content_type)
        .header(header::CACHE_CONTROL, CACHE)
        .body(body)
}

#[handler]
fn stylesheet() -> Response {
    asset("text/css; charset=utf-8", CSS)
}

#[handler]
fn favicon() -> Response {
    asset("image/svg+xml", FAVICON)
}

pub(crate) fn mount(route: Route) -> Route {
    route.at("/static/keiyaku.css", get(stylesheet)).at("/static/favicon.svg", get(favicon))
}

#[cfg(test)]
mod tests {
    use super::*;
    use poem::{Endpoint, Request};

    #[tokio::test]
    async fn serves_the_stylesheet_with_cache_header() {
        let app = mount(Route::new());
        let req = Request::builder().uri("/static/keiyaku.css".parse().unwrap()).finish();
        let resp = app.call(req).await.unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        assert_eq!(resp.headers().get(header::CONTENT_TYPE).unwrap(), "text/css; charset=utf-8");
        assert!(resp.headers().get(header::CACHE_CONTROL).unwrap().to_str().unwrap().contains("max-age"));
        let body = resp.into_body().into_string().await.unwrap();
        assert!(body.contains("Noto Sans JP"));
    }

    #[test]
    fn links_carry_a_content_version() {
        assert!(css_href().starts_with("/static/keiyaku.css?v="));
        assert_eq!(fingerprint("a"), fingerprint("a"));
        assert_ne!(fingerprint("a"), fingerprint("b"));
    }
}
