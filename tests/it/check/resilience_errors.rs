//! `check` on rejected values in `pools[].health_check`,
//! `pools[].outlier_detection`, `pools[].endpoints[].health_check`,
//! `pools[].when_none_healthy` and `routes[].retries`: one test per rule,
//! each asserting the path, a distinctive part of the message and the
//! position it points at.

use super::problems;
use super::resilience::{assert_line, error, pool_yaml, route_yaml, yaml};

// ---------------------------------------------------------------------------
// health_check errors
// ---------------------------------------------------------------------------

#[test]
fn probe_timeout_not_below_the_interval() {
    for timeout in ["5s", "6s"] {
        let y = pool_yaml(&format!(
            "    health_check:\n      interval: 5s\n      timeout: {timeout}\n"
        ));
        error(
            &y,
            "pools[0].health_check.timeout",
            "must be shorter than the interval (5s)",
            timeout,
        );
    }
}

#[test]
fn bad_interval_is_reported_alone() {
    // The timeout is not compared with the stand-in for the bad interval.
    let y = pool_yaml("    health_check:\n      interval: 5x\n      timeout: 8s\n");
    error(
        &y,
        "pools[0].health_check.interval",
        "invalid duration \"5x\"",
        "5x",
    );
}

#[test]
fn jitter_of_half_or_more() {
    let y = pool_yaml("    health_check:\n      jitter: 60%\n");
    error(
        &y,
        "pools[0].health_check.jitter",
        "\"60%\" is too much: must be below 50%",
        "60%",
    );
    let y = pool_yaml("    health_check:\n      jitter: 0.5\n");
    error(&y, "pools[0].health_check.jitter", "0.5 is too much", "0.5");
}

#[test]
fn thresholds_of_zero() {
    let y =
        pool_yaml("    health_check:\n      healthy_threshold: 0\n      unhealthy_threshold: 0\n");
    let all = problems(&y);
    assert_eq!(all.len(), 2, "{all:#?}");
    assert_line(
        &y,
        &all[0],
        "pools[0].health_check.healthy_threshold",
        "must be at least 1",
        "0",
    );
    assert_line(
        &y,
        &all[1],
        "pools[0].health_check.unhealthy_threshold",
        "must be at least 1",
        "0",
    );
}

#[test]
fn threshold_over_the_limit() {
    let y = pool_yaml("    health_check:\n      unhealthy_threshold: 101\n");
    error(
        &y,
        "pools[0].health_check.unhealthy_threshold",
        "101 is more than the limit of 100",
        "101",
    );
}

#[test]
fn unknown_check_type() {
    let y = pool_yaml("    health_check:\n      type: grpc\n");
    error(
        &y,
        "pools[0].health_check.type",
        "unknown variant `grpc`, expected `http` or `tcp`",
        "grpc",
    );
}

#[test]
fn tcp_check_with_http_only_keys() {
    let y = pool_yaml(
        "    health_check:\n      type: tcp\n      path: /healthz\n      host: a.example.com\n      expected_statuses: [200]\n",
    );
    let all = problems(&y);
    assert_eq!(all.len(), 3, "{all:#?}");
    for (line, (key, token)) in all.iter().zip([
        ("path", "/healthz"),
        ("host", "a.example.com"),
        ("expected_statuses", "[200]"),
    ]) {
        assert_line(
            &y,
            line,
            &format!("pools[0].health_check.{key}"),
            "only applies to type: http checks",
            token,
        );
    }
}

#[test]
fn invalid_probe_path() {
    let y = pool_yaml("    health_check:\n      path: healthz\n");
    error(
        &y,
        "pools[0].health_check.path",
        "invalid probe path \"healthz\": use an absolute path",
        "healthz",
    );
}

#[test]
fn invalid_probe_host() {
    for host in ["\"a b\"", "user@a.example.com", "\"a.example.com/x\""] {
        let y = pool_yaml(&format!("    health_check:\n      host: {host}\n"));
        error(
            &y,
            "pools[0].health_check.host",
            "invalid Host header value",
            host,
        );
    }
}

