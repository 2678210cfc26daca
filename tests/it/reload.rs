//! Hot reload through the real listener: state carries over, nothing
//! in flight is cut, stale series disappear, bad configs change nothing.
//! Triggers are explicit here (`watch: false`, no polling) so every test is
//! deterministic; `reload_load` covers the file watcher under load.

use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::time::Duration;

use bytes::Bytes;
use http::Request;
use http_body_util::{BodyExt, Empty};
use switchyard::proxy::{ReloadReport, Trigger};
use switchyard::Switchyard;

use crate::common::{eventually, get, metric, TestUpstream};

struct FileProxy {
    _dir: tempfile::TempDir,
    path: PathBuf,
    proxy: Switchyard,
}

impl FileProxy {
    async fn start(body: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("switchyard.yaml");
        std::fs::write(&path, full(body, "127.0.0.1:0")).unwrap();
        let loaded = switchyard::config::load_file(&path).unwrap();
        let proxy = Switchyard::start_with_file(loaded, Some(path.clone()))
            .await
            .unwrap();
        Self {
            _dir: dir,
            path,
            proxy,
        }
    }

    /// Writes the new body (admin address kept) and reloads.
    async fn reload(&self, body: &str) -> ReloadReport {
        std::fs::write(&self.path, full(body, "127.0.0.1:0")).unwrap();
        self.proxy.control().reload_from_file(Trigger::Api).await
    }

    fn web(&self) -> std::net::SocketAddr {
        self.proxy.listener_addr("web").unwrap()
    }

    async fn metrics(&self) -> String {
        get(self.proxy.admin_addr(), "/metrics").await.body
    }
}

/// A full config: `body` holds listeners, routes and pools.
fn full(body: &str, admin: &str) -> String {
    format!(
        "version: 1\nruntime: {{ worker_threads: 2, shutdown_timeout: 5s }}\nadmin: {{ listen: '{admin}' }}\n\
reload: {{ watch: false, poll_interval: '0' }}\n{body}"
    )
}

fn one_pool(routes: &str, pools: &str) -> String {
    format!("listeners: [{{ name: web, listen: '127.0.0.1:0' }}]\nroutes:\n{routes}pools:\n{pools}")
}

fn ep(name: &str, up: &TestUpstream) -> String {
    format!("{{ name: {name}, url: '{}' }}", up.url())
}

#[tokio::test]
async fn streams_keep_alive_and_in_flight_requests_survive_ten_reloads() {
    let up = TestUpstream::spawn("up").await;
    let body = |n: usize| {
        one_pool(
            &format!("  - {{ name: r, pool: p, response_headers: {{ set: {{ x-version: 'v{n}' }} }} }}\n"),
            &format!("  - {{ name: p, endpoints: [{}] }}\n", ep("up", &up)),
        )
    };
    let fp = FileProxy::start(&body(0)).await;
    let addr = fp.web();

    // A keep-alive connection of our own, used before and after reloads.
    let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (mut conn, driver) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .unwrap();
    tokio::spawn(driver);
    let big: u64 = 8 * 1024 * 1024;
    let req = |path: String| {
        Request::get(path)
            .header("host", "x")
            .body(Empty::<Bytes>::new())
            .unwrap()
    };
    let resp = conn
        .send_request(req(format!("/bytes/{big}")))
        .await
        .unwrap();
    assert_eq!(resp.headers()["x-version"], "v0");
    let mut stream_body = resp.into_body();
    // A slow request on another connection, in flight across the reloads.
    let slow = tokio::spawn(async move { get(addr, "/slow/1500").await });

    let mut got = 0u64;
    for n in 1..=10 {
        // Read a little, reload, read on.
        if let Some(frame) = stream_body.frame().await {
            got += frame.unwrap().into_data().map_or(0, |d| d.len() as u64);
        }
        let report = fp.reload(&body(n)).await;
        assert_eq!(report.result, "success", "{report:?}");
        assert_eq!(report.generation, 1 + n as u64);
    }
    while let Some(frame) = stream_body.frame().await {
        got += frame.unwrap().into_data().map_or(0, |d| d.len() as u64);
    }
    assert_eq!(got, big, "the streamed body arrived whole");
    // The same keep-alive connection now sees the newest config.
    let resp = conn.send_request(req("/".into())).await.unwrap();
    assert_eq!(resp.headers()["x-version"], "v10");
    let slow = slow.await.unwrap();
    assert_eq!((slow.status, slow.body.as_str()), (200, "up"));
    fp.proxy.shutdown_within(Duration::from_secs(1)).await;
}

