//! The `plugins:` part of the config file schema, as plain serde types.
//!
//! Owns: the shape of `plugins[]`, with `deny_unknown_fields` like the rest
//! of `raw`. Must not: interpret values (names, files, sizes and durations
//! are checked by `validate_plugins`) or read the plugin file.

use serde::{Deserialize, Serialize};

use super::raw_values::RawSize;

/// `plugins[]`
#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawPlugin {
    /// Unique plugin name, referenced from `plugins:` lists.
    pub name: String,
    /// Path of the `.wasm` or `.wat` module, relative to the config file's
    /// directory.
    pub file: String,
    /// Plugin configuration, any YAML value; handed to the plugin as JSON.
    /// Serialised (into `Config::source`) as written: redact before showing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<serde_json::Value>,
    /// What a request gets when the plugin fails: `fail_closed` (default)
    /// or `fail_open`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub on_error: Option<RawOnError>,
    /// Resource limits.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limits: Option<RawPluginLimits>,
}

/// `plugins[].on_error`
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RawOnError {
    /// The request is refused.
    FailClosed,
    /// The plugin is skipped and the request goes on.
    FailOpen,
}

/// `plugins[].limits`
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawPluginLimits {
    /// Largest linear memory of one instance.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory: Option<RawSize>,
    /// Time allowed for one plugin callback.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time: Option<String>,
    /// Largest body the plugin may see or set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<RawSize>,
}
