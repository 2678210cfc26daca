//! `pools[].protocol: http2`: one multiplexed connection per endpoint,
//! h2c (prior knowledge) in cleartext and ALPN `h2` over TLS; a new
//! connection once the old one is gone.

use std::sync::atomic::Ordering;
use std::time::Duration;

use crate::common::{client, config, eventually, get, get_on, TestUpstream};
use crate::tls::{start_in, write_atomic, Ca};
use crate::upstream_tls::server_config;

fn yaml(settings: &str, url: &str) -> String {
    config(&format!(
        "routes: [{{ name: r, pool: p }}]
pools:
  - {{ name: p, {settings} endpoints: [{{ name: up, url: '{url}' }}] }}
"
    ))
}

/// Sends `n` requests at once, each on its own client connection, that
/// the upstream answers after 200 ms; all of them must succeed.
async fn concurrently(addr: std::net::SocketAddr, n: usize) {
    let tasks: Vec<_> = (0..n)
        .map(|_| tokio::spawn(async move { get(addr, "/slow/200").await }))
        .collect();
    for t in tasks {
        let reply = t.await.unwrap();
        assert_eq!(reply.status, 200, "{}", reply.body);
        assert_eq!(reply.body, "up");
    }
}

/// The HTTP version and `TE` header the upstream saw on `/headers`.
async fn seen(addr: std::net::SocketAddr) -> serde_json::Value {
    let reply = get(addr, "/headers").await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    serde_json::from_str(&reply.body).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn h2c_upstream_serves_concurrent_requests_on_one_connection() {
    let up = TestUpstream::spawn("up").await;
    let dir = tempfile::tempdir().unwrap();
    let proxy = start_in(dir.path(), &yaml("protocol: http2,", &up.url())).await;
    let addr = proxy.listener_addr("web").unwrap();
    concurrently(addr, 50).await;
    let head = seen(addr).await;
    assert_eq!(head["version"], "HTTP/2.0", "{head}");
    assert_eq!(
        head["uri"],
        format!("http://127.0.0.1:{}/headers", addr.port()),
        "{head}"
    );
    assert_eq!(up.hits(), 51);
    assert_eq!(up.connections.load(Ordering::Relaxed), 1);
    proxy.shutdown_within(Duration::from_secs(1)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn h2_over_tls_upstream_serves_concurrent_requests_on_one_connection() {
    let ca = Ca::new("Vendor CA");
    let pair = ca.server(&["127.0.0.1"], "vendor");
    let alpn: [&[u8]; 2] = [b"h2", b"http/1.1"];
    let up = TestUpstream::spawn_tls("up", server_config(&pair, &alpn, None)).await;
    let dir = tempfile::tempdir().unwrap();
    write_atomic(&dir.path().join("ca.pem"), &ca.pem());
    let settings = "protocol: http2, tls: { ca: ca.pem },";
    let proxy = start_in(dir.path(), &yaml(settings, &up.url())).await;
    let addr = proxy.listener_addr("web").unwrap();
    concurrently(addr, 50).await;
    let head = seen(addr).await;
    assert_eq!(head["version"], "HTTP/2.0", "{head}");
    assert_eq!(up.connections.load(Ordering::Relaxed), 1);
    // An http1 pool offers only http/1.1 by ALPN, so the same server
    // speaks HTTP/1.1 to it.
    let report = crate::common::reload(
        &proxy,
        &yaml(
            &format!("tls: {{ ca: '{}' }},", dir.path().join("ca.pem").display()),
            &up.url(),
        ),
    )
    .await;
    assert_eq!(report.result, "success", "{report:?}");
    let head = seen(addr).await;
    assert_eq!(head["version"], "HTTP/1.1", "{head}");
    proxy.shutdown_within(Duration::from_secs(1)).await;
}

#[tokio::test]
async fn http2_pool_needs_the_server_to_accept_h2() {
    let ca = Ca::new("Vendor CA");
    let pair = ca.server(&["127.0.0.1"], "vendor");
    let up = TestUpstream::spawn_tls("up", server_config(&pair, &[b"http/1.1"], None)).await;
    let dir = tempfile::tempdir().unwrap();
    write_atomic(&dir.path().join("ca.pem"), &ca.pem());
    let settings = "protocol: http2, tls: { ca: ca.pem },";
    let proxy = start_in(dir.path(), &yaml(settings, &up.url())).await;
    let reply = get(proxy.listener_addr("web").unwrap(), "/").await;
    assert_eq!(reply.status, 502, "{}", reply.body);
    assert_eq!(up.hits(), 0);
    proxy.shutdown_within(Duration::from_secs(1)).await;
}

#[tokio::test]
async fn an_idle_h2_connection_is_closed_and_the_next_request_opens_another() {
    let up = TestUpstream::spawn("up").await;
    let dir = tempfile::tempdir().unwrap();
    let settings = "protocol: http2, idle_timeout: 1s,";
    let proxy = start_in(dir.path(), &yaml(settings, &up.url())).await;
    let addr = proxy.listener_addr("web").unwrap();
    let c = client();
    assert_eq!(get_on(&c, addr, "/").await.status, 200);
    assert_eq!(get_on(&c, addr, "/").await.status, 200);
    assert_eq!(up.connections.load(Ordering::Relaxed), 1);
    // The idle prune drops it; the upstream sees the connection close.
    eventually(Duration::from_secs(5), || async {
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert_eq!(get_on(&c, addr, "/").await.status, 200);
        (up.connections.load(Ordering::Relaxed) == 2).then_some(())
    })
    .await;
    proxy.shutdown_within(Duration::from_secs(1)).await;
}

#[tokio::test]
async fn health_probes_speak_http2_over_tls_to_an_h2_only_server() {
    let ca = Ca::new("Vendor CA");
    let pair = ca.server(&["127.0.0.1"], "vendor");
    // A server that offers only h2 refuses a handshake offering http/1.1.
    let up = TestUpstream::spawn_tls("up", server_config(&pair, &[b"h2"], None)).await;
    let dir = tempfile::tempdir().unwrap();
    write_atomic(&dir.path().join("ca.pem"), &ca.pem());
    let settings = "protocol: http2, tls: { ca: ca.pem }, health_check: { path: /health, interval: 300ms, timeout: 250ms },";
    let proxy = start_in(dir.path(), &yaml(settings, &up.url())).await;
    let admin = proxy.admin_addr();
    crate::common::wait_status(admin, Duration::from_secs(5), &[("p", "up", "healthy")]).await;
    assert!(up.probes() >= 1);
    let reply = get(proxy.listener_addr("web").unwrap(), "/").await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    proxy.shutdown_within(Duration::from_secs(1)).await;
}
