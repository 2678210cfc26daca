//! The body sent upstream: the client's body streamed as it arrives, or a
//! copy kept in memory so that a retry can send it again.
//!
//! Owns: buffering for replay (up to a limit; a bigger body streams on
//! with the part already read in front, and cannot be replayed), and
//! counting the bytes read from the client when the access log asks.

use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::{Bytes, BytesMut};
use http::HeaderMap;
use http_body::{Body, Frame, SizeHint};
use http_body_util::BodyExt;
use hyper::body::Incoming;

/// The client's request body as the proxy reads it, counting data bytes
/// into `read` when one is given (the access log's `bytes_in`; without
/// one, the count costs one branch per frame).
#[derive(Debug)]
pub struct ClientBody {
    /// `None`: a request without a body (the HTTP/1.1 fast path's).
    inner: Option<Incoming>,
    read: Option<Arc<AtomicU64>>,
    /// `max_body`: the most bytes the body may have.
    limit: Option<u64>,
    /// Bytes read so far (counted only with a limit).
    seen: u64,
}

impl ClientBody {
    /// Wraps `inner` (`None` for a request without a body), counting into
    /// `read` if given.
    pub fn new(inner: Option<Incoming>, read: Option<Arc<AtomicU64>>) -> Self {
        Self {
            inner,
            read,
            limit: None,
            seen: 0,
        }
    }

    /// Fails the body with [`BodyError::TooLarge`] once more than `limit`
    /// bytes have arrived.
    pub fn set_limit(&mut self, limit: Option<u64>) {
        self.limit = limit;
    }
}

/// Why a client's request body could not be read. The upstream request it
/// was streamed into fails too; the error is the client's, not the
/// endpoint's.
#[derive(Debug, thiserror::Error)]
pub enum BodyError {
    /// The body broke off or was malformed (a bad chunk size, a reset).
    #[error("the request body could not be read: {0}")]
    Read(#[source] hyper::Error),
    /// More than `max_body` bytes.
    #[error("the request body is larger than {limit} bytes")]
    TooLarge {
        /// The limit.
        limit: u64,
    },
}

impl BodyError {
    /// The `BodyError` among `err` and its causes, if any.
    pub fn find<'a>(err: &'a (dyn std::error::Error + 'static)) -> Option<&'a Self> {
        let mut cur = Some(err);
        while let Some(e) = cur {
            if let Some(found) = e.downcast_ref::<Self>() {
                return Some(found);
            }
            cur = e.source();
        }
        None
    }
}

impl Body for ClientBody {
    type Data = Bytes;
    type Error = BodyError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BodyError>>> {
        let this = &mut *self;
        let Some(inner) = &mut this.inner else {
            return Poll::Ready(None);
        };
        let frame = match Pin::new(inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => frame,
            Poll::Ready(Some(Err(e))) => return Poll::Ready(Some(Err(BodyError::Read(e)))),
            Poll::Ready(None) => return Poll::Ready(None),
            Poll::Pending => return Poll::Pending,
        };
        if let Some(data) = frame.data_ref() {
            let n = data.len() as u64;
            if let Some(read) = &this.read {
                read.fetch_add(n, Ordering::Relaxed);
            }
            if let Some(limit) = this.limit {
                this.seen += n;
                if this.seen > limit {
                    return Poll::Ready(Some(Err(BodyError::TooLarge { limit })));
                }
            }
        }
        Poll::Ready(Some(Ok(frame)))
    }

    fn is_end_stream(&self) -> bool {
        self.inner.as_ref().is_none_or(Body::is_end_stream)
    }

    fn size_hint(&self) -> SizeHint {
        self.inner
            .as_ref()
            .map_or_else(|| SizeHint::with_exact(0), Body::size_hint)
    }
}

/// A request body on its way upstream.
#[derive(Debug)]
pub enum RequestBody {
    /// Streamed from the client.
    Stream(ClientBody),
    /// Complete in memory.
    Full {
        /// Data not yet sent.
        data: Option<Bytes>,
        /// Trailers not yet sent.
        trailers: Option<HeaderMap>,
    },
    /// A prefix read while trying to buffer, then the rest streamed.
    Prefixed {
        /// Chunks already read.
        prefix: VecDeque<Bytes>,
        /// The rest of the client's body.
        rest: ClientBody,
    },
}

/// A request body kept for replay.
#[derive(Debug, Clone)]
pub struct Replay {
    data: Bytes,
    trailers: Option<HeaderMap>,
}

impl Replay {
    /// A fresh body with the same content.
    pub fn body(&self) -> RequestBody {
        RequestBody::Full {
            data: Some(self.data.clone()).filter(|d| !d.is_empty()),
            trailers: self.trailers.clone(),
        }
    }
}

impl Replay {
    /// A kept body from its parts.
    pub fn new(data: Bytes, trailers: Option<HeaderMap>) -> Self {
        Self { data, trailers }
    }

