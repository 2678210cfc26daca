//! The vocabulary of endpoint health: statuses, ejection reasons, probe
//! results, transitions, and the read-only view the admin API shows.

use super::Millis;

/// Where an endpoint stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Status {
    /// Routable.
    Healthy = 0,
    /// Awaiting its first probe.
    Checking = 1,
    /// Failed its active health checks.
    Unhealthy = 2,
    /// Ejected (the breaker is open).
    Ejected = 3,
    /// Back from an ejection on probation: a small share of traffic, one
    /// request at a time, until trial requests pass.
    HalfOpen = 4,
}

impl Status {
    /// The name used in logs and the admin API.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Healthy => "healthy",
            Self::Checking => "checking",
            Self::Unhealthy => "unhealthy",
            Self::Ejected => "ejected",
            Self::HalfOpen => "half_open",
        }
    }

    /// Inverse of `as u8`.
    pub fn from_u8(v: u8) -> Self {
        match v {
            0 => Self::Healthy,
            1 => Self::Checking,
            2 => Self::Unhealthy,
            3 => Self::Ejected,
            _ => Self::HalfOpen,
        }
    }
}

/// Why an endpoint was taken out; the `reason` label of ejection metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EjectReason {
    /// `consecutive_failures` in a row.
    ConsecutiveFailures,
    /// The failure ratio over the window.
    FailureRatio,
    /// Active health checks failed.
    HealthCheck,
    /// The scorer's error score stayed below its threshold.
    Score,
    /// A 429 or 503 carried `Retry-After`.
    RetryAfter,
}

impl EjectReason {
    /// Label value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ConsecutiveFailures => "consecutive_failures",
            Self::FailureRatio => "failure_ratio",
            Self::HealthCheck => "health_check",
            Self::Score => "score",
            Self::RetryAfter => "retry_after",
        }
    }
}

/// The result of one probe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProbeResult {
    /// Passed.
    Success,
    /// Failed, with what went wrong.
    Failure(String),
    /// No answer within the timeout.
    Timeout,
}

impl ProbeResult {
    /// The `result` label of the health-check counter.
    pub fn label(&self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::Failure(_) => "failure",
            Self::Timeout => "timeout",
        }
    }

    /// Human description.
    pub fn describe(&self) -> String {
        match self {
            Self::Success => "passed".into(),
            Self::Failure(why) => format!("failed: {why}"),
            Self::Timeout => "timed out".into(),
        }
    }
}

/// A change of status.
#[derive(Debug, Clone, PartialEq)]
pub struct Transition {
    /// Before.
    pub from: Status,
    /// After.
    pub to: Status,
    /// Why, with the numbers behind it.
    pub reason: String,
    /// Set when this took the endpoint out of the pool.
    pub ejection: Option<EjectReason>,
}

/// A passive ejection in force.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ejection {
    /// When it began.
    pub since: Millis,
    /// When it ends.
    pub until: Millis,
    /// Why.
    pub reason: EjectReason,
}

/// Everything the admin API shows about an endpoint's health.
#[derive(Debug, Clone)]
pub struct HealthView {
    /// Current status.
    pub status: Status,
    /// Whether active checks are configured.
    pub checked: bool,
    /// Last probe: when and how it went.
    pub last_probe: Option<(Millis, ProbeResult)>,
    /// Probe passes in a row.
    pub probe_successes: u32,
    /// Probe failures in a row.
    pub probe_failures: u32,
    /// Request failures in a row.
    pub consecutive_failures: u32,
    /// Ejection in force.
    pub ejection: Option<Ejection>,
    /// Ejections in a row (drives the ejection length).
    pub ejections_in_row: u32,
    /// Trial successes so far while on probation.
    pub probation_successes: Option<u32>,
    /// Slow start began at.
    pub ramp_since: Option<Millis>,
    /// Last change: when, to what, why.
    pub last_change: Option<(Millis, Status, String)>,
}
