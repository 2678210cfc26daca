//! The `listeners[].tls` and `pools[].tls` parts of the config file schema
//! (and `pools[].protocol`), as plain serde types.
//!
//! Owns: the shape of `tls:`, with `deny_unknown_fields` like the rest of
//! `raw` (doc comments are the schema's descriptions, as there). Must not:
//! interpret values (paths and names are checked by `validate_tls`) or read
//! the certificate files.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::schema;

/// `listeners[].tls`: terminate TLS 1.3 and 1.2; ALPN offers `h2` and
/// `http/1.1`. Certificate, key and CA files are watched and reloaded.
#[derive(Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "ListenerTls", transform = schema::require_certificates)]
pub struct RawListenerTls {
    /// Certificate and key pairs, at least one. A handshake gets the one
    /// whose names match the client's SNI; no SNI, or an unknown name, gets
    /// the first.
    #[serde(default)]
    #[schemars(length(min = 1))]
    pub certificates: Vec<RawCertificate>,
    /// Ask clients for a certificate (mutual TLS). Default: none asked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_auth: Option<RawClientAuth>,
    /// Whether returning clients may resume a session (stateless tickets
    /// with rotating keys, and a TLS 1.2 session cache). Default `true`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_resumption: Option<bool>,
    /// How long a client may take from the TCP accept to a finished
    /// handshake. Default `10s`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<schema::Duration>")]
    pub handshake_timeout: Option<String>,
}

/// `listeners[].tls.certificates[]`: one certificate chain and its key.
#[derive(Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Certificate")]
pub struct RawCertificate {
    /// PEM file with the certificate chain, leaf first. A relative path is
    /// resolved against the config file's directory.
    pub cert: String,
    /// PEM file with the leaf's private key (PKCS#8, PKCS#1 or SEC1); may
    /// be the same file as `cert`.
    pub key: String,
    /// The names (`api.example.com`, `*.example.com`) that select this
    /// certificate, instead of the names in the certificate. Not empty when
    /// given.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1))]
    pub server_names: Option<Vec<String>>,
}

/// `listeners[].tls.client_auth`: verify client certificates.
#[derive(Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "ClientAuth")]
pub struct RawClientAuth {
    /// PEM file with the CA certificates client certificates must chain to.
    pub ca: String,
    /// `true` refuses clients without a certificate; `false` serves them,
    /// but a certificate presented must still verify. Default `true`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub required: Option<bool>,
}

/// `pools[].tls`: how Switchyard connects to the pool's `https://`
/// endpoints.
#[derive(Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "PoolTls")]
pub struct RawPoolTls {
    /// PEM file with the CA certificates the endpoints' certificates must
    /// chain to, instead of the system roots.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ca: Option<String>,
    /// The name sent as SNI and checked against the certificates, instead
    /// of each endpoint URL's host. A DNS name, no wildcard.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_name: Option<String>,
    /// PEM certificate chain presented to the endpoints (mutual TLS); needs
    /// `client_key`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_cert: Option<String>,
    /// PEM private key of `client_cert`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_key: Option<String>,
    /// Accept any certificate for any name. For tests only: it loads with a
    /// warning. Default `false`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub insecure_skip_verify: Option<bool>,
}

/// `pools[].protocol`
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
#[schemars(rename = "Protocol")]
pub enum RawProtocol {
    /// HTTP/1.1 with a keep-alive pool of connections per endpoint.
    #[default]
    Http1,
    /// HTTP/2, one multiplexed connection per endpoint: ALPN `h2` over
    /// TLS, prior knowledge (h2c) in cleartext.
    Http2,
}
