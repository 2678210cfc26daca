//! The JSON Schema of the config file (`switchyard schema`,
//! `config/switchyard.schema.json`), so that editors complete and check keys.
//!
//! Owns: the generator settings, the root's title and `$id`, and the schemas
//! of values the derive on the `raw` types cannot describe: durations,
//! sizes, shares, statuses, names, "one item or a list" and the few strings
//! validation reads from a fixed set. Shapes follow the deserializer exactly
//! (unknown keys rejected, `null` allowed where a key is optional); formats
//! that need no context are checked too. Must not: validate configs (the
//! loader does that, with every problem's path); cross-references, ranges
//! that depend on other keys, addresses, URLs and files are left to it.

use std::borrow::Cow;

use schemars::generate::SchemaSettings;
use schemars::transform::RecursiveTransform;
use schemars::{json_schema, JsonSchema, Schema, SchemaGenerator};
use serde_json::Value;

use super::access_log::AccessLogField;
use super::raw::RawConfig;
use super::raw_values::{OneOrMany, RawShare, RawSize, RawStatus};
use super::resilience::RetryOn;

/// The `$id` of the schema: names the config version it describes. There is
/// no hosted copy; editors use the file next to the configs.
pub const SCHEMA_ID: &str = "urn:switchyard:config:v1";

/// The JSON Schema (draft 2020-12) of the config file, pretty-printed with
/// a trailing newline: what `switchyard schema` prints and
/// `config/switchyard.schema.json` holds.
pub fn schema_json() -> String {
    let mut schema = SchemaSettings::draft2020_12()
        .with_transform(RecursiveTransform(unwrap_description))
        .into_generator()
        .into_root_schema_for::<RawConfig>();
    schema.insert("$id".into(), SCHEMA_ID.into());
    format!("{:#}\n", schema.as_value())
}

/// Doc comments are wrapped at 80 columns; editors show descriptions as
/// Markdown, so the line breaks inside a paragraph only add noise. Blank
/// lines and list items keep theirs.
fn unwrap_description(schema: &mut Schema) {
    let Some(Value::String(text)) = schema.get_mut("description") else {
        return;
    };
    let mut out = String::with_capacity(text.len());
    let mut previous_blank = true;
    for line in text.lines() {
        let line = line.trim();
        let blank = line.is_empty();
        if !out.is_empty() {
            if blank || previous_blank || line.starts_with("- ") {
                out.push('\n');
            } else {
                out.push(' ');
            }
        }
        out.push_str(line);
        previous_blank = blank;
    }
    *text = out;
}

/// Container transforms for the lists that must not be empty: the
/// deserializer defaults them to `[]` (so that validation reports a missing
/// one along with every other problem), which the derive reads as optional
/// with a default; but a config without one is invalid, so the schema
/// requires it.
pub(super) fn require_listeners(schema: &mut Schema) {
    require(schema, "listeners");
}

/// See `require_listeners`.
pub(super) fn require_endpoints(schema: &mut Schema) {
    require(schema, "endpoints");
}

/// See `require_listeners`.
pub(super) fn require_certificates(schema: &mut Schema) {
    require(schema, "certificates");
}

fn require(schema: &mut Schema, key: &str) {
    if let Some(Value::Object(property)) = schema.get_mut("properties").and_then(|p| p.get_mut(key))
    {
        property.remove("default");
    }
    match schema.get_mut("required") {
        Some(Value::Array(required)) => required.push(key.into()),
        _ => {
            schema.insert("required".into(), serde_json::json!([key]));
        }
    }
}

/// A text value, for `#[schemars(with = ..)]`: names and header values.
/// YAML reads `2024`, `1.5` and `true` as numbers and booleans, and the
/// loader takes them as their text, so the schema allows them too.
fn scalar_text(mut schema: Schema, description: &str) -> Schema {
    schema.insert(
        "type".into(),
        serde_json::json!(["string", "number", "boolean"]),
    );
    schema.insert("description".into(), description.into());
    schema
}

/// `version`: the integer 1.
pub(super) struct Version;

/// A duration such as `250ms`, `5s` or `1m30s`, or `0`.
pub(super) struct Duration;

/// A name of a listener, route, pool or endpoint, or a reference to one.
pub(super) struct Name;

/// A plugin name, or a reference to one.
pub(super) struct PluginName;

/// A header value: text, or a YAML number or boolean read as its text.
pub(super) struct HeaderValue;

