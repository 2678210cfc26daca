//! One active health probe: a TCP connect, or an HTTP/1.1 `GET` whose
//! status must be expected. Each probe uses a fresh connection (as HAProxy
//! does), so a listener that stopped accepting is seen at once, and the
//! connection is driven inside the probe's own future: when the timeout
//! drops it, the socket closes with it and nothing lingers.

use http::{header, Request};
use http_body_util::Empty;
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use super::cell::ProbeTarget;
use super::machine::ProbeResult;
use crate::config::{CheckKind, HealthCheck};

/// Probes `target` as `hc` says, within `hc.timeout`.
pub async fn probe(target: &ProbeTarget, hc: &HealthCheck) -> ProbeResult {
    match tokio::time::timeout(hc.timeout, attempt(target, hc)).await {
        Ok(Ok(())) => ProbeResult::Success,
        Ok(Err(why)) => ProbeResult::Failure(why),
        Err(_) => ProbeResult::Timeout,
    }
}

async fn attempt(target: &ProbeTarget, hc: &HealthCheck) -> Result<(), String> {
    let stream = TcpStream::connect(&target.authority)
        .await
        .map_err(|e| format!("connect to {}: {e}", target.authority))?;
    if hc.kind == CheckKind::Tcp {
        return Ok(());
    }
    stream.set_nodelay(true).ok();
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| format!("handshake: {e}"))?;
    let request = Request::get(&target.path)
        .header(header::HOST, &target.host)
        .header(header::USER_AGENT, "switchyard-health-check")
        .header(header::CONNECTION, "close")
        .body(Empty::<Bytes>::new())
        .map_err(|e| format!("bad probe request: {e}"))?;
    let exchange = sender.send_request(request);
    tokio::pin!(conn);
    tokio::pin!(exchange);
    let response = tokio::select! {
        r = &mut exchange => r,
        c = &mut conn => match c {
            // With `Connection: close` the connection may finish right
            // after handing over the response: collect it.
            Ok(()) => exchange.await,
            Err(e) => return Err(format!("connection: {e}")),
        },
    }
    .map_err(|e| format!("request: {e}"))?;
    let status = response.status();
    if hc.expected.contains(status) {
        Ok(())
    } else {
        Err(format!("status {}", status.as_u16()))
    }
}
