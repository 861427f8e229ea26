//! The HTTP side of the error model: problem+json responses, the per-request context
//! (language, client address) and the middleware that turns every error of the API into a
//! problem. Business code never imports this; handlers and the binary do.

use super::enums::OneOf;
use keiyaku_kernel::error::{ApiError, Code, FieldCode, FieldError, Lang, Problem};
use poem::http::{HeaderValue, StatusCode, header};
use poem::{Endpoint, FromRequest, IntoResponse, Middleware, Request, RequestBody, Response};
use poem_openapi::registry::{MetaMediaType, MetaResponse, MetaResponses, Registry};
use poem_openapi::types::Type;
use std::sync::Arc;

pub const PROBLEM_JSON: &str = "application/problem+json";

/// The problem+json document (RFC 9457), for the OpenAPI description.
#[derive(Debug, poem_openapi::Object)]
#[oai(skip_serializing_if_is_none, rename = "Problem")]
pub struct ProblemSchema {
    #[oai(rename = "type")]
    pub type_: String,
    pub title: String,
    pub status: u16,
    #[oai(skip_serializing_if_is_none)]
    pub detail: Option<String>,
    /// Stable machine code: what happened, for a program to act on (the title is for people).
    pub code: OneOf<Code>,
    #[oai(skip_serializing_if_is_none)]
    pub errors: Option<Vec<FieldErrorSchema>>,
    #[oai(skip_serializing_if_is_none)]
    pub retry_after: Option<u64>,
}

#[derive(Debug, poem_openapi::Object)]
#[oai(skip_serializing_if_is_none, rename = "FieldError")]
pub struct FieldErrorSchema {
    pub field: String,
    /// Stable machine code of what is wrong with the field.
    pub code: OneOf<FieldCode>,
    pub message: String,
}

/// Renders a problem as an HTTP response.
pub fn problem_response(p: &Problem) -> Response {
    let body = serde_json::to_vec(p).unwrap_or_default();
    let status = StatusCode::from_u16(p.status).unwrap_or(StatusCode::BAD_REQUEST);
    let mut resp = Response::builder().status(status).header(header::CONTENT_TYPE, PROBLEM_JSON).body(body);
    if let Some(secs) = p.retry_after
        && let Ok(v) = HeaderValue::from_str(&secs.to_string())
    {
        resp.headers_mut().insert(header::RETRY_AFTER, v);
    }
    resp
}

/// The error half of every API operation: a rendered problem.
#[derive(Debug)]
pub struct Failure(pub Problem);

impl Failure {
    pub fn from_error(e: &impl ApiError, lang: Lang) -> Self {
        Failure(e.problem(lang))
    }

    pub fn status(status: u16, lang: Lang) -> Self {
        Failure(Problem::for_status(status, lang))
    }

    pub fn with_errors(mut self, errors: Vec<FieldError>) -> Self {
        self.0.errors = errors;
        self
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.0.code, self.0.status)
    }
}

impl std::error::Error for Failure {}

impl poem::error::ResponseError for Failure {
    fn status(&self) -> StatusCode {
        StatusCode::from_u16(self.0.status).unwrap_or(StatusCode::BAD_REQUEST)
    }

    fn as_response(&self) -> Response {
        problem_response(&self.0)
    }
}

impl poem_openapi::ApiResponse for Failure {
    fn meta() -> MetaResponses {
        let content = || vec![MetaMediaType { content_type: PROBLEM_JSON, schema: ProblemSchema::schema_ref() }];
        MetaResponses {
            responses: vec![
                MetaResponse {
                    description: "Client error (problem+json with a stable `code`)",
                    status: None,
                    status_range: Some("4XX".into()),
                    content: content(),
                    headers: vec![],
                },
                MetaResponse {
                    description: "Server error",
                    status: None,
                    status_range: Some("5XX".into()),
                    content: content(),
                    headers: vec![],
                },
            ],
        }
    }

    fn register(registry: &mut Registry) {
        ProblemSchema::register(registry);
    }
}

/// The client's address as [`ClientAddress`] resolved it (behind a trusted proxy, from
/// `X-Forwarded-For`), else the peer's.
pub fn client_ip(req: &Request) -> Option<std::net::IpAddr> {
    match req.data::<ClientIp>() {
        Some(ClientIp(ip)) => Some(*ip),
        None => req.remote_addr().as_socket_addr().map(|a| a.ip()),
    }
}

