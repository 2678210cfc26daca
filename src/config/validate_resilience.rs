//! Validation of health checks, outlier detection and retries.
//!
//! Owns: the rules and error wording for `pools[].health_check`,
//! `pools[].outlier_detection`, `pools[].endpoints[].health_check` and
//! `routes[].retries`.

use std::time::Duration;

use http::HeaderValue;

use super::defaults;
use super::raw::{
    OneOrMany, RawCheckKind, RawEndpointCheck, RawHealthCheck, RawOutlierDetection, RawRetries,
    RawShare, RawStatus,
};
use super::resilience::{
    CheckKind, EndpointCheck, HealthCheck, OutlierDetection, Retries, RetryOn, RetryOnSet,
    StatusSet,
};
use super::validate::Issues;

/// `pools[i].health_check`
pub(super) fn health_check(
    issues: &mut Issues<'_>,
    base: &str,
    raw: Option<&RawHealthCheck>,
) -> Option<HealthCheck> {
    let raw = raw?;
    let interval = issues.duration(
        &format!("{base}.interval"),
        raw.interval.as_deref(),
        defaults::HC_INTERVAL,
        false,
    );
    let timeout = issues.duration(
        &format!("{base}.timeout"),
        raw.timeout.as_deref(),
        defaults::HC_TIMEOUT.min(interval),
        false,
    );
    if timeout >= interval && raw.timeout.is_some() {
        issues.error(
            format!("{base}.timeout"),
            format!("{timeout:?} must be shorter than the interval ({interval:?})"),
        );
    }
    let jitter = match &raw.jitter {
        None => defaults::HC_JITTER,
        Some(s) => share(issues, &format!("{base}.jitter"), s).min(0.5),
    };
    if raw.jitter.is_some() && jitter >= 0.5 {
        issues.error(format!("{base}.jitter"), "must be below 50%");
    }
    let threshold = |issues: &mut Issues<'_>, name: &str, v: Option<u32>, d: u32| match v {
        Some(0) => {
            issues.error(format!("{base}.{name}"), "must be at least 1");
            d
        }
        Some(n) if n > 100 => {
            issues.error(
                format!("{base}.{name}"),
                format!("{n} is more than the limit of 100"),
            );
            d
        }
        Some(n) => n,
        None => d,
    };
    let healthy_threshold = threshold(
        issues,
        "healthy_threshold",
        raw.healthy_threshold,
        defaults::HC_HEALTHY_THRESHOLD,
    );
    let unhealthy_threshold = threshold(
        issues,
        "unhealthy_threshold",
        raw.unhealthy_threshold,
        defaults::HC_UNHEALTHY_THRESHOLD,
    );
    let kind = match raw.kind {
        RawCheckKind::Http => CheckKind::Http,
        RawCheckKind::Tcp => CheckKind::Tcp,
    };
    if kind == CheckKind::Tcp {
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
    let path = raw.path.clone().unwrap_or_else(|| defaults::HC_PATH.into());
    check_path(issues, &format!("{base}.path"), &path);
    if let Some(host) = &raw.host {
        if host.is_empty() || HeaderValue::from_str(host).is_err() {
            issues.error(
                format!("{base}.host"),
                format!("invalid Host header value {host:?}"),
            );
        }
    }
    let expected = match &raw.expected_statuses {
        None => StatusSet::success(),
        Some(items) => statuses(issues, &format!("{base}.expected_statuses"), items),
    };
    Some(HealthCheck {
        kind,
        path,
        host: raw.host.clone(),
        expected,
        interval,
        timeout: timeout.min(interval),
        jitter,
        healthy_threshold,
        unhealthy_threshold,
    })
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
    let valid = |c: u16| (100..=599).contains(&c);
    let (lo, hi) = match item {
        RawStatus::Code(c) => (*c, *c),
        RawStatus::Text(t) => {
            let t = t.trim();
            if let Some(class) = t.strip_suffix("xx").or_else(|| t.strip_suffix("XX")) {
                let d: u16 = class.parse().ok().filter(|d| (1..=5).contains(d))?;
                (d * 100, d * 100 + 99)
            } else if let Some((a, b)) = t.split_once('-') {
                (a.trim().parse().ok()?, b.trim().parse().ok()?)
            } else {
                let c = t.parse().ok()?;
                (c, c)
            }
        }
    };
    (valid(lo) && valid(hi) && lo <= hi).then_some((lo, hi))
}

