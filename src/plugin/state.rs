//! What a plugin instance's host calls see: the request or response head
//! lent for the duration of a call, bodies, the local reply it asked for,
//! request properties, and the memory limiter.
//!
//! Heads are moved into the store for a call and moved back out after, so
//! host calls edit the real request without a copy.

use std::sync::Arc;

use bytes::Bytes;
use http::{request, response};
use wasmtime::{Memory, ResourceLimiter, TypedFunc};

/// proxy-wasm status codes (`proxy_status_t`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(i32)]
pub(super) enum Status {
    /// Success.
    Ok = 0,
    /// No such key or map.
    NotFound = 1,
    /// An argument is invalid (header name, map or buffer type).
    BadArgument = 2,
    /// A pointer or length is outside the guest's memory.
    InvalidMemoryAccess = 6,
    /// Defined but not provided by this host.
    Unimplemented = 12,
}

/// A reply the plugin asked the proxy to send instead of forwarding.
#[derive(Debug, Clone)]
pub struct LocalReply {
    /// Status code.
    pub status: http::StatusCode,
    /// Headers.
    pub headers: Vec<(http::HeaderName, http::HeaderValue)>,
    /// Body.
    pub body: Bytes,
}

/// Facts about the request that `proxy_get_property` may reveal.
#[derive(Debug, Clone, Default)]
pub struct Props {
    /// Client address.
    pub source: Option<std::net::SocketAddr>,
    /// `http` or `https`: the client's scheme in route plugins, the
    /// endpoint's in pool and endpoint plugins.
    pub scheme: &'static str,
    /// The matched route's name.
    pub route: Arc<str>,
    /// The pool's name.
    pub pool: Arc<str>,
    /// The picked endpoint's name (pool and endpoint plugins only).
    pub endpoint: Option<Arc<str>>,
    /// The picked endpoint's `host:port`.
    pub upstream: Option<Arc<str>>,
}

/// Caps linear memory per instance and remembers that it did.
#[derive(Debug)]
pub struct Limiter {
    /// Bytes of linear memory allowed.
    pub memory: usize,
    /// Set when a growth past the cap was refused.
    pub exceeded: bool,
}

impl ResourceLimiter for Limiter {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.memory {
            self.exceeded = true;
            // An error (not `false`) traps at once: the call ends and the
            // instance is discarded.
            return Err(wasmtime::Error::msg("plugin memory limit exceeded"));
        }
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= 100_000)
    }
}

/// The store's data.
pub struct HostState {
    /// Plugin name, for logs.
    pub plugin: Arc<str>,
    /// The plugin's configuration (JSON bytes).
    pub config: Arc<[u8]>,
    /// Memory cap.
    pub limiter: Limiter,
    /// Largest body (or local reply body) a plugin may set.
    pub body_limit: usize,
    /// The guest's `memory` export.
    pub memory: Option<Memory>,
    /// The guest's allocator.
    pub alloc: Option<TypedFunc<i32, i32>>,
    /// The request head, during request-phase calls.
    pub request: Option<request::Parts>,
    /// The response head, during response-phase calls.
    pub response: Option<response::Parts>,
    /// The body buffer of the current body call (buffer 0 or 1).
    pub body: Option<(i32, Bytes)>,
    /// Request properties, during request calls.
    pub props: Option<Arc<Props>>,
    /// Properties the plugin set for this request.
    pub scratch: Vec<(Vec<u8>, Vec<u8>)>,
    /// A local reply asked for during the current call.
    pub local: Option<LocalReply>,
    /// Why the host ended the call, when it did (e.g. `proc_exit`).
    pub abort: Option<String>,
    /// Reused buffer for values handed to the guest.
    pub buf: Vec<u8>,
    /// The time limit per call, in ns of CPU.
    pub time_ns: u64,
    /// The thread's CPU clock when the current call's deadline last
    /// passed, and how often it was extended (see `engine::on_deadline`).
    pub cpu_mark: Option<u64>,
    /// Deadline extensions granted to the current call.
    pub extensions: u32,
    /// The epoch ticker's clock, told when a call starts.
    pub(super) clock: Option<Arc<super::engine::Clock>>,
}

