//! The inline HTTP/1.1 upstream exchange (plain endpoint, request without
//! a body) through the real binary, against a raw upstream that answers
//! each path with one framing: the client gets the exact body, keep-alive
//! connections are reused, a connection the upstream closed while idle is
//! not used, and a malformed chunked body gives a cut response counted as
//! `incomplete_body`.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{Method, Request};
use http_body_util::{BodyExt, Full};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;

use crate::common::process::ProxyProcess;
use crate::common::{client, collect, config, eventually, get, metric, metrics_text};

/// A raw upstream answering by path; counts connections accepted.
struct Scripted {
    addr: SocketAddr,
    accepted: Arc<AtomicU64>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Scripted {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Scripted {
    async fn spawn() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let accepted = Arc::new(AtomicU64::new(0));
        let a = Arc::clone(&accepted);
        let task = tokio::spawn(async move {
            let mut conns = JoinSet::new();
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                a.fetch_add(1, Ordering::Relaxed);
                while conns.try_join_next().is_some() {}
                conns.spawn(serve(stream));
            }
        });
        Self {
            addr,
            accepted,
            task,
        }
    }

    fn accepted(&self) -> u64 {
        self.accepted.load(Ordering::Relaxed)
    }
}

/// The answer to `method path`, and whether the connection ends after it.
fn answer(method: &str, path: &str) -> (Vec<u8>, bool) {
    let text: &str = match path {
        "/cl" => "HTTP/1.1 200 OK\r\ncontent-length: 11\r\nx-up: cl\r\n\r\nhello world",
        "/chunked" => "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nx-sum: 11\r\n\r\n",
        "/close" => "HTTP/1.1 200 OK\r\n\r\nuntil the end",
        "/head" if method == "HEAD" => "HTTP/1.1 200 OK\r\ncontent-length: 42\r\n\r\n",
        "/204" => "HTTP/1.1 204 No Content\r\nx-up: 204\r\n\r\n",
        "/1xx" => "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nlink: </s.css>\r\n\r\nHTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nfinal",
        "/idle-close" => "HTTP/1.1 200 OK\r\ncontent-length: 4\r\n\r\nbye!",
        "/bad-chunk" => "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello\r\nzz\r\nmore\r\n0\r\n\r\n",
        _ => "HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n",
    };
    let ends = matches!(path, "/close" | "/idle-close" | "/bad-chunk");
    (text.as_bytes().to_vec(), ends)
}

async fn serve(mut stream: TcpStream) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    // Bounded by the peer: each turn reads or answers, and ends on close.
    loop {
        let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
            continue;
        };
        let head = String::from_utf8_lossy(&buf[..end]).into_owned();
        buf.drain(..end + 4);
        let mut words = head.split(' ');
        let (method, path) = (words.next().unwrap_or(""), words.next().unwrap_or(""));
        let (out, ends) = answer(method, path);
        if stream.write_all(&out).await.is_err() {
            return;
        }
        if ends {
            stream.shutdown().await.ok();
            return;
        }
    }
}

fn yaml(up: SocketAddr) -> String {
    config(&format!(
        "routes:
  - {{ name: r, match: {{ path_prefix: / }}, pool: p, timeout: 5s }}
pools:
  - {{ name: p, endpoints: [{{ name: up, url: 'http://{up}' }}] }}
"
    ))
}

async fn request(proxy: SocketAddr, method: Method, path: &str) -> crate::common::Reply {
    let req = Request::builder()
        .method(method)
        .uri(format!("http://{proxy}{path}"))
        .body(Full::new(Bytes::new()))
        .unwrap();
    collect(client().request(req).await.expect("request sent")).await
}

