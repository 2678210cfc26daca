//! `EndpointHealth`: one endpoint's state machine plus the atomics the
//! request path reads, the monitor's wake-up, and logging of transitions.

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use arc_swap::ArcSwap;
use tokio::sync::Notify;

use super::machine::{EjectReason, Machine, ProbeResult, Recorded, Status, Transition};
use super::{ramp_permille, HealthView, Millis};
use crate::config::{HealthCheck, OutlierDetection};
use crate::metrics::EndpointHealthMetrics;
use crate::upstream::pool_state::PoolState;
use crate::upstream::scoring::ScoreView;

/// Where and how to probe an endpoint.
#[derive(Debug, Clone, PartialEq)]
pub struct ProbeTarget {
    /// Where and how to connect (TLS for `https://` endpoints).
    pub dial: crate::upstream::Dial,
    /// The HTTP version an HTTP check speaks: the pool's.
    pub protocol: crate::config::Protocol,
    /// Host header value.
    pub host: String,
    /// Path requested.
    pub path: String,
}

/// The settings an endpoint's health follows; replaced on reload.
#[derive(Debug, Clone, PartialEq)]
pub struct HealthSettings {
    /// Active checks, if configured.
    pub check: Option<HealthCheck>,
    /// Where probes go.
    pub target: ProbeTarget,
    /// Passive detection and slow start.
    pub outlier: OutlierDetection,
}

const NONE: u64 = u64::MAX;
/// The weight share of a half-open endpoint on probation.
const PROBATION_PERMILLE: u32 = 100;

/// One endpoint's health.
#[derive(Debug)]
pub struct EndpointHealth {
    pool: Arc<str>,
    endpoint: Arc<str>,
    machine: Mutex<Machine>,
    status: AtomicU8,
    ramp_since: AtomicU64,
    out_until: AtomicU64,
    /// The scorer's weight factor in per-mille (1000 without scoring).
    score: AtomicU32,
    /// The scorer's last report.
    report: Mutex<Option<ScoreView>>,
    pub(super) wake: Notify,
    retired: AtomicBool,
    pub(super) settings: ArcSwap<HealthSettings>,
    metrics: EndpointHealthMetrics,
}

impl EndpointHealth {
    /// A new endpoint's health; `ramp` starts slow start (for endpoints
    /// that join a pool already serving).
    pub fn new(
        pool: Arc<str>,
        endpoint: Arc<str>,
        settings: HealthSettings,
        metrics: EndpointHealthMetrics,
        ramp: bool,
        now: Millis,
    ) -> Self {
        let ramp = ramp && !settings.outlier.slow_start.is_zero();
        let machine = Machine::new(settings.check.is_some(), ramp, now);
        let h = Self {
            pool,
            endpoint,
            machine: Mutex::new(machine),
            status: AtomicU8::new(Status::Checking as u8),
            ramp_since: AtomicU64::new(NONE),
            out_until: AtomicU64::new(0),
            score: AtomicU32::new(1000),
            report: Mutex::new(None),
            wake: Notify::new(),
            retired: AtomicBool::new(false),
            settings: ArcSwap::from_pointee(settings),
            metrics,
        };
        h.publish(&h.lock());
        // Neutral until a scorer says otherwise.
        for g in &h.metrics.score {
            g.set(1.0);
        }
        h
    }

    fn lock(&self) -> MutexGuard<'_, Machine> {
        // The machine has no invariants a panic mid-update could break
        // beyond stale counters; keep using it.
        self.machine.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The status as of the last change.
    pub fn status(&self) -> Status {
        Status::from_u8(self.status.load(Ordering::Acquire))
    }

    /// Effective weight factor in per-mille: the score times the slow-start
    /// ramp for a healthy endpoint, the probation share (10%) for a
    /// half-open one, 0 for one that is not routable.
    pub fn weight_permille(&self, slow_start: std::time::Duration) -> u32 {
        match self.status() {
            Status::Healthy => {}
            Status::HalfOpen => return PROBATION_PERMILLE,
            Status::Checking | Status::Unhealthy | Status::Ejected => return 0,
        }
        let score = self.score.load(Ordering::Relaxed);
        match self.ramp_since.load(Ordering::Relaxed) {
            NONE => score,
            since => score * ramp_permille(Some(since), slow_start, super::now_ms()) / 1000,
        }
    }

