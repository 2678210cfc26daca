//! A byte-level look at HTTP/1 request heads as they arrive, before hyper
//! parses them, for what hyper accepts but a proxy must refuse:
//!
//! - a bare LF as a line end (httparse takes it, RFC 9112 §2.2 allows it;
//!   two parsers that disagree on line ends is how smuggling starts);
//! - `Content-Length` together with `Transfer-Encoding` (hyper goes by the
//!   chunks and drops the length, so the request no longer shows both).
//!
//! `HeadScan` is fed the bytes of one head, in as many pieces as they
//! arrive, and says when the blank line that ends it has been seen.

/// What is wrong with a head.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub(super) enum HeadError {
    /// A line ended with LF alone.
    #[error("request head with a bare LF line end")]
    BareLf,
    /// Both framing headers.
    #[error("request head with both Content-Length and Transfer-Encoding")]
    Ambiguous,
}

/// The longest header name compared (`transfer-encoding`).
const NAME: usize = 17;

/// The scan of one head.
#[derive(Debug, Clone)]
pub(super) struct HeadScan {
    prev: u8,
    line_empty: bool,
    /// A non-empty line (the request line) was seen.
    started: bool,
    /// Lines seen (the request line is 1).
    lines: u32,
    /// The current line's first bytes, lower-cased, while they may still
    /// be a name of interest; `None` once it cannot be.
    name: Option<([u8; NAME], usize)>,
    content_length: bool,
    transfer_encoding: bool,
}

impl Default for HeadScan {
    fn default() -> Self {
        Self {
            prev: b'\n',
            line_empty: true,
            started: false,
            lines: 0,
            name: Some(([0; NAME], 0)),
            content_length: false,
            transfer_encoding: false,
        }
    }
}

impl HeadScan {
    /// Feeds the next bytes; `Ok(true)` once the head is whole (the bytes
    /// after it are not looked at).
    pub(super) fn feed(&mut self, bytes: &[u8]) -> Result<bool, HeadError> {
        for &b in bytes {
            if b == b'\n' {
                if self.prev != b'\r' {
                    return Err(HeadError::BareLf);
                }
                if self.line_empty && self.started {
                    if self.content_length && self.transfer_encoding {
                        return Err(HeadError::Ambiguous);
                    }
                    return Ok(true);
                }
                // Empty lines before the request line are skipped
                // (RFC 9112 §2.2), but must be CRLF too.
                if !self.line_empty {
                    self.started = true;
                    self.lines += 1;
                }
                self.line_empty = true;
                self.name = Some(([0; NAME], 0));
            } else {
                if b != b'\r' {
                    self.line_empty = false;
                }
                self.name_byte(b);
            }
            self.prev = b;
        }
        Ok(false)
    }

    /// Follows the current header line's name up to its colon.
    fn name_byte(&mut self, b: u8) {
        // The request line is not a header.
        if self.lines == 0 {
            self.name = None;
        }
        let Some((buf, len)) = &mut self.name else {
            return;
        };
        if b == b':' {
            let name = &buf[..*len];
            self.content_length |= name == b"content-length";
            self.transfer_encoding |= name == b"transfer-encoding";
            self.name = None;
        } else if *len == NAME {
            self.name = None;
        } else {
            buf[*len] = b.to_ascii_lowercase();
            *len += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `head` split at every position; every split must agree.
    fn scan(head: &[u8]) -> Result<bool, HeadError> {
        let whole = HeadScan::default().feed(head);
        for split in 1..head.len() {
            let mut s = HeadScan::default();
            let r = s.feed(&head[..split]).and_then(|done| {
                if done {
                    Ok(true)
                } else {
                    s.feed(&head[split..])
                }
            });
            assert_eq!(r, whole, "split at {split}");
        }
        whole
    }

    #[test]
    fn crlf_heads_pass() {
        assert_eq!(scan(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n"), Ok(true));
        assert_eq!(scan(b"\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n"), Ok(true));
        assert_eq!(scan(b"GET / HTTP/1.1\r\nHost: a\r\n"), Ok(false));
        assert_eq!(
            scan(b"POST / HTTP/1.1\r\nContent-Length: 3\r\n\r\na\nb"),
            Ok(true)
        );
        // A name that merely contains one of interest.
        assert_eq!(
            scan(b"POST / HTTP/1.1\r\nX-Content-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n"),
            Ok(true)
        );
    }

    #[test]
    fn bare_lf_anywhere_is_refused() {
        for head in [
            &b"GET / HTTP/1.1\nHost: a\r\n\r\n"[..],
            b"GET / HTTP/1.1\r\nHost: a\n\r\n",
            b"GET / HTTP/1.1\r\nHost: a\r\n\n",
            b"\nGET / HTTP/1.1\r\n\r\n",
        ] {
            assert_eq!(scan(head), Err(HeadError::BareLf), "{head:?}");
        }
    }

    #[test]
    fn both_framing_headers_are_refused_in_any_case_and_order() {
        for head in [
            &b"POST / HTTP/1.1\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n"[..],
            b"POST / HTTP/1.1\r\ntransfer-encoding: chunked\r\nHost: a\r\ncontent-LENGTH: 4\r\n\r\n",
        ] {
            assert_eq!(scan(head), Err(HeadError::Ambiguous), "{head:?}");
        }
    }
}
