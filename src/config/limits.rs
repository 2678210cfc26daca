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
    /// Time an HTTP/1.1 client has for a whole request head, from the
    /// accept or the head's first byte.
    pub header_read_timeout: Duration,
    /// Time a connection may stay open with no request in flight.
    pub idle_timeout: Duration,
    /// Most connections served at once; `None`: no limit.
    pub max_connections: Option<usize>,
    /// Largest request body, unless the route says; `None`: no limit.
    pub max_body: Option<u64>,
}

impl Default for ListenerLimits {
    fn default() -> Self {
        Self {
            max_header_bytes: defaults::MAX_HEADER_BYTES,
            max_headers: defaults::MAX_HEADERS,
            header_read_timeout: defaults::HEADER_READ_TIMEOUT,
            idle_timeout: defaults::CONN_IDLE_TIMEOUT,
            max_connections: None,
            max_body: None,
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
