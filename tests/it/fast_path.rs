//! The HTTP/1.1 fast path of the client side (`proxy/h1`) through the real
//! listener, on raw sockets: pipelined requests are answered in order; a
//! connection moves to hyper at its first request with a body and keeps
//! working; `Connection: close` is honoured; HEAD gets no body on a
//! keep-alive connection; the proxy's own answers carry `date` and a
//! length; bodies of unknown length (small and large chunks) are chunked
//! whole; each request on a kept connection gets its own route timeout;
//! an upstream head's fields are passed on as they arrived, hop-by-hop ones
//! left out.

use std::net::SocketAddr;

use bytes::Bytes;
use http::{Method, Request};
use http_body_util::Full;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::common::raw::{exchange, read_replies};
use crate::common::{client, collect, config, eps, start_proxy, TestUpstream};

fn yaml(url: &str) -> String {
    config(&format!(
        "routes: [{{ name: r, match: {{ path_prefix: / }}, pool: p }}]\n\
         pools: [{{ name: p, endpoints: [{}] }}]\n",
        eps(&[("up", url.to_string())])
    ))
}

async fn connect(addr: SocketAddr) -> TcpStream {
    TcpStream::connect(addr).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pipelined_requests_are_answered_in_order() {
    let up = TestUpstream::spawn("up").await;
    let proxy = start_proxy(&yaml(&up.url())).await;
    let web = proxy.listener_addr("web").unwrap();
    let mut s = connect(web).await;
    s.write_all(
        b"GET /headers?n=1 HTTP/1.1\r\nHost: a\r\n\r\n\
          GET /bytes/20000 HTTP/1.1\r\nHost: a\r\n\r\n\
          GET /headers?n=3 HTTP/1.1\r\nHost: a\r\n\r\n",
    )
    .await
    .unwrap();
    let replies = read_replies(&mut s, 3).await;
    assert!(replies.iter().all(|r| r.status == 200), "{replies:?}");
    assert!(
        replies[0].body_text().contains("/headers?n=1"),
        "{replies:?}"
    );
    assert_eq!(replies[1].body.len(), 20000);
    assert!(
        replies[2].body_text().contains("/headers?n=3"),
        "{replies:?}"
    );
    assert!(replies.iter().all(|r| r.header("date").is_some()));
    proxy.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_moves_to_hyper_at_its_first_request_with_a_body() {
    let up = TestUpstream::spawn("up").await;
    let proxy = start_proxy(&yaml(&up.url())).await;
    let web = proxy.listener_addr("web").unwrap();
    let mut s = connect(web).await;
    s.write_all(b"GET /headers?step=1 HTTP/1.1\r\nHost: a\r\n\r\n")
        .await
        .unwrap();
    let first = read_replies(&mut s, 1).await;
    // A body (hyper from here on), pipelined with a request after it.
    s.write_all(
        b"POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello\
          GET /headers?step=3 HTTP/1.1\r\nHost: a\r\n\r\n",
    )
    .await
    .unwrap();
    let rest = read_replies(&mut s, 2).await;
    assert!(first[0].body_text().contains("step=1"), "{first:?}");
    assert_eq!(rest[0].body_text(), "hello");
    assert!(rest[1].body_text().contains("step=3"), "{rest:?}");
    // HTTP/1.0 goes to hyper too, and is answered.
    let ex = exchange(web, b"GET /headers?v=10 HTTP/1.0\r\nHost: a\r\n\r\n").await;
    assert_eq!(ex.status(), 200, "{}", ex.raw);
    assert!(ex.closed);
    assert_eq!(up.hits(), 4);
    proxy.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connection_close_is_honoured_and_own_answers_carry_date_and_length() {
    let up = TestUpstream::spawn("up").await;
    let proxy = start_proxy(&yaml(&up.url())).await;
    let web = proxy.listener_addr("web").unwrap();
    let ex = exchange(
        web,
        b"GET /x HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\nGET /never HTTP/1.1\r\n\r\n",
    )
    .await;
    assert!(ex.closed, "{}", ex.raw);
    assert_eq!(ex.status(), 200, "{}", ex.raw);
    assert_eq!(ex.replies[0].header("connection"), Some("close"));
    assert_eq!(up.hits(), 1);
    proxy.shutdown().await;

    // No route: the proxy's own 404.
    let yaml = config(
        "routes: [{ name: r, match: { path_prefix: /only }, pool: p }]\n\
         pools: [{ name: p, endpoints: [{ name: e, url: 'http://127.0.0.1:9' }] }]\n",
    );
    let proxy = start_proxy(&yaml).await;
    let web = proxy.listener_addr("web").unwrap();
    let ex = exchange(
        web,
        b"GET /nowhere HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert_eq!(ex.status(), 404, "{}", ex.raw);
    let r = &ex.replies[0];
    assert_eq!(r.header("content-length"), Some(&*r.body.len().to_string()));
    let date = r.header("date").expect("a date");
    assert!(httpdate::parse_http_date(date).is_ok(), "{date}");
    proxy.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn head_gets_no_body_on_a_kept_connection() {
    let up = TestUpstream::spawn("up").await;
    let proxy = start_proxy(&yaml(&up.url())).await;
    let web = proxy.listener_addr("web").unwrap();
    let c = client();
    let url = |p: &str| format!("http://{web}{p}");
    for _ in 0..2 {
        let head = Request::builder()
            .method(Method::HEAD)
            .uri(url("/bytes/300"))
            .body(Full::new(Bytes::new()))
            .unwrap();
        let r = collect(c.request(head).await.unwrap()).await;
        assert_eq!(r.status, 200);
        assert!(r.body.is_empty());
        let get = Request::get(url("/bytes/300"))
            .body(Full::new(Bytes::new()))
            .unwrap();
        let r = collect(c.request(get).await.unwrap()).await;
        assert_eq!(r.body.len(), 300);
    }
    proxy.shutdown().await;
}

/// An upstream on a raw socket that answers each request head with
/// `answer(path)`, written as it is.
async fn scripted_upstream(answer: fn(&str) -> Vec<u8>) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = vec![0u8; 8192];
                let mut seen = Vec::new();
                loop {
                    match s.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => seen.extend_from_slice(&buf[..n]),
                    }
                    while let Some(end) = seen.windows(4).position(|w| w == b"\r\n\r\n") {
                        let head = String::from_utf8_lossy(&seen[..end]).into_owned();
                        seen.drain(..end + 4);
                        let path = head.split(' ').nth(1).unwrap_or("/");
                        if s.write_all(&answer(path)).await.is_err() {
                            return;
                        }
                    }
                }
            });
        }
    });
    addr
}

