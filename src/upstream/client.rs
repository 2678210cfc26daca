//! Upstream HTTP clients, one per endpoint: an HTTP/1.1 keep-alive pool,
//! or (pool `protocol: http2`) one shared HTTP/2 connection (`h2.rs`).
//! Connections are opened by `connect::Dial` (TCP, then TLS for `https://`).
//!
//! A lean pool on hyper's connection API instead of hyper-util's generic
//! client: a LIFO stack of idle connections (the most recently used is the
//! warmest and least likely to have been closed by the upstream), no key
//! hashing, no per-request task. A connection goes back to the pool when
//! its response body has been read to the end (`Lease::release`); a lease
//! dropped earlier closes the connection, since it still has unread bytes.
//!
//! A request that fails on a reused connection before any of it was sent
//! (the upstream closed the idle connection) is retried on another
//! connection: it never reached the upstream, so this is safe for any method.
//!
//! The common request (plain TCP endpoint, empty body) skips hyper's
//! client altogether: `h1` performs the exchange inline on the calling
//! task with a small codec (no connection task, no channels, small
//! buffers), keeping its idle connections in a second stack of the same
//! pool (same cap, idle timeout and pruning). Everything else (TLS,
//! request bodies) goes through hyper's connection API here.
//!
//! An upgrade request (WebSocket and other `Upgrade`s) never uses the pool:
//! `send_upgrade` opens a dedicated HTTP/1.1 connection (also for an
//! HTTP/2 pool) with upgrades enabled, and its lease never goes back to
//! the pool, whatever the answer.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::{Duration, Instant};

use http::{HeaderName, HeaderValue, Request, Response};
use hyper::client::conn::http1::{self, SendRequest};
use hyper_util::rt::TokioIo;

pub use super::body::RequestBody as UpstreamBody;
use super::connect::Dial;
pub use super::error::{SendFailure, UpstreamError};
use super::h1::{self, IdleStack};
use super::h2::{self, H2Conn, StreamGuard};
use super::response::ResponseStream;
use crate::config::Protocol;

/// A send on a path other than the inline one.
type BoxedSend<'a> = std::pin::Pin<
    Box<dyn Future<Output = Result<(Response<ResponseStream>, Lease), SendFailure>> + Send + 'a>,
>;

/// Fields added to a request as it goes out rather than into its header
/// map beforehand: the inline HTTP/1.1 exchange writes them into the
/// request head after the map's fields, every other path inserts them
/// into the map first (`insert_into`). For fields nothing reads between
/// the two and the map does not have (`forward::prepare_request` defers
/// `X-Forwarded-*` so, saving three hashed inserts per request).
/// Borrowed, so that it is small: it travels by value with the request.
#[derive(Debug, Clone, Copy, Default)]
pub struct Added<'a>([Option<(&'static HeaderName, &'a HeaderValue)>; 3]);

impl<'a> Added<'a> {
    /// Adds `name: value` (at most three fields; `false` when full).
    pub fn push(&mut self, name: &'static HeaderName, value: &'a HeaderValue) -> bool {
        match self.0.iter_mut().find(|f| f.is_none()) {
            Some(slot) => {
                *slot = Some((name, value));
                true
            }
            None => false,
        }
    }

    /// The fields, in the order added.
    pub fn iter(&self) -> impl Iterator<Item = (&'static HeaderName, &'a HeaderValue)> + '_ {
        self.0.iter().flatten().copied()
    }

    /// Inserts the fields into `headers` (and forgets them).
    pub fn insert_into(&mut self, headers: &mut http::HeaderMap) {
        for (name, value) in self.0.iter_mut().filter_map(Option::take) {
            headers.insert(name, value.clone());
        }
    }
}

/// Where a response's fields go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeadFields {
    /// Into the response's header map, for whatever reads `headers()`.
    Map,
    /// Kept as they arrived (`ResponseStream::take_raw_head`), leaving the
    /// map empty, where the inline exchange can and the head allows
    /// (`wire::RawHead`); otherwise the map, as `Map`. Only for a caller
    /// that reads no field and writes the head out with the raw fields
    /// (the client-side HTTP/1.1 fast path).
    Raw,
}

