//! Plugin metric families: calls by result and time per call.
//!
//! Labels are the plugin's name from the config, the phase (a fixed set)
//! and the result (a fixed set), so the series count is bounded by config.

use prometheus::{
    Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, Opts, Registry,
};

use super::names;

/// Buckets for plugin calls, 1 µs to 100 ms (the deadline is a few ms).
const CALL_BUCKETS: &[f64] = &[
    0.000_001,
    0.000_002_5,
    0.000_005,
    0.000_01,
    0.000_025,
    0.000_05,
    0.000_1,
    0.000_25,
    0.000_5,
    0.001,
    0.002_5,
    0.005,
    0.01,
    0.025,
    0.1,
];

/// Every `phase` label value.
pub const PHASES: [&str; 6] = [
    "configure",
    "request_headers",
    "request_body",
    "response_headers",
    "response_body",
    "log",
];

/// Every `result` label value.
pub const RESULTS: [&str; 7] = [
    "ok",
    "local_reply",
    "trap",
    "timeout",
    "memory",
    "error",
    "body_too_large",
];

/// The plugin families.
#[derive(Debug, Clone)]
pub struct PluginFamilies {
    calls: IntCounterVec,
    duration: HistogramVec,
}

/// Pre-resolved handles for one (plugin, phase): the hot path only
/// observes and increments.
#[derive(Debug, Clone)]
pub struct PluginPhaseMetrics {
    /// Time per call.
    pub duration: Histogram,
    /// Calls that returned normally.
    pub ok: IntCounter,
    families: PluginFamilies,
    plugin: std::sync::Arc<str>,
    phase: &'static str,
}

impl PluginPhaseMetrics {
    /// Counts a call with another result (rare: failures, local replies).
    pub fn count(&self, result: &str) {
        self.families
            .calls
            .with_label_values(&[&self.plugin, self.phase, result])
            .inc();
    }
}

impl PluginFamilies {
    /// Registers the families.
    pub fn register(registry: &Registry) -> Result<Self, prometheus::Error> {
        let calls = IntCounterVec::new(
            Opts::new(
                names::PLUGIN_CALLS_TOTAL,
                "Plugin callbacks, by plugin, phase and result.",
            ),
            &["plugin", "phase", "result"],
        )?;
        registry.register(Box::new(calls.clone()))?;
        let duration = HistogramVec::new(
            HistogramOpts::new(
                names::PLUGIN_DURATION_SECONDS,
                "Time spent in plugin callbacks, by plugin and phase.",
            )
            .buckets(CALL_BUCKETS.to_vec()),
            &["plugin", "phase"],
        )?;
        registry.register(Box::new(duration.clone()))?;
        Ok(Self { calls, duration })
    }

    /// Handles for one plugin in one phase.
    pub fn phase(&self, plugin: &std::sync::Arc<str>, phase: &'static str) -> PluginPhaseMetrics {
        PluginPhaseMetrics {
            duration: self.duration.with_label_values(&[plugin, phase]),
            ok: self.calls.with_label_values(&[plugin, phase, "ok"]),
            families: self.clone(),
            plugin: std::sync::Arc::clone(plugin),
            phase,
        }
    }

    /// Removes every series of a plugin that left the config.
    pub fn remove_plugin(&self, plugin: &str) {
        for phase in PHASES {
            for result in RESULTS {
                self.calls
                    .remove_label_values(&[plugin, phase, result])
                    .ok();
            }
            self.duration.remove_label_values(&[plugin, phase]).ok();
        }
    }
}
