//! Long-lived per-endpoint state, keyed by stable identity.
//!
//! A new config links to the registry: endpoints whose pool name, endpoint
//! name and URL are unchanged get their existing state back (connection
//! pool, counters, health and ejection state, and its monitor task keeps
//! running); a changed URL is a new endpoint; endpoints that left the
//! config are dropped, their monitors stopped and their metric series
//! removed. Pools are keyed by name the same way.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use super::client::{build_client, ClientSettings, UpstreamClient};
use super::connect::Dial;
use super::health::{self, EndpointHealth, HealthSettings, ProbeTarget};
use super::pool_state::{PoolState, Roster};
use crate::config::{Config, Endpoint, Pool};
use crate::metrics::{EndpointMetrics, Metrics};
use crate::tls::{TlsSet, UpstreamTls};

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
    /// Health, ejection and slow start.
    pub health: Arc<EndpointHealth>,
    /// The pool's long-lived state (ejection cap, retry budget).
    pub pool: Arc<PoolState>,
    in_flight: AtomicU64,
    client: Mutex<Option<UpstreamClient>>,
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

    /// The client for these settings, reusing the pooled one when
    /// unchanged (same address, TLS config and settings).
    fn client(&self, dial: Dial, settings: ClientSettings) -> UpstreamClient {
        let mut slot = self.client.lock().unwrap_or_else(PoisonError::into_inner);
        match &*slot {
            Some(c) if c.is_for(&dial, settings) => c.clone(),
            _ => {
                let c = build_client(dial, settings);
                *slot = Some(c.clone());
                c
            }
        }
    }
}

/// An in-flight request at an endpoint; decrements on drop.
#[derive(Debug)]
pub struct InFlight(Arc<EndpointState>);

impl InFlight {
    /// The endpoint the request is at.
    pub fn endpoint(&self) -> &EndpointKey {
        &self.0.key
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
        self.0.metrics.in_flight.dec();
    }
}

/// All endpoint and pool state, by identity.
#[derive(Debug)]
pub struct Registry {
    metrics: Arc<Metrics>,
    endpoints: Mutex<HashMap<EndpointKey, Arc<EndpointState>>>,
    pools: Mutex<HashMap<Arc<str>, Arc<PoolState>>>,
}

/// What an endpoint's health follows, from its pool's and its own config.
/// Probes to an `https://` endpoint use TLS, as requests do.
fn health_settings(pool: &Pool, ep: &Endpoint, tls: Option<&Arc<UpstreamTls>>) -> HealthSettings {
    let port = ep.check.port.unwrap_or_else(|| ep.url.port());
    let check = pool.health_check.clone();
    let target = ProbeTarget {
        dial: Dial::new(&ep.url, port, tls),
        protocol: pool.protocol,
        host: check
            .as_ref()
            .and_then(|c| c.host.clone())
            .unwrap_or_else(|| ep.url.authority.as_str().to_string()),
        path: ep
            .check
            .path
            .clone()
            .or_else(|| check.as_ref().map(|c| c.path.clone()))
            .unwrap_or_else(|| "/".into()),
    };
    HealthSettings {
        check,
        target,
        outlier: pool.outlier.clone(),
    }
}

/// Per pool: its state, and per endpoint the state and the client to use.
pub type Linked = Vec<(Arc<PoolState>, Vec<(Arc<EndpointState>, UpstreamClient)>)>;

impl Registry {
    /// An empty registry reporting into `metrics`.
    pub fn new(metrics: Arc<Metrics>) -> Self {
        Self {
            metrics,
            endpoints: Mutex::new(HashMap::new()),
            pools: Mutex::new(HashMap::new()),
        }
    }

    /// The long-lived state of the pool called `name`, creating it.
    fn pool_state(
        &self,
        pools: &mut HashMap<Arc<str>, Arc<PoolState>>,
        name: &Arc<str>,
    ) -> (Arc<PoolState>, bool) {
        match pools.get(name) {
            Some(p) => (Arc::clone(p), true),
            None => {
                let p = Arc::new(PoolState::new(
                    Arc::clone(name),
                    self.metrics.health.pool(name),
                ));
                super::scoring::spawn_scorer(Arc::clone(&p));
                pools.insert(Arc::clone(name), Arc::clone(&p));
                (p, false)
            }
        }
    }