/// The resolved client address of a request (a request extension).
#[derive(Debug, Clone, Copy)]
pub struct ClientIp(pub std::net::IpAddr);

/// `server.trusted_proxies`, parsed: addresses and CIDR blocks.
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies(Vec<ipnet::IpNet>);

impl TrustedProxies {
    /// Parses the configured entries; `Err` names the first that is neither an address nor a
    /// CIDR block.
    pub fn parse(entries: &[String]) -> Result<Self, String> {
        entries
            .iter()
            .map(|e| {
                let e = e.trim();
                e.parse::<ipnet::IpNet>()
                    .or_else(|_| e.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                    .map_err(|_| format!("`{e}` is not an IP address or CIDR block"))
            })
            .collect::<Result<Vec<_>, _>>()
            .map(TrustedProxies)
    }

    fn trusts(&self, ip: std::net::IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.0.iter().any(|n| n.contains(&ip))
    }

    /// The client behind `peer`: when the peer is a trusted proxy, the right-most address of
    /// `X-Forwarded-For` that is not itself a trusted proxy (the left-most when all are);
    /// otherwise the peer. Unparsable entries end the walk (nothing left of them is trusted).
    pub fn client(&self, peer: std::net::IpAddr, forwarded_for: Option<&str>) -> std::net::IpAddr {
        if !self.trusts(peer) {
            return peer;
        }
        let mut client = peer;
        for hop in forwarded_for.unwrap_or_default().rsplit(',') {
            match hop.trim().parse::<std::net::IpAddr>() {
                Ok(ip) => {
                    client = ip;
                    if !self.trusts(ip) {
                        break;
                    }
                }
                Err(_) => break,
            }
        }
        client
    }
}

/// The outermost middleware: resolves the client address once per request ([`ClientIp`]),
/// for the rate limits, the anonymous budgets, lockout and the audit.
pub struct ClientAddress(pub Arc<TrustedProxies>);

impl<E: Endpoint> Middleware<E> for ClientAddress {
    type Output = ClientAddressEndpoint<E>;

    fn transform(&self, ep: E) -> Self::Output {
        ClientAddressEndpoint { ep, proxies: self.0.clone() }
    }
}

pub struct ClientAddressEndpoint<E> {
    ep: E,
    proxies: Arc<TrustedProxies>,
}

impl<E: Endpoint> Endpoint for ClientAddressEndpoint<E> {
    type Output = E::Output;

    async fn call(&self, mut req: Request) -> poem::Result<Self::Output> {
        if let Some(peer) = req.remote_addr().as_socket_addr().map(|a| a.ip()) {
            let forwarded = req.header("x-forwarded-for").map(str::to_string);
            req.set_data(ClientIp(self.proxies.client(peer, forwarded.as_deref())));
        }
        self.ep.call(req).await
    }
}

/// Result type of API operations.
pub type ApiResult<T> = Result<T, Failure>;

/// Per-request context: the language to answer in, the client's address, and what the
/// rate-limit middleware read for the request's token (its one session lookup).
#[derive(Debug, Clone)]
pub struct Ctx {
    pub lang: Lang,
    pub client: Option<String>,
    #[cfg(feature = "auth")]
    pub resolved: Option<Arc<keiyaku_auth::ResolvedToken>>,
}

impl Ctx {
    pub fn of(req: &Request) -> Self {
        let lang = req
            .uri()
            .query()
            .and_then(|_| crate::query::param(req, "lang"))
            .as_deref()
            .and_then(Lang::parse)
            .or_else(|| cookie_value(req, "lang").as_deref().and_then(Lang::parse))
            .unwrap_or_else(|| Lang::from_accept_language(req.header(header::ACCEPT_LANGUAGE)));
        let client = client_ip(req).map(|ip| ip.to_string());
        Ctx {
            lang,
            client,
            #[cfg(feature = "auth")]
            resolved: req.extensions().get::<Arc<keiyaku_auth::ResolvedToken>>().cloned(),
        }
    }

