//! Hot reload under load, through the real binary.
//!
//! The config is rewritten 50 times while keep-alive clients send requests
//! to two proxies without pause: in place, temp file then rename, editor
//! backup-and-swap and Kubernetes ConfigMap symlink swap, picked up by the
//! directory watch, by SIGHUP, by `POST /reload` and by polling, invalid
//! versions included. Not one request may fail; every valid version must
//! serve within a second of its write (poll: one interval plus a second);
//! every invalid one must leave the previous version serving and count one
//! failure.
//!
//! Each version N sets `x-version: N` on `/` and routes it to upstream
//! `N % 3`, so one response shows which version served it, and that the
//! route and the pool changed together.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{Request, StatusCode};
use http_body_util::{BodyExt, Full};

use crate::common::process::ProxyProcess;
use crate::common::{client, eventually, get, metric, send, TestUpstream};

/// Watch phases: the watcher alone (no poll that could read a file half
/// written and count a failure the test did not make).
const WATCH: &str = "{ watch: true, poll_interval: 0 }";
/// Only SIGHUP and `POST /reload` apply changes.
const MANUAL: &str = "{ watch: false, poll_interval: 0 }";
/// Only the poll applies changes.
const POLL: &str = "{ watch: false, poll_interval: 300ms }";
const POLL_INTERVAL: Duration = Duration::from_millis(300);
/// The acceptance budget from write to first response of the new version.
const BUDGET: Duration = Duration::from_secs(1);
/// Load bounds, per task (4 tasks): time, requests.
const LOAD_MAX_TIME: Duration = Duration::from_secs(60);
const LOAD_MAX_REQUESTS: u64 = 50_000;

/// Version `n`: `/` answers `x-version: n` from upstream `n % 3`.
fn valid(n: u32, names: &[(String, String)], reload: &str) -> String {
    let (name, url) = &names[n as usize % names.len()];
    format!(
        "version: 1
runtime: {{ worker_threads: 2, shutdown_timeout: 5s }}
admin: {{ listen: '127.0.0.1:0' }}
listeners: [{{ name: web, listen: '127.0.0.1:0' }}]
routes:
  - {{ name: all, pool: p, response_headers: {{ set: {{ x-version: '{n}' }} }} }}
pools:
  - {{ name: p, endpoints: [{{ name: {name}, url: '{url}' }}] }}
{reload_line}",
        reload_line = if reload.is_empty() {
            String::new()
        } else {
            format!("reload: {reload}\n")
        }
    )
}

/// An invalid version, unique by `n`; `kind` cycles YAML syntax garbage,
/// an unknown key and a route to an unknown pool.
fn invalid(kind: usize, n: u32, names: &[(String, String)], reload: &str) -> String {
    match kind % 3 {
        0 => format!("version: 1\nroutes: [{{ name: broken-{n}, pool: \npools: ]]\n"),
        1 => format!("{}unknown_key_{n}: true\n", valid(n, names, reload)),
        _ => valid(n, names, reload).replace("pool: p,", "pool: nowhere,"),
    }
}

#[derive(Clone, Copy, Debug)]
enum Method {
    InPlace,
    Rename,
    EditorSwap,
}

impl Method {
    fn label(self) -> &'static str {
        match self {
            Self::InPlace => "in-place",
            Self::Rename => "temp+rename",
            Self::EditorSwap => "editor-swap",
        }
    }

    fn write(self, path: &Path, text: &str) {
        match self {
            // Truncate and write the same inode.
            Self::InPlace => std::fs::write(path, text).unwrap(),
            Self::Rename => {
                let tmp = path.with_file_name(".switchyard.yaml.tmp");
                std::fs::write(&tmp, text).unwrap();
                std::fs::rename(&tmp, path).unwrap();
            }
            // What vim and friends do: keep a backup, write anew, drop it.
            Self::EditorSwap => {
                let backup = path.with_file_name("switchyard.yaml~");
                std::fs::rename(path, &backup).unwrap();
                std::fs::write(path, text).unwrap();
                std::fs::remove_file(&backup).unwrap();
            }
        }
    }
}

