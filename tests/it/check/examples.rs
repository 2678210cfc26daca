//! The shipped configs: every Switchyard config under `config/` (the
//! examples in `config/*.yaml` and `config/kubernetes/switchyard.yaml`)
//! passes `check` and starts with the comment that points editors at
//! `config/switchyard.schema.json`. Kubernetes manifests next to them
//! (`apiVersion:`) and Prometheus rule files and their unit tests
//! (`groups:`, `rule_files:`; `tests/it/operations.rs` checks those) are
//! not Switchyard configs and are left out.

use std::path::{Path, PathBuf};

use super::Run;

/// The `config/` directory of this checkout.
pub(super) fn config_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("config")
}

/// Every Switchyard config under `config/`, sorted, found by walking the
/// directory so that a new example is covered without a list to update.
pub(super) fn example_configs() -> Vec<PathBuf> {
    let mut files = Vec::new();
    walk(&config_dir(), &mut files);
    files.retain(|f| !is_other_tools_file(f));
    files.sort();
    assert!(
        files.len() >= 5,
        "expected the examples under {}: {files:?}",
        config_dir().display()
    );
    files
}

fn walk(dir: &Path, files: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("read {}: {e}", dir.display())) {
        let path = entry.expect("read a directory entry").path();
        if path.is_dir() {
            walk(&path, files);
        } else if path.extension().is_some_and(|x| x == "yaml" || x == "yml") {
            files.push(path);
        }
    }
}

/// Whether any document in the file is another tool's: a top-level
/// `apiVersion` (Kubernetes), `groups` or `rule_files` (Prometheus).
fn is_other_tools_file(file: &Path) -> bool {
    let text = std::fs::read_to_string(file).expect("read a config file");
    let manifest = serde_yaml::Deserializer::from_str(&text).any(|doc| {
        let value = <serde_yaml::Value as serde::Deserialize>::deserialize(doc)
            .unwrap_or_else(|e| panic!("{} is not valid YAML: {e}", file.display()));
        ["apiVersion", "groups", "rule_files"]
            .iter()
            .any(|k| value.get(k).is_some())
    });
    manifest
}

/// The `$schema` comment a config in `file`'s directory must start with.
fn schema_comment(file: &Path) -> String {
    let dir = file.parent().expect("a config file has a directory");
    let depth = dir
        .strip_prefix(config_dir())
        .expect("configs are under config/")
        .components()
        .count();
    format!(
        "# yaml-language-server: $schema={}switchyard.schema.json",
        "../".repeat(depth)
    )
}

#[test]
fn kubernetes_example_is_found() {
    let files = example_configs();
    let sidecar = config_dir().join("kubernetes").join("switchyard.yaml");
    assert!(files.contains(&sidecar), "{files:?}");
    let deployment = config_dir().join("kubernetes").join("deployment.yaml");
    assert!(is_other_tools_file(&deployment));
    assert!(!files.contains(&deployment), "{files:?}");
}

/// `check` on a shipped config, with the environment the Kubernetes
/// example's `admin.token: { env: SWITCHYARD_ADMIN_TOKEN }` reads (its pod
/// sets it from a Secret).
fn check_example(file: &Path) -> Run {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_switchyard"))
        .arg("check")
        .arg("--config")
        .arg(file)
        .env_remove("RUST_LOG")
        .env("SWITCHYARD_ADMIN_TOKEN", "example-check-token-not-a-secret")
        .output()
        .expect("run the switchyard binary");
    Run {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

#[test]
fn repository_configs_pass_check() {
    for file in example_configs() {
        let run = check_example(&file);
        assert_eq!(
            run.code,
            Some(0),
            "{} must pass check\n{}",
            file.display(),
            run.describe()
        );
        assert!(
            run.stdout.starts_with(&format!("{}: OK: ", file.display())),
            "{}",
            run.describe()
        );
    }
}

#[test]
fn every_example_starts_with_the_schema_comment() {
    let schema = config_dir().join("switchyard.schema.json");
    for file in example_configs() {
        let text = std::fs::read_to_string(&file).expect("read a config file");
        let first = text.lines().next().unwrap_or_default();
        let want = schema_comment(&file);
        assert_eq!(
            first,
            want,
            "{} must start with the line that points editors at the schema",
            file.display()
        );
        let relative = want.rsplit_once('=').expect("a $schema= comment").1;
        let target = file.parent().expect("a directory").join(relative);
        assert_eq!(
            target.canonicalize().expect("the $schema path exists"),
            schema
                .canonicalize()
                .expect("config/switchyard.schema.json exists"),
            "{}",
            file.display()
        );
    }
}
