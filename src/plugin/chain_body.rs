//! Body phases of a request's plugin contexts: which contexts read the
//! request or response body, the limits that apply, and the body
//! callbacks, each given the whole body once with the head lent alongside.

use std::sync::Arc;

use bytes::Bytes;
use http::{request, response};

use super::chain::{empty_request, empty_response, timed, Active, Filter, PluginError, Verdict};
use super::instance::{Callback, Failure};
use super::loaded::Phase;
use crate::config::OnError;

impl Active {
    fn reading(&self, from: usize, request: bool) -> impl Iterator<Item = &Filter> {
        self.filters.iter().skip(from).filter(move |f| {
            if request {
                f.plugin.has.request_body
            } else {
                f.plugin.has.response_body
            }
        })
    }

    /// Whether a context opened at or after `from` reads the request body.
    pub fn wants_request_body_since(&self, from: usize) -> bool {
        self.reading(from, true).next().is_some()
    }

    /// Whether any context reads the response body.
    pub fn wants_response_body(&self) -> bool {
        self.reading(0, false).next().is_some()
    }

    /// The largest body limit among the contexts (opened at or after
    /// `from`) that read the request (`request`) or response body.
    pub fn body_limit_since(&self, from: usize, request: bool) -> usize {
        self.reading(from, request)
            .map(|f| f.plugin.spec.body)
            .max()
            .unwrap_or(0)
    }

    /// A body too big for every reading context: counts it for each, and
    /// says whether the request may go on with the body unread (every one
    /// is `fail_open`) or which `fail_closed` plugin refuses it.
    pub fn body_too_large_since(&self, from: usize, request: bool) -> Result<(), PluginError> {
        let phase = if request {
            Phase::RequestBody
        } else {
            Phase::ResponseBody
        };
        let mut refused = None;
        for f in self.reading(from, request) {
            f.plugin.metrics(phase).count("body_too_large");
            if f.plugin.on_error() == OnError::FailClosed && refused.is_none() {
                refused = Some(PluginError {
                    plugin: Arc::clone(f.plugin.name()),
                    phase: phase.as_str(),
                    failure: Failure::Error(format!(
                        "the body exceeds the plugin's limit of {} bytes",
                        f.plugin.spec.body
                    )),
                });
            }
        }
        refused.map_or(Ok(()), Err)
    }

    /// Runs the request-body callbacks of the contexts opened at or after
    /// `from` on the whole body (delivered once, with `end_of_stream`),
    /// with the request head lent too.
    pub fn request_body_since(
        &mut self,
        from: usize,
        parts: &mut request::Parts,
        body: &mut Bytes,
    ) -> Verdict {
        self.body(Phase::RequestBody, from, Lent::Request(parts), body)
    }

    /// Runs the response-body callbacks on the whole body, last context
    /// first, with the response head lent too (nothing was sent yet).
    pub fn response_body(&mut self, parts: &mut response::Parts, body: &mut Bytes) -> Verdict {
        self.body(Phase::ResponseBody, 0, Lent::Response(parts), body)
    }

    fn body(&mut self, phase: Phase, from: usize, mut lent: Lent<'_>, body: &mut Bytes) -> Verdict {
        let (kind, forward) = match phase {
            Phase::RequestBody => (super::abi::REQUEST_BODY, true),
            _ => (super::abi::RESPONSE_BODY, false),
        };
        let order: Vec<usize> = if forward {
            (from..self.filters.len()).collect()
        } else {
            (from..self.filters.len()).rev().collect()
        };
        // Indexes shift when a failed context is removed: walk from the
        // end of `order` for forward walks by re-checking bounds.
        let mut removed = 0usize;
        for idx in order {
            let i = if forward { idx - removed } else { idx };
            let Some(f) = self.filters.get_mut(i) else {
                continue;
            };
            let (cb, has) = match phase {
                Phase::RequestBody => (Callback::RequestBody, f.plugin.has.request_body),
                _ => (Callback::ResponseBody, f.plugin.has.response_body),
            };
            if !has {
                continue;
            }
            if body.len() > f.plugin.spec.body {
                f.plugin.metrics(phase).count("body_too_large");
                let v = match f.plugin.on_error() {
                    OnError::FailOpen => Verdict::Continue,
                    OnError::FailClosed => Verdict::Failed(PluginError {
                        plugin: Arc::clone(f.plugin.name()),
                        phase: phase.as_str(),
                        failure: Failure::Error(format!(
                            "body of {} bytes exceeds the plugin's limit of {} bytes",
                            body.len(),
                            f.plugin.spec.body
                        )),
                    }),
                };
                match v {
                    Verdict::Continue => continue,
                    v => return v,
                }
            }
            lent.lend(f.inst.state());
            f.inst.state().body = Some((kind, std::mem::take(body)));
            let len = i32::try_from(f.inst.state().body.as_ref().map_or(0, |b| b.1.len()))
                .unwrap_or(i32::MAX);
            let ctx = f.ctx;
            let out = timed(&f.plugin, phase, &mut f.inst, |inst| {
                inst.callback(cb, ctx, len, true).map(|r| r.unwrap_or(0))
            });
            if let Some((_, b)) = f.inst.state().body.take() {
                *body = b;
            }
            lent.take_back(f.inst.state());
            let before = self.filters.len();
            let v = self.after(i, phase, out);
            removed += before - self.filters.len();
            match v {
                Verdict::Continue => {}
                v => return v,
            }
        }
        Verdict::Continue
    }
}

/// The head lent alongside a body.
enum Lent<'a> {
    Request(&'a mut request::Parts),
    Response(&'a mut response::Parts),
}

impl Lent<'_> {
    fn lend(&mut self, st: &mut super::state::HostState) {
        match self {
            Self::Request(p) => st.request = Some(std::mem::replace(*p, empty_request())),
            Self::Response(p) => st.response = Some(std::mem::replace(*p, empty_response())),
        }
    }

    fn take_back(&mut self, st: &mut super::state::HostState) {
        match self {
            Self::Request(p) => {
                if let Some(r) = st.request.take() {
                    **p = r;
                }
            }
            Self::Response(p) => {
                if let Some(r) = st.response.take() {
                    **p = r;
                }
            }
        }
    }
}
