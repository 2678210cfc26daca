use http::{HeaderMap, HeaderValue, Method};

use super::*;
use crate::config::load_str;

fn table(routes: &str) -> crate::config::Config {
    let text = format!(
        "version: 1\nlisteners: [{{name: web, listen: '127.0.0.1:0'}}]\npools: [{{name: p, endpoints: [{{name: e, url: 'http://127.0.0.1:1'}}]}}]\nroutes:\n{routes}"
    );
    load_str(&text).unwrap()
}

fn route_for(
    cfg: &crate::config::Config,
    host: Option<&str>,
    method: Method,
    path: &str,
    headers: &[(&str, &str)],
) -> Option<String> {
    let mut h = HeaderMap::new();
    for (k, v) in headers {
        h.insert(
            http::header::HeaderName::from_bytes(k.as_bytes()).unwrap(),
            HeaderValue::from_str(v).unwrap(),
        );
    }
    let host = host.and_then(normalize_host);
    let info = RequestInfo {
        host: host.as_deref(),
        path,
        method: &method,
        headers: &h,
    };
    match_request(&cfg.routes, &info).map(|id| cfg.routes.get(id).unwrap().name.to_string())
}

#[test]
fn every_matcher_and_file_order() {
    let cfg = table(
        "- {name: exact, match: {path: /exact}, pool: p}\n\
         - {name: host, match: {hosts: [api.example.com], path_prefix: /v1}, pool: p}\n\
         - {name: wild, match: {hosts: ['*.pay.example.com']}, pool: p}\n\
         - {name: post, match: {methods: [POST], path_prefix: /v1}, pool: p}\n\
         - {name: tenant, match: {headers: {x-tenant: acme}, path_prefix: /v1}, pool: p}\n\
         - {name: regex, match: {path_regex: '^/v[0-9]+/pay$'}, pool: p}\n\
         - {name: prefix, match: {path_prefix: /v1/payments}, pool: p}\n\
         - {name: root, match: {path_prefix: /}, pool: p}\n",
    );
    let g = Method::GET;
    assert_eq!(
        route_for(&cfg, None, g.clone(), "/exact", &[]).unwrap(),
        "exact"
    );
    assert_eq!(
        route_for(&cfg, None, g.clone(), "/exact/x", &[]).unwrap(),
        "root"
    );
    assert_eq!(
        route_for(&cfg, Some("API.Example.com:8080"), g.clone(), "/v1/x", &[]).unwrap(),
        "host"
    );
    assert_eq!(
        route_for(&cfg, Some("a.pay.example.com"), g.clone(), "/any", &[]).unwrap(),
        "wild"
    );
    assert_eq!(
        route_for(&cfg, Some("a.b.pay.example.com"), g.clone(), "/", &[]).unwrap(),
        "wild"
    );
    assert_eq!(
        route_for(&cfg, Some("pay.example.com"), g.clone(), "/", &[]).unwrap(),
        "root"
    );
    assert_eq!(
        route_for(&cfg, None, Method::POST, "/v1/x", &[]).unwrap(),
        "post"
    );
    assert_eq!(
        route_for(&cfg, None, g.clone(), "/v1/x", &[("x-tenant", "acme")]).unwrap(),
        "tenant"
    );
    assert_eq!(
        route_for(&cfg, None, g.clone(), "/v1/x", &[("x-tenant", "other")]).unwrap(),
        "root"
    );
    assert_eq!(
        route_for(&cfg, None, g.clone(), "/v2/pay", &[]).unwrap(),
        "regex"
    );
    assert_eq!(
        route_for(&cfg, None, g.clone(), "/v1/payments/42", &[]).unwrap(),
        "prefix"
    );
    assert_eq!(
        route_for(&cfg, None, g.clone(), "/v1/payments", &[]).unwrap(),
        "prefix"
    );
    // Whole segments only.
    assert_eq!(
        route_for(&cfg, None, g.clone(), "/v1/paymentsx", &[]).unwrap(),
        "root"
    );
    // A POST with the tenant header goes to the earlier route.
    assert_eq!(
        route_for(&cfg, None, Method::POST, "/v1/x", &[("x-tenant", "acme")]).unwrap(),
        "post"
    );
}

