//! Active health checks through the real listener: a killed endpoint, a
//! blackhole, an endpoint whose probes alternate, and recovery with slow
//! start. Probes are real HTTP requests to the test upstreams, which count
//! them apart from traffic.

use std::time::{Duration, Instant};

use tokio::time::MissedTickBehavior;

use crate::common::{
    client, config, endpoint, eps, eventually, get, get_on, metric, metrics_text, start_proxy,
    upstreams, wait_status, Blackhole, Health, TestUpstream,
};

#[tokio::test]
async fn a_killed_endpoint_stops_failing_requests_in_time_and_retried_gets_never_fail() {
    let a = TestUpstream::spawn("a").await;
    let b = TestUpstream::spawn("b").await;
    let mut c = TestUpstream::spawn("c").await;
    // Outlier detection off: only the health check may take `c` out, so
    // the bound below is the health check's.
    let yaml = config(&format!(
        "routes:\n\
  - {{ name: plain, match: {{ path_prefix: /plain }}, pool: p }}\n\
  - {{ name: retried, match: {{ path_prefix: /retried }}, pool: p, retries: {{ attempts: 3 }} }}\n\
pools:\n  - {{ name: p, endpoints: [{}], outlier_detection: {{ enabled: false }},\n\
    health_check: {{ path: /health, interval: 200ms, timeout: 100ms, jitter: 10%, unhealthy_threshold: 2 }} }}\n",
        eps(&[("a", a.url()), ("b", b.url()), ("c", c.url())])
    ));
    let proxy = start_proxy(&yaml).await;
    let (web, admin) = (proxy.listener_addr("web").unwrap(), proxy.admin_addr());
    let all_healthy = [
        ("p", "a", "healthy"),
        ("p", "b", "healthy"),
        ("p", "c", "healthy"),
    ];
    wait_status(admin, Duration::from_secs(5), &all_healthy).await;
    let http = client();
    for _ in 0..30 {
        assert_eq!(get_on(&http, web, "/plain").await.status, 200);
        assert_eq!(get_on(&http, web, "/retried").await.status, 200);
    }
    assert!(c.hits() >= 10, "c served before the kill: {}", c.hits());

    c.kill().await;
    let killed = Instant::now();
    // unhealthy_threshold × interval (+10% jitter each) + timeout = 540 ms
    // (typically seen: 200-300 ms); then a margin for a loaded 2-core
    // machine, then a quiet stretch.
    let bound = Duration::from_millis(2 * 220 + 100);
    let quiet_from = bound + Duration::from_millis(300);
    let end = quiet_from + Duration::from_secs(1);
    let mut ticker = tokio::time::interval(Duration::from_millis(5));
    ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let (mut plain_failures, mut retried_failures) = (Vec::new(), Vec::new());
    let mut quiet_requests = 0;
    // At most 1000 rounds of two requests; at ≥ 5 ms a round the time
    // bound ends the loop first.
    for _ in 0..1000 {
        if killed.elapsed() >= end {
            break;
        }
        ticker.tick().await;
        let r = get_on(&http, web, "/plain").await;
        let at = killed.elapsed();
        if r.status != 200 {
            plain_failures.push((at, r.status));
        } else if at >= quiet_from {
            quiet_requests += 1;
        }
        let r = get_on(&http, web, "/retried").await;
        if r.status != 200 {
            retried_failures.push((killed.elapsed(), r.status));
        }
    }
    assert!(killed.elapsed() >= end, "the load stopped early");
    assert!(!plain_failures.is_empty(), "the kill failed no request");
    assert!(
        plain_failures.iter().all(|(at, _)| *at < quiet_from),
        "failures after {quiet_from:?}: {plain_failures:?}"
    );
    assert!(quiet_requests >= 20, "{quiet_requests} quiet requests");
    assert!(retried_failures.is_empty(), "{retried_failures:?}");
    let doc = upstreams(admin).await;
    let ep = endpoint(&doc, "p", "c");
    assert_eq!(ep["status"], "unhealthy", "{ep}");
    assert_eq!(ep["health_check"]["last"]["result"], "failure", "{ep}");
    let m = metrics_text(admin).await;
    let retried = metric(&m, "switchyard_upstream_retries_total", &[("pool", "p")]);
    assert!(retried >= 1.0, "the retried route never retried");
    proxy.shutdown_within(Duration::from_secs(1)).await;
}

