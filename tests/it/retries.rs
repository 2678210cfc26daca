//! Retries through the real listener: what is retried (5xx, connect
//! errors, per-try timeouts, 429 only when listed), what is not (a POST
//! that reached the endpoint, a body too big to keep), where a retry goes
//! (another endpoint), and the retry budget. Outlier detection is off in
//! every pool here, so that every request meets the same endpoints.

use std::time::Duration;

use bytes::Bytes;
use http::Request;
use http_body_util::Full;
use switchyard::Switchyard;

use crate::common::{
    closed_port, config, eps, get, metric, metrics_text, send, start_proxy, Reply, TestUpstream,
};

/// One pool `p` over `list` and `routes` (YAML list items) to it.
async fn proxy(list: &[(&str, String)], routes: &str) -> Switchyard {
    proxy_with("weighted_round_robin", list, routes).await
}

async fn proxy_with(balancer: &str, list: &[(&str, String)], routes: &str) -> Switchyard {
    start_proxy(&config(&format!(
        "routes:\n{routes}pools:\n  - {{ name: p, balancer: {balancer}, endpoints: [{}], outlier_detection: {{ enabled: false }} }}\n",
        eps(list)
    )))
    .await
}

async fn retries(proxy: &Switchyard, reason: &str) -> f64 {
    let m = metrics_text(proxy.admin_addr()).await;
    metric(
        &m,
        "switchyard_upstream_retries_total",
        &[("pool", "p"), ("reason", reason)],
    )
}

async fn all_retries(proxy: &Switchyard) -> f64 {
    let m = metrics_text(proxy.admin_addr()).await;
    metric(&m, "switchyard_upstream_retries_total", &[("pool", "p")])
}

async fn upload(proxy: &Switchyard, method: &str, path: &str, key: bool, body: Vec<u8>) -> Reply {
    let addr = proxy.listener_addr("web").unwrap();
    let mut req = Request::builder()
        .method(method)
        .uri(format!("http://{addr}{path}"));
    if key {
        req = req.header("idempotency-key", "k-1");
    }
    send(req.body(Full::new(Bytes::from(body))).unwrap()).await
}

fn body(len: usize, seed: usize) -> Vec<u8> {
    (0..len).map(|i| b'a' + ((i + seed) % 26) as u8).collect()
}

#[tokio::test]
async fn a_5xx_is_retried_once_on_another_endpoint() {
    let bad = TestUpstream::spawn("bad").await;
    let good = TestUpstream::spawn("good").await;
    bad.set_status(500);
    // Random picks: only the retry's exclusion of the endpoint already
    // tried keeps a retry off `bad` (round robin would move on anyway).
    let p = proxy_with(
        "random",
        &[("bad", bad.url()), ("good", good.url())],
        "  - { name: r, pool: p, retries: { attempts: 3 } }\n",
    )
    .await;
    let web = p.listener_addr("web").unwrap();
    for i in 0..40 {
        let (b0, g0) = (bad.hits(), good.hits());
        let r = get(web, "/").await;
        assert_eq!((r.status, r.body.as_str()), (200, "good"), "request {i}");
        assert!(bad.hits() - b0 <= 1, "bad got {} hits", bad.hits() - b0);
        assert_eq!(good.hits() - g0, 1);
    }
    assert!(bad.hits() >= 5, "bad was tried {} times", bad.hits());
    assert_eq!(retries(&p, "http_5xx").await, bad.hits() as f64);
    p.shutdown_within(Duration::from_secs(1)).await;
}

