//! The config file schema as plain serde types.
//!
//! Owns: the shape of the YAML file, with `deny_unknown_fields` everywhere.
//! Must not: interpret values. Durations, addresses and URLs stay strings here
//! so that `validate` can report every bad value with its path, not just the
//! first one serde trips over.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub(super) use super::raw_values::{OneOrMany, RawShare, RawStatus};

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
    /// How config changes are picked up.
    #[serde(default)]
    pub reload: RawReload,
}

/// `reload:`
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawReload {
    /// Watch the config file's directory for changes (default true).
    pub watch: Option<bool>,
    /// Quiet time after the last file event before reloading.
    pub debounce: Option<String>,
    /// Re-read the file this often as a fallback; `0` turns polling off.
    pub poll_interval: Option<String>,
}

/// `runtime:`
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawRuntime {
    /// Tokio worker threads; default: number of cores.
    pub worker_threads: Option<usize>,
    /// How long in-flight requests may take to finish on SIGTERM.
    pub shutdown_timeout: Option<String>,
}

/// `admin:`
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawAdmin {
    /// Address of the admin listener.
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
    pub strip_prefix: Option<String>,
    /// Header edits on the way to the upstream.
    #[serde(default)]
    pub request_headers: RawHeaderOps,
    /// Header edits on the way back to the client.
    #[serde(default)]
    pub response_headers: RawHeaderOps,
    /// Time allowed until the upstream's response headers arrive, all
    /// retries included.
    pub timeout: Option<String>,
    /// Retry policy.
    #[serde(default)]
    pub retries: RawRetries,
}

/// `routes[].retries`
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawRetries {
    /// Attempts in all, the first included (1 = no retry).
    pub attempts: Option<u32>,
    /// Time allowed for each attempt's response headers.
    pub per_try_timeout: Option<String>,
    /// Failures that are retried.
    pub on: Option<Vec<String>>,
    /// Share of requests that retries may add (`20%` or `0.2`).
    pub budget: Option<RawShare>,
    /// Retries per second always allowed, whatever the budget.
    pub min_retries_per_second: Option<u32>,
}

/// `routes[].match`
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawMatch {
    /// Exact or leading-wildcard host names.
    #[serde(default)]
    pub hosts: Vec<String>,
    /// Path prefix, matched on whole segments.
    pub path_prefix: Option<String>,
    /// Exact path.
    pub path: Option<String>,
    /// Regular expression over the path.
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
    pub connect_timeout: Option<String>,
    /// How long an idle upstream connection is kept.
    pub idle_timeout: Option<String>,
    /// The endpoints ("vendors").
    #[serde(default)]
    pub endpoints: Vec<RawEndpoint>,
    /// Active health checks; none when absent.
    pub health_check: Option<RawHealthCheck>,
    /// Passive outlier detection (on by default).
    #[serde(default)]
    pub outlier_detection: RawOutlierDetection,
    /// What to do when no endpoint is routable: `any` or `fail`.
    #[serde(default)]
    pub when_none_healthy: RawWhenNoneHealthy,
    /// Periodic scoring of endpoints on errors, latency and cost; none when
    /// absent (configured weights stay).
    pub scoring: Option<RawScoring>,
}

/// `pools[].scoring`
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawScoring {
    /// Time between scoring ticks.
    pub interval: Option<String>,
    /// Span of data each tick looks at.
    pub window: Option<String>,
    /// p99 latency any endpoint may have without penalty.
    pub latency_target: Option<String>,
    /// How strongly cost lowers weight (0 ignores cost).
    pub cost_exponent: Option<f64>,
    /// Error ratio with no penalty (`1%`).
    pub error_ok: Option<RawShare>,
    /// Error ratio at which the error score reaches 0 (`25%`).
    pub error_max: Option<RawShare>,
    /// Error score below which (two ticks running) the endpoint is ejected.
    pub eject_below: Option<f64>,
    /// Error score an endpoint must reach again before it can be ejected
    /// by score once more.
    pub rearm_above: Option<f64>,
    /// Requests in the window before the score may eject.
    pub min_requests: Option<u32>,
    /// Smallest weight share a scored endpoint keeps while in the pool.
    pub min_weight: Option<RawShare>,
    /// `local` (default) or `{ prometheus: { url, timeout, selector } }`.
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
    pub timeout: Option<String>,
    /// Extra label matchers, `{job="switchyard"}`.
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
    pub path: Option<String>,
    /// Host header sent (http); default: the endpoint's authority.
    pub host: Option<String>,
    /// Statuses that pass (http); default 200-299.
    pub expected_statuses: Option<OneOrMany<RawStatus>>,
    /// Time between probes.
    pub interval: Option<String>,
    /// Time allowed for one probe.
    pub timeout: Option<String>,
    /// Random spread of each interval (`10%` or `0.1`).
    pub jitter: Option<RawShare>,
    /// Passes in a row that make an unhealthy endpoint healthy.
    pub healthy_threshold: Option<u32>,
    /// Failures in a row that make a healthy endpoint unhealthy.
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
    pub enabled: Option<bool>,
    /// Failures in a row that eject (0 turns this trigger off).
    pub consecutive_failures: Option<u32>,
    /// Failure share over `window` that ejects (`0.5` or `50%`; 0 = off).
    pub failure_ratio: Option<RawShare>,
    /// Window of the failure ratio.
    pub window: Option<String>,
    /// Requests in the window before the ratio counts.
    pub min_requests: Option<u32>,
    /// First ejection's length; later ones in a row are multiples.
    pub base_ejection_time: Option<String>,
    /// Longest ejection.
    pub max_ejection_time: Option<String>,
    /// Most of the pool's endpoints ejected at once, in percent.
    pub max_ejection_percent: Option<u32>,
    /// Weight ramp after re-admission (0 turns it off).
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
    pub path: Option<String>,
    /// Port probed instead of the endpoint's.
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
    pub weight: Option<u32>,
    /// Price of one request at this endpoint.
    pub cost: Option<f64>,
    /// Overrides of the pool's health check for this endpoint.
    pub health_check: Option<RawEndpointCheck>,
}
