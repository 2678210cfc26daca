//! Turning a client request into an upstream request and an upstream
//! response into a client response: hop-by-hop headers, `X-Forwarded-*`,
//! path rewriting.
//!
//! What is forwarded: the method; the path after `strip_prefix` with the
//! endpoint URL's base path in front, and the query unchanged; end-to-end
//! headers with the route's edits; the client's Host (or, for HTTP/2
//! clients, the `:authority` as Host); `TE: trailers` when the client sent
//! it (gRPC). An HTTP/1.1 upgrade request keeps
//! its `Upgrade` header and goes on with `Connection: upgrade`, and so does
//! the 101 that answers it; every other hop-by-hop header is removed.

use std::net::SocketAddr;

use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::uri::{PathAndQuery, Uri};
use http::Version;

use super::error::ProxyError;
use crate::config::EndpointUrl;
use crate::routing::Route;
use crate::upstream::Added;

static X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
static X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");
static X_FORWARDED_HOST: HeaderName = HeaderName::from_static("x-forwarded-host");
static PROTO_HTTP: HeaderValue = HeaderValue::from_static("http");
static PROTO_HTTPS: HeaderValue = HeaderValue::from_static("https");
static KEEP_ALIVE: HeaderName = HeaderName::from_static("keep-alive");
static PROXY_CONNECTION: HeaderName = HeaderName::from_static("proxy-connection");

/// The fixed hop-by-hop headers (RFC 9110 §7.6.1 and common practice).
static HOP_BY_HOP: [&HeaderName; 7] = [
    &header::CONNECTION,
    &KEEP_ALIVE,
    &PROXY_CONNECTION,
    &header::TE,
    &header::TRAILER,
    &header::TRANSFER_ENCODING,
    &header::UPGRADE,
];

/// Removes hop-by-hop headers (RFC 9110 §7.6.1): `Connection` and every
/// header it names, plus the fixed list. One pass over the (few) header
/// names finds whether there is anything to do, which is cheaper than
/// hashing seven lookups on every message.
pub fn remove_hop_by_hop(headers: &mut HeaderMap) {
    if !headers.keys().any(|k| HOP_BY_HOP.contains(&k)) {
        return;
    }
    let named: Vec<HeaderName> = headers
        .get_all(header::CONNECTION)
        .iter()
        .flat_map(|v| v.to_str().unwrap_or("").split(','))
        .filter_map(|t| HeaderName::from_bytes(t.trim().as_bytes()).ok())
        .collect();
    for name in named {
        headers.remove(name);
    }
    for name in HOP_BY_HOP {
        headers.remove(name);
    }
}

/// Whether a request head asks to switch protocols (RFC 9110 §7.8):
/// HTTP/1.1 with `Upgrade` and a `Connection` header naming `upgrade`.
/// HTTP/2 has no such mechanism (RFC 9113 §8.6), nor has HTTP/1.0.
pub fn wants_upgrade(version: Version, headers: &HeaderMap) -> bool {
    version == Version::HTTP_11
        && headers.contains_key(header::UPGRADE)
        && headers
            .get_all(header::CONNECTION)
            .iter()
            .flat_map(|v| v.to_str().unwrap_or("").split(','))
            .any(|t| t.trim().eq_ignore_ascii_case("upgrade"))
}

/// Removes hop-by-hop headers except the upgrade: `Upgrade` stays as it
/// was, and `Connection` names only `upgrade`.
fn remove_hop_by_hop_keeping_upgrade(headers: &mut HeaderMap) {
    let protocols: Vec<HeaderValue> = headers.get_all(header::UPGRADE).iter().cloned().collect();
    remove_hop_by_hop(headers);
    for p in protocols {
        headers.append(header::UPGRADE, p);
    }
    headers.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
}

/// Whether the client's `TE` says it accepts trailers.
fn accepts_trailers(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::TE)
        .iter()
        .flat_map(|v| v.to_str().unwrap_or("").split(','))
        .any(|t| {
            let coding = t.split(';').next().unwrap_or("");
            coding.trim().eq_ignore_ascii_case("trailers")
        })
}

/// Facts about the client connection that forwarding needs.
#[derive(Debug, Clone, Copy)]
pub struct ClientInfo<'a> {
    /// The client's address.
    pub peer: SocketAddr,
    /// The client's IP address as a header value, when the caller keeps it
    /// formatted (once per connection); else it is formatted here.
    pub peer_ip: Option<&'a HeaderValue>,
    /// `http` or `https`.
    pub proto: &'static str,
    /// The host the client asked for and the request was routed by (the
    /// URI's authority, else the first Host line), as sent.
    pub host: Option<&'a HeaderValue>,
}

