//! Sending a request into a pool: pick an endpoint, send with a per-try
//! timeout, classify the outcome, feed it to the endpoint's health, and
//! retry when the route's policy, the request's safety and the pool's
//! budget all allow.
//!
//! Safety: a retry resends a request only when it is idempotent (GET, HEAD,
//! OPTIONS, TRACE, PUT, DELETE, or it carries `Idempotency-Key`) and its
//! body was kept (at most 64 KiB), or when none of it reached the endpoint
//! (connect errors), whatever the method. The route timeout bounds all
//! attempts together; a retry goes to an endpoint not yet tried when one is
//! routable, after a full-jitter backoff (25 ms doubling, capped at 250 ms).
//!
//! An upgrade request (`Upgrade` + `Connection: upgrade`) is never retried,
//! whatever the policy: it goes on a dedicated connection
//! (`UpstreamClient::send_upgrade`), and once it reached the upstream it
//! may have switched protocols there.

use std::sync::Arc;
use std::time::{Duration, Instant};

use http::request::Parts;
use http::{Request, Response};

use super::error::{Chain, ProxyError};
use super::forward;
use super::log_limit::UPSTREAM_FAILURES;
use super::plugins::{on_request, Early};
use super::retry_after::retry_after;
use crate::metrics::Outcome;
use crate::plugin::{Active, LocalReply, Props};
use crate::routing::Route;
use crate::upstream::health::{millis_at, now_ms};
use crate::upstream::{
    Added, HeadFields, InFlight, Lease, LinkedEndpoint, Pick, PoolRuntime, RequestBody,
    ResponseStream, SendFailure, UpstreamError,
};

mod retry;
mod timer;

pub(super) use timer::RouteTimer;
use timer::TimedOut;

/// A response from an endpoint, with what must live while its body streams.
#[derive(Debug)]
pub(super) struct Sent {
    /// The response head and body.
    pub response: Response<ResponseStream>,
    /// The connection, given back at the end of the body.
    pub lease: Lease,
    /// The endpoint's in-flight count.
    pub in_flight: InFlight,
}

type Attempt = Result<Sent, (ProxyError, Option<Box<RequestBody>>)>;

/// What sending into the pool came to.
#[derive(Debug)]
pub(super) enum Answer {
    /// The endpoint's response, with the contexts its plugins opened.
    Upstream(Sent, Active),
    /// A pool or endpoint plugin answered instead.
    Local(LocalReply, Active),
}

/// What sending into a pool came to, whatever the answer (the access
/// log's `endpoint`, `attempts` and `upstream_duration_ms`).
#[derive(Debug, Default, Clone, Copy)]
pub(super) struct Tried {
    /// Attempts sent.
    pub attempts: u32,
    /// Index in the pool of the last attempt's endpoint.
    pub endpoint: Option<usize>,
    /// The last attempt's time to response headers, if they arrived.
    pub upstream: Option<Duration>,
}

impl Tried {
    fn sending(&mut self, endpoint: usize) {
        self.attempts += 1;
        self.endpoint = Some(endpoint);
        self.upstream = None;
    }
}

/// What the caller found out about a prepared request, so that it is not
/// looked up again, and the connection's route timer if it has one.
#[derive(Debug)]
pub(super) struct Shape<'t> {
    /// The request names no host of its own (`forward::prepare_request`).
    pub needs_host: bool,
    /// It asks to switch protocols (`forward::wants_upgrade`).
    pub upgrade: bool,
    /// Bounds the upstream call instead of a timer of its own
    /// (`timer.rs`); not used by retries and upgrades.
    pub timer: Option<&'t mut RouteTimer>,
    /// Where the response's fields go (`HeadFields::Raw` only for the
    /// client-side fast path, on a route that edits no response field);
    /// retries and upgrades always fill the map.
    pub fields: HeadFields,
    /// Fields the upstream client adds to the request as it goes out
    /// (`forward::prepare_request_deferring`); inserted into the map here
    /// for the paths that read or copy the map first (retries, upgrades,
    /// endpoint plugins).
    pub added: Added<'t>,
}

/// The future of `send`: the common request's own, or the others' boxed.
type Sending<'a, F> = tokio_util::either::Either<F, BoxedAnswer<'a>>;
type BoxedAnswer<'a> =
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<Answer, ProxyError>> + Send + 'a>>;

