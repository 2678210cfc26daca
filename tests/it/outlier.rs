//! Passive outlier detection and the no-healthy policy through the real
//! listener: the ejection cap, and `when_none_healthy: any | fail` with
//! endpoints out by health check and by ejection.

use std::time::Duration;

use crate::common::{
    config, endpoint, eps, get, metric, metrics_text, start_proxy, upstreams, wait_status, Health,
    TestUpstream,
};

#[tokio::test]
async fn the_ejection_cap_keeps_all_but_one_failing_endpoint_in() {
    let ok = TestUpstream::spawn("ok").await;
    let bad1 = TestUpstream::spawn("bad1").await;
    let bad2 = TestUpstream::spawn("bad2").await;
    bad1.set_status(500);
    bad2.set_status(500);
    let yaml = config(&format!(
        "routes: [{{ name: r, pool: p }}]\n\
pools:\n  - {{ name: p, endpoints: [{}],\n\
    outlier_detection: {{ consecutive_failures: 3, max_ejection_percent: 50, base_ejection_time: 30s }} }}\n",
        eps(&[("ok", ok.url()), ("bad1", bad1.url()), ("bad2", bad2.url())])
    ));
    let proxy = start_proxy(&yaml).await;
    let (web, admin) = (proxy.listener_addr("web").unwrap(), proxy.admin_addr());
    let ejected = |doc: &serde_json::Value| -> Vec<String> {
        ["ok", "bad1", "bad2"]
            .into_iter()
            .filter(|n| endpoint(doc, "p", n)["status"] == "ejected")
            .map(String::from)
            .collect()
    };
    // 3 endpoints at 50%: floor(1.5) = 1 may be out at once.
    for _ in 0..30 {
        get(web, "/").await;
    }
    let out = ejected(&upstreams(admin).await);
    assert_eq!(out.len(), 1, "{out:?}");
    let (gone, kept) = if out[0] == "bad1" {
        (&bad1, &bad2)
    } else {
        (&bad2, &bad1)
    };
    let (gone0, kept0) = (gone.hits(), kept.hits());
    let mut failures = 0;
    for _ in 0..90 {
        let r = get(web, "/").await;
        assert_ne!(r.body, gone.name, "traffic reached the ejected endpoint");
        failures += u32::from(r.status == 500);
    }
    // The other failing endpoint stays in: the cap, not luck.
    assert!(kept.hits() >= kept0 + 30, "{} → {}", kept0, kept.hits());
    assert_eq!(gone.hits(), gone0);
    assert!(failures >= 30, "{failures}");
    let doc = upstreams(admin).await;
    assert_eq!(ejected(&doc), out, "{doc}");
    assert_eq!(endpoint(&doc, "p", &kept.name)["status"], "healthy");
    let m = metrics_text(admin).await;
    let total = metric(&m, "switchyard_upstream_ejections_total", &[("pool", "p")]);
    assert_eq!(total, 1.0, "{m}");
    assert_eq!(
        metric(&m, "switchyard_upstream_healthy", &[("pool", "p")]),
        2.0
    );
    proxy.shutdown_within(Duration::from_secs(1)).await;
}

#[tokio::test]
async fn when_none_healthy_any_forwards_and_fail_answers_503() {
    // Both endpoints fail their probes but would serve traffic fine.
    let a = TestUpstream::spawn("a").await;
    let b = TestUpstream::spawn("b").await;
    a.set_health(Health::Fail);
    b.set_health(Health::Fail);
    let list = eps(&[("a", a.url()), ("b", b.url())]);
    let hc = "health_check: { path: /health, interval: 100ms, timeout: 50ms }";
    let yaml = config(&format!(
        "routes:\n\
  - {{ name: any, match: {{ path_prefix: /any }}, pool: pany }}\n\
  - {{ name: fail, match: {{ path_prefix: /fail }}, pool: pfail }}\n\
pools:\n\
  - {{ name: pany, when_none_healthy: any, endpoints: [{list}], {hc} }}\n\
  - {{ name: pfail, when_none_healthy: fail, endpoints: [{list}], {hc} }}\n"
    ));
    let proxy = start_proxy(&yaml).await;
    let (web, admin) = (proxy.listener_addr("web").unwrap(), proxy.admin_addr());
    let want = [
        ("pany", "a", "unhealthy"),
        ("pany", "b", "unhealthy"),
        ("pfail", "a", "unhealthy"),
        ("pfail", "b", "unhealthy"),
    ];
    wait_status(admin, Duration::from_secs(5), &want).await;
    let m0 = metrics_text(admin).await;
    let hits0 = a.hits() + b.hits();
    for _ in 0..10 {
        let r = get(web, "/any").await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert!(matches!(r.header("x-upstream"), Some("a" | "b")), "{r:?}");
    }
    assert_eq!(a.hits() + b.hits(), hits0 + 10);
    for _ in 0..10 {
        let r = get(web, "/fail").await;
        assert_eq!(r.status, 503, "{}", r.body);
        assert_eq!(r.header("x-upstream"), None);
    }
    assert_eq!(a.hits() + b.hits(), hits0 + 10, "fail forwarded a request");
    let m = metrics_text(admin).await;
    let delta =
        |name: &str, labels: &[(&str, &str)]| metric(&m, name, labels) - metric(&m0, name, labels);
    let no_healthy = "switchyard_pool_no_healthy_total";
    assert_eq!(delta(no_healthy, &[("pool", "pany")]), 10.0);
    assert_eq!(delta(no_healthy, &[("pool", "pfail")]), 10.0);
    let no_endpoint = [("reason", "no_endpoint")];
    assert_eq!(
        delta("switchyard_proxy_errors_total", &no_endpoint),
        10.0,
        "{m}"
    );
    proxy.shutdown_within(Duration::from_secs(1)).await;
}

