//! Graceful shutdown under load, through the real binary: HTTP/1.1
//! keep-alive and HTTP/2 clients keep a slow upstream busy, and SIGTERM
//! lands while requests are in flight. Counted request by request (the
//! upstream records every id it receives, the clients every answer):
//! each request the proxy accepted completes with its full answer within
//! `shutdown_timeout`; what the clients start once the drain has begun is
//! refused and never reaches the upstream.

use std::collections::HashSet;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::{BodyExt, Empty, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use tokio::net::{TcpListener, TcpStream};

use crate::common::eventually;
use crate::common::process::ProxyProcess;

/// Upstream time per request.
const SLOW: Duration = Duration::from_millis(300);
/// Upstream time of the one long request that holds the drain open while
/// new connections are tried.
const LONG: Duration = Duration::from_secs(3);
/// `runtime.shutdown_timeout`.
const DRAIN: Duration = Duration::from_secs(10);
const H1_CLIENTS: usize = 6;
const H2_CONNS: usize = 2;
const H2_STREAMS: usize = 4;
/// Requests started later than this after the drain was seen are new work
/// that must not be served. Before it, an HTTP/2 stream the client opened
/// while the GOAWAY was on its way may still be accepted (RFC 9113 §6.8),
/// and is then served in full like any other accepted request.
const SETTLE: Duration = Duration::from_millis(500);
/// Bounds on each client loop.
const MAX_CONNECTS: usize = 1000;
const MAX_REQUESTS: usize = 1000;

#[derive(Debug, Clone, PartialEq)]
enum Outcome {
    /// 200 with the request's id as the body.
    Ok,
    /// A response, but not that one.
    Wrong(String),
    /// No response: refused, closed, reset, or GOAWAY.
    NotServed(String),
}

#[derive(Debug, Clone)]
struct Record {
    id: String,
    started: Instant,
    ended: Instant,
    outcome: Outcome,
}

/// What the clients saw: every request, and every connection attempt with
/// whether it connected.
#[derive(Default)]
struct Seen {
    requests: Mutex<Vec<Record>>,
    connects: Mutex<Vec<(Instant, bool)>>,
    stop: AtomicBool,
}

type Log = Arc<Seen>;

/// An upstream that records the id of every request on arrival
/// (`/r/<id>`, `/long/<id>`) and answers it with the id after a while.
async fn recorder() -> (SocketAddr, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let seen: Arc<Mutex<Vec<String>>> = Arc::default();
    let kept = Arc::clone(&seen);
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let seen = Arc::clone(&kept);
            tokio::spawn(async move {
                let svc = service_fn(move |req: Request<Incoming>| {
                    let seen = Arc::clone(&seen);
                    async move {
                        let path = req.uri().path().to_string();
                        let (wait, id) = match path.strip_prefix("/long/") {
                            Some(id) => (LONG, id.to_string()),
                            None => (SLOW, path.trim_start_matches("/r/").to_string()),
                        };
                        seen.lock().unwrap().push(id.clone());
                        tokio::time::sleep(wait).await;
                        Ok::<_, Infallible>(Response::new(Full::new(Bytes::from(id))))
                    }
                });
                let builder = auto::Builder::new(TokioExecutor::new());
                builder
                    .serve_connection(TokioIo::new(stream), svc)
                    .await
                    .ok();
            });
        }
    });
    (addr, seen)
}

/// Waits for the answer to request `id` sent at `started` and records it.
/// Returns whether it was served correctly.
async fn finish(
    log: &Log,
    id: String,
    started: Instant,
    res: Result<Response<Incoming>, hyper::Error>,
) -> bool {
    let outcome = match res {
        Err(e) => Outcome::NotServed(e.to_string()),
        Ok(resp) => {
            let status = resp.status();
            match resp.into_body().collect().await.map(|b| b.to_bytes()) {
                Ok(b) if status == 200 && b == id.as_bytes() => Outcome::Ok,
                Ok(b) => Outcome::Wrong(format!("{status}: {b:?}")),
                Err(e) => Outcome::Wrong(format!("{status}, body cut: {e}")),
            }
        }
    };
    let ok = outcome == Outcome::Ok;
    log.requests.lock().unwrap().push(Record {
        id,
        started,
        ended: Instant::now(),
        outcome,
    });
    ok
}

