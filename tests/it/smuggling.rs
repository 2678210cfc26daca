//! Request smuggling through the real listener, on raw sockets: every head
//! or body whose framing two parsers could read differently gets 400 and
//! the connection closes, and the upstream is never handed an ambiguous
//! request. Well-formed chunked and Content-Length requests pipelined on
//! one connection reach the upstream with exactly one framing header each.
//!
//! Who refuses what: `head_scan` (on the socket) refuses a bare LF and
//! Content-Length with Transfer-Encoding, which hyper would accept; hyper
//! refuses differing Content-Length values, obs-fold, a Transfer-Encoding
//! that does not end in chunked and Transfer-Encoding on HTTP/1.0 while
//! parsing the head, and malformed chunks while reading the body.

use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

use crate::common::raw::{exchange, read_replies, read_to_close, RawReply};
use crate::common::{metric, metrics_text, start_proxy, TestUpstream};
use crate::limits::yaml;

const ERRORS: &str = "switchyard_proxy_errors_total";

/// A request the upstream would answer if it were ever forwarded: it
/// rides behind each ambiguous head, as a smuggler's second request would.
const SMUGGLED: &str = "GET /smuggled HTTP/1.1\r\nHost: example.test\r\n\r\n";

/// Heads refused before any request exists: each gets 400, the connection
/// closes, and the upstream hears nothing at all.
fn head_level_cases() -> Vec<(&'static str, String)> {
    let post = "POST /inspect HTTP/1.1\r\nHost: example.test\r\n";
    vec![
        (
            "Content-Length then Transfer-Encoding",
            format!(
                "{post}Content-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n{SMUGGLED}"
            ),
        ),
        (
            "Transfer-Encoding then Content-Length",
            format!(
                "{post}Transfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n{:x}\r\n{SMUGGLED}\r\n0\r\n\r\n",
                SMUGGLED.len()
            ),
        ),
        (
            "both, in mixed case",
            format!(
                "{post}cOnTeNt-LeNgTh: 6\r\ntRaNsFeR-eNcOdInG: Chunked\r\n\r\n0\r\n\r\n{SMUGGLED}"
            ),
        ),
        (
            "two different Content-Length lines",
            format!("{post}Content-Length: 3\r\nContent-Length: 40\r\n\r\nabc{SMUGGLED}"),
        ),
        (
            "two different Content-Length values in one line",
            format!("{post}Content-Length: 3, 40\r\n\r\nabc{SMUGGLED}"),
        ),
        (
            "obs-fold",
            "GET / HTTP/1.1\r\nHost: example.test\r\nX-Folded: a\r\n b\r\n\r\n".to_string(),
        ),
        (
            "obs-fold of Transfer-Encoding",
            format!("{post}Content-Length: 5\r\nTransfer-Encoding:\r\n chunked\r\n\r\n0\r\n\r\n"),
        ),
        (
            "bare LF ending the request line",
            "GET / HTTP/1.1\nHost: example.test\r\n\r\n".to_string(),
        ),
        (
            "bare LF ending a header line",
            "GET / HTTP/1.1\r\nHost: example.test\nX-A: b\r\n\r\n".to_string(),
        ),
        (
            "bare LF as the blank line",
            "GET / HTTP/1.1\r\nHost: example.test\r\n\n".to_string(),
        ),
        (
            "Transfer-Encoding: chunked, gzip",
            format!("{post}Transfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n"),
        ),
        (
            "Transfer-Encoding: gzip",
            format!("{post}Transfer-Encoding: gzip\r\n\r\n{SMUGGLED}"),
        ),
        (
            "Transfer-Encoding: chunked, then a second line gzip",
            format!("{post}Transfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n\r\n0\r\n\r\n"),
        ),
        (
            "Transfer-Encoding on HTTP/1.0",
            "POST /inspect HTTP/1.0\r\nHost: example.test\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
                .to_string(),
        ),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ambiguous_heads_get_400_close_and_never_reach_the_upstream() {
    let up = TestUpstream::spawn("up").await;
    let proxy = start_proxy(&yaml(&up, "")).await;
    let web = proxy.listener_addr("web").unwrap();
    let mut wrong = Vec::new();
    for (what, bytes) in head_level_cases() {
        let hits = up.hits();
        let got = exchange(web, bytes.as_bytes()).await;
        // The head never became a request, and neither did what rode
        // behind it.
        let upstream = up.hits() - hits;
        let status = got.replies.first().map(|r| r.status);
        if status != Some(400) || got.replies.len() != 1 || !got.closed || upstream != 0 {
            wrong.push(format!(
                "{what}: status {status:?}, closed {}, {upstream} upstream requests: {:?}",
                got.closed, got.raw
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    assert_eq!(up.complete_bodies(), 0);
    // The proxy is unharmed: a clean request on a new connection passes.
    let ok = exchange(
        web,
        b"GET / HTTP/1.1\r\nHost: example.test\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert_eq!(ok.status(), 200, "{:?}", ok.raw);
    assert_eq!(up.hits(), 1);
    proxy.shutdown().await;
}

/// Chunked bodies that break mid-way: the head is well-formed, so the
/// proxy routes the request and starts streaming it upstream before the
/// bad chunk arrives. The upstream may therefore have seen the head (its
/// hit count may move by one), but never a complete request: the proxy
/// breaks off the upstream request without the last chunk, so `/inspect`
/// never counts a whole body. The client gets 400 (its fault, not the
/// upstream's: not 502) and the connection closes.
fn body_level_cases() -> Vec<(&'static str, String)> {
    let head = "POST /inspect HTTP/1.1\r\nHost: example.test\r\nTransfer-Encoding: chunked\r\n\r\n";
    vec![
        (
            "invalid chunk size",
            format!("{head}zz\r\nhello\r\n0\r\n\r\n"),
        ),
        (
            "chunk size overflowing 64 bits",
            format!("{head}1ffffffffffffffff\r\nhello\r\n0\r\n\r\n"),
        ),
        (
            "chunk data without its CRLF",
            format!("{head}5\r\nhelloXX0\r\n\r\n"),
        ),
        (
            "chunk data ended by a bare LF",
            format!("{head}5\r\nhello\n0\r\n\r\n"),
        ),
        (
            "chunk size line ended by a bare LF",
            format!("{head}5\nhello\r\n0\r\n\r\n"),
        ),
        (
            "a good chunk, then an invalid size",
            format!("{head}5\r\nhello\r\n-1\r\n\r\n"),
        ),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_chunked_bodies_get_400_close_and_no_complete_request_upstream() {
    let up = TestUpstream::spawn("up").await;
    let proxy = start_proxy(&yaml(&up, "")).await;
    let web = proxy.listener_addr("web").unwrap();
    let admin = proxy.admin_addr();
    let before = metric(
        &metrics_text(admin).await,
        ERRORS,
        &[("reason", "bad_body")],
    );
    let cases = body_level_cases();
    let mut wrong = Vec::new();
    let hits = up.hits();
    for (what, bytes) in &cases {
        let got = exchange(web, bytes.as_bytes()).await;
        let status = got.replies.first().map(|r| r.status);
        let complete = up.complete_bodies();
        if status != Some(400) || got.replies.len() != 1 || !got.closed || complete != 0 {
            wrong.push(format!(
                "{what}: status {status:?}, closed {}, {complete} complete bodies: {:?}",
                got.closed, got.raw
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    // At most one upstream request per case (the head goes on before the
    // body fails). Counted over all cases: the upstream may count a case's
    // head after its client already has the 400, within the next case.
    let upstream = up.hits() - hits;
    assert!(
        upstream <= cases.len() as u64,
        "{upstream} upstream requests"
    );
    let after = metric(
        &metrics_text(admin).await,
        ERRORS,
        &[("reason", "bad_body")],
    );
    assert_eq!(
        after - before,
        cases.len() as f64,
        "bad_body errors counted"
    );
    // The endpoint was not blamed: it still serves.
    let ok = exchange(
        web,
        b"POST /inspect HTTP/1.1\r\nHost: example.test\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok",
    )
    .await;
    assert_eq!(ok.status(), 200, "{:?}", ok.raw);
    assert_eq!(up.complete_bodies(), 1);
    proxy.shutdown().await;
}

/// `/inspect`'s JSON answer: what the upstream received.
fn seen(reply: &RawReply) -> serde_json::Value {
    assert_eq!(reply.status, 200, "{}", reply.body_text());
    serde_json::from_slice(&reply.body).expect("/inspect answers JSON")
}

/// The values of header `name` (lower-case) in an `/inspect` answer.
fn values(seen: &serde_json::Value, name: &str) -> Vec<String> {
    seen["headers"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|pair| pair[0] == name)
        .map(|pair| pair[1].as_str().unwrap().to_string())
        .collect()
}

/// Exactly one framing header, or none for a bodiless request; never both.
fn assert_unambiguous(seen: &serde_json::Value) {
    let cl = values(seen, "content-length");
    let te = values(seen, "transfer-encoding");
    assert!(
        cl.len() + te.len() <= 1,
        "ambiguous framing upstream: content-length {cl:?}, transfer-encoding {te:?}"
    );
    if let Some(te) = te.first() {
        assert_eq!(te, "chunked");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn well_formed_requests_pipelined_arrive_framed_unambiguously() {
    let up = TestUpstream::spawn("up").await;
    let proxy = start_proxy(&yaml(&up, "")).await;
    let web = proxy.listener_addr("web").unwrap();
    let mut s = TcpStream::connect(web).await.unwrap();
    // Three requests in one write: chunked (with an extension and a
    // trailer), Content-Length, and no body; the chunked body contains
    // what looks like a request, which must stay data.
    let pipelined = format!(
        "POST /inspect HTTP/1.1\r\nHost: example.test\r\nTransfer-Encoding: chunked\r\n\r\n\
         6;ext=1\r\nhello \r\n{:x}\r\n{SMUGGLED}\r\n0\r\nX-Trailer: t\r\n\r\n\
         POST /inspect HTTP/1.1\r\nHost: example.test\r\nContent-Length: 3\r\n\r\nabc\
         GET /inspect HTTP/1.1\r\nHost: example.test\r\n\r\n",
        SMUGGLED.len()
    );
    s.write_all(pipelined.as_bytes()).await.unwrap();
    let replies = read_replies(&mut s, 3).await;
    let (chunked, sized, bodiless) = (seen(&replies[0]), seen(&replies[1]), seen(&replies[2]));
    assert_eq!(chunked["method"], "POST");
    assert_eq!(chunked["body"], format!("hello {SMUGGLED}"));
    assert_eq!(sized["body"], "abc");
    assert_eq!(bodiless["method"], "GET");
    assert_eq!(bodiless["body"], "");
    for seen in [&chunked, &sized, &bodiless] {
        assert_unambiguous(seen);
        assert_eq!(seen["uri"], "/inspect");
    }
    // A known length stays a length.
    assert_eq!(values(&sized, "content-length"), ["3"]);
    assert!(values(&sized, "transfer-encoding").is_empty());
    // Three requests upstream, no more: the smuggled-looking body stayed
    // a body, and nothing else was made of it.
    assert_eq!(up.hits(), 3);
    assert_eq!(up.complete_bodies(), 3);
    // The connection is still good for a fourth, which closes it.
    s.write_all(b"GET /inspect HTTP/1.1\r\nHost: example.test\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let last = read_to_close(&mut s).await;
    assert!(last.closed);
    assert_eq!(last.status(), 200, "{:?}", last.raw);
    assert_unambiguous(&seen(&last.replies[0]));
    assert_eq!(up.hits(), 4);
    proxy.shutdown().await;
}
