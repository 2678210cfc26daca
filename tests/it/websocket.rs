//! WebSocket and HTTP/1.1 `Upgrade` through the real listener: echo both
//! ways, the upgraded-connections gauge, reloads while a socket is open,
//! non-101 answers, refusals, no retries, and the drain deadline.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use http::Request;
use http_body_util::Full;
use tokio::net::{TcpListener, TcpStream};
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request as WsRequest};
use tokio_tungstenite::tungstenite::http::{Response as WsResponse, StatusCode};
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::common::{
    closed_port, config, eps, eventually, metric, metrics_text, reload, send, start_proxy,
    TestUpstream,
};
use crate::plugins::{fixture, plugin};

const GAUGE: &str = "switchyard_upgraded_connections";
const WAIT: Duration = Duration::from_secs(5);
pub(crate) const GREETING: &str = "hello from upstream";

pub(crate) type Client = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// A WebSocket echo server on 127.0.0.1:0: it greets each client, then
/// sends back every text and binary message. It keeps the head of the
/// last upgrade request it accepted. With `refuse`, it answers every
/// handshake 403 instead.
pub(crate) struct WsEcho {
    addr: SocketAddr,
    tls: bool,
    last_head: Arc<Mutex<Option<http::HeaderMap>>>,
    task: tokio::task::JoinHandle<()>,
}

impl WsEcho {
    pub(crate) async fn spawn(refuse: bool) -> Self {
        Self::spawn_with(refuse, None).await
    }

    /// The echo server behind TLS with `config`.
    async fn spawn_tls(config: Arc<rustls::ServerConfig>) -> Self {
        Self::spawn_with(false, Some(tokio_rustls::TlsAcceptor::from(config))).await
    }

    async fn spawn_with(refuse: bool, tls: Option<tokio_rustls::TlsAcceptor>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let last_head = Arc::new(Mutex::new(None));
        let seen = Arc::clone(&last_head);
        let is_tls = tls.is_some();
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let seen = Arc::clone(&seen);
                match tls.clone() {
                    None => drop(tokio::spawn(echo(stream, seen, refuse))),
                    Some(acceptor) => drop(tokio::spawn(async move {
                        if let Ok(tls) = acceptor.accept(stream).await {
                            echo(tls, seen, refuse).await;
                        }
                    })),
                }
            }
        });
        Self {
            addr,
            tls: is_tls,
            last_head,
            task,
        }
    }

    pub(crate) fn url(&self) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://{}", self.addr)
    }

    fn last_head(&self) -> http::HeaderMap {
        self.last_head.lock().unwrap().clone().expect("a handshake")
    }
}

impl Drop for WsEcho {
    fn drop(&mut self) {
        self.task.abort();
    }
}

// The handshake callback's error type is tungstenite's, not ours to shrink.
#[allow(clippy::result_large_err)]
async fn echo<S>(stream: S, seen: Arc<Mutex<Option<http::HeaderMap>>>, refuse: bool)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let callback = |req: &WsRequest, resp: WsResponse<()>| {
        *seen.lock().unwrap() = Some(req.headers().clone());
        if refuse {
            let mut err = ErrorResponse::new(Some("no sockets here".into()));
            *err.status_mut() = StatusCode::FORBIDDEN;
            return Err(err);
        }
        Ok(resp)
    };
    let Ok(mut ws) = tokio_tungstenite::accept_hdr_async(stream, callback).await else {
        return;
    };
    if ws.send(Message::text(GREETING)).await.is_err() {
        return;
    }
    while let Some(Ok(msg)) = ws.next().await {
        if (msg.is_text() || msg.is_binary()) && ws.send(msg).await.is_err() {
            return;
        }
    }
}

fn yaml(upstream: &str, route: &str) -> String {
    config(&format!(
        "routes:\n  - {{ name: ws, match: {{ path_prefix: / }}, pool: p{route} }}\n\
pools:\n  - {{ name: p, endpoints: [{}] }}\n",
        eps(&[("e1", upstream.to_string())])
    ))
}

pub(crate) async fn next_message(ws: &mut Client) -> Message {
    tokio::time::timeout(WAIT, ws.next())
        .await
        .expect("a message in time")
        .expect("the socket is open")
        .expect("a good frame")
}

/// Sends text and binary messages and expects each echoed back.
async fn exchange(ws: &mut Client, tag: &str) {
    for i in 0..4u8 {
        let text = Message::text(format!("{tag} text {i}"));
        ws.send(text.clone()).await.unwrap();
        assert_eq!(next_message(ws).await, text);
        let binary = Message::binary(vec![i; 16 + usize::from(i) * 1000]);
        ws.send(binary.clone()).await.unwrap();
        assert_eq!(next_message(ws).await, binary);
    }
}

async fn gauge_reaches(admin: SocketAddr, want: f64) {
    eventually(WAIT, || async {
        let text = metrics_text(admin).await;
        (metric(&text, GAUGE, &[("listener", "web")]) == want).then_some(())
    })
    .await;
}

