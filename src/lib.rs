//! Switchyard: a config-driven HTTP reverse proxy and load balancer.
//!
//! The crate is the whole proxy; `main.rs` only parses the command line.
//! Start with [`Switchyard::start`], which takes a loaded config, binds every
//! listener and the admin API, and returns a handle with the bound
//! addresses. See `docs/ARCHITECTURE.md` for the request path and the
//! lifecycle.

pub mod admin;
pub mod config;
pub mod demo;
pub mod metrics;
pub mod proxy;
pub mod routing;
pub mod upstream;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;

use crate::admin::AdminHandle;
use crate::config::Loaded;
use crate::metrics::Metrics;
use crate::proxy::{Dataplane, ListenerHandle, Shared};
use crate::upstream::Registry;

/// Why the proxy could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// A socket could not be bound.
    #[error("cannot bind {what} to {addr}: {source}")]
    Bind {
        /// `listener "web"` or `admin`.
        what: String,
        /// The address.
        addr: SocketAddr,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// Metrics could not be registered (a bug).
    #[error("cannot register metrics: {0}")]
    Metrics(#[from] prometheus::Error),
}

/// A running proxy.
#[derive(Debug)]
pub struct Switchyard {
    shared: Arc<Shared>,
    listeners: Vec<ListenerHandle>,
    admin: AdminHandle,
    /// Closes idle upstream connections past their idle timeout.
    pruner: tokio::task::JoinHandle<()>,
}

impl Switchyard {
    /// Binds every listener and the admin API and starts serving `loaded`.
    /// Must be called inside a tokio runtime.
    pub async fn start(loaded: Loaded) -> Result<Self, StartError> {
        let metrics = Arc::new(Metrics::new()?);
        let registry = Registry::new(Arc::clone(&metrics));
        let config = Arc::new(loaded.config);
        let (dataplane, _) = Dataplane::build(Arc::clone(&config), loaded.hash, 1, &registry);
        let shared = Arc::new(Shared {
            dataplane: ArcSwap::from_pointee(dataplane),
            registry,
            metrics,
            ready: AtomicBool::new(false),
        });
        // Bind everything before serving anything, so a port conflict
        // leaves nothing half-started.
        let mut bound = Vec::with_capacity(config.listeners.len());
        for l in &config.listeners {
            let socket = proxy::server::bind(l.listen).map_err(|source| StartError::Bind {
                what: format!("listener {:?}", l.name),
                addr: l.listen,
                source,
            })?;
            bound.push((l, socket));
        }
        let admin_addr = config.admin.listen;
        let admin_err = |source| StartError::Bind {
            what: "admin".into(),
            addr: admin_addr,
            source,
        };
        let admin_socket = proxy::server::bind(admin_addr).map_err(admin_err)?;
        let mut listeners = Vec::with_capacity(bound.len());
        for (l, socket) in bound {
            let handle =
                proxy::server::spawn(socket, Arc::clone(&l.name), l.listen, Arc::clone(&shared))
                    .map_err(|source| StartError::Bind {
                        what: format!("listener {:?}", l.name),
                        addr: l.listen,
                        source,
                    })?;
            tracing::info!(listener = %handle.name, addr = %handle.addr, "Listening.");
            listeners.push(handle);
        }
        let admin = admin::spawn(admin_socket, Arc::clone(&shared)).map_err(admin_err)?;
        let pruner = {
            let shared = Arc::clone(&shared);
            tokio::spawn(async move {
                let mut tick = tokio::time::interval(Duration::from_secs(1));
                for n in 0u64.. {
                    tick.tick().await;
                    upstream::tick_clock();
                    if n % 5 == 0 {
                        shared.registry.prune_idle();
                    }
                }
            })
        };
        tracing::info!(addr = %admin.addr, "Admin API listening.");
        shared.ready.store(true, Ordering::Release);
        tracing::info!(summary = %config.summary(), generation = 1, "Switchyard started.");
        Ok(Self {
            shared,
            listeners,
            admin,
            pruner,
        })
    }

    /// Bound address of the listener called `name`.
    pub fn listener_addr(&self, name: &str) -> Option<SocketAddr> {
        self.listeners
            .iter()
            .find(|l| &*l.name == name)
            .map(|l| l.addr)
    }

    /// Bound address of the admin API.
    pub fn admin_addr(&self) -> SocketAddr {
        self.admin.addr
    }

    /// State shared with every listener.
    pub fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }

    /// Stops accepting, lets in-flight requests finish within the
    /// configured `shutdown_timeout`, then stops. Returns whether every
    /// connection finished in time.
    pub async fn shutdown(self) -> bool {
        let timeout = self.shared.dataplane.load().config.runtime.shutdown_timeout;
        self.shutdown_within(timeout).await
    }

    /// Like [`Switchyard::shutdown`] with an explicit grace period.
    pub async fn shutdown_within(self, timeout: Duration) -> bool {
        self.shared.ready.store(false, Ordering::Release);
        for l in &self.listeners {
            l.stop_accepting();
        }
        tracing::info!(timeout = ?timeout, "Shutting down: draining connections.");
        let drains = self.listeners.into_iter().map(|l| l.shutdown(timeout));
        let all = futures_join_all(drains).await;
        self.admin.shutdown().await;
        self.pruner.abort();
        all.into_iter().all(|ok| ok)
    }
}

/// Awaits all futures concurrently (a tiny `join_all` without a dependency).
async fn futures_join_all<F: std::future::Future + Send + 'static>(
    futs: impl Iterator<Item = F>,
) -> Vec<F::Output>
where
    F::Output: Send + 'static,
{
    let handles: Vec<_> = futs.map(tokio::spawn).collect();
    let mut out = Vec::with_capacity(handles.len());
    for h in handles {
        if let Ok(v) = h.await {
            out.push(v);
        }
    }
    out
}
