//! Configuration: YAML file → raw serde types → validated immutable `Config`.
//!
//! Owns: parsing, validation (collecting every problem with its path and
//! position), defaults, and the file-level entry points used by `check`,
//! `run` and reload alike, so they all give the same messages. Must not:
//! bind sockets or touch runtime state.

mod access_log;
mod defaults;
mod duration;
mod error;
mod limits;
mod location;
mod plugins;
mod raw;
mod raw_access_log;
mod raw_admin;
mod raw_limits;
mod raw_plugins;
mod raw_scoring;
mod raw_tls;
mod raw_values;
pub mod redact;
mod resilience;
mod schema;
mod secret;
mod size;
mod snapshot;
mod tls;
mod validate;
mod validate_access_log;
mod validate_admin;
mod validate_limits;
mod validate_plugins;
mod validate_pools;
mod validate_resilience;
mod validate_retries;
mod validate_routes;
mod validate_scoring;
mod validate_tls;
pub mod watch;

pub use access_log::{AccessLog, AccessLogField, AccessLogFormat, AccessLogOutput};
pub use defaults::*;
pub use duration::parse_duration;
pub use error::{ConfigError, ConfigIssue};
pub use limits::{ListenerLimits, PoolLimits};
pub use location::{LazyLocations, Location, LocationMap};
pub use plugins::{OnError, Plugin, PluginId};
pub use raw::RawConfig;
pub use redact::{is_secret_key, REDACTED};
pub use resilience::{
    CheckKind, EndpointCheck, HealthCheck, OutlierDetection, PrometheusSource, Retries, RetryOn,
    RetryOnSet, Scoring, ScoringSource, StatusSet, WhenNoneHealthy,
};
pub use schema::{schema_json, SCHEMA_ID};
pub use secret::{AdminToken, Secret, SecretSource};
pub use size::parse_size;
pub use snapshot::{
    Admin, BalancerKind, Config, Endpoint, EndpointUrl, Listener, Pool, PoolId, Protocol, Reload,
    Runtime,
};
pub use tls::{
    server_name, Certificate, ClientAuth, ClientCert, ListenerTls, PoolTls, ServerNames, Trust,
};

use std::path::Path;

/// A loaded config plus facts about its source.
#[derive(Debug)]
pub struct Loaded {
    /// The validated config.
    pub config: Config,
    /// FNV-1a hash of the source text (hex), to skip no-op reloads.
    pub hash: String,
    /// The source text.
    pub text: String,
}

/// Reads and validates a config file. Relative plugin and certificate
/// files are resolved against the file's directory.
pub fn load_file(path: &Path) -> Result<Loaded, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_owned(),
        source,
    })?;
    let config = load_str_in(&text, path.parent())?;
    Ok(Loaded {
        config,
        hash: content_hash(text.as_bytes()),
        text,
    })
}

/// Parses and validates config text with no known directory: relative
/// plugin and certificate files stay as written (relative to the working
/// directory).
pub fn load_str(text: &str) -> Result<Config, ConfigError> {
    load_str_in(text, None)
}

/// Parses and validates config text whose file lives in `base_dir`, against
/// which relative plugin and certificate files are resolved (an empty path
/// means `.`). This is the one function every entry point uses (`check`,
/// `run`, reload).
pub fn load_str_in(text: &str, base_dir: Option<&Path>) -> Result<Config, ConfigError> {
    // `Path::new("x.yaml").parent()` is `Some("")`: the same directory as
    // `./x.yaml`, so both must resolve plugins to the same paths.
    let base_dir = base_dir.map(|d| {
        if d.as_os_str().is_empty() {
            Path::new(".")
        } else {
            d
        }
    });
    let locations = LazyLocations::new(text);
    let raw = parse(text, &locations)?;
    validate::validate(raw, &locations, base_dir).map_err(ConfigError::Invalid)
}

/// The hash used to recognise unchanged content.
pub fn content_hash(bytes: &[u8]) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{h:016x}")
}

/// YAML → `RawConfig`. The only place that calls the YAML library, so it can
/// be swapped (serde_yaml is archived upstream). The typed parse runs first;
/// only when it fails is the text looked at again, to say "wrong version"
/// rather than list a dozen unknown keys of another schema version.
fn parse(text: &str, locations: &LazyLocations<'_>) -> Result<RawConfig, ConfigError> {
    let issue = |path: String, message: String, location: Option<Location>| {
        ConfigError::Invalid(vec![ConfigIssue {
            path,
            message,
            location,
        }])
    };
    let version_issue = |v: Option<&serde_yaml::Value>| match v {
        None => Some(issue(
            "version".into(),
            "missing; this Switchyard reads `version: 1`".into(),
            None,
        )),
        Some(v) if v.as_u64() != Some(1) => Some(issue(
            "version".into(),
            format!(
                "unsupported config version {}; this Switchyard reads `version: 1`",
                serde_yaml::to_string(v).unwrap_or_default().trim()
            ),
            locations.find("version"),
        )),
        Some(_) => None,
    };
    let de = serde_yaml::Deserializer::from_str(text);
    match serde_path_to_error::deserialize::<_, RawConfig>(de) {
        Ok(raw) if raw.version == 1 => Ok(raw),
        Ok(raw) => Err(version_issue(Some(&serde_yaml::Value::from(raw.version)))
            .unwrap_or_else(|| issue("version".into(), "must be 1".into(), None))),
        Err(e) => {
            // Syntax errors first, then a wrong or missing version.
            let value: serde_yaml::Value = serde_yaml::from_str(text).map_err(|e| {
                let loc = e.location().map(|l| Location {
                    line: l.line(),
                    column: l.column(),
                });
                issue(String::new(), strip_location(&e.to_string()), loc)
            })?;
            if let Some(err) = version_issue(value.get("version")) {
                return Err(err);
            }
            let path = e.path().to_string();
            let path = if path == "." { String::new() } else { path };
            let inner = e.into_inner();
            let loc = inner
                .location()
                .map(|l| Location {
                    line: l.line(),
                    column: l.column(),
                })
                .or_else(|| locations.find(&path));
            Err(issue(
                path,
                strip_path(&strip_location(&inner.to_string())),
                loc,
            ))
        }
    }
}

/// serde_yaml prefixes its own (shorter) path: `routes[0]: unknown field`.
fn strip_path(msg: &str) -> String {
    match msg.split_once(": ") {
        Some((head, rest)) if !head.contains(' ') && !head.is_empty() => rest.to_string(),
        _ => msg.to_string(),
    }
}

/// serde_yaml appends " at line X column Y"; we print positions ourselves.
fn strip_location(msg: &str) -> String {
    match msg.find(" at line ") {
        Some(i) => msg[..i].to_string(),
        None => msg.to_string(),
    }
}
