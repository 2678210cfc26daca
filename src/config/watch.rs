//! Noticing config file changes: a directory watch with debouncing, and a
//! polling fallback.
//!
//! The watch is on the file's *parent directory*, not the file, so every
//! real write pattern is seen: in-place writes, write-to-temp-then-rename,
//! editors' backup-and-swap, and Kubernetes ConfigMaps, whose `..data`
//! symlink is swapped to a new timestamped directory (the file itself is
//! never written). Any event in the directory counts (the reload compares
//! content hashes, so unrelated files cost one read), except events on
//! files the proxy itself keeps writing, such as an access log kept next to
//! the config: those would wake the watcher every flush. Must not: parse
//! or apply config (the receiver does).

use std::ffi::OsString;
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
    /// Files whose events are ignored (the proxy's own output files).
    pub ignore: Vec<PathBuf>,
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
    watch_dirs(file, &[], &[], tx)
}

/// Like [`watch_dir`], also watching `extra` directories (a plugin,
/// certificate, key or CA file that changes is a config change), and
/// ignoring events that only touch the files in `ignore`. An extra
/// directory that cannot be watched is logged and left to polling.
pub fn watch_dirs(
    file: &Path,
    extra: &[PathBuf],
    ignore: &[PathBuf],
    tx: mpsc::UnboundedSender<()>,
) -> notify::Result<DirWatch> {
    let dir = parent_dir(file);
    let own = OwnFiles::new(ignore);
    let mut watcher = notify::recommended_watcher(move |res: notify::Result<Event>| match res {
        // Reads (ours included) raise access events: ignore them, or every
        // reload would trigger the next.
        Ok(ev) if matches!(ev.kind, EventKind::Access(_)) => {}
        Ok(ev) if own.covers(&ev.paths) => {}
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
        ignore: ignore.to_vec(),
    })
}

/// The files events are ignored for, as (file name, canonical directory).
struct OwnFiles(Vec<(OsString, PathBuf)>);

impl OwnFiles {
    fn new(files: &[PathBuf]) -> Self {
        Self(
            files
                .iter()
                .filter_map(|f| Some((f.file_name()?.to_owned(), canonical_dir(f)?)))
                .collect(),
        )
    }

    /// Whether every path of an event is one of these files (an event
    /// without paths is not).
    fn covers(&self, paths: &[PathBuf]) -> bool {
        !self.0.is_empty()
            && !paths.is_empty()
            && paths.iter().all(|p| {
                // The name first: a directory is resolved only on a match.
                let Some(name) = p.file_name() else {
                    return false;
                };
                self.0
                    .iter()
                    .any(|(n, dir)| n == name && canonical_dir(p).as_ref() == Some(dir))
            })
    }
}

/// The canonical form of the directory holding `file`.
fn canonical_dir(file: &Path) -> Option<PathBuf> {
    parent_dir(file).canonicalize().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_files_cover_only_events_on_them() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("access.log");
        let own = OwnFiles::new(std::slice::from_ref(&log));
        assert!(own.covers(std::slice::from_ref(&log)));
        // The same file named through another spelling of its directory.
        let dotted = dir.path().join(".").join("access.log");
        assert!(own.covers(&[dotted]));
        let config = dir.path().join("switchyard.yaml");
        assert!(!own.covers(std::slice::from_ref(&config)));
        assert!(!own.covers(&[log.clone(), config]));
        assert!(!own.covers(&[]));
        assert!(!OwnFiles::new(&[]).covers(&[log]));
    }
}

#[cfg(test)]
mod watch_tests {
    use std::time::{Duration, Instant};

    use super::*;

    /// The paths inotify reports for writes to a log next to the config are
    /// the ones `OwnFiles` covers, and the config's are not: checked on
    /// real events, since a filter on path spellings that never occur would
    /// pass the unit test and filter nothing.
    #[test]
    fn real_events_on_the_log_are_covered_and_config_events_are_not() {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("switchyard.yaml");
        let log = dir.path().join("access.log");
        std::fs::write(&config, "version: 1\n").unwrap();
        std::fs::write(&log, "").unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        let mut watcher = notify::recommended_watcher(move |res: notify::Result<Event>| {
            if let Ok(ev) = res {
                tx.send(ev).ok();
            }
        })
        .unwrap();
        // Watched as the proxy watches it: the config path's parent.
        watcher
            .watch(&parent_dir(&config), RecursiveMode::NonRecursive)
            .unwrap();
        for i in 0..5 {
            use std::io::Write;
            let mut f = std::fs::OpenOptions::new().append(true).open(&log).unwrap();
            writeln!(f, "line {i}").unwrap();
        }
        std::fs::write(&config, "version: 1\n# edited\n").unwrap();
        let own = OwnFiles::new(std::slice::from_ref(&log));
        let deadline = Instant::now() + Duration::from_secs(5);
        let (mut log_events, mut config_events) = (0, 0);
        while config_events == 0 {
            let left = deadline.saturating_duration_since(Instant::now());
            let ev = rx.recv_timeout(left).expect("the config write is seen");
            if matches!(ev.kind, EventKind::Access(_)) {
                continue;
            }
            if ev.paths.iter().any(|p| p.ends_with("access.log")) {
                log_events += 1;
                assert!(own.covers(&ev.paths), "not covered: {ev:?}");
            } else {
                config_events += 1;
                assert!(!own.covers(&ev.paths), "covered: {ev:?}");
            }
        }
        assert!(log_events > 0, "no event for the log writes");
    }
}
