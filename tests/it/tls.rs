//! Downstream TLS (`listeners[].tls`): certificates generated here with
//! rcgen into a temp dir, clients on tokio-rustls trusting the test CA.
//!
//! `sni`: which certificate a handshake gets, and HTTP/1.1 and HTTP/2 (ALPN)
//! through a TLS listener. `rotation`: new certificate files are used by new
//! handshakes while open connections carry on; broken ones fail the reload.
//! `mtls`: client certificates. `binary`: curl against the real binary.
//! `observe`: handshake counters, certificate expiry metrics and `GET /tls`.
//! What `switchyard check` says about TLS settings and files is in
//! `check::tls`.

mod binary;
mod mtls;
mod observe;
mod rotation;
mod sni;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use http::Request;
use http_body_util::Full;
use hyper_util::rt::{TokioExecutor, TokioIo};
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose,
};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::{ClientConfig, RootCertStore};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use tokio_rustls::TlsConnector;

use crate::common::{collect, Reply};

/// A test certificate authority.
pub struct Ca {
    issuer: CertifiedIssuer<'static, KeyPair>,
}

/// A certificate and its key, as PEM.
#[derive(Clone)]
pub struct Pair {
    pub cert: String,
    pub key: String,
}

impl Ca {
    pub fn new(name: &str) -> Self {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let issuer = CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap();
        Self { issuer }
    }

    pub fn pem(&self) -> String {
        self.issuer.pem()
    }

    /// A server certificate for `sans` (DNS names) with common name `cn`.
    pub fn server(&self, sans: &[&str], cn: &str) -> Pair {
        self.leaf(sans, cn, ExtendedKeyUsagePurpose::ServerAuth, None)
    }

    /// A server certificate valid until midnight UTC of `(year, month, day)`.
    pub fn server_until(&self, sans: &[&str], cn: &str, until: (i32, u8, u8)) -> Pair {
        self.leaf(sans, cn, ExtendedKeyUsagePurpose::ServerAuth, Some(until))
    }

    /// A client certificate with common name `cn`.
    pub fn client(&self, cn: &str) -> Pair {
        self.leaf(&[], cn, ExtendedKeyUsagePurpose::ClientAuth, None)
    }

    /// A client certificate valid until midnight UTC of `(year, month, day)`.
    pub fn client_until(&self, cn: &str, until: (i32, u8, u8)) -> Pair {
        self.leaf(&[], cn, ExtendedKeyUsagePurpose::ClientAuth, Some(until))
    }

    fn leaf(
        &self,
        sans: &[&str],
        cn: &str,
        usage: ExtendedKeyUsagePurpose,
        until: Option<(i32, u8, u8)>,
    ) -> Pair {
        let key = KeyPair::generate().unwrap();
        let sans: Vec<String> = sans.iter().map(|s| s.to_string()).collect();
        let mut params = CertificateParams::new(sans).unwrap();
        if let Some((y, m, d)) = until {
            params.not_after = rcgen::date_time_ymd(y, m, d);
        }
        params.distinguished_name.push(DnType::CommonName, cn);
        params.extended_key_usages = vec![usage];
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        Pair {
            cert: cert.pem(),
            key: key.serialize_pem(),
        }
    }
}

/// Writes `pair` as `dir/{name}.pem` and `dir/{name}.key` (through a temp
/// file and a rename each, as a careful operator or cert-manager would).
pub fn write_pair(dir: &Path, name: &str, pair: &Pair) {
    std::fs::create_dir_all(dir).unwrap();
    write_atomic(&dir.join(format!("{name}.pem")), &pair.cert);
    write_atomic(&dir.join(format!("{name}.key")), &pair.key);
}

pub fn write_atomic(path: &Path, text: &str) {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

/// The DNS names of the first certificate the server presented.
pub fn peer_names(tls: &TlsStream<TcpStream>) -> Vec<String> {
    let certs = tls
        .get_ref()
        .1
        .peer_certificates()
        .expect("a server certificate");
    let leaf = webpki::EndEntityCert::try_from(&certs[0]).unwrap();
    leaf.valid_dns_names().map(str::to_string).collect()
}

/// Client settings that trust `ca_pem`, offer `alpn` and present `client`
/// (if any). `sni: false` sends no server name (the certificate is still
/// checked against the name `connect` gets).
pub fn client_config(
    ca_pem: &str,
    alpn: &[&[u8]],
    client: Option<&Pair>,
    sni: bool,
) -> Arc<ClientConfig> {
    let mut roots = RootCertStore::empty();
    for c in CertificateDer::pem_slice_iter(ca_pem.as_bytes()) {
        roots.add(c.unwrap()).unwrap();
    }
    let builder =
        ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots);
    let mut config = match client {
        Some(p) => {
            let chain = CertificateDer::pem_slice_iter(p.cert.as_bytes())
                .collect::<Result<Vec<_>, _>>()
                .unwrap();
            let key = PrivateKeyDer::from_pem_slice(p.key.as_bytes()).unwrap();
            builder.with_client_auth_cert(chain, key).unwrap()
        }
        None => builder.with_no_client_auth(),
    };
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    config.enable_sni = sni;
    Arc::new(config)
}

