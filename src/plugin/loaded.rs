//! A loaded plugin: its compiled module linked once (`InstancePre`), its
//! settings, and its warm instances.
//!
//! Warm instances are kept per plugin and per worker thread (a shard per
//! thread, picked by a thread-local index) and are checked out by one
//! request at a time, so no instance ever serves two requests at once.

use std::cell::Cell;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use wasmtime::{InstancePre, Module};

use super::engine::{deadline_ticks, Host};
use super::instance::{Failure, Instance, Recipe};
use super::state::HostState;
use crate::config::{OnError, Plugin as Spec};
use crate::metrics::{PluginFamilies, PluginPhaseMetrics};

/// The phases a call is counted under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Instantiation, `_initialize`, VM start and configuration.
    Configure = 0,
    /// `proxy_on_request_headers` (with the context's creation).
    RequestHeaders = 1,
    /// `proxy_on_request_body`.
    RequestBody = 2,
    /// `proxy_on_response_headers`.
    ResponseHeaders = 3,
    /// `proxy_on_response_body`.
    ResponseBody = 4,
    /// `proxy_on_done`, `proxy_on_log`, `proxy_on_delete`.
    Log = 5,
}

impl Phase {
    /// The `phase` label.
    pub fn as_str(self) -> &'static str {
        crate::metrics::PLUGIN_PHASES[self as usize]
    }
}

/// Which callbacks the module exports.
#[derive(Debug, Clone, Copy, Default)]
pub struct Has {
    /// `proxy_on_request_headers`.
    pub request_headers: bool,
    /// `proxy_on_request_body`.
    pub request_body: bool,
    /// `proxy_on_response_headers`.
    pub response_headers: bool,
    /// `proxy_on_response_body`.
    pub response_body: bool,
    /// `proxy_on_done`, `proxy_on_log` or `proxy_on_delete`, one that
    /// does something.
    pub end: bool,
}

impl Has {
    /// Reads the module's exports; `empty` names those that do nothing.
    pub fn of(module: &Module, empty: &[&str]) -> Self {
        let has = |n: &str| module.get_export(n).is_some() && !empty.contains(&n);
        Self {
            request_headers: has("proxy_on_request_headers"),
            request_body: has("proxy_on_request_body"),
            response_headers: has("proxy_on_response_headers"),
            response_body: has("proxy_on_response_body"),
            end: has("proxy_on_done") || has("proxy_on_log") || has("proxy_on_delete"),
        }
    }

    /// Whether the instance must stay with the request after its request
    /// headers were seen.
    pub fn needs_more(self) -> bool {
        self.request_body || self.response_headers || self.response_body || self.end
    }
}

/// Idle instances kept per worker shard.
const MAX_IDLE_PER_SHARD: usize = 64;

/// A plugin ready to run.
pub struct Plugin {
    /// The config entry it was loaded from.
    pub spec: Spec,
    /// Content hash of the module file.
    pub hash: String,
    /// Exported callbacks.
    pub has: Has,
    /// Exported callbacks with empty bodies, never called.
    skip: Vec<&'static str>,
    host: Host,
    pre: InstancePre<HostState>,
    ticks: u64,
    warm: Box<[Mutex<Vec<Instance>>]>,
    metrics: [PluginPhaseMetrics; 6],
    /// Bit per (phase, result) already logged, so each kind of failure is
    /// logged once per loaded plugin; the metric counts them all.
    logged: AtomicU64,
    created: AtomicUsize,
}

impl std::fmt::Debug for Plugin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Plugin")
            .field("name", &self.spec.name)
            .field("hash", &self.hash)
            .finish_non_exhaustive()
    }
}

thread_local! {
    static SHARD: Cell<usize> = const { Cell::new(usize::MAX) };
}
static NEXT_SHARD: AtomicUsize = AtomicUsize::new(0);

