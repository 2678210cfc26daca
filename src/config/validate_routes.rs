//! Route validation: matchers, header edits, pool references, shadowing.

use std::collections::HashMap;
use std::sync::Arc;

use http::header::{HeaderName, HeaderValue};
use http::Method;
use regex::Regex;

use super::defaults;
use super::raw::{RawHeaderOps, RawMatch, RawRoute};
use super::snapshot::{Pool, PoolId};
use super::validate::{check_name, Issues};
use super::validate_plugins::PluginIndex;
use crate::routing::{HeaderOps, HostPattern, PathMatch, Route, RouteMatcher, RouteTable};

pub(super) fn routes(
    raw: &[RawRoute],
    pools: &[Pool],
    plugins: &PluginIndex<'_>,
    issues: &mut Issues<'_>,
) -> RouteTable {
    let pool_ids: HashMap<&str, usize> = pools
        .iter()
        .enumerate()
        .map(|(i, p)| (&*p.name, i))
        .collect();
    let mut names = HashMap::new();
    let mut out = Vec::with_capacity(raw.len());
    for (i, r) in raw.iter().enumerate() {
        let base = format!("routes[{i}]");
        check_name(issues, &format!("{base}.name"), &r.name);
        if let Some(first) = names.insert(r.name.as_str(), i) {
            issues.error(
                format!("{base}.name"),
                format!(
                    "duplicate route name {:?} (first used by routes[{first}])",
                    r.name
                ),
            );
        }
        let pool = match pool_ids.get(r.pool.as_str()) {
            Some(&id) => PoolId(id),
            None => {
                issues.error(format!("{base}.pool"), unknown_pool(&r.pool, pools));
                PoolId(0)
            }
        };
        let strip_prefix = r.strip_prefix.as_ref().and_then(|p| {
            if p.starts_with('/') {
                Some(p.trim_end_matches('/').to_string()).filter(|p| !p.is_empty())
            } else {
                issues.error(
                    format!("{base}.strip_prefix"),
                    format!("{p:?} must start with '/'"),
                );
                None
            }
        });
        let before = issues.errors.len();
        // Paths are formatted only for values that are set: with 10,000
        // routes the formatting alone is measurable.
        let timeout = match r.timeout.as_deref() {
            None => defaults::ROUTE_TIMEOUT,
            Some(t) => issues.duration(
                &format!("{base}.timeout"),
                Some(t),
                defaults::ROUTE_TIMEOUT,
                false,
            ),
        };
        let timeout_ok = issues.errors.len() == before;
        out.push(Route {
            name: Arc::from(r.name.as_str()),
            matcher: matcher(issues, &format!("{base}.match"), &r.matcher),
            pool,
            strip_prefix,
            request_headers: header_ops(issues, &base, "request_headers", &r.request_headers),
            response_headers: header_ops(issues, &base, "response_headers", &r.response_headers),
            timeout,
            max_body: super::validate_limits::max_body(
                issues,
                &format!("{base}.max_body"),
                r.max_body.as_ref(),
            ),
            max_concurrent: super::validate_limits::max_concurrent(
                issues,
                &format!("{base}.max_concurrent_requests"),
                r.max_concurrent_requests,
            ),
            plugins: plugins.resolve(issues, &r.plugins, || format!("{base}.plugins")),
            retries: if r.retries.is_unset() {
                crate::config::Retries::default()
            } else {
                super::validate_retries::retries(
                    issues,
                    &format!("{base}.retries"),
                    &r.retries,
                    timeout_ok.then_some(timeout),
                )
            },
        });
    }
    for (j, i) in crate::routing::shadowed(&out) {
        issues.warn(
            format!("routes[{j}]"),
            format!(
                "route {:?} is never reached: routes[{i}] ({:?}) matches everything it matches",
                out[j].name, out[i].name
            ),
        );
    }
    RouteTable::new(out)
}

