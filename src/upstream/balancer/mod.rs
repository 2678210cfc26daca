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
        out.clear();
        out.extend((0..self.len()).map(|i| self.weight(i)));
    }
}

/// A pick's copy of the weights: on the stack up to 128 endpoints.
pub type Weights = smallvec::SmallVec<[u32; 128]>;

/// Running sums of a pick's weights: entry `i` is the sum of the
/// weights up to and including endpoint `i`.
pub(crate) type Sums = smallvec::SmallVec<[u64; 128]>;

/// The running sums of what `view` reports now.
pub(crate) fn running_sums(view: &dyn PoolView, out: &mut Sums) {
    let mut weights = Weights::new();
    view.weights(&mut weights);
    let mut acc = 0;
    out.clear();
    out.extend(weights.iter().map(|&w| {
        acc += u64::from(w);
        acc
    }));
}

/// The endpoint whose share of `[0, total)` holds `r` (`r` below the
/// total): a binary search, so a draw costs O(log n) after the sums.
pub(crate) fn draw(sums: &[u64], r: u64) -> usize {
    sums.partition_point(|&c| c <= r)
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

#[cfg(test)]
pub(crate) mod tests;