/// A Kubernetes ConfigMap volume: `switchyard.yaml -> ..data/switchyard.yaml`,
/// `..data -> ..<timestamp>`; an update swaps `..data` atomically and the
/// file itself is never written.
struct ConfigMapDir {
    dir: tempfile::TempDir,
    current: String,
    updates: u32,
}

impl ConfigMapDir {
    fn create(text: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let current = "..2026_11_21_10_00_00.000".to_string();
        std::fs::create_dir(dir.path().join(&current)).unwrap();
        std::fs::write(dir.path().join(&current).join("switchyard.yaml"), text).unwrap();
        std::os::unix::fs::symlink(&current, dir.path().join("..data")).unwrap();
        std::os::unix::fs::symlink("..data/switchyard.yaml", dir.path().join("switchyard.yaml"))
            .unwrap();
        Self {
            dir,
            current,
            updates: 0,
        }
    }

    fn path(&self) -> PathBuf {
        self.dir.path().join("switchyard.yaml")
    }

    fn write(&mut self, text: &str) {
        self.updates += 1;
        let root = self.dir.path();
        let next = format!("..2026_11_21_10_00_{:02}.000", self.updates);
        std::fs::create_dir(root.join(&next)).unwrap();
        std::fs::write(root.join(&next).join("switchyard.yaml"), text).unwrap();
        std::os::unix::fs::symlink(&next, root.join("..data_tmp")).unwrap();
        std::fs::rename(root.join("..data_tmp"), root.join("..data")).unwrap();
        std::fs::remove_dir_all(root.join(&self.current)).unwrap();
        self.current = next;
    }
}

/// What one load task saw.
#[derive(Default)]
struct LoadStats {
    sent: AtomicU64,
    failed: AtomicU64,
    /// A later request answered by an older version than an earlier one.
    regressions: AtomicU64,
    first_error: Mutex<Option<String>>,
}

impl LoadStats {
    fn fail(&self, why: String) {
        self.failed.fetch_add(1, Ordering::Relaxed);
        self.first_error.lock().unwrap().get_or_insert(why);
    }
}

/// Sends `GET /` in a loop on one keep-alive client until `stop`, or the
/// time or request bound; every non-200, transport error, timeout, or
/// response whose upstream does not match its version is a failure.
async fn load(web: SocketAddr, upstreams: Vec<String>, stop: Arc<AtomicBool>) -> Arc<LoadStats> {
    let stats = Arc::new(LoadStats::default());
    let client = client();
    let uri: http::Uri = format!("http://{web}/").parse().unwrap();
    let end = Instant::now() + LOAD_MAX_TIME;
    let mut newest = 0u32;
    while !stop.load(Ordering::Relaxed)
        && Instant::now() < end
        && stats.sent.load(Ordering::Relaxed) < LOAD_MAX_REQUESTS
    {
        let req = Request::get(uri.clone())
            .body(Full::new(Bytes::new()))
            .unwrap();
        let n = stats.sent.fetch_add(1, Ordering::Relaxed);
        let res = tokio::time::timeout(Duration::from_secs(5), async {
            let resp = client.request(req).await.map_err(|e| format!("{e:?}"))?;
            let status = resp.status();
            let header = |h: &str| {
                resp.headers()
                    .get(h)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_string)
            };
            let (version, upstream) = (header("x-version"), header("x-upstream"));
            let body = resp.into_body().collect().await;
            let body = body.map_err(|e| format!("body: {e:?}"))?.to_bytes();
            if status != StatusCode::OK {
                return Err(format!(
                    "status {status}: {}",
                    String::from_utf8_lossy(&body)
                ));
            }
            let version: u32 = version.and_then(|v| v.parse().ok()).ok_or("no x-version")?;
            let want = &upstreams[version as usize % upstreams.len()];
            if upstream.as_deref() != Some(want.as_str()) {
                return Err(format!(
                    "version {version} answered by {upstream:?}, want {want}"
                ));
            }
            Ok(version)
        })
        .await;
        match res {
            Ok(Ok(version)) => {
                if version < newest {
                    stats.regressions.fetch_add(1, Ordering::Relaxed);
                    stats.fail(format!(
                        "request {n}: version {version} after {newest} was served"
                    ));
                }
                newest = newest.max(version);
            }
            Ok(Err(e)) => stats.fail(format!("request {n}: {e}")),
            Err(_) => stats.fail(format!("request {n}: no answer within 5 s")),
        }
        tokio::task::yield_now().await;
    }
    stats
}

