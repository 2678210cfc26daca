//! `Retry-After` and failed trials on probation.

use super::*;

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
