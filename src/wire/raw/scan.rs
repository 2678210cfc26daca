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

use super::{class, connection_tokens, Class, RawField, RawHead};
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

/// Bytes of a field name (RFC 9110 `tchar`), as httparse's table has them.
static TOKEN: [bool; 256] = {
    let mut t = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        t[b] = c.is_ascii_alphanumeric()
            || matches!(
                c,
                b'!' | b'#'
                    | b'$'
                    | b'%'
                    | b'&'
                    | b'\''
                    | b'*'
                    | b'+'
                    | b'-'
                    | b'.'
                    | b'^'
                    | b'_'
                    | b'`'
                    | b'|'
                    | b'~'
            );
        b += 1;
    }
    t
};

/// The first index from `at` on whose byte is not a space or visible
/// ASCII (0x20–0x7E): a control byte (CR ends a line), DEL or obs-text.
/// `None` when `buf` ends first. Eight bytes at a time: per byte, bit 7
/// of `low + 0x01` says the low seven bits are 0x7F, of `low + 0x60`
/// that they are 0x20 or more; neither sum carries into the next byte.
fn text_end(buf: &[u8], mut at: usize) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = ONES * 0x80;
    while let Some(word) = buf.get(at..at + 8) {
        let mut bytes = [0; 8];
        bytes.copy_from_slice(word);
        let x = u64::from_le_bytes(bytes);
        let low = x & !HIGH;
        let del = low + ONES;
        let printable = low + ONES * 0x60;
        let odd = (x | del | !printable) & HIGH;
        if odd != 0 {
            // Little-endian: the first odd byte is the lowest set bit's.
            return Some(at + (odd.trailing_zeros() / 8) as usize);
        }
        at += 8;
    }
    let rest = buf.get(at..)?;
    rest.iter()
        .position(|b| !(0x20..0x7f).contains(b))
        .map(|i| at + i)
}

/// The first index from `at` on whose byte is not a `tchar` (a name's
/// end); `None` when `buf` ends first. (Eight bytes at a time through a
/// letter-digit-dash mask cost more than this table, for names this short.)
fn name_end(buf: &[u8], at: usize) -> Option<usize> {
    buf.get(at..)?
        .iter()
        .position(|b| !TOKEN[usize::from(*b)])
        .map(|i| at + i)
}

/// `s` at `at` in `buf`.
fn is_at(buf: &[u8], at: usize, s: &[u8]) -> bool {
    buf.get(at..at + s.len()) == Some(s)
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
        let mut raw = Self::spare();
        let (mut close, mut keep_alive, mut te_last) = (false, false, None);
        let mut lines = 0;
        loop {
            if is_at(buf, at, b"\r\n") {
                return Some(Scanned {
                    len: at + 2,
                    http11,
                    status,
                    close,
                    keep_alive,
                    te_last,
                    raw,
                });
            }
            lines += 1;
            if lines > max_fields {
                return None;
            }
            let n0 = at;
            let n1 = name_end(buf, at)?;
            at = n1;
            if n1 == n0 || n1 - n0 >= 1 << 16 || buf.get(n1)? != &b':' {
                return None;
            }
            at += 1;
            while buf.get(at)? == &b' ' {
                at += 1;
            }
            let v0 = at;
            let v1 = text_end(buf, v0)?;
            if !is_at(buf, v1, b"\r\n") || (v1 > v0 && buf.get(v1 - 1)? == &b' ') {
                return None;
            }
            at = v1 + 2;
            let value = buf.get(v0..v1)?;
            let length = match class(buf.get(n0..n1)?) {
                Class::Other => false,
                Class::Length => {
                    raw.lengths += 1;
                    raw.declared = super::super::decimal(value);
                    if raw.lengths > 1 || raw.declared.is_none() {
                        return None;
                    }
                    true
                }
                Class::Date => {
                    raw.date = true;
                    false
                }
                Class::HopByHop => continue,
                Class::Coding => {
                    te_last = Some(if v1 > v0 { (v0, v1) } else { (0, 0) });
                    continue;
                }
                Class::Named => return None,
                Class::Connection => {
                    let (c, k) = connection_tokens(value)?;
                    close |= c;
                    keep_alive |= k;
                    continue;
                }
            };
            let value_at = if v1 > v0 { (v0, v1) } else { (0, 0) };
            raw.fields.push(RawField {
                name: narrow((n0, n1))?,
                value: narrow(value_at)?,
                length,
                whole: v1 > v0 && v0 == n1 + 2,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_ends_at_the_first_byte_outside_space_to_tilde() {
        // Every byte value at every offset of a word, and past its end.
        for odd in (0..=255u8).filter(|b| !(0x20..0x7f).contains(b)) {
            for len in 0..20 {
                for at in 0..len {
                    let mut buf = vec![b'a'; len];
                    buf[at] = odd;
                    for start in 0..=at {
                        assert_eq!(text_end(&buf, start), Some(at), "{odd:#x} {len} {at}");
                    }
                }
                assert_eq!(text_end(&vec![b' '; len], 0), None);
            }
        }
        let visible: Vec<u8> = (0x20..0x7f).collect();
        assert_eq!(text_end(&visible, 0), None);
    }

    #[test]
    fn names_end_at_the_first_byte_that_is_no_tchar() {
        for b in 0..=255u8 {
            for len in 1..20 {
                for at in 0..len {
                    let mut buf = vec![b'x'; len];
                    buf[at] = b;
                    let want = if TOKEN[usize::from(b)] {
                        None
                    } else {
                        Some(at)
                    };
                    assert_eq!(name_end(&buf, 0), want, "{b:#x} {len} {at}");
                }
            }
        }
        assert_eq!(name_end(b"Content-Length: 5", 0), Some(14));
        assert_eq!(name_end(b"X~!#$%&'*+-.^_`|:", 0), Some(16));
    }

    #[test]
    fn the_token_table_is_httparses() {
        for b in 0..=255u8 {
            let mut slot = [httparse::EMPTY_HEADER; 1];
            let line = [b'x', b, b':', b' ', b'v', b'\r', b'\n', b'\r', b'\n'];
            let theirs = httparse::parse_headers(&line, &mut slot).is_ok();
            assert_eq!(TOKEN[usize::from(b)] || b == b':', theirs, "{b:#x}");
        }
    }
}
