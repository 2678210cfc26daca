//! The config file schema as plain serde types.
//!
//! Owns: the shape of the YAML file, with `deny_unknown_fields` everywhere,
//! and (through `JsonSchema`) the shape of `config/switchyard.schema.json`:
//! the doc comments here are the descriptions editors show, so they speak
//! to operators and give defaults. Must not: interpret values. Durations,
//! addresses and URLs stay strings here so that `validate` can report every
//! bad value with its path, not just the first one serde trips over.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::defaults;
pub(super) use super::raw_access_log::RawAccessLog;
pub(super) use super::raw_admin::RawAdmin;
pub(super) use super::raw_plugins::{RawOnError, RawPlugin, RawPluginLimits};
pub(super) use super::raw_scoring::{RawPrometheusSource, RawScoring, RawScoringSource};
pub(super) use super::raw_tls::{RawListenerTls, RawPoolTls, RawProtocol};
pub(super) use super::raw_values::{OneOrMany, RawShare, RawSize, RawStatus};
use super::schema;

/// A Switchyard config file (`version: 1`). Every key is checked: an
/// unknown key is an error, never ignored. `switchyard check -c FILE`
/// validates a file exactly as `run` loads it.
#[derive(Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "Switchyard configuration", transform = schema::require_listeners)]
pub struct RawConfig {
    /// Config schema version; must be the integer `1`.
    #[schemars(with = "schema::Version")]
    pub version: u32,
    /// Process-level settings: worker threads, shutdown grace period.
    #[serde(default)]
    pub runtime: RawRuntime,
    /// The admin listener: `/metrics`, `/healthz`, `/readyz`, `/config`,
    /// `POST /reload`, and the token that protects the last two.
    #[serde(default)]
    pub admin: RawAdmin,
    /// Traffic listeners; at least one. Every listener serves the same
    /// routes.
    #[serde(default)]
    #[schemars(length(min = 1))]
    pub listeners: Vec<RawListener>,
    /// Routes, tried in file order; the first match wins. With no routes,
    /// every request gets a 404.
    #[serde(default)]
    pub routes: Vec<RawRoute>,
    /// Pools: named groups of upstream endpoints with a balancer.
    #[serde(default)]
    pub pools: Vec<RawPool>,
    /// WebAssembly (proxy-wasm) plugins, declared once and attached by name
    /// to routes, pools and endpoints.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub plugins: Vec<RawPlugin>,
    /// How edits to the file are picked up while running.
    #[serde(default)]
    pub reload: RawReload,
    /// Per-request access log lines; none when absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub access_log: Option<RawAccessLog>,
}

// `Debug` is the config as JSON, redacted as `GET /config` shows it (header
// values under secret-looking names, plugin configs), so that printing a
// parsed config never prints a credential.
impl std::fmt::Debug for RawConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let value = serde_json::to_value(self).unwrap_or_default();
        write!(f, "RawConfig({:?})", super::redact::redact(&value))
    }
}

/// `reload`: the triggers of a live reload. A file event, a poll, `SIGHUP`
/// and `POST /reload` all run the same reload; an invalid file keeps the
/// running config.
#[derive(Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Reload")]
pub struct RawReload {
    /// Watch the config file's directory for changes (in-place writes,
    /// renames, Kubernetes ConfigMap swaps). Default `true`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub watch: Option<bool>,
    /// Quiet time after the last file event before the file is read.
    /// Default `250ms`; `0` allowed.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<schema::Duration>")]
    pub debounce: Option<String>,
    /// Also re-read the file this often, for filesystems that send no
    /// events. Default `5s`; `0` turns polling off.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<schema::Duration>")]
    pub poll_interval: Option<String>,
}

/// `runtime`: process-level settings.
#[derive(Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Runtime")]
pub struct RawRuntime {
    /// Tokio worker threads, 1 to 1024; `1` runs a single-threaded runtime.
    /// Default: the number of CPUs. Needs a restart.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 1024))]
    pub worker_threads: Option<usize>,
    /// On SIGTERM or Ctrl-C, how long in-flight requests get to finish.
    /// Default `30s`; `0` means no grace period.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<schema::Duration>")]
    pub shutdown_timeout: Option<String>,
}

