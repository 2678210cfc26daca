//! An inline HTTP/1.1 connection (a plain TCP stream and its read buffer),
//! the idle stack it waits on between exchanges, and `InlineBody`, the
//! response body that owns the connection while it streams.
//!
//! The body gives the connection back to its pool's idle stack the moment
//! it reaches its clean end (before or when it returns its last frame:
//! hyper's server stops polling a body that says it ended), if the
//! framing and `Connection` fields allow reuse and nothing unread is left
//! in the buffer. A body dropped before its end, or that failed, closes
//! the connection.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{ready, Context, Poll};

use bytes::{Bytes, BytesMut};
use http_body::{Body, Frame, SizeHint};
use tokio::net::TcpStream;

use super::codec::InlineError;
use super::decode::{Decoded, Decoder};
use crate::upstream::client::{coarse_now, Inner, MAX_IDLE};

/// How long a body failure waits before it is reported (see `fail`).
const FAILURE_GRACE: std::time::Duration = std::time::Duration::from_millis(20);

/// The read buffer's first size, and the least a read asks room for
/// (nginx's `proxy_buffer_size` is a page; a head with a small body fits
/// in half of one, and reads of a larger body grow it).
const READ_CHUNK: usize = 2048;
/// The most a read asks room for (a body streaming in fills reads fast).
const MAX_READ_CHUNK: usize = 64 * 1024;
/// The most room a read asks for the rest of a body of known length:
/// a 16 KiB body that has arrived whole takes one read, and a large one
/// that trickles in holds at most about this much per response (the
/// adaptive size grows past it for bodies that arrive fast).
const WANT_CHUNK: usize = 16 * 1024;
/// Idle connections of a pool that keep their read buffer.
const WARM_BUFFERS: usize = 64;
/// The largest read buffer an idle connection keeps: a response of 2–4
/// KiB grows the first one to 4 KiB, and keeps it for the next.
const WARM_MAX: usize = 4096;

/// An open connection and the bytes read from it but not yet used.
#[derive(Debug)]
pub(in crate::upstream) struct Conn {
    pub(in crate::upstream) stream: TcpStream,
    pub(in crate::upstream) buf: BytesMut,
    /// The room the next read asks for: doubled after a read that filled
    /// it, halved after one that used less than a quarter (as hyper's
    /// adaptive reads), between `READ_CHUNK` and `MAX_READ_CHUNK`. The
    /// rest of a body of known length is asked for whole (`poll_fill`).
    next: usize,
}

impl Conn {
    pub(in crate::upstream) fn new(stream: TcpStream) -> Self {
        Self {
            stream,
            buf: BytesMut::with_capacity(READ_CHUNK),
            next: READ_CHUNK,
        }
    }

    /// Reads more into the buffer; `Ok(0)` at end of stream. `want`: the
    /// bytes of a body of known length still to come. The read asks room
    /// for them (up to `WANT_CHUNK`, or the adaptive size where that is
    /// larger), so a body of up to 16 KiB that has arrived whole takes one
    /// read, where the adaptive size alone took two or three.
    pub(in crate::upstream) fn poll_fill(
        &mut self,
        cx: &mut Context<'_>,
        want: Option<u64>,
    ) -> Poll<io::Result<usize>> {
        let ask = match want {
            Some(n) => self
                .next
                .max(usize::try_from(n).map_or(WANT_CHUNK, |n| n.min(WANT_CHUNK))),
            None => self.next,
        };
        if self.buf.capacity() - self.buf.len() < ask / 4 {
            self.buf.reserve(ask);
        }
        let room = self.buf.capacity() - self.buf.len();
        // `poll_read_buf` goes through `AsyncRead`, which clears the
        // socket's readiness when a read leaves the buffer part empty (the
        // socket is drained): the next fill then waits for the reactor
        // instead of paying a `recv` that fails with EAGAIN, as `try_read`
        // would (one wasted syscall per response).
        let read = ready!(tokio_util::io::poll_read_buf(
            Pin::new(&mut self.stream),
            cx,
            &mut self.buf
        ));
        if let Ok(n) = read {
            if n >= room && n > 0 {
                self.next = (self.next * 2).min(MAX_READ_CHUNK);
            } else if n < self.next / 4 {
                self.next = (self.next / 2).max(READ_CHUNK);
            }
        }
        Poll::Ready(read)
    }

    /// Whether an idle connection still looks usable, without a syscall
    /// unless the socket turned readable: readable means the upstream
    /// closed it or sent something unasked, either way it is done.
    fn still_open(&self) -> bool {
        let mut cx = Context::from_waker(std::task::Waker::noop());
        match self.stream.poll_read_ready(&mut cx) {
            Poll::Pending => true,
            Poll::Ready(Err(_)) => false,
            Poll::Ready(Ok(())) => {
                let mut probe = [0u8; 1];
                matches!(self.stream.try_read(&mut probe), Err(e) if e.kind() == io::ErrorKind::WouldBlock)
            }
        }
    }
}

