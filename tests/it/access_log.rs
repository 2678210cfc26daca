//! Access logs through the real listener: every field of a proxied
//! request, retries, the proxy's own answers with their reason, both
//! formats, field selection, WebSocket upgrades, and off by default.
//! Reloads and rotation are in `access_log/reload.rs`, the real binary
//! logging to stdout in `access_log/binary.rs`.

mod binary;
mod reload;

use std::path::{Path, PathBuf};
use std::time::Duration;

use bytes::Bytes;
use http::Request;
use http_body_util::Full;
use serde_json::Value;
use switchyard::Switchyard;
use tempfile::TempDir;

use crate::common::{
    closed_port, config, eps, eventually, get, metric, metrics_text, send, start_proxy,
    TestUpstream,
};

const WAIT: Duration = Duration::from_secs(5);

/// A temporary directory holding `access.log`.
pub(crate) struct LogDir {
    _dir: TempDir,
    pub path: PathBuf,
}

impl LogDir {
    pub(crate) fn new() -> Self {
        let dir = TempDir::new().unwrap();
        let path = dir.path().join("access.log");
        Self { _dir: dir, path }
    }

    /// `access_log: { path: FILE<extra> }`
    pub(crate) fn yaml(&self, extra: &str) -> String {
        format!("access_log: {{ path: '{}'{extra} }}\n", self.path.display())
    }
}

/// The lines of `path` now (none when it does not exist).
pub(crate) fn lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .collect()
}

/// Waits until `path` has at least `n` lines; returns them all.
pub(crate) async fn wait_lines(path: &Path, n: usize) -> Vec<String> {
    eventually(WAIT, || async {
        let all = lines(path);
        (all.len() >= n).then_some(all)
    })
    .await
}

pub(crate) fn json(line: &str) -> Value {
    serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"))
}

/// One route `r` (`path_prefix: /`, plus `route`) to pool `p` over `up`.
fn yaml(log: &LogDir, extra: &str, up: &TestUpstream, route: &str) -> String {
    config(&format!(
        "{}routes:\n  - {{ name: r, match: {{ path_prefix: / }}, pool: p{route} }}\n\
pools:\n  - {{ name: p, endpoints: [{}] }}\n",
        log.yaml(extra),
        eps(&[("a", up.url())])
    ))
}

async fn lines_total(proxy: &Switchyard) -> f64 {
    let text = metrics_text(proxy.admin_addr()).await;
    metric(&text, "switchyard_access_log_lines_total", &[])
}

#[tokio::test]
async fn a_proxied_request_is_one_json_line_with_every_field() {
    let up = TestUpstream::spawn("up").await;
    let log = LogDir::new();
    let proxy = start_proxy(&yaml(&log, "", &up, "")).await;
    let web = proxy.listener_addr("web").unwrap();
    let req = Request::post(format!("http://{web}/v1/echo?token=s3cret"))
        .header("user-agent", "test-agent/1.0")
        .header("x-request-id", "req-7")
        .body(Full::new(Bytes::from_static(b"hello world")))
        .unwrap();
    let r = send(req).await;
    assert_eq!((r.status, r.body.as_str()), (200, "hello world"));

    let all = wait_lines(&log.path, 1).await;
    assert_eq!(all.len(), 1, "{all:?}");
    assert!(
        !all[0].contains("s3cret"),
        "the query is not logged: {}",
        all[0]
    );
    let v = json(&all[0]);
    let ts = v["timestamp"].as_str().unwrap();
    assert!(
        ts.len() == 24 && ts.ends_with('Z') && ts.as_bytes()[10] == b'T',
        "{ts}"
    );
    assert_eq!(v["listener"], "web");
    assert_eq!(v["client"], "127.0.0.1");
    assert_eq!(v["method"], "POST");
    assert_eq!(v["host"], web.to_string());
    assert_eq!(v["path"], "/v1/echo");
    assert_eq!(v["protocol"], "HTTP/1.1");
    assert_eq!(v["status"], 200);
    assert_eq!(v["bytes_in"], 11);
    assert_eq!(v["bytes_out"], 11);
    assert_eq!(v["route"], "r");
    assert_eq!(v["pool"], "p");
    assert_eq!(v["endpoint"], "a");
    assert_eq!(v["attempts"], 1);
    assert_eq!(v["reason"], Value::Null);
    assert_eq!(v["user_agent"], "test-agent/1.0");
    assert_eq!(v["request_id"], "req-7");
    let total = v["duration_ms"].as_f64().unwrap();
    let upstream = v["upstream_duration_ms"].as_f64().unwrap();
    assert!(0.0 < upstream && upstream <= total, "{upstream} vs {total}");
    assert!(v.get("query").is_none(), "query is not a default field");
    assert_eq!(lines_total(&proxy).await, 1.0);
}

