//! Load shedding through the real listener: `max_body` (a route's own, or
//! the listener's `limits.max_body`) answers 413 and closes the connection,
//! up front when Content-Length says so and mid-stream for a chunked body;
//! `max_concurrent_requests` on a route or a pool sheds the request one
//! over the limit with 503 and `Retry-After: 1` at once, and a reload that
//! keeps the route keeps its count. Each refusal is counted in
//! `switchyard_proxy_errors_total`.
//!
//! Slow requests are held by the test upstream (`set_held`) until the test
//! lets them go, so nothing depends on timing: a request the proxy failed
//! to shed would hang there, and the test's deadline would catch it.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::task::JoinHandle;

use crate::common::raw::exchange;
use crate::common::{
    config, eps, eventually, get, metric, metrics_text, reload, start_proxy, Reply, TestUpstream,
};

const ERRORS: &str = "switchyard_proxy_errors_total";
const DEADLINE: Duration = Duration::from_secs(10);

/// One pool `p` on `up`, the given routes, and listener limits.
fn yaml(up: &TestUpstream, routes: &str, pool_extra: &str, limits: &str) -> String {
    config(&format!(
        "routes:\n{routes}pools: [{{ name: p, endpoints: [{}]{pool_extra} }}]\n",
        eps(&[("up", up.url())])
    ))
    .replace(
        "{ name: web, listen: '127.0.0.1:0' }",
        &format!("{{ name: web, listen: '127.0.0.1:0'{limits} }}"),
    )
}

async fn errors(admin: SocketAddr, reason: &str) -> f64 {
    metric(&metrics_text(admin).await, ERRORS, &[("reason", reason)])
}

