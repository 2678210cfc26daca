//! The admin listener's status page: `GET /status` (JSON), `GET /` (the
//! self-contained page), and the page itself in headless Chromium, live:
//! an endpoint that starts failing shows up as ejected without a reload.

use std::time::{Duration, Instant};

use bytes::Bytes;
use http::Request;
use http_body_util::Full;

use crate::common::browser::{artifact, Browser};
use crate::common::{config, eps, get, send, start_proxy, wait_status, TestUpstream};

/// A pool of two endpoints with health checks, fast outlier detection and
/// scoring, behind two routes.
fn two_endpoint_config(one: &TestUpstream, two: &TestUpstream) -> String {
    let pool = format!(
        r#"pools:
  - name: vendors
    endpoints: [{}]
    health_check: {{ path: /healthz, interval: 250ms, timeout: 200ms }}
    outlier_detection: {{ consecutive_failures: 3, base_ejection_time: 60s }}
    scoring: {{ interval: 1s, window: 10s }}
"#,
        eps(&[("one", one.url()), ("two", two.url())])
    );
    let routes = r#"routes:
  - name: pay
    match: { path_prefix: /pay, methods: [GET, POST], headers: { x-api-key: s3cret } }
    pool: vendors
  - { name: rest, match: { path_prefix: / }, pool: vendors }
"#;
    config(&format!("{routes}{pool}"))
}

async fn status(admin: std::net::SocketAddr) -> serde_json::Value {
    let r = get(admin, "/status").await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.header("content-type"), Some("application/json"));
    serde_json::from_str(&r.body).expect("/status is JSON")
}

#[tokio::test]
async fn status_lists_listeners_routes_and_counters() {
    let one = TestUpstream::spawn("one").await;
    let two = TestUpstream::spawn("two").await;
    two.set_status(500);
    let proxy = start_proxy(&two_endpoint_config(&one, &two)).await;
    let (web, admin) = (proxy.listener_addr("web").unwrap(), proxy.admin_addr());
    let doc = status(admin).await;
    assert_eq!(doc["generation"], 1);
    assert_eq!(doc["ready"], true);
    assert!(doc["last_reload"].is_null(), "{doc}");
    assert_eq!(doc["extensions"], serde_json::json!([]));
    assert_eq!(doc["admin"], admin.to_string());
    assert_eq!(
        doc["listeners"],
        serde_json::json!([{ "name": "web", "address": web.to_string(), "tls": false }])
    );
    let pay = &doc["routes"][0];
    assert_eq!(pay["name"], "pay");
    assert_eq!(pay["pool"], "vendors");
    // Header values under secret-looking names are not shown.
    assert_eq!(
        pay["match"],
        "path_prefix /pay · methods GET, POST · header x-api-key=<redacted>"
    );
    assert_eq!(doc["routes"][1]["match"], "path_prefix /");
    assert_eq!(pay["requests"], 0);
    // Ten requests on `rest` (no retries): `two` answers 500 until it is
    // ejected after three failures in a row.
    let mut five_hundreds = 0;
    for _ in 0..10 {
        five_hundreds += u64::from(get(web, "/x").await.status == 500);
    }
    get(web, "/y").await;
    let doc = status(admin).await;
    let rest = &doc["routes"][1];
    assert_eq!(rest["requests"], 11, "{doc}");
    assert_eq!(rest["errors"], five_hundreds, "{doc}");
    assert_eq!(doc["routes"][0]["requests"], 0);
    let eps = &doc["pools"][0]["endpoints"];
    assert_eq!(doc["pools"][0]["name"], "vendors");
    let (e1, e2) = (&eps[0], &eps[1]);
    assert_eq!(
        (e1["name"].as_str(), e2["name"].as_str()),
        (Some("one"), Some("two"))
    );
    assert_eq!(
        e1["requests"].as_u64().unwrap() + e2["requests"].as_u64().unwrap(),
        11
    );
    assert_eq!(e1["errors"], 0);
    assert_eq!(e2["errors"], five_hundreds);
    assert_eq!(e2["requests"], five_hundreds);
}

