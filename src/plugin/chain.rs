//! Running a request's plugins: the request callbacks in order, the
//! response callbacks in reverse, each under its plugin's limits, and the
//! end of the context (`on_done`, `on_log`, `on_delete`) when the request
//! is over, whichever way it ends.
//!
//! A failed call discards its instance and applies the plugin's
//! `on_error`: `fail_open` skips the plugin for the rest of the request,
//! `fail_closed` gives a `Verdict::Failed` the proxy answers with a 500.

use std::sync::Arc;
use std::time::Instant;

use http::{request, response};

use super::instance::{Callback, Failure, Instance};
use super::loaded::{Phase, Plugin};
use super::state::{LocalReply, Props};
use crate::config::OnError;

/// What the proxy does next.
#[derive(Debug)]
pub enum Verdict {
    /// Go on.
    Continue,
    /// Answer with this reply instead.
    Reply(LocalReply),
    /// A `fail_closed` plugin failed.
    Failed(PluginError),
}

/// A `fail_closed` plugin's failure.
#[derive(Debug, Clone, thiserror::Error)]
#[error("plugin {plugin:?} failed in {phase}: {failure}")]
pub struct PluginError {
    /// The plugin's name.
    pub plugin: Arc<str>,
    /// The phase.
    pub phase: &'static str,
    /// What went wrong.
    pub failure: Failure,
}

pub(super) struct Filter {
    pub(super) plugin: Arc<Plugin>,
    pub(super) inst: Instance,
    pub(super) ctx: i32,
}

/// The plugin contexts of one request, alive until it ends.
#[derive(Default)]
pub struct Active {
    pub(super) filters: Vec<Filter>,
}

impl std::fmt::Debug for Active {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Active")
            .field("filters", &self.filters.len())
            .finish()
    }
}

pub(super) fn empty_request() -> request::Parts {
    http::Request::new(()).into_parts().0
}

pub(super) fn empty_response() -> response::Parts {
    http::Response::new(()).into_parts().0
}

/// Times and counts one call; `Err` on failure (already counted).
/// A call that asked for a local reply counts as `local_reply`, not `ok`.
pub(super) fn timed<R>(
    plugin: &Plugin,
    phase: Phase,
    inst: &mut Instance,
    f: impl FnOnce(&mut Instance) -> Result<R, Failure>,
) -> Result<R, Failure> {
    let m = plugin.metrics(phase);
    let start = Instant::now();
    let out = f(inst);
    m.duration.observe(start.elapsed().as_secs_f64());
    match &out {
        Ok(_) if inst.state().local.is_some() => m.count("local_reply"),
        Ok(_) => m.ok.inc(),
        Err(e) => plugin.failed(phase, e),
    }
    out
}

/// The verdict for a failure under the plugin's policy.
fn on_failure(plugin: &Plugin, phase: Phase, failure: Failure) -> Verdict {
    match plugin.on_error() {
        OnError::FailOpen => Verdict::Continue,
        OnError::FailClosed => Verdict::Failed(PluginError {
            plugin: Arc::clone(plugin.name()),
            phase: phase.as_str(),
            failure,
        }),
    }
}

fn header_count(parts: &request::Parts) -> i32 {
    i32::try_from(parts.headers.len() + 4).unwrap_or(i32::MAX)
}

impl Active {
    /// No plugin contexts.
    pub fn new() -> Self {
        Self::default()
    }

    /// Live contexts.
    pub fn len(&self) -> usize {
        self.filters.len()
    }

    /// Whether no context is live.
    pub fn is_empty(&self) -> bool {
        self.filters.is_empty()
    }

    /// Takes over `other`'s contexts, after this one's: their response
    /// callbacks run first.
    pub fn absorb(&mut self, mut other: Active) {
        self.filters.append(&mut other.filters);
    }

