//! `error-mapper` on a pool: vendor errors become one JSON shape with the
//! mapped status and a fresh `Content-Length`; successes pass untouched.

use super::{plugin, request, shipped, ERROR_MAPPER};
use crate::common::{config, start_proxy, Reply, TestUpstream};

/// The `error` object of a mapped reply, after checking the framing.
fn mapped(r: &Reply) -> serde_json::Value {
    assert_eq!(r.header("content-type"), Some("application/json"), "{r:?}");
    assert_eq!(
        r.header("content-length"),
        Some(r.body.len().to_string().as_str()),
        "Content-Length does not match the body: {r:?}"
    );
    let v: serde_json::Value = serde_json::from_str(&r.body)
        .unwrap_or_else(|e| panic!("mapped body is not JSON ({e}): {:?}", r.body));
    let obj = v.as_object().unwrap();
    assert_eq!(obj.len(), 1, "{v}");
    v["error"].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn error_mapper_rewrites_vendor_errors_and_passes_successes() {
    let up = TestUpstream::spawn("acme-up").await;
    let yaml = config(&format!(
        "plugins:\n{}routes: [{{ name: r, pool: p }}]
pools: [{{ name: p, plugins: [errors], endpoints: [{{ name: acme, url: '{}' }}] }}]\n",
        plugin(
            "errors",
            shipped(ERROR_MAPPER),
            ", config: { vendor: acme, map: { \"500\": 502 }, message_field: error_description }"
        ),
        up.url()
    ));
    let proxy = start_proxy(&yaml).await;
    let web = proxy.listener_addr("web").unwrap();

    // A JSON vendor error: the configured member is the message.
    up.set_status(500);
    up.set_status_body(Some(r#"{"error_description": "db down", "other": 1}"#));
    let r = request("GET", web, "/x", &[], "").await;
    assert_eq!(r.status, 502, "{r:?}");
    let e = mapped(&r);
    assert_eq!(e["status"], 502);
    assert_eq!(e["code"], "internal_error");
    assert_eq!(e["message"], "db down");
    assert_eq!(e["vendor"], "acme");
    assert_eq!(
        r.body,
        r#"{"error":{"status":502,"code":"internal_error","message":"db down","vendor":"acme"}}"#
    );

    // A plain-text error (the upstream's name as body): the text is the
    // message; a status outside `map` keeps its code.
    up.set_status(404);
    up.set_status_body(None);
    let r = request("GET", web, "/x", &[], "").await;
    assert_eq!(r.status, 404, "{r:?}");
    let e = mapped(&r);
    assert_eq!(
        (e["status"].as_u64(), e["code"].as_str()),
        (Some(404), Some("not_found"))
    );
    assert_eq!(e["message"], "acme-up");

    // No body at all: answered from the response-headers callback with a
    // local reply that replaces the upstream's response.
    up.set_status(500);
    up.set_status_body(Some(""));
    let r = request("GET", web, "/x", &[], "").await;
    assert_eq!(r.status, 502, "{r:?}");
    assert_eq!(mapped(&r)["message"], "vendor returned HTTP 500");

    // Successes are untouched, body and headers.
    up.set_status(0);
    for path in ["/", "/echo"] {
        let r = request("POST", web, path, &[], "hello").await;
        assert_eq!(r.status, 200, "{r:?}");
        let want = if path == "/" { "acme-up" } else { "hello" };
        assert_eq!(r.body, want);
        assert_eq!(r.header("content-type"), None, "{r:?}");
        assert_eq!(r.header("x-upstream"), Some("acme-up"));
    }
    assert_eq!(up.hits(), 5);
}
