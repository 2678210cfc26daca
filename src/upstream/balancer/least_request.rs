//! Least request by power of two choices (Mitzenmacher; Envoy, Finagle):
//! draw two distinct eligible endpoints at random (by weight) and take the
//! one with fewer requests in flight. Nearly as good as a full scan, and it
//! does not herd onto the single least-loaded endpoint.

use super::{draw, running_sums, PoolView, Sums};

/// Stateless P2C.
#[derive(Debug, Default)]
pub struct LeastRequest;

impl LeastRequest {
    /// Picks the less loaded of two random eligible endpoints.
    pub fn pick(&self, view: &dyn PoolView, rng: &mut impl rand::Rng) -> Option<usize> {
        // The weights are read once for both draws, each a binary search.
        let mut sums = Sums::new();
        running_sums(view, &mut sums);
        let total = sums.last().copied().unwrap_or(0);
        if total == 0 {
            return None;
        }
        let a = draw(&sums, rng.random_range(0..total));
        // The second draw leaves `a`'s share out: a draw past its start
        // moves on by its width.
        let start = if a == 0 { 0 } else { sums[a - 1] };
        let width = sums[a] - start;
        if total == width {
            return Some(a);
        }
        let mut r = rng.random_range(0..total - width);
        if r >= start {
            r += width;
        }
        let b = draw(&sums, r);
        if view.in_flight(b) < view.in_flight(a) {
            Some(b)
        } else {
            Some(a)
        }
    }
}
