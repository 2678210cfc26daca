//! Long-lived per-endpoint state, keyed by stable identity.
//!
//! A new config links to the registry: endpoints whose pool name, endpoint
//! name and URL are unchanged get their existing state back (connection
//! pool, counters, and later health and breaker state); a changed URL is a
//! new endpoint; endpoints that left the config are dropped and their
//! metric series removed.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use super::client::{build_client, ClientSettings, UpstreamClient};
use crate::config::Config;
use crate::metrics::{EndpointMetrics, Metrics};

/// Stable identity of an endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct EndpointKey {
    /// Pool name.
    pub pool: Arc<str>,
    /// Endpoint name.
    pub name: Arc<str>,
    /// URL as written.
    pub url: String,
}

/// State of one endpoint that outlives config snapshots.
#[derive(Debug)]
pub struct EndpointState {
    /// Identity.
    pub key: EndpointKey,
    /// Metric handles.
    pub metrics: EndpointMetrics,
    in_flight: AtomicU64,
    client: Mutex<Option<(ClientSettings, UpstreamClient)>>,
}

impl EndpointState {
    /// Requests in flight now.
    pub fn in_flight(&self) -> u64 {
        self.in_flight.load(Ordering::Relaxed)
    }

    /// Marks a request in flight until the guard drops.
    pub fn begin(self: &Arc<Self>) -> InFlight {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        self.metrics.in_flight.inc();
        InFlight(Arc::clone(self))
    }

    /// The client for these settings, reusing the pooled one when unchanged.
    fn client(&self, authority: &str, settings: ClientSettings) -> UpstreamClient {
        let mut slot = self.client.lock().unwrap_or_else(PoisonError::into_inner);
        match &*slot {
            Some((s, c)) if *s == settings => c.clone(),
            _ => {
                let c = build_client(authority, settings);
                *slot = Some((settings, c.clone()));
                c
            }
        }
    }
}

/// An in-flight request at an endpoint; decrements on drop.
#[derive(Debug)]
pub struct InFlight(Arc<EndpointState>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
        self.0.metrics.in_flight.dec();
    }
}

/// All endpoint state, by identity.
#[derive(Debug)]
pub struct Registry {
    metrics: Arc<Metrics>,
    endpoints: Mutex<HashMap<EndpointKey, Arc<EndpointState>>>,
}

/// Per pool, per endpoint: the state and the client to use.
pub type Linked = Vec<Vec<(Arc<EndpointState>, UpstreamClient)>>;

impl Registry {
    /// An empty registry reporting into `metrics`.
    pub fn new(metrics: Arc<Metrics>) -> Self {
        Self {
            metrics,
            endpoints: Mutex::new(HashMap::new()),
        }
    }

    /// Links `config` to existing state, creating and dropping as needed.
    pub fn link(&self, config: &Config) -> Linked {
        let mut map = self
            .endpoints
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let mut live = HashSet::new();
        let mut linked = Vec::with_capacity(config.pools.len());
        for pool in &config.pools {
            let settings = ClientSettings {
                connect_timeout: pool.connect_timeout,
                idle_timeout: pool.idle_timeout,
            };
            let mut eps = Vec::with_capacity(pool.endpoints.len());
            for ep in &pool.endpoints {
                let key = EndpointKey {
                    pool: Arc::clone(&pool.name),
                    name: Arc::clone(&ep.name),
                    url: ep.url.original.clone(),
                };
                let state = match map.get(&key) {
                    Some(s) => Arc::clone(s),
                    None => {
                        let s = Arc::new(EndpointState {
                            metrics: self.metrics.endpoint(&key.pool, &key.name),
                            key: key.clone(),
                            in_flight: AtomicU64::new(0),
                            client: Mutex::new(None),
                        });
                        map.insert(key.clone(), Arc::clone(&s));
                        s
                    }
                };
                let client = state.client(ep.url.authority.as_str(), settings);
                live.insert(key);
                eps.push((state, client));
            }
            linked.push(eps);
        }
        let gone: Vec<EndpointKey> = map.keys().filter(|k| !live.contains(*k)).cloned().collect();
        for key in gone {
            map.remove(&key);
            // Another live endpoint may share the (pool, name) label pair
            // with a new URL; keep its series.
            if !live
                .iter()
                .any(|k| k.pool == key.pool && k.name == key.name)
            {
                self.metrics.remove_endpoint(&key.pool, &key.name);
            }
        }
        linked
    }

    /// Closes idle upstream connections past their idle timeout.
    pub fn prune_idle(&self) {
        let map = self
            .endpoints
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        for state in map.values() {
            let slot = state.client.lock().unwrap_or_else(PoisonError::into_inner);
            if let Some((_, c)) = &*slot {
                c.prune();
            }
        }
    }
}
