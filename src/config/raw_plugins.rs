//! The `plugins:` part of the config file schema, as plain serde types.
//!
//! Owns: the shape of `plugins[]`, with `deny_unknown_fields` like the rest
//! of `raw` (doc comments are the schema's descriptions, as there). Must
//! not: interpret values (names, files, sizes and durations are checked by
//! `validate_plugins`) or read the plugin file.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::raw_values::RawSize;
use super::schema;

/// `plugins[]`: a WebAssembly module (proxy-wasm ABI v0.2.1), attached by
/// name to routes, pools and endpoints.
#[derive(Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Plugin")]
pub struct RawPlugin {
    /// Unique plugin name, referenced from `plugins:` lists.
    #[schemars(with = "schema::PluginName")]
    pub name: String,
    /// Path of the `.wasm` or `.wat` module, relative to the config file's
    /// directory.
    pub file: String,
    /// The plugin's configuration, any YAML value; handed to the plugin as
    /// JSON. Shown as `<redacted>` by `GET /config`.
    // Serialised (into `Config::source`) as written: redact before showing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<serde_json::Value>,
    /// What a request gets when the plugin fails (trap, limit exceeded).
    /// Default `fail_closed`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub on_error: Option<RawOnError>,
    /// Resource limits of one plugin instance.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limits: Option<RawPluginLimits>,
}

/// `plugins[].on_error`
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
#[schemars(rename = "OnError")]
pub enum RawOnError {
    /// The request is refused with an error response.
    FailClosed,
    /// The plugin is skipped and the request goes on.
    FailOpen,
}

/// `plugins[].limits`
#[derive(Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "PluginLimits")]
pub struct RawPluginLimits {
    /// Largest linear memory of one instance, 64KiB to 4GiB. Default
    /// `16MiB`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory: Option<RawSize>,
    /// CPU time allowed for one callback, at most `10s`. Default `5ms`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<schema::Duration>")]
    pub time: Option<String>,
    /// Largest request or response body the plugin may see or set, 1B to
    /// 64MiB. Default `1MiB`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<RawSize>,
}
