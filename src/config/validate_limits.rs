//! Validation of `listeners[].limits` and `pools[].limits`: ranges, with
//! paths.
//!
//! Owns: turning `RawListenerLimits` into `ListenerLimits` and
//! `RawPoolLimits` into `PoolLimits`. Must not: apply them.

use super::defaults;
use super::limits::{ListenerLimits, PoolLimits};
use super::raw_limits::{RawListenerLimits, RawPoolLimits};
use super::validate::Issues;

/// Smallest and largest `max_header_bytes` and `max_response_header_bytes`
/// (hyper's HTTP/1.1 read buffer cannot be smaller than 8 KiB).
const HEADER_BYTES: (u64, u64) = (8 * 1024, 1024 * 1024);
/// Smallest and largest `max_headers`.
const HEADERS: (u32, u32) = (1, 1000);

/// Validates one listener's `limits` (`base` is `listeners[i].limits`).
pub(super) fn listener_limits(
    issues: &mut Issues<'_>,
    base: &str,
    raw: Option<&RawListenerLimits>,
) -> ListenerLimits {
    let Some(raw) = raw else {
        return ListenerLimits::default();
    };
    let mut out = ListenerLimits::default();
    let header_bytes = super::validate_plugins::size(
        issues,
        &format!("{base}.max_header_bytes"),
        raw.max_header_bytes.as_ref(),
        out.max_header_bytes as u64,
        HEADER_BYTES,
        ("8KiB", "1MiB"),
    );
    out.max_header_bytes = usize::try_from(header_bytes).unwrap_or(usize::MAX);
    if let Some(n) = raw.max_headers {
        if (HEADERS.0..=HEADERS.1).contains(&n) {
            out.max_headers = n as usize;
        } else {
            issues.error(
                format!("{base}.max_headers"),
                format!("{n} is out of range: use 1 to 1000"),
            );
        }
    }
    if let Some(n) = raw.max_connections {
        if (1..=1_000_000).contains(&n) {
            out.max_connections = Some(n as usize);
        } else {
            issues.error(
                format!("{base}.max_connections"),
                format!("{n} is out of range: use 1 to 1000000, or leave it out for no limit"),
            );
        }
    }
    out.header_read_timeout = issues.duration(
        &format!("{base}.header_read_timeout"),
        raw.header_read_timeout.as_deref(),
        defaults::HEADER_READ_TIMEOUT,
        false,
    );
    out.max_body = max_body(issues, &format!("{base}.max_body"), raw.max_body.as_ref());
    out.idle_timeout = issues.duration(
        &format!("{base}.idle_timeout"),
        raw.idle_timeout.as_deref(),
        defaults::CONN_IDLE_TIMEOUT,
        false,
    );
    out
}

/// Largest `max_body`.
const MAX_BODY: u64 = 64 << 30;

/// Validates a `max_body` (listener or route).
pub(super) fn max_body(
    issues: &mut Issues<'_>,
    path: &str,
    raw: Option<&super::raw_values::RawSize>,
) -> Option<u64> {
    raw?;
    Some(super::validate_plugins::size(
        issues,
        path,
        raw,
        MAX_BODY,
        (0, MAX_BODY),
        ("0", "64GiB"),
    ))
}

/// Validates a `max_concurrent_requests` (route or pool).
pub(super) fn max_concurrent(
    issues: &mut Issues<'_>,
    path: &str,
    raw: Option<u32>,
) -> Option<usize> {
    let n = raw?;
    if (1..=1_000_000).contains(&n) {
        Some(n as usize)
    } else {
        issues.error(
            path,
            format!("{n} is out of range: use 1 to 1000000, or leave it out for no limit"),
        );
        None
    }
}

/// Validates one pool's `limits` (`base` is `pools[i].limits`).
pub(super) fn pool_limits(
    issues: &mut Issues<'_>,
    base: &str,
    raw: Option<&RawPoolLimits>,
) -> PoolLimits {
    let Some(raw) = raw else {
        return PoolLimits::default();
    };
    let mut out = PoolLimits::default();
    let header_bytes = super::validate_plugins::size(
        issues,
        &format!("{base}.max_response_header_bytes"),
        raw.max_response_header_bytes.as_ref(),
        out.max_response_header_bytes as u64,
        HEADER_BYTES,
        ("8KiB", "1MiB"),
    );
    out.max_response_header_bytes = usize::try_from(header_bytes).unwrap_or(usize::MAX);
    out
}
