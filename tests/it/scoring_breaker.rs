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

/// One observed scoring tick of `v`.
#[derive(Debug, Clone, PartialEq)]
struct Tick {
    status: String,
    error: f64,
    requests: f64,
    failures: f64,
    armed: bool,
}

#[tokio::test]
async fn a_vendor_hovering_around_the_threshold_is_ejected_once_and_does_not_flap() {
    let a = TestUpstream::spawn("a").await;
    let v = TestUpstream::spawn("v").await;
    // `v` carries nearly all traffic, whatever its weight factor, so its
    // request count in the window (and so its error score) follows the
    // error ratio the test sets. `rearm_above: 0.9`: at 15% errors the
    // error score stays below it even with only `min_requests` in the
    // window (at most 0.84), so only the hysteresis can stop a re-trip.
    let proxy = start_proxy(&yaml(
        &[("a", a.url(), 1), ("v", v.url(), 99)],
        &format!("{SCORING}, eject_below: 0.2, rearm_above: 0.9"),
        "",
    ))
    .await;
    let (web, admin) = (proxy.listener_addr("web").unwrap(), proxy.admin_addr());
    let load = Load::start(web, Duration::from_millis(5), 6000, Duration::from_secs(45));
    // Every transition seen, in order. The same one polled twice may show
    // a time a millisecond apart (it is converted to Unix time per call).
    let mut changes: Vec<(f64, String, String)> = Vec::new();
    let observe = |changes: &mut Vec<(f64, String, String)>, e: &Value| {
        if e["last_change"].is_object() {
            let c = last_change(e);
            if changes.last().is_none_or(|l| {
                (l.1.as_str(), l.2.as_str()) != (&c.1, &c.2) || (l.0 - c.0).abs() > 0.05
            }) {
                changes.push(c);
            }
        }
    };

    // 35% errors until the score trips once.
    v.set_failures(7, 20);
    let end = Instant::now() + Duration::from_secs(15);
    loop {
        let e = ep(admin, "v").await;
        observe(&mut changes, &e);
        if e["status"] == "ejected" {
            break;
        }
        assert!(Instant::now() < end, "never scored out: {e}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // 25% (every 4th request fails) through probation: any 3 requests in a
    // row after a failure pass, so at most one failed trial re-ejects it.
    v.set_failures(1, 4);
    let end = Instant::now() + Duration::from_secs(15);
    loop {
        let e = ep(admin, "v").await;
        observe(&mut changes, &e);
        if e["status"] == "healthy" {
            break;
        }
        assert!(Instant::now() < end, "never readmitted: {e}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let back = changes.len();

    // Hover: 15% and 35% errors in turn, 1.5 s each, 30 ticks in all. The
    // error score crosses `eject_below` both ways; it never re-arms.
    let mut ticks: Vec<Tick> = Vec::new();
    let start = Instant::now();
    let phase = Duration::from_millis(1500);
    let mut current = None;
    while start.elapsed() < 30 * TICK {
        let high = (start.elapsed().as_millis() / phase.as_millis()) % 2 == 1;
        if current != Some(high) {
            current = Some(high);
            if high {
                v.set_failures(7, 20);
            } else {
                v.set_failures(3, 20);
            }
        }
        let e = ep(admin, "v").await;
        observe(&mut changes, &e);
        let s = &e["score"];
        let t = Tick {
            status: text(&e["status"]).to_string(),
            error: f(&s["error"]),
            requests: f(&s["raw"]["requests"]),
            failures: f(&s["raw"]["failures"]),
            armed: s["can_eject"] == true,
        };
        if ticks
            .last()
            .is_none_or(|l| (l.error, l.requests, l.failures) != (t.error, t.requests, t.failures))
        {
            ticks.push(t);
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let statuses = load.stop().await;
    let m = metrics_text(admin).await;

    let report = format!("changes {changes:#?}\nticks {ticks:#?}\nstatuses {statuses:?}");
    // Exactly one ejection by the scorer; any other is a failed trial on
    // probation, which repeats the reason.
    let trips = changes
        .iter()
        .filter(|(_, to, why)| to == "ejected" && why.starts_with("error score "))
        .count();
    let trials = changes
        .iter()
        .filter(|(_, to, why)| to == "ejected" && why.starts_with("a trial request failed"))
        .count();
    assert_eq!(trips, 1, "{report}");
    assert!(trials <= 1, "{report}");
    assert_eq!(
        ejections(&m, "v", "score"),
        (trips + trials) as f64,
        "{report}\n{m}"
    );
    // No transition at all while it hovered.
    assert_eq!(changes.len(), back, "{report}");
    assert!(
        ticks.iter().all(|t| t.status == "healthy" && !t.armed),
        "{report}"
    );
    // It did hover: below `eject_below` on two ticks running with enough
    // requests (which ejects an armed vendor), and above it.
    let low = |t: &Tick| t.error < 0.2 && t.requests >= 20.0;
    assert!(
        ticks.windows(2).any(|w| low(&w[0]) && low(&w[1])),
        "{report}"
    );
    assert!(ticks.iter().any(|t| t.error > 0.2), "{report}");
    proxy.shutdown_within(Duration::from_secs(1)).await;
}

#[tokio::test]
async fn a_429_with_retry_after_2_takes_the_vendor_out_for_two_seconds() {
    let a = TestUpstream::spawn("a").await;
    let v = TestUpstream::spawn("v").await;
    let proxy = start_proxy(&yaml(&[("a", a.url(), 1), ("v", v.url(), 1)], SCORING, "")).await;
    let (web, admin) = (proxy.listener_addr("web").unwrap(), proxy.admin_addr());
    let http = client();
    v.set_status(429);
    v.set_retry_after(Some("2"));
    // Round robin over two: `v` answers within a few requests.
    let mut got = None;
    for _ in 0..10 {
        let r = get_on(&http, web, "/").await;
        if r.status == 429 {
            got = Some(Instant::now());
            assert_eq!(r.header("retry-after"), Some("2"));
            break;
        }
        assert_eq!((r.status, r.header("x-upstream")), (200, Some("a")));
    }
    let answered = got.expect("v answered 429");
    v.set_status(0);
    let out = ep(admin, "v").await;
    assert_eq!(out["status"], "ejected", "{out}");
    let ejection = &out["outlier"]["ejected"];
    assert_eq!(ejection["reason"], "retry_after", "{out}");
    let left = f(&ejection["seconds_left"]);
    assert!(left <= 2.0 && left > 1.0, "{out}");
    let (since, until) = (f(&ejection["since"]), f(&ejection["until"]));
    assert!((until - since - 2.0).abs() < 0.05, "exactly 2 s: {out}");
    let (_, to, why) = last_change(&out);
    assert_eq!(to, "ejected");
    assert!(why.contains("status 429 with Retry-After 2s"), "{why}");
    // Not a failure and not a growing ejection.
    assert_eq!(out["outlier"]["ejections_in_row"], 0, "{out}");
    let m = metrics_text(admin).await;
    assert_eq!(ejections(&m, "v", "retry_after"), 1.0, "{m}");
    assert_eq!(
        metric(
            &m,
            "switchyard_upstream_ejections_total",
            &[("endpoint", "v")]
        ),
        1.0,
        "{m}"
    );

    // While out, nothing reaches it.
    let hits = v.hits();
    for _ in 0..10 {
        let r = get_on(&http, web, "/").await;
        assert_eq!((r.status, r.header("x-upstream")), (200, Some("a")));
    }
    assert_eq!(v.hits(), hits);
    assert_eq!(ep(admin, "v").await["status"], "ejected");

    // Then it is tried again, after two seconds.
    wait_status(
        admin,
        Duration::from_secs(2) + SLACK,
        &[("p", "v", "half_open")],
    )
    .await;
    assert!(
        answered.elapsed() >= Duration::from_millis(1900),
        "back after {:?}",
        answered.elapsed()
    );
    let half = ep(admin, "v").await;
    let (at, to, why) = last_change(&half);
    assert_eq!(to, "half_open");
    assert!(why.contains("ejection of 2.0s ended"), "{why}");
    assert!(
        at - since >= 1.99 && at - since < 2.0 + SLACK.as_secs_f64(),
        "{half}"
    );
    let mut reached = false;
    for _ in 0..100 {
        let r = get_on(&http, web, "/").await;
        assert_eq!(r.status, 200);
        if r.header("x-upstream") == Some("v") {
            reached = true;
            break;
        }
    }
    assert!(reached, "no trial request reached v");
    assert!(v.hits() > hits);
    // Three passing trials close it.
    let end = Instant::now() + Duration::from_secs(5);
    loop {
        let r = get_on(&http, web, "/").await;
        assert_eq!(r.status, 200);
        let e = ep(admin, "v").await;
        if e["status"] == "healthy" {
            assert!(last_change(&e).2.contains("3 trial requests passed"), "{e}");
            break;
        }
        assert!(Instant::now() < end, "still on probation: {e}");
    }
    let m = metrics_text(admin).await;
    assert_eq!(state(&m, "v", "closed"), 1.0, "{m}");
    assert_eq!(ejections(&m, "v", "retry_after"), 1.0, "{m}");
    proxy.shutdown_within(Duration::from_secs(1)).await;
}

#[tokio::test]
async fn a_failed_trial_re_ejects_a_scored_out_vendor_and_passing_probes_close_it() {
    let a = TestUpstream::spawn("a").await;
    let v = TestUpstream::spawn("v").await;
    // Probes answer 200 throughout: only its traffic fails.
    let hc = "    health_check: { path: /health, interval: 500ms, timeout: 200ms }\n";
    let proxy = start_proxy(&yaml(&[("a", a.url(), 1), ("v", v.url(), 1)], SCORING, hc)).await;
    let (web, admin) = (proxy.listener_addr("web").unwrap(), proxy.admin_addr());
    wait_status(
        admin,
        Duration::from_secs(5),
        &[("p", "a", "healthy"), ("p", "v", "healthy")],
    )
    .await;
    let load = Load::start(web, Duration::from_millis(5), 4000, Duration::from_secs(30));
    v.set_health(Health::Pass);
    v.set_failures(1, 1);

    // Scored out.
    let end = Instant::now() + Duration::from_secs(10);
    let first = loop {
        let e = ep(admin, "v").await;
        if e["status"] == "ejected" {
            break e;
        }
        assert!(Instant::now() < end, "never scored out: {e}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(first["outlier"]["ejected"]["reason"], "score", "{first}");
    assert_eq!(first["outlier"]["ejections_in_row"], 1, "{first}");
    let length = |e: &Value| {
        let j = &e["outlier"]["ejected"];
        f(&j["until"]) - f(&j["since"])
    };
    let first_length = length(&first);

    // Still failing: its first trial after the ejection fails and ejects it
    // again, for longer.
    let end = Instant::now() + Duration::from_secs(10);
    let second = loop {
        let e = ep(admin, "v").await;
        if e["outlier"]["ejections_in_row"] == 2 {
            break e;
        }
        assert!(Instant::now() < end, "not ejected again: {e}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    v.set_failures(0, 1);
    load.pause().await;
    assert_eq!(second["status"], "ejected", "{second}");
    let (_, to, why) = last_change(&second);
    assert_eq!(to, "ejected");
    assert!(
        why.starts_with("a trial request failed on probation"),
        "{why}"
    );
    assert!(why.contains("(ejection 2 in a row)"), "{why}");
    assert_eq!(second["outlier"]["ejected"]["reason"], "score", "{second}");
    let second_length = length(&second);
    // 1 s then 2 s, each ±20%.
    assert!(
        (0.79..=1.21).contains(&first_length) && (1.59..=2.41).contains(&second_length),
        "{first_length} then {second_length}"
    );
    let m = metrics_text(admin).await;
    assert_eq!(ejections(&m, "v", "score"), 2.0, "{m}");
    assert_eq!(ejections(&m, "v", "health_check"), 0.0, "{m}");

    // Recovered, with no traffic: after the ejection its passing probes
    // are its trials, and close it.
    wait_status(
        admin,
        Duration::from_secs(3) + SLACK,
        &[("p", "v", "half_open")],
    )
    .await;
    wait_status(
        admin,
        Duration::from_secs(3) + SLACK,
        &[("p", "v", "healthy")],
    )
    .await;
    let back = ep(admin, "v").await;
    let (_, to, why) = last_change(&back);
    assert_eq!(to, "healthy");
    assert!(why.contains("3 health checks passed on probation"), "{why}");
    assert_eq!(back["outlier"]["ejections_in_row"], 2, "{back}");
    let hits = v.hits();
    load.resume();
    eventually(Duration::from_secs(5), || async {
        (v.hits() > hits + 3).then_some(())
    })
    .await;
    let sent = load.sent();
    let statuses = load.stop().await;
    assert!(sent > 0);
    let m = metrics_text(admin).await;
    assert_eq!(ejections(&m, "v", "score"), 2.0, "{m}");
    assert_eq!(state(&m, "v", "closed"), 1.0, "{m}");
    assert_eq!(statuses.keys().copied().collect::<Vec<_>>(), [200, 500]);
    proxy.shutdown_within(Duration::from_secs(1)).await;
}
