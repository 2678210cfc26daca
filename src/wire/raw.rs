//! A response head's fields kept as they arrived, for the client-side fast
//! path (`proxy/h1`) to copy out, instead of a header map built field by
//! field and read back out field by field.
//!
//! Building the map cost the request path about a tenth of its
//! instructions (a hashed insert, a name lookup and a value check per
//! field, then the map emptied again), all to write the same bytes back.
//! A raw head is the frozen head (shared, not copied), where each field's
//! name and value lie in it, and what the writer needs to frame the
//! response: the `Content-Length` lines and whether there is a `Date`.
//!
//! Hop-by-hop fields (RFC 9110 §7.6.1: `Connection`, `Keep-Alive`,
//! `Proxy-Connection`, `TE`, `Trailer`, `Transfer-Encoding`, `Upgrade`)
//! are left out, as `forward::remove_hop_by_hop` removes them from a
//! map. A `Connection` field that names anything other than `close` or
//! `keep-alive` (fields to remove by name) is not handled here:
//! `gather` says `None`, and the head gets a map. So does a field name
//! `http` would refuse (over 64 KiB; httparse has checked the rest, with
//! the same rules as `http`'s names and values).

use bytes::{BufMut, Bytes, BytesMut};
use smallvec::SmallVec;

use super::span;

/// Spare boxes kept per thread (one per response in flight at most).
const SPARE_BOXES: usize = 32;