fn shard(n: usize) -> usize {
    SHARD.with(|s| {
        if s.get() == usize::MAX {
            s.set(NEXT_SHARD.fetch_add(1, Ordering::Relaxed));
        }
        s.get() % n
    })
}

impl Plugin {
    /// Wraps a linked module. Creates no instance.
    /// `callbacks`: what the module exports, and which exported callbacks
    /// have empty bodies (never called).
    pub fn new(
        spec: Spec,
        hash: String,
        host: Host,
        pre: InstancePre<HostState>,
        callbacks: (Has, Vec<&'static str>),
        families: &PluginFamilies,
    ) -> Self {
        let (has, skip) = callbacks;
        let shards = std::thread::available_parallelism()
            .map_or(4, |n| n.get())
            .clamp(1, 64);
        let metrics = crate::metrics::PLUGIN_PHASES.map(|p| families.phase(&spec.name, p));
        Self {
            ticks: deadline_ticks(spec.time),
            spec,
            hash,
            has,
            skip,
            host,
            pre,
            warm: (0..shards).map(|_| Mutex::new(Vec::new())).collect(),
            metrics,
            logged: AtomicU64::new(0),
            created: AtomicUsize::new(0),
        }
    }

    /// The plugin's name.
    pub fn name(&self) -> &Arc<str> {
        &self.spec.name
    }

    /// What to do when it fails.
    pub fn on_error(&self) -> OnError {
        self.spec.on_error
    }

    /// Metric handles for `phase`.
    pub fn metrics(&self, phase: Phase) -> &PluginPhaseMetrics {
        &self.metrics[phase as usize]
    }

    /// A fresh, configured instance.
    pub fn instantiate(&self) -> Result<Instance, Failure> {
        self.created.fetch_add(1, Ordering::Relaxed);
        Instance::create(&Recipe {
            host: &self.host,
            pre: &self.pre,
            name: &self.spec.name,
            config: &self.spec.config,
            memory: self.spec.memory,
            body_limit: self.spec.body,
            ticks: self.ticks,
            time: self.spec.time,
            skip: &self.skip,
            metrics: self.metrics(Phase::Configure),
        })
    }

    /// Instances created so far (warm reuse keeps this low).
    pub fn instances_created(&self) -> usize {
        self.created.load(Ordering::Relaxed)
    }

    /// A warm instance of this worker's shard, else of another shard
    /// (a request may end on another worker than it began on, moving its
    /// instance), else a new one.
    pub fn checkout(&self) -> Result<Instance, Failure> {
        let n = self.warm.len();
        let own = shard(n);
        let idle = self.warm[own]
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .pop();
        if let Some(i) = idle {
            return Ok(i);
        }
        for k in 1..n {
            if let Ok(mut other) = self.warm[(own + k) % n].try_lock() {
                if let Some(i) = other.pop() {
                    return Ok(i);
                }
            }
        }
        self.instantiate()
    }

    /// Gives a healthy instance back for the next request.
    pub fn checkin(&self, mut inst: Instance) {
        inst.state().end_request();
        let mut shard = self.warm[shard(self.warm.len())]
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if shard.len() < MAX_IDLE_PER_SHARD {
            shard.push(inst);
        }
    }

    /// Counts a failure and logs the first of its kind.
    pub fn failed(&self, phase: Phase, failure: &Failure) {
        self.metrics(phase).count(failure.result());
        let kind = match failure {
            Failure::Timeout => 0,
            Failure::Memory => 1,
            Failure::Trap(_) => 2,
            Failure::Error(_) => 3,
        };
        let bit = 1u64 << (phase as u32 * 4 + kind);
        if self.logged.fetch_or(bit, Ordering::Relaxed) & bit == 0 {
            tracing::error!(
                plugin = %self.spec.name,
                phase = phase.as_str(),
                on_error = self.spec.on_error.as_str(),
                error = %failure,
                "Plugin call failed; its instance is discarded (further failures of this kind are counted in switchyard_plugin_calls_total, not logged)."
            );
        }
    }
}
