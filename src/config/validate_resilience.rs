//! Validation of health checks and outlier detection.
//!
//! Owns: the rules and error wording for `pools[].health_check`,
//! `pools[].outlier_detection` and `pools[].endpoints[].health_check`, and
//! the share parser (`0.2` or `"20%"`) that `validate_retries` uses too.
//! Must not: look at routes (retries are `validate_retries`').

use std::time::Duration;

use http::uri::Authority;

use super::defaults;
use super::raw::{
    OneOrMany, RawCheckKind, RawEndpointCheck, RawHealthCheck, RawOutlierDetection, RawShare,
    RawStatus,
};
use super::resilience::{CheckKind, EndpointCheck, HealthCheck, OutlierDetection, StatusSet};
use super::validate::Issues;

/// `pools[i].health_check`
pub(super) fn health_check(
    issues: &mut Issues<'_>,
    base: &str,
    raw: Option<&RawHealthCheck>,
) -> Option<HealthCheck> {
    let raw = raw?;
    let (interval, timeout) = probe_timing(issues, base, raw);
    let jitter = match &raw.jitter {
        None => defaults::HC_JITTER,
        Some(s) => {
            let path = format!("{base}.jitter");
            let j = share(issues, &path, s);
            if j >= 0.5 {
                issues.error(
                    path,
                    format!("{} is too much: must be below 50%", share_text(s)),
                );
            }
            j.min(0.5)
        }
    };
    let kind = match raw.kind {
        RawCheckKind::Http => CheckKind::Http,
        RawCheckKind::Tcp => CheckKind::Tcp,
    };
    let path = raw.path.clone().unwrap_or_else(|| defaults::HC_PATH.into());
    let mut expected = StatusSet::success();
    match kind {
        CheckKind::Http => {
            check_path(issues, &format!("{base}.path"), &path);
            if let Some(host) = &raw.host {
                check_host(issues, &format!("{base}.host"), host);
            }
            if let Some(items) = &raw.expected_statuses {
                expected = statuses(issues, &format!("{base}.expected_statuses"), items);
            }
        }
        CheckKind::Tcp => {
            for (set, key) in [
                (raw.path.is_some(), "path"),
                (raw.host.is_some(), "host"),
                (raw.expected_statuses.is_some(), "expected_statuses"),
            ] {
                if set {
                    issues.error(format!("{base}.{key}"), "only applies to type: http checks");
                }
            }
        }
    }
    Some(HealthCheck {
        kind,
        path,
        host: raw.host.clone(),
        expected,
        interval,
        timeout,
        jitter,
        healthy_threshold: threshold(
            issues,
            &format!("{base}.healthy_threshold"),
            raw.healthy_threshold,
            defaults::HC_HEALTHY_THRESHOLD,
        ),
        unhealthy_threshold: threshold(
            issues,
            &format!("{base}.unhealthy_threshold"),
            raw.unhealthy_threshold,
            defaults::HC_UNHEALTHY_THRESHOLD,
        ),
    })
}

/// `interval` and `timeout`, with `timeout < interval` guaranteed.
fn probe_timing(issues: &mut Issues<'_>, base: &str, raw: &RawHealthCheck) -> (Duration, Duration) {
    let before = issues.errors.len();
    let interval = issues.duration(
        &format!("{base}.interval"),
        raw.interval.as_deref(),
        defaults::HC_INTERVAL,
        false,
    );
    let interval_ok = issues.errors.len() == before;
    // The default must stay below short intervals too (`interval: 1s`).
    let timeout = issues.duration(
        &format!("{base}.timeout"),
        raw.timeout.as_deref(),
        defaults::HC_TIMEOUT.min(interval / 2),
        false,
    );
    // A bad interval is already reported; its stand-in is not what the
    // operator wrote, so comparing with it would only mislead.
    if interval_ok && timeout >= interval {
        issues.error(
            format!("{base}.timeout"),
            format!("{timeout:?} must be shorter than the interval ({interval:?})"),
        );
    }
    (interval, timeout.min(interval))
}