/// Settings that shape an endpoint's pool; a change rebuilds the pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientSettings {
    /// Connect timeout (TCP and TLS handshake together).
    pub connect_timeout: Duration,
    /// Idle keep-alive connection lifetime (0 = no pooling).
    pub idle_timeout: Duration,
    /// HTTP/1.1 pool or one shared HTTP/2 connection.
    pub protocol: Protocol,
    /// Largest response head accepted (`pools[].limits`); a bigger one
    /// fails the exchange.
    pub max_header_bytes: usize,
}

/// hyper's default cap on an HTTP/1.1 connection's read buffer (8 KiB +
/// 100 x 4 KiB). A head limit above it raises the cap to the limit, so
/// that the head limit, not the buffer, decides.
const DEFAULT_READ_BUF: usize = 8192 + 4096 * 100;

/// Most idle connections kept per endpoint.
pub(super) const MAX_IDLE: usize = 1024;
/// Reused connections tried before opening a fresh one.
pub(super) const MAX_STALE_RETRIES: usize = 3;

#[derive(Debug)]
struct Idle {
    sender: SendRequest<UpstreamBody>,
    /// `coarse_now()` when it went idle.
    since: u64,
}

static EPOCH: OnceLock<Instant> = OnceLock::new();
static COARSE_SECS: AtomicU64 = AtomicU64::new(0);

/// Whole seconds since start, advanced by `tick_clock`: idle ages need no
/// precision, and this keeps clock reads off the request path.
pub(super) fn coarse_now() -> u64 {
    COARSE_SECS.load(Ordering::Relaxed)
}

/// Advances the coarse clock; called about once a second.
pub fn tick_clock() {
    let epoch = EPOCH.get_or_init(Instant::now);
    COARSE_SECS.store(epoch.elapsed().as_secs(), Ordering::Relaxed);
}

impl Idle {
    /// Idle for at least `limit` (to the coarse clock's second).
    fn expired(&self, limit: Duration) -> bool {
        coarse_now().saturating_sub(self.since) >= limit.as_secs().max(1)
    }
}

#[derive(Debug)]
pub(super) struct Inner {
    pub(super) dial: Dial,
    pub(super) settings: ClientSettings,
    idle: Mutex<Vec<Idle>>,
    /// Idle connections of the inline path (`h1`).
    pub(super) inline: IdleStack,
    /// The shared connection of an HTTP/2 pool.
    h2: H2Conn,
}

impl Inner {
    /// The idle stack (a poisoned lock still holds usable senders).
    fn idle(&self) -> std::sync::MutexGuard<'_, Vec<Idle>> {
        self.idle.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A pool of keep-alive connections to one endpoint. Cheap to clone.
#[derive(Debug, Clone)]
pub struct UpstreamClient {
    inner: Arc<Inner>,
}

/// A connection on loan while its response streams.
#[derive(Debug)]
pub struct Lease(LeaseKind);

#[derive(Debug)]
enum LeaseKind {
    /// An HTTP/1.1 connection, busy until the body is read.
    Http1 {
        sender: SendRequest<UpstreamBody>,
        /// The pool it goes back to; `None` for a dedicated (upgrade)
        /// connection, which is never reused.
        pool: Option<Arc<Inner>>,
    },
    /// A stream on the shared HTTP/2 connection, counted while it lives.
    Http2 { _stream: StreamGuard },
    /// An inline exchange: its connection lives in the response body,
    /// which gives it back itself.
    Inline,
}

impl Lease {
    /// A stream of an HTTP/2 connection.
    pub(super) fn http2(guard: StreamGuard) -> Self {
        Self(LeaseKind::Http2 { _stream: guard })
    }

    /// The lease of an inline exchange (nothing to give back).
    pub(super) fn inline() -> Self {
        Self(LeaseKind::Inline)
    }

