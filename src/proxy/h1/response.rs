//! Writing a response on the fast path: the head, then the body framed by
//! `Content-Length` or chunked, as hyper's server frames it.
//!
//! - 1xx, 204 and 304 responses, and responses to HEAD, have no body;
//!   `Content-Length` and `Transfer-Encoding` are dropped from 1xx and 204.
//! - A `Content-Length` header (a valid one) frames the body; without one,
//!   a body of known size gets one; any other body is chunked. Trailers
//!   are dropped: the fast path serves no request with `TE: trailers`.
//! - `date` is added when the response has none; `connection: close` when
//!   the connection closes after this response.
//!
//! The head and small data frames are copied into one buffer; large
//! frames go out beside it, uncopied, in the same vectored write. A body that fails
//! (or runs past its length) has what was staged written, then the
//! connection closes without the body's end, so the client sees the cut.

use std::collections::VecDeque;
use std::io::IoSlice;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use bytes::{Buf, BufMut, Bytes, BytesMut};
use http::{header, response::Parts, HeaderValue, StatusCode};
use http_body::Body;
use tokio::io::AsyncWrite;

use crate::proxy::body::ResponseBody;
use crate::wire::RawHead;

/// Data frames up to this size are copied next to the head; larger ones
/// go out beside it, in the same vectored write, without a copy.
const COPY_MAX: usize = 2 * 1024;
/// The most segments one vectored write takes (and queued before a write).
const MAX_SEGMENTS: usize = 16;
/// Staged bytes are written once this many are waiting.
const FLUSH_AT: usize = 64 * 1024;

/// How a response body is framed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Framing {
    /// No body.
    Empty,
    /// `Content-Length`: this many bytes left.
    Length(u64),
    /// `Transfer-Encoding: chunked`.
    Chunked,
}

/// Why a response could not be written whole. Either way the connection
/// closes.
#[derive(Debug, thiserror::Error)]
pub(super) enum WriteError {
    /// The client's socket failed.
    #[error("writing to the client failed: {0}")]
    Io(#[from] std::io::Error),
    /// The body failed or did not match its length.
    #[error("the response body ended early or ran past its length")]
    Body,
}

/// Writes the head of `parts` into `out` and says how the body is framed.
/// `raw`: the upstream head's fields as they arrived (hop-by-hop ones
/// already left out), written before those of `parts`; `head`: the
/// request was HEAD; `close`: the connection closes after this response.
pub(super) fn encode_head(
    out: &mut BytesMut,
    parts: &mut Parts,
    raw: Option<&RawHead>,
    body: &ResponseBody,
    head: bool,
    close: bool,
) -> Framing {
    let status = parts.status;
    let headers = &mut parts.headers;
    // One pass over the (few) names instead of a hashed lookup for each
    // field the framing depends on.
    let (mut length, mut chunked, mut connection, mut date) = (0, false, false, false);
    // The value of the one `Content-Length` line, if valid.
    let mut declared = None;
    if let Some(raw) = raw {
        (length, declared) = raw.lengths();
        date = raw.has_date();
    }
    for (name, value) in headers.iter() {
        if name == header::CONTENT_LENGTH {
            length += 1;
            declared = crate::wire::decimal(value.as_bytes());
        } else if name == header::TRANSFER_ENCODING {
            chunked = true;
        } else if name == header::CONNECTION {
            connection = true;
        } else if name == header::DATE {
            date = true;
        }
    }
    if chunked {
        headers.remove(header::TRANSFER_ENCODING);
    }
    // Whether `Content-Length` lines are left out.
    let mut unframed = false;
    let framing = if status.is_informational() || status == StatusCode::NO_CONTENT {
        if length > 0 {
            headers.remove(header::CONTENT_LENGTH);
            unframed = true;
        }
        Framing::Empty
    } else if head || status == StatusCode::NOT_MODIFIED {
        Framing::Empty
    } else if let Some(n) = declared.filter(|_| length == 1) {
        Framing::Length(n)
    } else {
        if length > 0 {
            headers.remove(header::CONTENT_LENGTH);
            unframed = true;
        }
        match body.size_hint().exact() {
            Some(n) => {
                headers.insert(header::CONTENT_LENGTH, HeaderValue::from(n));
                Framing::Length(n)
            }
            None => Framing::Chunked,
        }
    };
    put_status_line(out, status);
    if let Some(raw) = raw {
        raw.write(out, unframed);
    }
    for (name, value) in headers.iter() {
        out.put_slice(name.as_str().as_bytes());
        out.put_slice(b": ");
        out.put_slice(value.as_bytes());
        out.put_slice(b"\r\n");
    }
    if framing == Framing::Chunked {
        out.put_slice(b"transfer-encoding: chunked\r\n");
    }
    if close && !connection {
        out.put_slice(b"connection: close\r\n");
    }
    if !date {
        out.put_slice(b"date: ");
        super::date::put(out);
        out.put_slice(b"\r\n");
    }
    out.put_slice(b"\r\n");
    framing
}

/// The status line of `status`: `HTTP/1.1`, the code and its reason
/// phrase (one copy for the common ones).
fn put_status_line(out: &mut BytesMut, status: StatusCode) {
    let whole: &[u8] = match status.as_u16() {
        200 => b"HTTP/1.1 200 OK\r\n",
        204 => b"HTTP/1.1 204 No Content\r\n",
        301 => b"HTTP/1.1 301 Moved Permanently\r\n",
        302 => b"HTTP/1.1 302 Found\r\n",
        304 => b"HTTP/1.1 304 Not Modified\r\n",
        404 => b"HTTP/1.1 404 Not Found\r\n",
        _ => {
            out.put_slice(b"HTTP/1.1 ");
            out.put_slice(status.as_str().as_bytes());
            out.put_u8(b' ');
            out.put_slice(
                status
                    .canonical_reason()
                    .unwrap_or("<unknown status code>")
                    .as_bytes(),
            );
            out.put_slice(b"\r\n");
            return;
        }
    };
    out.put_slice(whole);
}

/// The rest of a response on its way out: staged bytes, and the body
/// still to be read.
pub(super) struct Writer<'a> {
    /// Closed segments (the head and small frames copied together, large
    /// frames as they came), written first, in order.
    queue: VecDeque<Bytes>,
    /// Bytes in `queue`.
    queued: usize,
    /// The open segment, written after `queue`: small frames and framing
    /// are copied into it.
    out: &'a mut BytesMut,
    framing: Framing,
    /// The body has been read to its end (or is not read).
    done: bool,
    /// The body failed: write what is staged, then fail.
    failed: bool,
}

