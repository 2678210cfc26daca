//! Every config default, in one place.
//!
//! Owns: default values and their units. `docs/CONFIG.md` documents the same
//! numbers; change both together.

use std::time::Duration;

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
/// Largest accepted endpoint weight, so that weight sums cannot overflow.
pub const MAX_WEIGHT: u32 = 1_000_000;

/// `runtime.worker_threads`: the number of cores.
pub fn worker_threads() -> usize {
    std::thread::available_parallelism()
        .map(std::num::NonZeroUsize::get)
        .unwrap_or(1)
}
