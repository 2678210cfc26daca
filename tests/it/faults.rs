//! Upstream faults through the real binary: each fault a `Faulty` upstream
//! plays gets its documented answer (a 502, a 504, or a body cut so that
//! the client sees it is incomplete), moves its counter, is logged exactly
//! once, and the proxy lets go of the upstream connection. `head_limit`
//! covers `pools[].limits.max_response_header_bytes` on both protocols;
//! `leak` drives many failures and reads the proxy's /proc entries.

mod head_limit;
mod leak;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::common::faulty::{Fault, Faulty, PARTIAL_BODY, PROMISED_BODY};
use crate::common::process::ProxyProcess;
use crate::common::{client, closed_port, config, eventually, get, metric, metrics_text};

/// The line a failed attempt logs.
const FAILED: &str = "Upstream request failed.";
/// The line an upstream body that broke off logs.
const BODY_FAILED: &str = "Upstream response body failed.";

/// A proxy whose route `f` (`/f`, timeout 1 s) goes to pool `f`: one
/// endpoint at `url`, with `pool` settings. Route `barrier` goes to a
/// closed port. The access log is on (stdout).
fn yaml(url: &str, pool: &str, barrier: SocketAddr) -> String {
    config(&format!(
        "routes:
  - {{ name: f, match: {{ path_prefix: /f }}, pool: f, timeout: 1s }}
  - {{ name: barrier, match: {{ path_prefix: /barrier }}, pool: barrier }}
pools:
  - {{ name: f, {pool}endpoints: [{{ name: up, url: '{url}' }}] }}
  - {{ name: barrier, endpoints: [{{ name: closed, url: 'http://{barrier}' }}] }}
access_log: {{}}
"
    ))
}

struct Rig {
    proxy: ProxyProcess,
    barriers: usize,
}

impl Rig {
    fn start(url: &str, pool: &str, barrier: SocketAddr) -> Self {
        Self {
            proxy: ProxyProcess::spawn(&yaml(url, pool, barrier)),
            barriers: 0,
        }
    }

    /// The stderr lines about pool `f`, complete up to now: a request to
    /// `/barrier` fails and logs a line of its own, and that line is
    /// waited for (lines are read in the order they were written, and a
    /// failure's line is written before the client sees the failure).
    async fn lines_of_f(&mut self) -> Vec<Value> {
        self.barriers += 1;
        let r = get(self.proxy.web(), "/barrier").await;
        assert_eq!(r.status, 502, "{}", r.body);
        let n = self.barriers;
        let proxy = &self.proxy;
        let logs = eventually(Duration::from_secs(10), || {
            let logs = proxy.json_logs();
            let seen = logs
                .iter()
                .filter(|l| l["fields"]["pool"] == "barrier")
                .count();
            std::future::ready((seen >= n).then_some(logs))
        })
        .await;
        logs.into_iter()
            .filter(|l| l["fields"]["pool"] == "f")
            .collect()
    }

    /// Route `f`'s access log lines, once there are `n`.
    async fn access_lines(&self, n: usize) -> Vec<Value> {
        eventually(Duration::from_secs(10), || {
            let lines: Vec<Value> = self
                .proxy
                .stdout_lines()
                .iter()
                .filter_map(|l| serde_json::from_str::<Value>(l).ok())
                .filter(|v| v["route"] == "f")
                .collect();
            std::future::ready((lines.len() >= n).then_some(lines))
        })
        .await
    }

    /// Asserts what `n` failures of route `f` left: `reason` counted `n`
    /// times in `switchyard_proxy_errors_total` (checked before any
    /// barrier adds its own), `n` attempts with `outcome`, exactly `n`
    /// stderr lines about pool `f`, each a `WARN` with `message` and
    /// `reason`, and `n` access log lines with `status` and `reason`.
    async fn assert_failures(
        &mut self,
        n: usize,
        (message, reason): (&str, &str),
        outcome: &str,
        status: u16,
    ) {
        let text = metrics_text(self.proxy.admin).await;
        let want = n as f64;
        let errors = metric(
            &text,
            "switchyard_proxy_errors_total",
            &[("reason", reason)],
        );
        assert_eq!(errors, want, "proxy errors {reason}");
        let attempts = [("pool", "f"), ("outcome", outcome)];
        let sent = metric(&text, "switchyard_upstream_requests_total", &attempts);
        assert_eq!(sent, want, "attempts with outcome {outcome}");
        let lines = self.lines_of_f().await;
        assert_eq!(lines.len(), n, "one line per failure: {lines:#?}");
        for l in &lines {
            assert_eq!(l["level"], "WARN", "{l}");
            assert_eq!(l["fields"]["message"], message, "{l}");
            assert_eq!(l["fields"]["reason"], reason, "{l}");
            assert_eq!(l["fields"]["endpoint"], "up", "{l}");
            assert!(l["fields"]["error"].as_str().is_some(), "{l}");
        }
        let access = self.access_lines(n).await;
        assert_eq!(access.len(), n, "{access:#?}");
        for a in &access {
            assert_eq!(a["status"], status, "{a}");
            assert_eq!(a["reason"], reason, "{a}");
        }
    }
}

/// Waits until every connection `up` accepted has ended: the proxy let go.
async fn released(up: &Faulty) {
    eventually(Duration::from_secs(10), || {
        let done = up.accepted() > 0 && up.ended() == up.accepted();
        std::future::ready(done.then_some(()))
    })
    .await;
}

