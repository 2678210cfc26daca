//! The per-request pipeline: route, select, forward, respond.
//!
//! `handle` is the outer layer: it loads the dataplane once, turns every
//! `ProxyError` into its synthetic response and counts it, and, when the
//! access log is on, starts the request's line and hands it to the
//! response body (which queues it when the body ends). The happy path,
//! returning `Result`, is `prepare` (routing and headers), the awaited
//! `attempt::send` and `upstream_response`.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use http::{HeaderValue, Request, Response, StatusCode};
use hyper::body::Incoming;
use prometheus::IntGauge;

use super::activity::InFlight as ConnInFlight;
use super::attempt::{self, Answer, RouteTimer, Sent, Tried};
use super::body::{Completion, ResponseBody};
use super::dataplane::{Dataplane, Shared};
use super::error::{ProxyError, CLIENT_CLOSED};
use super::forward::{self, ClientInfo};
use super::gates::Gates;
use super::plugins;
use super::server::Drain;
use super::upgrade;
use crate::access_log::{Pending, Served};
use crate::plugin::Active;
use crate::routing::{self, RequestInfo, RouteId};
use crate::upstream::{Added, ClientBody, HeadFields, RequestBody};
use http_body::Body as _;

mod plugin_path;
use plugin_path::{with_plugins, WithPlugins};

/// Per-connection facts every request on it shares.
#[derive(Debug)]
pub struct ConnCtx {
    /// Listener name.
    pub listener: Arc<str>,
    /// Client address.
    pub peer: SocketAddr,
    /// The client's IP address, formatted once for `X-Forwarded-For`.
    pub peer_ip: HeaderValue,
    /// `http` or `https`.
    pub proto: &'static str,
    /// Shared state.
    pub shared: Arc<Shared>,
    /// The listener's drain signal, which an upgraded connection's tunnel
    /// subscribes to (hyper's graceful shutdown no longer sees it).
    pub drain: Arc<Drain>,
    /// The listener's gauge of upgraded connections.
    pub upgraded: IntGauge,
}

/// What the request path learned on the way, kept whatever the answer:
/// for the error response's metrics and the access log.
#[derive(Debug, Default)]
struct Trail {
    /// The matched route.
    route: Option<RouteId>,
    /// The upstream attempts.
    tried: Tried,
    /// The route's and pool's concurrency slots, held until the response
    /// ends.
    gates: Gates,
}

/// The request's access log line until the response takes it over. A
/// request dropped before it has a response (the client closed the
/// connection or reset the stream while the proxy waited) still gets its
/// line: status 499 and reason `client_closed`, as far as it got. The
/// metrics do not count such a request; the log does, so it can be seen.
struct Line<'a> {
    pending: Option<Pending>,
    trail: Trail,
    dp: &'a Dataplane,
    start: Instant,
}

impl Line<'_> {
    /// Hands the line to the response's body, which queues it when the
    /// body ends.
    fn attach(&mut self, resp: &mut Response<ResponseBody>, reason: Option<&'static str>) {
        resp.body_mut().hold(std::mem::take(&mut self.trail.gates));
        if let Some(mut line) = self.pending.take() {
            line.served(served(self.dp, &self.trail, reason));
            resp.body_mut().log(line);
        }
    }
}

impl Drop for Line<'_> {
    fn drop(&mut self) {
        if let Some(mut line) = self.pending.take() {
            line.served(served(self.dp, &self.trail, Some(CLIENT_CLOSED)));
            line.finish(499, self.start.elapsed(), 0);
        }
    }
}