#[tokio::test]
async fn a_blackhole_is_found_by_probe_timeouts_and_gets_no_traffic() {
    let a = TestUpstream::spawn("a").await;
    let s = TestUpstream::spawn("s").await;
    let hole = Blackhole::spawn().await;
    let yaml = config(&format!(
        "routes: [{{ name: r, pool: p, timeout: 2s }}]\n\
pools:\n  - {{ name: p, endpoints: [{}],\n\
    health_check: {{ path: /health, interval: 200ms, timeout: 100ms, unhealthy_threshold: 2 }} }}\n",
        eps(&[("a", a.url()), ("s", s.url()), ("hole", hole.url())])
    ));
    let proxy = start_proxy(&yaml).await;
    let (web, admin) = (proxy.listener_addr("web").unwrap(), proxy.admin_addr());
    // Once a and s passed their first probe, the hole takes no traffic,
    // whether still awaiting its first verdict (its probe takes the full
    // 100 ms timeout) or already failed. (Before that, nothing would be
    // routable and the Checking fallback could pick the hole.)
    let want = [("p", "a", "healthy"), ("p", "s", "healthy")];
    wait_status(admin, Duration::from_secs(5), &want).await;
    for _ in 0..20 {
        let r = get(web, "/").await;
        assert_eq!(r.status, 200);
        assert!(r.body == "a" || r.body == "s", "{}", r.body);
    }
    let want = [
        ("p", "a", "healthy"),
        ("p", "s", "healthy"),
        ("p", "hole", "unhealthy"),
    ];
    wait_status(admin, Duration::from_secs(5), &want).await;
    let doc = upstreams(admin).await;
    let ep = endpoint(&doc, "p", "hole");
    assert_eq!(ep["health_check"]["last"]["result"], "timeout", "{ep}");
    assert_eq!(ep["routable"], false, "{ep}");
    let m = metrics_text(admin).await;
    let checks = |m: &str, ep: &str, result: &str| {
        metric(
            m,
            "switchyard_health_checks_total",
            &[("endpoint", ep), ("result", result)],
        )
    };
    assert!(checks(&m, "hole", "timeout") >= 1.0, "{m}");
    assert_eq!(checks(&m, "hole", "success"), 0.0);

    // A serving endpoint that stops answering is taken out the same way.
    s.set_stall(true);
    let want = [("p", "a", "healthy"), ("p", "s", "unhealthy")];
    wait_status(admin, Duration::from_secs(5), &want).await;
    let doc = upstreams(admin).await;
    let ep = endpoint(&doc, "p", "s");
    assert_eq!(ep["health_check"]["last"]["result"], "timeout", "{ep}");
    assert!(
        ep["health_check"]["consecutive_failures"].as_u64() >= Some(2),
        "{ep}"
    );
    let m = metrics_text(admin).await;
    assert!(checks(&m, "s", "timeout") >= 2.0, "{m}");
    let ejected = metric(
        &m,
        "switchyard_upstream_ejections_total",
        &[("endpoint", "s"), ("reason", "health_check")],
    );
    assert_eq!(ejected, 1.0, "{m}");
    assert_eq!(
        metric(&m, "switchyard_upstream_healthy", &[("endpoint", "s")]),
        0.0
    );
    let before = s.hits();
    for _ in 0..40 {
        let r = get(web, "/").await;
        assert_eq!((r.status, r.body.as_str()), (200, "a"));
    }
    assert_eq!(s.hits(), before, "traffic reached the stalled endpoint");
    assert_eq!(hole.requests(), 0, "traffic reached the blackhole");
    assert!(hole.probes() >= 2, "{} probes", hole.probes());
    proxy.shutdown_within(Duration::from_secs(1)).await;
}

