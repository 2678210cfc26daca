//! Access logs: one line per request, written off the request path.
//!
//! Owns: the per-request record ([`Entry`], started by
//! [`AccessLogger::begin`] and sent by [`Pending::finish`]), the bounded
//! queue between the request path and the one writer thread, the text
//! copied from the request (`head.rs`), the line formats (`format.rs`) and
//! the output with its rotation handling (`writer.rs`). Must not: block the request path or do I/O on it: a
//! request only fills a small record and `try_send`s it; when the queue is
//! full the line is dropped and counted
//! (`switchyard_access_log_dropped_total{reason="queue_full"}`).
//!
//! One `AccessLogger` (one queue, one thread) serves one `access_log`
//! setting. A reload that keeps the setting keeps the logger; one that
//! changes it opens a new one before the swap, and the old one writes the
//! lines of the requests still in flight on the old generation, then stops
//! when the last of them is done (its queue disconnects).

mod format;
mod head;
mod writer;

use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, SyncSender, TrySendError};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime};

use http::{Method, Request, Version};
use prometheus::IntCounter;

use crate::config::{AccessLog, AccessLogOutput};
use crate::metrics::AccessLogMetrics;
use head::{Head, Part, Wanted};

pub use head::MAX_PART;

/// Lines queued between the request path and the writer. Beyond this the
/// writer is behind (a slow disk, a blocked stdout pipe) and new lines are
/// dropped and counted rather than held in memory or waited for.
pub const QUEUE_CAPACITY: usize = 8192;

/// Why an access log could not be started.
#[derive(Debug, thiserror::Error)]
pub enum AccessLogError {
    /// The file could not be opened for appending (or created).
    #[error("cannot open access log file {}: {source}", .path.display())]
    Open {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The writer thread could not be started.
    #[error("cannot start the access log writer thread: {0}")]
    Spawn(#[source] std::io::Error),
}

/// What the request path sends to the writer.
#[derive(Debug)]
enum Msg {
    /// A finished request.
    Line(Box<Entry>),
    /// Write everything queued before this, then stop and say so.
    Close(mpsc::Sender<()>),
}

/// One request as its line will tell it: the head captured when it
/// arrived, the rest filled in as it goes. Sent to the writer when the
/// response ends.
#[derive(Debug)]
pub struct Entry {
    /// When the response ended (or the client went away).
    ended: SystemTime,
    client: IpAddr,
    method: Method,
    version: Version,
    /// The text parts the fields show, copied.
    head: Head,
    attempts: u32,
    upstream_duration: Option<Duration>,
    reason: Option<&'static str>,
    status: u16,
    bytes_in: u64,
    bytes_out: u64,
    duration: Duration,
}

/// How a request was served: what routing and the upstream attempts came
/// to, and the reason when the proxy answered itself.
#[derive(Debug, Default, Clone, Copy)]
pub struct Served<'a> {
    /// The matched route.
    pub route: Option<&'a str>,
    /// The route's pool.
    pub pool: Option<&'a str>,
    /// The endpoint of the last attempt.
    pub endpoint: Option<&'a str>,
    /// Attempts sent upstream (0 when none was).
    pub attempts: u32,
    /// From sending the last attempt to its response headers; `None` when
    /// no response headers arrived.
    pub upstream_duration: Option<Duration>,
    /// The `reason` label of `switchyard_proxy_errors_total` when the
    /// proxy generated the response; `client_closed` when the client went
    /// away before the response (status 499).
    pub reason: Option<&'static str>,
}

/// A request's line in the making. Dropping it without
/// [`Pending::finish`] writes nothing.
#[derive(Debug)]
pub struct Pending {
    logger: Arc<AccessLogger>,
    entry: Box<Entry>,
    read: Arc<AtomicU64>,
}

/// A running access log: the queue's sending side and the writer thread.
#[derive(Debug)]
pub struct AccessLogger {
    config: AccessLog,
    /// The head parts `config.fields` show.
    wanted: Wanted,
    tx: SyncSender<Msg>,
    queue_full: IntCounter,
    thread: Mutex<Option<JoinHandle<()>>>,
}

// === impl AccessLogger ===

impl AccessLogger {
    /// Opens the output (creating the file if missing, appending) and
    /// starts the writer thread. Blocking (opens a file): call it off the
    /// request path, before the config that names it is swapped in.
    pub fn open(
        config: &AccessLog,
        metrics: &AccessLogMetrics,
    ) -> Result<Arc<Self>, AccessLogError> {
        let sink = match &config.output {
            AccessLogOutput::Stdout => writer::Sink::Stdout,
            AccessLogOutput::File(path) => {
                writer::Sink::open(path).map_err(|source| AccessLogError::Open {
                    path: path.clone(),
                    source,
                })?
            }
        };
        Self::start(config, metrics, sink, QUEUE_CAPACITY)
    }