/// Serves one request. Never fails: errors become responses.
/// `conn` counts the request as in flight on its connection (for the
/// connection's timeouts) until the response body is dropped. The body is
/// `None` for a request the HTTP/1.1 fast path (`proxy/h1`) read, which
/// has none; `timer` is that connection's route timer.
///
/// Not an `async fn`: the request's facts are read here, before its
/// future is made, so that future holds the request once (an `async fn`
/// keeps its argument and a copy of it once the copy is borrowed). In the
/// future, one upstream call is awaited, with the steps before and after
/// it plain functions (`prepare`, `upstream_response`): every `async fn`
/// level is moved whole into its caller's future when awaited.
pub(super) fn handle<'t>(
    req: Request<Option<Incoming>>,
    ctx: Arc<ConnCtx>,
    conn: ConnInFlight,
    timer: Option<&'t mut RouteTimer>,
) -> impl Future<Output = Result<Response<ResponseBody>, Infallible>> + Send + 't {
    let start = Instant::now();
    let dp = ctx.shared.dataplane.load_full();
    let grpc = super::error::is_grpc(req.headers());
    // Only hyper's server hands a connection over on an upgrade; the fast
    // path serves no request that asks for one (`h1/request.rs`).
    let hyper_served = req.body().is_some();
    // Off, the access log costs this branch (and a `None` carried along).
    let pending = dp
        .access_log
        .as_ref()
        .map(|log| log.begin(&req, &ctx.listener, ctx.peer.ip()));
    async move {
        let li = dp.listener_index(&ctx.listener);
        let bytes_in = pending.as_ref().map(Pending::bytes_in);
        let mut line = Line {
            pending,
            trail: Trail::default(),
            dp: &dp,
            start,
        };
        // The host routed by, kept here: the upstream client may add it
        // (`X-Forwarded-Host`) from a reference.
        let mut host = None;
        let req = req.map(|b| ClientBody::new(b, bytes_in));
        let routed = prepare(req, hyper_served, &dp, &ctx, li, &mut line.trail, &mut host);
        let sending = upstream(routed, (&dp, &ctx, li), start, timer, &mut line.trail.tried);
        let result = sending.await;
        finish(result, conn, line, grpc, (&dp, &ctx, li))
    }
}

/// The upstream call of a routed request, and the response made of its
/// answer, as one future (a `Routed` or a `Result` kept across the await
/// would keep its room beside the call's).
fn upstream<'a>(
    routed: Result<Routed<'a>, ProxyError>,
    (dp, ctx, li): (&'a Dataplane, &'a ConnCtx, Option<usize>),
    start: Instant,
    timer: Option<&'a mut RouteTimer>,
    tried: &'a mut Tried,
) -> impl Future<Output = Result<Response<ResponseBody>, ProxyError>> + Send + 'a {
    use futures_util::FutureExt as _;
    use tokio_util::either::Either;
    let r = match routed {
        Ok(r) => r,
        Err(e) => return Either::Left(std::future::ready(Err(e))),
    };
    let made = Made {
        dp,
        ctx,
        li,
        id: r.id,
        start,
    };
    let route = r.route;
    if plugins_see(r.chain, r.pool) {
        // Boxed: the plugin path's state stays off the future of a
        // request without plugins.
        let with = WithPlugins {
            ctx,
            route,
            pool: r.pool,
            start,
            needs_host: r.needs_host,
            client_upgrade: r.client_upgrade,
            chain: r.chain,
        };
        let completion = move |s, f, p| made.completion(s, f, p);
        let plugged = Box::pin(with_plugins(with, r.parts, r.body, tried, completion));
        return Either::Right(Either::Right(plugged));
    }
    let request = Request::from_parts(r.parts, RequestBody::Stream(r.body));
    // The fast path's writer copies a raw head's fields out, where the
    // route edits none of them (`upstream_response` reads and edits
    // nothing else).
    let fields = if timer.is_some() && route.response_headers.is_empty() {
        HeadFields::Raw
    } else {
        HeadFields::Map
    };
    let shape = attempt::Shape {
        needs_host: r.needs_host,
        upgrade: r.upgrade,
        timer,
        fields,
        added: r.added,
    };
    let sending = attempt::send(r.pool, route, request, shape, start, None, tried);
    let client_upgrade = r.client_upgrade;
    Either::Right(Either::Left(sending.map(move |answer| {
        upstream_response(answer, &made, route, client_upgrade)
    })))
}

/// Whether plugins see the request: the route's, or its pool's.
fn plugins_see(
    chain: Option<&Arc<[Arc<crate::plugin::Plugin>]>>,
    pool: &crate::upstream::PoolRuntime,
) -> bool {
    chain.is_some() || pool.has_plugins
}

