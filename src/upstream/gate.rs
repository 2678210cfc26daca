//! A concurrency gate: how many requests hold a slot, and the refusal of
//! one more than a limit (the pool's and route's
//! `max_concurrent_requests`). The limit is passed at each entry, so a
//! reload that changes it applies at once while the count carries on.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// Requests holding a slot.
#[derive(Debug, Default)]
pub struct Gate {
    held: AtomicUsize,
}

impl Gate {
    /// A slot if fewer than `max` are held, else `None` (shed the request).
    pub fn try_enter(self: &Arc<Self>, max: usize) -> Option<GateGuard> {
        let before = self.held.fetch_add(1, Ordering::AcqRel);
        if before >= max {
            self.held.fetch_sub(1, Ordering::AcqRel);
            return None;
        }
        Some(GateGuard(Arc::clone(self)))
    }

    /// Slots held now.
    pub fn held(&self) -> usize {
        self.held.load(Ordering::Acquire)
    }
}

/// A held slot, given back when dropped.
#[derive(Debug)]
pub struct GateGuard(Arc<Gate>);

impl Drop for GateGuard {
    fn drop(&mut self) {
        self.0.held.fetch_sub(1, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_up_to_the_limit_then_refusals_until_one_is_given_back() {
        let g = Arc::new(Gate::default());
        let a = g.try_enter(2).unwrap();
        let _b = g.try_enter(2).unwrap();
        assert!(g.try_enter(2).is_none());
        assert_eq!(g.held(), 2);
        drop(a);
        assert!(g.try_enter(2).is_some());
        // A lower limit (a reload) applies to the next entry.
        assert!(g.try_enter(1).is_none());
    }
}
