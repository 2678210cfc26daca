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
use http::{HeaderName, Method, Request, Response};

use super::error::{Chain, ProxyError};
use super::forward;
use super::log_limit::UPSTREAM_FAILURES;
use super::plugins::{on_request, Early};
use super::retry_after::retry_after;
use crate::config::{RetryOn, RETRY_MAX_BODY};
use crate::metrics::Outcome;
use crate::plugin::{Active, LocalReply, Props};
use crate::routing::Route;
use crate::upstream::health::{millis_at, now_ms};
use crate::upstream::{
    buffer, InFlight, Lease, LinkedEndpoint, Pick, PoolRuntime, Replay, RequestBody,
    ResponseStream, SendFailure, UpstreamError,
};

static IDEMPOTENCY_KEY: HeaderName = HeaderName::from_static("idempotency-key");

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

type Attempt = Result<Sent, (ProxyError, Option<Request<RequestBody>>)>;

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

/// Sends `request` (headers already prepared, URI still the client's) to
/// `pool` as `route` says. `props`: what the endpoints' plugins may read
/// (present when the pool has plugins); `record` keeps the attempts.
pub(super) async fn send(
    pool: &PoolRuntime,
    route: &Route,
    request: Request<RequestBody>,
    needs_host: bool,
    start: Instant,
    props: Option<&Arc<Props>>,
    record: &mut Tried,
) -> Result<Answer, ProxyError> {
    let upgrade = forward::wants_upgrade(request.version(), request.headers());
    if route.retries.enabled() && !upgrade {
        // Boxed: the retry loop's state (the kept body, the backoff) stays
        // off the future of a route without retries.
        let retrying = send_retrying(pool, route, request, needs_host, start, props, record);
        return Box::pin(retrying).await;
    }
    let (mut parts, body) = request.into_parts();
    let deadline = deadline(start, route.timeout);
    let original = std::mem::take(&mut parts.uri);
    let i = endpoint_index(pool, &[])?;
    let ep = &pool.endpoints[i];
    forward::retarget(&mut parts, &original, &ep.config.url, route, needs_host)?;
    let (active, body) = match endpoint_plugins(ep, &mut parts, body, props, deadline).await {
        Ok(x) => x,
        Err(early) => return early,
    };
    let request = Request::from_parts(parts, body);
    record.sending(i);
    answer(
        once(pool, ep, request, route.timeout, upgrade, record).await,
        active,
    )
}

/// The end of the route timeout that started at `start` (a timeout too
/// large for the clock means no deadline to speak of).
pub(super) fn deadline(start: Instant, timeout: Duration) -> Instant {
    start
        .checked_add(timeout)
        .unwrap_or_else(|| start + Duration::from_secs(100 * 365 * 86_400))
}

