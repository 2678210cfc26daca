//! Validation of `listeners[].tls` and `pools[].tls`.
//!
//! Owns: the rules and error wording for certificate and CA paths, server
//! names, `client_auth`, and a pool's trust and client certificate. Must not: read the files; `crate::tls` loads
//! them (at start, before a reload's swap, and in `check`) and reports a
//! missing or broken one.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::defaults;
use super::raw_tls::{RawCertificate, RawListenerTls, RawPoolTls};
use super::tls::{
    server_name, Certificate, ClientAuth, ClientCert, ListenerTls, PoolTls, ServerNames, Trust,
};
use super::validate::Issues;

/// Validates one listener's `tls` (`base` is `listeners[i].tls`). Relative
/// files are joined to `base_dir` when given.
pub(super) fn listener_tls(
    issues: &mut Issues<'_>,
    base: &str,
    raw: &RawListenerTls,
    base_dir: Option<&Path>,
) -> ListenerTls {
    if raw.certificates.is_empty() {
        issues.error(
            format!("{base}.certificates"),
            "at least one certificate is required (the first one is the default)",
        );
    }
    // Explicit names listed twice: the first certificate wins.
    let mut listed: HashMap<Arc<str>, usize> = HashMap::new();
    let certificates = raw
        .certificates
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let path = format!("{base}.certificates[{i}]");
            let cert = certificate(issues, &path, c, base_dir);
            if let ServerNames::Listed(names) = &cert.server_names {
                for (j, n) in names.iter().enumerate() {
                    match listed.get(n) {
                        Some(&first) if first != i => issues.warn(
                            format!("{path}.server_names[{j}]"),
                            format!(
                                "{n:?} is also listed by {base}.certificates[{first}], which serves it"
                            ),
                        ),
                        Some(_) => {}
                        None => {
                            listed.insert(Arc::clone(n), i);
                        }
                    }
                }
            }
            cert
        })
        .collect();
    let client_auth = raw.client_auth.as_ref().map(|a| ClientAuth {
        ca: file(issues, &format!("{base}.client_auth.ca"), &a.ca, base_dir),
        required: a.required.unwrap_or(defaults::TLS_CLIENT_AUTH_REQUIRED),
    });
    ListenerTls {
        certificates,
        client_auth,
        session_resumption: raw
            .session_resumption
            .unwrap_or(defaults::TLS_SESSION_RESUMPTION),
        handshake_timeout: issues.duration(
            &format!("{base}.handshake_timeout"),
            raw.handshake_timeout.as_deref(),
            defaults::TLS_HANDSHAKE_TIMEOUT,
            false,
        ),
    }
}

/// Validates one pool's `tls` (`base` is `pools[i].tls`); `pool` names
/// the pool in messages, and `https` says whether any of its endpoints
/// uses TLS. Relative files are joined to `base_dir` when given.
pub(super) fn pool_tls(
    issues: &mut Issues<'_>,
    base: &str,
    pool: &str,
    raw: Option<&RawPoolTls>,
    https: bool,
    base_dir: Option<&Path>,
) -> PoolTls {
    let Some(raw) = raw else {
        return PoolTls::default();
    };
    if !https {
        issues.warn(
            base,
            format!("pool {pool:?} has no https:// endpoint, so its tls settings are not used"),
        );
    }
    let skip = raw
        .insecure_skip_verify
        .unwrap_or(defaults::TLS_INSECURE_SKIP_VERIFY);
    let trust = match (&raw.ca, skip) {
        (Some(_), true) => {
            issues.error(
                format!("{base}.ca"),
                "a ca has no use with insecure_skip_verify: true; remove one of them",
            );
            Trust::Any
        }
        (Some(ca), false) => Trust::Ca(file(issues, &format!("{base}.ca"), ca, base_dir)),
        (None, true) => Trust::Any,
        (None, false) => Trust::System,
    };
    if skip {
        issues.warn(
            format!("{base}.insecure_skip_verify"),
            format!(
                "the certificates of pool {pool:?}'s endpoints are not verified: anyone on the network path can read and change its traffic"
            ),
        );
    }
    let server_name = raw.server_name.as_deref().and_then(|text| {
        match server_name(text) {
            Ok(n) if n.starts_with("*.") => issues.error(
                format!("{base}.server_name"),
                format!("{text:?} is a wildcard; name the one host the endpoints' certificates are checked against"),
            ),
            Ok(n) => return Some(Arc::from(n)),
            Err(e) => issues.error(format!("{base}.server_name"), e),
        }
        None
    });
    let client_cert = match (&raw.client_cert, &raw.client_key) {
        (Some(cert), Some(key)) => Some(ClientCert {
            cert: file(issues, &format!("{base}.client_cert"), cert, base_dir),
            key: file(issues, &format!("{base}.client_key"), key, base_dir),
        }),
        (Some(_), None) => {
            issues.error(
                format!("{base}.client_key"),
                "missing: client_cert needs the key that goes with it",
            );
            None
        }
        (None, Some(_)) => {
            issues.error(
                format!("{base}.client_cert"),
                "missing: client_key needs the certificate that goes with it",
            );
            None
        }
        (None, None) => None,
    };
    PoolTls {
        trust,
        server_name,
        client_cert,
    }
}

fn certificate(
    issues: &mut Issues<'_>,
    path: &str,
    raw: &RawCertificate,
    base_dir: Option<&Path>,
) -> Certificate {
    let server_names = match &raw.server_names {
        None => ServerNames::FromCertificate,
        Some(list) if list.is_empty() => {
            issues.error(
                format!("{path}.server_names"),
                "must not be empty: leave it out to take the names from the certificate",
            );
            ServerNames::FromCertificate
        }
        Some(list) => {
            let mut names: Vec<Arc<str>> = Vec::with_capacity(list.len());
            for (j, text) in list.iter().enumerate() {
                match server_name(text) {
                    Ok(n) if names.iter().any(|m| **m == *n) => issues.warn(
                        format!("{path}.server_names[{j}]"),
                        format!("{n:?} is listed twice"),
                    ),
                    Ok(n) => names.push(Arc::from(n)),
                    Err(e) => issues.error(format!("{path}.server_names[{j}]"), e),
                }
            }
            ServerNames::Listed(names)
        }
    };
    Certificate {
        cert: file(issues, &format!("{path}.cert"), &raw.cert, base_dir),
        key: file(issues, &format!("{path}.key"), &raw.key, base_dir),
        server_names,
    }
}

fn file(issues: &mut Issues<'_>, path: &str, text: &str, base_dir: Option<&Path>) -> PathBuf {
    let written = PathBuf::from(text);
    if text.trim().is_empty() {
        issues.error(path, "must not be empty: name a PEM file");
        return written;
    }
    match base_dir {
        Some(dir) if written.is_relative() => dir.join(written),
        _ => written,
    }
}
