//! The config file schema as plain serde types.
//!
//! Owns: the shape of the YAML file, with `deny_unknown_fields` everywhere.
//! Must not: interpret values. Durations, addresses and URLs stay strings here
//! so that `validate` can report every bad value with its path, not just the
//! first one serde trips over.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub(super) use super::raw_access_log::RawAccessLog;
pub(super) use super::raw_plugins::{RawOnError, RawPlugin, RawPluginLimits};
pub(super) use super::raw_tls::{RawListenerTls, RawPoolTls, RawProtocol};
pub(super) use super::raw_values::{OneOrMany, RawShare, RawSize, RawStatus};

/// The whole file.
#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    /// Schema version; must be 1.
    pub version: u32,
    /// Process-level settings.
    #[serde(default)]
    pub runtime: RawRuntime,
    /// The admin listener.
    #[serde(default)]
    pub admin: RawAdmin,
    /// Traffic listeners.
    #[serde(default)]
    pub listeners: Vec<RawListener>,
    /// Routes, first match in file order wins.
    #[serde(default)]
    pub routes: Vec<RawRoute>,
    /// Endpoint pools.
    #[serde(default)]
    pub pools: Vec<RawPool>,
    /// WebAssembly plugins, attached by name to routes, pools and endpoints.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub plugins: Vec<RawPlugin>,
    /// How config changes are picked up.
    #[serde(default)]
    pub reload: RawReload,
    /// Per-request access log lines; none when absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub access_log: Option<RawAccessLog>,
}

/// `reload:`
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawReload {
    /// Watch the config file's directory for changes (default true).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub watch: Option<bool>,
    /// Quiet time after the last file event before reloading.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub debounce: Option<String>,
    /// Re-read the file this often as a fallback; `0` turns polling off.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub poll_interval: Option<String>,
}

/// `runtime:`
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawRuntime {
    /// Tokio worker threads; default: number of cores.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub worker_threads: Option<usize>,
    /// How long in-flight requests may take to finish on SIGTERM.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shutdown_timeout: Option<String>,
}

/// `admin:`
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawAdmin {
    /// Address of the admin listener.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub listen: Option<String>,
}

/// `listeners[]`
#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawListener {
    /// Unique listener name, used in metric labels.
    pub name: String,
    /// Socket address to bind.
    pub listen: String,
    /// Downstream TLS; plain HTTP without it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls: Option<RawListenerTls>,
}

/// `routes[]`
#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawRoute {
    /// Unique route name, used in metric labels.
    pub name: String,
    /// Conditions; an empty match matches everything.
    #[serde(default, rename = "match")]
    pub matcher: RawMatch,
    /// Name of the pool that serves this route.
    pub pool: String,
    /// Path prefix removed before forwarding.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub strip_prefix: Option<String>,
    /// Header edits on the way to the upstream.
    #[serde(default)]
    pub request_headers: RawHeaderOps,
    /// Header edits on the way back to the client.
    #[serde(default)]
    pub response_headers: RawHeaderOps,
    /// Time allowed until the upstream's response headers arrive, all
    /// retries included.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout: Option<String>,
    /// Retry policy.
    #[serde(default)]
    pub retries: RawRetries,
    /// Plugins run, in order, before the endpoint is picked.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub plugins: Vec<String>,
}

/// `routes[].retries`
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawRetries {
    /// Attempts in all, the first included (1 = no retry).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attempts: Option<u32>,
    /// Time allowed for each attempt's response headers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub per_try_timeout: Option<String>,
    /// Failures that are retried.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub on: Option<Vec<String>>,
    /// Share of requests that retries may add (`20%` or `0.2`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub budget: Option<RawShare>,
    /// Retries per second always allowed, whatever the budget.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_retries_per_second: Option<u32>,
}

impl RawRetries {
    /// Whether no key is set (the route keeps the default policy).
    pub fn is_unset(&self) -> bool {
        self.attempts.is_none()
            && self.per_try_timeout.is_none()
            && self.on.is_none()
            && self.budget.is_none()
            && self.min_retries_per_second.is_none()
    }
}

/// `routes[].match`
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawMatch {
    /// Exact or leading-wildcard host names.
    #[serde(default)]
    pub hosts: Vec<String>,
    /// Path prefix, matched on whole segments.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path_prefix: Option<String>,
    /// Exact path.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Regular expression over the path.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path_regex: Option<String>,
    /// Allowed methods.
    #[serde(default)]
    pub methods: Vec<String>,
    /// Required headers with exact values.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
}

/// `request_headers` / `response_headers`
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawHeaderOps {
    /// Headers set (replacing any existing value).
    #[serde(default)]
    pub set: BTreeMap<String, String>,
    /// Headers removed.
    #[serde(default)]
    pub remove: Vec<String>,
}

/// `pools[]`
#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawPool {
    /// Unique pool name.
    pub name: String,
    /// Balancing strategy.
    #[serde(default)]
    pub balancer: RawBalancer,
    /// TCP connect timeout.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub connect_timeout: Option<String>,
    /// How long an idle upstream connection is kept.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub idle_timeout: Option<String>,
    /// The HTTP version spoken to the endpoints: `http1` (default) or
    /// `http2`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub protocol: Option<RawProtocol>,
    /// TLS to `https://` endpoints: trust, SNI, client certificate.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls: Option<RawPoolTls>,
    /// The endpoints ("vendors").
    #[serde(default)]
    pub endpoints: Vec<RawEndpoint>,
    /// Active health checks; none when absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub health_check: Option<RawHealthCheck>,
    /// Passive outlier detection (on by default).
    #[serde(default)]
    pub outlier_detection: RawOutlierDetection,
    /// What to do when no endpoint is routable: `any` or `fail`.
    #[serde(default)]
    pub when_none_healthy: RawWhenNoneHealthy,
    /// Periodic scoring of endpoints on errors, latency and cost; none when
    /// absent (configured weights stay).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scoring: Option<RawScoring>,
    /// Plugins run, in order, after an endpoint of this pool is picked.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub plugins: Vec<String>,
}

