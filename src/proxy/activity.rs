//! Per-connection timeouts: the time a client has to send a request head
//! (`header_read_timeout`, against slowloris) and the time a connection
//! may sit with no request in flight (`idle_timeout`, keep-alive), and the
//! check that an HTTP/1 request head uses CRLF line ends.
//!
//! hyper's own `header_read_timeout` is one timer for both (it starts when
//! a connection goes idle), so it is off and this module keeps them apart:
//!
//! - `Activity` is the connection's state, shared by the reading side
//!   (`Watched`, wrapped around the socket), the service (`Activity::begin`
//!   when a request head has been parsed; the returned guard is dropped
//!   with the response body) and the deadline (`Deadline`).
//! - A connection starts in `Head` (the first head is due
//!   `header_read_timeout` after the accept). With no request in flight it
//!   is `Idle` until its next byte arrives, which starts the next `Head`.
//!   HTTP/2 connections (told by their preface) never enter `Head`: their
//!   frames arrive whatever the requests do, so they only have the idle
//!   timeout, counted in streams.
//! - `Deadline` is polled after the connection in the same task, so it sees
//!   a state change at once; it re-arms its timer only when a deadline moves
//!   earlier, or when it fires early (lazily, as most requests move it
//!   later), so a keep-alive request costs no timer operation.
//!
//! Bare LF: httparse takes a lone `\n` as a line end (RFC 9112 §2.2 allows
//! it), but a proxy that forwards what another parser reads differently is
//! how smuggling starts. `Watched` scans the bytes of a head that arrive
//! in the read that starts it and after, up to the blank line that ends it;
//! a lone `\n` there fails the read, and the connection closes (with a 400
//! written first when no response has started, see `server`).

use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::time::Instant;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// Waiting for the bytes of a request head.
const HEAD: u8 = 0;
/// Nothing in flight, nothing arriving.
const IDLE: u8 = 1;

/// Which timeout ended a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Expired {
    /// A request head did not arrive whole in time.
    Head,
    /// No request for the idle timeout.
    Idle,
}

/// What one connection is doing, for its timeouts.
#[derive(Debug)]
pub(super) struct Activity {
    /// When the connection was accepted; times below are nanoseconds since.
    base: Instant,
    /// `HEAD` or `IDLE` (meaningful while nothing is in flight).
    phase: AtomicU8,
    /// Since when (nanoseconds after `base`) the phase holds.
    since: AtomicU64,
    /// Requests whose responses have not ended.
    in_flight: AtomicUsize,
    /// The connection speaks HTTP/2 (no head timeout).
    h2: AtomicBool,
}

impl Activity {
    /// A connection accepted now, waiting for its first head.
    pub(super) fn new() -> Arc<Self> {
        Arc::new(Self {
            base: Instant::now(),
            phase: AtomicU8::new(HEAD),
            since: AtomicU64::new(0),
            in_flight: AtomicUsize::new(0),
            h2: AtomicBool::new(false),
        })
    }

    fn now(&self) -> u64 {
        u64::try_from(self.base.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }

    /// A request head was parsed: the connection is busy until the guard
    /// (kept by the response body) is dropped.
    pub(super) fn begin(self: &Arc<Self>) -> InFlight {
        self.in_flight.fetch_add(1, Ordering::AcqRel);
        InFlight(Arc::clone(self))
    }

    /// Bytes arrived while no request is in flight: a head has started.
    /// Returns whether this read starts one.
    fn bytes_arrived(&self) -> bool {
        if self.in_flight.load(Ordering::Acquire) != 0
            || self.h2.load(Ordering::Relaxed)
            || self.phase.load(Ordering::Acquire) != IDLE
        {
            return false;
        }
        self.since.store(self.now(), Ordering::Release);
        self.phase.store(HEAD, Ordering::Release);
        true
    }

    /// When the connection's current wait ends (`None` while busy), and
    /// which timeout it is.
    fn deadline(&self, head: Duration, idle: Duration) -> Option<(Instant, Expired)> {
        if self.in_flight.load(Ordering::Acquire) != 0 {
            return None;
        }
        let phase = self.phase.load(Ordering::Acquire);
        let since = self.base + Duration::from_nanos(self.since.load(Ordering::Acquire));
        if phase == HEAD && !self.h2.load(Ordering::Relaxed) {
            Some((since + head, Expired::Head))
        } else {
            Some((since + idle, Expired::Idle))
        }
    }
}

/// A request in flight on its connection; dropped when the response body
/// ends (or is dropped).
#[derive(Debug)]
pub(super) struct InFlight(Arc<Activity>);

impl Drop for InFlight {
    fn drop(&mut self) {
        let a = &self.0;
        if a.in_flight.fetch_sub(1, Ordering::AcqRel) == 1 {
            a.since.store(a.now(), Ordering::Release);
            a.phase.store(IDLE, Ordering::Release);
        }
    }
}

/// Resolves when the connection's head or idle timeout runs out. Poll it
/// after the connection, in the same task (`select!` with `biased`).
#[derive(Debug)]
pub(super) struct Deadline {
    activity: Arc<Activity>,
    head: Duration,
    idle: Duration,
    /// When the timer fires.
    armed: Instant,
    sleep: Pin<Box<tokio::time::Sleep>>,
}

impl Deadline {
    /// The timeouts of a connection.
    pub(super) fn new(activity: Arc<Activity>, head: Duration, idle: Duration) -> Self {
        let armed = activity.base + head.min(idle);
        Self {
            activity,
            head,
            idle,
            armed,
            sleep: Box::pin(tokio::time::sleep_until(armed)),
        }
    }

