//! The Prometheus scoring source: three instant queries per pool and tick
//! against `/api/v1/query`, summed over every Switchyard instance the
//! server scrapes, so each instance scores on the fleet's numbers.
//!
//! Owns: the PromQL, the HTTP exchange (a fresh connection per query,
//! driven inside the query's future so a timeout closes it) and the
//! response checks. Any failure is an error for the caller to fall back on;
//! NaN values are "no data".

use std::collections::HashMap;
use std::time::Duration;

use bytes::Bytes;
use http::{header, Request};
use http_body_util::{BodyExt, Empty, Limited};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use super::formula::Stats;
use crate::config::PrometheusSource;
use crate::metrics::names;

/// Largest query response accepted.
const MAX_RESPONSE: usize = 4 * 1024 * 1024;

/// Why a query failed.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// No connection, or it broke.
    #[error("cannot reach Prometheus: {0}")]
    Connect(String),
    /// No answer in time.
    #[error("Prometheus did not answer within {0:?}")]
    Timeout(Duration),
    /// A non-2xx status.
    #[error("Prometheus answered HTTP {0}")]
    Status(u16),
    /// An answer that is not a successful instant vector.
    #[error("unusable Prometheus answer: {0}")]
    BadData(String),
}

/// The PromQL for requests, failures and p99, per endpoint of `pool`.
pub(super) fn queries(src: &PrometheusSource, pool: &str, window: Duration) -> [String; 3] {
    let mut m = format!("pool=\"{pool}\"");
    if !src.selector.is_empty() {
        m.push(',');
        m.push_str(&src.selector);
    }
    let w = format!("{}s", window.as_secs().max(1));
    let requests = names::UPSTREAM_REQUESTS_TOTAL;
    let buckets = format!("{}_bucket", names::UPSTREAM_RESPONSE_DURATION_SECONDS);
    [
        format!("sum by (endpoint) (increase({requests}{{{m}}}[{w}]))"),
        format!(
            "sum by (endpoint) (increase({requests}{{{m},outcome=~\"http_5xx|connect_error|timeout|reset\"}}[{w}]))"
        ),
        format!(
            "histogram_quantile(0.99, sum by (endpoint, le) (rate({buckets}{{{m}}}[{w}])))"
        ),
    ]
}

/// Fleet-wide stats of `pool`'s endpoints, by endpoint name.
pub(super) async fn fetch(
    src: &PrometheusSource,
    pool: &str,
    window: Duration,
) -> Result<HashMap<String, Stats>, SourceError> {
    let [q_req, q_fail, q_p99] = queries(src, pool, window);
    let (requests, failures, p99) =
        tokio::try_join!(query(src, &q_req), query(src, &q_fail), query(src, &q_p99))?;
    let mut out: HashMap<String, Stats> = HashMap::new();
    for (name, v) in requests {
        out.entry(name).or_default().requests = v.unwrap_or(0.0);
    }
    for (name, v) in failures {
        out.entry(name).or_default().failures = v.unwrap_or(0.0);
    }
    for (name, v) in p99 {
        out.entry(name).or_default().p99 = v;
    }
    Ok(out)
}

/// Runs one instant query; returns (endpoint, value) pairs, NaN as `None`.
async fn query(
    src: &PrometheusSource,
    promql: &str,
) -> Result<Vec<(String, Option<f64>)>, SourceError> {
    let path = format!("{}/api/v1/query?query={}", src.base_path, encode(promql));
    let body = tokio::time::timeout(src.timeout, get(&src.authority, &path))
        .await
        .map_err(|_| SourceError::Timeout(src.timeout))??;
    parse(&body)
}

