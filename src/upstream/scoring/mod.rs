//! The scorer: one task per pool with `scoring:` that rates every endpoint
//! on errors, latency and cost each `interval`, publishes the smoothed
//! score as a weight factor, and ejects an endpoint whose error score stays
//! low (through the same breaker and ejection cap as outlier detection).
//!
//! Owns: the tick loop, the choice of source (local, or Prometheus with a
//! fallback to local and a backoff), per-endpoint memory across ticks, and
//! the score metrics. Must not: wait on the request path; the fast loop
//! (consecutive failures, Retry-After) never waits for a tick.

pub mod formula;
mod local;
mod prometheus;

pub use formula::{score_pool, smooth, Score, Stats, Trigger};
pub use prometheus::SourceError;

use std::collections::HashMap;
use std::sync::{Arc, Weak};
use std::time::Duration;

use super::health::{now_ms, Status};
use super::pool_state::PoolState;
use super::registry::EndpointState;
use crate::config::ScoringSource;

/// What the admin API shows of an endpoint's last score.
#[derive(Debug, Clone, PartialEq)]
pub struct ScoreView {
    /// The factors.
    pub score: Score,
    /// The numbers behind them.
    pub stats: Stats,
    /// The configured cost.
    pub cost: f64,
    /// The published weight factor (smoothed, floored).
    pub factor: f64,
    /// Whether a low error score may eject it now.
    pub armed: bool,
    /// `local` or `prometheus`.
    pub source: &'static str,
}

/// Memory of one endpoint across ticks.
#[derive(Debug)]
struct Memory {
    ring: local::Ring,
    factor: f64,
    latency: f64,
    trigger: Trigger,
}

impl Default for Memory {
    fn default() -> Self {
        Self {
            ring: local::Ring::default(),
            factor: 1.0,
            latency: 1.0,
            trigger: Trigger::default(),
        }
    }
}

/// Starts the scorer of `pool` (it idles while the pool has no scoring).
pub fn spawn_scorer(pool: Arc<PoolState>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(run(pool))
}

async fn run(pool: Arc<PoolState>) {
    let mut memory: HashMap<(Arc<str>, String), Memory> = HashMap::new();
    let mut prometheus_down_until = 0u64;
    let mut failures_in_row = 0u32;
    let mut first = true;
    loop {
        if pool.is_retired() {
            return;
        }
        let roster = pool.roster();
        let Some(cfg) = roster.scoring.clone() else {
            // Not scored (or no longer): configured weights apply.
            if !memory.is_empty() {
                for s in roster.endpoints.iter().filter_map(|(w, _, _)| w.upgrade()) {
                    s.health.clear_score();
                }
            }
            memory.clear();
            pool.wake.notified().await;
            continue;
        };
        if first {
            // A random phase, so a fleet does not tick in step.
            first = false;
            let phase = rand::random_range(0..cfg.interval.as_millis().max(1) as u64);
            sleep_or_wake(&pool, Duration::from_millis(phase)).await;
            continue;
        }
        let now = now_ms();
        let live: Vec<(Arc<EndpointState>, f64, u32)> = roster
            .endpoints
            .iter()
            .filter_map(|(w, cost, weight)| Some((Weak::upgrade(w)?, *cost, *weight)))
            .collect();
        let window_ms = u64::try_from(cfg.window.as_millis()).unwrap_or(u64::MAX);
        let mut stats: Vec<Option<Stats>> = live
            .iter()
            .map(|(s, _, _)| {
                let m = memory.entry(key(s)).or_default();
                m.ring.push(now, s.metrics.sample(), window_ms)
            })
            .collect();
        let mut source = "local";
        if let ScoringSource::Prometheus(src) = &cfg.source {
            if now >= prometheus_down_until {
                match prometheus::fetch(src, &pool.name, cfg.window).await {
                    Ok(fleet) => {
                        if failures_in_row > 0 {
                            tracing::info!(pool = %pool.name, "Prometheus answers again; scoring on fleet data.");
                        }
                        failures_in_row = 0;
                        source = "prometheus";
                        for (i, (s, _, _)) in live.iter().enumerate() {
                            if let Some(f) = fleet.get(&*s.key.name) {
                                stats[i] = Some(*f);
                            }
                        }
                    }
                    Err(e) => {
                        failures_in_row += 1;
                        let backoff = cfg
                            .interval
                            .saturating_mul(1 << failures_in_row.min(5))
                            .min(Duration::from_secs(300));
                        prometheus_down_until = now
                            .saturating_add(u64::try_from(backoff.as_millis()).unwrap_or(u64::MAX));
                        tracing::warn!(pool = %pool.name, error = %e, retry_in = ?backoff,
                            "Prometheus query failed; scoring on local data.");
                    }
                }
            }
        }
        pool.metrics.source(source);
        let costs: Vec<f64> = live.iter().map(|(_, c, _)| *c).collect();
        let previous: Vec<f64> = live
            .iter()
            .map(|(s, _, _)| memory.get(&key(s)).map_or(1.0, |m| m.latency))
            .collect();
        let scores = score_pool(&cfg, &stats, &costs, &previous);
        let od = roster.outlier.as_ref();
        for (((s, cost, _), score), st) in live.iter().zip(&scores).zip(&stats) {
            let m = memory.entry(key(s)).or_default();
            m.latency = score.latency;
            let requests = st.map_or(0.0, |x| x.requests);
            if s.health.status() == Status::Healthy {
                m.factor = smooth(m.factor, score.total, cfg.min_weight);
                s.health.set_score((m.factor * 1000.0).round() as u32);
                let trip = m.trigger.tick(&cfg, score.error, requests);
                if let (true, Some(od)) = (trip, od) {
                    let why = format!(
                        "error score {:.2} below {:.2} for 2 ticks ({:.0} of {:.0} requests failed, {source} data)",
                        score.error,
                        cfg.eject_below,
                        st.map_or(0.0, |x| x.failures),
                        requests
                    );
                    if !s.health.score_trip(why, od, now, &pool) {
                        // The pool's ejection cap refused: stay armed.
                        m.trigger.rearm();
                    }
                }
            } else {
                m.trigger.interrupt();
            }
            let view = ScoreView {
                score: *score,
                stats: st.unwrap_or_default(),
                cost: *cost,
                factor: m.factor,
                armed: m.trigger.armed(),
                source,
            };
            s.health.publish_score(&view);
        }
        let keep: Vec<_> = live.iter().map(|(s, _, _)| key(s)).collect();
        memory.retain(|k, _| keep.contains(k));
        sleep_or_wake(&pool, cfg.interval).await;
    }
}

fn key(s: &EndpointState) -> (Arc<str>, String) {
    (Arc::clone(&s.key.name), s.key.url.clone())
}

async fn sleep_or_wake(pool: &PoolState, d: Duration) {
    tokio::select! {
        () = tokio::time::sleep(d) => {}
        () = pool.wake.notified() => {}
    }
}
