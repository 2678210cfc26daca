//! The inline HTTP/1.1 client's body decoder: `Content-Length`, chunked
//! (RFC 9112 §7.1: hex size, extensions ignored, CRLF after each chunk's
//! data, the last chunk, then a trailer section bounded by the head limit)
//! or until the upstream closes the connection. Consumes a `BytesMut`;
//! data comes out as `Bytes` split off it, without copying.

use bytes::{Buf, Bytes, BytesMut};
use http::{HeaderMap, HeaderName, HeaderValue};

use super::codec::{Framing, InlineError, MAX_HEADERS};

/// Longest chunk size line (size and extensions).
pub(in crate::upstream) const MAX_CHUNK_LINE: usize = 4096;

/// One step of a body.
#[derive(Debug, PartialEq)]
pub(in crate::upstream) enum Decoded {
    /// Body bytes.
    Data(Bytes),
    /// The trailer section (chunked only), which ends the body.
    Trailers(HeaderMap),
    /// The body ended.
    End,
    /// More bytes are needed.
    More,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Length(u64),
    Close,
    Size,
    Data(u64),
    DataEnd,
    Trailers,
    Done,
}

/// Decodes a body of a given framing from the bytes read so far.
#[derive(Debug)]
pub(in crate::upstream) struct Decoder {
    state: State,
}

impl Decoder {
    /// A decoder for `framing`.
    pub(in crate::upstream) fn new(framing: Framing) -> Self {
        let state = match framing {
            Framing::Empty | Framing::Length(0) => State::Done,
            Framing::Length(n) => State::Length(n),
            Framing::Chunked => State::Size,
            Framing::Close => State::Close,
        };
        Self { state }
    }

    /// Whether the body has ended.
    pub(in crate::upstream) fn is_done(&self) -> bool {
        self.state == State::Done
    }

    /// Body bytes still announced (`Content-Length` framing), if known.
    pub(in crate::upstream) fn remaining(&self) -> Option<u64> {
        match self.state {
            State::Length(n) => Some(n),
            State::Done => Some(0),
            _ => None,
        }
    }

    /// The next step from `buf` (consumed as decoded). `eof`: the upstream
    /// closed the connection (nothing more comes); `limit`: the most bytes
    /// of a trailer section.
    pub(in crate::upstream) fn decode(
        &mut self,
        buf: &mut BytesMut,
        eof: bool,
        limit: usize,
    ) -> Result<Decoded, InlineError> {
        // Bounded: each turn either returns or consumes a non-empty token
        // (a size line, a CRLF) and moves to a state that returns.
        loop {
            match self.state {
                State::Done => return Ok(Decoded::End),
                State::Length(left) | State::Data(left) => {
                    if buf.is_empty() {
                        return if eof {
                            Err(InlineError::Eof)
                        } else {
                            Ok(Decoded::More)
                        };
                    }
                    let n = usize::try_from(left).map_or(buf.len(), |l| l.min(buf.len()));
                    let data = buf.split_to(n).freeze();
                    let left = left - n as u64;
                    self.state = match (self.state, left) {
                        (State::Length(_), 0) => State::Done,
                        (State::Length(_), l) => State::Length(l),
                        (_, 0) => State::DataEnd,
                        (_, l) => State::Data(l),
                    };
                    return Ok(Decoded::Data(data));
                }
                State::Close => {
                    if !buf.is_empty() {
                        return Ok(Decoded::Data(buf.split().freeze()));
                    }
                    if eof {
                        self.state = State::Done;
                        return Ok(Decoded::End);
                    }
                    return Ok(Decoded::More);
                }
                State::Size => {
                    let scan = &buf[..buf.len().min(MAX_CHUNK_LINE)];
                    let Some(i) = scan.iter().position(|b| *b == b'\n') else {
                        if buf.len() >= MAX_CHUNK_LINE {
                            return Err(InlineError::Chunk("chunk size line too long"));
                        }
                        return more(eof);
                    };
                    let size = chunk_size(&buf[..i])?;
                    buf.advance(i + 1);
                    self.state = if size == 0 {
                        State::Trailers
                    } else {
                        State::Data(size)
                    };
                }
                State::DataEnd => {
                    if buf.len() < 2 {
                        if buf.first().is_some_and(|b| *b != b'\r') {
                            return Err(InlineError::Chunk("chunk data not followed by CRLF"));
                        }
                        return more(eof);
                    }
                    if &buf[..2] != b"\r\n" {
                        return Err(InlineError::Chunk("chunk data not followed by CRLF"));
                    }
                    buf.advance(2);
                    self.state = State::Size;
                }
                State::Trailers => return self.trailers(buf, eof, limit),
            }
        }
    }

