//! Least request by power of two choices (Mitzenmacher; Envoy, Finagle):
//! draw two distinct eligible endpoints at random (by weight) and take the
//! one with fewer requests in flight. Nearly as good as a full scan, and it
//! does not herd onto the single least-loaded endpoint.

use super::{weighted_choice, weights_of, PoolView};

/// Stateless P2C.
#[derive(Debug, Default)]
pub struct LeastRequest;

impl LeastRequest {
    /// Picks the less loaded of two random eligible endpoints.
    pub fn pick(&self, view: &dyn PoolView, rng: &mut impl rand::Rng) -> Option<usize> {
        // The weights are read once for both draws.
        let mut weights = weights_of(view);
        let a = weighted_choice(&weights, rng)?;
        weights[a] = 0;
        let Some(b) = weighted_choice(&weights, rng) else {
            return Some(a);
        };
        if view.in_flight(b) < view.in_flight(a) {
            Some(b)
        } else {
            Some(a)
        }
    }
}
