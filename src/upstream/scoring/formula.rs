//! The score: three factors in [0, 1], multiplied, then smoothed into a
//! weight. Pure; every number it uses comes in as an argument.
//!
//! - Error score `H = clamp((error_max − e) / (error_max − error_ok), 0, 1)`
//!   over the smoothed error ratio `e = (F + k·0.01) / (N + k)`, where `k` is
//!   `min_requests` pseudo-requests at a 1% prior (so a handful of requests
//!   cannot swing it).
//! - Latency factor `clamp(L_ref / p99, 0.25, 1)` with
//!   `L_ref = max(latency_target, 1.5 × median p99 of the pool)`.
//! - Cost factor `max((cheapest / cost)^cost_exponent, 0.25)`.
//! - Total `S = H × latency × cost`. Only `H` can eject.

use crate::config::Scoring;

/// Prior error ratio of the smoothed estimate.
const PRIOR_ERROR: f64 = 0.01;
/// The least a latency or cost factor can take away alone.
const FACTOR_FLOOR: f64 = 0.25;

/// One endpoint's numbers over the window.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Stats {
    /// Requests (all outcomes).
    pub requests: f64,
    /// Failed requests (connect errors, timeouts, resets, 5xx).
    pub failures: f64,
    /// p99 time to response headers, seconds; `None` without data.
    pub p99: Option<f64>,
}

/// The factors of one endpoint's score.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Score {
    /// Smoothed error ratio.
    pub error_ratio: f64,
    /// Error score `H`.
    pub error: f64,
    /// Latency factor.
    pub latency: f64,
    /// Cost factor.
    pub cost: f64,
    /// `H × latency × cost`.
    pub total: f64,
}

/// Scores every endpoint of a pool. `stats[i]` is `None` when there is no
/// data at all for endpoint `i`; `costs[i]` is its configured cost;
/// `previous_latency[i]` is kept when its p99 is unknown.
pub fn score_pool(
    cfg: &Scoring,
    stats: &[Option<Stats>],
    costs: &[f64],
    previous_latency: &[f64],
) -> Vec<Score> {
    let mut p99s: Vec<f64> = stats
        .iter()
        .filter_map(|s| s.and_then(|s| s.p99))
        .filter(|p| p.is_finite() && *p > 0.0)
        .collect();
    p99s.sort_by(f64::total_cmp);
    let median = match p99s.len() {
        0 => None,
        n if n % 2 == 1 => Some(p99s[n / 2]),
        n => Some((p99s[n / 2 - 1] + p99s[n / 2]) / 2.0),
    };
    let reference = cfg
        .latency_target
        .as_secs_f64()
        .max(median.map_or(0.0, |m| 1.5 * m));
    let cheapest = costs
        .iter()
        .copied()
        .filter(|c| *c > 0.0)
        .fold(f64::INFINITY, f64::min);
    stats
        .iter()
        .zip(costs)
        .enumerate()
        .map(|(i, (s, &cost))| {
            let s = s.unwrap_or_default();
            let k = f64::from(cfg.min_requests);
            let e = (s.failures + k * PRIOR_ERROR) / (s.requests + k);
            let error = ((cfg.error_max - e) / (cfg.error_max - cfg.error_ok)).clamp(0.0, 1.0);
            let latency = match s.p99.filter(|p| p.is_finite() && *p > 0.0) {
                Some(p) if reference > 0.0 => (reference / p).clamp(FACTOR_FLOOR, 1.0),
                Some(_) => 1.0,
                None => previous_latency.get(i).copied().unwrap_or(1.0),
            };
            let cost = if cost > 0.0 && cheapest.is_finite() && cfg.cost_exponent > 0.0 {
                (cheapest / cost).powf(cfg.cost_exponent).max(FACTOR_FLOOR)
            } else {
                1.0
            };
            Score {
                error_ratio: e,
                error,
                latency,
                cost,
                total: error * latency * cost,
            }
        })
        .collect()
}

/// Moves a published weight factor toward `target`: down by at most half
/// of the current value per tick (fast), up by at most 0.1 per tick
/// (slow), never below `floor`. All in [0, 1].
pub fn smooth(current: f64, target: f64, floor: f64) -> f64 {
    let target = target.clamp(0.0, 1.0);
    let next = if target < current {
        target.max(current * 0.5)
    } else {
        target.min(current + 0.1)
    };
    next.max(floor).min(1.0)
}

/// Score-ejection hysteresis for one endpoint (a Schmitt trigger): eject
/// after two ticks running below `eject_below` with enough requests; after
/// an ejection, stay disarmed until the score has been back above
/// `rearm_above`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Trigger {
    low_ticks: u32,
    armed: bool,
}

impl Default for Trigger {
    fn default() -> Self {
        Self {
            low_ticks: 0,
            armed: true,
        }
    }
}

impl Trigger {
    /// Feeds one tick's error score; true when it is time to eject.
    /// `requests` below `min_requests` is missing data: it neither trips
    /// nor re-arms.
    pub fn tick(&mut self, cfg: &Scoring, error: f64, requests: f64) -> bool {
        if requests < f64::from(cfg.min_requests) {
            // "Two ticks running" means two ticks with data in a row.
            self.low_ticks = 0;
            return false;
        }
        if error >= cfg.rearm_above {
            self.armed = true;
        }
        if error < cfg.eject_below {
            self.low_ticks += 1;
        } else {
            self.low_ticks = 0;
        }
        if self.armed && self.low_ticks >= 2 {
            self.armed = false;
            self.low_ticks = 0;
            return true;
        }
        false
    }

