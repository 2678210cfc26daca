//! Health, ejection and retry metric families.
//!
//! Owns: the families of issue 4 (active checks, ejections, retries, the
//! no-healthy fallback) and pre-resolved handles for them.

use prometheus::{
    Gauge, GaugeVec, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry,
};

use super::names;
use crate::config::RetryOn;

/// Probe results in label order.
pub(super) const PROBE_RESULTS: [&str; 3] = ["success", "failure", "timeout"];
/// Ejection reasons in label order.
pub(super) const EJECT_REASONS: [&str; 5] = [
    "consecutive_failures",
    "failure_ratio",
    "health_check",
    "score",
    "retry_after",
];
/// Breaker states in label order.
pub(super) const STATES: [&str; 5] = ["checking", "closed", "open", "half_open", "unhealthy"];
/// Score components in label order.
pub(super) const SCORE_COMPONENTS: [&str; 4] = ["error", "latency", "cost", "total"];
/// Scoring sources in label order.
pub(super) const SOURCES: [&str; 2] = ["local", "prometheus"];

/// The families.
#[derive(Debug, Clone)]
pub struct HealthFamilies {
    healthy: IntGaugeVec,
    checks: IntCounterVec,
    ejections: IntCounterVec,
    retries: IntCounterVec,
    budget_exhausted: IntCounterVec,
    no_healthy: IntCounterVec,
    state: IntGaugeVec,
    weight: GaugeVec,
    score: GaugeVec,
    source: IntGaugeVec,
}

/// Handles for one endpoint.
#[derive(Debug, Clone)]
pub struct EndpointHealthMetrics {
    /// 1 when routable.
    pub healthy: IntGauge,
    checks: [IntCounter; 3],
    ejections: [IntCounter; 5],
    state: [IntGauge; 5],
    /// Configured and effective weight.
    pub weight: [Gauge; 2],
    /// Score components: error, latency, cost, total.
    pub score: [Gauge; 4],
}

impl EndpointHealthMetrics {
    /// Counts a probe by its result label.
    pub fn probe(&self, result: &str) {
        if let Some(i) = PROBE_RESULTS.iter().position(|r| *r == result) {
            self.checks[i].inc();
        }
    }

    /// Sets the state gauge: 1 for `state`, 0 for the others.
    pub fn state(&self, state: &str) {
        for (name, g) in STATES.iter().zip(&self.state) {
            g.set(i64::from(*name == state));
        }
    }

    /// Counts an ejection by its reason label.
    pub fn ejection(&self, reason: &str) {
        if let Some(i) = EJECT_REASONS.iter().position(|r| *r == reason) {
            self.ejections[i].inc();
        }
    }
}

/// Handles for one pool.
#[derive(Debug, Clone)]
pub struct PoolHealthMetrics {
    /// Requests that found nothing routable.
    pub no_healthy: IntCounter,
    /// Retries refused by the budget.
    pub budget_exhausted: IntCounter,
    retries: [IntCounter; 5],
    source: [IntGauge; 2],
}

impl PoolHealthMetrics {
    /// Marks `source` as the one the last scoring tick used.
    pub fn source(&self, source: &str) {
        for (name, g) in SOURCES.iter().zip(&self.source) {
            g.set(i64::from(*name == source));
        }
    }

    /// Counts a retry caused by `cause`.
    pub fn retry(&self, cause: RetryOn) {
        if let Some(i) = RetryOn::ALL.iter().position(|c| *c == cause) {
            self.retries[i].inc();
        }
    }
}

