//! The Rust half of `bench/soak.sh`: the upstream servers it kills and
//! restarts, and the traffic driver (HTTP/1.1, large bodies, WebSocket).
//! HTTP/2 load comes from h2load.
//!
//! ```text
//! soak upstream --listen 127.0.0.1:PORT --id NAME
//! soak drive --proxy 127.0.0.1:PORT --seconds N --out DIR [--h1-rate R] [--ws-sessions N] [--seed S]
//! ```
//!
//! Everything listens and connects on loopback only.

mod drive;
mod pattern;
mod upstream;

use std::net::SocketAddr;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(about = "Upstreams and traffic for bench/soak.sh")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// An upstream: small answers, `/bytes/N`, `POST .../echo`, WebSocket
    /// echo on any path with `Upgrade: websocket`, `/healthz`.
    Upstream {
        #[arg(long)]
        listen: SocketAddr,
        #[arg(long)]
        id: String,
    },
    /// Mixed traffic through the proxy for a fixed time; writes
    /// `driver.json` (counts) and `failures.jsonl` (one line per failure)
    /// into `--out`.
    Drive(drive::Options),
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Upstream { listen, id } => {
            anyhow::ensure!(listen.ip().is_loopback(), "refusing to listen on {listen}");
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            rt.block_on(upstream::run(listen, id))
        }
        Command::Drive(options) => {
            anyhow::ensure!(
                options.proxy.ip().is_loopback(),
                "refusing to drive {}",
                options.proxy
            );
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()?;
            rt.block_on(drive::run(options))
        }
    }
}