/// Sends `request` (headers already prepared, URI still the client's) to
/// `pool` as `route` says. `props`: what the endpoints' plugins may read
/// (present when the pool has plugins); `record` keeps the attempts.
///
/// Not an `async fn`: for the common request (one try, no upgrade, no
/// plugins) the endpoint is picked and the request handed to its client
/// here, so the future that waits holds the client's exchange and a few
/// references, not the request beside it. The others take `send_other`,
/// boxed.
pub(super) fn send<'a>(
    pool: &'a PoolRuntime,
    route: &'a Route,
    request: Request<RequestBody>,
    shape: Shape<'a>,
    start: Instant,
    props: Option<&'a Arc<Props>>,
    record: &'a mut Tried,
) -> Sending<'a, impl std::future::Future<Output = Result<Answer, ProxyError>> + Send + 'a> {
    use futures_util::FutureExt as _;
    use tokio_util::either::Either;
    if shape.upgrade || route.retries.enabled() || props.is_some() {
        let other = send_other(pool, route, request, shape, start, props, record);
        return Either::Right(Box::pin(other));
    }
    let Shape {
        needs_host,
        timer,
        fields,
        added,
        ..
    } = shape;
    let (mut parts, body) = request.into_parts();
    let i = match pick(pool, route, &mut parts, needs_host) {
        Ok(i) => i,
        Err(e) => return Either::Right(Box::pin(std::future::ready(Err(e)))),
    };
    let ep = &pool.endpoints[i];
    record.sending(i);
    let (in_flight, sent, until) = begin(ep, route.timeout);
    let sending = ep
        .client
        .send(Request::from_parts(parts, body), fields, added);
    // Combinators, not an `async` block: one would keep the client's
    // exchange twice (as captured, and as awaited).
    let bounded = match timer {
        Some(timer) => Either::Left(timer::Bounded::new(sending, timer, until)),
        None => {
            Either::Right(tokio::time::timeout_at(until, sending).map(|r| r.map_err(|_| TimedOut)))
        }
    };
    Either::Left(bounded.map(move |got| {
        let result = conclude(pool, ep, got, (in_flight, sent), route.timeout, record);
        answer(result, Active::new())
    }))
}

/// `send` for the other requests: retried, upgrading, or to a pool with
/// plugins.
async fn send_other(
    pool: &PoolRuntime,
    route: &Route,
    request: Request<RequestBody>,
    Shape {
        needs_host,
        upgrade,
        fields,
        mut added,
        ..
    }: Shape<'_>,
    start: Instant,
    props: Option<&Arc<Props>>,
    record: &mut Tried,
) -> Result<Answer, ProxyError> {
    if route.retries.enabled() && !upgrade {
        let mut request = request;
        added.insert_into(request.headers_mut());
        // Boxed: the retry loop's state (the kept body, the backoff) stays
        // off the future of a route without retries.
        let retrying = retry::send(pool, route, request, needs_host, start, props, record);
        return Box::pin(retrying).await;
    }
    let (mut parts, body) = request.into_parts();
    if upgrade {
        added.insert_into(&mut parts.headers);
    }
    let deadline = deadline(start, route.timeout);
    let i = pick(pool, route, &mut parts, needs_host)?;
    let ep = &pool.endpoints[i];
    // Without plugins to run, no `endpoint_plugins` future is made (and
    // moved into this one) at all.
    let (active, body) = if ep.plugins.is_empty() || props.is_none() {
        (Active::new(), body)
    } else {
        added.insert_into(&mut parts.headers);
        match endpoint_plugins(ep, &mut parts, body, props, deadline).await {
            Ok(x) => x,
            Err(early) => return early,
        }
    };
    let request = Request::from_parts(parts, body);
    record.sending(i);
    // `once`, inlined: its steps around the await are plain functions, so
    // no `async fn` level of its own is moved into this future.
    let (in_flight, sent, until) = begin(ep, route.timeout);
    // The connection's route timer is not used here. A fast-path request
    // comes here when its route has retries (bounded in `retry::send` and
    // `once` by timers of their own) or its route's fields ask for an
    // upgrade (bounded below); plugins' requests have no route timer.
    let got = if upgrade {
        let upgrading = Box::pin(ep.client.send_upgrade(request));
        tokio::time::timeout_at(until, upgrading)
            .await
            .map_err(|_| TimedOut)
    } else {
        tokio::time::timeout_at(until, ep.client.send(request, fields, added))
            .await
            .map_err(|_| TimedOut)
    };
    let result = conclude(pool, ep, got, (in_flight, sent), route.timeout, record);
    answer(result, active)
}

