//! Plugin validation: the `plugins[]` declarations and the `plugins:` lists
//! that attach them to routes, pools and endpoints.
//!
//! Owns: the rules and error wording for plugin names, files, limits and
//! references, and the "declared but unused" warning. Must not: read,
//! compile or even look for the module file; the plugin host loads it and
//! reports a missing or broken one.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use super::defaults;
use super::plugins::{OnError, Plugin, PluginId};
use super::raw::{RawOnError, RawPlugin, RawSize};
use super::snapshot::Pool;
use super::validate::Issues;
use crate::routing::RouteTable;

/// Plugin names → ids, for resolving `plugins:` lists.
pub(super) struct PluginIndex<'a> {
    /// First declaration of each name.
    ids: HashMap<&'a str, PluginId>,
    /// Declared names in file order, without repeats, for error messages.
    names: Vec<&'a str>,
}

/// Validates `plugins[]`. Relative files are joined to `base_dir` when given.
pub(super) fn plugins<'a>(
    issues: &mut Issues<'_>,
    raw: &'a [RawPlugin],
    base_dir: Option<&Path>,
) -> (Vec<Plugin>, PluginIndex<'a>) {
    let mut index = PluginIndex {
        ids: HashMap::with_capacity(raw.len()),
        names: Vec::with_capacity(raw.len()),
    };
    let mut out = Vec::with_capacity(raw.len());
    for (i, p) in raw.iter().enumerate() {
        let base = format!("plugins[{i}]");
        check_plugin_name(issues, &format!("{base}.name"), &p.name);
        match index.ids.get(p.name.as_str()) {
            Some(first) => issues.error(
                format!("{base}.name"),
                format!(
                    "duplicate plugin name {:?} (first used by plugins[{}])",
                    p.name, first.0
                ),
            ),
            None => {
                index.ids.insert(&p.name, PluginId(i));
                index.names.push(&p.name);
            }
        }
        out.push(plugin(issues, &base, p, base_dir));
    }
    (out, index)
}

fn plugin(issues: &mut Issues<'_>, base: &str, p: &RawPlugin, base_dir: Option<&Path>) -> Plugin {
    let limits = p.limits.as_ref();
    let memory = size(
        issues,
        &format!("{base}.limits.memory"),
        limits.and_then(|l| l.memory.as_ref()),
        defaults::DEFAULT_PLUGIN_MEMORY,
        (defaults::MIN_PLUGIN_MEMORY, defaults::MAX_PLUGIN_MEMORY),
        ("64KiB", "4GiB"),
    );
    let body = size(
        issues,
        &format!("{base}.limits.body"),
        limits.and_then(|l| l.body.as_ref()),
        defaults::DEFAULT_PLUGIN_BODY as u64,
        (1, defaults::MAX_PLUGIN_BODY as u64),
        ("1B", "64MiB"),
    );
    Plugin {
        name: Arc::from(p.name.as_str()),
        file: file(issues, &format!("{base}.file"), &p.file, base_dir),
        config: config_bytes(issues, &format!("{base}.config"), p.config.as_ref()),
        on_error: match p.on_error {
            None | Some(RawOnError::FailClosed) => OnError::FailClosed,
            Some(RawOnError::FailOpen) => OnError::FailOpen,
        },
        memory,
        time: time(issues, &format!("{base}.limits.time"), limits),
        // Bounded by MAX_PLUGIN_BODY above, so this never falls back.
        body: usize::try_from(body).unwrap_or(defaults::DEFAULT_PLUGIN_BODY),
    }
}

/// Plugin names become metric labels and log fields: short and printable.
fn check_plugin_name(issues: &mut Issues<'_>, path: &str, name: &str) {
    let ok = !name.is_empty()
        && name.len() <= defaults::MAX_PLUGIN_NAME
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    if !ok {
        issues.error(
            path,
            format!(
                "invalid plugin name {name:?}: use 1 to {} letters, digits, '-', '_' or '.'",
                defaults::MAX_PLUGIN_NAME
            ),
        );
    }
}

fn file(issues: &mut Issues<'_>, path: &str, text: &str, base_dir: Option<&Path>) -> PathBuf {
    let written = PathBuf::from(text);
    if text.trim().is_empty() {
        issues.error(path, "must not be empty: name a .wasm or .wat file");
        return written;
    }
    let ext = written.extension().and_then(|e| e.to_str());
    if !matches!(ext, Some("wasm" | "wat")) {
        issues.error(
            path,
            format!("plugin file {text:?} must end in .wasm (a compiled module) or .wat (WebAssembly text)"),
        );
    }
    match base_dir {
        Some(dir) if written.is_relative() => dir.join(written),
        _ => written,
    }
}

