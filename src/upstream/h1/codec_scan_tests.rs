//! The one-pass scan of a response head (`RawHead::scan`) against
//! httparse: on generated heads, `parse_head` and `parse_head_httparse`
//! give the same result, and the usual heads do take the scan.

use super::*;
use crate::wire::lines::{Gen, Pieces};

/// A raw head as written, with and without `Content-Length`; its
/// `Content-Length` lines and value; whether it has a `Date`.
type RawSeen = (String, String, (u32, Option<u64>), bool);

/// What a parse gave, in comparable form.
#[derive(Debug, PartialEq)]
enum Seen {
    Partial,
    Interim,
    Error(String),
    Final {
        status: u16,
        version: Version,
        framing: Framing,
        reusable: bool,
        map: Vec<(String, Vec<u8>)>,
        raw: Option<RawSeen>,
    },
}

fn seen(r: Result<Parsed, InlineError>) -> Seen {
    match r {
        Ok(Parsed::Partial) => Seen::Partial,
        Ok(Parsed::Interim) => Seen::Interim,
        Err(e) => Seen::Error(e.to_string()),
        Ok(Parsed::Final(h)) => {
            let written = |raw: &wire::RawHead, skip| {
                let mut out = BytesMut::new();
                raw.write(&mut out, skip);
                String::from_utf8_lossy(&out).into_owned()
            };
            Seen::Final {
                status: h.response.status().as_u16(),
                version: h.response.version(),
                framing: h.framing,
                reusable: h.reusable,
                map: h
                    .response
                    .headers()
                    .iter()
                    .map(|(n, v)| (n.to_string(), v.as_bytes().to_vec()))
                    .collect(),
                raw: h.raw.as_ref().map(|raw| {
                    (
                        written(raw, false),
                        written(raw, true),
                        raw.lengths(),
                        raw.has_date(),
                    )
                }),
            }
        }
    }
}

/// Both parsers over `head`, up to three heads deep (interim heads), and
/// whether the scan read the first one.
fn compare(head: &[u8], limit: usize, head_request: bool) -> bool {
    let took_scan = wire::RawHead::scan(head, MAX_HEADERS).is_some();
    let (mut ours, mut theirs) = (BytesMut::from(head), BytesMut::from(head));
    for _ in 0..3 {
        let a = seen(parse_head(&mut ours, limit, head_request, true));
        let b = seen(parse_head_httparse(&mut theirs, limit, head_request, true));
        assert_eq!(a, b, "head {:?}", String::from_utf8_lossy(head));
        assert_eq!(ours, theirs, "rest of {:?}", String::from_utf8_lossy(head));
        if a != Seen::Interim {
            break;
        }
    }
    took_scan
}

#[test]
fn the_usual_heads_take_the_scan_and_parse_as_with_httparse() {
    for head in [
        "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\nx-backend: 19101\r\n\
         content-length: 100\r\ndate: Sun, 22 Nov 2026 17:54:43 GMT\r\n\r\nabc",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: keep-alive\r\n\r\n",
        "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n",
        "HTTP/1.0 404 Not Found\r\n\r\n",
        "HTTP/1.1 204\r\nX-Empty:\r\nX-Spaces:   \r\nX-A:b\r\n\r\n",
        "HTTP/1.1 304 Not Modified\r\nETag: \"x\"\r\nContent-Length: 12\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\nContent-Length: 3\r\n\r\nabc",
        "HTTP/1.1 302 Found\r\nLocation: /a?b=c d\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\n\
         Connection: close\r\nContent-Length: 0\r\n\r\n",
    ] {
        for head_request in [false, true] {
            assert!(compare(head.as_bytes(), 8192, head_request), "{head:?}");
        }
    }
}

#[test]
fn other_heads_are_left_to_httparse() {
    for head in [
        "\r\nHTTP/1.1 200 OK\r\n\r\n",
        "HTTP/1.1 200 OK\nX-A: 1\r\n\r\n",
        "HTTP/1.1 200 OK\r\nX-A: 1\n\r\n",
        "HTTP/1.1 200 OK\r\nX-A:\t1\r\n\r\n",
        "HTTP/1.1 200 OK\r\nX-A: 1 \r\n\r\n",
        "HTTP/1.1 200 OK\r\nX-A: \u{e9}\r\n\r\n",
        "HTTP/1.1 200 O\tK\r\n\r\n",
        "HTTP/1.1 200 OK\r\nX-A: 1\r\n folded\r\n\r\n",
        "HTTP/1.1 200 OK\r\nX A: 1\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 5, 5\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n",
        "HTTP/1.1 200 OK\r\nConnection: x-private\r\nX-Private: 1\r\n\r\n",
        "HTTP/1.1 200 OK\r\nX-A: 1\r\n",
        "HTTP/1.1 099 Odd\r\n\r\n",
        "HTTP/2.0 200 OK\r\n\r\n",
    ] {
        assert!(!compare(head.as_bytes(), 8192, false), "{head:?}");
    }
    // Statuses the scan reads but leaves to httparse.
    for head in [
        "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\n\r\n",
        "HTTP/1.1 503 Busy\r\nRetry-After: 5\r\nContent-Length: 0\r\n\r\n",
        "HTTP/1.1 429 Slow Down\r\nRetry-After: 5\r\nContent-Length: 0\r\n\r\n",
    ] {
        compare(head.as_bytes(), 8192, false);
    }
    // Over the limit: httparse's error.
    compare(b"HTTP/1.1 200 OK\r\nX-A: 1\r\n\r\n", 10, false);
}

