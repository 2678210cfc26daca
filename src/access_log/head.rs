//! The text a line may show (the path, query, host, `User-Agent` and
//! `X-Request-Id` of the request; the listener, route, pool and endpoint
//! names), copied into the entry.
//!
//! Why copies: hyper's URI and header values are shared slices of its
//! connection read buffer, so a clone waiting in the queue would keep a
//! whole buffer (8 KiB and up) alive per line; and the config's names are
//! `Arc`s every worker thread shares, whose counts the writer thread would
//! then write too, bouncing their cache lines between cores. A copy of the
//! few bytes a line needs costs neither: they sit inline in the entry when
//! they fit in [`INLINE`] bytes (most requests), else in one allocation.
//! Only the parts the configured fields show are copied, each cut at
//! [`MAX_PART`] bytes.

use http::{header, HeaderName, Request};
use smallvec::SmallVec;

use crate::config::AccessLogField;

/// The longest value kept of each part, in bytes; longer ones are cut.
pub const MAX_PART: usize = 4096;

/// Bytes kept inside the entry itself, without an allocation of their own.
const INLINE: usize = 320;

static X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// A part of the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Part {
    Path,
    Query,
    Host,
    UserAgent,
    RequestId,
    Listener,
    Route,
    Pool,
    Endpoint,
}

const PARTS: usize = 9;

impl Part {
    const ALL: [Self; PARTS] = [
        Self::Path,
        Self::Query,
        Self::Host,
        Self::UserAgent,
        Self::RequestId,
        Self::Listener,
        Self::Route,
        Self::Pool,
        Self::Endpoint,
    ];

    fn field(self) -> AccessLogField {
        match self {
            Self::Path => AccessLogField::Path,
            Self::Query => AccessLogField::Query,
            Self::Host => AccessLogField::Host,
            Self::UserAgent => AccessLogField::UserAgent,
            Self::RequestId => AccessLogField::RequestId,
            Self::Listener => AccessLogField::Listener,
            Self::Route => AccessLogField::Route,
            Self::Pool => AccessLogField::Pool,
            Self::Endpoint => AccessLogField::Endpoint,
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// Which parts the configured fields show.
#[derive(Debug, Clone, Copy)]
pub(super) struct Wanted([bool; PARTS]);

impl Wanted {
    pub(super) fn of(fields: &[AccessLogField]) -> Self {
        Self(Part::ALL.map(|p| fields.contains(&p.field())))
    }
}

/// The copied parts, back to back in one buffer.
#[derive(Debug)]
pub(super) struct Head {
    wanted: Wanted,
    bytes: SmallVec<[u8; INLINE]>,
    /// Where each part lies in `bytes`, by `Part` order; `None` when there
    /// is none or it is not wanted.
    spans: [Option<(u32, u32)>; PARTS],
}

impl Head {
    /// Copies the `wanted` parts of `req` and the `listener` name. The host
    /// is the target's authority (HTTP/2, absolute-form) or else the
    /// `Host` header.
    pub(super) fn capture<B>(req: &Request<B>, listener: &str, wanted: Wanted) -> Self {
        let (uri, headers) = (req.uri(), req.headers());
        let header = |name: &HeaderName| headers.get(name).map(|v| v.as_bytes());
        let host = match uri.authority() {
            Some(a) => Some(a.as_str().as_bytes()),
            None => header(&header::HOST),
        };
        let mut head = Self {
            wanted,
            bytes: SmallVec::new(),
            spans: [None; PARTS],
        };
        head.set(Part::Path, Some(uri.path().as_bytes()));
        head.set(Part::Query, uri.query().map(str::as_bytes));
        head.set(Part::Host, host);
        head.set(Part::UserAgent, header(&header::USER_AGENT));
        head.set(Part::RequestId, header(&X_REQUEST_ID));
        head.set(Part::Listener, Some(listener.as_bytes()));
        head
    }

    /// Copies `value` as `part`, if the fields show it (cut at
    /// [`MAX_PART`]). Each part is set once.
    pub(super) fn set(&mut self, part: Part, value: Option<&[u8]>) {
        let Some(v) = value.filter(|_| self.wanted.0[part.index()]) else {
            return;
        };
        let v = &v[..v.len().min(MAX_PART)];
        // At most 9 x 4 KiB: the offsets fit.
        let start = self.bytes.len() as u32;
        self.bytes.extend_from_slice(v);
        self.spans[part.index()] = Some((start, self.bytes.len() as u32));
    }

    /// The bytes of `part`, if copied.
    pub(super) fn get(&self, part: Part) -> Option<&[u8]> {
        let (start, end) = self.spans[part.index()]?;
        self.bytes.get(start as usize..end as usize)
    }
}
