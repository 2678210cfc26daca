//! `pools[].limits.max_response_header_bytes` through the real listener
//! (in process): on HTTP/1.1 a head over the limit is a 502
//! `upstream_header_too_large`; on HTTP/2 the limit is the header list
//! size announced to the endpoint, and a bigger list resets the stream (a
//! 502 counted as `reset`: h2 does not say why). Heads under the limit
//! pass, the default (64 KiB) included.

use crate::common::{config, get, metric, metrics_text, start_proxy, TestUpstream};

fn yaml(up: &TestUpstream, pool: &str) -> String {
    config(&format!(
        "routes: [{{ name: r, pool: p }}]\npools: [{{ name: p, {pool}endpoints: [{{ name: up, url: '{}' }}] }}]\n",
        up.url()
    ))
}

/// GETs `/big-header/<n>` (a response head a little over n bytes) and
/// returns its status.
async fn status_with_header(proxy: &switchyard::Switchyard, n: usize) -> u16 {
    let web = proxy.listener_addr("web").unwrap();
    get(web, &format!("/big-header/{n}")).await.status
}

async fn errors(proxy: &switchyard::Switchyard, reason: &str) -> f64 {
    let text = metrics_text(proxy.admin_addr()).await;
    metric(
        &text,
        "switchyard_proxy_errors_total",
        &[("reason", reason)],
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http1_heads_over_the_limit_are_502s() {
    let up = TestUpstream::spawn("up").await;
    let proxy = start_proxy(&yaml(&up, "")).await;
    assert_eq!(status_with_header(&proxy, 60 * 1024).await, 200);
    assert_eq!(status_with_header(&proxy, 65 * 1024).await, 502);
    assert_eq!(errors(&proxy, "upstream_header_too_large").await, 1.0);
    proxy.shutdown().await;

    let limit = "limits: { max_response_header_bytes: 16KiB }, ";
    let proxy = start_proxy(&yaml(&up, limit)).await;
    assert_eq!(status_with_header(&proxy, 15 * 1024).await, 200);
    assert_eq!(status_with_header(&proxy, 17 * 1024).await, 502);
    assert_eq!(errors(&proxy, "upstream_header_too_large").await, 1.0);
    // The connection that broke the limit was dropped; the pool serves on.
    assert_eq!(status_with_header(&proxy, 10).await, 200);
    proxy.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http2_header_lists_over_the_limit_are_502s() {
    let up = TestUpstream::spawn("up").await;
    // The default is 64 KiB here too (hyper's own would be 16 KiB).
    let proxy = start_proxy(&yaml(&up, "protocol: http2, ")).await;
    assert_eq!(status_with_header(&proxy, 40 * 1024).await, 200);
    assert_eq!(status_with_header(&proxy, 70 * 1024).await, 502);
    assert_eq!(errors(&proxy, "reset").await, 1.0);
    proxy.shutdown().await;

    let pool = "protocol: http2, limits: { max_response_header_bytes: 16KiB }, ";
    let proxy = start_proxy(&yaml(&up, pool)).await;
    assert_eq!(status_with_header(&proxy, 12 * 1024).await, 200);
    assert_eq!(status_with_header(&proxy, 20 * 1024).await, 502);
    assert_eq!(errors(&proxy, "reset").await, 1.0);
    // Only the stream was refused: the shared connection serves on.
    assert_eq!(status_with_header(&proxy, 10).await, 200);
    assert_eq!(up.connections.load(std::sync::atomic::Ordering::Relaxed), 2);
    proxy.shutdown().await;
}
