use super::*;
use http::Response;
use std::task::{Context, Poll};

fn head(resp: Response<ResponseBody>, head_request: bool, close: bool) -> (String, Framing) {
    let (mut parts, body) = resp.into_parts();
    let mut out = BytesMut::new();
    let framing = encode_head(&mut out, &mut parts, None, &body, head_request, close);
    (String::from_utf8(out.to_vec()).unwrap(), framing)
}

fn full(status: u16, body: &'static str) -> Response<ResponseBody> {
    let mut r = Response::new(ResponseBody::full(
        Bytes::from_static(body.as_bytes()),
        None,
    ));
    *r.status_mut() = StatusCode::from_u16(status).unwrap();
    r
}

#[test]
fn a_known_size_gets_a_length_and_a_date() {
    let (text, framing) = head(full(200, "hello"), false, false);
    assert_eq!(framing, Framing::Length(5));
    assert!(
        text.starts_with("HTTP/1.1 200 OK\r\ncontent-length: 5\r\ndate: "),
        "{text}"
    );
    assert!(text.ends_with(" GMT\r\n\r\n"), "{text}");
    assert!(!text.contains("connection"), "{text}");
}

#[test]
fn the_response_headers_are_kept_and_a_date_is_not_doubled() {
    let mut r = full(404, "x");
    r.headers_mut().insert("x-a", HeaderValue::from_static("1"));
    r.headers_mut().insert(
        header::DATE,
        HeaderValue::from_static("Sun, 06 Nov 1994 08:49:37 GMT"),
    );
    r.headers_mut()
        .insert(header::CONTENT_LENGTH, HeaderValue::from_static("1"));
    r.headers_mut().insert(
        header::TRANSFER_ENCODING,
        HeaderValue::from_static("chunked"),
    );
    let (text, framing) = head(r, false, true);
    assert_eq!(framing, Framing::Length(1));
    assert_eq!(
        text,
        "HTTP/1.1 404 Not Found\r\nx-a: 1\r\ndate: Sun, 06 Nov 1994 08:49:37 GMT\r\n\
         content-length: 1\r\nconnection: close\r\n\r\n"
    );
}

#[test]
fn bodiless_responses_have_no_body() {
    let mut r = full(204, "");
    r.headers_mut()
        .insert(header::CONTENT_LENGTH, HeaderValue::from_static("0"));
    let (text, framing) = head(r, false, false);
    assert_eq!(framing, Framing::Empty);
    assert!(!text.contains("content-length"), "{text}");
    let mut r = full(200, "");
    r.headers_mut()
        .insert(header::CONTENT_LENGTH, HeaderValue::from_static("42"));
    let (text, framing) = head(r, true, false);
    assert_eq!(framing, Framing::Empty);
    assert!(text.contains("content-length: 42\r\n"), "{text}");
    assert_eq!(head(full(304, ""), false, false).1, Framing::Empty);
}

#[test]
fn an_invalid_length_is_replaced() {
    let mut r = full(200, "abc");
    r.headers_mut()
        .insert(header::CONTENT_LENGTH, HeaderValue::from_static("+3"));
    let (text, framing) = head(r, false, false);
    assert_eq!(framing, Framing::Length(3));
    assert!(
        text.contains("content-length: 3\r\n") && !text.contains("+3"),
        "{text}"
    );
}

