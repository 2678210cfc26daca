//! Hot reload of a plugin file: a proxy started from a config file whose
//! route runs `p.wat` (a copy of `good.wat`, adding `x-wat: 1` upstream);
//! the test swaps the file between that and a variant adding `x-wat: 2`
//! and reloads several times while keep-alive clients send requests. Not
//! one request may fail or reach the upstream without the plugin.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::Request;
use http_body_util::Full;
use switchyard::proxy::Trigger;
use switchyard::Switchyard;

use super::{echoed, fixture, SLACK};
use crate::common::{client, collect, eventually, get, metric, metrics_text, send, TestUpstream};

/// Load bounds, per client (4 clients).
const LOAD_MAX_TIME: Duration = Duration::from_secs(20);
const LOAD_MAX_REQUESTS: u64 = 20_000;
const RELOADS: u64 = 7;

/// `good.wat` with its request header value `1` replaced by `value`.
fn variant(value: char) -> String {
    let text = std::fs::read_to_string(fixture("good")).unwrap();
    let from = "(data (i32.const 0x108) \"1\")";
    assert_eq!(text.matches(from).count(), 1, "good.wat changed shape");
    text.replace(from, &format!("(data (i32.const 0x108) \"{value}\")"))
}

/// Starts a proxy from `dir/switchyard.yaml`, its plugin at `plugin`
/// (relative to `dir`), written as variant `1`.
async fn start(dir: &Path, plugin: &str, reload: &str, up: &TestUpstream) -> Switchyard {
    let path = dir.join("switchyard.yaml");
    std::fs::create_dir_all(dir.join(plugin).parent().unwrap()).unwrap();
    std::fs::write(dir.join(plugin), variant('1')).unwrap();
    let yaml = format!(
        "version: 1
runtime: {{ worker_threads: 2, shutdown_timeout: 5s }}
admin: {{ listen: '127.0.0.1:0' }}
reload: {reload}
listeners: [{{ name: web, listen: '127.0.0.1:0' }}]
plugins: [{{ name: wat, file: {plugin}, limits: {{ time: {SLACK} }} }}]
routes: [{{ name: r, pool: p, plugins: [wat] }}]
pools: [{{ name: p, endpoints: [{{ name: up, url: '{}' }}] }}]\n",
        up.url()
    );
    std::fs::write(&path, yaml).unwrap();
    let loaded = switchyard::config::load_file(&path).unwrap();
    Switchyard::start_with_file(loaded, Some(path))
        .await
        .unwrap()
}

/// The `x-wat` value the upstream gets now.
async fn served(web: SocketAddr) -> String {
    let r = get(web, "/headers").await;
    let v = echoed(&r).get("x-wat").cloned();
    v.and_then(|v| v.as_str().map(String::from))
        .unwrap_or_default()
}

#[derive(Default)]
struct LoadStats {
    sent: AtomicU64,
    failed: AtomicU64,
    first_error: Mutex<Option<String>>,
}

/// `GET /headers` in a loop on one keep-alive client until `stop` or a
/// bound; a non-200, a transport error, a stall, or an upstream request
/// without `x-wat: 1|2` is a failure.
async fn load(web: SocketAddr, stop: Arc<AtomicBool>, stats: Arc<LoadStats>) {
    let client = client();
    let end = Instant::now() + LOAD_MAX_TIME;
    let mut n = 0;
    while !stop.load(Ordering::Relaxed) && Instant::now() < end && n < LOAD_MAX_REQUESTS {
        n += 1;
        stats.sent.fetch_add(1, Ordering::Relaxed);
        let req = Request::get(format!("http://{web}/headers"))
            .body(Full::new(Bytes::new()))
            .unwrap();
        let res = tokio::time::timeout(Duration::from_secs(5), async {
            let resp = client.request(req).await.map_err(|e| format!("{e:?}"))?;
            let r = collect(resp).await;
            if r.status != 200 {
                return Err(format!("status {}: {}", r.status, r.body));
            }
            let head: serde_json::Value =
                serde_json::from_str(&r.body).map_err(|e| format!("{e}: {}", r.body))?;
            match head["headers"]["x-wat"].as_str() {
                Some("1" | "2") => Ok(()),
                other => Err(format!("x-wat upstream: {other:?}")),
            }
        })
        .await
        .unwrap_or_else(|_| Err("no answer within 5 s".into()));
        if let Err(e) = res {
            stats.failed.fetch_add(1, Ordering::Relaxed);
            stats.first_error.lock().unwrap().get_or_insert(e);
        }
    }
}

