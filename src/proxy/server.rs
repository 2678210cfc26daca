//! Listeners: accept loops, the TLS handshake on listeners with `tls:`,
//! HTTP/1.1 and HTTP/2 (prior knowledge, or ALPN `h2` over TLS) through
//! hyper-util's auto builder, and draining.
//!
//! Each listener owns its socket and a drain signal. Stopping a listener
//! stops accepting at once; draining asks every connection to finish its
//! in-flight requests and close, then waits for them. Whether a new
//! connection speaks TLS, and with which certificates, is read from the
//! current `Dataplane` when it is accepted, so a reload that changes a
//! listener's `tls` keeps its socket and applies to the next connection.
//!
//! HTTP/1 connections are served with upgrades (`Upgrade` + 101). hyper's
//! graceful shutdown no longer sees a connection once it is upgraded, so the
//! tunnel (`proxy/upgrade.rs`) holds its own drain subscription: the drain
//! waits for it like for any connection, and when the grace period ends
//! (`DrainState::Expired`) the tunnel closes.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use rustls::ServerConfig;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Semaphore};
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;

use super::activity::{Activity, Deadline, Expired};
use super::dataplane::Shared;
use super::drain_watch::Drained;
use super::h1;
use super::handler::{self, ConnCtx};
use super::watched::Watched;
use crate::config::ListenerLimits;
use crate::metrics::HandshakeMetrics;

/// Where a listener's drain stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DrainState {
    /// Serving normally.
    Serving,
    /// Connections are asked to finish: HTTP connections close after their
    /// requests in progress; upgraded connections carry on for the grace
    /// period.
    Draining,
    /// The grace period is over: upgraded connections close now.
    Expired,
}

/// A drain signal: connections subscribe, `drain` signals and waits until
/// every subscriber is gone.
#[derive(Debug)]
pub struct Drain {
    tx: watch::Sender<DrainState>,
}

impl Default for Drain {
    fn default() -> Self {
        Self {
            tx: watch::channel(DrainState::Serving).0,
        }
    }
}

impl Drain {
    /// A receiver a connection (or an upgraded connection's tunnel) holds
    /// until it is closed.
    pub fn subscribe(&self) -> watch::Receiver<DrainState> {
        self.tx.subscribe()
    }

    /// Asks every connection to finish and waits up to `timeout` for them,
    /// then tells those left (upgraded connections) to close. Returns
    /// whether all finished in time.
    pub async fn drain(&self, timeout: Duration) -> bool {
        self.tx.send_replace(DrainState::Draining);
        let done = tokio::time::timeout(timeout, self.tx.closed())
            .await
            .is_ok();
        if !done {
            self.tx.send_replace(DrainState::Expired);
        }
        done
    }
}

/// A running listener.
#[derive(Debug)]
pub struct ListenerHandle {
    /// Name from the config.
    pub name: Arc<str>,
    /// Bound address (the real port when the config said 0).
    pub addr: SocketAddr,
    /// The configured address (for comparing configs).
    pub configured: SocketAddr,
    stop: watch::Sender<bool>,
    drain: Arc<Drain>,
    task: JoinHandle<TcpListener>,
}

impl ListenerHandle {
    /// Stops accepting new connections; open ones keep going.
    pub fn stop_accepting(&self) {
        self.stop.send_replace(true);
    }

    /// Stops accepting, then drains open connections for up to `timeout`.
    pub async fn shutdown(self, timeout: Duration) -> bool {
        self.stop_accepting();
        self.task.await.ok();
        self.drain.drain(timeout).await
    }

    /// Stops accepting and hands back the socket, so a renamed listener can
    /// keep serving on it without a rebind. Open connections carry on and
    /// are drained through the returned `Drain`.
    pub async fn take_socket(self) -> (Option<TcpListener>, Arc<Drain>) {
        self.stop_accepting();
        (self.task.await.ok(), self.drain)
    }
}

/// Binds `addr` with `SO_REUSEADDR` and a deep backlog.
pub fn bind(addr: SocketAddr) -> std::io::Result<TcpListener> {
    let socket = if addr.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(4096)
}