#[test]
fn bad_expected_statuses_items() {
    let y = pool_yaml(
        "    health_check:\n      expected_statuses: [200, \"abc\", 700, \"300-200\", 70000, \"6xx\"]\n",
    );
    let all = problems(&y);
    let expected = [
        ("[1]", "invalid status \"abc\"", "\"abc\""),
        ("[2]", "invalid status 700", "700"),
        ("[3]", "invalid status \"300-200\"", "\"300-200\""),
        ("[4]", "invalid status 70000", "70000"),
        ("[5]", "invalid status \"6xx\"", "\"6xx\""),
    ];
    assert_eq!(all.len(), expected.len(), "{all:#?}");
    for (line, (index, part, token)) in all.iter().zip(expected) {
        assert_line(
            &y,
            line,
            &format!("pools[0].health_check.expected_statuses{index}"),
            part,
            token,
        );
        assert!(line.contains("within 100-599"), "{line}");
    }
}

#[test]
fn bad_single_expected_status() {
    let y = pool_yaml("    health_check:\n      expected_statuses: \"abc\"\n");
    error(
        &y,
        "pools[0].health_check.expected_statuses",
        "invalid status \"abc\"",
        "\"abc\"",
    );
}

#[test]
fn empty_expected_statuses() {
    let y = pool_yaml("    health_check:\n      expected_statuses: []\n");
    error(
        &y,
        "pools[0].health_check.expected_statuses",
        "list at least one status or range",
        "[]",
    );
}

#[test]
fn expected_status_of_the_wrong_type_names_the_item() {
    let y = pool_yaml("    health_check:\n      expected_statuses: [200, 2.5]\n");
    error(
        &y,
        "pools[0].health_check.expected_statuses[1]",
        "invalid type: floating point `2.5`, expected a status code (200)",
        "2.5",
    );
}

// ---------------------------------------------------------------------------
// endpoints[].health_check errors
// ---------------------------------------------------------------------------

#[test]
fn endpoint_override_without_a_pool_check() {
    let y = yaml("", "", "        health_check:\n          path: /ready\n");
    error(
        &y,
        "pools[0].endpoints[0].health_check",
        "the pool has no health_check, so there is nothing to override",
        "path: /ready",
    );
}

#[test]
fn endpoint_override_with_port_zero() {
    let y = yaml(
        "",
        "    health_check: {}\n",
        "        health_check:\n          port: 0\n",
    );
    error(
        &y,
        "pools[0].endpoints[0].health_check.port",
        "must be between 1 and 65535",
        "0",
    );
}

#[test]
fn endpoint_override_port_out_of_range() {
    let y = yaml(
        "",
        "    health_check: {}\n",
        "        health_check:\n          port: 70000\n",
    );
    error(
        &y,
        "pools[0].endpoints[0].health_check.port",
        "invalid value: integer `70000`, expected u16",
        "70000",
    );
}

#[test]
fn endpoint_override_path_for_a_tcp_check() {
    let y = yaml(
        "",
        "    health_check: { type: tcp }\n",
        "        health_check:\n          path: /ready\n",
    );
    error(
        &y,
        "pools[0].endpoints[0].health_check.path",
        "only applies to type: http checks",
        "/ready",
    );
}

// ---------------------------------------------------------------------------
// outlier_detection errors
// ---------------------------------------------------------------------------

#[test]
fn failure_ratio_out_of_range() {
    for ratio in ["1.5", "150%", "-0.1"] {
        let y = pool_yaml(&format!(
            "    outlier_detection:\n      failure_ratio: {ratio}\n"
        ));
        error(
            &y,
            "pools[0].outlier_detection.failure_ratio",
            "use a fraction from 0 to 1 (0.2) or a percentage (20%)",
            ratio,
        );
    }
}

#[test]
fn max_ejection_percent_over_100() {
    let y = pool_yaml("    outlier_detection:\n      max_ejection_percent: 101\n");
    error(
        &y,
        "pools[0].outlier_detection.max_ejection_percent",
        "101 is more than 100",
        "101",
    );
}

#[test]
fn max_ejection_time_shorter_than_base() {
    let y = pool_yaml(
        "    outlier_detection:\n      base_ejection_time: 1m\n      max_ejection_time: 30s\n",
    );
    error(
        &y,
        "pools[0].outlier_detection.max_ejection_time",
        "30s is shorter than base_ejection_time (60s)",
        "30s",
    );
}

