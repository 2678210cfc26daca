//! Tests of the inline codec: request heads, response heads and every
//! body framing, fed whole and byte by byte.

use super::*;
use crate::upstream::h1::decode::{Decoded, Decoder, MAX_CHUNK_LINE};
use http::HeaderMap;

const LIMIT: usize = 8192;

fn head(raw: &str) -> Result<Parsed, InlineError> {
    parse_head(&mut BytesMut::from(raw), LIMIT, false, false)
}

fn final_head(raw: &[u8], is_head: bool) -> (Head, BytesMut) {
    let mut buf = BytesMut::from(raw);
    // Bounded: one interim head per turn, and these inputs have few.
    for _ in 0..8 {
        match parse_head(&mut buf, LIMIT, is_head, false).unwrap() {
            Parsed::Final(h) => return (h, buf),
            Parsed::Interim => continue,
            Parsed::Partial => panic!("partial head"),
        }
    }
    panic!("too many interim heads")
}

/// Decodes a whole body from `buf` (then EOF), returning data and trailers.
fn body(
    framing: Framing,
    buf: &[u8],
    eof: bool,
) -> Result<(Vec<u8>, Option<HeaderMap>), InlineError> {
    let mut d = Decoder::new(framing);
    let mut buf = BytesMut::from(buf);
    let mut data = Vec::new();
    let mut trailers = None;
    for _ in 0..10_000 {
        match d.decode(&mut buf, eof, LIMIT)? {
            Decoded::Data(b) => data.extend_from_slice(&b),
            Decoded::Trailers(t) => trailers = Some(t),
            Decoded::End => return Ok((data, trailers)),
            Decoded::More => return Err(InlineError::Head("needs more")),
        }
    }
    panic!("no end")
}

/// Feeds `input` one byte at a time; the body must come out the same.
fn body_bytewise(
    framing: Framing,
    input: &[u8],
) -> Result<(Vec<u8>, Option<HeaderMap>), InlineError> {
    let mut d = Decoder::new(framing);
    let mut buf = BytesMut::new();
    let mut data = Vec::new();
    let mut trailers = None;
    let mut fed = 0;
    for _ in 0..100_000 {
        match d.decode(&mut buf, fed == input.len(), LIMIT)? {
            Decoded::Data(b) => data.extend_from_slice(&b),
            Decoded::Trailers(t) => trailers = Some(t),
            Decoded::End => return Ok((data, trailers)),
            Decoded::More => {
                buf.extend_from_slice(&input[fed..=fed]);
                fed += 1;
            }
        }
    }
    panic!("no end")
}

#[test]
fn request_heads_are_written_in_one_piece() {
    let (mut parts, ()) = http::Request::get("/a?b=1").body(()).unwrap().into_parts();
    parts.headers.insert("host", "x".parse().unwrap());
    let mut out = Vec::new();
    encode_request(&parts, &Added::default(), &mut out);
    assert_eq!(out, b"GET /a?b=1 HTTP/1.1\r\nhost: x\r\n\r\n");
    // Added fields follow the map's.
    static XFF: http::HeaderName = http::HeaderName::from_static("x-forwarded-for");
    static XFP: http::HeaderName = http::HeaderName::from_static("x-forwarded-proto");
    let (ip, proto) = (
        http::HeaderValue::from_static("10.0.0.1"),
        http::HeaderValue::from_static("http"),
    );
    let mut added = Added::default();
    assert!(added.push(&XFF, &ip) && added.push(&XFP, &proto) && added.push(&XFF, &ip));
    assert!(!added.push(&XFP, &proto), "three at most");
    let mut out = Vec::new();
    encode_request(&parts, &added, &mut out);
    assert_eq!(
        String::from_utf8(out).unwrap(),
        "GET /a?b=1 HTTP/1.1\r\nhost: x\r\nx-forwarded-for: 10.0.0.1\r\n\
         x-forwarded-proto: http\r\nx-forwarded-for: 10.0.0.1\r\n\r\n"
    );
    let mut map = parts.headers.clone();
    added.insert_into(&mut map);
    assert_eq!(map["x-forwarded-proto"], "http");
    assert_eq!(added.iter().count(), 0, "inserted, then forgotten");
    for (m, zero) in [
        ("POST", true),
        ("PUT", true),
        ("PATCH", true),
        ("PURGE", true),
        ("DELETE", false),
        ("HEAD", false),
    ] {
        let (parts, ()) = http::Request::builder()
            .method(m)
            .uri("/")
            .body(())
            .unwrap()
            .into_parts();
        let mut out = Vec::new();
        encode_request(&parts, &Added::default(), &mut out);
        let text = String::from_utf8(out).unwrap();
        assert_eq!(text.contains("content-length: 0\r\n"), zero, "{m}: {text}");
    }
}

