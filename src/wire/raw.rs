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
//! `gather` says `None`, and the head gets a map; so does a field named
//! `close`, which a `Connection: close` would remove. So does a field name
//! `http` would refuse (over 64 KiB; httparse has checked the rest, with
//! the same rules as `http`'s names and values).

use bytes::{BufMut, Bytes, BytesMut};
use smallvec::SmallVec;

use super::span;

mod names;
mod scan;

use names::{class, connection_tokens, Class};

/// Spare boxes kept per thread (one per response in flight at most).
const SPARE_BOXES: usize = 32;

thread_local! {
    // The boxes themselves are what is recycled (a raw head travels boxed).
    #[allow(clippy::vec_box)]
    static SPARE: std::cell::RefCell<Vec<Box<RawHead>>> =
        const { std::cell::RefCell::new(Vec::new()) };
}

/// Gives `raw` back for `gather` to fill again (its head's bytes dropped
/// now).
pub(crate) fn recycle(mut raw: Box<RawHead>) {
    raw.head = Bytes::new();
    raw.fields.clear();
    super::keep(&SPARE, raw, SPARE_BOXES);
}

/// Where one field lies in the head, and what the writer needs to know of
/// it.
#[derive(Debug, Clone, Copy)]
struct RawField {
    name: (u32, u32),
    value: (u32, u32),
    /// A `Content-Length`.
    length: bool,
    /// Its line is exactly `name: value` and CRLF, as the writer writes
    /// it: it can be copied whole (with its neighbours).
    whole: bool,
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

/// ASCII upper-case letters in `buf[start..end]` made lower-case, eight
/// bytes at a time (`make_ascii_lowercase` goes byte by byte, with a
/// branch each). The last partial word is lowered through the eight bytes
/// that end at `end`, masked to the range, so no byte is lowered one at a
/// time unless the buffer is shorter than eight bytes.
fn lower_in_place(buf: &mut [u8], start: usize, end: usize) {
    let word_at = |buf: &[u8], at: usize| {
        buf.get(at..at + 8)
            .and_then(|w| <[u8; 8]>::try_from(w).ok())
            .map(u64::from_le_bytes)
    };
    let mut at = start;
    while at + 8 <= end {
        if let (Some(word), Some(dst)) = (word_at(buf, at), buf.get_mut(at..at + 8)) {
            dst.copy_from_slice(&lower8(word).to_le_bytes());
        }
        at += 8;
    }
    let rest = end.saturating_sub(at);
    if rest == 0 {
        return;
    }
    match end.checked_sub(8).and_then(|w| Some((w, word_at(buf, w)?))) {
        Some((w, word)) => {
            // Little-endian: the range's bytes are the word's high ones.
            let ours = !0u64 << (8 * (8 - rest));
            let lowered = (word & !ours) | (lower8(word) & ours);
            if let Some(dst) = buf.get_mut(w..end) {
                dst.copy_from_slice(&lowered.to_le_bytes());
            }
        }
        None => {
            if let Some(tail) = buf.get_mut(at..end) {
                tail.make_ascii_lowercase();
            }
        }
    }
}

/// The eight bytes of `x` with `A`–`Z` made `a`–`z` (bytes from 0x80 on
/// are left alone): per byte, bit 7 of `low + 0x3f` says `>= 'A'`, of
/// `low + 0x25` says `> 'Z'`; no sum carries into the next byte.
fn lower8(x: u64) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    let low = x & (ONES * 0x7f);
    let from_a = low + ONES * (0x80 - u64::from(b'A'));
    let past_z = low + ONES * (0x80 - u64::from(b'Z') - 1);
    let upper = from_a & !past_z & !x & (ONES * 0x80);
    x | (upper >> 2)
}

/// What one field is to a raw head (`RawHead::take`).
enum Taken {
    /// Kept, to be written; whether it is a `Content-Length`.
    Kept { length: bool },
    /// Left out: hop-by-hop.
    Dropped,
    /// Left out: `Transfer-Encoding`, which framing reads.
    Coding,
    /// Left out: a `Connection` naming `close`, `keep-alive`, both or neither.
    Connection { close: bool, keep_alive: bool },
}

impl RawHead {
    /// Classifies the field `name: value`, counting a `Content-Length`
    /// (its last value kept) and noting a `Date`; `None` when the head
    /// needs a map (see the module notes). The caller pushes a kept field
    /// with its spans.
    fn take(&mut self, name: &[u8], value: &[u8]) -> Option<Taken> {
        Some(match class(name) {
            Class::Other => Taken::Kept { length: false },
            Class::Length => {
                self.lengths += 1;
                self.declared = super::decimal(value);
                Taken::Kept { length: true }
            }
            Class::Date => {
                self.date = true;
                Taken::Kept { length: false }
            }
            Class::HopByHop => Taken::Dropped,
            Class::Coding => Taken::Coding,
            Class::Named => return None,
            Class::Connection => {
                let (close, keep_alive) = connection_tokens(value)?;
                Taken::Connection { close, keep_alive }
            }
        })
    }