#[test]
fn zero_ejection_time_and_window() {
    let y = pool_yaml("    outlier_detection:\n      window: 0s\n      base_ejection_time: 0\n");
    let all = problems(&y);
    assert_eq!(all.len(), 2, "{all:#?}");
    assert_line(
        &y,
        &all[0],
        "pools[0].outlier_detection.window",
        "must be greater than 0",
        "0s",
    );
    assert_line(
        &y,
        &all[1],
        "pools[0].outlier_detection.base_ejection_time",
        "must be greater than 0",
        "0",
    );
}

#[test]
fn unknown_when_none_healthy() {
    let y = pool_yaml("    when_none_healthy: random\n");
    error(
        &y,
        "pools[0].when_none_healthy",
        "unknown variant `random`, expected `any` or `fail`",
        "random",
    );
}

// ---------------------------------------------------------------------------
// retries errors
// ---------------------------------------------------------------------------

#[test]
fn retry_attempts_out_of_range() {
    let y = route_yaml("    retries:\n      attempts: 0\n");
    error(
        &y,
        "routes[0].retries.attempts",
        "must be at least 1 (1 means no retry)",
        "0",
    );
    let y = route_yaml("    retries:\n      attempts: 6\n");
    error(
        &y,
        "routes[0].retries.attempts",
        "6 is more than the limit of 5",
        "6",
    );
}

#[test]
fn per_try_timeout_longer_than_the_route_timeout() {
    let y = route_yaml("    retries:\n      attempts: 2\n      per_try_timeout: 11s\n");
    error(
        &y,
        "routes[0].retries.per_try_timeout",
        "11s is longer than the route timeout (10s), which bounds all attempts",
        "11s",
    );
}

#[test]
fn bad_route_timeout_is_reported_alone() {
    // per_try_timeout is not compared with the stand-in for a bad timeout.
    let y = yaml("", "", "").replace(
        "timeout: 10s",
        "timeout: soon\n    retries: { per_try_timeout: 20s }",
    );
    error(&y, "routes[0].timeout", "invalid duration \"soon\"", "soon");
}

#[test]
fn unknown_retry_condition() {
    let y = route_yaml("    retries:\n      on: [reset, http_404]\n");
    error(
        &y,
        "routes[0].retries.on[1]",
        "unknown retry condition \"http_404\": expected one of connect_error, reset, timeout, http_5xx, http_429",
        "http_404",
    );
}

#[test]
fn empty_retry_conditions() {
    let y = route_yaml("    retries:\n      attempts: 3\n      on: []\n");
    error(
        &y,
        "routes[0].retries.on",
        "list at least one condition (to turn retries off, set attempts: 1)",
        "[]",
    );
}

#[test]
fn invalid_retry_budget() {
    let y = route_yaml("    retries:\n      budget: abc\n");
    error(
        &y,
        "routes[0].retries.budget",
        "invalid share \"abc\": use a fraction from 0 to 1 (0.2) or a percentage (20%)",
        "abc",
    );
}

#[test]
fn retry_budget_of_the_wrong_type() {
    let y = route_yaml("    retries:\n      budget: true\n");
    error(
        &y,
        "routes[0].retries.budget",
        "invalid type: boolean `true`, expected a fraction from 0 to 1 such as 0.2, or a percentage such as \"20%\"",
        "true",
    );
}

// ---------------------------------------------------------------------------
// Unknown keys (deny_unknown_fields) in every new section
// ---------------------------------------------------------------------------

#[test]
fn unknown_keys_in_each_new_section() {
    let cases = [
        (
            pool_yaml("    health_check:\n      intervall: 5s\n"),
            "pools[0].health_check.intervall",
            "unknown field `intervall`, expected one of `type`, `path`",
        ),
        (
            pool_yaml("    outlier_detection:\n      max_ejections: 3\n"),
            "pools[0].outlier_detection.max_ejections",
            "unknown field `max_ejections`, expected one of `enabled`",
        ),
        (
            yaml(
                "",
                "    health_check: {}\n",
                "        health_check:\n          host: a.example.com\n",
            ),
            "pools[0].endpoints[0].health_check.host",
            "unknown field `host`, expected `path` or `port`",
        ),
        (
            route_yaml("    retries:\n      max_attempts: 3\n"),
            "routes[0].retries.max_attempts",
            "unknown field `max_attempts`, expected one of `attempts`",
        ),
    ];
    for (y, path, part) in cases {
        let key = path.rsplit('.').next().unwrap();
        error(&y, path, part, &format!("{key}:"));
    }
}
