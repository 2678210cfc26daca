//! Large bodies without large buffers: a repeating byte pattern, streamed
//! in chunks that all start in phase, and a checker for what comes back.

use std::convert::Infallible;
use std::sync::LazyLock;

use bytes::Bytes;
use futures_util::stream::{self, Stream};
use http_body_util::StreamBody;
use hyper::body::Frame;

/// Byte `i` of a body is `i % PERIOD` (a prime, so shifted or dropped
/// chunks show).
const PERIOD: usize = 251;
/// A whole number of periods, so every chunk is the same slice.
const CHUNK: usize = PERIOD * 261;

static BLOCK: LazyLock<Bytes> = LazyLock::new(|| {
    (0..CHUNK)
        .map(|i| u8::try_from(i % PERIOD).unwrap_or(0))
        .collect::<Vec<u8>>()
        .into()
});

/// A streamed body of `len` pattern bytes.
pub(crate) fn body(len: u64) -> StreamBody<impl Stream<Item = Result<Frame<Bytes>, Infallible>>> {
    let chunk = CHUNK as u64;
    let chunks = len.div_ceil(chunk);
    StreamBody::new(stream::iter((0..chunks).map(move |k| {
        let n = (len - k * chunk).min(chunk);
        Ok(Frame::data(BLOCK.slice(0..usize::try_from(n).unwrap_or(0))))
    })))
}

/// Checks a received body against the pattern, frame by frame.
#[derive(Debug, Default)]
pub(crate) struct Checker {
    /// Bytes seen so far.
    pub(crate) len: u64,
    /// Whether every byte so far matched.
    pub(crate) intact: bool,
}

impl Checker {
    pub(crate) fn new() -> Self {
        Self {
            len: 0,
            intact: true,
        }
    }

    pub(crate) fn feed(&mut self, data: &[u8]) {
        let start = usize::try_from(self.len % PERIOD as u64).unwrap_or(0);
        if self.intact {
            self.intact = data
                .iter()
                .enumerate()
                .all(|(i, b)| usize::from(*b) == (start + i) % PERIOD);
        }
        self.len += data.len() as u64;
    }
}
