//! Metric names: reference a constant, never a literal.

/// Requests served, by listener, route and status class.
pub const HTTP_REQUESTS_TOTAL: &str = "switchyard_http_requests_total";
/// Request duration histogram, from request head to end of response body.
pub const HTTP_REQUEST_DURATION_SECONDS: &str = "switchyard_http_request_duration_seconds";
/// Upstream attempts by outcome.
pub const UPSTREAM_REQUESTS_TOTAL: &str = "switchyard_upstream_requests_total";
/// Time to upstream response headers.
pub const UPSTREAM_RESPONSE_DURATION_SECONDS: &str =
    "switchyard_upstream_response_duration_seconds";
/// Upstream requests in flight.
pub const UPSTREAM_IN_FLIGHT_REQUESTS: &str = "switchyard_upstream_in_flight_requests";
/// Upgraded connections (WebSocket and other `Upgrade`s) open, by listener.
pub const UPGRADED_CONNECTIONS: &str = "switchyard_upgraded_connections";
/// Errors the proxy generated, by reason.
pub const PROXY_ERRORS_TOTAL: &str = "switchyard_proxy_errors_total";
/// Build information.
pub const BUILD_INFO: &str = "switchyard_build_info";
/// Config reloads by result (success, failure).
pub const CONFIG_RELOADS_TOTAL: &str = "switchyard_config_reloads_total";
/// 1 if the last reload succeeded, else 0.
pub const CONFIG_LAST_RELOAD_SUCCESS: &str = "switchyard_config_last_reload_success";
/// When the last reload finished (Unix seconds).
pub const CONFIG_LAST_RELOAD_TIMESTAMP_SECONDS: &str =
    "switchyard_config_last_reload_timestamp_seconds";
/// The active config generation.
pub const CONFIG_GENERATION: &str = "switchyard_config_generation";
/// 1 if an endpoint is routable, else 0.
pub const UPSTREAM_HEALTHY: &str = "switchyard_upstream_healthy";
/// Active health checks by result (success, failure, timeout).
pub const HEALTH_CHECKS_TOTAL: &str = "switchyard_health_checks_total";
/// Times an endpoint was taken out of its pool, by reason.
pub const UPSTREAM_EJECTIONS_TOTAL: &str = "switchyard_upstream_ejections_total";
/// Retries sent, by the failure that caused them.
pub const UPSTREAM_RETRIES_TOTAL: &str = "switchyard_upstream_retries_total";
/// Retries refused because the pool's retry budget was spent.
pub const RETRY_BUDGET_EXHAUSTED_TOTAL: &str = "switchyard_retry_budget_exhausted_total";
/// Requests that found no routable endpoint in their pool.
pub const POOL_NO_HEALTHY_TOTAL: &str = "switchyard_pool_no_healthy_total";
/// An endpoint's score components (error, latency, cost, total).
pub const UPSTREAM_SCORE: &str = "switchyard_upstream_score";
/// An endpoint's weight (configured, effective).
pub const UPSTREAM_WEIGHT: &str = "switchyard_upstream_weight";
/// 1 for an endpoint's current breaker state.
pub const UPSTREAM_STATE: &str = "switchyard_upstream_state";
/// 1 for the scoring source a pool's last tick used.
pub const SCORING_SOURCE: &str = "switchyard_scoring_source";
/// Plugin callbacks by plugin, phase and result.
pub const PLUGIN_CALLS_TOTAL: &str = "switchyard_plugin_calls_total";
/// Time spent in plugin callbacks, by plugin and phase.
pub const PLUGIN_DURATION_SECONDS: &str = "switchyard_plugin_duration_seconds";
/// Downstream TLS handshakes, by listener and result.
pub const TLS_HANDSHAKES_TOTAL: &str = "switchyard_tls_handshakes_total";
/// Successful downstream TLS handshakes that resumed a session.
pub const TLS_RESUMED_HANDSHAKES_TOTAL: &str = "switchyard_tls_resumed_handshakes_total";
/// When each loaded certificate expires (Unix seconds).
pub const TLS_CERTIFICATE_EXPIRY_TIMESTAMP_SECONDS: &str =
    "switchyard_tls_certificate_expiry_timestamp_seconds";
/// Access log lines written.
pub const ACCESS_LOG_LINES_TOTAL: &str = "switchyard_access_log_lines_total";
/// Access log lines lost, by reason (queue full, write error).
pub const ACCESS_LOG_DROPPED_TOTAL: &str = "switchyard_access_log_dropped_total";
/// Admin requests refused for a missing or wrong admin token, by reason.
pub const ADMIN_AUTH_FAILURES_TOTAL: &str = "switchyard_admin_auth_failures_total";
