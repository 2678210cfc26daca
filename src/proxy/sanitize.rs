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
use http::{header, HeaderValue, Method, Version};

use super::error::ProxyError;
use crate::routing::{normalize_path, PathError};

/// Checks `parts` and normalises its path in place. Returns the host the
/// request is for, as sent: the URI's authority, else the one `Host`
/// line (none for HTTP/1.0 without Host).
pub(super) fn check(parts: &mut Parts) -> Result<Option<HeaderValue>, ProxyError> {
    if parts.method == Method::CONNECT {
        return Err(ProxyError::MethodNotAllowed("CONNECT"));
    }
    let h1 = matches!(parts.version, Version::HTTP_10 | Version::HTTP_11);
    let host = check_host(parts, h1)?;
    normalize(parts)?;
    Ok(host)
}

fn check_host(parts: &Parts, h1: bool) -> Result<Option<HeaderValue>, ProxyError> {
    let mut hosts = parts.headers.get_all(header::HOST).iter();
    let line = hosts.next();
    if hosts.next().is_some() {
        return Err(ProxyError::BadRequest("more than one Host header"));
    }
    let host = match line {
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
            // It takes precedence over Host (RFC 9112 §3.2.2).
            HeaderValue::from_str(authority.as_str())
                .map(Some)
                .map_err(|_| ProxyError::BadRequest("invalid authority"))
        }
        None if host.is_none() && parts.version != Version::HTTP_10 => {
            Err(ProxyError::BadRequest("missing Host header"))
        }
        None => Ok(line.cloned()),
    }
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
        match memchr::memrchr(b':', s.as_bytes()) {
            Some(i) => (&s[..i], Some(&s[i + 1..])),
            None => (s, None),
        }
    };
    // RFC 3986 lets the port be empty (`host:`).
    let port_ok = port.is_none_or(|p| {
        p.is_empty()
            || (p.len() <= 5 && crate::wire::decimal(p.as_bytes()).is_some_and(|n| n <= 65_535))
    });
    let host_ok = host == "[]"
        || (!host.is_empty()
            && host.len() <= 255
            && host.bytes().all(|b| REG_NAME[usize::from(b)]));
    port_ok && host_ok
}

/// RFC 3986 `reg-name` bytes (unreserved, sub-delims and `%`), as a table:
/// every request's host is checked against it.
static REG_NAME: [bool; 256] = {
    let mut table = [false; 256];
    let mut i = 0;
    while i < 256 {
        let b = i as u8;
        table[i] = b.is_ascii_alphanumeric()
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
            );
        i += 1;
    }
    table
};

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
            "a:65535",
            "a:00080",
            "a%41!$&'()*+,;=~",
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
            "a:65536",
            "a:+80",
            "a:000080",
            "a\u{e9}",
            "a[b",
        ] {
            assert!(!valid_host(bad), "{bad}");
        }
    }
}
