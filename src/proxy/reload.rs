//! Applying a new config to a running proxy, without losing a request.
//!
//! One entry point for every trigger (file watch, poll, SIGHUP, `POST
//! /reload`): read, validate and build everything off the request path, then
//! swap one `ArcSwap`. Any problem keeps the running generation untouched.
//! Listeners: an unchanged one keeps its socket; a new one is bound before
//! the swap (so a bind failure fails the reload); a removed one stops
//! accepting and drains in the background; a renamed one (same address)
//! hands its socket over; one whose `tls` changed keeps its socket too (new
//! connections read their TLS config from the swapped `Dataplane`).
//! Endpoint state carries over through the registry. The access log is kept
//! when its settings did not change; a changed one is opened before the
//! swap (a file that cannot be opened fails the reload), and the old one
//! writes the lines of the requests still in flight, then stops.

use std::path::PathBuf;
use std::sync::Arc;

use tokio::sync::Mutex;

use super::changes::{diff, fmt_diff, remove_stale_route_series, Changes};
use super::dataplane::{
    access_log_changed, access_logger, files_hash, load_plugins, Dataplane, Shared,
};
use super::reload_listeners::{keeps, plan_listeners, same_place};
use super::reload_report::{unchanged, LastReload, LastReloadCell};
pub use super::reload_report::{ReloadReport, Trigger};
use super::server::{self, ListenerHandle};
use crate::config::{self, Config, ConfigIssue};

#[derive(Debug, Default)]
struct State {
    /// Content that failed last time: file events for the same bytes are
    /// not retried (explicit triggers are).
    last_failed_hash: Option<String>,
}

/// The running proxy's control plane.
#[derive(Debug)]
pub struct Control {
    /// Shared state.
    pub shared: Arc<Shared>,
    /// The config file, when the proxy was started from one.
    pub path: Option<PathBuf>,
    listeners: Mutex<Vec<ListenerHandle>>,
    /// Bound addresses by listener name, readable without waiting on a reload.
    addrs: std::sync::RwLock<Vec<(Arc<str>, std::net::SocketAddr)>>,
    state: Mutex<State>,
    /// The last verdict, for `GET /status`.
    last: LastReloadCell,
    /// Signalled after every applied config, so the trigger loop picks up
    /// new `reload:` settings whichever trigger applied them.
    pub applied: tokio::sync::Notify,
}

impl Control {
    /// Wraps running listeners.
    pub fn new(shared: Arc<Shared>, path: Option<PathBuf>, listeners: Vec<ListenerHandle>) -> Self {
        let addrs = listeners
            .iter()
            .map(|l| (Arc::clone(&l.name), l.addr))
            .collect();
        Self {
            shared,
            path,
            listeners: Mutex::new(listeners),
            addrs: std::sync::RwLock::new(addrs),
            state: Mutex::new(State::default()),
            last: LastReloadCell::default(),
            applied: tokio::sync::Notify::new(),
        }
    }

    /// Bound address of the listener called `name`.
    pub fn listener_addr(&self, name: &str) -> Option<std::net::SocketAddr> {
        let addrs = self
            .addrs
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        addrs.iter().find(|(n, _)| &**n == name).map(|(_, a)| *a)
    }

    /// The last reload attempt that reached a verdict (`success` or
    /// `failure`); `None` until one has.
    pub fn last_reload(&self) -> Option<LastReload> {
        self.last.get()
    }

    /// Takes every listener (for shutdown).
    pub async fn take_listeners(&self) -> Vec<ListenerHandle> {
        std::mem::take(&mut *self.listeners.lock().await)
    }

