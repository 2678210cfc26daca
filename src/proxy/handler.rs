//! The per-request pipeline: route, select, forward, respond.
//!
//! `handle` is the outer layer: it loads the dataplane once, turns every
//! `ProxyError` into its synthetic response and counts it. `try_handle` is
//! the happy path returning `Result`.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use http::{header, HeaderValue, Request, Response};
use hyper::body::Incoming;

use super::attempt::{self, Sent};
use super::body::{Completion, ResponseBody};
use super::dataplane::{Dataplane, Shared};
use super::error::ProxyError;
use super::forward::{self, ClientInfo};
use crate::routing::{self, RequestInfo, RouteId};

/// Per-connection facts every request on it shares.
#[derive(Debug)]
pub struct ConnCtx {
    /// Listener name.
    pub listener: Arc<str>,
    /// Client address.
    pub peer: SocketAddr,
    /// `http` or `https`.
    pub proto: &'static str,
    /// Shared state.
    pub shared: Arc<Shared>,
}

/// Serves one request. Never fails: errors become responses.
pub async fn handle(
    req: Request<Incoming>,
    ctx: Arc<ConnCtx>,
) -> Result<Response<ResponseBody>, Infallible> {
    let start = Instant::now();
    let dp = ctx.shared.dataplane.load_full();
    let li = dp.listener_index(&ctx.listener);
    let mut route = None;
    match try_handle(req, &dp, &ctx, li, start, &mut route).await {
        Ok(resp) => Ok(resp),
        Err(err) => {
            let metrics = &ctx.shared.metrics;
            metrics.proxy_error(err.reason());
            tracing::debug!(listener = %ctx.listener, peer = %ctx.peer, reason = err.reason(), error = %err, "Request failed.");
            let completion = Completion {
                metrics: dp.route_metrics(metrics, &ctx.listener, li, route),
                status: err.status().as_u16(),
                start,
                in_flight: None,
            };
            Ok(err.to_response(|b| ResponseBody::full(b, Some(completion))))
        }
    }
}

async fn try_handle(
    req: Request<Incoming>,
    dp: &Dataplane,
    ctx: &ConnCtx,
    li: Option<usize>,
    start: Instant,
    route_out: &mut Option<RouteId>,
) -> Result<Response<ResponseBody>, ProxyError> {
    let (mut parts, body) = req.into_parts();
    // HTTP/2 and absolute-form requests carry the authority in the URI;
    // it takes precedence over Host (RFC 9112 §3.2.2).
    let host: Option<HeaderValue> = match parts.uri.authority() {
        Some(a) => Some(
            HeaderValue::from_str(a.as_str())
                .map_err(|_| ProxyError::BadRequest("invalid authority"))?,
        ),
        None => parts.headers.get(header::HOST).cloned(),
    };
    let host_str = match &host {
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
    *route_out = Some(id);
    let route = dp.config.routes.get(id).ok_or(ProxyError::NoRoute)?;
    let pool = &dp.pools[route.pool.0];
    let client = ClientInfo {
        peer: ctx.peer,
        proto: ctx.proto,
        host: host_str,
        authority_form: parts.uri.authority().is_some(),
    };
    let needs_host = forward::prepare_request(&mut parts, route, client);
    let Sent {
        response,
        lease,
        in_flight,
    } = attempt::send(pool, route, parts, body, needs_host, start).await?;
    let status = response.status();
    let (mut parts, body) = response.into_parts();
    forward::prepare_response(&mut parts, route);
    let completion = Completion {
        metrics: dp.route_metrics(&ctx.shared.metrics, &ctx.listener, li, Some(id)),
        status: status.as_u16(),
        start,
        in_flight: Some(in_flight),
    };
    Ok(Response::from_parts(
        parts,
        ResponseBody::upstream(body, completion, lease),
    ))
}
