//! `GET /status` (JSON) and `GET /` (the live status page).
//!
//! Owns: the shape of the status document (listeners, routes, the active
//! generation, the last reload, cumulative request and error counters) and
//! the page, one self-contained HTML file (`page.html`: inline CSS and
//! JavaScript, no external assets) that polls `/status` and `/upstreams`
//! and computes rates from the deltas between two polls. Must not: keep
//! state of its own (every poll reads the current `Dataplane` and metrics)
//! or show secrets (header match values under secret-looking names are
//! redacted as in `GET /config`).

use std::net::SocketAddr;

use serde_json::{json, Value};

use super::redact::{is_secret_key, REDACTED};
use crate::proxy::Control;
use crate::routing::{HostPattern, PathMatch, RouteMatcher};

/// The status page, served as is.
pub const PAGE: &str = include_str!("page.html");

/// The content security policy sent with the page: nothing but the page
/// itself and requests back to this listener, so it stays self-contained.
pub const PAGE_CSP: &str = "default-src 'none'; script-src 'unsafe-inline'; \
     style-src 'unsafe-inline'; connect-src 'self'; img-src data:; base-uri 'none'; \
     form-action 'none'; frame-ancestors 'none'";

/// The document. `admin`: the admin listener's bound address;
/// `extensions`: the path prefixes of the admin extensions plugged in (the
/// demo's `/demo/`), so the page can offer them.
pub fn document(control: &Control, admin: SocketAddr, extensions: &[&str]) -> Value {
    let shared = &control.shared;
    let dp = shared.dataplane.load_full();
    let config = &dp.config;
    let listeners: Vec<Value> = config
        .listeners
        .iter()
        .map(|l| {
            json!({
                "name": &*l.name,
                "address": control.listener_addr(&l.name).unwrap_or(l.listen).to_string(),
                "tls": l.tls.is_some(),
            })
        })
        .collect();
    let plugin_name = |id: &crate::config::PluginId| {
        config
            .plugins
            .get(id.0)
            .map_or_else(String::new, |p| p.name.to_string())
    };
    let routes: Vec<Value> = config
        .routes
        .routes()
        .iter()
        .map(|r| {
            let count = shared.metrics.route_count(&r.name);
            json!({
                "name": &*r.name,
                "match": match_summary(&r.matcher),
                "pool": config.pools.get(r.pool.0).map(|p| &*p.name),
                "plugins": r.plugins.iter().map(plugin_name).collect::<Vec<_>>(),
                "requests": count.requests,
                "errors": count.errors,
            })
        })
        .collect();
    let unmatched = shared.metrics.route_count("");
    let pools: Vec<Value> = dp
        .pools
        .iter()
        .map(|p| {
            let endpoints: Vec<Value> = p
                .endpoints
                .iter()
                .map(|e| {
                    let s = e.state.metrics.sample();
                    json!({ "name": &*e.config.name, "requests": s.requests, "errors": s.failures })
                })
                .collect();
            json!({ "name": &*p.name, "endpoints": endpoints })
        })
        .collect();
    json!({
        "version": env!("CARGO_PKG_VERSION"),
        "now": unix_now(),
        "ready": shared.ready.load(std::sync::atomic::Ordering::Acquire),
        "generation": dp.generation,
        "hash": dp.hash,
        "summary": config.summary(),
        "warnings": config.warnings.iter().map(ToString::to_string).collect::<Vec<_>>(),
        "admin": admin.to_string(),
        // Whether `GET /config`, `POST /reload` and the extensions'
        // controls want a token (the page then asks for one); never the
        // token.
        "admin_token_required": config.admin.token.is_some(),
        "listeners": listeners,
        "routes": routes,
        "unmatched": { "requests": unmatched.requests, "errors": unmatched.errors },
        "pools": pools,
        "plugins": config.plugins.iter().map(|p| &*p.name).collect::<Vec<_>>(),
        "last_reload": control.last_reload(),
        "extensions": extensions,
    })
}

/// `hosts a, *.b · path_prefix /pay · methods GET, POST · header x-t=v`;
/// `any request` when the route has no condition.
pub fn match_summary(m: &RouteMatcher) -> String {
    let mut parts = Vec::new();
    if !m.hosts.is_empty() {
        let hosts: Vec<String> = m
            .hosts
            .iter()
            .map(|h| match h {
                HostPattern::Exact(h) => h.clone(),
                HostPattern::Suffix(s) => format!("*{s}"),
            })
            .collect();
        parts.push(format!("hosts {}", hosts.join(", ")));
    }
    match &m.path {
        PathMatch::Any => {}
        PathMatch::Exact(p) => parts.push(format!("path {p}")),
        PathMatch::Prefix(p) => parts.push(format!("path_prefix {p}")),
        PathMatch::Regex(r) => parts.push(format!("path_regex {}", r.as_str())),
    }
    if !m.methods.is_empty() {
        let methods: Vec<&str> = m.methods.iter().map(http::Method::as_str).collect();
        parts.push(format!("methods {}", methods.join(", ")));
    }
    for (name, value) in &m.headers {
        let shown = if is_secret_key(name.as_str()) {
            REDACTED
        } else {
            value.to_str().unwrap_or("<binary>")
        };
        parts.push(format!("header {name}={shown}"));
    }
    if parts.is_empty() {
        "any request".into()
    } else {
        parts.join(" · ")
    }
}

fn unix_now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::{HeaderName, HeaderValue, Method};

    fn matcher() -> RouteMatcher {
        RouteMatcher {
            hosts: Vec::new(),
            path: PathMatch::Any,
            methods: Vec::new(),
            headers: Vec::new(),
        }
    }

    #[test]
    fn summaries() {
        assert_eq!(match_summary(&matcher()), "any request");
        let mut m = matcher();
        m.hosts = vec![
            HostPattern::Exact("api.example.com".into()),
            HostPattern::Suffix(".pay.example.com".into()),
        ];
        m.path = PathMatch::Prefix("/pay".into());
        m.methods = vec![Method::GET, Method::POST];
        m.headers = vec![
            (
                HeaderName::from_static("x-tenant"),
                HeaderValue::from_static("acme"),
            ),
            (
                HeaderName::from_static("x-api-key"),
                HeaderValue::from_static("hunter2"),
            ),
        ];
        assert_eq!(
            match_summary(&m),
            "hosts api.example.com, *.pay.example.com · path_prefix /pay · methods GET, POST \
             · header x-tenant=acme · header x-api-key=<redacted>"
        );
    }
}