    fn arm(&mut self, at: Instant) {
        self.armed = at;
        self.sleep.as_mut().reset(at);
    }
}

impl std::future::Future for Deadline {
    type Output = Expired;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Expired> {
        let this = &mut *self;
        if let Some((at, _)) = this.activity.deadline(this.head, this.idle) {
            if at < this.armed {
                this.arm(at);
            }
        }
        while this.sleep.as_mut().poll(cx).is_ready() {
            let now = Instant::now();
            match this.activity.deadline(this.head, this.idle) {
                Some((at, kind)) if at <= now => return Poll::Ready(kind),
                Some((at, _)) => this.arm(at),
                // Busy: look again when the shorter timeout could run out.
                None => this.arm(now + this.head.min(this.idle)),
            }
        }
        Poll::Pending
    }
}

/// Where the bare-LF scan of a head stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scan {
    /// Not in a head.
    Off,
    /// In a head: the byte before, whether the current line is empty so
    /// far, and whether a non-empty line (the request line) was seen.
    In {
        prev: u8,
        line_empty: bool,
        started: bool,
    },
}

/// The scan at the start of a head.
const HEAD_START: Scan = Scan::In {
    prev: b'\n',
    line_empty: true,
    started: false,
};

/// The 400 written (when no response is under way) before a connection
/// with a bare LF in a head closes.
const BAD_REQUEST: &[u8] =
    b"HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n\r\n";

/// The socket of a connection, telling `Activity` when a head starts and
/// scanning heads for bare LF.
#[derive(Debug)]
pub(super) struct Watched<S> {
    inner: S,
    activity: Arc<Activity>,
    scan: Scan,
    /// The first read has been looked at (for the HTTP/2 preface).
    seen: bool,
}

impl<S> Watched<S> {
    /// Wraps an accepted connection's stream.
    pub(super) fn new(inner: S, activity: Arc<Activity>) -> Self {
        Self {
            inner,
            activity,
            scan: HEAD_START,
            seen: false,
        }
    }

    /// Looks at newly read bytes. `Err` on a bare LF in a head.
    fn inspect(&mut self, bytes: &[u8]) -> Result<(), BareLf> {
        if !self.seen {
            self.seen = true;
            if is_h2_preface(bytes) {
                self.activity.h2.store(true, Ordering::Relaxed);
                self.scan = Scan::Off;
                return Ok(());
            }
        }
        if self.activity.bytes_arrived() {
            self.scan = HEAD_START;
        }
        let Scan::In {
            mut prev,
            mut line_empty,
            mut started,
        } = self.scan
        else {
            return Ok(());
        };
        for &b in bytes {
            if b == b'\n' {
                if prev != b'\r' {
                    self.scan = Scan::Off;
                    return Err(BareLf);
                }
                if line_empty && started {
                    // The blank line: the head is whole.
                    self.scan = Scan::Off;
                    return Ok(());
                }
                // Empty lines before the request line are skipped
                // (RFC 9112 §2.2), but must be CRLF too.
                started |= !line_empty;
                line_empty = true;
            } else if b != b'\r' {
                line_empty = false;
            }
            prev = b;
        }
        self.scan = Scan::In {
            prev,
            line_empty,
            started,
        };
        Ok(())
    }
}

impl<S: AsyncWrite + Unpin> Watched<S> {
    /// Writes the 400 for a bad head if nothing else is being answered on
    /// the connection (best effort: the socket is about to close).
    fn reject(&mut self, cx: &mut Context<'_>) {
        if self.activity.in_flight.load(Ordering::Acquire) == 0 {
            let mut inner = Pin::new(&mut self.inner);
            if let Poll::Ready(Ok(n)) = inner.as_mut().poll_write(cx, BAD_REQUEST) {
                if n == BAD_REQUEST.len() {
                    drop(inner.poll_flush(cx));
                }
            }
        }
    }
}

/// A request head used a bare LF as a line end.
#[derive(Debug, thiserror::Error)]
#[error("request head with a bare LF line end")]
pub(super) struct BareLf;

/// Whether `bytes` start like the HTTP/2 connection preface.
fn is_h2_preface(bytes: &[u8]) -> bool {
    const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n";
    let n = bytes.len().min(PREFACE.len());
    n > 0 && bytes[..n] == PREFACE[..n]
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncRead for Watched<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let this = &mut *self;
        let poll = Pin::new(&mut this.inner).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = poll {
            let filled = &buf.filled()[before..];
            if !filled.is_empty() {
                if let Err(e) = this.inspect(filled) {
                    this.reject(cx);
                    return Poll::Ready(Err(io::Error::new(io::ErrorKind::InvalidData, e)));
                }
            }
        }
        poll
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Watched<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// A response body that keeps its request counted as in flight on the
/// connection until it ends.
#[derive(Debug)]
pub(super) struct Tracked<B> {
    body: B,
    _in_flight: InFlight,
}

impl<B> Tracked<B> {
    /// Keeps `in_flight` until `body` is dropped.
    pub(super) fn new(body: B, in_flight: InFlight) -> Self {
        Self {
            body,
            _in_flight: in_flight,
        }
    }
}

impl<B: http_body::Body + Unpin> http_body::Body for Tracked<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<B::Data>, B::Error>>> {
        Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.body.size_hint()
    }
}

#[cfg(test)]
mod tests;