    /// Reads the config file and applies it if its content changed.
    pub async fn reload_from_file(&self, trigger: Trigger) -> ReloadReport {
        let mut state = self.state.lock().await;
        let current = self.shared.dataplane.load_full();
        let Some(path) = &self.path else {
            return self.failure(
                &mut state,
                trigger,
                None,
                vec!["no config file: the proxy was started from inline config".into()],
            );
        };
        let text = match std::fs::read(path) {
            Ok(t) => t,
            Err(e) => {
                let msg = format!("cannot read config file {}: {e}", path.display());
                return self.failure(&mut state, trigger, None, vec![msg]);
            }
        };
        let text_hash = config::content_hash(&text);
        // Same text: the plugin and TLS files it names may still have
        // changed.
        let hash = if text_hash == current.text_hash {
            files_hash(&text_hash, &current.config)
        } else {
            text_hash.clone()
        };
        // The admin token is read from its file or variable, not hashed
        // (the hash is shown on open endpoints): a rotated token file is a
        // change of its own.
        let token = current.config.admin.token.as_ref().filter(|t| t.changed());
        if hash == current.hash && token.is_none() {
            state.last_failed_hash = None;
            return unchanged(trigger, &current, hash);
        }
        // What a failure is remembered by: the hash, plus (kept in memory
        // only) what the token source reads now, so that fixing a broken
        // token file is noticed by the next event or poll.
        let attempt = match token {
            Some(t) => {
                let now = t
                    .source
                    .read()
                    .map_or_else(|e| e, |s| s.expose().to_owned());
                format!("{hash} {}", config::content_hash(now.as_bytes()))
            }
            None => hash.clone(),
        };
        if trigger.is_background() && state.last_failed_hash.as_deref() == Some(&attempt) {
            return unchanged(trigger, &current, hash);
        }
        let parsed = String::from_utf8(text)
            .map_err(|_| vec!["config file is not UTF-8".to_string()])
            .and_then(|t| {
                config::load_str_in(&t, path.parent())
                    .map_err(|e| e.issues().iter().map(ToString::to_string).collect())
            });
        match parsed {
            Ok(config) => {
                self.apply_locked(&mut state, config, text_hash, trigger)
                    .await
            }
            Err(errors) => {
                // A background read may have caught a write half-way (a
                // poll during an in-place write). If the bytes are still
                // moving, this is not a verdict: the next event or poll
                // will read the finished file.
                if trigger.is_background() {
                    let settle = current
                        .config
                        .reload
                        .debounce
                        .max(std::time::Duration::from_millis(50));
                    tokio::time::sleep(settle).await;
                    let now = std::fs::read(path).map(|t| config::content_hash(&t)).ok();
                    // The text's own hash: `hash` also covers the files
                    // it names, which never equals a hash of the text alone.
                    if now.as_deref() != Some(text_hash.as_str()) {
                        tracing::debug!(trigger = ?trigger, "Config file still changing; not judging it yet.");
                        return unchanged(trigger, &current, hash);
                    }
                }
                let report = self.failure(&mut state, trigger, Some(hash), errors);
                state.last_failed_hash = Some(attempt);
                report
            }
        }
    }

    /// Applies an already validated config (used by tests and embedders);
    /// `hash` is its text's content hash.
    pub async fn apply(&self, config: Config, hash: String) -> ReloadReport {
        let mut state = self.state.lock().await;
        self.apply_locked(&mut state, config, hash, Trigger::Api)
            .await
    }

