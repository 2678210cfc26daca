//! `switchyard schema` and `config/switchyard.schema.json`: the committed
//! file is what the code generates, every shipped config is valid against
//! it, and on the values whose format it describes it agrees with the
//! loader, both ways: what `check` accepts the schema accepts (it is not
//! too strict for editors) and what it rejects by shape the schema rejects.

use jsonschema::Validator;
use serde_json::Value;
use switchyard::config::{load_str, schema_json, SCHEMA_ID};

use super::examples::{config_dir, example_configs};
use super::resilience::{pool_yaml, route_yaml, yaml};
use super::switchyard;

const REGENERATE: &str = "cargo run -- schema > config/switchyard.schema.json";

fn validator() -> Validator {
    let schema: Value = serde_json::from_str(&schema_json()).expect("the schema is JSON");
    jsonschema::meta::validate(&schema).expect("the schema is a valid JSON Schema");
    jsonschema::draft202012::new(&schema).expect("the schema compiles")
}

/// YAML text as the JSON value an editor checks against the schema.
fn to_json(yaml: &str) -> Value {
    serde_yaml::from_str(yaml).unwrap_or_else(|e| panic!("not YAML: {e}\n{yaml}"))
}

/// The schema's complaints about `yaml`, as `PATH: MESSAGE` lines: every
/// failing keyword, those inside the branches of an `anyOf` (an optional
/// key) included, so a bad value is named by its own path.
fn schema_errors(v: &Validator, yaml: &str) -> Vec<String> {
    v.evaluate(&to_json(yaml))
        .iter_errors()
        .map(|e| format!("{}: {}", e.instance_location.as_str(), e.error))
        .collect()
}

#[test]
fn committed_schema_matches_the_code() {
    let file = config_dir().join("switchyard.schema.json");
    let committed = std::fs::read_to_string(&file).unwrap_or_else(|e| {
        panic!(
            "read {}: {e}; create it with `{REGENERATE}`",
            file.display()
        )
    });
    assert!(
        committed == schema_json(),
        "{} is out of date with the config types in src/config/raw*.rs; regenerate it with `{REGENERATE}` and commit it",
        file.display()
    );
}

#[test]
fn schema_subcommand_prints_the_schema() {
    let run = switchyard(&["schema"], None);
    assert_eq!(run.code, Some(0), "{}", run.describe());
    assert_eq!(run.stdout, schema_json());
    assert_eq!(run.stderr, "");
    let schema: Value = serde_json::from_str(&run.stdout).expect("JSON");
    assert_eq!(schema["$id"], SCHEMA_ID);
    assert_eq!(schema["title"], "Switchyard configuration");
    assert_eq!(schema["additionalProperties"], false);
}

#[test]
fn every_example_is_valid_against_the_schema() {
    let v = validator();
    for file in example_configs() {
        let text = std::fs::read_to_string(&file).expect("read a config file");
        let errors = schema_errors(&v, &text);
        assert!(
            errors.is_empty(),
            "{} does not match the schema (is it too strict?):\n{}",
            file.display(),
            errors.join("\n")
        );
    }
}

/// The commented examples in the reference config, uncommented as the
/// resilience tests do, fit the schema too.
#[test]
fn reference_config_with_its_examples_uncommented_is_valid() {
    let v = validator();
    let text = std::fs::read_to_string(config_dir().join("switchyard.yaml")).expect("read");
    let uncommented = super::resilience::uncomment_examples(&text);
    let errors = schema_errors(&v, &uncommented);
    assert!(errors.is_empty(), "{}\n{uncommented}", errors.join("\n"));
}

/// Shapes the loader rejects: the schema rejects them too, at the same key.
#[test]
fn schema_rejects_unknown_keys_and_wrong_types() {
    let v = validator();
    let cases = [
        // (YAML, instance path of the schema error)
        (format!("{}time_out: 5s\n", route_yaml("")), ""),
        (route_yaml("    time_out: 5s\n"), "/routes/0"),
        (pool_yaml("    balancer: fastest\n"), "/pools/0/balancer"),
        (
            yaml("", "", "        weight: heavy\n"),
            "/pools/0/endpoints/0/weight",
        ),
        (
            yaml("", "", "        weight: -1\n"),
            "/pools/0/endpoints/0/weight",
        ),
        (
            route_yaml("    match: { methods: GET }\n"),
            "/routes/0/match/methods",
        ),
        (
            route_yaml("    retries: { on: [boom] }\n"),
            "/routes/0/retries/on/0",
        ),
        (
            route_yaml("    retries: { attempts: 9 }\n"),
            "/routes/0/retries/attempts",
        ),
        (
            pool_yaml("    connect_timeout: 5\n"),
            "/pools/0/connect_timeout",
        ),
        (
            pool_yaml("    connect_timeout: 5 s\n"),
            "/pools/0/connect_timeout",
        ),
        (
            pool_yaml("    health_check: { jitter: abc }\n"),
            "/pools/0/health_check/jitter",
        ),
        (
            pool_yaml("    health_check: { jitter: 1.5 }\n"),
            "/pools/0/health_check/jitter",
        ),
        (
            pool_yaml("    health_check: { expected_statuses: 700 }\n"),
            "/pools/0/health_check/expected_statuses",
        ),
        (
            pool_yaml("    health_check: { expected_statuses: [] }\n"),
            "/pools/0/health_check/expected_statuses",
        ),
        (
            pool_yaml("    scoring: { source: remote }\n"),
            "/pools/0/scoring/source",
        ),
        (
            pool_yaml("    outlier_detection: ~\n"),
            "/pools/0/outlier_detection",
        ),
        (
            route_yaml("    plugins: [\"no spaces\"]\n"),
            "/routes/0/plugins/0",
        ),
        (
            route_yaml("").replace("version: 1", "version: 2"),
            "/version",
        ),
        (
            route_yaml("").replace("version: 1", "version: \"1\""),
            "/version",
        ),
        (
            route_yaml("").replace("- name: r", "- name: \"r r\""),
            "/routes/0/name",
        ),
    ];
    for (yaml, path) in &cases {
        let errors = schema_errors(&v, yaml);
        assert!(
            errors.iter().any(|e| e.starts_with(&format!("{path}: "))),
            "the schema must reject this at {path:?}, got {errors:?}:\n{yaml}"
        );
        assert!(
            load_str(yaml).is_err(),
            "the loader must reject this too:\n{yaml}"
        );
    }
}

