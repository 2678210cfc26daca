//! Reading a request head on the fast path, and deciding whether the fast
//! path may serve it.
//!
//! The fast path serves HTTP/1.1 requests without a body that change
//! nothing about the connection: no `Transfer-Encoding`, a
//! `Content-Length` of 0 at most, no `Expect`, no `Upgrade`, no `TE`, a
//! `Connection` of `keep-alive` or `close` only, an origin-form target,
//! not CONNECT. Anything else, and any head httparse refuses, is
//! `Head::Other`: hyper takes the connection over from that head on and
//! answers it as it always has (its 400s and 431s included).
//!
//! A head in the usual form (`wire::lines`) is read in one pass; any
//! other goes through httparse, whose results the scan gives for the
//! heads it reads (`request_scan_tests.rs`).

use std::mem::MaybeUninit;

use bytes::BytesMut;
use http::{Method, Request, Uri, Version};

use crate::wire::{self, lines};

/// Headers httparse is given room for; a head with more goes to hyper,
/// which applies `limits.max_headers`.
const MAX_HEADERS: usize = 64;

/// What the bytes read so far hold. (`Fast` is large; it is moved once
/// per request, which costs less than boxing it.)
#[derive(Debug)]
#[allow(clippy::large_enum_variant)]
pub(super) enum Head {
    /// Not a whole head yet.
    Partial,
    /// A request the fast path serves, and whether its client asked to
    /// close the connection after it.
    Fast(Request<()>, bool),
    /// A head for hyper: the buffer is left as it was.
    Other,
}

/// Fields a request gains on its way upstream (`forward::prepare_request`).
const FORWARDED_ROOM: usize = 4;

/// The parts of a parsed head, as ranges of the buffer, before it is cut
/// (the fields are filled into a list the caller keeps, so that the list
/// is not moved).
#[cfg_attr(test, derive(Debug, PartialEq))]
struct Layout {
    len: usize,
    method: Method,
    path: wire::Span,
    close: bool,
}

/// Parses the head at the front of `buf`; one with more than
/// `max_headers` fields goes to hyper (for its 431). On `Fast` the head's bytes are
/// taken off the buffer (header values and the target point into them,
/// without a copy); the bytes after it (a pipelined request) stay.
pub(super) fn parse(buf: &mut BytesMut, max_headers: usize) -> Head {
    let mut fields = wire::Fields::new();
    let layout = match layout(buf, max_headers, &mut fields) {
        Ok(Some(l)) => l,
        Ok(None) => return Head::Partial,
        Err(()) => return Head::Other,
    };
    let head = buf.split_to(layout.len).freeze();
    let built = Uri::from_maybe_shared(head.slice(layout.path.0..layout.path.1))
        .ok()
        .zip(wire::header_map(&head, &mut fields, FORWARDED_ROOM).ok());
    let Some((uri, headers)) = built else {
        // Values httparse takes but `http` does not: put the head back.
        let mut whole = BytesMut::with_capacity(head.len() + buf.len());
        whole.extend_from_slice(&head);
        whole.extend_from_slice(buf);
        *buf = whole;
        return Head::Other;
    };
    let mut req = Request::new(());
    *req.method_mut() = layout.method;
    *req.uri_mut() = uri;
    *req.version_mut() = Version::HTTP_11;
    *req.headers_mut() = headers;
    Head::Fast(req, layout.close)
}

/// The head's layout: `Ok(None)` when it is not whole yet, `Err` when the
/// fast path does not serve it.
fn layout(buf: &[u8], max_headers: usize, fields: &mut wire::Fields) -> Result<Option<Layout>, ()> {
    layout_with(buf, max_headers, fields, true)
}

