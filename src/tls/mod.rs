//! TLS: the rustls server side of listeners with `tls:` and the client
//! side of pools with `https://` endpoints.
//!
//! Owns: loading a listener's PEM files (certificates, keys, client CA)
//! into a rustls `ServerConfig` whose resolver picks a certificate by SNI;
//! loading a pool's trust and client certificate into `ClientConfig`s
//! (`upstream.rs`); the content hashes that make those files part of a
//! config's identity, and the errors that say what is wrong with them.
//! Must not: accept or make connections (`proxy::server` and
//! `upstream::connect` do the handshakes) or decide when to load: start,
//! reload (before the swap) and `check` call [`TlsSet::load`].
//!
//! A `TlsSet` belongs to one config generation, like a `PluginSet`. A
//! listener or pool whose settings and file contents are unchanged keeps
//! the previous generation's config (a listener keeps its session cache,
//! a pool its upstream connections); anything else gets a new one, which
//! new handshakes use from the swap on.

mod load;
mod names;
mod resolver;
mod upstream;
pub mod x509;

pub use load::TlsError;
pub use resolver::{NameIndex, SniResolver};
pub use upstream::{UpstreamTls, ALPN_H2};

use std::path::PathBuf;
use std::sync::Arc;

use rustls::ServerConfig;

use crate::config::{self, ListenerTls};

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
    /// Per certificate, in config order, when its leaf expires (Unix
    /// seconds), if readable.
    pub not_after: Vec<Option<i64>>,
    /// Content hashes of `spec.files()`, in that order.
    pub file_hashes: Vec<String>,
}

/// The TLS of one config generation, by listener and pool position.
#[derive(Debug, Default)]
pub struct TlsSet {
    by_listener: Vec<Option<Arc<ServerTls>>>,
    by_pool: Vec<Option<Arc<UpstreamTls>>>,
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

    /// Every pool with upstream TLS, in config order.
    pub fn pools(&self) -> impl Iterator<Item = &Arc<UpstreamTls>> {
        self.by_pool.iter().flatten()
    }

    /// Every TLS listener, in config order.
    pub fn iter(&self) -> impl Iterator<Item = &Arc<ServerTls>> {
        self.by_listener.iter().flatten()
    }

    /// The upstream TLS of the pool at `index` in the config, if it has an
    /// `https://` endpoint.
    pub fn pool(&self, index: usize) -> Option<&Arc<UpstreamTls>> {
        self.by_pool.get(index)?.as_ref()
    }

    /// Loads the TLS of every listener that has `tls:` and of every pool
    /// with an `https://` endpoint, reusing a listener or pool of
    /// `previous` with the same name, settings and file contents. Every
    /// problem is reported, each with its config path and listener or pool.
    /// Blocking (reads files): cheap, but off the request path.
    pub fn load(config: &config::Config, previous: Option<&TlsSet>) -> Result<Self, Vec<String>> {
        let listeners = &config.listeners;
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
        let mut by_pool = Vec::with_capacity(config.pools.len());
        for (i, p) in config.pools.iter().enumerate() {
            if !needs_tls(p) {
                by_pool.push(None);
                continue;
            }
            let before = previous
                .into_iter()
                .flat_map(|s| s.by_pool.iter().flatten())
                .find(|t| t.pool == p.name);
            match upstream::load_pool(&mut files, p, before) {
                Ok(t) => by_pool.push(Some(t)),
                Err(list) => {
                    for (what, e) in list {
                        let sep = if what.is_empty() { "" } else { "." };
                        errors.push(format!(
                            "pools[{i}].tls{sep}{what} (pool {:?}): {e}",
                            p.name
                        ));
                    }
                }
            }
        }
        if errors.is_empty() {
            Ok(Self {
                by_listener,
                by_pool,
            })
        } else {
            Err(errors)
        }
    }

    /// The hash of `base` and the TLS files these listeners and pools were
    /// loaded from, as [`combined_hash`] computes it from the files on disk.
    pub fn combined_hash(&self, base: &str) -> String {
        let pools = self.by_pool.iter().flatten();
        fold_hashes(
            base,
            self.iter()
                .flat_map(|t| t.file_hashes.iter().cloned())
                .chain(pools.flat_map(|t| t.file_hashes.iter().cloned())),
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

/// Whether `pool` connects with TLS to any endpoint, and so has its
/// `tls:` loaded.
fn needs_tls(pool: &config::Pool) -> bool {
    pool.endpoints.iter().any(|e| e.url.is_tls())
}

/// Every file the TLS settings of listeners and of pools with `https://`
/// endpoints name (certificates, keys, CAs), listeners first, for content
/// hashes and for watching their directories.
pub fn files(config: &config::Config) -> Vec<PathBuf> {
    let listeners = config.listeners.iter().filter_map(|l| l.tls.as_ref());
    let pools = config.pools.iter().filter(|p| needs_tls(p));
    listeners
        .flat_map(|t| t.files().cloned())
        .chain(pools.flat_map(|p| p.tls.files().cloned()))
        .collect()
}

/// The hash that identifies `base` (a config's text and plugin files) with
/// the TLS files its listeners and pools name, read now; `base` itself when
/// none has TLS files. A file that cannot be read hashes as "unreadable".
pub fn combined_hash(base: &str, config: &config::Config) -> String {
    let mut files = load::Files::default();
    let hashes = self::files(config)
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
    let file_hashes = files.hashes(spec.files(), |f| file_path(spec, f))?;
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
    let (
        load::Loaded {
            resolver,
            names,
            not_after,
        },
        verifier,
    ) = match (certificates, verifier) {
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
    let config = load::server_config(resolver, verifier, spec.session_resumption)
        .map_err(|e| vec![(String::new(), e)])?;
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
        not_after,
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

/// How downstream TLS handshakes end, in label order:
/// `switchyard_tls_handshakes_total{result}`.
pub const HANDSHAKE_RESULTS: [&str; 6] = [
    "success",
    "timeout",
    "client_certificate",
    "certificate_rejected",
    "protocol",
    "aborted",
];

/// The result label of a failed downstream handshake:
/// - `client_certificate`: mTLS refused the client's certificate, or it
///   sent none where one is required;
/// - `certificate_rejected`: the client refused ours (it sent a
///   certificate alert: unknown CA, expired, bad name...);
/// - `protocol`: no common version, cipher or ALPN, or a malformed or
///   unexpected message;
/// - `aborted`: the client closed or reset the connection mid-handshake
///   (port scanners and TCP-only health checks end here).
pub fn handshake_failure(e: &std::io::Error) -> &'static str {
    use rustls::AlertDescription as A;
    let Some(tls) = e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>()) else {
        return "aborted";
    };
    match tls {
        rustls::Error::NoCertificatesPresented | rustls::Error::InvalidCertificate(_) => {
            "client_certificate"
        }
        rustls::Error::AlertReceived(
            A::BadCertificate
            | A::UnsupportedCertificate
            | A::CertificateRevoked
            | A::CertificateExpired
            | A::CertificateUnknown
            | A::UnknownCA,
        ) => "certificate_rejected",
        _ => "protocol",
    }
}
