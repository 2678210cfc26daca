//! Leak check: upstream failures by the tens of thousands (refused, reset
//! before the head, garbage, a clean close mid-body, in turn) through the
//! real binary from concurrent keep-alive clients; afterwards the proxy's
//! open file descriptors (`/proc/PID/fd`) are exactly back to their
//! baseline and its resident memory (`VmRSS`) is within a tolerance of it.
//!
//! The baseline is taken after a warm-up of `WARM_UP` failures with the
//! clients gone: allocators keep what they once took, and connection
//! buffers and task slabs are sized by the peak concurrency, which the
//! warm-up already reached. `SWITCHYARD_LEAK_FAILURES` sets how many
//! failures follow: by default 100000, or 20000 in a debug build (where a
//! failure costs the proxy and this test about 0.6 ms of CPU together, so
//! 100000 take about a minute on two cores; 20000 about 13 s). `bench/leak.sh` runs
//! 100000 against a release build of the proxy and prints the figures.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};

use crate::common::faulty::{Fault, Faulty};
use crate::common::process::ProxyProcess;
use crate::common::{client, closed_port, config, metric, metrics_text};

/// Failures before the baseline is read.
const WARM_UP: u64 = 5_000;
/// Clients sending at once, each on its own keep-alive connection.
const CLIENTS: usize = 16;
/// Growth of resident memory over the baseline that is tolerated: 5%, and
/// at least 4 MiB (allocator caches and size classes still settling; runs
/// so far moved by under 0.2 MiB). A leak of 42 bytes per failure over
/// 100000 failures (210 over 20000) would break it.
const RSS_SLACK_PERCENT: u64 = 5;
const RSS_SLACK_MIN_KIB: u64 = 4 * 1024;
/// Routes, in the order requests take them.
const PATHS: [&str; 4] = ["/refused", "/reset", "/garbage", "/midbody"];

fn failures() -> u64 {
    std::env::var("SWITCHYARD_LEAK_FAILURES")
        .ok()
        .map(|v| v.parse().expect("SWITCHYARD_LEAK_FAILURES is a number"))
        .unwrap_or(if cfg!(debug_assertions) {
            20_000
        } else {
            100_000
        })
}

/// How requests came out: each must match its fault.
#[derive(Debug, Default)]
struct Tally {
    bad_gateway: AtomicU64,
    cut: AtomicU64,
    unexpected: AtomicU64,
}

/// Sends `n` requests from `CLIENTS` concurrent clients sharing one
/// keep-alive pool, cycling through `PATHS`.
async fn drive(web: SocketAddr, n: u64) -> Tally {
    let tally = Arc::new(Tally::default());
    let next = Arc::new(AtomicU64::new(0));
    let c = client();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..CLIENTS {
        let (c, next, tally) = (c.clone(), Arc::clone(&next), Arc::clone(&tally));
        tasks.spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= n {
                    return;
                }
                let path = PATHS[(i % 4) as usize];
                let req = http::Request::get(format!("http://{web}{path}"))
                    .body(Full::new(Bytes::new()))
                    .unwrap();
                let counter = match c.request(req).await {
                    Ok(resp) => {
                        let status = resp.status().as_u16();
                        let body = resp.into_body().collect().await;
                        match (path, status, body.is_ok()) {
                            ("/midbody", 200, false) => &tally.cut,
                            ("/midbody", ..) => &tally.unexpected,
                            (_, 502, true) => &tally.bad_gateway,
                            _ => &tally.unexpected,
                        }
                    }
                    Err(_) => &tally.unexpected,
                };
                counter.fetch_add(1, Ordering::Relaxed);
            }
        });
    }
    while let Some(r) = tasks.join_next().await {
        r.unwrap();
    }
    // Every clone of the client is gone: its connections close.
    drop(c);
    Arc::into_inner(tally).unwrap()
}