#[tokio::test]
async fn a_post_is_retried_on_connect_error_but_not_on_a_5xx() {
    let bad = TestUpstream::spawn("bad").await;
    let good = TestUpstream::spawn("good").await;
    bad.set_status(500);
    let closed = format!("http://{}", closed_port().await);
    let retry = "retries: { attempts: 3 }";
    let yaml = config(&format!(
        "routes:\n\
  - {{ name: a, match: {{ path_prefix: /a }}, pool: p, {retry} }}\n\
  - {{ name: b, match: {{ path_prefix: /b }}, pool: q, {retry} }}\n\
pools:\n\
  - {{ name: p, endpoints: [{}], outlier_detection: {{ enabled: false }} }}\n\
  - {{ name: q, endpoints: [{}], outlier_detection: {{ enabled: false }} }}\n",
        eps(&[("bad", bad.url()), ("good", good.url())]),
        eps(&[("closed", closed), ("good", good.url())]),
    ));
    let p = start_proxy(&yaml).await;
    // The 5xx came after the endpoint had the POST: not resent.
    let mut errors = 0;
    for i in 0..10 {
        let sent = body(100, i);
        let r = upload(&p, "POST", "/a/echo", false, sent.clone()).await;
        match r.status {
            500 => errors += 1,
            200 => assert_eq!(r.body.as_bytes(), sent),
            s => panic!("status {s}"),
        }
    }
    assert!(errors >= 3, "{errors}");
    assert_eq!(bad.hits(), errors);
    assert_eq!(all_retries(&p).await, 0.0);
    // Nothing reached the closed port: resent, body and all.
    for i in 0..10 {
        let sent = body(100, i);
        let r = upload(&p, "POST", "/b/echo", false, sent.clone()).await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.body.as_bytes(), sent);
    }
    let m = metrics_text(p.admin_addr()).await;
    let q = |reason: &str| {
        metric(
            &m,
            "switchyard_upstream_retries_total",
            &[("pool", "q"), ("reason", reason)],
        )
    };
    assert!(q("connect_error") >= 3.0, "{m}");
    assert_eq!(q("http_5xx"), 0.0);
    // A POST without a body goes on the inline exchange, which keeps no
    // copy of the request once its head is written: never sent, it is
    // resent with an empty body. Round robin with the retry's own picks
    // puts every one on the closed port first.
    for i in 0..4 {
        let r = upload(&p, "POST", "/b/echo", false, Vec::new()).await;
        assert_eq!((r.status, r.body.as_str()), (200, ""), "request {i}");
    }
    let after = metrics_text(p.admin_addr()).await;
    let resent = metric(
        &after,
        "switchyard_upstream_retries_total",
        &[("pool", "q"), ("reason", "connect_error")],
    );
    assert!(resent >= q("connect_error") + 2.0, "{after}");
    p.shutdown_within(Duration::from_secs(1)).await;
}

#[tokio::test]
async fn an_idempotent_body_up_to_64_kib_is_replayed_and_a_bigger_one_is_not() {
    let bad = TestUpstream::spawn("bad").await;
    let good = TestUpstream::spawn("good").await;
    bad.set_status(500);
    let p = proxy(
        &[("bad", bad.url()), ("good", good.url())],
        "  - { name: r, pool: p, retries: { attempts: 3 } }\n",
    )
    .await;
    // POST with Idempotency-Key and PUT of exactly 64 KiB: replayed whole.
    for i in 0..6 {
        let (method, key, len) = if i % 2 == 0 {
            ("POST", true, 3000)
        } else {
            ("PUT", false, 64 * 1024)
        };
        let sent = body(len, i);
        let r = upload(&p, method, "/echo", key, sent.clone()).await;
        assert_eq!(r.status, 200, "{method}: {}", r.body);
        assert_eq!(r.body.len(), len, "{method}");
        assert!(
            r.body.as_bytes() == sent,
            "{method}: the replayed body differs"
        );
    }
    let replayed = bad.hits();
    assert!(replayed >= 2, "{replayed}");
    assert_eq!(retries(&p, "http_5xx").await, replayed as f64);
    // One byte more than 64 KiB is not kept, so a 5xx reaches the client.
    let mut errors = 0;
    for i in 0..6 {
        let sent = body(64 * 1024 + 1, i);
        let r = upload(&p, "PUT", "/echo", true, sent.clone()).await;
        match r.status {
            500 => errors += 1,
            200 => assert!(r.body.as_bytes() == sent),
            s => panic!("status {s}"),
        }
    }
    assert!(errors >= 2, "{errors}");
    assert_eq!(bad.hits() - replayed, errors);
    assert_eq!(retries(&p, "http_5xx").await, replayed as f64);
    p.shutdown_within(Duration::from_secs(1)).await;
}