#[tokio::test]
async fn endpoint_state_carries_over_reloads_that_do_not_touch_it() {
    let a = TestUpstream::spawn("a").await;
    let b = TestUpstream::spawn("b").await;
    let body = |other_route: &str, b_weight: u32| {
        one_pool(
            &format!("  - {{ name: ra, match: {{ path_prefix: /a }}, pool: pa }}\n  - {{ name: {other_route}, match: {{ path_prefix: /b }}, pool: pb }}\n"),
            &format!(
                "  - {{ name: pa, endpoints: [{}] }}\n  - {{ name: pb, endpoints: [{{ name: b, url: '{}', weight: {b_weight} }}] }}\n",
                ep("a", &a),
                b.url()
            ),
        )
    };
    let fp = FileProxy::start(&body("rb", 1)).await;
    let addr = fp.web();
    for _ in 0..10 {
        assert_eq!(get(addr, "/a").await.body, "a");
    }
    for n in 0..5 {
        let report = fp.reload(&body(&format!("rb{n}"), 2 + n)).await;
        assert_eq!(report.result, "success", "{report:?}");
        assert_eq!(report.changes.routes.added, 1);
        assert_eq!(report.changes.endpoints.changed, 1, "{report:?}");
    }
    for _ in 0..10 {
        assert_eq!(get(addr, "/a").await.body, "a");
    }
    // One upstream connection for all 20 requests: the pool survived, and
    // so did the counters.
    assert_eq!(a.connections.load(Ordering::Relaxed), 1);
    let m = fp.metrics().await;
    assert_eq!(
        metric(
            &m,
            "switchyard_upstream_requests_total",
            &[("endpoint", "a"), ("outcome", "success")]
        ),
        20.0
    );

    // A changed URL is a new endpoint: new connection pool.
    let moved = one_pool(
        "  - { name: ra, match: { path_prefix: /a }, pool: pa }\n",
        &format!(
            "  - {{ name: pa, endpoints: [{{ name: a, url: '{}' }}] }}\n",
            b.url()
        ),
    );
    let report = fp.reload(&moved).await;
    assert_eq!(report.result, "success");
    assert_eq!(get(addr, "/a").await.body, "b");
    fp.proxy.shutdown_within(Duration::from_secs(1)).await;
}

#[tokio::test]
async fn series_of_removed_endpoints_and_routes_are_gone() {
    let a = TestUpstream::spawn("a").await;
    let b = TestUpstream::spawn("b").await;
    let both = one_pool(
        "  - { name: keep, match: { path_prefix: /keep }, pool: p }\n  - { name: gone, pool: p }\n",
        &format!(
            "  - {{ name: p, balancer: round_robin, endpoints: [{}, {}] }}\n",
            ep("a", &a),
            ep("b", &b)
        ),
    );
    let fp = FileProxy::start(&both).await;
    for _ in 0..4 {
        get(fp.web(), "/keep").await;
        get(fp.web(), "/other").await;
    }
    let m = fp.metrics().await;
    assert!(m.contains("endpoint=\"b\"") && m.contains("route=\"gone\""));
    let only_a = one_pool(
        "  - { name: keep, match: { path_prefix: /keep }, pool: p }\n",
        &format!("  - {{ name: p, endpoints: [{}] }}\n", ep("a", &a)),
    );
    let report = fp.reload(&only_a).await;
    assert_eq!(report.result, "success");
    assert_eq!(
        (
            report.changes.endpoints.removed,
            report.changes.routes.removed
        ),
        (1, 1)
    );
    let m = fp.metrics().await;
    assert!(!m.contains("endpoint=\"b\""), "{m}");
    assert!(!m.contains("route=\"gone\""), "{m}");
    assert!(m.contains("endpoint=\"a\"") && m.contains("route=\"keep\""));
    fp.proxy.shutdown_within(Duration::from_secs(1)).await;
}