    /// Starts the writer thread on `sink` with a queue of `capacity` lines.
    fn start(
        config: &AccessLog,
        metrics: &AccessLogMetrics,
        sink: writer::Sink,
        capacity: usize,
    ) -> Result<Arc<Self>, AccessLogError> {
        let (tx, rx) = mpsc::sync_channel(capacity);
        let writer = writer::Writer::new(rx, sink, config, metrics.clone());
        let thread = std::thread::Builder::new()
            .name("access-log".into())
            .spawn(move || writer.run())
            .map_err(AccessLogError::Spawn)?;
        Ok(Arc::new(Self {
            config: config.clone(),
            wanted: Wanted::of(&config.fields),
            tx,
            queue_full: metrics.queue_full.clone(),
            thread: Mutex::new(Some(thread)),
        }))
    }

    /// The settings this logger writes with.
    pub fn config(&self) -> &AccessLog {
        &self.config
    }

    /// Starts the line of a request whose head is `req`, received on
    /// `listener` from `client`. Cheap: one copy of the few head bytes the
    /// fields show, no formatting.
    pub fn begin<B>(self: &Arc<Self>, req: &Request<B>, listener: &str, client: IpAddr) -> Pending {
        Pending {
            logger: Arc::clone(self),
            entry: Entry::start(req, listener, client, self.wanted),
            read: Arc::new(AtomicU64::new(0)),
        }
    }

    /// Queues a line without waiting: a full queue drops it (counted).
    fn submit(&self, entry: Box<Entry>) {
        match self.tx.try_send(Msg::Line(entry)) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => self.queue_full.inc(),
            // The writer was closed at shutdown, after the drain: a request
            // that outlived it has no line.
            Err(TrySendError::Disconnected(_)) => {}
        }
    }

    /// Writes every line queued so far, then stops the writer; lines that
    /// come later are dropped. Waits up to `timeout`; returns whether the
    /// writer finished in time. Blocking: for shutdown.
    pub fn close(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let (ack, done) = mpsc::channel();
        let mut msg = Msg::Close(ack);
        // The queue may be full: retry until the deadline.
        loop {
            match self.tx.try_send(msg) {
                Ok(()) => break,
                Err(TrySendError::Disconnected(_)) => return true,
                Err(TrySendError::Full(m)) if Instant::now() < deadline => {
                    msg = m;
                    std::thread::sleep(Duration::from_millis(5));
                }
                Err(TrySendError::Full(_)) => return false,
            }
        }
        let finished = done
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .is_ok();
        if finished {
            let thread = self
                .thread
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .take();
            if let Some(t) = thread {
                t.join().ok();
            }
        }
        finished
    }
}

// === impl Entry ===

impl Entry {
    fn served(&mut self, served: Served<'_>) {
        let head = &mut self.head;
        head.set(Part::Route, served.route.map(str::as_bytes));
        head.set(Part::Pool, served.pool.map(str::as_bytes));
        head.set(Part::Endpoint, served.endpoint.map(str::as_bytes));
        self.attempts = served.attempts;
        self.upstream_duration = served.upstream_duration;
        self.reason = served.reason;
    }

    fn start<B>(req: &Request<B>, listener: &str, client: IpAddr, wanted: Wanted) -> Box<Self> {
        Box::new(Self {
            ended: SystemTime::UNIX_EPOCH,
            client,
            method: req.method().clone(),
            version: req.version(),
            head: Head::capture(req, listener, wanted),
            attempts: 0,
            upstream_duration: None,
            reason: None,
            status: 0,
            bytes_in: 0,
            bytes_out: 0,
            duration: Duration::ZERO,
        })
    }
}

// === impl Pending ===

impl Pending {
    /// The counter of request body bytes read from the client, for the
    /// body wrapper that counts them.
    pub fn bytes_in(&self) -> Arc<AtomicU64> {
        Arc::clone(&self.read)
    }

    /// Records how the request was served (the names are copied).
    pub fn served(&mut self, served: Served<'_>) {
        self.entry.served(served);
    }

    /// Sets the line's `reason` (a response cut short after its head).
    pub fn set_reason(&mut self, reason: &'static str) {
        self.entry.reason = Some(reason);
    }

    /// Ends the line: the response ended (or the client went away) after
    /// `duration` with `status` and `bytes_out` body bytes sent. Queues it
    /// without waiting.
    pub fn finish(self, status: u16, duration: Duration, bytes_out: u64) {
        let Self {
            logger,
            mut entry,
            read,
        } = self;
        entry.ended = SystemTime::now();
        entry.status = status;
        entry.duration = duration;
        entry.bytes_out = bytes_out;
        entry.bytes_in = read.load(Ordering::Relaxed);
        logger.submit(entry);
    }
}

#[cfg(test)]
mod tests;
