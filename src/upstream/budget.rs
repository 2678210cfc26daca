//! The retry budget (Finagle, linkerd, tower's `TpsBudget`): retries may
//! add at most `ratio` of the requests seen over the last ten seconds,
//! plus `min_per_second` retries per second whatever the traffic, so a
//! quiet pool can still retry and a failing one cannot multiply its load.
//! Pure: time comes in as milliseconds.

use super::slots::{SlotCounts, SLOTS};

const SLOT_MS: u64 = 1000;

/// Requests and retries over the last ten seconds.
#[derive(Debug, Clone, Default)]
pub struct RetryBudget {
    counts: SlotCounts,
}

impl RetryBudget {
    /// Counts a first attempt.
    pub fn deposit(&mut self, now_ms: u64) {
        self.counts.add(now_ms / SLOT_MS, 1, 0);
    }

    /// Takes one retry if `retries < ratio × requests + min_per_second × 10`.
    pub fn withdraw(&mut self, ratio: f64, min_per_second: u32, now_ms: u64) -> bool {
        let (requests, retries) = self.counts.totals(now_ms / SLOT_MS);
        let allowed = ratio * requests as f64 + f64::from(min_per_second) * SLOTS as f64;
        if (retries as f64) < allowed {
            self.counts.add(now_ms / SLOT_MS, 0, 1);
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::RetryBudget;

    #[test]
    fn ratio_plus_floor_bounds_retries() {
        let mut b = RetryBudget::default();
        for _ in 0..100 {
            b.deposit(500);
        }
        // 20% of 100 plus a floor of 1/s over 10 s: 30 retries.
        let granted = (0..100).filter(|_| b.withdraw(0.2, 1, 600)).count();
        assert_eq!(granted, 30);
        // Ten seconds later everything has slid out; only the floor is left.
        let granted = (0..100).filter(|_| b.withdraw(0.2, 1, 10_600)).count();
        assert_eq!(granted, 10);
    }

    #[test]
    fn zero_budget_and_floor_refuses_everything() {
        let mut b = RetryBudget::default();
        for _ in 0..100 {
            b.deposit(0);
        }
        assert!(!b.withdraw(0.0, 0, 0));
    }
}