#[test]
fn content_length_framing() {
    let (h, rest) = final_head(
        b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX: a b\r\n\r\nhello",
        false,
    );
    assert_eq!(h.framing, Framing::Length(5));
    assert!(h.reusable);
    assert_eq!(h.response.headers()["x"], "a b");
    assert_eq!(body(h.framing, &rest, false).unwrap().0, b"hello");
    assert_eq!(body_bytewise(h.framing, b"hello").unwrap().0, b"hello");
    // Identical values in a list are one value.
    let (h, _) = final_head(
        b"HTTP/1.1 200 OK\r\nContent-Length: 3, 3\r\nContent-Length: 3\r\n\r\n",
        false,
    );
    assert_eq!(h.framing, Framing::Length(3));
    for bad in [
        "3, 4",
        "-1",
        "+3",
        "0x10",
        "",
        "1 2",
        "99999999999999999999",
    ] {
        let raw = format!("HTTP/1.1 200 OK\r\nContent-Length: {bad}\r\n\r\n");
        assert!(matches!(head(&raw), Err(InlineError::Head(_))), "{bad:?}");
    }
    let raw = "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n";
    assert!(matches!(head(raw), Err(InlineError::Head(_))));
    // Cut short: EOF before the announced end.
    assert!(matches!(
        body(Framing::Length(5), b"hel", true),
        Err(InlineError::Eof)
    ));
}

#[test]
fn chunked_framing_with_extensions_and_trailers() {
    let raw = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n";
    let (h, _) = final_head(raw, false);
    assert_eq!(h.framing, Framing::Chunked);
    assert!(h.reusable);
    let chunks = b"5;name=value\r\nhello\r\n1 ; a\r\n \r\nA\r\n0123456789\r\n0\r\nX-Sum: 42\r\nX-B: b\r\n\r\n";
    for (data, trailers) in [
        body(Framing::Chunked, chunks, false).unwrap(),
        body_bytewise(Framing::Chunked, chunks).unwrap(),
    ] {
        assert_eq!(data, b"hello 0123456789");
        let t = trailers.unwrap();
        assert_eq!(t["x-sum"], "42");
        assert_eq!(t["x-b"], "b");
    }
    let (data, trailers) = body(Framing::Chunked, b"3\r\nabc\r\n0\r\n\r\n", false).unwrap();
    assert_eq!((data.as_slice(), trailers), (&b"abc"[..], None));
    // Content-Length beside chunked: ignored, and no reuse.
    let (h, _) = final_head(
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n",
        false,
    );
    assert_eq!((h.framing, h.reusable), (Framing::Chunked, false));
    // Transfer-Encoding not ending in chunked: until close.
    let (h, _) = final_head(
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n",
        false,
    );
    assert_eq!((h.framing, h.reusable), (Framing::Close, false));
    // The last of several Transfer-Encoding lines decides, whatever case.
    let (h, _) = final_head(
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\ntransfer-encoding: gzip\r\n\r\n",
        false,
    );
    assert_eq!((h.framing, h.reusable), (Framing::Close, false));
    let (h, _) = final_head(
        b"HTTP/1.1 200 OK\r\nTRANSFER-ENCODING: gzip\r\nTransfer-Encoding:  CHUNKED \r\n\r\n",
        false,
    );
    assert_eq!((h.framing, h.reusable), (Framing::Chunked, true));
}

