//! Validated TLS settings: a listener's (downstream: which files to load
//! and which names each certificate serves) and a pool's (upstream: trust,
//! SNI, client certificate).
//!
//! Owns: the snapshot types for `listeners[].tls` and `pools[].tls`, and
//! the rules for server
//! names (shared with `crate::tls`, which applies them to the names it
//! finds in certificates). Must not: read or parse the certificate files
//! (that is `crate::tls`'s job, which also reports a missing or broken one).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// `listeners[].tls`
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListenerTls {
    /// Certificate and key pairs in file order; the first one is served to
    /// clients that send no SNI or a name no certificate serves. Never empty.
    pub certificates: Vec<Certificate>,
    /// Client certificate verification, if configured.
    pub client_auth: Option<ClientAuth>,
    /// Whether clients may resume sessions: TLS 1.3 tickets sealed with
    /// rotating keys, and TLS 1.2 tickets and session IDs. Off, every
    /// handshake is a full one.
    pub session_resumption: bool,
    /// How long a client may take from accept to a finished handshake;
    /// then the connection is closed (`result="timeout"`).
    pub handshake_timeout: Duration,
}

/// `listeners[].tls.certificates[]`
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Certificate {
    /// PEM certificate chain, leaf first. A relative path is joined to the
    /// config file's directory when that is known. Not checked to exist.
    pub cert: PathBuf,
    /// PEM private key (PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
    /// Which names select this certificate.
    pub server_names: ServerNames,
}

/// Where a certificate's names come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServerNames {
    /// The certificate's DNS subject alternative names, or its common name
    /// when it has none.
    FromCertificate,
    /// The names listed in the config (lowercase, never empty); exact names
    /// and `*.` wildcards.
    Listed(Vec<Arc<str>>),
}

/// `listeners[].tls.client_auth`
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientAuth {
    /// PEM file with the CA certificates a client certificate must chain to.
    pub ca: PathBuf,
    /// Whether a client without a certificate is refused (otherwise it is
    /// served, and a certificate it does send must still verify).
    pub required: bool,
}

impl ListenerTls {
    /// Every file these settings name, in a fixed order (per certificate:
    /// cert, key; then the client CA), for content hashes and watches.
    pub fn files(&self) -> impl Iterator<Item = &PathBuf> {
        self.certificates
            .iter()
            .flat_map(|c| [&c.cert, &c.key])
            .chain(self.client_auth.iter().map(|a| &a.ca))
    }
}

/// `pools[].tls`, with its defaults filled in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolTls {
    /// Which server certificates are trusted.
    pub trust: Trust,
    /// Sent as SNI and checked against the certificate instead of the
    /// endpoint URL's host (lowercase).
    pub server_name: Option<Arc<str>>,
    /// The certificate presented to the endpoints (mTLS), if any.
    pub client_cert: Option<ClientCert>,
}

/// Which server certificates a pool trusts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Trust {
    /// The operating system's roots (the default).
    System,
    /// Only certificates chaining to the CAs in this PEM file.
    Ca(PathBuf),
    /// Any certificate (`insecure_skip_verify: true`); signatures are still
    /// checked, identities are not.
    Any,
}

/// `pools[].tls.client_cert` and `client_key`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientCert {
    /// PEM certificate chain, leaf first.
    pub cert: PathBuf,
    /// PEM private key.
    pub key: PathBuf,
}

impl PoolTls {
    /// Every file these settings name (CA, then client certificate and
    /// key), for content hashes and watches.
    pub fn files(&self) -> impl Iterator<Item = &PathBuf> {
        let ca = match &self.trust {
            Trust::Ca(f) => Some(f),
            Trust::System | Trust::Any => None,
        };
        ca.into_iter()
            .chain(self.client_cert.iter().flat_map(|c| [&c.cert, &c.key]))
    }
}

impl Default for PoolTls {
    fn default() -> Self {
        Self {
            trust: Trust::System,
            server_name: None,
            client_cert: None,
        }
    }
}

/// Checks and normalises a server name: a DNS name, or `*.` followed by
/// one, in any case; returns it in lowercase without a trailing dot.
///
/// ```
/// use switchyard::config::server_name;
/// assert_eq!(server_name("API.Example.com.").as_deref(), Ok("api.example.com"));
/// assert_eq!(server_name("*.example.com").as_deref(), Ok("*.example.com"));
/// assert!(server_name("a.*.example.com").is_err());
/// assert!(server_name("10.0.0.1").is_err());
/// ```
pub fn server_name(text: &str) -> Result<String, String> {
    let name = text.strip_suffix('.').unwrap_or(text).to_ascii_lowercase();
    let rest = match name.strip_prefix("*.") {
        Some(rest) => rest,
        None if name == "*" => {
            return Err(format!(
                "invalid server name {text:?}: a wildcard needs a domain after it, as in *.example.com"
            ))
        }
        None if name.contains('*') => {
            return Err(format!(
                "invalid server name {text:?}: a wildcard must be the whole first label, as in *.example.com"
            ))
        }
        None => name.as_str(),
    };
    if rest.is_empty() || rest.len() > 253 {
        return Err(format!(
            "invalid server name {text:?}: expected a DNS name such as api.example.com"
        ));
    }
    if rest.parse::<std::net::IpAddr>().is_ok() {
        return Err(format!(
            "invalid server name {text:?}: clients never send an IP address as SNI; list DNS names"
        ));
    }
    for label in rest.split('.') {
        let ok = !label.is_empty()
            && label.len() <= 63
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !ok {
            let why = if label.contains('*') {
                "a wildcard must be the whole first label, as in *.example.com"
            } else {
                "expected a DNS name such as api.example.com (labels of letters, digits and '-')"
            };
            return Err(format!("invalid server name {text:?}: {why}"));
        }
    }
    Ok(name)
}
