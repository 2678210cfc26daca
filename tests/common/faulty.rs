//! `Faulty`: a raw TCP upstream on 127.0.0.1:0 that reads each request head
//! and then fails the way it was told to, for the upstream fault tests.
//!
//! It counts connections accepted, request heads read, and connections
//! that ended (the peer closed them, or a write to them failed), so a test
//! can see that the proxy let go of a connection. Dropping it closes the
//! listener and every connection.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::{JoinHandle, JoinSet};

/// How `Faulty` answers every request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Reset the connection (RST: `SO_LINGER` 0) once the head arrived,
    /// before any answer.
    ResetBeforeHead,
    /// A head promising `Content-Length: 1000`, 100 bytes of it, then RST.
    ResetMidBody,
    /// The same head and 100 bytes, then a clean close (FIN).
    CloseMidBody,
    /// Bytes that are not HTTP, then a clean close.
    Garbage,
    /// A `200` whose head carries one header of this many bytes (a whole
    /// head a little bigger), then `ok`.
    BigHead(usize),
    /// The start of a `200` head, one byte per second, never finished.
    Trickle,
    /// A chunked `200` whose chunks never stop (one every 10 ms) until the
    /// connection is gone.
    Endless,
}

/// The body sent before a mid-body fault.
pub const PARTIAL_BODY: usize = 100;
/// The `Content-Length` announced before a mid-body fault.
pub const PROMISED_BODY: usize = 1000;

#[derive(Debug, Default)]
struct Counts {
    accepted: AtomicU64,
    heads: AtomicU64,
    ended: AtomicU64,
}

pub struct Faulty {
    pub addr: SocketAddr,
    counts: Arc<Counts>,
    task: JoinHandle<()>,
}

impl Drop for Faulty {
    fn drop(&mut self) {
        // The connection tasks live in the accept task's set: aborting it
        // closes them all.
        self.task.abort();
    }
}

impl Faulty {
    pub async fn spawn(fault: Fault) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let counts = Arc::new(Counts::default());
        let c = Arc::clone(&counts);
        let task = tokio::spawn(async move {
            let mut conns = JoinSet::new();
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                c.accepted.fetch_add(1, Ordering::Relaxed);
                while conns.try_join_next().is_some() {}
                let c = Arc::clone(&c);
                conns.spawn(async move {
                    serve(stream, fault, &c).await;
                    c.ended.fetch_add(1, Ordering::Relaxed);
                });
            }
        });
        Self { addr, counts, task }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Connections accepted so far.
    pub fn accepted(&self) -> u64 {
        self.counts.accepted.load(Ordering::Relaxed)
    }

    /// Request heads read so far.
    pub fn heads(&self) -> u64 {
        self.counts.heads.load(Ordering::Relaxed)
    }

    /// Connections that have ended so far.
    pub fn ended(&self) -> u64 {
        self.counts.ended.load(Ordering::Relaxed)
    }
}

/// Serves one connection: request heads, each answered with `fault`,
/// until the fault ends the connection or the peer does.
async fn serve(mut stream: TcpStream, fault: Fault, counts: &Counts) {
    stream.set_nodelay(true).ok();
    // Every fault but `BigHead` ends the connection, so one head is all
    // most connections see; `BigHead` keeps serving if it is asked again.
    loop {
        if !read_head(&mut stream).await {
            return;
        }
        counts.heads.fetch_add(1, Ordering::Relaxed);
        let head = |extra: &str| {
            format!("HTTP/1.1 200 OK\r\ncontent-length: {PROMISED_BODY}\r\n{extra}\r\n")
        };
        match fault {
            Fault::ResetBeforeHead => return reset(stream),
            Fault::ResetMidBody | Fault::CloseMidBody => {
                let mut out = head("").into_bytes();
                out.extend(std::iter::repeat_n(b'x', PARTIAL_BODY));
                if stream.write_all(&out).await.is_err() {
                    return;
                }
                stream.flush().await.ok();
                if fault == Fault::ResetMidBody {
                    return reset(stream);
                }
                stream.shutdown().await.ok();
                return drain(stream).await;
            }
            Fault::Garbage => {
                let junk = b"SSH-2.0-OpenSSH_9.6\r\n\x00\x01\x02 not http at all\r\n\r\n";
                stream.write_all(junk).await.ok();
                stream.shutdown().await.ok();
                return drain(stream).await;
            }
            Fault::BigHead(n) => {
                let big = format!(
                    "HTTP/1.1 200 OK\r\ncontent-length: 2\r\nx-big: {}\r\n\r\nok",
                    "a".repeat(n)
                );
                if stream.write_all(big.as_bytes()).await.is_err() {
                    return;
                }
            }
            Fault::Trickle => {
                for b in b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n".iter().cycle() {
                    if stream.write_all(&[*b]).await.is_err() {
                        return;
                    }
                    if closed_within(&mut stream, Duration::from_secs(1)).await {
                        return;
                    }
                }
            }
            Fault::Endless => {
                let start = "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n";
                if stream.write_all(start.as_bytes()).await.is_err() {
                    return;
                }
                loop {
                    if stream.write_all(b"6\r\nchunk\n\r\n").await.is_err() {
                        return;
                    }
                    if closed_within(&mut stream, Duration::from_millis(10)).await {
                        return;
                    }
                }
            }
        }
    }
}

/// Reads one request head (the tests send no bodies); `false` when the
/// peer closed first.
async fn read_head(stream: &mut TcpStream) -> bool {
    let mut head = Vec::new();
    let mut buf = [0u8; 4096];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return false,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
    }
    true
}

/// Whether the peer closes (or resets) the connection within `wait`. Any
/// bytes it sends meanwhile are discarded.
async fn closed_within(stream: &mut TcpStream, wait: Duration) -> bool {
    let mut buf = [0u8; 1024];
    let read = async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    };
    tokio::time::timeout(wait, read).await.is_ok()
}

/// Closes with an RST instead of a FIN.
fn reset(stream: TcpStream) {
    stream.set_zero_linger().ok();
    drop(stream);
}

/// After our FIN, waits for the peer's close, so the connection only
/// counts as ended once the proxy let go of it.
async fn drain(mut stream: TcpStream) {
    let mut buf = [0u8; 1024];
    // Bounded by the peer: the proxy closes its side once it has read the
    // fault (the task is aborted with the server otherwise).
    while let Ok(1..) = stream.read(&mut buf).await {}
}