/// The version serving `/` now.
async fn served(web: SocketAddr) -> u32 {
    let reply = get(web, "/").await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply.header("x-version").unwrap().parse().unwrap()
}

async fn metrics(admin: SocketAddr) -> String {
    get(admin, "/metrics").await.body
}

async fn reloads(admin: SocketAddr, result: &str) -> u64 {
    metric(
        &metrics(admin).await,
        "switchyard_config_reloads_total",
        &[("result", result)],
    ) as u64
}

async fn post_reload(admin: SocketAddr) -> (u16, serde_json::Value) {
    let reply = send(
        Request::post(format!("http://{admin}/reload"))
            .body(Full::new(Bytes::new()))
            .unwrap(),
    )
    .await;
    (reply.status, serde_json::from_str(&reply.body).unwrap())
}

/// One proxy's expected state, and the latencies seen.
struct Tracker {
    name: &'static str,
    web: SocketAddr,
    admin: SocketAddr,
    /// The version that must be serving.
    version: u32,
    /// Text of that version.
    text: String,
    /// Expected `switchyard_config_generation`.
    generation: u64,
    /// Expected failure count.
    failures: u64,
    /// Writes made.
    writes: u32,
    /// Max (and count) per way of applying.
    latencies: BTreeMap<String, (u32, Duration)>,
}

impl Tracker {
    fn new(name: &'static str, web: SocketAddr, admin: SocketAddr, text: String) -> Self {
        Self {
            name,
            web,
            admin,
            version: 0,
            text,
            generation: 1,
            failures: 0,
            writes: 0,
            latencies: BTreeMap::new(),
        }
    }

    fn record(&mut self, how: String, latency: Duration) {
        let e = self.latencies.entry(how).or_insert((0, Duration::ZERO));
        e.0 += 1;
        e.1 = e.1.max(latency);
    }

    /// Waits until `version` serves; asserts it took less than `budget`
    /// from `written`.
    async fn applied(
        &mut self,
        how: &str,
        version: u32,
        text: String,
        written: Instant,
        budget: Duration,
    ) {
        let web = self.web;
        let seen = eventually(Duration::from_secs(10), || async move {
            (served(web).await == version).then(Instant::now)
        })
        .await;
        let latency = seen - written;
        assert!(
            latency < budget,
            "{}: version {version} ({how}) took {latency:?} to serve, budget {budget:?}",
            self.name
        );
        self.record(how.to_string(), latency);
        self.version = version;
        self.text = text;
        self.generation += 1;
        self.writes += 1;
    }

    /// Waits until the failure counter counts this invalid write; asserts
    /// the previous version still serves.
    async fn rejected(&mut self, how: &str, written: Instant) {
        self.failures += 1;
        self.writes += 1;
        let (admin, want) = (self.admin, self.failures);
        let seen = eventually(Duration::from_secs(10), || async move {
            (reloads(admin, "failure").await >= want).then(Instant::now)
        })
        .await;
        self.record(format!("reject {how}"), seen - written);
        self.check().await;
    }

    /// The expected version serves, and the counters match exactly.
    async fn check(&self) {
        assert_eq!(served(self.web).await, self.version, "{}", self.name);
        let text = metrics(self.admin).await;
        let failure = metric(
            &text,
            "switchyard_config_reloads_total",
            &[("result", "failure")],
        );
        let success = metric(
            &text,
            "switchyard_config_reloads_total",
            &[("result", "success")],
        );
        let generation = metric(&text, "switchyard_config_generation", &[]);
        assert_eq!(failure as u64, self.failures, "{}: failures", self.name);
        assert_eq!(
            success as u64,
            self.generation - 1,
            "{}: successes",
            self.name
        );
        assert_eq!(
            generation as u64, self.generation,
            "{}: generation",
            self.name
        );
    }

