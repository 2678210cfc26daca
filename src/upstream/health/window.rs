//! A sliding failure-ratio window in ten time buckets (Hystrix, linkerd).
//!
//! Pure: time comes in as milliseconds. A bucket older than the window is
//! cleared when its slot comes round again, so the ratio covers between
//! nine and ten tenths of the window.

use super::Millis;
use crate::upstream::slots::{SlotCounts, SLOTS};

/// Requests and failures over the last `window`.
#[derive(Debug, Clone, Default)]
pub(super) struct FailureWindow {
    counts: SlotCounts,
}

impl FailureWindow {
    /// Records one outcome at `now` in a window of `window_ms`.
    pub(super) fn record(&mut self, failure: bool, now: Millis, window_ms: u64) {
        self.counts
            .add(now / width(window_ms), 1, u32::from(failure));
    }

    /// `(requests, failures)` within the window ending at `now`.
    pub(super) fn totals(&self, now: Millis, window_ms: u64) -> (u32, u32) {
        let (r, f) = self.counts.totals(now / width(window_ms));
        (
            u32::try_from(r).unwrap_or(u32::MAX),
            u32::try_from(f).unwrap_or(u32::MAX),
        )
    }

    /// Forgets everything.
    pub(super) fn clear(&mut self) {
        *self = Self::default();
    }
}

/// The width of one of the ten slots of a window.
fn width(window_ms: u64) -> u64 {
    (window_ms / SLOTS).max(1)
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