#[tokio::test]
async fn a_large_streamed_response_counts_every_body_byte() {
    let up = TestUpstream::spawn("up").await;
    let log = LogDir::new();
    let proxy = start_proxy(&yaml(&log, "", &up, "")).await;
    let r = get(proxy.listener_addr("web").unwrap(), "/bytes/300000").await;
    assert_eq!((r.status, r.body.len()), (200, 300_000));
    let v = json(&wait_lines(&log.path, 1).await[0]);
    assert_eq!(
        (v["bytes_out"].as_u64(), v["bytes_in"].as_u64()),
        (Some(300_000), Some(0))
    );
}

#[tokio::test]
async fn a_retried_request_logs_its_attempts_and_the_endpoint_that_answered() {
    let bad = TestUpstream::spawn("bad").await;
    let good = TestUpstream::spawn("good").await;
    bad.set_status(500);
    let log = LogDir::new();
    // Random picks: some requests meet `bad` first and are retried.
    let proxy = start_proxy(&config(&format!(
        "{}routes:\n  - {{ name: r, pool: p, retries: {{ attempts: 2 }} }}\n\
pools:\n  - {{ name: p, balancer: random, endpoints: [{}], outlier_detection: {{ enabled: false }} }}\n",
        log.yaml(""),
        eps(&[("bad", bad.url()), ("good", good.url())])
    )))
    .await;
    let web = proxy.listener_addr("web").unwrap();
    for _ in 0..20 {
        assert_eq!(get(web, "/").await.status, 200);
    }
    let all: Vec<Value> = wait_lines(&log.path, 20)
        .await
        .iter()
        .map(|l| json(l))
        .collect();
    let retried = all.iter().filter(|v| v["attempts"] == 2).count();
    for v in &all {
        assert_eq!(
            (v["status"].as_u64(), v["endpoint"].as_str()),
            (Some(200), Some("good")),
            "{v}"
        );
        assert!(v["attempts"] == 1 || v["attempts"] == 2, "{v}");
        assert!(v["upstream_duration_ms"].is_number(), "{v}");
    }
    let text = metrics_text(proxy.admin_addr()).await;
    let retries = metric(&text, "switchyard_upstream_retries_total", &[("pool", "p")]);
    assert!(retried > 0, "20 random picks never met `bad`");
    assert_eq!(retried as f64, retries);
}