impl std::fmt::Debug for HostState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HostState")
            .field("plugin", &self.plugin)
            .finish_non_exhaustive()
    }
}

impl HostState {
    /// A fresh state for an instance of `plugin`.
    pub fn new(plugin: Arc<str>, config: Arc<[u8]>, memory: u64, body_limit: usize) -> Self {
        Self {
            plugin,
            config,
            body_limit,
            limiter: Limiter {
                memory: usize::try_from(memory).unwrap_or(usize::MAX),
                exceeded: false,
            },
            memory: None,
            alloc: None,
            request: None,
            response: None,
            body: None,
            props: None,
            scratch: Vec::new(),
            local: None,
            abort: None,
            buf: Vec::new(),
            time_ns: 0,
            cpu_mark: None,
            extensions: 0,
            clock: None,
        }
    }

    /// Clears what belongs to one request.
    pub fn end_request(&mut self) {
        self.props = None;
        self.scratch.clear();
        self.local = None;
        self.body = None;
    }
}

/// Serializes header pairs the proxy-wasm way: u32 count, (key length,
/// value length) per pair, then each key and value NUL-terminated.
pub(super) fn serialize_pairs<'a>(
    pairs: impl Iterator<Item = (&'a [u8], &'a [u8])> + Clone,
    out: &mut Vec<u8>,
) {
    out.clear();
    let n = pairs.clone().count();
    out.extend_from_slice(&u32::try_from(n).unwrap_or(u32::MAX).to_le_bytes());
    for (k, v) in pairs.clone() {
        out.extend_from_slice(&u32::try_from(k.len()).unwrap_or(u32::MAX).to_le_bytes());
        out.extend_from_slice(&u32::try_from(v.len()).unwrap_or(u32::MAX).to_le_bytes());
    }
    for (k, v) in pairs {
        out.extend_from_slice(k);
        out.push(0);
        out.extend_from_slice(v);
        out.push(0);
    }
}

/// Parses serialized header pairs; `None` when malformed.
pub(super) fn deserialize_pairs(data: &[u8]) -> Option<Vec<(&[u8], &[u8])>> {
    let word = |at: usize| -> Option<usize> {
        let b = data.get(at..at.checked_add(4)?)?;
        usize::try_from(u32::from_le_bytes([b[0], b[1], b[2], b[3]])).ok()
    };
    if data.is_empty() {
        return Some(Vec::new());
    }
    let n = word(0)?;
    // Each pair needs 8 bytes of lengths and 2 NULs at least.
    if n > data.len() / 10 + 1 {
        return None;
    }
    let mut at = 4usize.checked_add(n.checked_mul(8)?)?;
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let kl = word(4 + i * 8)?;
        let vl = word(8 + i * 8)?;
        let k = data.get(at..at.checked_add(kl)?)?;
        at = at.checked_add(kl)?.checked_add(1)?;
        let v = data.get(at..at.checked_add(vl)?)?;
        at = at.checked_add(vl)?.checked_add(1)?;
        out.push((k, v));
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_round_trip() {
        let pairs: Vec<(&[u8], &[u8])> = vec![(b":path", b"/a"), (b"x-k", b"")];
        let mut buf = Vec::new();
        serialize_pairs(pairs.iter().copied(), &mut buf);
        assert_eq!(&buf[..4], &2u32.to_le_bytes());
        assert_eq!(deserialize_pairs(&buf).unwrap(), pairs);
        assert_eq!(deserialize_pairs(&[]).unwrap(), vec![]);
    }

    #[test]
    fn malformed_pairs_are_refused() {
        assert!(deserialize_pairs(&[1, 0, 0, 0]).is_none());
        assert!(deserialize_pairs(&[255, 255, 255, 255, 0, 0]).is_none());
        let mut buf = Vec::new();
        serialize_pairs([(&b"k"[..], &b"v"[..])].into_iter(), &mut buf);
        buf.truncate(buf.len() - 2);
        assert!(deserialize_pairs(&buf).is_none());
    }
}
