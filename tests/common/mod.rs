//! Shared test harness: upstream servers, a proxy started from inline YAML,
//! a small HTTP client, and `eventually` for polling with a deadline.
#![allow(dead_code)]

pub mod blackhole;
pub mod browser;
pub mod faulty;
pub mod generated;
pub mod process;
pub mod prometheus;
pub mod raw;
pub mod upstream;

use std::future::Future;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use switchyard::Switchyard;

pub use blackhole::Blackhole;
pub use upstream::{closed_port, Health, TestUpstream};

/// Starts the proxy from YAML text (listen on 127.0.0.1:0).
pub async fn start_proxy(yaml: &str) -> Switchyard {
    let config = switchyard::config::load_str(yaml)
        .unwrap_or_else(|e| panic!("bad test config: {e}\n{yaml}"));
    let loaded = switchyard::config::Loaded {
        config,
        hash: switchyard::config::content_hash(yaml.as_bytes()),
        text: yaml.to_string(),
    };
    Switchyard::start(loaded).await.expect("proxy starts")
}

/// A config with one listener and admin on ephemeral ports, plus `rest`.
pub fn config(rest: &str) -> String {
    format!(
        "version: 1\nruntime: {{ worker_threads: 2, shutdown_timeout: 5s }}\nadmin: {{ listen: '127.0.0.1:0' }}\nlisteners:\n  - {{ name: web, listen: '127.0.0.1:0' }}\n{rest}"
    )
}

/// `{ name, url }` items for an endpoints list.
pub fn eps(list: &[(&str, String)]) -> String {
    list.iter()
        .map(|(n, u)| format!("{{ name: {n}, url: '{u}' }}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A plain HTTP/1.1 client without retries.
pub fn client() -> Client<HttpConnector, Full<Bytes>> {
    Client::builder(TokioExecutor::new())
        .retry_canceled_requests(false)
        .build_http()
}

/// A collected response.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: http::HeaderMap,
    pub body: String,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// Sends `req` and collects the response.
pub async fn send(req: Request<Full<Bytes>>) -> Reply {
    let resp: Response<hyper::body::Incoming> = client().request(req).await.expect("request sent");
    collect(resp).await
}

pub async fn collect(resp: Response<hyper::body::Incoming>) -> Reply {
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let body = resp.into_body().collect().await.expect("body").to_bytes();
    Reply {
        status,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    }
}

/// GET `http://addr{path}`.
pub async fn get(addr: SocketAddr, path: &str) -> Reply {
    send(
        Request::get(format!("http://{addr}{path}"))
            .body(Full::new(Bytes::new()))
            .unwrap(),
    )
    .await
}

/// GET `http://addr{path}` on `client`, which keeps its connections alive.
pub async fn get_on(
    client: &Client<HttpConnector, Full<Bytes>>,
    addr: SocketAddr,
    path: &str,
) -> Reply {
    let req = Request::get(format!("http://{addr}{path}"))
        .body(Full::new(Bytes::new()))
        .unwrap();
    collect(client.request(req).await.expect("request sent")).await
}

/// The admin API's `GET /upstreams` document.
pub async fn upstreams(admin: SocketAddr) -> serde_json::Value {
    let r = get(admin, "/upstreams").await;
    assert_eq!(r.status, 200, "{}", r.body);
    serde_json::from_str(&r.body).expect("/upstreams is JSON")
}

/// One endpoint of one pool in an `upstreams` document.
pub fn endpoint<'a>(doc: &'a serde_json::Value, pool: &str, name: &str) -> &'a serde_json::Value {
    doc["pools"]
        .as_array()
        .and_then(|ps| ps.iter().find(|p| p["name"] == pool))
        .and_then(|p| p["endpoints"].as_array())
        .and_then(|es| es.iter().find(|e| e["name"] == name))
        .unwrap_or_else(|| panic!("no endpoint {pool}/{name} in {doc}"))
}

/// Polls `/upstreams` until every `(pool, endpoint, status)` holds at once.
pub async fn wait_status(admin: SocketAddr, deadline: Duration, want: &[(&str, &str, &str)]) {
    let end = Instant::now() + deadline;
    loop {
        let doc = upstreams(admin).await;
        if want
            .iter()
            .all(|(p, e, s)| endpoint(&doc, p, e)["status"] == *s)
        {
            return;
        }
        assert!(
            Instant::now() < end,
            "not {want:?} within {deadline:?}; last /upstreams: {doc}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The admin API's `/metrics` text.
pub async fn metrics_text(admin: SocketAddr) -> String {
    get(admin, "/metrics").await.body
}

/// Applies new YAML to a running proxy (as a reload does).
pub async fn reload(proxy: &Switchyard, yaml: &str) -> switchyard::proxy::ReloadReport {
    let config = switchyard::config::load_str(yaml)
        .unwrap_or_else(|e| panic!("bad test config: {e}\n{yaml}"));
    let hash = switchyard::config::content_hash(yaml.as_bytes());
    proxy.control().apply(config, hash).await
}

/// Polls `check` until it returns `Some` or `deadline` passes.
pub async fn eventually<T, F, Fut>(deadline: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let end = Instant::now() + deadline;
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(
            Instant::now() < end,
            "condition not met within {deadline:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The value of one sample in Prometheus text, e.g.
/// `metric(&text, "switchyard_http_requests_total", &[("route", "a")])`.
/// Sums every series whose labels include all of `labels`.
pub fn metric(text: &str, name: &str, labels: &[(&str, &str)]) -> f64 {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let (series, value) = l.rsplit_once(' ')?;
            let (n, rest) = match series.split_once('{') {
                Some((n, rest)) => (n, rest),
                None => (series, ""),
            };
            if n != name {
                return None;
            }
            let ok = labels
                .iter()
                .all(|(k, v)| rest.contains(&format!("{k}=\"{v}\"")));
            ok.then(|| value.parse::<f64>().ok()).flatten()
        })
        .sum()
}
