//! Raw config → validated `Config`, collecting every problem.
//!
//! Owns: the rules a config must obey and the wording of each error.
//! Pools are checked in `validate_pools`, routes in `validate_routes`,
//! health checks and outlier detection in `validate_resilience`, retries in
//! `validate_retries`, plugins in `validate_plugins`, listener TLS in
//! `validate_tls`, the access log in `validate_access_log`.

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use super::defaults;
use super::error::ConfigIssue;
use super::location::LazyLocations;
use super::raw::RawConfig;
use super::snapshot::{Config, Listener, Pool, Reload, Runtime};
use super::{
    validate_access_log, validate_admin, validate_plugins, validate_pools, validate_routes,
    validate_tls,
};

/// Collects issues with their locations.
pub(super) struct Issues<'a> {
    locations: &'a LazyLocations<'a>,
    pub(super) errors: Vec<ConfigIssue>,
    pub(super) warnings: Vec<ConfigIssue>,
}

impl<'a> Issues<'a> {
    pub(super) fn error(&mut self, path: impl Into<String>, message: impl Into<String>) {
        let path = path.into();
        let location = self.locations.find(&path);
        self.errors.push(ConfigIssue {
            path,
            message: message.into(),
            location,
        });
    }

    pub(super) fn warn(&mut self, path: impl Into<String>, message: impl Into<String>) {
        let path = path.into();
        let location = self.locations.find(&path);
        self.warnings.push(ConfigIssue {
            path,
            message: message.into(),
            location,
        });
    }

    /// Parses an optional duration, recording an error on failure.
    pub(super) fn duration(
        &mut self,
        path: &str,
        value: Option<&str>,
        default: Duration,
        allow_zero: bool,
    ) -> Duration {
        let Some(text) = value else { return default };
        match super::parse_duration(text) {
            Ok(d) if d.is_zero() && !allow_zero => {
                self.error(path, "must be greater than 0");
                default
            }
            Ok(d) => d,
            Err(e) => {
                self.error(path, e);
                default
            }
        }
    }
}

/// Validates `raw`; on failure returns every error found. Relative plugin
/// and certificate files are resolved against `base_dir` when given.
pub(super) fn validate(
    raw: RawConfig,
    locations: &LazyLocations<'_>,
    base_dir: Option<&Path>,
) -> Result<Config, Vec<ConfigIssue>> {
    let mut issues = Issues {
        locations,
        errors: Vec::new(),
        warnings: Vec::new(),
    };
    let runtime = runtime(&raw, &mut issues);
    let reload = Reload {
        watch: raw.reload.watch.unwrap_or(defaults::RELOAD_WATCH),
        debounce: issues.duration(
            "reload.debounce",
            raw.reload.debounce.as_deref(),
            defaults::RELOAD_DEBOUNCE,
            true,
        ),
        poll_interval: issues.duration(
            "reload.poll_interval",
            raw.reload.poll_interval.as_deref(),
            defaults::RELOAD_POLL_INTERVAL,
            true,
        ),
    };
    let admin = validate_admin::admin(&mut issues, &raw.admin, base_dir);
    let listeners = listeners(&raw, &mut issues, admin.listen, base_dir);
    let access_log =
        validate_access_log::access_log(&mut issues, raw.access_log.as_ref(), base_dir);
    let (plugins, plugin_index) = validate_plugins::plugins(&mut issues, &raw.plugins, base_dir);
    let pools: Vec<Pool> = raw
        .pools
        .iter()
        .enumerate()
        .map(|(i, p)| validate_pools::pool(&mut issues, i, p, &plugin_index, base_dir))
        .collect();
    let mut seen = HashMap::new();
    for (i, p) in raw.pools.iter().enumerate() {
        if let Some(first) = seen.insert(p.name.as_str(), i) {
            issues.error(
                format!("pools[{i}].name"),
                format!(
                    "duplicate pool name {:?} (first used by pools[{first}])",
                    p.name
                ),
            );
        }
    }
    let routes = validate_routes::routes(&raw.routes, &pools, &plugin_index, &mut issues);
    validate_plugins::warn_unused(&mut issues, &plugins, &routes, &pools);
    let used: HashSet<usize> = routes.routes().iter().map(|r| r.pool.0).collect();
    for (i, p) in pools.iter().enumerate() {
        if !used.contains(&i) {
            issues.warn(
                format!("pools[{i}]"),
                format!("pool {:?} is used by no route", p.name),
            );
        }
    }
    // Report in file order; problems without a position go last.
    let by_position = |i: &ConfigIssue| i.location.map_or((usize::MAX, 0), |l| (l.line, l.column));
    issues.errors.sort_by_key(by_position);
    issues.warnings.sort_by_key(by_position);
    if issues.errors.is_empty() {
        Ok(Config {
            runtime,
            admin,
            listeners,
            routes,
            pools,
            plugins,
            reload,
            access_log,
            warnings: issues.warnings,
            source: serde_json::to_value(&raw).unwrap_or_default(),
        })
    } else {
        Err(issues.errors)
    }
}

