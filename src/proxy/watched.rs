//! The socket of a served connection: it tells the connection's
//! `Activity` when bytes arrive with no request in flight (a head has
//! started, for the head and idle timeouts) and runs `HeadScan` over each
//! HTTP/1 head that starts that way. A refused head fails the read, so the
//! connection closes; a 400 is written first when nothing else is being
//! answered on it.
//!
//! Heads pipelined behind a request in flight, HTTP/2 connections (told by
//! their preface) and upgraded connections are not scanned: hyper parses
//! the first strictly enough, and the others carry no HTTP/1 heads.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use super::activity::Activity;
use super::head_scan::{HeadError, HeadScan};

/// The 400 written before a connection with a refused head closes.
const BAD_REQUEST: &[u8] =
    b"HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n\r\n";

/// An accepted connection's stream, watched.
#[derive(Debug)]
pub(super) struct Watched<S> {
    inner: S,
    activity: Arc<Activity>,
    /// The head being scanned, if one is.
    scan: Option<HeadScan>,
    /// The connection's first bytes, until there are enough to tell the
    /// HTTP/2 preface (`PRI `, a method HTTP/1 reserves for it) from a
    /// request line; `None` once told.
    first: Option<([u8; 4], usize)>,
    /// The HTTP/1.1 fast path reads the heads (`proxy/h1`), and checks
    /// them itself: no scan until it hands the connection to hyper
    /// (`leave_fast`).
    fast: bool,
    /// Bytes the fast path read but did not serve, read again first by
    /// hyper (already scanned by `leave_fast`).
    prefix: Bytes,
}

impl<S> Watched<S> {
    /// Wraps an accepted connection's stream.
    pub(super) fn new(inner: S, activity: Arc<Activity>) -> Self {
        Self {
            inner,
            activity,
            scan: None,
            first: Some(([0; 4], 0)),
            fast: true,
            prefix: Bytes::new(),
        }
    }

    /// The fast path hands the connection to hyper, with `prefix` read
    /// but not served (a head, whole or in part, and what followed it),
    /// which the stream gives out again before its own bytes: the head is
    /// scanned now, and a head still arriving goes on being scanned as it
    /// arrives. `Err`: the head is refused.
    pub(super) fn leave_fast(&mut self, prefix: Bytes) -> Result<(), HeadError> {
        self.fast = false;
        let mut scan = HeadScan::default();
        self.scan = match scan.feed(&prefix)? {
            true => None,
            false => Some(scan),
        };
        self.prefix = prefix;
        Ok(())
    }

    /// Looks at newly read bytes.
    pub(super) fn inspect(&mut self, bytes: &[u8]) -> Result<(), HeadError> {
        if let Some((buf, len)) = &mut self.first {
            let take = bytes.len().min(buf.len() - *len);
            buf[*len..*len + take].copy_from_slice(&bytes[..take]);
            *len += take;
            if *len == buf.len() {
                let h2 = buf == b"PRI ";
                self.first = None;
                if h2 {
                    self.activity.set_h2();
                    self.scan = None;
                    return Ok(());
                }
            }
        }
        if self.activity.is_upgraded() {
            self.scan = None;
            return Ok(());
        }
        if self.activity.bytes_arrived() && !self.fast {
            self.scan = Some(HeadScan::default());
        }
        let Some(scan) = &mut self.scan else {
            return Ok(());
        };
        match scan.feed(bytes) {
            Ok(false) => Ok(()),
            Ok(true) => {
                self.scan = None;
                Ok(())
            }
            Err(e) => {
                self.scan = None;
                Err(e)
            }
        }
    }
}

impl<S: AsyncWrite + Unpin> Watched<S> {
    /// Answers a head refused at the hand-over (`leave_fast`) with the
    /// 400, as a refused read does (`reject`).
    pub(super) async fn refuse(&mut self) {
        std::future::poll_fn(|cx| {
            self.reject(cx);
            Poll::Ready(())
        })
        .await;
    }

