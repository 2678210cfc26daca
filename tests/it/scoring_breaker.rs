//! The scoring circuit breaker end to end (issue 5), through the real
//! listener with real upstreams: a vendor whose errors push its error score
//! down is ejected by the scorer (not by passive detection, whose triggers
//! are set out of reach), comes back through probation and slow start, does
//! not flap while it hovers around the threshold, and a `Retry-After`
//! takes it out for exactly as long as it asks.
//!
//! Ticks are 200 ms and windows 1 s. Load is paced and bounded in count
//! and time; every wait polls with a deadline.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::task::JoinHandle;
use tokio::time::MissedTickBehavior;

use crate::common::{
    client, config, endpoint, eventually, get_on, metric, metrics_text, start_proxy, upstreams,
    wait_status, Health, TestUpstream,
};

/// The scoring interval of every test here.
const TICK: Duration = Duration::from_millis(200);
/// The scoring window of every test here.
const WINDOW: Duration = Duration::from_secs(1);
/// Headroom for a loaded 2-core machine on top of a documented bound.
const SLACK: Duration = Duration::from_secs(2);
/// Scoring settings: latency and cost never lower a score here, so only
/// errors move it.
const SCORING: &str = "interval: 200ms, window: 1s, latency_target: 1s";
/// Passive detection that never trips (so the score is what ejects), with
/// short ejections and slow start.
const OUTLIER: &str = "consecutive_failures: 1000, failure_ratio: 0, base_ejection_time: 1s, max_ejection_time: 10s, slow_start: 1s";

/// One pool `p` behind route `r`. `endpoints` are `(name, url, weight)`.
fn yaml(endpoints: &[(&str, String, u32)], scoring: &str, extra: &str) -> String {
    let list: String = endpoints
        .iter()
        .map(|(n, u, w)| format!("      - {{ name: {n}, url: '{u}', weight: {w} }}\n"))
        .collect();
    config(&format!(
        "routes: [{{ name: r, pool: p }}]\npools:\n  - name: p\n    scoring: {{ {scoring} }}\n    outlier_detection: {{ {OUTLIER} }}\n{extra}    endpoints:\n{list}"
    ))
}

/// Paced GETs of `/` in the background, one at a time, until stopped, or
/// `max_requests` were sent, or `max_time` passed. It can pause.
struct Load {
    stop: Arc<AtomicBool>,
    paused: Arc<AtomicBool>,
    busy: Arc<AtomicBool>,
    sent: Arc<AtomicU64>,
    statuses: Arc<Mutex<BTreeMap<u16, u64>>>,
    task: JoinHandle<()>,
}

impl Load {
    fn start(addr: SocketAddr, period: Duration, max_requests: u64, max_time: Duration) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let paused = Arc::new(AtomicBool::new(false));
        let busy = Arc::new(AtomicBool::new(false));
        let sent = Arc::new(AtomicU64::new(0));
        let statuses: Arc<Mutex<BTreeMap<u16, u64>>> = Arc::default();
        let (s, p, b, n, st) = (
            stop.clone(),
            paused.clone(),
            busy.clone(),
            sent.clone(),
            statuses.clone(),
        );
        let task = tokio::spawn(async move {
            let http = client();
            let end = Instant::now() + max_time;
            let mut ticker = tokio::time::interval(period);
            ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
            while n.load(Ordering::SeqCst) < max_requests
                && Instant::now() < end
                && !s.load(Ordering::SeqCst)
            {
                ticker.tick().await;
                // Busy first, then the pause flag: `pause` sets the flag
                // first, then waits for not busy (so no request is sent
                // after `pause` returns).
                b.store(true, Ordering::SeqCst);
                if p.load(Ordering::SeqCst) {
                    b.store(false, Ordering::SeqCst);
                    continue;
                }
                let r = get_on(&http, addr, "/").await;
                b.store(false, Ordering::SeqCst);
                n.fetch_add(1, Ordering::SeqCst);
                *st.lock().unwrap().entry(r.status).or_default() += 1;
            }
        });
        Self {
            stop,
            paused,
            busy,
            sent,
            statuses,
            task,
        }
    }

    /// Stops sending; returns once no request is in flight.
    async fn pause(&self) {
        self.paused.store(true, Ordering::SeqCst);
        eventually(Duration::from_secs(10), || async {
            (!self.busy.load(Ordering::SeqCst)).then_some(())
        })
        .await;
    }

    fn resume(&self) {
        self.paused.store(false, Ordering::SeqCst);
    }

    fn sent(&self) -> u64 {
        self.sent.load(Ordering::SeqCst)
    }

    /// Stops and returns the count of each status the clients got.
    async fn stop(self) -> BTreeMap<u16, u64> {
        self.stop.store(true, Ordering::SeqCst);
        self.task.await.expect("the load task did not panic");
        let statuses = self.statuses.lock().unwrap().clone();
        statuses
    }
}