    /// Links `config` (whose TLS is `tls`) to existing state, creating and
    /// dropping as needed. New endpoints get a monitor task on the current
    /// tokio runtime; new endpoints of a pool that already existed start in
    /// slow start.
    pub fn link(&self, config: &Config, tls: &TlsSet) -> Linked {
        let mut map = self
            .endpoints
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let mut pools = self.pools.lock().unwrap_or_else(PoisonError::into_inner);
        let now = health::now_ms();
        let mut live = HashSet::new();
        let mut linked = Vec::with_capacity(config.pools.len());
        for (pi, pool) in config.pools.iter().enumerate() {
            let (pool_state, existed) = self.pool_state(&mut pools, &pool.name);
            let settings = ClientSettings {
                connect_timeout: pool.connect_timeout,
                idle_timeout: pool.idle_timeout,
                protocol: pool.protocol,
                max_header_bytes: pool.limits.max_response_header_bytes,
            };
            let pool_tls = tls.pool(pi);
            let mut eps = Vec::with_capacity(pool.endpoints.len());
            for ep in &pool.endpoints {
                let key = EndpointKey {
                    pool: Arc::clone(&pool.name),
                    name: Arc::clone(&ep.name),
                    url: ep.url.original.clone(),
                };
                let hs = health_settings(pool, ep, pool_tls);
                let state = match map.get(&key) {
                    Some(s) => {
                        s.health.update(hs, now);
                        Arc::clone(s)
                    }
                    None => {
                        let health = Arc::new(EndpointHealth::new(
                            Arc::clone(&key.pool),
                            Arc::clone(&key.name),
                            hs,
                            self.metrics.health.endpoint(&key.pool, &key.name),
                            existed,
                            now,
                        ));
                        health::spawn_monitor(Arc::clone(&health));
                        let s = Arc::new(EndpointState {
                            metrics: self.metrics.endpoint(&key.pool, &key.name),
                            key: key.clone(),
                            health,
                            pool: Arc::clone(&pool_state),
                            in_flight: AtomicU64::new(0),
                            client: Mutex::new(None),
                        });
                        map.insert(key.clone(), Arc::clone(&s));
                        s
                    }
                };
                let dial = Dial::new(&ep.url, ep.url.port(), pool_tls);
                let client = state.client(dial, settings);
                live.insert(key);
                eps.push((state, client));
            }
            pool_state.set_members(eps.iter().map(|(s, _)| Arc::downgrade(&s.health)).collect());
            pool_state.set_roster(Roster {
                scoring: pool.scoring.clone(),
                outlier: Some(pool.outlier.clone()),
                endpoints: eps
                    .iter()
                    .zip(&pool.endpoints)
                    .map(|((s, _), e)| (Arc::downgrade(s), e.cost, e.weight))
                    .collect(),
            });
            linked.push((pool_state, eps));
        }
        let gone_pools: Vec<Arc<str>> = pools
            .keys()
            .filter(|name| !config.pools.iter().any(|p| p.name == **name))
            .cloned()
            .collect();
        for name in gone_pools {
            if let Some(p) = pools.remove(&name) {
                p.retire();
            }
            self.metrics.health.remove_pool(&name);
        }
        let gone: Vec<EndpointKey> = map.keys().filter(|k| !live.contains(*k)).cloned().collect();
        for key in gone {
            if let Some(s) = map.remove(&key) {
                s.health.retire();
            }
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

    /// Stops every endpoint's monitor (at shutdown).
    pub fn retire_all(&self) {
        let map = self
            .endpoints
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        for state in map.values() {
            state.health.retire();
        }
        for pool in self
            .pools
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .values()
        {
            pool.retire();
        }
    }

    /// Closes idle upstream connections past their idle timeout.
    pub fn prune_idle(&self) {
        let map = self
            .endpoints
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        for state in map.values() {
            let slot = state.client.lock().unwrap_or_else(PoisonError::into_inner);
            if let Some(c) = &*slot {
                c.prune();
            }
        }
    }
}
