//! The inline HTTP/1.1 client's codec: the request head written in one
//! piece, the response head parsed (in one pass by `wire::RawHead::scan`
//! where it is kept raw and in the usual form, else with `httparse`), and
//! the response body's framing decoded (RFC 9112 §6.3, §7.1).
//!
//! Strict, since the response is untrusted input: a head over the pool's
//! `max_header_bytes` or with more than 100 fields is `TooLarge`; a
//! `Content-Length` that is not one valid decimal value, a malformed chunk
//! size line, a chunk not followed by CRLF, or a malformed trailer section
//! is an error; nothing here panics. Pure functions on a `BytesMut`, so
//! they are tested without sockets (`codec_tests.rs`).

use std::mem::MaybeUninit;

use bytes::{Buf, BytesMut};

use crate::upstream::client::Added;
use crate::wire;
use http::header::CONTENT_LENGTH;
use http::{HeaderName, HeaderValue, Method, Response, StatusCode, Version};

/// Most header fields in a response head or trailer section.
pub(in crate::upstream) const MAX_HEADERS: usize = 100;

/// Why an inline exchange failed.
#[derive(Debug, thiserror::Error)]
pub enum InlineError {
    /// Reading from or writing to the connection failed.
    #[error("upstream connection I/O failed: {0}")]
    Io(#[from] std::io::Error),
    /// The upstream closed the connection before the response ended.
    #[error("the upstream closed the connection before the end of the response")]
    Eof,
    /// The response head is not valid HTTP/1.1.
    #[error("invalid response head: {0}")]
    Head(&'static str),
    /// The head (or trailer section) is over the limit in bytes, or has
    /// more than 100 fields.
    #[error("response head over {0} bytes or {MAX_HEADERS} fields")]
    TooLarge(usize),
    /// The chunked body is malformed.
    #[error("invalid chunked body: {0}")]
    Chunk(&'static str),
}

/// Writes the head of a request without a body: request line, `headers`
/// as given, then the fields `added`, `content-length: 0` where hyper's
/// client adds it.
pub(in crate::upstream) fn encode_request(
    parts: &http::request::Parts,
    added: &Added<'_>,
    dst: &mut Vec<u8>,
) {
    let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    dst.extend_from_slice(parts.method.as_str().as_bytes());
    dst.push(b' ');
    dst.extend_from_slice(if path.is_empty() {
        b"/"
    } else {
        path.as_bytes()
    });
    dst.extend_from_slice(b" HTTP/1.1\r\n");
    let mut field = |name: &HeaderName, value: &HeaderValue| {
        dst.extend_from_slice(name.as_str().as_bytes());
        dst.extend_from_slice(b": ");
        dst.extend_from_slice(value.as_bytes());
        dst.extend_from_slice(b"\r\n");
    };
    for (name, value) in &parts.headers {
        field(name, value);
    }
    for (name, value) in added.iter() {
        field(name, value);
    }
    if has_payload_semantics(&parts.method) && !parts.headers.contains_key(CONTENT_LENGTH) {
        dst.extend_from_slice(b"content-length: 0\r\n");
    }
    dst.extend_from_slice(b"\r\n");
}

/// POST, PUT, PATCH and unknown methods: an empty body is announced.
fn has_payload_semantics(m: &Method) -> bool {
    !matches!(
        *m,
        Method::GET
            | Method::HEAD
            | Method::DELETE
            | Method::OPTIONS
            | Method::TRACE
            | Method::CONNECT
    )
}

/// How the response body is delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(in crate::upstream) enum Framing {
    /// No body.
    Empty,
    /// `Content-Length` bytes.
    Length(u64),
    /// `Transfer-Encoding: chunked`.
    Chunked,
    /// Until the upstream closes the connection.
    Close,
}

/// A final response head.
#[derive(Debug)]
pub(in crate::upstream) struct Head {
    /// Status, version and fields.
    pub response: Response<()>,
    /// The body's framing.
    pub framing: Framing,
    /// Whether the connection may carry another request after the body.
    pub reusable: bool,
    /// The fields as they arrived, when asked for and the head allows it;
    /// `response`'s header map is then empty.
    pub raw: Option<Box<wire::RawHead>>,
}

/// What the buffer held.
#[derive(Debug)]
pub(in crate::upstream) enum Parsed {
    /// Not a whole head yet.
    Partial,
    /// An interim (1xx) head, consumed: read the next one.
    Interim,
    /// The final head, consumed.
    Final(Head),
}

/// Parses (and consumes) a response head from `buf`. `limit`: the most
/// bytes the head may have; `head_request`: the request was HEAD; `raw`:
/// keep the fields raw (`wire::RawHead`) where the head allows, except on
/// a 429 or 503, whose `Retry-After` the attempt reads from the map.
///
/// A raw head in the usual form is read in one pass (`RawHead::scan`);
/// every other head, and every status that is not a plain final one, is
/// parsed by httparse, which the scan gives the same results as.
pub(in crate::upstream) fn parse_head(
    buf: &mut BytesMut,
    limit: usize,
    head_request: bool,
    raw: bool,
) -> Result<Parsed, InlineError> {
    if raw {
        if let Some(parsed) = scanned(buf, limit, head_request) {
            return parsed;
        }
    }
    parse_head_httparse(buf, limit, head_request, raw)
}

/// A head `RawHead::scan` read whole, consumed; `None` leaves `buf` to
/// httparse: a head it does not read, one over `limit`, an interim or
/// 101 head, or a 429 or 503 (whose `Retry-After` needs the map).
fn scanned(
    buf: &mut BytesMut,
    limit: usize,
    head_request: bool,
) -> Option<Result<Parsed, InlineError>> {
    let s = wire::RawHead::scan(buf, MAX_HEADERS)?;
    let status = StatusCode::from_u16(s.status).ok();
    let Some(status) = status.filter(|st| {
        s.len <= limit
            && !st.is_informational()
            && *st != StatusCode::TOO_MANY_REQUESTS
            && *st != StatusCode::SERVICE_UNAVAILABLE
    }) else {
        wire::recycle_raw(s.raw);
        return None;
    };
    let version = if s.http11 {
        Version::HTTP_11
    } else {
        Version::HTTP_10
    };
    let fields = FramingFields {
        close: s.close,
        keep_alive: s.keep_alive,
        te_last: s.te_last.and_then(|(a, b)| buf.get(a..b)),
        length: s.raw.lengths().1.map(Ok),
    };
    let (framing, reusable) = match framing(status, version, &fields, head_request) {
        Ok(f) => f,
        Err(e) => return Some(Err(e)),
    };
    let frozen = buf.split_to(s.len).freeze();
    let mut response = Response::new(());
    *response.status_mut() = status;
    *response.version_mut() = version;
    Some(Ok(Parsed::Final(Head {
        response,
        framing,
        reusable,
        raw: Some(s.raw.frozen(frozen)),
    })))
}

/// `parse_head` with httparse.
fn parse_head_httparse(
    buf: &mut BytesMut,
    limit: usize,
    head_request: bool,
    raw: bool,
) -> Result<Parsed, InlineError> {
    // Uninitialised: httparse fills what it uses (initialising 100 slots
    // cost more than parsing a small head).
    let mut slots = [const { MaybeUninit::uninit() }; MAX_HEADERS];
    let mut res = httparse::Response::new(&mut []);
    let config = httparse::ParserConfig::default();
    let n = match config.parse_response_with_uninit_headers(&mut res, buf, &mut slots) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) if buf.len() >= limit => {
            return Err(InlineError::TooLarge(limit))
        }
        Ok(httparse::Status::Partial) => return Ok(Parsed::Partial),
        Err(httparse::Error::TooManyHeaders) => return Err(InlineError::TooLarge(limit)),
        Err(_) => return Err(InlineError::Head("malformed response head")),
    };
    if n > limit {
        return Err(InlineError::TooLarge(limit));
    }
    let version = match res.version {
        Some(1) => Version::HTTP_11,
        Some(0) => Version::HTTP_10,
        _ => return Err(InlineError::Head("unsupported HTTP version")),
    };
    let status = res
        .code
        .and_then(|c| StatusCode::from_u16(c).ok())
        .ok_or(InlineError::Head("invalid status code"))?;
    if status == StatusCode::SWITCHING_PROTOCOLS {
        return Err(InlineError::Head("unexpected 101 Switching Protocols"));
    }
    if status.is_informational() {
        buf.advance(n);
        return Ok(Parsed::Interim);
    }
    let raw = (raw
        && status != StatusCode::TOO_MANY_REQUESTS
        && status != StatusCode::SERVICE_UNAVAILABLE)
        .then(|| wire::RawHead::gather(buf, n, res.headers))
        .flatten();
    // Where each value lies in the head, to slice it out of the frozen
    // head without copying.
    let mut fields = wire::Fields::new();
    if raw.is_none() {
        wire::fields(buf, n, res.headers, &mut fields).map_err(InlineError::Head)?;
    }
    let (framing, reusable) = framing(
        status,
        version,
        &FramingFields::of(res.headers),
        head_request,
    )?;
    let frozen = buf.split_to(n).freeze();
    let mut response = Response::new(());
    *response.status_mut() = status;
    *response.version_mut() = version;
    let raw = match raw {
        Some(raw) => Some(raw.frozen(frozen)),
        None => {
            *response.headers_mut() =
                wire::header_map(&frozen, &mut fields, 0).map_err(InlineError::Head)?;
            None
        }
    };
    Ok(Parsed::Final(Head {
        response,
        framing,
        reusable,
        raw,
    }))
}

