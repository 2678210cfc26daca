//! `check` on `listeners[].limits` and `pools[].limits`: defaults, every
//! key, and out-of-range values with their paths and positions.

use std::time::Duration;

use switchyard::config::{ListenerLimits, PoolLimits};

use super::resilience::{error, load};

fn yaml(limits: &str) -> String {
    format!(
        "version: 1\nlisteners:\n  - name: web\n    listen: 127.0.0.1:8080\n{limits}\
routes: [{{ name: r, pool: p }}]\npools: [{{ name: p, endpoints: [{{ name: a, url: 'http://127.0.0.1:9001' }}] }}]\n"
    )
}

#[test]
fn defaults_and_every_key() {
    let c = load(&yaml(""));
    let d = c.listeners[0].limits;
    assert_eq!(d, ListenerLimits::default());
    assert_eq!(d.max_header_bytes, 64 * 1024);
    assert_eq!(d.max_headers, 100);
    assert_eq!(d.header_read_timeout, Duration::from_secs(10));
    assert_eq!(d.idle_timeout, Duration::from_secs(60));
    let c = load(&yaml(
        "    limits: { max_header_bytes: 16KiB, max_headers: 50, header_read_timeout: 2s, idle_timeout: 5m }\n",
    ));
    let l = c.listeners[0].limits;
    assert_eq!(l.max_header_bytes, 16 * 1024);
    assert_eq!(l.max_headers, 50);
    assert_eq!(l.header_read_timeout, Duration::from_secs(2));
    assert_eq!(l.idle_timeout, Duration::from_secs(300));
}

#[test]
fn out_of_range_values_are_errors_with_positions() {
    let y = yaml("    limits: { max_header_bytes: 1KiB }\n");
    error(
        &y,
        "listeners[0].limits.max_header_bytes",
        "use 8KiB to 1MiB",
        "1KiB",
    );
    let y = yaml("    limits: { max_header_bytes: 2MiB }\n");
    error(
        &y,
        "listeners[0].limits.max_header_bytes",
        "out of range",
        "2MiB",
    );
    let y = yaml("    limits: { max_headers: 0 }\n");
    error(&y, "listeners[0].limits.max_headers", "use 1 to 1000", "0");
    let y = yaml("    limits: { header_read_timeout: 0s }\n");
    error(
        &y,
        "listeners[0].limits.header_read_timeout",
        "greater than 0",
        "0s",
    );
    let y = yaml("    limits: { max_body: 65GiB }\n");
    error(
        &y,
        "listeners[0].limits.max_body",
        "use 0 to 64GiB",
        "65GiB",
    );
    let y = yaml("    limits: { idle_timeout: 0s }\n");
    error(
        &y,
        "listeners[0].limits.idle_timeout",
        "greater than 0",
        "0s",
    );
    let y = yaml("    limits: { max_requests: 5 }\n");
    error(
        &y,
        "listeners[0].limits.max_requests",
        "unknown field `max_requests`",
        "max_requests",
    );
}

#[test]
fn max_body_and_concurrency_limits_on_listeners_routes_and_pools() {
    let c = load(&yaml("    limits: { max_body: 1MiB }\n"));
    assert_eq!(c.listeners[0].limits.max_body, Some(1024 * 1024));
    assert_eq!(load(&yaml("")).listeners[0].limits.max_body, None);
    let text = yaml("").replace(
        "routes: [{ name: r, pool: p }]",
        "routes: [{ name: r, pool: p, max_body: 10KiB, max_concurrent_requests: 7 }]",
    );
    let text = text.replace(
        "pools: [{ name: p,",
        "pools: [{ name: p, max_concurrent_requests: 9,",
    );
    let c = load(&text);
    let r = c.routes.routes().first().unwrap();
    assert_eq!((r.max_body, r.max_concurrent), (Some(10 * 1024), Some(7)));
    assert_eq!(c.pools[0].max_concurrent, Some(9));
    let bad = yaml("").replace(
        "routes: [{ name: r, pool: p }]",
        "routes: [{ name: r, pool: p, max_concurrent_requests: 0 }]",
    );
    error(
        &bad,
        "routes[0].max_concurrent_requests",
        "use 1 to 1000000",
        "0",
    );
    let bad = yaml("").replace(
        "pools: [{ name: p,",
        "pools: [{ name: p, max_concurrent_requests: 0,",
    );
    error(
        &bad,
        "pools[0].max_concurrent_requests",
        "use 1 to 1000000",
        "0",
    );
}

#[test]
fn max_connections_is_optional_and_bounded() {
    assert_eq!(load(&yaml("")).listeners[0].limits.max_connections, None);
    let c = load(&yaml("    limits: { max_connections: 500 }\n"));
    assert_eq!(c.listeners[0].limits.max_connections, Some(500));
    let y = yaml("    limits: { max_connections: 0 }\n");
    error(
        &y,
        "listeners[0].limits.max_connections",
        "use 1 to 1000000",
        "0",
    );
}

fn pool_yaml(limits: &str) -> String {
    format!(
        "version: 1\nlisteners: [{{ name: web, listen: '127.0.0.1:8080' }}]\n\
routes: [{{ name: r, pool: p }}]\npools:\n  - name: p\n{limits}    endpoints: [{{ name: a, url: 'http://127.0.0.1:9001' }}]\n"
    )
}

#[test]
fn pool_limits_default_to_64k_and_are_bounded_like_the_listener_ones() {
    let d = load(&pool_yaml("")).pools[0].limits;
    assert_eq!(d, PoolLimits::default());
    assert_eq!(d.max_response_header_bytes, 64 * 1024);
    let c = load(&pool_yaml(
        "    limits: { max_response_header_bytes: 16KiB }\n",
    ));
    assert_eq!(c.pools[0].limits.max_response_header_bytes, 16 * 1024);
    for (value, wanted) in [("4KiB", "use 8KiB to 1MiB"), ("2MiB", "out of range")] {
        let y = pool_yaml(&format!(
            "    limits: {{ max_response_header_bytes: {value} }}\n"
        ));
        error(
            &y,
            "pools[0].limits.max_response_header_bytes",
            wanted,
            value,
        );
    }
    let y = pool_yaml("    limits: { max_header_bytes: 16KiB }\n");
    error(
        &y,
        "pools[0].limits.max_header_bytes",
        "unknown field `max_header_bytes`",
        "max_header_bytes",
    );
}
