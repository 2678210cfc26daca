//! `check`, `load_str`, `load_str_in` and `load_file` on `plugins[]` and the
//! `plugins:` lists of routes, pools and endpoints: the snapshot (ids,
//! resolved files, JSON config bytes, defaults, sizes), how relative files
//! are resolved, the unused-plugin warning and what `config.source` keeps.
//! Rejected values are in `plugins_errors`, which shares the helpers here.

use std::path::{Path, PathBuf};
use std::time::Duration;

use switchyard::config::{
    load_file, load_str, load_str_in, Config, OnError, PluginId, DEFAULT_PLUGIN_BODY,
    DEFAULT_PLUGIN_MEMORY, DEFAULT_PLUGIN_TIME,
};

use super::check;

/// `resilience::yaml` (one route `r`, one pool `p`, one endpoint `a`, spliced
/// at 4, 4 and 8 spaces) followed by `plugins:` with `plugins` spliced at 2
/// spaces.
pub(super) fn yaml(plugins: &str, route: &str, pool: &str, endpoint: &str) -> String {
    format!(
        "{}plugins:\n{plugins}",
        super::resilience::yaml(route, pool, endpoint)
    )
}

/// One plugin `g` (file `g.wasm`) used by the route, and `extra` spliced
/// into its declaration at 4 spaces.
pub(super) fn plugin_yaml(extra: &str) -> String {
    yaml(
        &format!("  - name: g\n    file: g.wasm\n{extra}"),
        "    plugins: [g]\n",
        "",
        "",
    )
}

fn load_in(yaml: &str, dir: Option<&Path>) -> Config {
    load_str_in(yaml, dir).unwrap_or_else(|e| panic!("config must load: {e}\n{yaml}"))
}

const ALL_POINTS: &str = "\
version: 1
listeners:
  - name: web
    listen: 127.0.0.1:8080
routes:
  - name: r1
    match: { path_prefix: /a }
    pool: p
    plugins: [guard]
  - name: r2
    match: { path_prefix: /b }
    pool: p
