//! `listeners[].limits.header_read_timeout` and `idle_timeout` through the
//! real listener: a keep-alive connection outlives the head timeout while
//! idle and closes at the idle timeout; a head trickled byte by byte is cut
//! off at the head timeout; an HTTP/2 connection only has the idle
//! timeout; a slow response is never cut by either.

use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::common::{start_proxy, TestUpstream};
use crate::limits::{closes_within_10s, yaml};

const GET: &[u8] = b"GET / HTTP/1.1\r\nHost: example.test\r\n\r\n";

/// Sends a keep-alive GET on `s` and reads its (small) answer.
async fn round_trip(s: &mut TcpStream) -> Vec<u8> {
    s.write_all(GET).await.unwrap();
    let mut buf = vec![0u8; 4096];
    let n = tokio::time::timeout(Duration::from_secs(10), s.read(&mut buf))
        .await
        .expect("an answer within 10 s")
        .unwrap();
    buf.truncate(n);
    buf
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keep_alive_outlives_the_head_timeout_and_closes_at_the_idle_timeout() {
    let up = TestUpstream::spawn("up").await;
    let limits = ", limits: { header_read_timeout: 200ms, idle_timeout: 2s }";
    let proxy = start_proxy(&yaml(&up, limits)).await;
    let web = proxy.listener_addr("web").unwrap();
    let mut s = TcpStream::connect(web).await.unwrap();
    assert!(round_trip(&mut s).await.starts_with(b"HTTP/1.1 200"));
    // Idle for well over the head timeout: still open, and it serves.
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert!(round_trip(&mut s).await.starts_with(b"HTTP/1.1 200"));
    let idle_from = Instant::now();
    assert!(
        closes_within_10s(&mut s).await,
        "still open after 10 s idle"
    );
    // Closed by the idle timeout, not the head timeout.
    assert!(
        idle_from.elapsed() >= Duration::from_millis(1500),
        "closed after {:?}, before the idle timeout",
        idle_from.elapsed()
    );
    assert_eq!(up.hits(), 2);
    proxy.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_head_trickled_a_byte_at_a_time_is_cut_off() {
    let up = TestUpstream::spawn("up").await;
    let limits = ", limits: { header_read_timeout: 500ms, idle_timeout: 1m }";
    let proxy = start_proxy(&yaml(&up, limits)).await;
    let web = proxy.listener_addr("web").unwrap();
    // A second request on a keep-alive connection: its head timer starts
    // at its first byte.
    let mut s = TcpStream::connect(web).await.unwrap();
    assert!(round_trip(&mut s).await.starts_with(b"HTTP/1.1 200"));
    let head = b"GET / HTTP/1.1\r\nHost: example.test\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n";
    let started = Instant::now();
    let mut cut = false;
    for b in head.iter() {
        if s.write_all(&[*b]).await.is_err() {
            cut = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        if started.elapsed() > Duration::from_secs(5) {
            break;
        }
    }
    assert!(
        cut || closes_within_10s(&mut s).await,
        "a trickled head kept the connection open"
    );
    assert_eq!(up.hits(), 1, "the trickled request reached the upstream");
    proxy.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_response_is_not_cut_by_either_timeout() {
    let up = TestUpstream::spawn("up").await;
    up.set_delay(Duration::from_millis(1200));
    let limits = ", limits: { header_read_timeout: 200ms, idle_timeout: 400ms }";
    let proxy = start_proxy(&yaml(&up, limits)).await;
    let web = proxy.listener_addr("web").unwrap();
    let mut s = TcpStream::connect(web).await.unwrap();
    assert!(round_trip(&mut s).await.starts_with(b"HTTP/1.1 200"));
    proxy.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http2_connections_only_have_the_idle_timeout() {
    let up = TestUpstream::spawn("up").await;
    let limits = ", limits: { header_read_timeout: 200ms, idle_timeout: 2s }";
    let proxy = start_proxy(&yaml(&up, limits)).await;
    let web = proxy.listener_addr("web").unwrap();
    let stream = TcpStream::connect(web).await.unwrap();
    let (mut sender, conn) = hyper::client::conn::http2::handshake(
        hyper_util::rt::TokioExecutor::new(),
        hyper_util::rt::TokioIo::new(stream),
    )
    .await
    .unwrap();
    let conn = tokio::spawn(conn);
    let req = || {
        http::Request::get(format!("http://example.test:{}/", web.port()))
            .body(Full::new(Bytes::new()))
            .unwrap()
    };
    // The settings exchange is done, no request yet: past the head timeout
    // the connection still serves.
    tokio::time::sleep(Duration::from_millis(700)).await;
    let resp = sender.send_request(req()).await.unwrap();
    assert_eq!(resp.status(), 200);
    resp.into_body().collect().await.unwrap();
    // Then nothing: the proxy sends GOAWAY at the idle timeout and the
    // client's connection ends.
    let idle_from = Instant::now();
    tokio::time::timeout(Duration::from_secs(10), conn)
        .await
        .expect("the idle HTTP/2 connection is still open after 10 s")
        .unwrap()
        .ok();
    assert!(
        idle_from.elapsed() >= Duration::from_millis(1500),
        "closed after {:?}, before the idle timeout",
        idle_from.elapsed()
    );
    proxy.shutdown().await;
}
