//! Header rewriting (`proxy::forward`) against `tests/oracle/headers.rs`.

use std::net::{IpAddr, SocketAddr};

use http::header::{HeaderName, HeaderValue};
use http::{Method, StatusCode, Uri, Version};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::select;
use switchyard::routing::HeaderOps;

use crate::oracle::headers::{
    check_prepare_request, check_prepare_response, check_upstream_uri, RequestHead,
};

const NAMES: &[&str] = &[
    "x-a",
    "x-secret",
    "host",
    "connection",
    "keep-alive",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "x-forwarded-for",
    "x-forwarded-proto",
    "x-forwarded-host",
    "content-length",
];
const VALUES: &[&str] = &[
    "",
    "1",
    "close",
    "keep-alive",
    "upgrade",
    "Upgrade",
    "keep-alive, Upgrade",
    "close, x-secret",
    "x-a,x-secret",
    "te",
    "host",
    "x-forwarded-for",
    "trailers",
    "gzip, trailers;q=1",
    "Trailers",
    "websocket",
    "chunked",
    "1.1.1.1",
    " 2.2.2.2 ",
    "example.com",
    "EXAMPLE.com:8080",
];

fn line() -> impl Strategy<Value = (HeaderName, HeaderValue)> {
    let value = prop_oneof![
        9 => select(VALUES).prop_map(|v| v.as_bytes().to_vec()),
        1 => vec(any::<u8>(), 0..8),
    ];
    (select(NAMES), value).prop_filter_map("invalid header value", |(n, v)| {
        Some((
            HeaderName::from_static(n),
            HeaderValue::from_bytes(&v).ok()?,
        ))
    })
}

fn target() -> impl Strategy<Value = Uri> {
    prop_oneof![
        "/(a|v1|\\.\\.|%2e)?(/(a|b))?/?(\\?(a=1|x=/v1/\\.\\.))?",
        "http://(a|example\\.com)(:8080)?/(a|v1)(/b)?(\\?q)?",
        "(a|example\\.com):443",
        Just("*".to_owned()),
    ]
    .prop_map(|t| t.parse().unwrap())
}

fn head() -> impl Strategy<Value = RequestHead> {
    (
        select(&["GET", "POST", "CONNECT", "OPTIONS"][..]),
        target(),
        select(&[Version::HTTP_10, Version::HTTP_11, Version::HTTP_2][..]),
        vec(line(), 0..8),
    )
        .prop_map(|(m, uri, version, headers)| RequestHead {
            method: Method::from_bytes(m.as_bytes()).unwrap(),
            uri,
            version,
            headers,
        })
}

fn ops() -> impl Strategy<Value = HeaderOps> {
    (vec(line(), 0..2), vec(line(), 0..2)).prop_map(|(set, remove)| HeaderOps {
        set,
        remove: remove.into_iter().map(|(n, _)| n).collect(),
    })
}

fn peer() -> impl Strategy<Value = SocketAddr> {
    prop_oneof![
        any::<[u8; 4]>().prop_map(IpAddr::from),
        any::<[u8; 16]>().prop_map(IpAddr::from),
    ]
    .prop_map(|ip| SocketAddr::new(ip, 40000))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(super::CASES))]

    #[test]
    fn request_heads_are_rewritten_as_documented(
        head in head(), ops in ops(), peer in peer(), tls in any::<bool>(),
    ) {
        check_prepare_request(&head, &ops, peer, tls);
    }

    #[test]
    fn response_heads_are_cleaned_as_documented(
        status in prop_oneof![Just(101u16), Just(200), 100u16..600],
        lines in vec(line(), 0..8),
        ops in ops(),
    ) {
        check_prepare_response(StatusCode::from_u16(status).unwrap(), &lines, &ops);
    }

    #[test]
    fn upstream_targets_keep_path_and_query(
        uri in target(),
        base in select(&["", "/api", "/a/b"][..]),
        strip in proptest::option::of("/(a|v1)(/b)?"),
    ) {
        check_upstream_uri(&uri, base, strip.as_deref());
    }
}

/// Found by `request_heads_are_rewritten_as_documented`: with two Host
/// lines, both went upstream, though the request was routed by the first,
/// so an upstream reading the last could serve another site's route.
#[test]
fn regression_second_host_line_is_not_forwarded() {
    let head = RequestHead {
        method: Method::GET,
        uri: Uri::from_static("/"),
        version: Version::HTTP_11,
        headers: vec![
            (http::header::HOST, HeaderValue::from_static("a.example")),
            (http::header::HOST, HeaderValue::from_static("b.internal")),
        ],
    };
    let peer = SocketAddr::from(([192, 0, 2, 1], 40000));
    check_prepare_request(&head, &HeaderOps::default(), peer, false);
}

/// Found by `request_heads_are_rewritten_as_documented` (2026-11-22):
/// a `Connection` naming Host removes the Host line with the hop-by-hop
/// fields, after the pass over the names had found it to be the routed
/// host already, so it was not put back and the request went upstream
/// without a Host.
#[test]
fn regression_host_named_in_connection_is_put_back() {
    let head = RequestHead {
        method: Method::GET,
        uri: Uri::from_static("/"),
        version: Version::HTTP_10,
        headers: vec![
            (http::header::HOST, HeaderValue::from_static("a.example")),
            (http::header::CONNECTION, HeaderValue::from_static("host")),
        ],
    };
    let peer = SocketAddr::from(([192, 0, 2, 1], 40000));
    check_prepare_request(&head, &HeaderOps::default(), peer, false);
}

/// Found by the `header_rewrite` fuzz target: an absolute-form target
/// with a fragment and no path (`GET http://[::1]:80# HTTP/1.1`) has an
/// empty path-and-query, and went upstream as an empty request target.
#[test]
fn regression_absolute_target_without_path_goes_upstream_as_slash() {
    for target in [
        "http://[::1]:80#",
        "http://example.com#x",
        "http://example.com",
    ] {
        check_upstream_uri(&target.parse().unwrap(), "", None);
    }
}
