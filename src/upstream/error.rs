//! Why an upstream exchange failed (`UpstreamError`), whichever client
//! performed it (hyper's connections or the inline HTTP/1.1 exchange), and
//! a failed send with the request back when none of it went out.

use super::body::RequestBody as UpstreamBody;
use super::h1::InlineError;
use super::response::StreamError;

/// Why an upstream exchange failed.
#[derive(Debug, thiserror::Error)]
pub enum UpstreamError {
    /// TCP connect failed or timed out, or the HTTP handshake failed.
    #[error("connect to {authority} failed: {source}")]
    Connect {
        /// `host:port`.
        authority: String,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
    /// The TLS handshake failed: the certificate did not verify, the
    /// server refused ours, or it would not speak the pool's protocol.
    #[error("TLS handshake with {authority} failed: {source}")]
    Tls {
        /// `host:port`.
        authority: String,
        /// Cause (a `rustls::Error` inside, for verification failures).
        #[source]
        source: std::io::Error,
    },
    /// The connection failed after the request was (partly) sent, or the
    /// upstream answered with something that is not HTTP.
    #[error("upstream connection failed: {0}")]
    Reset(#[source] StreamError),
    /// The response head was over `limit` bytes (HTTP/1.1), or had more
    /// header fields than hyper or the inline codec takes (100).
    #[error("upstream response head larger than {limit} bytes: {source}")]
    HeadTooLarge {
        /// The pool's `max_response_header_bytes`.
        limit: usize,
        /// Cause.
        #[source]
        source: StreamError,
    },
}

/// A failed send, with the request's body back when the request provably
/// never reached the upstream (so it may be sent elsewhere, whatever its
/// method).
#[derive(Debug)]
pub struct SendFailure {
    /// What went wrong.
    pub error: UpstreamError,
    /// The request's body, if none of the request was sent (a retry sends
    /// it again with its own copy of the head). Boxed: failures are rare,
    /// and the `Result` a successful exchange returns in is moved several
    /// times per request.
    pub unsent: Option<Box<UpstreamBody>>,
}

impl SendFailure {
    /// `error`, with the body of `unsent` when none of it was sent.
    pub(super) fn new(error: UpstreamError, unsent: Option<http::Request<UpstreamBody>>) -> Self {
        Self {
            error,
            unsent: unsent.map(|r| Box::new(r.into_body())),
        }
    }
}

impl UpstreamError {
    /// Whether the connection could not be made at all (TCP or TLS).
    pub fn is_connect(&self) -> bool {
        matches!(self, Self::Connect { .. } | Self::Tls { .. })
    }

    /// An exchange that failed after the connection was made: a response
    /// head over `limit` is told apart from the rest.
    pub(super) fn exchange(source: hyper::Error, limit: usize) -> Self {
        Self::failed(StreamError::Hyper(source), limit)
    }

    /// An inline exchange that failed, told apart the same way.
    pub(super) fn inline(source: InlineError, limit: usize) -> Self {
        Self::failed(StreamError::Inline(source), limit)
    }

    fn failed(source: StreamError, limit: usize) -> Self {
        if source.is_head_too_large() {
            Self::HeadTooLarge { limit, source }
        } else {
            Self::Reset(source)
        }
    }
}