#[tokio::test]
async fn status_keeps_the_last_reload_verdict() {
    let one = TestUpstream::spawn("one").await;
    let two = TestUpstream::spawn("two").await;
    let yaml = two_endpoint_config(&one, &two);
    let proxy = start_proxy(&yaml).await;
    let admin = proxy.admin_addr();
    // Started from inline text: an admin reload has no file to read.
    let r = send(
        Request::post(format!("http://{admin}/reload"))
            .body(Full::new(Bytes::new()))
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, 422, "{}", r.body);
    let doc = status(admin).await;
    let last = &doc["last_reload"];
    assert_eq!(last["result"], "failure", "{doc}");
    assert_eq!(last["trigger"], "admin");
    assert_eq!(last["generation"], 1);
    assert!(
        last["errors"][0]
            .as_str()
            .unwrap()
            .contains("no config file"),
        "{last}"
    );
    let now = doc["now"].as_f64().unwrap();
    let at = last["at"].as_f64().unwrap();
    assert!(at <= now && now - at < 60.0, "at {at}, now {now}");
    // A successful reload replaces it and moves the generation.
    let report = crate::common::reload(&proxy, &yaml.replace("name: rest", "name: rest2")).await;
    assert_eq!(report.result, "success");
    let doc = status(admin).await;
    assert_eq!(doc["generation"], 2);
    assert_eq!(doc["last_reload"]["result"], "success");
    assert_eq!(doc["last_reload"]["trigger"], "api");
    assert_eq!(doc["last_reload"]["errors"], serde_json::json!([]));
    assert_eq!(doc["routes"][1]["name"], "rest2");
}

#[tokio::test]
async fn the_page_is_one_self_contained_html_file() {
    let one = TestUpstream::spawn("one").await;
    let two = TestUpstream::spawn("two").await;
    let proxy = start_proxy(&two_endpoint_config(&one, &two)).await;
    let admin = proxy.admin_addr();
    let r = get(admin, "/").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("text/html; charset=utf-8"));
    let csp = r.header("content-security-policy").unwrap();
    assert!(csp.starts_with("default-src 'none'"), "{csp}");
    assert!(csp.contains("connect-src 'self'"), "{csp}");
    assert!(r.body.starts_with("<!doctype html>"));
    assert!(
        r.body.contains("name=\"viewport\""),
        "phone-friendly viewport"
    );
    // No external assets: nothing loaded from another origin.
    for needle in [
        "src=\"http",
        "href=\"http",
        "src='http",
        "href='http",
        "@import",
        "url(",
    ] {
        assert!(!r.body.contains(needle), "the page has {needle:?}");
    }
    // Every value from the server goes in as text, never as HTML.
    assert!(!r.body.contains("innerHTML"));
    for (method, path) in [("POST", "/"), ("POST", "/status")] {
        let r = send(
            Request::builder()
                .method(method)
                .uri(format!("http://{admin}{path}"))
                .body(Full::new(Bytes::new()))
                .unwrap(),
        )
        .await;
        assert_eq!(r.status, 405, "{method} {path}");
    }
}

#[tokio::test]
async fn demo_paths_are_404_outside_demo_mode() {
    let one = TestUpstream::spawn("one").await;
    let two = TestUpstream::spawn("two").await;
    let proxy = start_proxy(&two_endpoint_config(&one, &two)).await;
    let admin = proxy.admin_addr();
    assert_eq!(get(admin, "/demo/vendors").await.status, 404);
    let r = send(
        Request::post(format!("http://{admin}/demo/vendors/two/errors?rate=1"))
            .body(Full::new(Bytes::new()))
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, 404);
    assert_eq!(
        get(web_of(&proxy), "/").await.status,
        200,
        "nothing changed"
    );
}

fn web_of(proxy: &switchyard::Switchyard) -> std::net::SocketAddr {
    proxy.listener_addr("web").unwrap()
}

/// The endpoint card of `vendors/NAME`: its `data-status` and the text of
/// its badge, or null while the page has not drawn it.
fn card(name: &str) -> String {
    format!(
        "(() => {{ const c = document.querySelector('[data-endpoint=\"vendors/{name}\"]'); \
         return c ? [c.dataset.status, c.querySelector('.badge').innerText] : null; }})()"
    )
}