    pub fn fail(&self, e: &impl ApiError) -> Failure {
        Failure::from_error(e, self.lang)
    }
}

/// A cookie's value, read from the `Cookie` header.
pub fn cookie_value(req: &Request, name: &str) -> Option<String> {
    req.headers().get_all(header::COOKIE).iter().find_map(|v| {
        v.to_str().ok()?.split(';').find_map(|kv| {
            let (k, v) = kv.trim().split_once('=')?;
            (k == name).then(|| v.to_string())
        })
    })
}

impl<'a> FromRequest<'a> for Ctx {
    async fn from_request(req: &'a Request, _body: &mut RequestBody) -> poem::Result<Self> {
        Ok(Ctx::of(req))
    }
}

/// Turns every error of the wrapped endpoint (parse errors, unknown routes, wrong methods,
/// oversized bodies, panics caught below) into a localized problem+json response.
pub struct ProblemJson;

impl<E: Endpoint> Middleware<E> for ProblemJson {
    type Output = ProblemJsonEndpoint<E>;

    fn transform(&self, ep: E) -> Self::Output {
        ProblemJsonEndpoint(ep)
    }
}

pub struct ProblemJsonEndpoint<E>(E);

impl<E: Endpoint> Endpoint for ProblemJsonEndpoint<E> {
    type Output = Response;

    async fn call(&self, req: Request) -> poem::Result<Response> {
        let lang = Ctx::of(&req).lang;
        match self.0.call(req).await {
            Ok(out) => {
                let resp = out.into_response();
                let status = resp.status();
                let is_problem = resp
                    .headers()
                    .get(header::CONTENT_TYPE)
                    .is_some_and(|v| v.as_bytes().starts_with(PROBLEM_JSON.as_bytes()));
                if (status.is_client_error() || status.is_server_error()) && !is_problem {
                    Ok(problem_response(&Problem::for_status(status.as_u16(), lang)))
                } else {
                    Ok(resp)
                }
            }
            Err(err) => {
                if let Some(f) = err.downcast_ref::<Failure>() {
                    return Ok(problem_response(&f.0));
                }
                let status = err.status().as_u16();
                if status >= 500 {
                    tracing::error!(error = %err, "request failed");
                }
                let mut p = Problem::for_status(status, lang);
                if status == 400 || status == 422 {
                    // poem-openapi's parse errors carry a safe description of what is wrong
                    // with the request (no internals): keep it as the detail.
                    p = p.with_detail(err.to_string().chars().take(300).collect::<String>());
                }
                Ok(problem_response(&p))
            }
        }
    }
}

/// Refuses request bodies larger than the limit with 413 (by `Content-Length`, or while
/// reading a chunked body), before any handler runs. Uploads (multipart and raw file bodies)
/// have their own, larger limit; JSON and forms the smaller one.
pub struct BodyLimit {
    pub body: usize,
    pub upload: usize,
    /// Renders the answer to a browser's form post that is too large (the request and the
    /// limit in bytes), so a person sees a page with a way back; API clients and requests
    /// without it get problem+json.
    pub page: Option<TooLargePage>,
}

/// See [`BodyLimit::page`].
pub type TooLargePage = std::sync::Arc<dyn Fn(&Request, usize) -> Response + Send + Sync>;

impl<E: Endpoint> Middleware<E> for BodyLimit {
    type Output = BodyLimitEndpoint<E>;

    fn transform(&self, ep: E) -> Self::Output {
        BodyLimitEndpoint { ep, body: self.body, upload: self.upload, page: self.page.clone() }
    }
}

pub struct BodyLimitEndpoint<E> {
    ep: E,
    body: usize,
    upload: usize,
    page: Option<TooLargePage>,
}

impl<E: Endpoint> Endpoint for BodyLimitEndpoint<E> {
    type Output = Response;