/// `layout`, trying the one-pass scan first or not.
fn layout_with(
    buf: &[u8],
    max_headers: usize,
    fields: &mut wire::Fields,
    scan_first: bool,
) -> Result<Option<Layout>, ()> {
    let scanned = if scan_first {
        scan(buf, max_headers, fields)
    } else {
        None
    };
    let (len, method, path) = match scanned {
        Some(found) => found,
        None => {
            fields.clear();
            match parse_httparse(buf, max_headers, fields)? {
                Some(found) => found,
                None => return Ok(None),
            }
        }
    };
    let (method, target) = (&buf[method.0..method.1], &buf[path.0..path.1]);
    if !target.starts_with(b"/") || method == b"CONNECT" {
        return Err(());
    }
    let method = Method::from_bytes(method).map_err(|_| ())?;
    let mut close = false;
    let mut length = false;
    for (name, (a, b)) in fields.iter() {
        let value = &buf[*a..*b];
        match name.as_str() {
            "content-length" if !length && value == b"0" => length = true,
            "connection" if value.eq_ignore_ascii_case(b"close") => close = true,
            "connection" if value.eq_ignore_ascii_case(b"keep-alive") => {}
            "content-length" | "transfer-encoding" | "connection" | "expect" | "upgrade" | "te"
            | "http2-settings" => return Err(()),
            _ => {}
        }
    }
    Ok(Some(Layout {
        len,
        method,
        path,
        close,
    }))
}

/// A whole head in the usual form, read in one pass (`wire::lines`): an
/// HTTP/1.1 request line of a token, a space, a target of visible ASCII,
/// a space; field lines in the usual form, at most `max_headers` (and
/// httparse's `MAX_HEADERS`). Its
/// length, method and target, its fields filled in; `None` leaves the
/// head to httparse (a head in any other form, or not whole yet).
fn scan(
    buf: &[u8],
    max_headers: usize,
    fields: &mut wire::Fields,
) -> Option<(usize, wire::Span, wire::Span)> {
    let m1 = lines::name_end(buf, 0)?;
    if m1 == 0 || buf.get(m1)? != &b' ' {
        return None;
    }
    let p1 = lines::target_end(buf, m1 + 1)?;
    if p1 == m1 + 1 || !lines::is_at(buf, p1, b" HTTP/1.1\r\n") {
        return None;
    }
    let mut at = p1 + 11;
    loop {
        if lines::is_at(buf, at, b"\r\n") {
            return Some((at + 2, (0, m1), (m1 + 1, p1)));
        }
        if fields.len() >= max_headers.min(MAX_HEADERS) {
            return None;
        }
        let line = lines::field_line(buf, at)?;
        let name = wire::name(buf.get(line.name.0..line.name.1)?).ok()?;
        fields.push((name, line.value_span()));
        at = line.next;
    }
}

/// The head's length, method and target as httparse parses them, its
/// fields filled in: `Ok(None)` when it is not whole yet, `Err` when the
/// fast path does not serve it.
fn parse_httparse(
    buf: &[u8],
    max_headers: usize,
    fields: &mut wire::Fields,
) -> Result<Option<(usize, wire::Span, wire::Span)>, ()> {
    // Uninitialised: httparse fills what it uses.
    let mut slots = [const { MaybeUninit::uninit() }; MAX_HEADERS];
    let mut req = httparse::Request::new(&mut []);
    let len = match req.parse_with_uninit_headers(buf, &mut slots) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(_) => return Err(()),
    };
    // A bare LF line end is refused (`head_scan`, at the hand-over).
    if req.version != Some(1) || req.headers.len() > max_headers || bare_lf(&buf[..len]) {
        return Err(());
    }
    let (Some(method), Some(path)) = (req.method, req.path) else {
        return Err(());
    };
    wire::fields(buf, len, req.headers, fields).map_err(|_| ())?;
    let at = |s: &str| wire::span(buf, len, s.as_bytes()).ok_or(());
    Ok(Some((len, at(method)?, at(path)?)))
}

