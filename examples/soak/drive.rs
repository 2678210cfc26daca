//! The soak traffic, all through the proxy's listener:
//!
//! - HTTP/1.1 keep-alive GETs at a fixed rate, 19 in 20 to `/api/...`
//!   (a pool with alternatives and retries), 1 in 20 to `/solo/...` (one
//!   endpoint: while it is down there is no alternative);
//! - one large transfer a second, alternately a 1-8 MiB upload that
//!   `/bulk/echo` streams back and a 1-8 MiB download from `/bulk/bytes/N`,
//!   both checked byte for byte;
//! - WebSocket sessions on `/ws/...` echoing 20-100 messages of up to
//!   64 KiB each.
//!
//! Every request carries `X-Request-Id`, which the proxy's access log
//! records, so each failure seen here can be matched with the proxy's own
//! account of it. Open loop with a cap on requests in flight: a tick with
//! no free slot is counted as skipped, not sent.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use http::Request;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tokio::sync::Semaphore;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};

use crate::pattern;

/// `soak drive` options.
#[derive(clap::Args)]
pub(crate) struct Options {
    /// The proxy's listener.
    #[arg(long)]
    pub(crate) proxy: SocketAddr,
    /// How long to send traffic.
    #[arg(long)]
    seconds: u64,
    /// Where `driver.json` and `failures.jsonl` go.
    #[arg(long)]
    out: PathBuf,
    /// HTTP/1.1 GETs per second.
    #[arg(long, default_value_t = 150)]
    h1_rate: u32,
    /// Concurrent WebSocket sessions.
    #[arg(long, default_value_t = 8)]
    ws_sessions: usize,
    /// Seed of the sizes and message lengths.
    #[arg(long, default_value_t = 1)]
    seed: u64,
}

type Body = BoxBody<Bytes, Infallible>;
type HttpClient = Client<HttpConnector, Body>;

const MIB: u64 = 1024 * 1024;
/// HTTP/1.1 GETs in flight at most.
const H1_SLOTS: u32 = 64;

/// Counts of one kind of traffic.
#[derive(Debug, Default, serde::Serialize)]
struct Kind {
    sent: u64,
    ok: u64,
    failed: u64,
    skipped: u64,
    /// Failures by class (`status_502`, `body_cut`, `no_response`, ...).
    classes: BTreeMap<String, u64>,
}

struct Stats {
    kinds: Mutex<BTreeMap<&'static str, Kind>>,
    failures: Mutex<std::io::BufWriter<std::fs::File>>,
    ws_messages: AtomicU64,
    checked_bytes: AtomicU64,
}

/// One failed request or session, as written to `failures.jsonl`.
#[derive(serde::Serialize)]
struct Failure<'a> {
    kind: &'a str,
    id: &'a str,
    start_ms: u64,
    end_ms: u64,
    class: &'a str,
    detail: &'a str,
    /// The upstream that answered or greeted, when known.
    upstream: Option<&'a str>,
}

fn epoch_ms(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// An error with its sources, as one line.
fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut next = e.source();
    while let Some(inner) = next {
        s.push_str(": ");
        s.push_str(&inner.to_string());
        next = inner.source();
    }
    s
}

impl Stats {
    fn with<T>(&self, kind: &'static str, f: impl FnOnce(&mut Kind) -> T) -> T {
        let mut kinds = self.kinds.lock().unwrap_or_else(PoisonError::into_inner);
        f(kinds.entry(kind).or_default())
    }

    fn sent(&self, kind: &'static str) {
        self.with(kind, |k| k.sent += 1);
    }

    fn ok(&self, kind: &'static str) {
        self.with(kind, |k| k.ok += 1);
    }

    fn skip(&self, kind: &'static str) {
        self.with(kind, |k| k.skipped += 1);
    }

    fn fail(&self, f: &Failure<'_>) {
        let mut kinds = self.kinds.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(k) = kinds.get_mut(f.kind) {
            k.failed += 1;
            *k.classes.entry(f.class.to_string()).or_default() += 1;
        }
        drop(kinds);
        if let Ok(line) = serde_json::to_string(f) {
            let mut out = self.failures.lock().unwrap_or_else(PoisonError::into_inner);
            writeln!(out, "{line}").ok();
        }
    }
}

