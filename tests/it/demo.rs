//! `switchyard demo` in process, on `config/demo.yaml` itself with every
//! address moved to port 0: the vendors, the plugin, the `/demo/` controls
//! and the load generator, and the story the README tells (vendor b at 30%
//! errors is scored down and ejected, and re-admitted once it is back to 0).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::Request;
use http_body_util::Full;
use switchyard::demo::{self, Demo, DemoOptions, LoadPlan};

use crate::common::browser::{artifact, Browser};
use crate::common::{endpoint, get, send, upstreams, wait_status};

/// `config/demo.yaml` with every `127.0.0.1:PORT` at port 0 and the plugin
/// path made absolute, written to a temp dir.
fn demo_config() -> (tempfile::TempDir, PathBuf) {
    let root = env!("CARGO_MANIFEST_DIR");
    let text = std::fs::read_to_string(format!("{root}/config/demo.yaml")).unwrap();
    let ports = regex::Regex::new(r"127\.0\.0\.1:\d+").unwrap();
    let text = ports
        .replace_all(&text, "127.0.0.1:0")
        .replace("../plugins/", &format!("{root}/plugins/"));
    assert!(text.contains("plugins:"), "the demo switches a plugin on");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("demo.yaml");
    std::fs::write(&path, text).unwrap();
    (dir, path)
}

async fn post(admin: SocketAddr, path: &str) -> crate::common::Reply {
    send(
        Request::post(format!("http://{admin}{path}"))
            .body(Full::new(Bytes::new()))
            .unwrap(),
    )
    .await
}

async fn start(load: Option<LoadPlan>) -> (tempfile::TempDir, Demo) {
    let (dir, path) = demo_config();
    let demo = demo::start(&path, DemoOptions { load }).await.unwrap();
    (dir, demo)
}

#[tokio::test]
async fn demo_controls_change_a_vendor_and_reject_bad_input() {
    let (_dir, demo) = start(None).await;
    let (web, admin) = (
        demo.proxy.listener_addr("web").unwrap(),
        demo.proxy.admin_addr(),
    );
    let status = get(admin, "/status").await;
    let status: serde_json::Value = serde_json::from_str(&status.body).unwrap();
    assert_eq!(status["extensions"], serde_json::json!(["/demo/"]));
    assert_eq!(status["plugins"], serde_json::json!(["demo-tag"]));
    let list = get(admin, "/demo/vendors").await;
    assert_eq!(list.status, 200);
    let list: serde_json::Value = serde_json::from_str(&list.body).unwrap();
    let names: Vec<&str> = list["vendors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["a", "b", "c"]);
    // Three profiles: latency rises as cost falls.
    let field = |i: usize, f: &str| list["vendors"][i][f].as_f64().unwrap();
    assert!(field(0, "latency_ms") < field(1, "latency_ms"));
    assert!(field(1, "latency_ms") < field(2, "latency_ms"));
    assert!(field(0, "cost") > field(1, "cost") && field(1, "cost") > field(2, "cost"));
    for v in list["vendors"].as_array().unwrap() {
        let addr: SocketAddr = v["address"].as_str().unwrap().parse().unwrap();
        assert_ne!(addr.port(), 0, "{v}");
    }
    // The plugin is on for the payments route.
    let r = get(web, "/pay").await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.header("x-demo-plugin"), Some("demo-tag"));

    let r = post(admin, "/demo/vendors/c/errors?rate=1").await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(demo.vendor("c").unwrap().error_rate(), 1.0);
    let r = post(admin, "/demo/vendors/c/latency?ms=120").await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        demo.vendor("c").unwrap().latency(),
        Duration::from_millis(120)
    );
    for (path, want) in [
        ("/demo/vendors/c/errors?rate=1.5", 400),
        ("/demo/vendors/c/errors?rate=x", 400),
        ("/demo/vendors/c/errors", 400),
        ("/demo/vendors/c/latency?ms=-1", 400),
        ("/demo/vendors/zz/errors?rate=0", 404),
        ("/demo/vendors/c/colour?rate=0", 404),
        ("/demo/elsewhere", 404),
    ] {
        assert_eq!(post(admin, path).await.status, want, "POST {path}");
    }
    assert_eq!(get(admin, "/demo/vendors/c/errors").await.status, 405);
    assert_eq!(get(admin, "/demo/elsewhere").await.status, 404);
    assert_eq!(demo.vendor("c").unwrap().error_rate(), 1.0, "unchanged");
    demo.shutdown().await;
}

