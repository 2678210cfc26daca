//! Noticing config file changes: a directory watch with debouncing, and a
//! polling fallback.
//!
//! The watch is on the file's *parent directory*, not the file, so every
//! real write pattern is seen: in-place writes, write-to-temp-then-rename,
//! editors' backup-and-swap, and Kubernetes ConfigMaps, whose `..data`
//! symlink is swapped to a new timestamped directory (the file itself is
//! never written). Any event in the directory counts; the reload compares
//! content hashes, so unrelated files cost one read. Must not: parse or
//! apply config (the receiver does).

use std::path::{Path, PathBuf};

use notify::{Event, EventKind, RecommendedWatcher, RecursiveMode, Watcher};
use tokio::sync::mpsc;

/// Keeps the OS watch alive; dropping it stops the events.
#[derive(Debug)]
pub struct DirWatch {
    _watcher: RecommendedWatcher,
    /// The watched directory.
    pub dir: PathBuf,
    /// Other watched directories (those holding plugin and TLS files).
    pub extra: Vec<PathBuf>,
}

/// The directory holding `file` (`.` for a bare name).
pub fn parent_dir(file: &Path) -> PathBuf {
    match file.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Watches the directory holding `file`; every relevant event sends `()`.
pub fn watch_dir(file: &Path, tx: mpsc::UnboundedSender<()>) -> notify::Result<DirWatch> {
    watch_dirs(file, &[], tx)
}

/// Like [`watch_dir`], also watching `extra` directories (a plugin,
/// certificate, key or CA file that changes is a config change). An extra
/// directory that cannot be watched is logged and left to polling.
pub fn watch_dirs(
    file: &Path,
    extra: &[PathBuf],
    tx: mpsc::UnboundedSender<()>,
) -> notify::Result<DirWatch> {
    let dir = parent_dir(file);
    let mut watcher = notify::recommended_watcher(move |res: notify::Result<Event>| match res {
        // Reads (ours included) raise access events: ignore them, or every
        // reload would trigger the next.
        Ok(ev) if matches!(ev.kind, EventKind::Access(_)) => {}
        Ok(_) => {
            tx.send(()).ok();
        }
        Err(e) => tracing::warn!(error = %e, "Config watch error; polling still runs."),
    })?;
    watcher.watch(&dir, RecursiveMode::NonRecursive)?;
    for d in extra {
        if let Err(e) = watcher.watch(d, RecursiveMode::NonRecursive) {
            tracing::warn!(dir = %d.display(), error = %e, "Cannot watch the directory of a file the config names; polling still runs.");
        }
    }
    Ok(DirWatch {
        _watcher: watcher,
        dir,
        extra: extra.to_vec(),
    })
}
