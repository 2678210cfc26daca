//! A response head in the form nearly every upstream writes, read in one
//! pass straight into a `RawHead`, with what framing needs from it.
//!
//! Why: httparse's parse, then `gather` and the framing pass each going
//! over httparse's fields again, cost 2,100 of the 17,300 instructions of
//! a proxied request (callgrind, the bench's four-field head). Here each
//! byte is looked at once: a name byte through a table, a value eight
//! bytes at a time.
//!
//! The form: a status line `HTTP/1.1` or `HTTP/1.0`, a three-digit status
//! from 100, then a space and a reason of visible ASCII and spaces, or
//! nothing; field lines of a token name, a colon, spaces, a value of
//! visible ASCII and spaces that does not end in a space, and CRLF; an
//! empty line. httparse parses every head of this form, and `scan` gives
//! what httparse and `gather` give for it (the codec's differential tests
//! check this on generated heads). Anything else is `None` and goes to
//! httparse as before, with its errors: tabs, obs-text, bare LF, leading
//! empty lines, obs-fold, an invalid byte, a head not whole yet, and what
//! `gather` leaves to a map. So is a `Content-Length` that is not one
//! decimal on one line, which the framing pass judges.

use super::{RawField, RawHead, Taken};
use crate::wire::lines::{field_line, is_at, text_end};
use crate::wire::Span;

/// A head `scan` read.
#[derive(Debug)]
pub(crate) struct Scanned {
    /// The head's length, its empty line included.
    pub(crate) len: usize,
    /// `HTTP/1.1` (else `HTTP/1.0`).
    pub(crate) http11: bool,
    /// From 100 to 999.
    pub(crate) status: u16,
    /// A `Connection` field names `close`.
    pub(crate) close: bool,
    /// A `Connection` field names `keep-alive`.
    pub(crate) keep_alive: bool,
    /// Where the last `Transfer-Encoding` value lies (`(0, 0)` if empty).
    pub(crate) te_last: Option<Span>,
    /// The end-to-end fields (at most one `Content-Length`, valid); the
    /// head's bytes are attached with `frozen` once cut off.
    pub(crate) raw: Box<RawHead>,
}

/// A span in the form a `RawField` keeps it.
fn narrow((a, b): Span) -> Option<(u32, u32)> {
    Some((u32::try_from(a).ok()?, u32::try_from(b).ok()?))
}

impl RawHead {
    /// Reads the response head at the front of `buf` if it is whole and
    /// of the usual form, with at most `max_fields` field lines (see the
    /// module notes); `None` leaves it to httparse and `gather`.
    pub(crate) fn scan(buf: &[u8], max_fields: usize) -> Option<Scanned> {
        let http11 = if is_at(buf, 0, b"HTTP/1.1 ") {
            true
        } else if is_at(buf, 0, b"HTTP/1.0 ") {
            false
        } else {
            return None;
        };
        let digit = |at: usize| {
            let b = *buf.get(at)?;
            b.is_ascii_digit().then(|| u16::from(b - b'0'))
        };
        let status = digit(9)? * 100 + digit(10)? * 10 + digit(11)?;
        if status < 100 {
            return None;
        }
        let mut at = match buf.get(12)? {
            b' ' => text_end(buf, 13)?,
            _ => 12,
        };
        if !is_at(buf, at, b"\r\n") {
            return None;
        }
        at += 2;
        // A head given up on part-way (one still arriving, most often)
        // gives its box back.
        let mut raw = Self::spare();
        match raw.fill(buf, at, max_fields) {
            Some((len, close, keep_alive, te_last)) => Some(Scanned {
                len,
                http11,
                status,
                close,
                keep_alive,
                te_last,
                raw,
            }),
            None => {
                super::recycle(raw);
                None
            }
        }
    }

    /// Reads the field lines from `at` on into `self`, to the empty line:
    /// the head's length, whether `Connection` names `close` and
    /// `keep-alive`, and where the last `Transfer-Encoding` value lies.
    fn fill(
        &mut self,
        buf: &[u8],
        mut at: usize,
        max_fields: usize,
    ) -> Option<(usize, bool, bool, Option<Span>)> {
        let (mut close, mut keep_alive, mut te_last) = (false, false, None);
        let mut lines = 0;
        loop {
            if is_at(buf, at, b"\r\n") {
                return Some((at + 2, close, keep_alive, te_last));
            }
            lines += 1;
            if lines > max_fields {
                return None;
            }
            let line = field_line(buf, at)?;
            at = line.next;
            let value = buf.get(line.value.0..line.value.1)?;
            let name = buf.get(line.name.0..line.name.1)?;
            let length = match self.take(name, value)? {
                Taken::Kept { length: false } => false,
                // One `Content-Length`, a valid decimal: a list or a
                // second line is the framing pass's to judge.
                Taken::Kept { length: true } if self.lengths == 1 && self.declared.is_some() => {
                    true
                }
                Taken::Kept { length: true } => return None,
                Taken::Dropped => continue,
                Taken::Coding => {
                    te_last = Some(line.value_span());
                    continue;
                }
                Taken::Connection {
                    close: c,
                    keep_alive: k,
                } => {
                    close |= c;
                    keep_alive |= k;
                    continue;
                }
            };
            self.fields.push(RawField {
                name: narrow(line.name)?,
                value: narrow(line.value_span())?,
                length,
                whole: line.whole(),
            });
        }
    }
}
