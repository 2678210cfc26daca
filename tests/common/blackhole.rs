//! `Blackhole`: a listener on 127.0.0.1:0 that accepts connections, reads
//! what arrives and never answers, as a hung server does.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use tokio::io::AsyncReadExt;
use tokio::net::TcpListener;
use tokio::task::{JoinHandle, JoinSet};

use super::upstream::PROBE_AGENT;

/// A listener that accepts connections, reads what arrives and never
/// answers. Counts connections whose request came from a health probe and
/// those that did not. Dropping it closes the listener and every socket.
pub struct Blackhole {
    pub addr: SocketAddr,
    probes: Arc<AtomicU64>,
    requests: Arc<AtomicU64>,
    task: JoinHandle<()>,
}

impl Drop for Blackhole {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Blackhole {
    pub async fn spawn() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let probes = Arc::new(AtomicU64::new(0));
        let requests = Arc::new(AtomicU64::new(0));
        let (p, r) = (probes.clone(), requests.clone());
        let task = tokio::spawn(async move {
            // Held sockets live in the set, so aborting this task closes them.
            let mut held = JoinSet::new();
            loop {
                let Ok((mut stream, _)) = listener.accept().await else {
                    continue;
                };
                while held.try_join_next().is_some() {}
                let (p, r) = (p.clone(), r.clone());
                held.spawn(async move {
                    let mut head = Vec::new();
                    let mut buf = [0u8; 4096];
                    let mut counted = false;
                    // Read (and hold the socket) until the peer closes.
                    while let Ok(n @ 1..) = stream.read(&mut buf).await {
                        if counted {
                            continue;
                        }
                        head.extend_from_slice(&buf[..n]);
                        if head.windows(4).any(|w| w == b"\r\n\r\n") {
                            counted = true;
                            let text = String::from_utf8_lossy(&head).to_ascii_lowercase();
                            let c = if text.contains(PROBE_AGENT) { &p } else { &r };
                            c.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                });
            }
        });
        Self {
            addr,
            probes,
            requests,
            task,
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Health probes that arrived (never answered).
    pub fn probes(&self) -> u64 {
        self.probes.load(Ordering::Relaxed)
    }

    /// Other requests that arrived (never answered).
    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }
}
