//! A cap on log lines per second, for lines that one line per event would
//! turn into a flood: an upstream that fails every request (a dead vendor
//! behind `when_none_healthy: any`) must not make the proxy write a warning
//! per request at thousands of requests per second.
//!
//! Up to `per_second` lines pass in each second; the rest are counted, and
//! the first line let through in a later second reports how many were held
//! back. A pure state machine over atomics, with the time passed in.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

/// The warnings of failed upstream attempts and of upstream bodies that
/// broke off: 50 a second, then counted (the metrics count every one).
pub(super) static UPSTREAM_FAILURES: LogLimit = LogLimit::new(50);

/// Lines allowed per second, and those held back.
#[derive(Debug)]
pub(super) struct LogLimit {
    per_second: u32,
    /// The second being counted (any monotonic seconds).
    second: AtomicU64,
    /// Lines let through in `second`.
    passed: AtomicU32,
    /// Lines held back since the last one let through.
    held: AtomicU64,
}

impl LogLimit {
    /// A limit of `per_second` lines.
    pub(super) const fn new(per_second: u32) -> Self {
        Self {
            per_second,
            second: AtomicU64::new(0),
            passed: AtomicU32::new(0),
            held: AtomicU64::new(0),
        }
    }

    /// Whether a line may be written at `now_ms`; `Some(n)`: yes, and `n`
    /// lines were held back before it.
    pub(super) fn allow(&self, now_ms: u64) -> Option<u64> {
        let second = now_ms / 1000;
        let seen = self.second.load(Ordering::Relaxed);
        if second != seen
            && self
                .second
                .compare_exchange(seen, second, Ordering::AcqRel, Ordering::Relaxed)
                .is_ok()
        {
            self.passed.store(0, Ordering::Relaxed);
        }
        if self.passed.fetch_add(1, Ordering::AcqRel) < self.per_second {
            Some(self.held.swap(0, Ordering::AcqRel))
        } else {
            self.held.fetch_add(1, Ordering::AcqRel);
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_over_the_limit_are_held_and_reported_by_the_next_one() {
        let l = LogLimit::new(3);
        let at = 5_000;
        assert_eq!(l.allow(at), Some(0));
        assert_eq!(l.allow(at + 10), Some(0));
        assert_eq!(l.allow(at + 20), Some(0));
        assert_eq!(l.allow(at + 30), None);
        assert_eq!(l.allow(at + 999), None);
        // The next second: the first line says two were held back.
        assert_eq!(l.allow(at + 1000), Some(2));
        assert_eq!(l.allow(at + 1001), Some(0));
        // A quiet stretch: nothing held, a fresh allowance.
        assert_eq!(l.allow(at + 60_000), Some(0));
    }
}
