//! Plugin cost on the request path: one request through a header plugin
//! (context created, `proxy_on_request_headers` adding a header after
//! reading one, context ended, instance back to its warm pool), against
//! the same request with no plugin. Run with `cargo bench --bench plugin`.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use criterion::{criterion_group, criterion_main, Criterion};
use switchyard::config::{OnError, Plugin as Spec};
use switchyard::metrics::Metrics;
use switchyard::plugin::{Active, Host, PluginSet, Props, Verdict};

/// A header plugin as SDKs build them: reads `x-api-key`, adds
/// `x-vendor-auth`, and exports the end-of-context callbacks.
const HEADER_PLUGIN: &str = r#"(module
  (import "env" "proxy_get_header_map_value" (func $get (param i32 i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_replace_header_map_value" (func $put (param i32 i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (global $top (mut i32) (i32.const 4096))
  (data (i32.const 16) "x-api-key")
  (data (i32.const 32) "x-vendor-auth")
  (data (i32.const 48) "Bearer 0123456789abcdef")
  (func (export "proxy_abi_version_0_2_1"))
  (func (export "proxy_on_memory_allocate") (param $n i32) (result i32)
    (local $p i32)
    (if (i32.gt_u (i32.add (global.get $top) (local.get $n)) (i32.const 60000))
      (then (global.set $top (i32.const 4096))))
    (local.set $p (global.get $top))
    (global.set $top (i32.add (global.get $top) (local.get $n)))
    (local.get $p))
  (func (export "proxy_on_context_create") (param i32 i32))
  (func (export "proxy_on_configure") (param i32 i32) (result i32) (i32.const 1))
  (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32)
    (drop (call $get (i32.const 0) (i32.const 16) (i32.const 9) (i32.const 1024) (i32.const 1028)))
    (drop (call $put (i32.const 0) (i32.const 32) (i32.const 13) (i32.const 48) (i32.const 23)))
    (i32.const 0))
  (func (export "proxy_on_done") (param i32) (result i32) (i32.const 1))
  (func (export "proxy_on_log") (param i32))
  (func (export "proxy_on_delete") (param i32)))"#;

fn request() -> http::request::Parts {
    let mut parts = http::Request::get("/v1/payments/42?x=1")
        .body(())
        .unwrap()
        .into_parts()
        .0;
    for (k, v) in [
        ("host", "api.example.com"),
        ("user-agent", "bench/1.0"),
        ("accept", "*/*"),
        ("x-api-key", "k-123"),
        ("x-forwarded-for", "127.0.0.1"),
    ] {
        parts.headers.insert(k, v.parse().unwrap());
    }
    parts
}

/// The same plugin as SDKs build it: the context and end-of-request
/// callbacks do something (here, track the context id), so the host calls
/// all five.
fn sdk_like() -> String {
    HEADER_PLUGIN
        .replace(
            r#"(func (export "proxy_on_context_create") (param i32 i32))"#,
            r#"(global $ctx (mut i32) (i32.const 0))
  (func (export "proxy_on_context_create") (param i32 i32) (global.set $ctx (local.get 0)))"#,
        )
        .replace(
            r#"(func (export "proxy_on_done") (param i32) (result i32) (i32.const 1))"#,
            r#"(func (export "proxy_on_done") (param i32) (result i32) (global.set $ctx (local.get 0)) (i32.const 1))"#,
        )
        .replace(
            r#"(func (export "proxy_on_log") (param i32))"#,
            r#"(func (export "proxy_on_log") (param i32) (global.set $ctx (local.get 0)))"#,
        )
        .replace(
            r#"(func (export "proxy_on_delete") (param i32)))"#,
            r#"(func (export "proxy_on_delete") (param i32) (global.set $ctx (i32.const 0))))"#,
        )
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("plugin");
    g.bench_function("request_without_plugin", |b| {
        b.iter(|| {
            let parts = request();
            std::hint::black_box(parts);
        });
    });
    run(&mut g, "request_through_header_plugin", HEADER_PLUGIN);
    run(
        &mut g,
        "request_through_sdk_like_header_plugin",
        &sdk_like(),
    );
    g.finish();
}

fn run(
    g: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    name: &str,
    wat: &str,
) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("header.wat");
    std::fs::write(&file, wat).unwrap();
    let spec = Spec {
        name: "header".into(),
        file,
        config: Arc::from(&b"{}"[..]),
        on_error: OnError::FailClosed,
        memory: 16 << 20,
        time: Duration::from_millis(5),
        body: 1 << 20,
    };
    let host = Host::new().unwrap();
    let metrics = Metrics::new().unwrap();
    let set = PluginSet::load(&host, &[spec], None, &metrics.plugins).unwrap();
    let chain: Vec<_> = set.iter().cloned().collect();
    let props = Arc::new(Props::default());
    g.bench_function(name, |b| {
        b.iter(|| {
            let mut parts = request();
            let mut active = Active::new();
            let v = active.request_headers(&chain, &mut parts, &props, true);
            assert!(matches!(v, Verdict::Continue));
            active.finish();
            std::hint::black_box(parts);
        });
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