    /// An empty raw head: a spare box (`recycle`) when there is one.
    fn spare() -> Box<Self> {
        match super::take(&SPARE) {
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
        }
    }

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
        let mut raw = Self::spare();
        for h in headers {
            let name = h.name.as_bytes();
            if name.len() >= 1 << 16 {
                return None;
            }
            let Taken::Kept { length } = raw.take(name, h.value)? else {
                continue;
            };
            let at = |s: &[u8]| {
                let (a, b) = span(buf, len, s)?;
                Some((u32::try_from(a).ok()?, u32::try_from(b).ok()?))
            };
            let (name_at, value_at) = (at(name)?, at(h.value)?);
            let (n1, v0, v1) = (name_at.1 as usize, value_at.0 as usize, value_at.1 as usize);
            // Byte by byte: a slice comparison would call `memcmp`.
            let at_byte = |i: usize, b: u8| buf.get(i) == Some(&b);
            let whole = !h.value.is_empty()
                && v0 == n1 + 2
                && at_byte(n1, b':')
                && at_byte(n1 + 1, b' ')
                && at_byte(v1, b'\r')
                && at_byte(v1 + 1, b'\n');
            raw.fields.push(RawField {
                name: name_at,
                value: value_at,
                length,
                whole,
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
    ///
    /// Adjacent lines already in that form are copied in one piece (the
    /// usual head: one copy for all its fields).
    pub(crate) fn write(&self, out: &mut BytesMut, skip_length: bool) {
        let slice = |(a, b): (u32, u32)| self.head.get(a as usize..b as usize);
        let fields = &self.fields[..];
        let kept = |f: &RawField| !(f.length && skip_length);
        let mut i = 0;
        while let Some(f) = fields.get(i) {
            i += 1;
            if !kept(f) {
                continue;
            }
            if f.whole {
                // The run of whole lines that follow each other.
                let (start, mut end) = (f.name.0, f.value.1 + 2);
                let first = i - 1;
                while let Some(g) = fields
                    .get(i)
                    .filter(|g| g.whole && kept(g) && g.name.0 == end)
                {
                    end = g.value.1 + 2;
                    i += 1;
                }
                let Some(lines) = slice((start, end)) else {
                    continue;
                };
                let at = out.len();
                out.put_slice(lines);
                // Lower-cased in place (cheaper than looking for upper case
                // first).
                for g in &fields[first..i] {
                    let a = at + (g.name.0 - start) as usize;
                    let b = a + (g.name.1 - g.name.0) as usize;
                    lower_in_place(out, a, b);
                }
                continue;
            }
            let (Some(name), Some(value)) = (slice(f.name), slice(f.value)) else {
                continue;
            };
            let at = out.len();
            out.put_slice(name);
            let end = out.len();
            lower_in_place(out, at, end);
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
        // A field named `close` (found in review): `Connection: close`
        // removes it from a map.
        assert!(gathered("HTTP/1.1 200 OK\r\nConnection: close\r\nClose: x\r\n\r\n").is_none());
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
    fn lines_in_other_forms_are_rewritten_and_runs_copied_whole() {
        let raw = gathered(
            "HTTP/1.1 200 OK\r\nA-One: 1\r\nb-two: 2\r\nC:3\r\nD:   4  \r\nE-Five: 5\r\n\
             Keep-Alive: x\r\nF-Six: 6\r\nContent-Length: 0\r\nG: 7\r\n\r\n",
        )
        .unwrap();
        let all = "a-one: 1\r\nb-two: 2\r\nc: 3\r\nd: 4\r\ne-five: 5\r\nf-six: 6\r\n";
        assert_eq!(
            written(&raw, false),
            format!("{all}content-length: 0\r\ng: 7\r\n")
        );
        assert_eq!(written(&raw, true), format!("{all}g: 7\r\n"));
    }

    #[test]
    fn lowering_eight_at_a_time_is_make_ascii_lowercase_on_the_range() {
        // Every byte value, upper-case letters around and inside the range.
        let buf: Vec<u8> = (0..=255u8).chain(b"ABCXYZ@[`{".iter().copied()).collect();
        for start in 0..buf.len() {
            for end in start..(start + 25).min(buf.len()) {
                let mut ours = buf.clone();
                let mut want = buf.clone();
                lower_in_place(&mut ours, start, end);
                want[start..end].make_ascii_lowercase();
                assert_eq!(ours, want, "{start}..{end}");
            }
        }
    }

    #[test]
    fn empty_values_are_kept() {
        let raw = gathered("HTTP/1.1 204 No Content\r\nX-Empty:\r\nX-B: b\r\n\r\n").unwrap();
        assert_eq!(written(&raw, false), "x-empty: \r\nx-b: b\r\n");
    }
}
