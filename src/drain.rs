//! Every response reaches the client, even when the handler did not read the request body
//! (an unknown path, a refused login, a body over the limit). Closing a connection with
//! unread bytes makes the peer's TCP stack reset it (HTTP/1.1), and ending an HTTP/2 stream
//! early resets it too; either way the client sees no answer. Mature servers linger: this
//! middleware hands the handler a body it reads through a shared reader, then reads and
//! discards what is left — at most [`MAX_DRAIN`] bytes within [`DRAIN_TIME`] — before the
//! response goes out. A client sending more than that still gets its answer when it stops.

use poem::{Body, Endpoint, IntoResponse, Middleware, Request, Response};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, ReadBuf};

/// Most unread bytes discarded after a response.
pub const MAX_DRAIN: u64 = 64 * 1024 * 1024;
/// Longest the discarding may take.
pub const DRAIN_TIME: Duration = Duration::from_secs(10);

type Reader = Box<dyn AsyncRead + Unpin + Send>;

/// The request body, shared between the handler and the drain after it.
#[derive(Clone)]
struct Shared(Arc<Mutex<Reader>>);

impl AsyncRead for Shared {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<std::io::Result<()>> {
        let mut inner = self.0.lock().unwrap_or_else(|p| p.into_inner());
        Pin::new(&mut **inner).poll_read(cx, buf)
    }
}

pub struct Drain;

impl<E: Endpoint> Middleware<E> for Drain {
    type Output = DrainEndpoint<E>;

    fn transform(&self, ep: E) -> Self::Output {
        DrainEndpoint { ep }
    }
}

pub struct DrainEndpoint<E> {
    ep: E,
}

/// Whether a request may carry a body worth draining.
fn has_body(req: &Request) -> bool {
    let declared = req.header("content-length").is_some_and(|l| l.trim() != "0");
    declared || req.header("transfer-encoding").is_some() || req.version() == poem::http::Version::HTTP_2
}

impl<E: Endpoint> Endpoint for DrainEndpoint<E> {
    type Output = Response;

    async fn call(&self, mut req: Request) -> poem::Result<Response> {
        if !has_body(&req) || matches!(*req.method(), poem::http::Method::GET | poem::http::Method::HEAD) {
            return self.ep.call(req).await.map(IntoResponse::into_response);
        }
        let shared = Shared(Arc::new(Mutex::new(Box::new(req.take_body().into_async_read()))));
        req.set_body(Body::from_async_read(shared.clone()));
        let result = self.ep.call(req).await.map(IntoResponse::into_response);
        let mut rest = shared.take(MAX_DRAIN);
        let drained = tokio::time::timeout(DRAIN_TIME, tokio::io::copy(&mut rest, &mut tokio::io::sink())).await;
        if let Ok(Ok(n)) = drained
            && n > 0
        {
            tracing::debug!(bytes = n, "discarded the unread request body");
        }
        result
    }
}
