//! `send` under a route's retry policy: the body kept when it may be
//! replayed, then attempts until one answers well, the policy says stop,
//! or the budget or the deadline runs out (the rules: `attempt`'s header).

use std::sync::Arc;
use std::time::{Duration, Instant};

use http::request::Parts;
use http::{HeaderName, Request};

use super::{
    answer, deadline, endpoint_index, endpoint_plugins, once, Answer, Attempt, Sent, Tried,
};
use crate::config::{RetryOn, RETRY_MAX_BODY};
use crate::metrics::Outcome;
use crate::plugin::Props;
use crate::proxy::error::ProxyError;
use crate::proxy::forward;
use crate::routing::Route;
use crate::upstream::health::now_ms;
use crate::upstream::{buffer, Pick, PoolRuntime, Replay, RequestBody};
use crate::wire::is_idempotent;

static IDEMPOTENCY_KEY: HeaderName = HeaderName::from_static("idempotency-key");

/// `send` under a retry policy: the body kept when it may be replayed,
/// then attempts until one answers well, the policy says stop, or the
/// budget or the deadline runs out.
pub(super) async fn send(
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
            (None, Some(u)) => *u,
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
    use http::Method;

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
