//! The inline HTTP/1.1 exchange: the fast path of a `protocol: http1` pool
//! for the common request, performed on the calling task with our own
//! small codec instead of hyper's client connection.
//!
//! Why: hyper's client runs each connection as a task of its own; every
//! request crosses a channel into it, the response comes back through a
//! oneshot and the body through another channel, with a cross-task wake-up
//! each way, and each connection holds 8 KiB+ buffers and a channel block.
//! Here the request head is written in one write, the response head parsed
//! in place (values sliced out of the read buffer, no copy) and the body
//! read by the task that sends it on; an idle connection is a socket and
//! a small buffer.
//!
//! Which requests: plain TCP endpoints (TLS keeps hyper), requests whose
//! body is empty, no `Transfer-Encoding`, not CONNECT (upgrades never come
//! here: `send_upgrade`). The rest goes through hyper's client.
//!
//! Stale connections: a write that fails on a reused connection, or a
//! reused connection that ends (EOF, reset) before a byte of the response
//! arrives when the method is idempotent (as nginx does), is retried on
//! another connection, up to `MAX_STALE_RETRIES`. Timeouts are the
//! caller's: dropping the exchange drops its connection.

mod codec;
mod conn;
mod decode;

use std::sync::Arc;

use http::{header, Method, Request, Response};
use http_body::Body as _;
use tokio::io::AsyncWriteExt;

pub use codec::InlineError;
pub(in crate::upstream) use conn::IdleStack;
pub use conn::InlineBody;

use codec::{Head, Parsed};
use conn::Conn;
use decode::Decoder;

use super::client::{
    Added, Inner, Lease, SendFailure, UpstreamBody, UpstreamError, MAX_STALE_RETRIES,
};
use super::connect::{Io, Security};
use super::response::ResponseStream;
use crate::config::Protocol;

/// A head buffer past this size is not kept for the next request.
const SPARE_HEAD_MAX: usize = 4096;
/// Spare head buffers kept per thread: one per request in flight on it
/// (a buffer is held until the response head arrives), up to this many.
const SPARE_HEADS: usize = 32;

thread_local! {
    /// Request head buffers kept for the thread's next requests.
    static SPARE_HEADS_STOCK: std::cell::RefCell<Vec<Vec<u8>>> =
        const { std::cell::RefCell::new(Vec::new()) };
}

/// A request head buffer: a spare one when there is one.
fn spare_head() -> Vec<u8> {
    crate::wire::take(&SPARE_HEADS_STOCK).unwrap_or_else(|| Vec::with_capacity(256))
}

/// Keeps `head` (emptied) for a later request, unless it is large or the
/// stock is full.
fn keep_head(mut head: Vec<u8>) {
    if head.capacity() > SPARE_HEAD_MAX {
        return;
    }
    head.clear();
    crate::wire::keep(&SPARE_HEADS_STOCK, head, SPARE_HEADS);
}

/// Whether `req` to the endpoint of `inner` takes the inline path.
pub(super) fn eligible(inner: &Inner, req: &Request<UpstreamBody>) -> bool {
    matches!(inner.dial.security, Security::Plain)
        && req.body().is_end_stream()
        && req.method() != Method::CONNECT
        && !req.headers().contains_key(header::TRANSFER_ENCODING)
}

/// Why reading a response head failed, and whether any of it arrived.
struct HeadFailure {
    error: InlineError,
    got_bytes: bool,
}

/// Sends `req` (empty body) with the fields `added` after its own, and
/// reads the response head inline; `raw`: keep its fields raw where the
/// head allows (`HeadFields::Raw`).
///
/// Not an `async fn`: the request is written into its head buffer here,
/// before the exchange starts, and dropped (its map kept for another
/// request), so the exchange's future holds the head's bytes and a few
/// facts instead of the request, beside every request in flight.
pub(super) fn send<'a>(
    pool: &'a Arc<Inner>,
    req: Request<UpstreamBody>,
    raw: bool,
    added: Added<'_>,
) -> impl std::future::Future<Output = Result<(Response<ResponseStream>, Lease), SendFailure>> + Send + 'a
{
    let (parts, body) = req.into_parts();
    // A spare head buffer, given back once the response head is in (one
    // allocation per request fewer).
    let mut head = spare_head();
    codec::encode_request(&parts, &added, &mut head);
    let facts = Facts {
        is_head: parts.method == Method::HEAD,
        idempotent: crate::wire::is_idempotent(&parts.method),
        raw,
    };
    // The fields are written: the map can serve another request. The
    // body is empty (`eligible`), so a request that is never sent gives
    // back an empty one.
    crate::wire::recycle(parts.headers);
    drop(body);
    exchange(pool, head, facts)
}

