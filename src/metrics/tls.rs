//! TLS metric families: downstream handshakes by result, and when each
//! loaded certificate expires.
//!
//! Owns: `switchyard_tls_handshakes_total{listener,result}` and
//! `switchyard_tls_resumed_handshakes_total{listener}` (pre-resolved
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
    resumed: IntCounterVec,
    expiry: GaugeVec,
}

/// One listener's handshake counters, in [`HANDSHAKE_RESULTS`] order, and
/// its resumed-session counter.
#[derive(Debug, Clone)]
pub struct HandshakeMetrics {
    by_result: [IntCounter; 6],
    resumed: IntCounter,
}

impl HandshakeMetrics {
    /// Counts one handshake that ended with `result` (a
    /// [`HANDSHAKE_RESULTS`] label).
    pub fn record(&self, result: &str) {
        if let Some(i) = HANDSHAKE_RESULTS.iter().position(|r| *r == result) {
            self.by_result[i].inc();
        }
    }

    /// Counts one successful handshake, resumed or full.
    pub fn succeeded(&self, resumed: bool) {
        self.by_result[0].inc();
        if resumed {
            self.resumed.inc();
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
        let resumed = IntCounterVec::new(
            Opts::new(
                names::TLS_RESUMED_HANDSHAKES_TOTAL,
                "Successful downstream TLS handshakes that resumed a session, by listener.",
            ),
            &["listener"],
        )?;
        registry.register(Box::new(resumed.clone()))?;
        let expiry = GaugeVec::new(
            Opts::new(
                names::TLS_CERTIFICATE_EXPIRY_TIMESTAMP_SECONDS,
                "When each loaded certificate expires (Unix seconds): listener \
                 certificates (scope listener) and pool client certificates (scope pool).",
            ),
            &["scope", "name", "file"],
        )?;
        registry.register(Box::new(expiry.clone()))?;
        Ok(Self {
            handshakes,
            resumed,
            expiry,
        })
    }

    /// The handshake counters of `listener`; every result exists (at 0).
    pub fn handshakes(&self, listener: &str) -> HandshakeMetrics {
        HandshakeMetrics {
            by_result: HANDSHAKE_RESULTS.map(|r| self.handshakes.with_label_values(&[listener, r])),
            resumed: self.resumed.with_label_values(&[listener]),
        }
    }

    /// Drops the handshake series of a removed listener.
    pub fn remove_listener(&self, listener: &str) {
        for r in HANDSHAKE_RESULTS {
            // Absent when the listener never had TLS.
            self.handshakes.remove_label_values(&[listener, r]).ok();
        }
        self.resumed.remove_label_values(&[listener]).ok();
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