    /// Writes the 400 for a refused head if nothing else is being answered
    /// on the connection (best effort: the socket is about to close).
    fn reject(&mut self, cx: &mut Context<'_>) {
        if self.activity.is_quiet() {
            let mut inner = Pin::new(&mut self.inner);
            if let Poll::Ready(Ok(n)) = inner.as_mut().poll_write(cx, BAD_REQUEST) {
                if n == BAD_REQUEST.len() {
                    drop(inner.poll_flush(cx));
                }
            }
        }
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncRead for Watched<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        if !this.prefix.is_empty() {
            let n = this.prefix.len().min(buf.remaining());
            buf.put_slice(&this.prefix.split_to(n));
            return Poll::Ready(Ok(()));
        }
        let before = buf.filled().len();
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A watched stream in hyper's hands from the start (as after a
    /// hand-over of nothing).
    fn watched() -> (Watched<tokio::io::Empty>, Arc<Activity>) {
        let a = Activity::new();
        let mut w = Watched::new(tokio::io::empty(), Arc::clone(&a));
        w.leave_fast(Bytes::new()).unwrap();
        (w, a)
    }

    #[tokio::test]
    async fn the_handed_over_bytes_are_read_first() {
        use tokio::io::AsyncReadExt;
        let mut w = Watched::new(tokio::io::empty(), Activity::new());
        w.leave_fast(Bytes::from_static(b"GET / HTTP/1.1\r\n\r\nGET /2"))
            .unwrap();
        let mut small = [0u8; 4];
        w.read_exact(&mut small).await.unwrap();
        assert_eq!(&small, b"GET ");
        let mut rest = Vec::new();
        w.read_to_end(&mut rest).await.unwrap();
        assert_eq!(rest, b"/ HTTP/1.1\r\n\r\nGET /2");
    }

    #[test]
    fn the_fast_path_is_not_scanned_and_the_hand_over_scans_its_head() {
        let a = Activity::new();
        let mut w = Watched::new(tokio::io::empty(), Arc::clone(&a));
        // The fast path checks its heads itself.
        w.inspect(b"GET / HTTP/1.1\nHost: a\n\n").unwrap();
        // A refused head at the hand-over.
        assert_eq!(
            w.leave_fast(Bytes::from_static(
                b"POST / HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n"
            )),
            Err(HeadError::Ambiguous)
        );
        // A head handed over in part is scanned on as it arrives.
        let mut w = Watched::new(tokio::io::empty(), Arc::clone(&a));
        w.leave_fast(Bytes::from_static(b"POST / HTTP/1.1\r\nX: 1\r\n"))
            .unwrap();
        assert!(w.inspect(b"Y: 2\n\r\n").is_err());
    }

    #[test]
    fn body_bytes_are_not_scanned_and_the_next_head_is() {
        let (mut w, a) = watched();
        w.inspect(b"\r\nPOST / HTTP/1.1\r\nContent-Length: 3\r\n\r\na\nb")
            .unwrap();
        let req = a.begin();
        // Body bytes while the request is in flight.
        w.inspect(b"\n\n\n").unwrap();
        drop(req);
        // The next head is scanned again.
        assert!(w.inspect(b"GET / HTTP/1.1\r\nX: y\n").is_err());
    }

    #[test]
    fn upgraded_and_http2_connections_are_not_scanned() {
        let (mut w, a) = watched();
        w.inspect(b"GET /ws HTTP/1.1\r\nUpgrade: websocket\r\n\r\n")
            .unwrap();
        let req = a.begin();
        a.upgrade();
        drop(req);
        w.inspect(b"frame\nwith\nLFs").unwrap();
        let (mut w, _) = watched();
        w.inspect(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n").unwrap();
        w.inspect(b"\n\n").unwrap();
        // The preface split across reads is still told.
        let (mut w, a) = watched();
        w.inspect(b"PR").unwrap();
        w.inspect(b"I * HTTP/2.0\r\n\r\nSM\r\n\r\n").unwrap();
        w.inspect(b"\n").unwrap();
        assert!(a.is_h2());
    }

    #[test]
    fn a_request_line_sent_a_byte_at_a_time_is_not_taken_for_http2() {
        let (mut w, a) = watched();
        for b in b"POST / HTTP/1.1\r\nHost: a\n" {
            if w.inspect(&[*b]).is_err() {
                assert!(!a.is_h2());
                return;
            }
        }
        panic!("the bare LF was not found");
    }
}
