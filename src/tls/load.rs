//! Reading a listener's PEM files into rustls types, with one error per
//! thing that can be wrong with them.
//!
//! Owns: `TlsError`, PEM parsing, the key-matches-certificate check, the
//! client CA store and verifier, and the `ServerConfig` (protocol versions,
//! ALPN). Must not: decide when to load (start, reload and `check` call
//! `TlsSet::load`).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use rustls::crypto::CryptoProvider;
use rustls::server::danger::ClientCertVerifier;
use rustls::server::WebPkiClientVerifier;
use rustls::sign::CertifiedKey;
use rustls::{RootCertStore, ServerConfig};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

use super::names::certificate_names;
use super::resolver::{NameIndex, SniResolver};
use crate::config::{self, ListenerTls, ServerNames};

/// ALPN protocols offered, in order of preference (RFC 7301).
const ALPN: [&[u8]; 2] = [b"h2", b"http/1.1"];

/// What is wrong with a listener's TLS files.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A file could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A file is not well-formed PEM.
    #[error("{} is not valid PEM: {}", path.display(), pem_problem(source))]
    Pem {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: rustls_pki_types::pem::Error,
    },
    /// A certificate or CA file holds no certificate.
    #[error("{} contains no certificate (a PEM \"BEGIN CERTIFICATE\" block)", path.display())]
    NoCertificate {
        /// The file.
        path: PathBuf,
    },
    /// A key file holds no private key.
    #[error("{} contains no private key (a PEM \"BEGIN PRIVATE KEY\", \"BEGIN RSA PRIVATE KEY\" or \"BEGIN EC PRIVATE KEY\" block)", path.display())]
    NoKey {
        /// The file.
        path: PathBuf,
    },
    /// The leaf certificate cannot be parsed.
    #[error("the first certificate in {} is not a valid X.509 v3 certificate: {source}", path.display())]
    BadCertificate {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: webpki::Error,
    },
    /// The key is of a kind rustls cannot sign with, or is malformed.
    #[error("cannot use the private key in {}: {source}", path.display())]
    BadKey {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: rustls::Error,
    },
    /// The key is not the certificate's.
    #[error("the private key in {} does not match the certificate in {}", key.display(), cert.display())]
    KeyMismatch {
        /// The certificate file.
        cert: PathBuf,
        /// The key file.
        key: PathBuf,
    },
    /// A certificate other than the default serves no name.
    #[error("the certificate in {} has no DNS name (subject alternative name or common name), so no client could select it; list its names in server_names", path.display())]
    NoNames {
        /// The file.
        path: PathBuf,
    },
    /// A CA certificate cannot be used as a trust anchor.
    #[error("cannot use a CA certificate in {}: {source}", path.display())]
    BadCa {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: rustls::Error,
    },
    /// The client certificate verifier could not be built.
    #[error("cannot verify client certificates against {}: {source}", path.display())]
    Verifier {
        /// The CA file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: rustls::server::VerifierBuilderError,
    },
    /// rustls refused the protocol versions (a bug).
    #[error("cannot build the TLS server config: {0}")]
    Config(#[source] rustls::Error),
}

/// What is wrong with a PEM file, in words (the library's own message
/// prints markers as byte arrays).
fn pem_problem(e: &rustls_pki_types::pem::Error) -> String {
    use rustls_pki_types::pem::Error;
    match e {
        Error::MissingSectionEnd { end_marker } => format!(
            "a \"BEGIN {}\" line has no matching END line (is the file cut short?)",
            String::from_utf8_lossy(end_marker)
        ),
        Error::IllegalSectionStart { line } => {
            format!("malformed BEGIN line {:?}", String::from_utf8_lossy(line))
        }
        Error::Base64Decode(why) => format!("bad base64 inside a PEM block: {why}"),
        other => other.to_string(),
    }
}

/// The crypto provider every TLS config uses: ring, which builds without
/// CMake or a C toolchain beyond `cc`.
pub(super) fn provider() -> Arc<CryptoProvider> {
    static PROVIDER: OnceLock<Arc<CryptoProvider>> = OnceLock::new();
    Arc::clone(PROVIDER.get_or_init(|| Arc::new(rustls::crypto::ring::default_provider())))
}

/// One file's bytes and their content hash.
#[derive(Debug, Clone)]
pub(super) struct Content {
    /// The bytes.
    pub(super) bytes: Arc<[u8]>,
    /// `config::content_hash` of the bytes.
    pub(super) hash: String,
}

