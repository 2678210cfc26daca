//! Path normalisation (`routing::normalize_path`), against the rules in its
//! documentation, applied by a reference written here: escapes of
//! unreserved characters decoded and the others upper-cased (a `%` without
//! two hex digits is an error), slashes merged, `.` and `..` resolved and
//! clamped at the root, a trailing slash kept after `/`, `/.` or `/..`;
//! every other byte, UTF-8 included, unchanged.

use switchyard::routing::{normalize_path, PathError};

fn hex(b: u8) -> Option<u8> {
    char::from(b)
        .to_digit(16)
        .and_then(|d| u8::try_from(d).ok())
}

/// The reference normalisation.
pub fn reference_normalize(path: &str) -> Result<String, PathError> {
    if !path.starts_with('/') {
        return Err(PathError::NotAbsolute);
    }
    let bytes = path.as_bytes();
    let mut decoded: Vec<u8> = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'%' {
            decoded.push(bytes[i]);
            i += 1;
            continue;
        }
        let hi = bytes.get(i + 1).copied().and_then(hex);
        let lo = bytes.get(i + 2).copied().and_then(hex);
        let (Some(hi), Some(lo)) = (hi, lo) else {
            return Err(PathError::BadEscape);
        };
        let c = hi * 16 + lo;
        if c.is_ascii_alphanumeric() || b"-._~".contains(&c) {
            decoded.push(c);
        } else {
            decoded.extend_from_slice(format!("%{c:02X}").as_bytes());
        }
        i += 3;
    }
    let decoded = String::from_utf8(decoded).unwrap_or_else(|e| panic!("{e}: {path:?}"));
    let segments: Vec<&str> = decoded[1..].split('/').collect();
    let mut kept: Vec<&str> = Vec::new();
    for seg in &segments {
        match *seg {
            "" | "." => {}
            ".." => {
                kept.pop();
            }
            s => kept.push(s),
        }
    }
    let trailing = matches!(segments.last(), Some(&("" | "." | "..")));
    let mut out = format!("/{}", kept.join("/"));
    if trailing && !kept.is_empty() {
        out.push('/');
    }
    Ok(out)
}

/// `normalize_path(path)` agrees with the reference, is idempotent and
/// never turns a valid request path into an invalid one.
pub fn check_normalize_path(path: &str) {
    let got = normalize_path(path);
    let want = reference_normalize(path);
    assert_eq!(
        got.as_deref().map_err(|e| *e),
        want.as_deref().map_err(|e| *e),
        "normalize_path({path:?})"
    );
    let Ok(normal) = got else {
        return;
    };
    // (A path with escapes comes back owned even when it is normal; only
    // the value must not change.)
    assert_eq!(
        normalize_path(&normal).as_deref(),
        Ok(normal.as_ref()),
        "{normal:?} (from {path:?}) is not normal"
    );
    if http::uri::PathAndQuery::try_from(path).is_ok() {
        assert!(
            http::uri::PathAndQuery::try_from(normal.as_ref()).is_ok(),
            "{normal:?} (from the valid {path:?}) is not a valid path"
        );
    }
}