fn unknown_pool(name: &str, pools: &[Pool]) -> String {
    let close = pools
        .iter()
        .map(|p| &*p.name)
        .min_by_key(|p| edit_distance(p, name))
        .filter(|p| edit_distance(p, name) <= 3);
    match close {
        Some(p) => format!("unknown pool {name:?} (did you mean {p:?}?)"),
        None => format!("unknown pool {name:?}"),
    }
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur.push((prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

fn matcher(issues: &mut Issues<'_>, base: &str, m: &RawMatch) -> RouteMatcher {
    let mut hosts = Vec::new();
    for (i, h) in m.hosts.iter().enumerate() {
        let path = format!("{base}.hosts[{i}]");
        let lower = h.trim().to_ascii_lowercase();
        let lower = lower.strip_suffix('.').unwrap_or(&lower);
        let (pattern, name) = match lower.strip_prefix("*.") {
            Some(rest) => (HostPattern::Suffix(format!(".{rest}")), rest),
            None => (HostPattern::Exact(lower.to_string()), lower),
        };
        let valid = !name.is_empty()
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_'));
        if valid {
            hosts.push(pattern);
        } else {
            issues.error(
                path,
                format!("invalid host {h:?}: use a name such as api.example.com or *.example.com (no port)"),
            );
        }
    }
    let given = [&m.path_prefix, &m.path, &m.path_regex]
        .iter()
        .filter(|p| p.is_some())
        .count();
    if given > 1 {
        issues.error(base, "use only one of path_prefix, path and path_regex");
    }
    let path = if let Some(p) = &m.path {
        check_path(issues, &format!("{base}.path"), p);
        PathMatch::Exact(p.clone())
    } else if let Some(p) = &m.path_prefix {
        check_path(issues, &format!("{base}.path_prefix"), p);
        let trimmed = p.trim_end_matches('/');
        PathMatch::Prefix(if trimmed.is_empty() {
            "/".into()
        } else {
            trimmed.into()
        })
    } else if let Some(r) = &m.path_regex {
        match Regex::new(r) {
            Ok(re) => PathMatch::Regex(re),
            Err(e) => {
                // regex errors span several lines; keep the last, which says what.
                let text = e.to_string();
                let why = text
                    .lines()
                    .rev()
                    .find(|l| !l.trim().is_empty())
                    .unwrap_or("");
                let why = why.trim().trim_start_matches("error: ");
                issues.error(
                    format!("{base}.path_regex"),
                    format!("invalid regex {r:?}: {why}"),
                );
                PathMatch::Any
            }
        }
    } else {
        PathMatch::Any
    };
    let mut methods = Vec::new();
    for (i, text) in m.methods.iter().enumerate() {
        match Method::from_bytes(text.to_ascii_uppercase().as_bytes()) {
            Ok(method) => methods.push(method),
            Err(_) => issues.error(
                format!("{base}.methods[{i}]"),
                format!("invalid method {text:?}"),
            ),
        }
    }
    let mut headers = Vec::new();
    for (name, value) in &m.headers {
        let path = format!("{base}.headers.{name}");
        if let Some(pair) = header_pair(issues, &path, name, value) {
            headers.push(pair);
        }
    }
    RouteMatcher {
        hosts,
        path,
        methods,
        headers,
    }
}

fn check_path(issues: &mut Issues<'_>, path: &str, value: &str) {
    if !value.starts_with('/') {
        issues.error(path, format!("{value:?} must start with '/'"));
    }
}

fn header_pair(
    issues: &mut Issues<'_>,
    path: &str,
    name: &str,
    value: &str,
) -> Option<(HeaderName, HeaderValue)> {
    let n = HeaderName::from_bytes(name.as_bytes());
    let v = HeaderValue::from_str(value);
    match (n, v) {
        (Ok(n), Ok(mut v)) => {
            // Credentials sent upstream (`authorization`, `x-api-key`):
            // `Debug` prints "Sensitive", and HTTP/2 never puts them in
            // the HPACK table.
            if super::is_secret_key(n.as_str()) {
                v.set_sensitive(true);
            }
            Some((n, v))
        }
        (Err(_), _) => {
            issues.error(path, format!("invalid header name {name:?}"));
            None
        }
        (_, Err(_)) => {
            // Not quoted back: header values are often credentials.
            issues.error(
                path,
                "invalid header value: use visible ASCII, spaces and tabs only (no line \
                 breaks, control characters or non-ASCII text)",
            );
            None
        }
    }
}

fn header_ops(issues: &mut Issues<'_>, route: &str, key: &str, raw: &RawHeaderOps) -> HeaderOps {
    let mut ops = HeaderOps::default();
    if raw.set.is_empty() && raw.remove.is_empty() {
        return ops;
    }
    let base = format!("{route}.{key}");
    for (name, value) in &raw.set {
        if let Some(pair) = header_pair(issues, &format!("{base}.set.{name}"), name, value) {
            ops.set.push(pair);
        }
    }
    for (i, name) in raw.remove.iter().enumerate() {
        match HeaderName::from_bytes(name.as_bytes()) {
            Ok(n) => ops.remove.push(n),
            Err(_) => issues.error(
                format!("{base}.remove[{i}]"),
                format!("invalid header name {name:?}"),
            ),
        }
    }
    ops
}
