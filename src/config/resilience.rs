//! Validated resilience settings: health checks, outlier detection, the
//! no-healthy policy and retries.
//!
//! Owns: the snapshot types and their defaults' meaning. Built by
//! `validate_resilience` and `validate_retries`; read by `upstream::health`
//! and the proxy's retry loop. Must not: hold runtime state (that is
//! `upstream::Registry`'s).

use std::time::Duration;

use http::StatusCode;

/// `pools[].health_check`, resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct HealthCheck {
    /// HTTP or TCP.
    pub kind: CheckKind,
    /// Path probed (HTTP).
    pub path: String,
    /// Host header sent (HTTP); `None`: the endpoint's authority.
    pub host: Option<String>,
    /// Statuses that pass (HTTP).
    pub expected: StatusSet,
    /// Time between probes.
    pub interval: Duration,
    /// Time allowed for one probe; always below `interval`.
    pub timeout: Duration,
    /// Random spread of each interval, as a fraction in [0, 0.5).
    pub jitter: f64,
    /// Passes in a row that make an unhealthy endpoint healthy.
    pub healthy_threshold: u32,
    /// Failures in a row that make a healthy endpoint unhealthy.
    pub unhealthy_threshold: u32,
}

/// How a probe is made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckKind {
    /// `GET path`, status must be in the expected set.
    Http,
    /// A TCP connect.
    Tcp,
}

impl CheckKind {
    /// The config spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Http => "http",
            Self::Tcp => "tcp",
        }
    }
}

/// A set of status codes as inclusive ranges.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusSet(pub Vec<(u16, u16)>);

impl StatusSet {
    /// 200-299.
    pub fn success() -> Self {
        Self(vec![(200, 299)])
    }

    /// Whether `status` is in the set.
    pub fn contains(&self, status: StatusCode) -> bool {
        let s = status.as_u16();
        self.0.iter().any(|&(lo, hi)| lo <= s && s <= hi)
    }
}

/// `pools[].endpoints[].health_check`: per-endpoint probe overrides.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EndpointCheck {
    /// Path probed instead of the pool's.
    pub path: Option<String>,
    /// Port probed instead of the endpoint's.
    pub port: Option<u16>,
}

/// `pools[].outlier_detection`, resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct OutlierDetection {
    /// Whether passive detection ejects at all.
    pub enabled: bool,
    /// Failures in a row that eject; 0 = this trigger is off.
    pub consecutive_failures: u32,
    /// Failure share over `window` that ejects, in (0, 1]; 0 = off.
    pub failure_ratio: f64,
    /// Window of the failure ratio.
    pub window: Duration,
    /// Requests in the window before the ratio counts.
    pub min_requests: u32,
    /// First ejection's length.
    pub base_ejection_time: Duration,
    /// Longest ejection.
    pub max_ejection_time: Duration,
    /// Most of the pool's endpoints ejected at once, in percent (0-100).
    pub max_ejection_percent: u32,
    /// Weight ramp after re-admission; zero = none.
    pub slow_start: Duration,
}

/// `pools[].when_none_healthy`
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WhenNoneHealthy {
    /// Send to the endpoint that is closest to coming back.
    Any,
    /// Answer 503 at once.
    Fail,
}

impl WhenNoneHealthy {
    /// The config spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Any => "any",
            Self::Fail => "fail",
        }
    }
}

/// A failure a retry may answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryOn {
    /// The connection could not be made (safe for any method).
    ConnectError,
    /// The connection failed before response headers.
    Reset,
    /// No response headers within the per-try timeout.
    Timeout,
    /// A 5xx response.
    Http5xx,
    /// A 429 response.
    Http429,
}

impl RetryOn {
    /// Every condition, in config spelling order.
    pub const ALL: [RetryOn; 5] = [
        Self::ConnectError,
        Self::Reset,
        Self::Timeout,
        Self::Http5xx,
        Self::Http429,
    ];