/// What framing needs from a response head's fields, gathered in one
/// pass over httparse's fields (byte comparisons, no header map lookups).
#[derive(Default)]
struct FramingFields<'h> {
    /// `Connection` names `close`.
    close: bool,
    /// `Connection` names `keep-alive`.
    keep_alive: bool,
    /// The last `Transfer-Encoding` field's value, if any.
    te_last: Option<&'h [u8]>,
    /// The one `Content-Length` value (a list of identical values is that
    /// value), or why there is none; `None` without the field.
    length: Option<Result<u64, &'static str>>,
}

impl<'h> FramingFields<'h> {
    fn of(headers: &[httparse::Header<'h>]) -> Self {
        let mut f = FramingFields::default();
        for h in headers {
            let name = h.name.as_bytes();
            if name.eq_ignore_ascii_case(b"connection") {
                for t in h.value.split(|b| *b == b',').map(<[u8]>::trim_ascii) {
                    f.close |= t.eq_ignore_ascii_case(b"close");
                    f.keep_alive |= t.eq_ignore_ascii_case(b"keep-alive");
                }
            } else if name.eq_ignore_ascii_case(b"transfer-encoding") {
                f.te_last = Some(h.value);
            } else if name.eq_ignore_ascii_case(b"content-length") {
                for item in h.value.split(|b| *b == b',') {
                    f.length = Some(match (f.length, wire::decimal(item.trim_ascii())) {
                        (Some(Err(e)), _) => Err(e),
                        (_, None) => Err("invalid Content-Length"),
                        (Some(Ok(found)), Some(n)) if found != n => {
                            Err("conflicting Content-Length values")
                        }
                        (_, Some(n)) => Ok(n),
                    });
                }
            }
        }
        f
    }
}

/// The body's framing and whether the connection may be reused (RFC 9112
/// §6.3, §9.3).
fn framing(
    status: StatusCode,
    version: Version,
    fields: &FramingFields<'_>,
    head_request: bool,
) -> Result<(Framing, bool), InlineError> {
    let mut reusable = !fields.close && (version == Version::HTTP_11 || fields.keep_alive);
    if head_request || status == StatusCode::NO_CONTENT || status == StatusCode::NOT_MODIFIED {
        return Ok((Framing::Empty, reusable));
    }
    if let Some(te) = fields.te_last {
        let last = te.rsplit(|b| *b == b',').next().unwrap_or_default();
        if !last.trim_ascii().eq_ignore_ascii_case(b"chunked") {
            return Ok((Framing::Close, false));
        }
        // A Content-Length beside it may be a smuggling attempt.
        if fields.length.is_some() {
            reusable = false;
        }
        return Ok((Framing::Chunked, reusable));
    }
    match fields.length {
        Some(Ok(0)) => Ok((Framing::Empty, reusable)),
        Some(Ok(n)) => Ok((Framing::Length(n), reusable)),
        Some(Err(e)) => Err(InlineError::Head(e)),
        None => Ok((Framing::Close, false)),
    }
}

#[cfg(test)]
#[path = "codec_tests.rs"]
mod tests;

#[cfg(test)]
#[path = "codec_scan_tests.rs"]
mod scan_tests;
