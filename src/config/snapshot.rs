//! The validated, immutable config: real types, no serde, no "maybe" values.
//!
//! Owns: what a valid config means. Built only by `validate`; read by the
//! proxy through an `Arc`. Must not: hold runtime state (connections,
//! counters), which lives in `upstream::Registry` and survives reloads.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use http::uri::{Authority, Scheme};

use super::access_log::AccessLog;
use super::error::ConfigIssue;
use super::plugins::{Plugin, PluginId};
use super::resilience::{EndpointCheck, HealthCheck, OutlierDetection, Scoring, WhenNoneHealthy};
use super::tls::{ListenerTls, PoolTls};
use crate::routing::RouteTable;

/// A validated config. Its `Debug` shows `source` redacted (as `GET
/// /config` does) and plugin configs as their length only.
pub struct Config {
    /// Process-level settings.
    pub runtime: Runtime,
    /// Admin listener settings.
    pub admin: Admin,
    /// Traffic listeners in file order.
    pub listeners: Vec<Listener>,
    /// The compiled route table.
    pub routes: RouteTable,
    /// Pools in file order; `PoolId` indexes this.
    pub pools: Vec<Pool>,
    /// WebAssembly plugins in file order; `PluginId` indexes this.
    pub plugins: Vec<Plugin>,
    /// How config changes are picked up.
    pub reload: Reload,
    /// Per-request access log lines; `None` writes none.
    pub access_log: Option<AccessLog>,
    /// Things that are legal but probably wrong (shadowed routes, ...).
    pub warnings: Vec<ConfigIssue>,
    /// The config as written (after defaults of serde), for `GET /config`
    /// and for diffing reloads. Not redacted: redact before showing.
    pub source: serde_json::Value,
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("runtime", &self.runtime)
            .field("admin", &self.admin)
            .field("listeners", &self.listeners)
            .field("routes", &self.routes)
            .field("pools", &self.pools)
            .field("plugins", &self.plugins)
            .field("reload", &self.reload)
            .field("access_log", &self.access_log)
            .field("warnings", &self.warnings)
            .field("source", &super::redact::redact(&self.source))
            .finish()
    }
}

/// `reload:`
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reload {
    /// Watch the config file's directory.
    pub watch: bool,
    /// Quiet time after the last file event.
    pub debounce: Duration,
    /// Fallback polling period; zero means no polling.
    pub poll_interval: Duration,
}

/// `runtime:`
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Runtime {
    /// Tokio worker threads.
    pub worker_threads: usize,
    /// Grace period for in-flight requests at shutdown.
    pub shutdown_timeout: Duration,
}

/// `admin:`
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Admin {
    /// Bind address.
    pub listen: SocketAddr,
    /// The token that `GET /config`, `POST /reload` and the admin
    /// extensions' controls require; `None` leaves them open.
    pub token: Option<super::secret::AdminToken>,
}

/// `listeners[]`
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listener {
    /// Unique name.
    pub name: Arc<str>,
    /// Bind address.
    pub listen: SocketAddr,
    /// Downstream TLS; `None` serves plain HTTP (and h2c).
    pub tls: Option<ListenerTls>,
    /// Request-head limits.
    pub limits: super::limits::ListenerLimits,
}

/// Index of a pool in `Config::pools`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PoolId(pub usize);

/// The balancing strategy of a pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BalancerKind {
    /// nginx smooth weighted round robin.
    WeightedRoundRobin,
    /// Rotation ignoring weights.
    RoundRobin,
    /// Weighted random.
    Random,
    /// Power of two choices over in-flight requests.
    LeastRequest,
}

impl BalancerKind {
    /// The config spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::WeightedRoundRobin => "weighted_round_robin",
            Self::RoundRobin => "round_robin",
            Self::Random => "random",
            Self::LeastRequest => "least_request",
        }
    }
}

/// `pools[].protocol`: the HTTP version spoken to a pool's endpoints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Protocol {
    /// HTTP/1.1 on a keep-alive pool of connections per endpoint.
    Http1,
    /// HTTP/2 on one multiplexed connection per endpoint: ALPN `h2` over
    /// TLS, prior knowledge (h2c) in cleartext.
    Http2,
}