#[tokio::test]
async fn answers_the_proxy_generates_carry_their_reason() {
    let up = TestUpstream::spawn("up").await;
    let dead = closed_port().await;
    let log = LogDir::new();
    let proxy = start_proxy(&config(&format!(
        "{}routes:\n\
  - {{ name: gone, match: {{ path_prefix: /gone }}, pool: dead }}\n\
  - {{ name: none, match: {{ path_prefix: /none }}, pool: empty }}\n\
  - {{ name: ok, match: {{ path_prefix: /ok }}, pool: live }}\n\
pools:\n\
  - {{ name: dead, endpoints: [{}] }}\n\
  - {{ name: empty, endpoints: [{{ name: off, url: '{}', weight: 0 }}] }}\n\
  - {{ name: live, endpoints: [{}] }}\n",
        log.yaml(""),
        eps(&[("d1", format!("http://{dead}"))]),
        up.url(),
        eps(&[("up", up.url())]),
    )))
    .await;
    let web = proxy.listener_addr("web").unwrap();
    for (path, status) in [("/nowhere", 404), ("/none", 503), ("/gone", 502)] {
        assert_eq!(get(web, path).await.status, status, "{path}");
    }
    let all: Vec<Value> = wait_lines(&log.path, 3)
        .await
        .iter()
        .map(|l| json(l))
        .collect();
    let by_path = |p: &str| all.iter().find(|v| v["path"] == p).unwrap().clone();
    let v = by_path("/nowhere");
    assert_eq!(v["status"], 404);
    assert_eq!(v["reason"], "no_route");
    assert_eq!(
        (&v["route"], &v["pool"], &v["endpoint"]),
        (&Value::Null, &Value::Null, &Value::Null)
    );
    assert_eq!(v["attempts"], 0);
    let v = by_path("/none");
    assert_eq!(
        (v["status"].as_u64(), v["reason"].as_str()),
        (Some(503), Some("no_endpoint"))
    );
    assert_eq!(
        (v["route"].as_str(), v["pool"].as_str()),
        (Some("none"), Some("empty"))
    );
    assert_eq!(
        (&v["endpoint"], &v["attempts"]),
        (&Value::Null, &Value::from(0))
    );
    let v = by_path("/gone");
    assert_eq!(
        (v["status"].as_u64(), v["reason"].as_str()),
        (Some(502), Some("connect"))
    );
    assert_eq!(
        (v["route"].as_str(), v["endpoint"].as_str()),
        (Some("gone"), Some("d1"))
    );
    assert_eq!(v["attempts"], 1);
    assert_eq!(
        v["upstream_duration_ms"],
        Value::Null,
        "no response headers arrived"
    );
    assert!(v["bytes_out"].as_u64().unwrap() > 0, "the error body: {v}");
}

#[tokio::test]
async fn a_client_that_gives_up_before_the_answer_is_logged_as_499_client_closed() {
    use tokio::io::AsyncWriteExt;

    let up = TestUpstream::spawn("up").await;
    let log = LogDir::new();
    let proxy = start_proxy(&yaml(&log, "", &up, "")).await;
    let web = proxy.listener_addr("web").unwrap();
    let mut client = tokio::net::TcpStream::connect(web).await.unwrap();
    client
        .write_all(b"GET /slow/10000 HTTP/1.1\r\nhost: example.com\r\n\r\n")
        .await
        .unwrap();
    // Closed once the request waits on the upstream.
    eventually(WAIT, || async { (up.hits() == 1).then_some(()) }).await;
    drop(client);
    let v = json(&wait_lines(&log.path, 1).await[0]);
    assert_eq!(
        (v["status"].as_u64(), v["reason"].as_str()),
        (Some(499), Some("client_closed")),
        "{v}"
    );
    assert_eq!(
        (v["route"].as_str(), v["endpoint"].as_str()),
        (Some("r"), Some("a"))
    );
    assert_eq!(
        (v["attempts"].as_u64(), v["bytes_out"].as_u64()),
        (Some(1), Some(0))
    );
    assert_eq!(v["upstream_duration_ms"], Value::Null);
    assert_eq!(v["host"], "example.com");
}

#[tokio::test]
async fn common_lines_have_the_clf_shape_then_key_values() {
    let up = TestUpstream::spawn("up").await;
    let log = LogDir::new();
    let proxy = start_proxy(&yaml(&log, ", format: common", &up, "")).await;
    let web = proxy.listener_addr("web").unwrap();
    let req = Request::get(format!("http://{web}/hello?x=1"))
        .header("user-agent", "agent with spaces")
        .body(Full::new(Bytes::new()))
        .unwrap();
    assert_eq!(send(req).await.status, 200);
    let line = wait_lines(&log.path, 1).await.remove(0);
    let (prefix, rest) = line.split_once(" [").unwrap();
    assert_eq!(prefix, "127.0.0.1 - -");
    // [01/May/2024:12:00:00 +0000]
    let (time, rest) = rest.split_once("] ").unwrap();
    assert_eq!(
        (time.len(), &time[2..3], &time[6..7], &time[20..]),
        (26, "/", "/", " +0000"),
        "{time}"
    );
    let request_line = "\"GET /hello HTTP/1.1\" 200 2 listener=web ";
    assert!(rest.starts_with(request_line), "{line}");
    for part in [
        format!(" host={web} "),
        " bytes_in=0 ".into(),
        " route=r pool=p endpoint=a attempts=1 reason=- ".into(),
        " user_agent=\"agent with spaces\" request_id=-".into(),
    ] {
        assert!(line.contains(&part), "{part:?} in {line}");
    }
    assert!(line.ends_with("request_id=-"), "{line}");
}

