//! One active health probe: a TCP connect, or a `GET` whose status must be
//! expected, over TLS for `https://` endpoints and in the pool's HTTP
//! version (HTTP/1.1, or HTTP/2 by ALPN or prior knowledge). Each probe
//! uses a fresh connection (as HAProxy does), so a listener that stopped
//! accepting is seen at once, and the connection is driven inside the
//! probe's own future: when the timeout drops it, the socket closes with
//! it and nothing lingers.

use std::future::Future;

use http::{header, Request, Response};
use http_body_util::Empty;
use hyper::body::{Bytes, Incoming};
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpStream;

use super::cell::ProbeTarget;
use super::machine::ProbeResult;
use crate::config::{CheckKind, HealthCheck, Protocol};
use crate::upstream::Security;

/// Probes `target` as `hc` says, within `hc.timeout`.
pub async fn probe(target: &ProbeTarget, hc: &HealthCheck) -> ProbeResult {
    match tokio::time::timeout(hc.timeout, attempt(target, hc)).await {
        Ok(Ok(())) => ProbeResult::Success,
        Ok(Err(why)) => ProbeResult::Failure(why),
        Err(_) => ProbeResult::Timeout,
    }
}

async fn attempt(target: &ProbeTarget, hc: &HealthCheck) -> Result<(), String> {
    let address = &target.dial.address;
    if hc.kind == CheckKind::Tcp {
        TcpStream::connect(address)
            .await
            .map_err(|e| format!("connect to {address}: {e}"))?;
        return Ok(());
    }
    let io = target
        .dial
        .connect(target.protocol, hc.timeout)
        .await
        .map_err(|e| e.to_string())?;
    let io = TokioIo::new(io);
    let mut request = Request::get(&target.path)
        .header(header::USER_AGENT, "switchyard-health-check")
        .body(Empty::<Bytes>::new())
        .map_err(|e| format!("bad probe request: {e}"))?;
    let response = match target.protocol {
        Protocol::Http1 => {
            let headers = request.headers_mut();
            let host = header::HeaderValue::from_str(&target.host)
                .map_err(|e| format!("bad probe Host: {e}"))?;
            headers.insert(header::HOST, host);
            headers.insert(
                header::CONNECTION,
                header::HeaderValue::from_static("close"),
            );
            let (mut sender, conn) = hyper::client::conn::http1::handshake(io)
                .await
                .map_err(|e| format!("handshake: {e}"))?;
            exchange(sender.send_request(request), conn).await?
        }
        Protocol::Http2 => {
            let scheme = match target.dial.security {
                Security::Plain => "http",
                Security::Tls(_) | Security::Unusable(_) => "https",
            };
            *request.uri_mut() = format!("{scheme}://{}{}", target.host, target.path)
                .parse()
                .map_err(|e| format!("bad probe URI: {e}"))?;
            let (mut sender, conn) =
                hyper::client::conn::http2::handshake(TokioExecutor::new(), io)
                    .await
                    .map_err(|e| format!("handshake: {e}"))?;
            exchange(sender.send_request(request), conn).await?
        }
    };
    let status = response.status();
    if hc.expected.contains(status) {
        Ok(())
    } else {
        Err(format!("status {}", status.as_u16()))
    }
}

/// Drives `conn` while waiting for the response to `request`.
async fn exchange<C, E>(
    request: impl Future<Output = hyper::Result<Response<Incoming>>>,
    conn: C,
) -> Result<Response<Incoming>, String>
where
    C: Future<Output = Result<(), E>>,
    E: std::fmt::Display,
{
    tokio::pin!(conn);
    tokio::pin!(request);
    tokio::select! {
        r = &mut request => r,
        c = &mut conn => match c {
            // With `Connection: close` the connection may finish right
            // after handing over the response: collect it.
            Ok(()) => request.await,
            Err(e) => return Err(format!("connection: {e}")),
        },
    }
    .map_err(|e| format!("request: {e}"))
}