#[tokio::test]
async fn per_try_timeout_moves_a_slow_request_to_a_fast_endpoint() {
    let slow = TestUpstream::spawn("slow").await;
    let fast = TestUpstream::spawn("fast").await;
    slow.set_delay(Duration::from_secs(3));
    let p = proxy(
        &[("slow", slow.url()), ("fast", fast.url())],
        "  - { name: r, pool: p, timeout: 5s, retries: { attempts: 2, per_try_timeout: 200ms } }\n",
    )
    .await;
    let web = p.listener_addr("web").unwrap();
    for _ in 0..6 {
        let r = get(web, "/").await;
        assert_eq!((r.status, r.body.as_str()), (200, "fast"));
    }
    assert!(slow.hits() >= 2, "{}", slow.hits());
    assert_eq!(retries(&p, "timeout").await, slow.hits() as f64);
    p.shutdown_within(Duration::from_secs(1)).await;
}

#[tokio::test]
async fn an_empty_retry_budget_refuses_every_retry() {
    let bad = TestUpstream::spawn("bad").await;
    let good = TestUpstream::spawn("good").await;
    bad.set_status(500);
    let p = proxy(
        &[("bad", bad.url()), ("good", good.url())],
        "  - { name: r, pool: p, retries: { attempts: 3, budget: 0, min_retries_per_second: 0 } }\n",
    )
    .await;
    let web = p.listener_addr("web").unwrap();
    let mut errors = 0;
    for _ in 0..10 {
        let r = get(web, "/").await;
        errors += u64::from(r.status == 500);
    }
    assert!(errors >= 3, "{errors}");
    assert_eq!(bad.hits(), errors);
    assert_eq!(all_retries(&p).await, 0.0);
    let m = metrics_text(p.admin_addr()).await;
    let exhausted = metric(
        &m,
        "switchyard_retry_budget_exhausted_total",
        &[("pool", "p")],
    );
    assert_eq!(exhausted, errors as f64, "{m}");
    p.shutdown_within(Duration::from_secs(1)).await;
}

#[tokio::test]
async fn a_429_is_retried_only_when_listed() {
    let busy = TestUpstream::spawn("busy").await;
    let good = TestUpstream::spawn("good").await;
    busy.set_status(429);
    let p = proxy(
        &[("busy", busy.url()), ("good", good.url())],
        "  - { name: default, match: { path_prefix: /default }, pool: p, retries: { attempts: 3 } }\n  \
- { name: listed, match: { path_prefix: /listed }, pool: p, retries: { attempts: 3, on: [http_429] } }\n",
    )
    .await;
    let web = p.listener_addr("web").unwrap();
    let mut limited = 0;
    for _ in 0..10 {
        let r = get(web, "/default").await;
        limited += u64::from(r.status == 429);
    }
    assert!(limited >= 3, "{limited}");
    assert_eq!(busy.hits(), limited);
    assert_eq!(all_retries(&p).await, 0.0);
    for _ in 0..10 {
        let r = get(web, "/listed").await;
        assert_eq!((r.status, r.body.as_str()), (200, "good"));
    }
    let listed = busy.hits() - limited;
    assert!(listed >= 3, "{listed}");
    assert_eq!(retries(&p, "http_429").await, listed as f64);
    assert_eq!(all_retries(&p).await, listed as f64);
    p.shutdown_within(Duration::from_secs(1)).await;
}