/// `healthy_threshold` / `unhealthy_threshold`: 1 to 100.
fn threshold(issues: &mut Issues<'_>, path: &str, value: Option<u32>, default: u32) -> u32 {
    match value {
        None => default,
        Some(0) => {
            issues.error(path, "must be at least 1");
            default
        }
        Some(n) if n > 100 => {
            issues.error(path, format!("{n} is more than the limit of 100"));
            default
        }
        Some(n) => n,
    }
}

fn check_path(issues: &mut Issues<'_>, path: &str, value: &str) {
    let ok = value.starts_with('/')
        && value.parse::<http::uri::PathAndQuery>().is_ok()
        && !value.contains('#');
    if !ok {
        issues.error(
            path,
            format!("invalid probe path {value:?}: use an absolute path such as /healthz"),
        );
    }
}

/// A Host header names an authority (`host` or `host:port`), nothing else.
fn check_host(issues: &mut Issues<'_>, path: &str, host: &str) {
    let ok = !host.is_empty()
        && !host.contains('@')
        && host.parse::<Authority>().is_ok_and(|a| a.as_str() == host);
    if !ok {
        issues.error(
            path,
            format!("invalid Host header value {host:?}: use a host name with an optional port, such as api.example.com:8080"),
        );
    }
}

fn statuses(issues: &mut Issues<'_>, path: &str, items: &OneOrMany<RawStatus>) -> StatusSet {
    let list: Vec<&RawStatus> = match items {
        OneOrMany::One(s) => vec![s],
        OneOrMany::Many(v) => v.iter().collect(),
    };
    if list.is_empty() {
        issues.error(path, "list at least one status or range");
        return StatusSet::success();
    }
    let mut ranges = Vec::with_capacity(list.len());
    for (k, item) in list.iter().enumerate() {
        let item_path = match items {
            OneOrMany::One(_) => path.to_string(),
            OneOrMany::Many(_) => format!("{path}[{k}]"),
        };
        match parse_status(item) {
            Some(r) => ranges.push(r),
            None => issues.error(
                item_path,
                format!(
                    "invalid status {}: use a code (200), a range (200-399) or a class (2xx) within 100-599",
                    match item {
                        RawStatus::Code(c) => c.to_string(),
                        RawStatus::Text(t) => format!("{t:?}"),
                    }
                ),
            ),
        }
    }
    StatusSet(ranges)
}

fn parse_status(item: &RawStatus) -> Option<(u16, u16)> {
    let (lo, hi): (i64, i64) = match item {
        RawStatus::Code(c) => (*c, *c),
        RawStatus::Text(t) => {
            let t = t.trim();
            if let Some(class) = t.strip_suffix("xx").or_else(|| t.strip_suffix("XX")) {
                let d: i64 = class.parse().ok().filter(|d| (1..=5).contains(d))?;
                (d * 100, d * 100 + 99)
            } else if let Some((a, b)) = t.split_once('-') {
                (a.trim().parse().ok()?, b.trim().parse().ok()?)
            } else {
                let c = t.parse().ok()?;
                (c, c)
            }
        }
    };
    let code = |c: i64| u16::try_from(c).ok().filter(|c| (100..=599).contains(c));
    let (lo, hi) = (code(lo)?, code(hi)?);
    (lo <= hi).then_some((lo, hi))
}

/// A `RawShare` as a fraction in [0, 1], recording an error when out of range.
pub(super) fn share(issues: &mut Issues<'_>, path: &str, raw: &RawShare) -> f64 {
    let value = match raw {
        RawShare::Fraction(f) => Some(*f),
        RawShare::Text(t) => {
            let t = t.trim();
            match t.strip_suffix('%') {
                Some(n) => n.trim().parse::<f64>().ok().map(|p| p / 100.0),
                // A quoted fraction ("0.2") means what it says.
                None => t.parse::<f64>().ok(),
            }
        }
    };
    match value {
        Some(v) if v.is_finite() && (0.0..=1.0).contains(&v) => v,
        _ => {
            issues.error(
                path,
                format!(
                    "invalid share {}: use a fraction from 0 to 1 (0.2) or a percentage (20%)",
                    share_text(raw)
                ),
            );
            0.0
        }
    }
}