/// Opens a connection, recording the attempt; paces retries when it fails.
async fn connect(proxy: SocketAddr, log: &Log) -> Option<TcpStream> {
    let at = Instant::now();
    let stream = TcpStream::connect(proxy).await;
    log.connects.lock().unwrap().push((at, stream.is_ok()));
    if stream.is_err() {
        // Pacing between attempts, not synchronisation.
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    stream.ok()
}

/// One HTTP/1.1 keep-alive connection at a time, requests one after the
/// other; a new connection when the proxy closes it.
async fn h1_client(proxy: SocketAddr, name: String, log: Log, path: &'static str) {
    let mut n = 0;
    for _ in 0..MAX_CONNECTS {
        if log.stop.load(Ordering::Relaxed) || n >= MAX_REQUESTS {
            return;
        }
        let Some(stream) = connect(proxy, &log).await else {
            continue;
        };
        let Ok((mut send, conn)) =
            hyper::client::conn::http1::handshake(TokioIo::new(stream)).await
        else {
            continue;
        };
        tokio::spawn(conn);
        while !log.stop.load(Ordering::Relaxed) && n < MAX_REQUESTS {
            if send.ready().await.is_err() {
                break;
            }
            let id = format!("{name}-{n}");
            n += 1;
            let req = Request::get(format!("/{path}/{id}"))
                .header(http::header::HOST, proxy.to_string())
                .body(Empty::<Bytes>::new())
                .unwrap();
            let started = Instant::now();
            let res = send.send_request(req).await;
            if !finish(&log, id, started, res).await || path == "long" {
                break;
            }
        }
        if path == "long" {
            return;
        }
    }
}

/// HTTP/2 connections (prior knowledge), `H2_STREAMS` concurrent request
/// loops on each; a new connection once every loop on the old one ended.
async fn h2_client(proxy: SocketAddr, name: String, log: Log) {
    for c in 0..MAX_CONNECTS {
        if log.stop.load(Ordering::Relaxed) {
            return;
        }
        let Some(stream) = connect(proxy, &log).await else {
            continue;
        };
        let handshake =
            hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(stream));
        let Ok((send, conn)) = handshake.await else {
            continue;
        };
        tokio::spawn(conn);
        let loops: Vec<_> = (0..H2_STREAMS)
            .map(|s| {
                let (mut send, log) = (send.clone(), Arc::clone(&log));
                let name = format!("{name}-c{c}-s{s}");
                tokio::spawn(async move {
                    for n in 0..MAX_REQUESTS {
                        if log.stop.load(Ordering::Relaxed) || send.ready().await.is_err() {
                            return;
                        }
                        let id = format!("{name}-{n}");
                        let req = Request::get(format!("http://{proxy}/r/{id}"))
                            .body(Empty::<Bytes>::new())
                            .unwrap();
                        let started = Instant::now();
                        let res = send.send_request(req).await;
                        if !finish(&log, id, started, res).await {
                            return;
                        }
                    }
                })
            })
            .collect();
        for l in loops {
            l.await.unwrap();
        }
    }
}

