//! The admin listener: the status page `GET /` and its `GET /status`,
//! `/metrics`, `/healthz`, `/readyz`, `GET /config` (redacted), `POST
//! /reload`, `GET /upstreams`, `GET /plugins`, `GET /tls`, and the paths of
//! an [`Extension`] when an embedder plugs one in (only the demo does).
//! With `admin.token` set, `GET /config`, `POST /reload` and an
//! extension's non-`GET` requests need it (`auth.rs`).
//!
//! Owns: its own socket and a tiny router. Must not: share a port with
//! traffic, or expose anything that is not named in the config.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::{Arc, OnceLock};

use bytes::Bytes;
use http::{header, HeaderValue, Method, Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::proxy::{Control, Trigger};

pub mod auth;
pub mod plugins;
pub mod probe;
pub mod status;
pub mod tls;
pub mod upstreams;

pub use crate::config::redact;

/// Extra admin routes under one path prefix, plugged in by an embedder:
/// the demo's vendor controls (`/demo/`). Without one, those paths are 404.
pub trait Extension: Send + Sync + std::fmt::Debug {
    /// The path prefix it owns, such as `/demo/`.
    fn prefix(&self) -> &'static str;
    /// Answers a request whose path starts with `prefix` (the request
    /// body is not read; values travel in the query): a status and a JSON
    /// body.
    fn handle(
        &self,
        method: &Method,
        path: &str,
        query: Option<&str>,
    ) -> (StatusCode, serde_json::Value);
}

/// Where the extension goes once plugged in; shared with every connection.
type ExtensionSlot = Arc<OnceLock<Arc<dyn Extension>>>;

/// The running admin listener.
#[derive(Debug)]
pub struct AdminHandle {
    /// Bound address.
    pub addr: SocketAddr,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
    extension: ExtensionSlot,
}

impl AdminHandle {
    /// Plugs `extension` in; `false` if one already is (it stays).
    pub fn extend(&self, extension: Arc<dyn Extension>) -> bool {
        self.extension.set(extension).is_ok()
    }

    /// Stops the admin listener.
    pub async fn shutdown(self) {
        self.stop.send_replace(true);
        self.task.await.ok();
    }
}

/// Starts the admin API on `listener`.
pub fn spawn(listener: TcpListener, control: Arc<Control>) -> std::io::Result<AdminHandle> {
    let addr = listener.local_addr()?;
    let (stop, mut stop_rx) = watch::channel(false);
    let extension: ExtensionSlot = Arc::default();
    let slot = Arc::clone(&extension);
    let task = tokio::spawn(async move {
        let mut builder = auto::Builder::new(TokioExecutor::new());
        builder.http1().timer(TokioTimer::new());
        let builder = Arc::new(builder);
        loop {
            let (stream, peer) = tokio::select! {
                _ = stop_rx.changed() => break,
                res = listener.accept() => match res {
                    Ok(x) => x,
                    Err(e) => {
                        tracing::warn!(error = %e, "Admin accept failed.");
                        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                        continue;
                    }
                },
            };
            let control = Arc::clone(&control);
            let builder = Arc::clone(&builder);
            let slot = Arc::clone(&slot);
            tokio::spawn(async move {
                let svc = service_fn(move |req| {
                    let extension = slot.get().map(Arc::clone);
                    route(req, Arc::clone(&control), (addr, peer), extension)
                });
                if let Err(e) = builder.serve_connection(TokioIo::new(stream), svc).await {
                    tracing::debug!(error = %e, "Admin connection ended with an error.");
                }
            });
        }
    });
    Ok(AdminHandle {
        addr,
        stop,
        task,
        extension,
    })
}

/// Answers one admin request; `(admin, peer)`: the listener's address and
/// the client's.
async fn route(
    req: Request<Incoming>,
    control: Arc<Control>,
    (admin, peer): (SocketAddr, SocketAddr),
    extension: Option<Arc<dyn Extension>>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let shared = &control.shared;
    let for_extension = extension
        .as_ref()
        .filter(|e| req.uri().path().starts_with(e.prefix()));
    if auth::protected(req.method(), req.uri().path(), for_extension.is_some()) {
        // The token of the current generation: a reload that rotates it
        // applies to the next request.
        let token = shared
            .dataplane
            .load()
            .config
            .admin
            .token
            .as_ref()
            .map(|t| t.value.clone());
        if let Some(token) = token {
            if let Err(refusal) = auth::check(&token, req.headers()) {
                let metrics = &shared.metrics.admin;
                let (method, path) = (req.method(), req.uri().path());
                return Ok(auth::refuse(refusal, metrics, peer, method, path));
            }
        }
    }
    if let Some(ext) = for_extension {
        let (status, body) = ext.handle(req.method(), req.uri().path(), req.uri().query());
        return Ok(json(status, &body));
    }
    let resp = match (req.method(), req.uri().path()) {
        (&Method::GET, "/") => {
            let mut resp = respond(
                StatusCode::OK,
                "text/html; charset=utf-8",
                status::PAGE.as_bytes().to_vec(),
            );
            let h = resp.headers_mut();
            h.insert(
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(status::PAGE_CSP),
            );
            h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            resp
        }
        (&Method::GET, "/status") => {
            let prefixes: Vec<&str> = extension.iter().map(|e| e.prefix()).collect();
            json(
                StatusCode::OK,
                &status::document(&control, admin, &prefixes),
            )
        }
        (&Method::GET, "/metrics") => {
            // Slow start moves effective weights continuously: export them
            // as of this scrape.
            let dp = shared.dataplane.load_full();
            for pool in &dp.pools {
                for e in &pool.endpoints {
                    e.state
                        .health
                        .export_weight(e.config.weight, pool.config.outlier.slow_start);
                }
            }
            respond(
                StatusCode::OK,
                "text/plain; version=0.0.4; charset=utf-8",
                shared.metrics.encode(),
            )
        }
        (&Method::GET, "/healthz") => text(StatusCode::OK, "ok\n"),
        (&Method::GET, "/readyz") => {
            if shared.ready.load(Ordering::Acquire) {
                text(StatusCode::OK, "ready\n")
            } else {
                text(StatusCode::SERVICE_UNAVAILABLE, "not ready\n")
            }
        }
        (&Method::GET, "/config") => {
            let dp = shared.dataplane.load_full();
            let body = serde_json::json!({
                "generation": dp.generation,
                "hash": dp.hash,
                "config": redact::redact(&dp.config.source),
            });
            json(StatusCode::OK, &body)
        }
        (&Method::GET, "/upstreams") => json(
            StatusCode::OK,
            &upstreams::document(&shared.dataplane.load_full()),
        ),
        (&Method::GET, "/plugins") => json(
            StatusCode::OK,
            &plugins::document(&shared.dataplane.load_full()),
        ),
        (&Method::GET, "/tls") => json(
            StatusCode::OK,
            &tls::document(&shared.dataplane.load_full()),
        ),
        (&Method::POST, "/reload") => {
            let report = control.reload_from_file(Trigger::Admin).await;
            let status = if report.result == "failure" {
                StatusCode::UNPROCESSABLE_ENTITY
            } else {
                StatusCode::OK
            };
            json(status, &report)
        }
        (
            _,
            "/" | "/status" | "/metrics" | "/healthz" | "/readyz" | "/config" | "/reload"
            | "/upstreams" | "/plugins" | "/tls",
        ) => text(StatusCode::METHOD_NOT_ALLOWED, "method not allowed\n"),
        _ => text(StatusCode::NOT_FOUND, "not found\n"),
    };
    Ok(resp)
}

fn json(status: StatusCode, value: &impl serde::Serialize) -> Response<Full<Bytes>> {
    let mut body = serde_json::to_vec_pretty(value).unwrap_or_default();
    body.push(b'\n');
    respond(status, "application/json", body)
}

fn text(status: StatusCode, body: &'static str) -> Response<Full<Bytes>> {
    respond(
        status,
        "text/plain; charset=utf-8",
        body.as_bytes().to_vec(),
    )
}

fn respond(status: StatusCode, content_type: &'static str, body: Vec<u8>) -> Response<Full<Bytes>> {
    let mut resp = Response::new(Full::new(Bytes::from(body)));
    *resp.status_mut() = status;
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    resp
}
