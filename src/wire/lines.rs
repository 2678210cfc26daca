//! Head lines in the usual form, read with each byte looked at once: the
//! pieces of the one-pass scans of a response head (`RawHead::scan`) and
//! a request head (`proxy/h1/request`).
//!
//! The usual form of a field line: a token name, a colon, spaces, a value
//! of spaces and visible ASCII that does not end in a space, CRLF.
//! httparse parses every such line, to the same name and value; the
//! scans leave every other line (tabs, obs-text, a bare LF, obs-fold, a
//! byte httparse refuses) to httparse.

use super::Span;

/// Bytes of a token (RFC 9110 `tchar`), as httparse's table has them.
pub(crate) static TOKEN: [bool; 256] = {
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

/// The first index from `at` on whose byte is not in `FROM..=0x7E`: a
/// control byte (CR ends a line), DEL, obs-text, or with `FROM` 0x21 a
/// space. `None` when `buf` ends first. Eight bytes at a time: per byte,
/// bit 7 of `low + 0x01` says the low seven bits are 0x7F, of
/// `low + 0x80 - FROM` that they are `FROM` or more; neither sum carries
/// into the next byte.
fn visible_end<const FROM: u8>(buf: &[u8], mut at: usize) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = ONES * 0x80;
    while let Some(word) = buf.get(at..at + 8) {
        let mut bytes = [0; 8];
        bytes.copy_from_slice(word);
        let x = u64::from_le_bytes(bytes);
        let low = x & !HIGH;
        let del = low + ONES;
        let from = low + ONES * u64::from(0x80 - FROM);
        let odd = (x | del | !from) & HIGH;
        if odd != 0 {
            // Little-endian: the first odd byte is the lowest set bit's.
            return Some(at + (odd.trailing_zeros() / 8) as usize);
        }
        at += 8;
    }
    let rest = buf.get(at..)?;
    rest.iter()
        .position(|b| !(FROM..0x7f).contains(b))
        .map(|i| at + i)
}

/// The end of text (a value, a reason phrase): the first byte from `at`
/// on that is not a space or visible ASCII.
pub(crate) fn text_end(buf: &[u8], at: usize) -> Option<usize> {
    visible_end::<0x20>(buf, at)
}

/// The end of a request target: the first byte from `at` on that is not
/// visible ASCII.
pub(crate) fn target_end(buf: &[u8], at: usize) -> Option<usize> {
    visible_end::<0x21>(buf, at)
}

/// The first index from `at` on whose byte is not a `tchar` (a name's
/// end); `None` when `buf` ends first. (Eight bytes at a time through a
/// letter-digit-dash mask cost more than this table, for names this short.)
pub(crate) fn name_end(buf: &[u8], at: usize) -> Option<usize> {
    buf.get(at..)?
        .iter()
        .position(|b| !TOKEN[usize::from(*b)])
        .map(|i| at + i)
}

/// `s` at `at` in `buf`.
pub(crate) fn is_at(buf: &[u8], at: usize, s: &[u8]) -> bool {
    buf.get(at..at + s.len()) == Some(s)
}

/// A field line in the usual form.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Line {
    /// The name.
    pub(crate) name: Span,
    /// The value as it lies (empty where it starts at the CR).
    pub(crate) value: Span,
    /// Where the next line starts.
    pub(crate) next: usize,
}

impl Line {
    /// The value's span, `(0, 0)` when it is empty (as `wire::span` has
    /// an empty slice).
    pub(crate) fn value_span(&self) -> Span {
        if self.value.1 > self.value.0 {
            self.value
        } else {
            (0, 0)
        }
    }

    /// The line is exactly `name: value` and CRLF, with a value.
    pub(crate) fn whole(&self) -> bool {
        self.value.1 > self.value.0 && self.value.0 == self.name.1 + 2
    }
}

/// The field line at `at`, if it is whole and in the usual form (a name
/// under 64 KiB).
pub(crate) fn field_line(buf: &[u8], at: usize) -> Option<Line> {
    let n1 = name_end(buf, at)?;
    if n1 == at || n1 - at >= 1 << 16 || buf.get(n1)? != &b':' {
        return None;
    }
    let mut v0 = n1 + 1;
    while buf.get(v0)? == &b' ' {
        v0 += 1;
    }
    let v1 = text_end(buf, v0)?;
    if !is_at(buf, v1, b"\r\n") || (v1 > v0 && buf.get(v1 - 1)? == &b' ') {
        return None;
    }
    Some(Line {
        name: (at, n1),
        value: (v0, v1),
        next: v1 + 2,
    })
}