/// A TLS connection to `addr`, verifying the server as `name`.
pub async fn connect(
    addr: SocketAddr,
    name: &str,
    config: Arc<ClientConfig>,
) -> std::io::Result<TlsStream<TcpStream>> {
    let tcp = TcpStream::connect(addr).await?;
    let name = ServerName::try_from(name.to_string()).unwrap();
    TlsConnector::from(config).connect(name, tcp).await
}

/// Accepts any server certificate, so a test can look at what the server
/// chose even when it is not valid for the name asked for.
#[derive(Debug)]
struct AnyServer(Arc<rustls::crypto::CryptoProvider>);

impl rustls::client::danger::ServerCertVerifier for AnyServer {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
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
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// The leaf certificate (DER) the server presents to a client sending SNI
/// `sni` (none for `None`), without checking it.
pub async fn presented(addr: SocketAddr, sni: Option<&str>) -> Vec<u8> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ClientConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()
        .unwrap()
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(AnyServer(provider)))
        .with_no_client_auth();
    config.enable_sni = sni.is_some();
    let tls = connect(addr, sni.unwrap_or("default.invalid"), Arc::new(config))
        .await
        .expect("handshake");
    tls.get_ref().1.peer_certificates().expect("a certificate")[0].to_vec()
}

/// The DER of the first certificate in `pem`.
pub fn der(pem: &str) -> Vec<u8> {
    CertificateDer::pem_slice_iter(pem.as_bytes())
        .next()
        .unwrap()
        .unwrap()
        .to_vec()
}

/// The names of the certificate a handshake as `name` (with SNI) gets.
pub async fn names_for(addr: SocketAddr, ca_pem: &str, name: &str) -> Vec<String> {
    let config = client_config(ca_pem, &[b"http/1.1"], None, true);
    let tls = connect(addr, name, config).await.expect("handshake");
    peer_names(&tls)
}

/// An HTTP/1.1 connection over `tls`.
pub async fn http1(
    tls: TlsStream<TcpStream>,
) -> hyper::client::conn::http1::SendRequest<Full<Bytes>> {
    let (send, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
        .await
        .unwrap();
    tokio::spawn(conn);
    send
}

/// An HTTP/2 connection over `tls`.
pub async fn http2(
    tls: TlsStream<TcpStream>,
) -> hyper::client::conn::http2::SendRequest<Full<Bytes>> {
    let (send, conn) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(tls))
            .await
            .unwrap();
    tokio::spawn(conn);
    send
}

/// `GET https://{host}{path}` on an HTTP/1.1 connection.
pub async fn get1(
    send: &mut hyper::client::conn::http1::SendRequest<Full<Bytes>>,
    host: &str,
    path: &str,
) -> Result<Reply, hyper::Error> {
    send.ready().await?;
    let req = Request::get(path)
        .header(http::header::HOST, host)
        .body(Full::new(Bytes::new()))
        .unwrap();
    Ok(collect(send.send_request(req).await?).await)
}

/// `GET https://{host}{path}` on an HTTP/2 connection.
pub async fn get2(
    send: &mut hyper::client::conn::http2::SendRequest<Full<Bytes>>,
    host: &str,
    path: &str,
) -> Result<Reply, hyper::Error> {
    send.ready().await?;
    let req = Request::get(format!("https://{host}{path}"))
        .body(Full::new(Bytes::new()))
        .unwrap();
    Ok(collect(send.send_request(req).await?).await)
}

/// The YAML of a proxy with one TLS listener `web` (whose `tls:` value is
/// `tls`), routing everything to `upstream`.
pub fn yaml(tls: &str, upstream: &str) -> String {
    format!(
        "version: 1
runtime: {{ worker_threads: 2, shutdown_timeout: 5s }}
admin: {{ listen: '127.0.0.1:0' }}
listeners:
  - name: web
    listen: '127.0.0.1:0'
    tls: {tls}
routes: [{{ name: r, pool: p }}]
pools: [{{ name: p, endpoints: [{{ name: up, url: '{upstream}' }}] }}]
"
    )
}

/// Starts a proxy from `dir/switchyard.yaml` holding `yaml`, with reload
/// triggers on.
pub async fn start_in(dir: &Path, yaml: &str) -> switchyard::Switchyard {
    let path: PathBuf = dir.join("switchyard.yaml");
    std::fs::write(&path, yaml).unwrap();
    let loaded = switchyard::config::load_file(&path).unwrap();
    switchyard::Switchyard::start_with_file(loaded, Some(path))
        .await
        .expect("proxy starts")
}