/// `ip` as a header value (`X-Forwarded-For`'s last element).
pub fn ip_value(ip: std::net::IpAddr) -> HeaderValue {
    let text = ip.to_string();
    HeaderValue::from_maybe_shared(bytes::Bytes::from(text))
        .unwrap_or_else(|_| HeaderValue::from_static("unknown"))
}

/// What `prepare_request` needs to know of a head before it edits it,
/// found in one pass over its fields (no hashed lookups).
#[derive(Debug, Default)]
struct Seen {
    /// A hop-by-hop field is present (the fixed list; a field only
    /// `Connection` names needs `Connection`, which is on it).
    hop: bool,
    /// `Host` lines.
    hosts: usize,
    /// The one `Host` line is `host` already.
    host_kept: bool,
    /// `X-Forwarded-For` is present.
    forwarded_for: bool,
    /// `X-Forwarded-Proto` or `X-Forwarded-Host` is present.
    forwarded_other: bool,
}

impl Seen {
    /// `host`: the host the request was routed by.
    fn of(headers: &HeaderMap, host: Option<&HeaderValue>) -> Self {
        let mut seen = Seen::default();
        for (name, value) in headers {
            if *name == header::HOST {
                seen.hosts += 1;
                seen.host_kept = seen.hosts == 1 && host == Some(value);
            } else if *name == X_FORWARDED_FOR {
                seen.forwarded_for = true;
            } else if *name == X_FORWARDED_PROTO || *name == X_FORWARDED_HOST {
                seen.forwarded_other = true;
            } else if HOP_BY_HOP.contains(&name) {
                seen.hop = true;
            }
        }
        seen
    }
}

/// Rewrites the headers of `parts` for the upstream, whichever endpoint it
/// goes to. Returns whether the request names no host of its own (HTTP/1.0
/// without Host), in which case `retarget` names the endpoint.
pub fn prepare_request(
    parts: &mut http::request::Parts,
    route: &Route,
    client: ClientInfo<'_>,
) -> bool {
    let (needs_host, mut added) = prepare_request_deferring(parts, route, client);
    added.insert_into(&mut parts.headers);
    needs_host
}

/// `prepare_request`, except that the `X-Forwarded-*` fields are left out
/// of the map and returned, for the upstream client to add
/// (`upstream::Added`), where the route edits no request field and the
/// client sent no `X-Forwarded-*` of its own (the usual request; then
/// nothing between here and the upstream client reads them).
pub fn prepare_request_deferring<'a>(
    parts: &mut http::request::Parts,
    route: &Route,
    client: ClientInfo<'a>,
) -> (bool, Added<'a>) {
    let headers = &mut parts.headers;
    let seen = Seen::of(headers, client.host);
    if seen.hop {
        let trailers = accepts_trailers(headers);
        if wants_upgrade(parts.version, headers) {
            remove_hop_by_hop_keeping_upgrade(headers);
        } else {
            remove_hop_by_hop(headers);
        }
        if trailers {
            // gRPC servers may insist on it (RFC 9113 §8.2.2 allows exactly
            // this value of TE in HTTP/2); the response trailers are passed
            // on.
            headers.insert(header::TE, HeaderValue::from_static("trailers"));
        }
    }
    let mut added = Added::default();
    let defer = route.request_headers.is_empty() && !seen.forwarded_for && !seen.forwarded_other;
    match (client.peer_ip, seen.forwarded_for) {
        (Some(ip), false) if defer => {
            added.push(&X_FORWARDED_FOR, ip);
        }
        // The common case: no list yet, and the address already formatted.
        (Some(ip), false) => {
            headers.insert(&X_FORWARDED_FOR, ip.clone());
        }
        _ => append_forwarded_for(headers, client.peer),
    }
    let proto = if client.proto == "https" {
        &PROTO_HTTPS
    } else {
        &PROTO_HTTP
    };
    if defer {
        added.push(&X_FORWARDED_PROTO, proto);
    } else {
        headers.insert(&X_FORWARDED_PROTO, proto.clone());
    }
    match client.host {
        Some(v) => {
            // The host the request was routed by is the one the upstream
            // sees, once: for absolute-form and HTTP/2 requests the
            // authority replaces Host (RFC 9112 §3.2.2), and of several
            // Host lines only the first (the one routed by) goes on, so an
            // upstream cannot read another one. A head whose one Host line
            // is that host already (the common case) is left as it is.
            // The pass over the names saw the head before hop-by-hop
            // fields went (a `Connection` may name Host): then look.
            let kept = if seen.hop {
                seen.hosts == 1 && headers.get(header::HOST) == Some(v)
            } else {
                seen.host_kept
            };
            if !kept {
                headers.insert(header::HOST, v.clone());
            }
            if defer {
                added.push(&X_FORWARDED_HOST, v);
            } else {
                headers.insert(&X_FORWARDED_HOST, v.clone());
            }
        }
        None => {
            // Never pass on a client's own claim.
            headers.remove(&X_FORWARDED_HOST);
        }
    }
    parts.version = Version::HTTP_11;
    if route.request_headers.is_empty() {
        // Host was kept or set above when the request named a host, and
        // a request without one has no Host line (`sanitize::check`).
        return (client.host.is_none(), added);
    }
    route.request_headers.apply(headers);
    (!headers.contains_key(header::HOST), added)
}

