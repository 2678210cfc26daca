//! `GET /plugins`: the loaded plugins of the running config.

use serde_json::{json, Value};

use crate::proxy::Dataplane;

/// One entry per declared plugin, in config order: where it came from, its
/// content hash, limits and policy, the callbacks it exports, and how many
/// instances it has created (a number that keeps rising means instances
/// keep failing and being replaced).
pub fn document(dp: &Dataplane) -> Value {
    let plugins: Vec<Value> = dp
        .plugins
        .iter()
        .map(|p| {
            let s = &p.spec;
            let has = p.has;
            let callbacks: Vec<&str> = [
                ("request_headers", has.request_headers),
                ("request_body", has.request_body),
                ("response_headers", has.response_headers),
                ("response_body", has.response_body),
                ("log", has.end),
            ]
            .into_iter()
            .filter_map(|(n, on)| on.then_some(n))
            .collect();
            json!({
                "name": &*s.name,
                "file": s.file.display().to_string(),
                "hash": p.hash,
                "on_error": s.on_error.as_str(),
                "limits": {
                    "memory_bytes": s.memory,
                    "time_ms": s.time.as_secs_f64() * 1000.0,
                    "body_bytes": s.body,
                },
                "callbacks": callbacks,
                "instances_created": p.instances_created(),
            })
        })
        .collect();
    json!({ "generation": dp.generation, "plugins": plugins })
}