fn client() -> HttpClient {
    Client::builder(TokioExecutor::new())
        // Below the proxy's keep-alive idle timeout, so the client never
        // reuses a connection the proxy is closing.
        .pool_idle_timeout(Duration::from_secs(10))
        .pool_max_idle_per_host(usize::try_from(H1_SLOTS).unwrap_or(64))
        .build_http()
}

fn empty() -> Body {
    Empty::new().boxed()
}

/// Runs every kind of traffic for `seconds`, then writes the counts.
pub(crate) async fn run(o: Options) -> anyhow::Result<()> {
    std::fs::create_dir_all(&o.out)?;
    let file = std::fs::File::create(o.out.join("failures.jsonl"))?;
    let stats = Arc::new(Stats {
        kinds: Mutex::default(),
        failures: Mutex::new(std::io::BufWriter::new(file)),
        ws_messages: AtomicU64::new(0),
        checked_bytes: AtomicU64::new(0),
    });
    for kind in ["h1_api", "h1_solo", "upload", "download", "ws_session"] {
        stats.with(kind, |_| ());
    }
    let end = Instant::now() + Duration::from_secs(o.seconds);
    let mut tasks = vec![
        tokio::spawn(h1(o.proxy, o.h1_rate, Arc::clone(&stats), end)),
        tokio::spawn(big(o.proxy, o.seed, Arc::clone(&stats), end)),
    ];
    for k in 0..o.ws_sessions {
        let seed = o.seed.wrapping_mul(1000).wrapping_add(k as u64);
        tasks.push(tokio::spawn(ws(o.proxy, k, seed, Arc::clone(&stats), end)));
    }
    for t in tasks {
        t.await?;
    }
    stats
        .failures
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .flush()?;
    let kinds = std::mem::take(&mut *stats.kinds.lock().unwrap_or_else(PoisonError::into_inner));
    let summary = serde_json::json!({
        "seconds": o.seconds,
        "h1_rate": o.h1_rate,
        "ws_sessions": o.ws_sessions,
        "kinds": kinds,
        "ws_messages": stats.ws_messages.load(Ordering::Relaxed),
        "checked_bytes": stats.checked_bytes.load(Ordering::Relaxed),
    });
    std::fs::write(
        o.out.join("driver.json"),
        serde_json::to_string_pretty(&summary)?,
    )?;
    println!("{summary}");
    Ok(())
}

/// HTTP/1.1 GETs at `rate` per second until `end`.
async fn h1(proxy: SocketAddr, rate: u32, stats: Arc<Stats>, end: Instant) {
    let client = client();
    let slots = Arc::new(Semaphore::new(H1_SLOTS as usize));
    let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / f64::from(rate.max(1))));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut n: u64 = 0;
    while Instant::now() < end {
        tick.tick().await;
        n += 1;
        let (kind, prefix) = if n.is_multiple_of(20) {
            ("h1_solo", "/solo")
        } else {
            ("h1_api", "/api")
        };
        let Ok(slot) = Arc::clone(&slots).try_acquire_owned() else {
            stats.skip(kind);
            continue;
        };
        let (client, stats) = (client.clone(), Arc::clone(&stats));
        tokio::spawn(async move {
            let id = format!("{kind}-{n}");
            get(
                &client,
                &stats,
                kind,
                format!("http://{proxy}{prefix}/item/{n}"),
                &id,
            )
            .await;
            drop(slot);
        });
    }
    // Let the last ones finish (each is bounded by the proxy's timeouts).
    let all = slots.acquire_many(H1_SLOTS);
    tokio::time::timeout(Duration::from_secs(60), all)
        .await
        .ok();
}

