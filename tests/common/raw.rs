//! HTTP/1 on a raw socket: exact request bytes out, answers parsed back
//! (status, headers, a body framed by Content-Length or chunks), and
//! whether the server closed the connection.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// How long a raw exchange waits for answers or the close.
pub const DEADLINE: Duration = Duration::from_secs(10);

/// One parsed answer.
#[derive(Debug, Clone)]
pub struct RawReply {
    pub status: u16,
    /// Names lower-cased, in order, repeats kept.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl RawReply {
    /// The first value of `name` (lower-case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn body_text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// What came back on one connection.
#[derive(Debug)]
pub struct Exchange {
    pub replies: Vec<RawReply>,
    /// The server closed the connection (EOF or reset) within the deadline.
    pub closed: bool,
    /// Everything read, for assertion messages.
    pub raw: String,
}

impl Exchange {
    /// The only answer's status; panics (with what was read) if there is
    /// not exactly one.
    pub fn status(&self) -> u16 {
        assert_eq!(self.replies.len(), 1, "answers: {:?}", self.raw);
        self.replies[0].status
    }
}

/// Connects, writes `bytes` and reads until the server closes the
/// connection (or `DEADLINE` passes: `closed` is then false).
pub async fn exchange(addr: SocketAddr, bytes: &[u8]) -> Exchange {
    let mut s = TcpStream::connect(addr).await.unwrap();
    // The server may answer and close before it has read everything.
    s.write_all(bytes).await.ok();
    read_to_close(&mut s).await
}

/// Reads from `s` until the server closes it or `DEADLINE` passes.
pub async fn read_to_close(s: &mut TcpStream) -> Exchange {
    let mut buf = Vec::new();
    let closed = tokio::time::timeout(DEADLINE, async {
        let mut chunk = [0u8; 8192];
        loop {
            match s.read(&mut chunk).await {
                Ok(0) | Err(_) => break,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        }
    })
    .await
    .is_ok();
    let (replies, _) = parse_all(&buf, closed);
    Exchange {
        replies,
        closed,
        raw: String::from_utf8_lossy(&buf).into_owned(),
    }
}

/// Reads from `s` until `n` whole answers have arrived; panics if they do
/// not within `DEADLINE`. The connection stays open.
pub async fn read_replies(s: &mut TcpStream, n: usize) -> Vec<RawReply> {
    let mut buf = Vec::new();
    let got = tokio::time::timeout(DEADLINE, async {
        let mut chunk = [0u8; 8192];
        loop {
            let (replies, _) = parse_all(&buf, false);
            if replies.len() >= n {
                return replies;
            }
            match s.read(&mut chunk).await {
                Ok(0) | Err(_) => return parse_all(&buf, true).0,
                Ok(k) => buf.extend_from_slice(&chunk[..k]),
            }
        }
    })
    .await;
    let replies = got.unwrap_or_else(|_| {
        panic!(
            "{n} answers not read within {DEADLINE:?}: {:?}",
            String::from_utf8_lossy(&buf)
        )
    });
    assert_eq!(
        replies.len(),
        n,
        "closed early: {:?}",
        String::from_utf8_lossy(&buf)
    );
    replies
}

/// Every whole answer in `buf`, and the bytes they took. With `eof`, an
/// answer framed by the close takes the rest.
pub fn parse_all(buf: &[u8], eof: bool) -> (Vec<RawReply>, usize) {
    let mut out = Vec::new();
    let mut at = 0;
    while let Some((reply, used)) = parse_one(&buf[at..], eof) {
        out.push(reply);
        at += used;
    }
    (out, at)
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn parse_one(buf: &[u8], eof: bool) -> Option<(RawReply, usize)> {
    let end = find(buf, b"\r\n\r\n")?;
    let head = std::str::from_utf8(&buf[..end]).ok()?;
    let mut lines = head.split("\r\n");
    let status_line = lines.next()?;
    let status: u16 = status_line
        .strip_prefix("HTTP/1.")?
        .get(2..5)?
        .parse()
        .ok()?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let rest = &buf[end + 4..];
    let header = |name: &str| {
        headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
    };
    let (body, used) = if (100..200).contains(&status) || status == 204 || status == 304 {
        (Vec::new(), 0)
    } else if header("transfer-encoding").is_some_and(|te| te.contains("chunked")) {
        dechunk(rest)?
    } else if let Some(len) = header("content-length") {
        let len: usize = len.parse().ok()?;
        (rest.get(..len)?.to_vec(), len)
    } else if eof {
        (rest.to_vec(), rest.len())
    } else {
        return None;
    };
    Some((
        RawReply {
            status,
            headers,
            body,
        },
        end + 4 + used,
    ))
}

/// A whole chunked body (no trailers expected) and the bytes it took.
fn dechunk(buf: &[u8]) -> Option<(Vec<u8>, usize)> {
    let mut body = Vec::new();
    let mut at = 0;
    loop {
        let line_end = at + find(&buf[at..], b"\r\n")?;
        let size_text = std::str::from_utf8(&buf[at..line_end]).ok()?;
        let size_text = size_text.split(';').next()?.trim();
        let size = usize::from_str_radix(size_text, 16).ok()?;
        at = line_end + 2;
        if size == 0 {
            // Trailers, then the blank line.
            let end = at + find(&buf[at..], b"\r\n")?;
            if end == at {
                return Some((body, at + 2));
            }
            let trailers_end = at + find(&buf[at..], b"\r\n\r\n")?;
            return Some((body, trailers_end + 4));
        }
        body.extend_from_slice(buf.get(at..at + size)?);
        at += size;
        if buf.get(at..at + 2)? != b"\r\n" {
            return None;
        }
        at += 2;
    }
}