async fn get(authority: &str, path: &str) -> Result<Bytes, SourceError> {
    let stream = TcpStream::connect(authority)
        .await
        .map_err(|e| SourceError::Connect(format!("{authority}: {e}")))?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| SourceError::Connect(e.to_string()))?;
    let request = Request::get(path)
        .header(header::HOST, authority)
        .header(header::ACCEPT, "application/json")
        .header(header::USER_AGENT, "switchyard-scorer")
        .body(Empty::<Bytes>::new())
        .map_err(|e| SourceError::BadData(format!("bad request: {e}")))?;
    let exchange = async {
        let resp = sender
            .send_request(request)
            .await
            .map_err(|e| SourceError::Connect(e.to_string()))?;
        let status = resp.status();
        let body = Limited::new(resp.into_body(), MAX_RESPONSE)
            .collect()
            .await
            .map_err(|e| SourceError::Connect(format!("reading the answer: {e}")))?
            .to_bytes();
        // Prometheus reports query errors as JSON with 4xx/5xx: keep the
        // status as the error, it says more than the body.
        if !status.is_success() {
            return Err(SourceError::Status(status.as_u16()));
        }
        Ok(body)
    };
    tokio::pin!(conn);
    tokio::pin!(exchange);
    tokio::select! {
        r = &mut exchange => r,
        c = &mut conn => match c {
            Ok(()) => exchange.await,
            Err(e) => Err(SourceError::Connect(e.to_string())),
        },
    }
}

/// Parses an instant-vector answer.
pub(super) fn parse(body: &[u8]) -> Result<Vec<(String, Option<f64>)>, SourceError> {
    let bad = |why: &str| SourceError::BadData(why.to_string());
    let v: serde_json::Value =
        serde_json::from_slice(body).map_err(|e| SourceError::BadData(e.to_string()))?;
    if v["status"] != "success" {
        return Err(SourceError::BadData(format!(
            "status {}: {}",
            v["status"], v["error"]
        )));
    }
    if v["data"]["resultType"] != "vector" {
        return Err(bad("resultType is not vector"));
    }
    let result = v["data"]["result"]
        .as_array()
        .ok_or_else(|| bad("no result list"))?;
    let mut out = Vec::with_capacity(result.len());
    for series in result {
        let Some(name) = series["metric"]["endpoint"].as_str() else {
            continue;
        };
        let value = series["value"][1]
            .as_str()
            .and_then(|s| s.parse::<f64>().ok())
            .filter(|x| x.is_finite());
        out.push((name.to_string(), value));
    }
    Ok(out)
}

/// Percent-encodes a query parameter value.
fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_vectors_and_treats_nan_as_no_data() {
        let body = br#"{"status":"success","data":{"resultType":"vector","result":[
            {"metric":{"endpoint":"a"},"value":[1.0,"12.5"]},
            {"metric":{"endpoint":"b"},"value":[1.0,"NaN"]},
            {"metric":{},"value":[1.0,"3"]}]}}"#;
        let v = parse(body).unwrap();
        assert_eq!(v, vec![("a".into(), Some(12.5)), ("b".into(), None)]);
        assert!(parse(br#"{"status":"error","error":"bad"}"#).is_err());
        assert!(
            parse(br#"{"status":"success","data":{"resultType":"matrix","result":[]}}"#).is_err()
        );
        assert!(parse(b"<html>").is_err());
    }

    #[test]
    fn queries_carry_pool_selector_and_window() {
        let src = PrometheusSource {
            authority: "127.0.0.1:9090".into(),
            base_path: String::new(),
            timeout: Duration::from_secs(1),
            selector: "job=\"switchyard\"".into(),
        };
        let q = queries(&src, "pay", Duration::from_secs(60));
        assert_eq!(
            q[0],
            "sum by (endpoint) (increase(switchyard_upstream_requests_total{pool=\"pay\",job=\"switchyard\"}[60s]))"
        );
        assert!(q[1].contains("outcome=~\"http_5xx|connect_error|timeout|reset\""));
        assert!(q[2].starts_with("histogram_quantile(0.99, sum by (endpoint, le) (rate(switchyard_upstream_response_duration_seconds_bucket{"));
        assert_eq!(encode("a b{\"}"), "a%20b%7B%22%7D");
    }
}
