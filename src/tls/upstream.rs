//! Upstream TLS: the rustls client side of pools with `https://` endpoints.
//!
//! Owns: turning a pool's `tls:` (trust, SNI override, client certificate)
//! into rustls `ClientConfig`s, one per ALPN offer, and the process-wide
//! cache of the system's root certificates. Must not: connect
//! (`upstream::connect` does the handshake) or decide when to load.
//!
//! Trust defaults to the operating system's roots, read once per process
//! with `rustls-native-certs` (the files `update-ca-certificates` and
//! friends maintain, or `SSL_CERT_FILE` / `SSL_CERT_DIR`), so an operator
//! trusts a private CA the way every other program on the host does.

use std::sync::{Arc, OnceLock};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::ResolvesClientCert;
use rustls::crypto::CryptoProvider;
use rustls::sign::CertifiedKey;
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use rustls_pki_types::{CertificateDer, ServerName, UnixTime};

use super::load::{self, provider, Files, TlsError};
use crate::config::{self, EndpointUrl, PoolTls, Protocol, Trust};

/// ALPN offered by an HTTP/1.1 connection.
const ALPN_HTTP1: &[u8] = b"http/1.1";
/// ALPN offered by an HTTP/2 connection (RFC 9113 §3.2).
pub const ALPN_H2: &[u8] = b"h2";

/// One pool's upstream TLS, loaded.
#[derive(Debug)]
pub struct UpstreamTls {
    /// The pool's name.
    pub pool: Arc<str>,
    /// The settings it was loaded from.
    pub spec: PoolTls,
    /// Content hashes of `spec.files()`, in that order.
    pub file_hashes: Vec<String>,
    /// When the client certificate expires (Unix seconds), if there is
    /// one and it is readable.
    pub client_cert_not_after: Option<i64>,
    /// Offers ALPN `http/1.1`.
    http1: Arc<ClientConfig>,
    /// Offers ALPN `h2` only.
    http2: Arc<ClientConfig>,
}

impl UpstreamTls {
    /// The client config for connections speaking `protocol`: it offers
    /// exactly that protocol by ALPN.
    pub fn client_config(&self, protocol: Protocol) -> Arc<ClientConfig> {
        match protocol {
            Protocol::Http1 => Arc::clone(&self.http1),
            Protocol::Http2 => Arc::clone(&self.http2),
        }
    }

    /// The name sent as SNI to `url` and checked against its certificate:
    /// the pool's `server_name`, else the URL's host (an IP address is
    /// checked against the certificate's IP addresses, and sends no SNI).
    pub fn server_name(&self, url: &EndpointUrl) -> Option<ServerName<'static>> {
        let name = self.spec.server_name.as_deref().unwrap_or(url.host());
        ServerName::try_from(name.to_string()).ok()
    }
}

