//! A sliding failure-ratio window in ten time buckets (Hystrix, linkerd).
//!
//! Pure: time comes in as milliseconds. A bucket older than the window is
//! cleared when its slot comes round again, so the ratio covers between
//! nine and ten tenths of the window.

use super::Millis;

const BUCKETS: usize = 10;

#[derive(Debug, Clone, Copy, Default)]
struct Bucket {
    /// Index of the bucket's time slot (`now / width`).
    slot: u64,
    requests: u32,
    failures: u32,
}

/// Requests and failures over the last `window`.
#[derive(Debug, Clone, Default)]
pub(super) struct FailureWindow {
    buckets: [Bucket; BUCKETS],
}

impl FailureWindow {
    /// Records one outcome at `now` in a window of `window_ms`.
    pub(super) fn record(&mut self, failure: bool, now: Millis, window_ms: u64) {
        let width = (window_ms / BUCKETS as u64).max(1);
        let slot = now / width;
        let b = &mut self.buckets[(slot % BUCKETS as u64) as usize];
        if b.slot != slot {
            *b = Bucket {
                slot,
                requests: 0,
                failures: 0,
            };
        }
        b.requests = b.requests.saturating_add(1);
        if failure {
            b.failures = b.failures.saturating_add(1);
        }
    }

    /// `(requests, failures)` within the window ending at `now`.
    pub(super) fn totals(&self, now: Millis, window_ms: u64) -> (u32, u32) {
        let width = (window_ms / BUCKETS as u64).max(1);
        let slot = now / width;
        self.buckets
            .iter()
            .filter(|b| b.slot + (BUCKETS as u64) > slot && b.slot <= slot)
            .fold((0u32, 0u32), |(r, f), b| {
                (r.saturating_add(b.requests), f.saturating_add(b.failures))
            })
    }

    /// Forgets everything.
    pub(super) fn clear(&mut self) {
        *self = Self::default();
    }
}

#[cfg(test)]
mod tests {
    use super::FailureWindow;

    #[test]
    fn counts_within_the_window_and_forgets_older_buckets() {
        let mut w = FailureWindow::default();
        for t in 0..10 {
            w.record(t % 2 == 0, t * 1000, 10_000);
        }
        assert_eq!(w.totals(9_999, 10_000), (10, 5));
        // One bucket later the first second has slid out.
        assert_eq!(w.totals(10_000, 10_000), (9, 4));
        w.record(true, 10_500, 10_000);
        assert_eq!(w.totals(10_500, 10_000), (10, 5));
        // Long silence: nothing left.
        assert_eq!(w.totals(60_000, 10_000), (0, 0));
    }

    #[test]
    fn slot_zero_is_not_mistaken_for_a_fresh_bucket() {
        let mut w = FailureWindow::default();
        w.record(true, 0, 10_000);
        assert_eq!(w.totals(0, 10_000), (1, 1));
    }
}
