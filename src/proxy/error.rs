//! `ProxyError` and the one mapping from errors to responses.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{header, HeaderValue, Response, StatusCode};

use crate::metrics::Outcome;

/// A reason the proxy answers a request itself.
#[derive(Debug, thiserror::Error)]
pub enum ProxyError {
    /// No route matched.
    #[error("no route matches this request")]
    NoRoute,
    /// The route's pool has no eligible endpoint.
    #[error("no endpoint available in pool {pool:?}")]
    NoEndpoint {
        /// The pool.
        pool: Arc<str>,
    },
    /// The connection to the upstream could not be made.
    #[error("upstream connect failure")]
    Connect {
        /// The cause.
        #[source]
        source: crate::upstream::UpstreamError,
    },
    /// No response headers within the route timeout.
    #[error("upstream timeout after {after:?}")]
    Timeout {
        /// The timeout that elapsed.
        after: Duration,
    },
    /// The upstream connection failed after it was made.
    #[error("upstream connection reset")]
    Reset {
        /// The cause.
        #[source]
        source: crate::upstream::UpstreamError,
    },
    /// The upstream's response head was over the pool's
    /// `max_response_header_bytes`.
    #[error("upstream response header too large")]
    HeaderTooLarge {
        /// The cause.
        #[source]
        source: crate::upstream::UpstreamError,
    },
    /// The request cannot be proxied as sent.
    #[error("bad request: {0}")]
    BadRequest(&'static str),
    /// A `fail_closed` plugin failed.
    #[error("{0}")]
    Plugin(crate::plugin::PluginError),
    /// The request body is bigger than a plugin that reads it may take.
    #[error("request body exceeds the body limit of plugin {plugin:?} ({limit} bytes)")]
    PayloadTooLarge {
        /// The refusing plugin.
        plugin: Arc<str>,
        /// The largest body the reading plugins take.
        limit: usize,
    },
    /// The upstream switched protocols (101) for a request that did not
    /// ask for an upgrade.
    #[error("upstream switched protocols unasked")]
    UnexpectedUpgrade,
    /// The client did not send its body in time.
    #[error("request body not received within {after:?}")]
    RequestTimeout {
        /// The timeout that elapsed.
        after: Duration,
    },
    /// The request body is bigger than the route's `max_body`.
    #[error("request body larger than max_body ({limit} bytes)")]
    BodyTooLarge {
        /// `max_body` in bytes.
        limit: u64,
    },
    /// The request body broke off or was malformed (a bad chunk).
    #[error("request body unreadable: {0}")]
    BadBody(String),
    /// A method the proxy does not forward (CONNECT: it is no forward
    /// proxy).
    #[error("method not allowed: {0}")]
    MethodNotAllowed(&'static str),
    /// A route's or pool's `max_concurrent_requests` is reached: shed.
    #[error("{scope} {name:?} is at its concurrency limit")]
    Overloaded {
        /// `route` or `pool`.
        scope: &'static str,
        /// Its name.
        name: Arc<str>,
    },
}

impl ProxyError {
    /// The status the client gets.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::NoRoute => StatusCode::NOT_FOUND,
            Self::NoEndpoint { .. } => StatusCode::SERVICE_UNAVAILABLE,
            Self::Connect { .. } => StatusCode::BAD_GATEWAY,
            Self::Timeout { .. } => StatusCode::GATEWAY_TIMEOUT,
            Self::Reset { .. } => StatusCode::BAD_GATEWAY,
            Self::HeaderTooLarge { .. } => StatusCode::BAD_GATEWAY,
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::RequestTimeout { .. } => StatusCode::REQUEST_TIMEOUT,
            Self::Plugin(_) => StatusCode::INTERNAL_SERVER_ERROR,
            Self::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnexpectedUpgrade => StatusCode::BAD_GATEWAY,
            Self::BodyTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Self::BadBody(_) => StatusCode::BAD_REQUEST,
            Self::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            Self::Overloaded { .. } => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    /// The `reason` label of `switchyard_proxy_errors_total`.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::NoRoute => "no_route",
            Self::NoEndpoint { .. } => "no_endpoint",
            Self::Connect { .. } => "connect",
            Self::Timeout { .. } => "timeout",
            Self::Reset { .. } => "reset",
            Self::HeaderTooLarge { .. } => "upstream_header_too_large",
            Self::BadRequest(_) => "bad_request",
            Self::RequestTimeout { .. } => "request_timeout",
            Self::Plugin(_) => "plugin",
            Self::PayloadTooLarge { .. } => "payload_too_large",
            Self::UnexpectedUpgrade => "unexpected_upgrade",
            Self::BodyTooLarge { .. } => "body_too_large",
            Self::BadBody(_) => "bad_body",
            Self::MethodNotAllowed(_) => "method_not_allowed",
            Self::Overloaded { scope: "route", .. } => "route_overloaded",
            Self::Overloaded { .. } => "pool_overloaded",
        }
    }

