//! The plugin phases of the request path: the request callbacks of a
//! chain (headers, then the whole body when a plugin reads bodies), and
//! the response callbacks of every context a request opened.
//!
//! Bodies are delivered whole: a body a plugin reads is buffered up to the
//! largest `limits.body` among the plugins reading it, handed over once
//! with `end_of_stream`, and sent on with a `Content-Length` of what the
//! plugins left. A bigger body is streamed on unread when every plugin
//! that reads it is `fail_open`; otherwise the request is refused (413) or
//! the response replaced (500).

use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use http::header::{HeaderValue, CONTENT_LENGTH};
use http::{request, response, Response};
use http_body::Body as _;

use super::body::{Completion, ResponseBody};
use super::error::ProxyError;
use crate::plugin::{Active, LocalReply, Plugin, Props, Verdict};
use crate::upstream::{collect, Lease, RequestBody, ResponseStream};

/// A chain that stopped the request.
#[derive(Debug)]
pub(super) enum Early {
    /// A plugin answered the request itself.
    Reply(LocalReply),
    /// A `fail_closed` plugin failed, or the body could not be read.
    Error(ProxyError),
}

impl From<ProxyError> for Early {
    fn from(e: ProxyError) -> Self {
        Self::Error(e)
    }
}

fn verdict(v: Verdict) -> Result<(), Early> {
    match v {
        Verdict::Continue => Ok(()),
        Verdict::Reply(r) => Err(Early::Reply(r)),
        Verdict::Failed(e) => Err(Early::Error(ProxyError::Plugin(e))),
    }
}

/// Runs `chain`'s request callbacks on `parts` and `body`, keeping the
/// contexts in `active`.
pub(super) async fn on_request(
    active: &mut Active,
    chain: &[Arc<Plugin>],
    parts: &mut request::Parts,
    body: RequestBody,
    props: &Arc<Props>,
    deadline: Instant,
) -> Result<RequestBody, Early> {
    if chain.is_empty() {
        return Ok(body);
    }
    let eos = body.is_end_stream();
    let before = active.len();
    verdict(active.request_headers(chain, parts, props, eos))?;
    if eos || !active.wants_request_body_since(before) {
        return Ok(body);
    }
    let limit = active.body_limit_since(before, true);
    let read = tokio::time::timeout_at(deadline.into(), body.collect(limit)).await;
    match read {
        Err(_) => Err(Early::Error(ProxyError::RequestTimeout {
            after: deadline.saturating_duration_since(Instant::now()),
        })),
        Ok(Err(e)) => Err(Early::Error(ProxyError::from(e))),
        Ok(Ok(Err(body))) => match active.body_too_large_since(before, true) {
            Ok(()) => Ok(body),
            Err(e) => Err(Early::Error(ProxyError::PayloadTooLarge {
                plugin: e.plugin,
                limit,
            })),
        },
        Ok(Ok(Ok(replay))) => {
            let mut data = replay.data().clone();
            verdict(active.request_body_since(before, parts, &mut data))?;
            parts
                .headers
                .insert(CONTENT_LENGTH, HeaderValue::from(data.len()));
            Ok(RequestBody::Full {
                data: Some(data).filter(|d| !d.is_empty()),
                trailers: replay.trailers().cloned(),
            })
        }
    }
}

/// The response the client gets for a plugin's local reply.
pub(super) fn local_response(reply: LocalReply, completion: Completion) -> Response<ResponseBody> {
    let mut resp = Response::new(ResponseBody::full(reply.body.clone(), Some(completion)));
    *resp.status_mut() = reply.status;
    let headers = resp.headers_mut();
    for (k, v) in reply.headers {
        headers.append(k, v);
    }
    headers.insert(CONTENT_LENGTH, HeaderValue::from(reply.body.len()));
    resp
}

/// What follows the response head once the response callbacks ran.
pub(super) enum Tail {
    /// The upstream body, streamed.
    Stream(ResponseStream, Lease),
    /// The body the plugins left (the upstream's was read whole).
    Full(Bytes),
    /// Too big to read whole: what was read, then the rest streamed.
    Prefixed(std::collections::VecDeque<Bytes>, ResponseStream, Lease),
}

/// Runs the response callbacks of every context in `active` (last opened
/// first) on `parts` and `body`.
pub(super) async fn on_response(
    active: &mut Active,
    parts: &mut response::Parts,
    body: ResponseStream,
    lease: Lease,
) -> Result<Tail, Early> {
    let eos = body.is_end_stream();
    verdict(active.response_headers(parts, eos))?;
    if eos || !active.wants_response_body() {
        return Ok(Tail::Stream(body, lease));
    }
    let limit = active.body_limit_since(0, false);
    match collect(std::collections::VecDeque::new(), body, limit).await {
        Err(e) => Err(Early::Error(ProxyError::Reset {
            source: crate::upstream::UpstreamError::Reset(e),
        })),
        Ok(Err((prefix, rest))) => match active.body_too_large_since(0, false) {
            Ok(()) => Ok(Tail::Prefixed(prefix, rest, lease)),
            Err(e) => Err(Early::Error(ProxyError::Plugin(e))),
        },
        Ok(Ok(replay)) => {
            lease.release();
            let mut data = replay.data().clone();
            verdict(active.response_body(parts, &mut data))?;
            parts
                .headers
                .insert(CONTENT_LENGTH, HeaderValue::from(data.len()));
            Ok(Tail::Full(data))
        }
    }
}