async fn post_reload(admin: SocketAddr) -> serde_json::Value {
    let req = Request::post(format!("http://{admin}/reload"))
        .body(Full::new(Bytes::new()))
        .unwrap();
    let r = send(req).await;
    assert_eq!(r.status, 200, "{}", r.body);
    serde_json::from_str(&r.body).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plugin_file_swaps_under_load_lose_no_request() {
    let up = TestUpstream::spawn("up").await;
    let dir = tempfile::tempdir().unwrap();
    let manual = "{ watch: false, poll_interval: '0' }";
    let proxy = start(dir.path(), "p.wat", manual, &up).await;
    let (web, admin) = (proxy.listener_addr("web").unwrap(), proxy.admin_addr());
    let plugin: PathBuf = dir.path().join("p.wat");
    assert_eq!(served(web).await, "1");

    let stop = Arc::new(AtomicBool::new(false));
    let stats = Arc::new(LoadStats::default());
    let loads: Vec<_> = (0..4)
        .map(|_| tokio::spawn(load(web, stop.clone(), stats.clone())))
        .collect();

    for i in 1..=RELOADS {
        // Let the clients send a while on the current version first.
        let from = stats.sent.load(Ordering::Relaxed);
        let s = stats.clone();
        eventually(Duration::from_secs(10), || {
            let s = s.clone();
            async move { (s.sent.load(Ordering::Relaxed) >= from + 50).then_some(()) }
        })
        .await;
        let value = if i % 2 == 1 { '2' } else { '1' };
        std::fs::write(&plugin, variant(value)).unwrap();
        // The YAML is unchanged: only the plugin file's content differs.
        let (result, generation) = if i % 2 == 1 {
            let report = post_reload(admin).await;
            (
                report["result"].as_str().unwrap().to_string(),
                report["generation"].as_u64(),
            )
        } else {
            let report = proxy.control().reload_from_file(Trigger::Api).await;
            (report.result.to_string(), Some(report.generation))
        };
        assert_eq!(
            (result.as_str(), generation),
            ("success", Some(1 + i)),
            "reload {i}"
        );
        assert_eq!(
            served(web).await,
            value.to_string(),
            "right after reload {i}"
        );
    }
    // Nothing changed since: unchanged, no new generation.
    let report = proxy.control().reload_from_file(Trigger::Api).await;
    assert_eq!(
        (report.result, report.generation),
        ("unchanged", 1 + RELOADS)
    );
    assert_eq!(post_reload(admin).await["result"], "unchanged");

    stop.store(true, Ordering::Relaxed);
    for l in loads {
        l.await.unwrap();
    }
    let (sent, failed) = (
        stats.sent.load(Ordering::Relaxed),
        stats.failed.load(Ordering::Relaxed),
    );
    eprintln!("{sent} requests across {RELOADS} plugin reloads, {failed} failed");
    assert_eq!(failed, 0, "first: {:?}", stats.first_error.lock().unwrap());
    assert!(sent >= 50 * RELOADS, "only {sent} requests");
    assert_eq!(served(web).await, "2", "the last variant serves");
    let text = metrics_text(admin).await;
    assert_eq!(
        metric(&text, "switchyard_config_generation", &[]) as u64,
        1 + RELOADS
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_watcher_picks_up_a_rewritten_plugin_file() {
    let up = TestUpstream::spawn("up").await;
    let dir = tempfile::tempdir().unwrap();
    // The plugin sits in its own directory, which must be watched too.
    let watch = "{ watch: true, debounce: 50ms, poll_interval: '0' }";
    let proxy = start(dir.path(), "wasm/p.wat", watch, &up).await;
    let web = proxy.listener_addr("web").unwrap();
    assert_eq!(served(web).await, "1");

    std::fs::write(dir.path().join("wasm/p.wat"), variant('2')).unwrap();
    eventually(Duration::from_secs(10), || async move {
        (served(web).await == "2").then_some(())
    })
    .await;
    let text = metrics_text(proxy.admin_addr()).await;
    assert_eq!(metric(&text, "switchyard_config_generation", &[]) as u64, 2);
}