    async fn call(&self, mut req: Request) -> poem::Result<Response> {
        let lang = Ctx::of(&req).lang;
        let ct = req.header(header::CONTENT_TYPE).unwrap_or("").to_ascii_lowercase();
        let is_upload = ct.starts_with("multipart/form-data") || ct.starts_with("application/octet-stream");
        let max = if is_upload { self.upload.max(self.body) } else { self.body };
        let page = self.page.as_ref().filter(|_| {
            !req.uri().path().starts_with("/api/")
                && req.header(header::ACCEPT).is_some_and(|a| a.contains("text/html"))
        });
        let too_large = |req: &Request| match page {
            Some(render) => render(req, max),
            None => problem_response(&Problem::for_status(413, lang)),
        };
        match req.header(header::CONTENT_LENGTH).map(|v| v.trim().parse::<u64>()) {
            Some(Ok(len)) if len > max as u64 => return Ok(too_large(&req)),
            Some(Ok(_)) => {}
            Some(Err(_)) => return Ok(problem_response(&Problem::for_status(400, lang))),
            None if req.headers().contains_key(header::TRANSFER_ENCODING) => {
                match req.take_body().into_bytes_limit(max).await {
                    Ok(bytes) => req.set_body(bytes),
                    Err(_) => return Ok(too_large(&req)),
                }
            }
            None => {}
        }
        self.ep.call(req).await.map(IntoResponse::into_response)
    }
}

/// `Content-Disposition` for a download (RFC 6266): an ASCII `filename` for old clients
/// (runs of other characters become `_`) and the exact name as UTF-8 in `filename*`
/// (RFC 5987 / 8187).
pub fn content_disposition(file_name: &str) -> String {
    let mut fallback = String::new();
    for c in file_name.chars() {
        let keep = c.is_ascii_graphic() && !matches!(c, '"' | '\\' | '%' | ';');
        if keep || c == ' ' {
            fallback.push(c);
        } else if !fallback.ends_with('_') {
            fallback.push('_');
        }
    }
    // A fallback without a readable stem (a Japanese name) becomes `download.ext`.
    let (stem, ext) = fallback.rsplit_once('.').map_or((fallback.as_str(), ""), |(s, e)| (s, e));
    let fallback = if !stem.bytes().any(|b| b.is_ascii_alphanumeric()) {
        if ext.is_empty() { "download".to_string() } else { format!("download.{ext}") }
    } else {
        fallback.clone()
    };
    let encoded: String = file_name
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    format!("attachment; filename=\"{fallback}\"; filename*=UTF-8''{encoded}")
}

#[cfg(test)]
mod tests {
    #[test]
    fn content_disposition_for_japanese_names() {
        assert_eq!(
            content_disposition("ユーザーズマニュアル.pdf"),
            "attachment; filename=\"download.pdf\"; filename*=UTF-8''%E3%83%A6%E3%83%BC%E3%82%B6%E3%83%BC%E3%82%BA%E3%83%9E%E3%83%8B%E3%83%A5%E3%82%A2%E3%83%AB.pdf"
        );
        assert_eq!(
            content_disposition("FAQ 2026\"v2\".txt"),
            "attachment; filename=\"FAQ 2026_v2_.txt\"; filename*=UTF-8''FAQ%202026%22v2%22.txt"
        );
        assert!(content_disposition("説明").contains("filename=\"download\""));
    }

    use super::*;

    #[test]
    fn trusted_proxies_name_the_client_and_nobody_else_does() {
        let p = TrustedProxies::parse(&["10.0.0.0/8".into(), "127.0.0.1".into()]).unwrap_or_default();
        let ip = |s: &str| s.parse::<std::net::IpAddr>().unwrap_or(std::net::IpAddr::from([0, 0, 0, 0]));
        assert_eq!(p.client(ip("10.1.2.3"), Some("203.0.113.9")), ip("203.0.113.9"));
        assert_eq!(
            p.client(ip("10.1.2.3"), Some("198.51.100.1, 203.0.113.9, 10.9.9.9")),
            ip("203.0.113.9"),
            "right-most untrusted"
        );
        assert_eq!(p.client(ip("192.0.2.5"), Some("203.0.113.9")), ip("192.0.2.5"), "an untrusted peer is the client");
        assert_eq!(p.client(ip("127.0.0.1"), None), ip("127.0.0.1"));
        assert_eq!(p.client(ip("127.0.0.1"), Some("junk, 203.0.113.9")), ip("203.0.113.9"));
        assert_eq!(
            TrustedProxies::default().client(ip("10.1.2.3"), Some("203.0.113.9")),
            ip("10.1.2.3"),
            "none by default"
        );
        assert!(TrustedProxies::parse(&["not-an-ip".into()]).is_err());
    }

    #[test]
    fn problem_responses_carry_type_and_retry_after() {
        let mut p = Problem::for_status(429, Lang::En);
        p.retry_after = Some(900);
        let resp = problem_response(&p);
        assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(resp.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()), Some(PROBLEM_JSON));
        assert_eq!(resp.headers().get(header::RETRY_AFTER).and_then(|v| v.to_str().ok()), Some("900"));
    }
}
