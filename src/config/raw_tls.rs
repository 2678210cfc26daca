//! The `listeners[].tls` and `pools[].tls` parts of the config file schema
//! (and `pools[].protocol`), as plain serde types.
//!
//! Owns: the shape of `tls:`, with `deny_unknown_fields` like the rest of
//! `raw`. Must not: interpret values (paths and names are checked by
//! `validate_tls`) or read the certificate files.

use serde::{Deserialize, Serialize};

/// `listeners[].tls`
#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawListenerTls {
    /// Certificate and key pairs; the first is the default.
    #[serde(default)]
    pub certificates: Vec<RawCertificate>,
    /// Client certificate verification.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_auth: Option<RawClientAuth>,
    /// Whether clients may resume sessions (tickets, session IDs).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_resumption: Option<bool>,
    /// How long a client may take to complete the handshake.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub handshake_timeout: Option<String>,
}

/// `listeners[].tls.certificates[]`
#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawCertificate {
    /// PEM file with the certificate chain, leaf first, relative to the
    /// config file's directory.
    pub cert: String,
    /// PEM file with the private key.
    pub key: String,
    /// Names this certificate serves, overriding the names in the
    /// certificate itself.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_names: Option<Vec<String>>,
}

/// `listeners[].tls.client_auth`
#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawClientAuth {
    /// PEM file with the CA certificates client certificates must chain to.
    pub ca: String,
    /// Refuse clients without a certificate (default true).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub required: Option<bool>,
}

/// `pools[].tls`: how Switchyard connects to the pool's `https://`
/// endpoints.
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawPoolTls {
    /// PEM file with the CA certificates the endpoints' certificates must
    /// chain to, instead of the system roots.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ca: Option<String>,
    /// The name sent as SNI and checked against the certificates, instead
    /// of each endpoint URL's host.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_name: Option<String>,
    /// PEM certificate chain presented to the endpoints (mTLS).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_cert: Option<String>,
    /// PEM private key of `client_cert`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_key: Option<String>,
    /// Accept any certificate (default false). For tests only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub insecure_skip_verify: Option<bool>,
}

/// `pools[].protocol`
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RawProtocol {
    /// HTTP/1.1 with a keep-alive pool.
    #[default]
    Http1,
    /// HTTP/2: ALPN `h2` over TLS, prior knowledge (h2c) in cleartext.
    Http2,
}