/// Endpoint `name` of pool `p` in a fresh `/upstreams` document.
async fn ep(admin: SocketAddr, name: &str) -> Value {
    endpoint(&upstreams(admin).await, "p", name).clone()
}

/// `switchyard_upstream_ejections_total` of `p/name` by `reason`.
fn ejections(m: &str, name: &str, reason: &str) -> f64 {
    metric(
        m,
        "switchyard_upstream_ejections_total",
        &[("pool", "p"), ("endpoint", name), ("reason", reason)],
    )
}

/// `switchyard_upstream_state` of `p/name` for `state`.
fn state(m: &str, name: &str, state: &str) -> f64 {
    metric(
        m,
        "switchyard_upstream_state",
        &[("pool", "p"), ("endpoint", name), ("state", state)],
    )
}

fn f(v: &Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("not a number: {v}"))
}

fn text(v: &Value) -> &str {
    v.as_str().unwrap_or_else(|| panic!("not a string: {v}"))
}

/// The last transition as `(at, to, reason)`.
fn last_change(e: &Value) -> (f64, String, String) {
    let c = &e["last_change"];
    (
        f(&c["at"]),
        text(&c["to"]).to_string(),
        text(&c["reason"]).to_string(),
    )
}

#[tokio::test]
async fn a_vendor_at_30_percent_errors_is_scored_out_and_readmitted_through_probation() {
    let a = TestUpstream::spawn("a").await;
    let v = TestUpstream::spawn("v").await;
    let proxy = start_proxy(&yaml(
        &[("a", a.url(), 10), ("v", v.url(), 10)],
        SCORING,
        "",
    ))
    .await;
    let (web, admin) = (proxy.listener_addr("web").unwrap(), proxy.admin_addr());
    // About 200 requests a second; at most 4000 requests or 30 s.
    let load = Load::start(web, Duration::from_millis(5), 4000, Duration::from_secs(30));

    // A good vendor first: scored, full weight, armed.
    eventually(Duration::from_secs(10), || async {
        let e = ep(admin, "v").await;
        let s = &e["score"];
        (s["raw"]["requests"].as_f64() >= Some(20.0)
            && s["weight_factor"] == 1.0
            && s["can_eject"] == true)
            .then_some(())
    })
    .await;

    // 3 of every 10 requests fail from now on.
    v.set_failures(3, 10);
    let switched = Instant::now();
    let mut first_low: Option<Instant> = None;
    let end = switched + WINDOW + 2 * TICK + SLACK;
    let out = loop {
        let e = ep(admin, "v").await;
        if e["status"] == "ejected" {
            break e;
        }
        let s = &e["score"];
        if first_low.is_none() && f(&s["error"]) < 0.2 && f(&s["raw"]["requests"]) >= 20.0 {
            first_low = Some(Instant::now());
        }
        assert!(
            Instant::now() < end,
            "not ejected within window + 2 ticks + slack of the errors starting: {e}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let ejected_at = Instant::now();
    // The tick that first scored it low is followed by the one that ejects.
    if let Some(low) = first_low {
        assert!(
            ejected_at - low <= 2 * TICK + SLACK,
            "ejected {:?} after the first low score",
            ejected_at - low
        );
    }
    v.set_failures(0, 1);
    load.pause().await;

    // Out of the ready pool, by the score.
    assert_eq!(out["outlier"]["ejected"]["reason"], "score", "{out}");
    assert_eq!(out["outlier"]["ejections_in_row"], 1, "{out}");
    assert_eq!(out["routable"], false, "{out}");
    let (_, to, why) = last_change(&out);
    assert_eq!(to, "ejected");
    assert!(why.starts_with("error score "), "{why}");
    assert_eq!(out["score"]["can_eject"], false, "disarmed: {out}");
    let m = metrics_text(admin).await;
    assert_eq!(ejections(&m, "v", "score"), 1.0, "{m}");
    for reason in [
        "consecutive_failures",
        "failure_ratio",
        "health_check",
        "retry_after",
    ] {
        assert_eq!(ejections(&m, "v", reason), 0.0, "{reason}: {m}");
    }
    // While out, requests go to `a` only.
    let http = client();
    let hits = v.hits();
    for _ in 0..10 {
        let r = get_on(&http, web, "/").await;
        assert_eq!((r.status, r.header("x-upstream")), (200, Some("a")));
    }
    assert_eq!(v.hits(), hits);
    let still = ep(admin, "v").await;
    assert_eq!(
        still["status"], "ejected",
        "ejection ended too soon: {still}"
    );
    assert_eq!(
        state(&metrics_text(admin).await, "v", "open"),
        1.0,
        "state gauge while ejected"
    );

    // The ejection ends by itself: half-open, at 10% of its weight.
    wait_status(admin, Duration::from_secs(5), &[("p", "v", "half_open")]).await;
    let half = ep(admin, "v").await;
    let (_, to, why) = last_change(&half);
    assert_eq!(to, "half_open");
    assert!(why.contains("on probation"), "{why}");
    assert_eq!(f(&half["weight"]["effective"]), 1.0, "{half}");
    let m = metrics_text(admin).await;
    assert_eq!(state(&m, "v", "half_open"), 1.0, "{m}");
    assert_eq!(state(&m, "v", "open"), 0.0, "{m}");

    // Trial requests close it; then its weight ramps back up to 10.
    load.resume();
    let mut weights = Vec::new();
    let end = Instant::now() + Duration::from_secs(15);
    loop {
        let e = ep(admin, "v").await;
        if e["status"] == "healthy" {
            let w = f(&e["weight"]["effective"]);
            if weights.is_empty() {
                let (_, to, why) = last_change(&e);
                assert_eq!(to, "healthy");
                assert!(why.contains("passed on probation"), "{why}");
                assert!(e["slow_start_since"].is_number(), "{e}");
                assert!(w < 5.0, "starts low: {e}");
            }
            weights.push(w);
            if (w - 10.0).abs() < 1e-9 {
                break;
            }
        } else {
            assert!(weights.is_empty(), "left the pool again: {e}");
            assert_eq!(e["status"], "half_open", "{e}");
        }
        assert!(
            Instant::now() < end,
            "weight not back to 10 in time: {weights:?} {e}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        weights.iter().any(|w| *w > 2.0 && *w < 8.0),
        "a ramp, not a jump: {weights:?}"
    );
    let served = v.hits();
    let statuses = load.stop().await;
    assert!(
        served > hits + 3,
        "traffic reached v again: {hits} → {served}"
    );
    let m = metrics_text(admin).await;
    assert_eq!(ejections(&m, "v", "score"), 1.0, "no second ejection: {m}");
    assert_eq!(state(&m, "v", "closed"), 1.0, "{m}");
    assert_eq!(state(&m, "v", "half_open"), 0.0, "{m}");
    assert_eq!(statuses.keys().copied().collect::<Vec<_>>(), [200, 500]);
    proxy.shutdown_within(Duration::from_secs(1)).await;
}

mod hover;
mod retry_after;