/// A config without listeners, or with an empty list, is invalid.
#[test]
fn schema_requires_listeners_and_endpoints() {
    let v = validator();
    let no_listeners = route_yaml("").replace(
        "listeners:\n  - name: web\n    listen: 127.0.0.1:8080\n",
        "",
    );
    let empty_listeners = route_yaml("").replace(
        "listeners:\n  - name: web\n    listen: 127.0.0.1:8080\n",
        "listeners: []\n",
    );
    let no_endpoints =
        "version: 1\nlisteners: [{ name: web, listen: 127.0.0.1:8080 }]\npools: [{ name: p }]\n";
    for (yaml, path) in [
        (no_listeners.as_str(), ""),
        (empty_listeners.as_str(), "/listeners"),
        (no_endpoints, "/pools/0"),
    ] {
        let errors = schema_errors(&v, yaml);
        assert!(
            errors.iter().any(|e| e.starts_with(&format!("{path}: "))),
            "{errors:?}\n{yaml}"
        );
        assert!(load_str(yaml).is_err(), "{yaml}");
    }
}

/// Every spelling the loader accepts for values with more than one shape.
#[test]
fn schema_accepts_every_spelling_the_loader_accepts() {
    let v = validator();
    let cases = [
        pool_yaml("    connect_timeout: 1m30s\n"),
        pool_yaml("    connect_timeout: 1.5s\n"),
        pool_yaml("    connect_timeout: 250ms\n"),
        pool_yaml("    connect_timeout: ~\n"),
        route_yaml("    retries: { budget: 0.2 }\n"),
        route_yaml("    retries: { budget: 1 }\n"),
        route_yaml("    retries: { budget: 20% }\n"),
        route_yaml("    retries: { budget: \"0.2\" }\n"),
        route_yaml("    retries: { on: [http_429, connect_error], attempts: 5 }\n"),
        route_yaml("    match: { headers: { x-version: 2, x-beta: true } }\n"),
        route_yaml("    request_headers: { set: { x-ratio: 1.5 } }\n"),
        pool_yaml("    idle_timeout: 0\n"),
        pool_yaml("    idle_timeout: \"0\"\n"),
        pool_yaml("    outlier_detection: { slow_start: 0s, failure_ratio: 0 }\n"),
        pool_yaml("    health_check: { expected_statuses: 200 }\n"),
        pool_yaml("    health_check: { expected_statuses: \"2xx\" }\n"),
        pool_yaml("    health_check: { expected_statuses: [200, \"300-399\", 4XX] }\n"),
        pool_yaml("    health_check: {}\n"),
        pool_yaml("    scoring: { source: local, min_weight: 5%, cost_exponent: 2 }\n"),
        pool_yaml(
            "    scoring: { source: { prometheus: { url: \"http://127.0.0.1:9090\", timeout: 2s } } }\n",
        ),
        yaml("", "", "        weight: 0\n        cost: 2\n"),
        route_yaml("").replace("- name: r\n    pool: p", "- name: 2024\n    pool: p"),
    ];
    for yaml in &cases {
        if let Err(e) = load_str(yaml) {
            panic!("the loader must accept this: {e}\n{yaml}");
        }
        let errors = schema_errors(&v, yaml);
        assert!(errors.is_empty(), "{errors:?}\n{yaml}");
    }
}

#[test]
fn plugin_sizes_and_config_fit_the_schema() {
    let v = validator();
    let yaml = format!(
        "{}plugins:\n  - name: a\n    file: a.wasm\n    config: {{ any: [thing, 1, {{ x: null }}] }}\n    on_error: fail_open\n    limits: {{ memory: 16 MiB, time: 5ms, body: 65536 }}\n",
        route_yaml("")
    );
    let errors = schema_errors(&v, &yaml);
    assert!(errors.is_empty(), "{errors:?}\n{yaml}");
    let bad = yaml.replace("16 MiB", "16mb");
    let errors = schema_errors(&v, &bad);
    assert!(
        errors
            .iter()
            .any(|e| e.starts_with("/plugins/0/limits/memory: ")),
        "{errors:?}"
    );
}