/// One request to route `f` that fails before the head: its status and body.
async fn fails_with(fault: Fault, status: u16, body: &str, reason: &str, outcome: &str) {
    let up = Faulty::spawn(fault).await;
    let mut rig = Rig::start(&up.url(), "", closed_port().await);
    let r = get(rig.proxy.web(), "/f").await;
    assert_eq!((r.status, r.body.as_str()), (status, body), "{fault:?}");
    assert_eq!(up.heads(), 1, "{fault:?}: the request reached the upstream");
    rig.assert_failures(1, (FAILED, reason), outcome, status)
        .await;
    released(&up).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connection_refused_is_a_502() {
    let closed = closed_port().await;
    let mut rig = Rig::start(&format!("http://{closed}"), "", closed_port().await);
    let r = get(rig.proxy.web(), "/f").await;
    assert_eq!(
        (r.status, r.body.as_str()),
        (502, "upstream connect failure\n")
    );
    rig.assert_failures(1, (FAILED, "connect"), "connect_error", 502)
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reset_before_the_head_is_a_502() {
    let body = "upstream connection reset\n";
    fails_with(Fault::ResetBeforeHead, 502, body, "reset", "reset").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_instead_of_http_is_a_502() {
    let body = "upstream connection reset\n";
    fails_with(Fault::Garbage, 502, body, "reset", "reset").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversized_response_head_is_a_502() {
    // The default limit is 64 KiB.
    let body = "upstream response header too large\n";
    let reason = "upstream_header_too_large";
    fails_with(Fault::BigHead(70 * 1024), 502, body, reason, "reset").await;
}

/// The route timeout (1 s here) bounds the wait for the whole head.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_head_trickled_a_byte_a_second_times_out_with_a_504() {
    let start = Instant::now();
    fails_with(
        Fault::Trickle,
        504,
        "upstream timeout\n",
        "timeout",
        "timeout",
    )
    .await;
    assert!(start.elapsed() < Duration::from_secs(20));
}

/// Reads `/f` over HTTP/1.1 and HTTP/2: each answer is a 200 whose body
/// ends in an error, never a shorter body passed off as whole.
async fn both_clients_see_a_cut_body(web: SocketAddr) {
    let resp = client()
        .request(
            http::Request::get(format!("http://{web}/f"))
                .body(Full::new(Bytes::new()))
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(
        resp.headers()["content-length"],
        PROMISED_BODY.to_string().as_str()
    );
    let body = resp.into_body().collect().await;
    assert!(body.is_err(), "HTTP/1.1: the cut body read as complete");

    let h2 = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .http2_only(true)
        .build_http::<Full<Bytes>>();
    let resp = h2
        .request(
            http::Request::get(format!("http://{web}/f"))
                .body(Full::new(Bytes::new()))
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.version(), http::Version::HTTP_2);
    let mut body = resp.into_body();
    let mut got = 0;
    let end = loop {
        match body.frame().await {
            Some(Ok(f)) => got += f.data_ref().map_or(0, Bytes::len),
            Some(Err(e)) => break Err(e),
            None => break Ok(()),
        }
    };
    assert!(end.is_err(), "HTTP/2: the cut body ended cleanly");
    assert!(got <= PARTIAL_BODY, "{got} bytes");
}

async fn cut_mid_body(fault: Fault) {
    let up = Faulty::spawn(fault).await;
    let mut rig = Rig::start(&up.url(), "", closed_port().await);
    both_clients_see_a_cut_body(rig.proxy.web()).await;
    // The head arrived: the attempts count as answered (`success`).
    let failure = (BODY_FAILED, "incomplete_body");
    rig.assert_failures(2, failure, "success", 200).await;
    released(&up).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reset_after_the_head_cuts_the_body() {
    cut_mid_body(Fault::ResetMidBody).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clean_close_before_the_promised_length_cuts_the_body() {
    cut_mid_body(Fault::CloseMidBody).await;
}

/// A response that never ends is streamed while the client reads it (the
/// route timeout bounds only the wait for the head); once the client
/// leaves, the proxy closes the upstream connection at once. Not an
/// upstream failure: no warning, no error counter; the access log line
/// says `client_closed`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_response_that_never_ends_streams_until_the_client_leaves() {
    let up = Faulty::spawn(Fault::Endless).await;
    let mut rig = Rig::start(&up.url(), "", closed_port().await);
    let mut s = TcpStream::connect(rig.proxy.web()).await.unwrap();
    s.write_all(b"GET /f HTTP/1.1\r\nHost: test\r\n\r\n")
        .await
        .unwrap();
    let start = Instant::now();
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    // Past the route timeout (1 s), chunks still flow.
    while start.elapsed() < Duration::from_millis(1500) {
        let n = tokio::time::timeout(Duration::from_secs(5), s.read(&mut buf))
            .await
            .expect("chunks keep coming")
            .unwrap();
        assert!(n > 0, "the proxy ended the stream");
        seen.extend_from_slice(&buf[..n]);
    }
    let text = String::from_utf8_lossy(&seen);
    assert!(text.starts_with("HTTP/1.1 200 OK\r\n"), "{text}");
    assert!(text.contains("transfer-encoding: chunked"), "{text}");
    assert!(!text.contains("\r\n0\r\n\r\n"), "the stream ended: {text}");
    drop(s);
    released(&up).await;
    let text = metrics_text(rig.proxy.admin).await;
    let ok = [("route", "f"), ("code_class", "2xx")];
    assert_eq!(metric(&text, "switchyard_http_requests_total", &ok), 1.0);
    let cut = [("reason", "incomplete_body")];
    assert_eq!(metric(&text, "switchyard_proxy_errors_total", &cut), 0.0);
    assert_eq!(rig.lines_of_f().await, Vec::<Value>::new());
    let access = rig.access_lines(1).await;
    assert_eq!(access.len(), 1, "{access:#?}");
    assert_eq!(access[0]["status"], 200);
    assert_eq!(access[0]["reason"], "client_closed");
    assert!(access[0]["bytes_out"].as_u64().unwrap() > 0);
}