/// Loads `pool`'s TLS, reusing `previous` when its settings and files are
/// unchanged. Errors come with their path under `pools[i].tls`.
pub(super) fn load_pool(
    files: &mut Files,
    pool: &config::Pool,
    previous: Option<&Arc<UpstreamTls>>,
) -> Result<Arc<UpstreamTls>, Vec<(String, TlsError)>> {
    let spec = &pool.tls;
    let file_hashes = files.hashes(spec.files(), |f| file_path(spec, f))?;
    if let Some(p) = previous.filter(|p| p.spec == *spec && p.file_hashes == file_hashes) {
        return Ok(Arc::clone(p));
    }
    let verifier: Option<Arc<dyn ServerCertVerifier>> = match &spec.trust {
        Trust::Any => Some(Arc::new(AnyCertificate(provider()))),
        Trust::System | Trust::Ca(_) => None,
    };
    let roots = match &spec.trust {
        Trust::System => Ok(system_roots()),
        Trust::Ca(path) => ca_roots(files, path).map_err(|e| vec![("ca".to_string(), e)]),
        Trust::Any => Ok(Arc::new(RootCertStore::empty())),
    }?;
    let client = match &spec.client_cert {
        Some(c) => {
            let as_cert = config::Certificate {
                cert: c.cert.clone(),
                key: c.key.clone(),
                server_names: config::ServerNames::Listed(Vec::new()),
            };
            let leaf = load::certified_key(files, &as_cert, true)
                .map_err(|e| vec![("client_cert".to_string(), e)])?;
            Some(leaf)
        }
        None => None,
    };
    let builder = ClientConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|e| vec![(String::new(), TlsError::Config(e))])?;
    let builder = match verifier {
        Some(v) => builder.dangerous().with_custom_certificate_verifier(v),
        None => builder.with_root_certificates(roots),
    };
    let client_cert_not_after = client.as_ref().and_then(|l| l.not_after);
    let base = match client {
        Some(leaf) => builder.with_client_cert_resolver(Arc::new(OneCertificate(leaf.key))),
        None => builder.with_no_client_auth(),
    };
    let with_alpn = |alpn: &[u8]| {
        let mut c = base.clone();
        c.alpn_protocols = vec![alpn.to_vec()];
        Arc::new(c)
    };
    tracing::info!(
        pool = %pool.name,
        trust = match &spec.trust {
            Trust::System => "system".to_string(),
            Trust::Ca(p) => p.display().to_string(),
            Trust::Any => "any (insecure_skip_verify)".to_string(),
        },
        client_certificate = spec.client_cert.is_some(),
        "Upstream TLS loaded."
    );
    Ok(Arc::new(UpstreamTls {
        pool: Arc::clone(&pool.name),
        spec: spec.clone(),
        file_hashes,
        client_cert_not_after,
        http1: with_alpn(ALPN_HTTP1),
        http2: with_alpn(ALPN_H2),
    }))
}

/// The config path of file `f` within `spec`.
fn file_path(spec: &PoolTls, f: &std::path::Path) -> String {
    match &spec.client_cert {
        Some(c) if c.cert == f => "client_cert".into(),
        Some(c) if c.key == f => "client_key".into(),
        _ => "ca".into(),
    }
}

/// The roots in a CA file.
fn ca_roots(files: &mut Files, path: &std::path::Path) -> Result<Arc<RootCertStore>, TlsError> {
    let pem = files.get(path)?.bytes;
    let mut roots = RootCertStore::empty();
    for cert in load::certificates(path, &pem)? {
        roots.add(cert).map_err(|source| TlsError::BadCa {
            path: path.to_path_buf(),
            source,
        })?;
    }
    Ok(Arc::new(roots))
}

/// The operating system's root certificates, read once per process (a
/// change to them needs a restart).
fn system_roots() -> Arc<RootCertStore> {
    static ROOTS: OnceLock<Arc<RootCertStore>> = OnceLock::new();
    Arc::clone(ROOTS.get_or_init(|| {
        let found = rustls_native_certs::load_native_certs();
        for e in &found.errors {
            tracing::warn!(error = %e, "Cannot read some system root certificates.");
        }
        let mut roots = RootCertStore::empty();
        let (added, ignored) = roots.add_parsable_certificates(found.certs);
        if added == 0 {
            tracing::warn!("No system root certificates found: https:// endpoints of pools without tls.ca cannot be verified (install ca-certificates, or set SSL_CERT_FILE).");
        } else {
            tracing::info!(
                roots = added,
                ignored,
                "System root certificates loaded."
            );
        }
        Arc::new(roots)
    }))
}

/// Presents the one configured client certificate to every server that
/// asks for one.
#[derive(Debug)]
struct OneCertificate(Arc<CertifiedKey>);

impl ResolvesClientCert for OneCertificate {
    fn resolve(&self, _: &[&[u8]], _: &[SignatureScheme]) -> Option<Arc<CertifiedKey>> {
        Some(Arc::clone(&self.0))
    }

    fn has_certs(&self) -> bool {
        true
    }
}

/// `insecure_skip_verify: true`: accepts any certificate for any name, but
/// still checks the handshake signatures (so the peer holds the key of the
/// certificate it sent).
#[derive(Debug)]
struct AnyCertificate(Arc<CryptoProvider>);

impl ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
