//! Access log cost. `request_path`: what a request pays when the log is
//! on (start the line, record how it was served, finish and queue it),
//! timed in batches the writer drains between (untimed), so the queue
//! never fills and no line is dropped. `writer_*`: how fast the writer
//! thread formats and writes lines (to /dev/null), per line. Run with
//! `cargo bench --bench access_log`.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use criterion::{criterion_group, criterion_main, Criterion};
use switchyard::access_log::{AccessLogger, Served};
use switchyard::config::{AccessLog, AccessLogField, AccessLogFormat, AccessLogOutput};
use switchyard::metrics::Metrics;

/// A request head as hyper hands it over.
fn request() -> http::Request<()> {
    let mut req = http::Request::post("/v1/payments/42?card=4111")
        .body(())
        .unwrap();
    for (k, v) in [
        ("host", "api.example.com"),
        ("user-agent", "Mozilla/5.0 (X11; Linux x86_64) bench/1.0"),
        ("accept", "*/*"),
        ("x-request-id", "6f1c2a7e-1d2b-4c1e-9f7a-2b3c4d5e6f70"),
        ("content-type", "application/json"),
    ] {
        req.headers_mut().insert(k, v.parse().unwrap());
    }
    req
}

fn logger(format: AccessLogFormat, metrics: &Metrics) -> Arc<AccessLogger> {
    let config = AccessLog {
        format,
        output: AccessLogOutput::File(PathBuf::from("/dev/null")),
        fields: AccessLogField::defaults(),
    };
    AccessLogger::open(&config, &metrics.access_log).unwrap()
}

/// One request's work on the request path.
fn one(log: &Arc<AccessLogger>, req: &http::Request<()>, names: &[Arc<str>; 4]) {
    let client = IpAddr::V4(Ipv4Addr::new(10, 1, 2, 3));
    let mut line = log.begin(req, &names[0], client);
    let read = line.bytes_in();
    read.fetch_add(512, std::sync::atomic::Ordering::Relaxed);
    line.served(Served {
        route: Some(&names[1]),
        pool: Some(&names[2]),
        endpoint: Some(&names[3]),
        attempts: 1,
        upstream_duration: Some(Duration::from_micros(830)),
        reason: None,
    });
    line.finish(200, Duration::from_micros(912), 2048);
}

/// Waits until the writer has written at least `n` lines in all, less
/// what one buffer holds (it writes 64 KiB at a time, the rest after
/// 100 ms): by then the queue is all but empty.
fn drained(metrics: &Metrics, n: u64) {
    while metrics.access_log.lines.get() + 512 < n {
        std::thread::sleep(Duration::from_micros(100));
    }
}

fn bench(c: &mut Criterion) {
    let names: [Arc<str>; 4] = ["web", "payments", "vendors", "vendor-a"].map(Arc::from);
    let req = request();

    let metrics = Metrics::new().unwrap();
    let log = logger(AccessLogFormat::Json, &metrics);
    let mut sent = 0;
    c.bench_function("access_log/request_path", |b| {
        b.iter_custom(|iters| {
            let mut timed = Duration::ZERO;
            let mut left = iters;
            while left > 0 {
                let batch = left.min(1024);
                let t = Instant::now();
                for _ in 0..batch {
                    one(&log, &req, &names);
                }
                timed += t.elapsed();
                sent += batch;
                drained(&metrics, sent);
                left -= batch;
            }
            timed
        })
    });
    assert_eq!(metrics.access_log.queue_full.get(), 0, "a line was dropped");

    // Each sample: a fresh writer, `iters` lines, then `close`, which
    // returns once the last line is written.
    for format in [AccessLogFormat::Json, AccessLogFormat::Common] {
        let name = format!("access_log/writer_{}", format.as_str());
        c.bench_function(&name, |b| {
            b.iter_custom(|iters| {
                let metrics = Metrics::new().unwrap();
                let log = logger(format, &metrics);
                let t = Instant::now();
                for i in 0..iters {
                    if i % 512 == 0 {
                        drained(&metrics, i.saturating_sub(4096));
                    }
                    one(&log, &req, &names);
                }
                assert!(log.close(Duration::from_secs(60)));
                let took = t.elapsed();
                assert_eq!(metrics.access_log.lines.get(), iters);
                took
            })
        });
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = bench
}
criterion_main!(benches);
