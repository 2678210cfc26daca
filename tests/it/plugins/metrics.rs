//! Plugin metrics: calls by plugin, phase and result, call durations, local
//! replies counted as such, and the series of a removed plugin gone.

use std::time::Duration;

use super::{calls, fixture, plugin, request, shipped, GUARD};
use crate::common::{config, eventually, metric, metrics_text, reload, start_proxy, TestUpstream};

fn yaml(up: &TestUpstream, with_guard: bool) -> String {
    let (plugins, list) = if with_guard {
        let p = plugin("key", shipped(GUARD), ", config: { header: x-api-key }");
        (format!("plugins:\n{p}"), "key")
    } else {
        (String::new(), "")
    };
    config(&format!(
        "{plugins}routes: [{{ name: r, pool: p, plugins: [{list}] }}]
pools: [{{ name: p, endpoints: [{{ name: up, url: '{}' }}] }}]\n",
        up.url()
    ))
}

/// The guard, then a well-behaved fixture whose end-of-request callbacks
/// do something (the guard's are empty, so the host never calls them).
fn yaml_two(up: &TestUpstream) -> String {
    let key = plugin("key", shipped(GUARD), ", config: { header: x-api-key }");
    let fx = plugin("fx", &fixture("trap"), ", config: none");
    config(&format!(
        "plugins:\n{key}{fx}routes: [{{ name: r, pool: p, plugins: [key, fx] }}]
pools: [{{ name: p, endpoints: [{{ name: up, url: '{}' }}] }}]\n",
        up.url()
    ))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plugin_calls_are_counted_and_timed_by_phase_and_result() {
    let up = TestUpstream::spawn("up").await;
    let proxy = start_proxy(&yaml_two(&up)).await;
    let (web, admin) = (proxy.listener_addr("web").unwrap(), proxy.admin_addr());

    for _ in 0..3 {
        let r = request("GET", web, "/", &[("x-api-key", "k")], "").await;
        assert_eq!(r.status, 200, "{}", r.body);
    }
    for _ in 0..2 {
        assert_eq!(request("GET", web, "/", &[], "").await.status, 401);
    }
    assert_eq!(up.hits(), 3);

    // The end-of-request callbacks are counted once each response is
    // over: the fixture saw the 3 requests the guard let through.
    let text = eventually(Duration::from_secs(5), || async move {
        let text = metrics_text(admin).await;
        (calls(&text, "fx", "log", "ok") >= 3).then_some(text)
    })
    .await;
    let phase = |p: &'static str| [("plugin", "key"), ("phase", p)];
    let count =
        |p: &'static str| metric(&text, "switchyard_plugin_duration_seconds_count", &phase(p));
    assert_eq!(calls(&text, "fx", "log", "ok"), 3, "{text}");
    assert_eq!(calls(&text, "fx", "request_headers", "ok"), 3, "{text}");
    // The guard's end callbacks are empty: never called, never counted.
    assert_eq!(count("log"), 0.0, "{text}");
    assert_eq!(
        calls(&text, "key", "request_headers", "local_reply"),
        2,
        "{text}"
    );
    assert_eq!(count("request_headers"), 5.0, "{text}");
    assert!(calls(&text, "key", "request_headers", "ok") >= 3, "{text}");
    // At least the instance made at load was configured.
    assert!(calls(&text, "key", "configure", "ok") >= 1, "{text}");
    assert!(count("configure") >= 1.0, "{text}");
    let sum = metric(
        &text,
        "switchyard_plugin_duration_seconds_sum",
        &phase("request_headers"),
    );
    assert!(
        sum > 0.0 && sum < 1.0,
        "request_headers time {sum} s\n{text}"
    );
    // The guard never touches responses.
    assert_eq!(count("response_headers"), 0.0, "{text}");

    // Plugins dropped from the config take their series with them.
    let report = reload(&proxy, &yaml(&up, false)).await;
    assert_eq!(report.result, "success", "{report:?}");
    let text = metrics_text(admin).await;
    assert!(!text.contains("plugin=\"key\""), "{text}");
    assert!(!text.contains("plugin=\"fx\""), "{text}");
}

/// Each call is counted once, under one result, so the results add up to
/// the calls timed: a local reply counts as `local_reply`, not also `ok`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_local_reply_is_counted_once() {
    let up = TestUpstream::spawn("up").await;
    let proxy = start_proxy(&yaml(&up, true)).await;
    let (web, admin) = (proxy.listener_addr("web").unwrap(), proxy.admin_addr());
    assert_eq!(
        request("GET", web, "/", &[("x-api-key", "k")], "")
            .await
            .status,
        200
    );
    assert_eq!(request("GET", web, "/", &[], "").await.status, 401);

    let text = metrics_text(admin).await;
    let phase = [("plugin", "key"), ("phase", "request_headers")];
    let timed = metric(&text, "switchyard_plugin_duration_seconds_count", &phase);
    let counted = metric(&text, "switchyard_plugin_calls_total", &phase);
    assert_eq!(timed, 2.0, "{text}");
    assert_eq!(
        calls(&text, "key", "request_headers", "local_reply"),
        1,
        "{text}"
    );
    assert_eq!(calls(&text, "key", "request_headers", "ok"), 1, "{text}");
    assert_eq!(counted, timed, "results do not add up to the calls\n{text}");
}

/// `GET /plugins` lists the running config's plugins with the hash of the
/// loaded file, the callbacks it exports and the instances it made.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_lists_the_loaded_plugins() {
    let up = TestUpstream::spawn("up").await;
    let proxy = start_proxy(&yaml(&up, true)).await;
    let (web, admin) = (proxy.listener_addr("web").unwrap(), proxy.admin_addr());
    for _ in 0..5 {
        let r = request("GET", web, "/", &[("x-api-key", "k")], "").await;
        assert_eq!(r.status, 200, "{}", r.body);
    }
    let r = crate::common::get(admin, "/plugins").await;
    assert_eq!(r.status, 200);
    let doc: serde_json::Value = serde_json::from_str(&r.body).unwrap();
    assert_eq!(doc["generation"], 1);
    let plugins = doc["plugins"].as_array().unwrap();
    assert_eq!(plugins.len(), 1, "{doc}");
    let p = &plugins[0];
    assert_eq!(p["name"], "key");
    assert_eq!(p["file"], GUARD);
    let bytes = std::fs::read(GUARD).unwrap();
    assert_eq!(p["hash"], switchyard::config::content_hash(&bytes));
    assert_eq!(p["on_error"], "fail_closed");
    assert_eq!(p["limits"]["memory_bytes"], 16 * 1024 * 1024);
    assert_eq!(p["limits"]["body_bytes"], 1024 * 1024);
    // The guard's end-of-request callbacks are empty, so not listed.
    assert_eq!(
        p["callbacks"],
        serde_json::json!(["request_headers"]),
        "{doc}"
    );
    // Warm instances are reused: far fewer than requests, at least one.
    let made = p["instances_created"].as_u64().unwrap();
    assert!((1..5).contains(&made), "{doc}");
}
