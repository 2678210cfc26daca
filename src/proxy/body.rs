//! The response body type: upstream bodies streamed through, or a small
//! synthetic body; either way a guard records the request's metrics and
//! queues its access log line when the body ends or is dropped (the client
//! went away), with the body bytes sent so far.
//!
//! A response cut short is never passed off as complete. When the
//! upstream's body breaks off (reset, closed before its announced end,
//! malformed chunks) the error goes on to hyper, which ends the client's
//! connection (HTTP/1.1) or resets its stream (HTTP/2) without the body's
//! end; the upstream connection is dropped; the failure is counted
//! (`switchyard_proxy_errors_total{reason="incomplete_body"}`) and logged
//! once. When the client goes away first, hyper drops the body: the
//! upstream connection is closed at once (nothing more is read from it)
//! and the access log line gets `reason: client_closed`.
//!
//! Upstream bodies are `upstream::ResponseStream`s: hyper's, or an inline
//! HTTP/1.1 exchange's (which gives its connection back itself at the end);
//! a failure of either is handled the same way.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};

use super::error::{Chain, CLIENT_CLOSED, INCOMPLETE_BODY};
use crate::access_log::Pending;
use crate::metrics::RouteMetrics;
use crate::upstream::{InFlight, Lease, ResponseStream, StreamError};

/// Records a finished request: metrics, and the access log line when the
/// log is on.
#[derive(Debug)]
pub struct Completion {
    /// Where to count it.
    pub metrics: std::sync::Arc<RouteMetrics>,
    /// Status sent.
    pub status: u16,
    /// When the request head arrived.
    pub start: Instant,
    /// The upstream request, if any, still in flight while the body streams.
    pub in_flight: Option<InFlight>,
    /// Plugin contexts, ended (`on_done`, `on_log`) with the request.
    pub plugins: Option<crate::plugin::Active>,
    /// Response body bytes sent so far (`ResponseBody` counts them).
    pub bytes_out: u64,
    /// The access log line, when the log is on.
    pub log: Option<Pending>,
    /// The route's and pool's concurrency slots, given back at the end.
    pub gates: super::gates::Gates,
}

impl Completion {
    /// A completion with nothing sent yet and no access log line (one is
    /// attached with [`ResponseBody::log`]).
    pub fn new(
        metrics: std::sync::Arc<RouteMetrics>,
        status: u16,
        start: Instant,
        in_flight: Option<InFlight>,
        plugins: Option<crate::plugin::Active>,
    ) -> Self {
        Self {
            metrics,
            status,
            start,
            in_flight,
            plugins,
            bytes_out: 0,
            log: None,
            gates: super::gates::Gates::default(),
        }
    }
}

impl Drop for Completion {
    fn drop(&mut self) {
        let elapsed = self.start.elapsed();
        self.metrics.record(self.status, elapsed.as_secs_f64());
        if let Some(log) = self.log.take() {
            log.finish(self.status, elapsed, self.bytes_out);
        }
    }
}

#[derive(Debug)]
enum Inner {
    Upstream(ResponseStream),
    Full(Option<Bytes>),
    /// Chunks read while trying to buffer, then the rest streamed.
    Prefixed(std::collections::VecDeque<Bytes>, ResponseStream),
}

/// The body of every response the proxy sends.
#[derive(Debug)]
pub struct ResponseBody {
    inner: Inner,
    completion: Option<Completion>,
    /// The upstream connection, given back once the body is read to the end.
    lease: Option<Lease>,
    /// The request counted in flight on its client connection, until this
    /// body is dropped (the connection's idle and head timeouts wait).
    conn: Option<super::activity::InFlight>,
}

impl ResponseBody {
    /// Streams an upstream body; `lease` returns to its pool at the end.
    pub fn upstream(body: ResponseStream, completion: Completion, lease: Lease) -> Self {
        Self {
            inner: Inner::Upstream(body),
            completion: Some(completion),
            lease: Some(lease),
            conn: None,
        }
    }

    /// The upstream head's fields, when they were kept raw (taken).
    pub(crate) fn take_raw_head(&mut self) -> Option<Box<crate::wire::RawHead>> {
        match &mut self.inner {
            Inner::Upstream(s) | Inner::Prefixed(_, s) => s.take_raw_head(),
            Inner::Full(_) => None,
        }
    }

    /// Streams `prefix` (already read) and then the rest of an upstream body.
    pub fn upstream_prefixed(
        prefix: std::collections::VecDeque<Bytes>,
        rest: ResponseStream,
        completion: Completion,
        lease: Lease,
    ) -> Self {
        Self {
            inner: Inner::Prefixed(prefix, rest),
            completion: Some(completion),
            lease: Some(lease),
            conn: None,
        }
    }

