//! Plain round robin: rotate over eligible endpoints, ignoring weights.

use std::sync::atomic::{AtomicUsize, Ordering};

use super::PoolView;

/// Rotation counter.
#[derive(Debug, Default)]
pub struct RoundRobin {
    next: AtomicUsize,
}

impl RoundRobin {
    /// Starts at a random endpoint.
    pub fn with_random_start(len: usize) -> Self {
        Self {
            next: AtomicUsize::new(if len == 0 {
                0
            } else {
                rand::random_range(0..len)
            }),
        }
    }

    /// Picks the next eligible endpoint in rotation.
    pub fn pick(&self, view: &dyn PoolView) -> Option<usize> {
        let n = view.len();
        if n == 0 {
            return None;
        }
        (0..n)
            .map(|_| self.next.fetch_add(1, Ordering::Relaxed) % n)
            .find(|&i| view.weight(i) > 0)
    }
}
