//! The local scoring source: the proxy's own counters and histogram,
//! sampled once per tick into a ring, with window values as deltas between
//! the newest sample and the newest one at least a window old (an exact
//! local `increase` and `histogram_quantile`).

use std::collections::VecDeque;

use super::formula::Stats;
use crate::metrics::EndpointSample;
use crate::upstream::health::Millis;

/// One endpoint's samples, oldest first.
#[derive(Debug, Default)]
pub(super) struct Ring {
    samples: VecDeque<(Millis, EndpointSample)>,
}

impl Ring {
    /// Adds `sample` taken at `now` and returns the stats over the last
    /// `window_ms`; `None` until there are two samples.
    pub(super) fn push(
        &mut self,
        now: Millis,
        sample: EndpointSample,
        window_ms: u64,
    ) -> Option<Stats> {
        self.samples.push_back((now, sample));
        // Keep one sample at least a window old as the base.
        while self.samples.len() > 2
            && self
                .samples
                .get(1)
                .is_some_and(|(t, _)| now.saturating_sub(*t) >= window_ms)
        {
            self.samples.pop_front();
        }
        let (first, last) = (self.samples.front()?, self.samples.back()?);
        if self.samples.len() < 2 {
            return None;
        }
        Some(delta(&first.1, &last.1))
    }
}

fn delta(old: &EndpointSample, new: &EndpointSample) -> Stats {
    let requests = new.requests.saturating_sub(old.requests) as f64;
    let failures = new.failures.saturating_sub(old.failures) as f64;
    let count = new.count.saturating_sub(old.count);
    let buckets: Vec<(f64, u64)> = new
        .buckets
        .iter()
        .map(|&(le, c)| {
            let before = old
                .buckets
                .iter()
                .find(|(b, _)| *b == le)
                .map_or(0, |(_, c)| *c);
            (le, c.saturating_sub(before))
        })
        .collect();
    Stats {
        requests,
        failures,
        p99: quantile(0.99, &buckets, count),
    }
}

/// `histogram_quantile` over cumulative bucket counts: linear inside the
/// bucket; in the `+Inf` bucket, the highest finite bound; `None` without
/// observations.
pub(super) fn quantile(q: f64, buckets: &[(f64, u64)], count: u64) -> Option<f64> {
    if count == 0 {
        return None;
    }
    let rank = q * count as f64;
    let mut prev_bound = 0.0;
    let mut prev_count = 0u64;
    for &(le, cum) in buckets {
        if cum as f64 >= rank {
            let inside = cum.saturating_sub(prev_count) as f64;
            if inside == 0.0 {
                return Some(le);
            }
            return Some(prev_bound + (le - prev_bound) * (rank - prev_count as f64) / inside);
        }
        prev_bound = le;
        prev_count = cum;
    }
    buckets.last().map(|(le, _)| *le)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(requests: u64, failures: u64, buckets: &[(f64, u64)]) -> EndpointSample {
        EndpointSample {
            requests,
            failures,
            buckets: buckets.to_vec(),
            count: buckets.last().map_or(0, |b| b.1),
        }
    }

    #[test]
    fn quantile_interpolates_like_prometheus() {
        let b = [(0.1, 50), (0.2, 100)];
        assert_eq!(quantile(0.5, &b, 100), Some(0.1));
        let p = quantile(0.99, &b, 100).unwrap();
        assert!((p - 0.198).abs() < 1e-9, "{p}");
        // Everything above the last finite bound: that bound.
        assert_eq!(quantile(0.99, &[(0.1, 0), (0.2, 0)], 10), Some(0.2));
        assert_eq!(quantile(0.99, &b, 0), None);
    }

    #[test]
    fn the_ring_gives_deltas_over_the_window() {
        let mut r = Ring::default();
        assert_eq!(r.push(0, sample(100, 10, &[(0.1, 100)]), 2000), None);
        let s = r.push(1000, sample(150, 20, &[(0.1, 150)]), 2000).unwrap();
        assert_eq!((s.requests, s.failures), (50.0, 10.0));
        r.push(2000, sample(200, 20, &[(0.1, 200)]), 2000);
        // At 3000 the base is the sample at 1000 (the newest a window old).
        let s = r.push(3000, sample(260, 20, &[(0.1, 260)]), 2000).unwrap();
        assert_eq!((s.requests, s.failures), (110.0, 0.0));
    }
}
