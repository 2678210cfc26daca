//! The shared HTTP/2 connection of an endpoint in a `protocol: http2` pool.
//!
//! One connection carries every request to the endpoint, multiplexed
//! (RFC 9113); hyper queues requests beyond the server's
//! `SETTINGS_MAX_CONCURRENT_STREAMS`. When it closes (GOAWAY, error, idle
//! prune) the next request opens a new one. Concurrent requests that find
//! no connection wait for a single connect: the first opens it, the rest
//! share the result, failure included, so an unreachable endpoint costs
//! one connect timeout, not one per waiting request.
//!
//! A request refused before any of it was sent (the connection was already
//! closing) is retried once on a fresh connection, whatever its method.
//! Pings every 30 s (10 s to answer) find a connection that died silently.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use http::uri::{Authority, PathAndQuery, Scheme, Uri};
use http::{header, Request, Response, Version};
use hyper::client::conn::http2::{self, SendRequest};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};

use super::client::{coarse_now, Inner, Lease, SendFailure, UpstreamBody, UpstreamError};
use super::connect::Security;
use super::response::ResponseStream;
use crate::config::Protocol;

/// Interval of the keep-alive pings, and how long an answer may take.
const PING_INTERVAL: Duration = Duration::from_secs(30);
const PING_TIMEOUT: Duration = Duration::from_secs(10);

/// The shared connection, if open, and its bookkeeping.
#[derive(Debug, Default)]
pub(super) struct H2Conn {
    sender: Mutex<Option<SendRequest<UpstreamBody>>>,
    /// Held while connecting; holds the last failed connect.
    connecting: tokio::sync::Mutex<Option<Failure>>,
    /// Streams open now (leases alive).
    open: Arc<AtomicUsize>,
    /// `coarse_now()` when the last stream began.
    last_used: AtomicU64,
}

/// A failed connect, replayed to the requests that waited for it.
#[derive(Debug)]
struct Failure {
    at: Instant,
    tls: bool,
    authority: String,
    kind: std::io::ErrorKind,
    message: String,
}

impl Failure {
    fn of(e: &UpstreamError) -> Option<Self> {
        let (tls, authority, source) = match e {
            UpstreamError::Connect { authority, source } => (false, authority, source),
            UpstreamError::Tls { authority, source } => (true, authority, source),
            UpstreamError::Reset(_) | UpstreamError::HeadTooLarge { .. } => return None,
        };
        Some(Self {
            at: Instant::now(),
            tls,
            authority: authority.clone(),
            kind: source.kind(),
            message: source.to_string(),
        })
    }

    fn replay(&self) -> UpstreamError {
        let source = std::io::Error::new(self.kind, self.message.clone());
        let authority = self.authority.clone();
        if self.tls {
            UpstreamError::Tls { authority, source }
        } else {
            UpstreamError::Connect { authority, source }
        }
    }
}

/// One open stream: counts toward the connection's open streams until the
/// response body is done.
#[derive(Debug)]
pub(super) struct StreamGuard(Arc<AtomicUsize>);

impl Drop for StreamGuard {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

impl H2Conn {
    /// The open connection, if any (a closed one is forgotten).
    fn current(&self) -> Option<SendRequest<UpstreamBody>> {
        let mut slot = self.sender.lock().unwrap_or_else(PoisonError::into_inner);
        match &*slot {
            Some(s) if !s.is_closed() => Some(s.clone()),
            Some(_) => {
                *slot = None;
                None
            }
            None => None,
        }
    }

    fn forget(&self) {
        *self.sender.lock().unwrap_or_else(PoisonError::into_inner) = None;
    }

    /// Closes the connection when no stream has begun for `limit` and
    /// none is open (in-flight streams would finish anyway: the connection
    /// lives until they end).
    pub(super) fn prune(&self, limit: Duration) {
        let idle = coarse_now().saturating_sub(self.last_used.load(Ordering::Relaxed));
        if self.open.load(Ordering::Relaxed) == 0 && idle >= limit.as_secs().max(1) {
            self.forget();
        }
    }

    /// The open connection, or a new one; `true` when it is new.
    async fn sender(
        &self,
        client: &Inner,
    ) -> Result<(SendRequest<UpstreamBody>, bool), UpstreamError> {
        if let Some(s) = self.current() {
            return Ok((s, false));
        }
        let asked = Instant::now();
        let mut failure = self.connecting.lock().await;
        if let Some(s) = self.current() {
            return Ok((s, false));
        }
        if let Some(f) = failure.as_ref().filter(|f| f.at >= asked) {
            return Err(f.replay());
        }
        match connect(client).await {
            Ok(s) => {
                *self.sender.lock().unwrap_or_else(PoisonError::into_inner) = Some(s.clone());
                *failure = None;
                Ok((s, true))
            }
            Err(e) => {
                *failure = Failure::of(&e);
                Err(e)
            }
        }
    }