/// Files read during one load, by path, each read once.
#[derive(Debug, Default)]
pub(super) struct Files {
    read: HashMap<PathBuf, Result<Content, Arc<std::io::Error>>>,
}

impl Files {
    /// The content of `path`.
    pub(super) fn get(&mut self, path: &Path) -> Result<Content, TlsError> {
        let entry = self.read.entry(path.to_path_buf()).or_insert_with(|| {
            std::fs::read(path)
                .map(|b| Content {
                    hash: config::content_hash(&b),
                    bytes: Arc::from(b),
                })
                .map_err(Arc::new)
        });
        entry.clone().map_err(|e| TlsError::Read {
            path: path.to_path_buf(),
            source: std::io::Error::new(e.kind(), e.to_string()),
        })
    }

    /// The content hashes of `paths`, in order, or every file that failed,
    /// each labelled by `label` (its config path).
    pub(super) fn hashes<'a>(
        &mut self,
        paths: impl Iterator<Item = &'a PathBuf>,
        label: impl Fn(&Path) -> String,
    ) -> Result<Vec<String>, Vec<(String, TlsError)>> {
        let mut hashes = Vec::new();
        let mut errors = Vec::new();
        for f in paths {
            match self.get(f) {
                Ok(c) => hashes.push(c.hash),
                Err(e) => errors.push((label(f), e)),
            }
        }
        if errors.is_empty() {
            Ok(hashes)
        } else {
            Err(errors)
        }
    }
}

/// A listener's certificates, loaded.
#[derive(Debug)]
pub(super) struct Loaded {
    /// The resolver over them.
    pub(super) resolver: SniResolver,
    /// Per certificate, the names it serves.
    pub(super) names: Vec<Vec<String>>,
    /// Per certificate, when its leaf expires (Unix seconds), if readable.
    pub(super) not_after: Vec<Option<i64>>,
}

/// One loaded certificate and key.
pub(super) struct Leaf {
    /// The chain and signing key.
    pub(super) key: Arc<CertifiedKey>,
    /// The names it serves.
    pub(super) names: Vec<String>,
    /// When the leaf expires (Unix seconds), if readable.
    pub(super) not_after: Option<i64>,
}

/// One certificate: the chain and key, the names it serves and when it
/// expires. An expired certificate loads (as in nginx and Envoy) with a
/// warning; `switchyard_tls_certificate_expiry_timestamp_seconds` is what
/// to alert on.
pub(super) fn certified_key(
    files: &mut Files,
    spec: &config::Certificate,
    is_default: bool,
) -> Result<Leaf, TlsError> {
    let cert_pem = files.get(&spec.cert)?.bytes;
    let key_pem = files.get(&spec.key)?.bytes;
    let chain = certificates(&spec.cert, &cert_pem)?;
    let key = match PrivateKeyDer::from_pem_slice(&key_pem) {
        Ok(k) => k,
        Err(rustls_pki_types::pem::Error::NoItemsFound) => {
            return Err(TlsError::NoKey {
                path: spec.key.clone(),
            })
        }
        Err(source) => {
            return Err(TlsError::Pem {
                path: spec.key.clone(),
                source,
            })
        }
    };
    // Parsed even when the config lists the names, so a broken leaf is
    // reported as such.
    let leaf = chain.first().ok_or_else(|| TlsError::NoCertificate {
        path: spec.cert.clone(),
    })?;
    let own = certificate_names(leaf).map_err(|source| TlsError::BadCertificate {
        path: spec.cert.clone(),
        source,
    })?;
    let leaf_der = leaf.clone();
    let names = match &spec.server_names {
        ServerNames::Listed(list) => list.iter().map(ToString::to_string).collect(),
        ServerNames::FromCertificate => own,
    };
    if names.is_empty() && !is_default {
        return Err(TlsError::NoNames {
            path: spec.cert.clone(),
        });
    }
    let signing = provider()
        .key_provider
        .load_private_key(key)
        .map_err(|source| TlsError::BadKey {
            path: spec.key.clone(),
            source,
        })?;
    let certified = CertifiedKey::new(chain, signing);
    match certified.keys_match() {
        // ring knows the public key of every key type it loads; "unknown"
        // cannot happen with it, and is no evidence of a mismatch anyway.
        Ok(()) | Err(rustls::Error::InconsistentKeys(rustls::InconsistentKeys::Unknown)) => {}
        Err(rustls::Error::InconsistentKeys(_)) => {
            return Err(TlsError::KeyMismatch {
                cert: spec.cert.clone(),
                key: spec.key.clone(),
            })
        }
        Err(source) => {
            return Err(TlsError::BadKey {
                path: spec.key.clone(),
                source,
            })
        }
    }
    let not_after = super::x509::not_after(leaf_der.as_ref());
    if let Some(t) = not_after.filter(|t| *t < super::x509::unix_now()) {
        tracing::warn!(
            cert = %spec.cert.display(),
            not_after = %super::x509::rfc3339(t),
            "TLS certificate has expired; peers that check validity will refuse it."
        );
    }
    Ok(Leaf {
        key: Arc::new(certified),
        names,
        not_after,
    })
}

