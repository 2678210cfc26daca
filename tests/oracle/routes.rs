//! Route matching: the indexed `match_request` agrees with trying the
//! routes one by one, and both agree with a naive reference written from
//! the routing rules in `docs/CONFIG.md`; matching is deterministic.

use http::header::{HeaderName, HeaderValue};
use http::{HeaderMap, Method};
use serde_json::{json, Map, Value};
use switchyard::config::{load_str, Config};
use switchyard::routing::{match_request, normalize_host, RequestInfo};

/// A route's `match:` as written in a config file.
#[derive(Debug, Clone)]
pub struct RouteSpec {
    /// `hosts` entries, as written.
    pub hosts: Vec<String>,
    /// The path condition.
    pub path: PathSpec,
    /// `methods` entries, as written.
    pub methods: Vec<String>,
    /// `headers`: name → value (a YAML map, so later repeats of a name win).
    pub headers: Vec<(String, String)>,
}

/// `path`, `path_prefix`, `path_regex` or none of them.
#[derive(Debug, Clone)]
pub enum PathSpec {
    /// No path condition.
    Any,
    /// `path`.
    Exact(String),
    /// `path_prefix`.
    Prefix(String),
    /// `path_regex`.
    Regex(String),
}

/// A request as routing sees it, before any normalisation.
#[derive(Debug, Clone)]
pub struct RequestSpec {
    /// The Host header or authority as sent.
    pub host: Option<String>,
    /// The path.
    pub path: String,
    /// The method.
    pub method: Method,
    /// Header lines, in order.
    pub headers: Vec<(HeaderName, HeaderValue)>,
}

impl RequestSpec {
    fn header_map(&self) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (n, v) in &self.headers {
            map.append(n.clone(), v.clone());
        }
        map
    }
}

/// A config with one listener, one pool and these routes (named `r0`, ...).
pub fn config_yaml(routes: &[RouteSpec]) -> String {
    let routes: Vec<Value> = routes
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let mut m = Map::new();
            if !r.hosts.is_empty() {
                m.insert("hosts".into(), json!(r.hosts));
            }
            let path = match &r.path {
                PathSpec::Any => None,
                PathSpec::Exact(p) => Some(("path", p)),
                PathSpec::Prefix(p) => Some(("path_prefix", p)),
                PathSpec::Regex(p) => Some(("path_regex", p)),
            };
            if let Some((key, p)) = path {
                m.insert(key.into(), json!(p));
            }
            if !r.methods.is_empty() {
                m.insert("methods".into(), json!(r.methods));
            }
            if !r.headers.is_empty() {
                let h: Map<String, Value> = r
                    .headers
                    .iter()
                    .map(|(k, v)| (k.clone(), json!(v)))
                    .collect();
                m.insert("headers".into(), Value::Object(h));
            }
            json!({"name": format!("r{i}"), "match": m, "pool": "p"})
        })
        .collect();
    let doc = json!({
        "version": 1,
        "listeners": [{"name": "web", "listen": "127.0.0.1:0"}],
        "pools": [{"name": "p", "endpoints": [{"name": "e", "url": "http://127.0.0.1:1"}]}],
        "routes": routes,
    });
    serde_yaml::to_string(&doc).unwrap_or_default()
}

/// Checks how every request's path normalises, builds the table from
/// `routes` and routes every request (as sent and normalised) three ways.
/// Returns `None` when the config is invalid (then nothing is checked but
/// that loading did not panic), else the route index each request got.
pub fn check_routing(routes: &[RouteSpec], requests: &[RequestSpec]) -> Option<Vec<Option<usize>>> {
    // The proxy routes by the normalised path (and refuses a request
    // whose path cannot be normalised); the matcher must agree with the
    // reference on any path, so both are tried.
    for req in requests {
        crate::oracle::paths::check_normalize_path(&req.path);
    }
    let text = config_yaml(routes);
    let config: Config = load_str(&text).ok()?;
    assert_eq!(config.routes.len(), routes.len(), "{text}");
    let regexes: Vec<Option<regex::Regex>> = routes
        .iter()
        .map(|r| match &r.path {
            PathSpec::Regex(re) => regex::Regex::new(re).ok(),
            _ => None,
        })
        .collect();
    let mut got = Vec::with_capacity(requests.len());
    for req in requests {
        if let Ok(normal) = switchyard::routing::normalize_path(&req.path) {
            if normal != req.path {
                let normal = RequestSpec {
                    path: normal.into_owned(),
                    ..req.clone()
                };
                route_one(&config, routes, &regexes, &normal, &text);
            }
        }
        got.push(route_one(&config, routes, &regexes, req, &text));
    }
    Some(got)
}