#[tokio::test]
async fn invalid_and_restart_only_changes_keep_the_running_config() {
    let a = TestUpstream::spawn("a").await;
    let good = one_pool(
        "  - { name: r, pool: p }\n",
        &format!("  - {{ name: p, endpoints: [{}] }}\n", ep("a", &a)),
    );
    let fp = FileProxy::start(&good).await;

    let bad = one_pool(
        "  - { name: r, pool: paymnts }\n",
        &format!("  - {{ name: p, endpoints: [{}] }}\n", ep("a", &a)),
    );
    let report = fp.reload(&bad).await;
    assert_eq!(report.result, "failure");
    assert_eq!(report.generation, 1);
    assert!(
        report.errors[0].starts_with("routes[0].pool: unknown pool \"paymnts\""),
        "{:?}",
        report.errors
    );
    assert!(report.errors[0].contains("(line "), "{:?}", report.errors);
    assert_eq!(get(fp.web(), "/").await.body, "a");

    // Same bytes again from a background trigger: not re-tried.
    let again = fp.proxy.control().reload_from_file(Trigger::File).await;
    assert_eq!(again.result, "unchanged");

    // worker_threads needs a restart: rejected whole.
    let text = full(&good, "127.0.0.1:0").replace("worker_threads: 2", "worker_threads: 3");
    std::fs::write(&fp.path, text).unwrap();
    let report = fp.proxy.control().reload_from_file(Trigger::Api).await;
    assert_eq!(report.result, "failure");
    assert!(
        report.errors[0].starts_with("runtime.worker_threads: changed from 2 to 3"),
        "{:?}",
        report.errors
    );
    let m = fp.metrics().await;
    assert_eq!(
        metric(
            &m,
            "switchyard_config_reloads_total",
            &[("result", "failure")]
        ),
        2.0
    );
    assert_eq!(
        metric(&m, "switchyard_config_last_reload_success", &[]),
        0.0
    );
    assert_eq!(metric(&m, "switchyard_config_generation", &[]), 1.0);

    // Back to a good file: applies.
    let report = fp.reload(&good.replace("name: r,", "name: r2,")).await;
    assert_eq!((report.result, report.generation), ("success", 2));
    let m = fp.metrics().await;
    assert_eq!(
        metric(&m, "switchyard_config_last_reload_success", &[]),
        1.0
    );
    assert_eq!(metric(&m, "switchyard_config_generation", &[]), 2.0);
    fp.proxy.shutdown_within(Duration::from_secs(1)).await;
}

#[tokio::test]
async fn listeners_are_added_renamed_in_place_and_drained_on_removal() {
    let a = TestUpstream::spawn("a").await;
    let pools = format!("pools: [{{ name: p, endpoints: [{}] }}]\n", ep("a", &a));
    let fp = FileProxy::start(&format!(
        "listeners: [{{ name: web, listen: '127.0.0.1:0' }}]\nroutes: [{{ name: r, pool: p }}]\n{pools}"
    ))
    .await;
    let web = fp.web();

    // Add a listener.
    let report = fp
        .reload(&format!(
            "listeners: [{{ name: web, listen: '127.0.0.1:0' }}, {{ name: api, listen: '127.0.0.1:0' }}]\nroutes: [{{ name: r, pool: p }}]\n{pools}"
        ))
        .await;
    assert_eq!(report.result, "success", "{report:?}");
    assert_eq!(report.changes.listeners.added, 1);
    let api = fp.proxy.listener_addr("api").unwrap();
    assert_eq!(fp.web(), web, "the unchanged listener kept its socket");
    assert_eq!(get(api, "/").await.body, "a");

    // Rename web to www on the same (bound) address: the socket is handed
    // over, no rebind; an in-flight request on api survives api's removal.
    let slow = tokio::spawn(async move { get(api, "/slow/800").await });
    eventually(Duration::from_secs(5), || async {
        (a.hits() >= 2).then_some(())
    })
    .await;
    let report = fp
        .reload(&format!(
            "listeners: [{{ name: www, listen: '{web}' }}]\nroutes: [{{ name: r, pool: p }}]\n{pools}"
        ))
        .await;
    assert_eq!(report.result, "success", "{report:?}");
    assert_eq!(fp.proxy.listener_addr("www"), Some(web));
    assert_eq!(get(web, "/").await.body, "a");
    let slow = slow.await.unwrap();
    assert_eq!(slow.status, 200);
    eventually(Duration::from_secs(5), || async {
        tokio::net::TcpStream::connect(api)
            .await
            .is_err()
            .then_some(())
    })
    .await;
    fp.proxy.shutdown_within(Duration::from_secs(1)).await;
}

