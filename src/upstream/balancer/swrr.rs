//! nginx's smooth weighted round robin (`ngx_http_upstream_get_peer`).
//!
//! Every pick adds each eligible endpoint's weight to its current weight,
//! picks the largest (first wins ties) and subtracts the total from it. With
//! static weights every window of `Σw` picks selects each endpoint exactly
//! `w` times, spread evenly (5:1:1 gives `a a b a c a a`). Weights are read
//! on every pick, so weight changes apply at once without a rebuild.

use std::sync::Mutex;

use super::{PoolView, Weights};

/// Smooth weighted round robin state: one current weight per endpoint.
#[derive(Debug)]
pub struct SmoothWeighted {
    current: Mutex<Vec<i64>>,
}

impl SmoothWeighted {
    /// Starts at the beginning of the cycle.
    pub fn new(len: usize) -> Self {
        Self {
            current: Mutex::new(vec![0; len]),
        }
    }

    /// Starts after a random number of silent picks within one cycle (the
    /// idea of Envoy's `createWithPicks`), so a fleet does not march in step.
    /// The picks run on `weights`; the state is then scaled by `scale`, the
    /// factor between them and the weights the pool view will report (the
    /// algorithm is scale-invariant, so this is the same phase).
    pub fn with_random_phase(weights: &[u32], scale: i64) -> Self {
        let b = Self::new(weights.len());
        let total: u64 = weights.iter().map(|&w| u64::from(w)).sum();
        if total > 0 {
            let picks = rand::random_range(0..total.min(10_000));
            let view = StaticWeights(weights);
            for _ in 0..picks {
                b.pick(&view);
            }
        }
        for cw in b
            .current
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .iter_mut()
        {
            *cw *= scale;
        }
        b
    }

    /// Picks the next endpoint.
    pub fn pick(&self, view: &dyn PoolView) -> Option<usize> {
        let mut weights = Weights::new();
        view.weights(&mut weights);
        // A poisoned lock only means another pick panicked mid-loop; the
        // numbers are still usable.
        let mut current = self
            .current
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if current.len() != weights.len() {
            current.resize(weights.len(), 0);
        }
        let mut total: i64 = 0;
        // The largest current weight; the first one wins ties.
        let (mut best, mut best_cw) = (None, i64::MIN);
        for (i, (cw, &w)) in current.iter_mut().zip(weights.iter()).enumerate() {
            if w == 0 {
                continue;
            }
            let w = i64::from(w);
            *cw += w;
            total += w;
            if *cw > best_cw {
                (best, best_cw) = (Some(i), *cw);
            }
        }
        let best = best?;
        current[best] -= total;
        Some(best)
    }
}

struct StaticWeights<'a>(&'a [u32]);

impl PoolView for StaticWeights<'_> {
    fn len(&self) -> usize {
        self.0.len()
    }
    fn weight(&self, i: usize) -> u32 {
        self.0[i]
    }
    fn in_flight(&self, _: usize) -> u64 {
        0
    }
}