    async fn apply_locked(
        &self,
        state: &mut State,
        config: Config,
        text_hash: String,
        trigger: Trigger,
    ) -> ReloadReport {
        let current = self.shared.dataplane.load_full();
        let file_hash = files_hash(&text_hash, &config);
        let restart = restart_only_changes(&current.config, &config);
        if !restart.is_empty() {
            let errors = restart.iter().map(ToString::to_string).collect();
            return self.failure(state, trigger, Some(file_hash), errors);
        }
        // Plugins compile off the async workers; a plugin that fails to
        // load or configure fails the reload.
        let config = Arc::new(config);
        let loaded = {
            let (shared, config, previous) = (
                Arc::clone(&self.shared),
                Arc::clone(&config),
                Arc::clone(&current.plugins),
            );
            tokio::task::spawn_blocking(move || load_plugins(&shared, &config, Some(&previous)))
                .await
                .unwrap_or_else(|e| Err(vec![format!("plugin loading stopped: {e}")]))
        };
        let plugins = match loaded {
            Ok(p) => Arc::new(p),
            Err(errors) => return self.failure(state, trigger, Some(file_hash), errors),
        };
        // Certificates load before the swap too: a broken pair fails the
        // reload and the running one keeps serving.
        let tls = match crate::tls::TlsSet::load(&config, Some(&current.tls)) {
            Ok(t) => Arc::new(t),
            Err(errors) => return self.failure(state, trigger, Some(file_hash), errors),
        };
        let hash = tls.combined_hash(&plugins.combined_hash(&text_hash));
        // So does an access log file that cannot be opened.
        let opened = access_logger(&self.shared.metrics, current.access_log.as_ref(), &config);
        let access_log = match opened {
            Ok(l) => l,
            Err(e) => return self.failure(state, trigger, Some(hash), vec![e.to_string()]),
        };
        let mut listeners = self.listeners.lock().await;
        let mut bound = match plan_listeners(&listeners, &config) {
            Ok(p) => p,
            Err(errors) => return self.failure(state, trigger, Some(hash), errors),
        };
        let generation = current.generation + 1;
        let dataplane = Dataplane::build(
            Arc::clone(&config),
            (text_hash, hash.clone()),
            generation,
            &self.shared.registry,
            (Arc::clone(&plugins), Arc::clone(&tls), access_log.clone()),
        );
        let changes = diff(&current.config, &config, (&current.tls, &tls));
        self.shared.dataplane.store(Arc::new(dataplane));
        self.shared.metrics.tls.export_expiry(&tls);
        // Swapped: start new listeners, retire removed ones.
        let timeout = config.runtime.shutdown_timeout;
        let mut next = Vec::with_capacity(config.listeners.len());
        let mut old: Vec<ListenerHandle> = std::mem::take(&mut *listeners);
        for l in &config.listeners {
            if let Some(i) = old
                .iter()
                .position(|h| h.name == l.name && keeps(h, l.listen))
            {
                next.push(old.swap_remove(i));
                continue;
            }
            let socket = match bound.remove(&l.name) {
                Some(s) => s,
                None => {
                    // Hand-over: a removed listener had this address.
                    let Some(i) = old.iter().position(|h| {
                        same_place(h, l.listen)
                            && !config
                                .listeners
                                .iter()
                                .any(|n| n.name == h.name && keeps(h, n.listen))
                    }) else {
                        continue;
                    };
                    let (sock, drain) = old.swap_remove(i).take_socket().await;
                    tokio::spawn(async move { drain.drain(timeout).await });
                    match sock {
                        Some(s) => s,
                        None => continue,
                    }
                }
            };
            match server::spawn(
                socket,
                Arc::clone(&l.name),
                l.listen,
                Arc::clone(&self.shared),
            ) {
                Ok(h) => {
                    tracing::info!(listener = %h.name, addr = %h.addr, "Listening.");
                    next.push(h);
                }
                Err(e) => tracing::error!(listener = %l.name, error = %e, "Cannot start listener."),
            }
        }
        for gone in old {
            tracing::info!(listener = %gone.name, "Listener removed: draining its connections.");
            tokio::spawn(gone.shutdown(timeout));
        }
        *self
            .addrs
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) =
            next.iter().map(|l| (Arc::clone(&l.name), l.addr)).collect();
        *listeners = next;
        drop(listeners);
        remove_stale_route_series(&self.shared, &current.config, &config);
        for gone in current.plugins.iter() {
            if !plugins.iter().any(|p| p.name() == gone.name()) {
                self.shared.metrics.plugins.remove_plugin(gone.name());
            }
        }
        self.shared.metrics.reload_finished(true, generation);
        self.applied.notify_one();
        state.last_failed_hash = None;
        tracing::info!(
            generation,
            trigger = ?trigger,
            routes = %fmt_diff(&changes.routes),
            pools = %fmt_diff(&changes.pools),
            endpoints = %fmt_diff(&changes.endpoints),
            listeners = %fmt_diff(&changes.listeners),
            tls = %fmt_diff(&changes.tls),
            "Config reloaded."
        );
        access_log_changed(current.access_log.as_ref(), access_log.as_ref());
        admin_token_changed(&current.config, &config);
        for w in &config.warnings {
            tracing::warn!(warning = %w, "Config warning.");
        }
        let report = ReloadReport {
            result: "success",
            trigger,
            generation,
            hash: Some(hash),
            errors: Vec::new(),
            changes,
        };
        self.last.record(&report);
        report
    }

    fn failure(
        &self,
        state: &mut State,
        trigger: Trigger,
        hash: Option<String>,
        errors: Vec<String>,
    ) -> ReloadReport {
        let generation = self.shared.dataplane.load().generation;
        self.shared.metrics.reload_finished(false, generation);
        state.last_failed_hash.clone_from(&hash);
        tracing::error!(
            trigger = ?trigger,
            generation,
            errors = %errors.join("; "),
            "Config reload failed; the running config is unchanged."
        );
        let report = ReloadReport {
            result: "failure",
            trigger,
            generation,
            hash,
            errors,
            changes: Changes::default(),
        };
        self.last.record(&report);
        report
    }
}

/// Settings that only a restart can change.
fn restart_only_changes(old: &Config, new: &Config) -> Vec<ConfigIssue> {
    let mut out = Vec::new();
    let mut check = |path: &str, before: String, after: String| {
        if before != after {
            out.push(ConfigIssue {
                path: path.into(),
                message: format!("changed from {before} to {after}; this setting needs a restart, so nothing was applied"),
                location: None,
            });
        }
    };
    check(
        "runtime.worker_threads",
        old.runtime.worker_threads.to_string(),
        new.runtime.worker_threads.to_string(),
    );
    check(
        "admin.listen",
        old.admin.listen.to_string(),
        new.admin.listen.to_string(),
    );
    out
}

/// Logs (without the value) when a reload set, removed or rotated the
/// admin token.
fn admin_token_changed(old: &Config, new: &Config) {
    match (&old.admin.token, &new.admin.token) {
        (None, Some(_)) => {
            tracing::info!("Admin token set: protected admin endpoints need it now.")
        }
        (Some(_), None) => {
            tracing::warn!("Admin token removed: protected admin endpoints are open.")
        }
        (Some(a), Some(b)) if a != b => tracing::info!("Admin token changed."),
        _ => {}
    }
}
