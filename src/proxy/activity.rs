//! Per-connection timeouts: the time a client has to send a request head
//! (`header_read_timeout`, against slowloris) and the time a connection
//! may sit with no request in flight (`idle_timeout`, keep-alive), and the
//! check that an HTTP/1 request head uses CRLF line ends.
//!
//! hyper's own `header_read_timeout` is one timer for both (it starts when
//! a connection goes idle), so it is off and this module keeps them apart:
//!
//! - `Activity` is the connection's state, shared by the reading side
//!   (`Watched`, wrapped around the socket), the service (`Activity::begin`
//!   when a request head has been parsed; the returned guard is dropped
//!   with the response body) and the deadline (`Deadline`).
//! - A connection starts in `Head` (the first head is due
//!   `header_read_timeout` after the accept). With no request in flight it
//!   is `Idle` until its next byte arrives, which starts the next `Head`.
//!   HTTP/2 connections (told by their preface) never enter `Head`: their
//!   frames arrive whatever the requests do, so they only have the idle
//!   timeout, counted in streams.
//! - `Deadline` is polled after the connection in the same task, so it sees
//!   a state change at once; it re-arms its timer only when a deadline moves
//!   earlier, or when it fires early (lazily, as most requests move it
//!   later), so a keep-alive request costs no timer operation.
//!
//! `Watched` (in `watched.rs`) is the socket wrapper that reports reads.

use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::time::Instant;

use super::lazy_timer::LazyTimer;

/// Waiting for the bytes of a request head.
const HEAD: u8 = 0;
/// Nothing in flight, nothing arriving.
const IDLE: u8 = 1;

/// `t + d`, or thirty years on where that is past what `Instant` holds (a
/// timeout of "forever" in the config).
fn later(t: Instant, d: Duration) -> Instant {
    t.checked_add(d)
        .unwrap_or_else(|| t + Duration::from_secs(30 * 365 * 86_400))
}

/// Which timeout ended a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Expired {
    /// A request head did not arrive whole in time.
    Head,
    /// No request for the idle timeout.
    Idle,
}

/// What one connection is doing, for its timeouts.
#[derive(Debug)]
pub(super) struct Activity {
    /// When the connection was accepted; times below are nanoseconds since.
    base: Instant,
    /// `HEAD` or `IDLE` (meaningful while nothing is in flight).
    phase: AtomicU8,
    /// Since when (nanoseconds after `base`) the phase holds.
    since: AtomicU64,
    /// Requests whose responses have not ended.
    in_flight: AtomicUsize,
    /// The connection speaks HTTP/2 (no head timeout).
    h2: AtomicBool,
    /// The connection was upgraded: its bytes are another protocol now.
    upgraded: AtomicBool,
}

impl Activity {
    /// A connection accepted now, waiting for its first head.
    pub(super) fn new() -> Arc<Self> {
        Arc::new(Self {
            base: Instant::now(),
            phase: AtomicU8::new(HEAD),
            since: AtomicU64::new(0),
            in_flight: AtomicUsize::new(0),
            h2: AtomicBool::new(false),
            upgraded: AtomicBool::new(false),
        })
    }

    fn now(&self) -> u64 {
        u64::try_from(self.base.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }

    /// A request head was parsed: the connection is busy until the guard
    /// (kept by the response body) is dropped.
    pub(super) fn begin(self: &Arc<Self>) -> InFlight {
        self.in_flight.fetch_add(1, Ordering::AcqRel);
        InFlight(Arc::clone(self))
    }

    /// The connection switches protocols (a 101 is on its way): nothing
    /// it reads from now on is a request head.
    pub(super) fn upgrade(&self) {
        self.upgraded.store(true, Ordering::Release);
    }

    /// Whether the connection was upgraded.
    pub(super) fn is_upgraded(&self) -> bool {
        self.upgraded.load(Ordering::Acquire)
    }

    /// The connection speaks HTTP/2.
    pub(super) fn set_h2(&self) {
        self.h2.store(true, Ordering::Relaxed);
    }

    /// Whether the connection speaks HTTP/2.
    #[cfg(test)]
    pub(super) fn is_h2(&self) -> bool {
        self.h2.load(Ordering::Relaxed)
    }

    /// Whether no request is in flight.
    pub(super) fn is_quiet(&self) -> bool {
        self.in_flight.load(Ordering::Acquire) == 0
    }

    /// Bytes arrived while no request is in flight: a head has started.
    /// Returns whether this read starts one.
    pub(super) fn bytes_arrived(&self) -> bool {
        if self.in_flight.load(Ordering::Acquire) != 0
            || self.h2.load(Ordering::Relaxed)
            || self.phase.load(Ordering::Acquire) != IDLE
        {
            return false;
        }
        self.since.store(self.now(), Ordering::Release);
        self.phase.store(HEAD, Ordering::Release);
        true
    }

    /// When the connection's current wait ends (`None` while busy), and
    /// which timeout it is.
    fn deadline(&self, head: Duration, idle: Duration) -> Option<(Instant, Expired)> {
        if self.in_flight.load(Ordering::Acquire) != 0 {
            return None;
        }
        let phase = self.phase.load(Ordering::Acquire);
        let since = self.base + Duration::from_nanos(self.since.load(Ordering::Acquire));
        if phase == HEAD && !self.h2.load(Ordering::Relaxed) {
            Some((later(since, head), Expired::Head))
        } else {
            Some((later(since, idle), Expired::Idle))
        }
    }
}

/// A request in flight on its connection; dropped when the response body
/// ends (or is dropped).
#[derive(Debug)]
pub(super) struct InFlight(Arc<Activity>);

impl InFlight {
    /// The connection switches protocols (a 101 is on its way): nothing it
    /// reads from now on is a request head.
    pub(super) fn upgraded(&self) {
        self.0.upgrade();
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        let a = &self.0;
        if a.in_flight.fetch_sub(1, Ordering::AcqRel) == 1 {
            a.since.store(a.now(), Ordering::Release);
            a.phase.store(IDLE, Ordering::Release);
        }
    }
}

/// Resolves when the connection's head or idle timeout runs out. Poll it
/// after the connection, in the same task (`select!` with `biased`).
#[derive(Debug)]
pub(super) struct Deadline {
    activity: Arc<Activity>,
    head: Duration,
    idle: Duration,
    timer: LazyTimer,
}

impl Deadline {
    /// The timeouts of a connection.
    pub(super) fn new(activity: Arc<Activity>, head: Duration, idle: Duration) -> Self {
        let at = later(activity.base, head.min(idle));
        Self {
            activity,
            head,
            idle,
            timer: LazyTimer::new(at),
        }
    }
}

impl std::future::Future for Deadline {
    type Output = Expired;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Expired> {
        let this = &mut *self;
        if let Some((at, _)) = this.activity.deadline(this.head, this.idle) {
            if at < this.timer.deadline() {
                this.timer.arm(at);
            }
        }
        while this.timer.fired(cx) {
            let now = Instant::now();
            match this.activity.deadline(this.head, this.idle) {
                Some((at, kind)) if at <= now => return Poll::Ready(kind),
                Some((at, _)) => this.timer.arm(at),
                // Busy: look again when the shorter timeout could run out.
                None => this.timer.arm(later(now, this.head.min(this.idle))),
            }
        }
        Poll::Pending
    }
}

#[cfg(test)]
mod tests;
