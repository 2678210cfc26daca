//! Prometheus metrics from an explicit registry.
//!
//! Owns: every metric family, its labels and buckets, and cheap pre-resolved
//! handles for the request path (no label hashing per request). Labels carry
//! only names from the config, never paths, hosts or client addresses.

mod access_log;
mod admin;
mod counts;
mod health;
pub mod names;
mod plugin;
mod tls;

pub use access_log::AccessLogMetrics;
pub use admin::AdminMetrics;
pub use counts::RouteCount;
pub use health::{EndpointHealthMetrics, HealthFamilies, PoolHealthMetrics};
pub use plugin::{
    PluginFamilies, PluginPhaseMetrics, PHASES as PLUGIN_PHASES, RESULTS as PLUGIN_RESULTS,
};
pub use tls::{HandshakeMetrics, TlsFamilies};

use prometheus::{
    Encoder, Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge,
    IntGaugeVec, Opts, Registry, TextEncoder,
};

/// Buckets for request latencies, 0.5 ms to 30 s.
const LATENCY_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// Status classes in label order.
pub const CODE_CLASSES: [&str; 5] = ["1xx", "2xx", "3xx", "4xx", "5xx"];

/// Upstream attempt outcomes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Response headers arrived with a status below 500 other than 429.
    Success,
    /// Response headers arrived with a 5xx status.
    Http5xx,
    /// Response headers arrived with status 429.
    Http429,
    /// The connection could not be made.
    ConnectError,
    /// No response headers within the route timeout.
    Timeout,
    /// The connection failed after it was made.
    Reset,
}

impl Outcome {
    /// All outcomes, in label order.
    pub const ALL: [Outcome; 6] = [
        Self::Success,
        Self::Http5xx,
        Self::Http429,
        Self::ConnectError,
        Self::Timeout,
        Self::Reset,
    ];

    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::Http5xx => "http_5xx",
            Self::Http429 => "http_429",
            Self::ConnectError => "connect_error",
            Self::Timeout => "timeout",
            Self::Reset => "reset",
        }
    }

    /// Whether outlier detection counts this as a failure (429 and other
    /// 4xx are the client's or a rate limit's business, not a sick
    /// endpoint's).
    pub fn is_failure(self) -> bool {
        !matches!(self, Self::Success | Self::Http429)
    }

    /// The outcome of a response with `status`.
    pub fn of_status(status: http::StatusCode) -> Self {
        if status.is_server_error() {
            Self::Http5xx
        } else if status == http::StatusCode::TOO_MANY_REQUESTS {
            Self::Http429
        } else {
            Self::Success
        }
    }
}

/// Pre-resolved handles for one (listener, route) pair.
#[derive(Debug, Clone)]
pub struct RouteMetrics {
    by_class: [IntCounter; 5],
    duration: Histogram,
    /// `switchyard_proxy_errors_total`, for failures found while the
    /// response streams (rare: resolved when they happen).
    errors: IntCounterVec,
}

impl RouteMetrics {
    /// Records one finished request.
    pub fn record(&self, status: u16, seconds: f64) {
        let class = usize::from((status / 100).clamp(1, 5)) - 1;
        self.by_class[class].inc();
        self.duration.observe(seconds);
    }

    /// Counts a proxy error found after the response head was sent.
    pub fn proxy_error(&self, reason: &str) {
        self.errors.with_label_values(&[reason]).inc();
    }
}

/// Pre-resolved handles for one endpoint.
#[derive(Debug, Clone)]
pub struct EndpointMetrics {
    outcomes: [IntCounter; 6],
    /// Time to response headers.
    pub duration: Histogram,
    /// Requests in flight.
    pub in_flight: IntGauge,
}

/// Cumulative numbers of one endpoint, for scoring from the local registry.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EndpointSample {
    /// Attempts, all outcomes.
    pub requests: u64,
    /// Attempts that count as failures.
    pub failures: u64,
    /// Response-header histogram: (upper bound, cumulative count), finite
    /// bounds in order.
    pub buckets: Vec<(f64, u64)>,
    /// Observations in all (the `+Inf` bucket).
    pub count: u64,
}

