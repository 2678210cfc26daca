//! WebAssembly plugins through the real proxy: the three shipped plugins
//! (`plugins/*.wasm`, built by `plugins/build.sh`) on routes, pools and
//! endpoints, the misbehaving WAT fixtures of `tests/plugins/` contained in
//! every phase, load and configure failures at start and on reload, hot
//! reload of a plugin file under load, and the plugin metrics.

mod containment;
mod error_mapper;
mod guard;
mod hot_reload;
mod loading;
mod metrics;
mod vendor_auth;

use std::net::SocketAddr;
use std::path::Path;

use bytes::Bytes;
use http::Request;
use http_body_util::Full;

use crate::common::{send, Reply};

pub const GUARD: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/plugins/guard.wasm");
pub const VENDOR_AUTH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/plugins/vendor-auth.wasm");
pub const ERROR_MAPPER: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/plugins/error-mapper.wasm");

/// A shipped plugin's absolute path; panics when it was not built (these
/// tests must never pass by skipping).
pub fn shipped(path: &'static str) -> &'static str {
    assert!(
        Path::new(path).is_file(),
        "{path} is missing: build the shipped plugins with `bash plugins/build.sh` \
         before running these tests (CI runs it first)"
    );
    path
}

/// The absolute path of the WAT fixture `tests/plugins/{name}.wat`.
pub fn fixture(name: &str) -> String {
    format!("{}/tests/plugins/{name}.wat", env!("CARGO_MANIFEST_DIR"))
}

/// The call time limit of plugins that must not fail. `limits.time` is CPU
/// time where the host can read a per-thread CPU clock (Linux schedstat);
/// where it cannot, it is wall-clock time, and on a loaded 2-core CI
/// machine a thread preempted in the middle of a 30 µs debug-build call
/// can overrun the 5 ms default (seen at about 1 call in 1,000 before the
/// limit became CPU time). These tests are about behaviour, not the limit.
pub const SLACK: &str = "1s";

/// One item of a `plugins:` list; `rest` adds keys (`, config: {..}`).
/// Without `limits` in `rest`, the plugin gets `limits: { time: SLACK }`.
pub fn plugin(name: &str, file: &str, rest: &str) -> String {
    let limits = if rest.contains("limits:") {
        String::new()
    } else {
        format!(", limits: {{ time: {SLACK} }}")
    };
    format!("  - {{ name: {name}, file: '{file}'{rest}{limits} }}\n")
}

/// Sends `method path` to `addr` with `headers` and `body`.
pub async fn request(
    method: &str,
    addr: SocketAddr,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> Reply {
    let mut req = Request::builder()
        .method(method)
        .uri(format!("http://{addr}{path}"));
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    send(req.body(Full::new(Bytes::from(body.to_string()))).unwrap()).await
}

/// The request headers `TestUpstream`'s `/headers` echoed in `reply`.
pub fn echoed(reply: &Reply) -> serde_json::Map<String, serde_json::Value> {
    assert_eq!(reply.status, 200, "{}", reply.body);
    let v: serde_json::Value = serde_json::from_str(&reply.body)
        .unwrap_or_else(|e| panic!("/headers answer is not JSON ({e}): {}", reply.body));
    v["headers"].as_object().cloned().expect("a headers object")
}

/// `switchyard_plugin_calls_total` for one plugin, phase and result.
pub fn calls(metrics: &str, plugin: &str, phase: &str, result: &str) -> u64 {
    crate::common::metric(
        metrics,
        "switchyard_plugin_calls_total",
        &[("plugin", plugin), ("phase", phase), ("result", result)],
    ) as u64
}
