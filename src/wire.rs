//! HTTP/1 wire helpers shared by the two own codecs, the inline upstream
//! client (`upstream/h1`) and the client-side fast path (`proxy/h1`):
//! where the fields httparse found lie in the read buffer, the header map
//! sliced out of the frozen head without a copy, and a strict decimal.

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue};
use smallvec::SmallVec;

/// A byte range of a head.
pub(crate) type Span = (usize, usize);

/// A head's fields: names, and their values' ranges.
pub(crate) type Fields = SmallVec<[(HeaderName, Span); 16]>;

/// Where `s`, a slice httparse returned from the head `buf[..len]`, lies
/// in it (checked: never trusted to point inside). An empty slice is
/// `(0, 0)` wherever it points.
pub(crate) fn span(buf: &[u8], len: usize, s: &[u8]) -> Option<Span> {
    if s.is_empty() {
        return Some((0, 0));
    }
    let a = (s.as_ptr() as usize).checked_sub(buf.as_ptr() as usize)?;
    let b = a.checked_add(s.len())?;
    (b <= len).then_some((a, b))
}

/// Fills `out` with the names and value ranges of `headers`, which
/// httparse parsed from the head `buf[..len]`. `Err` names what is wrong.
pub(crate) fn fields(
    buf: &[u8],
    len: usize,
    headers: &[httparse::Header<'_>],
    out: &mut Fields,
) -> Result<(), &'static str> {
    for h in headers {
        let name = HeaderName::from_bytes(h.name.as_bytes()).map_err(|_| "invalid field name")?;
        let at = span(buf, len, h.value).ok_or("field value outside the head")?;
        out.push((name, at));
    }
    Ok(())
}

/// The header map of the frozen `head`, each value sliced out of it (no
/// copy), with room for `room` more fields. `fields` is emptied.
pub(crate) fn header_map(
    head: &Bytes,
    fields: &mut Fields,
    room: usize,
) -> Result<HeaderMap, &'static str> {
    let mut map = HeaderMap::with_capacity(fields.len() + room);
    for (name, (a, b)) in fields.drain(..) {
        let value =
            HeaderValue::from_maybe_shared(head.slice(a..b)).map_err(|_| "invalid field value")?;
        map.append(name, value);
    }
    Ok(map)
}

/// A non-empty run of ASCII digits as a number (no sign, no spaces, no
/// overflow).
pub(crate) fn decimal(digits: &[u8]) -> Option<u64> {
    if digits.is_empty() || digits.len() > 19 {
        return None;
    }
    digits.iter().try_fold(0u64, |n, d| {
        d.is_ascii_digit()
            .then(|| n.checked_mul(10)?.checked_add(u64::from(d - b'0')))
            .flatten()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_are_checked_against_the_head() {
        let buf = b"GET / HTTP/1.1\r\nA: bc\r\n\r\nrest";
        let len = buf.len() - 4;
        assert_eq!(span(buf, len, &buf[19..21]), Some((19, 21)));
        assert_eq!(span(buf, len, &buf[len..]), None);
        assert_eq!(span(buf, len, b"elsewhere"), None);
        assert_eq!(span(buf, len, b""), Some((0, 0)));
    }

    #[test]
    fn decimals_are_strict() {
        assert_eq!(decimal(b"0"), Some(0));
        assert_eq!(decimal(b"18446744073709551615"), None);
        assert_eq!(
            decimal(b"1844674407370955161"),
            Some(1_844_674_407_370_955_161)
        );
        for bad in [&b""[..], b"+1", b" 1", b"1a", b"-0"] {
            assert_eq!(decimal(bad), None, "{bad:?}");
        }
    }
}