async fn get(client: &HttpClient, stats: &Stats, kind: &'static str, url: String, id: &str) {
    let start = SystemTime::now();
    stats.sent(kind);
    let req = match Request::get(url).header("x-request-id", id).body(empty()) {
        Ok(r) => r,
        Err(_) => return,
    };
    let fail = |class: &str, detail: &str, upstream: Option<&str>| {
        stats.fail(&Failure {
            kind,
            id,
            start_ms: epoch_ms(start),
            end_ms: epoch_ms(SystemTime::now()),
            class,
            detail,
            upstream,
        });
    };
    let resp = match client.request(req).await {
        Ok(r) => r,
        Err(e) => return fail("no_response", &chain(&e), None),
    };
    let status = resp.status();
    let upstream = resp
        .headers()
        .get("x-upstream")
        .and_then(|v| v.to_str().ok())
        .map(String::from);
    match resp.into_body().collect().await {
        Err(e) => fail("body_cut", &chain(&e), upstream.as_deref()),
        Ok(_) if status == 200 => stats.ok(kind),
        Ok(b) => {
            let text = String::from_utf8_lossy(&b.to_bytes()).trim().to_string();
            fail(
                &format!("status_{}", status.as_u16()),
                &text,
                upstream.as_deref(),
            );
        }
    }
}

/// One large transfer a second until `end`, uploads and downloads in turn.
async fn big(proxy: SocketAddr, seed: u64, stats: Arc<Stats>, end: Instant) {
    let client = client();
    let mut rng = StdRng::seed_from_u64(seed);
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    for n in 0u64.. {
        tick.tick().await;
        if Instant::now() >= end {
            return;
        }
        let len = rng.random_range(MIB..=8 * MIB);
        let (kind, req) = if n.is_multiple_of(2) {
            let req = Request::post(format!("http://{proxy}/bulk/echo"))
                .header("x-request-id", format!("upload-{n}"))
                .body(BodyExt::boxed(pattern::body(len)));
            ("upload", req)
        } else {
            let req = Request::get(format!("http://{proxy}/bulk/bytes/{len}"))
                .header("x-request-id", format!("download-{n}"))
                .body(empty());
            ("download", req)
        };
        let Ok(req) = req else {
            continue;
        };
        transfer(&client, &stats, kind, &format!("{kind}-{n}"), req, len).await;
    }
}

/// Sends `req` and checks that the answer is `len` pattern bytes.
async fn transfer(
    client: &HttpClient,
    stats: &Stats,
    kind: &'static str,
    id: &str,
    req: Request<Body>,
    len: u64,
) {
    let start = SystemTime::now();
    stats.sent(kind);
    let fail = |class: &str, detail: &str, upstream: Option<&str>| {
        stats.fail(&Failure {
            kind,
            id,
            start_ms: epoch_ms(start),
            end_ms: epoch_ms(SystemTime::now()),
            class,
            detail,
            upstream,
        });
    };
    let resp = match client.request(req).await {
        Ok(r) => r,
        Err(e) => return fail("no_response", &chain(&e), None),
    };
    let status = resp.status();
    let upstream = resp
        .headers()
        .get("x-upstream")
        .and_then(|v| v.to_str().ok())
        .map(String::from);
    let mut body = resp.into_body();
    if status != 200 {
        let text = match body.collect().await {
            Ok(b) => String::from_utf8_lossy(&b.to_bytes()).trim().to_string(),
            Err(e) => chain(&e),
        };
        return fail(
            &format!("status_{}", status.as_u16()),
            &text,
            upstream.as_deref(),
        );
    }
    let mut check = pattern::Checker::new();
    while let Some(frame) = body.frame().await {
        match frame {
            Ok(f) => {
                if let Some(data) = f.data_ref() {
                    check.feed(data);
                }
            }
            Err(e) => {
                let detail = format!("after {} of {len} bytes: {}", check.len, chain(&e));
                return fail("body_cut", &detail, upstream.as_deref());
            }
        }
    }
    if check.len != len || !check.intact {
        let detail = format!("{} of {len} bytes, intact: {}", check.len, check.intact);
        return fail("body_mismatch", &detail, upstream.as_deref());
    }
    stats.checked_bytes.fetch_add(len, Ordering::Relaxed);
    stats.ok(kind);
}

