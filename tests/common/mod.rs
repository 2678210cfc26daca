//! Shared test harness: upstream servers, a proxy started from inline YAML,
//! a small HTTP client, and `eventually` for polling with a deadline.
#![allow(dead_code)]

pub mod process;
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

pub use upstream::TestUpstream;

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