#[tokio::test]
async fn admin_config_is_redacted_and_admin_reload_answers_json() {
    let a = TestUpstream::spawn("a").await;
    let body = one_pool(
        "  - { name: r, pool: p, request_headers: { set: { x-api-key: topsecret } } }\n",
        &format!("  - {{ name: p, endpoints: [{}] }}\n", ep("a", &a)),
    );
    let fp = FileProxy::start(&body).await;
    let admin = fp.proxy.admin_addr();
    let cfg = get(admin, "/config").await;
    assert_eq!(cfg.status, 200);
    assert!(!cfg.body.contains("topsecret"), "{}", cfg.body);
    let v: serde_json::Value = serde_json::from_str(&cfg.body).unwrap();
    assert_eq!(v["generation"], 1);
    assert_eq!(
        v["config"]["routes"][0]["request_headers"]["set"]["x-api-key"],
        "<redacted>"
    );
    assert!(v["hash"].as_str().is_some_and(|h| h.len() == 16));

    // POST /reload: unchanged, then a change, then a broken file (422).
    let post = |path: &'static str| async move {
        crate::common::send(
            Request::post(format!("http://{admin}{path}"))
                .body(http_body_util::Full::new(Bytes::new()))
                .unwrap(),
        )
        .await
    };
    let r = post("/reload").await;
    let v: serde_json::Value = serde_json::from_str(&r.body).unwrap();
    assert_eq!((r.status, v["result"].as_str()), (200, Some("unchanged")));
    std::fs::write(
        &fp.path,
        full(&body.replace("topsecret", "rotated"), "127.0.0.1:0"),
    )
    .unwrap();
    let r = post("/reload").await;
    let v: serde_json::Value = serde_json::from_str(&r.body).unwrap();
    assert_eq!(
        (r.status, v["result"].as_str(), v["generation"].as_u64()),
        (200, Some("success"), Some(2))
    );
    std::fs::write(&fp.path, "version: 1\nroutes: [").unwrap();
    let r = post("/reload").await;
    let v: serde_json::Value = serde_json::from_str(&r.body).unwrap();
    assert_eq!(
        (r.status, v["result"].as_str(), v["generation"].as_u64()),
        (422, Some("failure"), Some(2))
    );
    assert!(v["errors"][0].as_str().unwrap().contains("line"), "{v}");
    fp.proxy.shutdown_within(Duration::from_secs(1)).await;
}

#[tokio::test]
async fn a_busy_config_directory_cannot_hold_reloads_off() {
    let a = TestUpstream::spawn("a").await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("switchyard.yaml");
    let text = |version: &str| {
        format!(
            "version: 1\nadmin: {{ listen: '127.0.0.1:0' }}\nreload: {{ debounce: 250ms, poll_interval: '0' }}\n{}",
            one_pool(
                &format!("  - {{ name: r, pool: p, response_headers: {{ set: {{ x-version: {version} }} }} }}\n"),
                &format!("  - {{ name: p, endpoints: [{}] }}\n", ep("a", &a)),
            )
        )
    };
    std::fs::write(&path, text("one")).unwrap();
    let loaded = switchyard::config::load_file(&path).unwrap();
    let proxy = Switchyard::start_with_file(loaded, Some(path.clone()))
        .await
        .unwrap();
    let web = proxy.listener_addr("web").unwrap();
    // Another program writes next to the config every 50 ms for 8 s: never
    // a 250 ms quiet spell, so without a cap on the debounce the change
    // would wait until the writer stops, well past the 3 s below.
    let sibling = dir.path().join("other.log");
    let busy = tokio::spawn(async move {
        for i in 0..160 {
            std::fs::write(&sibling, format!("{i}")).ok();
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    std::fs::write(&path, text("two")).unwrap();
    eventually(Duration::from_secs(3), || async {
        (get(web, "/").await.header("x-version") == Some("two")).then_some(())
    })
    .await;
    busy.abort();
    proxy.shutdown_within(Duration::from_secs(1)).await;
}