/// Polls until the proxy has `want` descriptors open; the count seen last.
async fn settle_fds(proxy: &ProxyProcess, want: usize, limit: Duration) -> usize {
    let end = Instant::now() + limit;
    loop {
        let now = proxy.fd_count();
        if now == want || Instant::now() >= end {
            return now;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Polls until the proxy's descriptor count holds still for 10 polls.
async fn steady_fds(proxy: &ProxyProcess) -> usize {
    let mut last = proxy.fd_count();
    let mut same = 0;
    for _ in 0..400 {
        tokio::time::sleep(Duration::from_millis(50)).await;
        let now = proxy.fd_count();
        same = if now == last { same + 1 } else { 0 };
        last = now;
        if same >= 10 {
            break;
        }
    }
    last
}

/// CPU time (user + system) of process `pid` so far, in seconds.
fn cpu_secs(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // Fields after the command name (which may hold spaces), 1-based
    // from field 3: utime is field 14, stime 15, in clock ticks.
    let rest = stat.rsplit_once(')').unwrap().1;
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = f[11].parse::<u64>().unwrap() + f[12].parse::<u64>().unwrap();
    ticks as f64 / 100.0
}

fn yaml(refused: SocketAddr, reset: &Faulty, garbage: &Faulty, midbody: &Faulty) -> String {
    let route = |name: &str| {
        format!("  - {{ name: {name}, match: {{ path_prefix: /{name} }}, pool: {name} }}\n")
    };
    let pool = |name: &str, url: String| {
        format!("  - {{ name: {name}, endpoints: [{{ name: up, url: '{url}' }}] }}\n")
    };
    config(&format!(
        "routes:\n{}{}{}{}pools:\n{}{}{}{}",
        route("refused"),
        route("reset"),
        route("garbage"),
        route("midbody"),
        pool("refused", format!("http://{refused}")),
        pool("reset", reset.url()),
        pool("garbage", garbage.url()),
        pool("midbody", midbody.url()),
    ))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fds_and_memory_return_to_baseline_after_many_failures() {
    let n = failures();
    let reset = Faulty::spawn(Fault::ResetBeforeHead).await;
    let garbage = Faulty::spawn(Fault::Garbage).await;
    let midbody = Faulty::spawn(Fault::CloseMidBody).await;
    let proxy = ProxyProcess::spawn(&yaml(closed_port().await, &reset, &garbage, &midbody));
    let web = proxy.web();
    let fresh = proxy.fd_count();

    let warm = drive(web, WARM_UP).await;
    let fds = steady_fds(&proxy).await;
    let rss = proxy.status_kib("VmRSS");

    let start = Instant::now();
    let cpu0 = (cpu_secs(proxy.pid()), cpu_secs(std::process::id()));
    let run = drive(web, n).await;
    let took = start.elapsed();
    let cpu = (
        cpu_secs(proxy.pid()) - cpu0.0,
        cpu_secs(std::process::id()) - cpu0.1,
    );
    let peak_rss = proxy.status_kib("VmHWM");
    let fds_after = settle_fds(&proxy, fds, Duration::from_secs(30)).await;
    let rss_after = proxy.status_kib("VmRSS");

    let text = metrics_text(proxy.admin).await;
    let errors = |reason| {
        metric(
            &text,
            "switchyard_proxy_errors_total",
            &[("reason", reason)],
        )
    };
    let in_flight = metric(&text, "switchyard_upstream_in_flight_requests", &[]);
    let rate = n as f64 / took.as_secs_f64();
    println!(
        "leak check: {n} failures in {:.1} s ({rate:.0}/s, {CLIENTS} clients) after {WARM_UP} warm-up; \
         fds fresh {fresh}, baseline {fds}, after {fds_after}; \
         VmRSS baseline {rss} KiB, after {rss_after} KiB ({:+} KiB), VmHWM {peak_rss} KiB; \
         CPU proxy {:.1} s, test {:.1} s",
        took.as_secs_f64(),
        rss_after as i64 - rss as i64,
        cpu.0,
        cpu.1,
    );

    for (t, total) in [(&warm, WARM_UP), (&run, n)] {
        assert_eq!(t.unexpected.load(Ordering::Relaxed), 0, "{t:?}");
        let (bad, cut) = (
            t.bad_gateway.load(Ordering::Relaxed),
            t.cut.load(Ordering::Relaxed),
        );
        assert_eq!(bad + cut, total, "{t:?}");
        assert_eq!(cut, total / 4, "{t:?}");
    }
    let all = (WARM_UP + n) as f64;
    let sum = errors("connect") + errors("reset") + errors("incomplete_body");
    assert_eq!(sum, all, "every failure counted once");
    assert_eq!(in_flight, 0.0, "upstream requests still in flight");
    assert_eq!(fds_after, fds, "descriptors not back to the baseline");
    let slack = (rss * RSS_SLACK_PERCENT / 100).max(RSS_SLACK_MIN_KIB);
    assert!(
        rss_after <= rss + slack,
        "VmRSS grew from {rss} KiB to {rss_after} KiB (tolerance {slack} KiB)"
    );
}
