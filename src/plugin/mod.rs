//! WebAssembly plugins behind the proxy-wasm ABI v0.2.1, run by wasmtime.
//!
//! Owns: loading plugin files (compile once per content hash, link once,
//! configure a first instance as a smoke test), warm instances per plugin
//! and worker, running callbacks under a deadline and a memory cap, and
//! turning their outcome into a verdict for the proxy (`chain.rs`). Must
//! not: know about listeners, routing or upstreams; the proxy lends it
//! request and response heads and bodies for the length of a call.
//!
//! A plugin set belongs to one config generation; unchanged plugins (same
//! file content, same settings) carry over to the next, warm instances
//! included.

mod abi;
mod chain;
mod chain_body;
mod engine;
mod head_maps;
mod headers;
mod instance;
mod loaded;
mod memory;
mod props;
mod state;
mod trivial;
mod wasi;

pub use chain::{Active, PluginError, Verdict};
pub use engine::Host;
pub use head_maps::HeaderMaps;
pub use instance::Failure;
pub use loaded::{Has, Phase, Plugin};
pub use state::{LocalReply, Props};

use std::path::PathBuf;
use std::sync::Arc;

use crate::config::{self, PluginId};
use crate::metrics::PluginFamilies;

/// The plugins of one config generation, indexed by `PluginId`.
#[derive(Debug, Default)]
pub struct PluginSet {
    plugins: Vec<Arc<Plugin>>,
}

impl PluginSet {
    /// No plugins.
    pub fn empty() -> Self {
        Self::default()
    }

    /// The plugin with id `id`.
    pub fn get(&self, id: PluginId) -> Option<&Arc<Plugin>> {
        self.plugins.get(id.0)
    }

    /// The plugins named by `ids`, in order.
    pub fn resolve(&self, ids: &[PluginId]) -> Vec<Arc<Plugin>> {
        ids.iter().filter_map(|id| self.get(*id).cloned()).collect()
    }

    /// Every plugin.
    pub fn iter(&self) -> impl Iterator<Item = &Arc<Plugin>> {
        self.plugins.iter()
    }

    /// The hash of `text_hash` and these plugins' file contents, as
    /// [`combined_hash`] computes it from the files.
    pub fn combined_hash(&self, text_hash: &str) -> String {
        if self.plugins.is_empty() {
            return text_hash.to_string();
        }
        let mut all = String::from(text_hash);
        for p in &self.plugins {
            all.push(' ');
            all.push_str(&p.hash);
        }
        config::content_hash(all.as_bytes())
    }

    /// Loads every plugin `specs` declares. Reuses a plugin of `previous`
    /// whose file content and settings are unchanged; compiles the rest
    /// (blocking: call from `spawn_blocking` on a running proxy). Every
    /// problem is reported, each naming its plugin.
    pub fn load(
        host: &Host,
        specs: &[config::Plugin],
        previous: Option<&PluginSet>,
        families: &PluginFamilies,
    ) -> Result<Self, Vec<String>> {
        let mut plugins = Vec::with_capacity(specs.len());
        let mut errors = Vec::new();
        for (i, spec) in specs.iter().enumerate() {
            match load_one(host, spec, previous, families) {
                Ok(p) => plugins.push(p),
                Err(e) => errors.push(format!("plugins[{i}] ({}): {e}", spec.name)),
            }
        }
        if !errors.is_empty() {
            // A plugin that never ran leaves no series behind (the start
            // failure is in the reload report and the log).
            for spec in specs {
                let running = previous
                    .into_iter()
                    .flat_map(PluginSet::iter)
                    .any(|p| p.name() == &spec.name);
                if !running {
                    families.remove_plugin(&spec.name);
                }
            }
            return Err(errors);
        }
        let keep: Vec<&str> = plugins.iter().map(|p| p.hash.as_str()).collect();
        host.retain_modules(&keep);
        Ok(Self { plugins })
    }
}

/// Reads a plugin file: its bytes and their content hash.
pub fn read_file(path: &std::path::Path) -> Result<(Vec<u8>, String), String> {
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let hash = config::content_hash(&bytes);
    Ok((bytes, hash))
}

/// The content hashes of the files `specs` name (`None` for a file that
/// cannot be read), to notice a plugin file that changed on disk.
pub fn file_hashes(specs: &[config::Plugin]) -> Vec<(PathBuf, Option<String>)> {
    specs
        .iter()
        .map(|s| (s.file.clone(), read_file(&s.file).ok().map(|(_, h)| h)))
        .collect()
}

/// The hash that identifies a config and the plugin files it names: the
/// text's own hash when there are no plugins.
pub fn combined_hash(text_hash: &str, specs: &[config::Plugin]) -> String {
    if specs.is_empty() {
        return text_hash.to_string();
    }
    let mut all = String::from(text_hash);
    for (_, h) in file_hashes(specs) {
        all.push(' ');
        all.push_str(h.as_deref().unwrap_or("unreadable"));
    }
    config::content_hash(all.as_bytes())
}

fn load_one(
    host: &Host,
    spec: &config::Plugin,
    previous: Option<&PluginSet>,
    families: &PluginFamilies,
) -> Result<Arc<Plugin>, String> {
    let (bytes, hash) = read_file(&spec.file)?;
    if let Some(p) = previous
        .into_iter()
        .flat_map(PluginSet::iter)
        .find(|p| p.hash == hash && p.spec == *spec)
    {
        return Ok(Arc::clone(p));
    }
    let module = host.module(&hash, &bytes).map_err(|e| {
        format!(
            "{} is not a valid WebAssembly module: {e:#}",
            spec.file.display()
        )
    })?;
    let abi = ["proxy_abi_version_0_2_1", "proxy_abi_version_0_2_0"]
        .into_iter()
        .find(|m| module.get_export(m).is_some());
    if abi.is_none() {
        let old = module.get_export("proxy_abi_version_0_1_0").is_some();
        return Err(if old {
            "built for proxy-wasm ABI 0.1.0; this host runs 0.2.0 and 0.2.1 modules (rebuild with a current SDK)".into()
        } else {
            "not a proxy-wasm module: it exports no `proxy_abi_version_0_2_1` (or 0_2_0) marker"
                .into()
        });
    }
    let mut linker = host.linker().clone();
    let stubbed =
        wasi::fill_missing(&mut linker, &module).map_err(|e| format!("cannot link: {e:#}"))?;
    let pre = linker
        .instantiate_pre(&module)
        .map_err(|e| format!("cannot link: {e:#}"))?;
    let skip = trivial::empty_callbacks(&bytes);
    let plugin = Plugin::new(
        spec.clone(),
        hash,
        host.clone(),
        pre,
        (Has::of(&module, &skip), skip),
        families,
    );
    // A first instance proves the module starts and accepts its config,
    // and becomes the first warm one.
    let first = plugin
        .instantiate()
        .map_err(|f| format!("failed to start: {f}"))?;
    plugin.checkin(first);
    tracing::info!(
        plugin = %spec.name,
        file = %spec.file.display(),
        hash = %plugin.hash,
        abi = abi.unwrap_or_default(),
        unimplemented_imports = %stubbed.join(", "),
        "Plugin loaded."
    );
    Ok(Arc::new(plugin))
}

#[cfg(test)]
mod tests;