fn yaml(upstream: SocketAddr) -> String {
    format!(
        "version: 1\nruntime: {{ worker_threads: 2, shutdown_timeout: {}s }}\n\
admin: {{ listen: '127.0.0.1:0' }}\nlisteners: [{{ name: web, listen: '127.0.0.1:0' }}]\n\
routes: [{{ name: r, pool: p }}]\n\
pools: [{{ name: p, endpoints: [{{ name: up, url: 'http://{upstream}' }}] }}]\n",
        DRAIN.as_secs()
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigterm_under_load_finishes_every_accepted_request_and_takes_no_new_one() {
    let (upstream, received) = recorder().await;
    let mut proxy = ProxyProcess::spawn(&yaml(upstream));
    let web = proxy.web();
    let log: Log = Arc::default();
    let mut clients = Vec::new();
    for k in 0..H1_CLIENTS {
        let log = Arc::clone(&log);
        clients.push(tokio::spawn(h1_client(web, format!("h1-{k}"), log, "r")));
    }
    for k in 0..H2_CONNS {
        let log = Arc::clone(&log);
        clients.push(tokio::spawn(h2_client(web, format!("h2-{k}"), log)));
    }
    // Steady load; then the long request, at the upstream.
    eventually(Duration::from_secs(20), || async {
        (received.lock().unwrap().len() >= 40).then_some(())
    })
    .await;
    let long = tokio::spawn(h1_client(web, "long".into(), Arc::clone(&log), "long"));
    eventually(Duration::from_secs(20), || async {
        let r = received.lock().unwrap();
        r.iter().any(|id| id == "long-0").then_some(())
    })
    .await;
    let signalled = Instant::now();
    proxy.signal("TERM");
    let draining = tokio::task::block_in_place(|| {
        proxy.wait_logs("Shutting down: draining connections.");
        Instant::now()
    });
    let status = tokio::task::block_in_place(|| proxy.wait_exit(DRAIN + Duration::from_secs(5)));
    let exited = signalled.elapsed();
    log.stop.store(true, Ordering::Relaxed);
    for c in clients {
        c.await.unwrap();
    }
    long.await.unwrap();
    assert!(status.success(), "exit status {status:?}");
    tokio::task::block_in_place(|| proxy.wait_logs("Stopped."));

    let received: HashSet<String> = received.lock().unwrap().iter().cloned().collect();
    let records = log.requests.lock().unwrap().clone();
    let connects = log.connects.lock().unwrap().clone();
    let by_id = |id: &str| records.iter().find(|r| r.id == id);
    let settled = draining + SETTLE;

    // Every request that reached the upstream was answered in full, within
    // the drain deadline.
    for id in &received {
        let r = by_id(id).unwrap_or_else(|| panic!("{id} reached the upstream, no client sent it"));
        assert_eq!(r.outcome, Outcome::Ok, "{id}: accepted, then not served");
        assert!(
            r.ended.duration_since(signalled) <= DRAIN,
            "{id} finished after the drain deadline"
        );
    }
    // Everything else was turned away whole: no error response, no cut
    // body, and nothing half done upstream. (Only up to `settled`: after
    // that the freed port might even be someone else's.)
    for r in records.iter().filter(|r| r.started <= settled) {
        match &r.outcome {
            Outcome::Ok => assert!(received.contains(&r.id)),
            Outcome::Wrong(what) => panic!("{}: {what}", r.id),
            Outcome::NotServed(_) => assert!(!received.contains(&r.id), "{} half done", r.id),
        }
    }
    // New work after the drain began: never served, never forwarded.
    let late: Vec<&Record> = records.iter().filter(|r| r.started > settled).collect();
    for r in &late {
        assert!(
            !matches!(r.outcome, Outcome::Ok) && !received.contains(&r.id),
            "{} was started {:?} after the drain began and was served",
            r.id,
            r.started.duration_since(draining)
        );
    }
    // New connections while the long request held the drain open (the
    // process still running) were refused.
    let long_end = by_id("long-0").expect("the long request").ended;
    let refused_while_draining = connects
        .iter()
        .filter(|(at, _)| *at > settled && *at < long_end)
        .inspect(|(at, ok)| {
            assert!(
                !ok,
                "connected {:?} into the drain",
                at.duration_since(draining)
            )
        })
        .count();
    assert!(
        refused_while_draining >= 1,
        "no connection was tried while draining"
    );
    assert!(
        long_end > settled,
        "the long request ended before the drain"
    );
    assert_eq!(by_id("long-0").unwrap().outcome, Outcome::Ok);

    let in_flight = records
        .iter()
        .filter(|r| r.started < signalled && r.ended > signalled && r.outcome == Outcome::Ok)
        .count();
    let streams = H1_CLIENTS + H2_CONNS * H2_STREAMS;
    assert!(
        in_flight >= streams / 2,
        "only {in_flight} requests were in flight at SIGTERM"
    );
    let reasons: HashSet<&str> = records
        .iter()
        .filter_map(|r| match &r.outcome {
            Outcome::NotServed(why) => Some(why.as_str()),
            _ => None,
        })
        .collect();
    let not_served = records
        .iter()
        .filter(|r| matches!(r.outcome, Outcome::NotServed(_)))
        .count();
    let refused = connects
        .iter()
        .filter(|(at, ok)| !ok && *at > signalled)
        .count();
    eprintln!(
        "shutdown test: {} requests sent, {} reached the upstream and all completed \
(the last {:?} after SIGTERM), {in_flight} of them in flight at SIGTERM; \
{not_served} not served (none reached the upstream; {reasons:?}), {} of them started after the drain; \
{refused} connections refused after SIGTERM ({refused_while_draining} while draining); \
drain seen {:?} after SIGTERM, exit after {exited:?}",
        records.len(),
        received.len(),
        records
            .iter()
            .filter(|r| r.outcome == Outcome::Ok)
            .map(|r| r.ended.saturating_duration_since(signalled))
            .max()
            .unwrap_or_default(),
        late.len(),
        draining.duration_since(signalled),
    );
}
