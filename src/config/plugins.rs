//! Validated WebAssembly plugin declarations: what the plugin host loads.
//!
//! Owns: the snapshot types for `plugins[]` and the ids that routes, pools
//! and endpoints use to refer to them. Must not: read, compile or run the
//! module (that is `crate::plugin`'s job, which also reports a missing file).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// Index into `Config::plugins`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PluginId(pub usize);

/// What a request gets when a plugin fails (trap, time or memory limit,
/// bad ABI use).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnError {
    /// The request is refused with an error response.
    FailClosed,
    /// The plugin is skipped and the request goes on without it.
    FailOpen,
}

impl OnError {
    /// The config spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::FailClosed => "fail_closed",
            Self::FailOpen => "fail_open",
        }
    }
}

/// `plugins[]`. Its `Debug` shows the length of `config`, not the bytes
/// (they often hold vendor credentials).
#[derive(Clone, PartialEq)]
pub struct Plugin {
    /// Unique name (`[A-Za-z0-9_.-]`, at most 64 characters).
    pub name: Arc<str>,
    /// The `.wasm` or `.wat` module. A relative path is joined to the config
    /// file's directory when that is known; otherwise it is as written
    /// (relative to the process's working directory). Not checked to exist.
    pub file: PathBuf,
    /// The plugin's `config` as JSON bytes; empty when `config` is absent
    /// or null.
    pub config: Arc<[u8]>,
    /// Failure policy.
    pub on_error: OnError,
    /// Largest linear memory of one instance, in bytes.
    pub memory: u64,
    /// Time allowed for one callback.
    pub time: Duration,
    /// Largest body the plugin may see or set, in bytes.
    pub body: usize,
}

impl std::fmt::Debug for Plugin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Plugin")
            .field("name", &self.name)
            .field("file", &self.file)
            .field(
                "config",
                &format_args!("<{} bytes, redacted>", self.config.len()),
            )
            .field("on_error", &self.on_error)
            .field("memory", &self.memory)
            .field("time", &self.time)
            .field("body", &self.body)
            .finish()
    }
}