#[test]
fn malformed_chunks_are_errors() {
    let cases: [&[u8]; 10] = [
        b"g\r\nx\r\n0\r\n\r\n",
        b"\r\n",
        b"-1\r\nx\r\n",
        b"1ffffffffffffffff\r\n",
        b"10000000000000000\r\n",
        b"3\nabc\r\n0\r\n\r\n",
        b"3\r\nabcX\r\n0\r\n\r\n",
        b"3\r\nabc\n0\r\n\r\n",
        b"3 x\r\nabc\r\n0\r\n\r\n",
        b"3;a\rb\r\nabc\r\n0\r\n\r\n",
    ];
    for c in cases {
        let r = body(Framing::Chunked, c, false);
        assert!(
            matches!(r, Err(InlineError::Chunk(_))),
            "{:?}: {r:?}",
            String::from_utf8_lossy(c)
        );
    }
    let long = [b"1;".as_slice(), &[b'a'; MAX_CHUNK_LINE]].concat();
    assert!(matches!(
        body(Framing::Chunked, &long, false),
        Err(InlineError::Chunk(_))
    ));
    // Cut short.
    assert!(matches!(
        body(Framing::Chunked, b"5\r\nhel", true),
        Err(InlineError::Eof)
    ));
    assert!(matches!(
        body(Framing::Chunked, b"0\r\nX: 1\r\n", true),
        Err(InlineError::Eof)
    ));
    // A trailer section over the limit.
    let big = format!("0\r\nX: {}\r\n\r\n", "a".repeat(LIMIT));
    assert!(matches!(
        body(Framing::Chunked, big.as_bytes(), false),
        Err(InlineError::TooLarge(_))
    ));
}

