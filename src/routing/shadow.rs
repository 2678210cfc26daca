//! Finding routes that an earlier route fully shadows (never reached).
//!
//! Comparing every pair is quadratic (10,000 routes: 50 million checks). An
//! earlier route can only cover a later one if it has no host condition or
//! a host pattern covering the later route's first host, and if its path
//! condition is absent, or a whole-segment prefix of the later path, or the
//! same exact path or regex. So earlier routes are indexed by host key and
//! path key, and only those candidates get the full `covers` check.

use std::collections::HashMap;

use super::matcher::{prefix_matches, HostPattern, PathMatch, RouteMatcher};
use super::Route;

#[derive(Default)]
struct PathBuckets {
    any: Vec<usize>,
    exact: HashMap<String, Vec<usize>>,
    prefix: HashMap<String, Vec<usize>>,
    regex: HashMap<String, Vec<usize>>,
}

#[derive(Hash, PartialEq, Eq)]
enum HostKey {
    Any,
    Exact(String),
    Suffix(String),
}

/// For each shadowed route, `(later, earlier)`: `earlier` is the first
/// route that matches everything `later` matches.
pub fn shadowed(routes: &[Route]) -> Vec<(usize, usize)> {
    let mut index: HashMap<HostKey, PathBuckets> = HashMap::new();
    let mut out = Vec::new();
    let mut candidates = Vec::new();
    for (j, route) in routes.iter().enumerate() {
        let m = &route.matcher;
        candidates.clear();
        for key in host_keys_covering(m) {
            if let Some(b) = index.get(&key) {
                path_candidates(b, &m.path, &mut candidates);
            }
        }
        candidates.sort_unstable();
        if let Some(&i) = candidates.iter().find(|&&i| covers(&routes[i].matcher, m)) {
            out.push((j, i));
        }
        insert(&mut index, m, j);
    }
    out
}

fn insert(index: &mut HashMap<HostKey, PathBuckets>, m: &RouteMatcher, id: usize) {
    let keys: Vec<HostKey> = if m.hosts.is_empty() {
        vec![HostKey::Any]
    } else {
        m.hosts
            .iter()
            .map(|h| match h {
                HostPattern::Exact(e) => HostKey::Exact(e.clone()),
                HostPattern::Suffix(s) => HostKey::Suffix(s.clone()),
            })
            .collect()
    };
    for key in keys {
        let b = index.entry(key).or_default();
        match &m.path {
            PathMatch::Any => b.any.push(id),
            PathMatch::Exact(p) => b.exact.entry(p.clone()).or_default().push(id),
            PathMatch::Prefix(p) => b.prefix.entry(p.clone()).or_default().push(id),
            PathMatch::Regex(r) => b.regex.entry(r.as_str().to_string()).or_default().push(id),
        }
    }
}

/// Host buckets whose routes could cover every host `m` matches.
fn host_keys_covering(m: &RouteMatcher) -> Vec<HostKey> {
    let mut keys = vec![HostKey::Any];
    let Some(first) = m.hosts.first() else {
        // Matches any host: only a route without hosts can cover it.
        return keys;
    };
    let name = match first {
        HostPattern::Exact(e) => {
            keys.push(HostKey::Exact(e.clone()));
            e.as_str()
        }
        HostPattern::Suffix(s) => {
            keys.push(HostKey::Suffix(s.clone()));
            s.as_str()
        }
    };
    for (i, b) in name.bytes().enumerate().skip(1) {
        if b == b'.' {
            keys.push(HostKey::Suffix(name[i..].to_string()));
        }
    }
    keys
}

fn path_candidates(b: &PathBuckets, path: &PathMatch, out: &mut Vec<usize>) {
    out.extend(&b.any);
    let p = match path {
        PathMatch::Any => return,
        PathMatch::Regex(r) => {
            if let Some(ids) = b.regex.get(r.as_str()) {
                out.extend(ids);
            }
            return;
        }
        PathMatch::Exact(p) => {
            if let Some(ids) = b.exact.get(p) {
                out.extend(ids);
            }
            p
        }
        PathMatch::Prefix(p) => p,
    };
    // Every whole-segment prefix of the path, the root and the path itself.
    let mut prefixes = vec!["/"];
    for (i, c) in p.bytes().enumerate().skip(1) {
        if c == b'/' {
            prefixes.push(&p[..i]);
        }
    }
    prefixes.push(p.trim_end_matches('/'));
    for q in prefixes {
        if let Some(ids) = b.prefix.get(q) {
            out.extend(ids);
        }
    }
}

/// Whether every request `later` matches is also matched by `earlier`
/// (conservative: `false` when unsure).
pub fn covers(earlier: &RouteMatcher, later: &RouteMatcher) -> bool {
    let hosts = earlier.hosts.is_empty()
        || (!later.hosts.is_empty()
            && later.hosts.iter().all(|l| {
                earlier.hosts.iter().any(|e| match (e, l) {
                    (HostPattern::Exact(a), HostPattern::Exact(b)) => a == b,
                    (HostPattern::Suffix(_), HostPattern::Exact(b)) => e.matches(b),
                    (HostPattern::Suffix(a), HostPattern::Suffix(b)) => b.ends_with(a.as_str()),
                    (HostPattern::Exact(_), HostPattern::Suffix(_)) => false,
                })
            }));
    let path = match (&earlier.path, &later.path) {
        (PathMatch::Any, _) => true,
        (PathMatch::Prefix(p), PathMatch::Prefix(q)) => prefix_matches(p, q),
        (PathMatch::Prefix(p), PathMatch::Exact(e)) => prefix_matches(p, e),
        (PathMatch::Exact(a), PathMatch::Exact(b)) => a == b,
        (PathMatch::Regex(a), PathMatch::Regex(b)) => a.as_str() == b.as_str(),
        _ => false,
    };
    let methods = earlier.methods.is_empty()
        || (!later.methods.is_empty() && later.methods.iter().all(|m| earlier.methods.contains(m)));
    let headers = earlier.headers.iter().all(|h| later.headers.contains(h));
    hosts && path && methods && headers
}
