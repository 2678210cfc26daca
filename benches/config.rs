//! Config and routing microbenchmarks: snapshot build + swap at scale, and
//! route matching as the table grows.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

/// The allocator the binary uses (src/main.rs), so figures match production.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use arc_swap::ArcSwap;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use http::{HeaderMap, Method};
use switchyard::config;
use switchyard::metrics::Metrics;
use switchyard::proxy::Dataplane;
use switchyard::routing::{match_request, RequestInfo};
use switchyard::upstream::Registry;

/// A config with `routes` routes over `pools` pools of 2 endpoints each:
/// a mix of host, prefix, exact and regex routes, as large configs have.
fn big_config(routes: usize, pools: usize) -> String {
    let mut s =
        String::from("version: 1\nlisteners: [{ name: web, listen: '127.0.0.1:0' }]\nroutes:\n");
    for i in 0..routes {
        let m = match i % 4 {
            0 => format!("{{ hosts: [t{i}.example.com], path_prefix: /v1/r{i} }}"),
            1 => format!("{{ path_prefix: /api/r{i} }}"),
            2 => format!("{{ path: /exact/r{i}, methods: [GET, POST] }}"),
            _ => format!("{{ path_prefix: /h/r{i}, headers: {{ x-tenant: t{i} }} }}"),
        };
        s.push_str(&format!(
            "  - {{ name: r{i}, match: {m}, pool: p{} }}\n",
            i % pools
        ));
    }
    s.push_str("pools:\n");
    for p in 0..pools {
        s.push_str(&format!(
            "  - {{ name: p{p}, endpoints: [{{ name: a, url: 'http://10.0.{}.{}:80' }}, {{ name: b, url: 'http://10.1.{}.{}:80' }}] }}\n",
            p / 250, p % 250, p / 250, p % 250
        ));
    }
    s
}

fn snapshot_build(c: &mut Criterion) {
    let text = big_config(10_000, 1_000);
    // Linking starts each new endpoint's monitor task, so it needs a
    // runtime (not driven here: the tasks just wait).
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let _guard = rt.enter();
    let metrics = Arc::new(Metrics::new().unwrap());
    let registry = Registry::new(Arc::clone(&metrics));
    let first = Arc::new(config::load_str(&text).unwrap());
    let dp = Dataplane::build(
        first,
        ("0".into(), "0".into()),
        1,
        &registry,
        Default::default(),
    );
    let current = ArcSwap::from_pointee(dp);
    let mut group = c.benchmark_group("snapshot");
    group.sample_size(10);
    group.bench_function("parse_validate_build_swap_10k_routes_1k_pools", |b| {
        let mut generation = 1;
        b.iter(|| {
            generation += 1;
            let cfg = Arc::new(config::load_str(&text).unwrap());
            let dp = Dataplane::build(
                cfg,
                ("h".into(), "h".into()),
                generation,
                &registry,
                Default::default(),
            );
            current.store(Arc::new(dp));
        });
    });
    group.finish();
}

fn route_match(c: &mut Criterion) {
    let mut group = c.benchmark_group("route_match");
    let headers = HeaderMap::new();
    for n in [10usize, 1_000, 10_000] {
        let cfg = config::load_str(&big_config(n, 10.min(n))).unwrap();
        // A request that matches the last prefix route: the worst case for
        // a linear scan, an ordinary one for the index.
        let last = (0..n).rev().find(|i| i % 4 == 1).unwrap();
        let path = format!("/api/r{last}/items/42");
        group.bench_with_input(BenchmarkId::from_parameter(n), &path, |b, path| {
            b.iter(|| {
                let info = RequestInfo {
                    host: Some("api.example.com"),
                    path,
                    method: &Method::GET,
                    headers: &headers,
                };
                let id = match_request(&cfg.routes, &info);
                assert!(id.is_some());
                id
            });
        });
    }
    group.finish();
}

criterion_group!(benches, snapshot_build, route_match);
criterion_main!(benches);
