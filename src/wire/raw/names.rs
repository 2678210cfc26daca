//! What a response field's name means to the raw head: the hop-by-hop
//! fields it leaves out, the fields framing reads, and the names that
//! need a map.

/// What a field name is to the proxy.
pub(super) enum Class {
    Other,
    /// A field the map path might remove by name (`Connection: close`
    /// names a field `close`): the head gets a map.
    Named,
    Length,
    Date,
    Connection,
    /// `Transfer-Encoding`: hop-by-hop, and read for framing.
    Coding,
    HopByHop,
}

/// The class of `name`, a token (RFC 9110 `tchar`s only, as httparse and
/// the scan check). Compared by length first: most names are none of
/// these and cost one branch.
pub(super) fn class(name: &[u8]) -> Class {
    let is = |s: &[u8]| folded_eq(name, s);
    match name.len() {
        2 if is(b"te") => Class::HopByHop,
        4 if is(b"date") => Class::Date,
        5 if is(b"close") => Class::Named,
        7 if is(b"trailer") || is(b"upgrade") => Class::HopByHop,
        10 if is(b"connection") => Class::Connection,
        10 if is(b"keep-alive") => Class::HopByHop,
        14 if is(b"content-length") => Class::Length,
        16 if is(b"proxy-connection") => Class::HopByHop,
        17 if is(b"transfer-encoding") => Class::Coding,
        _ => Class::Other,
    }
}

/// `token` is `lower` (lower-case letters and `-`, of the same length) in
/// any case, compared a word at a time: ORed with 0x20, an upper-case
/// letter is its lower-case one and `-` stays `-`, and no other `tchar`
/// becomes a letter or `-` (only CR would become `-`). So for a token this
/// is `eq_ignore_ascii_case`, at a few instructions a word.
#[inline(always)]
fn folded_eq(token: &[u8], lower: &[u8]) -> bool {
    let n = token.len();
    if n != lower.len() {
        return false;
    }
    let word = |s: &[u8], at: usize| {
        let mut w = [0; 8];
        w.copy_from_slice(s.get(at..at + 8).unwrap_or(&[0; 8]));
        u64::from_le_bytes(w)
    };
    let half = |s: &[u8], at: usize| {
        let mut w = [0; 4];
        w.copy_from_slice(s.get(at..at + 4).unwrap_or(&[0; 4]));
        u32::from_le_bytes(w)
    };
    if n >= 8 {
        // Whole words, then the last eight bytes (overlapping the one before).
        let mut at = 0;
        while at + 8 < n {
            if word(token, at) | 0x2020_2020_2020_2020 != word(lower, at) {
                return false;
            }
            at += 8;
        }
        word(token, n - 8) | 0x2020_2020_2020_2020 == word(lower, n - 8)
    } else if n >= 4 {
        half(token, 0) | 0x2020_2020 == half(lower, 0)
            && half(token, n - 4) | 0x2020_2020 == half(lower, n - 4)
    } else {
        token.iter().zip(lower).all(|(t, l)| t | 0x20 == *l)
    }
}

/// What a `Connection` value names: `close`, `keep-alive` (empty items
/// allowed); `None` when it names anything else (fields to remove, which
/// needs a map).
pub(super) fn connection_tokens(value: &[u8]) -> Option<(bool, bool)> {
    let (mut close, mut keep_alive) = (false, false);
    for t in value.split(|b| *b == b',').map(<[u8]>::trim_ascii) {
        if t.eq_ignore_ascii_case(b"close") {
            close = true;
        } else if t.eq_ignore_ascii_case(b"keep-alive") {
            keep_alive = true;
        } else if !t.is_empty() {
            return None;
        }
    }
    Some((close, keep_alive))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folding_a_token_is_ignoring_ascii_case() {
        let tchars: Vec<u8> = (0..=255u8)
            .filter(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(b))
            .collect();
        let names: [&[u8]; 10] = [
            b"te",
            b"date",
            b"close",
            b"trailer",
            b"connection",
            b"keep-alive",
            b"content-length",
            b"proxy-connection",
            b"transfer-encoding",
            b"x-a",
        ];
        for lower in names {
            let mut upper = lower.to_vec();
            upper.make_ascii_uppercase();
            assert!(folded_eq(lower, lower) && folded_eq(&upper, lower));
            assert!(!folded_eq(&lower[1..], lower));
            // Every tchar at every place: equal exactly when it is the
            // letter there in either case.
            for at in 0..lower.len() {
                for &t in &tchars {
                    let mut token = lower.to_vec();
                    token[at] = t;
                    assert_eq!(
                        folded_eq(&token, lower),
                        token.eq_ignore_ascii_case(lower),
                        "{:?}",
                        String::from_utf8_lossy(&token)
                    );
                }
            }
        }
    }
}
