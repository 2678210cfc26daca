//! `tokio-floor`: the least a tokio reverse proxy can do per request, as a
//! lower bound for the benchmark (bench/README.md), not a proxy to use.
//!
//! One current-thread runtime. Each client connection reads a request head
//! (to the blank line; no body), copies it unchanged to one of two upstreams
//! in turn over a connection it keeps open, reads the response by its
//! `Content-Length` and copies it back. Nothing is validated, routed,
//! counted, timed or rewritten: what Switchyard does per request beyond
//! this is the cost of those features.
//!
//! It relays what the benchmark sends and nothing else: requests without a
//! body, answered with a `Content-Length` body (not HEAD, not 204 or 304,
//! not chunked: those would wait for bytes that never come). There are no
//! timeouts.
//!
//! Usage: `tokio-floor LISTEN UPSTREAM1 UPSTREAM2` (addresses as ip:port).

use std::net::SocketAddr;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// A request head longer than this closes the connection.
const HEAD_MAX: usize = 4096;
/// A response longer than this closes the connection.
const RESPONSE_MAX: usize = 64 << 20;

/// Where the head in `b` ends (after its blank line), if it has.
fn head_end(b: &[u8]) -> Option<usize> {
    b.windows(4).position(|w| w == b"\r\n\r\n").map(|p| p + 4)
}

/// The response head's `Content-Length` (0 when it has none).
fn content_length(head: &[u8]) -> usize {
    const NAME: &[u8] = b"content-length:";
    head.split(|&c| c == b'\n')
        .find(|line| line.len() > NAME.len() && line[..NAME.len()].eq_ignore_ascii_case(NAME))
        .and_then(|line| std::str::from_utf8(&line[NAME.len()..]).ok())
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0)
}

/// Serves one client connection until it closes or fails.
async fn serve(mut client: TcpStream, upstreams: [SocketAddr; 2]) -> std::io::Result<()> {
    client.set_nodelay(true)?;
    let mut conns: [Option<TcpStream>; 2] = [None, None];
    let mut next = 0;
    let mut req = vec![0u8; HEAD_MAX];
    let mut have = 0;
    let mut resp = vec![0u8; 4096];
    loop {
        let end = loop {
            if let Some(end) = head_end(&req[..have]) {
                break end;
            }
            if have == req.len() {
                return Ok(());
            }
            match client.read(&mut req[have..]).await? {
                0 => return Ok(()),
                n => have += n,
            }
        };
        next ^= 1;
        let up = match &mut conns[next] {
            Some(up) => up,
            slot => {
                let up = TcpStream::connect(upstreams[next]).await?;
                up.set_nodelay(true)?;
                slot.insert(up)
            }
        };
        up.write_all(&req[..end]).await?;
        req.copy_within(end..have, 0);
        have -= end;
        let mut got = 0;
        let total = loop {
            match up.read(&mut resp[got..]).await? {
                0 => return Ok(()),
                n => got += n,
            }
            if let Some(end) = head_end(&resp[..got]) {
                match end.checked_add(content_length(&resp[..end])) {
                    Some(total) if total <= RESPONSE_MAX => break total,
                    _ => return Ok(()),
                }
            }
            if got == resp.len() {
                return Ok(());
            }
        };
        if resp.len() < total {
            resp.resize(total, 0);
        }
        while got < total {
            match up.read(&mut resp[got..total]).await? {
                0 => return Ok(()),
                n => got += n,
            }
        }
        client.write_all(&resp[..total]).await?;
    }
}

fn main() {
    let args: Vec<SocketAddr> = std::env::args()
        .skip(1)
        .map(|a| a.parse().expect("an address as ip:port"))
        .collect();
    let [listen, up1, up2] = args[..] else {
        eprintln!("usage: tokio-floor LISTEN UPSTREAM1 UPSTREAM2");
        std::process::exit(2);
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .enable_time()
        .build()
        .expect("a tokio runtime");
    runtime.block_on(async move {
        let listener = TcpListener::bind(listen).await.expect("the listen address");
        loop {
            let Ok((client, _)) = listener.accept().await else {
                // Out of descriptors, most likely: wait for some to close
                // rather than spin.
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                continue;
            };
            tokio::spawn(serve(client, [up1, up2]));
        }
    });
}