    /// Whether the client's connection must close after this answer (HTTP/1:
    /// its request body was not read to the end).
    pub fn closes_connection(&self) -> bool {
        matches!(self, Self::BodyTooLarge { .. } | Self::BadBody(_))
    }

    /// The client's request body error, if the upstream request failed
    /// because of it: the failure is the client's, not the endpoint's.
    pub fn from_client_body(err: &crate::upstream::UpstreamError) -> Option<Self> {
        use crate::upstream::BodyError;
        match BodyError::find(err)? {
            BodyError::TooLarge { limit } => Some(Self::BodyTooLarge { limit: *limit }),
            BodyError::Read(e) => Some(Self::BadBody(e.to_string())),
        }
    }

    /// The upstream outcome this error stands for, if it involved one (an
    /// oversized head is a `Reset`: the proxy drops the connection).
    pub fn outcome(&self) -> Option<Outcome> {
        match self {
            Self::Connect { .. } => Some(Outcome::ConnectError),
            Self::Timeout { .. } => Some(Outcome::Timeout),
            Self::Reset { .. } | Self::HeaderTooLarge { .. } => Some(Outcome::Reset),
            Self::NoRoute
            | Self::NoEndpoint { .. }
            | Self::BadRequest(_)
            | Self::RequestTimeout { .. }
            | Self::Plugin(_)
            | Self::PayloadTooLarge { .. }
            | Self::UnexpectedUpgrade
            | Self::BodyTooLarge { .. }
            | Self::BadBody(_)
            | Self::MethodNotAllowed(_)
            | Self::Overloaded { .. } => None,
        }
    }

    /// The short plain-text body naming the cause.
    pub fn body(&self) -> Bytes {
        let text = match self {
            Self::NoRoute => "no route matches this request\n".to_string(),
            Self::NoEndpoint { pool } => format!("no endpoint available in pool {pool}\n"),
            Self::Connect { .. } => "upstream connect failure\n".to_string(),
            Self::Timeout { .. } => "upstream timeout\n".to_string(),
            Self::Reset { .. } => "upstream connection reset\n".to_string(),
            Self::HeaderTooLarge { .. } => "upstream response header too large\n".to_string(),
            Self::BadRequest(why) => format!("bad request: {why}\n"),
            Self::RequestTimeout { .. } => "request body not received in time\n".to_string(),
            Self::Plugin(e) => format!("plugin {} failed\n", e.plugin),
            Self::PayloadTooLarge { limit, .. } => {
                format!("request body exceeds the plugin body limit of {limit} bytes\n")
            }
            Self::UnexpectedUpgrade => "upstream switched protocols unasked\n".to_string(),
            Self::BodyTooLarge { limit } => {
                format!("request body larger than the limit of {limit} bytes\n")
            }
            Self::BadBody(_) => "request body could not be read\n".to_string(),
            Self::MethodNotAllowed(m) => format!("method {m} is not allowed\n"),
            Self::Overloaded { scope, name } => {
                format!("{scope} {name} is overloaded, retry later\n")
            }
        };
        Bytes::from(text)
    }

