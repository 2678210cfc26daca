use rand::SeedableRng;

use super::*;

pub(crate) struct Fake {
    pub(crate) weights: Vec<u32>,
    pub(crate) load: Vec<u64>,
}

impl PoolView for Fake {
    fn len(&self) -> usize {
        self.weights.len()
    }
    fn weight(&self, i: usize) -> u32 {
        self.weights[i]
    }
    fn in_flight(&self, i: usize) -> u64 {
        self.load[i]
    }
}

fn fake(weights: &[u32]) -> Fake {
    Fake {
        weights: weights.to_vec(),
        load: vec![0; weights.len()],
    }
}

#[test]
fn swrr_sequence_matches_nginx() {
    let b = SmoothWeighted::new(3);
    let view = fake(&[5, 1, 1]);
    let seq: String = (0..7)
        .map(|_| ["a", "b", "c"][b.pick(&view).unwrap()])
        .collect::<Vec<_>>()
        .join(" ");
    assert_eq!(seq, "a a b a c a a");
}

#[test]
fn swrr_exact_shares_per_cycle_from_any_phase() {
    let view = fake(&[3, 1]);
    for _ in 0..20 {
        let b = SmoothWeighted::with_random_phase(&view.weights, 1);
        let mut counts = [0; 2];
        for _ in 0..400 {
            counts[b.pick(&view).unwrap()] += 1;
        }
        assert_eq!(counts, [300, 100]);
    }
}

#[test]
fn swrr_skips_zero_weight_and_empty() {
    let b = SmoothWeighted::new(3);
    let view = fake(&[0, 2, 0]);
    for _ in 0..10 {
        assert_eq!(b.pick(&view), Some(1));
    }
    assert_eq!(b.pick(&fake(&[0, 0, 0])), None);
    assert_eq!(SmoothWeighted::new(0).pick(&fake(&[])), None);
}

#[test]
fn swrr_weight_change_applies_next_pick() {
    let b = SmoothWeighted::new(2);
    let mut view = fake(&[1, 1]);
    for _ in 0..10 {
        b.pick(&view);
    }
    view.weights = [1, 0].to_vec();
    for _ in 0..5 {
        assert_eq!(b.pick(&view), Some(0));
    }
}

#[test]
fn round_robin_rotates_over_eligible() {
    let b = RoundRobin::default();
    let view = fake(&[1, 0, 7, 1]);
    let picks: Vec<usize> = (0..6).map(|_| b.pick(&view).unwrap()).collect();
    assert_eq!(picks, [0, 2, 3, 0, 2, 3]);
    assert_eq!(b.pick(&fake(&[0, 0])), None);
}

#[test]
fn random_respects_weights() {
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let view = fake(&[3, 1, 0]);
    let mut counts = [0u32; 3];
    for _ in 0..10_000 {
        counts[WeightedRandom.pick(&view, &mut rng).unwrap()] += 1;
    }
    assert_eq!(counts[2], 0);
    assert!((7000..8000).contains(&counts[0]), "{counts:?}");
}

#[test]
fn least_request_prefers_less_loaded() {
    let mut rng = rand::rngs::StdRng::seed_from_u64(1);
    let view = Fake {
        weights: vec![1, 1],
        load: vec![10, 0],
    };
    for _ in 0..100 {
        assert_eq!(LeastRequest.pick(&view, &mut rng), Some(1));
    }
    let single = Fake {
        weights: vec![0, 1],
        load: vec![0, 99],
    };
    assert_eq!(LeastRequest.pick(&single, &mut rng), Some(1));
}

#[test]
fn no_strategy_picks_an_ineligible_endpoint() {
    for round in 0..200u32 {
        let weights: Vec<u32> = (0..5).map(|i| (round * 7 + i * 13) % 4).collect();
        let view = Fake {
            load: (0..5).map(|i| u64::from((round + i) % 3)).collect(),
            weights,
        };
        for kind in [
            BalancerKind::WeightedRoundRobin,
            BalancerKind::RoundRobin,
            BalancerKind::Random,
            BalancerKind::LeastRequest,
        ] {
            let b = Balancer::new(kind, &view.weights, 1);
            for _ in 0..20 {
                match b.pick(&view) {
                    Some(i) => assert!(
                        view.weights[i] > 0,
                        "{kind:?} picked {i} of {:?}",
                        view.weights
                    ),
                    None => assert!(view.weights.iter().all(|&w| w == 0)),
                }
            }
        }
    }
}