#[tokio::test]
async fn when_none_healthy_any_picks_the_ejection_that_ends_soonest() {
    let x = TestUpstream::spawn("x").await;
    let y = TestUpstream::spawn("y").await;
    x.set_status(500);
    y.set_status(500);
    let list = eps(&[("x", x.url()), ("y", y.url())]);
    let od = "outlier_detection: { consecutive_failures: 1, max_ejection_percent: 100, base_ejection_time: 20s }";
    let yaml = config(&format!(
        "routes:\n\
  - {{ name: any, match: {{ path_prefix: /any }}, pool: pany }}\n\
  - {{ name: fail, match: {{ path_prefix: /fail }}, pool: pfail }}\n\
pools:\n\
  - {{ name: pany, when_none_healthy: any, endpoints: [{list}], {od} }}\n\
  - {{ name: pfail, when_none_healthy: fail, endpoints: [{list}], {od} }}\n"
    ));
    let proxy = start_proxy(&yaml).await;
    let (web, admin) = (proxy.listener_addr("web").unwrap(), proxy.admin_addr());
    // One failure each ejects both endpoints of both pools.
    for path in ["/any", "/any", "/fail", "/fail"] {
        assert_eq!(get(web, path).await.status, 500);
    }
    let want = [
        ("pany", "x", "ejected"),
        ("pany", "y", "ejected"),
        ("pfail", "x", "ejected"),
        ("pfail", "y", "ejected"),
    ];
    wait_status(admin, Duration::from_secs(1), &want).await;
    let doc = upstreams(admin).await;
    let until = |n: &str| {
        endpoint(&doc, "pany", n)["outlier"]["ejected"]["until"]
            .as_f64()
            .unwrap()
    };
    let soonest = if until("x") <= until("y") { "x" } else { "y" };
    let m0 = metrics_text(admin).await;
    let hits0 = x.hits() + y.hits();
    for _ in 0..10 {
        let r = get(web, "/any").await;
        // The endpoint's own answer, from the one back first.
        assert_eq!(
            (r.status, r.header("x-upstream")),
            (500, Some(soonest)),
            "{r:?}"
        );
    }
    for _ in 0..10 {
        let r = get(web, "/fail").await;
        assert_eq!((r.status, r.header("x-upstream")), (503, None), "{r:?}");
    }
    assert_eq!(x.hits() + y.hits(), hits0 + 10);
    let m = metrics_text(admin).await;
    let delta =
        |name: &str, labels: &[(&str, &str)]| metric(&m, name, labels) - metric(&m0, name, labels);
    assert_eq!(
        delta("switchyard_pool_no_healthy_total", &[("pool", "pany")]),
        10.0
    );
    assert_eq!(
        delta("switchyard_pool_no_healthy_total", &[("pool", "pfail")]),
        10.0
    );
    let no_endpoint = [("reason", "no_endpoint")];
    assert_eq!(delta("switchyard_proxy_errors_total", &no_endpoint), 10.0);
    // Outcomes at an ejected endpoint do not extend its ejection.
    let doc = upstreams(admin).await;
    let again = endpoint(&doc, "pany", soonest)["outlier"]["ejections_in_row"].clone();
    assert_eq!(again, 1, "{doc}");
    proxy.shutdown_within(Duration::from_secs(1)).await;
}