#[tokio::test]
async fn fields_select_and_order_what_a_line_carries() {
    let up = TestUpstream::spawn("up").await;
    let log = LogDir::new();
    let fields = ", fields: [status, route, query, method, bytes_out]";
    let proxy = start_proxy(&yaml(&log, fields, &up, "")).await;
    let web = proxy.listener_addr("web").unwrap();
    assert_eq!(get(web, "/p?a=1&b=two").await.status, 200);
    assert_eq!(get(web, "/p").await.status, 200);
    let all = wait_lines(&log.path, 2).await;
    assert_eq!(
        all,
        [
            r#"{"status":200,"route":"r","query":"a=1&b=two","method":"GET","bytes_out":2}"#,
            r#"{"status":200,"route":"r","query":null,"method":"GET","bytes_out":2}"#,
        ]
    );
}

#[tokio::test]
async fn a_websocket_upgrade_is_logged_once_as_its_101() {
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message;

    use crate::websocket::{next_message, WsEcho, GREETING};
    let echo = WsEcho::spawn(false).await;
    let log = LogDir::new();
    let proxy = start_proxy(&config(&format!(
        "{}routes:\n  - {{ name: ws, pool: p }}\npools:\n  - {{ name: p, endpoints: [{}] }}\n",
        log.yaml(""),
        eps(&[("e1", echo.url())])
    )))
    .await;
    let web = proxy.listener_addr("web").unwrap();
    let (mut ws, resp) = tokio_tungstenite::connect_async(format!("ws://{web}/chat"))
        .await
        .unwrap();
    assert_eq!(resp.status(), 101);
    assert_eq!(next_message(&mut ws).await, Message::text(GREETING));
    // Logged when the 101 went out, while the socket is still open.
    let line = json(&wait_lines(&log.path, 1).await[0]);
    assert_eq!(
        (line["status"].as_u64(), line["path"].as_str()),
        (Some(101), Some("/chat"))
    );
    assert_eq!(
        (line["route"].as_str(), line["endpoint"].as_str()),
        (Some("ws"), Some("e1"))
    );
    ws.send(Message::text("ping")).await.unwrap();
    assert_eq!(next_message(&mut ws).await, Message::text("ping"));
    ws.close(None).await.unwrap();
    tokio::time::timeout(WAIT, async { while let Some(Ok(_)) = ws.next().await {} })
        .await
        .expect("the socket closes");
    // One more request after the tunnel closed (whatever its answer): the
    // log holds the 101 once.
    get(web, "/after").await;
    let all = wait_lines(&log.path, 2).await;
    assert_eq!(all.len(), 2, "{all:?}");
    assert_eq!(
        all.iter().filter(|l| l.contains("\"status\":101")).count(),
        1,
        "{all:?}"
    );
}

#[tokio::test]
async fn nothing_is_logged_without_an_access_log_key() {
    let up = TestUpstream::spawn("up").await;
    let proxy = start_proxy(&config(&format!(
        "routes:\n  - {{ name: r, pool: p }}\npools:\n  - {{ name: p, endpoints: [{}] }}\n",
        eps(&[("a", up.url())])
    )))
    .await;
    assert!(proxy.shared().dataplane.load().access_log.is_none());
    let web = proxy.listener_addr("web").unwrap();
    for _ in 0..3 {
        assert_eq!(get(web, "/").await.status, 200);
    }
    assert_eq!(lines_total(&proxy).await, 0.0);
    let text = metrics_text(proxy.admin_addr()).await;
    assert_eq!(
        metric(&text, "switchyard_access_log_dropped_total", &[]),
        0.0
    );
    assert!(text.contains("switchyard_access_log_dropped_total{reason=\"queue_full\"} 0"));
}