#[tokio::test]
async fn websocket_echo_passes_both_ways_and_survives_a_reload() {
    let upstream = WsEcho::spawn(false).await;
    let proxy = start_proxy(&yaml(&upstream.url(), ", timeout: 5s")).await;
    let addr = proxy.listener_addr("web").unwrap();
    let admin = proxy.admin_addr();
    let text = metrics_text(admin).await;
    assert!(
        text.contains(&format!("{GAUGE}{{listener=\"web\"}} 0")),
        "{text}"
    );

    let (mut ws, resp) = tokio_tungstenite::connect_async(format!("ws://{addr}/chat"))
        .await
        .expect("handshake through the proxy");
    assert_eq!(resp.status(), 101);
    assert_eq!(resp.headers()["upgrade"], "websocket");
    // The upstream saw an upgrade request with the proxy's own headers.
    let head = upstream.last_head();
    assert_eq!(head["connection"], "upgrade");
    assert_eq!(head["upgrade"], "websocket");
    assert_eq!(head["x-forwarded-for"], "127.0.0.1");

    assert_eq!(next_message(&mut ws).await, Message::text(GREETING));
    exchange(&mut ws, "before").await;
    gauge_reaches(admin, 1.0).await;

    let report = reload(&proxy, &yaml(&upstream.url(), ", timeout: 7s")).await;
    assert_eq!(report.result, "success", "{:?}", report.errors);
    exchange(&mut ws, "after").await;
    let text = metrics_text(admin).await;
    assert_eq!(metric(&text, GAUGE, &[("listener", "web")]), 1.0);
    assert_eq!(metric(&text, "switchyard_config_generation", &[]), 2.0);

    ws.close(None).await.unwrap();
    // The upstream answers the close; then the stream ends.
    tokio::time::timeout(WAIT, async { while let Some(Ok(_)) = ws.next().await {} })
        .await
        .expect("the socket closes");
    gauge_reaches(admin, 0.0).await;
    let text = metrics_text(admin).await;
    assert_eq!(
        metric(
            &text,
            "switchyard_http_requests_total",
            &[("route", "ws"), ("code_class", "1xx")]
        ),
        1.0
    );
    assert!(proxy.shutdown_within(Duration::from_secs(1)).await);
}

/// An upgrade to an `https://` endpoint: the tunnel runs over the pool's
/// TLS connection (verified against the pool's CA), both ways.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websocket_to_an_https_upstream_passes_both_ways() {
    let ca = crate::tls::Ca::new("WS CA");
    let pair = ca.server(&["ws.internal"], "ws");
    let server = crate::upstream_tls::server_config(&pair, &[b"http/1.1"], None);
    let upstream = WsEcho::spawn_tls(server).await;
    let dir = tempfile::tempdir().unwrap();
    crate::tls::write_atomic(&dir.path().join("ca.pem"), &ca.pem());
    let yaml = config(&format!(
        "routes:\n  - {{ name: ws, pool: p }}\n\
pools:\n  - {{ name: p, tls: {{ ca: {}, server_name: ws.internal }}, endpoints: [{}] }}\n",
        dir.path().join("ca.pem").display(),
        eps(&[("e1", upstream.url())])
    ));
    let proxy = start_proxy(&yaml).await;
    let addr = proxy.listener_addr("web").unwrap();
    let (mut ws, resp) = tokio_tungstenite::connect_async(format!("ws://{addr}/chat"))
        .await
        .expect("handshake through the proxy");
    assert_eq!(resp.status(), 101);
    assert_eq!(upstream.last_head()["upgrade"], "websocket");
    assert_eq!(next_message(&mut ws).await, Message::text(GREETING));
    exchange(&mut ws, "over tls").await;
    gauge_reaches(proxy.admin_addr(), 1.0).await;
    ws.close(None).await.unwrap();
    tokio::time::timeout(WAIT, async { while let Some(Ok(_)) = ws.next().await {} })
        .await
        .expect("the socket closes");
    gauge_reaches(proxy.admin_addr(), 0.0).await;
    proxy.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn route_plugins_see_the_upgrade_request_but_not_the_101() {
    let upstream = WsEcho::spawn(false).await;
    let yaml = config(&format!(
        "plugins:\n{}routes:\n  - {{ name: ws, pool: p, plugins: [good] }}\n\
pools:\n  - {{ name: p, endpoints: [{}] }}\n",
        plugin("good", &fixture("good"), ""),
        eps(&[("e1", upstream.url())])
    ));
    let proxy = start_proxy(&yaml).await;
    let addr = proxy.listener_addr("web").unwrap();
    let (mut ws, resp) = tokio_tungstenite::connect_async(format!("ws://{addr}/chat"))
        .await
        .expect("handshake through the proxy");
    assert_eq!(upstream.last_head()["x-wat"], "1");
    assert_eq!(resp.status(), 101);
    assert!(resp.headers().get("x-wat-response").is_none(), "{resp:?}");
    assert_eq!(next_message(&mut ws).await, Message::text(GREETING));
    exchange(&mut ws, "plugged").await;
    drop(ws);
    gauge_reaches(proxy.admin_addr(), 0.0).await;
    assert!(proxy.shutdown_within(Duration::from_secs(1)).await);
}