/// Starts serving traffic on `listener`.
pub fn spawn(
    listener: TcpListener,
    name: Arc<str>,
    configured: SocketAddr,
    shared: Arc<Shared>,
) -> std::io::Result<ListenerHandle> {
    let addr = listener.local_addr()?;
    let (stop, stop_rx) = watch::channel(false);
    let drain = Arc::new(Drain::default());
    let task = tokio::spawn(accept_loop(
        listener,
        Arc::clone(&name),
        shared,
        stop_rx,
        Arc::clone(&drain),
    ));
    Ok(ListenerHandle {
        name,
        addr,
        configured,
        stop,
        drain,
        task,
    })
}

/// The connection builder of a listener with `limits`. On HTTP/1.1 the
/// head limit is hyper's read buffer: a head that does not fit gets 431
/// and the connection closes (so does one with more than `max_headers`
/// fields); on HTTP/2 it is the header list size the client is told.
fn builder(limits: &ListenerLimits) -> auto::Builder<TokioExecutor> {
    let mut b = auto::Builder::new(TokioExecutor::new());
    b.http1()
        .timer(TokioTimer::new())
        .keep_alive(true)
        // Validated to at least hyper's 8 KiB minimum (it asserts).
        .max_buf_size(limits.max_header_bytes.max(8192))
        .max_headers(limits.max_headers)
        // Off: `activity` keeps the head and idle timeouts apart.
        .header_read_timeout(None);
    b.http2()
        .timer(TokioTimer::new())
        .max_header_list_size(u32::try_from(limits.max_header_bytes).unwrap_or(u32::MAX));
    b
}

