//! Loading plugins: a module that fails in `configure` (misbehaving,
//! refusing its config, not WebAssembly at all, missing) stops the start
//! and fails a reload with an error naming it while the running config
//! keeps serving; unknown imports load and work.

use super::{echoed, fixture, plugin};
use crate::common::{config, get, reload, start_proxy, TestUpstream};

/// A config with the well-behaved `good` on `/good` and, when given, the
/// plugin `bad` (`file`, extra keys `rest`) on `/bad`.
fn yaml(up: &TestUpstream, bad: Option<(&str, &str)>) -> String {
    let mut plugins = plugin("good", &fixture("good"), "");
    let mut routes = String::from(
        "  - { name: good, match: { path_prefix: /good }, pool: p, plugins: [good] }\n",
    );
    if let Some((file, rest)) = bad {
        plugins += &plugin("bad", file, rest);
        routes += "  - { name: bad, match: { path_prefix: /bad }, pool: p, plugins: [bad] }\n";
    }
    config(&format!(
        "plugins:\n{plugins}routes:\n{routes}pools: [{{ name: p, endpoints: [{{ name: up, url: '{}' }}] }}]\n",
        up.url()
    ))
}

async fn try_start(yaml: &str) -> Result<switchyard::Switchyard, switchyard::StartError> {
    let loaded = switchyard::config::Loaded {
        config: switchyard::config::load_str(yaml).expect("valid YAML"),
        hash: switchyard::config::content_hash(yaml.as_bytes()),
        text: yaml.to_string(),
    };
    switchyard::Switchyard::start(loaded).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plugin_failing_to_configure_fails_start_and_reload() {
    let up = TestUpstream::spawn("up").await;
    let dir = tempfile::tempdir().unwrap();
    let garbage = dir.path().join("garbage.wasm");
    std::fs::write(&garbage, "this is not a WebAssembly module\n").unwrap();
    let garbage = garbage.to_str().unwrap().to_string();
    let missing = dir
        .path()
        .join("missing.wasm")
        .to_str()
        .unwrap()
        .to_string();
    let limits = ", config: configure, limits: { time: 20ms, memory: 1MiB }";
    // (file, extra keys, what the error says)
    let cases = [
        (fixture("loop"), limits, "ran past its time limit"),
        (fixture("oob"), limits, "trapped"),
        (fixture("grow"), limits, "exceeded its memory limit"),
        (fixture("trap"), limits, "trapped"),
        (fixture("bad_config"), "", "rejected its configuration"),
        (garbage, "", "not a valid WebAssembly module"),
        (missing, "", "cannot read"),
    ];

    let proxy = start_proxy(&yaml(&up, None)).await;
    let web = proxy.listener_addr("web").unwrap();
    for (file, rest, why) in &cases {
        let bad = yaml(&up, Some((file, rest)));
        let err = try_start(&bad)
            .await
            .expect_err("start must fail")
            .to_string();
        assert!(err.contains("(bad)") && err.contains(why), "{file}: {err}");

        let report = reload(&proxy, &bad).await;
        assert_eq!(report.result, "failure", "{file}: {report:?}");
        assert_eq!(report.generation, 1, "{file}");
        let errors = report.errors.join("\n");
        assert!(
            errors.contains("(bad)") && errors.contains(why),
            "{file}: {errors}"
        );
        // The running config still serves, plugin included.
        let r = get(web, "/good/headers").await;
        assert_eq!(echoed(&r)["x-wat"], "1", "{file}");
        assert_eq!(get(web, "/bad").await.status, 404, "{file}");
    }
    // A good version of the same reload then applies.
    let fixed = yaml(&up, Some((&fixture("good"), "")));
    let report = reload(&proxy, &fixed).await;
    assert_eq!(
        (report.result, report.generation),
        ("success", 2),
        "{report:?}"
    );
    assert_eq!(echoed(&get(web, "/bad/headers").await)["x-wat"], "1");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_and_unimplemented_imports_load_and_work() {
    let up = TestUpstream::spawn("up").await;
    let yaml = config(&format!(
        "plugins:\n{}routes: [{{ name: r, pool: p, plugins: [mi] }}]
pools: [{{ name: p, endpoints: [{{ name: up, url: '{}' }}] }}]\n",
        plugin("mi", &fixture("missing_import"), ""),
        up.url()
    ));
    let proxy = start_proxy(&yaml).await;
    let web = proxy.listener_addr("web").unwrap();
    for _ in 0..3 {
        let r = get(web, "/headers").await;
        assert_eq!(echoed(&r)["x-wat"], "1");
        assert_eq!(r.header("x-wat-response"), Some("1"));
    }
    assert_eq!(up.hits(), 3);
}
