//! Request rate limits per client address and per signed-in account (`[limits]`).
//!
//! Each client address (an IPv6 client by its /64, the block one host usually holds) and each
//! account has a token bucket holding one minute's allowance, refilled continuously: a burst
//! of a minute's requests is served at once, then requests pass at the configured rate. A
//! request over either limit is answered 429 with `Retry-After` (problem+json with the code
//! `rate_limited`, or a page for browsers) before any handler runs, and spends nothing.
//!
//! The account is the owner of the bearer token or session cookie the request carries, so
//! every session of a user shares one allowance; requests with an unknown token count against
//! their address only. `/healthz` and `/metrics` are never limited. The one read that finds
//! the owner (`keiyaku_auth::TokenCache::resolve`: the session and, for a tenant user, the
//! caller) goes into the request's extensions, where the handler's `Auth::authenticate` takes
//! it instead of reading the session again. That read is remembered until the next write to
//! the store, so a client repeating requests between writes is not read again at all.
//!
//! Every limited answer says where the caller stands (IETF `draft-ietf-httpapi-ratelimit-headers`):
//! `RateLimit-Policy: "client";q=120;w=60, "account";q=600;w=60` names the limits that
//! apply to the request, `RateLimit: "client";r=117;t=2, …` the requests left in each and
//! the seconds until it is full again.
//!
//! Buckets live in memory. A bucket that has refilled completely is the same as no bucket, so
//! idle buckets are dropped every minute and whenever the table reaches [`MAX_BUCKETS`];
//! should that many clients all be active at once, the table starts afresh rather than grow.
//! Time is the monotonic clock, or the appliance clock when that moved further (the tests'
//! manual clock), so a wall-clock step backwards never stops the refill.

use jiff::Timestamp;
use keiyaku_kernel::config::LimitsConfig;
use keiyaku_kernel::error::{Code, Lang, Problem};
use keiyaku_kernel::{Clock, Kernel};
use keiyaku_web::api::http::{Ctx, problem_response};
use poem::http::{HeaderValue, StatusCode, header};
use poem::{Endpoint, IntoResponse, Middleware, Request, Response};
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Most buckets kept at once (about 100 bytes each).
pub const MAX_BUCKETS: usize = 100_000;
/// How often idle buckets are swept out.
const SWEEP_EVERY: Duration = Duration::from_secs(60);

/// Who a bucket belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    Client(IpAddr),
    Account(String),
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
    wall: Timestamp,
}

#[derive(Debug)]
struct State {
    buckets: HashMap<Key, Bucket>,
    swept: Instant,
}

/// The buckets of both limits.
pub struct RateLimiter {
    per_client: u32,
    per_account: u32,
    clock: Arc<dyn Clock>,
    state: Mutex<State>,
}

/// The key of a client address: IPv4 as is, IPv6 by its /64 prefix.
fn client_key(ip: IpAddr) -> IpAddr {
    match ip.to_canonical() {
        IpAddr::V6(v6) => {
            let bits = u128::from(v6) & !((1u128 << 64) - 1);
            IpAddr::V6(bits.into())
        }
        v4 => v4,
    }
}

impl RateLimiter {
    pub fn new(limits: &LimitsConfig, clock: Arc<dyn Clock>) -> Self {
        Self {
            per_client: limits.requests_per_minute_per_client,
            per_account: limits.requests_per_minute_per_account,
            clock,
            state: Mutex::new(State { buckets: HashMap::new(), swept: Instant::now() }),
        }
    }

    fn capacity(&self, key: &Key) -> f64 {
        f64::from(match key {
            Key::Client(_) => self.per_client,
            Key::Account(_) => self.per_account,
        })
    }

    /// The bucket's level after refilling it up to `now`.
    fn refilled(b: &Bucket, capacity: f64, now: Instant, wall: Timestamp) -> f64 {
        let mono = now.saturating_duration_since(b.at).as_secs_f64();
        let by_clock = wall.duration_since(b.wall).as_secs_f64().max(0.0);
        (b.tokens + mono.max(by_clock) * capacity / 60.0).min(capacity)
    }

    /// Counts one request of `client` (and `account`, when signed in). `Err` carries the
    /// seconds to wait when a limit is reached; the request then spends nothing.
    pub fn check(&self, client: Option<IpAddr>, account: Option<&str>) -> Result<(), u64> {
        self.count(client, account).0
    }

