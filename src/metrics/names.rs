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