    /// The gRPC status code for this error, as gRPC clients expect from a
    /// proxy (close to Envoy's HTTP-to-gRPC mapping): nothing routable or
    /// reachable is UNAVAILABLE, no route UNIMPLEMENTED, timeouts
    /// DEADLINE_EXCEEDED, a body too big RESOURCE_EXHAUSTED, the rest
    /// INTERNAL.
    pub fn grpc_status(&self) -> u32 {
        match self {
            Self::NoRoute => 12,
            Self::NoEndpoint { .. }
            | Self::Connect { .. }
            | Self::Reset { .. }
            | Self::HeaderTooLarge { .. } => 14,
            Self::Timeout { .. } | Self::RequestTimeout { .. } => 4,
            Self::PayloadTooLarge { .. } | Self::BodyTooLarge { .. } => 8,
            Self::Overloaded { .. } => 14,
            Self::BadRequest(_)
            | Self::Plugin(_)
            | Self::UnexpectedUpgrade
            | Self::BadBody(_)
            | Self::MethodNotAllowed(_) => 13,
        }
    }

    /// Builds the synthetic response for a gRPC request: a "trailers-only"
    /// response, HTTP 200 with `grpc-status` and `grpc-message` in the
    /// headers and no body, which gRPC clients read as a failed call.
    pub fn to_grpc_response<B>(&self, body: impl FnOnce(Bytes) -> B) -> Response<B> {
        let mut resp = Response::new(body(Bytes::new()));
        let headers = resp.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/grpc"),
        );
        headers.insert("grpc-status", HeaderValue::from(self.grpc_status()));
        let text = self.body();
        let message = grpc_percent_encode(String::from_utf8_lossy(&text).trim_end());
        if let Ok(v) = HeaderValue::from_str(&message) {
            headers.insert("grpc-message", v);
        }
        resp
    }

    /// Builds the synthetic response.
    pub fn to_response<B>(&self, body: impl FnOnce(Bytes) -> B) -> Response<B> {
        let mut resp = Response::new(body(self.body()));
        *resp.status_mut() = self.status();
        let headers = resp.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        );
        if self.closes_connection() {
            // hyper drops it on HTTP/2, where it is not allowed.
            headers.insert(header::CONNECTION, HeaderValue::from_static("close"));
        }
        if let Self::Overloaded { .. } = self {
            headers.insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        if let Self::MethodNotAllowed(_) = self {
            headers.insert(header::ALLOW, HeaderValue::from_static(ALLOWED));
        }
        resp
    }
}

impl From<crate::upstream::BodyError> for ProxyError {
    fn from(e: crate::upstream::BodyError) -> Self {
        match e {
            crate::upstream::BodyError::TooLarge { limit } => Self::BodyTooLarge { limit },
            crate::upstream::BodyError::Read(e) => Self::BadBody(e.to_string()),
        }
    }
}

/// The methods the proxy forwards (all but CONNECT), for `Allow`.
const ALLOWED: &str = "GET, HEAD, POST, PUT, DELETE, OPTIONS, TRACE, PATCH";

/// The `reason` of `switchyard_proxy_errors_total` (and of the access log)
/// for a response the proxy cut short because the upstream's body broke
/// off: reset, closed before its announced end, or malformed. The client
/// already has the head, so it gets an incomplete body instead of a status.
pub const INCOMPLETE_BODY: &str = "incomplete_body";

/// The access log's reason for a request the client gave up on: before
/// the response (status 499), or while its body streamed (the status sent).
pub const CLIENT_CLOSED: &str = "client_closed";

/// An error and its causes, `: `-joined, for log lines (hyper's errors
/// name only their kind; the I/O error behind one is in its sources). A
/// cause whose text the line already ends with is not repeated.
pub struct Chain<'a>(pub &'a (dyn std::error::Error + 'static));

impl std::fmt::Display for Chain<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut text = self.0.to_string();
        let mut next = self.0.source();
        // Bounded: a cause chain is short, and this stops at 16 anyway.
        for _ in 0..16 {
            let Some(cause) = next else { break };
            let t = cause.to_string();
            if !text.ends_with(&t) {
                text.push_str(": ");
                text.push_str(&t);
            }
            next = cause.source();
        }
        f.write_str(&text)
    }
}