    /// The config spelling, also the `reason` label of retry metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ConnectError => "connect_error",
            Self::Reset => "reset",
            Self::Timeout => "timeout",
            Self::Http5xx => "http_5xx",
            Self::Http429 => "http_429",
        }
    }

    fn bit(self) -> u8 {
        1 << (self as u8)
    }
}

/// A set of `RetryOn` conditions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RetryOnSet(u8);

impl RetryOnSet {
    /// The set of `items`.
    pub fn of(items: &[RetryOn]) -> Self {
        Self(items.iter().fold(0, |acc, c| acc | c.bit()))
    }

    /// Whether `c` is in the set.
    pub fn contains(self, c: RetryOn) -> bool {
        self.0 & c.bit() != 0
    }

    /// The members, in `RetryOn::ALL` order.
    pub fn iter(self) -> impl Iterator<Item = RetryOn> {
        RetryOn::ALL.into_iter().filter(move |c| self.contains(*c))
    }
}

/// `routes[].retries`, resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct Retries {
    /// Attempts in all, the first included; 1 = no retry.
    pub attempts: u32,
    /// Time allowed for each attempt's response headers; `None`: the
    /// route's timeout (which bounds all attempts together).
    pub per_try_timeout: Option<Duration>,
    /// Failures that are retried.
    pub on: RetryOnSet,
    /// Share of requests that retries may add, in [0, 1].
    pub budget: f64,
    /// Retries per second allowed whatever the budget.
    pub min_retries_per_second: u32,
}

impl Default for Retries {
    /// One attempt (no retry); the other values are the documented defaults.
    fn default() -> Self {
        Self {
            attempts: super::defaults::RETRY_ATTEMPTS,
            per_try_timeout: None,
            on: RetryOnSet::of(&[
                RetryOn::ConnectError,
                RetryOn::Reset,
                RetryOn::Timeout,
                RetryOn::Http5xx,
            ]),
            budget: super::defaults::RETRY_BUDGET,
            min_retries_per_second: super::defaults::RETRY_MIN_PER_SECOND,
        }
    }
}

impl Retries {
    /// Whether this policy ever retries.
    pub fn enabled(&self) -> bool {
        self.attempts > 1
    }
}

/// `pools[].scoring`, resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct Scoring {
    /// Time between ticks.
    pub interval: Duration,
    /// Span of data each tick looks at.
    pub window: Duration,
    /// p99 latency without penalty.
    pub latency_target: Duration,
    /// Exponent of the cost factor; 0 ignores cost.
    pub cost_exponent: f64,
    /// Error ratio with no penalty.
    pub error_ok: f64,
    /// Error ratio where the error score reaches 0 (above `error_ok`).
    pub error_max: f64,
    /// Error score below which, two ticks running, the endpoint is ejected.
    pub eject_below: f64,
    /// Error score that re-arms score ejection (at least `eject_below`).
    pub rearm_above: f64,
    /// Requests in the window before the score may eject; also the weight
    /// of the prior in the smoothed error ratio.
    pub min_requests: u32,
    /// Weight floor while in the pool, as a fraction of configured weight.
    pub min_weight: f64,
    /// Where the numbers come from.
    pub source: ScoringSource,
}

/// `pools[].scoring.source`
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScoringSource {
    /// The proxy's own metrics registry.
    Local,
    /// A Prometheus server.
    Prometheus(PrometheusSource),
}

impl ScoringSource {
    /// The `source` label value.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Local => "local",
            Self::Prometheus(_) => "prometheus",
        }
    }
}

/// `pools[].scoring.source.prometheus`
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrometheusSource {
    /// `host:port` of the server.
    pub authority: String,
    /// Path prefix before `/api/v1/query` (empty for none).
    pub base_path: String,
    /// Time allowed for each query.
    pub timeout: Duration,
    /// Extra label matchers without braces, e.g. `job="switchyard"`;
    /// empty for none.
    pub selector: String,
}