/// The end of the route timeout that started at `start` (a timeout too
/// large for the clock means no deadline to speak of).
pub(super) fn deadline(start: Instant, timeout: Duration) -> Instant {
    start
        .checked_add(timeout)
        .unwrap_or_else(|| start + Duration::from_secs(100 * 365 * 86_400))
}

fn answer(result: Attempt, active: Active) -> Result<Answer, ProxyError> {
    match result {
        Ok(sent) => Ok(Answer::Upstream(sent, active)),
        Err((e, _)) => Err(e),
    }
}

/// Runs the picked endpoint's plugins (its pool's, then its own) on one
/// attempt's request. `Err` holds what `send` returns instead.
async fn endpoint_plugins(
    ep: &LinkedEndpoint,
    parts: &mut Parts,
    body: RequestBody,
    props: Option<&Arc<Props>>,
    deadline: Instant,
) -> Result<(Active, RequestBody), Result<Answer, ProxyError>> {
    let mut active = Active::new();
    let (false, Some(base)) = (ep.plugins.is_empty(), props) else {
        return Ok((active, body));
    };
    let props = Arc::new(Props {
        scheme: if ep.config.url.scheme == http::uri::Scheme::HTTPS {
            "https"
        } else {
            "http"
        },
        endpoint: Some(Arc::clone(&ep.config.name)),
        upstream: Some(ep.config.url.authority.as_str().into()),
        ..Props::clone(base)
    });
    // Boxed: plugin state stays off the future of a plugin-free pool.
    match Box::pin(on_request(
        &mut active,
        &ep.plugins,
        parts,
        body,
        &props,
        deadline,
    ))
    .await
    {
        Ok(body) => Ok((active, body)),
        Err(Early::Reply(r)) => Err(Ok(Answer::Local(r, active))),
        Err(Early::Error(e)) => Err(Err(e)),
    }
}

/// Picks an endpoint for a first try and points `parts` (URI still the
/// client's) at it.
/// Always inlined: it runs on every request (as a call it cost ~65 instructions more).
#[inline(always)]
fn pick(
    pool: &PoolRuntime,
    route: &Route,
    parts: &mut Parts,
    needs_host: bool,
) -> Result<usize, ProxyError> {
    let original = std::mem::take(&mut parts.uri);
    let i = endpoint_index(pool, &[])?;
    let url = &pool.endpoints[i].config.url;
    forward::retarget(parts, &original, url, route, needs_host)?;
    Ok(i)
}

fn endpoint_index(pool: &PoolRuntime, tried: &[usize]) -> Result<usize, ProxyError> {
    match pool.select(tried) {
        Pick::Ready(i) | Pick::Fallback(i) => Ok(i),
        Pick::None => Err(ProxyError::NoEndpoint {
            pool: pool.name.clone(),
        }),
    }
}

/// One attempt: send within `timeout`, count the outcome, feed health.
/// `upgrade`: the request asks for one (it goes on a dedicated connection).
async fn once(
    pool: &PoolRuntime,
    ep: &LinkedEndpoint,
    request: Request<RequestBody>,
    timeout: Duration,
    upgrade: bool,
    record: &mut Tried,
) -> Attempt {
    let (in_flight, sent, until) = begin(ep, timeout);
    // No wrapping `async` block: it would keep its own copy of the request
    // beside the send's future (futures are moved, whole, at each await).
    let got = if upgrade {
        tokio::time::timeout_at(until, Box::pin(ep.client.send_upgrade(request))).await
    } else {
        let send = ep.client.send(request, HeadFields::Map, Added::default());
        tokio::time::timeout_at(until, send).await
    };
    let got = got.map_err(|_| TimedOut);
    conclude(pool, ep, got, (in_flight, sent), timeout, record)
}