async fn accept_loop(
    listener: TcpListener,
    name: Arc<str>,
    shared: Arc<Shared>,
    mut stop: watch::Receiver<bool>,
    drain: Arc<Drain>,
) -> TcpListener {
    // Rebuilt when a reload changes the listener's limits.
    let mut built: Option<(ListenerLimits, Arc<auto::Builder<TokioExecutor>>)> = None;
    // Resolved once per listener; the series exists (at 0) from the start.
    let upgraded = shared.metrics.upgraded(&name);
    // Resolved on the first TLS connection: a plain listener has no series.
    let mut handshakes: Option<HandshakeMetrics> = None;
    // `limits.max_connections`: one permit per open connection. At the cap
    // the loop stops accepting, so new connections wait in the kernel's
    // backlog. A reload that changes the cap starts a new count (the old
    // connections' permits belong to the old one); the cap is read with
    // the rest of the settings at each accept, so a change applies from
    // the next one on.
    let mut cap: Option<(usize, Arc<Semaphore>)> = None;
    let mut max = settings(&shared, &name).1.max_connections;
    loop {
        let permit = match max {
            None => {
                cap = None;
                None
            }
            Some(n) => {
                let sem = match &cap {
                    Some((m, s)) if *m == n => Arc::clone(s),
                    _ => {
                        let s = Arc::new(Semaphore::new(n));
                        cap = Some((n, Arc::clone(&s)));
                        s
                    }
                };
                tokio::select! {
                    _ = stop.changed() => break,
                    p = sem.acquire_owned() => p.ok(),
                }
            }
        };
        let accepted = tokio::select! {
            _ = stop.changed() => break,
            res = listener.accept() => res,
        };
        match accepted {
            Ok((stream, peer)) => {
                let (tls, limits) = settings(&shared, &name);
                max = limits.max_connections;
                let builder = match &built {
                    Some((l, b)) if *l == limits => Arc::clone(b),
                    _ => {
                        let b = Arc::new(builder(&limits));
                        built = Some((limits, Arc::clone(&b)));
                        b
                    }
                };
                let ctx = Arc::new(ConnCtx {
                    listener: Arc::clone(&name),
                    peer,
                    peer_ip: super::forward::ip_value(peer.ip()),
                    proto: if tls.is_some() { "https" } else { "http" },
                    shared: Arc::clone(&shared),
                    drain: Arc::clone(&drain),
                    upgraded: upgraded.clone(),
                });
                let rx = drain.subscribe();
                let tls = tls.map(|(config, timeout)| {
                    let m = handshakes.get_or_insert_with(|| shared.metrics.tls.handshakes(&name));
                    Handshake {
                        config,
                        timeout,
                        metrics: m.clone(),
                    }
                });
                tokio::spawn(async move {
                    serve(stream, ctx, builder, rx, tls, ConnLimits::from(&limits)).await;
                    drop(permit);
                });
            }
            Err(e) => {
                // EMFILE and friends: back off instead of spinning.
                tracing::warn!(listener = %name, error = %e, "Accept failed.");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
    tracing::debug!(listener = %name, "Stopped accepting.");
    listener
}

/// The listener's TLS (config and handshake timeout) and limits in the
/// active config, from one load of the dataplane (its guard is dropped at
/// once: only `Arc`s are kept).
fn settings(
    shared: &Shared,
    name: &str,
) -> (Option<(Arc<ServerConfig>, Duration)>, ListenerLimits) {
    let dp = shared.dataplane.load();
    let Some(i) = dp.listener_index(name) else {
        return (None, ListenerLimits::default());
    };
    let tls = dp
        .tls
        .get(i)
        .map(|t| (Arc::clone(&t.config), t.spec.handshake_timeout));
    (tls, dp.config.listeners[i].limits)
}

/// What the TLS handshake of one accepted connection needs.
struct Handshake {
    /// The listener's rustls config as of the accept.
    config: Arc<ServerConfig>,
    /// `listeners[].tls.handshake_timeout`.
    timeout: Duration,
    /// The listener's handshake counters.
    metrics: HandshakeMetrics,
}

/// Serves one accepted connection: the TLS handshake first when `tls` is
/// set, then HTTP until the client or a drain ends it.
async fn serve(
    stream: TcpStream,
    ctx: Arc<ConnCtx>,
    builder: Arc<auto::Builder<TokioExecutor>>,
    mut drain: watch::Receiver<DrainState>,
    tls: Option<Handshake>,
    limits: ConnLimits,
) {
    stream.set_nodelay(true).ok();
    let Some(Handshake {
        config,
        timeout,
        metrics: handshakes,
    }) = tls
    else {
        return serve_http(stream, ctx, builder, drain, limits).await;
    };
    if *drain.borrow_and_update() != DrainState::Serving {
        return;
    }
    // Boxed, like the TLS connection's serving below: the task of every
    // connection is as large as its largest state, and a plain one should
    // not carry a TLS session's room.
    let handshake = Box::pin(tokio::time::timeout(
        timeout,
        TlsAcceptor::from(config).accept(stream),
    ));
    // A draining listener drops handshakes in progress: no request has
    // started on them yet.
    let stream = tokio::select! {
        res = handshake => match res {
            Ok(Ok(s)) => {
                let resumed = s.get_ref().1.handshake_kind() == Some(rustls::HandshakeKind::Resumed);
                handshakes.succeeded(resumed);
                s
            }
            Ok(Err(e)) => {
                let result = crate::tls::handshake_failure(&e);
                handshakes.record(result);
                tracing::debug!(listener = %ctx.listener, peer = %ctx.peer, result, error = %e, "TLS handshake failed.");
                return;
            }
            Err(_) => {
                handshakes.record("timeout");
                tracing::debug!(listener = %ctx.listener, peer = %ctx.peer, "TLS handshake timed out.");
                return;
            }
        },
        _ = drain.changed() => return,
    };
    Box::pin(serve_http(stream, ctx, builder, drain, limits)).await;
}

/// HTTP/1.1 or HTTP/2 on an established (plain or TLS) connection: the
/// HTTP/1.1 fast path (`proxy/h1`) first, then, from the first request it
/// does not serve, hyper's auto builder, which tells HTTP/2 by its preface
/// (so ALPN `h2` needs nothing more). `limits` are the head and idle
/// timeouts (`activity`; a head that runs out closes the connection at
/// once, an idle one closes gracefully) and the head size limit.
async fn serve_http<S>(
    stream: S,
    ctx: Arc<ConnCtx>,
    builder: Arc<auto::Builder<TokioExecutor>>,
    mut drain: watch::Receiver<DrainState>,
    limits: ConnLimits,
) where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    // Accepted as the drain began: nothing was asked on it yet.
    if *drain.borrow_and_update() != DrainState::Serving {
        return;
    }
    let peer = ctx.peer;
    let activity = Activity::new();
    let io = Watched::new(stream, Arc::clone(&activity));
    let mut deadline = Deadline::new(Arc::clone(&activity), limits.head, limits.idle);
    let fast = h1::serve(
        io,
        &ctx,
        &activity,
        &mut drain,
        (limits.max_head, limits.max_headers),
    );
    // `biased`: the deadline is polled after the connection, so it sees
    // what the connection's last poll did. It only runs out while no
    // request is in flight, when dropping the fast path closes the
    // connection as hyper's graceful shutdown would.
    let (io, prefix) = tokio::select! {
        biased;
        outcome = fast => match outcome {
            h1::Outcome::Closed => return,
            h1::Outcome::Handoff(io, prefix) => (io, prefix),
        },
        expired = &mut deadline => {
            match expired {
                Expired::Head => tracing::debug!(%peer, "Request head not received in time; connection closed."),
                Expired::Idle => tracing::debug!(%peer, "Connection idle; closing it."),
            }
            return;
        }
    };
    // Boxed: hyper's connection state is allocated only for connections
    // that need it, not carried in every connection's task.
    let stage = serve_hyper(io, prefix, ctx, builder, drain, activity, deadline);
    Box::pin(stage).await;
}

/// hyper's auto builder from the first request the fast path did not
/// serve: `prefix` holds the bytes read but not served.
async fn serve_hyper<S>(
    mut io: Watched<S>,
    prefix: bytes::Bytes,
    ctx: Arc<ConnCtx>,
    builder: Arc<auto::Builder<TokioExecutor>>,
    mut drain: watch::Receiver<DrainState>,
    activity: Arc<Activity>,
    mut deadline: Deadline,
) where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let peer = ctx.peer;
    if let Err(e) = io.leave_fast(prefix) {
        tracing::debug!(%peer, error = %e, "Request head refused; connection closed.");
        io.refuse().await;
        return;
    }
    let io = TokioIo::new(io);
    let svc = service_fn(move |req: http::Request<hyper::body::Incoming>| {
        handler::handle(req.map(Some), Arc::clone(&ctx), activity.begin(), None)
    });
    // An upgraded connection leaves this future (it resolves once the IO is
    // handed over); its tunnel subscribes to the drain on its own.
    let conn = builder.serve_connection_with_upgrades(io, svc);
    tokio::pin!(conn);
    if *drain.borrow_and_update() != DrainState::Serving {
        conn.as_mut().graceful_shutdown();
    }
    let result = tokio::select! {
        biased;
        res = conn.as_mut() => res,
        // Not `drain.changed()`: that locks the listener's shared waiter
        // list on every poll of this task (`drain_watch`).
        () = Drained::new(&mut drain) => {
            conn.as_mut().graceful_shutdown();
            conn.await
        }
        expired = &mut deadline => match expired {
            Expired::Head => {
                tracing::debug!(%peer, "Request head not received in time; connection closed.");
                return;
            }
            Expired::Idle => {
                tracing::debug!(%peer, "Connection idle; closing it.");
                conn.as_mut().graceful_shutdown();
                tokio::select! {
                    res = conn.as_mut() => res,
                    _ = drain.changed() => conn.await,
                }
            }
        },
    };
    if let Err(e) = result {
        tracing::debug!(%peer, error = %e, "Connection ended with an error.");
    }
    drop(drain);
}

/// A connection's timeouts and head size limit, from its listener's limits.
#[derive(Debug, Clone, Copy)]
struct ConnLimits {
    /// `header_read_timeout`.
    head: Duration,
    /// `idle_timeout`.
    idle: Duration,
    /// hyper's read buffer limit (`builder`): the longest head.
    max_head: usize,
    /// `max_headers`.
    max_headers: usize,
}

impl From<&ListenerLimits> for ConnLimits {
    fn from(l: &ListenerLimits) -> Self {
        Self {
            head: l.header_read_timeout,
            idle: l.idle_timeout,
            max_head: l.max_header_bytes.max(8192),
            max_headers: l.max_headers,
        }
    }
}