impl HealthFamilies {
    /// Registers the families in `registry`.
    pub fn register(registry: &Registry) -> Result<Self, prometheus::Error> {
        let counter = |name: &str, help: &str, labels: &[&str]| {
            let c = IntCounterVec::new(Opts::new(name, help), labels)?;
            registry.register(Box::new(c.clone()))?;
            Ok::<_, prometheus::Error>(c)
        };
        let healthy = IntGaugeVec::new(
            Opts::new(
                names::UPSTREAM_HEALTHY,
                "1 if the endpoint is routable (healthy, not ejected), else 0.",
            ),
            &["pool", "endpoint"],
        )?;
        registry.register(Box::new(healthy.clone()))?;
        let gauge = |name: &str, help: &str, labels: &[&str]| {
            let g = GaugeVec::new(Opts::new(name, help), labels)?;
            registry.register(Box::new(g.clone()))?;
            Ok::<_, prometheus::Error>(g)
        };
        let int_gauge = |name: &str, help: &str, labels: &[&str]| {
            let g = IntGaugeVec::new(Opts::new(name, help), labels)?;
            registry.register(Box::new(g.clone()))?;
            Ok::<_, prometheus::Error>(g)
        };
        Ok(Self {
            state: int_gauge(
                names::UPSTREAM_STATE,
                "1 for the endpoint's current state (checking, closed, open, half_open, unhealthy).",
                &["pool", "endpoint", "state"],
            )?,
            weight: gauge(
                names::UPSTREAM_WEIGHT,
                "Endpoint weight: configured, and effective (score x slow start; 0 when out).",
                &["pool", "endpoint", "kind"],
            )?,
            score: gauge(
                names::UPSTREAM_SCORE,
                "Endpoint score components in [0, 1]: error, latency, cost and their product, total.",
                &["pool", "endpoint", "component"],
            )?,
            source: int_gauge(
                names::SCORING_SOURCE,
                "1 for the source the pool's last scoring tick used (local or prometheus).",
                &["pool", "source"],
            )?,
            healthy,
            checks: counter(
                names::HEALTH_CHECKS_TOTAL,
                "Active health check probes, by result.",
                &["pool", "endpoint", "result"],
            )?,
            ejections: counter(
                names::UPSTREAM_EJECTIONS_TOTAL,
                "Times an endpoint was taken out of its pool, by reason.",
                &["pool", "endpoint", "reason"],
            )?,
            retries: counter(
                names::UPSTREAM_RETRIES_TOTAL,
                "Retries sent, by the failure that caused them.",
                &["pool", "reason"],
            )?,
            budget_exhausted: counter(
                names::RETRY_BUDGET_EXHAUSTED_TOTAL,
                "Retries refused because the pool's retry budget was spent.",
                &["pool"],
            )?,
            no_healthy: counter(
                names::POOL_NO_HEALTHY_TOTAL,
                "Requests that found no routable endpoint in their pool.",
                &["pool"],
            )?,
        })
    }

    /// Handles for an endpoint; its series start at zero.
    pub fn endpoint(&self, pool: &str, endpoint: &str) -> EndpointHealthMetrics {
        EndpointHealthMetrics {
            healthy: self.healthy.with_label_values(&[pool, endpoint]),
            checks: PROBE_RESULTS.map(|r| self.checks.with_label_values(&[pool, endpoint, r])),
            ejections: EJECT_REASONS
                .map(|r| self.ejections.with_label_values(&[pool, endpoint, r])),
            state: STATES.map(|s| self.state.with_label_values(&[pool, endpoint, s])),
            weight: ["configured", "effective"]
                .map(|k| self.weight.with_label_values(&[pool, endpoint, k])),
            score: SCORE_COMPONENTS.map(|c| self.score.with_label_values(&[pool, endpoint, c])),
        }
    }

    /// Removes an endpoint's series.
    pub fn remove_endpoint(&self, pool: &str, endpoint: &str) {
        self.healthy.remove_label_values(&[pool, endpoint]).ok();
        for r in PROBE_RESULTS {
            self.checks.remove_label_values(&[pool, endpoint, r]).ok();
        }
        for r in EJECT_REASONS {
            self.ejections
                .remove_label_values(&[pool, endpoint, r])
                .ok();
        }
        for st in STATES {
            self.state.remove_label_values(&[pool, endpoint, st]).ok();
        }
        for k in ["configured", "effective"] {
            self.weight.remove_label_values(&[pool, endpoint, k]).ok();
        }
        for c in SCORE_COMPONENTS {
            self.score.remove_label_values(&[pool, endpoint, c]).ok();
        }
    }

    /// Handles for a pool; its series start at zero.
    pub fn pool(&self, pool: &str) -> PoolHealthMetrics {
        PoolHealthMetrics {
            no_healthy: self.no_healthy.with_label_values(&[pool]),
            budget_exhausted: self.budget_exhausted.with_label_values(&[pool]),
            retries: RetryOn::ALL.map(|c| self.retries.with_label_values(&[pool, c.as_str()])),
            source: SOURCES.map(|src| self.source.with_label_values(&[pool, src])),
        }
    }

    /// Removes a pool's series.
    pub fn remove_pool(&self, pool: &str) {
        self.no_healthy.remove_label_values(&[pool]).ok();
        self.budget_exhausted.remove_label_values(&[pool]).ok();
        for c in RetryOn::ALL {
            self.retries.remove_label_values(&[pool, c.as_str()]).ok();
        }
        for src in SOURCES {
            self.source.remove_label_values(&[pool, src]).ok();
        }
    }
}
