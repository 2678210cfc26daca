//! Endpoint health: active probes, passive outlier detection, ejection
//! caps, slow start and the no-healthy fallback.
//!
//! Owns: the pure state machine (`machine`), the failure window, probes,
//! the per-endpoint monitor task, and the atomics the request path reads.
//! Must not: pick endpoints (the balancer does, from the weights these
//! states imply) or know about routes.
//!
//! Layout: every endpoint has one `EndpointHealth` inside its long-lived
//! `EndpointState`, so health survives reloads. Its `Machine` sits behind a
//! mutex taken by probes and by each finished request; the result is
//! published to atomics (status, slow-start start, time out until) that the
//! balancer reads on every pick without locking.

mod cell;
mod machine;
mod monitor;
mod probe;
mod types;
mod window;

pub use cell::{EndpointHealth, HealthSettings, ProbeTarget};
pub use machine::{
    ramp_permille, EjectReason, Ejection, HealthView, Machine, ProbeResult, Status, Transition,
    HALF_OPEN_SUCCESSES,
};
pub use monitor::spawn_monitor;
pub use probe::probe;

use std::sync::OnceLock;
use std::time::Instant;

/// Milliseconds on the process's monotonic clock.
pub type Millis = u64;

static EPOCH: OnceLock<Instant> = OnceLock::new();

/// Now, in milliseconds since the process's health clock started.
pub fn now_ms() -> Millis {
    millis_at(Instant::now())
}

/// `at` in milliseconds since the health clock started.
pub fn millis_at(at: Instant) -> Millis {
    let epoch = *EPOCH.get_or_init(Instant::now);
    u64::try_from(at.saturating_duration_since(epoch).as_millis()).unwrap_or(u64::MAX)
}

/// Unix time in seconds of health-clock time `t`.
pub fn unix_seconds(t: Millis) -> f64 {
    let now = now_ms();
    let wall = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64());
    wall - (now as f64 - t as f64) / 1000.0
}

#[cfg(test)]
mod tests;
