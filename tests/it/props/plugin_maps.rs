//! The proxy-wasm header maps (`plugin::HeaderMaps`) against
//! `tests/oracle/plugin_maps.rs`.

use http::header::{HeaderName, HeaderValue};
use http::{Method, StatusCode, Uri};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::select;

use crate::oracle::plugin_maps::{check_calls, MapCall, Request, Response};

const KEYS: &[&str] = &[
    ":method",
    ":path",
    ":authority",
    ":scheme",
    ":status",
    "host",
    "Host",
    "x-a",
    "X-A",
    "",
    ":x",
    "a b",
];
const VALUES: &[&str] = &[
    "",
    "GET",
    "get",
    "/",
    "/a?b",
    "*",
    "a",
    "http://x/y",
    "example.com:80",
    "200",
    " 204 ",
    "101",
    "1000",
    "a\r\nb",
];

fn bytes(choices: &'static [&'static str]) -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        9 => select(choices).prop_map(|s| s.as_bytes().to_vec()),
        1 => vec(any::<u8>(), 0..6),
    ]
}

fn lines() -> impl Strategy<Value = Vec<(HeaderName, HeaderValue)>> {
    vec(
        (
            select(&["x-a", "host", "x-b"][..]),
            select(&["1", "", "a.example"][..]),
        )
            .prop_map(|(n, v)| (HeaderName::from_static(n), HeaderValue::from_static(v))),
        0..4,
    )
}

fn request() -> impl Strategy<Value = Request> {
    (
        select(&["GET", "POST", "OPTIONS"][..]),
        select(&["/", "/a?b", "http://example.com/x", "*"][..]),
        lines(),
    )
        .prop_map(|(m, uri, headers)| Request {
            method: Method::from_bytes(m.as_bytes()).unwrap(),
            uri: uri.parse::<Uri>().unwrap(),
            headers,
        })
}

fn response() -> impl Strategy<Value = Response> {
    (select(&[200u16, 204, 404, 599][..]), lines()).prop_map(|(s, headers)| Response {
        status: StatusCode::from_u16(s).unwrap(),
        headers,
    })
}

fn call() -> impl Strategy<Value = MapCall> {
    let map = select(&[0, 0, 2, 2, 1][..]);
    prop_oneof![
        map.clone().prop_map(MapCall::Pairs),
        (map.clone(), bytes(KEYS)).prop_map(|(m, k)| MapCall::Value(m, k)),
        (map.clone(), bytes(KEYS), bytes(VALUES), any::<bool>())
            .prop_map(|(m, k, v, r)| MapCall::Set(m, k, v, r)),
        (map.clone(), bytes(KEYS)).prop_map(|(m, k)| MapCall::Remove(m, k)),
        (map.clone(), vec(any::<u8>(), 0..24)).prop_map(|(m, d)| MapCall::SetRaw(m, d)),
        (map, vec((bytes(KEYS), bytes(VALUES)), 0..4)).prop_map(|(m, p)| MapCall::SetPairs(m, p)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(super::CASES))]

    #[test]
    fn header_map_calls_keep_maps_consistent(
        req in proptest::option::weighted(0.9, request()),
        resp in proptest::option::of(response()),
        calls in vec(call(), 1..10),
    ) {
        check_calls(req.as_ref(), resp.as_ref(), &calls);
    }
}

fn get(uri: &'static str, method: Method, headers: &[(&'static str, &'static str)]) -> Request {
    Request {
        method,
        uri: Uri::from_static(uri),
        headers: headers
            .iter()
            .map(|(n, v)| (HeaderName::from_static(n), HeaderValue::from_static(v)))
            .collect(),
    }
}

/// Found by `header_map_calls_keep_maps_consistent`: `OPTIONS *` reads as
/// `:path: *`, which writing the map back refused (after clearing it).
#[test]
fn regression_asterisk_path_writes_back() {
    let req = get("*", Method::OPTIONS, &[("x-a", "1")]);
    check_calls(Some(&req), None, &[MapCall::Pairs(0)]);
}

/// Found by `header_map_calls_keep_maps_consistent`: a `set_pairs` refused
/// for its second pair had already removed every header.
#[test]
fn regression_refused_set_pairs_changes_nothing() {
    let req = get("/", Method::GET, &[("x-a", "1")]);
    let pairs = vec![
        (b":method".to_vec(), b"GET".to_vec()),
        (b"a b".to_vec(), b"1".to_vec()),
    ];
    check_calls(Some(&req), None, &[MapCall::SetPairs(0, pairs)]);
}