/// A head of pieces that are each usual or not, sometimes with one byte
/// changed; half of them of usual pieces only (the first few of each
/// list), unchanged.
fn generated(g: &mut Gen) -> Vec<u8> {
    const STATUS: &[&[u8]] = &[
        b"HTTP/1.1 200 OK",
        b"HTTP/1.1 200 OK",
        b"HTTP/1.0 200 OK",
        b"HTTP/1.1 204",
        b"HTTP/1.1 204 ",
        b"HTTP/1.1 304 Not Modified",
        b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK",
        b"HTTP/1.1 503 Busy",
        b"HTTP/1.1 429 Slow",
        b"HTTP/1.1 101 Up",
        b"HTTP/1.1 099 Low",
        b"HTTP/1.1 999 High",
        b"HTTP/1.1 20 Short",
        b"HTTP/1.1  200 Two spaces",
        b"HTTP/2.0 200 OK",
        b"HTTP/1.1 200 O\tK",
        b"HTTP/1.1 200 \xe9",
        b"\r\nHTTP/1.1 200 OK",
        b"HTTP/1.1 102 Processing\r\n\r\nHTTP/1.1 200 OK",
        b"HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 200 OK",
        b"HTTP/1.1 199 Odd",
    ];
    const NAMES: &[&[u8]] = &[
        b"Content-Type",
        b"x-backend",
        b"Content-Length",
        b"content-length",
        b"Date",
        b"Connection",
        b"Transfer-Encoding",
        b"Keep-Alive",
        b"Close",
        b"TE",
        b"Set-Cookie",
        b"X-A",
        b"X~!#$%&'*+-.^_`|",
        b"bad name",
        b"",
        b"x\x7fy",
        b"x\xe9",
        b"Upgrade",
        b"CONTENT-LENGTH",
        b"transfer-encoding",
        b"Proxy-Connection",
        b"Trailer",
        b"keep-alive",
        b"connectioN",
    ];
    const VALUES: &[&[u8]] = &[
        b"Sun, 22 Nov 2026 17:54:43 GMT",
        b"a-longer-value-that-spans-several-words-of-eight-bytes",
        b"text/plain",
        b"100",
        b"0",
        b"5, 5",
        b"+5",
        b"99999999999999999999",
        b"abc",
        b"chunked",
        b"gzip, chunked",
        b"chunked, gzip",
        b"close",
        b"keep-alive",
        b"Keep-Alive, close",
        b"x-private",
        b",",
        b"",
        b"  ",
        b"a b",
        b"tab\there",
        b"obs\xe9",
        b"del\x7f",
        b"nul\x00",
        b"trailing ",
        b"005",
        b"1844674407370955161",
        b"5,5",
        b" , close ,",
        b"close,x",
        b"Chunked",
    ];
    g.head(
        &Pieces {
            first: (STATUS, 6),
            names: (NAMES, 13),
            values: (VALUES, 20),
            odd: b"\r\n\t :\x00\x7f\x80\xffaZ0",
        },
        b"body",
    )
}

#[test]
fn generated_heads_parse_as_with_httparse() {
    let mut g = Gen(0x9e37_79b9_7f4a_7c15);
    let (mut scanned, mut left) = (0, 0);
    for _ in 0..20_000 {
        let head = generated(&mut g);
        let limit = if g.chance(10) { 24 } else { 8192 };
        if compare(&head, limit, g.chance(20)) {
            scanned += 1;
        } else {
            left += 1;
        }
    }
    // Both paths are exercised, not just one.
    assert!(
        scanned > 2_000 && left > 2_000,
        "{scanned} scanned, {left} left"
    );
}

#[test]
fn limits_prefixes_and_long_names_parse_as_with_httparse() {
    let usual = "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\nx-backend: 1\r\n\
                 content-length: 3\r\ndate: Sun, 22 Nov 2026 17:54:43 GMT\r\n\r\nabc";
    let head_len = usual.len() - 3;
    // Every prefix: not whole yet (or cut between CR and LF), as httparse.
    for k in 0..usual.len() {
        compare(&usual.as_bytes()[..k], 8192, false);
    }
    // The byte limit at the head's length and either side of it.
    for limit in [head_len - 1, head_len, head_len + 1] {
        compare(usual.as_bytes(), limit, false);
        let r = seen(parse_head(&mut BytesMut::from(usual), limit, false, true));
        assert_eq!(matches!(r, Seen::Error(_)), limit < head_len, "{limit}");
    }
    // The field limit: 100 fields are read, 101 are httparse's error.
    for n in [99, 100, 101] {
        let mut head = String::from("HTTP/1.1 200 OK\r\n");
        for i in 1..n {
            head.push_str(&format!("x-{i}: v\r\n"));
        }
        head.push_str("Content-Length: 0\r\n\r\n");
        assert_eq!(
            compare(head.as_bytes(), 1 << 20, false),
            n <= MAX_HEADERS,
            "{n}"
        );
    }
    // Names up to 64 KiB are read; longer ones go to httparse (and fail
    // as a map's name would).
    for n in [65_535, 65_536] {
        let head = format!("HTTP/1.1 200 OK\r\n{}: v\r\n\r\n", "a".repeat(n));
        assert_eq!(compare(head.as_bytes(), 1 << 20, false), n < 65_536, "{n}");
    }
}