/// The response to send: the upstream's, or the error's; the access log
/// line and the connection's in-flight count go with its body.
fn finish(
    result: Result<Response<ResponseBody>, ProxyError>,
    conn: ConnInFlight,
    mut line: Line<'_>,
    grpc: bool,
    (dp, ctx, li): (&Dataplane, &ConnCtx, Option<usize>),
) -> Result<Response<ResponseBody>, Infallible> {
    let mut resp = match result {
        Ok(mut resp) => {
            line.attach(&mut resp, None);
            resp
        }
        Err(err) => {
            let metrics = &ctx.shared.metrics;
            metrics.proxy_error(err.reason());
            tracing::debug!(listener = %ctx.listener, peer = %ctx.peer, reason = err.reason(), error = %err, "Request failed.");
            // A gRPC client gets a gRPC status (HTTP 200, as sent).
            let status = if grpc { 200 } else { err.status().as_u16() };
            let metrics = dp.route_metrics(metrics, &ctx.listener, li, line.trail.route);
            let completion = Completion::new(metrics, status, line.start, None, None);
            let body = |b| ResponseBody::full(b, Some(completion));
            let mut resp = if grpc {
                err.to_grpc_response(body)
            } else {
                err.to_response(body)
            };
            line.attach(&mut resp, Some(err.reason()));
            resp
        }
    };
    drop(line);
    if resp.status() == StatusCode::SWITCHING_PROTOCOLS {
        conn.upgraded();
    }
    resp.body_mut().hold_conn(conn);
    Ok(resp)
}

/// The names behind `trail`, for the access log.
fn served<'a>(dp: &'a Dataplane, trail: &Trail, reason: Option<&'static str>) -> Served<'a> {
    let route = trail.route.and_then(|id| dp.config.routes.get(id));
    let pool = route.and_then(|r| dp.pools.get(r.pool.0));
    let endpoint = pool
        .zip(trail.tried.endpoint)
        .and_then(|(p, i)| p.endpoints.get(i));
    Served {
        route: route.map(|r| &*r.name),
        pool: pool.map(|p| &*p.name),
        endpoint: endpoint.map(|e| &*e.config.name),
        attempts: trail.tried.attempts,
        upstream_duration: trail.tried.upstream,
        reason,
    }
}

/// A routed request, its headers prepared for the upstream.
struct Routed<'a> {
    id: RouteId,
    route: &'a routing::Route,
    pool: &'a crate::upstream::PoolRuntime,
    parts: http::request::Parts,
    body: ClientBody,
    needs_host: bool,
    /// The prepared request asks to switch protocols.
    upgrade: bool,
    client_upgrade: Option<hyper::upgrade::OnUpgrade>,
    chain: Option<&'a Arc<[Arc<crate::plugin::Plugin>]>>,
    /// `X-Forwarded-*` for the upstream client to add (none on the
    /// plugin path: plugins read and edit the map).
    added: Added<'a>,
}