/// `pools[].scoring`
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawScoring {
    /// Time between scoring ticks.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interval: Option<String>,
    /// Span of data each tick looks at.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub window: Option<String>,
    /// p99 latency any endpoint may have without penalty.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latency_target: Option<String>,
    /// How strongly cost lowers weight (0 ignores cost).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cost_exponent: Option<f64>,
    /// Error ratio with no penalty (`1%`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_ok: Option<RawShare>,
    /// Error ratio at which the error score reaches 0 (`25%`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_max: Option<RawShare>,
    /// Error score below which (two ticks running) the endpoint is ejected.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub eject_below: Option<f64>,
    /// Error score an endpoint must reach again before it can be ejected
    /// by score once more.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rearm_above: Option<f64>,
    /// Requests in the window before the score may eject.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_requests: Option<u32>,
    /// Smallest weight share a scored endpoint keeps while in the pool.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_weight: Option<RawShare>,
    /// `local` (default) or `{ prometheus: { url, timeout, selector } }`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<RawScoringSource>,
}

/// `pools[].scoring.source`: `local` or `{ prometheus: {...} }`.
#[derive(Debug, Deserialize, Serialize)]
#[serde(untagged)]
pub enum RawScoringSource {
    /// `local`: the proxy's own registry (checked in validation).
    Named(String),
    /// A Prometheus server's query API.
    Prometheus(RawPrometheusSource),
}

/// `{ prometheus: {...} }`
#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawPrometheusSource {
    /// The server.
    pub prometheus: RawPrometheus,
}

/// `pools[].scoring.source.prometheus`
#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawPrometheus {
    /// Base URL, `http://host:port`.
    pub url: String,
    /// Time allowed for each query.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout: Option<String>,
    /// Extra label matchers, `{job="switchyard"}`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub selector: Option<String>,
}

/// `pools[].health_check`
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawHealthCheck {
    /// `http` (default) or `tcp`.
    #[serde(default, rename = "type")]
    pub kind: RawCheckKind,
    /// Path probed (http).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Host header sent (http); default: the endpoint's authority.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// Statuses that pass (http); default 200-299.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expected_statuses: Option<OneOrMany<RawStatus>>,
    /// Time between probes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interval: Option<String>,
    /// Time allowed for one probe.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout: Option<String>,
    /// Random spread of each interval (`10%` or `0.1`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jitter: Option<RawShare>,
    /// Passes in a row that make an unhealthy endpoint healthy.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub healthy_threshold: Option<u32>,
    /// Failures in a row that make a healthy endpoint unhealthy.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unhealthy_threshold: Option<u32>,
}

/// `pools[].health_check.type`
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RawCheckKind {
    /// An HTTP GET whose status must be expected.
    #[default]
    Http,
    /// A TCP connect.
    Tcp,
}

/// `pools[].outlier_detection`
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawOutlierDetection {
    /// Turns passive detection off when false (default true).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// Failures in a row that eject (0 turns this trigger off).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub consecutive_failures: Option<u32>,
    /// Failure share over `window` that ejects (`0.5` or `50%`; 0 = off).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure_ratio: Option<RawShare>,
    /// Window of the failure ratio.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub window: Option<String>,
    /// Requests in the window before the ratio counts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_requests: Option<u32>,
    /// First ejection's length; later ones in a row are multiples.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub base_ejection_time: Option<String>,
    /// Longest ejection.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_ejection_time: Option<String>,
    /// Most of the pool's endpoints ejected at once, in percent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_ejection_percent: Option<u32>,
    /// Weight ramp after re-admission (0 turns it off).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub slow_start: Option<String>,
}

/// `pools[].when_none_healthy`
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RawWhenNoneHealthy {
    /// Use the endpoint whose ejection ends soonest.
    #[default]
    Any,
    /// Answer 503 at once.
    Fail,
}

/// `pools[].endpoints[].health_check`
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawEndpointCheck {
    /// Path probed instead of the pool's.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Port probed instead of the endpoint's.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
}

/// `pools[].balancer`
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RawBalancer {
    /// nginx's smooth weighted round robin.
    #[default]
    WeightedRoundRobin,
    /// Plain rotation, ignoring weights (weight 0 still excludes).
    RoundRobin,
    /// Weighted random.
    Random,
    /// Power of two choices on in-flight requests.
    LeastRequest,
}

/// `pools[].endpoints[]`
#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawEndpoint {
    /// Name unique within the pool.
    pub name: String,
    /// `http://host:port[/base]`
    pub url: String,
    /// Relative weight; 0 takes the endpoint out of rotation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub weight: Option<u32>,
    /// Price of one request at this endpoint.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cost: Option<f64>,
    /// Overrides of the pool's health check for this endpoint.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub health_check: Option<RawEndpointCheck>,
    /// Plugins run, in order, after the pool's when this endpoint is picked.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub plugins: Vec<String>,
}
