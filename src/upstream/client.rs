//! HTTP/1.1 keep-alive connection pools, one per endpoint.
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
//! An upgrade request (WebSocket and other `Upgrade`s) never uses the pool:
//! `send_upgrade` opens a dedicated connection with upgrades enabled, and
//! its lease never goes back to the pool, whatever the answer.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::{Duration, Instant};

use http::{Request, Response};
use hyper::body::Incoming;
use hyper::client::conn::http1::{self, SendRequest};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

pub use super::body::RequestBody as UpstreamBody;

/// Settings that shape an endpoint's pool; a change rebuilds the pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientSettings {
    /// TCP connect timeout.
    pub connect_timeout: Duration,
    /// Idle keep-alive connection lifetime (0 = no pooling).
    pub idle_timeout: Duration,
}

/// Most idle connections kept per endpoint.
const MAX_IDLE: usize = 1024;
/// Reused connections tried before opening a fresh one.
const MAX_STALE_RETRIES: usize = 3;

/// Why an upstream exchange failed.
#[derive(Debug, thiserror::Error)]
pub enum UpstreamError {
    /// TCP connect failed or timed out, or the HTTP handshake failed.
    #[error("connect to {authority} failed: {source}")]
    Connect {
        /// `host:port`.
        authority: String,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
    /// The connection failed after the request was (partly) sent.
    #[error("upstream connection failed: {0}")]
    Reset(#[source] hyper::Error),
}

/// A failed send, with the request back when it provably never reached
/// the upstream (so it may be sent elsewhere, whatever its method).
#[derive(Debug)]
pub struct SendFailure {
    /// What went wrong.
    pub error: UpstreamError,
    /// The request, if none of it was sent.
    pub unsent: Option<Request<UpstreamBody>>,
}

impl UpstreamError {
    /// Whether the connection could not be made at all.
    pub fn is_connect(&self) -> bool {
        matches!(self, Self::Connect { .. })
    }
}

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
fn coarse_now() -> u64 {
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
struct Inner {
    authority: String,
    settings: ClientSettings,
    idle: Mutex<Vec<Idle>>,
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
pub struct Lease {
    sender: SendRequest<UpstreamBody>,
    /// The pool it goes back to; `None` for a dedicated (upgrade)
    /// connection, which is never reused.
    pool: Option<Arc<Inner>>,
}

impl Lease {
    /// Gives the connection back for reuse (call once the response body
    /// has been read to the end). A dedicated connection just closes.
    pub fn release(self) {
        let Self { sender, pool } = self;
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

/// Builds a pool for `authority` (`host:port`).
pub fn build_client(authority: &str, settings: ClientSettings) -> UpstreamClient {
    UpstreamClient {
        inner: Arc::new(Inner {
            authority: authority.to_string(),
            settings,
            idle: Mutex::new(Vec::new()),
        }),
    }
}

impl UpstreamClient {
    /// Sends `req` (origin-form URI, Host set) and returns the response
    /// head with the lease of its connection.
    pub async fn send(
        &self,
        mut req: Request<UpstreamBody>,
    ) -> Result<(Response<Incoming>, Lease), SendFailure> {
        let mut stale = 0;
        loop {
            let reused = if stale < MAX_STALE_RETRIES {
                self.checkout()
            } else {
                None
            };
            let (mut sender, is_reused) = match reused {
                Some(s) => (s, true),
                None => match self.connect().await {
                    Ok(s) => (s, false),
                    Err(error) => {
                        return Err(SendFailure {
                            error,
                            unsent: Some(req),
                        })
                    }
                },
            };
            if sender.ready().await.is_err() {
                if is_reused {
                    stale += 1;
                    continue;
                }
                return Err(SendFailure {
                    error: self
                        .connect_error(std::io::Error::other("connection closed during handshake")),
                    unsent: Some(req),
                });
            }
            match sender.try_send_request(req).await {
                Ok(resp) => {
                    let lease = Lease {
                        sender,
                        pool: Some(Arc::clone(&self.inner)),
                    };
                    return Ok((resp, lease));
                }
                Err(mut e) => match e.take_message() {
                    // Never sent: the idle connection was already closed.
                    Some(r) if is_reused => {
                        req = r;
                        stale += 1;
                    }
                    unsent => {
                        return Err(SendFailure {
                            error: UpstreamError::Reset(e.into_error()),
                            unsent,
                        })
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
    ) -> Result<(Response<Incoming>, Lease), SendFailure> {
        let stream = match self.dial().await {
            Ok(s) => s,
            Err(error) => {
                return Err(SendFailure {
                    error,
                    unsent: Some(req),
                })
            }
        };
        let (mut sender, conn) = match http1::Builder::new().handshake(TokioIo::new(stream)).await {
            Ok(x) => x,
            Err(e) => {
                return Err(SendFailure {
                    error: self.connect_error(std::io::Error::other(e)),
                    unsent: Some(req),
                })
            }
        };
        let authority = self.inner.authority.clone();
        tokio::spawn(async move {
            // Resolves once the IO is handed to the upgrade (or closed).
            if let Err(e) = conn.with_upgrades().await {
                tracing::debug!(upstream = %authority, error = %e, "Upstream upgrade connection ended with an error.");
            }
        });
        if sender.ready().await.is_err() {
            return Err(SendFailure {
                error: self
                    .connect_error(std::io::Error::other("connection closed during handshake")),
                unsent: Some(req),
            });
        }
        match sender.try_send_request(req).await {
            Ok(resp) => Ok((resp, Lease { sender, pool: None })),
            Err(mut e) => {
                let unsent = e.take_message();
                Err(SendFailure {
                    error: UpstreamError::Reset(e.into_error()),
                    unsent,
                })
            }
        }
    }

    /// Drops idle connections older than the idle timeout or closed.
    pub fn prune(&self) {
        let limit = self.inner.settings.idle_timeout;
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

    fn connect_error(&self, source: std::io::Error) -> UpstreamError {
        UpstreamError::Connect {
            authority: self.inner.authority.clone(),
            source,
        }
    }

    /// A TCP connection within the connect timeout.
    async fn dial(&self) -> Result<TcpStream, UpstreamError> {
        let timeout = self.inner.settings.connect_timeout;
        let stream =
            match tokio::time::timeout(timeout, TcpStream::connect(&self.inner.authority)).await {
                Ok(Ok(s)) => s,
                Ok(Err(e)) => return Err(self.connect_error(e)),
                Err(_) => {
                    return Err(self.connect_error(std::io::Error::new(
                        std::io::ErrorKind::TimedOut,
                        format!("no connection within {timeout:?}"),
                    )))
                }
            };
        stream.set_nodelay(true).ok();
        Ok(stream)
    }

    async fn connect(&self) -> Result<SendRequest<UpstreamBody>, UpstreamError> {
        let stream = self.dial().await?;
        let (sender, conn) = http1::Builder::new()
            .handshake(TokioIo::new(stream))
            .await
            .map_err(|e| self.connect_error(std::io::Error::other(e)))?;
        let authority = self.inner.authority.clone();
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!(upstream = %authority, error = %e, "Upstream connection ended with an error.");
            }
        });
        Ok(sender)
    }
}
