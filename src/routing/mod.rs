//! Request routing: the compiled route table and a pure matcher.
//!
//! Owns: what a route matches and in which order routes are tried (first
//! match in file order wins). Must not: do I/O or touch runtime state;
//! `match_request` is a pure function of the table and the request parts.

mod matcher;
mod path;
mod shadow;
mod table;

pub use matcher::{HeaderOps, HostPattern, PathMatch, RouteMatcher};
pub use path::{normalize_path, PathError};
pub use shadow::{covers, shadowed};
pub use table::RouteTable;

use std::sync::Arc;
use std::time::Duration;

use http::{HeaderMap, Method};

use crate::config::{PluginId, PoolId};

/// Index of a route in its table (file order).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RouteId(pub usize);

/// One compiled route.
#[derive(Debug)]
pub struct Route {
    /// Unique name (metric label).
    pub name: Arc<str>,
    /// Match conditions.
    pub matcher: RouteMatcher,
    /// The pool that serves it.
    pub pool: PoolId,
    /// Prefix removed from the path before forwarding (no trailing slash).
    pub strip_prefix: Option<String>,
    /// Edits to the upstream request's headers.
    pub request_headers: HeaderOps,
    /// Edits to the client response's headers.
    pub response_headers: HeaderOps,
    /// Time allowed until upstream response headers, retries included.
    pub timeout: Duration,
    /// Retry policy.
    pub retries: crate::config::Retries,
    /// `max_body`: the largest request body, if the route sets one.
    pub max_body: Option<u64>,
    /// `max_concurrent_requests`, if set.
    pub max_concurrent: Option<usize>,
    /// Plugins run in this order before the endpoint is picked (their
    /// response callbacks run last, after the pool's and endpoint's).
    pub plugins: Vec<PluginId>,
}

/// The parts of a request that routing looks at.
#[derive(Debug, Clone, Copy)]
pub struct RequestInfo<'a> {
    /// Lower-case host without port, if the request named one.
    pub host: Option<&'a str>,
    /// The path, without query.
    pub path: &'a str,
    /// The method.
    pub method: &'a Method,
    /// All request headers.
    pub headers: &'a HeaderMap,
}

/// Returns the first route, in file order, that matches `req`.
pub fn match_request(table: &RouteTable, req: &RequestInfo<'_>) -> Option<RouteId> {
    table.find(req)
}

/// Normalises a Host header or `:authority` for matching: strips the port
/// and a trailing dot, lower-cases. Returns `None` for an empty host.
pub fn normalize_host(raw: &str) -> Option<std::borrow::Cow<'_, str>> {
    let host = if let Some(rest) = raw.strip_prefix('[') {
        // IPv6 literal: keep the brackets' content.
        rest.split(']').next().unwrap_or(rest)
    } else {
        // Byte search: `str::rsplit_once` with a char pattern cost more
        // than the rest of the normalisation.
        memchr::memrchr(b':', raw.as_bytes()).map_or(raw, |i| &raw[..i])
    };
    let host = host.strip_suffix('.').unwrap_or(host);
    if host.is_empty() {
        return None;
    }
    if host.bytes().any(|b| b.is_ascii_uppercase()) {
        Some(std::borrow::Cow::Owned(host.to_ascii_lowercase()))
    } else {
        Some(std::borrow::Cow::Borrowed(host))
    }
}

#[cfg(test)]
mod tests;