/// One item of `routes[].retries.on`.
pub(super) struct RetryOnName;

/// `scoring.source: local`.
pub(super) struct LocalSource;

/// One item of `access_log.fields`.
pub(super) struct AccessLogFieldName;

// === impl Version ===

impl JsonSchema for Version {
    fn schema_name() -> Cow<'static, str> {
        "Version".into()
    }

    fn inline_schema() -> bool {
        true
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({ "type": "integer", "const": 1 })
    }
}

// === impl Duration ===

impl JsonSchema for Duration {
    fn schema_name() -> Cow<'static, str> {
        "Duration".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "A duration: one or more NUMBER UNIT parts with nothing in between, such as `250ms`, `5s`, `1.5s` or `1m30s` (units `ms`, `s`, `m`, `h`; also `us` and `d`), or `0` where zero is allowed. A bare number other than 0 is an error.",
            "anyOf": [
                {
                    "type": "string",
                    "pattern": "^\\s*(0|(([0-9]+\\.?[0-9]*|\\.[0-9]+)(us|µs|ms|s|m|h|d))+)\\s*$",
                    "patternErrorMessage": "a duration such as 250ms, 5s or 1m30s (units ms, s, m, h), or 0"
                },
                { "type": "integer", "const": 0 }
            ]
        })
    }
}

// === impl Name ===

impl JsonSchema for Name {
    fn schema_name() -> Cow<'static, str> {
        "Name".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        let schema = json_schema!({
            "pattern": "^[A-Za-z0-9._-]{1,128}$",
            "patternErrorMessage": "1 to 128 letters, digits, '-', '_' or '.'"
        });
        scalar_text(
            schema,
            "A name: 1 to 128 ASCII letters, digits, `-`, `_` or `.`. Names appear in metric labels and logs.",
        )
    }
}

// === impl PluginName ===

impl JsonSchema for PluginName {
    fn schema_name() -> Cow<'static, str> {
        "PluginName".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        let pattern = format!("^[A-Za-z0-9._-]{{1,{}}}$", super::defaults::MAX_PLUGIN_NAME);
        let schema = json_schema!({
            "pattern": pattern,
            "patternErrorMessage": format!(
                "1 to {} letters, digits, '-', '_' or '.'",
                super::defaults::MAX_PLUGIN_NAME
            ),
        });
        scalar_text(
            schema,
            "A plugin name, declared under top-level `plugins`: 1 to 64 ASCII letters, digits, `-`, `_` or `.`.",
        )
    }
}

// === impl HeaderValue ===

impl JsonSchema for HeaderValue {
    fn schema_name() -> Cow<'static, str> {
        "HeaderValue".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        scalar_text(
            Schema::default(),
            "A header value. A YAML number or boolean (`2`, `true`) is read as its text.",
        )
    }
}

// === impl RetryOnName ===

impl JsonSchema for RetryOnName {
    fn schema_name() -> Cow<'static, str> {
        "RetryOn".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        let names: Vec<&str> = RetryOn::ALL.iter().map(|c| c.as_str()).collect();
        json_schema!({
            "description": "A failure that is retried: `connect_error` (no connection could be made; retried for any method), `reset` (the connection failed before response headers), `timeout` (no response headers within `per_try_timeout`), `http_5xx` (a 5xx response) or `http_429` (a 429 response).",
            "type": "string",
            "enum": names
        })
    }
}

// === impl AccessLogFieldName ===

impl JsonSchema for AccessLogFieldName {
    fn schema_name() -> Cow<'static, str> {
        "AccessLogField".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        let names: Vec<&str> = AccessLogField::ALL.iter().map(|f| f.as_str()).collect();
        json_schema!({
            "description": "A field of an access log line (docs/CONFIG.md, access_log, lists each with its unit). `query` is off unless listed: query strings may carry secrets.",
            "type": "string",
            "enum": names
        })
    }
}

// === impl LocalSource ===

impl JsonSchema for LocalSource {
    fn schema_name() -> Cow<'static, str> {
        "LocalSource".into()
    }

    fn inline_schema() -> bool {
        true
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({ "type": "string", "const": "local" })
    }
}

// === impl RawShare ===