    /// The data.
    pub fn data(&self) -> &Bytes {
        &self.data
    }

    /// The trailers.
    pub fn trailers(&self) -> Option<&HeaderMap> {
        self.trailers.as_ref()
    }
}

/// Reads `body` into memory if it is at most `limit` bytes. A bigger body
/// comes back as a `Prefixed` stream with what was read; a read error
/// comes back as is.
pub async fn buffer(
    body: ClientBody,
    limit: usize,
) -> Result<Result<Replay, RequestBody>, BodyError> {
    if body.size_hint().lower() > limit as u64 {
        return Ok(Err(RequestBody::Stream(body)));
    }
    Ok(collect(VecDeque::new(), body, limit)
        .await?
        .map_err(|(prefix, rest)| RequestBody::Prefixed { prefix, rest }))
}

/// Reads `prefix` + `body` into memory if that is at most `limit` bytes;
/// otherwise gives back what was read and the rest of the stream.
pub async fn collect<B>(
    mut chunks: VecDeque<Bytes>,
    mut body: B,
    limit: usize,
) -> Result<Result<Replay, (VecDeque<Bytes>, B)>, B::Error>
where
    B: Body<Data = Bytes> + Unpin,
{
    let mut size: usize = chunks.iter().map(Bytes::len).sum();
    if size > limit {
        return Ok(Err((chunks, body)));
    }
    let mut trailers = None;
    while !body.is_end_stream() {
        let Some(frame) = body.frame().await else {
            break;
        };
        match frame?.into_data() {
            Ok(data) => {
                size += data.len();
                chunks.push_back(data);
                if size > limit {
                    return Ok(Err((chunks, body)));
                }
            }
            Err(frame) => {
                if let Ok(t) = frame.into_trailers() {
                    trailers = Some(t);
                }
            }
        }
    }
    let data = if chunks.len() == 1 {
        chunks.pop_front().unwrap_or_default()
    } else {
        let mut all = BytesMut::with_capacity(size);
        for c in chunks {
            all.extend_from_slice(&c);
        }
        all.freeze()
    };
    Ok(Ok(Replay { data, trailers }))
}

impl RequestBody {
    /// The whole body in memory if it is at most `limit` bytes, else the
    /// body again (what was read in front of the rest).
    pub async fn collect(self, limit: usize) -> Result<Result<Replay, Self>, BodyError> {
        let (prefix, rest) = match self {
            Self::Full { data, trailers } => {
                let data = data.unwrap_or_default();
                if data.len() > limit {
                    return Ok(Err(Self::Full {
                        data: Some(data),
                        trailers,
                    }));
                }
                return Ok(Ok(Replay { data, trailers }));
            }
            Self::Stream(b) => (VecDeque::new(), b),
            Self::Prefixed { prefix, rest } => (prefix, rest),
        };
        Ok(collect(prefix, rest, limit)
            .await?
            .map_err(|(prefix, rest)| Self::Prefixed { prefix, rest }))
    }
}

/// The size hint of `prefix` (already read) followed by a body hinting
/// `tail`.
pub fn prefixed_size_hint(prefix: &VecDeque<Bytes>, tail: SizeHint) -> SizeHint {
    let head: u64 = prefix.iter().map(|c| c.len() as u64).sum();
    let mut hint = SizeHint::new();
    hint.set_lower(head + tail.lower());
    if let Some(upper) = tail.upper() {
        hint.set_upper(head + upper);
    }
    hint
}

impl Body for RequestBody {
    type Data = Bytes;
    type Error = BodyError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BodyError>>> {
        match self.get_mut() {
            Self::Stream(b) => Pin::new(b).poll_frame(cx),
            Self::Full { data, trailers } => Poll::Ready(match data.take() {
                Some(d) => Some(Ok(Frame::data(d))),
                None => trailers.take().map(|t| Ok(Frame::trailers(t))),
            }),
            Self::Prefixed { prefix, rest } => match prefix.pop_front() {
                Some(d) => Poll::Ready(Some(Ok(Frame::data(d)))),
                None => Pin::new(rest).poll_frame(cx),
            },
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            Self::Stream(b) => b.is_end_stream(),
            Self::Full { data, trailers } => data.is_none() && trailers.is_none(),
            Self::Prefixed { prefix, rest } => prefix.is_empty() && rest.is_end_stream(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            Self::Stream(b) => b.size_hint(),
            Self::Full { data, .. } => {
                SizeHint::with_exact(data.as_ref().map_or(0, |d| d.len() as u64))
            }
            Self::Prefixed { prefix, rest } => prefixed_size_hint(prefix, rest.size_hint()),
        }
    }
}
