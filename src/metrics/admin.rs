//! Admin API metric families: requests refused for want of the admin
//! token.
//!
//! Owns: `switchyard_admin_auth_failures_total{reason}`, both series
//! pre-resolved and present at 0 from the start, so an alert on a rise
//! needs no `absent()`.

use prometheus::{IntCounter, IntCounterVec, Opts, Registry};

use super::names;

/// The admin API families, as pre-resolved handles.
#[derive(Debug, Clone)]
pub struct AdminMetrics {
    /// Protected requests without a bearer token.
    pub missing: IntCounter,
    /// Protected requests with a wrong token.
    pub invalid: IntCounter,
}

impl AdminMetrics {
    /// Registers the family in `registry`.
    pub fn register(registry: &Registry) -> Result<Self, prometheus::Error> {
        let failures = IntCounterVec::new(
            Opts::new(
                names::ADMIN_AUTH_FAILURES_TOTAL,
                "Admin requests refused with 401, by reason: missing (no bearer \
                 token) or invalid (a wrong one).",
            ),
            &["reason"],
        )?;
        registry.register(Box::new(failures.clone()))?;
        Ok(Self {
            missing: failures.with_label_values(&["missing"]),
            invalid: failures.with_label_values(&["invalid"]),
        })
    }
}