fn runtime(raw: &RawConfig, issues: &mut Issues<'_>) -> Runtime {
    let worker_threads = match raw.runtime.worker_threads {
        None => defaults::worker_threads(),
        Some(0) => {
            issues.error("runtime.worker_threads", "must be at least 1");
            1
        }
        Some(n) if n > 1024 => {
            issues.error(
                "runtime.worker_threads",
                format!("{n} is more than the limit of 1024"),
            );
            1
        }
        Some(n) => n,
    };
    let shutdown_timeout = issues.duration(
        "runtime.shutdown_timeout",
        raw.runtime.shutdown_timeout.as_deref(),
        defaults::SHUTDOWN_TIMEOUT,
        true,
    );
    Runtime {
        worker_threads,
        shutdown_timeout,
    }
}

pub(super) fn socket_addr(issues: &mut Issues<'_>, path: &str, text: &str) -> SocketAddr {
    match text.parse::<SocketAddr>() {
        Ok(a) => a,
        Err(_) => {
            issues.error(
                path,
                format!("invalid address {text:?}: expected IP:PORT such as 127.0.0.1:8080 or [::1]:8080"),
            );
            SocketAddr::from(([0, 0, 0, 0], 0))
        }
    }
}

/// Names appear in metric labels and logs: keep them printable and short.
pub(super) fn check_name(issues: &mut Issues<'_>, path: &str, name: &str) {
    let ok = !name.is_empty()
        && name.len() <= 128
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    if !ok {
        issues.error(
            path,
            format!("invalid name {name:?}: use 1 to 128 letters, digits, '-', '_' or '.'"),
        );
    }
}

fn listeners(
    raw: &RawConfig,
    issues: &mut Issues<'_>,
    admin: SocketAddr,
    base_dir: Option<&Path>,
) -> Vec<Listener> {
    if raw.listeners.is_empty() {
        issues.error("listeners", "at least one listener is required");
    }
    let mut names = HashMap::new();
    let mut addrs: Vec<(SocketAddr, usize)> = Vec::new();
    let mut out = Vec::new();
    for (i, l) in raw.listeners.iter().enumerate() {
        check_name(issues, &format!("listeners[{i}].name"), &l.name);
        if let Some(first) = names.insert(l.name.as_str(), i) {
            issues.error(
                format!("listeners[{i}].name"),
                format!(
                    "duplicate listener name {:?} (first used by listeners[{first}])",
                    l.name
                ),
            );
        }
        let path = format!("listeners[{i}].listen");
        let listen = socket_addr(issues, &path, &l.listen);
        if listen.port() != 0 {
            if let Some((other, first)) = addrs.iter().find(|(a, _)| overlaps(*a, listen)) {
                issues.error(&path, clash(listen, *other, &format!("listeners[{first}]")));
            }
            if overlaps(listen, admin) {
                issues.error(&path, clash(listen, admin, "admin.listen"));
            }
            addrs.push((listen, i));
        }
        let tls = l.tls.as_ref().map(|t| {
            validate_tls::listener_tls(issues, &format!("listeners[{i}].tls"), t, base_dir)
        });
        let limits = super::validate_limits::listener_limits(
            issues,
            &format!("listeners[{i}].limits"),
            l.limits.as_ref(),
        );
        out.push(Listener {
            name: Arc::from(l.name.as_str()),
            listen,
            tls,
            limits,
        });
    }
    out
}

fn clash(addr: SocketAddr, other: SocketAddr, owner: &str) -> String {
    if addr == other {
        format!("address {addr} is already used by {owner}")
    } else {
        format!("address {addr} overlaps {owner} ({other}): both cannot be bound")
    }
}

/// Whether binding both addresses would conflict: same port, and the same
/// IP or either one a wildcard of the same family.
fn overlaps(a: SocketAddr, b: SocketAddr) -> bool {
    a.port() == b.port()
        && a.is_ipv4() == b.is_ipv4()
        && (a.ip() == b.ip() || a.ip().is_unspecified() || b.ip().is_unspecified())
}
