//! A listener's request-head limits and a pool's response-head limit,
//! validated.
//!
//! Owns: `ListenerLimits`, `PoolLimits` and their defaults. Must not: apply
//! them (the listener's connection builder does, in `proxy::server`; the
//! upstream clients do, in `upstream::client`).

use std::time::Duration;

use super::defaults;

/// `listeners[].limits`
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListenerLimits {
    /// Largest request head in bytes; over it: 431.
    pub max_header_bytes: usize,
    /// Most header fields in one HTTP/1.1 request; over it: 431.
    pub max_headers: usize,
    /// Time an HTTP/1.1 connection may wait for a whole request head (also
    /// the keep-alive idle timeout: one timer in hyper).
    pub header_read_timeout: Duration,
    /// Most connections served at once; `None`: no limit.
    pub max_connections: Option<usize>,
}

impl Default for ListenerLimits {
    fn default() -> Self {
        Self {
            max_header_bytes: defaults::MAX_HEADER_BYTES,
            max_headers: defaults::MAX_HEADERS,
            header_read_timeout: defaults::HEADER_READ_TIMEOUT,
            max_connections: None,
        }
    }
}

/// `pools[].limits`
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolLimits {
    /// Largest response head in bytes an endpoint may send; over it: 502.
    pub max_response_header_bytes: usize,
}

impl Default for PoolLimits {
    fn default() -> Self {
        Self {
            max_response_header_bytes: defaults::MAX_RESPONSE_HEADER_BYTES,
        }
    }
}
