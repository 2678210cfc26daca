//! Every config default, in one place.
//!
//! Owns: default values and their units. `docs/CONFIG.md` documents the same
//! numbers; change both together.

use std::time::Duration;

use super::access_log::AccessLogFormat;

/// `admin.listen`
pub const ADMIN_LISTEN: &str = "127.0.0.1:9901";
/// `runtime.shutdown_timeout`
pub const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(30);
/// `routes[].timeout`
pub const ROUTE_TIMEOUT: Duration = Duration::from_secs(15);
/// `pools[].connect_timeout`
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// `pools[].idle_timeout`
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(90);
/// `pools[].tls.insecure_skip_verify`
pub const TLS_INSECURE_SKIP_VERIFY: bool = false;
/// `listeners[].tls.client_auth.required`
pub const TLS_CLIENT_AUTH_REQUIRED: bool = true;
/// `listeners[].tls.session_resumption`
pub const TLS_SESSION_RESUMPTION: bool = true;
/// `listeners[].limits.max_header_bytes`
pub const MAX_HEADER_BYTES: usize = 64 * 1024;
/// `pools[].limits.max_response_header_bytes`
pub const MAX_RESPONSE_HEADER_BYTES: usize = 64 * 1024;
/// `listeners[].limits.max_headers`
pub const MAX_HEADERS: usize = 100;
/// `listeners[].limits.header_read_timeout`
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// `listeners[].limits.idle_timeout` (nginx's `keepalive_timeout` is 75 s,
/// Envoy's `idle_timeout` an hour; a minute outlives most clients' pools).
pub const CONN_IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// `listeners[].tls.handshake_timeout`
pub const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// `access_log.format`
pub const ACCESS_LOG_FORMAT: AccessLogFormat = AccessLogFormat::Json;
/// `access_log.path`: the process's standard output.
pub const ACCESS_LOG_PATH: &str = "stdout";
/// `reload.watch`
pub const RELOAD_WATCH: bool = true;
/// `reload.debounce`
pub const RELOAD_DEBOUNCE: Duration = Duration::from_millis(250);
/// `reload.poll_interval`
pub const RELOAD_POLL_INTERVAL: Duration = Duration::from_secs(5);
/// `pools[].endpoints[].weight`
pub const ENDPOINT_WEIGHT: u32 = 1;
/// `pools[].endpoints[].cost`
pub const ENDPOINT_COST: f64 = 1.0;
/// `health_check.path`
pub const HC_PATH: &str = "/";
/// `health_check.interval`
pub const HC_INTERVAL: Duration = Duration::from_secs(5);
/// `health_check.timeout`
pub const HC_TIMEOUT: Duration = Duration::from_secs(2);
/// `health_check.jitter` (fraction of the interval)
pub const HC_JITTER: f64 = 0.1;
/// `health_check.healthy_threshold`
pub const HC_HEALTHY_THRESHOLD: u32 = 2;
/// `health_check.unhealthy_threshold`
pub const HC_UNHEALTHY_THRESHOLD: u32 = 3;
/// `outlier_detection.consecutive_failures`
pub const OD_CONSECUTIVE_FAILURES: u32 = 5;
/// `outlier_detection.failure_ratio`
pub const OD_FAILURE_RATIO: f64 = 0.5;
/// `outlier_detection.window`
pub const OD_WINDOW: Duration = Duration::from_secs(10);
/// `outlier_detection.min_requests`
pub const OD_MIN_REQUESTS: u32 = 20;
/// `outlier_detection.base_ejection_time`
pub const OD_BASE_EJECTION_TIME: Duration = Duration::from_secs(30);
/// `outlier_detection.max_ejection_time`
pub const OD_MAX_EJECTION_TIME: Duration = Duration::from_secs(300);
/// `outlier_detection.max_ejection_percent`
pub const OD_MAX_EJECTION_PERCENT: u32 = 50;
/// `outlier_detection.slow_start`
pub const OD_SLOW_START: Duration = Duration::from_secs(30);
/// `retries.attempts` (1 = no retry)
pub const RETRY_ATTEMPTS: u32 = 1;
/// Most attempts a route may configure.
pub const MAX_RETRY_ATTEMPTS: u32 = 5;
/// `retries.budget`
pub const RETRY_BUDGET: f64 = 0.2;
/// `retries.min_retries_per_second`
pub const RETRY_MIN_PER_SECOND: u32 = 10;
/// Largest request body kept for replay by a retry.
pub const RETRY_MAX_BODY: usize = 64 * 1024;
/// Largest accepted endpoint weight, so that weight sums cannot overflow.
pub const MAX_WEIGHT: u32 = 1_000_000;

/// `runtime.worker_threads`: the number of cores.
pub fn worker_threads() -> usize {
    std::thread::available_parallelism()
        .map(std::num::NonZeroUsize::get)
        .unwrap_or(1)
}

/// `scoring.interval` with the local source
pub const SCORING_INTERVAL: Duration = Duration::from_secs(10);
/// `scoring.interval` with a Prometheus source
pub const SCORING_INTERVAL_PROMETHEUS: Duration = Duration::from_secs(15);
/// `scoring.window`
pub const SCORING_WINDOW: Duration = Duration::from_secs(60);
/// `scoring.latency_target`
pub const SCORING_LATENCY_TARGET: Duration = Duration::from_millis(250);
/// `scoring.cost_exponent`
pub const SCORING_COST_EXPONENT: f64 = 0.5;
/// `scoring.error_ok`
pub const SCORING_ERROR_OK: f64 = 0.01;
/// `scoring.error_max`
pub const SCORING_ERROR_MAX: f64 = 0.25;
/// `scoring.eject_below`
pub const SCORING_EJECT_BELOW: f64 = 0.2;
/// `scoring.rearm_above`
pub const SCORING_REARM_ABOVE: f64 = 0.6;
/// `scoring.min_requests`
pub const SCORING_MIN_REQUESTS: u32 = 20;
/// `scoring.min_weight`
pub const SCORING_MIN_WEIGHT: f64 = 0.05;
/// `scoring.source.prometheus.timeout`
pub const PROMETHEUS_TIMEOUT: Duration = Duration::from_secs(2);
/// `plugins[].limits.memory`
pub const DEFAULT_PLUGIN_MEMORY: u64 = 16 << 20;
/// `plugins[].limits.time`
pub const DEFAULT_PLUGIN_TIME: Duration = Duration::from_millis(5);
/// `plugins[].limits.body`
pub const DEFAULT_PLUGIN_BODY: usize = 1 << 20;
/// Smallest `plugins[].limits.memory`: one WebAssembly page.
pub const MIN_PLUGIN_MEMORY: u64 = 64 << 10;
/// Largest `plugins[].limits.memory`: all a 32-bit linear memory can address.
pub const MAX_PLUGIN_MEMORY: u64 = 4 << 30;
/// Largest `plugins[].limits.time`.
pub const MAX_PLUGIN_TIME: Duration = Duration::from_secs(10);
/// Largest `plugins[].limits.body`.
pub const MAX_PLUGIN_BODY: usize = 64 << 20;
/// Longest plugin name.
pub const MAX_PLUGIN_NAME: usize = 64;
