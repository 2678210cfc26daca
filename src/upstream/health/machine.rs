//! The per-endpoint health state machine: active verdicts, passive
//! ejections and the slow-start ramp. Pure: time comes in as milliseconds
//! and randomness as a jitter factor, so tests are exact.
//!
//! An endpoint is `Checking` until its first probe, `Unhealthy` once probes
//! fail `unhealthy_threshold` times in a row (until they pass
//! `healthy_threshold` times), `Ejected` while an ejection lasts (the
//! breaker is open), `HalfOpen` after it (on probation until
//! `HALF_OPEN_SUCCESSES` trial requests pass; a failed trial ejects again),
//! and `Healthy` otherwise (closed, with a slow start after probation).
//! Every change of status comes back as a `Transition` carrying the reason
//! and the numbers behind it.

use std::time::Duration;

pub use super::types::{EjectReason, Ejection, HealthView, ProbeResult, Status, Transition};
use super::window::FailureWindow;
use super::Millis;
use crate::config::{HealthCheck, OutlierDetection};

/// Trial requests (or passing probes) that close a half-open endpoint.
pub const HALF_OPEN_SUCCESSES: u32 = 3;

/// What one recorded outcome calls for.
#[derive(Debug, Clone, PartialEq)]
pub enum Recorded {
    /// Nothing changes.
    Nothing,
    /// An ejection, if the pool's cap allows: the reason and why.
    Eject(EjectReason, String),
    /// A status change that needs no cap (probation passed).
    Changed(Transition),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    Unknown,
    Healthy,
    Unhealthy,
}

/// Active-check state.
#[derive(Debug, Clone)]
struct Active {
    verdict: Verdict,
    successes: u32,
    failures: u32,
    last: Option<(Millis, ProbeResult)>,
}

/// One endpoint's health.
#[derive(Debug, Clone)]
pub struct Machine {
    active: Option<Active>,
    consecutive_failures: u32,
    window: FailureWindow,
    ejection: Option<Ejection>,
    /// Why the last ejection happened (a failed trial repeats it).
    last_reason: Option<EjectReason>,
    /// Trial successes while on probation (half-open).
    probation: Option<u32>,
    ejections_in_row: u32,
    readmitted_at: Millis,
    ramp_since: Option<Millis>,
    ramp_on_first_pass: bool,
    last_change: Option<(Millis, Status, String)>,
}

