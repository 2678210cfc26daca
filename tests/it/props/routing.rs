//! The indexed route matcher agrees with trying routes in file order and
//! with the reference in `tests/oracle/routes.rs`; request paths normalise
//! as `tests/oracle/paths.rs` says.

use http::header::{HeaderName, HeaderValue};
use http::Method;
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::select;

use crate::oracle::paths::check_normalize_path;
use crate::oracle::routes::{check_routing, PathSpec, RequestSpec, RouteSpec};

/// Host labels; few, so that routes and requests collide.
const LABEL: &str = "(a|b|api|example|com|x-y|_s|0|A|Api)";
const SEGMENT: &str = "(|a|b|v1|v10|\\.|\\.\\.|%2e|%2E%2e|%61|%2f|%|%zz|é|a\\.b|A|\\*)";
const METHODS: &[&str] = &["GET", "get", "POST", "PUT", "DELETE", "CONNECT", "PURGE"];

/// Strings matching a regular expression.
fn re(pattern: &str) -> impl Strategy<Value = String> {
    proptest::string::string_regex(pattern).unwrap()
}

fn path() -> impl Strategy<Value = String> {
    prop_oneof![
        9 => re(&format!("/({SEGMENT}/){{0,3}}{SEGMENT}")),
        1 => any::<String>(),
    ]
}

fn host_entry() -> impl Strategy<Value = String> {
    prop_oneof![
        9 => re(&format!(" ?(\\*\\.)?{LABEL}(\\.{LABEL}){{0,2}}\\.? ?")),
        1 => any::<String>(),
    ]
}

fn request_host() -> impl Strategy<Value = Option<String>> {
    proptest::option::weighted(
        0.9,
        prop_oneof![
            8 => re(&format!("{LABEL}(\\.{LABEL}){{0,2}}\\.?(:[0-9]{{1,4}})?")),
            1 => Just("[::1]:80".to_owned()),
            1 => any::<String>(),
        ],
    )
}

fn route() -> impl Strategy<Value = RouteSpec> {
    let path_spec = prop_oneof![
        Just(PathSpec::Any),
        path().prop_map(PathSpec::Exact),
        path().prop_map(PathSpec::Prefix),
        select(&["^/v[0-9]+/", "a", "^/$", "(?i)^/API", "/b$", "("][..])
            .prop_map(|r| PathSpec::Regex(r.to_owned())),
    ];
    let method = select(METHODS).prop_map(str::to_owned);
    let header = (
        select(&["x-a", "X-A", "x-b"][..]).prop_map(str::to_owned),
        select(&["", "1", "2", "acme", "Acme"][..]).prop_map(str::to_owned),
    );
    (
        vec(host_entry(), 0..=2),
        path_spec,
        vec(method, 0..=2),
        vec(header, 0..=2),
    )
        .prop_map(|(hosts, path, methods, headers)| RouteSpec {
            hosts,
            path,
            methods,
            headers,
        })
}

fn request() -> impl Strategy<Value = RequestSpec> {
    let header = (
        select(&["x-a", "x-b", "x-c"][..]),
        select(&["", "1", "2", "acme", "Acme", "acme, 1"][..]),
    )
        .prop_map(|(n, v)| (HeaderName::from_static(n), HeaderValue::from_static(v)));
    (request_host(), path(), select(METHODS), vec(header, 0..=3)).prop_map(
        |(host, path, method, headers)| RequestSpec {
            host,
            path,
            method: Method::from_bytes(method.as_bytes()).unwrap(),
            headers,
        },
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(super::CASES))]

    #[test]
    fn paths_normalise_as_documented(path in prop_oneof![
        re("/([a.~/é]|%[0-9a-fA-F]{2}|%2[eEfF]|%|%[g-z])*"),
        any::<String>(),
    ]) {
        check_normalize_path(&path);
    }

    #[test]
    fn index_agrees_with_file_order_and_reference(
        routes in vec(route(), 1..10),
        requests in vec(request(), 1..12),
    ) {
        check_routing(&routes, &requests);
    }
}

/// The property is not vacuous: a known table routes known requests to
/// known routes, and an invalid one is recognised.
#[test]
fn check_routing_routes_known_requests() {
    let route = |hosts: &[&str], path: PathSpec| RouteSpec {
        hosts: hosts.iter().map(|h| (*h).to_owned()).collect(),
        path,
        methods: Vec::new(),
        headers: Vec::new(),
    };
    let routes = [
        route(&["API.example.com."], PathSpec::Prefix("/v1/".into())),
        route(&["*.example.com"], PathSpec::Any),
        route(&[], PathSpec::Exact("/a".into())),
    ];
    let req = |host: Option<&str>, path: &str| RequestSpec {
        host: host.map(str::to_owned),
        path: path.to_owned(),
        method: Method::GET,
        headers: Vec::new(),
    };
    let got = check_routing(
        &routes,
        &[
            req(Some("api.example.com:8080"), "/v1"),
            req(Some("api.example.com"), "/v10"),
            req(Some("example.com"), "/a"),
            req(None, "/b"),
        ],
    );
    assert_eq!(got, Some(vec![Some(0), Some(1), Some(2), None]));
    let bad = [route(&["*"], PathSpec::Any)];
    assert_eq!(check_routing(&bad, &[req(None, "/")]), None);
}