/// Points `parts` at `endpoint`: the path built from the client's
/// `original` URI, and Host when the client named none (as a client would).
pub fn retarget(
    parts: &mut http::request::Parts,
    original: &Uri,
    endpoint: &EndpointUrl,
    route: &Route,
    needs_host: bool,
) -> Result<(), ProxyError> {
    parts.uri = upstream_uri(original, endpoint, route.strip_prefix.as_deref())?;
    if needs_host {
        if let Ok(v) = HeaderValue::from_str(endpoint.authority.as_str()) {
            parts.headers.insert(header::HOST, v);
        }
    }
    Ok(())
}

/// Cleans an upstream response head for the client. A 101 keeps its
/// `Upgrade` and `Connection: upgrade`.
pub fn prepare_response(parts: &mut http::response::Parts, route: &Route) {
    if parts.status == http::StatusCode::SWITCHING_PROTOCOLS {
        remove_hop_by_hop_keeping_upgrade(&mut parts.headers);
    } else {
        remove_hop_by_hop(&mut parts.headers);
    }
    route.response_headers.apply(&mut parts.headers);
}

/// Appends the client's address to the `X-Forwarded-For` list the
/// request brought, as one field.
fn append_forwarded_for(headers: &mut HeaderMap, peer: SocketAddr) {
    use std::fmt::Write;
    let mut joined = String::with_capacity(48);
    for v in headers.get_all(&X_FORWARDED_FOR) {
        if let Ok(s) = v.to_str() {
            joined.push_str(s.trim());
            joined.push_str(", ");
        }
    }
    write!(joined, "{}", peer.ip()).ok();
    if let Ok(v) = HeaderValue::from_maybe_shared(bytes::Bytes::from(joined)) {
        headers.insert(&X_FORWARDED_FOR, v);
    }
}