#[derive(Debug)]
struct Idle {
    conn: Conn,
    /// `coarse_now()` when it went idle.
    since: u64,
}

/// A pool's idle inline connections, most recently used last.
#[derive(Debug, Default)]
pub(in crate::upstream) struct IdleStack(Mutex<Vec<Idle>>);

impl IdleStack {
    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Idle>> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The warmest usable connection, if any (older or closed ones found on
    /// the way are dropped).
    pub(in crate::upstream) fn checkout(&self, limit: std::time::Duration) -> Option<Conn> {
        let mut idle = self.lock();
        while let Some(c) = idle.pop() {
            if !expired(c.since, limit) && c.conn.still_open() {
                return Some(c.conn);
            }
        }
        None
    }

    /// Keeps `conn` for reuse (unless pooling is off or the stack is full).
    pub(in crate::upstream) fn put(&self, mut conn: Conn, limit: std::time::Duration) {
        if limit.is_zero() || !conn.buf.is_empty() {
            return;
        }
        let mut idle = self.lock();
        // The warmest connections keep a small buffer (the next request
        // reuses it, without an allocation); the rest of a large idle pool
        // keeps none (as nginx frees an idle keep-alive connection's), so
        // hundreds of idle sockets do not hold 2–4 KiB each. A buffer grown
        // for a large body is always let go.
        if idle.len() >= WARM_BUFFERS || conn.buf.capacity() > WARM_MAX {
            conn.buf = BytesMut::new();
        }
        if idle.len() < MAX_IDLE {
            idle.push(Idle {
                conn,
                since: coarse_now(),
            });
        }
    }

    /// Drops connections idle for `limit` or closed.
    pub(in crate::upstream) fn prune(&self, limit: std::time::Duration) {
        self.lock()
            .retain(|c| !expired(c.since, limit) && c.conn.still_open());
    }
}

fn expired(since: u64, limit: std::time::Duration) -> bool {
    coarse_now().saturating_sub(since) >= limit.as_secs().max(1)
}

/// A response body read inline from its connection.
#[derive(Debug)]
pub struct InlineBody {
    /// The connection until the body ends or fails.
    conn: Option<Conn>,
    decoder: Decoder,
    /// The pool it goes back to, when its framing allows reuse.
    pool: Option<Arc<Inner>>,
    /// The most bytes of a trailer section.
    limit: usize,
    /// The upstream closed the connection.
    eof: bool,
    /// A frame decoded ahead (to see the end before returning the last).
    next: Option<Result<Frame<Bytes>, InlineError>>,
    /// The body ended cleanly.
    ended: bool,
    /// The wait before a failure is reported (see `fail`).
    held: Option<Pin<Box<tokio::time::Sleep>>>,
    /// The head's fields as they arrived, when kept raw, until the
    /// client's writer takes them.
    raw: Option<Box<crate::wire::RawHead>>,
}

impl InlineBody {
    /// The body of a response read from `conn`; `pool`: where the
    /// connection goes back at the end, when it may be reused.
    pub(in crate::upstream) fn new(
        conn: Conn,
        decoder: Decoder,
        pool: Option<Arc<Inner>>,
        limit: usize,
        raw: Option<Box<crate::wire::RawHead>>,
    ) -> Self {
        let mut body = Self {
            conn: Some(conn),
            decoder,
            pool,
            limit,
            eof: false,
            next: None,
            ended: false,
            held: None,
            raw,
        };
        if body.decoder.is_done() {
            body.finish();
        }
        body
    }

    /// The head's fields, when they were kept raw (taken: asked once).
    pub(crate) fn take_raw_head(&mut self) -> Option<Box<crate::wire::RawHead>> {
        self.raw.take()
    }

    /// The clean end: the connection goes back to its pool, if reusable.
    fn finish(&mut self) {
        self.ended = true;
        let conn = self.conn.take();
        if let (Some(conn), Some(pool)) = (conn, self.pool.take()) {
            pool.inline.put(conn, pool.settings.idle_timeout);
        }
    }

    /// Reports a failure, but only `FAILURE_GRACE` after it was found
    /// (returning `Pending` meanwhile): the tasks that send this body on
    /// (hyper's HTTP/1 connection; for HTTP/2, the stream's and the
    /// connection's) then flush what they already have (the head, data so
    /// far) before the error aborts the client's response or resets its
    /// stream, which would discard them. hyper's client, delivering the
    /// failure from another task, gave them that time by accident.
    fn fail(
        &mut self,
        e: InlineError,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, InlineError>>> {
        self.conn = None;
        let wait = self
            .held
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(FAILURE_GRACE)));
        if wait.as_mut().poll(cx).is_ready() {
            return Poll::Ready(Some(Err(e)));
        }
        self.next = Some(Err(e));
        Poll::Pending
    }