#[tokio::test]
async fn demo_controls_need_the_admin_token_when_one_is_set() {
    const TOKEN: &str = "demo-admin-token-5a1c9e3f7b";
    let (dir, path) = demo_config();
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains("\nadmin:\n"), "{text}");
    let text = text.replacen(
        "\nadmin:\n",
        "\nadmin:\n  token: { file: admin-token }\n",
        1,
    );
    std::fs::write(&path, text).unwrap();
    std::fs::write(dir.path().join("admin-token"), format!("{TOKEN}\n")).unwrap();
    let demo = demo::start(&path, DemoOptions { load: None })
        .await
        .unwrap();
    let admin = demo.proxy.admin_addr();
    let rate = |name| demo.vendor(name).unwrap().error_rate();
    let before = rate("a");
    assert!(before < 1.0);

    // The list stays open; changing a vendor wants the token.
    assert_eq!(get(admin, "/demo/vendors").await.status, 200);
    assert_eq!(
        post(admin, "/demo/vendors/a/errors?rate=1").await.status,
        401
    );
    assert_eq!(rate("a"), before, "refused: unchanged");

    // The page asks for the token, sends it, and keeps it for the tab.
    let mut browser = Browser::launch(1280, 900).await;
    browser.navigate(&format!("http://{admin}/")).await;
    browser
        .wait_for(
            Duration::from_secs(20),
            "(() => { const r = document.getElementById('token-row'); \
             return !!r && !r.hidden && document.querySelector('[data-vendor=\"a\"]') !== null; })()",
        )
        .await;
    let click_100 = "Array.from(document.querySelectorAll('[data-vendor=\"a\"] button'))\
                     .find((b) => b.textContent === '100%').click()";
    browser.eval(click_100).await;
    browser
        .wait_for(
            Duration::from_secs(10),
            "document.getElementById('demo').dataset.lastPost === '401' && \
             document.getElementById('token-note').textContent === 'the controls need the admin token'",
        )
        .await;
    assert_eq!(rate("a"), before, "refused: unchanged");
    let stored = browser
        .eval(&format!(
            "(() => {{ const i = document.getElementById('admin-token'); i.value = '{TOKEN}'; \
             i.dispatchEvent(new Event('input')); return sessionStorage.getItem('switchyard-admin-token'); }})()"
        ))
        .await;
    assert_eq!(stored, TOKEN);
    browser.eval(click_100).await;
    browser
        .wait_for(
            Duration::from_secs(10),
            "document.getElementById('demo').dataset.lastPost === '200' && \
             document.querySelector('[data-vendor=\"a\"]').dataset.errorRate === '1' && \
             document.getElementById('token-note').textContent === ''",
        )
        .await;
    assert_eq!(rate("a"), 1.0);
    // Reloaded, the page still has the token (this tab's sessionStorage).
    browser.navigate(&format!("http://{admin}/")).await;
    browser
        .wait_for(
            Duration::from_secs(20),
            &format!("document.getElementById('admin-token')?.value === '{TOKEN}'"),
        )
        .await;
    assert!(browser.page_errors.is_empty(), "{:?}", browser.page_errors);
    demo.shutdown().await;
}

/// Vendor b's status and error score in `/upstreams`.
async fn b_state(admin: SocketAddr) -> (String, f64) {
    let doc = upstreams(admin).await;
    let b = endpoint(&doc, "vendors", "b");
    (
        b["status"].as_str().unwrap().to_string(),
        b["score"]["error"].as_f64().unwrap_or(1.0),
    )
}

