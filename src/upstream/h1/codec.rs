//! The inline HTTP/1.1 client's codec: the request head written in one
//! piece, the response head parsed with `httparse`, and the response body's
//! framing decoded (RFC 9112 §6.3, §7.1).
//!
//! Strict, since the response is untrusted input: a head over the pool's
//! `max_header_bytes` or with more than 100 fields is `TooLarge`; a
//! `Content-Length` that is not one valid decimal value, a malformed chunk
//! size line, a chunk not followed by CRLF, or a malformed trailer section
//! is an error; nothing here panics. Pure functions on a `BytesMut`, so
//! they are tested without sockets (`codec_tests.rs`).

use bytes::{Buf, BytesMut};

use crate::wire;
use http::header::{CONNECTION, CONTENT_LENGTH, TRANSFER_ENCODING};
use http::{HeaderMap, HeaderName, Method, Response, StatusCode, Version};

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
/// as given, `content-length: 0` where hyper's client adds it.
pub(in crate::upstream) fn encode_request(parts: &http::request::Parts, dst: &mut Vec<u8>) {
    let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    dst.extend_from_slice(parts.method.as_str().as_bytes());
    dst.push(b' ');
    dst.extend_from_slice(if path.is_empty() {
        b"/"
    } else {
        path.as_bytes()
    });
    dst.extend_from_slice(b" HTTP/1.1\r\n");
    for (name, value) in &parts.headers {
        dst.extend_from_slice(name.as_str().as_bytes());
        dst.extend_from_slice(b": ");
        dst.extend_from_slice(value.as_bytes());
        dst.extend_from_slice(b"\r\n");
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
/// bytes the head may have; `head_request`: the request was HEAD.
pub(in crate::upstream) fn parse_head(
    buf: &mut BytesMut,
    limit: usize,
    head_request: bool,
) -> Result<Parsed, InlineError> {
    let mut slots = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut res = httparse::Response::new(&mut slots);
    let n = match res.parse(buf) {
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
    // Where each value lies in the head, to slice it out of the frozen
    // head without copying.
    let mut fields = wire::Fields::new();
    wire::fields(buf, n, res.headers, &mut fields).map_err(InlineError::Head)?;
    let frozen = buf.split_to(n).freeze();
    let headers = wire::header_map(&frozen, &mut fields, 0).map_err(InlineError::Head)?;
    let (framing, reusable) = framing(status, version, &headers, head_request)?;
    let mut response = Response::new(());
    *response.status_mut() = status;
    *response.version_mut() = version;
    *response.headers_mut() = headers;
    Ok(Parsed::Final(Head {
        response,
        framing,
        reusable,
    }))
}

/// Whether a comma-separated field has the token `want`.
fn has_token(headers: &HeaderMap, name: HeaderName, want: &str) -> bool {
    headers.get_all(name).iter().any(|v| {
        v.as_bytes()
            .split(|b| *b == b',')
            .any(|t| t.trim_ascii().eq_ignore_ascii_case(want.as_bytes()))
    })
}

/// The body's framing and whether the connection may be reused (RFC 9112
/// §6.3, §9.3).
fn framing(
    status: StatusCode,
    version: Version,
    headers: &HeaderMap,
    head_request: bool,
) -> Result<(Framing, bool), InlineError> {
    let close = has_token(headers, CONNECTION, "close");
    let mut reusable =
        !close && (version == Version::HTTP_11 || has_token(headers, CONNECTION, "keep-alive"));
    if head_request || status == StatusCode::NO_CONTENT || status == StatusCode::NOT_MODIFIED {
        return Ok((Framing::Empty, reusable));
    }
    if headers.contains_key(TRANSFER_ENCODING) {
        let last = headers
            .get_all(TRANSFER_ENCODING)
            .iter()
            .next_back()
            .and_then(|v| v.as_bytes().rsplit(|b| *b == b',').next())
            .map(<[u8]>::trim_ascii)
            .unwrap_or_default();
        if !last.eq_ignore_ascii_case(b"chunked") {
            return Ok((Framing::Close, false));
        }
        // A Content-Length beside it may be a smuggling attempt.
        if headers.contains_key(CONTENT_LENGTH) {
            reusable = false;
        }
        return Ok((Framing::Chunked, reusable));
    }
    if headers.contains_key(CONTENT_LENGTH) {
        let n = content_length(headers)?;
        let framing = if n == 0 {
            Framing::Empty
        } else {
            Framing::Length(n)
        };
        return Ok((framing, reusable));
    }
    Ok((Framing::Close, false))
}

/// The one value of the `Content-Length` fields (a list of identical
/// values is that value).
fn content_length(headers: &HeaderMap) -> Result<u64, InlineError> {
    let mut found: Option<u64> = None;
    for v in headers.get_all(CONTENT_LENGTH) {
        for item in v.as_bytes().split(|b| *b == b',') {
            let n = wire::decimal(item.trim_ascii())
                .ok_or(InlineError::Head("invalid Content-Length"))?;
            if found.is_some_and(|f| f != n) {
                return Err(InlineError::Head("conflicting Content-Length values"));
            }
            found = Some(n);
        }
    }
    found.ok_or(InlineError::Head("invalid Content-Length"))
}

#[cfg(test)]
#[path = "codec_tests.rs"]
mod tests;