impl EndpointMetrics {
    /// The endpoint's cumulative numbers now.
    pub fn sample(&self) -> EndpointSample {
        use prometheus::core::Metric as _;
        let (mut requests, mut failures) = (0, 0);
        for (o, c) in Outcome::ALL.iter().zip(&self.outcomes) {
            requests += c.get();
            if o.is_failure() {
                failures += c.get();
            }
        }
        let m = self.duration.metric();
        let h = m.get_histogram();
        EndpointSample {
            requests,
            failures,
            buckets: h
                .get_bucket()
                .iter()
                .map(|b| (b.upper_bound(), b.cumulative_count()))
                .collect(),
            count: h.get_sample_count(),
        }
    }

    /// Counts one attempt's outcome.
    pub fn outcome(&self, outcome: Outcome) {
        let i = Outcome::ALL.iter().position(|o| *o == outcome).unwrap_or(0);
        self.outcomes[i].inc();
    }
}

/// All metric families.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    http_requests: IntCounterVec,
    http_duration: HistogramVec,
    upstream_requests: IntCounterVec,
    upstream_duration: HistogramVec,
    upstream_in_flight: IntGaugeVec,
    upgraded: IntGaugeVec,
    proxy_errors: IntCounterVec,
    reloads: IntCounterVec,
    last_reload_success: IntGauge,
    last_reload_timestamp: prometheus::Gauge,
    generation: IntGauge,
    /// Health, ejection and retry families.
    pub health: HealthFamilies,
    /// Plugin call families.
    pub plugins: PluginFamilies,
    /// TLS handshake and certificate expiry families.
    pub tls: TlsFamilies,
    /// Access log lines written and dropped.
    pub access_log: AccessLogMetrics,
    /// Admin requests refused for want of the token.
    pub admin: AdminMetrics,
}

impl Metrics {
    /// Registers every family in a fresh registry.
    pub fn new() -> Result<Self, prometheus::Error> {
        let registry = Registry::new();
        let counter = |name: &str, help: &str, labels: &[&str]| {
            let c = IntCounterVec::new(Opts::new(name, help), labels)?;
            registry.register(Box::new(c.clone()))?;
            Ok::<_, prometheus::Error>(c)
        };
        let histogram = |name: &str, help: &str, labels: &[&str]| {
            let opts = HistogramOpts::new(name, help).buckets(LATENCY_BUCKETS.to_vec());
            let h = HistogramVec::new(opts, labels)?;
            registry.register(Box::new(h.clone()))?;
            Ok::<_, prometheus::Error>(h)
        };
        let m = Self {
            http_requests: counter(
                names::HTTP_REQUESTS_TOTAL,
                "HTTP requests served, by listener, route and status class.",
                &["listener", "route", "code_class"],
            )?,
            http_duration: histogram(
                names::HTTP_REQUEST_DURATION_SECONDS,
                "Time from request head to the end of the response body.",
                &["listener", "route"],
            )?,
            upstream_requests: counter(
                names::UPSTREAM_REQUESTS_TOTAL,
                "Requests sent to upstream endpoints, by outcome.",
                &["pool", "endpoint", "outcome"],
            )?,
            upstream_duration: histogram(
                names::UPSTREAM_RESPONSE_DURATION_SECONDS,
                "Time until the upstream's response headers.",
                &["pool", "endpoint"],
            )?,
            upstream_in_flight: {
                let g = IntGaugeVec::new(
                    Opts::new(
                        names::UPSTREAM_IN_FLIGHT_REQUESTS,
                        "Upstream requests in flight.",
                    ),
                    &["pool", "endpoint"],
                )?;
                registry.register(Box::new(g.clone()))?;
                g
            },
            upgraded: {
                let g = IntGaugeVec::new(
                    Opts::new(
                        names::UPGRADED_CONNECTIONS,
                        "Upgraded connections (WebSocket and other Upgrades) open.",
                    ),
                    &["listener"],
                )?;
                registry.register(Box::new(g.clone()))?;
                g
            },
            proxy_errors: counter(
                names::PROXY_ERRORS_TOTAL,
                "Error responses generated by the proxy, by reason.",
                &["reason"],
            )?,
            reloads: counter(
                names::CONFIG_RELOADS_TOTAL,
                "Config reloads, by result.",
                &["result"],
            )?,
            last_reload_success: {
                let g = IntGauge::new(
                    names::CONFIG_LAST_RELOAD_SUCCESS,
                    "1 if the last config reload succeeded, else 0.",
                )?;
                registry.register(Box::new(g.clone()))?;
                g
            },
            last_reload_timestamp: {
                let g = prometheus::Gauge::new(
                    names::CONFIG_LAST_RELOAD_TIMESTAMP_SECONDS,
                    "Unix time the last config reload finished.",
                )?;
                registry.register(Box::new(g.clone()))?;
                g
            },
            generation: {
                let g = IntGauge::new(names::CONFIG_GENERATION, "The active config generation.")?;
                registry.register(Box::new(g.clone()))?;
                g
            },
            health: HealthFamilies::register(&registry)?,
            plugins: PluginFamilies::register(&registry)?,
            tls: TlsFamilies::register(&registry)?,
            access_log: AccessLogMetrics::register(&registry)?,
            admin: AdminMetrics::register(&registry)?,
            registry,
        };
        for result in ["success", "failure"] {
            m.reloads.with_label_values(&[result]);
        }
        m.last_reload_success.set(1);
        m.generation.set(1);
        let build = IntGaugeVec::new(
            Opts::new(names::BUILD_INFO, "Build information; always 1."),
            &["version"],
        )?;
        m.registry.register(Box::new(build.clone()))?;
        build.with_label_values(&[env!("CARGO_PKG_VERSION")]).set(1);
        Ok(m)
    }

