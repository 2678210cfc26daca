//! The swapped unit: one validated config linked to runtime state.
//!
//! A request loads the current `Dataplane` once and finishes on it, so it
//! never sees two configs. Everything expensive (route table, regexes, pool
//! views, clients) is built before the swap, off the request path.

use std::sync::atomic::AtomicBool;
use std::sync::{Arc, OnceLock};

use arc_swap::ArcSwap;

use crate::access_log::{AccessLogError, AccessLogger};
use crate::config::Config;
use crate::metrics::{Metrics, RouteMetrics};
use crate::plugin::{Host, Plugin, PluginSet};
use crate::routing::RouteId;
use crate::tls::TlsSet;
use crate::upstream::{Gate, PoolRuntime, Registry};

use super::error::ProxyError;
use super::gates::{Gates, RouteGates};

/// One config generation, ready to serve.
#[derive(Debug)]
pub struct Dataplane {
    /// Generation number, 1 for the first config.
    pub generation: u64,
    /// Content hash of the source text and the files it names (plugins,
    /// certificates, keys, CAs).
    pub hash: String,
    /// The validated config.
    pub config: Arc<Config>,
    /// Pools, indexed by `PoolId`.
    pub pools: Vec<PoolRuntime>,
    /// Content hash of the config text alone (`hash` also covers the
    /// plugin and TLS files).
    pub text_hash: String,
    /// The loaded plugins.
    pub plugins: Arc<PluginSet>,
    /// The listeners' TLS, by listener position.
    pub tls: Arc<TlsSet>,
    /// Each route's plugins, by route index.
    pub route_plugins: Vec<Arc<[Arc<Plugin>]>>,
    /// The access log, when `access_log` is set.
    pub access_log: Option<Arc<AccessLogger>>,
    /// Per listener, per route (last slot: no route), lazily resolved.
    route_metrics: Vec<Vec<OnceLock<Arc<RouteMetrics>>>>,
    /// Per route with `max_concurrent_requests`, lazily resolved.
    route_gates: Vec<OnceLock<Arc<Gate>>>,
}

impl Dataplane {
    /// Links `config` to the registry and builds the pool views.
    /// `hashes`: the content hashes of the config text and of the whole
    /// (text, plugin and TLS files); `loaded`: the plugins, TLS and access
    /// log opened for `config`.
    pub fn build(
        config: Arc<Config>,
        hashes: (String, String),
        generation: u64,
        registry: &Registry,
        loaded: (Arc<PluginSet>, Arc<TlsSet>, Option<Arc<AccessLogger>>),
    ) -> Self {
        let (plugins, tls, access_log) = loaded;
        let (text_hash, hash) = hashes;
        let linked = registry.link(&config, &tls);
        let chain = |ids: &[crate::config::PluginId]| -> Arc<[Arc<Plugin>]> {
            Arc::from(plugins.resolve(ids))
        };
        let pools = config
            .pools
            .iter()
            .zip(linked)
            .map(|(p, (state, l))| {
                let mut pool = PoolRuntime::new(p, state, l);
                let chains = p
                    .endpoints
                    .iter()
                    .map(|e| {
                        let ids: Vec<_> = p.plugins.iter().chain(&e.plugins).copied().collect();
                        chain(&ids)
                    })
                    .collect();
                pool.set_plugins(chains);
                pool
            })
            .collect();
        let route_plugins = (0..config.routes.len())
            .map(|i| {
                config
                    .routes
                    .get(RouteId(i))
                    .map_or_else(|| chain(&[]), |r| chain(&r.plugins))
            })
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
            text_hash,
            plugins,
            tls,
            route_plugins,
            access_log,
            route_metrics,
            route_gates: (0..slots - 1).map(|_| OnceLock::new()).collect(),
        }
    }

    /// Takes a slot of `route` and of `pool` where they set
    /// `max_concurrent_requests`; a full one sheds the request.
    pub(super) fn enter(
        &self,
        route: RouteId,
        pool: &PoolRuntime,
        gates: &RouteGates,
    ) -> Result<Gates, ProxyError> {
        let mut held = Gates::default();
        if let Some((r, max)) = self
            .config
            .routes
            .get(route)
            .and_then(|r| Some((r, r.max_concurrent?)))
        {
            let gate = self.route_gates[route.0].get_or_init(|| gates.get(&r.name));
            held.route = Some(gate.try_enter(max).ok_or_else(|| ProxyError::Overloaded {
                scope: "route",
                name: Arc::clone(&r.name),
            })?);
        }
        if let Some(max) = pool.config.max_concurrent {
            held.pool =
                Some(
                    pool.state
                        .gate
                        .try_enter(max)
                        .ok_or_else(|| ProxyError::Overloaded {
                            scope: "pool",
                            name: Arc::clone(&pool.name),
                        })?,
                );
        }
        Ok(held)
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

/// Loads the plugins `config` declares, reusing unchanged ones of
/// `previous`. Blocking (compiles): run off the request path.
pub fn load_plugins(
    shared: &Shared,
    config: &Config,
    previous: Option<&PluginSet>,
) -> Result<PluginSet, Vec<String>> {
    if config.plugins.is_empty() {
        return Ok(PluginSet::empty());
    }
    let host = shared.plugin_host().map_err(|e| vec![e])?;
    PluginSet::load(host, &config.plugins, previous, &shared.metrics.plugins)
}

/// The access logger `config` asks for: `current` again when its settings
/// are the same (no reopen, no new thread), else a new one, which opens
/// (and creates) its file. Blocking: run off the request path.
pub fn access_logger(
    metrics: &Metrics,
    current: Option<&Arc<AccessLogger>>,
    config: &Config,
) -> Result<Option<Arc<AccessLogger>>, AccessLogError> {
    let Some(wanted) = &config.access_log else {
        return Ok(None);
    };
    match current {
        Some(log) if log.config() == wanted => Ok(Some(Arc::clone(log))),
        _ => AccessLogger::open(wanted, &metrics.access_log).map(Some),
    }
}

/// Logs what a swap from `old` to `new` did to the access log, if anything.
pub(super) fn access_log_changed(old: Option<&Arc<AccessLogger>>, new: Option<&Arc<AccessLogger>>) {
    match (old, new) {
        (Some(a), Some(b)) if Arc::ptr_eq(a, b) => {}
        (None, None) => {}
        (_, Some(l)) => {
            let c = l.config();
            tracing::info!(format = c.format.as_str(), output = ?c.output, "Access log settings applied.");
        }
        (Some(_), None) => tracing::info!("Access log turned off."),
    }
}

/// The hash that identifies `config` (whose text hashes to `text_hash`)
/// with the plugin and TLS files it names, as they are on disk now.
pub fn files_hash(text_hash: &str, config: &Config) -> String {
    let with_plugins = crate::plugin::combined_hash(text_hash, &config.plugins);
    crate::tls::combined_hash(&with_plugins, config)
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
    /// The WebAssembly engine, created with the first config that
    /// declares plugins.
    pub plugin_host: OnceLock<Host>,
    /// Routes' concurrency gates, by route name.
    pub route_gates: RouteGates,
}

impl Shared {
    /// The plugin engine, created on first use.
    pub fn plugin_host(&self) -> Result<&Host, String> {
        if let Some(h) = self.plugin_host.get() {
            return Ok(h);
        }
        let host =
            Host::new().map_err(|e| format!("cannot start the WebAssembly engine: {e:#}"))?;
        Ok(self.plugin_host.get_or_init(|| host))
    }
}
