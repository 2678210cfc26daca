//! Balancing strategies behind one interface over an immutable pool view.
//!
//! Owns: choosing an endpoint index among eligible ones. Must not: know
//! about health, breakers or retries directly; callers express those by the
//! weights their `PoolView` reports (0 = not eligible).

mod least_request;
mod random;
mod round_robin;
mod swrr;

pub use least_request::LeastRequest;
pub use random::WeightedRandom;
pub use round_robin::RoundRobin;
pub use swrr::SmoothWeighted;

use crate::config::BalancerKind;

/// What a balancer sees of a pool at the moment of a pick.
pub trait PoolView {
    /// Number of endpoints (eligible or not).
    fn len(&self) -> usize;
    /// Effective weight of endpoint `i`; 0 means not eligible now.
    fn weight(&self, i: usize) -> u32;
    /// Requests in flight at endpoint `i` (for load-aware strategies).
    fn in_flight(&self, i: usize) -> u64;
    /// Whether the view has no endpoints.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Every endpoint's effective weight, in order, into `out`. One
    /// (dynamic) call per pick instead of one per endpoint: the default
    /// body is compiled for each view, its `weight` calls inlined, and the
    /// strategies' loops then run over a slice.
    fn weights(&self, out: &mut Weights) {
        out.extend((0..self.len()).map(|i| self.weight(i)));
    }
}

/// A pick's copy of the weights: on the stack up to 128 endpoints.
pub type Weights = smallvec::SmallVec<[u32; 128]>;

/// The weights `view` reports now.
pub(crate) fn weights_of(view: &dyn PoolView) -> Weights {
    let mut w = Weights::new();
    view.weights(&mut w);
    w
}

/// A balancer: one of the strategies, with its own state.
#[derive(Debug)]
pub enum Balancer {
    /// nginx smooth weighted round robin.
    SmoothWeighted(SmoothWeighted),
    /// Plain rotation over eligible endpoints.
    RoundRobin(RoundRobin),
    /// Weighted random.
    Random(WeightedRandom),
    /// Power of two choices on in-flight requests.
    LeastRequest(LeastRequest),
}

impl Balancer {
    /// A balancer of `kind` for a pool with configured `weights`, whose
    /// view will report effective weights `scale` times larger. The smooth
    /// strategy starts at a random phase so that many proxies started
    /// together do not all send their first requests to the same endpoint.
    pub fn new(kind: BalancerKind, weights: &[u32], scale: i64) -> Self {
        match kind {
            BalancerKind::WeightedRoundRobin => {
                Self::SmoothWeighted(SmoothWeighted::with_random_phase(weights, scale))
            }
            BalancerKind::RoundRobin => {
                Self::RoundRobin(RoundRobin::with_random_start(weights.len()))
            }
            BalancerKind::Random => Self::Random(WeightedRandom),
            BalancerKind::LeastRequest => Self::LeastRequest(LeastRequest),
        }
    }

    /// Picks an eligible endpoint, or `None` when none is eligible.
    pub fn pick(&self, view: &dyn PoolView) -> Option<usize> {
        match self {
            Self::SmoothWeighted(b) => b.pick(view),
            Self::RoundRobin(b) => b.pick(view),
            Self::Random(b) => b.pick(view, &mut rand::rng()),
            Self::LeastRequest(b) => b.pick(view, &mut rand::rng()),
        }
    }
}

/// Weighted random choice among the endpoints of `weights` (0 = not
/// eligible).
pub(crate) fn weighted_choice(weights: &[u32], rng: &mut impl rand::Rng) -> Option<usize> {
    let total: u64 = weights.iter().map(|&w| u64::from(w)).sum();
    if total == 0 {
        return None;
    }
    let mut r = rng.random_range(0..total);
    for (i, &w) in weights.iter().enumerate() {
        let w = u64::from(w);
        if r < w {
            return Some(i);
        }
        r -= w;
    }
    None
}

#[cfg(test)]
pub(crate) mod tests;
