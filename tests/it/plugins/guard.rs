//! `guard` on routes: a missing header or a value off the allow-list is
//! answered by the plugin itself and never reaches the upstream; a route
//! without plugins on the same proxy is untouched.

use super::{echoed, plugin, request, shipped, GUARD};
use crate::common::{config, get, start_proxy, TestUpstream};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn guard_rejects_before_the_upstream_and_leaves_other_routes_alone() {
    let up = TestUpstream::spawn("up").await;
    let guard = shipped(GUARD);
    let yaml = config(&format!(
        "plugins:\n{}{}{}routes:
  - {{ name: any, match: {{ path_prefix: /any }}, pool: p, plugins: [key] }}
  - {{ name: listed, match: {{ path_prefix: /listed }}, pool: p, plugins: [key-k1] }}
  - {{ name: custom, match: {{ path_prefix: /custom }}, pool: p, plugins: [custom] }}
  - {{ name: open, pool: p }}
pools: [{{ name: p, endpoints: [{{ name: up, url: '{}' }}] }}]\n",
        plugin("key", guard, ", config: { header: x-api-key }"),
        plugin(
            "key-k1",
            guard,
            ", config: { header: x-api-key, values: [k1] }"
        ),
        plugin(
            "custom",
            guard,
            ", config: { header: X-Token, status: 429, body: \"no token\\n\", strip: true }"
        ),
        up.url()
    ));
    let proxy = start_proxy(&yaml).await;
    let web = proxy.listener_addr("web").unwrap();

    // Missing header: the plugin's own reply, the upstream never sees it.
    for path in ["/any/headers", "/listed/headers"] {
        let r = request("GET", web, path, &[], "").await;
        assert_eq!(
            (r.status, r.body.as_str()),
            (401, "unauthorized\n"),
            "{path}"
        );
        assert_eq!(r.header("content-type"), Some("text/plain"), "{path}");
        assert_eq!(r.header("content-length"), Some("13"), "{path}");
    }
    // An empty value counts as missing.
    let r = request("GET", web, "/any/headers", &[("x-api-key", "")], "").await;
    assert_eq!(r.status, 401, "{}", r.body);
    assert_eq!(up.hits(), 0, "a rejected request reached the upstream");

    // Any value passes without an allow-list, and the header goes on.
    let r = request("GET", web, "/any/headers", &[("x-api-key", "zz")], "").await;
    assert_eq!(echoed(&r)["x-api-key"], "zz");
    assert_eq!(r.header("x-upstream"), Some("up"));
    assert_eq!(up.hits(), 1);

    // With `values`: k1 passes, anything else is forbidden.
    let r = request("GET", web, "/listed/headers", &[("x-api-key", "k1")], "").await;
    assert_eq!(echoed(&r)["x-api-key"], "k1");
    for wrong in ["k2", "K1", "k1,k2"] {
        let r = request("GET", web, "/listed/headers", &[("x-api-key", wrong)], "").await;
        assert_eq!(
            (r.status, r.body.as_str()),
            (403, "forbidden\n"),
            "{wrong:?}"
        );
    }
    assert_eq!(up.hits(), 2, "a forbidden request reached the upstream");

    // Custom status and body; the header name is matched case-insensitively
    // and `strip` removes it before the upstream.
    let r = request("GET", web, "/custom/headers", &[], "").await;
    assert_eq!((r.status, r.body.as_str()), (429, "no token\n"));
    let r = request("GET", web, "/custom/headers", &[("x-token", "t")], "").await;
    let seen = echoed(&r);
    assert!(
        !seen.contains_key("x-token"),
        "stripped header sent: {seen:?}"
    );
    assert_eq!(up.hits(), 3);

    // The route without plugins does not care about the header.
    let r = get(web, "/open/headers").await;
    assert!(!echoed(&r).contains_key("x-api-key"));
    let r = get(web, "/").await;
    assert_eq!((r.status, r.body.as_str()), (200, "up"));
    assert_eq!(up.hits(), 5);
}