/// A response head written both ways: from a header map (the upstream
/// head's fields parsed into one, hop-by-hop fields removed, as the proxy
/// did before raw heads) and from the raw fields; the status line and
/// field lines sorted, with `date` lines cut when the head had none (the
/// clock may tick between the two).
fn both_ways(upstream: &str, body: &'static str, head_request: bool, close: bool) {
    let mut slots = [httparse::EMPTY_HEADER; 32];
    let mut res = httparse::Response::new(&mut slots);
    let n = match res.parse(upstream.as_bytes()).unwrap() {
        httparse::Status::Complete(n) => n,
        httparse::Status::Partial => panic!("partial"),
    };
    let status = res.code.unwrap();
    let mut map = full(status, body);
    for h in res.headers.iter() {
        map.headers_mut().append(
            http::HeaderName::from_bytes(h.name.as_bytes()).unwrap(),
            HeaderValue::from_bytes(h.value).unwrap(),
        );
    }
    crate::proxy::forward::remove_hop_by_hop(map.headers_mut());
    let raw = crate::wire::RawHead::gather(upstream.as_bytes(), n, res.headers)
        .unwrap()
        .frozen(Bytes::copy_from_slice(&upstream.as_bytes()[..n]));
    let (by_map, map_framing) = head(map, head_request, close);
    let (mut parts, body) = full(status, body).into_parts();
    let mut out = BytesMut::new();
    let raw_framing = encode_head(
        &mut out,
        &mut parts,
        Some(&*raw),
        &body,
        head_request,
        close,
    );
    let by_raw = String::from_utf8(out.to_vec()).unwrap();
    assert_eq!(map_framing, raw_framing, "{upstream:?}");
    let dated = upstream.to_ascii_lowercase().contains("\r\ndate:");
    let lines = |text: &str| {
        assert_eq!(text.matches("date: ").count(), 1, "{text}");
        let mut v: Vec<String> = text
            .split("\r\n")
            .filter(|l| dated || !l.starts_with("date: "))
            .map(str::to_owned)
            .collect();
        v.sort();
        v
    };
    assert_eq!(lines(&by_map), lines(&by_raw), "{upstream:?}");
}

#[test]
fn a_raw_head_is_written_as_its_header_map_was() {
    let cases = [
        "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\nx-backend: 1\r\ncontent-length: 5\r\n\
         date: Sun, 22 Nov 2026 10:54:24 GMT\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\n\
         X-Empty:\r\nContent-Length: 5\r\n\r\n",
        "HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5\r\n\
         Transfer-Encoding: chunked\r\nTrailer: x-t\r\nX-A: 1\r\n\r\n",
        "HTTP/1.1 200 OK\r\nProxy-Connection: close\r\nTE: trailers\r\nUpgrade: h2c\r\n\
         Connection: close\r\n\r\n",
        "HTTP/1.1 204 No Content\r\nContent-Length: 0\r\nX-A: 1\r\n\r\n",
        "HTTP/1.1 304 Not Modified\r\nContent-Length: 7\r\nETag: \"x\"\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 5\r\ncontent-length: 5\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 5, 5\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n",
        "HTTP/1.1 404 Not Found\r\nDATE: Sun, 06 Nov 1994 08:49:37 GMT\r\n\r\n",
        "HTTP/1.1 599 Whatever\r\nX-Z: z\r\nX-Y: y\r\n\r\n",
        "HTTP/1.1 200 OK\r\nConnection: Keep-Alive\r\nKEEP-ALIVE: timeout=5\r\nX:1\r\n\
         Y:   2   \r\nContent-Length: 5\r\n\r\n",
    ];
    for case in cases {
        let body = if case.starts_with("HTTP/1.1 20") || case.contains(" 404 ") {
            "hello"
        } else {
            ""
        };
        for (head_request, close) in [(false, false), (true, false), (false, true)] {
            both_ways(case, body, head_request, close);
        }
    }
}

#[test]
fn common_status_lines_are_the_generic_ones() {
    for code in [200u16, 204, 301, 302, 304, 404, 201, 503, 599] {
        let status = StatusCode::from_u16(code).unwrap();
        let mut out = BytesMut::new();
        put_status_line(&mut out, status);
        let reason = status.canonical_reason().unwrap_or("<unknown status code>");
        assert_eq!(&out[..], format!("HTTP/1.1 {code} {reason}\r\n").as_bytes());
    }
}

