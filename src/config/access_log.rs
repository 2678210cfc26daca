//! The validated `access_log` settings: the format, where lines go, and
//! which fields they carry in which order.
//!
//! Owns: the snapshot types and the field names (the user-facing spelling
//! of each field, shared by validation, the formatter and the docs). Must
//! not: open the file or format a line (that is `crate::access_log`'s job).

use std::path::PathBuf;

/// `access_log:`
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessLog {
    /// How each line is written.
    pub format: AccessLogFormat,
    /// Where lines go.
    pub output: AccessLogOutput,
    /// The fields each line carries, in this order; never empty, no
    /// duplicates.
    pub fields: Vec<AccessLogField>,
}

/// `access_log.format`
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccessLogFormat {
    /// One JSON object per line, keys in `fields` order.
    Json,
    /// `CLIENT - - [TIME] "METHOD PATH PROTOCOL" STATUS BYTES_OUT`, then
    /// the other fields as `key=value`.
    Common,
}

impl AccessLogFormat {
    /// The config spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Json => "json",
            Self::Common => "common",
        }
    }
}

/// `access_log.path`
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccessLogOutput {
    /// The process's standard output.
    Stdout,
    /// A file, opened for appending (created if missing), reopened when it
    /// is renamed or removed.
    File(PathBuf),
}

/// One field of an access log line. The names are user-facing: keep them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AccessLogField {
    /// When the request head arrived (UTC).
    Timestamp,
    /// The listener's name.
    Listener,
    /// The client's IP address (the TCP peer).
    Client,
    /// The request method.
    Method,
    /// The authority (HTTP/2, absolute-form) or `Host` header.
    Host,
    /// The request path, without the query string.
    Path,
    /// The query string, without `?`. Not in the default set.
    Query,
    /// `HTTP/1.0`, `HTTP/1.1` or `HTTP/2.0`.
    Protocol,
    /// The status sent to the client.
    Status,
    /// Request body bytes read from the client.
    BytesIn,
    /// Response body bytes sent to the client.
    BytesOut,
    /// From the request head to the end of the response body, in ms.
    DurationMs,
    /// From sending the last attempt to its response headers, in ms.
    UpstreamDurationMs,
    /// The matched route.
    Route,
    /// The route's pool.
    Pool,
    /// The endpoint of the last attempt.
    Endpoint,
    /// Upstream attempts sent.
    Attempts,
    /// Why the proxy answered itself (`switchyard_proxy_errors_total`'s
    /// `reason`).
    Reason,
    /// The `User-Agent` header.
    UserAgent,
    /// The `X-Request-Id` header.
    RequestId,
}

impl AccessLogField {
    /// Every field, in the default order (`query` included).
    pub const ALL: [Self; 20] = [
        Self::Timestamp,
        Self::Listener,
        Self::Client,
        Self::Method,
        Self::Host,
        Self::Path,
        Self::Query,
        Self::Protocol,
        Self::Status,
        Self::BytesIn,
        Self::BytesOut,
        Self::DurationMs,
        Self::UpstreamDurationMs,
        Self::Route,
        Self::Pool,
        Self::Endpoint,
        Self::Attempts,
        Self::Reason,
        Self::UserAgent,
        Self::RequestId,
    ];

    /// The fields written when `fields` is not given: all but `query`
    /// (query strings may carry secrets).
    pub fn defaults() -> Vec<Self> {
        Self::ALL
            .into_iter()
            .filter(|f| *f != Self::Query)
            .collect()
    }

    /// The config spelling, also the JSON key and the `key=` of `common`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Timestamp => "timestamp",
            Self::Listener => "listener",
            Self::Client => "client",
            Self::Method => "method",
            Self::Host => "host",
            Self::Path => "path",
            Self::Query => "query",
            Self::Protocol => "protocol",
            Self::Status => "status",
            Self::BytesIn => "bytes_in",
            Self::BytesOut => "bytes_out",
            Self::DurationMs => "duration_ms",
            Self::UpstreamDurationMs => "upstream_duration_ms",
            Self::Route => "route",
            Self::Pool => "pool",
            Self::Endpoint => "endpoint",
            Self::Attempts => "attempts",
            Self::Reason => "reason",
            Self::UserAgent => "user_agent",
            Self::RequestId => "request_id",
        }
    }

    /// The field called `name`.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.as_str() == name)
    }
}