    /// Gives the connection back for reuse (call once the response body
    /// has been read to the end). A dedicated connection just closes; an
    /// HTTP/2 stream just ends.
    pub fn release(self) {
        let LeaseKind::Http1 { sender, pool } = self.0 else {
            return;
        };
        let Some(pool) = pool else {
            return;
        };
        if pool.settings.idle_timeout.is_zero() || sender.is_closed() {
            return;
        }
        let mut idle = pool.idle();
        if idle.len() < MAX_IDLE {
            idle.push(Idle {
                sender,
                since: coarse_now(),
            });
        }
    }
}

/// Builds a client for the endpoint `dial` reaches.
pub fn build_client(dial: Dial, settings: ClientSettings) -> UpstreamClient {
    UpstreamClient {
        inner: Arc::new(Inner {
            dial,
            settings,
            idle: Mutex::new(Vec::new()),
            inline: IdleStack::default(),
            h2: H2Conn::default(),
        }),
    }
}

impl UpstreamClient {
    /// Sends `req` (origin-form URI, Host set) and returns the response
    /// head with the lease of its connection; `fields` says where the
    /// head's fields go, `added` what goes into the request's.
    ///
    /// Not an `async fn`: one would keep the request in its own state
    /// beside the chosen path's future; this returns the inline path's
    /// future itself (the common case), or the other paths boxed.
    pub fn send<'a>(
        &'a self,
        mut req: Request<UpstreamBody>,
        fields: HeadFields,
        mut added: Added<'a>,
    ) -> impl Future<Output = Result<(Response<ResponseStream>, Lease), SendFailure>> + Send + 'a
    {
        use tokio_util::either::Either;
        let inner = &self.inner;
        if inner.settings.protocol == Protocol::Http1 && h1::eligible(inner, &req) {
            return Either::Left(h1::send(inner, req, fields == HeadFields::Raw, added));
        }
        added.insert_into(req.headers_mut());
        match inner.settings.protocol {
            // Boxed: their state (hyper's futures, the handshake) stays off
            // the inline path's future, which is moved into place on every
            // request.
            Protocol::Http1 => Either::Right(Box::pin(self.send_http1(req)) as BoxedSend<'_>),
            Protocol::Http2 => {
                Either::Right(Box::pin(h2::send(inner, &inner.h2, req)) as BoxedSend<'_>)
            }
        }
    }

    /// Whether this is the client `dial` and `settings` would build.
    pub fn is_for(&self, dial: &Dial, settings: ClientSettings) -> bool {
        self.inner.dial == *dial && self.inner.settings == settings
    }

    async fn send_http1(
        &self,
        mut req: Request<UpstreamBody>,
    ) -> Result<(Response<ResponseStream>, Lease), SendFailure> {
        let mut stale = 0;
        loop {
            let reused = if stale < MAX_STALE_RETRIES {
                self.checkout()
            } else {
                None
            };
            let (mut sender, is_reused) = match reused {
                Some(s) => (s, true),
                // Boxed: the dial and handshake state is large and rarely
                // needed (most requests reuse a connection).
                None => match Box::pin(self.connect()).await {
                    Ok(s) => (s, false),
                    Err(error) => return Err(SendFailure::new(error, Some(req))),
                },
            };
            if sender.ready().await.is_err() {
                if is_reused {
                    stale += 1;
                    continue;
                }
                let closed = std::io::Error::other("connection closed during handshake");
                return Err(SendFailure::new(self.connect_error(closed), Some(req)));
            }
            match sender.try_send_request(req).await {
                Ok(resp) => {
                    let lease = Lease(LeaseKind::Http1 {
                        sender,
                        pool: Some(Arc::clone(&self.inner)),
                    });
                    return Ok((resp.map(ResponseStream::Hyper), lease));
                }
                Err(mut e) => match e.take_message() {
                    // Never sent: the idle connection was already closed.
                    Some(r) if is_reused => {
                        req = r;
                        stale += 1;
                    }
                    unsent => {
                        return Err(SendFailure::new(
                            self.exchange_error(e.into_error()),
                            unsent,
                        ))
                    }
                },
            }
        }
    }

    /// Sends an upgrade request on a fresh connection of its own, with
    /// upgrades enabled: on a 101, `hyper::upgrade::on(&mut response)`
    /// yields the connection's IO. The connection is never pooled.
    pub async fn send_upgrade(
        &self,
        req: Request<UpstreamBody>,
    ) -> Result<(Response<ResponseStream>, Lease), SendFailure> {
        let settings = &self.inner.settings;
        let stream = match self
            .inner
            .dial
            .connect(Protocol::Http1, settings.connect_timeout)
            .await
        {
            Ok(s) => s,
            Err(error) => return Err(SendFailure::new(error, Some(req))),
        };
        let (mut sender, conn) = match self.http1().handshake(TokioIo::new(stream)).await {
            Ok(x) => x,
            Err(e) => {
                return Err(SendFailure::new(
                    self.connect_error(std::io::Error::other(e)),
                    Some(req),
                ))
            }
        };
        let authority = self.inner.dial.address.clone();
        tokio::spawn(async move {
            // Resolves once the IO is handed to the upgrade (or closed).
            if let Err(e) = conn.with_upgrades().await {
                tracing::debug!(upstream = %authority, error = %e, "Upstream upgrade connection ended with an error.");
            }
        });
        if sender.ready().await.is_err() {
            let closed = std::io::Error::other("connection closed during handshake");
            return Err(SendFailure::new(self.connect_error(closed), Some(req)));
        }
        match sender.try_send_request(req).await {
            Ok(resp) => Ok((
                resp.map(ResponseStream::Hyper),
                Lease(LeaseKind::Http1 { sender, pool: None }),
            )),
            Err(mut e) => {
                let unsent = e.take_message();
                Err(SendFailure::new(
                    self.exchange_error(e.into_error()),
                    unsent,
                ))
            }
        }
    }

    /// Drops idle connections older than the idle timeout or closed (for
    /// HTTP/2: the shared connection, once no stream has been open for
    /// that long).
    pub fn prune(&self) {
        let limit = self.inner.settings.idle_timeout;
        self.inner.h2.prune(limit);
        self.inner.inline.prune(limit);
        let mut idle = self.inner.idle();
        idle.retain(|c| !c.sender.is_closed() && !c.expired(limit));
    }

    fn checkout(&self) -> Option<SendRequest<UpstreamBody>> {
        let limit = self.inner.settings.idle_timeout;
        let mut idle = self.inner.idle();
        while let Some(c) = idle.pop() {
            if !c.sender.is_closed() && !c.expired(limit) {
                return Some(c.sender);
            }
        }
        None
    }

    fn exchange_error(&self, source: hyper::Error) -> UpstreamError {
        UpstreamError::exchange(source, self.inner.settings.max_header_bytes)
    }

    /// The HTTP/1.1 connection settings, with the pool's response head
    /// limit (status line and headers).
    fn http1(&self) -> http1::Builder {
        let limit = self.inner.settings.max_header_bytes;
        let mut b = http1::Builder::new();
        b.max_header_size(limit);
        if limit > DEFAULT_READ_BUF {
            b.max_buf_size(limit);
        }
        b
    }

    fn connect_error(&self, source: std::io::Error) -> UpstreamError {
        UpstreamError::Connect {
            authority: self.inner.dial.address.clone(),
            source,
        }
    }

    async fn connect(&self) -> Result<SendRequest<UpstreamBody>, UpstreamError> {
        let timeout = self.inner.settings.connect_timeout;
        let stream = self.inner.dial.connect(Protocol::Http1, timeout).await?;
        let (sender, conn) = self
            .http1()
            .handshake(TokioIo::new(stream))
            .await
            .map_err(|e| self.connect_error(std::io::Error::other(e)))?;
        let authority = self.inner.dial.address.clone();
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!(upstream = %authority, error = %e, "Upstream connection ended with an error.");
            }
        });
        Ok(sender)
    }
}
