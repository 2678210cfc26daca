//! `listeners[].limits` through the real listener, on raw sockets: a head
//! over `max_header_bytes` or with more than `max_headers` fields gets 431
//! and never reaches the upstream; a client that starts a head and stalls
//! is cut off at `header_read_timeout`; a reload changes the limits for new
//! connections. The idle timeout has its own suite (`timeouts`).

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::common::{config, eps, reload, start_proxy, TestUpstream};

pub(crate) fn yaml(up: &TestUpstream, limits: &str) -> String {
    config(&format!(
        "routes: [{{ name: r, pool: p }}]\npools: [{{ name: p, endpoints: [{}] }}]\n",
        eps(&[("up", up.url())])
    ))
    .replace(
        "{ name: web, listen: '127.0.0.1:0' }",
        &format!("{{ name: web, listen: '127.0.0.1:0'{limits} }}"),
    )
}

/// Sends `head` (a whole request head) and returns the status of the
/// answer, or `None` when the connection closed without one.
pub(crate) async fn status_of(addr: SocketAddr, head: &str) -> Option<u16> {
    let mut s = TcpStream::connect(addr).await.unwrap();
    // The proxy may answer and close before the whole head is written.
    s.write_all(head.as_bytes()).await.ok();
    let mut buf = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(10), async {
        let mut chunk = [0u8; 4096];
        loop {
            match s.read(&mut chunk).await {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    buf.extend_from_slice(&chunk[..n]);
                    if buf.windows(4).any(|w| w == b"\r\n\r\n") {
                        break;
                    }
                }
            }
        }
    })
    .await;
    assert!(read.is_ok(), "no answer and no close within 10 s");
    let text = String::from_utf8_lossy(&buf);
    text.strip_prefix("HTTP/1.1 ")?
        .get(..3)
        .and_then(|c| c.parse().ok())
}

/// Reads (and discards) until the proxy closes `s`; `false` if it is still
/// open after 10 s.
pub(crate) async fn closes_within_10s(s: &mut TcpStream) -> bool {
    let mut buf = [0u8; 1024];
    tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            match s.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
        }
    })
    .await
    .is_ok()
}