/// `send` under a retry policy: the body kept when it may be replayed,
/// then attempts until one answers well, the policy says stop, or the
/// budget or the deadline runs out.
async fn send_retrying(
    pool: &PoolRuntime,
    route: &Route,
    request: Request<RequestBody>,
    needs_host: bool,
    start: Instant,
    props: Option<&Arc<Props>>,
    record: &mut Tried,
) -> Result<Answer, ProxyError> {
    let (mut parts, body) = request.into_parts();
    let policy = &route.retries;
    let deadline = deadline(start, route.timeout);
    let original = std::mem::take(&mut parts.uri);
    pool.state.deposit(now_ms());
    let idempotent = is_idempotent(&parts.method) || parts.headers.contains_key(&IDEMPOTENCY_KEY);
    let (replay, mut body): (Option<Replay>, RequestBody) = if idempotent {
        let kept = async {
            match body {
                RequestBody::Stream(b) => buffer(b, RETRY_MAX_BODY).await,
                other => other.collect(RETRY_MAX_BODY).await,
            }
        };
        match tokio::time::timeout_at(deadline.into(), kept).await {
            Err(_) => {
                return Err(ProxyError::RequestTimeout {
                    after: route.timeout,
                })
            }
            Ok(Err(e)) => return Err(ProxyError::from(e)),
            Ok(Ok(Ok(r))) => {
                let b = r.body();
                (Some(r), b)
            }
            Ok(Ok(Err(b))) => (None, b),
        }
    } else {
        (None, body)
    };
    let mut tried: Vec<usize> = Vec::with_capacity(policy.attempts as usize);
    let mut next = endpoint_index(pool, &tried)?;
    let mut n = 0;
    loop {
        n += 1;
        tried.push(next);
        let ep = &pool.endpoints[next];
        let mut p = clone_parts(&parts);
        forward::retarget(&mut p, &original, &ep.config.url, route, needs_host)?;
        let remaining = deadline.saturating_duration_since(Instant::now());
        let per_try = policy
            .per_try_timeout
            .map_or(remaining, |t| t.min(remaining));
        let (active, b) = match endpoint_plugins(ep, &mut p, body, props, deadline).await {
            Ok(x) => x,
            Err(early) => return early,
        };
        record.sending(next);
        // Never an upgrade: those are not retried (`send`).
        let request = Request::from_parts(p, b);
        let result = once(pool, ep, request, per_try, false, record).await;
        let Some(cause) = retry_cause(&result).filter(|c| policy.on.contains(*c)) else {
            return answer(result, active);
        };
        if n >= policy.attempts || Instant::now() >= deadline {
            return answer(result, active);
        }
        // The body for the next attempt: the kept copy, or the request
        // itself when none of it was sent.
        let (result, unsent) = match result {
            Ok(sent) => (Ok(sent), None),
            Err((e, unsent)) => (Err(e), unsent),
        };
        body = match (&replay, unsent) {
            (Some(r), _) => r.body(),
            (None, Some(u)) => u.into_body(),
            (None, None) => return result.map(|s| Answer::Upstream(s, active)),
        };
        let (Pick::Ready(i) | Pick::Fallback(i)) = pool.select(&tried) else {
            return result.map(|s| Answer::Upstream(s, active));
        };
        if !pool
            .state
            .withdraw(policy.budget, policy.min_retries_per_second, now_ms())
        {
            pool.state.metrics.budget_exhausted.inc();
            return result.map(|s| Answer::Upstream(s, active));
        }
        // The contexts of an attempt that is retried end with it.
        drop(active);
        pool.state.metrics.retry(cause);
        tracing::debug!(pool = %pool.name, endpoint = %ep.config.name, attempt = n,
            cause = cause.as_str(), "Retrying.");
        if let Ok(sent) = result {
            discard(sent);
        }
        next = i;
        let backoff = backoff(n).min(deadline.saturating_duration_since(Instant::now()));
        tokio::time::sleep(backoff).await;
    }
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
    let in_flight = ep.state.begin();
    let sent = Instant::now();
    let em = &ep.state.metrics;
    let client = &ep.client;
    // The deadline from `sent`: `timeout()` would read the clock again.
    let until = tokio::time::Instant::from_std(deadline(sent, timeout));
    // No wrapping `async` block: it would keep its own copy of the request
    // beside the send's future (futures are moved, whole, at each await).
    let answer = if upgrade {
        tokio::time::timeout_at(until, Box::pin(client.send_upgrade(request))).await
    } else {
        tokio::time::timeout_at(until, client.send(request)).await
    };
    let done = Instant::now();
    let (result, outcome) = match answer {
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

/// The retry condition an attempt's result meets, if any.
fn retry_cause(result: &Attempt) -> Option<RetryOn> {
    match result {
        Ok(sent) => match Outcome::of_status(sent.response.status()) {
            Outcome::Http5xx => Some(RetryOn::Http5xx),
            Outcome::Http429 => Some(RetryOn::Http429),
            _ => None,
        },
        Err((e, _)) => match e.outcome()? {
            Outcome::ConnectError => Some(RetryOn::ConnectError),
            Outcome::Reset => Some(RetryOn::Reset),
            Outcome::Timeout => Some(RetryOn::Timeout),
            _ => None,
        },
    }
}

/// Drops a response that is being retried; its connection is reused when
/// it has no body left to read.
fn discard(sent: Sent) {
    let Sent {
        response, lease, ..
    } = sent;
    if http_body::Body::is_end_stream(response.body()) {
        lease.release();
    }
}

/// Full jitter: uniform in [0, min(250 ms, 25 ms × 2^(n-1))).
fn backoff(n: u32) -> Duration {
    let cap = (25u64 << n.saturating_sub(1).min(4)).min(250);
    Duration::from_millis(rand::random_range(0..cap))
}

/// RFC 9110 §9.2.2 idempotent methods.
fn is_idempotent(m: &Method) -> bool {
    matches!(
        *m,
        Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE | Method::PUT | Method::DELETE
    )
}

fn clone_parts(p: &Parts) -> Parts {
    let mut r = Request::new(());
    *r.method_mut() = p.method.clone();
    *r.uri_mut() = p.uri.clone();
    *r.version_mut() = p.version;
    *r.headers_mut() = p.headers.clone();
    r.into_parts().0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_is_jittered_under_a_doubling_cap() {
        for n in 1..=6 {
            let cap = [25, 50, 100, 200, 250, 250][n as usize - 1];
            for _ in 0..200 {
                assert!(backoff(n) < Duration::from_millis(cap), "attempt {n}");
            }
        }
    }

    #[test]
    fn only_idempotent_methods_are_replayed() {
        for m in [Method::GET, Method::HEAD, Method::PUT, Method::DELETE] {
            assert!(is_idempotent(&m), "{m}");
        }
        for m in [Method::POST, Method::PATCH, Method::CONNECT] {
            assert!(!is_idempotent(&m), "{m}");
        }
    }
}