    /// Handles for a (listener, route) pair; route `""` when none matched.
    pub fn route(&self, listener: &str, route: &str) -> RouteMetrics {
        RouteMetrics {
            by_class: CODE_CLASSES.map(|class| {
                self.http_requests
                    .with_label_values(&[listener, route, class])
            }),
            duration: self.http_duration.with_label_values(&[listener, route]),
            errors: self.proxy_errors.clone(),
        }
    }

    /// Handles for an endpoint; its outcome series start at zero.
    pub fn endpoint(&self, pool: &str, endpoint: &str) -> EndpointMetrics {
        EndpointMetrics {
            outcomes: Outcome::ALL.map(|o| {
                self.upstream_requests
                    .with_label_values(&[pool, endpoint, o.as_str()])
            }),
            duration: self.upstream_duration.with_label_values(&[pool, endpoint]),
            in_flight: self.upstream_in_flight.with_label_values(&[pool, endpoint]),
        }
    }

    /// Removes an endpoint's series (after it left the config).
    pub fn remove_endpoint(&self, pool: &str, endpoint: &str) {
        for o in Outcome::ALL {
            self.upstream_requests
                .remove_label_values(&[pool, endpoint, o.as_str()])
                .ok();
        }
        self.upstream_duration
            .remove_label_values(&[pool, endpoint])
            .ok();
        self.upstream_in_flight
            .remove_label_values(&[pool, endpoint])
            .ok();
        self.health.remove_endpoint(pool, endpoint);
    }

    /// The gauge of upgraded connections open on `listener`.
    pub fn upgraded(&self, listener: &str) -> IntGauge {
        self.upgraded.with_label_values(&[listener])
    }

    /// Removes a removed listener's upgraded-connections series, unless
    /// upgraded connections are still open on it (they end with its drain).
    pub fn remove_upgraded(&self, listener: &str) {
        let open = self
            .upgraded
            .get_metric_with_label_values(&[listener])
            .map_or(0, |g| g.get());
        if open == 0 {
            self.upgraded.remove_label_values(&[listener]).ok();
        }
    }

    /// Removes a (listener, route) pair's series.
    pub fn remove_route(&self, listener: &str, route: &str) {
        for class in CODE_CLASSES {
            self.http_requests
                .remove_label_values(&[listener, route, class])
                .ok();
        }
        self.http_duration
            .remove_label_values(&[listener, route])
            .ok();
    }

    /// Records a reload attempt that got as far as a verdict.
    pub fn reload_finished(&self, success: bool, generation: u64) {
        let result = if success { "success" } else { "failure" };
        self.reloads.with_label_values(&[result]).inc();
        self.last_reload_success.set(i64::from(success));
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64());
        self.last_reload_timestamp.set(now);
        self.generation
            .set(i64::try_from(generation).unwrap_or(i64::MAX));
    }

    /// Counts an error response the proxy generated.
    pub fn proxy_error(&self, reason: &str) {
        self.proxy_errors.with_label_values(&[reason]).inc();
    }

    /// The registry, for families other modules add.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// Prometheus text exposition of everything.
    pub fn encode(&self) -> Vec<u8> {
        let mut buf = Vec::with_capacity(16 * 1024);
        let encoder = TextEncoder::new();
        if let Err(e) = encoder.encode(&self.registry.gather(), &mut buf) {
            tracing::error!(error = %e, "Failed to encode metrics.");
        }
        buf
    }
}
