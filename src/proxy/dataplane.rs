//! The swapped unit: one validated config linked to runtime state.
//!
//! A request loads the current `Dataplane` once and finishes on it, so it
//! never sees two configs. Everything expensive (route table, regexes, pool
//! views, clients) is built before the swap, off the request path.

use std::sync::atomic::AtomicBool;
use std::sync::{Arc, OnceLock};

use arc_swap::ArcSwap;

use crate::config::Config;
use crate::metrics::{Metrics, RouteMetrics};
use crate::routing::RouteId;
use crate::upstream::{PoolRuntime, Registry};

/// One config generation, ready to serve.
#[derive(Debug)]
pub struct Dataplane {
    /// Generation number, 1 for the first config.
    pub generation: u64,
    /// Content hash of the source text.
    pub hash: String,
    /// The validated config.
    pub config: Arc<Config>,
    /// Pools, indexed by `PoolId`.
    pub pools: Vec<PoolRuntime>,
    /// Per listener, per route (last slot: no route), lazily resolved.
    route_metrics: Vec<Vec<OnceLock<Arc<RouteMetrics>>>>,
}

impl Dataplane {
    /// Links `config` to the registry and builds the pool views.
    pub fn build(config: Arc<Config>, hash: String, generation: u64, registry: &Registry) -> Self {
        let linked = registry.link(&config);
        let pools = config
            .pools
            .iter()
            .zip(linked)
            .map(|(p, (state, l))| PoolRuntime::new(p, state, l))
            .collect();
        let slots = config.routes.len() + 1;
        let route_metrics = config
            .listeners
            .iter()
            .map(|_| (0..slots).map(|_| OnceLock::new()).collect())
            .collect();
        Self {
            generation,
            hash,
            config,
            pools,
            route_metrics,
        }
    }

    /// Index of the listener called `name` in this config.
    pub fn listener_index(&self, name: &str) -> Option<usize> {
        self.config.listeners.iter().position(|l| &*l.name == name)
    }

    /// Metric handles for a request on `listener` that matched `route`.
    pub fn route_metrics(
        &self,
        metrics: &Metrics,
        listener: &str,
        listener_index: Option<usize>,
        route: Option<RouteId>,
    ) -> Arc<RouteMetrics> {
        let route_name = route
            .and_then(|id| self.config.routes.get(id))
            .map_or("", |r| &*r.name);
        let slot = route.map_or(self.config.routes.len(), |id| id.0);
        match listener_index.and_then(|li| self.route_metrics.get(li)?.get(slot)) {
            Some(cell) => {
                Arc::clone(cell.get_or_init(|| Arc::new(metrics.route(listener, route_name))))
            }
            // A connection of a listener that a reload removed, still draining.
            None => Arc::new(metrics.route(listener, route_name)),
        }
    }
}

/// State shared by every listener and the admin API.
#[derive(Debug)]
pub struct Shared {
    /// The current generation.
    pub dataplane: ArcSwap<Dataplane>,
    /// Long-lived endpoint state.
    pub registry: Registry,
    /// Metrics.
    pub metrics: Arc<Metrics>,
    /// True once the config is loaded and every listener is bound.
    pub ready: AtomicBool,
}