/// The chunk sizes `chunked_answer` answers with.
static SIZES: [usize; 4] = [10, 20_000, 3, 70_000];

/// A chunked body of `SIZES`, whatever the request.
fn chunked_answer(_: &str) -> Vec<u8> {
    let mut out = b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n".to_vec();
    for (i, n) in SIZES.iter().enumerate() {
        out.extend_from_slice(format!("{n:x}\r\n").as_bytes());
        out.extend(std::iter::repeat_n(b'a' + i as u8, *n));
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"0\r\n\r\n");
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bodies_of_unknown_length_are_chunked_whole() {
    let up = scripted_upstream(chunked_answer).await;
    let proxy = start_proxy(&yaml(&format!("http://{up}"))).await;
    let web = proxy.listener_addr("web").unwrap();
    let mut s = connect(web).await;
    let want: Vec<u8> = SIZES
        .iter()
        .enumerate()
        .flat_map(|(i, n)| std::iter::repeat_n(b'a' + i as u8, *n))
        .collect();
    for _ in 0..3 {
        s.write_all(b"GET /c HTTP/1.1\r\nHost: a\r\n\r\n")
            .await
            .unwrap();
        let r = read_replies(&mut s, 1).await;
        assert_eq!(r[0].header("transfer-encoding"), Some("chunked"));
        assert!(r[0].body == want, "body of {} bytes", r[0].body.len());
    }
    proxy.shutdown().await;
}

/// The fast path bounds each request's upstream call with one timer per
/// connection, re-armed lazily (`attempt/timer.rs`): on a kept connection
/// a request is not cut at an earlier request's deadline, and one that
/// runs too long gets its 504 at its own deadline, never before.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn route_timeouts_on_a_kept_connection_run_from_each_request() {
    let up = TestUpstream::spawn("up").await;
    let yaml = config(&format!(
        "routes: [{{ name: r, match: {{ path_prefix: / }}, pool: p, timeout: 600ms }}]\n\
         pools: [{{ name: p, endpoints: [{}] }}]\n",
        eps(&[("up", up.url())])
    ));
    let proxy = start_proxy(&yaml).await;
    let web = proxy.listener_addr("web").unwrap();
    let mut s = connect(web).await;
    let mut ask = async |path: &str| {
        let started = std::time::Instant::now();
        let head = format!("GET {path} HTTP/1.1\r\nHost: a\r\n\r\n");
        s.write_all(head.as_bytes()).await.unwrap();
        let reply = read_replies(&mut s, 1).await.remove(0);
        (reply.status, started.elapsed())
    };
    // The timer is armed for this request's deadline, 600 ms on.
    assert_eq!(ask("/slow/400").await.0, 200);
    // This one starts about 400 ms later and ends after the first
    // request's deadline, but well within its own.
    assert_eq!(ask("/slow/350").await.0, 200);
    let (status, took) = ask("/slow/3000").await;
    assert_eq!(status, 504);
    assert!(took >= std::time::Duration::from_millis(600), "{took:?}");
    assert!(took < std::time::Duration::from_millis(2900), "{took:?}");
    // The connection still serves.
    assert_eq!(ask("/slow/1").await.0, 200);
    proxy.shutdown().await;
}

