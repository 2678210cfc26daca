//! The `listeners[].tls` part of the config file schema, as plain serde
//! types.
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