    fn begin(&self) -> StreamGuard {
        self.open.fetch_add(1, Ordering::Relaxed);
        self.last_used.store(coarse_now(), Ordering::Relaxed);
        StreamGuard(Arc::clone(&self.open))
    }
}

/// Sends `req` on the endpoint's shared connection.
pub(super) async fn send(
    client: &Inner,
    conn: &H2Conn,
    mut req: Request<UpstreamBody>,
) -> Result<(Response<ResponseStream>, Lease), SendFailure> {
    let scheme = match client.dial.security {
        Security::Plain => Scheme::HTTP,
        Security::Tls(_) | Security::Unusable(_) => Scheme::HTTPS,
    };
    to_h2_form(&mut req, scheme, &client.dial.address);
    let mut retried = false;
    loop {
        let (mut sender, fresh) = match conn.sender(client).await {
            Ok(s) => s,
            Err(error) => return Err(SendFailure::new(error, Some(req))),
        };
        let guard = conn.begin();
        if sender.ready().await.is_err() {
            conn.forget();
            if !fresh && !retried {
                retried = true;
                continue;
            }
            let closed = UpstreamError::Connect {
                authority: client.dial.address.clone(),
                source: std::io::Error::other("HTTP/2 connection closed"),
            };
            return Err(SendFailure::new(closed, Some(req)));
        }
        match sender.try_send_request(req).await {
            Ok(resp) => return Ok((resp.map(ResponseStream::Hyper), Lease::http2(guard))),
            Err(mut e) => match e.take_message() {
                // Refused before it was sent: the connection was closing.
                Some(r) if !fresh && !retried => {
                    conn.forget();
                    retried = true;
                    req = r;
                }
                unsent => {
                    return Err(SendFailure::new(
                        UpstreamError::Reset(e.into_error().into()),
                        unsent,
                    ))
                }
            },
        }
    }
}

/// Opens a connection and starts its task.
async fn connect(client: &Inner) -> Result<SendRequest<UpstreamBody>, UpstreamError> {
    let dial = &client.dial;
    let io = dial
        .connect(Protocol::Http2, client.settings.connect_timeout)
        .await?;
    let (sender, conn) = http2::Builder::new(TokioExecutor::new())
        .timer(TokioTimer::new())
        .keep_alive_interval(PING_INTERVAL)
        .keep_alive_timeout(PING_TIMEOUT)
        // A bigger response head resets its stream (h2 cannot say why,
        // so it counts as a reset, not as `HeadTooLarge`).
        .max_header_list_size(u32::try_from(client.settings.max_header_bytes).unwrap_or(u32::MAX))
        .handshake(TokioIo::new(io))
        .await
        .map_err(|e| UpstreamError::Connect {
            authority: dial.address.clone(),
            source: std::io::Error::other(e),
        })?;
    let authority = dial.address.clone();
    tokio::spawn(async move {
        if let Err(e) = conn.await {
            tracing::debug!(upstream = %authority, error = %e, "Upstream HTTP/2 connection ended with an error.");
        }
    });
    Ok(sender)
}

/// Turns an origin-form request with a Host header (what `forward`
/// prepares) into HTTP/2 form: `:scheme` from the endpoint, `:authority`
/// from Host (RFC 9113 §8.3.1: no Host that differs from it, so Host goes),
/// or `fallback` (the endpoint's address) when Host is missing or unusable.
fn to_h2_form<B>(req: &mut Request<B>, scheme: Scheme, fallback: &str) {
    let host = req.headers_mut().remove(header::HOST);
    let authority = host
        .and_then(|h| Authority::try_from(h.as_bytes()).ok())
        .or_else(|| Authority::try_from(fallback).ok());
    let path = req
        .uri()
        .path_and_query()
        .cloned()
        .unwrap_or_else(|| PathAndQuery::from_static("/"));
    let mut parts = http::uri::Parts::default();
    parts.scheme = Some(scheme);
    parts.authority = authority;
    parts.path_and_query = Some(path);
    if let Ok(uri) = Uri::from_parts(parts) {
        *req.uri_mut() = uri;
    }
    *req.version_mut() = Version::HTTP_2;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_take_http2_form() {
        let cases = [
            (
                Some("api.example.com:8080"),
                Scheme::HTTP,
                "/a?b=1",
                "http://api.example.com:8080/a?b=1",
            ),
            (None, Scheme::HTTPS, "/", "https://10.0.0.1:443/"),
            (
                Some("bad host"),
                Scheme::HTTPS,
                "/x",
                "https://10.0.0.1:443/x",
            ),
        ];
        for (host, scheme, path, want) in cases {
            let mut req = Request::get(path).body(()).unwrap();
            if let Some(h) = host {
                req.headers_mut().insert(header::HOST, h.parse().unwrap());
            }
            to_h2_form(&mut req, scheme, "10.0.0.1:443");
            assert_eq!(req.uri().to_string(), want);
            assert_eq!(req.version(), Version::HTTP_2);
            assert!(req.headers().get(header::HOST).is_none());
        }
    }
}
