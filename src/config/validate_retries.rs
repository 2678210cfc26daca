//! Validation of route retry policies.
//!
//! Owns: the rules and error wording for `routes[].retries`. Must not: look
//! at pools (the retry budget is per pool at run time, but its settings are
//! the route's).

use std::time::Duration;

use super::defaults;
use super::raw::RawRetries;
use super::resilience::{Retries, RetryOn, RetryOnSet};
use super::validate::Issues;
use super::validate_resilience::share;

/// `routes[i].retries`. `route_timeout` is `None` when the route's own
/// timeout is invalid (already reported): then `per_try_timeout` is not
/// compared with a stand-in the operator never wrote.
pub(super) fn retries(
    issues: &mut Issues<'_>,
    base: &str,
    raw: &RawRetries,
    route_timeout: Option<Duration>,
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
    let limit = route_timeout.unwrap_or(defaults::ROUTE_TIMEOUT);
    let per_try_timeout = raw.per_try_timeout.as_deref().map(|t| {
        let path = format!("{base}.per_try_timeout");
        let d = issues.duration(&path, Some(t), limit, false);
        if route_timeout.is_some() && d > limit {
            issues.error(
                path,
                format!(
                    "{d:?} is longer than the route timeout ({limit:?}), which bounds all attempts"
                ),
            );
        }
        d.min(limit)
    });
    let budget = match &raw.budget {
        None => defaults::RETRY_BUDGET,
        Some(s) => share(issues, &format!("{base}.budget"), s),
    };
    Retries {
        attempts,
        per_try_timeout,
        on: retry_on(issues, &format!("{base}.on"), raw.on.as_deref()),
        budget,
        min_retries_per_second: raw
            .min_retries_per_second
            .unwrap_or(defaults::RETRY_MIN_PER_SECOND),
    }
}

/// `routes[i].retries.on`
fn retry_on(issues: &mut Issues<'_>, path: &str, names: Option<&[String]>) -> RetryOnSet {
    let Some(names) = names else {
        return Retries::default().on;
    };
    // An empty list would silently turn retries off whatever `attempts` says.
    if names.is_empty() {
        issues.error(
            path,
            "list at least one condition (to turn retries off, set attempts: 1)",
        );
    }
    let mut items = Vec::with_capacity(names.len());
    for (k, name) in names.iter().enumerate() {
        match RetryOn::ALL.iter().find(|c| c.as_str() == name) {
            Some(c) => items.push(*c),
            None => issues.error(
                format!("{path}[{k}]"),
                format!(
                    "unknown retry condition {name:?}: expected one of {}",
                    RetryOn::ALL.map(RetryOn::as_str).join(", ")
                ),
            ),
        }
    }
    RetryOnSet::of(&items)
}
