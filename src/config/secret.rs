//! Secrets in the config: the admin token, read from a file or an
//! environment variable (never written in the config itself), and the
//! rules that keep secret values out of everything that gets printed.
//!
//! Owns: the [`Secret`] type (its `Debug` prints `<redacted>`, its
//! comparison takes the same time wherever the first difference is),
//! reading a secret from its source, and the scrubbing of URLs before they
//! go into an error (the word list that marks a key as secret is
//! `redact.rs`'s). Must not: log or format a secret's value;
//! only [`Secret::expose`] hands it out, for the one comparison that needs
//! it.

use std::borrow::Cow;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::redact::REDACTED;

/// The longest token file read, in bytes: a token is a line of text, so a
/// bigger file is a wrong path, not a token.
const MAX_SECRET_BYTES: u64 = 4096;

/// Tokens shorter than this get a warning.
pub(super) const MIN_TOKEN_CHARS: usize = 16;

/// A secret value. Its `Debug` is `<redacted>`, it has no `Display`, and
/// equality is checked in constant time for equal lengths.
#[derive(Clone)]
pub struct Secret(Arc<str>);

impl Secret {
    /// The value itself: for comparing, never for printing.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether `candidate` is this secret. The time taken depends only on
    /// the lengths, not on where the first differing byte is.
    pub fn matches(&self, candidate: &[u8]) -> bool {
        constant_time_eq(self.0.as_bytes(), candidate)
    }

    /// Its length in characters (only for the short-token warning).
    pub fn len(&self) -> usize {
        self.0.chars().count()
    }

    /// Whether it is empty (never, once read by [`SecretSource::read`]).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

impl PartialEq for Secret {
    fn eq(&self, other: &Self) -> bool {
        self.matches(other.0.as_bytes())
    }
}

impl Eq for Secret {}

/// Where a secret is read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretSource {
    /// A file (trailing line breaks are dropped); relative paths are
    /// already resolved against the config file's directory.
    File(PathBuf),
    /// An environment variable of the proxy's process.
    Env(String),
}

impl SecretSource {
    /// Reads the secret now. The error says what is wrong (missing, empty,
    /// not a token) and never contains the value.
    pub fn read(&self) -> Result<Secret, String> {
        let text = match self {
            Self::File(path) => read_file(path)?,
            Self::Env(name) => match std::env::var(name) {
                Ok(v) => v,
                Err(std::env::VarError::NotPresent) => {
                    return Err(format!("environment variable {name} is not set"))
                }
                Err(std::env::VarError::NotUnicode(_)) => {
                    return Err(format!("environment variable {name} is not UTF-8 text"))
                }
            },
        };
        let value = text.trim_end_matches(['\n', '\r']);
        let what = match self {
            Self::File(path) => format!("token file {}", path.display()),
            Self::Env(name) => format!("environment variable {name}"),
        };
        if value.is_empty() {
            return Err(format!("{what} is empty"));
        }
        // It travels in an `Authorization: Bearer` header: visible ASCII
        // only, so that it can be typed, pasted and sent unchanged.
        if !value.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(format!(
                "{what} holds characters other than visible ASCII (spaces, tabs, control \
                 characters or non-ASCII); use a random token such as `openssl rand -hex 32` prints"
            ));
        }
        Ok(Secret(Arc::from(value)))
    }

    /// The file, for the config watcher; `None` for an environment variable.
    pub fn file(&self) -> Option<&Path> {
        match self {
            Self::File(path) => Some(path),
            Self::Env(_) => None,
        }
    }
}

fn read_file(path: &Path) -> Result<String, String> {
    use std::io::Read;
    let file = std::fs::File::open(path)
        .map_err(|e| format!("cannot read token file {}: {e}", path.display()))?;
    let mut bytes = Vec::new();
    file.take(MAX_SECRET_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read token file {}: {e}", path.display()))?;
    if bytes.len() as u64 > MAX_SECRET_BYTES {
        return Err(format!(
            "token file {} is larger than {MAX_SECRET_BYTES} bytes: not a token",
            path.display()
        ));
    }
    String::from_utf8(bytes).map_err(|_| format!("token file {} is not UTF-8 text", path.display()))
}

/// `admin.token`: the bearer token the admin API's protected endpoints
/// want, and where it came from (so a reload can read it again).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminToken {
    /// Where it is read from.
    pub source: SecretSource,
    /// The value read at load.
    pub value: Secret,
}

