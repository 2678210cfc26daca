//! A pool as one config snapshot sees it: endpoints linked to their
//! long-lived state, plus the balancer, plus the choice of what to do when
//! nothing is routable.
//!
//! Effective weights are the configured weight in thousandths, times the
//! slow-start factor, and 0 for an endpoint that is not routable (awaiting
//! its first probe, failing its checks, or ejected), so every strategy
//! respects health without knowing about it.

use std::sync::Arc;
use std::time::Duration;

use super::balancer::{Balancer, PoolView};
use super::client::UpstreamClient;
use super::health::Status;
use super::pool_state::PoolState;
use super::registry::EndpointState;
use crate::config::{Endpoint, Pool, WhenNoneHealthy};

/// Effective weights are configured weights times this (per-mille factors).
const WEIGHT_SCALE: i64 = 1000;

/// An endpoint of a pool in one snapshot.
#[derive(Debug)]
pub struct LinkedEndpoint {
    /// Configuration.
    pub config: Endpoint,
    /// Long-lived state.
    pub state: Arc<EndpointState>,
    /// Pooled client.
    pub client: UpstreamClient,
    /// Plugins run on requests to it: the pool's, then its own (set by
    /// the dataplane, which owns the loaded plugins).
    pub plugins: Arc<[Arc<crate::plugin::Plugin>]>,
}

/// A pool in one snapshot.
#[derive(Debug)]
pub struct PoolRuntime {
    /// Name.
    pub name: Arc<str>,
    /// Endpoints in config order.
    pub endpoints: Vec<LinkedEndpoint>,
    /// The pool's settings.
    pub config: Pool,
    /// Long-lived pool state (ejection cap, retry budget, metrics).
    pub state: Arc<PoolState>,
    /// Whether any endpoint has plugins.
    pub has_plugins: bool,
    balancer: Balancer,
}

/// The outcome of a pick.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pick {
    /// A routable endpoint.
    Ready(usize),
    /// Nothing was routable; this one was chosen by `when_none_healthy`.
    Fallback(usize),
    /// Nothing was routable and the policy is to fail.
    None,
}

impl PoolRuntime {
    /// Builds the runtime pool from config and linked state.
    pub fn new(
        pool: &Pool,
        state: Arc<PoolState>,
        linked: Vec<(Arc<EndpointState>, UpstreamClient)>,
    ) -> Self {
        let weights: Vec<u32> = pool.endpoints.iter().map(|e| e.weight).collect();
        let endpoints = pool
            .endpoints
            .iter()
            .zip(linked)
            .map(|(config, (state, client))| LinkedEndpoint {
                config: config.clone(),
                state,
                client,
                plugins: Arc::from(Vec::new()),
            })
            .collect();
        Self {
            name: Arc::clone(&pool.name),
            endpoints,
            config: pool.clone(),
            state,
            has_plugins: false,
            balancer: Balancer::new(pool.balancer, &weights, WEIGHT_SCALE),
        }
    }

    /// Sets each endpoint's plugin chain (its pool's plugins, then its own).
    pub fn set_plugins(&mut self, chains: Vec<Arc<[Arc<crate::plugin::Plugin>]>>) {
        for (ep, chain) in self.endpoints.iter_mut().zip(chains) {
            ep.plugins = chain;
        }
        self.has_plugins = self.endpoints.iter().any(|e| !e.plugins.is_empty());
    }

    /// Picks an endpoint, avoiding those in `tried` when another is
    /// routable. When none is routable, `when_none_healthy` decides, and
    /// the pool's no-healthy counter counts it.
    pub fn select(&self, tried: &[usize]) -> Pick {
        if !tried.is_empty() {
            let view = Excluding { pool: self, tried };
            if let Some(i) = self.balancer.pick(&view) {
                return Pick::Ready(i);
            }
        }
        if let Some(i) = self.balancer.pick(self) {
            return Pick::Ready(i);
        }
        self.state.metrics.no_healthy.inc();
        match self.fallback(tried) {
            Some(i) => Pick::Fallback(i),
            None => Pick::None,
        }
    }

    /// The least bad endpoint: one awaiting its first probe (in either
    /// mode), else with `any` the one whose ejection ends soonest, failing
    /// health checks last. Untried endpoints first; ties at random.
    fn fallback(&self, tried: &[usize]) -> Option<usize> {
        let any = self.config.when_none_healthy == WhenNoneHealthy::Any;
        let rank = |i: usize| -> Option<(bool, u64)> {
            let e = &self.endpoints[i];
            if e.config.weight == 0 {
                return None;
            }
            let until = match e.state.health.status() {
                Status::Checking | Status::Healthy | Status::HalfOpen => 0,
                Status::Ejected | Status::Unhealthy if any => e.state.health.out_until(),
                Status::Ejected | Status::Unhealthy => return None,
            };
            Some((tried.contains(&i), until))
        };
        let best = (0..self.endpoints.len()).filter_map(rank).min()?;
        let ties: Vec<usize> = (0..self.endpoints.len())
            .filter(|&i| rank(i) == Some(best))
            .collect();
        match ties.len() {
            0 => None,
            1 => Some(ties[0]),
            n => Some(ties[rand::random_range(0..n)]),
        }
    }

    fn slow_start(&self) -> Duration {
        self.config.outlier.slow_start
    }
}

impl PoolView for PoolRuntime {
    fn len(&self) -> usize {
        self.endpoints.len()
    }
    fn weight(&self, i: usize) -> u32 {
        let e = &self.endpoints[i];
        let factor = e.state.health.weight_permille(self.slow_start());
        if factor == 0 {
            return 0;
        }
        // On probation, one trial request at a time (linkerd's gate).
        if e.state.health.status() == Status::HalfOpen && e.state.in_flight() > 0 {
            return 0;
        }
        // At most MAX_WEIGHT (1e6) x 1000 = 1e9, inside u32.
        let w = u64::from(e.config.weight) * u64::from(factor);
        u32::try_from(w).unwrap_or(u32::MAX)
    }
    fn in_flight(&self, i: usize) -> u64 {
        self.endpoints[i].state.in_flight()
    }
}

/// The pool without the endpoints already tried.
struct Excluding<'a> {
    pool: &'a PoolRuntime,
    tried: &'a [usize],
}

impl PoolView for Excluding<'_> {
    fn len(&self) -> usize {
        self.pool.len()
    }
    fn weight(&self, i: usize) -> u32 {
        if self.tried.contains(&i) {
            0
        } else {
            self.pool.weight(i)
        }
    }
    fn in_flight(&self, i: usize) -> u64 {
        self.pool.in_flight(i)
    }
}