    /// Forgets low ticks so far (the endpoint spent time out of the pool).
    pub fn interrupt(&mut self) {
        self.low_ticks = 0;
    }

    /// Arms again (an ejection it asked for was refused by the cap).
    pub fn rearm(&mut self) {
        self.armed = true;
    }

    /// Whether a low score may eject again.
    pub fn armed(&self) -> bool {
        self.armed
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::config::ScoringSource;

    fn cfg() -> Scoring {
        Scoring {
            interval: Duration::from_secs(10),
            window: Duration::from_secs(60),
            latency_target: Duration::from_millis(100),
            cost_exponent: 0.5,
            error_ok: 0.01,
            error_max: 0.25,
            eject_below: 0.2,
            rearm_above: 0.6,
            min_requests: 20,
            min_weight: 0.05,
            source: ScoringSource::Local,
        }
    }

    fn stats(requests: f64, failures: f64, p99: f64) -> Option<Stats> {
        Some(Stats {
            requests,
            failures,
            p99: Some(p99),
        })
    }

    #[test]
    fn the_design_notes_worked_example() {
        // A: 30 errors in 6000, p99 0.4 s, cost 1; B: 60 in 2000, 0.9 s, cost 2.
        let c = Scoring {
            latency_target: Duration::ZERO,
            ..cfg()
        };
        let s = score_pool(
            &c,
            &[stats(6000.0, 30.0, 0.4), stats(2000.0, 60.0, 0.9)],
            &[1.0, 2.0],
            &[1.0, 1.0],
        );
        assert!((s[0].error - 1.0).abs() < 1e-9, "{:?}", s[0]);
        assert!((s[1].error - 0.917).abs() < 0.001, "{:?}", s[1]);
        assert_eq!((s[0].latency, s[1].latency), (1.0, 1.0));
        assert!((s[1].cost - std::f64::consts::FRAC_1_SQRT_2).abs() < 0.001);
        assert!((s[1].total - 0.648).abs() < 0.001, "{:?}", s[1]);
    }

    #[test]
    fn slow_and_expensive_vendors_lose_weight_by_the_formula() {
        // A fast and cheap, B twice as slow, C four times the cost.
        let s = score_pool(
            &cfg(),
            &[
                stats(1000.0, 0.0, 0.2),
                stats(1000.0, 0.0, 0.4),
                stats(1000.0, 0.0, 0.2),
            ],
            &[1.0, 1.0, 4.0],
            &[1.0; 3],
        );
        // Reference: max(100 ms, 1.5 × median 0.2 s) = 0.3 s.
        assert!((s[0].total - 1.0).abs() < 1e-9);
        assert!((s[1].latency - 0.75).abs() < 1e-9);
        assert!((s[2].cost - 0.5).abs() < 1e-9);
        assert!(s[0].total > s[1].total && s[0].total > s[2].total);
    }

    #[test]
    fn errors_zero_the_error_score_and_few_requests_barely_move_it() {
        let s = score_pool(
            &cfg(),
            &[stats(1000.0, 300.0, 0.1), stats(3.0, 3.0, 0.1)],
            &[1.0, 1.0],
            &[1.0; 2],
        );
        assert_eq!(s[0].error, 0.0);
        // 3 of 3 failed, but 20 pseudo-requests at 1% dominate: e ≈ 13.9%.
        assert!(s[1].error > 0.4, "{:?}", s[1]);
    }

    #[test]
    fn missing_latency_keeps_the_previous_factor() {
        let s = score_pool(
            &cfg(),
            &[Some(Stats {
                requests: 10.0,
                failures: 0.0,
                p99: None,
            })],
            &[1.0],
            &[0.6],
        );
        assert_eq!(s[0].latency, 0.6);
    }

    #[test]
    fn weights_fall_fast_and_rise_slowly_above_a_floor() {
        assert_eq!(smooth(1.0, 0.0, 0.05), 0.5);
        assert_eq!(smooth(0.5, 0.0, 0.05), 0.25);
        assert_eq!(smooth(0.06, 0.0, 0.05), 0.05);
        assert!((smooth(0.5, 1.0, 0.05) - 0.6).abs() < 1e-9);
        assert_eq!(smooth(0.95, 1.0, 0.05), 1.0);
    }

    #[test]
    fn the_trigger_needs_two_low_ticks_and_rearms_only_when_high_again() {
        let c = cfg();
        let mut t = Trigger::default();
        assert!(!t.tick(&c, 0.1, 100.0));
        assert!(t.tick(&c, 0.1, 100.0), "second low tick ejects");
        // Hovering low after that does not eject again.
        for _ in 0..10 {
            assert!(!t.tick(&c, 0.1, 100.0));
        }
        // Too few requests: neither trips nor re-arms, and breaks a run of
        // low ticks.
        assert!(!t.tick(&c, 0.9, 5.0));
        assert!(!t.armed());
        assert!(!t.tick(&c, 0.7, 100.0));
        assert!(t.armed());
        assert!(!t.tick(&c, 0.1, 100.0));
        assert!(!t.tick(&c, 0.1, 5.0));
        assert!(!t.tick(&c, 0.1, 100.0), "the gap broke the run");
        assert!(t.tick(&c, 0.1, 100.0));
    }
}