fn head_with(extra: &str) -> String {
    format!("GET / HTTP/1.1\r\nHost: example.test\r\n{extra}Connection: close\r\n\r\n")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_heads_and_too_many_headers_get_431() {
    let up = TestUpstream::spawn("up").await;
    let proxy = start_proxy(&yaml(&up, ", limits: { max_headers: 20 }")).await;
    let web = proxy.listener_addr("web").unwrap();

    assert_eq!(status_of(web, &head_with("")).await, Some(200));
    let hits = up.hits();
    // Default max_header_bytes: 64 KiB.
    let big = format!("x-big: {}\r\n", "a".repeat(70 * 1024));
    assert_eq!(status_of(web, &head_with(&big)).await, Some(431));
    let fits = format!("x-big: {}\r\n", "a".repeat(40 * 1024));
    assert_eq!(status_of(web, &head_with(&fits)).await, Some(200));
    // Host and Connection plus 17 more: 19 fields pass; 21 do not.
    let fields = |n: usize| (0..n).map(|i| format!("x-h{i}: v\r\n")).collect::<String>();
    assert_eq!(status_of(web, &head_with(&fields(17))).await, Some(200));
    assert_eq!(status_of(web, &head_with(&fields(19))).await, Some(431));
    // Only the three good requests reached the upstream.
    assert_eq!(up.hits(), hits + 2);
    proxy.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_head_is_cut_off_at_header_read_timeout() {
    let up = TestUpstream::spawn("up").await;
    let proxy = start_proxy(&yaml(&up, ", limits: { header_read_timeout: 300ms }")).await;
    let web = proxy.listener_addr("web").unwrap();
    let mut s = TcpStream::connect(web).await.unwrap();
    s.write_all(b"GET / HTTP/1.1\r\nHost: example.test\r\nX-Slow: ")
        .await
        .unwrap();
    // The proxy ends the connection (it may say 408 first); a client that
    // kept trickling would be cut off the same way.
    assert!(
        closes_within_10s(&mut s).await,
        "the stalled connection is still open after 10 s"
    );
    assert_eq!(up.hits(), 0);
    // Whole heads still pass.
    assert_eq!(status_of(web, &head_with("")).await, Some(200));
    proxy.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reload_changes_the_limits_for_new_connections() {
    let up = TestUpstream::spawn("up").await;
    let proxy = start_proxy(&yaml(&up, ", limits: { max_header_bytes: 8KiB }")).await;
    let web = proxy.listener_addr("web").unwrap();
    let mid = format!("x-big: {}\r\n", "a".repeat(12 * 1024));
    assert_eq!(status_of(web, &head_with(&mid)).await, Some(431));
    let report = reload(&proxy, &yaml(&up, ", limits: { max_header_bytes: 32KiB }")).await;
    assert_eq!(report.result, "success", "{:?}", report.errors);
    assert_eq!(status_of(web, &head_with(&mid)).await, Some(200));
    proxy.shutdown().await;
}

/// On HTTP/2 the limit is the header list size the client is told; a
/// request over it never reaches the upstream.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_http2_header_list_over_the_limit_is_refused() {
    use bytes::Bytes;
    use http_body_util::Full;

    let up = TestUpstream::spawn("up").await;
    let proxy = start_proxy(&yaml(&up, ", limits: { max_header_bytes: 16KiB }")).await;
    let web = proxy.listener_addr("web").unwrap();
    let stream = TcpStream::connect(web).await.unwrap();
    let (mut sender, conn) = hyper::client::conn::http2::handshake(
        hyper_util::rt::TokioExecutor::new(),
        hyper_util::rt::TokioIo::new(stream),
    )
    .await
    .unwrap();
    tokio::spawn(conn);
    let req = |size: usize| {
        http::Request::get(format!("http://example.test:{}/", web.port()))
            .header("x-big", "a".repeat(size))
            .body(Full::new(Bytes::new()))
            .unwrap()
    };
    let ok = sender.send_request(req(4 * 1024)).await.unwrap();
    assert_eq!(ok.status(), 200);
    // Refused: an error on the stream, or a 431 answer; either way the
    // upstream never sees it.
    let hits = up.hits();
    match sender.send_request(req(32 * 1024)).await {
        Ok(resp) => assert_eq!(resp.status(), 431),
        Err(e) => assert!(!e.to_string().is_empty()),
    }
    assert_eq!(up.hits(), hits);
    proxy.shutdown().await;
}

/// `max_connections`: at the cap a new connection waits (in the listen
/// backlog) until an open one closes, then it is served.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_over_max_connections_wait_for_a_free_slot() {
    let up = TestUpstream::spawn("up").await;
    let proxy = start_proxy(&yaml(&up, ", limits: { max_connections: 2 }")).await;
    let web = proxy.listener_addr("web").unwrap();
    let keep_alive = "GET / HTTP/1.1\r\nHost: example.test\r\n\r\n";
    let mut open = Vec::new();
    for _ in 0..2 {
        let mut s = TcpStream::connect(web).await.unwrap();
        s.write_all(keep_alive.as_bytes()).await.unwrap();
        let mut buf = [0u8; 4096];
        let n = s.read(&mut buf).await.unwrap();
        assert!(buf[..n].starts_with(b"HTTP/1.1 200"));
        open.push(s);
    }
    // The third connects (the kernel's backlog takes it) but is not served
    // while both slots are taken.
    let mut third = TcpStream::connect(web).await.unwrap();
    third.write_all(keep_alive.as_bytes()).await.unwrap();
    let mut buf = [0u8; 4096];
    let early = tokio::time::timeout(Duration::from_millis(500), third.read(&mut buf)).await;
    assert!(early.is_err(), "served over the cap: {early:?}");
    // A slot frees: the waiting connection is served.
    drop(open.pop());
    let n = tokio::time::timeout(Duration::from_secs(10), third.read(&mut buf))
        .await
        .expect("served once a slot is free")
        .unwrap();
    assert!(buf[..n].starts_with(b"HTTP/1.1 200"), "{:?}", &buf[..n]);
    proxy.shutdown().await;
}