/// A `RawShare` as a fraction in [0, 1], recording an error when out of range.
pub(super) fn share(issues: &mut Issues<'_>, path: &str, raw: &RawShare) -> f64 {
    let value = match raw {
        RawShare::Fraction(f) => Some(*f),
        RawShare::Text(t) => t
            .trim()
            .strip_suffix('%')
            .and_then(|n| n.trim().parse::<f64>().ok())
            .map(|p| p / 100.0),
    };
    match value {
        Some(v) if v.is_finite() && (0.0..=1.0).contains(&v) => v,
        _ => {
            issues.error(
                path,
                format!(
                    "invalid share {}: use a fraction from 0 to 1 (0.2) or a percentage (20%)",
                    match raw {
                        RawShare::Fraction(f) => f.to_string(),
                        RawShare::Text(t) => format!("{t:?}"),
                    }
                ),
            );
            0.0
        }
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
    let base_ejection_time = dur(
        issues,
        "base_ejection_time",
        &raw.base_ejection_time,
        defaults::OD_BASE_EJECTION_TIME,
        false,
    );
    let max_ejection_time = dur(
        issues,
        "max_ejection_time",
        &raw.max_ejection_time,
        defaults::OD_MAX_EJECTION_TIME.max(base_ejection_time),
        false,
    );
    if max_ejection_time < base_ejection_time {
        issues.error(
            format!("{base}.max_ejection_time"),
            format!(
                "{max_ejection_time:?} is shorter than base_ejection_time ({base_ejection_time:?})"
            ),
        );
    }
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
        max_ejection_time: max_ejection_time.max(base_ejection_time),
        max_ejection_percent,
        slow_start,
    }
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
    if let Some(p) = &raw.path {
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

/// `routes[i].retries`
pub(super) fn retries(
    issues: &mut Issues<'_>,
    base: &str,
    raw: &RawRetries,
    route_timeout: Duration,
) -> Retries {
    let attempts = match raw.attempts {
        None => defaults::RETRY_ATTEMPTS,
        Some(0) => {
            issues.error(
                format!("{base}.attempts"),
                "must be at least 1 (1 means no retry)",
            );
            1
        }
        Some(n) if n > defaults::MAX_RETRY_ATTEMPTS => {
            issues.error(
                format!("{base}.attempts"),
                format!(
                    "{n} is more than the limit of {}",
                    defaults::MAX_RETRY_ATTEMPTS
                ),
            );
            defaults::MAX_RETRY_ATTEMPTS
        }
        Some(n) => n,
    };
    let per_try_timeout = raw.per_try_timeout.as_deref().map(|t| {
        let path = format!("{base}.per_try_timeout");
        let d = issues.duration(&path, Some(t), route_timeout, false);
        if d > route_timeout {
            issues.error(
                path,
                format!("{d:?} is longer than the route timeout ({route_timeout:?}), which bounds all attempts"),
            );
        }
        d.min(route_timeout)
    });
    let on = match &raw.on {
        None => RetryOnSet::of(&[
            RetryOn::ConnectError,
            RetryOn::Reset,
            RetryOn::Timeout,
            RetryOn::Http5xx,
        ]),
        Some(names) => {
            let mut items = Vec::with_capacity(names.len());
            for (k, name) in names.iter().enumerate() {
                match RetryOn::ALL.iter().find(|c| c.as_str() == name) {
                    Some(c) => items.push(*c),
                    None => issues.error(
                        format!("{base}.on[{k}]"),
                        format!(
                            "unknown retry condition {name:?}: expected one of {}",
                            RetryOn::ALL.map(RetryOn::as_str).join(", ")
                        ),
                    ),
                }
            }
            RetryOnSet::of(&items)
        }
    };
    let budget = match &raw.budget {
        None => defaults::RETRY_BUDGET,
        Some(s) => share(issues, &format!("{base}.budget"), s),
    };
    Retries {
        attempts,
        per_try_timeout,
        on,
        budget,
        min_retries_per_second: raw
            .min_retries_per_second
            .unwrap_or(defaults::RETRY_MIN_PER_SECOND),
    }
}