    /// [`RateLimiter::check`] with the levels of the limits that applied, after the request.
    pub fn count(&self, client: Option<IpAddr>, account: Option<&str>) -> (Result<(), u64>, Vec<Level>) {
        let mut keys = Vec::with_capacity(2);
        if let Some(ip) = client.filter(|_| self.per_client > 0) {
            keys.push(Key::Client(client_key(ip)));
        }
        if let Some(a) = account.filter(|_| self.per_account > 0) {
            keys.push(Key::Account(a.to_string()));
        }
        if keys.is_empty() {
            return (Ok(()), Vec::new());
        }
        let (now, wall) = (Instant::now(), self.clock.now());
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if state.buckets.len() >= MAX_BUCKETS || now.saturating_duration_since(state.swept) >= SWEEP_EVERY {
            self.sweep(&mut state, now, wall);
        }
        let mut wait: Option<f64> = None;
        let mut levels = Vec::with_capacity(keys.len());
        for key in &keys {
            let capacity = self.capacity(key);
            let level = state.buckets.get(key).map_or(capacity, |b| Self::refilled(b, capacity, now, wall));
            if level < 1.0 {
                let secs = (1.0 - level) * 60.0 / capacity;
                wait = Some(wait.map_or(secs, |w| w.max(secs)));
            }
            levels.push(level);
        }
        let spend = if wait.is_some() { 0.0 } else { 1.0 };
        let mut shown = Vec::with_capacity(keys.len());
        for (key, level) in keys.into_iter().zip(levels) {
            let capacity = self.capacity(&key);
            let left = (level - spend).max(0.0);
            shown.push(Level {
                name: match key {
                    Key::Client(_) => "client",
                    Key::Account(_) => "account",
                },
                quota: capacity as u64,
                remaining: left.floor() as u64,
                reset: ((capacity - left) * 60.0 / capacity).ceil() as u64,
            });
            state.buckets.insert(key, Bucket { tokens: level - spend, at: now, wall });
        }
        let verdict = match wait {
            Some(secs) => Err((secs.ceil() as u64).max(1)),
            None => Ok(()),
        };
        (verdict, shown)
    }

    /// Drops the buckets that have refilled completely; starts afresh when that is not enough.
    fn sweep(&self, state: &mut State, now: Instant, wall: Timestamp) {
        state.buckets.retain(|key, b| Self::refilled(b, self.capacity(key), now, wall) < self.capacity(key));
        if state.buckets.len() >= MAX_BUCKETS {
            tracing::warn!(buckets = state.buckets.len(), "rate limiter full: forgetting every client");
            state.buckets.clear();
        }
        state.swept = now;
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.state.lock().unwrap_or_else(|p| p.into_inner()).buckets.len()
    }
}

/// Where one limit stands after a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Level {
    /// `client` or `account`.
    pub name: &'static str,
    /// Requests per window (the bucket's size).
    pub quota: u64,
    /// Requests left now.
    pub remaining: u64,
    /// Seconds until the bucket is full again.
    pub reset: u64,
}

/// The `RateLimit-Policy` and `RateLimit` fields of `levels` (none when no limit applied).
fn with_levels(mut resp: Response, levels: &[Level]) -> Response {
    if levels.is_empty() {
        return resp;
    }
    let join = |f: &dyn Fn(&Level) -> String| levels.iter().map(f).collect::<Vec<_>>().join(", ");
    let policy = join(&|l| format!("\"{}\";q={};w=60", l.name, l.quota));
    let state = join(&|l| format!("\"{}\";r={};t={}", l.name, l.remaining, l.reset));
    for (name, value) in [("ratelimit-policy", policy), ("ratelimit", state)] {
        if let Ok(v) = HeaderValue::from_str(&value) {
            resp.headers_mut().insert(name, v);
        }
    }
    resp
}

/// The middleware: limits every request but `/healthz` and `/metrics`.
pub struct RateLimit {
    limiter: Arc<RateLimiter>,
    kernel: Kernel,
}

impl RateLimit {
    pub fn new(kernel: Kernel) -> Self {
        let limiter = Arc::new(RateLimiter::new(&kernel.config.limits, kernel.clock.clone()));
        Self { limiter, kernel }
    }
}

impl<E: Endpoint> Middleware<E> for RateLimit {
    type Output = RateLimitEndpoint<E>;

    fn transform(&self, ep: E) -> Self::Output {
        RateLimitEndpoint {
            ep,
            limiter: self.limiter.clone(),
            kernel: self.kernel.clone(),
            #[cfg(feature = "auth")]
            tokens: Arc::default(),
        }
    }
}

pub struct RateLimitEndpoint<E> {
    ep: E,
    limiter: Arc<RateLimiter>,
    kernel: Kernel,
    /// Resolved tokens, until the next write to the store.
    #[cfg(feature = "auth")]
    tokens: Arc<keiyaku_auth::TokenCache>,
}

