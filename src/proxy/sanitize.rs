//! Checks on a request head before it is routed: what hyper accepts but a
//! proxy must not pass on.
//!
//! - CONNECT is refused (405): Switchyard is a reverse proxy, never a
//!   forward proxy or a tunnel to an address the client names.
//! - (HTTP/1 heads with both `Content-Length` and `Transfer-Encoding`, or
//!   a bare LF, never get here: `head_scan` refuses them on the socket,
//!   since hyper drops the length and accepts the LF.)
//! - Host: HTTP/1.1 needs exactly one `Host`; every host (`Host`,
//!   `:authority`, an absolute-form target) must be a valid `host[:port]`
//!   without user info; on HTTP/2, `Host` and `:authority` must agree. An
//!   absolute-form target (`GET http://a/ HTTP/1.1`) must be `http` or
//!   `https`; its authority replaces `Host` (RFC 9112 §3.2.2) and is only
//!   matched against routes: the upstream is always the route's pool.
//! - The path is normalised (`routing::normalize_path`) before routing, and
//!   the normalised path is what is forwarded.

use http::request::Parts;
use http::uri::{PathAndQuery, Uri};
use http::{header, Method, Version};

use super::error::ProxyError;
use crate::routing::{normalize_path, PathError};

/// Checks `parts` and normalises its path in place.
pub(super) fn check(parts: &mut Parts) -> Result<(), ProxyError> {
    if parts.method == Method::CONNECT {
        return Err(ProxyError::MethodNotAllowed("CONNECT"));
    }
    let h1 = matches!(parts.version, Version::HTTP_10 | Version::HTTP_11);
    check_host(parts, h1)?;
    normalize(parts)
}

fn check_host(parts: &Parts, h1: bool) -> Result<(), ProxyError> {
    let mut hosts = parts.headers.get_all(header::HOST).iter();
    let host = hosts.next();
    if hosts.next().is_some() {
        return Err(ProxyError::BadRequest("more than one Host header"));
    }
    let host = match host {
        Some(v) => Some(
            v.to_str()
                .ok()
                .filter(|h| valid_host(h))
                .ok_or(ProxyError::BadRequest("invalid Host header"))?,
        ),
        None => None,
    };
    match parts.uri.authority() {
        Some(authority) => {
            if h1 && !matches!(parts.uri.scheme_str(), Some("http" | "https")) {
                return Err(ProxyError::BadRequest(
                    "an absolute request target must be http or https",
                ));
            }
            if !valid_host(authority.as_str()) {
                return Err(ProxyError::BadRequest("invalid authority"));
            }
            if !h1 && host.is_some_and(|h| !h.eq_ignore_ascii_case(authority.as_str())) {
                return Err(ProxyError::BadRequest(":authority and Host differ"));
            }
        }
        None if host.is_none() && parts.version != Version::HTTP_10 => {
            return Err(ProxyError::BadRequest("missing Host header"));
        }
        None => {}
    }
    Ok(())
}

/// Whether `s` is `host[:port]`: a registered name or IPv4 address made
/// of RFC 3986 `reg-name` characters, or a bracketed IPv6 literal; no user
/// info, no path, nothing else.
pub(super) fn valid_host(s: &str) -> bool {
    let (host, port) = if let Some(rest) = s.strip_prefix('[') {
        let Some((literal, after)) = rest.split_once(']') else {
            return false;
        };
        if literal.is_empty()
            || !literal
                .bytes()
                .all(|b| b.is_ascii_hexdigit() || b == b':' || b == b'.')
        {
            return false;
        }
        match after.strip_prefix(':') {
            Some(port) => ("[]", Some(port)),
            None if after.is_empty() => ("[]", None),
            None => return false,
        }
    } else {
        match s.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (s, None),
        }
    };
    // RFC 3986 lets the port be empty (`host:`).
    let port_ok = port.is_none_or(|p| {
        p.is_empty()
            || (p.len() <= 5
                && p.bytes().all(|b| b.is_ascii_digit())
                && p.parse::<u32>().is_ok_and(|n| n <= 65_535))
    });
    let host_ok = host == "[]"
        || (!host.is_empty()
            && host.len() <= 255
            && host.bytes().all(|b| {
                b.is_ascii_alphanumeric()
                    || matches!(
                        b,
                        b'-' | b'.'
                            | b'_'
                            | b'~'
                            | b'!'
                            | b'$'
                            | b'&'
                            | b'\''
                            | b'('
                            | b')'
                            | b'*'
                            | b'+'
                            | b','
                            | b';'
                            | b'='
                            | b'%'
                    )
            }));
    port_ok && host_ok
}

/// Rewrites the path to its normal form, keeping the query (and, for
/// absolute-form and HTTP/2 targets, the scheme and authority).
fn normalize(parts: &mut Parts) -> Result<(), ProxyError> {
    let path = parts.uri.path();
    if path == "*" {
        return if parts.method == Method::OPTIONS {
            Ok(())
        } else {
            Err(ProxyError::BadRequest("* is a target for OPTIONS only"))
        };
    }
    let normal = match normalize_path(path) {
        Ok(std::borrow::Cow::Borrowed(_)) => return Ok(()),
        Ok(std::borrow::Cow::Owned(p)) => p,
        Err(PathError::NotAbsolute) => {
            return Err(ProxyError::BadRequest("the request path must start with /"))
        }
        Err(PathError::BadEscape) => {
            return Err(ProxyError::BadRequest(
                "invalid percent-encoding in the request path",
            ))
        }
    };
    let pq = match parts.uri.query() {
        Some(q) => format!("{normal}?{q}"),
        None => normal,
    };
    let bad = || ProxyError::BadRequest("invalid request path");
    let mut uri = std::mem::take(&mut parts.uri).into_parts();
    uri.path_and_query = Some(PathAndQuery::try_from(pq).map_err(|_| bad())?);
    parts.uri = Uri::from_parts(uri).map_err(|_| bad())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts() {
        for ok in [
            "a",
            "example.com",
            "a.b:8080",
            "127.0.0.1",
            "127.0.0.1:1",
            "[::1]",
            "[::1]:443",
            "x_y.z",
            "a:",
            "xn--bcher-kva.example",
        ] {
            assert!(valid_host(ok), "{ok}");
        }
        for bad in [
            "",
            ":80",
            "a b",
            "a/b",
            "user@host",
            "a:99999",
            "a:8x",
            "[::1",
            "[]",
            "[zz]",
            "a\\b",
            "[::1]x",
            "host:80:80",
            "a?b",
            "a#b",
        ] {
            assert!(!valid_host(bad), "{bad}");
        }
    }
}
