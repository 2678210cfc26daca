//! Header rewriting on the way to the upstream and back
//! (`proxy::forward`), against the table "What is forwarded" in
//! `docs/CONFIG.md`: hop-by-hop headers and the headers `Connection` names
//! never pass (but for an upgrade and `TE: trailers`), `X-Forwarded-*` and
//! `Host` say what the proxy saw, route edits apply last, every other
//! header passes unchanged, and the request target keeps its query.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::uri::{Authority, Scheme, Uri};
use http::{Method, StatusCode, Version};
use switchyard::config::{EndpointUrl, PoolId, Retries};
use switchyard::proxy::forward::{self, ClientInfo};
use switchyard::routing::{HeaderOps, PathMatch, Route, RouteMatcher};

/// The fixed hop-by-hop headers (RFC 9110 §7.6.1 and common practice).
pub const HOP_BY_HOP: [&str; 7] = [
    "connection",
    "keep-alive",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

/// A request head as a client sent it.
#[derive(Debug, Clone)]
pub struct RequestHead {
    /// Method.
    pub method: Method,
    /// Request target.
    pub uri: Uri,
    /// HTTP version.
    pub version: Version,
    /// Header lines in order.
    pub headers: Vec<(HeaderName, HeaderValue)>,
}

/// A route that only edits headers.
pub fn route(request: HeaderOps, response: HeaderOps, strip_prefix: Option<String>) -> Route {
    Route {
        name: Arc::from("r"),
        matcher: RouteMatcher {
            hosts: Vec::new(),
            path: PathMatch::Any,
            methods: Vec::new(),
            headers: Vec::new(),
        },
        pool: PoolId(0),
        strip_prefix,
        request_headers: request,
        response_headers: response,
        timeout: Duration::from_secs(1),
        retries: Retries::default(),
        max_body: None,
        max_concurrent: None,
        plugins: Vec::new(),
    }
}

fn map(lines: &[(HeaderName, HeaderValue)]) -> HeaderMap {
    let mut m = HeaderMap::new();
    for (n, v) in lines {
        m.append(n.clone(), v.clone());
    }
    m
}

fn values(m: &HeaderMap, name: &str) -> Vec<HeaderValue> {
    m.get_all(name).iter().cloned().collect()
}

/// Every name in `a` or `b`, once.
fn all_names(a: &HeaderMap, b: &HeaderMap) -> Vec<HeaderName> {
    let mut names: Vec<HeaderName> = Vec::new();
    for n in a.keys().chain(b.keys()) {
        if !names.contains(n) {
            names.push(n.clone());
        }
    }
    names
}

/// Comma-separated tokens of every line of `name`, trimmed, lower-cased.
fn tokens(m: &HeaderMap, name: &HeaderName) -> Vec<String> {
    m.get_all(name)
        .iter()
        .flat_map(|v| v.to_str().unwrap_or("").split(','))
        .map(|t| t.trim().to_ascii_lowercase())
        .collect()
}

/// What the route's edits leave for `name`: `Some(values)` when they
/// decide it (set: the last value; removed: none), `None` otherwise.
fn edited(ops: &HeaderOps, name: &HeaderName) -> Option<Vec<HeaderValue>> {
    if let Some((_, v)) = ops.set.iter().rev().find(|(n, _)| n == name) {
        return Some(vec![v.clone()]);
    }
    ops.remove.contains(name).then(Vec::new)
}

/// Runs `prepare_request` on `head` as the handler does (the host it
/// routed by is the URI's authority, else the first Host line) and checks
/// the result. Heads the handler refuses (a Host that is not text) are
/// skipped.
pub fn check_prepare_request(head: &RequestHead, ops: &HeaderOps, peer: SocketAddr, tls: bool) {
    let before = map(&head.headers);
    let host: Option<String> = match head.uri.authority() {
        Some(a) => Some(a.as_str().to_owned()),
        None => match before.get(header::HOST).map(HeaderValue::to_str) {
            Some(Ok(h)) => Some(h.to_owned()),
            Some(Err(_)) => return,
            None => None,
        },
    };
    let proto = if tls { "https" } else { "http" };
    let route = route(ops.clone(), HeaderOps::default(), None);
    let (mut parts, ()) = http::Request::builder()
        .method(head.method.clone())
        .uri(head.uri.clone())
        .version(head.version)
        .body(())
        .map(http::Request::into_parts)
        .unwrap_or_else(|e| panic!("{e}: {head:?}"));
    parts.headers = before.clone();
    let host_value = host.as_deref().and_then(|h| HeaderValue::from_str(h).ok());
    // Half the cases pass the address formatted, as the handler does;
    // the rest leave it to `prepare_request`.
    let ip = forward::ip_value(peer.ip());
    let client = ClientInfo {
        peer,
        peer_ip: peer.port().is_multiple_of(2).then_some(&ip),
        proto,
        host: host_value.as_ref(),
    };
    let needs_host = forward::prepare_request(&mut parts, &route, client);
    let after = &parts.headers;
    let ctx = || format!("{head:?}\nedits {ops:?}\nafter {after:?}");
    assert_eq!(parts.version, Version::HTTP_11, "{}", ctx());
    assert_eq!(needs_host, !after.contains_key(header::HOST), "{}", ctx());

    let named = tokens(&before, &header::CONNECTION);
    let upgrading = head.version == Version::HTTP_11
        && before.contains_key(header::UPGRADE)
        && named.iter().any(|t| t == "upgrade");
    let trailers = tokens(&before, &header::TE)
        .iter()
        .any(|t| t.split(';').next().unwrap_or("").trim() == "trailers");
    let mut forwarded_for: Vec<String> = if named.iter().any(|t| t == "x-forwarded-for") {
        Vec::new()
    } else {
        before
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .map(|v| v.trim().to_owned())
            .collect()
    };
    forwarded_for.push(peer.ip().to_string());
    let host_value = host.as_deref().and_then(|h| HeaderValue::from_str(h).ok());

    // Every name that was sent or may have been added.
    let names = all_names(&before, after);
    for name in &names {
        let got = values(after, name.as_str());
        let want: Vec<HeaderValue> = if let Some(v) = edited(ops, name) {
            v
        } else {
            match name.as_str() {
                "upgrade" if upgrading => values(&before, "upgrade"),
                "connection" if upgrading => vec![HeaderValue::from_static("upgrade")],
                "te" if trailers => vec![HeaderValue::from_static("trailers")],
                n if HOP_BY_HOP.contains(&n) => Vec::new(),
                "x-forwarded-for" => {
                    vec![HeaderValue::from_str(&forwarded_for.join(", "))
                        .unwrap_or_else(|e| panic!("{e}: {}", ctx()))]
                }
                "x-forwarded-proto" => vec![HeaderValue::from_static(proto)],
                "x-forwarded-host" => host_value.iter().cloned().collect(),
                // The upstream must see the host the request was routed by,
                // once (two Host lines could be read either way).
                "host" => host_value.iter().cloned().collect(),
                n if named.iter().any(|t| t == n) => Vec::new(),
                n => values(&before, n),
            }
        };
        assert_eq!(got, want, "header {name}: {}", ctx());
    }
}

/// Runs `prepare_response` on a response head and checks it: hop-by-hop
/// and `Connection`-named headers gone (a 101 keeps `Upgrade` and says
/// `Connection: upgrade`), route edits applied, the rest unchanged.
pub fn check_prepare_response(
    status: StatusCode,
    headers: &[(HeaderName, HeaderValue)],
    ops: &HeaderOps,
) {
    let before = map(headers);
    let route = route(HeaderOps::default(), ops.clone(), None);
    let (mut parts, ()) = http::Response::builder()
        .status(status)
        .body(())
        .map(http::Response::into_parts)
        .unwrap_or_else(|e| panic!("{e}: {status}"));
    parts.headers = before.clone();
    forward::prepare_response(&mut parts, &route);
    let after = &parts.headers;
    let ctx = || format!("{status} {before:?}\nedits {ops:?}\nafter {after:?}");
    assert_eq!(parts.status, status, "{}", ctx());
    let named = tokens(&before, &header::CONNECTION);
    let switching = status == StatusCode::SWITCHING_PROTOCOLS;
    let names = all_names(&before, after);
    for name in &names {
        let got = values(after, name.as_str());
        let want: Vec<HeaderValue> = if let Some(v) = edited(ops, name) {
            v
        } else {
            match name.as_str() {
                "upgrade" if switching => values(&before, "upgrade"),
                "connection" if switching => vec![HeaderValue::from_static("upgrade")],
                n if HOP_BY_HOP.contains(&n) => Vec::new(),
                n if named.iter().any(|t| t == n) => Vec::new(),
                n => values(&before, n),
            }
        };
        assert_eq!(got, want, "header {name}: {}", ctx());
    }
}

/// An endpoint URL with this base path (no trailing slash, as validation
/// leaves it).
pub fn endpoint(base_path: &str) -> EndpointUrl {
    EndpointUrl {
        scheme: Scheme::HTTP,
        authority: Authority::from_static("127.0.0.1:9001"),
        base_path: base_path.to_owned(),
        original: format!("http://127.0.0.1:9001{base_path}"),
    }
}

/// `upstream_uri`: origin form, the endpoint's base path, then the
/// client's path with `strip_prefix` removed (whole segments; `/` if that
/// leaves nothing), and the query unchanged.
pub fn check_upstream_uri(uri: &Uri, base_path: &str, strip_prefix: Option<&str>) {
    let got = forward::upstream_uri(uri, &endpoint(base_path), strip_prefix)
        .unwrap_or_else(|e| panic!("{e}: {uri} base {base_path:?} strip {strip_prefix:?}"));
    let mut path = uri.path();
    if let Some(p) = strip_prefix {
        if path == p {
            path = "";
        } else if path.starts_with(p) && path[p.len()..].starts_with('/') {
            path = &path[p.len()..];
        }
    }
    let sep = if path.starts_with('/') { "" } else { "/" };
    let want = format!("{base_path}{sep}{path}");
    let ctx = format!(
        "{uri} (path {:?}, query {:?}) base {base_path:?} strip {strip_prefix:?} -> {got}",
        uri.path(),
        uri.query()
    );
    assert!(got.scheme().is_none() && got.authority().is_none(), "{ctx}");
    assert_eq!(got.path(), want, "{ctx}");
    assert_eq!(got.query(), uri.query(), "{ctx}");
}