/// WebSocket sessions one after the other until `end`.
async fn ws(proxy: SocketAddr, k: usize, seed: u64, stats: Arc<Stats>, end: Instant) {
    let mut rng = StdRng::seed_from_u64(seed);
    for n in 0u64.. {
        if Instant::now() >= end {
            return;
        }
        let id = format!("ws-{k}-{n}");
        let messages = rng.random_range(20..=100u32);
        let start = SystemTime::now();
        stats.sent("ws_session");
        let mut upstream = None;
        let result = session(proxy, &id, messages, &mut rng, &stats, end, &mut upstream).await;
        match result {
            Ok(()) => stats.ok("ws_session"),
            Err((class, detail)) => {
                stats.fail(&Failure {
                    kind: "ws_session",
                    id: &id,
                    start_ms: epoch_ms(start),
                    end_ms: epoch_ms(SystemTime::now()),
                    class,
                    detail: &detail,
                    upstream: upstream.as_deref(),
                });
                // Pacing after a failure, not synchronisation.
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    }
}

type WsFailure = (&'static str, String);

/// One session: the greeting names the upstream, then `messages` echoes,
/// 100 ms apart, then a clean close.
async fn session(
    proxy: SocketAddr,
    id: &str,
    messages: u32,
    rng: &mut StdRng,
    stats: &Stats,
    end: Instant,
    upstream: &mut Option<String>,
) -> Result<(), WsFailure> {
    const WAIT: Duration = Duration::from_secs(10);
    let mut req = format!("ws://{proxy}/ws/{id}")
        .into_client_request()
        .map_err(|e| ("ws_request", e.to_string()))?;
    if let Ok(v) = id.parse() {
        req.headers_mut().insert("x-request-id", v);
    }
    let (mut ws, _) = match tokio::time::timeout(WAIT, tokio_tungstenite::connect_async(req)).await
    {
        Ok(Ok(pair)) => pair,
        Ok(Err(WsError::Http(resp))) => {
            let class = match resp.status().as_u16() {
                502 => "ws_status_502",
                503 => "ws_status_503",
                504 => "ws_status_504",
                _ => "ws_status_other",
            };
            return Err((class, format!("{}", resp.status())));
        }
        Ok(Err(e)) => return Err(("ws_handshake", chain(&e))),
        Err(_) => return Err(("ws_handshake", "timed out".into())),
    };
    match tokio::time::timeout(WAIT, ws.next()).await {
        Ok(Some(Ok(Message::Text(name)))) => *upstream = Some(name.to_string()),
        other => return Err(("ws_no_greeting", format!("{other:?}"))),
    }
    for m in 0..messages {
        if Instant::now() >= end {
            break;
        }
        let len = rng.random_range(16..=65536usize);
        let fill = u8::try_from(m % 256).unwrap_or(0);
        let payload: Bytes = (0..len)
            .map(|i| fill.wrapping_add(u8::try_from(i % 256).unwrap_or(0)))
            .collect::<Vec<u8>>()
            .into();
        ws.send(Message::binary(payload.clone()))
            .await
            .map_err(|e| ("ws_cut", format!("send {m}: {}", chain(&e))))?;
        match tokio::time::timeout(WAIT, ws.next()).await {
            Ok(Some(Ok(Message::Binary(b)))) if b == payload => {
                stats.ws_messages.fetch_add(1, Ordering::Relaxed);
            }
            Ok(Some(Ok(Message::Binary(_)))) => {
                return Err(("ws_mismatch", format!("message {m} came back changed")))
            }
            Ok(Some(Err(e))) => return Err(("ws_cut", format!("recv {m}: {}", chain(&e)))),
            Ok(other) => return Err(("ws_cut", format!("recv {m}: {other:?}"))),
            Err(_) => return Err(("ws_timeout", format!("no echo of {m} in {WAIT:?}"))),
        }
        // Pacing between messages.
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    ws.close(None).await.map_err(|e| ("ws_close", chain(&e)))?;
    // Read until the server's close frame ends the stream.
    let drain = async { while let Some(Ok(_)) = ws.next().await {} };
    tokio::time::timeout(WAIT, drain)
        .await
        .map_err(|_| ("ws_close", "no close frame".to_string()))
}