#[tokio::test]
async fn alternating_probes_do_not_flap_an_endpoint_in_or_out() {
    let up = TestUpstream::spawn("up").await;
    up.set_health(Health::AlternatePassFirst);
    let down = TestUpstream::spawn("down").await;
    down.set_health(Health::AlternateFailFirst);
    let steady = TestUpstream::spawn("steady").await;
    let yaml = config(&format!(
        "routes: [{{ name: r, pool: p }}]\n\
pools:\n  - {{ name: p, endpoints: [{}],\n\
    health_check: {{ path: /health, interval: 100ms, timeout: 50ms, healthy_threshold: 2, unhealthy_threshold: 2 }} }}\n",
        eps(&[("up", up.url()), ("down", down.url()), ("steady", steady.url())])
    ));
    let proxy = start_proxy(&yaml).await;
    let (web, admin) = (proxy.listener_addr("web").unwrap(), proxy.admin_addr());
    // First verdicts: up passed its first probe, down failed its first.
    let want = [
        ("p", "up", "healthy"),
        ("p", "down", "unhealthy"),
        ("p", "steady", "healthy"),
    ];
    wait_status(admin, Duration::from_secs(5), &want).await;
    let first = upstreams(admin).await;
    let changed =
        |doc: &serde_json::Value, name: &str| endpoint(doc, "p", name)["last_change"].clone();
    let (up_change, down_change) = (changed(&first, "up"), changed(&first, "down"));
    assert!(up_change["reason"]
        .as_str()
        .unwrap()
        .contains("first health check"));

    // Sample state and send traffic over 20+ probes each (bounded by a
    // round count and a deadline).
    let (up0, down0) = (up.probes(), down.probes());
    let deadline = Instant::now() + Duration::from_secs(15);
    let mut ticker = tokio::time::interval(Duration::from_millis(40));
    for sample in 0..400 {
        if up.probes() >= up0 + 20 && down.probes() >= down0 + 20 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "too few probes: {} {}",
            up.probes(),
            down.probes()
        );
        ticker.tick().await;
        let m = metrics_text(admin).await;
        let healthy = |ep: &str| metric(&m, "switchyard_upstream_healthy", &[("endpoint", ep)]);
        assert_eq!(
            (healthy("up"), healthy("down")),
            (1.0, 0.0),
            "sample {sample}"
        );
        let doc = upstreams(admin).await;
        assert_eq!(endpoint(&doc, "p", "up")["status"], "healthy", "{doc}");
        assert_eq!(endpoint(&doc, "p", "down")["status"], "unhealthy", "{doc}");
        let r = get(web, "/").await;
        assert_eq!(r.status, 200);
        assert_ne!(r.body, "down");
    }
    assert!(up.probe_passes() >= 10 && up.probe_failures() >= 10);
    assert!(down.probe_passes() >= 10 && down.probe_failures() >= 10);
    // The first verdict is still the last change (its time is recomputed
    // from the clock on each read, hence the tolerance).
    let last = upstreams(admin).await;
    for (name, first) in [("up", &up_change), ("down", &down_change)] {
        let now = changed(&last, name);
        assert_eq!(
            (&now["to"], &now["reason"]),
            (&first["to"], &first["reason"]),
            "{name} changed"
        );
        let drift = now["at"].as_f64().unwrap() - first["at"].as_f64().unwrap();
        assert!(
            drift.abs() < 0.05,
            "{name} changed at another time: {now} vs {first}"
        );
    }
    let m = metrics_text(admin).await;
    let ejections = metric(&m, "switchyard_upstream_ejections_total", &[("pool", "p")]);
    assert_eq!(ejections, 0.0, "{m}");
    assert!(
        up.hits() > 0,
        "the healthy alternating endpoint took no traffic"
    );
    assert_eq!(down.hits(), 0);
    proxy.shutdown_within(Duration::from_secs(1)).await;
}

