//! The `pools[].scoring` part of the config file schema, as plain serde
//! types.
//!
//! Owns: the shape of `scoring:`, with `deny_unknown_fields` like the rest
//! of `raw`. Must not: interpret values (ranges, durations and the source
//! name are checked by `validate_scoring`).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::raw_values::RawShare;
use super::schema;

/// `pools[].scoring`: every `interval`, each endpoint is rated on errors,
/// latency and cost; the score sets its weight, and an endpoint whose error
/// score stays low is ejected.
#[derive(Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Scoring")]
pub struct RawScoring {
    /// Time between scoring ticks. Default `10s` (`15s` with Prometheus).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<schema::Duration>")]
    pub interval: Option<String>,
    /// Span of data each tick looks at, at least `interval`. Default `60s`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<schema::Duration>")]
    pub window: Option<String>,
    /// p99 time to response headers any endpoint may have without penalty.
    /// Default `250ms`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<schema::Duration>")]
    pub latency_target: Option<String>,
    /// How strongly cost lowers weight, 0 to 4; `0` ignores cost. Default
    /// `0.5`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 4))]
    pub cost_exponent: Option<f64>,
    /// Error ratio with no penalty. Default `1%`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_ok: Option<RawShare>,
    /// Error ratio at which the error score reaches 0, above `error_ok`.
    /// Default `25%`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_max: Option<RawShare>,
    /// Eject when the error score is below this (0 to 1) for two ticks
    /// running. Default `0.2`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 1))]
    pub eject_below: Option<f64>,
    /// After a score ejection, the error score must reach this (0 to 1,
    /// at least `eject_below`) before it may eject again. Default `0.6`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 1))]
    pub rearm_above: Option<f64>,
    /// Requests in the window before the score may eject. Default `20`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_requests: Option<u32>,
    /// Weight floor of a scored endpoint while in the pool, so it keeps
    /// being measured. Default `5%`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_weight: Option<RawShare>,
    /// Where the numbers come from: `local` (the proxy's own metrics, the
    /// default) or `{ prometheus: { url, timeout, selector } }`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<RawScoringSource>,
}

/// `pools[].scoring.source`: `local` or `{ prometheus: {...} }`.
#[derive(Debug, Deserialize, Serialize, JsonSchema)]
#[serde(untagged)]
#[schemars(rename = "ScoringSource")]
pub enum RawScoringSource {
    /// `local`: deltas of this proxy's own counters and histogram.
    // Any text deserializes; validation accepts only `local`.
    Named(#[schemars(with = "schema::LocalSource")] String),
    /// A Prometheus server's query API, summed over every instance; a
    /// failed query falls back to local data for that tick.
    Prometheus(RawPrometheusSource),
}

/// `{ prometheus: {...} }`
#[derive(Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "PrometheusSource")]
pub struct RawPrometheusSource {
    /// The Prometheus server to query.
    pub prometheus: RawPrometheus,
}

/// `pools[].scoring.source.prometheus`
#[derive(Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Prometheus")]
pub struct RawPrometheus {
    /// Base URL of the server, `http://HOST:PORT[/PATH]`.
    pub url: String,
    /// Time allowed for each query. Default `2s`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<schema::Duration>")]
    pub timeout: Option<String>,
    /// Extra label matchers added to every query, `{job="switchyard"}`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub selector: Option<String>,
}