    /// After a data frame: decodes what is already buffered, to find the
    /// body's end (then release the connection) before the frame goes out.
    fn look_ahead(&mut self) {
        if self.decoder.is_done() {
            self.finish();
            return;
        }
        let Some(conn) = self.conn.as_mut() else {
            return;
        };
        match self.decoder.decode(&mut conn.buf, self.eof, self.limit) {
            Ok(Decoded::More) => {}
            Ok(Decoded::End) => self.finish(),
            Ok(Decoded::Data(d)) => self.next = Some(Ok(Frame::data(d))),
            Ok(Decoded::Trailers(t)) => {
                self.next = Some(Ok(Frame::trailers(t)));
                self.finish();
            }
            Err(e) => {
                self.conn = None;
                self.next = Some(Err(e));
            }
        }
    }
}

impl Body for InlineBody {
    type Data = Bytes;
    type Error = InlineError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, InlineError>>> {
        let this = self.get_mut();
        match this.next.take() {
            Some(Err(e)) => return this.fail(e, cx),
            Some(Ok(frame)) => {
                if frame.is_data() {
                    this.look_ahead();
                }
                return Poll::Ready(Some(Ok(frame)));
            }
            None => {}
        }
        // Bounded: each turn returns or reads more bytes (or sees EOF,
        // after which `decode` returns).
        loop {
            let Some(conn) = this.conn.as_mut() else {
                return Poll::Ready(None);
            };
            match this.decoder.decode(&mut conn.buf, this.eof, this.limit) {
                Err(e) => return this.fail(e, cx),
                Ok(Decoded::End) => {
                    this.finish();
                    return Poll::Ready(None);
                }
                Ok(Decoded::Data(d)) => {
                    this.look_ahead();
                    return Poll::Ready(Some(Ok(Frame::data(d))));
                }
                Ok(Decoded::Trailers(t)) => {
                    this.finish();
                    return Poll::Ready(Some(Ok(Frame::trailers(t))));
                }
                Ok(Decoded::More) => match ready!(conn.poll_fill(cx, this.decoder.remaining())) {
                    Ok(0) => this.eof = true,
                    Ok(_) => {}
                    Err(e) => return this.fail(InlineError::Io(e), cx),
                },
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.ended && self.next.is_none()
    }

    fn size_hint(&self) -> SizeHint {
        let ahead = match &self.next {
            Some(Ok(f)) => f.data_ref().map_or(0, |d| d.len() as u64),
            _ => 0,
        };
        match self.decoder.remaining() {
            Some(n) if self.conn.is_some() || self.ended => SizeHint::with_exact(n + ahead),
            _ => {
                let mut hint = SizeHint::new();
                hint.set_lower(ahead);
                hint
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncWriteExt;

    /// A connection whose upstream has sent `bytes` (on loopback they
    /// are in the receive queue once the write returns), and that
    /// upstream's side, kept open.
    async fn sent(bytes: &[u8]) -> (Conn, TcpStream) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let (mut server, _) = listener.accept().await.unwrap();
        server.write_all(bytes).await.unwrap();
        (Conn::new(client), server)
    }

    /// One fill: the bytes it read.
    async fn fill(conn: &mut Conn, want: Option<u64>) -> usize {
        std::future::poll_fn(|cx| conn.poll_fill(cx, want))
            .await
            .unwrap()
    }

    /// A response of 16 KiB that has arrived whole: the head's read takes
    /// the first `READ_CHUNK` bytes, and one more read takes the rest of
    /// the body when its length is given (the adaptive size alone would
    /// ask for 4 KiB, then 8).
    #[tokio::test]
    async fn the_rest_of_a_known_length_body_takes_one_read() {
        let head = b"HTTP/1.1 200 OK\r\ncontent-length: 16384\r\n\r\n";
        let mut response = head.to_vec();
        response.resize(head.len() + 16384, b'x');
        let (mut conn, _upstream) = sent(&response).await;
        let first = fill(&mut conn, None).await;
        assert_eq!(first, READ_CHUNK);
        let rest = (response.len() - first) as u64;
        let second = fill(&mut conn, Some(rest)).await;
        assert_eq!(second as u64, rest);
        assert_eq!(&conn.buf[..], &response[..]);
    }

    /// Without a length the adaptive size is asked for, as before.
    #[tokio::test]
    async fn without_a_length_the_adaptive_size_is_asked_for() {
        let (mut conn, _upstream) = sent(&[b'x'; 16384]).await;
        let first = fill(&mut conn, None).await;
        assert_eq!(first, READ_CHUNK);
        let second = fill(&mut conn, None).await;
        assert!(second <= 2 * READ_CHUNK + READ_CHUNK / 2, "{second}");
        assert!(second < 16384 - READ_CHUNK);
    }
}