/// An attempt starts: counted in flight, when, and when its `timeout`
/// runs out (from the same clock reading: `timeout()` would read it again).
/// Always inlined: it runs on every request (as a call it cost ~65 instructions more).
#[inline(always)]
fn begin(ep: &LinkedEndpoint, timeout: Duration) -> (InFlight, Instant, tokio::time::Instant) {
    let in_flight = ep.state.begin();
    let sent = Instant::now();
    (
        in_flight,
        sent,
        tokio::time::Instant::from_std(deadline(sent, timeout)),
    )
}

/// What the upstream call of an attempt gave (`Err`: the timeout ran out).
type Got = Result<Result<(Response<ResponseStream>, Lease), SendFailure>, TimedOut>;

/// An attempt ends: its outcome counted, health fed.
#[allow(clippy::result_large_err)] // `Attempt`, as `once` has always returned it.
fn conclude(
    pool: &PoolRuntime,
    ep: &LinkedEndpoint,
    got: Got,
    (in_flight, sent): (InFlight, Instant),
    timeout: Duration,
    record: &mut Tried,
) -> Attempt {
    let em = &ep.state.metrics;
    let done = Instant::now();
    let (result, outcome) = match got {
        Ok(Ok((response, lease))) => {
            let took = done.saturating_duration_since(sent);
            em.duration.observe(took.as_secs_f64());
            record.upstream = Some(took);
            let outcome = Outcome::of_status(response.status());
            let sent = Sent {
                response,
                lease,
                in_flight,
            };
            (Ok(sent), outcome)
        }
        Ok(Err(SendFailure { error, unsent })) => {
            // The client's body failed the request: not the endpoint's
            // fault, so its health and metrics do not hear of it.
            if let Some(err) = ProxyError::from_client_body(&error) {
                return Err((err, None));
            }
            let err = match error {
                UpstreamError::Connect { .. } | UpstreamError::Tls { .. } => {
                    ProxyError::Connect { source: error }
                }
                UpstreamError::HeadTooLarge { .. } => ProxyError::HeaderTooLarge { source: error },
                UpstreamError::Reset(_) => ProxyError::Reset { source: error },
            };
            let outcome = err.outcome().unwrap_or(Outcome::Reset);
            (Err((err, unsent)), outcome)
        }
        Err(_) => (
            Err((ProxyError::Timeout { after: timeout }, None)),
            Outcome::Timeout,
        ),
    };
    if let Err((e, _)) = &result {
        failed(pool, ep, e);
    }
    em.outcome(outcome);
    let now = millis_at(done);
    let od = &pool.config.outlier;
    ep.state
        .health
        .record(outcome.is_failure(), od, now, &pool.state);
    if let Ok(sent) = &result {
        if let Some(wait) = retry_after(&sent.response) {
            if od.enabled {
                let status = sent.response.status().as_u16();
                ep.state
                    .health
                    .retry_after(wait, status, od, now, &pool.state);
            }
        }
    }
    result
}

/// The one log line of a failed attempt (a retry that follows gets its
/// own, if it fails too): `warn`, since the proxy answered for the
/// upstream or tried another endpoint. At most 50 a second with the
/// body failures (`log_limit`; `suppressed` says how many were held back);
/// the counters count every one.
fn failed(pool: &PoolRuntime, ep: &LinkedEndpoint, e: &ProxyError) {
    let Some(suppressed) = UPSTREAM_FAILURES.allow(now_ms()) else {
        return;
    };
    let (pool, endpoint, reason) = (&pool.name, &ep.config.name, e.reason());
    match e {
        // Certificates and trust are for an operator to fix.
        ProxyError::Connect {
            source: source @ UpstreamError::Tls { .. },
        } => tracing::warn!(%pool, %endpoint, url = %ep.config.url.original, reason,
            error = %Chain(source), suppressed, "Upstream TLS handshake failed."),
        ProxyError::Connect { source }
        | ProxyError::Reset { source }
        | ProxyError::HeaderTooLarge { source } => {
            tracing::warn!(%pool, %endpoint, reason, error = %Chain(source), suppressed,
                "Upstream request failed.");
        }
        other => tracing::warn!(%pool, %endpoint, reason, error = %other, suppressed,
            "Upstream request failed."),
    }
}

#[cfg(test)]
mod tests;