/// `listeners[]`: one socket serving proxied traffic. Plain HTTP/1 and
/// h2c without `tls`; HTTPS (HTTP/1.1 and HTTP/2 by ALPN) with it.
#[derive(Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Listener")]
pub struct RawListener {
    /// Unique listener name; the `listener` metric label.
    #[schemars(with = "schema::Name")]
    pub name: String,
    /// Socket address to bind: an IP literal and a port, such as
    /// `0.0.0.0:8080` or `[::1]:8443` (no host names).
    pub listen: String,
    /// Terminate TLS on this listener. Default: none (plain HTTP).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls: Option<RawListenerTls>,
    /// Limits on what a client may send in a request head.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limits: Option<super::raw_limits::RawListenerLimits>,
}

/// `routes[]`: which requests (`match`) go to which pool, with header
/// edits, a timeout and retries.
#[derive(Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Route")]
pub struct RawRoute {
    /// Unique route name; the `route` metric label.
    #[schemars(with = "schema::Name")]
    pub name: String,
    /// Conditions, all of which must hold. Default `{}`: matches every
    /// request.
    #[serde(default, rename = "match")]
    pub matcher: RawMatch,
    /// Name of the pool that serves this route.
    #[schemars(with = "schema::Name")]
    pub pool: String,
    /// Path prefix removed before forwarding, on whole segments (`/v1`
    /// turns `/v1/a` into `/a`). Must start with `/`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub strip_prefix: Option<String>,
    /// Edits to the request sent upstream.
    #[serde(default)]
    pub request_headers: RawHeaderOps,
    /// Edits to the upstream's response sent to the client.
    #[serde(default)]
    pub response_headers: RawHeaderOps,
    /// Time until the upstream's response headers arrive, all retries
    /// included; then the client gets a 504. Default `15s`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<schema::Duration>")]
    pub timeout: Option<String>,
    /// Retry policy. Default: one attempt, no retry.
    #[serde(default)]
    pub retries: RawRetries,
    /// Largest request body this route takes, such as `10MiB` (0 to
    /// 64GiB); a bigger one gets 413 (at once when Content-Length says so,
    /// mid-stream for a chunked body) and the connection closes. Default:
    /// the listener's `limits.max_body`, which defaults to no limit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_body: Option<RawSize>,
    /// Most requests this route serves at once (1 to 1000000); one more is
    /// shed at once with 503 and `Retry-After: 1`. Default: no limit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_concurrent_requests: Option<u32>,
    /// Plugins run, in order, before the endpoint is picked.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(with = "Vec<schema::PluginName>")]
    pub plugins: Vec<String>,
}