/// What the exchange needs to know of its request.
#[derive(Clone, Copy)]
struct Facts {
    is_head: bool,
    /// A reused connection that ends before the response may be retried.
    idempotent: bool,
    raw: bool,
}

/// A request never sent: its (empty) body, for a retry.
fn unsent() -> Option<Box<UpstreamBody>> {
    Some(Box::new(UpstreamBody::Full {
        data: None,
        trailers: None,
    }))
}

/// Writes `head` on a pooled (or new) connection and reads the response
/// head.
async fn exchange(
    pool: &Arc<Inner>,
    head: Vec<u8>,
    facts: Facts,
) -> Result<(Response<ResponseStream>, Lease), SendFailure> {
    let settings = pool.settings;
    let limit = settings.max_header_bytes;
    let mut stale = 0;
    // Bounded: each reuse counts toward MAX_STALE_RETRIES; a fresh
    // connection returns.
    loop {
        let reused = if stale < MAX_STALE_RETRIES {
            pool.inline.checkout(settings.idle_timeout)
        } else {
            None
        };
        let is_reused = reused.is_some();
        let mut conn = match reused {
            Some(c) => c,
            // Boxed: the dial state is large and rarely needed.
            None => match Box::pin(connect(pool)).await {
                Ok(c) => c,
                Err(error) => {
                    return Err(SendFailure {
                        error,
                        unsent: unsent(),
                    })
                }
            },
        };
        if let Err(e) = conn.stream.write_all(&head).await {
            if is_reused {
                stale += 1;
                continue;
            }
            // The head did not go out whole: the upstream cannot act on it.
            return Err(SendFailure {
                error: UpstreamError::inline(InlineError::Io(e), limit),
                unsent: unsent(),
            });
        }
        match read_head(&mut conn, limit, facts.is_head, facts.raw).await {
            Ok(Head {
                response,
                framing,
                reusable,
                raw,
            }) => {
                keep_head(head);
                let reuse = reusable.then(|| Arc::clone(pool));
                let body = InlineBody::new(conn, Decoder::new(framing), reuse, limit, raw);
                let response = response.map(|()| ResponseStream::Inline(Box::new(body)));
                return Ok((response, Lease::inline()));
            }
            Err(f) if is_reused && facts.idempotent && !f.got_bytes && is_closed(&f.error) => {
                stale += 1;
            }
            Err(f) => {
                return Err(SendFailure {
                    error: UpstreamError::inline(f.error, limit),
                    unsent: None,
                })
            }
        }
    }
}

/// The connection ended: closed or reset by the upstream.
fn is_closed(e: &InlineError) -> bool {
    match e {
        InlineError::Eof => true,
        InlineError::Io(e) => matches!(
            e.kind(),
            std::io::ErrorKind::ConnectionReset
                | std::io::ErrorKind::ConnectionAborted
                | std::io::ErrorKind::BrokenPipe
        ),
        _ => false,
    }
}

/// Reads until a final response head, skipping interim (1xx) ones.
async fn read_head(
    conn: &mut Conn,
    limit: usize,
    is_head: bool,
    raw: bool,
) -> Result<Head, HeadFailure> {
    let mut got_bytes = false;
    let fail = |error, got_bytes| HeadFailure { error, got_bytes };
    // Bounded: each turn consumes a head or reads more bytes; the buffer
    // is capped by the head limit and a closed connection returns.
    loop {
        if !conn.buf.is_empty() {
            match codec::parse_head(&mut conn.buf, limit, is_head, raw) {
                Ok(Parsed::Final(head)) => return Ok(head),
                Ok(Parsed::Interim) => continue,
                Ok(Parsed::Partial) => {}
                Err(e) => return Err(fail(e, got_bytes)),
            }
        }
        match std::future::poll_fn(|cx| conn.poll_fill(cx, None)).await {
            Ok(0) => return Err(fail(InlineError::Eof, got_bytes)),
            Ok(_) => got_bytes = true,
            Err(e) => return Err(fail(InlineError::Io(e), got_bytes)),
        }
    }
}

async fn connect(pool: &Inner) -> Result<Conn, UpstreamError> {
    match pool
        .dial
        .connect(Protocol::Http1, pool.settings.connect_timeout)
        .await?
    {
        Io::Plain(stream) => Ok(Conn::new(stream)),
        Io::Tls(_) => Err(UpstreamError::Connect {
            authority: pool.dial.address.clone(),
            source: std::io::Error::other("unexpected TLS stream on a plain endpoint"),
        }),
    }
}
