//! One route's match conditions and header edits.

use http::header::{HeaderName, HeaderValue};
use http::{HeaderMap, Method};
use regex::Regex;

use super::RequestInfo;

/// A host condition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostPattern {
    /// Exact, lower-case.
    Exact(String),
    /// `*.example.com` stored as `.example.com`: matches any host with at
    /// least one more label in front.
    Suffix(String),
}

impl HostPattern {
    /// Whether `host` (already normalised) matches.
    pub fn matches(&self, host: &str) -> bool {
        match self {
            Self::Exact(h) => h == host,
            Self::Suffix(s) => host.len() > s.len() && host.ends_with(s.as_str()),
        }
    }
}

/// A path condition.
#[derive(Debug, Clone)]
pub enum PathMatch {
    /// No condition.
    Any,
    /// Exact path.
    Exact(String),
    /// Whole-segment prefix, stored without a trailing slash (`/` for root).
    Prefix(String),
    /// Regular expression over the path.
    Regex(Regex),
}

impl PathMatch {
    /// Whether `path` matches.
    pub fn matches(&self, path: &str) -> bool {
        match self {
            Self::Any => true,
            Self::Exact(p) => p == path,
            Self::Prefix(p) => prefix_matches(p, path),
            Self::Regex(r) => r.is_match(path),
        }
    }
}

/// Whole-segment prefix test: `/v1` matches `/v1`, `/v1/`, `/v1/x`, not `/v1x`.
pub(crate) fn prefix_matches(prefix: &str, path: &str) -> bool {
    if prefix == "/" {
        return true;
    }
    match path.strip_prefix(prefix) {
        Some(rest) => rest.is_empty() || rest.starts_with('/'),
        None => false,
    }
}

/// All conditions of a route; every one present must hold.
#[derive(Debug, Clone)]
pub struct RouteMatcher {
    /// Any of these hosts; empty means any host.
    pub hosts: Vec<HostPattern>,
    /// The path condition.
    pub path: PathMatch,
    /// Any of these methods; empty means any method.
    pub methods: Vec<Method>,
    /// All of these headers with exactly these values.
    pub headers: Vec<(HeaderName, HeaderValue)>,
}

impl RouteMatcher {
    /// The full check; the table's index only narrows candidates.
    pub fn matches(&self, req: &RequestInfo<'_>) -> bool {
        if !self.hosts.is_empty() {
            match req.host {
                Some(h) if self.hosts.iter().any(|p| p.matches(h)) => {}
                _ => return false,
            }
        }
        if !self.methods.is_empty() && !self.methods.contains(req.method) {
            return false;
        }
        if !self.path.matches(req.path) {
            return false;
        }
        self.headers
            .iter()
            .all(|(name, value)| req.headers.get_all(name).iter().any(|v| v == value))
    }
}

/// Header edits: remove, then set.
#[derive(Debug, Clone, Default)]
pub struct HeaderOps {
    /// Headers replaced or added.
    pub set: Vec<(HeaderName, HeaderValue)>,
    /// Headers removed.
    pub remove: Vec<HeaderName>,
}

impl HeaderOps {
    /// Whether there is nothing to do.
    pub fn is_empty(&self) -> bool {
        self.set.is_empty() && self.remove.is_empty()
    }

    /// Applies the edits to `headers`.
    pub fn apply(&self, headers: &mut HeaderMap) {
        for name in &self.remove {
            headers.remove(name);
        }
        for (name, value) in &self.set {
            headers.insert(name.clone(), value.clone());
        }
    }
}
