//! The `access_log` part of the config file schema, as plain serde types.
//!
//! Owns: the shape of `access_log:`, with `deny_unknown_fields` like the
//! rest of `raw`. Must not: interpret values (the path and the field names
//! are checked by `validate_access_log`) or open the log file.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::schema;

/// `access_log`: one line per request, written off the request path.
/// Absent or `null`: no access log; `{}`: JSON lines on stdout.
#[derive(Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "AccessLog")]
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
    #[schemars(with = "Option<Vec<schema::AccessLogFieldName>>", length(min = 1))]
    pub fields: Option<Vec<String>>,
}

/// `access_log.format`
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
#[schemars(rename = "AccessLogFormat")]
pub enum RawAccessLogFormat {
    /// One JSON object per line.
    Json,
    /// The Common Log Format, Switchyard's fields appended as `key=value`.
    Common,
}