thread_local! {
    // The boxes themselves are what is recycled (a raw head travels boxed).
    #[allow(clippy::vec_box)]
    static SPARE: std::cell::RefCell<Vec<Box<RawHead>>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Gives `raw` back for `gather` to fill again (its head's bytes dropped
/// now).
pub(crate) fn recycle(mut raw: Box<RawHead>) {
    raw.head = Bytes::new();
    raw.fields.clear();
    SPARE.with(|s| {
        let mut spare = s.borrow_mut();
        if spare.len() < SPARE_BOXES {
            spare.push(raw);
        }
    });
}

/// Where one field lies in the head, and whether it is a `Content-Length`.
#[derive(Debug, Clone, Copy)]
struct RawField {
    name: (u32, u32),
    value: (u32, u32),
    length: bool,
}

/// A response head's end-to-end fields as they arrived.
#[derive(Debug)]
pub(crate) struct RawHead {
    /// The whole head (its fields' bytes are sliced out of it).
    head: Bytes,
    fields: SmallVec<[RawField; 12]>,
    /// `Content-Length` lines.
    lengths: u32,
    /// The last `Content-Length` value, if it is a valid decimal.
    declared: Option<u64>,
    /// A `Date` field is present.
    date: bool,
}

/// What a field name is to the proxy.
enum Class {
    Other,
    Length,
    Date,
    Connection,
    HopByHop,
}

/// Compared by length first: most names are none of these and cost one
/// branch.
fn class(name: &[u8]) -> Class {
    let is = |s: &[u8]| name.eq_ignore_ascii_case(s);
    match name.len() {
        2 if is(b"te") => Class::HopByHop,
        4 if is(b"date") => Class::Date,
        7 if is(b"trailer") || is(b"upgrade") => Class::HopByHop,
        10 if is(b"connection") => Class::Connection,
        10 if is(b"keep-alive") => Class::HopByHop,
        14 if is(b"content-length") => Class::Length,
        16 if is(b"proxy-connection") => Class::HopByHop,
        17 if is(b"transfer-encoding") => Class::HopByHop,
        _ => Class::Other,
    }
}

impl RawHead {
    /// The end-to-end fields of `headers`, which httparse parsed from the
    /// head `buf[..len]`; `None` when the head needs a map (see the module
    /// notes). The head's bytes are attached with `frozen` once cut off.
    /// Boxed from the start: it travels by value from the codec to the
    /// writer, and a pointer moves for less than the fields' list; the box
    /// is a spare one (`recycle`) when there is one.
    pub(crate) fn gather(
        buf: &[u8],
        len: usize,
        headers: &[httparse::Header<'_>],
    ) -> Option<Box<Self>> {
        let mut raw = match SPARE.with(|s| s.borrow_mut().pop()) {
            Some(mut raw) => {
                raw.lengths = 0;
                raw.declared = None;
                raw.date = false;
                raw
            }
            None => Box::new(RawHead {
                head: Bytes::new(),
                fields: SmallVec::new(),
                lengths: 0,
                declared: None,
                date: false,
            }),
        };
        for h in headers {
            let name = h.name.as_bytes();
            if name.len() >= 1 << 16 {
                return None;
            }
            let length = match class(name) {
                Class::Other => false,
                Class::Length => {
                    raw.lengths += 1;
                    raw.declared = super::decimal(h.value);
                    true
                }
                Class::Date => {
                    raw.date = true;
                    false
                }
                Class::HopByHop => continue,
                Class::Connection => {
                    let plain = h.value.split(|b| *b == b',').all(|t| {
                        let t = t.trim_ascii();
                        t.is_empty()
                            || t.eq_ignore_ascii_case(b"close")
                            || t.eq_ignore_ascii_case(b"keep-alive")
                    });
                    if !plain {
                        return None;
                    }
                    continue;
                }
            };
            let at = |s: &[u8]| {
                let (a, b) = span(buf, len, s)?;
                Some((u32::try_from(a).ok()?, u32::try_from(b).ok()?))
            };
            raw.fields.push(RawField {
                name: at(name)?,
                value: at(h.value)?,
                length,
            });
        }
        Some(raw)
    }

    /// Attaches the head the fields were gathered from, now cut off the
    /// read buffer.
    pub(crate) fn frozen(mut self: Box<Self>, head: Bytes) -> Box<Self> {
        self.head = head;
        self
    }

    /// `Content-Length` lines, and the last one's value if valid.
    pub(crate) fn lengths(&self) -> (u32, Option<u64>) {
        (self.lengths, self.declared)
    }

    /// Whether the head has a `Date` field.
    pub(crate) fn has_date(&self) -> bool {
        self.date
    }

    /// Writes each field as `name: value` and CRLF, in the order they
    /// arrived, names lower-cased (as a header map writes them);
    /// `Content-Length` lines are left out when `skip_length`.
    pub(crate) fn write(&self, out: &mut BytesMut, skip_length: bool) {
        let slice = |(a, b): (u32, u32)| self.head.get(a as usize..b as usize);
        for f in &self.fields {
            if f.length && skip_length {
                continue;
            }
            let (Some(name), Some(value)) = (slice(f.name), slice(f.value)) else {
                continue;
            };
            let at = out.len();
            out.put_slice(name);
            out[at..].make_ascii_lowercase();
            out.put_slice(b": ");
            out.put_slice(value);
            out.put_slice(b"\r\n");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Parses `head` (a response head) and gathers its fields.
    fn gathered(head: &str) -> Option<Box<RawHead>> {
        let mut slots = [httparse::EMPTY_HEADER; 32];
        let mut res = httparse::Response::new(&mut slots);
        let n = match res.parse(head.as_bytes()).unwrap() {
            httparse::Status::Complete(n) => n,
            httparse::Status::Partial => panic!("partial head"),
        };
        let raw = RawHead::gather(head.as_bytes(), n, res.headers)?;
        Some(raw.frozen(Bytes::copy_from_slice(&head.as_bytes()[..n])))
    }

    fn written(raw: &RawHead, skip_length: bool) -> String {
        let mut out = BytesMut::new();
        raw.write(&mut out, skip_length);
        String::from_utf8(out.to_vec()).unwrap()
    }

    #[test]
    fn fields_are_copied_in_order_with_names_lowercased() {
        let raw = gathered(
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nX-Two: a\r\nSet-Cookie: s=1\r\n\
             x-two: b\r\nContent-Length: 5\r\nDate: Sun, 22 Nov 2026 10:00:00 GMT\r\n\r\nhello",
        )
        .unwrap();
        assert_eq!(raw.lengths(), (1, Some(5)));
        assert!(raw.has_date());
        assert_eq!(
            written(&raw, false),
            "content-type: text/plain\r\nx-two: a\r\nset-cookie: s=1\r\nx-two: b\r\n\
             content-length: 5\r\ndate: Sun, 22 Nov 2026 10:00:00 GMT\r\n"
        );
        assert!(!written(&raw, true).contains("content-length"));
    }

    #[test]
    fn hop_by_hop_fields_are_left_out() {
        let raw = gathered(
            "HTTP/1.1 200 OK\r\nConnection: Keep-Alive, close\r\nKeep-Alive: timeout=5\r\n\
             Transfer-Encoding: chunked\r\nTE: trailers\r\nTrailer: x-t\r\nUpgrade: h2c\r\n\
             Proxy-Connection: keep-alive\r\nX-Kept: 1\r\n\r\n",
        )
        .unwrap();
        assert_eq!(written(&raw, false), "x-kept: 1\r\n");
        assert_eq!(raw.lengths(), (0, None));
        assert!(!raw.has_date());
    }

    #[test]
    fn a_connection_naming_other_fields_needs_a_map() {
        assert!(
            gathered("HTTP/1.1 200 OK\r\nConnection: x-private\r\nX-Private: 1\r\n\r\n").is_none()
        );
        assert!(gathered("HTTP/1.1 200 OK\r\nConnection: close, Upgrade\r\n\r\n").is_none());
        assert!(gathered("HTTP/1.1 200 OK\r\nConnection: close,,keep-alive\r\n\r\n").is_some());
    }

    #[test]
    fn content_length_lines_are_counted_and_the_last_value_read() {
        let raw =
            gathered("HTTP/1.1 200 OK\r\nContent-Length: 5\r\ncontent-length: x\r\n\r\n").unwrap();
        assert_eq!(raw.lengths(), (2, None));
        let raw = gathered("HTTP/1.1 200 OK\r\nContent-Length: 5, 5\r\n\r\n").unwrap();
        assert_eq!(raw.lengths(), (1, None));
        assert_eq!(written(&raw, false), "content-length: 5, 5\r\n");
    }

    #[test]
    fn a_recycled_box_comes_back_empty() {
        let raw =
            gathered("HTTP/1.1 200 OK\r\nContent-Length: 0\r\nDate: x\r\nX-A: 1\r\n\r\n").unwrap();
        recycle(raw);
        let raw = gathered("HTTP/1.1 200 OK\r\nX-B: 2\r\n\r\n").unwrap();
        assert_eq!(raw.lengths(), (0, None));
        assert!(!raw.has_date());
        assert_eq!(written(&raw, false), "x-b: 2\r\n");
    }

    #[test]
    fn empty_values_are_kept() {
        let raw = gathered("HTTP/1.1 204 No Content\r\nX-Empty:\r\nX-B: b\r\n\r\n").unwrap();
        assert_eq!(written(&raw, false), "x-empty: \r\nx-b: b\r\n");
    }
}
