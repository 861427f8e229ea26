//! Observability: request ids, access logs, and Prometheus metrics (requests by status
//! class, a latency histogram, mail queue, database size).

use poem::http::HeaderValue;
use poem::{Endpoint, IntoResponse, Middleware, Request, Response};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

/// Upper bounds of the latency histogram, in seconds.
const BUCKETS: [f64; 10] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 5.0];

#[derive(Default)]
pub struct Metrics {
    by_class: [AtomicU64; 5],
    buckets: [AtomicU64; BUCKETS.len()],
    count: AtomicU64,
    /// Sum of latencies in microseconds.
    sum_us: AtomicU64,
}

impl Metrics {
    fn observe(&self, status: u16, secs: f64) {
        let class = usize::from((status / 100).clamp(1, 5)) - 1;
        self.by_class[class].fetch_add(1, Ordering::Relaxed);
        for (i, le) in BUCKETS.iter().enumerate() {
            if secs <= *le {
                self.buckets[i].fetch_add(1, Ordering::Relaxed);
            }
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        self.sum_us.fetch_add((secs * 1e6) as u64, Ordering::Relaxed);
    }

    /// The Prometheus text exposition, with the gauges the caller measured.
    pub fn render(&self, gauges: &[(&str, &str, f64)]) -> String {
        let mut out = String::new();
        out.push_str("# HELP keiyaku_http_requests_total HTTP requests by status class.\n");
        out.push_str("# TYPE keiyaku_http_requests_total counter\n");
        for (i, c) in self.by_class.iter().enumerate() {
            out.push_str(&format!(
                "keiyaku_http_requests_total{{class=\"{}xx\"}} {}\n",
                i + 1,
                c.load(Ordering::Relaxed)
            ));
        }
        out.push_str("# HELP keiyaku_http_request_duration_seconds Time to answer a request.\n");
        out.push_str("# TYPE keiyaku_http_request_duration_seconds histogram\n");
        for (i, le) in BUCKETS.iter().enumerate() {
            out.push_str(&format!(
                "keiyaku_http_request_duration_seconds_bucket{{le=\"{le}\"}} {}\n",
                self.buckets[i].load(Ordering::Relaxed)
            ));
        }
        let count = self.count.load(Ordering::Relaxed);
        out.push_str(&format!("keiyaku_http_request_duration_seconds_bucket{{le=\"+Inf\"}} {count}\n"));
        out.push_str(&format!(
            "keiyaku_http_request_duration_seconds_sum {}\n",
            self.sum_us.load(Ordering::Relaxed) as f64 / 1e6
        ));
        out.push_str(&format!("keiyaku_http_request_duration_seconds_count {count}\n"));
        for (name, help, value) in gauges {
            out.push_str(&format!("# HELP {name} {help}\n# TYPE {name} gauge\n{name} {value}\n"));
        }
        out
    }
}

/// Gives every request an id (the client's `X-Request-Id` when it is sane, else a new one),
/// returns it in the response, logs the request, and counts it.
pub struct Observe(pub Arc<Metrics>);

impl<E: Endpoint> Middleware<E> for Observe {
    type Output = ObserveEndpoint<E>;

    fn transform(&self, ep: E) -> Self::Output {
        ObserveEndpoint { ep, metrics: self.0.clone() }
    }
}

pub struct ObserveEndpoint<E> {
    ep: E,
    metrics: Arc<Metrics>,
}

fn sane_id(v: &str) -> bool {
    !v.is_empty() && v.len() <= 64 && v.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

impl<E: Endpoint> Endpoint for ObserveEndpoint<E> {
    type Output = Response;

    async fn call(&self, req: Request) -> poem::Result<Response> {
        let id = req
            .header("x-request-id")
            .filter(|v| sane_id(v))
            .map(str::to_string)
            .unwrap_or_else(keiyaku_kernel::ids::new_id);
        let (method, path) = (req.method().clone(), req.uri().path().to_string());
        let started = Instant::now();
        let mut resp = match self.ep.call(req).await {
            Ok(r) => r.into_response(),
            Err(e) => e.into_response(),
        };
        let secs = started.elapsed().as_secs_f64();
        let status = resp.status().as_u16();
        self.metrics.observe(status, secs);
        if let Ok(v) = HeaderValue::from_str(&id) {
            resp.headers_mut().insert("x-request-id", v);
        }
        tracing::info!(target: "keiyaku::access", request_id = %id, %method, path = %path, status, ms = (secs * 1e6).round() / 1e3);
        Ok(resp)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_is_cumulative_and_rendered() {
        let m = Metrics::default();
        m.observe(200, 0.002);
        m.observe(404, 0.3);
        m.observe(503, 0.0005);
        let text = m.render(&[("keiyaku_mail_queued", "Mails waiting.", 3.0)]);
        assert!(text.contains("keiyaku_http_requests_total{class=\"2xx\"} 1"));
        assert!(text.contains("keiyaku_http_requests_total{class=\"4xx\"} 1"));
        assert!(text.contains("keiyaku_http_request_duration_seconds_bucket{le=\"0.001\"} 1"));
        assert!(text.contains("keiyaku_http_request_duration_seconds_bucket{le=\"0.0025\"} 2"));
        assert!(text.contains("keiyaku_http_request_duration_seconds_bucket{le=\"+Inf\"} 3"));
        assert!(text.contains("keiyaku_mail_queued 3"));
        assert!(sane_id("abc-123") && !sane_id("a b") && !sane_id(&"x".repeat(65)));
    }
}
