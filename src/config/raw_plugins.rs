//! The `plugins:` part of the config file schema, as plain serde types.
//!
//! Owns: the shape of `plugins[]`, with `deny_unknown_fields` like the rest
//! of `raw` (doc comments are the schema's descriptions, as there). Must
//! not: interpret values (names, files, sizes and durations are checked by
//! `validate_plugins`) or read the plugin file.

use std::fmt;

use schemars::JsonSchema;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
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
    #[serde(
        default,
        deserialize_with = "json_config",
        skip_serializing_if = "Option::is_none"
    )]
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

/// Reads `plugins[].config` as serde_json's `Value` does, except that the
/// YAML numbers JSON cannot hold (`.inf`, `-.inf`, `.nan`) are an error:
/// `Value` turns them into `null` without a word, so the plugin would get
/// another value than the one written (found by fuzzing: the config did not
/// survive its own re-serialisation).
fn json_config<'de, D: Deserializer<'de>>(d: D) -> Result<Option<serde_json::Value>, D::Error> {
    Ok(Option::<Json>::deserialize(d)?.map(|j| j.0))
}

/// A JSON value read from YAML, finite numbers only.
struct Json(serde_json::Value);

impl<'de> Deserialize<'de> for Json {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(JsonVisitor).map(Json)
    }
}

struct JsonVisitor;

impl<'de> Visitor<'de> for JsonVisitor {
    type Value = serde_json::Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any value JSON can hold")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
        Ok(v.into())
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok(v.into())
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Ok(v.into())
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        let written = match v {
            v if v.is_nan() => ".nan",
            v if v > 0.0 => ".inf",
            _ => "-.inf",
        };
        serde_json::Number::from_f64(v)
            .map(serde_json::Value::Number)
            .ok_or_else(|| {
                E::custom(format!(
                    "{written} cannot be handed to a plugin: its config is passed as JSON, which has no infinity or NaN"
                ))
            })
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(v.into())
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(v.into())
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(serde_json::Value::Null)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(serde_json::Value::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        Json::deserialize(d).map(|j| j.0)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut out = Vec::new();
        while let Some(Json(v)) = seq.next_element()? {
            out.push(v);
        }
        Ok(serde_json::Value::Array(out))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut out = serde_json::Map::new();
        while let Some((k, Json(v))) = map.next_entry::<String, Json>()? {
            out.insert(k, v);
        }
        Ok(serde_json::Value::Object(out))
    }
}
