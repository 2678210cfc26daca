//! `switchyard demo`: demo vendors in-process plus the proxy.
//!
//! Owns: small upstream servers that stand in for vendors with different
//! latency, and the demo's console output. Exists only for the demo
//! command; nothing here is on the proxy's request path.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use bytes::Bytes;
use http::{header, HeaderValue, Request, Response};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;

use crate::config::{self, ConfigError};
use crate::{StartError, Switchyard};

/// How a demo vendor behaves.
#[derive(Debug, Clone)]
pub struct VendorProfile {
    /// Name echoed in responses.
    pub name: String,
    /// Added before every response.
    pub latency: Duration,
}

/// Why the demo could not run.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    /// The demo config is broken.
    #[error("{0}")]
    Config(#[from] ConfigError),
    /// A demo vendor could not bind.
    #[error("cannot start demo vendor {name:?} on {addr}: {source}")]
    Vendor {
        /// Vendor name.
        name: String,
        /// Address.
        addr: String,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
    /// The proxy could not start.
    #[error("{0}")]
    Start(#[from] StartError),
}

/// Latencies given to the demo's vendors in endpoint order.
const LATENCIES_MS: [u64; 3] = [5, 25, 60];

/// Starts one demo vendor on `addr`; it serves until the runtime ends.
pub async fn spawn_vendor(addr: &str, profile: VendorProfile) -> std::io::Result<SocketAddr> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let local = listener.local_addr()?;
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let profile = profile.clone();
            tokio::spawn(async move {
                let svc = service_fn(move |req| vendor_response(req, profile.clone()));
                auto::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(stream), svc)
                    .await
                    .ok();
            });
        }
    });
    Ok(local)
}

async fn vendor_response(
    req: Request<Incoming>,
    profile: VendorProfile,
) -> Result<Response<Full<Bytes>>, Infallible> {
    tokio::time::sleep(profile.latency).await;
    let body = serde_json::json!({
        "vendor": profile.name,
        "method": req.method().as_str(),
        "path": req.uri().path(),
        "host": req.headers().get(header::HOST).and_then(|v| v.to_str().ok()),
        "x_forwarded_for": req.headers().get("x-forwarded-for").and_then(|v| v.to_str().ok()),
    });
    let mut resp = Response::new(Full::new(Bytes::from(format!("{body}\n"))));
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    if let Ok(v) = HeaderValue::from_str(&profile.name) {
        resp.headers_mut().insert("x-vendor", v);
    }
    Ok(resp)
}

/// Runs the demo with the config at `path` until Ctrl-C or SIGTERM.
pub async fn run(path: &Path) -> Result<(), DemoError> {
    let loaded = config::load_file(path)?;
    for (i, ep) in loaded
        .config
        .pools
        .iter()
        .flat_map(|p| p.endpoints.iter())
        .enumerate()
    {
        let addr = ep.url.authority.as_str().to_string();
        let profile = VendorProfile {
            name: ep.name.to_string(),
            latency: Duration::from_millis(LATENCIES_MS[i % LATENCIES_MS.len()]),
        };
        spawn_vendor(&addr, profile)
            .await
            .map_err(|source| DemoError::Vendor {
                name: ep.name.to_string(),
                addr: addr.clone(),
                source,
            })?;
    }
    let proxy = Switchyard::start_with_file(loaded, Some(path.to_path_buf())).await?;
    print_banner(&proxy);
    wait_for_signal().await;
    proxy.shutdown().await;
    Ok(())
}

fn print_banner(proxy: &Switchyard) {
    let dp = proxy.shared().dataplane.load();
    let admin = proxy.admin_addr();
    println!("Switchyard demo is running. Try:");
    for l in &dp.config.listeners {
        if let Some(addr) = proxy.listener_addr(&l.name) {
            for r in dp.config.routes.routes() {
                let path = match &r.matcher.path {
                    crate::routing::PathMatch::Prefix(p) | crate::routing::PathMatch::Exact(p) => {
                        p.clone()
                    }
                    _ => "/".into(),
                };
                println!("  curl -s http://{addr}{path}        # route {}", r.name);
            }
        }
    }
    println!("  curl -s http://{admin}/metrics | grep switchyard_upstream_requests_total");
    println!("  curl -s http://{admin}/upstreams      # health, ejections, weights");
    println!("  curl -s http://{admin}/readyz");
    println!("Vendors (latency):");
    let all = dp
        .pools
        .iter()
        .flat_map(|p| p.endpoints.iter().map(move |e| (p, e)));
    for (i, (p, e)) in all.enumerate() {
        {
            println!(
                "  {}/{} at {} ({} ms, weight {})",
                p.name,
                e.config.name,
                e.config.url.original,
                LATENCIES_MS[i % LATENCIES_MS.len()],
                e.config.weight
            );
        }
    }
    println!("Press Ctrl-C to stop.");
}

/// Resolves on Ctrl-C (SIGINT) or SIGTERM.
pub async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                tokio::signal::ctrl_c().await.ok();
            }
        }
    }
    #[cfg(not(unix))]
    {
        tokio::signal::ctrl_c().await.ok();
    }
}