/// The upstream request target in origin form: the endpoint's base path +
/// the client path after `strip_prefix`, query unchanged. Without a rewrite
/// the client's path and query are reused as they are (no copy).
pub fn upstream_uri(
    uri: &Uri,
    endpoint: &EndpointUrl,
    strip_prefix: Option<&str>,
) -> Result<Uri, ProxyError> {
    let original = uri.path();
    let mut path = original;
    if let Some(prefix) = strip_prefix {
        if let Some(rest) = path.strip_prefix(prefix) {
            if rest.is_empty() || rest.starts_with('/') {
                path = rest;
            }
        }
    }
    if endpoint.base_path.is_empty() && path.len() == original.len() && path.starts_with('/') {
        let pq = match uri.path_and_query() {
            // An absolute-form target without a path (`http://host`) holds
            // an empty path-and-query (`as_str` says "/"), which as a URI
            // of its own prints as nothing: `GET  HTTP/1.1` upstream.
            Some(pq) if pq.as_str() != "/" => pq.clone(),
            _ => PathAndQuery::from_static("/"),
        };
        return Ok(Uri::from(pq));
    }
    let mut pq = String::with_capacity(endpoint.base_path.len() + path.len() + 16);
    pq.push_str(&endpoint.base_path);
    if !path.starts_with('/') {
        pq.push('/');
    }
    pq.push_str(path);
    if let Some(q) = uri.query() {
        pq.push('?');
        pq.push_str(q);
    }
    let pq =
        PathAndQuery::try_from(pq).map_err(|_| ProxyError::BadRequest("invalid request path"))?;
    Ok(Uri::from(pq))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ep(base: &str) -> EndpointUrl {
        EndpointUrl {
            scheme: http::uri::Scheme::HTTP,
            authority: http::uri::Authority::from_static("127.0.0.1:9001"),
            base_path: base.into(),
            original: String::new(),
        }
    }

    #[test]
    fn rewrites_paths() {
        let cases = [
            ("/v1/payments/42?x=1", "", Some("/v1"), "/payments/42?x=1"),
            ("/v1", "", Some("/v1"), "/"),
            ("/v10/a", "", Some("/v1"), "/v10/a"),
            ("/a?q", "/base", None, "/base/a?q"),
            ("/", "", None, "/"),
            ("http://h.example/x?y", "", None, "/x?y"),
        ];
        for (input, base, strip, want) in cases {
            let uri: Uri = input.parse().unwrap();
            assert_eq!(
                upstream_uri(&uri, &ep(base), strip).unwrap().to_string(),
                want
            );
        }
    }

    #[test]
    fn te_trailers_is_recognised_among_other_codings() {
        let cases = [
            ("trailers", true),
            ("gzip, Trailers", true),
            ("trailers;q=1", true),
            ("deflate", false),
            ("", false),
            ("x-trailers", false),
        ];
        for (value, want) in cases {
            let mut h = HeaderMap::new();
            h.insert(header::TE, HeaderValue::from_str(value).unwrap());
            assert_eq!(accepts_trailers(&h), want, "{value:?}");
        }
        assert!(!accepts_trailers(&HeaderMap::new()));
    }

    #[test]
    fn strips_hop_by_hop_and_named_headers() {
        let mut h = HeaderMap::new();
        h.insert(
            header::CONNECTION,
            HeaderValue::from_static("close, x-secret"),
        );
        h.insert("x-secret", HeaderValue::from_static("1"));
        h.insert("keep-alive", HeaderValue::from_static("timeout=5"));
        h.insert(header::TE, HeaderValue::from_static("trailers"));
        h.insert(
            header::TRANSFER_ENCODING,
            HeaderValue::from_static("chunked"),
        );
        h.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
        h.insert("proxy-connection", HeaderValue::from_static("keep-alive"));
        h.insert(header::TRAILER, HeaderValue::from_static("x"));
        h.insert("x-keep", HeaderValue::from_static("1"));
        remove_hop_by_hop(&mut h);
        assert_eq!(h.len(), 1, "{h:?}");
        assert!(h.contains_key("x-keep"));
    }

    #[test]
    fn recognises_upgrade_requests() {
        let head = |conn: &str, upgrade: Option<&str>| {
            let mut h = HeaderMap::new();
            h.insert(header::CONNECTION, HeaderValue::from_str(conn).unwrap());
            if let Some(u) = upgrade {
                h.insert(header::UPGRADE, HeaderValue::from_str(u).unwrap());
            }
            h
        };
        let cases = [
            (Version::HTTP_11, "Upgrade", Some("websocket"), true),
            (Version::HTTP_11, "keep-alive, UPGRADE", Some("h2c"), true),
            (Version::HTTP_11, "keep-alive", Some("websocket"), false),
            (Version::HTTP_11, "upgrade", None, false),
            (Version::HTTP_10, "upgrade", Some("websocket"), false),
            (Version::HTTP_2, "upgrade", Some("websocket"), false),
        ];
        for (version, conn, upgrade, want) in cases {
            assert_eq!(
                wants_upgrade(version, &head(conn, upgrade)),
                want,
                "{version:?} {conn} {upgrade:?}"
            );
        }
    }

    #[test]
    fn upgrade_keeps_only_upgrade_and_connection() {
        let mut h = HeaderMap::new();
        h.insert(
            header::CONNECTION,
            HeaderValue::from_static("keep-alive, Upgrade, x-secret"),
        );
        h.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
        h.insert("x-secret", HeaderValue::from_static("1"));
        h.insert("keep-alive", HeaderValue::from_static("timeout=5"));
        h.insert(header::TE, HeaderValue::from_static("trailers"));
        h.insert("sec-websocket-key", HeaderValue::from_static("abc"));
        remove_hop_by_hop_keeping_upgrade(&mut h);
        assert_eq!(h.len(), 3, "{h:?}");
        assert_eq!(h[header::CONNECTION], "upgrade");
        assert_eq!(h[header::UPGRADE], "websocket");
        assert_eq!(h["sec-websocket-key"], "abc");
    }

    #[test]
    fn appends_forwarded_for() {
        let mut h = HeaderMap::new();
        h.append("x-forwarded-for", HeaderValue::from_static("1.1.1.1"));
        h.append("x-forwarded-for", HeaderValue::from_static("2.2.2.2"));
        append_forwarded_for(&mut h, "127.0.0.1:5".parse().unwrap());
        assert_eq!(h["x-forwarded-for"], "1.1.1.1, 2.2.2.2, 127.0.0.1");
        // Without a list, the peer's address is the list.
        let mut h = HeaderMap::new();
        append_forwarded_for(&mut h, "[::1]:5".parse().unwrap());
        assert_eq!(h["x-forwarded-for"], "::1");
    }
}
