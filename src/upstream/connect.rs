//! Opening a connection to an endpoint: TCP within the connect timeout,
//! then, for `https://` endpoints, the TLS handshake (SNI, ALPN) within the
//! same timeout.
//!
//! Owns: `Dial` (where and how to connect) and `Io` (the plain or TLS
//! stream the HTTP connection runs on). Shared by the request path's
//! clients and the health probes. Must not: speak HTTP.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use rustls_pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use tokio_rustls::TlsConnector;

use super::client::UpstreamError;
use crate::config::{EndpointUrl, Protocol};
use crate::tls::{UpstreamTls, ALPN_H2};

/// Where and how to connect to one endpoint.
#[derive(Debug, Clone, PartialEq)]
pub struct Dial {
    /// `host:port` to connect to.
    pub address: String,
    /// Plain TCP, or TLS on top of it.
    pub security: Security,
}

/// What runs on top of the TCP connection.
#[derive(Debug, Clone, PartialEq)]
pub enum Security {
    /// Nothing: cleartext HTTP.
    Plain,
    /// TLS, for `https://` endpoints.
    Tls(TlsDial),
    /// TLS that cannot be set up (why): every connect fails, rather than
    /// falling back to cleartext.
    Unusable(Arc<str>),
}

/// The TLS side of a `Dial`.
#[derive(Debug, Clone)]
pub struct TlsDial {
    /// The pool's client configs.
    pub config: Arc<UpstreamTls>,
    /// SNI and the name the certificate must be valid for.
    pub server_name: ServerName<'static>,
}

impl PartialEq for TlsDial {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.config, &other.config) && self.server_name == other.server_name
    }
}

impl Dial {
    /// How to reach `url` on `port`: TLS with `tls` (the pool's) when the
    /// URL is `https://`. Validation and loading make sure an `https://`
    /// URL has a usable server name and its pool's TLS; if not, the dial
    /// is `Unusable`.
    pub fn new(url: &EndpointUrl, port: u16, tls: Option<&Arc<UpstreamTls>>) -> Self {
        let security = match (url.is_tls(), tls) {
            (false, _) => Security::Plain,
            (true, None) => Security::Unusable("the pool's TLS is not loaded".into()),
            (true, Some(config)) => match config.server_name(url) {
                Some(server_name) => Security::Tls(TlsDial {
                    server_name,
                    config: Arc::clone(config),
                }),
                None => Security::Unusable("no valid TLS server name".into()),
            },
        };
        Self {
            address: url.dial_address(port),
            security,
        }
    }

    /// Connects within `timeout` (TCP and TLS together); over TLS, offers
    /// `protocol` by ALPN and, for HTTP/2, insists the server chose it.
    pub async fn connect(
        &self,
        protocol: Protocol,
        timeout: Duration,
    ) -> Result<Io, UpstreamError> {
        match tokio::time::timeout(timeout, self.connect_now(protocol)).await {
            Ok(r) => r,
            Err(_) => Err(UpstreamError::Connect {
                authority: self.address.clone(),
                source: io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!("no connection within {timeout:?}"),
                ),
            }),
        }
    }

    async fn connect_now(&self, protocol: Protocol) -> Result<Io, UpstreamError> {
        let tls_error = |source| UpstreamError::Tls {
            authority: self.address.clone(),
            source,
        };
        let tls = match &self.security {
            Security::Unusable(why) => return Err(tls_error(io::Error::other(why.to_string()))),
            Security::Plain => None,
            Security::Tls(t) => Some(t),
        };
        let stream =
            TcpStream::connect(&self.address)
                .await
                .map_err(|source| UpstreamError::Connect {
                    authority: self.address.clone(),
                    source,
                })?;
        stream.set_nodelay(true).ok();
        let Some(tls) = tls else {
            return Ok(Io::Plain(stream));
        };
        let connector = TlsConnector::from(tls.config.client_config(protocol));
        let stream = connector
            .connect(tls.server_name.clone(), stream)
            .await
            .map_err(tls_error)?;
        if protocol == Protocol::Http2 && stream.get_ref().1.alpn_protocol() != Some(ALPN_H2) {
            return Err(tls_error(io::Error::other(
                "the server did not accept HTTP/2 (ALPN h2); set the pool's protocol: http1",
            )));
        }
        Ok(Io::Tls(Box::new(stream)))
    }
}

/// A connection to an endpoint, plain or TLS.
#[derive(Debug)]
pub enum Io {
    /// Cleartext TCP.
    Plain(TcpStream),
    /// TLS over TCP.
    Tls(Box<TlsStream<TcpStream>>),
}

impl AsyncRead for Io {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Self::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Self::Tls(s) => Pin::new(s).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Io {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Self::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Self::Tls(s) => Pin::new(s).poll_write(cx, buf),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Self::Plain(s) => Pin::new(s).poll_write_vectored(cx, bufs),
            Self::Tls(s) => Pin::new(s).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            Self::Plain(s) => s.is_write_vectored(),
            Self::Tls(s) => s.is_write_vectored(),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Self::Plain(s) => Pin::new(s).poll_flush(cx),
            Self::Tls(s) => Pin::new(s).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Self::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Self::Tls(s) => Pin::new(s).poll_shutdown(cx),
        }
    }
}