/// Routes `req`, takes the route's and pool's concurrency slots (into
/// `trail`), checks the body limit and prepares the headers.
/// `hyper_served`: hyper's server read it (and can hand the connection
/// over if it asks to switch protocols). The host routed by is put into
/// `host`, which the result may borrow.
fn prepare<'a>(
    mut req: Request<ClientBody>,
    hyper_served: bool,
    dp: &'a Dataplane,
    ctx: &'a ConnCtx,
    li: Option<usize>,
    trail: &mut Trail,
    host: &'a mut Option<HeaderValue>,
) -> Result<Routed<'a>, ProxyError> {
    // Taken before the request is consumed: once the 101 is written, hyper
    // hands the client's connection over through it.
    let client_upgrade = (hyper_served && forward::wants_upgrade(req.version(), req.headers()))
        .then(|| hyper::upgrade::on(&mut req));
    let (mut parts, mut body) = req.into_parts();
    // The URI's authority (HTTP/2, absolute form), else Host.
    *host = super::sanitize::check(&mut parts)?;
    let host: &'a Option<HeaderValue> = host;
    let host_str = match host {
        Some(v) => Some(
            v.to_str()
                .map_err(|_| ProxyError::BadRequest("invalid Host header"))?,
        ),
        None => None,
    };
    let normalized = host_str.and_then(routing::normalize_host);
    let info = RequestInfo {
        host: normalized.as_deref(),
        path: parts.uri.path(),
        method: &parts.method,
        headers: &parts.headers,
    };
    let id = routing::match_request(&dp.config.routes, &info).ok_or(ProxyError::NoRoute)?;
    trail.route = Some(id);
    let route = dp.config.routes.get(id).ok_or(ProxyError::NoRoute)?;
    let pool = &dp.pools[route.pool.0];
    trail.gates = dp.enter(id, pool, &ctx.shared.route_gates)?;
    let max_body = route
        .max_body
        .or_else(|| li.and_then(|i| dp.config.listeners.get(i)?.limits.max_body));
    if let Some(limit) = max_body {
        if body.size_hint().lower() > limit {
            return Err(ProxyError::BodyTooLarge { limit });
        }
        body.set_limit(Some(limit));
    }
    let client = ClientInfo {
        peer: ctx.peer,
        peer_ip: Some(&ctx.peer_ip),
        proto: ctx.proto,
        host: host.as_ref(),
    };
    let chain = dp.route_plugins.get(id.0).filter(|c| !c.is_empty());
    let (needs_host, added) = if plugins_see(chain, pool) {
        (
            forward::prepare_request(&mut parts, route, client),
            Added::default(),
        )
    } else {
        forward::prepare_request_deferring(&mut parts, route, client)
    };
    // Judged on what goes upstream, after the route's header edits; with
    // none, only a client's upgrade keeps its `Upgrade` header.
    let upgrade = (client_upgrade.is_some() || !route.request_headers.is_empty())
        && forward::wants_upgrade(parts.version, &parts.headers);
    Ok(Routed {
        id,
        route,
        pool,
        parts,
        body,
        needs_host,
        upgrade,
        client_upgrade,
        chain,
        added,
    })
}

/// What a request's `Completion` is made from.
struct Made<'a> {
    dp: &'a Dataplane,
    ctx: &'a ConnCtx,
    li: Option<usize>,
    id: RouteId,
    start: Instant,
}

impl Made<'_> {
    fn completion(
        &self,
        status: u16,
        in_flight: Option<crate::upstream::InFlight>,
        plugins: Option<Active>,
    ) -> Completion {
        let m = &self.ctx.shared.metrics;
        let metrics = self
            .dp
            .route_metrics(m, &self.ctx.listener, self.li, Some(self.id));
        Completion::new(metrics, status, self.start, in_flight, plugins)
    }
}

/// The client's response to what `attempt::send` brought back, on the path
/// without plugins.
fn upstream_response(
    answer: Result<Answer, ProxyError>,
    made: &Made<'_>,
    route: &routing::Route,
    client_upgrade: Option<hyper::upgrade::OnUpgrade>,
) -> Result<Response<ResponseBody>, ProxyError> {
    let sent = match answer? {
        Answer::Upstream(sent, _) => sent,
        Answer::Local(r, a) => {
            let c = made.completion(0, None, Some(a));
            return Ok(with_status(plugins::local_response(r, c)));
        }
    };
    let Sent {
        response,
        lease,
        in_flight,
    } = sent;
    let status = response.status();
    if status == StatusCode::SWITCHING_PROTOCOLS {
        let client = client_upgrade.ok_or(ProxyError::UnexpectedUpgrade)?;
        let c = made.completion(101, Some(in_flight), None);
        return Ok(upgrade::switch(
            made.ctx,
            client,
            (response, lease),
            route,
            c,
        ));
    }
    let (mut parts, body) = response.into_parts();
    forward::prepare_response(&mut parts, route);
    let completion = made.completion(status.as_u16(), Some(in_flight), None);
    Ok(Response::from_parts(
        parts,
        ResponseBody::upstream(body, completion, lease),
    ))
}

/// A local reply's completion records the reply's status.
fn with_status(mut resp: Response<ResponseBody>) -> Response<ResponseBody> {
    let status = resp.status().as_u16();
    resp.body_mut().set_status(status);
    resp
}