#[test]
fn close_delimited_and_bodiless_responses() {
    let (h, rest) = final_head(b"HTTP/1.1 200 OK\r\n\r\nall of it", false);
    assert_eq!((h.framing, h.reusable), (Framing::Close, false));
    assert_eq!(body(h.framing, &rest, true).unwrap().0, b"all of it");
    for (raw, is_head) in [
        (&b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n"[..], true),
        (b"HTTP/1.1 204 No Content\r\n\r\n", false),
        (
            b"HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n",
            false,
        ),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", false),
    ] {
        let (h, _) = final_head(raw, is_head);
        assert_eq!(
            h.framing,
            Framing::Empty,
            "{}",
            String::from_utf8_lossy(raw)
        );
        assert!(h.reusable);
        assert!(Decoder::new(h.framing).is_done());
    }
}

#[test]
fn connection_reuse_follows_version_and_connection() {
    let reusable = |raw: &[u8]| final_head(raw, false).0.reusable;
    assert!(!reusable(
        b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"
    ));
    assert!(!reusable(
        b"HTTP/1.1 200 OK\r\nConnection: x, Close\r\nContent-Length: 0\r\n\r\n"
    ));
    assert!(!reusable(b"HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n"));
    assert!(reusable(
        b"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n"
    ));
    assert_eq!(
        final_head(b"HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n", false)
            .0
            .response
            .version(),
        Version::HTTP_10
    );
}

#[test]
fn interim_responses_are_skipped_but_101_fails() {
    let raw = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 102 Processing\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok";
    let (h, rest) = final_head(raw, false);
    assert_eq!(h.response.status(), StatusCode::CREATED);
    assert!(h.response.headers().get("link").is_none());
    assert_eq!(&rest[..], b"ok");
    assert!(matches!(
        head("HTTP/1.1 101 Switching Protocols\r\n\r\n"),
        Err(InlineError::Head(_))
    ));
}

#[test]
fn heads_over_the_limits_are_too_large() {
    let big = format!("HTTP/1.1 200 OK\r\nX: {}\r\n\r\n", "a".repeat(LIMIT));
    assert!(matches!(head(&big), Err(InlineError::TooLarge(_))));
    // Partial, but already over the limit.
    assert!(matches!(
        head(&big[..LIMIT + 10]),
        Err(InlineError::TooLarge(_))
    ));
    let many: String = (0..101).map(|i| format!("X-{i}: v\r\n")).collect();
    let raw = format!("HTTP/1.1 200 OK\r\n{many}\r\n");
    assert!(matches!(head(&raw), Err(InlineError::TooLarge(_))));
    let hundred: String = (0..100).map(|i| format!("X-{i}: v\r\n")).collect();
    assert!(matches!(
        head(&format!(
            "HTTP/1.1 200 OK\r\n{hundred}Content-Length: 0\r\n\r\n"
        )),
        Err(InlineError::TooLarge(_))
    ));
    assert!(matches!(
        head(&format!("HTTP/1.1 200 OK\r\n{hundred}\r\n")),
        Ok(Parsed::Final(_))
    ));
}

#[test]
fn malformed_heads_are_errors() {
    for raw in [
        "HTTP/1.1 2000 OK\r\n\r\n",
        "HTTP/2.0 200 OK\r\n\r\n",
        "hello\r\n\r\n",
        "HTTP/1.1 200 OK\r\nBad Name: x\r\n\r\n",
        "HTTP/1.1 200 OK\r\nX: a\0b\r\n\r\n",
    ] {
        assert!(head(raw).is_err(), "{raw:?}");
    }
}

#[test]
fn a_head_split_across_reads_parses_the_same() {
    let raw = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\nX-Empty:\r\n\r\n";
    let mut buf = BytesMut::new();
    let mut result = None;
    for (i, b) in raw.iter().enumerate() {
        buf.extend_from_slice(&[*b]);
        match parse_head(&mut buf, LIMIT, false, false).unwrap() {
            Parsed::Partial => assert!(i + 1 < raw.len()),
            Parsed::Final(h) => result = Some(h),
            Parsed::Interim => panic!("interim"),
        }
    }
    let h = result.unwrap();
    assert!(buf.is_empty());
    assert_eq!(h.framing, Framing::Chunked);
    assert_eq!(h.response.headers()["content-type"], "text/plain");
    assert_eq!(h.response.headers()["x-empty"], "");
}

#[test]
fn raw_heads_leave_the_map_empty_where_the_head_allows() {
    let parse = |raw: &str| match parse_head(&mut BytesMut::from(raw), LIMIT, false, true) {
        Ok(Parsed::Final(h)) => h,
        other => panic!("{other:?}"),
    };
    let h = parse("HTTP/1.1 200 OK\r\nX-A: 1\r\nContent-Length: 3\r\n\r\nabc");
    assert!(h.raw.is_some());
    assert!(h.response.headers().is_empty());
    assert_eq!(h.framing, Framing::Length(3));
    // Framing is read from the raw fields all the same.
    let h = parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n");
    assert!(h.raw.is_some());
    assert_eq!(h.framing, Framing::Chunked);
    assert!(!h.reusable);
    // Statuses whose Retry-After the attempt reads, and a Connection that
    // names fields to remove, get a map.
    for raw in [
        "HTTP/1.1 503 Service Unavailable\r\nRetry-After: 5\r\nContent-Length: 0\r\n\r\n",
        "HTTP/1.1 429 Too Many Requests\r\nRetry-After: 5\r\nContent-Length: 0\r\n\r\n",
        "HTTP/1.1 200 OK\r\nConnection: x-private\r\nX-Private: 1\r\nContent-Length: 0\r\n\r\n",
    ] {
        let h = parse(raw);
        assert!(h.raw.is_none(), "{raw:?}");
        assert!(!h.response.headers().is_empty(), "{raw:?}");
    }
    // Without asking, always a map.
    let Ok(Parsed::Final(h)) = head("HTTP/1.1 200 OK\r\nX-A: 1\r\nContent-Length: 0\r\n\r\n")
    else {
        panic!("not final");
    };
    assert!(h.raw.is_none());
    assert_eq!(h.response.headers()["x-a"], "1");
}
