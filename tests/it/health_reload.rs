//! Health and ejection state across reloads: an endpoint that is down
//! stays down through a reload that does not touch it, without waiting for
//! new probes, and an endpoint the reload removes is no longer probed.

use std::time::Duration;

use crate::common::{
    config, endpoint, eps, eventually, get, metric, metrics_text, reload, start_proxy, upstreams,
    wait_status, Health, TestUpstream,
};

fn yaml(routes: &str, list: &str) -> String {
    config(&format!(
        "routes:\n{routes}pools:\n  - {{ name: p, endpoints: [{list}],\n\
    health_check: {{ path: /health, interval: 100ms, timeout: 50ms, unhealthy_threshold: 2 }},\n\
    outlier_detection: {{ consecutive_failures: 2, max_ejection_percent: 100, base_ejection_time: 30s }} }}\n"
    ))
}

#[tokio::test]
async fn down_endpoints_stay_down_across_reloads_and_removed_ones_stop_being_probed() {
    let sick = TestUpstream::spawn("sick").await;
    let bad = TestUpstream::spawn("bad").await;
    let ok = TestUpstream::spawn("ok").await;
    let gone = TestUpstream::spawn("gone").await;
    sick.set_health(Health::Fail);
    bad.set_status(500);
    let kept = [("sick", sick.url()), ("bad", bad.url()), ("ok", ok.url())];
    let mut all = kept.to_vec();
    all.push(("gone", gone.url()));
    let one_route = "  - { name: r, pool: p }\n";
    let two_routes =
        "  - { name: r, pool: p }\n  - { name: r2, match: { path_prefix: /other }, pool: p }\n";
    let proxy = start_proxy(&yaml(one_route, &eps(&all))).await;
    let (web, admin) = (proxy.listener_addr("web").unwrap(), proxy.admin_addr());
    let want = [
        ("p", "sick", "unhealthy"),
        ("p", "bad", "healthy"),
        ("p", "ok", "healthy"),
        ("p", "gone", "healthy"),
    ];
    wait_status(admin, Duration::from_secs(5), &want).await;
    // Two failures in a row eject `bad`.
    for _ in 0..20 {
        get(web, "/").await;
    }
    let before = upstreams(admin).await;
    let state = |doc: &serde_json::Value, name: &str| {
        let ep = endpoint(doc, "p", name);
        (
            ep["status"].as_str().unwrap().to_string(),
            ep["outlier"]["ejected"]["until"].as_f64(),
            ep["health_check"]["consecutive_failures"].as_u64().unwrap(),
        )
    };
    let (sick0, bad0) = (state(&before, "sick"), state(&before, "bad"));
    assert_eq!(sick0.0, "unhealthy");
    assert_eq!(bad0.0, "ejected", "{before}");

    // Reload 1 adds a route and touches no endpoint.
    let report = reload(&proxy, &yaml(two_routes, &eps(&all))).await;
    assert_eq!(report.result, "success", "{report:?}");
    assert_eq!(report.changes.routes.added, 1);
    let after = upstreams(admin).await;
    assert_eq!(after["generation"], 2);
    let (sick1, bad1) = (state(&after, "sick"), state(&after, "bad"));
    assert_eq!(sick1.0, "unhealthy", "{after}");
    assert!(sick1.2 >= sick0.2, "probe streak reset: {after}");
    assert_eq!(bad1.0, "ejected", "{after}");
    // The same ejection (times are recomputed from the clock on each read).
    assert!((bad1.1.unwrap() - bad0.1.unwrap()).abs() < 0.05, "{after}");
    let (sick_hits, bad_hits) = (sick.hits(), bad.hits());
    for path in ["/", "/other"].repeat(15) {
        let r = get(web, path).await;
        assert_eq!(r.status, 200, "{r:?}");
        assert!(r.body == "ok" || r.body == "gone", "{}", r.body);
    }
    assert_eq!((sick.hits(), bad.hits()), (sick_hits, bad_hits));

    // Reload 2 removes `gone`: its probes stop, its series go.
    let report = reload(&proxy, &yaml(two_routes, &eps(&kept))).await;
    assert_eq!(report.result, "success", "{report:?}");
    assert_eq!(report.changes.endpoints.removed, 1, "{report:?}");
    // A probe already on its way may still land; after two more of sick's
    // probes (two intervals), none may.
    let s0 = sick.probes();
    eventually(Duration::from_secs(5), || async {
        (sick.probes() >= s0 + 2).then_some(())
    })
    .await;
    let g = gone.probes();
    let s1 = sick.probes();
    eventually(Duration::from_secs(5), || async {
        (sick.probes() >= s1 + 4).then_some(())
    })
    .await;
    assert_eq!(gone.probes(), g, "a removed endpoint is still probed");
    let doc = upstreams(admin).await;
    assert_eq!(state(&doc, "sick").0, "unhealthy", "{doc}");
    assert_eq!(state(&doc, "bad").0, "ejected", "{doc}");
    let m = metrics_text(admin).await;
    assert!(!m.contains("endpoint=\"gone\""), "{m}");
    let ok_probes = metric(&m, "switchyard_health_checks_total", &[("endpoint", "ok")]);
    assert!(ok_probes >= 4.0, "{m}");
    for _ in 0..10 {
        assert_eq!(get(web, "/").await.body, "ok");
    }
    proxy.shutdown_within(Duration::from_secs(1)).await;
}