plugins:
  - name: vendor-a-auth
    file: ../plugins/vendor-auth.wasm
    config: { header: authorization, value: \"Bearer x\" }
    on_error: fail_closed
    limits: { memory: 16MiB, time: 5ms, body: 1MiB }
  - name: guard
    file: /opt/plugins/guard.wat
    on_error: fail_open
    limits: { memory: 65536, time: 10s, body: 64MiB }
  - name: x
    file: x.wasm
    config: [1, two, { three: null }]
    limits: { memory: 4GiB, time: 1s, body: 1 }
pools:
  - name: p
    plugins: [vendor-a-auth, x]
    endpoints:
      - { name: e1, url: 'http://127.0.0.1:9000', plugins: [x] }
      - { name: e2, url: 'http://127.0.0.1:9001' }
";

#[test]
fn every_attachment_point_resolves_to_ids() {
    let c = load_in(ALL_POINTS, Some(Path::new("/etc/switchyard")));
    assert!(c.warnings.is_empty(), "{:?}", c.warnings);
    let names: Vec<&str> = c.plugins.iter().map(|p| &*p.name).collect();
    assert_eq!(names, ["vendor-a-auth", "guard", "x"]);
    let routes = c.routes.routes();
    assert_eq!(routes[0].plugins, [PluginId(1)]);
    assert!(routes[1].plugins.is_empty());
    assert_eq!(c.pools[0].plugins, [PluginId(0), PluginId(2)]);
    assert_eq!(c.pools[0].endpoints[0].plugins, [PluginId(2)]);
    assert!(c.pools[0].endpoints[1].plugins.is_empty());
    assert!(
        c.summary().ends_with(", 2 endpoints, 3 plugins"),
        "{}",
        c.summary()
    );
}

#[test]
fn plugin_snapshot_values() {
    let c = load_in(ALL_POINTS, Some(Path::new("/etc/switchyard")));
    let [auth, guard, x] = &c.plugins[..] else {
        panic!("three plugins: {:?}", c.plugins)
    };
    assert_eq!(
        auth.file,
        PathBuf::from("/etc/switchyard/../plugins/vendor-auth.wasm")
    );
    assert_eq!(
        &*auth.config,
        br#"{"header":"authorization","value":"Bearer x"}"#
    );
    assert_eq!(auth.on_error, OnError::FailClosed);
    assert_eq!(auth.on_error.as_str(), "fail_closed");
    assert_eq!(
        (auth.memory, auth.time, auth.body),
        (16 << 20, Duration::from_millis(5), 1 << 20)
    );

    // Absolute files are kept; no config means no bytes at all.
    assert_eq!(guard.file, PathBuf::from("/opt/plugins/guard.wat"));
    assert!(guard.config.is_empty());
    assert_eq!(guard.on_error, OnError::FailOpen);
    assert_eq!(guard.on_error.as_str(), "fail_open");
    assert_eq!(
        (guard.memory, guard.time, guard.body),
        (64 << 10, Duration::from_secs(10), 64 << 20)
    );

    assert_eq!(x.file, PathBuf::from("/etc/switchyard/x.wasm"));
    assert_eq!(&*x.config, br#"[1,"two",{"three":null}]"#);
    assert_eq!(x.on_error, OnError::FailClosed);
    assert_eq!(
        (x.memory, x.time, x.body),
        (4 << 30, Duration::from_secs(1), 1)
    );
}

#[test]
fn defaults_when_nothing_but_name_and_file() {
    let c = load_in(&plugin_yaml(""), None);
    let p = &c.plugins[0];
    assert_eq!(&*p.name, "g");
    assert_eq!(p.file, PathBuf::from("g.wasm"));
    assert!(p.config.is_empty());
    assert_eq!(p.on_error, OnError::FailClosed);
    assert_eq!(p.memory, DEFAULT_PLUGIN_MEMORY);
    assert_eq!(p.time, DEFAULT_PLUGIN_TIME);
    assert_eq!(p.body, DEFAULT_PLUGIN_BODY);
    assert_eq!(
        (
            DEFAULT_PLUGIN_MEMORY,
            DEFAULT_PLUGIN_TIME,
            DEFAULT_PLUGIN_BODY
        ),
        (16 << 20, Duration::from_millis(5), 1 << 20)
    );
    // An empty `limits` map is all defaults too.
    let c = load_in(&plugin_yaml("    limits: {}\n"), None);
    assert_eq!(c.plugins[0].memory, DEFAULT_PLUGIN_MEMORY);
}

#[test]
fn config_values_become_json_bytes() {
    let cases = [
        ("    config: null\n", ""),
        ("    config: ~\n", ""),
        ("    config: {}\n", "{}"),
        ("    config: []\n", "[]"),
        ("    config: token\n", r#""token""#),
        ("    config: 42\n", "42"),
        ("    config: true\n", "true"),
        (
            "    config:\n      b: [1, 2.5]\n      a: { c: \"x y\" }\n",
            r#"{"a":{"c":"x y"},"b":[1,2.5]}"#,
        ),
    ];
    for (extra, want) in cases {
        let c = load_in(&plugin_yaml(extra), None);
        assert_eq!(
            String::from_utf8_lossy(&c.plugins[0].config),
            want,
            "{extra:?}"
        );
    }
}

#[test]
fn sizes_in_every_unit_and_as_integers() {
    let cases: [(&str, u64); 8] = [
        ("65536", 65_536),
        ("\"65536\"", 65_536),
        ("65536B", 65_536),
        ("64KiB", 64 << 10),
        ("100KB", 100_000),
        ("2MB", 2_000_000),
        ("1GiB", 1 << 30),
        ("1GB", 1_000_000_000),
    ];
    for (text, want) in cases {
        let c = load_in(
            &plugin_yaml(&format!("    limits: {{ memory: {text} }}\n")),
            None,
        );
        assert_eq!(c.plugins[0].memory, want, "memory: {text}");
    }
    let c = load_in(&plugin_yaml("    limits: { body: 4096 }\n"), None);
    assert_eq!(c.plugins[0].body, 4096);
}

#[test]
fn relative_files_resolve_against_the_base_dir() {
    let y = plugin_yaml("");
    assert_eq!(load_str(&y).unwrap().plugins[0].file, Path::new("g.wasm"));
    let c = load_in(&y, Some(Path::new("conf")));
    assert_eq!(c.plugins[0].file, Path::new("conf/g.wasm"));
    // `Path::new("x.yaml").parent()` is `Some("")`: the same as `.`.
    let c = load_in(&y, Some(Path::new("")));
    assert_eq!(c.plugins[0].file, Path::new("./g.wasm"));
}

#[test]
fn load_file_resolves_against_the_file_directory_and_never_reads_the_module() {
    let dir = tempfile::TempDir::new().unwrap();
    let file = dir.path().join("switchyard.yaml");
    std::fs::write(&file, plugin_yaml("")).unwrap();
    let loaded = load_file(&file).unwrap();
    // g.wasm does not exist: existence is the plugin loader's check.
    assert_eq!(loaded.config.plugins[0].file, dir.path().join("g.wasm"));
}

#[test]
fn check_counts_plugins_in_the_summary() {
    let c = super::check_with(&plugin_yaml(""), &[("g.wasm", GOOD)]);
    let what = c.run.describe();
    assert_eq!(c.run.code, Some(0), "{what}");
    assert_eq!(
        c.run.stdout,
        format!(
            "{}: OK: 1 listener, 1 route, 1 pool, 1 endpoint, 1 plugin\n",
            c.file.display()
        ),
        "{what}"
    );
}

#[test]
fn unused_plugin_warns_but_passes() {
    let y = yaml(
        "  - name: g\n    file: g.wasm\n  - name: idle\n    file: idle.wat\n",
        "    plugins: [g]\n",
        "",
        "",
    );
    let c = super::check_with(&y, &[("g.wasm", GOOD), ("idle.wat", GOOD)]);
    let what = c.run.describe();
    assert_eq!(c.run.code, Some(0), "{what}");
    let lines: Vec<&str> = c.run.stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{what}");
    let warning = lines[1]
        .strip_prefix("  warning: ")
        .unwrap_or_else(|| panic!("not a warning line: {what}"));
    super::resilience::assert_line(
        &y,
        warning,
        "plugins[1]",
        "plugin \"idle\" is used by no route, pool or endpoint",
        "name: idle",
    );
    let config = load_str(&y).unwrap();
    assert_eq!(config.warnings.len(), 1, "{:?}", config.warnings);
}

#[test]
fn source_leaves_unset_plugin_keys_out() {
    let c = load_str(&plugin_yaml("")).unwrap();
    assert_eq!(
        c.source["plugins"],
        serde_json::json!([{ "name": "g", "file": "g.wasm" }])
    );
    assert!(c.source["pools"][0].get("plugins").is_none());
    assert!(c.source["pools"][0]["endpoints"][0]
        .get("plugins")
        .is_none());
    assert_eq!(c.source["routes"][0]["plugins"], serde_json::json!(["g"]));
    // No plugins anywhere: no `plugins` key at all.
    let c = load_str(&super::resilience::yaml("", "", "")).unwrap();
    assert!(c.source.get("plugins").is_none(), "{}", c.source);
    assert!(c.plugins.is_empty());
    assert!(!c.summary().contains("plugin"));
}

/// A well-behaved plugin (WAT text works as a `.wasm` file too).
const GOOD: &str = include_str!("../../plugins/good.wat");

#[test]
fn check_compiles_and_configures_every_plugin() {
    let cases = [
        ("not a module", "g.wasm is not a valid WebAssembly module"),
        (
            "(module (memory (export \"memory\") 1))",
            "not a proxy-wasm module",
        ),
        (
            include_str!("../../plugins/bad_config.wat"),
            "rejected its configuration",
        ),
    ];
    for (module, want) in cases {
        let c = super::check_with(&plugin_yaml(""), &[("g.wasm", module)]);
        let what = c.run.describe();
        assert_eq!(c.run.code, Some(1), "{what}");
        assert!(c.run.stderr.contains("plugins[0] (g): "), "{what}");
        assert!(c.run.stderr.contains(want), "{want}: {what}");
    }
    let c = check(&plugin_yaml(""));
    let what = c.run.describe();
    assert_eq!(c.run.code, Some(1), "{what}");
    assert!(c.run.stderr.contains("cannot read"), "{what}");
}