    /// Runs `plugins`' request-header callbacks on `parts`, in order,
    /// keeping each context for the later phases. `end_of_stream`: the
    /// request has no body.
    pub fn request_headers(
        &mut self,
        plugins: &[Arc<Plugin>],
        parts: &mut request::Parts,
        props: &Arc<Props>,
        end_of_stream: bool,
    ) -> Verdict {
        for plugin in plugins {
            let phase = Phase::RequestHeaders;
            let mut inst = match plugin.checkout() {
                Ok(i) => i,
                Err(f) => match on_failure(plugin, phase, f) {
                    Verdict::Continue => continue,
                    v => return v,
                },
            };
            let ctx = inst.new_context();
            inst.state().props = Some(Arc::clone(props));
            inst.state().request = Some(std::mem::replace(parts, empty_request()));
            let n = header_count(inst.state().request.as_ref().unwrap_or(parts));
            let out = timed(plugin, phase, &mut inst, |inst| {
                inst.create_context(ctx)?;
                inst.callback(Callback::RequestHeaders, ctx, n, end_of_stream)
                    .map(|_| ())
            });
            if let Some(p) = inst.state().request.take() {
                *parts = p;
            }
            if let Err(f) = out {
                match on_failure(plugin, phase, f) {
                    Verdict::Continue => continue,
                    v => return v,
                }
            }
            let local = inst.state().local.take();
            let filter = Filter {
                plugin: Arc::clone(plugin),
                inst,
                ctx,
            };
            if plugin.has.needs_more() || local.is_some() {
                self.filters.push(filter);
            } else {
                finish(filter);
            }
            if let Some(reply) = local {
                return Verdict::Reply(reply);
            }
        }
        Verdict::Continue
    }

    /// Runs the response-header callbacks, last context first.
    pub fn response_headers(
        &mut self,
        parts: &mut response::Parts,
        end_of_stream: bool,
    ) -> Verdict {
        let phase = Phase::ResponseHeaders;
        let mut i = self.filters.len();
        while i > 0 {
            i -= 1;
            let f = &mut self.filters[i];
            if !f.plugin.has.response_headers {
                continue;
            }
            let n = i32::try_from(parts.headers.len() + 1).unwrap_or(i32::MAX);
            f.inst.state().response = Some(std::mem::replace(parts, empty_response()));
            let ctx = f.ctx;
            let out = timed(&f.plugin, phase, &mut f.inst, |inst| {
                inst.callback(Callback::ResponseHeaders, ctx, n, end_of_stream)
                    .map(|r| r.unwrap_or(0))
            });
            if let Some(p) = f.inst.state().response.take() {
                *parts = p;
            }
            match self.after(i, phase, out) {
                Verdict::Continue => {}
                v => return v,
            }
        }
        Verdict::Continue
    }

    /// After a call on context `i`: a failure drops the context and
    /// applies its policy; a local reply ends the chain.
    pub(super) fn after(&mut self, i: usize, phase: Phase, out: Result<i32, Failure>) -> Verdict {
        match out {
            Err(failure) => {
                let f = self.filters.remove(i);
                on_failure(&f.plugin, phase, failure)
            }
            Ok(_) => {
                let f = &mut self.filters[i];
                match f.inst.state().local.take() {
                    Some(reply) => Verdict::Reply(reply),
                    None => Verdict::Continue,
                }
            }
        }
    }

    /// Ends every context now (also done on drop).
    pub fn finish(&mut self) {
        for f in self.filters.drain(..) {
            finish(f);
        }
    }
}

impl Drop for Active {
    fn drop(&mut self) {
        self.finish();
    }
}

/// `on_done`, `on_log`, `on_delete`, then the instance goes back warm.
fn finish(mut f: Filter) {
    if f.plugin.has.end {
        let ctx = f.ctx;
        if timed(&f.plugin, Phase::Log, &mut f.inst, |i| i.end_context(ctx)).is_err() {
            return;
        }
    }
    f.plugin.checkin(f.inst);
}
