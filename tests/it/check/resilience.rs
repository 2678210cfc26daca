//! `check` and `load_str` on `pools[].health_check`,
//! `pools[].outlier_detection`, `pools[].endpoints[].health_check`,
//! `pools[].when_none_healthy` and `routes[].retries`: defaults when absent,
//! every accepted spelling, and the commented examples in
//! `config/switchyard.yaml`. Rejected values are in `resilience_errors`,
//! which shares the helpers here.

use std::time::Duration;

use switchyard::config::{
    load_str, CheckKind, Config, HealthCheck, OutlierDetection, Retries, RetryOn, RetryOnSet,
    StatusSet, WhenNoneHealthy,
};

use super::{assert_at, one_problem};

/// One route `r` (timeout 10s) to one pool `p` with one endpoint `a`.
/// `route` is spliced into the route at 4 spaces, `pool` into the pool at 4
/// spaces and `endpoint` into the endpoint at 8 spaces.
pub(super) fn yaml(route: &str, pool: &str, endpoint: &str) -> String {
    format!(
        "\
version: 1
listeners:
  - name: web
    listen: 127.0.0.1:8080
routes:
  - name: r
    pool: p
    timeout: 10s
{route}pools:
  - name: p
{pool}    endpoints:
      - name: a
        url: http://127.0.0.1:9001
{endpoint}"
    )
}

pub(super) fn pool_yaml(pool: &str) -> String {
    yaml("", pool, "")
}

pub(super) fn route_yaml(route: &str) -> String {
    yaml(route, "", "")
}

pub(super) fn load(yaml: &str) -> Config {
    load_str(yaml).unwrap_or_else(|e| panic!("config must load: {e}\n{yaml}"))
}

fn retries_of(c: &Config) -> &Retries {
    &c.routes.routes()[0].retries
}

/// Asserts that `check` reports exactly one problem, at `path`, whose message
/// contains `part` and whose position points at `token` in the text.
pub(super) fn error(yaml: &str, path: &str, part: &str, token: &str) {
    let p = one_problem(yaml);
    assert_line(yaml, &p, path, part, token);
}

/// Like `error` for one line of several.
pub(super) fn assert_line(yaml: &str, line: &str, path: &str, part: &str, token: &str) {
    assert!(
        line.starts_with(&format!("{path}: ")),
        "expected path {path:?}: {line}\n{yaml}"
    );
    assert!(line.contains(part), "expected {part:?} in: {line}");
    let (_, at) = line
        .rsplit_once(" (line ")
        .unwrap_or_else(|| panic!("no position in: {line}"));
    let (l, c) = at
        .trim_end_matches(')')
        .split_once(", column ")
        .unwrap_or_else(|| panic!("bad position in: {line}"));
    assert_at(yaml, l.parse().unwrap(), c.parse().unwrap(), token);
}

// ---------------------------------------------------------------------------
// Defaults and valid spellings
// ---------------------------------------------------------------------------

#[test]
fn absent_sections_take_their_defaults() {
    let c = load(&pool_yaml(""));
    let pool = &c.pools[0];
    assert_eq!(pool.health_check, None, "health checks are off by default");
    assert_eq!(pool.when_none_healthy, WhenNoneHealthy::Any);
    assert_eq!(
        pool.outlier,
        OutlierDetection {
            enabled: true,
            consecutive_failures: 5,
            failure_ratio: 0.5,
            window: Duration::from_secs(10),
            min_requests: 20,
            base_ejection_time: Duration::from_secs(30),
            max_ejection_time: Duration::from_secs(300),
            max_ejection_percent: 50,
            slow_start: Duration::from_secs(30),
        }
    );
    assert_eq!(pool.endpoints[0].check, Default::default());
    assert_eq!(
        *retries_of(&c),
        Retries {
            attempts: 1,
            per_try_timeout: None,
            on: RetryOnSet::of(&[
                RetryOn::ConnectError,
                RetryOn::Reset,
                RetryOn::Timeout,
                RetryOn::Http5xx,
            ]),
            budget: 0.2,
            min_retries_per_second: 10,
        }
    );
    assert!(!retries_of(&c).enabled());
}

#[test]
fn empty_health_check_is_an_http_check_with_defaults() {
    let c = load(&pool_yaml("    health_check: {}\n"));
    assert_eq!(
        c.pools[0].health_check,
        Some(HealthCheck {
            kind: CheckKind::Http,
            path: "/".into(),
            host: None,
            expected: StatusSet::success(),
            interval: Duration::from_secs(5),
            timeout: Duration::from_secs(2),
            jitter: 0.1,
            healthy_threshold: 2,
            unhealthy_threshold: 3,
        })
    );
}