#[tokio::test]
async fn demo_ejects_a_failing_vendor_and_readmits_it_under_load() {
    // The load `switchyard demo --load` sends by default.
    let plan = LoadPlan::new(demo::load::DEFAULT_RATE, Duration::from_secs(180));
    let (_dir, demo) = start(Some(plan)).await;
    let admin = demo.proxy.admin_addr();
    let all = [
        ("vendors", "a", "healthy"),
        ("vendors", "b", "healthy"),
        ("vendors", "c", "healthy"),
    ];
    wait_status(admin, Duration::from_secs(10), &all).await;
    let r = post(admin, "/demo/vendors/b/errors?rate=0.3").await;
    assert_eq!(r.status, 200, "{}", r.body);

    // Ejected, and scored down, within a minute.
    let end = Instant::now() + Duration::from_secs(60);
    let (mut ejected, mut lowest) = (false, 1.0f64);
    while !(ejected && lowest < 0.9) {
        let (status, error_score) = b_state(admin).await;
        ejected |= status == "ejected";
        lowest = lowest.min(error_score);
        assert!(
            Instant::now() < end,
            "b not ejected and scored down within 60 s: ejected {ejected}, lowest error score {lowest}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // The page shows it, live.
    let mut browser = Browser::launch(1280, 900).await;
    browser.navigate(&format!("http://{admin}/")).await;
    browser
        .wait_for(
            Duration::from_secs(60),
            "(() => { const b = document.querySelector('[data-endpoint=\"vendors/b\"]'); \
             const v = document.querySelector('[data-vendor=\"b\"]'); \
             return b && v && b.dataset.status === 'ejected' && v.dataset.errorRate === '0.3'; })()",
        )
        .await;
    // A few refreshes in, so rates and the weight history show.
    let renders = browser.eval("Number(document.body.dataset.renders)").await;
    browser
        .wait_for(
            Duration::from_secs(20),
            &format!("Number(document.body.dataset.renders) >= {} + 3", renders),
        )
        .await;
    browser.screenshot(&artifact("demo-status-page.png")).await;

    // Back to 0: re-admitted after its ejection ends (at most
    // max_ejection_time 30 s + 20% jitter) and three good trials, and the
    // open page shows it.
    let r = post(admin, "/demo/vendors/b/errors?rate=0").await;
    assert_eq!(r.status, 200, "{}", r.body);
    browser
        .wait_for(
            Duration::from_secs(75),
            "document.querySelector('[data-endpoint=\"vendors/b\"]').dataset.status === 'healthy'",
        )
        .await;
    assert!(browser.page_errors.is_empty(), "{:?}", browser.page_errors);
    let (_, stats) = demo.load.as_ref().unwrap();
    let (sent, ok, ..) = stats.snapshot();
    assert!(sent > 0 && ok > 0, "load: {:?}", stats.snapshot());
    demo.shutdown().await;
}

/// Kills the child by its PID when dropped (panics included).
struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        if self.0.try_wait().ok().flatten().is_none() {
            self.0.kill().ok();
            self.0.wait().ok();
        }
    }
}

#[tokio::test]
async fn the_demo_command_prints_what_to_open_and_stops_on_sigterm() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};
    let (_dir, path) = demo_config();
    let mut child = Child(
        Command::new(env!("CARGO_BIN_EXE_switchyard"))
            .args(["--log-level", "warn", "demo", "--config"])
            .arg(&path)
            .args(["--load", "--load-rate", "5", "--load-minutes", "1"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let stdout = child.0.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut banner = Vec::new();
    while banner.last().map(String::as_str) != Some("Press Ctrl-C to stop.") {
        let left = deadline.saturating_duration_since(Instant::now());
        let line = rx
            .recv_timeout(left)
            .unwrap_or_else(|_| panic!("no banner within 20 s; so far: {banner:#?}"));
        banner.push(line);
    }
    let text = banner.join("\n");
    let admin: SocketAddr = text
        .split_once("Status page:  http://")
        .and_then(|(_, rest)| rest.split_once('/'))
        .map(|(addr, _)| addr.parse().unwrap())
        .unwrap_or_else(|| panic!("no status page URL in:\n{text}"));
    for needle in [
        "Load: 5 requests/s",
        "1 min at most",
        "/demo/vendors/b/errors?rate=0.3'",
        "/demo/vendors/b/errors?rate=0'",
        "Plugin: demo-tag",
        "What to watch",
    ] {
        assert!(text.contains(needle), "no {needle:?} in:\n{text}");
    }
    let page = get(admin, "/").await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("<title>Switchyard status</title>"));
    assert_eq!(get(admin, "/demo/vendors").await.status, 200);
    let term = Command::new("kill")
        .args(["-TERM", &child.0.id().to_string()])
        .status()
        .unwrap();
    assert!(term.success());
    let end = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(s) = child.0.try_wait().unwrap() {
            break s;
        }
        assert!(Instant::now() < end, "demo did not stop within 10 s");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(status.success(), "{status}");
}

#[test]
fn the_demo_command_checks_its_load_bounds() {
    for args in [
        &["demo", "--load", "--load-rate", "0"][..],
        &["demo", "--load", "--load-rate", "501"],
        &["demo", "--load", "--load-minutes", "61"],
        &["demo", "--load-rate", "10"],
    ] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_switchyard"))
            .args(args)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("--load"), "{args:?}: {err}");
    }
}