async fn write(framing: Framing, out: &mut BytesMut, body: &mut ResponseBody) -> (Vec<u8>, bool) {
    let mut sink = Vec::new();
    let mut w = Writer::new(out, framing);
    let r = std::future::poll_fn(|cx| w.poll_write(cx, &mut sink, body)).await;
    (sink, r.is_ok())
}

#[tokio::test]
async fn the_writer_sends_the_head_and_the_body() {
    let mut out = BytesMut::from(&b"HEAD\r\n"[..]);
    let mut body = ResponseBody::full(Bytes::from_static(b"hello"), None);
    let (sent, ok) = write(Framing::Length(5), &mut out, &mut body).await;
    assert!(ok);
    assert_eq!(sent, b"HEAD\r\nhello");
    // A large frame goes beside the buffer, in order.
    let big = Bytes::from(vec![b'x'; COPY_MAX + 1]);
    let mut out = BytesMut::from(&b"H\r\n"[..]);
    let mut body = ResponseBody::full(big.clone(), None);
    let (sent, ok) = write(Framing::Chunked, &mut out, &mut body).await;
    assert!(ok);
    let want = [
        &b"H\r\n"[..],
        format!("{:x}\r\n", big.len()).as_bytes(),
        &big,
        b"\r\n0\r\n\r\n",
    ]
    .concat();
    assert_eq!(sent, want);
}

#[tokio::test]
async fn a_body_that_does_not_match_its_length_fails_after_what_fits() {
    let mut out = BytesMut::from(&b"H\r\n"[..]);
    let mut body = ResponseBody::full(Bytes::from_static(b"hello"), None);
    let (sent, ok) = write(Framing::Length(3), &mut out, &mut body).await;
    assert!(!ok);
    assert_eq!(sent, b"H\r\n");
    let mut out = BytesMut::from(&b"H\r\n"[..]);
    let mut body = ResponseBody::full(Bytes::from_static(b"hi"), None);
    let (sent, ok) = write(Framing::Length(3), &mut out, &mut body).await;
    assert!(!ok);
    assert_eq!(sent, b"H\r\nhi");
}

#[test]
fn chunk_sizes_are_hex() {
    for n in [0usize, 1, 15, 16, 255, 20_000, usize::MAX] {
        let mut out = BytesMut::new();
        put_hex(&mut out, n);
        assert_eq!(&out[..], format!("{n:x}").as_bytes());
    }
}

/// Writes at most `max` bytes per call, as a socket with little room does.
struct Trickle {
    sent: Vec<u8>,
    max: usize,
}

impl AsyncWrite for Trickle {
    fn poll_write(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let n = buf.len().min(self.max);
        self.sent.extend_from_slice(&buf[..n]);
        Poll::Ready(Ok(n))
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

#[tokio::test]
async fn segments_keep_their_order_through_short_writes() {
    // Small and large frames alternate (chunked, then with a length).
    let frames: Vec<Bytes> = [10, COPY_MAX + 5, 3, 3 * COPY_MAX, 1]
        .iter()
        .enumerate()
        .map(|(i, n)| Bytes::from(vec![b'a' + i as u8; *n]))
        .collect();
    let whole: Vec<u8> = frames.concat();
    for max in [1, 7, 1000, usize::MAX] {
        let mut out = BytesMut::from(&b"H\r\n"[..]);
        let mut sink = Trickle {
            sent: Vec::new(),
            max,
        };
        let mut w = Writer::new(&mut out, Framing::Length(whole.len() as u64));
        let body = ResponseBody::full(Bytes::new(), None);
        for f in &frames {
            w.data(f.clone(), &body);
        }
        let mut body = body;
        let r = std::future::poll_fn(|cx| w.poll_write(cx, &mut sink, &mut body)).await;
        assert!(r.is_ok());
        assert_eq!(sink.sent, [&b"H\r\n"[..], &whole].concat(), "max {max}");
    }
}