#[test]
fn default_probe_timeout_stays_below_a_short_interval() {
    let c = load(&pool_yaml("    health_check: { interval: 1s }\n"));
    let hc = c.pools[0].health_check.as_ref().unwrap();
    assert_eq!(hc.interval, Duration::from_secs(1));
    assert_eq!(hc.timeout, Duration::from_millis(500));
}

#[test]
fn full_health_check_with_mixed_expected_statuses() {
    let c = load(&yaml(
        "",
        "    health_check:
      type: http
      path: /healthz?deep=1
      host: status.example.com:8080
      expected_statuses: [200, \"300-399\", \"2xx\"]
      interval: 10s
      timeout: 1s
      jitter: 20%
      healthy_threshold: 1
      unhealthy_threshold: 4
",
        "        health_check: { path: /ready, port: 9100 }\n",
    ));
    let pool = &c.pools[0];
    assert_eq!(
        pool.health_check,
        Some(HealthCheck {
            kind: CheckKind::Http,
            path: "/healthz?deep=1".into(),
            host: Some("status.example.com:8080".into()),
            expected: StatusSet(vec![(200, 200), (300, 399), (200, 299)]),
            interval: Duration::from_secs(10),
            timeout: Duration::from_secs(1),
            jitter: 0.2,
            healthy_threshold: 1,
            unhealthy_threshold: 4,
        })
    );
    let hc = pool.health_check.as_ref().unwrap();
    for (status, pass) in [
        (200, true),
        (204, true),
        (302, true),
        (399, true),
        (404, false),
    ] {
        let code = http::StatusCode::from_u16(status).unwrap();
        assert_eq!(hc.expected.contains(code), pass, "{status}");
    }
    assert_eq!(pool.endpoints[0].check.path.as_deref(), Some("/ready"));
    assert_eq!(pool.endpoints[0].check.port, Some(9100));
}

#[test]
fn expected_statuses_as_a_single_value() {
    for (written, expected) in [
        ("\"2xx\"", (200, 299)),
        ("2XX", (200, 299)),
        ("\"200-204\"", (200, 204)),
        ("204", (204, 204)),
        ("\"301\"", (301, 301)),
    ] {
        let c = load(&pool_yaml(&format!(
            "    health_check: {{ expected_statuses: {written} }}\n"
        )));
        let hc = c.pools[0].health_check.as_ref().unwrap();
        assert_eq!(hc.expected, StatusSet(vec![expected]), "{written}");
    }
}

#[test]
fn tcp_health_check() {
    let c = load(&yaml(
        "",
        "    health_check: { type: tcp, interval: 2s, timeout: 1s }\n",
        "        health_check: { port: 9100 }\n",
    ));
    let hc = c.pools[0].health_check.as_ref().unwrap();
    assert_eq!(hc.kind, CheckKind::Tcp);
    assert_eq!(c.pools[0].endpoints[0].check.port, Some(9100));
}

#[test]
fn full_outlier_detection_and_when_none_healthy() {
    let c = load(&pool_yaml(
        "    when_none_healthy: fail
    outlier_detection:
      enabled: false
      consecutive_failures: 0
      failure_ratio: 25%
      window: 30s
      min_requests: 5
      base_ejection_time: 10s
      max_ejection_time: 1m
      max_ejection_percent: 100
      slow_start: 0
",
    ));
    let pool = &c.pools[0];
    assert_eq!(pool.when_none_healthy, WhenNoneHealthy::Fail);
    assert_eq!(
        pool.outlier,
        OutlierDetection {
            enabled: false,
            consecutive_failures: 0,
            failure_ratio: 0.25,
            window: Duration::from_secs(30),
            min_requests: 5,
            base_ejection_time: Duration::from_secs(10),
            max_ejection_time: Duration::from_secs(60),
            max_ejection_percent: 100,
            slow_start: Duration::ZERO,
        }
    );
}

#[test]
fn long_base_ejection_time_raises_the_default_maximum() {
    let c = load(&pool_yaml(
        "    outlier_detection: { base_ejection_time: 10m }\n",
    ));
    assert_eq!(
        c.pools[0].outlier.max_ejection_time,
        Duration::from_secs(600)
    );
}

#[test]
fn shares_as_fractions_percentages_or_quoted_numbers() {
    for (written, expected) in [
        ("0.3", 0.3),
        ("1", 1.0),
        ("0", 0.0),
        ("\"30%\"", 0.3),
        ("30%", 0.3),
        ("\"0.3\"", 0.3),
    ] {
        let c = load(&route_yaml(&format!(
            "    retries: {{ attempts: 2, budget: {written} }}\n"
        )));
        let budget = retries_of(&c).budget;
        assert!((budget - expected).abs() < 1e-9, "{written}: {budget}");
    }
}

#[test]
fn full_retries() {
    let c = load(&route_yaml(
        "    retries:
      attempts: 3
      per_try_timeout: 2s
      on: [connect_error, http_429]
      budget: 10%
      min_retries_per_second: 0
",
    ));
    assert_eq!(
        *retries_of(&c),
        Retries {
            attempts: 3,
            per_try_timeout: Some(Duration::from_secs(2)),
            on: RetryOnSet::of(&[RetryOn::ConnectError, RetryOn::Http429]),
            budget: 0.1,
            min_retries_per_second: 0,
        }
    );
    assert!(retries_of(&c).enabled());
}

#[test]
fn per_try_timeout_equal_to_the_route_timeout_is_allowed() {
    let c = load(&route_yaml(
        "    retries: { attempts: 2, per_try_timeout: 10s }\n",
    ));
    assert_eq!(
        retries_of(&c).per_try_timeout,
        Some(Duration::from_secs(10))
    );
}

// ---------------------------------------------------------------------------
// The commented examples in config/switchyard.yaml
// ---------------------------------------------------------------------------

/// `config/switchyard.yaml` shows `health_check`, `outlier_detection`,
/// `when_none_healthy`, `retries`, TLS and `access_log` commented out.
/// `check` cannot see them, so this uncomments every commented line that
/// starts with a key or a list item (`# key:`), keeping its indentation.
pub(super) fn uncomment_examples(text: &str) -> String {
    // A `key:` line, a list item `- key: ...`, or a flow item `- { ... }`.
    let is_yaml = |rest: &str| {
        let key = rest.trim_start();
        let key = match key.strip_prefix("- ") {
            Some(item) if item.starts_with('{') => return true,
            Some(item) => item,
            None => key,
        };
        let name: String = key
            .chars()
            .take_while(|c| c.is_ascii_lowercase() || *c == '_')
            .collect();
        !name.is_empty() && key[name.len()..].starts_with(':')
    };
    text.lines()
        .map(|line| {
            let body = line.trim_start();
            let indent = &line[..line.len() - body.len()];
            match body.strip_prefix("# ") {
                Some(rest) if is_yaml(rest) => format!("{indent}{rest}\n"),
                _ => format!("{line}\n"),
            }
        })
        .collect()
}

/// The commented examples in `config/switchyard.yaml`, uncommented, load.
#[test]
fn commented_examples_in_the_repository_config_are_valid() {
    let file = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("config/switchyard.yaml");
    let text = std::fs::read_to_string(&file).expect("read config/switchyard.yaml");
    let uncommented = uncomment_examples(&text);
    let c = load(&uncommented);
    let route = &c.routes.routes()[0];
    assert_eq!(route.retries.attempts, 2, "{uncommented}");
    assert_eq!(route.retries.per_try_timeout, Some(Duration::from_secs(5)));
    let pool = &c.pools[0];
    let hc = pool
        .health_check
        .as_ref()
        .expect("the example health_check");
    assert_eq!(hc.path, "/healthz");
    assert_eq!(hc.expected, StatusSet::success());
    assert_eq!(pool.when_none_healthy, WhenNoneHealthy::Any);
    // The outlier example spells out the defaults.
    let defaults = load(&pool_yaml(""));
    assert_eq!(pool.outlier, defaults.pools[0].outlier);
    // The TLS listener and the upstream TLS of the KYC pool.
    let tls = c.listeners[1]
        .tls
        .as_ref()
        .expect("the example TLS listener");
    assert_eq!(tls.certificates.len(), 2);
    assert!(tls.client_auth.as_ref().is_some_and(|a| a.required));
    let kyc = &c.pools[1];
    assert_eq!(kyc.protocol, switchyard::config::Protocol::Http2);
    assert_eq!(kyc.tls.server_name.as_deref(), Some("kyc.internal"));
    assert!(kyc.tls.client_cert.is_some());
    // The access log example: JSON on stdout with ten fields.
    let log = c.access_log.as_ref().expect("the example access_log");
    assert_eq!(log.output, switchyard::config::AccessLogOutput::Stdout);
    assert_eq!(log.fields.len(), 10);
}
