//! Weighted random choice.

use super::{draw, running_sums, PoolView, Sums};

/// Stateless weighted random.
#[derive(Debug, Default)]
pub struct WeightedRandom;

impl WeightedRandom {
    /// Picks an eligible endpoint with probability proportional to weight.
    pub fn pick(&self, view: &dyn PoolView, rng: &mut impl rand::Rng) -> Option<usize> {
        let mut sums = Sums::new();
        running_sums(view, &mut sums);
        let total = sums.last().copied().unwrap_or(0);
        if total == 0 {
            return None;
        }
        Some(draw(&sums, rng.random_range(0..total)))
    }
}
