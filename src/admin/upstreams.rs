//! `GET /upstreams`: every pool and endpoint with its health as JSON.
//!
//! Owns: the shape of that document. Times are Unix seconds (floats);
//! weights are the configured weight and the effective weight the
//! balancer uses now (configured × slow-start factor, 0 when not routable).

use serde_json::{json, Value};

use crate::proxy::Dataplane;
use crate::upstream::health::{now_ms, unix_seconds, HealthView, ProbeResult};

/// The document.
pub fn document(dp: &Dataplane) -> Value {
    let pools: Vec<Value> = dp
        .pools
        .iter()
        .map(|pool| {
            let slow_start = pool.config.outlier.slow_start;
            let endpoints: Vec<Value> = pool
                .endpoints
                .iter()
                .map(|e| {
                    let h = &e.state.health;
                    let factor = h.weight_permille(slow_start);
                    let effective = f64::from(e.config.weight) * f64::from(factor) / 1000.0;
                    let mut doc = endpoint(
                        &e.config.name,
                        &e.config.url.original,
                        h.view(),
                        e.config.weight,
                        effective,
                        e.state.in_flight(),
                    );
                    doc["score"] = h.score_report().map_or(Value::Null, |r| {
                        json!({
                            "source": r.source,
                            "error": r.score.error,
                            "latency": r.score.latency,
                            "cost": r.score.cost,
                            "total": r.score.total,
                            "weight_factor": r.factor,
                            "can_eject": r.armed,
                            "raw": {
                                "requests": r.stats.requests,
                                "failures": r.stats.failures,
                                "error_ratio_smoothed": r.score.error_ratio,
                                "p99_seconds": r.stats.p99,
                                "cost": r.cost,
                            },
                        })
                    });
                    doc
                })
                .collect();
            json!({
                "name": &*pool.name,
                "protocol": pool.config.protocol.as_str(),
                "tls": pool.config.endpoints.iter().any(|e| e.url.is_tls()),
                "balancer": pool.config.balancer.as_str(),
                "when_none_healthy": pool.config.when_none_healthy.as_str(),
                "health_check": pool.config.health_check.as_ref().map(|c| json!({
                    "type": c.kind.as_str(),
                    "path": c.path,
                    "interval_seconds": c.interval.as_secs_f64(),
                    "timeout_seconds": c.timeout.as_secs_f64(),
                    "healthy_threshold": c.healthy_threshold,
                    "unhealthy_threshold": c.unhealthy_threshold,
                })),
                "outlier_detection": pool.config.outlier.enabled,
                "scoring": pool.config.scoring.as_ref().map(|s| json!({
                    "source": s.source.as_str(),
                    "interval_seconds": s.interval.as_secs_f64(),
                    "window_seconds": s.window.as_secs_f64(),
                })),
                "routable": endpoints.iter().filter(|e| e["routable"] == true).count(),
                "endpoints": endpoints,
            })
        })
        .collect();
    json!({ "generation": dp.generation, "pools": pools })
}

fn endpoint(
    name: &str,
    url: &str,
    v: HealthView,
    weight: u32,
    effective: f64,
    in_flight: u64,
) -> Value {
    let now = now_ms();
    let probe = v.last_probe.as_ref().map(|(at, r)| {
        json!({
            "result": r.label(),
            "detail": match r { ProbeResult::Failure(why) => Some(why.as_str()), _ => None },
            "at": unix_seconds(*at),
            "seconds_ago": now.saturating_sub(*at) as f64 / 1000.0,
        })
    });
    let ejection = v.ejection.map(|e| {
        json!({
            "reason": e.reason.as_str(),
            "since": unix_seconds(e.since),
            "until": unix_seconds(e.until),
            "seconds_left": e.until.saturating_sub(now) as f64 / 1000.0,
        })
    });
    let change = v
        .last_change
        .as_ref()
        .map(|(at, to, why)| json!({ "at": unix_seconds(*at), "to": to.as_str(), "reason": why }));
    json!({
        "name": name,
        "url": url,
        "status": v.status.as_str(),
        "routable": effective > 0.0,
        "weight": { "configured": weight, "effective": effective },
        "in_flight": in_flight,
        "health_check": {
            "enabled": v.checked,
            "last": probe,
            "consecutive_successes": v.probe_successes,
            "consecutive_failures": v.probe_failures,
        },
        "outlier": {
            "consecutive_failures": v.consecutive_failures,
            "ejections_in_row": v.ejections_in_row,
            "ejected": ejection,
        },
        "slow_start_since": v.ramp_since.map(unix_seconds),
        "last_change": change,
    })
}