/// A small xorshift generator for the scans' differential tests
/// (`codec_scan_tests.rs`, `request_scan_tests.rs`): the same heads on
/// every run.
#[cfg(test)]
pub(crate) struct Gen(pub(crate) u64);

#[cfg(test)]
impl Gen {
    pub(crate) fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    /// One of `from`, or of its first `usual` entries only.
    pub(crate) fn pick<'a, T: ?Sized>(&mut self, from: &[&'a T], usual: Option<usize>) -> &'a T {
        let n = usual.unwrap_or(from.len()) as u64;
        from[(self.next() % n) as usize]
    }
    pub(crate) fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }

    /// A head of `p`'s pieces, each usual or not, sometimes with one byte
    /// changed to one of `p.odd`; half of them of usual pieces only (the
    /// first few of each list), unchanged. Then `tail`.
    pub(crate) fn head(&mut self, p: &Pieces<'_>, tail: &[u8]) -> Vec<u8> {
        const SEPS: &[&[u8]] = &[b": ", b": ", b":", b":  ", b": \t", b" : ", b":\t"];
        const EOLS: &[&[u8]] = &[b"\r\n", b"\r\n", b"\r\n", b"\r\n", b"\n", b"\r", b"\r\n "];
        const ENDS: &[&[u8]] = &[b"\r\n", b"\r\n", b"\r\n", b"\n", b""];
        let usual = self.chance(50);
        let only = |n: usize| usual.then_some(n);
        let mut head = self.pick(p.first.0, only(p.first.1)).to_vec();
        head.extend_from_slice(self.pick(EOLS, only(4)));
        for _ in 0..self.next() % 7 {
            head.extend_from_slice(self.pick(p.names.0, only(p.names.1)));
            head.extend_from_slice(self.pick(SEPS, only(4)));
            head.extend_from_slice(self.pick(p.values.0, only(p.values.1)));
            head.extend_from_slice(self.pick(EOLS, only(4)));
        }
        head.extend_from_slice(self.pick(ENDS, only(3)));
        if !usual && self.chance(20) && !head.is_empty() {
            let at = (self.next() % head.len() as u64) as usize;
            head[at] = p.odd[(self.next() % p.odd.len() as u64) as usize];
        }
        head.extend_from_slice(tail);
        head
    }
}

/// What `Gen::head` builds heads of: first lines, names and values, each
/// with how many of its first entries are usual; the bytes one byte may
/// be changed to.
#[cfg(test)]
pub(crate) struct Pieces<'a> {
    pub(crate) first: (&'a [&'a [u8]], usize),
    pub(crate) names: (&'a [&'a [u8]], usize),
    pub(crate) values: (&'a [&'a [u8]], usize),
    pub(crate) odd: &'a [u8],
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn visible_runs_end_at_the_first_byte_outside_the_range() {
        // Every byte value at every offset of a word, and past its end.
        for odd in 0..=255u8 {
            for len in 0..20 {
                for at in 0..len {
                    let mut buf = vec![b'a'; len];
                    buf[at] = odd;
                    for start in 0..=at {
                        let ends = |from: u8| (!(from..0x7f).contains(&odd)).then_some(at);
                        assert_eq!(text_end(&buf, start), ends(0x20), "{odd:#x} {len} {at}");
                        assert_eq!(target_end(&buf, start), ends(0x21), "{odd:#x} {len} {at}");
                    }
                }
            }
        }
        let visible: Vec<u8> = (0x21..0x7f).collect();
        assert_eq!(text_end(&visible, 0), None);
        assert_eq!(target_end(&visible, 0), None);
        assert_eq!(target_end(b"/a/b?c=d HTTP/1.1", 0), Some(8));
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

    #[test]
    fn field_lines_in_the_usual_form_and_not() {
        let line = field_line(b"X-A: b c\r\nrest", 0).unwrap();
        assert_eq!((line.name, line.value, line.next), ((0, 3), (5, 8), 10));
        assert!(line.whole());
        let line = field_line(b"X-A:   b\r\n", 0).unwrap();
        assert_eq!((line.value, line.whole()), ((7, 8), false));
        let line = field_line(b"X-A:\r\n", 0).unwrap();
        assert_eq!((line.value_span(), line.whole()), ((0, 0), false));
        for other in [
            &b"X-A: b \r\n"[..],
            b"X-A:\tb\r\n",
            b"X-A: b\n",
            b"X-A: b\rc\r\n",
            b"X A: b\r\n",
            b": b\r\n",
            b"X-A: \xe9\r\n",
            b"X-A: b\r",
            b" X-A: b\r\n",
        ] {
            assert!(field_line(other, 0).is_none(), "{other:?}");
        }
    }
}
