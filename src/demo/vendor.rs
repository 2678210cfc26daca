//! Demo vendors: small HTTP servers that stand in for vendors with a
//! latency, an error rate and a cost, all changeable while they run.
//!
//! Owns: the vendor servers and their knobs. Health probes (`/healthz`)
//! get the latency but never an injected error, so a vendor with an error
//! rate stays "up" to the health checks and it is the proxy's passive
//! checks and scoring that take it out.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{header, HeaderValue, Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use tokio::net::TcpListener;

/// The highest latency the demo controls accept, in milliseconds.
pub const MAX_LATENCY_MS: u64 = 10_000;

/// One demo vendor's profile and counters, shared with its server.
#[derive(Debug)]
pub struct Vendor {
    /// The endpoint name (`a`, `b`, `c`).
    pub name: String,
    /// Where it listens.
    pub addr: SocketAddr,
    /// The latency it started with, in milliseconds.
    pub base_latency_ms: u64,
    /// The price per request the config gives it (shown, not enforced).
    pub cost: f64,
    latency_ms: AtomicU64,
    /// Error rate in millionths.
    error_ppm: AtomicU32,
    requests: AtomicU64,
    errors: AtomicU64,
}

impl Vendor {
    /// The latency added before every answer.
    pub fn latency(&self) -> Duration {
        Duration::from_millis(self.latency_ms.load(Ordering::Relaxed))
    }

    /// Sets the latency; at most [`MAX_LATENCY_MS`].
    pub fn set_latency_ms(&self, ms: u64) {
        self.latency_ms
            .store(ms.min(MAX_LATENCY_MS), Ordering::Relaxed);
    }

    /// The share of requests (not probes) answered 500, 0 to 1.
    pub fn error_rate(&self) -> f64 {
        f64::from(self.error_ppm.load(Ordering::Relaxed)) / 1e6
    }

    /// Sets the error rate, clamped to 0..=1.
    pub fn set_error_rate(&self, rate: f64) {
        let rate = if rate.is_finite() {
            rate.clamp(0.0, 1.0)
        } else {
            0.0
        };
        // In 0..=1e6 after the clamp, so the cast is exact.
        let ppm = (rate * 1e6).round() as u32;
        self.error_ppm.store(ppm, Ordering::Relaxed);
    }

    /// The vendor as `GET /demo/vendors` shows it.
    pub fn document(&self) -> serde_json::Value {
        serde_json::json!({
            "name": self.name,
            "address": self.addr.to_string(),
            "latency_ms": self.latency_ms.load(Ordering::Relaxed),
            "base_latency_ms": self.base_latency_ms,
            "error_rate": self.error_rate(),
            "cost": self.cost,
            "requests": self.requests.load(Ordering::Relaxed),
            "errors": self.errors.load(Ordering::Relaxed),
        })
    }

    /// Whether the next request fails.
    fn roll(&self) -> bool {
        let ppm = self.error_ppm.load(Ordering::Relaxed);
        ppm > 0 && rand::random_range(0..1_000_000u32) < ppm
    }
}

/// Binds `addr` (port 0: any free port) and serves a vendor there until the
/// runtime ends. `latency_ms`, `error_rate` and `cost` are its profile.
pub async fn spawn(
    name: &str,
    addr: &str,
    latency_ms: u64,
    error_rate: f64,
    cost: f64,
) -> std::io::Result<Arc<Vendor>> {
    let listener = TcpListener::bind(addr).await?;
    let vendor = Arc::new(Vendor {
        name: name.to_string(),
        addr: listener.local_addr()?,
        base_latency_ms: latency_ms,
        cost,
        latency_ms: AtomicU64::new(latency_ms.min(MAX_LATENCY_MS)),
        error_ppm: AtomicU32::new(0),
        requests: AtomicU64::new(0),
        errors: AtomicU64::new(0),
    });
    vendor.set_error_rate(error_rate);
    let served = Arc::clone(&vendor);
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                // Out of file descriptors and the like: do not spin.
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            };
            let vendor = Arc::clone(&served);
            tokio::spawn(async move {
                let svc = service_fn(move |req| answer(req, Arc::clone(&vendor)));
                auto::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(stream), svc)
                    .await
                    .ok();
            });
        }
    });
    Ok(vendor)
}

async fn answer(
    req: Request<Incoming>,
    vendor: Arc<Vendor>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    tokio::time::sleep(vendor.latency()).await;
    let probe = req.uri().path() == "/healthz";
    let fail = !probe && vendor.roll();
    if !probe {
        vendor.requests.fetch_add(1, Ordering::Relaxed);
        if fail {
            vendor.errors.fetch_add(1, Ordering::Relaxed);
        }
    }
    let header_str = |name| req.headers().get(name).and_then(|v| v.to_str().ok());
    let body = if fail {
        serde_json::json!({
            "vendor": vendor.name,
            "error": "injected failure (switchyard demo)",
        })
    } else {
        serde_json::json!({
            "vendor": vendor.name,
            "method": req.method().as_str(),
            "path": req.uri().path(),
            "host": header_str(header::HOST),
            "x_forwarded_for": header_str(header::HeaderName::from_static("x-forwarded-for")),
        })
    };
    let mut resp = Response::new(Full::new(Bytes::from(format!("{body}\n"))));
    if fail {
        *resp.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
    }
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    if let Ok(v) = HeaderValue::from_str(&vendor.name) {
        resp.headers_mut().insert("x-vendor", v);
    }
    Ok(resp)
}

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn knobs_are_clamped() {
        let v = super::spawn("t", "127.0.0.1:0", 5, 0.25, 1.0)
            .await
            .expect("binds");
        assert_eq!(v.error_rate(), 0.25);
        v.set_error_rate(7.0);
        assert_eq!(v.error_rate(), 1.0);
        v.set_error_rate(f64::NAN);
        assert_eq!(v.error_rate(), 0.0);
        v.set_latency_ms(u64::MAX);
        assert_eq!(v.latency().as_millis(), u128::from(super::MAX_LATENCY_MS));
        assert_ne!(v.addr.port(), 0);
    }
}