impl JsonSchema for RawShare {
    fn schema_name() -> Cow<'static, str> {
        "Share".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "A share of a whole: a number from 0 to 1 (`0.2`) or a percentage (`20%`). A number in quotes (`\"0.2\"`) is a fraction.",
            "anyOf": [
                { "type": "number", "minimum": 0, "maximum": 1 },
                {
                    "type": "string",
                    "pattern": "^\\s*([0-9]+\\.?[0-9]*|\\.[0-9]+)\\s*%?\\s*$",
                    "patternErrorMessage": "a fraction from 0 to 1 (0.2) or a percentage (20%)"
                }
            ]
        })
    }
}

// === impl RawStatus ===

impl JsonSchema for RawStatus {
    fn schema_name() -> Cow<'static, str> {
        "Status".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "An HTTP status (`200`), an inclusive range (`\"200-399\"`) or a class (`\"2xx\"`), all within 100 to 599.",
            "anyOf": [
                { "type": "integer", "minimum": 100, "maximum": 599 },
                {
                    "type": "string",
                    "pattern": "^\\s*([1-5](xx|XX)|[0-9]+\\s*-\\s*[0-9]+|[0-9]+)\\s*$",
                    "patternErrorMessage": "a status (200), a range (200-399) or a class (2xx)"
                }
            ]
        })
    }
}

// === impl RawSize ===

impl JsonSchema for RawSize {
    fn schema_name() -> Cow<'static, str> {
        "Size".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "A size in bytes: a whole number (`65536`), optionally followed by a unit, after at most one space (`64KiB`, `16 MiB`). Units: `B`, `KiB`, `MiB`, `GiB` (powers of 1024), `KB`, `MB`, `GB` (powers of 1000), case-sensitive.",
            "anyOf": [
                { "type": "integer", "minimum": 0 },
                {
                    "type": "string",
                    "pattern": "^\\s*[0-9]+( ?(B|KiB|MiB|GiB|KB|MB|GB))?\\s*$",
                    "patternErrorMessage": "a whole number of bytes, optionally with a unit such as 16MiB"
                }
            ]
        })
    }
}

// === impl OneOrMany ===

impl<T: JsonSchema> JsonSchema for OneOrMany<T> {
    fn schema_name() -> Cow<'static, str> {
        format!("OneOrMany_{}", T::schema_name()).into()
    }

    fn inline_schema() -> bool {
        true
    }

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        let item = generator.subschema_for::<T>();
        json_schema!({
            "anyOf": [
                item,
                { "type": "array", "items": item, "minItems": 1 }
            ]
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The `pattern` of the string branch of `T`'s schema, as a Rust regex
    /// (the patterns use only syntax that ECMA-262 and `regex` share).
    fn string_pattern<T: JsonSchema>() -> regex::Regex {
        let schema = T::json_schema(&mut SchemaGenerator::default());
        let pattern = schema.as_value()["anyOf"]
            .as_array()
            .and_then(|branches| branches.iter().find_map(|b| b["pattern"].as_str()))
            .expect("a string branch with a pattern");
        regex::Regex::new(pattern).expect("a valid pattern")
    }

    #[test]
    fn duration_pattern_agrees_with_the_parser() {
        let re = string_pattern::<Duration>();
        let texts = [
            "0", "250ms", "1.5s", "1m30s", "2h", "1d", "10us", "5µs", ".5s", "1.s", " 5s ", "",
            "5", "s", "5x", "-1s", "1s5", "5 s", "1.2.3s", "0.0", "ms5", "1m 30s", "0s",
        ];
        for text in texts {
            let parsed = super::super::parse_duration(text).is_ok();
            assert_eq!(re.is_match(text), parsed, "{text:?}");
        }
    }

    #[test]
    fn size_pattern_agrees_with_the_parser() {
        let re = string_pattern::<RawSize>();
        let texts = [
            "0", "4096", "512B", "64KiB", "16MiB", "4GiB", "10KB", "10MB", "2GB", " 1MiB ",
            "1 MiB", "", "MiB", "-1", "1.5MiB", "16mb", "16K", "16TiB", "16MiBs", "1  MiB",
        ];
        for text in texts {
            let parsed = super::super::parse_size(text).is_ok();
            assert_eq!(re.is_match(text), parsed, "{text:?}");
        }
    }

    #[test]
    fn descriptions_are_unwrapped_but_keep_paragraphs_and_lists() {
        let mut schema = json_schema!({
            "description": "One line\nwrapped.\n\nA list:\n- first\n- second"
        });
        unwrap_description(&mut schema);
        assert_eq!(
            schema.as_value()["description"],
            "One line wrapped.\n\nA list:\n- first\n- second"
        );
    }
}
