//! Upstream keep-alive pools: reuse, and upstreams that close idle
//! connections.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::common::{config, get, start_proxy, TestUpstream};

#[tokio::test]
async fn sequential_requests_reuse_one_upstream_connection() {
    let up = TestUpstream::spawn("up").await;
    let yaml = config(&format!(
        "routes: [{{ name: r, pool: p }}]\npools: [{{ name: p, endpoints: [{{ name: up, url: '{}' }}] }}]\n",
        up.url()
    ));
    let proxy = start_proxy(&yaml).await;
    let addr = proxy.listener_addr("web").unwrap();
    for _ in 0..50 {
        assert_eq!(get(addr, "/").await.body, "up");
    }
    // Bodies of every size, read to the end, give their connection back.
    for path in ["/bytes/0", "/bytes/70000", "/status/204", "/bytes/5"] {
        assert!(get(addr, path).await.status < 300);
    }
    assert_eq!(up.hits(), 54);
    assert_eq!(up.connections.load(Ordering::Relaxed), 1);
    proxy.shutdown_within(Duration::from_secs(1)).await;
}

/// Answers one request per connection, advertising keep-alive, then closes:
/// every pooled connection is stale by the time it is reused.
async fn one_shot_upstream() -> (
    std::net::SocketAddr,
    Arc<AtomicU64>,
    tokio::task::JoinHandle<()>,
) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let served = Arc::new(AtomicU64::new(0));
    let s = served.clone();
    let task = tokio::spawn(async move {
        loop {
            let Ok((mut sock, _)) = listener.accept().await else {
                return;
            };
            let s = s.clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 4096];
                let mut got = Vec::new();
                while !got.windows(4).any(|w| w == b"\r\n\r\n") {
                    match sock.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => got.extend_from_slice(&buf[..n]),
                    }
                }
                s.fetch_add(1, Ordering::Relaxed);
                sock.write_all(
                    b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: keep-alive\r\n\r\nok",
                )
                .await
                .ok();
                // Close without warning, as an upstream idle timeout would.
            });
        }
    });
    (addr, served, task)
}

#[tokio::test]
async fn upstream_closing_idle_connections_costs_no_request() {
    let (up, served, task) = one_shot_upstream().await;
    let yaml = config(&format!(
        "routes: [{{ name: r, pool: p }}]\npools: [{{ name: p, endpoints: [{{ name: up, url: 'http://{up}' }}] }}]\n"
    ));
    let proxy = start_proxy(&yaml).await;
    let addr = proxy.listener_addr("web").unwrap();
    for i in 0..30 {
        let r = get(addr, "/").await;
        assert_eq!((r.status, r.body.as_str()), (200, "ok"), "request {i}");
    }
    assert_eq!(served.load(Ordering::Relaxed), 30);
    task.abort();
    proxy.shutdown_within(Duration::from_secs(1)).await;
}
