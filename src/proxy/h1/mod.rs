//! The HTTP/1.1 fast path of a served connection: the common request read,
//! answered and written by the connection's own task with a small codec,
//! before (and instead of) hyper's server.
//!
//! Why: hyper's HTTP/1 server keeps an 8 KiB write buffer and an 8 KiB+
//! read buffer per connection, builds each response head through its
//! dispatcher's state machine, and wakes its task for each step; profiles
//! put that at a tenth of the proxy's user time per request. Here a
//! request head is parsed in place (values sliced out of the read buffer),
//! the response head and small bodies go out in one write, and an idle
//! connection holds a 1 KiB read buffer.
//!
//! Which requests: those `request::parse` calls `Fast` (HTTP/1.1, no
//! body, nothing that changes the connection). The first head that is not
//! goes to hyper with everything read after it (`Watched::leave_fast`), and hyper
//! serves the connection from then on: HTTP/2 (told by its preface),
//! request bodies, upgrades, `Expect`, HTTP/1.0, and every malformed or
//! oversized head, which hyper answers as it always has.
//!
//! Like hyper's server (without half-close): a client that closes its side
//! while its request is in flight ends the connection and the request; a
//! draining listener closes idle connections at once and busy ones after
//! their response (`connection: close`).

mod date;
mod request;
mod response;

use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::sync::Arc;
use std::task::Poll;

use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::sync::watch;

use super::activity::Activity;
use super::attempt::RouteTimer;
use super::drain_watch::Drained;
use super::handler::{self, ConnCtx};
use super::server::DrainState;
use request::Head;
use response::Writer;

/// The read buffer's size (nginx's `client_header_buffer_size` is 1 KiB;
/// a longer head grows it). A read is given at least a quarter of it.
const READ_SIZE: usize = 1024;
/// A write buffer that grew past this is not kept for the next response.
const KEEP_OUT: usize = 64 * 1024;

/// How the fast path left a connection.
pub(super) enum Outcome<S> {
    /// Done: dropping the stream closes it.
    Closed,
    /// hyper serves the rest: the stream, and the bytes read from it that
    /// were not served.
    Handoff(S, Bytes),
}

/// Serves requests on `io` until the connection closes or a request the
/// fast path does not serve arrives. `max_head`: the most bytes of a head
/// (hyper's read buffer limit), `max_headers` the most fields; a head over
/// either goes to hyper for its 431.
///
/// Not an `async fn`, whose future would keep `io` twice (as passed, and
/// as borrowed): this future is the connection's task's, for its whole
/// life, so every byte of it counts once per connection.
#[allow(clippy::manual_async_fn, reason = "an async fn keeps `io` twice")]
pub(super) fn serve<'a, S>(
    mut io: S,
    ctx: &'a Arc<ConnCtx>,
    activity: &'a Arc<Activity>,
    drain: &'a mut watch::Receiver<DrainState>,
    (max_head, max_headers): (usize, usize),
) -> impl Future<Output = Outcome<S>> + 'a
where
    S: AsyncRead + AsyncWrite + Unpin + 'a,
{
    async move {
        let mut buf = BytesMut::with_capacity(READ_SIZE);
        let mut out = BytesMut::new();
        let mut drained = Drained::new(drain);
        // One request at a time: the route timeout of each uses this timer.
        let mut timer = RouteTimer::default();
        loop {
            // A head: a draining listener closes a connection between requests.
            // The head's facts are read in the arm: a local borrowed in an
            // `async fn` keeps its room in the future for its whole scope.
            let (req, head_request, client_close) = loop {
                if !buf.is_empty() {
                    match request::parse(&mut buf, max_headers) {
                        Head::Fast(req, close) => {
                            let head = req.method() == http::Method::HEAD;
                            break (req, head, close);
                        }
                        Head::Partial if buf.len() < max_head => {}
                        Head::Partial | Head::Other => return Outcome::Handoff(io, buf.freeze()),
                    }
                }
                let more = poll_fn(|cx| {
                    if buf.is_empty() && Pin::new(&mut drained).poll(cx).is_ready() {
                        return Poll::Ready(false);
                    }
                    reserve(&mut buf);
                    tokio_util::io::poll_read_buf(Pin::new(&mut io), cx, &mut buf)
                        .map(|r| matches!(r, Ok(n) if n > 0))
                })
                .await;
                if !more {
                    return Outcome::Closed;
                }
            };
            let conn = activity.begin();
            // The client closing its side drops the request. The request's
            // future ends with this block, so the response's write below
            // shares its room in the connection's future.
            // The response is taken out whole (a local it were matched out of
            // would keep its room beside the write's).
            let resp = {
                let ctx = Arc::clone(ctx);
                let mut answer = std::pin::pin!(handler::handle(
                    req.map(|()| None),
                    ctx,
                    conn,
                    Some(&mut timer)
                ));
                let answered = poll_fn(|cx| {
                    let r = answer.as_mut().poll(cx);
                    unless_client_left(r, cx, &mut io, &mut buf, max_head)
                });
                match answered.await {
                    Some(Ok(resp)) => resp,
                    None => return Outcome::Closed,
                }
            };
            let (mut parts, mut body) = resp.into_parts();
            let close = client_close || drained.signalled();
            out.clear();
            let raw = body.take_raw_head();
            let framing = response::encode_head(
                &mut out,
                &mut parts,
                raw.as_deref(),
                &body,
                head_request,
                close,
            );
            if let Some(raw) = raw {
                crate::wire::recycle_raw(raw);
            }
            crate::wire::recycle(std::mem::take(&mut parts.headers));
            drop(parts);
            let mut writer = Writer::new(&mut out, framing);
            let written = poll_fn(|cx| {
                let r = writer.poll_write(cx, &mut io, &mut body);
                unless_client_left(r, cx, &mut io, &mut buf, max_head)
            })
            .await;
            // The end of the response: the request's metrics, log line and
            // in-flight count go with the body.
            drop(body);
            match written {
                Some(Ok(())) if !close => {}
                Some(Ok(())) => {
                    drop(io.shutdown().await);
                    return Outcome::Closed;
                }
                Some(Err(e)) => {
                    tracing::debug!(peer = %ctx.peer, error = %e, "Response not written whole; connection closed.");
                    return Outcome::Closed;
                }
                None => return Outcome::Closed,
            }
            if out.capacity() > KEEP_OUT {
                out = BytesMut::new();
            }
        }
    }
}

/// `step` (serving the request, or writing its response) while reading
/// what the client sends meanwhile (a pipelined request is kept for
/// later, up to `max_head` bytes): `Some` when the step is done, `None`
/// once the client has closed its side or the read failed.
fn unless_client_left<T, S: AsyncRead + Unpin>(
    step: Poll<T>,
    cx: &mut std::task::Context<'_>,
    io: &mut S,
    buf: &mut BytesMut,
    max_head: usize,
) -> Poll<Option<T>> {
    if let Poll::Ready(r) = step {
        return Poll::Ready(Some(r));
    }
    while buf.len() < max_head {
        reserve(buf);
        match tokio_util::io::poll_read_buf(Pin::new(&mut *io), cx, buf) {
            Poll::Ready(Ok(0) | Err(_)) => return Poll::Ready(None),
            Poll::Ready(Ok(_)) => {}
            Poll::Pending => break,
        }
    }
    Poll::Pending
}

/// Room for the next read.
fn reserve(buf: &mut BytesMut) {
    if buf.capacity() - buf.len() < READ_SIZE / 4 {
        buf.reserve(READ_SIZE);
    }
}
