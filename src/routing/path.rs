//! Request path normalisation for routing (RFC 3986 §6.2.2): what a route
//! sees, and what is forwarded, is one canonical spelling of the path, so
//! `/admin`, `/%61dmin`, `/x/../admin` and `//admin` cannot be told apart
//! by a route meant to match (or block) one of them.
//!
//! In order: percent-encoded unreserved characters (`A-Z a-z 0-9 - . _ ~`)
//! are decoded and other escapes upper-cased; repeated slashes are merged;
//! `.` and `..` segments are removed (`..` never climbs above the root).
//! An encoded slash (`%2F`) stays encoded: it is data, not a separator. A
//! malformed escape (`%` without two hex digits) is an error. The query is
//! not touched.

use std::borrow::Cow;

/// Why a path cannot be normalised.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PathError {
    /// The path does not start with `/`.
    #[error("the request path must start with /")]
    NotAbsolute,
    /// `%` not followed by two hex digits.
    #[error("invalid percent-encoding in the request path")]
    BadEscape,
}

/// The normalised form of `path` (borrowed when it already is).
pub fn normalize_path(path: &str) -> Result<Cow<'_, str>, PathError> {
    let bytes = path.as_bytes();
    if bytes.first() != Some(&b'/') {
        return Err(PathError::NotAbsolute);
    }
    if is_normal(bytes) {
        return Ok(Cow::Borrowed(path));
    }
    let decoded = decode_unreserved(path)?;
    Ok(Cow::Owned(remove_dot_segments(&decoded)))
}

/// Whether `path` has nothing to normalise: no `%`, no `//`, no `.` or
/// `..` segment.
fn is_normal(path: &[u8]) -> bool {
    if path.contains(&b'%') {
        return false;
    }
    let mut segments = path[1..].split(|&b| b == b'/').peekable();
    while let Some(seg) = segments.next() {
        let last = segments.peek().is_none();
        if (seg.is_empty() && !last) || seg == b"." || seg == b".." {
            return false;
        }
    }
    true
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

/// Decodes escapes of unreserved characters, upper-cases the others.
/// Everything between escapes is copied as text, so UTF-8 in the path
/// stays as it was (byte by byte it would turn into Latin-1 mojibake).
fn decode_unreserved(path: &str) -> Result<String, PathError> {
    let mut out = String::with_capacity(path.len());
    let mut rest = path;
    while let Some(i) = rest.find('%') {
        out.push_str(&rest[..i]);
        let digits = rest.as_bytes().get(i + 1..i + 3).unwrap_or_default();
        let [hi, lo] = *digits else {
            return Err(PathError::BadEscape);
        };
        let (Some(h), Some(l)) = (hex(hi), hex(lo)) else {
            return Err(PathError::BadEscape);
        };
        let c = h << 4 | l;
        if is_unreserved(c) {
            out.push(char::from(c));
        } else {
            out.push('%');
            out.push(char::from(hi.to_ascii_uppercase()));
            out.push(char::from(lo.to_ascii_uppercase()));
        }
        // Two ASCII hex digits: `i + 3` is a character boundary.
        rest = &rest[i + 3..];
    }
    out.push_str(rest);
    Ok(out)
}

/// Merges slashes and resolves `.` and `..` (RFC 3986 §5.2.4, clamped at
/// the root); a path ending in `/`, `/.` or `/..` keeps a trailing slash.
fn remove_dot_segments(path: &str) -> String {
    let mut kept: Vec<&str> = Vec::new();
    let mut trailing = false;
    for seg in path[1..].split('/') {
        trailing = false;
        match seg {
            "" => trailing = true,
            "." => trailing = true,
            ".." => {
                kept.pop();
                trailing = true;
            }
            s => kept.push(s),
        }
    }
    let mut out = String::with_capacity(path.len());
    for s in &kept {
        out.push('/');
        out.push_str(s);
    }
    if trailing || kept.is_empty() {
        out.push('/');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_paths_are_borrowed() {
        for p in ["/", "/a", "/a/b/", "/a.b/c..d/.e", "/~x/-y_z"] {
            assert!(matches!(normalize_path(p), Ok(Cow::Borrowed(_))), "{p}");
        }
    }

    #[test]
    fn every_spelling_of_a_path_normalises_to_one() {
        let cases = [
            ("/%61dmin", "/admin"),
            ("/%41%42", "/AB"),
            ("//admin", "/admin"),
            ("/a//b///c", "/a/b/c"),
            ("/x/../admin", "/admin"),
            ("/x/%2e%2e/admin", "/admin"),
            ("/x/%2E./admin", "/admin"),
            ("/./admin", "/admin"),
            ("/../../admin", "/admin"),
            ("/a/b/..", "/a/"),
            ("/a/b/.", "/a/b/"),
            ("/a/", "/a/"),
            ("/..", "/"),
            ("//", "/"),
            ("/a%2fb", "/a%2Fb"),
            ("/a%2Fb/../c", "/c"),
            ("/%7e%5F", "/~_"),
            ("/%20", "/%20"),
            // Found by fuzzing (tests/it/props/routing.rs): UTF-8 was
            // copied byte by byte, as Latin-1.
            ("/caf\u{e9}//x", "/caf\u{e9}/x"),
            ("/\u{e9}/v1/%2f/%2f", "/\u{e9}/v1/%2F/%2F"),
        ];
        for (raw, want) in cases {
            assert_eq!(normalize_path(raw).unwrap(), want, "{raw}");
            // Idempotent.
            assert_eq!(normalize_path(want).unwrap(), want, "{want}");
        }
    }

    #[test]
    fn malformed_paths_are_errors() {
        assert_eq!(normalize_path("a/b"), Err(PathError::NotAbsolute));
        assert_eq!(normalize_path(""), Err(PathError::NotAbsolute));
        for p in ["/%", "/%4", "/%zz", "/a%2"] {
            assert_eq!(normalize_path(p), Err(PathError::BadEscape), "{p}");
        }
    }
}