/// Linear ramp from 10% to 100% over `slow_start`, in per-mille.
pub fn ramp_permille(ramp_since: Option<Millis>, slow_start: Duration, now: Millis) -> u32 {
    let window = u64::try_from(slow_start.as_millis()).unwrap_or(u64::MAX);
    match ramp_since {
        Some(since) if window > 0 => {
            let elapsed = now.saturating_sub(since);
            if elapsed >= window {
                1000
            } else {
                // 100 + 900 * elapsed / window, computed in u128 to avoid overflow.
                100 + u32::try_from(u128::from(elapsed) * 900 / u128::from(window)).unwrap_or(900)
            }
        }
        _ => 1000,
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

impl Machine {
    /// A new endpoint. With active checks it is `Checking` until its first
    /// probe; `ramp` starts slow start (at once, or at the first passing
    /// probe), for endpoints that join a pool already serving.
    pub fn new(checked: bool, ramp: bool, now: Millis) -> Self {
        Self {
            active: checked.then_some(Active {
                verdict: Verdict::Unknown,
                successes: 0,
                failures: 0,
                last: None,
            }),
            consecutive_failures: 0,
            window: FailureWindow::default(),
            ejection: None,
            last_reason: None,
            probation: None,
            ejections_in_row: 0,
            readmitted_at: now,
            ramp_since: (ramp && !checked).then_some(now),
            ramp_on_first_pass: ramp && checked,
            last_change: None,
        }
    }

    /// The current status.
    pub fn status(&self) -> Status {
        if self.ejection.is_some() {
            return Status::Ejected;
        }
        match self.active.as_ref().map(|a| a.verdict) {
            Some(Verdict::Unknown) => Status::Checking,
            Some(Verdict::Unhealthy) => Status::Unhealthy,
            Some(Verdict::Healthy) | None if self.probation.is_some() => Status::HalfOpen,
            Some(Verdict::Healthy) | None => Status::Healthy,
        }
    }

    /// When slow start began, if it is still running.
    pub fn ramp_since(&self) -> Option<Millis> {
        self.ramp_since
    }

    /// The ejection in force.
    pub fn ejection(&self) -> Option<Ejection> {
        self.ejection
    }

    /// Turns active checks on or off after a reload. An endpoint that was
    /// serving keeps serving when checks are added: the thresholds decide.
    pub fn set_checked(&mut self, checked: bool, now: Millis) -> Option<Transition> {
        let before = self.status();
        match (checked, self.active.is_some()) {
            (true, false) => {
                self.active = Some(Active {
                    verdict: Verdict::Healthy,
                    successes: 0,
                    failures: 0,
                    last: None,
                })
            }
            (false, true) => self.active = None,
            _ => return None,
        }
        let why = if checked {
            "health check added"
        } else {
            "health check removed"
        };
        self.finish(before, now, why.into(), None)
    }

    /// Applies a probe result.
    pub fn on_probe(
        &mut self,
        result: ProbeResult,
        hc: &HealthCheck,
        slow_start: Duration,
        now: Millis,
    ) -> Option<Transition> {
        let before = self.status();
        let a = self.active.as_mut()?;
        let passed = result == ProbeResult::Success;
        let what = result.describe();
        a.last = Some((now, result));
        if passed {
            a.successes = a.successes.saturating_add(1);
            a.failures = 0;
        } else {
            a.failures = a.failures.saturating_add(1);
            a.successes = 0;
        }
        let (next, why) = match (a.verdict, passed) {
            (Verdict::Unknown, true) => (Verdict::Healthy, format!("first health check {what}")),
            (Verdict::Unknown, false) => (Verdict::Unhealthy, format!("first health check {what}")),
            (Verdict::Healthy, false) if a.failures >= hc.unhealthy_threshold => (
                Verdict::Unhealthy,
                format!(
                    "health check failed {} times in a row (threshold {}); last {what}",
                    a.failures, hc.unhealthy_threshold
                ),
            ),
            (Verdict::Unhealthy, true) if a.successes >= hc.healthy_threshold => (
                Verdict::Healthy,
                format!(
                    "health check passed {} times in a row (threshold {})",
                    a.successes, hc.healthy_threshold
                ),
            ),
            (v, _) => (v, String::new()),
        };
        let was = a.verdict;
        a.verdict = next;
        if was == next {
            // A passing probe counts as one trial on probation.
            return match self.probation {
                Some(_) if passed => self.trial_passed(slow_start, now, "health checks"),
                _ => None,
            };
        }
        let recovered = was == Verdict::Unhealthy;
        let first_pass = was == Verdict::Unknown && self.ramp_on_first_pass;
        if next == Verdict::Healthy {
            // Failures seen while it was down are stale evidence.
            self.consecutive_failures = 0;
            self.window.clear();
            if (recovered || first_pass) && !slow_start.is_zero() {
                self.ramp_since = Some(now);
            }
            self.ramp_on_first_pass = false;
        } else {
            self.ramp_since = None;
            self.probation = None;
        }
        let ejection = (next == Verdict::Unhealthy
            && matches!(before, Status::Healthy | Status::HalfOpen))
        .then_some(EjectReason::HealthCheck);
        let why = if recovered {
            self.end_outlier_ejection(now).map_or(why.clone(), |r| {
                format!("{why}; its {r} ejection ends early, on probation")
            })
        } else {
            why
        };
        self.finish(before, now, why, ejection)
    }

    /// Ends an outlier ejection (`consecutive_failures`, `failure_ratio`)
    /// once the health checks have seen the endpoint go down and come back
    /// (Envoy's `successful_active_health_check_uneject_host`): a restarted
    /// vendor need not sit out the rest of an ejection its crash earned,
    /// while the pool's cap keeps its peers in. It goes on probation. An
    /// ejection the endpoint asked for (`Retry-After`) or its score earned
    /// runs its time. Returns the reason of the ejection ended.
    fn end_outlier_ejection(&mut self, now: Millis) -> Option<&'static str> {
        let e = self.ejection?;
        if !matches!(
            e.reason,
            EjectReason::ConsecutiveFailures | EjectReason::FailureRatio
        ) {
            return None;
        }
        self.ejection = None;
        self.readmitted_at = now;
        self.probation = Some(0);
        self.ramp_since = None;
        Some(e.reason.as_str())
    }

    /// Records one request outcome and says what it calls for: an ejection
    /// (the caller checks the pool's cap, then calls `eject`), or closing
    /// a half-open endpoint. Outcomes at an ejected endpoint (requests that
    /// were in flight, or fallback traffic) are not evidence.
    pub fn record(&mut self, failure: bool, od: &OutlierDetection, now: Millis) -> Recorded {
        if self.ejection.is_some() {
            return Recorded::Nothing;
        }
        if self.probation.is_some() {
            if failure {
                let reason = self.last_reason.unwrap_or(EjectReason::ConsecutiveFailures);
                return Recorded::Eject(reason, "a trial request failed on probation".into());
            }
            return self
                .trial_passed(od.slow_start, now, "trial requests")
                .map_or(Recorded::Nothing, Recorded::Changed);
        }
        if failure {
            self.consecutive_failures = self.consecutive_failures.saturating_add(1);
        } else {
            self.consecutive_failures = 0;
        }
        let window = millis(od.window);
        self.window.record(failure, now, window);
        if !failure {
            return Recorded::Nothing;
        }
        if od.consecutive_failures > 0 && self.consecutive_failures >= od.consecutive_failures {
            return Recorded::Eject(
                EjectReason::ConsecutiveFailures,
                format!(
                    "{} failures in a row (threshold {})",
                    self.consecutive_failures, od.consecutive_failures
                ),
            );
        }
        if od.failure_ratio > 0.0 {
            let (requests, failures) = self.window.totals(now, window);
            if requests >= od.min_requests
                && f64::from(failures) >= od.failure_ratio * f64::from(requests)
            {
                return Recorded::Eject(
                    EjectReason::FailureRatio,
                    format!(
                        "{failures} of {requests} requests failed in {:?} ({:.0}%, threshold {:.0}%)",
                        od.window,
                        100.0 * f64::from(failures) / f64::from(requests),
                        100.0 * od.failure_ratio
                    ),
                );
            }
        }
        Recorded::Nothing
    }

    /// One more trial success on probation; closes after enough of them.
    fn trial_passed(
        &mut self,
        slow_start: Duration,
        now: Millis,
        what: &str,
    ) -> Option<Transition> {
        let before = self.status();
        let n = self.probation?.saturating_add(1);
        if n < HALF_OPEN_SUCCESSES {
            self.probation = Some(n);
            return None;
        }
        self.probation = None;
        self.consecutive_failures = 0;
        self.window.clear();
        if !slow_start.is_zero() {
            self.ramp_since = Some(now);
        }
        let why = format!("{n} {what} passed on probation");
        self.finish(before, now, why, None)
    }

    /// Ejects for `base × ejections in a row` (capped, times `jitter`,
    /// normally drawn from 0.8..1.2). The count in a row decays by one for
    /// every `base` spent in the pool since the last ejection ended.
    pub fn eject(
        &mut self,
        reason: EjectReason,
        why: String,
        od: &OutlierDetection,
        jitter: f64,
        now: Millis,
    ) -> Option<Transition> {
        let before = self.status();
        let base = millis(od.base_ejection_time).max(1);
        let quiet = now.saturating_sub(self.readmitted_at) / base;
        let decayed = self
            .ejections_in_row
            .saturating_sub(u32::try_from(quiet).unwrap_or(u32::MAX));
        self.ejections_in_row = decayed.saturating_add(1);
        let length = base
            .saturating_mul(u64::from(self.ejections_in_row))
            .min(millis(od.max_ejection_time));
        let length = (length as f64 * jitter.clamp(0.5, 1.5)) as u64;
        let why = format!(
            "{why}; ejected for {:.1}s (ejection {} in a row)",
            length as f64 / 1000.0,
            self.ejections_in_row
        );
        self.open(before, reason, why, length, now)
    }

    /// Ejects for exactly `length_ms` (an upstream's `Retry-After`), without
    /// counting toward the growing ejection length.
    pub fn eject_for(
        &mut self,
        reason: EjectReason,
        why: String,
        length_ms: u64,
        now: Millis,
    ) -> Option<Transition> {
        let before = self.status();
        let why = format!("{why}; ejected for {:.1}s", length_ms as f64 / 1000.0);
        self.open(before, reason, why, length_ms, now)
    }

    fn open(
        &mut self,
        before: Status,
        reason: EjectReason,
        why: String,
        length_ms: u64,
        now: Millis,
    ) -> Option<Transition> {
        self.ejection = Some(Ejection {
            since: now,
            until: now.saturating_add(length_ms.max(1)),
            reason,
        });
        self.last_reason = Some(reason);
        self.probation = None;
        self.consecutive_failures = 0;
        self.window.clear();
        self.ramp_since = None;
        self.finish(before, now, why, Some(reason))
    }

    /// Ends an ejection whose time is up and a slow start whose window is
    /// over.
    pub fn tick(&mut self, slow_start: Duration, now: Millis) -> Option<Transition> {
        if let Some(r) = self.ramp_since {
            if now.saturating_sub(r) >= millis(slow_start) {
                self.ramp_since = None;
            }
        }
        let e = self.ejection?;
        if now < e.until {
            return None;
        }
        let before = self.status();
        self.ejection = None;
        self.readmitted_at = now;
        // Back on probation, unless its health checks say it is down.
        if self.active.as_ref().map(|a| a.verdict) != Some(Verdict::Unhealthy) {
            self.probation = Some(0);
        }
        let why = format!(
            "ejection of {:.1}s ended; on probation until {HALF_OPEN_SUCCESSES} trials pass",
            e.until.saturating_sub(e.since) as f64 / 1000.0
        );
        self.finish(before, now, why, None)
    }

    /// The next time `tick` has work: the end of the ejection or the ramp.
    pub fn next_deadline(&self, slow_start: Duration) -> Option<Millis> {
        let ramp_end = self
            .ramp_since
            .map(|r| r.saturating_add(millis(slow_start)));
        match (self.ejection.map(|e| e.until), ramp_end) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// A copy of everything, for the admin API.
    pub fn view(&self) -> HealthView {
        let a = self.active.as_ref();
        HealthView {
            status: self.status(),
            checked: a.is_some(),
            last_probe: a.and_then(|a| a.last.clone()),
            probe_successes: a.map_or(0, |a| a.successes),
            probe_failures: a.map_or(0, |a| a.failures),
            consecutive_failures: self.consecutive_failures,
            ejection: self.ejection,
            ejections_in_row: self.ejections_in_row,
            probation_successes: self.probation,
            ramp_since: self.ramp_since,
            last_change: self.last_change.clone(),
        }
    }

    fn finish(
        &mut self,
        before: Status,
        now: Millis,
        reason: String,
        ejection: Option<EjectReason>,
    ) -> Option<Transition> {
        let after = self.status();
        if after == before {
            return None;
        }
        self.last_change = Some((now, after, reason.clone()));
        Some(Transition {
            from: before,
            to: after,
            reason,
            ejection,
        })
    }
}
