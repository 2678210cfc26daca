//! Redaction of secrets before config is shown: `GET /config`, the status
//! page's match summaries, and the `Debug` output of the config types.
//!
//! Two rules: values under secret-looking keys ([`is_secret_key`]: key,
//! secret, token, password, authorization, cookie, credential), at any
//! depth, and every `plugins[].config` whole (it is free-form and carries
//! vendor credentials under keys no word list can guess). The admin
//! token's value is never in the source (only where it is read from).

use serde_json::Value;

/// What a redacted value is replaced with.
pub const REDACTED: &str = "<redacted>";

/// Words that mark a key or header name as secret (matched
/// case-insensitively anywhere in it: `api_key`, `x-auth-token`,
/// `client_secret`, `password`, `authorization`, `cookie`).
const SECRET_WORDS: [&str; 7] = [
    "key",
    "secret",
    "token",
    "password",
    "authorization",
    "cookie",
    "credential",
];

/// Whether values under `key` (a config key or a header name) must not be
/// shown.
pub fn is_secret_key(key: &str) -> bool {
    let lower = key.to_ascii_lowercase();
    SECRET_WORDS.iter().any(|w| lower.contains(w))
}

/// Returns `value` (a config's source) with every secret-looking key's
/// value replaced (at any depth), every top-level `plugins[].config`
/// replaced whole, and unset (`null`) options dropped for readability.
pub fn redact(value: &Value) -> Value {
    let mut shown = redact_keys(value);
    if let Some(Value::Array(plugins)) = shown.get_mut("plugins") {
        for plugin in plugins {
            if let Some(config) = plugin.get_mut("config") {
                *config = Value::String(REDACTED.into());
            }
        }
    }
    shown
}

/// The secret-key rule, recursively.
fn redact_keys(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| {
                    let shown = if is_secret_key(k) && !v.is_object() && !v.is_array() {
                        Value::String(REDACTED.into())
                    } else if is_secret_key(k) {
                        redact_all(v)
                    } else {
                        redact_keys(v)
                    };
                    (k.clone(), shown)
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(redact_keys).collect()),
        other => other.clone(),
    }
}

/// Every leaf under a secret key is secret.
fn redact_all(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), redact_all(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(redact_all).collect()),
        Value::Null => Value::Null,
        _ => Value::String(REDACTED.into()),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn redacts_secret_keys_at_any_depth() {
        let v = json!({
            "routes": [{"name": "a", "request_headers": {"set": {"x-api-key": "s3cret", "x-route": "a"}}}],
            "token": "t",
            "Password": 5,
            "client_secret": {"nested": ["a", "b"]},
            "strip_prefix": null,
        });
        let r = redact(&v);
        assert_eq!(
            r["routes"][0]["request_headers"]["set"]["x-api-key"],
            REDACTED
        );
        assert_eq!(r["routes"][0]["request_headers"]["set"]["x-route"], "a");
        assert_eq!(r["token"], REDACTED);
        assert_eq!(r["Password"], REDACTED);
        assert_eq!(r["client_secret"]["nested"][1], REDACTED);
        assert!(r.get("strip_prefix").is_none());
        assert!(!r.to_string().contains("s3cret"));
    }

    #[test]
    fn redacts_every_plugin_config_whole() {
        let v = json!({
            "plugins": [
                {"name": "a", "file": "a.wasm", "config": {"header": "authorization", "value": "Bearer s3cret"}},
                {"name": "b", "file": "b.wat", "config": "plain-string-s3cret"},
                {"name": "c", "file": "c.wasm", "config": ["s3cret", {"deep": 1}]},
                {"name": "d", "file": "d.wasm", "on_error": "fail_open"},
            ],
            "routes": [{"name": "r", "pool": "p", "plugins": ["a", "b"]}],
        });
        let r = redact(&v);
        for i in 0..3 {
            assert_eq!(r["plugins"][i]["config"], REDACTED, "plugins[{i}]");
        }
        assert!(r["plugins"][3].get("config").is_none());
        assert_eq!(r["plugins"][3]["on_error"], "fail_open");
        assert_eq!(r["plugins"][0]["name"], "a");
        assert_eq!(r["plugins"][1]["file"], "b.wat");
        assert_eq!(r["routes"][0]["plugins"], json!(["a", "b"]));
        assert!(!r.to_string().contains("s3cret"), "{r}");
        assert!(!r.to_string().contains("authorization"), "{r}");
    }

    #[test]
    fn secret_words() {
        for k in [
            "x-api-key",
            "Authorization",
            "client_secret",
            "token",
            "Cookie",
            "PASSWORD",
        ] {
            assert!(is_secret_key(k), "{k}");
        }
        for k in ["x-route", "client_auth", "listen", "host"] {
            assert!(!is_secret_key(k), "{k}");
        }
    }
}