    /// A complete, in-memory body.
    pub fn full(bytes: Bytes, completion: Option<Completion>) -> Self {
        Self {
            inner: Inner::Full(Some(bytes).filter(|b| !b.is_empty())),
            completion,
            lease: None,
            conn: None,
        }
    }

    /// Corrects the status the completion records.
    pub fn set_status(&mut self, status: u16) {
        if let Some(c) = &mut self.completion {
            c.status = status;
        }
    }

    /// Keeps the request counted in flight on its connection until the
    /// body is dropped.
    pub(super) fn hold_conn(&mut self, conn: super::activity::InFlight) {
        self.conn = Some(conn);
    }

    /// Attaches the request's access log line, queued when the body ends.
    pub fn log(&mut self, line: Pending) {
        if let Some(c) = &mut self.completion {
            c.log = Some(line);
        }
    }

    /// Keeps the request's concurrency slots until the body ends.
    pub fn hold(&mut self, gates: super::gates::Gates) {
        if let Some(c) = &mut self.completion {
            c.gates = gates;
        }
    }

    /// The body was delivered whole: reuse the connection, record metrics.
    fn finish(&mut self) {
        if let Some(lease) = self.lease.take() {
            lease.release();
        }
        self.completion.take();
    }

    /// The upstream body broke off: never reuse its connection; count,
    /// log and record the cut.
    fn broke(&mut self, error: &StreamError) {
        self.lease.take();
        let Some(mut c) = self.completion.take() else {
            return;
        };
        c.metrics.proxy_error(INCOMPLETE_BODY);
        let (pool, endpoint) = match &c.in_flight {
            Some(f) => (&*f.endpoint().pool, &*f.endpoint().name),
            None => ("", ""),
        };
        let now = crate::upstream::health::now_ms();
        if let Some(suppressed) = super::log_limit::UPSTREAM_FAILURES.allow(now) {
            tracing::warn!(%pool, %endpoint, reason = INCOMPLETE_BODY, status = c.status,
                bytes_out = c.bytes_out, error = %Chain(error), suppressed,
                "Upstream response body failed.");
        }
        if let Some(log) = &mut c.log {
            log.set_reason(INCOMPLETE_BODY);
        }
    }
}

impl Drop for ResponseBody {
    fn drop(&mut self) {
        // hyper stops polling a body whose length says it is complete, so
        // the end may only be visible here.
        if self.is_end_stream() {
            self.finish();
            return;
        }
        // An upstream body dropped before its end: the client went away (or
        // its connection was closed at a drain deadline). The lease goes
        // with it, closing the upstream connection, which still has unread
        // bytes. (A synthetic body may be dropped unread, as for HEAD: its
        // line keeps the error's reason.)
        if self.lease.is_none() {
            return;
        }
        if let Some(log) = self.completion.as_mut().and_then(|c| c.log.as_mut()) {
            log.set_reason(CLIENT_CLOSED);
        }
    }
}

impl Body for ResponseBody {
    type Data = Bytes;
    type Error = StreamError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, StreamError>>> {
        let this = &mut *self;
        let poll = match &mut this.inner {
            Inner::Upstream(body) => Pin::new(body).poll_frame(cx),
            Inner::Full(bytes) => Poll::Ready(bytes.take().map(|b| Ok(Frame::data(b)))),
            Inner::Prefixed(prefix, rest) => match prefix.pop_front() {
                Some(b) => Poll::Ready(Some(Ok(Frame::data(b)))),
                None => Pin::new(rest).poll_frame(cx),
            },
        };
        if let (Poll::Ready(Some(Ok(frame))), Some(c)) = (&poll, &mut this.completion) {
            if let Some(data) = frame.data_ref() {
                c.bytes_out += data.len() as u64;
            }
        }
        match &poll {
            Poll::Ready(None) => this.finish(),
            Poll::Ready(Some(Ok(_))) if this.is_end_stream() => this.finish(),
            Poll::Ready(Some(Err(e))) => this.broke(e),
            _ => {}
        }
        poll
    }

    fn is_end_stream(&self) -> bool {
        match &self.inner {
            Inner::Upstream(body) => body.is_end_stream(),
            Inner::Full(bytes) => bytes.is_none(),
            Inner::Prefixed(prefix, rest) => prefix.is_empty() && rest.is_end_stream(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match &self.inner {
            Inner::Upstream(body) => body.size_hint(),
            Inner::Full(Some(b)) => SizeHint::with_exact(b.len() as u64),
            Inner::Full(None) => SizeHint::with_exact(0),
            Inner::Prefixed(prefix, rest) => {
                crate::upstream::prefixed_size_hint(prefix, rest.size_hint())
            }
        }
    }
}