impl<E> RateLimitEndpoint<E> {
    /// Reads what the request's bearer token or session cookie stands for, once
    /// (`keiyaku_auth::TokenCache::resolve`); the owner is the account limited.
    #[cfg(feature = "auth")]
    fn resolve(&self, req: &Request) -> Option<keiyaku_auth::ResolvedToken> {
        use keiyaku_web::session::{OPERATOR_COOKIE, SESSION_COOKIE, token_cookie};
        let token = req
            .header(header::AUTHORIZATION)
            .and_then(|h| h.strip_prefix("Bearer ").or_else(|| h.strip_prefix("bearer ")))
            .map(|t| t.trim().to_string())
            .or_else(|| token_cookie(req, SESSION_COOKIE))
            .or_else(|| token_cookie(req, OPERATOR_COOKIE))?;
        self.tokens.resolve(&self.kernel, &token)
    }
}

impl<E: Endpoint> Endpoint for RateLimitEndpoint<E> {
    type Output = Response;

    #[cfg(feature = "auth")]
    async fn call(&self, mut req: Request) -> poem::Result<Response> {
        let path = req.uri().path();
        if path == "/healthz" || path == "/metrics" {
            return self.ep.call(req).await.map(IntoResponse::into_response);
        }
        let client = keiyaku_web::api::http::client_ip(&req);
        let resolved = self.resolve(&req);
        let account = resolved.as_ref().and_then(|r| r.account.as_deref());
        let (verdict, levels) = self.limiter.count(client, account);
        if let Err(retry_after) = verdict {
            return Ok(with_levels(too_many_requests(&req, retry_after), &levels));
        }
        // The handler's `Auth::authenticate` uses this read instead of its own.
        if let Some(r) = resolved {
            req.extensions_mut().insert(Arc::new(r));
        }
        self.ep.call(req).await.map(|r| with_levels(r.into_response(), &levels))
    }

    #[cfg(not(feature = "auth"))]
    async fn call(&self, req: Request) -> poem::Result<Response> {
        let _ = &self.kernel;
        let path = req.uri().path();
        if path == "/healthz" || path == "/metrics" {
            return self.ep.call(req).await.map(IntoResponse::into_response);
        }
        let (verdict, levels) = self.limiter.count(keiyaku_web::api::http::client_ip(&req), None);
        match verdict {
            Ok(()) => self.ep.call(req).await.map(|r| with_levels(r.into_response(), &levels)),
            Err(retry_after) => Ok(with_levels(too_many_requests(&req, retry_after), &levels)),
        }
    }
}

