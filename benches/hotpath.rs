//! Request-path microbenchmarks (issue 10): one balancer pick per
//! strategy with 3 and 100 endpoints, and the header rewrite of a request
//! and its response.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;

/// The allocator the binary uses (src/main.rs), so figures match production.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use http::{HeaderMap, Method, Request, Response};
use switchyard::config::{self, BalancerKind};
use switchyard::proxy::forward::{self, ClientInfo};
use switchyard::routing::{match_request, RequestInfo};
use switchyard::upstream::balancer::{Balancer, PoolView};

/// A pool view as the request path builds one: weights (0 = ejected) and
/// in-flight counts.
struct View {
    weights: Vec<u32>,
    in_flight: Vec<u64>,
}

impl PoolView for View {
    fn len(&self) -> usize {
        self.weights.len()
    }
    fn weight(&self, i: usize) -> u32 {
        self.weights[i]
    }
    fn in_flight(&self, i: usize) -> u64 {
        self.in_flight[i]
    }
}

fn balancer_pick(c: &mut Criterion) {
    let mut group = c.benchmark_group("balancer_pick");
    let kinds = [
        ("weighted_round_robin", BalancerKind::WeightedRoundRobin),
        ("round_robin", BalancerKind::RoundRobin),
        ("random", BalancerKind::Random),
        ("least_request", BalancerKind::LeastRequest),
    ];
    for n in [3usize, 100] {
        // Uneven weights, one endpoint in ten ejected (weight 0), some load.
        let configured: Vec<u32> = (0..n).map(|i| 1 + (i as u32 % 5)).collect();
        let view = View {
            weights: (0..n)
                .map(|i| if i % 10 == 9 { 0 } else { configured[i] * 1000 })
                .collect(),
            in_flight: (0..n).map(|i| (i as u64 * 7) % 13).collect(),
        };
        for (name, kind) in kinds {
            let balancer = Balancer::new(kind, &configured, 1000);
            group.bench_with_input(BenchmarkId::new(name, n), &view, |b, view| {
                b.iter(|| {
                    let i = balancer.pick(view);
                    assert!(i.is_some());
                    i
                });
            });
        }
    }
    group.finish();
}

const CONFIG: &str = r#"
version: 1
listeners: [{ name: web, listen: "127.0.0.1:0" }]
routes:
  - name: api
    match: { path_prefix: /api }
    pool: p
    strip_prefix: /api
    request_headers: { set: { x-route: api }, remove: [x-debug] }
    response_headers: { set: { x-served-by: switchyard }, remove: [server] }
pools:
  - name: p
    endpoints: [{ name: a, url: "http://10.0.0.1:8080/base" }]
"#;

/// A browser-like request head: 12 fields, a hop-by-hop one among them.
fn request() -> Request<()> {
    Request::builder()
        .method(Method::GET)
        .uri("/api/v1/items/42?page=2")
        .header("host", "api.example.com")
        .header(
            "user-agent",
            "Mozilla/5.0 (X11; Linux x86_64) Gecko/20100101",
        )
        .header("accept", "application/json")
        .header("accept-encoding", "gzip, deflate, br")
        .header("accept-language", "en-GB,en;q=0.9")
        .header("connection", "keep-alive")
        .header("x-request-id", "3f2a9c1e-5b7d-4e2a-9f0c-1d2e3f4a5b6c")
        .header("x-forwarded-for", "203.0.113.9")
        .header("x-debug", "1")
        .header("authorization", "Bearer abcdef0123456789")
        .header("cookie", "session=0123456789abcdef; theme=dark")
        .header("referer", "https://app.example.com/items")
        .body(())
        .unwrap()
}

fn header_rewrite(c: &mut Criterion) {
    let cfg = config::load_str(CONFIG).unwrap();
    let headers = HeaderMap::new();
    let info = RequestInfo {
        host: Some("api.example.com"),
        path: "/api/v1/items/42",
        method: &Method::GET,
        headers: &headers,
    };
    let route = cfg
        .routes
        .get(match_request(&cfg.routes, &info).unwrap())
        .unwrap();
    let endpoint = &cfg.pools[0].endpoints[0].url;
    let peer: SocketAddr = "198.51.100.7:40000".parse().unwrap();
    let peer_ip = forward::ip_value(peer.ip());
    let host = http::HeaderValue::from_static("api.example.com");
    let mut group = c.benchmark_group("header_rewrite");
    group.bench_function("request", |b| {
        b.iter_batched(
            || request().into_parts().0,
            |mut parts| {
                let client = ClientInfo {
                    peer,
                    peer_ip: Some(&peer_ip),
                    proto: "http",
                    host: Some(&host),
                };
                let needs_host = forward::prepare_request(&mut parts, route, client);
                let original = std::mem::take(&mut parts.uri);
                forward::retarget(&mut parts, &original, endpoint, route, needs_host).unwrap();
                parts
            },
            criterion::BatchSize::SmallInput,
        );
    });
    group.bench_function("response", |b| {
        b.iter_batched(
            || {
                Response::builder()
                    .status(200)
                    .header("content-type", "application/json")
                    .header("content-length", "100")
                    .header("date", "Sun, 22 Nov 2026 03:00:00 GMT")
                    .header("server", "backend/1.0")
                    .header("connection", "keep-alive")
                    .header("keep-alive", "timeout=5")
                    .header("cache-control", "no-store")
                    .body(())
                    .unwrap()
                    .into_parts()
                    .0
            },
            |mut parts| {
                forward::prepare_response(&mut parts, route);
                parts
            },
            criterion::BatchSize::SmallInput,
        );
    });
    group.finish();
}

criterion_group!(benches, balancer_pick, header_rewrite);
criterion_main!(benches);