#[tokio::test]
async fn the_page_shows_a_failing_endpoint_ejected_live_in_chromium() {
    let one = TestUpstream::spawn("one").await;
    let two = TestUpstream::spawn("two").await;
    let proxy = start_proxy(&two_endpoint_config(&one, &two)).await;
    let (web, admin) = (proxy.listener_addr("web").unwrap(), proxy.admin_addr());
    wait_status(
        admin,
        Duration::from_secs(10),
        &[("vendors", "one", "healthy"), ("vendors", "two", "healthy")],
    )
    .await;
    let mut browser = Browser::launch(1280, 900).await;
    browser.viewport(1280, 900, false).await;
    browser.navigate(&format!("http://{admin}/")).await;
    let both_healthy = format!(
        "JSON.stringify([{}, {}]) === JSON.stringify([['healthy','healthy'],['healthy','healthy']])",
        card("one"),
        card("two")
    );
    browser
        .wait_for(Duration::from_secs(15), &both_healthy)
        .await;
    // Marks this page load: a reload would lose it.
    browser.eval("window.__sameLoad = 42").await;
    let renders_before = browser.eval("Number(document.body.dataset.renders)").await;

    // `two` fails every request; traffic through the proxy ejects it.
    two.set_status(500);
    let end = Instant::now() + Duration::from_secs(10);
    for _ in 0..200 {
        get(web, "/x").await;
        let doc = crate::common::upstreams(admin).await;
        if crate::common::endpoint(&doc, "vendors", "two")["status"] == "ejected" {
            break;
        }
        assert!(Instant::now() < end, "two was not ejected: {doc}");
    }
    // Some healthy traffic too, so the page has rates to show.
    for _ in 0..20 {
        get(web, "/x").await;
    }
    let shown = browser
        .wait_for(
            Duration::from_secs(15),
            &format!(
                "(() => {{ const c = {}; return c && c[0] === 'ejected' ? c : null; }})()",
                card("two")
            ),
        )
        .await;
    assert_eq!(shown, serde_json::json!(["ejected", "ejected"]));
    assert_eq!(
        browser.eval("window.__sameLoad").await,
        42,
        "the page reloaded"
    );
    let renders = browser.eval("Number(document.body.dataset.renders)").await;
    assert!(
        renders.as_u64() > renders_before.as_u64(),
        "{renders} vs {renders_before}"
    );
    let text = browser.eval("document.body.innerText").await;
    let text = text.as_str().unwrap();
    for needle in [
        "vendors",
        "one",
        "two",
        "ejected",
        "consecutive_failures",
        "pay",
        "rest",
        "web",
        "generation",
    ] {
        assert!(text.contains(needle), "no {needle:?} on the page:\n{text}");
    }
    let one_card = browser.eval(&card("one")).await;
    assert_eq!(one_card[0], "healthy");
    // Everything it loaded came from the admin listener.
    let foreign = browser
        .eval(&format!(
            "performance.getEntriesByType('resource').map(e => e.name).filter(n => !n.startsWith('http://{admin}/'))"
        ))
        .await;
    assert_eq!(foreign, serde_json::json!([]));
    browser.screenshot(&artifact("status-page.png")).await;

    // A phone: nothing wider than the screen.
    browser.viewport(390, 844, true).await;
    let before = browser.eval("Number(document.body.dataset.renders)").await;
    browser
        .wait_for(
            Duration::from_secs(10),
            &format!("Number(document.body.dataset.renders) > {before}"),
        )
        .await;
    let widths = browser
        .eval("[document.documentElement.scrollWidth, window.innerWidth]")
        .await;
    assert!(
        widths[0].as_u64() <= widths[1].as_u64(),
        "wider than a phone: {widths}"
    );
    browser.screenshot(&artifact("status-page-phone.png")).await;
    assert!(
        browser.page_errors.is_empty(),
        "page errors: {:?}",
        browser.page_errors
    );
}