/// A POST to `path` with a Content-Length body of `n` bytes.
fn sized_post(path: &str, n: usize) -> String {
    format!(
        "POST {path} HTTP/1.1\r\nHost: example.test\r\nContent-Length: {n}\r\nConnection: close\r\n\r\n{}",
        "a".repeat(n)
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_body_answers_413_up_front_or_mid_stream_and_closes() {
    let up = TestUpstream::spawn("up").await;
    let routes = "  - { name: r, pool: p, max_body: 100 }\n";
    let proxy = start_proxy(&yaml(&up, routes, "", "")).await;
    let web = proxy.listener_addr("web").unwrap();
    let admin = proxy.admin_addr();
    let before = errors(admin, "body_too_large").await;

    // Content-Length 101: refused on the head alone; the body is never
    // sent, so an answer at all shows it did not wait for it.
    let head = "POST /inspect HTTP/1.1\r\nHost: example.test\r\nContent-Length: 101\r\n\r\n";
    let got = exchange(web, head.as_bytes()).await;
    assert_eq!(got.status(), 413, "{:?}", got.raw);
    assert_eq!(got.replies[0].header("connection"), Some("close"));
    assert!(got.closed, "the connection is still open after a 413");
    assert_eq!(up.hits(), 0, "a refused body reached the upstream");

    // At the limit: served, whole.
    let got = exchange(web, sized_post("/inspect", 100).as_bytes()).await;
    assert_eq!(got.status(), 200, "{:?}", got.raw);
    assert_eq!(up.complete_bodies(), 1);

    // Chunked, exactly 100: served.
    let chunked = "POST /inspect HTTP/1.1\r\nHost: example.test\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n";
    let exact = format!(
        "{chunked}3c\r\n{}\r\n28\r\n{}\r\n0\r\n\r\n",
        "a".repeat(60),
        "b".repeat(40)
    );
    assert_eq!(exchange(web, exact.as_bytes()).await.status(), 200);
    assert_eq!(up.complete_bodies(), 2);

    // Chunked, growing past 100 and never ending: refused mid-stream (it
    // cannot wait for an end that does not come). The upstream may have
    // been handed the head, never the whole body.
    let over = format!(
        "{chunked}3c\r\n{}\r\n3c\r\n{}\r\n",
        "a".repeat(60),
        "b".repeat(60)
    );
    let got = exchange(web, over.as_bytes()).await;
    assert_eq!(got.status(), 413, "{:?}", got.raw);
    assert_eq!(got.replies[0].header("connection"), Some("close"));
    assert!(got.closed, "the connection is still open after a 413");
    assert_eq!(up.complete_bodies(), 2);

    assert_eq!(errors(admin, "body_too_large").await - before, 2.0);
    proxy.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_listener_max_body_is_the_default_and_a_route_own_wins() {
    let up = TestUpstream::spawn("up").await;
    let routes = "  - { name: plain, match: { path_prefix: /plain }, pool: p }\n  \
                  - { name: big, match: { path_prefix: /big }, pool: p, max_body: 200 }\n  \
                  - { name: tight, match: { path_prefix: /tight }, pool: p, max_body: 10 }\n";
    let proxy = start_proxy(&yaml(&up, routes, "", ", limits: { max_body: 50 }")).await;
    let web = proxy.listener_addr("web").unwrap();
    // (path, body size, status)
    let cases = [
        ("/plain/inspect", 50, 200),
        ("/plain/inspect", 51, 413),
        ("/big/inspect", 200, 200),
        ("/big/inspect", 201, 413),
        ("/tight/inspect", 10, 200),
        ("/tight/inspect", 11, 413),
    ];
    for (path, n, status) in cases {
        let got = exchange(web, sized_post(path, n).as_bytes()).await;
        assert_eq!(got.status(), status, "{path} with {n} bytes: {:?}", got.raw);
    }
    assert_eq!(up.complete_bodies(), 3);
    assert_eq!(up.hits(), 3);
    proxy.shutdown().await;
}

/// Starts a GET of each of `paths`, which the held upstream keeps in flight,
/// and waits until it has them all.
async fn hold(up: &TestUpstream, web: SocketAddr, paths: &[&str]) -> Vec<JoinHandle<Reply>> {
    let hits = up.hits();
    let tasks = paths
        .iter()
        .map(|p| {
            let p = p.to_string();
            tokio::spawn(async move { get(web, &p).await })
        })
        .collect();
    let want = hits + paths.len() as u64;
    eventually(DEADLINE, || async { (up.hits() == want).then_some(()) }).await;
    tasks
}

/// A GET that must be shed at once: it may not wait for the held ones.
async fn shed(web: SocketAddr, path: &str) -> Reply {
    let r = tokio::time::timeout(DEADLINE, get(web, path))
        .await
        .expect("shed at once, not queued behind the held requests");
    assert_eq!(r.status, 503, "{path}: {}", r.body);
    assert_eq!(r.header("retry-after"), Some("1"));
    r
}

/// Lets the held requests go; each must have been served.
async fn release(up: &TestUpstream, tasks: Vec<JoinHandle<Reply>>) {
    up.set_held(false);
    for t in tasks {
        let r = tokio::time::timeout(DEADLINE, t)
            .await
            .expect("held request finished")
            .unwrap();
        assert_eq!(r.status, 200, "{}", r.body);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_route_over_max_concurrent_requests_sheds_with_503() {
    let up = TestUpstream::spawn("up").await;
    let routes = "  - { name: r, pool: p, max_concurrent_requests: 2 }\n";
    let proxy = start_proxy(&yaml(&up, routes, "", "")).await;
    let web = proxy.listener_addr("web").unwrap();
    let admin = proxy.admin_addr();
    let before = errors(admin, "route_overloaded").await;
    up.set_held(true);
    let held = hold(&up, web, &["/", "/"]).await;
    shed(web, "/").await;
    shed(web, "/other").await;
    assert_eq!(up.hits(), 2, "a shed request reached the upstream");
    assert_eq!(errors(admin, "route_overloaded").await - before, 2.0);
    release(&up, held).await;
    // Slots are free again.
    assert_eq!(get(web, "/").await.status, 200);
    assert_eq!(errors(admin, "pool_overloaded").await, 0.0);
    proxy.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pool_limit_is_shared_by_its_routes() {
    let up = TestUpstream::spawn("up").await;
    let routes = "  - { name: one, match: { path_prefix: /one }, pool: p }\n  \
                  - { name: two, match: { path_prefix: /two }, pool: p }\n";
    let proxy = start_proxy(&yaml(&up, routes, ", max_concurrent_requests: 2", "")).await;
    let web = proxy.listener_addr("web").unwrap();
    let admin = proxy.admin_addr();
    let before = errors(admin, "pool_overloaded").await;
    up.set_held(true);
    let held = hold(&up, web, &["/one", "/two"]).await;
    shed(web, "/one").await;
    shed(web, "/two").await;
    assert_eq!(up.hits(), 2);
    assert_eq!(errors(admin, "pool_overloaded").await - before, 2.0);
    release(&up, held).await;
    assert_eq!(get(web, "/one").await.status, 200);
    assert_eq!(get(web, "/two").await.status, 200);
    assert_eq!(errors(admin, "route_overloaded").await, 0.0);
    proxy.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reload_that_keeps_the_route_keeps_its_count() {
    let up = TestUpstream::spawn("up").await;
    let routes = |tag: &str| {
        format!(
            "  - {{ name: r, pool: p, max_concurrent_requests: 2, response_headers: {{ set: {{ x-gen: '{tag}' }} }} }}\n"
        )
    };
    let proxy = start_proxy(&yaml(&up, &routes("1"), "", "")).await;
    let web = proxy.listener_addr("web").unwrap();
    up.set_held(true);
    let held = hold(&up, web, &["/", "/"]).await;
    let report = reload(&proxy, &yaml(&up, &routes("2"), "", "")).await;
    assert_eq!(report.result, "success", "{:?}", report.errors);
    // The two requests admitted under the old config still count against
    // the route under the new one.
    shed(web, "/").await;
    assert_eq!(up.hits(), 2);
    release(&up, held).await;
    // The new config was the one in force: its answers carry its tag.
    let r = get(web, "/").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("x-gen"), Some("2"));
    proxy.shutdown().await;
}
