//! `switchyard demo --load`: a small load generator against the demo's
//! web listener, so the status page has traffic to show.
//!
//! Bounded in every direction: a fixed rate (at most [`MAX_RATE`] per
//! second), a fixed duration (at most [`MAX_DURATION`]) after which it stops
//! by itself, at most [`MAX_IN_FLIGHT`] requests open at once (a tick that
//! finds them all busy is skipped, not queued) and a timeout per request.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::Request;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use tokio::sync::Semaphore;
use tokio::task::JoinHandle;

/// `--load-rate` when not given, in requests per second.
pub const DEFAULT_RATE: u32 = 20;
/// `--load-minutes` when not given.
pub const DEFAULT_MINUTES: u64 = 10;
/// The highest rate `--load-rate` accepts, in requests per second.
pub const MAX_RATE: u32 = 500;
/// The longest run `--load-minutes` accepts.
pub const MAX_DURATION: Duration = Duration::from_secs(60 * 60);
/// Requests open at once, at most.
pub const MAX_IN_FLIGHT: usize = 64;
/// Time allowed per request, body included.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// The paths requested in turn: one per demo route.
const PATHS: [&str; 2] = ["/pay/charge", "/catalog/items"];

/// How much load, for how long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoadPlan {
    /// Requests per second, 1 to [`MAX_RATE`].
    pub rate: u32,
    /// How long it runs, at most [`MAX_DURATION`].
    pub duration: Duration,
}

impl LoadPlan {
    /// The plan, with both bounds clamped into range.
    pub fn new(rate: u32, duration: Duration) -> Self {
        Self {
            rate: rate.clamp(1, MAX_RATE),
            duration: duration.min(MAX_DURATION),
        }
    }
}

/// What the generator has done so far.
#[derive(Debug, Default)]
pub struct LoadStats {
    /// Requests sent.
    pub sent: AtomicU64,
    /// Answered with a status below 500.
    pub ok: AtomicU64,
    /// Answered with a 5xx status.
    pub errors: AtomicU64,
    /// No answer: connection failure or timeout.
    pub failed: AtomicU64,
    /// Ticks skipped because [`MAX_IN_FLIGHT`] requests were open.
    pub skipped: AtomicU64,
}

impl LoadStats {
    /// `(sent, ok, errors, failed, skipped)` now.
    pub fn snapshot(&self) -> (u64, u64, u64, u64, u64) {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        (
            get(&self.sent),
            get(&self.ok),
            get(&self.errors),
            get(&self.failed),
            get(&self.skipped),
        )
    }
}

/// Starts sending `plan.rate` GETs per second to `target`, alternating
/// between the demo's routes; the task ends after `plan.duration`.
pub fn spawn(target: SocketAddr, plan: LoadPlan) -> (Arc<LoadStats>, JoinHandle<()>) {
    let stats = Arc::new(LoadStats::default());
    let task = tokio::spawn(run(target, plan, Arc::clone(&stats)));
    (stats, task)
}

async fn run(target: SocketAddr, plan: LoadPlan, stats: Arc<LoadStats>) {
    let client: Client<_, Full<Bytes>> = Client::builder(TokioExecutor::new()).build_http();
    let slots = Arc::new(Semaphore::new(MAX_IN_FLIGHT));
    let period = Duration::from_secs(1) / plan.rate.max(1);
    let mut tick = tokio::time::interval(period);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let deadline = tokio::time::Instant::now() + plan.duration;
    for n in 0usize.. {
        tokio::select! {
            _ = tick.tick() => {}
            () = tokio::time::sleep_until(deadline) => break,
        }
        let Ok(slot) = Arc::clone(&slots).try_acquire_owned() else {
            stats.skipped.fetch_add(1, Ordering::Relaxed);
            continue;
        };
        let Ok(req) = Request::get(format!("http://{target}{}", PATHS[n % PATHS.len()]))
            .body(Full::new(Bytes::new()))
        else {
            continue;
        };
        stats.sent.fetch_add(1, Ordering::Relaxed);
        let (client, stats) = (client.clone(), Arc::clone(&stats));
        tokio::spawn(async move {
            let sent = async {
                let resp = client.request(req).await.ok()?;
                let status = resp.status();
                resp.into_body().collect().await.ok()?;
                Some(status)
            };
            let counter = match tokio::time::timeout(REQUEST_TIMEOUT, sent).await {
                Ok(Some(s)) if s.is_server_error() => &stats.errors,
                Ok(Some(_)) => &stats.ok,
                _ => &stats.failed,
            };
            counter.fetch_add(1, Ordering::Relaxed);
            drop(slot);
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plans_are_clamped_into_their_bounds() {
        let hour = Duration::from_secs(3600);
        assert_eq!(LoadPlan::new(0, Duration::ZERO).rate, 1);
        assert_eq!(LoadPlan::new(10_000, hour).rate, MAX_RATE);
        assert_eq!(LoadPlan::new(20, hour * 5).duration, MAX_DURATION);
        assert_eq!(
            LoadPlan::new(20, Duration::from_secs(600)),
            LoadPlan {
                rate: 20,
                duration: Duration::from_secs(600)
            }
        );
    }
}
