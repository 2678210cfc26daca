//! The operator-facing files agree with the code: the alert rules pass
//! `promtool check rules` and their unit tests, the Grafana dashboard's
//! queries parse as PromQL and name only metrics the proxy exports, and
//! `docs/OPERATIONS.md` lists every metric in `src/metrics/names.rs`.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

fn read(path: &str) -> String {
    std::fs::read_to_string(repo(path)).unwrap_or_else(|e| panic!("read {path}: {e}"))
}

/// Every metric name the proxy exports, from `src/metrics/names.rs`.
fn exported() -> BTreeSet<String> {
    let names: BTreeSet<String> = metric_tokens(&read("src/metrics/names.rs"));
    assert!(names.len() > 20, "names.rs parsed to {names:?}");
    names
}

/// Every `switchyard_...` token in `text`, with a histogram's `_bucket`,
/// `_sum` and `_count` series folded into the family name.
fn metric_tokens(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut rest = text;
    while let Some(i) = rest.find("switchyard_") {
        let tail = &rest[i..];
        let end = tail
            .find(|c: char| !(c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'))
            .unwrap_or(tail.len());
        let name = &tail[..end];
        let family = ["_bucket", "_sum", "_count"]
            .iter()
            .find_map(|s| name.strip_suffix(s).filter(|f| f.ends_with("_seconds")))
            .unwrap_or(name);
        out.insert(family.to_string());
        rest = &tail[end..];
    }
    out
}

fn promtool() -> &'static str {
    let found = Command::new("promtool").arg("--version").output().is_ok();
    assert!(
        found,
        "`promtool` is missing: run the tests with `bash .ci/test`, which installs Debian's prometheus package"
    );
    "promtool"
}

fn run_ok(cmd: &mut Command) -> String {
    let out = cmd.output().expect("runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{cmd:?} failed:\n{text}");
    text
}

#[test]
fn alert_rules_pass_promtool_and_their_unit_tests() {
    let dir = repo("config/prometheus");
    let check = run_ok(
        Command::new(promtool())
            .args(["check", "rules", "alerts.yaml"])
            .current_dir(&dir),
    );
    assert!(check.contains("SUCCESS"), "{check}");
    let tests = run_ok(
        Command::new(promtool())
            .args(["test", "rules", "alerts.test.yaml"])
            .current_dir(&dir),
    );
    assert!(tests.contains("SUCCESS"), "{tests}");
    let unknown: Vec<_> = metric_tokens(&read("config/prometheus/alerts.yaml"))
        .difference(&exported())
        .cloned()
        .collect();
    assert!(
        unknown.is_empty(),
        "alerts use unknown metrics: {unknown:?}"
    );
}

#[test]
fn dashboard_queries_parse_and_name_exported_metrics() {
    let text = read("config/grafana/switchyard.json");
    let dash: serde_json::Value = serde_json::from_str(&text).expect("the dashboard is JSON");
    let mut exprs = Vec::new();
    for panel in dash["panels"].as_array().expect("panels") {
        for t in panel["targets"].as_array().into_iter().flatten() {
            exprs.push(t["expr"].as_str().expect("a target expr").to_string());
        }
    }
    for a in dash["annotations"]["list"].as_array().into_iter().flatten() {
        if let Some(e) = a["expr"].as_str() {
            exprs.push(e.to_string());
        }
    }
    assert!(exprs.len() >= 20, "{} queries", exprs.len());
    // Grafana's variables, as Prometheus would see them after substitution.
    let rules: Vec<String> = exprs
        .iter()
        .enumerate()
        .map(|(i, e)| {
            let e = e
                .replace("$__rate_interval", "5m")
                .replace("$instance", ".*")
                .replace("$route", ".*")
                .replace("$pool", ".*");
            format!(
                "      - record: dashboard_query_{i}\n        expr: {}\n",
                json_string(&e)
            )
        })
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("dashboard.rules.yaml");
    std::fs::write(
        &file,
        format!(
            "groups:\n  - name: dashboard\n    rules:\n{}",
            rules.concat()
        ),
    )
    .unwrap();
    run_ok(Command::new(promtool()).args(["check", "rules"]).arg(&file));

    let used = metric_tokens(&exprs.join("\n"));
    let unknown: Vec<_> = used.difference(&exported()).cloned().collect();
    assert!(
        unknown.is_empty(),
        "dashboard uses unknown metrics: {unknown:?}"
    );
    // The panels the issue asks for are there.
    for must in [
        "switchyard_http_requests_total",
        "switchyard_http_request_duration_seconds",
        "switchyard_upstream_score",
        "switchyard_upstream_state",
        "switchyard_upstream_weight",
        "switchyard_config_reloads_total",
    ] {
        assert!(used.contains(must), "no panel uses {must}");
    }
}

/// A YAML double-quoted string holding `s` (JSON's escaping is valid YAML).
fn json_string(s: &str) -> String {
    serde_json::to_string(s).unwrap()
}

#[test]
fn operations_doc_lists_every_exported_metric() {
    let doc = read("docs/OPERATIONS.md");
    let documented = metric_tokens(&doc);
    let missing: Vec<_> = exported().difference(&documented).cloned().collect();
    assert!(missing.is_empty(), "docs/OPERATIONS.md lacks {missing:?}");
    let unknown: Vec<_> = documented.difference(&exported()).cloned().collect();
    assert!(
        unknown.is_empty(),
        "docs/OPERATIONS.md names metrics that do not exist: {unknown:?}"
    );
}
