//! Weighted random choice.

use super::{weighted_choice, weights_of, PoolView};

/// Stateless weighted random.
#[derive(Debug, Default)]
pub struct WeightedRandom;

impl WeightedRandom {
    /// Picks an eligible endpoint with probability proportional to weight.
    pub fn pick(&self, view: &dyn PoolView, rng: &mut impl rand::Rng) -> Option<usize> {
        weighted_choice(&weights_of(view), rng)
    }
}
