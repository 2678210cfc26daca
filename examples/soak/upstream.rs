//! The soak upstream: HTTP/1.1 and h2c on one port, with upgrades.
//!
//! `/healthz` answers `ok`; `.../echo` streams the request body back;
//! `.../bytes/N` streams N pattern bytes with a `Content-Length`; a request
//! with `Upgrade: websocket` becomes a WebSocket that greets with the
//! upstream's id, then echoes every message; anything else gets a short
//! text naming the upstream. Every answer carries `x-upstream: ID`.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use http::header::{CONNECTION, CONTENT_LENGTH, SEC_WEBSOCKET_ACCEPT, SEC_WEBSOCKET_KEY, UPGRADE};
use http::{HeaderValue, Request, Response, StatusCode};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use tokio::net::TcpListener;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::Role;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

type Out = BoxBody<Bytes, hyper::Error>;

/// Serves until killed.
pub(crate) async fn run(listen: SocketAddr, id: String) -> anyhow::Result<()> {
    let listener = TcpListener::bind(listen).await?;
    let id: Arc<str> = id.into();
    eprintln!("soak upstream {id} listening on {listen}");
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(e) => {
                // EMFILE and friends: back off instead of spinning.
                eprintln!("accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        stream.set_nodelay(true).ok();
        let id = Arc::clone(&id);
        tokio::spawn(async move {
            let svc = service_fn(move |req| handle(req, Arc::clone(&id)));
            auto::Builder::new(TokioExecutor::new())
                .serve_connection_with_upgrades(TokioIo::new(stream), svc)
                .await
                .ok();
        });
    }
}

fn full(text: impl Into<Bytes>) -> Out {
    Full::new(text.into())
        .map_err(|never| match never {})
        .boxed()
}

async fn handle(req: Request<Incoming>, id: Arc<str>) -> Result<Response<Out>, Infallible> {
    let path = req.uri().path().to_string();
    let mut resp = if req.headers().contains_key(UPGRADE) {
        websocket(req, Arc::clone(&id))
    } else if path == "/healthz" {
        Response::new(full("ok\n"))
    } else if path.ends_with("/echo") {
        Response::new(req.into_body().boxed())
    } else if let Some(n) = path
        .rsplit_once("/bytes/")
        .and_then(|(_, n)| n.parse::<u64>().ok())
    {
        let mut r = Response::new(
            super::pattern::body(n)
                .map_err(|never| match never {})
                .boxed(),
        );
        r.headers_mut().insert(CONTENT_LENGTH, HeaderValue::from(n));
        r
    } else {
        Response::new(full(format!("{id} {path}\n")))
    };
    if let Ok(v) = HeaderValue::from_str(&id) {
        resp.headers_mut().insert("x-upstream", v);
    }
    Ok(resp)
}

/// Accepts a WebSocket upgrade and echoes on it.
fn websocket(mut req: Request<Incoming>, id: Arc<str>) -> Response<Out> {
    let Some(key) = req.headers().get(SEC_WEBSOCKET_KEY) else {
        let mut r = Response::new(full("not a websocket request\n"));
        *r.status_mut() = StatusCode::BAD_REQUEST;
        return r;
    };
    let accept = derive_accept_key(key.as_bytes());
    let upgrade = hyper::upgrade::on(&mut req);
    tokio::spawn(async move {
        let Ok(io) = upgrade.await else {
            return;
        };
        let mut ws = WebSocketStream::from_raw_socket(TokioIo::new(io), Role::Server, None).await;
        if ws.send(Message::text(id.to_string())).await.is_err() {
            return;
        }
        while let Some(Ok(msg)) = ws.next().await {
            let echo = matches!(msg, Message::Text(_) | Message::Binary(_));
            if echo && ws.send(msg).await.is_err() {
                return;
            }
        }
    });
    let mut r = Response::new(full(Bytes::new()));
    *r.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let h = r.headers_mut();
    h.insert(UPGRADE, HeaderValue::from_static("websocket"));
    h.insert(CONNECTION, HeaderValue::from_static("upgrade"));
    if let Ok(v) = HeaderValue::from_str(&accept) {
        h.insert(SEC_WEBSOCKET_ACCEPT, v);
    }
    r
}
