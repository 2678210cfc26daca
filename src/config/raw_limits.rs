//! The `listeners[].limits` and `pools[].limits` parts of the config file
//! schema, as plain serde types.
//!
//! Owns: the shape of a listener's request-head limits and a pool's
//! response-head limit, with
//! `deny_unknown_fields` like the rest of `raw`. Must not: interpret values
//! (`validate_limits` checks ranges).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::raw_values::RawSize;
use super::schema;

/// `listeners[].limits`: what a client may send before the request reaches
/// a route. Breaking a size limit gets `431 Request Header Fields Too
/// Large` and the connection is closed.
#[derive(Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "ListenerLimits")]
pub struct RawListenerLimits {
    /// Largest request head (request line and headers; on HTTP/2 the
    /// decoded header list), 8KiB to 1MiB. Default `64KiB`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_header_bytes: Option<RawSize>,
    /// Most header fields in one HTTP/1.1 request, 1 to 1000. Default `100`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_headers: Option<u32>,
    /// How long an HTTP/1.1 client has to send a whole request head,
    /// counted from the accept (first request) or from the head's first
    /// byte (later requests on a keep-alive connection). A slow or stalled
    /// head (slowloris) is cut off: the connection closes. Default `10s`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<schema::Duration>")]
    pub header_read_timeout: Option<String>,
    /// How long a connection (HTTP/1.1 keep-alive or HTTP/2) may stay open
    /// with no request in flight before the proxy closes it (HTTP/2: with
    /// GOAWAY). Default `60s`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<schema::Duration>")]
    pub idle_timeout: Option<String>,
    /// Largest request body on this listener's routes, such as `10MiB` (0
    /// to 64GiB); a route's own `max_body` wins. Over it: 413. Default: no
    /// limit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_body: Option<RawSize>,
    /// Most connections served at once, 1 to 1000000; beyond it new
    /// connections wait in the listen backlog until one closes. Default:
    /// no limit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_connections: Option<u32>,
}

/// `pools[].limits`: what an endpoint may send back. A response head over
/// the limit gets the client a `502` (`upstream_header_too_large`).
#[derive(Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "PoolLimits")]
pub struct RawPoolLimits {
    /// Largest response head from an endpoint (status line and headers; on
    /// HTTP/2 the decoded header list), 8KiB to 1MiB. Default `64KiB`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_response_header_bytes: Option<RawSize>,
}
