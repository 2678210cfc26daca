//! Switchyard: a config-driven HTTP reverse proxy and load balancer.
//!
//! The crate is the whole proxy; `main.rs` only parses the command line.
//! Start with [`Switchyard::start`], which takes a loaded config, binds every
//! listener and the admin API, and returns a handle with the bound
//! addresses. See `docs/ARCHITECTURE.md` for the request path and the
//! lifecycle.

pub mod access_log;
pub mod admin;
pub mod config;
pub mod demo;
pub mod metrics;
pub mod plugin;
pub mod proxy;
pub mod routing;
pub mod tls;
pub mod upstream;
pub(crate) mod wire;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;

use crate::admin::AdminHandle;
use crate::config::Loaded;
use crate::metrics::Metrics;
use crate::proxy::{Control, Dataplane, Shared, Trigger};
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
    /// A plugin could not be loaded.
    #[error("cannot load plugins: {}", .0.join("; "))]
    Plugins(Vec<String>),
    /// A listener's TLS files could not be loaded.
    #[error("cannot load TLS certificates: {}", .0.join("; "))]
    Tls(Vec<String>),
    /// The access log's file could not be opened.
    #[error("{0}")]
    AccessLog(#[from] access_log::AccessLogError),
    /// Metrics could not be registered (a bug).
    #[error("cannot register metrics: {0}")]
    Metrics(#[from] prometheus::Error),
}

/// A running proxy.
#[derive(Debug)]
pub struct Switchyard {
    control: Arc<Control>,
    admin: AdminHandle,
    /// Background work (idle-connection pruning, reload triggers).
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Switchyard {
    /// Binds every listener and the admin API and starts serving `loaded`,
    /// which has no file behind it (no reload triggers; see
    /// [`Switchyard::start_with_file`]). Must be called inside a tokio runtime.
    pub async fn start(loaded: Loaded) -> Result<Self, StartError> {
        Self::start_with_file(loaded, None).await
    }

    /// Like [`Switchyard::start`]; with `path`, the file is watched (and
    /// polled, and re-read on SIGHUP and `POST /reload`) for changes.
    pub async fn start_with_file(
        loaded: Loaded,
        path: Option<PathBuf>,
    ) -> Result<Self, StartError> {
        let metrics = Arc::new(Metrics::new()?);
        let registry = Registry::new(Arc::clone(&metrics));
        let config = Arc::new(loaded.config);
        let plugin_host = std::sync::OnceLock::new();
        let plugins = if config.plugins.is_empty() {
            plugin::PluginSet::empty()
        } else {
            let host = plugin::Host::new().map_err(|e| {
                StartError::Plugins(vec![format!("cannot start the WebAssembly engine: {e:#}")])
            })?;
            let set = plugin::PluginSet::load(&host, &config.plugins, None, &metrics.plugins)
                .map_err(StartError::Plugins)?;
            plugin_host.get_or_init(|| host);
            set
        };
        let plugins = Arc::new(plugins);
        let tls = Arc::new(tls::TlsSet::load(&config, None).map_err(StartError::Tls)?);
        let hash = tls.combined_hash(&plugins.combined_hash(&loaded.hash));
        metrics.tls.export_expiry(&tls);
        let access_log = proxy::dataplane::access_logger(&metrics, None, &config)?;
        let dataplane = Dataplane::build(
            Arc::clone(&config),
            (loaded.hash, hash),
            1,
            &registry,
            (plugins, tls, access_log),
        );
        let shared = Arc::new(Shared {
            dataplane: ArcSwap::from_pointee(dataplane),
            registry,
            metrics,
            ready: AtomicBool::new(false),
            plugin_host,
            route_gates: Default::default(),
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
        let control = Arc::new(Control::new(Arc::clone(&shared), path.clone(), listeners));
        let admin = admin::spawn(admin_socket, Arc::clone(&control)).map_err(admin_err)?;
        tracing::info!(addr = %admin.addr, "Admin API listening.");
        let mut tasks = vec![tokio::spawn(maintain(Arc::clone(&shared)))];
        if path.is_some() {
            // The first watch is set up before `start` returns, so an edit
            // made right after start is never missed.
            let (tx, events) = tokio::sync::mpsc::unbounded_channel();
            let watch = initial_watch(&control, &tx);
            tasks.push(tokio::spawn(reload_triggers(
                Arc::clone(&control),
                (tx, events),
                watch,
            )));
        }
        shared.ready.store(true, Ordering::Release);
        tracing::info!(summary = %config.summary(), generation = 1, "Switchyard started.");
        Ok(Self {
            control,
            admin,
            tasks,
        })
    }

    /// Bound address of the listener called `name`.
    pub fn listener_addr(&self, name: &str) -> Option<SocketAddr> {
        self.control.listener_addr(name)
    }

    /// Bound address of the admin API.
    pub fn admin_addr(&self) -> SocketAddr {
        self.admin.addr
    }

    /// Plugs extra admin routes in (the demo's vendor controls); `false`
    /// if an extension is already plugged in. Without one, the admin
    /// listener serves only its own paths.
    pub fn extend_admin(&self, extension: Arc<dyn admin::Extension>) -> bool {
        self.admin.extend(extension)
    }

    /// State shared with every listener.
    pub fn shared(&self) -> &Arc<Shared> {
        &self.control.shared
    }

    /// The control plane (reloads).
    pub fn control(&self) -> &Arc<Control> {
        &self.control
    }

    /// Stops accepting, lets in-flight requests finish within the
    /// configured `shutdown_timeout`, then stops. Returns whether every
    /// connection finished in time.
    pub async fn shutdown(self) -> bool {
        let timeout = self
            .shared()
            .dataplane
            .load()
            .config
            .runtime
            .shutdown_timeout;
        self.shutdown_within(timeout).await
    }

    /// Like [`Switchyard::shutdown`] with an explicit grace period.
    pub async fn shutdown_within(self, timeout: Duration) -> bool {
        for t in &self.tasks {
            t.abort();
        }
        self.shared().registry.retire_all();
        self.shared().ready.store(false, Ordering::Release);
        let listeners = self.control.take_listeners().await;
        for l in &listeners {
            l.stop_accepting();
        }
        tracing::info!(timeout = ?timeout, "Shutting down: draining connections.");
        let all = futures_join_all(listeners.into_iter().map(|l| l.shutdown(timeout))).await;
        self.admin.shutdown().await;
        // Every request is done: write out the access log's last lines.
        let access_log = self.control.shared.dataplane.load().access_log.clone();
        if let Some(log) = access_log {
            let flushed = tokio::task::spawn_blocking(move || log.close(ACCESS_LOG_CLOSE)).await;
            if !matches!(flushed, Ok(true)) {
                tracing::warn!("The access log's last lines were not all written in time.");
            }
        }
        all.into_iter().all(|ok| ok)
    }
}

/// How long shutdown waits for the access log's last lines to be written.
const ACCESS_LOG_CLOSE: Duration = Duration::from_secs(5);

/// Once a second: advance the coarse clock; every 5 s: prune idle upstream
/// connections.
async fn maintain(shared: Arc<Shared>) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    for n in 0u64.. {
        tick.tick().await;
        upstream::tick_clock();
        if n % 5 == 0 {
            shared.registry.prune_idle();
        }
    }
}

/// Turns file events (debounced), polls and SIGHUP into reloads. Reload
/// settings are re-read after every reload, so they are reloadable too.
async fn reload_triggers(
    control: Arc<Control>,
    channel: (
        tokio::sync::mpsc::UnboundedSender<()>,
        tokio::sync::mpsc::UnboundedReceiver<()>,
    ),
    mut watch: Option<config::watch::DirWatch>,
) {
    let Some(path) = control.path.clone() else {
        return;
    };
    let (tx, mut events) = channel;
    #[cfg(unix)]
    let mut hup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()).ok();
    loop {
        let settings = control.shared.dataplane.load().config.reload.clone();
        let file_dirs = file_dirs(&control, &path);
        let own = own_files(&control);
        if watch
            .as_ref()
            .is_some_and(|w: &config::watch::DirWatch| w.extra != file_dirs || w.ignore != own)
        {
            watch = None;
        }
        if settings.watch && watch.is_none() {
            match config::watch::watch_dirs(&path, &file_dirs, &own, tx.clone()) {
                Ok(w) => {
                    tracing::debug!(dir = %w.dir.display(), "Watching the config directory.");
                    watch = Some(w);
                }
                Err(e) => {
                    tracing::warn!(error = %e, "Cannot watch the config file; relying on polling.")
                }
            }
        } else if !settings.watch && watch.is_some() {
            watch = None;
            // Events the watcher queued before it was dropped must not
            // trigger a reload once watching is off.
            while events.try_recv().is_ok() {}
        }
        let poll = settings.poll_interval;
        #[cfg(unix)]
        let hangup = async {
            match hup.as_mut() {
                Some(s) => s.recv().await,
                None => std::future::pending().await,
            }
        };
        #[cfg(not(unix))]
        let hangup = std::future::pending::<Option<()>>();
        let trigger = tokio::select! {
            Some(()) = events.recv(), if watch.is_some() => {
                // Debounce: wait for a quiet spell, absorbing the burst, but
                // never longer than four quiet spells in all, so a directory
                // that never goes quiet cannot hold reloads off.
                let now = tokio::time::Instant::now();
                let deadline = now
                    .checked_add(settings.debounce.saturating_mul(4))
                    .unwrap_or(now + Duration::from_secs(86_400));
                loop {
                    tokio::select! {
                        Some(()) = events.recv() => continue,
                        () = tokio::time::sleep(settings.debounce) => break,
                        () = tokio::time::sleep_until(deadline) => break,
                    }
                }
                Trigger::File
            }
            () = tokio::time::sleep(poll), if !poll.is_zero() => Trigger::Poll,
            Some(()) = hangup => Trigger::Signal,
            // Another trigger applied a config: re-read the reload settings.
            () = control.applied.notified() => continue,
        };
        control.reload_from_file(trigger).await;
    }
}

/// The directories holding the files the running config names (plugins,
/// certificates, keys, client CAs, the admin token), other than the config
/// file's own: a file that changes is a config change.
fn file_dirs(control: &Control, path: &std::path::Path) -> Vec<PathBuf> {
    let dp = control.shared.dataplane.load();
    let config_dir = config::watch::parent_dir(path);
    let mut dirs: Vec<PathBuf> = Vec::new();
    let plugin_files = dp.config.plugins.iter().map(|p| p.file.clone());
    let token_file = dp.config.admin.token.as_ref();
    let token_file = token_file.and_then(|t| t.source.file().map(std::path::Path::to_path_buf));
    for f in plugin_files.chain(tls::files(&dp.config)).chain(token_file) {
        let d = config::watch::parent_dir(&f);
        if d != config_dir && !dirs.contains(&d) {
            dirs.push(d);
        }
    }
    dirs
}

/// Files the proxy itself writes (the access log), whose events must not
/// wake the config watcher.
fn own_files(control: &Control) -> Vec<PathBuf> {
    match &control.shared.dataplane.load().config.access_log {
        Some(config::AccessLog {
            output: config::AccessLogOutput::File(f),
            ..
        }) => vec![f.clone()],
        _ => Vec::new(),
    }
}

/// The watch the reload task starts with, when the config asks for one.
fn initial_watch(
    control: &Control,
    tx: &tokio::sync::mpsc::UnboundedSender<()>,
) -> Option<config::watch::DirWatch> {
    let path = control.path.as_ref()?;
    if !control.shared.dataplane.load().config.reload.watch {
        return None;
    }
    match config::watch::watch_dirs(
        path,
        &file_dirs(control, path),
        &own_files(control),
        tx.clone(),
    ) {
        Ok(w) => Some(w),
        Err(e) => {
            tracing::warn!(error = %e, "Cannot watch the config file; relying on polling.");
            None
        }
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
