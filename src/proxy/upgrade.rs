//! Upgraded connections (WebSocket and any other HTTP/1.1 `Upgrade`): once
//! the upstream answered 101, the client gets that 101 and a tunnel task
//! copies bytes both ways until either side closes.
//!
//! Owns: the tunnel and the `switchyard_upgraded_connections` gauge it
//! holds up while it runs. Must not: hold anything of a `Dataplane`
//! generation, so that a reload never closes a tunnel. Only the listener's
//! drain ends one, when its grace period is over (`DrainState::Expired`):
//! hyper's graceful shutdown no longer sees a connection once it is
//! upgraded, and an upgraded protocol has no generic way to ask the peers
//! to finish, so a tunnel gets the whole grace period and is then closed.

use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use http::Response;
use hyper::upgrade::{OnUpgrade, Upgraded};
use hyper_util::rt::TokioIo;
use prometheus::IntGauge;
use tokio::io::AsyncWriteExt;
use tokio::sync::watch;

use super::body::{Completion, ResponseBody};
use super::forward;
use super::handler::ConnCtx;
use super::server::DrainState;
use crate::routing::Route;
use crate::upstream::{Lease, ResponseStream};

/// Answers the client with the upstream's 101 (`response`, head only) and
/// starts the tunnel between the two upgraded connections. `client` is the
/// client request's upgrade, taken before the request was consumed;
/// `lease`, the dedicated upstream connection, is held until its IO is
/// handed over. The completion records the 101 at once (and ends the
/// request's plugin contexts and in-flight count); the tunnel outlives the
/// request.
pub(super) fn switch(
    ctx: &ConnCtx,
    client: OnUpgrade,
    (mut response, lease): (Response<ResponseStream>, Lease),
    route: &Route,
    completion: Completion,
) -> Response<ResponseBody> {
    let upstream = hyper::upgrade::on(&mut response);
    let (mut parts, _empty) = response.into_parts();
    forward::prepare_response(&mut parts, route);
    let tunnel = Tunnel {
        open: Open::new(ctx.upgraded.clone()),
        drain: ctx.drain.subscribe(),
        listener: Arc::clone(&ctx.listener),
        peer: ctx.peer,
    };
    tokio::spawn(tunnel.run(client, upstream, lease));
    Response::from_parts(parts, ResponseBody::full(Bytes::new(), Some(completion)))
}

/// Counts one upgraded connection while it lives.
#[derive(Debug)]
struct Open(IntGauge);

impl Open {
    fn new(gauge: IntGauge) -> Self {
        gauge.inc();
        Self(gauge)
    }
}

impl Drop for Open {
    fn drop(&mut self) {
        self.0.dec();
    }
}

/// What a tunnel holds: its gauge, the listener's drain signal and the
/// names it logs with. Nothing of the config generation.
#[derive(Debug)]
struct Tunnel {
    open: Open,
    drain: watch::Receiver<DrainState>,
    listener: Arc<str>,
    peer: SocketAddr,
}

impl Tunnel {
    /// Waits for both upgrades, then copies both ways until either side
    /// closes or fails, or the drain deadline.
    async fn run(self, client: OnUpgrade, upstream: OnUpgrade, lease: Lease) {
        let Self {
            open,
            mut drain,
            listener,
            peer,
        } = self;
        let copy = async {
            let upgraded = tokio::try_join!(client, upstream);
            drop(lease);
            let (client, upstream) = match upgraded {
                Ok(both) => both,
                Err(e) => {
                    tracing::debug!(%listener, %peer, error = %e, "Upgrade failed.");
                    return;
                }
            };
            let ended = copy_until_either_ends(client, upstream).await;
            tracing::debug!(%listener, %peer, ended, "Upgraded connection closed.");
        };
        tokio::select! {
            () = copy => {}
            () = expired(&mut drain) => {
                tracing::info!(%listener, %peer, "Drain deadline reached: closing an upgraded connection.");
            }
        }
        drop(open);
    }
}

/// Copies bytes both ways until either direction ends (end of stream or
/// an error); the end is passed on (a shutdown of the other side's write
/// half), then both connections close. Returns the side that ended it.
///
/// Not `copy_bidirectional`: that waits for both directions, and a client
/// that keeps its socket open after the upstream closed (a WebSocket
/// client waits for the server to close first, and some never close)
/// would hold the tunnel open for good.
async fn copy_until_either_ends(client: Upgraded, upstream: Upgraded) -> &'static str {
    let (mut client_rx, mut client_tx) = tokio::io::split(TokioIo::new(client));
    let (mut upstream_rx, mut upstream_tx) = tokio::io::split(TokioIo::new(upstream));
    // An error ends its direction like an end of stream does.
    let up = async {
        tokio::io::copy(&mut client_rx, &mut upstream_tx).await.ok();
        upstream_tx.shutdown().await.ok();
    };
    let down = async {
        tokio::io::copy(&mut upstream_rx, &mut client_tx).await.ok();
        client_tx.shutdown().await.ok();
    };
    tokio::select! {
        () = up => "client",
        () = down => "upstream",
    }
}

/// Resolves when the listener's drain grace period is over.
async fn expired(drain: &mut watch::Receiver<DrainState>) {
    if drain.wait_for(|s| *s == DrainState::Expired).await.is_err() {
        // The listener went away without a drain: nothing will ever ask
        // this tunnel to close.
        std::future::pending::<()>().await;
    }
}