impl AdminToken {
    /// Whether reading the source now would give a different token (or
    /// none): the file was rotated since this config was loaded.
    pub fn changed(&self) -> bool {
        self.source.read().map_or(true, |now| now != self.value)
    }
}

/// Byte-slice equality whose time depends only on the lengths.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    // Keeps the compiler from turning the fold into an early exit.
    std::hint::black_box(diff) == 0
}

/// `text` (a URL as written) with its user information (`user:pass@`)
/// replaced by `<redacted>@`, for error messages.
pub(super) fn url_for_display(text: &str) -> Cow<'_, str> {
    let start = text.find("://").map_or(0, |i| i + 3);
    let rest = &text[start..];
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..end].rfind('@') {
        Some(at) => Cow::Owned(format!("{}{REDACTED}{}", &text[..start], &rest[at..])),
        None => Cow::Borrowed(text),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_value() {
        let s = Secret(Arc::from("hunter2-hunter2-hunter2"));
        assert_eq!(format!("{s:?}"), REDACTED);
        let t = AdminToken {
            source: SecretSource::Env("X".into()),
            value: s,
        };
        assert!(!format!("{t:?} {t:#?}").contains("hunter2"));
    }

    #[test]
    fn comparison() {
        let s = Secret(Arc::from("abcdef"));
        assert!(s.matches(b"abcdef"));
        assert!(!s.matches(b"abcdeF"));
        assert!(!s.matches(b"abcde"));
        assert!(!s.matches(b"abcdefg"));
        assert!(!s.matches(b""));
    }

    #[test]
    fn files_are_read_with_trailing_line_breaks_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t");
        let source = SecretSource::File(path.clone());
        let err = source.read().unwrap_err();
        assert!(err.starts_with("cannot read token file"), "{err}");
        for content in ["abc\n", "abc\r\n\n", "abc"] {
            std::fs::write(&path, content).unwrap();
            assert_eq!(source.read().unwrap().expose(), "abc", "{content:?}");
        }
        for (content, want) in [
            ("\n", "is empty"),
            ("", "is empty"),
            ("a b\n", "other than visible ASCII"),
            (" abc", "other than visible ASCII"),
            ("ab\tc", "other than visible ASCII"),
            ("abc\u{e9}", "other than visible ASCII"),
        ] {
            std::fs::write(&path, content).unwrap();
            let err = source.read().unwrap_err();
            assert!(err.contains(want), "{content:?}: {err}");
            assert!(!err.contains("abc"), "{err}");
        }
        std::fs::write(&path, [b'a'; 5000]).unwrap();
        assert!(source.read().unwrap_err().contains("larger than"));
        std::fs::write(&path, [0xff, 0xfe]).unwrap();
        assert!(source.read().unwrap_err().contains("not UTF-8"));
    }

    #[test]
    fn a_rotated_file_is_a_change() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t");
        std::fs::write(&path, "first-token-value\n").unwrap();
        let source = SecretSource::File(path.clone());
        let token = AdminToken {
            value: source.read().unwrap(),
            source,
        };
        assert!(!token.changed());
        std::fs::write(&path, "first-token-value").unwrap();
        assert!(!token.changed(), "only the line break differs");
        std::fs::write(&path, "second-token-value\n").unwrap();
        assert!(token.changed());
        std::fs::remove_file(&path).unwrap();
        assert!(token.changed(), "unreadable counts as changed");
    }

    #[test]
    fn urls_lose_their_user_information() {
        assert_eq!(
            url_for_display("http://user:pa55@api.example.com:80/x"),
            "http://<redacted>@api.example.com:80/x"
        );
        assert_eq!(url_for_display("u:p@h:1"), "<redacted>@h:1");
        assert_eq!(
            url_for_display("http://a:b@c@host/p@q"),
            "http://<redacted>@host/p@q"
        );
        assert_eq!(url_for_display("http://host/p@q"), "http://host/p@q");
        assert_eq!(url_for_display("not a url"), "not a url");
    }
}
