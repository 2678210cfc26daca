//! The per-endpoint monitor task: runs active probes on their schedule and
//! ends ejections and slow starts on time. It never runs on the request
//! path, and it stops when the endpoint leaves the config.
//!
//! Schedule: a new endpoint is probed at once (it takes no traffic before
//! its first verdict); the second probe comes at a random point within the
//! interval, which spreads a fleet restart's probes over the interval; then
//! every `interval`, each one spread by `jitter`.

use std::sync::Arc;
use std::time::Duration;

use super::cell::EndpointHealth;
use super::{now_ms, probe, Millis};

/// Starts the monitor of `health` on the current tokio runtime.
pub fn spawn_monitor(health: Arc<EndpointHealth>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(run(health))
}

fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// `interval` spread uniformly by ±`jitter` (a fraction).
fn jittered(interval: Duration, jitter: f64) -> u64 {
    let base = ms(interval) as f64;
    let spread = base * jitter.clamp(0.0, 0.5);
    let v = if spread > 0.0 {
        base + rand::random_range(-spread..spread)
    } else {
        base
    };
    v.max(1.0) as u64
}

async fn run(h: Arc<EndpointHealth>) {
    let mut settings = h.settings();
    let mut next_probe: Option<Millis> = settings.check.as_ref().map(|_| now_ms());
    let mut probes: u64 = 0;
    loop {
        if h.is_retired() {
            return;
        }
        let now = now_ms();
        let current = h.settings();
        if !Arc::ptr_eq(&current, &settings) {
            next_probe = match (&current.check, next_probe) {
                (None, _) => None,
                (Some(hc), Some(t)) => Some(t.min(now.saturating_add(ms(hc.interval)))),
                (Some(_), None) => Some(now),
            };
            settings = current;
        }
        let tick_next = h.tick(&settings.outlier, now);
        if let (Some(hc), Some(due)) = (&settings.check, next_probe) {
            if due <= now {
                let result = probe(&settings.target, hc).await;
                h.on_probe(result, hc, &settings.outlier);
                probes += 1;
                let wait = if probes == 1 {
                    rand::random_range(0..ms(hc.interval).max(1))
                } else {
                    jittered(hc.interval, hc.jitter)
                };
                next_probe = Some(now_ms().saturating_add(wait));
                continue;
            }
        }
        let deadline = match (next_probe, tick_next) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let notified = h.wake.notified();
        match deadline {
            Some(d) => {
                let sleep = tokio::time::sleep(Duration::from_millis(d.saturating_sub(now)));
                tokio::select! {
                    () = sleep => {}
                    () = notified => {}
                }
            }
            None => notified.await,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    #[test]
    fn jitter_stays_within_its_spread() {
        for _ in 0..1000 {
            let v = super::jittered(Duration::from_secs(5), 0.1);
            assert!((4500..=5500).contains(&v), "{v}");
        }
        assert_eq!(super::jittered(Duration::from_secs(5), 0.0), 5000);
    }
}