    /// Sets the scorer's weight factor (per-mille, at most 1000).
    pub fn set_score(&self, permille: u32) {
        self.score.store(permille.min(1000), Ordering::Relaxed);
    }

    /// Records the scorer's report and exports its components.
    pub fn publish_score(&self, view: &ScoreView) {
        let s = &view.score;
        for (g, v) in self
            .metrics
            .score
            .iter()
            .zip([s.error, s.latency, s.cost, s.total])
        {
            g.set(v);
        }
        *self.report.lock().unwrap_or_else(PoisonError::into_inner) = Some(view.clone());
    }

    /// The scorer's last report, if the pool is scored.
    pub fn score_report(&self) -> Option<ScoreView> {
        self.report
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Exports configured and effective weight (called at scrape time, since
    /// slow start moves the effective weight continuously).
    pub fn export_weight(&self, configured: u32, slow_start: std::time::Duration) {
        let effective =
            f64::from(configured) * f64::from(self.weight_permille(slow_start)) / 1000.0;
        self.metrics.weight[0].set(f64::from(configured));
        self.metrics.weight[1].set(effective);
    }

    /// For the no-healthy fallback: when the endpoint is expected back
    /// (0 while awaiting its first probe, `u64::MAX` when failing checks).
    pub fn out_until(&self) -> u64 {
        self.out_until.load(Ordering::Relaxed)
    }

    /// The settings in force.
    pub fn settings(&self) -> Arc<HealthSettings> {
        self.settings.load_full()
    }

    /// Replaces the settings after a reload; wakes the monitor.
    pub fn update(&self, settings: HealthSettings, now: Millis) {
        if **self.settings.load() == settings {
            return;
        }
        let checked = settings.check.is_some();
        self.settings.store(Arc::new(settings));
        let mut m = self.lock();
        let t = m.set_checked(checked, now);
        self.publish(&m);
        drop(m);
        if let Some(t) = t {
            self.announce(&t);
        }
        self.wake.notify_one();
    }

    /// Stops the monitor (the endpoint left the config).
    pub fn retire(&self) {
        self.retired.store(true, Ordering::Release);
        self.wake.notify_one();
    }

    /// Whether the endpoint left the config.
    pub fn is_retired(&self) -> bool {
        self.retired.load(Ordering::Acquire)
    }

    /// Records a finished request; may eject, within the pool's cap, or
    /// close a half-open endpoint.
    pub fn record(&self, failure: bool, od: &OutlierDetection, now: Millis, pool: &PoolState) {
        // With passive detection off, outcomes still decide probation (an
        // endpoint the scorer or Retry-After ejected must be able to close).
        if !od.enabled && self.status() != Status::HalfOpen {
            return;
        }
        let mut m = self.lock();
        match m.record(failure, od, now) {
            Recorded::Nothing => {}
            Recorded::Changed(t) => {
                self.publish(&m);
                drop(m);
                self.announce(&t);
                self.wake.notify_one();
            }
            Recorded::Eject(reason, why) => {
                drop(m);
                self.eject(pool, od.max_ejection_percent, &why, |m| {
                    m.eject(reason, why.clone(), od, rand::random_range(0.8..1.2), now)
                });
            }
        }
    }

    /// Opens the breaker for `length` because the upstream said
    /// `Retry-After`, within the pool's cap.
    pub fn retry_after(
        &self,
        length: std::time::Duration,
        status: u16,
        od: &OutlierDetection,
        now: Millis,
        pool: &PoolState,
    ) {
        let ms = u64::try_from(length.min(od.max_ejection_time).as_millis()).unwrap_or(u64::MAX);
        let why = format!("status {status} with Retry-After {}s", length.as_secs());
        self.eject(pool, od.max_ejection_percent, &why, |m| {
            if m.ejection().is_some() {
                return None;
            }
            m.eject_for(EjectReason::RetryAfter, why.clone(), ms, now)
        });
    }

    /// Ejects because the scorer's error score stayed too low, within the
    /// pool's cap.
    pub fn score_trip(
        &self,
        why: String,
        od: &OutlierDetection,
        now: Millis,
        pool: &PoolState,
    ) -> bool {
        self.eject(pool, od.max_ejection_percent, &why, |m| {
            if m.status() != Status::Healthy {
                return None;
            }
            m.eject(
                EjectReason::Score,
                why.clone(),
                od,
                rand::random_range(0.8..1.2),
                now,
            )
        })
    }

    /// Forgets the scorer's view (the pool no longer has scoring): the
    /// configured weight applies again.
    pub fn clear_score(&self) {
        self.set_score(1000);
        for g in &self.metrics.score {
            g.set(1.0);
        }
        *self.report.lock().unwrap_or_else(PoisonError::into_inner) = None;
    }

    /// Runs `open` on the machine if the pool's ejection cap allows.
    fn eject(
        &self,
        pool: &PoolState,
        max_percent: u32,
        why: &str,
        open: impl FnOnce(&mut Machine) -> Option<Transition>,
    ) -> bool {
        let mut m = self.lock();
        let mut transition = None;
        let allowed = pool.try_eject(max_percent, self, || {
            transition = open(&mut m);
            self.publish(&m);
        });
        drop(m);
        if !allowed {
            tracing::debug!(pool = %self.pool, endpoint = %self.endpoint, reason = %why,
                max_ejection_percent = max_percent,
                "Not ejecting: the pool's ejection cap is reached.");
        }
        let ejected = transition.is_some();
        if let Some(t) = transition {
            self.announce(&t);
            self.wake.notify_one();
        }
        ejected
    }

    /// Applies a probe result.
    pub fn on_probe(&self, result: ProbeResult, hc: &HealthCheck, od: &OutlierDetection) {
        self.metrics.probe(result.label());
        let now = super::now_ms();
        let mut m = self.lock();
        let t = m.on_probe(result, hc, od.slow_start, now);
        self.publish(&m);
        drop(m);
        if let Some(t) = t {
            self.announce(&t);
        }
    }

    /// Ends ejections and ramps whose time is up; returns the next time
    /// there is such work.
    pub fn tick(&self, od: &OutlierDetection, now: Millis) -> Option<Millis> {
        let mut m = self.lock();
        let t = m.tick(od.slow_start, now);
        self.publish(&m);
        let next = m.next_deadline(od.slow_start);
        drop(m);
        if let Some(t) = t {
            self.announce(&t);
        }
        next
    }

    /// A copy of the state for the admin API.
    pub fn view(&self) -> HealthView {
        self.lock().view()
    }

    fn publish(&self, m: &Machine) {
        let status = m.status();
        self.ramp_since
            .store(m.ramp_since().unwrap_or(NONE), Ordering::Relaxed);
        self.out_until.store(
            match status {
                Status::Checking | Status::Healthy | Status::HalfOpen => 0,
                Status::Ejected => m.ejection().map_or(NONE, |e| e.until),
                Status::Unhealthy => NONE,
            },
            Ordering::Relaxed,
        );
        self.status.store(status as u8, Ordering::Release);
        self.metrics.healthy.set(i64::from(matches!(
            status,
            Status::Healthy | Status::HalfOpen
        )));
        self.metrics.state(match status {
            Status::Checking => "checking",
            Status::Healthy => "closed",
            Status::Ejected => "open",
            Status::HalfOpen => "half_open",
            Status::Unhealthy => "unhealthy",
        });
    }

    fn announce(&self, t: &Transition) {
        if let Some(reason) = t.ejection {
            self.metrics.ejection(reason.as_str());
        }
        if matches!(t.to, Status::Healthy | Status::HalfOpen) {
            tracing::info!(pool = %self.pool, endpoint = %self.endpoint, from = t.from.as_str(),
                to = t.to.as_str(), reason = %t.reason, "Endpoint is back in its pool.");
        } else {
            tracing::warn!(pool = %self.pool, endpoint = %self.endpoint, from = t.from.as_str(),
                to = t.to.as_str(), reason = %t.reason, "Endpoint is out of its pool.");
        }
    }
}
