//! The admin token: which admin requests need it, the check of the
//! `Authorization: Bearer` header, and the answer when it is missing or
//! wrong.
//!
//! Protected, when `admin.token` is set: `GET /config`, `POST /reload`, and
//! every request to an extension (the demo's `/demo/` controls) other than
//! `GET` and `HEAD`. Everything else on the admin listener only reads
//! figures that carry no secret and stays open, so probes and scrapers need
//! no token. Both refusals are `401` as RFC 6750 §3.1 has it (a wrong token
//! is `invalid_token`, also a 401; 403 is for a valid token without enough
//! scope, which a single token has no use for). Must not: log, echo or
//! count the token or what the client sent.

use std::net::SocketAddr;

use bytes::Bytes;
use http::{header, HeaderMap, HeaderValue, Method, Response, StatusCode};
use http_body_util::Full;

use crate::config::Secret;
use crate::metrics::AdminMetrics;

/// The realm named in `WWW-Authenticate`.
const CHALLENGE: &str = "Bearer realm=\"switchyard-admin\"";
/// The challenge for a wrong token (RFC 6750 §3.1).
const CHALLENGE_INVALID: &str = "Bearer realm=\"switchyard-admin\", error=\"invalid_token\"";

/// Whether `method path` needs the token when one is configured;
/// `extension`: the path belongs to a plugged-in extension.
pub fn protected(method: &Method, path: &str, extension: bool) -> bool {
    match (method, path) {
        (&Method::GET, "/config") | (&Method::POST, "/reload") => true,
        _ => extension && method != Method::GET && method != Method::HEAD,
    }
}

/// Why a protected request was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// No `Authorization: Bearer` credentials.
    Missing,
    /// Credentials that are not the token.
    Invalid,
}

impl Refusal {
    /// The `reason` label and log field.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Missing => "missing",
            Self::Invalid => "invalid",
        }
    }
}

/// Checks `headers` against `token`.
pub fn check(token: &Secret, headers: &HeaderMap) -> Result<(), Refusal> {
    let credentials = headers
        .get(header::AUTHORIZATION)
        .and_then(bearer)
        .ok_or(Refusal::Missing)?;
    if token.matches(credentials) {
        Ok(())
    } else {
        Err(Refusal::Invalid)
    }
}

/// The credentials of a `Bearer` authorization (the scheme is
/// case-insensitive, RFC 9110 §11.1); `None` for another scheme.
fn bearer(value: &HeaderValue) -> Option<&[u8]> {
    let bytes = value.as_bytes();
    let space = bytes.iter().position(|b| *b == b' ')?;
    let (scheme, rest) = bytes.split_at(space);
    if !scheme.eq_ignore_ascii_case(b"bearer") {
        return None;
    }
    let start = rest.iter().position(|b| *b != b' ')?;
    let end = rest.iter().rposition(|b| *b != b' ' && *b != b'\t')?;
    rest.get(start..=end)
}

/// Counts and logs a refusal, and builds the 401.
pub fn refuse(
    refusal: Refusal,
    metrics: &AdminMetrics,
    peer: SocketAddr,
    method: &Method,
    path: &str,
) -> Response<Full<Bytes>> {
    let (body, challenge) = match refusal {
        Refusal::Missing => {
            metrics.missing.inc();
            (
                "admin token required: send `Authorization: Bearer TOKEN` (admin.token)\n",
                CHALLENGE,
            )
        }
        Refusal::Invalid => {
            metrics.invalid.inc();
            ("admin token rejected\n", CHALLENGE_INVALID)
        }
    };
    tracing::warn!(
        peer = %peer,
        method = %method,
        path,
        reason = refusal.as_str(),
        "Admin request refused: admin token missing or wrong."
    );
    let mut resp = Response::new(Full::new(Bytes::from_static(body.as_bytes())));
    *resp.status_mut() = StatusCode::UNAUTHORIZED;
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    h.insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static(challenge),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::AUTHORIZATION, HeaderValue::from_str(value).unwrap());
        h
    }

    fn token() -> Secret {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t");
        std::fs::write(&path, "s3cr3t-token-value\n").unwrap();
        crate::config::SecretSource::File(path).read().unwrap()
    }

    #[test]
    fn bearer_credentials() {
        let t = token();
        assert_eq!(check(&t, &HeaderMap::new()), Err(Refusal::Missing));
        for ok in [
            "Bearer s3cr3t-token-value",
            "bearer s3cr3t-token-value",
            "BEARER   s3cr3t-token-value ",
        ] {
            assert_eq!(check(&t, &headers(ok)), Ok(()), "{ok}");
        }
        for missing in [
            "Basic s3cr3t-token-value",
            "Bearer",
            "Bearer ",
            "s3cr3t-token-value",
        ] {
            assert_eq!(
                check(&t, &headers(missing)),
                Err(Refusal::Missing),
                "{missing}"
            );
        }
        for invalid in [
            "Bearer s3cr3t-token-valuE",
            "Bearer s3cr3t-token-value2",
            "Bearer s3cr3t",
            "Bearer s3cr3t-token-value x",
        ] {
            assert_eq!(
                check(&t, &headers(invalid)),
                Err(Refusal::Invalid),
                "{invalid}"
            );
        }
    }

    #[test]
    fn what_is_protected() {
        assert!(protected(&Method::GET, "/config", false));
        assert!(protected(&Method::POST, "/reload", false));
        assert!(protected(&Method::POST, "/demo/vendors/a/errors", true));
        assert!(protected(&Method::DELETE, "/demo/vendors", true));
        for (m, p) in [
            (Method::GET, "/"),
            (Method::GET, "/status"),
            (Method::GET, "/metrics"),
            (Method::GET, "/healthz"),
            (Method::GET, "/readyz"),
            (Method::GET, "/upstreams"),
            (Method::GET, "/plugins"),
            (Method::GET, "/tls"),
            (Method::POST, "/config"),
            (Method::GET, "/reload"),
        ] {
            assert!(!protected(&m, p, false), "{m} {p}");
        }
        assert!(!protected(&Method::GET, "/demo/vendors", true));
        assert!(!protected(&Method::HEAD, "/demo/vendors", true));
    }
}
