//! The one-pass scan of a request head against httparse: on generated
//! heads, `layout` gives what it gives with httparse alone, and the usual
//! heads do take the scan.

use super::*;
use crate::wire::lines::{Gen, Pieces};

/// What `layout` gave, with the fields' names and spans when it served
/// the head.
type Seen = (Result<Option<Layout>, ()>, Vec<(String, wire::Span)>);

fn seen(head: &[u8], max_headers: usize, scan_first: bool) -> Seen {
    let mut fields = wire::Fields::new();
    let r = layout_with(head, max_headers, &mut fields, scan_first);
    let fields = match r {
        Ok(Some(_)) => fields.iter().map(|(n, at)| (n.to_string(), *at)).collect(),
        _ => Vec::new(),
    };
    (r, fields)
}

/// Both ways over `head`; whether the scan read it.
fn compare(head: &[u8], max_headers: usize) -> bool {
    let ours = seen(head, max_headers, true);
    let theirs = seen(head, max_headers, false);
    assert_eq!(ours, theirs, "head {:?}", String::from_utf8_lossy(head));
    scan(head, max_headers, &mut wire::Fields::new()).is_some()
}

#[test]
fn the_usual_heads_take_the_scan_and_read_as_with_httparse() {
    for head in [
        "GET / HTTP/1.1\r\nHost: 127.0.0.1:19100\r\n\r\n",
        "GET /a/b?c=1&d=%20 HTTP/1.1\r\nHost: x\r\nX-Two: 1\r\nx-two: 2\r\n\r\nGET / HTTP/1.1\r\n",
        "POST /x HTTP/1.1\r\nConnection: Close\r\nContent-Length: 0\r\n\r\n",
        "DELETE /x HTTP/1.1\r\nConnection: keep-alive\r\nX-Empty:\r\nX-Spaces:  \r\n\r\n",
        "GET /ws HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n",
        "CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n",
        "GET http://a/ HTTP/1.1\r\nHost: a\r\n\r\n",
        "GET /a<b> HTTP/1.1\r\nHost: x\r\n\r\n",
        "M~!#$%&'*+-.^_`| /x HTTP/1.1\r\nUser-Agent: curl/8.0 (x; y)\r\n\r\n",
    ] {
        assert!(compare(head.as_bytes(), 100), "{head:?}");
    }
}

#[test]
fn other_heads_are_left_to_httparse() {
    for head in [
        "\r\nGET / HTTP/1.1\r\n\r\n",
        "GET / HTTP/1.0\r\n\r\n",
        "GET  / HTTP/1.1\r\n\r\n",
        "GET / HTTP/1.1\nHost: a\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: a\r\n\n",
        "GET / HTTP/1.1\r\nHost:\ta\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: a \r\n\r\n",
        "GET /\u{e9} HTTP/1.1\r\n\r\n",
        "GET / HTTP/1.1\r\nUser-Agent: \u{e9}\r\n\r\n",
        "GET / HTTP/1.1\r\nBad Name: x\r\n\r\n",
        "GET / HTTP/1.1\r\nX-A: 1\r\n folded\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: a\r\n",
        "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
    ] {
        assert!(!compare(head.as_bytes(), 100), "{head:?}");
    }
    // More fields than allowed: httparse's answer.
    assert!(!compare(b"GET / HTTP/1.1\r\na: 1\r\nb: 2\r\n\r\n", 1));
    assert!(compare(b"GET / HTTP/1.1\r\na: 1\r\nb: 2\r\n\r\n", 2));
}

/// A head of pieces that are each usual or not, sometimes with one byte
/// changed; half of them of usual pieces only (the first few of each
/// list), unchanged.
fn generated(g: &mut Gen) -> Vec<u8> {
    const LINES: &[&[u8]] = &[
        b"GET / HTTP/1.1",
        b"GET /a/b?c=d HTTP/1.1",
        b"POST /submit HTTP/1.1",
        b"HEAD /x HTTP/1.1",
        b"DELETE /a%20b HTTP/1.1",
        b"GET http://a/ HTTP/1.1",
        b"CONNECT a:443 HTTP/1.1",
        b"GET /a<b> HTTP/1.1",
        b"GET / HTTP/1.0",
        b"GET  / HTTP/1.1",
        b"GET / HTTP/1.1 ",
        b"GET /\xc3\xa9 HTTP/1.1",
        b"GET /\xe9 HTTP/1.1",
        b"G@T / HTTP/1.1",
        b" GET / HTTP/1.1",
        b"GET / HTTP/2.0",
        b"\r\nGET / HTTP/1.1",
    ];
    const NAMES: &[&[u8]] = &[
        b"Host",
        b"User-Agent",
        b"Accept",
        b"Connection",
        b"Content-Length",
        b"X-Forwarded-For",
        b"Cookie",
        b"Expect",
        b"Transfer-Encoding",
        b"Upgrade",
        b"TE",
        b"X~!#$%&'*+-.^_`|",
        b"bad name",
        b"",
        b"x\x7fy",
        b"x\xe9",
    ];
    const VALUES: &[&[u8]] = &[
        b"127.0.0.1:19100",
        b"curl/8.0 (x86_64; linux)",
        b"*/*",
        b"keep-alive",
        b"close",
        b"0",
        b"5",
        b"chunked",
        b"100-continue",
        b"a=1; b=2",
        b"",
        b"  ",
        b"a-longer-value-that-spans-several-words-of-eight-bytes",
        b"tab\there",
        b"obs\xe9",
        b"del\x7f",
        b"nul\x00",
        b"trailing ",
    ];
    g.head(
        &Pieces {
            first: (LINES, 5),
            names: (NAMES, 12),
            values: (VALUES, 13),
            odd: b"\r\n\t :/\x00\x7f\x80\xffaZ0",
        },
        b"GET / HTTP/1.1\r\n",
    )
}

#[test]
fn generated_heads_read_as_with_httparse() {
    let mut g = Gen(0x2545_f491_4f6c_dd1d);
    let (mut scanned, mut left) = (0, 0);
    for _ in 0..20_000 {
        let head = generated(&mut g);
        let max_headers = if g.chance(10) { 2 } else { 100 };
        if compare(&head, max_headers) {
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
fn limits_prefixes_and_long_names_read_as_with_httparse() {
    let usual = "GET /a?b=c HTTP/1.1\r\nHost: 127.0.0.1:19100\r\nUser-Agent: x/1\r\n\r\n";
    // Every prefix: not whole yet (or cut between CR and LF), as httparse.
    for k in 0..usual.len() {
        compare(&usual.as_bytes()[..k], 100);
    }
    // Field limits around httparse's 64 and `max_headers`.
    for n in [63, 64, 65] {
        let mut head = String::from("GET / HTTP/1.1\r\n");
        for i in 0..n {
            head.push_str(&format!("x-{i}: v\r\n"));
        }
        head.push_str("\r\n");
        for max in [0, n - 1, n, n + 1, 100] {
            let scanned = compare(head.as_bytes(), max);
            assert_eq!(scanned, n <= max.min(MAX_HEADERS), "{n} fields, {max}");
        }
    }
    // Names up to 64 KiB are read; a longer one goes to httparse.
    for n in [65_535, 65_536] {
        let head = format!("GET / HTTP/1.1\r\n{}: v\r\n\r\n", "a".repeat(n));
        assert_eq!(compare(head.as_bytes(), 100), n < 65_536, "{n}");
    }
}