    fn trailers(
        &mut self,
        buf: &mut BytesMut,
        eof: bool,
        limit: usize,
    ) -> Result<Decoded, InlineError> {
        if buf.starts_with(b"\r\n") {
            buf.advance(2);
            self.state = State::Done;
            return Ok(Decoded::End);
        }
        let mut slots = [httparse::EMPTY_HEADER; MAX_HEADERS];
        let (n, fields) = match httparse::parse_headers(buf, &mut slots) {
            Ok(httparse::Status::Complete(x)) => x,
            Ok(httparse::Status::Partial) if buf.len() >= limit => {
                return Err(InlineError::TooLarge(limit))
            }
            Ok(httparse::Status::Partial) => return more(eof),
            Err(httparse::Error::TooManyHeaders) => return Err(InlineError::TooLarge(limit)),
            Err(_) => return Err(InlineError::Chunk("malformed trailer section")),
        };
        if n > limit {
            return Err(InlineError::TooLarge(limit));
        }
        let mut map = HeaderMap::with_capacity(fields.len());
        for f in fields.iter() {
            let name = HeaderName::from_bytes(f.name.as_bytes())
                .map_err(|_| InlineError::Chunk("invalid trailer field name"))?;
            let value = HeaderValue::from_bytes(f.value)
                .map_err(|_| InlineError::Chunk("invalid trailer field value"))?;
            map.append(name, value);
        }
        buf.advance(n);
        self.state = State::Done;
        Ok(Decoded::Trailers(map))
    }
}

fn more(eof: bool) -> Result<Decoded, InlineError> {
    if eof {
        Err(InlineError::Eof)
    } else {
        Ok(Decoded::More)
    }
}

/// The size on a chunk size line (without its `\n`): hex digits, then
/// optional extensions (ignored), then the line's `\r`.
fn chunk_size(line: &[u8]) -> Result<u64, InlineError> {
    let line = line
        .strip_suffix(b"\r")
        .ok_or(InlineError::Chunk("chunk size line not ended by CRLF"))?;
    let digits = line.iter().take_while(|b| b.is_ascii_hexdigit()).count();
    if digits == 0 {
        return Err(InlineError::Chunk("invalid chunk size"));
    }
    if digits > 16 {
        return Err(InlineError::Chunk("chunk size too large"));
    }
    let mut size: u64 = 0;
    for d in &line[..digits] {
        let v = match d {
            b'0'..=b'9' => d - b'0',
            b'a'..=b'f' => d - b'a' + 10,
            _ => d - b'A' + 10,
        };
        size = size
            .checked_mul(16)
            .and_then(|s| s.checked_add(u64::from(v)))
            .ok_or(InlineError::Chunk("chunk size too large"))?;
    }
    let rest = &line[digits..];
    if rest.iter().any(|b| b.is_ascii_control() && *b != b'\t') {
        return Err(InlineError::Chunk("invalid chunk extension"));
    }
    let ext = rest.trim_ascii_start();
    if !ext.is_empty() && ext[0] != b';' {
        return Err(InlineError::Chunk("invalid chunk size"));
    }
    Ok(size)
}
