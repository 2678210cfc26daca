//! Downstream TLS: the rustls server side of listeners with `tls:`.
//!
//! Owns: loading a listener's PEM files (certificates, keys, client CA)
//! into a rustls `ServerConfig` whose resolver picks a certificate by SNI,
//! the content hashes that make those files part of a config's identity,
//! and the errors that say what is wrong with them. Must not: accept
//! connections (`proxy::server` does the handshake) or decide when to load:
//! start, reload (before the swap) and `check` call [`TlsSet::load`].
//!
//! A `TlsSet` belongs to one config generation, like a `PluginSet`. A
//! listener whose settings and file contents are unchanged keeps the
//! previous generation's `ServerConfig` (and with it the session cache);
//! anything else gets a new one, which new handshakes use from the swap on.

mod load;
mod names;
mod resolver;

pub use load::TlsError;
pub use resolver::{NameIndex, SniResolver};

use std::path::PathBuf;
use std::sync::Arc;

use rustls::ServerConfig;

use crate::config::{self, ListenerTls};

/// How long a client may take to complete the TLS handshake.
pub const HANDSHAKE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// One listener's TLS, loaded and ready for handshakes.
#[derive(Debug)]
pub struct ServerTls {
    /// The listener's name.
    pub listener: Arc<str>,
    /// The settings it was loaded from.
    pub spec: ListenerTls,
    /// The config every new handshake on the listener uses.
    pub config: Arc<ServerConfig>,
    /// Per certificate, in config order, the names it serves.
    pub names: Vec<Vec<String>>,
    /// Content hashes of `spec.files()`, in that order.
    pub file_hashes: Vec<String>,
}

/// The TLS of one config generation, by listener position.
#[derive(Debug, Default)]
pub struct TlsSet {
    by_listener: Vec<Option<Arc<ServerTls>>>,
}

impl TlsSet {
    /// No TLS listeners.
    pub fn empty() -> Self {
        Self::default()
    }

    /// The TLS of the listener at `index` in the config, if it has any.
    pub fn get(&self, index: usize) -> Option<&Arc<ServerTls>> {
        self.by_listener.get(index)?.as_ref()
    }

    /// Every TLS listener, in config order.
    pub fn iter(&self) -> impl Iterator<Item = &Arc<ServerTls>> {
        self.by_listener.iter().flatten()
    }

    /// Loads the TLS of every listener that has `tls:`, reusing a listener
    /// of `previous` with the same name, settings and file contents. Every
    /// problem is reported, each with its config path and listener.
    /// Blocking (reads files): cheap, but off the request path.
    pub fn load(
        listeners: &[config::Listener],
        previous: Option<&TlsSet>,
    ) -> Result<Self, Vec<String>> {
        let mut files = load::Files::default();
        let mut errors = Vec::new();
        let mut by_listener = Vec::with_capacity(listeners.len());
        for (i, l) in listeners.iter().enumerate() {
            let Some(spec) = &l.tls else {
                by_listener.push(None);
                continue;
            };
            match load_listener(&mut files, l, spec, previous) {
                Ok(t) => by_listener.push(Some(t)),
                Err(list) => {
                    for (what, e) in list {
                        let sep = if what.is_empty() { "" } else { "." };
                        errors.push(format!(
                            "listeners[{i}].tls{sep}{what} (listener {:?}): {e}",
                            l.name
                        ));
                    }
                }
            }
        }
        if errors.is_empty() {
            Ok(Self { by_listener })
        } else {
            Err(errors)
        }
    }

    /// The hash of `base` and the TLS files these listeners were loaded
    /// from, as [`combined_hash`] computes it from the files on disk.
    pub fn combined_hash(&self, base: &str) -> String {
        fold_hashes(
            base,
            self.iter().flat_map(|t| t.file_hashes.iter().cloned()),
        )
    }