/// The canned response for each path (the head exactly as written here).
fn canned_answer(path: &str) -> Vec<u8> {
    let answer: &[u8] = match path {
        "/plain" => {
            b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nSet-Cookie: a=1\r\n\
                  X-Mixed-Case: Kept As Is\r\nSet-Cookie: b=2\r\nConnection: keep-alive\r\n\
                  Keep-Alive: timeout=5\r\nProxy-Connection: keep-alive\r\nX-Empty:\r\n\
                  Content-Length: 5\r\n\r\nhello"
        }
        "/chunked" => {
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: x-t\r\nX-A: 1\r\n\r\n\
                  5\r\nhello\r\n0\r\nx-t: 1\r\n\r\n"
        }
        "/private" => {
            b"HTTP/1.1 200 OK\r\nConnection: x-private\r\nX-Private: secret\r\nX-A: 1\r\n\
                  Content-Length: 2\r\n\r\nhi"
        }
        "/busy" => {
            b"HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\nX-A: 1\r\n\
                  Content-Length: 4\r\n\r\nbusy"
        }
        _ => b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n",
    };
    answer.to_vec()
}

/// The fast path writes an upstream head's fields as they arrived
/// (`wire::RawHead`), without a header map in between: names lower-cased,
/// values and repeats as sent, hop-by-hop fields left out, the body
/// re-framed; a head that needs a map (a `Connection` naming fields, a
/// 503 whose `Retry-After` is read) gets the same treatment through one,
/// and so does a route that edits response fields.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upstream_heads_are_passed_on_without_their_hop_by_hop_fields() {
    let up = scripted_upstream(canned_answer).await;
    let edited = config(&format!(
        "routes:\n\
         - {{ name: edit, match: {{ path_prefix: /edit }}, pool: p, strip_prefix: /edit,\n\
              response_headers: {{ set: {{ x-set: yes }} }} }}\n\
         - {{ name: r, match: {{ path_prefix: / }}, pool: p }}\n\
         pools: [{{ name: p, endpoints: [{}] }}]\n",
        eps(&[("up", format!("http://{up}"))])
    ));
    let proxy = start_proxy(&edited).await;
    let web = proxy.listener_addr("web").unwrap();
    let get = |path: &str| format!("GET {path} HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
    let hop = [
        "keep-alive",
        "proxy-connection",
        "trailer",
        "transfer-encoding",
    ];
    for prefix in ["", "/edit"] {
        let ex = exchange(web, get(&format!("{prefix}/plain")).as_bytes()).await;
        let text = &ex.raw;
        assert_eq!(ex.status(), 200, "{text}");
        let head = &text[..text.find("\r\n\r\n").unwrap() + 2];
        for line in [
            "content-type: text/plain\r\n",
            "x-mixed-case: Kept As Is\r\n",
            "x-empty: \r\n",
            "content-length: 5\r\n",
            "connection: close\r\n",
        ] {
            assert!(head.contains(line), "{line:?} in {head}");
        }
        assert_eq!(head.matches("set-cookie: ").count(), 2, "{head}");
        let at = |s: &str| head.find(s).unwrap_or_else(|| panic!("{s} in {head}"));
        if prefix.is_empty() {
            // The order of arrival: only the raw path keeps it (a header
            // map groups the two set-cookie lines).
            assert!(
                at("set-cookie: a=1") < at("x-mixed-case")
                    && at("x-mixed-case") < at("set-cookie: b=2"),
                "{head}"
            );
        } else {
            assert!(at("set-cookie: a=1") < at("set-cookie: b=2"), "{head}");
        }
        assert_eq!(head.matches("date: ").count(), 1, "{head}");
        assert_eq!(head.matches("connection: ").count(), 1, "{head}");
        assert!(
            !head.contains("Content-Type") && !head.contains("X-Mixed"),
            "{head}"
        );
        assert!(hop.iter().all(|h| !head.contains(h)), "{head}");
        assert_eq!(ex.replies[0].body, b"hello");
        assert_eq!(ex.replies[0].header("x-set").is_some(), prefix == "/edit");

        let ex = exchange(web, get(&format!("{prefix}/chunked")).as_bytes()).await;
        let r = &ex.replies[0];
        assert_eq!(ex.status(), 200, "{}", ex.raw);
        assert_eq!(r.body, b"hello", "{}", ex.raw);
        assert_eq!(r.header("x-a"), Some("1"), "{}", ex.raw);
        assert_eq!(ex.raw.matches("transfer-encoding").count(), 1, "{}", ex.raw);
        assert!(
            !ex.raw.contains("trailer") && !ex.raw.contains("x-t"),
            "{}",
            ex.raw
        );

        let ex = exchange(web, get(&format!("{prefix}/private")).as_bytes()).await;
        assert_eq!(ex.status(), 200, "{}", ex.raw);
        assert!(
            !ex.raw.contains("x-private") && !ex.raw.contains("secret"),
            "{}",
            ex.raw
        );
        assert_eq!(ex.replies[0].header("x-a"), Some("1"), "{}", ex.raw);

        let ex = exchange(web, get(&format!("{prefix}/busy")).as_bytes()).await;
        assert_eq!(ex.status(), 503, "{}", ex.raw);
        assert_eq!(ex.replies[0].header("retry-after"), Some("1"), "{}", ex.raw);
        assert_eq!(ex.replies[0].body, b"busy");
    }
    // Kept connections: the upstream's is reused after raw heads, the
    // client's serves one answer after another.
    let mut s = connect(web).await;
    for _ in 0..3 {
        s.write_all(b"GET /plain HTTP/1.1\r\nHost: a\r\n\r\n")
            .await
            .unwrap();
        let r = read_replies(&mut s, 1).await;
        assert_eq!(r[0].body, b"hello");
        assert_eq!(r[0].header("connection"), None);
    }
    proxy.shutdown().await;
}