#[tokio::test]
async fn every_framing_reaches_the_client_whole() {
    let up = Scripted::spawn().await;
    let proxy = ProxyProcess::spawn(&yaml(up.addr));
    let web = proxy.web();
    let r = get(web, "/cl").await;
    assert_eq!((r.status, r.body.as_str()), (200, "hello world"));
    assert_eq!(r.header("x-up"), Some("cl"));
    // Chunked, with extensions and trailers: the trailers are read (the
    // hyper client collecting here ignores them).
    let resp = client()
        .request(
            Request::get(format!("http://{web}/chunked"))
                .header("te", "trailers")
                .body(Full::new(Bytes::new()))
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let collected = resp.into_body().collect().await.unwrap();
    let trailers = collected.trailers().cloned();
    assert_eq!(collected.to_bytes(), "hello world");
    if let Some(t) = trailers {
        assert_eq!(t["x-sum"], "11");
    }
    let r = get(web, "/close").await;
    assert_eq!((r.status, r.body.as_str()), (200, "until the end"));
    let r = request(web, Method::HEAD, "/head").await;
    assert_eq!((r.status, r.body.as_str()), (200, ""));
    assert_eq!(r.header("content-length"), Some("42"));
    let r = get(web, "/204").await;
    assert_eq!((r.status, r.body.as_str()), (204, ""));
    assert_eq!(r.header("x-up"), Some("204"));
    let r = get(web, "/1xx").await;
    assert_eq!((r.status, r.body.as_str()), (200, "final"));
    assert_eq!(r.header("link"), None);
    // The proxy answers after them all: nothing was left in a bad state.
    let r = get(web, "/cl").await;
    assert_eq!((r.status, r.body.as_str()), (200, "hello world"));
}

#[tokio::test]
async fn keep_alive_connections_are_reused() {
    let up = Scripted::spawn().await;
    let proxy = ProxyProcess::spawn(&yaml(up.addr));
    for path in [
        "/cl", "/204", "/chunked", "/1xx", "/cl", "/cl", "/cl", "/cl",
    ] {
        let r = get(proxy.web(), path).await;
        assert_eq!(r.status, if path == "/204" { 204 } else { 200 }, "{path}");
    }
    let r = request(proxy.web(), Method::HEAD, "/head").await;
    assert_eq!(r.status, 200);
    assert_eq!(up.accepted(), 1, "one upstream connection for all");
    // A close-delimited body cannot leave its connection reusable.
    assert_eq!(get(proxy.web(), "/close").await.status, 200);
    assert_eq!(get(proxy.web(), "/cl").await.status, 200);
    assert_eq!(up.accepted(), 2);
}

#[tokio::test]
async fn a_connection_closed_while_idle_is_not_used() {
    let up = Scripted::spawn().await;
    let proxy = ProxyProcess::spawn(&yaml(up.addr));
    for round in 1..=5u64 {
        // The upstream answers, then closes the connection the proxy keeps.
        let r = get(proxy.web(), "/idle-close").await;
        assert_eq!((r.status, r.body.as_str()), (200, "bye!"), "round {round}");
        let r = get(proxy.web(), "/cl").await;
        assert_eq!(
            (r.status, r.body.as_str()),
            (200, "hello world"),
            "round {round}"
        );
        // Wait for the FIN to have reached the proxy's idle connection or
        // not: either way the next request must not fail.
        tokio::time::sleep(Duration::from_millis(if round % 2 == 0 { 50 } else { 0 })).await;
    }
    let text = metrics_text(proxy.admin).await;
    let reset = [("route", "r"), ("code_class", "5xx")];
    assert_eq!(metric(&text, "switchyard_http_requests_total", &reset), 0.0);
}

#[tokio::test]
async fn a_malformed_chunked_body_is_cut_and_counted() {
    let up = Scripted::spawn().await;
    let proxy = ProxyProcess::spawn(&yaml(up.addr));
    let resp = client()
        .request(
            Request::get(format!("http://{}/bad-chunk", proxy.web()))
                .body(Full::new(Bytes::new()))
                .unwrap(),
        )
        .await;
    // The cut shows: the connection ends before the head went out (all
    // of it arrived in one read), or the body breaks off.
    if let Ok(resp) = resp {
        assert_eq!(resp.status(), 200);
        assert!(
            resp.into_body().collect().await.is_err(),
            "the cut must show"
        );
    }
    let cut = [("reason", "incomplete_body")];
    eventually(Duration::from_secs(5), || async {
        let text = metrics_text(proxy.admin).await;
        (metric(&text, "switchyard_proxy_errors_total", &cut) == 1.0).then_some(())
    })
    .await;
    // The next request gets a fresh connection and a whole answer.
    let r = get(proxy.web(), "/cl").await;
    assert_eq!((r.status, r.body.as_str()), (200, "hello world"));
}