    /// Whether the listener called `name` serves the same TLS in both sets
    /// (the same loaded config, or plain HTTP in both).
    pub fn same_for(&self, other: &TlsSet, name: &str) -> bool {
        let find = |s: &TlsSet| s.iter().find(|t| &*t.listener == name).map(Arc::clone);
        match (find(self), find(other)) {
            (None, None) => true,
            (Some(a), Some(b)) => Arc::ptr_eq(&a, &b),
            _ => false,
        }
    }
}

/// Every file the listeners' TLS settings name (certificates, keys, client
/// CAs), for watching their directories.
pub fn files(listeners: &[config::Listener]) -> Vec<PathBuf> {
    listeners
        .iter()
        .filter_map(|l| l.tls.as_ref())
        .flat_map(|t| t.files().cloned())
        .collect()
}

/// The hash that identifies `base` (a config's text and plugin files) with
/// the TLS files its listeners name, read now; `base` itself when no
/// listener has TLS. A file that cannot be read hashes as "unreadable".
pub fn combined_hash(base: &str, listeners: &[config::Listener]) -> String {
    let mut files = load::Files::default();
    let hashes = self::files(listeners)
        .into_iter()
        .map(|f| {
            files
                .get(&f)
                .map_or_else(|_| "unreadable".into(), |c| c.hash)
        })
        .collect::<Vec<_>>();
    fold_hashes(base, hashes.into_iter())
}

fn fold_hashes(base: &str, hashes: impl Iterator<Item = String>) -> String {
    let mut all = String::from(base);
    let mut any = false;
    for h in hashes {
        any = true;
        all.push(' ');
        all.push_str(&h);
    }
    if any {
        config::content_hash(all.as_bytes())
    } else {
        base.to_string()
    }
}

/// Loads one listener, or says what failed, each failure with its path
/// under `listeners[i].tls`.
fn load_listener(
    files: &mut load::Files,
    listener: &config::Listener,
    spec: &ListenerTls,
    previous: Option<&TlsSet>,
) -> Result<Arc<ServerTls>, Vec<(String, TlsError)>> {
    let mut file_hashes = Vec::new();
    let mut errors = Vec::new();
    for f in spec.files() {
        match files.get(f) {
            Ok(c) => file_hashes.push(c.hash),
            Err(e) => errors.push((file_path(spec, f), e)),
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let reuse = previous
        .into_iter()
        .flat_map(TlsSet::iter)
        .find(|t| t.listener == listener.name && t.spec == *spec && t.file_hashes == file_hashes);
    if let Some(t) = reuse {
        return Ok(Arc::clone(t));
    }
    let certificates = load::resolver(files, spec);
    let verifier = spec
        .client_auth
        .as_ref()
        .map(|auth| load::client_verifier(files, auth))
        .transpose();
    let (load::Loaded { resolver, names }, verifier) = match (certificates, verifier) {
        (Ok(c), Ok(v)) => (c, v),
        (certificates, verifier) => {
            let mut errors: Vec<(String, TlsError)> = certificates
                .err()
                .into_iter()
                .flatten()
                .map(|(i, e)| (format!("certificates[{i}]"), e))
                .collect();
            errors.extend(verifier.err().map(|e| ("client_auth.ca".to_string(), e)));
            return Err(errors);
        }
    };
    let config = load::server_config(resolver, verifier).map_err(|e| vec![(String::new(), e)])?;
    for (i, (c, n)) in spec.certificates.iter().zip(&names).enumerate() {
        tracing::info!(
            listener = %listener.name,
            certificate = i,
            cert = %c.cert.display(),
            names = %n.join(" "),
            "TLS certificate loaded."
        );
    }
    Ok(Arc::new(ServerTls {
        listener: Arc::clone(&listener.name),
        spec: spec.clone(),
        config,
        names,
        file_hashes,
    }))
}

/// The config path of file `f` within `spec`.
fn file_path(spec: &ListenerTls, f: &std::path::Path) -> String {
    for (i, c) in spec.certificates.iter().enumerate() {
        if c.cert == f {
            return format!("certificates[{i}].cert");
        }
        if c.key == f {
            return format!("certificates[{i}].key");
        }
    }
    "client_auth.ca".to_string()
}
