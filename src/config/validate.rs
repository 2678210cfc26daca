//! Raw config → validated `Config`, collecting every problem.
//!
//! Owns: the rules a config must obey and the wording of each error.
//! Routes are checked in `validate_routes`.

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use http::uri::{Scheme, Uri};

use super::defaults;
use super::error::ConfigIssue;
use super::location::LazyLocations;
use super::raw::{RawBalancer, RawConfig, RawEndpoint, RawPool, RawWhenNoneHealthy};
use super::resilience::{HealthCheck, WhenNoneHealthy};
use super::snapshot::{
    Admin, BalancerKind, Config, Endpoint, EndpointUrl, Listener, Pool, Reload, Runtime,
};
use super::{validate_resilience, validate_routes};

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

/// Validates `raw`; on failure returns every error found.
pub(super) fn validate(
    raw: RawConfig,
    locations: &LazyLocations<'_>,
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
    let admin_listen = raw
        .admin
        .listen
        .as_deref()
        .unwrap_or(defaults::ADMIN_LISTEN);
    let admin = Admin {
        listen: socket_addr(&mut issues, "admin.listen", admin_listen),
    };
    let listeners = listeners(&raw, &mut issues, admin.listen);
    let pools: Vec<Pool> = raw
        .pools
        .iter()
        .enumerate()
        .map(|(i, p)| pool(&mut issues, i, p))
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
    let routes = validate_routes::routes(&raw.routes, &pools, &mut issues);
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
            reload,
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

fn socket_addr(issues: &mut Issues<'_>, path: &str, text: &str) -> SocketAddr {
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

fn listeners(raw: &RawConfig, issues: &mut Issues<'_>, admin: SocketAddr) -> Vec<Listener> {
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
        out.push(Listener {
            name: Arc::from(l.name.as_str()),
            listen,
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

fn pool(issues: &mut Issues<'_>, i: usize, p: &RawPool) -> Pool {
    let base = format!("pools[{i}]");
    check_name(issues, &format!("{base}.name"), &p.name);
    let connect_timeout = issues.duration(
        &format!("{base}.connect_timeout"),
        p.connect_timeout.as_deref(),
        defaults::CONNECT_TIMEOUT,
        false,
    );
    let idle_timeout = issues.duration(
        &format!("{base}.idle_timeout"),
        p.idle_timeout.as_deref(),
        defaults::IDLE_TIMEOUT,
        true,
    );
    if p.endpoints.is_empty() {
        issues.error(
            format!("{base}.endpoints"),
            "a pool needs at least one endpoint",
        );
    }
    let health_check = validate_resilience::health_check(
        issues,
        &format!("{base}.health_check"),
        p.health_check.as_ref(),
    );
    let outlier = validate_resilience::outlier(
        issues,
        &format!("{base}.outlier_detection"),
        &p.outlier_detection,
    );
    let mut names = HashMap::new();
    let mut endpoints = Vec::new();
    for (j, e) in p.endpoints.iter().enumerate() {
        let path = format!("{base}.endpoints[{j}]");
        if let Some(first) = names.insert(e.name.as_str(), j) {
            issues.error(
                format!("{path}.name"),
                format!(
                    "duplicate endpoint name {:?} in pool {:?} (first used by endpoints[{first}])",
                    e.name, p.name
                ),
            );
        }
        endpoints.push(endpoint(issues, &path, e, health_check.as_ref()));
    }
    if !endpoints.is_empty() && endpoints.iter().all(|e| e.weight == 0) {
        issues.warn(
            format!("{base}.endpoints"),
            format!(
                "every endpoint of pool {:?} has weight 0, so it serves nothing",
                p.name
            ),
        );
    }
    Pool {
        name: Arc::from(p.name.as_str()),
        balancer: match p.balancer {
            RawBalancer::WeightedRoundRobin => BalancerKind::WeightedRoundRobin,
            RawBalancer::RoundRobin => BalancerKind::RoundRobin,
            RawBalancer::Random => BalancerKind::Random,
            RawBalancer::LeastRequest => BalancerKind::LeastRequest,
        },
        connect_timeout,
        idle_timeout,
        endpoints,
        health_check,
        outlier,
        when_none_healthy: match p.when_none_healthy {
            RawWhenNoneHealthy::Any => WhenNoneHealthy::Any,
            RawWhenNoneHealthy::Fail => WhenNoneHealthy::Fail,
        },
    }
}

fn endpoint(
    issues: &mut Issues<'_>,
    path: &str,
    e: &RawEndpoint,
    pool_check: Option<&HealthCheck>,
) -> Endpoint {
    check_name(issues, &format!("{path}.name"), &e.name);
    let weight = e.weight.unwrap_or(defaults::ENDPOINT_WEIGHT);
    if weight > defaults::MAX_WEIGHT {
        issues.error(
            format!("{path}.weight"),
            format!(
                "{weight} is more than the limit of {}",
                defaults::MAX_WEIGHT
            ),
        );
    }
    let cost = e.cost.unwrap_or(defaults::ENDPOINT_COST);
    if !cost.is_finite() || cost < 0.0 {
        issues.error(
            format!("{path}.cost"),
            format!("{cost} must be a finite number >= 0"),
        );
    }
    Endpoint {
        name: Arc::from(e.name.as_str()),
        url: endpoint_url(issues, &format!("{path}.url"), &e.url),
        weight: weight.min(defaults::MAX_WEIGHT),
        cost,
        check: validate_resilience::endpoint_check(
            issues,
            &format!("{path}.health_check"),
            e.health_check.as_ref(),
            pool_check,
        ),
    }
}

fn endpoint_url(issues: &mut Issues<'_>, path: &str, text: &str) -> EndpointUrl {
    let fallback = || EndpointUrl {
        scheme: Scheme::HTTP,
        authority: http::uri::Authority::from_static("invalid.invalid:80"),
        base_path: String::new(),
        original: text.to_string(),
    };
    let uri: Uri = match text.parse() {
        Ok(u) => u,
        Err(e) => {
            issues.error(path, format!("invalid URL {text:?}: {e}"));
            return fallback();
        }
    };
    let (Some(scheme), Some(authority)) = (uri.scheme(), uri.authority()) else {
        issues.error(
            path,
            format!("invalid URL {text:?}: expected http://HOST:PORT"),
        );
        return fallback();
    };
    if scheme != &Scheme::HTTP {
        issues.error(
            path,
            format!("unsupported scheme {scheme:?} in {text:?}: use http://"),
        );
        return fallback();
    }
    if authority.as_str().contains('@') {
        issues.error(path, format!("credentials in URL {text:?} are not allowed"));
        return fallback();
    }
    if text.contains('#') {
        issues.error(path, format!("URL {text:?} must not have a fragment"));
        return fallback();
    }
    if uri.query().is_some() {
        issues.error(path, format!("URL {text:?} must not have a query"));
        return fallback();
    }
    let base_path = uri.path().trim_end_matches('/').to_string();
    EndpointUrl {
        scheme: scheme.clone(),
        authority: authority.clone(),
        base_path,
        original: text.to_string(),
    }
}