/// `routes[].retries`: when a failed request is tried again, on another
/// endpoint of the pool if there is one. Only idempotent methods (or
/// requests with an `Idempotency-Key`) and bodies up to 64 KiB are
/// retried.
#[derive(Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Retries")]
pub struct RawRetries {
    /// Attempts in all, the first included: 1 (no retry, the default) to 5.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = defaults::MAX_RETRY_ATTEMPTS))]
    pub attempts: Option<u32>,
    /// Time each attempt gets until its response headers arrive; at most
    /// the route's `timeout`. Default: what is left of the route timeout.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<schema::Duration>")]
    pub per_try_timeout: Option<String>,
    /// Failures that are retried. Default `[connect_error, reset, timeout,
    /// http_5xx]`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<Vec<schema::RetryOnName>>", length(min = 1))]
    pub on: Option<Vec<String>>,
    /// Share of requests that retries may add, per pool. Default `20%`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub budget: Option<RawShare>,
    /// Retries per second always allowed, whatever the budget. Default
    /// `10`.
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

/// `routes[].match`: conditions on the request, all of which must hold. Use
/// at most one of `path_prefix`, `path` and `path_regex`.
#[derive(Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Match")]
pub struct RawMatch {
    /// Host names (`api.example.com`) or leading wildcards
    /// (`*.example.com`, one or more extra labels); any one may match.
    /// Case and port are ignored. Default: any host.
    #[serde(default)]
    pub hosts: Vec<String>,
    /// Path prefix matched on whole segments: `/v1` matches `/v1` and
    /// `/v1/x`, not `/v10`. Must start with `/`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path_prefix: Option<String>,
    /// Exact path, compared byte for byte. Must start with `/`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Regular expression over the path (Rust `regex` syntax), not
    /// anchored: write `^/v[0-9]+/pay$` to match the whole path.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path_regex: Option<String>,
    /// Allowed methods, case-insensitive (`GET`, `POST`, extension methods
    /// too). Default: any method.
    #[serde(default)]
    pub methods: Vec<String>,
    /// Headers that must be present with exactly this value (names are
    /// case-insensitive, values case-sensitive).
    #[serde(default)]
    #[schemars(with = "BTreeMap<String, schema::HeaderValue>")]
    pub headers: BTreeMap<String, String>,
}

/// `request_headers` / `response_headers`: header edits, `remove` first,
/// then `set`.
#[derive(Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "HeaderEdits")]
pub struct RawHeaderOps {
    /// Headers set, each replacing every existing value.
    #[serde(default)]
    #[schemars(with = "BTreeMap<String, schema::HeaderValue>")]
    pub set: BTreeMap<String, String>,
    /// Headers removed, with all their values.
    #[serde(default)]
    pub remove: Vec<String>,
}

/// `pools[]`: a named set of upstream endpoints with a balancer, health
/// checks, outlier detection and optional scoring.
#[derive(Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Pool", transform = schema::require_endpoints)]
pub struct RawPool {
    /// Unique pool name; the `pool` metric label.
    #[schemars(with = "schema::Name")]
    pub name: String,
    /// How an endpoint is picked among the routable ones. Default
    /// `weighted_round_robin`.
    #[serde(default)]
    pub balancer: RawBalancer,
    /// Connect timeout for new upstream connections, TLS handshake
    /// included; a failed connect gives a 502. Default `2s`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<schema::Duration>")]
    pub connect_timeout: Option<String>,
    /// How long an idle keep-alive connection is kept for reuse. Default
    /// `90s`; `0` turns pooling off.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<schema::Duration>")]
    pub idle_timeout: Option<String>,
    /// The HTTP version spoken to the endpoints. Default `http1`; gRPC
    /// needs `http2`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub protocol: Option<RawProtocol>,
    /// How `https://` endpoints are connected to: trust, SNI, client
    /// certificate. Default: the system roots.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls: Option<RawPoolTls>,
    /// Limits on what an endpoint may send back.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limits: Option<super::raw_limits::RawPoolLimits>,
    /// The endpoints ("vendors"); at least one.
    #[serde(default)]
    #[schemars(length(min = 1))]
    pub endpoints: Vec<RawEndpoint>,
    /// Active health checks. Default: none (every endpoint counts as
    /// healthy); `{}` turns on an HTTP check with every default.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub health_check: Option<RawHealthCheck>,
    /// Passive outlier detection: ejects endpoints that keep failing real
    /// requests. On by default.
    #[serde(default)]
    pub outlier_detection: RawOutlierDetection,
    /// What a request gets when no endpoint is routable. Default `any`.
    #[serde(default)]
    pub when_none_healthy: RawWhenNoneHealthy,
    /// Periodic scoring of endpoints on errors, latency and cost, which
    /// sets their weights. Default: none (configured weights stay).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scoring: Option<RawScoring>,
    /// Most requests in flight to this pool's endpoints at once, over all
    /// the routes that use it (1 to 1000000); one more is shed at once with
    /// 503 and `Retry-After: 1`. Default: no limit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_concurrent_requests: Option<u32>,
    /// Plugins run, in order, after an endpoint of this pool is picked (on
    /// every attempt), before the endpoint's own.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(with = "Vec<schema::PluginName>")]
    pub plugins: Vec<String>,
}

/// `pools[].health_check`: background probes of every endpoint.
#[derive(Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "HealthCheck")]
pub struct RawHealthCheck {
    /// The kind of probe. Default `http`.
    #[serde(default, rename = "type")]
    pub kind: RawCheckKind,
    /// `http` only: the path probed (a query is allowed). Default `/`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// `http` only: the `Host` header of probes, a host name with an
    /// optional port. Default: the endpoint's `HOST:PORT`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// `http` only: the statuses that pass, one item or a list (`200`,
    /// `"300-399"`, `[200, "3xx"]`). Default `"2xx"`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expected_statuses: Option<OneOrMany<RawStatus>>,
    /// Time between probes of one endpoint. Default `5s`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<schema::Duration>")]
    pub interval: Option<String>,
    /// Time allowed for one probe, shorter than `interval`. Default `2s`,
    /// or half the interval if that is shorter.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<schema::Duration>")]
    pub timeout: Option<String>,
    /// Random spread of each wait, as a share of `interval`, below 50%.
    /// Default `10%`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jitter: Option<RawShare>,
    /// Passes in a row that make an unhealthy endpoint healthy, 1 to 100.
    /// Default `2`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 100))]
    pub healthy_threshold: Option<u32>,
    /// Failures in a row that make a healthy endpoint unhealthy, 1 to 100.
    /// Default `3`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 100))]
    pub unhealthy_threshold: Option<u32>,
}

/// `pools[].health_check.type`
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
#[schemars(rename = "CheckKind")]
pub enum RawCheckKind {
    /// A `GET` of `path` that passes when the status is expected.
    #[default]
    Http,
    /// Passes when a TCP connection opens.
    Tcp,
}

/// `pools[].outlier_detection`: ejects an endpoint that keeps failing real
/// requests (connect errors, timeouts, resets, 5xx), for a while.
#[derive(Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "OutlierDetection")]
pub struct RawOutlierDetection {
    /// `false` turns outlier detection off for this pool. Default `true`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// Eject after this many failures in a row. Default `5`; `0` turns this
    /// trigger off.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub consecutive_failures: Option<u32>,
    /// Eject when this share of the requests in `window` failed. Default
    /// `50%`; `0` turns this trigger off.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure_ratio: Option<RawShare>,
    /// The window of `failure_ratio`. Default `10s`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<schema::Duration>")]
    pub window: Option<String>,
    /// Requests in the window before `failure_ratio` counts. Default `20`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_requests: Option<u32>,
    /// Length of a first ejection; later ones in a row are multiples.
    /// Default `30s`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<schema::Duration>")]
    pub base_ejection_time: Option<String>,
    /// The longest ejection. Default `300s`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<schema::Duration>")]
    pub max_ejection_time: Option<String>,
    /// At most this percentage of the pool's endpoints is ejected at once
    /// (one may always be). Default `50`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(range(max = 100))]
    pub max_ejection_percent: Option<u32>,
    /// Weight ramp from 10% to 100% after an ejection or a failed health
    /// check ends. Default `30s`; `0` turns the ramp off.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<schema::Duration>")]
    pub slow_start: Option<String>,
}

/// `pools[].when_none_healthy`
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
#[schemars(rename = "WhenNoneHealthy")]
pub enum RawWhenNoneHealthy {
    /// Send the request to the endpoint whose ejection ends soonest.
    #[default]
    Any,
    /// Answer 503 at once.
    Fail,
}

/// `pools[].endpoints[].health_check`: overrides of the pool's check.
#[derive(Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "EndpointCheck")]
pub struct RawEndpointCheck {
    /// Path probed instead of the pool's (`http` checks only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Port probed instead of the endpoint URL's.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub port: Option<u16>,
}

/// `pools[].balancer`
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
#[schemars(rename = "Balancer")]
pub enum RawBalancer {
    /// nginx's smooth weighted round robin: each endpoint gets `weight`
    /// picks in every cycle, spread out evenly.
    #[default]
    WeightedRoundRobin,
    /// Plain rotation, ignoring weights (weight 0 still excludes).
    RoundRobin,
    /// Weighted random.
    Random,
    /// Power of two choices: the one with fewer requests in flight.
    LeastRequest,
}

/// `pools[].endpoints[]`: one upstream server.
#[derive(Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Endpoint")]
pub struct RawEndpoint {
    /// Name unique within the pool; the `endpoint` metric label.
    #[schemars(with = "schema::Name")]
    pub name: String,
    /// `http://HOST[:PORT][/base]` or `https://HOST[:PORT][/base]`; a path
    /// is put in front of every forwarded path.
    pub url: String,
    /// Relative weight, 0 to 1,000,000. Default `1`; `0` takes the endpoint
    /// out of rotation.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(range(max = defaults::MAX_WEIGHT))]
    pub weight: Option<u32>,
    /// Price of one request at this endpoint, used by `scoring`. Default
    /// `1.0`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub cost: Option<f64>,
    /// Overrides of the pool's health check for this endpoint (only with a
    /// pool `health_check`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub health_check: Option<RawEndpointCheck>,
    /// Plugins run, in order, after the pool's when this endpoint is picked.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(with = "Vec<schema::PluginName>")]
    pub plugins: Vec<String>,
}