#[tokio::test]
async fn a_recovered_endpoint_returns_after_healthy_threshold_passes_and_ramps_up() {
    let a = TestUpstream::spawn("a").await;
    let b = TestUpstream::spawn("b").await;
    let yaml = config(&format!(
        "routes: [{{ name: r, pool: p }}]\n\
pools:\n  - {{ name: p, endpoints: [{}], outlier_detection: {{ slow_start: 2s }},\n\
    health_check: {{ path: /health, interval: 100ms, timeout: 50ms, healthy_threshold: 3, unhealthy_threshold: 2 }} }}\n",
        eps(&[("a", a.url()), ("b", b.url())])
    ));
    let proxy = start_proxy(&yaml).await;
    let (web, admin) = (proxy.listener_addr("web").unwrap(), proxy.admin_addr());
    wait_status(
        admin,
        Duration::from_secs(5),
        &[("p", "a", "healthy"), ("p", "b", "healthy")],
    )
    .await;
    let doc = upstreams(admin).await;
    // Endpoints of a new pool start at full weight.
    assert_eq!(endpoint(&doc, "p", "b")["weight"]["effective"], 1.0);

    b.set_health(Health::Fail);
    wait_status(admin, Duration::from_secs(5), &[("p", "b", "unhealthy")]).await;
    let passes = b.probe_passes();
    b.set_health(Health::Pass);
    // Unhealthy until three passes in a row; the admin view's counters and
    // status come from one lock, so each sample is consistent.
    let view = eventually(Duration::from_secs(5), || async {
        let doc = upstreams(admin).await;
        let ep = endpoint(&doc, "p", "b").clone();
        let streak = ep["health_check"]["consecutive_successes"]
            .as_u64()
            .unwrap();
        match ep["status"].as_str().unwrap() {
            "unhealthy" => {
                assert!(streak < 3, "still unhealthy after {streak} passes: {ep}");
                None
            }
            "healthy" => Some(ep),
            other => panic!("unexpected status {other}: {ep}"),
        }
    })
    .await;
    let recovered = Instant::now();
    assert!(
        view["health_check"]["consecutive_successes"].as_u64() >= Some(3),
        "{view}"
    );
    assert!(b.probe_passes() - passes >= 3);
    assert!(view["slow_start_since"].is_f64(), "{view}");
    let effective = view["weight"]["effective"].as_f64().unwrap();
    assert!(
        effective > 0.0 && effective < 0.5,
        "early ramp weight {effective}"
    );

    // Early in the 2 s ramp b gets well under its fair half...
    let (mut early, mut early_b) = (0, 0);
    let http = client();
    for _ in 0..150 {
        if recovered.elapsed() >= Duration::from_millis(500) {
            break;
        }
        let r = get_on(&http, web, "/").await;
        assert_eq!(r.status, 200);
        early += 1;
        early_b += u32::from(r.body == "b");
    }
    assert!(early >= 20, "only {early} requests early in the ramp");
    let early_share = f64::from(early_b) / f64::from(early);
    assert!(
        early_share < 0.35,
        "b had {early_b} of {early} early in the ramp"
    );
    // ...and its half once the ramp is over.
    eventually(Duration::from_secs(5), || async {
        let doc = upstreams(admin).await;
        let ep = endpoint(&doc, "p", "b");
        (ep["weight"]["effective"] == 1.0 && ep["slow_start_since"].is_null()).then_some(())
    })
    .await;
    let mut late_b = 0;
    for _ in 0..100 {
        let r = get_on(&http, web, "/").await;
        assert_eq!(r.status, 200);
        late_b += u32::from(r.body == "b");
    }
    assert!(
        (40..=60).contains(&late_b),
        "b had {late_b} of 100 after the ramp"
    );
    assert!(early_share + 0.15 < f64::from(late_b) / 100.0);
    let m = metrics_text(admin).await;
    let ejected = metric(
        &m,
        "switchyard_upstream_ejections_total",
        &[("endpoint", "b"), ("reason", "health_check")],
    );
    assert_eq!(ejected, 1.0);
    proxy.shutdown_within(Duration::from_secs(1)).await;
}
