//! The body of an upstream response as it travels through the proxy:
//! hyper's (`Incoming`, from hyper's client connections: TLS endpoints,
//! HTTP/2 pools, requests with a body, upgrades) or the inline HTTP/1.1
//! exchange's (`h1::InlineBody`). Its error carries either side's.

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use hyper::body::Incoming;

use super::h1::{InlineBody, InlineError};

/// An upstream response body.
#[derive(Debug)]
pub enum ResponseStream {
    /// From one of hyper's client connections.
    Hyper(Incoming),
    /// From an inline HTTP/1.1 exchange (boxed: it holds the connection,
    /// and responses travel by value through the request path).
    Inline(Box<InlineBody>),
}

/// Why an upstream exchange or response body failed.
#[derive(Debug, thiserror::Error)]
pub enum StreamError {
    /// hyper's client failed.
    #[error(transparent)]
    Hyper(#[from] hyper::Error),
    /// The inline exchange failed.
    #[error(transparent)]
    Inline(#[from] InlineError),
}

impl StreamError {
    /// Whether a response head was over the limit.
    pub fn is_head_too_large(&self) -> bool {
        match self {
            Self::Hyper(e) => e.is_parse_too_large(),
            Self::Inline(e) => matches!(e, InlineError::TooLarge(_)),
        }
    }
}

impl ResponseStream {
    /// The head's fields as they arrived, when the exchange kept them raw
    /// (`HeadFields::Raw`; the response's header map is then empty).
    /// Taken: a second call says `None`.
    pub(crate) fn take_raw_head(&mut self) -> Option<Box<crate::wire::RawHead>> {
        match self {
            Self::Hyper(_) => None,
            Self::Inline(b) => b.take_raw_head(),
        }
    }
}

impl From<Incoming> for ResponseStream {
    fn from(b: Incoming) -> Self {
        Self::Hyper(b)
    }
}

impl Body for ResponseStream {
    type Data = Bytes;
    type Error = StreamError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, StreamError>>> {
        match self.get_mut() {
            Self::Hyper(b) => Pin::new(b)
                .poll_frame(cx)
                .map(|f| f.map(|r| r.map_err(StreamError::Hyper))),
            Self::Inline(b) => Pin::new(&mut **b)
                .poll_frame(cx)
                .map(|f| f.map(|r| r.map_err(StreamError::Inline))),
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            Self::Hyper(b) => b.is_end_stream(),
            Self::Inline(b) => b.is_end_stream(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            Self::Hyper(b) => b.size_hint(),
            Self::Inline(b) => b.size_hint(),
        }
    }
}
