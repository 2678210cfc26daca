//! The `admin` part of the config file schema, as plain serde types.
//!
//! Owns: the shape of `admin.listen` and `admin.token`. The token is named
//! by where it is (`{ file: PATH }` or `{ env: NAME }`), never written in
//! the config; an inline value is accepted by the parser only so that
//! validation can refuse it with a message that says what to do instead,
//! and it is dropped as it is read, so no error, log line or `Debug` output
//! can repeat it. Must not: read the token (`validate_admin` does).

use std::fmt;

use schemars::{JsonSchema, Schema};
use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::redact::REDACTED;

/// `admin`: the admin listener.
#[derive(Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Admin")]
pub struct RawAdmin {
    /// Socket address (IP and port) of the admin listener. Default
    /// `127.0.0.1:9901` (loopback only; `0.0.0.0:9901` exposes it, as
    /// Kubernetes probes need: then set `token`). Needs a restart.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub listen: Option<String>,
    /// The bearer token that `GET /config`, `POST /reload` and the demo
    /// controls require (`Authorization: Bearer TOKEN`), read from a file
    /// (`{ file: /run/secrets/admin-token }`, trailing line breaks dropped)
    /// or an environment variable (`{ env: SWITCHYARD_ADMIN_TOKEN }`);
    /// never written in the config itself. Default: none, and those
    /// endpoints are open to whoever can reach the listener. A reload reads
    /// the token again, so a rotated file takes effect without a restart.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<RawSecretSource>")]
    pub token: Option<RawAdminToken>,
}

/// `admin.token` as written: where the token is, or a value written inline
/// (refused by validation; the value itself is not kept).
#[derive(Debug, PartialEq, Eq)]
pub enum RawAdminToken {
    /// A scalar written in the config: refused, and forgotten.
    Inline,
    /// `{ file: PATH }` or `{ env: NAME }`.
    Source(RawSecretSource),
}

/// `admin.token`: where the admin token is read from. Exactly one of
/// `file` and `env`.
#[derive(Debug, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "AdminToken", transform = exactly_one_source)]
pub struct RawSecretSource {
    /// A file holding the token (a Kubernetes Secret or Docker secret
    /// mount); relative paths are relative to the config file's directory.
    /// Trailing line breaks are dropped.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// An environment variable of the proxy's process holding the token.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub env: Option<String>,
}

/// The schema says what validation checks: one key, not both.
fn exactly_one_source(schema: &mut Schema) {
    schema.insert(
        "oneOf".into(),
        serde_json::json!([{ "required": ["file"] }, { "required": ["env"] }]),
    );
}

// === impl RawAdminToken ===

impl<'de> Deserialize<'de> for RawAdminToken {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(TokenVisitor)
    }
}

struct TokenVisitor;

impl<'de> Visitor<'de> for TokenVisitor {
    type Value = RawAdminToken;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("`{ file: PATH }` or `{ env: NAME }`")
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        RawSecretSource::deserialize(de::value::MapAccessDeserializer::new(map))
            .map(RawAdminToken::Source)
    }

    // Every scalar is a token written inline: the value is dropped here.
    fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
        Ok(RawAdminToken::Inline)
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Ok(RawAdminToken::Inline)
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
        Ok(RawAdminToken::Inline)
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
        Ok(RawAdminToken::Inline)
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
        Ok(RawAdminToken::Inline)
    }
}

impl Serialize for RawAdminToken {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::Inline => serializer.serialize_str(REDACTED),
            Self::Source(source) => source.serialize(serializer),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn admin(yaml: &str) -> Result<RawAdmin, String> {
        serde_yaml::from_str(yaml).map_err(|e| e.to_string())
    }

    #[test]
    fn sources_and_inline_values() {
        let a = admin("token: { file: /run/secrets/t }").unwrap();
        assert_eq!(
            a.token,
            Some(RawAdminToken::Source(RawSecretSource {
                file: Some("/run/secrets/t".into()),
                env: None,
            }))
        );
        let a = admin("token: { env: TOKEN }").unwrap();
        assert!(
            matches!(a.token, Some(RawAdminToken::Source(s)) if s.env.as_deref() == Some("TOKEN"))
        );
        for inline in [
            "token: hunter2hunter2",
            "token: 1234567890",
            "token: true",
            "token: 1.5",
        ] {
            let a = admin(inline).unwrap();
            assert_eq!(a.token, Some(RawAdminToken::Inline), "{inline}");
            assert!(!format!("{a:?}").contains("hunter2"));
        }
        assert!(admin("token: ~").unwrap().token.is_none());
        let err = admin("token: { value: hunter2 }").unwrap_err();
        assert!(err.contains("unknown field `value`"), "{err}");
        assert!(!err.contains("hunter2"), "{err}");
        let err = admin("token: [hunter2]").unwrap_err();
        assert!(!err.contains("hunter2"), "{err}");
    }

    #[test]
    fn inline_values_serialize_redacted() {
        let a = admin("token: hunter2hunter2").unwrap();
        let json = serde_json::to_string(&a).unwrap();
        assert!(!json.contains("hunter2"), "{json}");
    }
}