#[test]
fn no_match_without_catch_all() {
    let cfg = table("  - {name: a, match: {path_prefix: /a}, pool: p}\n");
    assert_eq!(route_for(&cfg, None, Method::GET, "/b", &[]), None);
    assert_eq!(route_for(&cfg, None, Method::GET, "/a/", &[]).unwrap(), "a");
}

#[test]
fn index_agrees_with_linear_scan() {
    // Many overlapping routes; compare the indexed lookup to a plain scan.
    let mut routes = String::new();
    let hosts = ["a.com", "*.b.com", "c.b.com"];
    for i in 0..120 {
        let m = match i % 6 {
            0 => format!("{{path_prefix: /p{}}}", i % 7),
            1 => format!("{{path: /p{}/x}}", i % 5),
            2 => format!("{{hosts: ['{}'], path_prefix: /p{}}}", hosts[i % 3], i % 4),
            3 => format!("{{hosts: ['{}']}}", hosts[(i / 2) % 3]),
            4 => format!("{{methods: [POST], path_prefix: /p{}}}", i % 3),
            _ => format!("{{path_regex: '^/p{}/'}}", i % 9),
        };
        routes.push_str(&format!("  - {{name: r{i}, match: {m}, pool: p}}\n"));
    }
    let cfg = table(&routes);
    let paths = [
        "/", "/p1", "/p1/x", "/p2/x/y", "/p3/", "/p10", "/q", "/p4/x",
    ];
    for host in [
        None,
        Some("a.com"),
        Some("c.b.com"),
        Some("x.b.com"),
        Some("b.com"),
    ] {
        for path in paths {
            for method in [Method::GET, Method::POST] {
                let h = HeaderMap::new();
                let info = RequestInfo {
                    host,
                    path,
                    method: &method,
                    headers: &h,
                };
                let indexed = match_request(&cfg.routes, &info);
                let linear = cfg
                    .routes
                    .routes()
                    .iter()
                    .position(|r| r.matcher.matches(&info))
                    .map(RouteId);
                assert_eq!(indexed, linear, "{host:?} {method} {path}");
            }
        }
    }
}

#[test]
fn normalizes_hosts() {
    assert_eq!(
        normalize_host("Example.COM:443").as_deref(),
        Some("example.com")
    );
    assert_eq!(
        normalize_host("example.com.").as_deref(),
        Some("example.com")
    );
    assert_eq!(normalize_host("[::1]:8080").as_deref(), Some("::1"));
    assert_eq!(normalize_host(""), None);
}

#[test]
fn shadow_index_agrees_with_pairwise_check() {
    let mut routes = String::new();
    let hosts = ["a.com", "*.b.com", "c.b.com", "*.c.b.com", "x.c.b.com"];
    for i in 0..160 {
        let m = match i % 8 {
            0 => format!("{{path_prefix: /p{}}}", i % 5),
            1 => format!("{{path: /p{}/x}}", i % 5),
            2 => format!("{{hosts: ['{}'], path_prefix: /p{}}}", hosts[i % 5], i % 3),
            3 => format!("{{hosts: ['{}']}}", hosts[(i / 3) % 5]),
            4 => format!("{{methods: [POST], path_prefix: /p{}/x}}", i % 3),
            5 => format!("{{path_regex: '^/p{}/'}}", i % 4),
            6 => format!("{{headers: {{x-t: v{}}}, path: /p{}/x}}", i % 2, i % 5),
            _ => format!(
                "{{hosts: ['{}', '{}'], path: /p{}/x/}}",
                hosts[i % 5],
                hosts[(i + 2) % 5],
                i % 5
            ),
        };
        routes.push_str(&format!("  - {{name: r{i}, match: {m}, pool: p}}\n"));
    }
    let cfg = table(&routes);
    let rs = cfg.routes.routes();
    let naive: Vec<(usize, usize)> = (0..rs.len())
        .filter_map(|j| {
            (0..j)
                .find(|&i| covers(&rs[i].matcher, &rs[j].matcher))
                .map(|i| (j, i))
        })
        .collect();
    assert!(
        naive.len() > 20,
        "the table should shadow plenty: {}",
        naive.len()
    );
    assert_eq!(shadowed(rs), naive);
}
