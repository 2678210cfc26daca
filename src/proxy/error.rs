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
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::RequestTimeout { .. } => StatusCode::REQUEST_TIMEOUT,
            Self::Plugin(_) => StatusCode::INTERNAL_SERVER_ERROR,
            Self::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnexpectedUpgrade => StatusCode::BAD_GATEWAY,
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
            Self::BadRequest(_) => "bad_request",
            Self::RequestTimeout { .. } => "request_timeout",
            Self::Plugin(_) => "plugin",
            Self::PayloadTooLarge { .. } => "payload_too_large",
            Self::UnexpectedUpgrade => "unexpected_upgrade",
        }
    }

    /// The upstream outcome this error stands for, if it involved one.
    pub fn outcome(&self) -> Option<Outcome> {
        match self {
            Self::Connect { .. } => Some(Outcome::ConnectError),
            Self::Timeout { .. } => Some(Outcome::Timeout),
            Self::Reset { .. } => Some(Outcome::Reset),
            Self::NoRoute
            | Self::NoEndpoint { .. }
            | Self::BadRequest(_)
            | Self::RequestTimeout { .. }
            | Self::Plugin(_)
            | Self::PayloadTooLarge { .. }
            | Self::UnexpectedUpgrade => None,
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
            Self::BadRequest(why) => format!("bad request: {why}\n"),
            Self::RequestTimeout { .. } => "request body not received in time\n".to_string(),
            Self::Plugin(e) => format!("plugin {} failed\n", e.plugin),
            Self::PayloadTooLarge { limit, .. } => {
                format!("request body exceeds the plugin body limit of {limit} bytes\n")
            }
            Self::UnexpectedUpgrade => "upstream switched protocols unasked\n".to_string(),
        };
        Bytes::from(text)
    }

    /// Builds the synthetic response.
    pub fn to_response<B>(&self, body: impl FnOnce(Bytes) -> B) -> Response<B> {
        let mut resp = Response::new(body(self.body()));
        *resp.status_mut() = self.status();
        resp.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        );
        resp
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
