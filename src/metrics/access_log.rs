//! Access log metric families: lines written and lines lost.
//!
//! Owns: `switchyard_access_log_lines_total` and
//! `switchyard_access_log_dropped_total{reason}`, both pre-resolved, so the
//! request path (which counts a line dropped on a full queue) and the
//! writer thread hash no labels. Every series exists at 0 from the start.

use prometheus::{IntCounter, IntCounterVec, Opts, Registry};

use super::names;

/// The access log families, as pre-resolved handles.
#[derive(Debug, Clone)]
pub struct AccessLogMetrics {
    /// Lines handed to the output (stdout or the file).
    pub lines: IntCounter,
    /// Lines dropped because the writer's queue was full.
    pub queue_full: IntCounter,
    /// Lines lost because the output could not be written.
    pub write_error: IntCounter,
}

impl AccessLogMetrics {
    /// Registers the families in `registry`.
    pub fn register(registry: &Registry) -> Result<Self, prometheus::Error> {
        let lines = IntCounter::new(
            names::ACCESS_LOG_LINES_TOTAL,
            "Access log lines written to the output.",
        )?;
        registry.register(Box::new(lines.clone()))?;
        let dropped = IntCounterVec::new(
            Opts::new(
                names::ACCESS_LOG_DROPPED_TOTAL,
                "Access log lines lost, by reason: queue_full (the writer fell \
                 behind; the request was not held up) or write_error.",
            ),
            &["reason"],
        )?;
        registry.register(Box::new(dropped.clone()))?;
        Ok(Self {
            lines,
            queue_full: dropped.with_label_values(&["queue_full"]),
            write_error: dropped.with_label_values(&["write_error"]),
        })
    }
}