/// `config` as the JSON bytes the plugin reads; empty when unset or null.
fn config_bytes(
    issues: &mut Issues<'_>,
    path: &str,
    value: Option<&serde_json::Value>,
) -> Arc<[u8]> {
    match value {
        None | Some(serde_json::Value::Null) => Arc::from(Vec::new()),
        Some(v) => match serde_json::to_vec(v) {
            Ok(bytes) => Arc::from(bytes),
            Err(e) => {
                issues.error(path, format!("cannot be written as JSON: {e}"));
                Arc::from(Vec::new())
            }
        },
    }
}

/// A size in `[min, max]` bytes (with their spellings for the message),
/// or `default` with an error recorded.
pub(super) fn size(
    issues: &mut Issues<'_>,
    path: &str,
    value: Option<&RawSize>,
    default: u64,
    (min, max): (u64, u64),
    (min_text, max_text): (&str, &str),
) -> u64 {
    let Some(raw) = value else { return default };
    match raw.bytes() {
        Ok(n) if (min..=max).contains(&n) => n,
        Ok(_) => {
            issues.error(
                path,
                format!("{raw} is out of range: use {min_text} to {max_text}"),
            );
            default
        }
        Err(e) => {
            issues.error(path, e);
            default
        }
    }
}

fn time(
    issues: &mut Issues<'_>,
    path: &str,
    limits: Option<&super::raw::RawPluginLimits>,
) -> Duration {
    let Some(text) = limits.and_then(|l| l.time.as_deref()) else {
        return defaults::DEFAULT_PLUGIN_TIME;
    };
    let d = issues.duration(path, Some(text), defaults::DEFAULT_PLUGIN_TIME, false);
    if d > defaults::MAX_PLUGIN_TIME {
        issues.error(
            path,
            format!(
                "{text} is more than the limit of 10s: a plugin callback blocks its worker thread"
            ),
        );
        return defaults::DEFAULT_PLUGIN_TIME;
    }
    d
}

// === impl PluginIndex ===

impl PluginIndex<'_> {
    /// Resolves one `plugins:` list. `path` (the list's own path) is only
    /// built when the list is not empty: with 10,000 routes the formatting
    /// alone is measurable.
    pub(super) fn resolve(
        &self,
        issues: &mut Issues<'_>,
        names: &[String],
        path: impl FnOnce() -> String,
    ) -> Vec<PluginId> {
        if names.is_empty() {
            return Vec::new();
        }
        let path = path();
        let mut out: Vec<PluginId> = Vec::with_capacity(names.len());
        let mut seen: HashMap<&str, usize> = HashMap::with_capacity(names.len());
        for (k, name) in names.iter().enumerate() {
            if let Some(first) = seen.insert(name, k) {
                issues.error(
                    format!("{path}[{k}]"),
                    format!("plugin {name:?} is listed twice (first at {path}[{first}])"),
                );
                continue;
            }
            match self.ids.get(name.as_str()) {
                Some(&id) => out.push(id),
                None => issues.error(format!("{path}[{k}]"), self.unknown(name)),
            }
        }
        out
    }

    fn unknown(&self, name: &str) -> String {
        if self.names.is_empty() {
            format!("unknown plugin {name:?}; no plugins are declared (add it under `plugins:`)")
        } else {
            format!(
                "unknown plugin {name:?}; declared plugins: {}",
                self.names.join(", ")
            )
        }
    }
}

/// Warns about each declared plugin that no route, pool or endpoint uses.
pub(super) fn warn_unused(
    issues: &mut Issues<'_>,
    plugins: &[Plugin],
    routes: &RouteTable,
    pools: &[Pool],
) {
    if plugins.is_empty() {
        return;
    }
    let mut used = vec![false; plugins.len()];
    let lists = routes
        .routes()
        .iter()
        .map(|r| &r.plugins)
        .chain(pools.iter().map(|p| &p.plugins))
        .chain(
            pools
                .iter()
                .flat_map(|p| p.endpoints.iter().map(|e| &e.plugins)),
        );
    for id in lists.flatten() {
        if let Some(u) = used.get_mut(id.0) {
            *u = true;
        }
    }
    for (i, p) in plugins.iter().enumerate() {
        if !used[i] {
            issues.warn(
                format!("plugins[{i}]"),
                format!("plugin {:?} is used by no route, pool or endpoint", p.name),
            );
        }
    }
}