#[tokio::test]
async fn upgrade_answered_without_101_is_a_normal_response() {
    let up = TestUpstream::spawn("plain").await;
    let proxy = start_proxy(&yaml(&up.url(), "")).await;
    let addr = proxy.listener_addr("web").unwrap();
    let upgrade_req = |path: &str| {
        Request::get(format!("http://{addr}{path}"))
            .header("connection", "keep-alive, Upgrade, x-hop")
            .header("upgrade", "example/1")
            .header("x-hop", "secret")
            .body(Full::new(Bytes::new()))
            .unwrap()
    };
    let r = send(upgrade_req("/headers")).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let seen: serde_json::Value = serde_json::from_str(&r.body).unwrap();
    let h = &seen["headers"];
    assert_eq!(h["upgrade"], "example/1", "{h}");
    assert_eq!(h["connection"], "upgrade", "{h}");
    assert!(h.get("x-hop").is_none(), "{h}");
    assert!(h.get("keep-alive").is_none(), "{h}");
    assert_eq!(r.header("upgrade"), None);

    let r = send(upgrade_req("/status/426")).await;
    assert_eq!(r.status, 426);
    assert_eq!(r.header("x-upstream"), Some("plain"));
    // Normal requests still go through the pool as before.
    let r = send(
        Request::get(format!("http://{addr}/"))
            .body(Full::new(Bytes::new()))
            .unwrap(),
    )
    .await;
    assert_eq!((r.status, r.body.as_str()), (200, "plain"));
    let text = metrics_text(proxy.admin_addr()).await;
    assert_eq!(metric(&text, GAUGE, &[("listener", "web")]), 0.0);
    proxy.shutdown_within(Duration::from_secs(1)).await;
}

#[tokio::test]
async fn refused_upgrades_get_the_upstream_answer_and_are_never_retried() {
    // The upstream refuses the handshake: its 403 reaches the client.
    let upstream = WsEcho::spawn(true).await;
    let proxy = start_proxy(&yaml(&upstream.url(), "")).await;
    let addr = proxy.listener_addr("web").unwrap();
    match tokio_tungstenite::connect_async(format!("ws://{addr}/chat")).await {
        Err(WsError::Http(resp)) => assert_eq!(resp.status(), 403),
        other => panic!("expected the upstream's 403, got {other:?}"),
    }
    proxy.shutdown_within(Duration::from_secs(1)).await;

    // Nothing listens: 502, after one attempt although the route retries.
    let dead = format!("http://{}", closed_port().await);
    let proxy = start_proxy(&yaml(&dead, ", retries: { attempts: 3 }")).await;
    let addr = proxy.listener_addr("web").unwrap();
    match tokio_tungstenite::connect_async(format!("ws://{addr}/chat")).await {
        Err(WsError::Http(resp)) => assert_eq!(resp.status(), 502),
        other => panic!("expected 502, got {other:?}"),
    }
    let text = metrics_text(proxy.admin_addr()).await;
    let connect_errors = metric(
        &text,
        "switchyard_upstream_requests_total",
        &[("pool", "p"), ("outcome", "connect_error")],
    );
    assert_eq!(connect_errors, 1.0, "{text}");
    assert_eq!(
        metric(&text, "switchyard_upstream_retries_total", &[("pool", "p")]),
        0.0
    );
    proxy.shutdown_within(Duration::from_secs(1)).await;
}

#[tokio::test]
async fn shutdown_closes_upgraded_connections_at_the_drain_deadline() {
    let upstream = WsEcho::spawn(false).await;
    let proxy = start_proxy(&yaml(&upstream.url(), "")).await;
    let addr = proxy.listener_addr("web").unwrap();
    let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/chat"))
        .await
        .expect("handshake through the proxy");
    assert_eq!(next_message(&mut ws).await, Message::text(GREETING));
    gauge_reaches(proxy.admin_addr(), 1.0).await;
    // The open socket holds the drain up until the grace period ends.
    let all_closed = proxy.shutdown_within(Duration::from_millis(300)).await;
    assert!(
        !all_closed,
        "an upgraded connection was open at the deadline"
    );
    let ended = tokio::time::timeout(WAIT, async {
        loop {
            match ws.next().await {
                Some(Ok(Message::Close(_))) | Some(Err(_)) | None => return,
                Some(Ok(_)) => {}
            }
        }
    })
    .await;
    assert!(ended.is_ok(), "the proxy closed the upgraded connection");
}