/// Whether a line of `head` ends with LF alone.
fn bare_lf(head: &[u8]) -> bool {
    memchr::memchr_iter(b'\n', head).any(|i| i == 0 || head[i - 1] != b'\r')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_str(s: &str) -> (Head, BytesMut) {
        let mut buf = BytesMut::from(s);
        (parse(&mut buf, 100), buf)
    }

    #[test]
    fn a_plain_get_is_served_and_the_next_request_stays() {
        let (head, rest) = parse_str(
            "GET /a/b?c=1 HTTP/1.1\r\nHost: x\r\nX-Two: 1\r\nx-two: 2\r\n\r\nGET / HTTP/1.1\r\n",
        );
        let Head::Fast(req, close) = head else {
            panic!("{head:?}")
        };
        assert!(!close);
        assert_eq!(req.method(), Method::GET);
        assert_eq!(req.uri(), "/a/b?c=1");
        assert_eq!(req.headers()["host"], "x");
        let two: Vec<_> = req.headers().get_all("x-two").iter().collect();
        assert_eq!(two, ["1", "2"]);
        assert_eq!(&rest[..], b"GET / HTTP/1.1\r\n");
    }

    #[test]
    fn empty_values_are_kept() {
        for s in [
            "GET / HTTP/1.1\r\nX-Empty:\r\nHost: a\r\n\r\n",
            "GET / HTTP/1.1\r\nX-Empty: \r\nHost: a\r\n\r\n",
            "GET / HTTP/1.1\r\nHost: a\r\nX-Empty:\r\n\r\n",
        ] {
            let (head, _) = parse_str(s);
            let Head::Fast(req, _) = head else {
                panic!("{s:?}: {head:?}")
            };
            assert_eq!(req.headers()["x-empty"], "", "{s:?}");
            assert_eq!(req.headers()["host"], "a", "{s:?}");
        }
    }

    #[test]
    fn connection_close_and_an_empty_length_are_served() {
        let (head, _) =
            parse_str("POST /x HTTP/1.1\r\nConnection: Close\r\nContent-Length: 0\r\n\r\n");
        assert!(matches!(head, Head::Fast(_, true)));
        let (head, _) = parse_str("DELETE /x HTTP/1.1\r\nConnection: keep-alive\r\n\r\n");
        assert!(matches!(head, Head::Fast(_, false)));
    }

    #[test]
    fn a_partial_head_waits() {
        let (head, rest) = parse_str("GET / HTTP/1.1\r\nHost: x\r\n");
        assert!(matches!(head, Head::Partial));
        assert_eq!(rest.len(), 25);
    }

    #[test]
    fn everything_else_goes_to_hyper_with_the_buffer_untouched() {
        for s in [
            "POST / HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc",
            "POST / HTTP/1.1\r\nContent-Length: 0\r\nContent-Length: 0\r\n\r\n",
            "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
            "GET / HTTP/1.0\r\n\r\n",
            "GET /ws HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n",
            "GET / HTTP/1.1\r\nConnection: keep-alive, te\r\nTE: trailers\r\n\r\n",
            "PUT / HTTP/1.1\r\nExpect: 100-continue\r\n\r\n",
            "CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n",
            "GET http://a/ HTTP/1.1\r\nHost: a\r\n\r\n",
            "OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n",
            "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
            "GET / HTTP/1.1\r\nBad Name: x\r\n\r\n",
            "GET / HTTP/1.1\nHost: a\r\n\r\n",
            "GET / HTTP/1.1\r\nHost: a\r\n\n",
            "GET /a<b> HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\n",
        ] {
            let (head, rest) = parse_str(s);
            assert!(matches!(head, Head::Other), "{s:?}: {head:?}");
            assert_eq!(&rest[..], s.as_bytes(), "{s:?}");
        }
    }

    #[test]
    fn too_many_headers_go_to_hyper() {
        let mut s = String::from("GET / HTTP/1.1\r\n");
        for i in 0..=MAX_HEADERS {
            s.push_str(&format!("x-{i}: v\r\n"));
        }
        s.push_str("\r\n");
        assert!(matches!(parse_str(&s).0, Head::Other));
        let mut buf = BytesMut::from("GET / HTTP/1.1\r\na: 1\r\nb: 2\r\n\r\n");
        assert!(matches!(parse(&mut buf, 1), Head::Other));
        assert!(matches!(parse(&mut buf, 2), Head::Fast(..)));
    }
}

#[cfg(test)]
#[path = "request_scan_tests.rs"]
mod scan_tests;
