//! TLS metric families: downstream handshakes by result, and when each
//! loaded certificate expires.
//!
//! Owns: `switchyard_tls_handshakes_total{listener,result}` (pre-resolved
//! per listener, so the accept path hashes no labels) and
//! `switchyard_tls_certificate_expiry_timestamp_seconds{scope,name,file}`,
//! rewritten from the active config's TLS at every swap so a rotated or
//! removed certificate leaves no stale series. Labels are config names and
//! the configured file paths, never peer data.

use prometheus::{GaugeVec, IntCounter, IntCounterVec, Opts, Registry};

use super::names;
use crate::tls::{TlsSet, HANDSHAKE_RESULTS};

/// The TLS families.
#[derive(Debug, Clone)]
pub struct TlsFamilies {
    handshakes: IntCounterVec,
    expiry: GaugeVec,
}

/// One listener's handshake counters, in [`HANDSHAKE_RESULTS`] order.
#[derive(Debug, Clone)]
pub struct HandshakeMetrics([IntCounter; 6]);

impl HandshakeMetrics {
    /// Counts one handshake that ended with `result` (a
    /// [`HANDSHAKE_RESULTS`] label).
    pub fn record(&self, result: &str) {
        if let Some(i) = HANDSHAKE_RESULTS.iter().position(|r| *r == result) {
            self.0[i].inc();
        }
    }
}

impl TlsFamilies {
    /// Registers the families in `registry`.
    pub fn register(registry: &Registry) -> Result<Self, prometheus::Error> {
        let handshakes = IntCounterVec::new(
            Opts::new(
                names::TLS_HANDSHAKES_TOTAL,
                "Downstream TLS handshakes, by listener and result.",
            ),
            &["listener", "result"],
        )?;
        registry.register(Box::new(handshakes.clone()))?;
        let expiry = GaugeVec::new(
            Opts::new(
                names::TLS_CERTIFICATE_EXPIRY_TIMESTAMP_SECONDS,
                "When each loaded certificate expires (Unix seconds): listener \
                 certificates (scope listener) and pool client certificates (scope pool).",
            ),
            &["scope", "name", "file"],
        )?;
        registry.register(Box::new(expiry.clone()))?;
        Ok(Self { handshakes, expiry })
    }

    /// The handshake counters of `listener`; every result exists (at 0).
    pub fn handshakes(&self, listener: &str) -> HandshakeMetrics {
        HandshakeMetrics(
            HANDSHAKE_RESULTS.map(|r| self.handshakes.with_label_values(&[listener, r])),
        )
    }

    /// Drops the handshake series of a removed listener.
    pub fn remove_listener(&self, listener: &str) {
        for r in HANDSHAKE_RESULTS {
            // Absent when the listener never had TLS.
            self.handshakes.remove_label_values(&[listener, r]).ok();
        }
    }

    /// Replaces every expiry series with those of `set`.
    pub fn export_expiry(&self, set: &TlsSet) {
        self.expiry.reset();
        for t in set.iter() {
            for (c, at) in t.spec.certificates.iter().zip(&t.not_after) {
                if let Some(at) = at {
                    let file = c.cert.display().to_string();
                    self.expiry
                        .with_label_values(&["listener", &t.listener, &file])
                        .set(*at as f64);
                }
            }
        }
        for p in set.pools() {
            if let (Some(c), Some(at)) = (&p.spec.client_cert, p.client_cert_not_after) {
                let file = c.cert.display().to_string();
                self.expiry
                    .with_label_values(&["pool", &p.pool, &file])
                    .set(at as f64);
            }
        }
    }
}