/// Every certificate in a PEM file, in order; at least one.
pub(super) fn certificates(
    path: &Path,
    pem: &[u8],
) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let chain = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|source| TlsError::Pem {
            path: path.to_path_buf(),
            source,
        })?;
    if chain.is_empty() {
        return Err(TlsError::NoCertificate {
            path: path.to_path_buf(),
        });
    }
    Ok(chain)
}

/// The verifier for `client_auth`.
pub(super) fn client_verifier(
    files: &mut Files,
    auth: &config::ClientAuth,
) -> Result<Arc<dyn ClientCertVerifier>, TlsError> {
    let pem = files.get(&auth.ca)?.bytes;
    let mut roots = RootCertStore::empty();
    for cert in certificates(&auth.ca, &pem)? {
        roots.add(cert).map_err(|source| TlsError::BadCa {
            path: auth.ca.clone(),
            source,
        })?;
    }
    let builder = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider());
    let builder = if auth.required {
        builder
    } else {
        builder.allow_unauthenticated()
    };
    builder.build().map_err(|source| TlsError::Verifier {
        path: auth.ca.clone(),
        source,
    })
}

/// The rustls config of one listener: TLS 1.3 and 1.2, ALPN `h2` then
/// `http/1.1`, certificates by SNI, the client verifier if any, and
/// session resumption when `resumption`: stateless tickets (keys made
/// here and rotated every 6 hours by rustls; a listener keeps them as long
/// as it keeps this config, so across reloads that leave its TLS alone),
/// plus rustls' session cache for TLS 1.2 clients without tickets.
/// Without it, no tickets and no cache: every handshake is a full one.
pub(super) fn server_config(
    resolver: SniResolver,
    verifier: Option<Arc<dyn ClientCertVerifier>>,
    resumption: bool,
) -> Result<Arc<ServerConfig>, TlsError> {
    let builder = ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(TlsError::Config)?;
    let builder = match verifier {
        Some(v) => builder.with_client_cert_verifier(v),
        None => builder.with_no_client_auth(),
    };
    let mut config = builder.with_cert_resolver(Arc::new(resolver));
    config.alpn_protocols = ALPN.iter().map(|p| p.to_vec()).collect();
    if resumption {
        config.ticketer = rustls::crypto::ring::Ticketer::new().map_err(TlsError::Config)?;
    } else {
        config.session_storage = Arc::new(rustls::server::NoServerSessionStorage {});
        config.send_tls13_tickets = 0;
    }
    Ok(Arc::new(config))
}

/// Loads one listener's certificates into a resolver; every certificate
/// is tried, and each failure is reported with its position.
pub(super) fn resolver(
    files: &mut Files,
    spec: &ListenerTls,
) -> Result<Loaded, Vec<(usize, TlsError)>> {
    let mut keys = Vec::with_capacity(spec.certificates.len());
    let mut names = Vec::with_capacity(spec.certificates.len());
    let mut not_after = Vec::with_capacity(spec.certificates.len());
    let mut errors = Vec::new();
    let mut index = NameIndex::default();
    for (i, c) in spec.certificates.iter().enumerate() {
        match certified_key(files, c, i == 0) {
            Ok(Leaf {
                key,
                names: served,
                not_after: expiry,
            }) => {
                for n in &served {
                    if !index.insert(n, i) {
                        tracing::debug!(name = %n, certificate = i, "Name already served by an earlier certificate.");
                    }
                }
                keys.push(key);
                names.push(served);
                not_after.push(expiry);
            }
            Err(e) => errors.push((i, e)),
        }
    }
    if errors.is_empty() {
        Ok(Loaded {
            resolver: SniResolver::new(keys, index),
            names,
            not_after,
        })
    } else {
        Err(errors)
    }
}