impl Protocol {
    /// The config spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Http1 => "http1",
            Self::Http2 => "http2",
        }
    }
}

/// `pools[]`
#[derive(Debug, Clone)]
pub struct Pool {
    /// Unique name.
    pub name: Arc<str>,
    /// Strategy.
    pub balancer: BalancerKind,
    /// TCP connect timeout.
    pub connect_timeout: Duration,
    /// Idle upstream connection lifetime.
    pub idle_timeout: Duration,
    /// The HTTP version spoken to the endpoints.
    pub protocol: Protocol,
    /// How `https://` endpoints are connected to (system roots, no client
    /// certificate, SNI from the URL when the file says nothing).
    pub tls: PoolTls,
    /// What an endpoint may send back.
    pub limits: super::PoolLimits,
    /// Endpoints in file order.
    pub endpoints: Vec<Endpoint>,
    /// Active health checks, if configured.
    pub health_check: Option<HealthCheck>,
    /// Passive outlier detection.
    pub outlier: OutlierDetection,
    /// What to do when no endpoint is routable.
    pub when_none_healthy: WhenNoneHealthy,
    /// Scoring, if configured.
    pub scoring: Option<Scoring>,
    /// Plugins run in this order after one of the pool's endpoints is
    /// picked, on every attempt, before the endpoint's own.
    pub plugins: Vec<PluginId>,
    /// `max_concurrent_requests`, if set.
    pub max_concurrent: Option<usize>,
}

/// `pools[].endpoints[]`
#[derive(Debug, Clone, PartialEq)]
pub struct Endpoint {
    /// Name, unique in the pool.
    pub name: Arc<str>,
    /// Where requests go.
    pub url: EndpointUrl,
    /// Configured weight; 0 means out of rotation.
    pub weight: u32,
    /// Price of one request.
    pub cost: f64,
    /// Per-endpoint health check overrides.
    pub check: EndpointCheck,
    /// Plugins run in this order after the pool's, when this endpoint is
    /// picked.
    pub plugins: Vec<PluginId>,
}

/// A parsed endpoint URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointUrl {
    /// `http` or `https`.
    pub scheme: Scheme,
    /// `host:port`.
    pub authority: Authority,
    /// Path prepended to every forwarded path; empty for none.
    pub base_path: String,
    /// The URL as written, for display and identity.
    pub original: String,
}

impl EndpointUrl {
    /// Whether requests go over TLS (`https://`).
    pub fn is_tls(&self) -> bool {
        self.scheme == Scheme::HTTPS
    }

    /// The host without IPv6 brackets: the name TLS sends as SNI and checks
    /// the certificate against.
    pub fn host(&self) -> &str {
        let host = self.authority.host();
        host.strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .unwrap_or(host)
    }

    /// The port, or the scheme's default (80, or 443 for `https`).
    pub fn port(&self) -> u16 {
        self.authority
            .port_u16()
            .unwrap_or(if self.is_tls() { 443 } else { 80 })
    }

    /// `host:port` to dial, with the default port filled in and IPv6
    /// addresses in brackets.
    pub fn dial_address(&self, port: u16) -> String {
        let host = self.host();
        if host.contains(':') {
            format!("[{host}]:{port}")
        } else {
            format!("{host}:{port}")
        }
    }
}

impl Config {
    /// Number of endpoints over all pools.
    pub fn endpoint_count(&self) -> usize {
        self.pools.iter().map(|p| p.endpoints.len()).sum()
    }

    /// The one-line summary `check` prints.
    pub fn summary(&self) -> String {
        fn plural(n: usize, word: &str) -> String {
            format!("{n} {word}{}", if n == 1 { "" } else { "s" })
        }
        let mut s = format!(
            "{}, {}, {}, {}",
            plural(self.listeners.len(), "listener"),
            plural(self.routes.len(), "route"),
            plural(self.pools.len(), "pool"),
            plural(self.endpoint_count(), "endpoint"),
        );
        if !self.plugins.is_empty() {
            s.push_str(", ");
            s.push_str(&plural(self.plugins.len(), "plugin"));
        }
        s
    }
}
