//! What a page handler returns: [`PageResult`]. A step that can end the request early — no
//! session (a redirect to the login page), an unknown tenant (the 404 page), a failed
//! service call (its error page) — yields `Err(Early)`, so handlers read top to bottom with
//! `?` instead of `match … return` blocks. The early response reaches the client unchanged:
//! poem turns the error back into exactly that response, and the security headers are set on
//! it like on any other (`security.rs` applies them to errors too).

use keiyaku_kernel::directory::Tenant;
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

/// The tenant of a public page, or the page to show instead (404, 500).
pub async fn find_tenant(web: &crate::Web, pc: &crate::layout::PageCtx, code: &str) -> Result<Tenant, Response> {
    if !crate::session::is_tenant_code(code) {
        return Err(crate::layout::not_found(pc));
    }
    let code = code.to_string();
    match web.kernel.store.read(move |tx| keiyaku_kernel::directory::get_tenant(tx, &code)).await {
        Ok(Some(t)) => Ok(t),
        Ok(None) => Err(crate::layout::not_found(pc)),
        Err(e) => Err(crate::layout::server_error(pc, &e)),
    }
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

    /// Every page's source files, by page name: `pages/NAME/*.rs`, or `pages/NAME.rs`.
    fn page_sources() -> Vec<(String, std::path::PathBuf, String)> {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/pages");
        let mut out = Vec::new();
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let path = entry.path();
            let name = path.file_stem().and_then(|n| n.to_str()).unwrap_or_default().to_string();
            let files: Vec<_> = if path.is_dir() {
                std::fs::read_dir(&path).into_iter().flatten().flatten().map(|e| e.path()).collect()
            } else if name != "mod" {
                vec![path]
            } else {
                vec![]
            };
            for file in files.into_iter().filter(|f| f.extension().is_some_and(|e| e == "rs")) {
                let text = std::fs::read_to_string(&file).unwrap_or_default();
                out.push((name.clone(), file, text));
            }
        }
        out
    }

    #[test]
    fn pages_do_not_import_each_other() {
        let sources = page_sources();
        let mut names: Vec<&str> = sources.iter().map(|(n, _, _)| n.as_str()).collect();
        names.dedup();
        assert!(names.len() > 5, "the page sources were not found: {names:?}");
        let mut offences = Vec::new();
        for (name, file, text) in &sources {
            for other in names.iter().filter(|o| **o != name) {
                for needle in [format!("pages::{other}"), format!("super::super::{other}")] {
                    if text.contains(&needle) {
                        offences.push(format!("{} uses {needle}", file.display()));
                    }
                }
            }
        }
        assert!(offences.is_empty(), "a page imports another; share it in form.rs, page.rs or views/: {offences:#?}");
    }

    /// Lines from each `fn` line to the end of its body (braces counted), over 80.
    fn long_functions(file: &std::path::Path, text: &str) -> Vec<String> {
        let lines: Vec<&str> = text.lines().collect();
        let mut out = Vec::new();
        for (i, line) in lines.iter().enumerate() {
            let head = line.trim_start();
            let head = head.strip_prefix("pub(super) ").or(head.strip_prefix("pub(crate) ")).unwrap_or(head);
            let head = head.strip_prefix("pub ").unwrap_or(head);
            let head = head.strip_prefix("async ").unwrap_or(head);
            if !head.starts_with("fn ") {
                continue;
            }
            let (mut depth, mut started, mut end) = (0i32, false, i);
            for (j, l) in lines.iter().enumerate().skip(i) {
                for ch in l.chars() {
                    match ch {
                        '{' => (depth, started) = (depth + 1, true),
                        '}' => depth -= 1,
                        _ => {}
                    }
                }
                end = j;
                if (started && depth <= 0) || (!started && l.trim_end().ends_with(';')) {
                    break;
                }
            }
            if end - i + 1 > 80 {
                out.push(format!("{}:{} {} lines: {}", file.display(), i + 1, end - i + 1, head));
            }
        }
        out
    }

    #[test]
    fn no_page_function_is_over_80_lines() {
        let sources = page_sources();
        assert!(sources.len() > 20, "the page sources were not found");
        let long: Vec<String> = sources.iter().flat_map(|(_, file, text)| long_functions(file, text)).collect();
        assert!(long.is_empty(), "split these into named parts: {long:#?}");
        // The rule itself: a 81-line body is found.
        let body = format!("fn f() {{\n{}}}\n", "    x();\n".repeat(79));
        assert_eq!(long_functions(std::path::Path::new("t.rs"), &body).len(), 1);
    }
}