/// A share as written, for messages.
fn share_text(raw: &RawShare) -> String {
    match raw {
        RawShare::Fraction(f) => f.to_string(),
        RawShare::Text(t) => format!("{t:?}"),
    }
}

/// `pools[i].outlier_detection`
pub(super) fn outlier(
    issues: &mut Issues<'_>,
    base: &str,
    raw: &RawOutlierDetection,
) -> OutlierDetection {
    let dur = |issues: &mut Issues<'_>, key: &str, v: &Option<String>, d: Duration, zero| {
        issues.duration(&format!("{base}.{key}"), v.as_deref(), d, zero)
    };
    let window = dur(issues, "window", &raw.window, defaults::OD_WINDOW, false);
    let (base_ejection_time, max_ejection_time) = ejection_times(issues, base, raw);
    let slow_start = dur(
        issues,
        "slow_start",
        &raw.slow_start,
        defaults::OD_SLOW_START,
        true,
    );
    let failure_ratio = match &raw.failure_ratio {
        None => defaults::OD_FAILURE_RATIO,
        Some(s) => share(issues, &format!("{base}.failure_ratio"), s),
    };
    let max_ejection_percent = match raw.max_ejection_percent {
        Some(p) if p > 100 => {
            issues.error(
                format!("{base}.max_ejection_percent"),
                format!("{p} is more than 100"),
            );
            100
        }
        Some(p) => p,
        None => defaults::OD_MAX_EJECTION_PERCENT,
    };
    OutlierDetection {
        enabled: raw.enabled.unwrap_or(true),
        consecutive_failures: raw
            .consecutive_failures
            .unwrap_or(defaults::OD_CONSECUTIVE_FAILURES),
        failure_ratio,
        window,
        min_requests: raw.min_requests.unwrap_or(defaults::OD_MIN_REQUESTS).max(1),
        base_ejection_time,
        max_ejection_time,
        max_ejection_percent,
        slow_start,
    }
}

/// `base_ejection_time` and `max_ejection_time`, with `base <= max`
/// guaranteed.
fn ejection_times(
    issues: &mut Issues<'_>,
    base: &str,
    raw: &RawOutlierDetection,
) -> (Duration, Duration) {
    let before = issues.errors.len();
    let base_time = issues.duration(
        &format!("{base}.base_ejection_time"),
        raw.base_ejection_time.as_deref(),
        defaults::OD_BASE_EJECTION_TIME,
        false,
    );
    let base_ok = issues.errors.len() == before;
    let max_time = issues.duration(
        &format!("{base}.max_ejection_time"),
        raw.max_ejection_time.as_deref(),
        defaults::OD_MAX_EJECTION_TIME.max(base_time),
        false,
    );
    // As with probe timing: no comparison with a stand-in for a bad value.
    if base_ok && max_time < base_time {
        issues.error(
            format!("{base}.max_ejection_time"),
            format!("{max_time:?} is shorter than base_ejection_time ({base_time:?})"),
        );
    }
    (base_time, max_time.max(base_time))
}

/// `pools[i].endpoints[j].health_check`
pub(super) fn endpoint_check(
    issues: &mut Issues<'_>,
    base: &str,
    raw: Option<&RawEndpointCheck>,
    pool_check: Option<&HealthCheck>,
) -> EndpointCheck {
    let Some(raw) = raw else {
        return EndpointCheck::default();
    };
    match pool_check {
        None => issues.error(
            base,
            "the pool has no health_check, so there is nothing to override",
        ),
        Some(c) if c.kind == CheckKind::Tcp && raw.path.is_some() => {
            issues.error(format!("{base}.path"), "only applies to type: http checks")
        }
        Some(_) => {}
    }
    let tcp = pool_check.is_some_and(|c| c.kind == CheckKind::Tcp);
    if let Some(p) = raw.path.as_deref().filter(|_| !tcp) {
        check_path(issues, &format!("{base}.path"), p);
    }
    if raw.port == Some(0) {
        issues.error(format!("{base}.port"), "must be between 1 and 65535");
    }
    EndpointCheck {
        path: raw.path.clone(),
        port: raw.port,
    }
}