/// Whether a request is a gRPC call (`content-type: application/grpc`,
/// with or without a `+proto`-style suffix).
pub fn is_grpc(headers: &http::HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| {
            ct.strip_prefix("application/grpc").is_some_and(|rest| {
                rest.is_empty() || rest.starts_with('+') || rest.starts_with(';')
            })
        })
}

/// gRPC's percent-encoding of `grpc-message`: bytes outside printable
/// ASCII, and `%`, as `%XX`.
fn grpc_percent_encode(text: &str) -> String {
    use std::fmt::Write;
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if (0x20..=0x7e).contains(&b) && b != b'%' {
            out.push(char::from(b));
        } else {
            write!(out, "%{b:02X}").ok();
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grpc_requests_get_trailers_only_status_responses() {
        let mut h = http::HeaderMap::new();
        assert!(!is_grpc(&h));
        for (ct, want) in [
            ("application/grpc", true),
            ("application/grpc+proto", true),
            ("application/grpc-web", false),
            ("application/json", false),
        ] {
            h.insert(header::CONTENT_TYPE, HeaderValue::from_static(ct));
            assert_eq!(is_grpc(&h), want, "{ct}");
        }
        let cases = [
            (ProxyError::NoRoute, 12),
            (ProxyError::NoEndpoint { pool: "p".into() }, 14),
            (
                ProxyError::Timeout {
                    after: Duration::from_secs(1),
                },
                4,
            ),
            (ProxyError::BadRequest("x"), 13),
        ];
        for (err, code) in cases {
            let resp = err.to_grpc_response(|b| b);
            assert_eq!(resp.status(), StatusCode::OK);
            assert!(resp.body().is_empty());
            assert_eq!(resp.headers()["content-type"], "application/grpc");
            assert_eq!(resp.headers()["grpc-status"], code.to_string().as_str());
            assert!(resp.headers().contains_key("grpc-message"));
        }
        assert_eq!(grpc_percent_encode("50% off\né"), "50%25 off%0A%C3%A9");
    }

    #[test]
    fn a_chain_names_each_cause_once() {
        #[derive(Debug, thiserror::Error)]
        #[error("kind only")]
        struct Kind(#[source] Named);
        #[derive(Debug, thiserror::Error)]
        #[error("named: {0}")]
        struct Named(#[source] std::io::Error);
        let io = || std::io::Error::new(std::io::ErrorKind::ConnectionReset, "reset by peer");
        assert_eq!(Chain(&Named(io())).to_string(), "named: reset by peer");
        assert_eq!(
            Chain(&Kind(Named(io()))).to_string(),
            "kind only: named: reset by peer"
        );
    }

    #[test]
    fn each_error_maps_to_its_status_and_reason() {
        let cases = [
            (ProxyError::NoRoute, 404, "no_route"),
            (
                ProxyError::NoEndpoint { pool: "p".into() },
                503,
                "no_endpoint",
            ),
            (
                ProxyError::Timeout {
                    after: Duration::from_secs(1),
                },
                504,
                "timeout",
            ),
            (ProxyError::BadRequest("x"), 400, "bad_request"),
            (ProxyError::UnexpectedUpgrade, 502, "unexpected_upgrade"),
            (
                ProxyError::RequestTimeout {
                    after: Duration::from_secs(1),
                },
                408,
                "request_timeout",
            ),
        ];
        for (err, status, reason) in cases {
            assert_eq!(err.status().as_u16(), status, "{err}");
            assert_eq!(err.reason(), reason);
            let resp = err.to_response(|b| b);
            assert_eq!(resp.status().as_u16(), status);
            assert!(!resp.body().is_empty());
            assert_eq!(
                resp.headers()[header::CONTENT_TYPE],
                "text/plain; charset=utf-8"
            );
        }
    }
}
