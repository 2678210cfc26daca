//! The `access_log` part of the config file schema, as plain serde types.
//!
//! Owns: the shape of `access_log:`, with `deny_unknown_fields` like the
//! rest of `raw`. Must not: interpret values (the path and the field names
//! are checked by `validate_access_log`) or open the log file.

use serde::{Deserialize, Serialize};

/// `access_log:` (absent or `null`: no access log).
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawAccessLog {
    /// `json` (default) or `common`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub format: Option<RawAccessLogFormat>,
    /// `stdout` (default) or a file, relative to the config file's
    /// directory.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// The fields written, in this order; default: all but `query`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fields: Option<Vec<String>>,
}

/// `access_log.format`
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RawAccessLogFormat {
    /// One JSON object per line.
    Json,
    /// The Common Log Format, Switchyard's fields appended as `key=value`.
    Common,
}
