//! Long-lived per-pool state, keyed by pool name so it survives reloads:
//! the members (for the ejection cap), the retry budget and the pool's
//! health metric handles.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError, Weak};

use arc_swap::ArcSwap;
use tokio::sync::Notify;

use super::budget::RetryBudget;
use super::health::{EndpointHealth, Status};
use super::registry::EndpointState;
use crate::config::{OutlierDetection, Scoring};
use crate::metrics::PoolHealthMetrics;

/// What the pool's scorer works on; replaced on reload.
#[derive(Debug, Default)]
pub struct Roster {
    /// Scoring settings, if configured.
    pub scoring: Option<Scoring>,
    /// Outlier settings (for score ejections).
    pub outlier: Option<OutlierDetection>,
    /// Endpoints with their cost and configured weight.
    pub endpoints: Vec<(Weak<EndpointState>, f64, u32)>,
}

/// One pool's long-lived state.
#[derive(Debug)]
pub struct PoolState {
    /// Pool name.
    pub name: Arc<str>,
    /// Metric handles.
    pub metrics: PoolHealthMetrics,
    members: Mutex<Vec<Weak<EndpointHealth>>>,
    budget: Mutex<RetryBudget>,
    roster: ArcSwap<Roster>,
    /// Wakes the scorer (roster changed, or retired).
    pub wake: Notify,
    /// Requests in flight to the pool, for `max_concurrent_requests`.
    pub gate: Arc<super::Gate>,
    retired: AtomicBool,
}

impl PoolState {
    /// A pool with no members yet.
    pub fn new(name: Arc<str>, metrics: PoolHealthMetrics) -> Self {
        Self {
            name,
            metrics,
            members: Mutex::new(Vec::new()),
            budget: Mutex::new(RetryBudget::default()),
            roster: ArcSwap::from_pointee(Roster::default()),
            wake: Notify::new(),
            gate: Arc::default(),
            retired: AtomicBool::new(false),
        }
    }

    /// The scorer's roster.
    pub fn roster(&self) -> Arc<Roster> {
        self.roster.load_full()
    }

    /// Replaces the roster after a reload and wakes the scorer.
    pub fn set_roster(&self, roster: Roster) {
        self.roster.store(Arc::new(roster));
        self.wake.notify_one();
    }

    /// Stops the scorer (the pool left the config, or shutdown).
    pub fn retire(&self) {
        self.retired.store(true, Ordering::Release);
        self.wake.notify_one();
    }

    /// Whether the pool left the config.
    pub fn is_retired(&self) -> bool {
        self.retired.load(Ordering::Acquire)
    }

    /// Sets the members after a reload.
    pub fn set_members(&self, members: Vec<Weak<EndpointHealth>>) {
        *self.members.lock().unwrap_or_else(PoisonError::into_inner) = members;
    }

    /// Runs `eject` if one more ejection keeps the pool within
    /// `max_percent`: at most `floor(n × max_percent / 100)` members ejected
    /// at once, but always at least one (unless `max_percent` is 0). The
    /// member lock is held across the count and `eject`, so two endpoints
    /// failing at once cannot both slip under the cap.
    pub fn try_eject(&self, max_percent: u32, me: &EndpointHealth, eject: impl FnOnce()) -> bool {
        let members = self.members.lock().unwrap_or_else(PoisonError::into_inner);
        if max_percent == 0 {
            return false;
        }
        let n = members.len().max(1);
        let limit = (n * max_percent as usize / 100).max(1);
        let ejected = members
            .iter()
            .filter_map(Weak::upgrade)
            .filter(|m| !std::ptr::eq(&**m, me) && m.status() == Status::Ejected)
            .count();
        if ejected + 1 > limit {
            return false;
        }
        eject();
        true
    }

    /// Counts a request toward the retry budget.
    pub fn deposit(&self, now_ms: u64) {
        self.budget
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .deposit(now_ms);
    }

    /// Takes one retry from the budget, if it allows.
    pub fn withdraw(&self, ratio: f64, min_per_second: u32, now_ms: u64) -> bool {
        self.budget
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .withdraw(ratio, min_per_second, now_ms)
    }
}
