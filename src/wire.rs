//! HTTP/1 wire helpers shared by the two own codecs, the inline upstream
//! client (`upstream/h1`) and the client-side fast path (`proxy/h1`):
//! where the fields httparse found lie in the read buffer, the header map
//! sliced out of the frozen head without a copy, and a strict decimal.
//!
//! Field names are looked up in a small per-thread table of the names
//! seen last (`name`) before they are parsed: a proxy sees the same few
//! dozen names over and over, and parsing one (and copying a custom one)
//! costs more than comparing its bytes.
//!
//! Header maps are recycled: a map a head was served from goes back to a
//! small per-thread stock (`recycle`), emptied but with its tables, and
//! the next head's map comes from there. Allocating and dropping the two
//! maps of each proxied request (its own and its response's) was a tenth
//! of the request path's instructions.

use std::cell::RefCell;

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue};
use smallvec::SmallVec;

pub(crate) mod lines;
mod raw;
pub(crate) use raw::{recycle as recycle_raw, RawHead};

/// Slots of the per-thread table of field names seen.
const NAME_SLOTS: usize = 64;

/// Spare maps kept per thread.
const SPARE_MAPS: usize = 32;
/// A map with room for more fields than this is dropped, not kept.
const SPARE_CAPACITY: usize = 32;

/// A field name as it arrived (any case), and as it is parsed.
type Seen = Option<(Box<[u8]>, HeaderName)>;

thread_local! {
    static SPARE: RefCell<Vec<HeaderMap>> = const { RefCell::new(Vec::new()) };
    static NAMES: RefCell<[Seen; NAME_SLOTS]> = const { RefCell::new([const { None }; NAME_SLOTS]) };
}

/// The field name `raw`, as `HeaderName::from_bytes` makes it. The name
/// in `raw`'s slot of the table is taken when it arrived as exactly these
/// bytes (one comparison; a sender writes its names the same way each
/// time). Otherwise `raw` is parsed and takes the slot.
pub(crate) fn name(raw: &[u8]) -> Result<HeaderName, http::header::InvalidHeaderName> {
    let (Some(&first), Some(&last)) = (raw.first(), raw.last()) else {
        return HeaderName::from_bytes(raw);
    };
    let slot = (raw.len() ^ (usize::from(first) * 7) ^ (usize::from(last) * 31)) % NAME_SLOTS;
    NAMES.with(|table| {
        let mut table = table.borrow_mut();
        if let Some((known, name)) = &table[slot] {
            if **known == *raw {
                return Ok(name.clone());
            }
        }
        let parsed = HeaderName::from_bytes(raw)?;
        table[slot] = Some((raw.into(), parsed.clone()));
        Ok(parsed)
    })
}

/// Whether `method` is idempotent (RFC 9110, 9.2.2): a request with it may
/// be sent again after a failure that may have reached the upstream.
pub(crate) fn is_idempotent(method: &http::Method) -> bool {
    use http::Method;
    matches!(
        *method,
        Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE | Method::PUT | Method::DELETE
    )
}

/// A per-thread stock of spare values (`take`, `keep`): header maps, raw
/// head boxes, request head buffers.
pub(crate) type Stock<T> = std::thread::LocalKey<RefCell<Vec<T>>>;

/// A spare value from `stock`, if it has one.
pub(crate) fn take<T: 'static>(stock: &'static Stock<T>) -> Option<T> {
    stock.with(|s| s.borrow_mut().pop())
}

/// Keeps `value` in `stock` for `take`, unless the stock holds `max`
/// already (then it is dropped).
pub(crate) fn keep<T: 'static>(stock: &'static Stock<T>, value: T, max: usize) {
    stock.with(|s| {
        let mut spare = s.borrow_mut();
        if spare.len() < max {
            spare.push(value);
        }
    });
}

/// An empty map with room for `n` fields: a spare one when there is one.
pub(crate) fn new_header_map(n: usize) -> HeaderMap {
    match take(&SPARE) {
        Some(mut map) => {
            map.reserve(n);
            map
        }
        None => HeaderMap::with_capacity(n),
    }
}

/// Gives `map` back for `new_header_map` to hand out again: emptied (its
/// values dropped now), kept unless it is large or the stock is full.
pub(crate) fn recycle(mut map: HeaderMap) {
    // A map never given room (a raw head's) is not worth keeping.
    if map.capacity() == 0 || map.capacity() > SPARE_CAPACITY {
        return;
    }
    map.clear();
    keep(&SPARE, map, SPARE_MAPS);
}

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
        let name = name(h.name.as_bytes()).map_err(|_| "invalid field name")?;
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
    let mut map = new_header_map(fields.len() + room);
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
    fn names_from_the_table_are_the_parsed_names() {
        let raws: [&[u8]; 9] = [
            b"Content-Type",
            b"content-type",
            b"CONTENT-TYPE",
            b"x-backend",
            b"X-Backend",
            b"x-backenD",
            b"a",
            b"A",
            b"content-typf",
        ];
        for _ in 0..3 {
            for raw in raws {
                let want = HeaderName::from_bytes(raw).unwrap();
                assert_eq!(name(raw).unwrap(), want, "{raw:?}");
                assert_eq!(name(raw).unwrap().as_str(), want.as_str());
            }
        }
        // Invalid names stay invalid, whatever the table holds.
        for bad in [
            &b""[..],
            b"x backend",
            b"x-backend:",
            b"Content-Type\0",
            b"\xe9",
        ] {
            assert!(name(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn recycled_maps_come_back_empty() {
        let mut map = new_header_map(4);
        map.insert("a", HeaderValue::from_static("1"));
        map.append("a", HeaderValue::from_static("2"));
        recycle(map);
        let again = new_header_map(40);
        assert!(again.is_empty());
        assert!(again.capacity() >= 40);
        // A large map is not kept.
        recycle(again);
        assert!(new_header_map(1).capacity() < 40);
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