/// Routes `req` three ways, which must agree; returns the route index.
fn route_one(
    config: &Config,
    routes: &[RouteSpec],
    regexes: &[Option<regex::Regex>],
    req: &RequestSpec,
    text: &str,
) -> Option<usize> {
    let headers = req.header_map();
    let host = req.host.as_deref().and_then(normalize_host);
    let info = RequestInfo {
        host: host.as_deref(),
        path: &req.path,
        method: &req.method,
        headers: &headers,
    };
    let indexed = match_request(&config.routes, &info).map(|id| id.0);
    let again = match_request(&config.routes, &info).map(|id| id.0);
    assert_eq!(indexed, again, "not deterministic: {req:?}\n{text}");
    let linear = config
        .routes
        .routes()
        .iter()
        .position(|r| r.matcher.matches(&info));
    assert_eq!(
        indexed, linear,
        "the index disagrees with trying routes in order: {req:?} (host {host:?})\n{text}"
    );
    let naive = routes
        .iter()
        .zip(regexes)
        .position(|(r, re)| reference_matches(r, re.as_ref(), req));
    assert_eq!(
        indexed, naive,
        "the matcher disagrees with the reference: {req:?} (host {host:?})\n{text}"
    );
    indexed
}

/// The request's host for matching: port, brackets and one trailing dot
/// gone, lower-cased; `None` if nothing is left.
pub fn reference_host(raw: &str) -> Option<String> {
    let host = match raw.strip_prefix('[') {
        Some(rest) => rest.split(']').next().unwrap_or(rest),
        None => match raw.rfind(':') {
            Some(i) => &raw[..i],
            None => raw,
        },
    };
    let host = host.strip_suffix('.').unwrap_or(host);
    (!host.is_empty()).then(|| host.to_ascii_lowercase())
}

/// Whether route `r` (valid, as it loaded) matches `req`; `regex` is its
/// `path_regex`, compiled.
pub fn reference_matches(r: &RouteSpec, regex: Option<&regex::Regex>, req: &RequestSpec) -> bool {
    if !r.hosts.is_empty() {
        let Some(host) = req.host.as_deref().and_then(reference_host) else {
            return false;
        };
        let any = r.hosts.iter().any(|entry| {
            let entry = entry.trim().to_ascii_lowercase();
            let entry = entry.strip_suffix('.').unwrap_or(&entry);
            match entry.strip_prefix("*.") {
                // At least one more label in front of `.rest`.
                Some(rest) => {
                    let dotted = format!(".{rest}");
                    host.ends_with(&dotted) && host.len() > dotted.len()
                }
                None => host == entry,
            }
        });
        if !any {
            return false;
        }
    }
    if !r.methods.is_empty()
        && !r
            .methods
            .iter()
            .any(|m| m.to_ascii_uppercase() == req.method.as_str())
    {
        return false;
    }
    let path_ok = match &r.path {
        PathSpec::Any => true,
        PathSpec::Exact(p) => *p == req.path,
        PathSpec::Prefix(p) => {
            let p = p.trim_end_matches('/');
            p.is_empty() || req.path == p || req.path.starts_with(&format!("{p}/"))
        }
        PathSpec::Regex(_) => regex.is_some_and(|re| re.is_match(&req.path)),
    };
    if !path_ok {
        return false;
    }
    // A YAML map keeps the last value of a repeated key; names compare
    // case-insensitively, values exactly, any one line of the header.
    let mut wanted: Vec<(String, &str)> = Vec::new();
    for (name, value) in &r.headers {
        wanted.retain(|(n, _)| *n != *name);
        wanted.push((name.clone(), value.as_str()));
    }
    wanted.iter().all(|(name, value)| {
        req.headers
            .iter()
            .any(|(n, v)| n.as_str().eq_ignore_ascii_case(name) && v.as_bytes() == value.as_bytes())
    })
}