impl<'a> Writer<'a> {
    /// A writer for a response whose head is in `out`.
    pub(super) fn new(out: &'a mut BytesMut, framing: Framing) -> Self {
        Self {
            queue: VecDeque::new(),
            queued: 0,
            out,
            framing,
            done: framing == Framing::Empty || framing == Framing::Length(0),
            failed: false,
        }
    }

    fn staged(&self) -> usize {
        self.queued + self.out.len()
    }

    /// Stages `data`: copied into the open segment when small, else queued
    /// as it is (no copy) after the open segment, which closes.
    fn put(&mut self, data: Bytes) {
        if data.len() <= COPY_MAX {
            self.out.put_slice(&data);
            return;
        }
        if !self.out.is_empty() {
            let closed = self.out.split().freeze();
            self.queued += closed.len();
            self.queue.push_back(closed);
        }
        self.queued += data.len();
        self.queue.push_back(data);
    }

    /// Frames one data frame.
    fn data(&mut self, data: Bytes, body: &ResponseBody) {
        match &mut self.framing {
            Framing::Empty => {}
            Framing::Length(left) => {
                let n = data.len() as u64;
                if n > *left {
                    self.failed = true;
                    self.done = true;
                    return;
                }
                *left -= n;
                if *left == 0 {
                    self.done = true;
                }
                self.put(data);
            }
            Framing::Chunked => {
                if !data.is_empty() {
                    put_hex(self.out, data.len());
                    self.out.put_slice(b"\r\n");
                    self.put(data);
                    self.out.put_slice(b"\r\n");
                }
                if body.is_end_stream() {
                    self.end();
                }
            }
        }
    }

    /// The body ended.
    fn end(&mut self) {
        match self.framing {
            Framing::Chunked => self.out.put_slice(b"0\r\n\r\n"),
            Framing::Length(left) if left > 0 => self.failed = true,
            _ => {}
        }
        self.done = true;
    }

    /// Writes the response: staged bytes and the body, to its end.
    pub(super) fn poll_write<S: AsyncWrite + Unpin>(
        &mut self,
        cx: &mut Context<'_>,
        io: &mut S,
        body: &mut ResponseBody,
    ) -> Poll<Result<(), WriteError>> {
        loop {
            while !self.done && self.staged() < FLUSH_AT && self.queue.len() < MAX_SEGMENTS {
                match Pin::new(&mut *body).poll_frame(cx) {
                    Poll::Pending => break,
                    Poll::Ready(None) => self.end(),
                    Poll::Ready(Some(Err(_))) => {
                        self.failed = true;
                        self.done = true;
                    }
                    Poll::Ready(Some(Ok(frame))) => {
                        if let Ok(data) = frame.into_data() {
                            self.data(data, body);
                        }
                    }
                }
            }
            if self.staged() > 0 {
                let n = ready!(self.poll_write_staged(cx, io))?;
                if n == 0 {
                    return Poll::Ready(Err(
                        std::io::Error::from(std::io::ErrorKind::WriteZero).into()
                    ));
                }
                self.advance(n);
                continue;
            }
            ready!(Pin::new(&mut *io).poll_flush(cx))?;
            if self.failed {
                return Poll::Ready(Err(WriteError::Body));
            }
            if self.done {
                return Poll::Ready(Ok(()));
            }
            // The body is pending; it has the task's waker.
            return Poll::Pending;
        }
    }

    fn poll_write_staged<S: AsyncWrite + Unpin>(
        &self,
        cx: &mut Context<'_>,
        io: &mut S,
    ) -> Poll<std::io::Result<usize>> {
        let mut slices = [IoSlice::new(&[]); MAX_SEGMENTS + 1];
        let mut n = 0;
        for seg in self.queue.iter().take(MAX_SEGMENTS) {
            slices[n] = IoSlice::new(seg);
            n += 1;
        }
        // The open segment follows every queued one.
        if self.queue.len() <= MAX_SEGMENTS {
            slices[n] = IoSlice::new(self.out);
            n += 1;
        }
        Pin::new(io).poll_write_vectored(cx, &slices[..n])
    }

    fn advance(&mut self, mut n: usize) {
        while let Some(front) = self.queue.front_mut() {
            if n < front.len() {
                front.advance(n);
                self.queued -= n;
                return;
            }
            n -= front.len();
            self.queued -= front.len();
            self.queue.pop_front();
        }
        self.out.advance(n.min(self.out.len()));
    }
}

/// Appends `n` in lower-case hex (a chunk size).
fn put_hex(out: &mut BytesMut, n: usize) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut text = [0u8; 16];
    let mut at = text.len();
    let mut n = n;
    loop {
        at -= 1;
        text[at] = DIGITS[n & 0xf];
        n >>= 4;
        if n == 0 {
            break;
        }
    }
    out.put_slice(&text[at..]);
}

#[cfg(test)]
#[path = "response_tests.rs"]
mod tests;
