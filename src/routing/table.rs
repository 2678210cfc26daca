//! The route table and its index.
//!
//! Routes are indexed by host (exact, wildcard suffix, any) and then by path
//! (exact, whole-segment prefix, other). A lookup gathers the few candidate
//! lists that can apply, each sorted by route id, and walks them merged in
//! ascending order, checking each candidate fully; the first that matches
//! wins. So the cost depends on the number of path segments and host labels,
//! not on the number of routes, while file order still decides.

use std::collections::HashMap;

use foldhash::fast::RandomState;

use super::matcher::{HostPattern, PathMatch};
use super::{RequestInfo, Route, RouteId};

/// The index's maps hash with foldhash, several times faster than std's
/// SipHash on short keys. Their keys come from the config only, so a
/// request cannot fill them with colliding keys; it can only look up.
type Map<V> = HashMap<String, V, RandomState>;

#[derive(Debug, Default)]
struct PathIndex {
    exact: Map<Vec<u32>>,
    prefix: Map<Vec<u32>>,
    other: Vec<u32>,
    /// The last id inserted: ids arrive in ascending order, so this is
    /// enough to keep a route with two hosts in one bucket from doubling.
    last: Option<u32>,
}

impl PathIndex {
    fn insert(&mut self, path: &PathMatch, id: u32) {
        if self.last == Some(id) {
            return;
        }
        self.last = Some(id);
        match path {
            PathMatch::Exact(p) => self.exact.entry(p.clone()).or_default().push(id),
            PathMatch::Prefix(p) => self.prefix.entry(p.clone()).or_default().push(id),
            PathMatch::Any | PathMatch::Regex(_) => self.other.push(id),
        }
    }

    fn collect<'a>(&'a self, path: &str, out: &mut Lists<'a>) {
        if !self.other.is_empty() {
            out.push(&self.other);
        }
        if let Some(ids) = self.exact.get(path) {
            out.push(ids);
        }
        if self.prefix.is_empty() {
            return;
        }
        if let Some(ids) = self.prefix.get("/") {
            out.push(ids);
        }
        for (i, b) in path.bytes().enumerate().skip(1) {
            if b == b'/' {
                if let Some(ids) = self.prefix.get(&path[..i]) {
                    out.push(ids);
                }
            }
        }
        if path.len() > 1 && !path.ends_with('/') {
            if let Some(ids) = self.prefix.get(path) {
                out.push(ids);
            }
        }
    }
}

/// Candidate lists for one lookup: on the stack for the usual handful,
/// so a lookup allocates nothing.
type Lists<'a> = smallvec::SmallVec<[&'a [u32]; 8]>;

/// The compiled routes in file order plus the lookup index.
#[derive(Debug, Default)]
pub struct RouteTable {
    routes: Vec<Route>,
    exact_hosts: Map<PathIndex>,
    suffix_hosts: Map<PathIndex>,
    any_host: PathIndex,
}

impl RouteTable {
    /// Builds the table; `routes` are in file order.
    pub fn new(routes: Vec<Route>) -> Self {
        let mut table = Self::default();
        for (i, route) in routes.iter().enumerate() {
            let id = u32::try_from(i).unwrap_or(u32::MAX);
            if route.matcher.hosts.is_empty() {
                table.any_host.insert(&route.matcher.path, id);
            }
            for host in &route.matcher.hosts {
                let bucket = match host {
                    HostPattern::Exact(h) => table.exact_hosts.entry(h.clone()).or_default(),
                    HostPattern::Suffix(s) => table.suffix_hosts.entry(s.clone()).or_default(),
                };
                bucket.insert(&route.matcher.path, id);
            }
        }
        table.routes = routes;
        table
    }

    /// Number of routes.
    pub fn len(&self) -> usize {
        self.routes.len()
    }

    /// Whether there are no routes.
    pub fn is_empty(&self) -> bool {
        self.routes.is_empty()
    }

    /// All routes in file order.
    pub fn routes(&self) -> &[Route] {
        &self.routes
    }

    /// The route with this id.
    pub fn get(&self, id: RouteId) -> Option<&Route> {
        self.routes.get(id.0)
    }

    pub(super) fn find(&self, req: &RequestInfo<'_>) -> Option<RouteId> {
        let mut lists = Lists::new();
        if let Some(host) = req.host {
            if let Some(idx) = self.exact_hosts.get(host) {
                idx.collect(req.path, &mut lists);
            }
            if !self.suffix_hosts.is_empty() {
                for (i, b) in host.bytes().enumerate().skip(1) {
                    if b == b'.' {
                        if let Some(idx) = self.suffix_hosts.get(&host[i..]) {
                            idx.collect(req.path, &mut lists);
                        }
                    }
                }
            }
        }
        self.any_host.collect(req.path, &mut lists);
        self.first_match(&mut lists, req)
    }

    /// Walks the sorted candidate lists merged in ascending order.
    fn first_match(&self, lists: &mut [&[u32]], req: &RequestInfo<'_>) -> Option<RouteId> {
        loop {
            let mut best: Option<(usize, u32)> = None;
            for (li, list) in lists.iter().enumerate() {
                if let Some(&head) = list.first() {
                    if best.is_none_or(|(_, b)| head < b) {
                        best = Some((li, head));
                    }
                }
            }
            let (_, id) = best?;
            // Advance every list whose head is this id (a route may sit in
            // several lists, e.g. two of its hosts matched).
            for list in lists.iter_mut() {
                if list.first() == Some(&id) {
                    *list = &list[1..];
                }
            }
            let route = &self.routes[id as usize];
            if route.matcher.matches(req) {
                return Some(RouteId(id as usize));
            }
        }
    }
}