/// The 429 answer: problem+json for the API and other clients, a page for browsers.
fn too_many_requests(req: &Request, retry_after: u64) -> Response {
    let lang = Ctx::of(req).lang;
    let title = |lang: Lang| {
        lang.pick(
            "リクエストが多すぎます。しばらくしてから再度お試しください。",
            "Too many requests. Please try again later.",
        )
    };
    let wants_page =
        !req.uri().path().starts_with("/api") && req.header(header::ACCEPT).is_some_and(|a| a.contains("text/html"));
    if !wants_page {
        let mut p = Problem::new(429, Code::RateLimited, title(lang));
        p.retry_after = Some(retry_after);
        return problem_response(&p);
    }
    let pc = keiyaku_web::layout::PageCtx::of(req);
    let detail = match pc.lang {
        Lang::Ja => format!("{retry_after} 秒ほど待ってから、もう一度開いてください。"),
        Lang::En => format!("Please wait about {retry_after} seconds, then reload the page."),
    };
    let mut resp =
        keiyaku_web::layout::error_page(&pc, StatusCode::TOO_MANY_REQUESTS, title(pc.lang), Some(&detail), None);
    if let Ok(v) = HeaderValue::from_str(&retry_after.to_string()) {
        resp.headers_mut().insert(header::RETRY_AFTER, v);
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::SignedDuration;
    use keiyaku_kernel::ManualClock;

    fn limiter(per_client: u32, per_account: u32) -> (RateLimiter, Arc<ManualClock>) {
        let clock = Arc::new(ManualClock::new(Timestamp::UNIX_EPOCH));
        let limits = LimitsConfig {
            requests_per_minute_per_client: per_client,
            requests_per_minute_per_account: per_account,
            ..LimitsConfig::default()
        };
        (RateLimiter::new(&limits, clock.clone()), clock)
    }

    fn ip(s: &str) -> Option<IpAddr> {
        s.parse().ok()
    }

    #[test]
    fn levels_count_down_and_say_when_full_again() {
        let (l, clock) = limiter(6, 60);
        let (ok, levels) = l.count(ip("10.0.0.1"), Some("HXOS2/HX000001"));
        assert_eq!(ok, Ok(()));
        assert_eq!(
            levels,
            [
                Level { name: "client", quota: 6, remaining: 5, reset: 10 },
                Level { name: "account", quota: 60, remaining: 59, reset: 1 },
            ]
        );
        for _ in 0..5 {
            assert_eq!(l.check(ip("10.0.0.1"), None), Ok(()));
        }
        let (refused, levels) = l.count(ip("10.0.0.1"), None);
        assert_eq!(refused, Err(10));
        assert_eq!(levels, [Level { name: "client", quota: 6, remaining: 0, reset: 60 }]);
        clock.advance(SignedDuration::from_secs(30));
        let (_, levels) = l.count(ip("10.0.0.1"), None);
        assert_eq!(levels, [Level { name: "client", quota: 6, remaining: 2, reset: 40 }]);
        let resp = with_levels(Response::default(), &levels);
        assert_eq!(resp.headers()["ratelimit-policy"], "\"client\";q=6;w=60");
        assert_eq!(resp.headers()["ratelimit"], "\"client\";r=2;t=40");
        assert!(with_levels(Response::default(), &[]).headers().get("ratelimit").is_none());
    }

    #[test]
    fn a_minute_of_requests_then_refill() {
        let (l, clock) = limiter(6, 0);
        for i in 0..6 {
            assert_eq!(l.check(ip("10.0.0.1"), None), Ok(()), "request {i}");
        }
        assert_eq!(l.check(ip("10.0.0.1"), None), Err(10), "one request per 10 s");
        assert_eq!(l.check(ip("10.0.0.2"), None), Ok(()), "another client is not affected");
        clock.advance(SignedDuration::from_secs(10));
        assert_eq!(l.check(ip("10.0.0.1"), None), Ok(()));
        assert!(l.check(ip("10.0.0.1"), None).is_err());
        clock.advance(SignedDuration::from_mins(5));
        for _ in 0..6 {
            assert_eq!(l.check(ip("10.0.0.1"), None), Ok(()), "refilled to one minute's allowance, not more");
        }
        assert!(l.check(ip("10.0.0.1"), None).is_err());
    }

    #[test]
    fn accounts_are_limited_across_addresses_and_refused_requests_spend_nothing() {
        let (l, _) = limiter(3, 2);
        assert_eq!(l.check(ip("10.0.0.1"), Some("HXOS2/A1")), Ok(()));
        assert_eq!(l.check(ip("10.0.0.2"), Some("HXOS2/A1")), Ok(()));
        assert!(l.check(ip("10.0.0.3"), Some("HXOS2/A1")).is_err(), "the account, from any address");
        // The refusal did not spend 10.0.0.3's allowance.
        for _ in 0..3 {
            assert_eq!(l.check(ip("10.0.0.3"), None), Ok(()));
        }
        assert!(l.check(ip("10.0.0.3"), None).is_err());
        assert_eq!(l.check(ip("10.0.0.1"), Some("OTHER/A1")), Ok(()));
    }

    #[test]
    fn zero_means_no_limit() {
        let (l, _) = limiter(0, 0);
        for _ in 0..10_000 {
            assert_eq!(l.check(ip("10.0.0.1"), Some("HXOS2/A1")), Ok(()));
        }
        assert_eq!(l.len(), 0);
    }

    #[test]
    fn ipv6_clients_share_their_64() {
        let (l, _) = limiter(2, 0);
        assert_eq!(l.check(ip("2001:db8:1:2::1"), None), Ok(()));
        assert_eq!(l.check(ip("2001:db8:1:2:ffff::9"), None), Ok(()));
        assert!(l.check(ip("2001:db8:1:2::77"), None).is_err());
        assert_eq!(l.check(ip("2001:db8:1:3::1"), None), Ok(()));
        assert_eq!(
            client_key("::ffff:10.1.2.3".parse().unwrap_or(IpAddr::from([0u8; 4]))),
            IpAddr::from([10, 1, 2, 3])
        );
    }

    #[test]
    fn a_clock_step_backwards_does_not_stop_the_refill() {
        let (l, clock) = limiter(60, 0);
        for _ in 0..60 {
            let _ = l.check(ip("10.0.0.1"), None);
        }
        assert!(l.check(ip("10.0.0.1"), None).is_err());
        clock.advance(SignedDuration::from_hours(-1));
        std::thread::sleep(Duration::from_millis(1100));
        assert_eq!(l.check(ip("10.0.0.1"), None), Ok(()), "one token per second of monotonic time");
    }

    #[test]
    fn memory_stays_bounded() {
        let (l, clock) = limiter(5, 0);
        for i in 0..(MAX_BUCKETS as u32 + 10) {
            let _ = l.check(Some(IpAddr::from(i.to_be_bytes())), None);
        }
        assert!(l.len() <= MAX_BUCKETS, "{}", l.len());
        // Idle clients refill completely and are swept out.
        clock.advance(SignedDuration::from_mins(2));
        for i in 0..(MAX_BUCKETS as u32) {
            let _ = l.check(Some(IpAddr::from((i + 1_000_000).to_be_bytes())), None);
        }
        let _ = l.check(ip("10.0.0.1"), None);
        assert!(l.len() <= MAX_BUCKETS, "{}", l.len());
    }
}