    async fn check_config_endpoint(&self) {
        let reply = get(self.admin, "/config").await;
        let v: serde_json::Value = serde_json::from_str(&reply.body).unwrap();
        assert_eq!(v["generation"], self.generation, "{}", self.name);
        assert_eq!(
            v["hash"],
            switchyard::config::content_hash(self.text.as_bytes()),
            "{}: /config hash is not the last valid version's",
            self.name
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_rewrites_under_load_lose_no_request() {
    let started = Instant::now();
    let ups = [
        TestUpstream::spawn("u0").await,
        TestUpstream::spawn("u1").await,
        TestUpstream::spawn("u2").await,
    ];
    let names: Vec<(String, String)> = ups.iter().map(|u| (u.name.clone(), u.url())).collect();
    let upstream_names: Vec<String> = ups.iter().map(|u| u.name.clone()).collect();

    // Plain: a regular file in a regular directory.
    let first = valid(0, &names, WATCH);
    let plain = ProxyProcess::spawn(&first);
    let plain_path = plain.dir.as_ref().unwrap().path().join("switchyard.yaml");
    let mut p = Tracker::new("plain", plain.web(), plain.admin, first);
    // ConfigMap: started on the symlink, default reload settings.
    let first = valid(0, &names, "");
    let mut cm_dir = ConfigMapDir::create(&first);
    let cm_proxy = ProxyProcess::spawn_path(&cm_dir.path());
    let mut c = Tracker::new("configmap", cm_proxy.web(), cm_proxy.admin, first);

    let stop = Arc::new(AtomicBool::new(false));
    // Two keep-alive clients per proxy, each sending back to back.
    let loads: Vec<_> = [("plain", p.web), ("configmap", c.web)]
        .into_iter()
        .flat_map(|target| [target, target])
        .map(|(name, web)| {
            let task = load(web, upstream_names.clone(), Arc::clone(&stop));
            (name, tokio::spawn(task))
        })
        .collect();
    p.check().await;
    c.check().await;

    let mut version = 0u32;
    let mut next = || {
        version += 1;
        version
    };
    let mut invalid_kind = 0usize;

    // Phase 1, plain proxy, directory watch: 30 writes cycling the three
    // ways to write a file; every fourth one invalid (7 in all, covering
    // each way and each kind of invalid).
    for i in 0..30 {
        let method = [Method::InPlace, Method::Rename, Method::EditorSwap][i % 3];
        let n = next();
        let how = format!("watch {}", method.label());
        if i % 4 == 3 {
            let text = invalid(invalid_kind, n, &names, WATCH);
            invalid_kind += 1;
            method.write(&plain_path, &text);
            p.rejected(&how, Instant::now()).await;
        } else {
            let text = valid(n, &names, WATCH);
            method.write(&plain_path, &text);
            p.applied(&how, n, text, Instant::now(), BUDGET).await;
        }
    }
    p.check().await;

    // Phase 2, ConfigMap proxy: 10 `..data` swaps, 3 invalid (one of each
    // kind).
    for i in 0..10 {
        let n = next();
        if i % 3 == 2 {
            let text = invalid(invalid_kind, n, &names, "");
            invalid_kind += 1;
            cm_dir.write(&text);
            c.rejected("watch configmap", Instant::now()).await;
        } else {
            let text = valid(n, &names, "");
            cm_dir.write(&text);
            c.applied("watch configmap", n, text, Instant::now(), BUDGET)
                .await;
        }
    }
    c.check().await;

    // Phase 3, plain proxy, no watch and no poll: only SIGHUP and
    // `POST /reload` apply a change (5 writes).
    let n = next();
    let text = valid(n, &names, MANUAL);
    Method::Rename.write(&plain_path, &text);
    p.applied("watch temp+rename", n, text, Instant::now(), BUDGET)
        .await;

    // SIGHUP: the write alone changes nothing (watched for well past the
    // debounce), the signal applies it.
    let n = next();
    let text = valid(n, &names, MANUAL);
    Method::InPlace.write(&plain_path, &text);
    let quiet = Instant::now() + Duration::from_millis(700);
    while Instant::now() < quiet {
        assert_eq!(served(p.web).await, p.version, "applied with no trigger");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let sent = Instant::now();
    plain.signal("HUP");
    p.applied("sighup", n, text, sent, BUDGET).await;

    // POST /reload: applied when it answers.
    let n = next();
    let text = valid(n, &names, MANUAL);
    Method::InPlace.write(&plain_path, &text);
    let sent = Instant::now();
    let (status, report) = post_reload(p.admin).await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["result"], "success", "{report}");
    assert_eq!(report["trigger"], "admin", "{report}");
    assert_eq!(report["generation"], p.generation + 1, "{report}");
    assert_eq!(served(p.web).await, n, "served right after POST /reload");
    p.applied("admin", n, text, sent, BUDGET).await;
    // Same content again: unchanged, nothing counted.
    let (status, report) = post_reload(p.admin).await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["result"], "unchanged", "{report}");
    assert_eq!(report["generation"], p.generation, "{report}");
    p.check().await;

    // Invalid by POST /reload: 422 with the problems, counted before it
    // answers.
    let n = next();
    let text = invalid(invalid_kind, n, &names, MANUAL);
    invalid_kind += 1;
    Method::InPlace.write(&plain_path, &text);
    let sent = Instant::now();
    let (status, report) = post_reload(p.admin).await;
    assert_eq!(status, 422, "{report}");
    assert_eq!(report["result"], "failure", "{report}");
    assert_eq!(report["generation"], p.generation, "{report}");
    assert!(!report["errors"].as_array().unwrap().is_empty(), "{report}");
    p.rejected("admin", sent).await;

    // Invalid by SIGHUP.
    let n = next();
    let text = invalid(invalid_kind, n, &names, MANUAL);
    Method::InPlace.write(&plain_path, &text);
    let sent = Instant::now();
    plain.signal("HUP");
    p.rejected("sighup", sent).await;

    // Phase 4, plain proxy, polling only (5 writes): switched on by
    // `POST /reload` (the trigger loop must pick up settings applied by
    // another trigger), then renames only, one invalid.
    let n = next();
    let text = valid(n, &names, POLL);
    Method::Rename.write(&plain_path, &text);
    let sent = Instant::now();
    let (status, report) = post_reload(p.admin).await;
    assert_eq!(
        (status, report["result"].as_str()),
        (200, Some("success")),
        "{report}"
    );
    p.applied("admin", n, text, sent, BUDGET).await;
    for i in 0..4 {
        let n = next();
        if i == 2 {
            let text = invalid(1, n, &names, POLL);
            Method::Rename.write(&plain_path, &text);
            p.rejected("poll temp+rename", Instant::now()).await;
        } else {
            let text = valid(n, &names, POLL);
            Method::Rename.write(&plain_path, &text);
            p.applied(
                "poll temp+rename",
                n,
                text,
                Instant::now(),
                POLL_INTERVAL + BUDGET,
            )
            .await;
        }
    }

    stop.store(true, Ordering::Relaxed);
    let mut per_proxy: BTreeMap<&str, u64> = BTreeMap::new();
    for (name, task) in loads {
        let stats = task.await.unwrap();
        let sent = stats.sent.load(Ordering::Relaxed);
        let failed = stats.failed.load(Ordering::Relaxed);
        eprintln!(
            "{name}: {sent} requests, {failed} failed, {} version regressions",
            stats.regressions.load(Ordering::Relaxed)
        );
        assert_eq!(
            failed,
            0,
            "{name}: {failed} of {sent} requests failed; first: {:?}",
            stats.first_error.lock().unwrap()
        );
        *per_proxy.entry(name).or_default() += sent;
    }
    for (name, sent) in &per_proxy {
        assert!(*sent > 1000, "{name}: only {sent} requests sent");
    }
    let total: u64 = per_proxy.values().sum();

    // Exact counts: every valid write one generation, every invalid one
    // failure, nothing double-counted by multi-event writes.
    for t in [&p, &c] {
        t.check().await;
        t.check_config_endpoint().await;
        eprintln!(
            "{}: {} writes, generation {}, {} failures",
            t.name, t.writes, t.generation, t.failures
        );
        for (how, (count, max)) in &t.latencies {
            eprintln!("  {how:<24} x{count:<3} max {max:?}");
        }
    }
    assert_eq!(p.writes + c.writes, 50);
    assert_eq!(p.generation, 1 + 23 + 3 + 4);
    assert_eq!(p.failures, 7 + 2 + 1);
    assert_eq!(c.generation, 1 + 7);
    assert_eq!(c.failures, 3);
    eprintln!("{total} requests in {:?}", started.elapsed());
}
