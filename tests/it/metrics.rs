//! Metrics count what the tests sent; admin health endpoints.

use std::time::Duration;

use crate::common::{config, eventually, get, metric, start_proxy, TestUpstream};

#[tokio::test]
async fn metrics_count_requests_outcomes_and_errors() {
    let a = TestUpstream::spawn("a").await;
    let yaml = config(&format!(
        "routes:\n  - {{ name: api, match: {{ path_prefix: /api }}, pool: p }}\n\
pools: [{{ name: p, endpoints: [{{ name: a, url: '{}' }}] }}]\n",
        a.url()
    ));
    let proxy = start_proxy(&yaml).await;
    let addr = proxy.listener_addr("web").unwrap();
    let admin = proxy.admin_addr();
    for _ in 0..7 {
        assert_eq!(get(addr, "/api/x").await.status, 200);
    }
    for _ in 0..2 {
        assert_eq!(get(addr, "/api/status/503").await.status, 503);
    }
    for _ in 0..3 {
        assert_eq!(get(addr, "/other").await.status, 404);
    }
    let text = eventually(Duration::from_secs(5), || async {
        let t = get(admin, "/metrics").await.body;
        (metric(
            &t,
            "switchyard_http_requests_total",
            &[("route", "api"), ("code_class", "2xx")],
        ) == 7.0
            && metric(
                &t,
                "switchyard_http_requests_total",
                &[("route", "api"), ("code_class", "5xx")],
            ) == 2.0
            && metric(
                &t,
                "switchyard_http_requests_total",
                &[("route", ""), ("code_class", "4xx")],
            ) == 3.0)
            .then_some(t)
    })
    .await;
    let m = |name: &str, labels: &[(&str, &str)]| metric(&text, name, labels);
    assert_eq!(
        m("switchyard_http_requests_total", &[("listener", "web")]),
        12.0
    );
    assert_eq!(
        m(
            "switchyard_http_request_duration_seconds_count",
            &[("route", "api")]
        ),
        9.0
    );
    assert_eq!(
        m(
            "switchyard_upstream_requests_total",
            &[("pool", "p"), ("endpoint", "a"), ("outcome", "success")]
        ),
        7.0
    );
    assert_eq!(
        m(
            "switchyard_upstream_requests_total",
            &[("endpoint", "a"), ("outcome", "http_5xx")]
        ),
        2.0
    );
    assert_eq!(
        m(
            "switchyard_upstream_requests_total",
            &[("outcome", "connect_error")]
        ),
        0.0
    );
    assert_eq!(
        m(
            "switchyard_upstream_response_duration_seconds_count",
            &[("endpoint", "a")]
        ),
        9.0
    );
    assert_eq!(
        m(
            "switchyard_upstream_in_flight_requests",
            &[("endpoint", "a")]
        ),
        0.0
    );
    assert_eq!(
        m("switchyard_proxy_errors_total", &[("reason", "no_route")]),
        3.0
    );
    assert_eq!(
        m(
            "switchyard_build_info",
            &[("version", env!("CARGO_PKG_VERSION"))]
        ),
        1.0
    );
    // Labels come from config names only: no path or client address leaks.
    assert!(
        !text.contains("/api/x") && !text.contains("127.0.0.1"),
        "{text}"
    );
    proxy.shutdown_within(Duration::from_secs(1)).await;
}

#[tokio::test]
async fn admin_health_endpoints() {
    let a = TestUpstream::spawn("a").await;
    let yaml = config(&format!(
        "routes: [{{ name: r, pool: p }}]\npools: [{{ name: p, endpoints: [{{ name: a, url: '{}' }}] }}]\n",
        a.url()
    ));
    let proxy = start_proxy(&yaml).await;
    let admin = proxy.admin_addr();
    assert_eq!(get(admin, "/healthz").await.status, 200);
    assert_eq!(get(admin, "/readyz").await.status, 200);
    assert_eq!(get(admin, "/nope").await.status, 404);
    proxy.shutdown_within(Duration::from_secs(1)).await;
}
