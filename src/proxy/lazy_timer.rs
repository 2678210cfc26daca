//! A tokio timer that is polled only when it has to be: the mechanism
//! behind the connection's deadline (`activity::Deadline`) and the
//! fast path's route timer (`attempt::RouteTimer`).
//!
//! A connection's task wakes a few times per request, and each wake polls
//! its timers. Once a timer's poll has stored the task's waker, the timer
//! wakes the task when it fires, so until then (or until it is re-armed)
//! another poll only costs time: a timer poll at each wake was 1.5 % of
//! the request path. Polls go outside tokio's per-task budget (as
//! `timeout_at` does when the future it bounds spent the budget): a poll
//! the budget refuses returns `Pending` without storing the waker, and
//! must not be taken for one that did.

use std::future::Future;
use std::pin::Pin;
use std::task::Context;

use tokio::time::{Instant, Sleep};

/// A timer armed at one instant at a time, polled lazily (module header).
/// Only one task may poll it.
#[derive(Debug)]
pub(super) struct LazyTimer {
    sleep: Pin<Box<Sleep>>,
    /// The timer holds the task's waker: polled since it was last armed,
    /// and not fired.
    registered: bool,
}

impl LazyTimer {
    /// A timer armed at `at`.
    pub(super) fn new(at: Instant) -> Self {
        Self {
            sleep: Box::pin(tokio::time::sleep_until(at)),
            registered: false,
        }
    }

    /// When it fires.
    pub(super) fn deadline(&self) -> Instant {
        self.sleep.deadline()
    }

    /// Arms it at `at` instead.
    pub(super) fn arm(&mut self, at: Instant) {
        self.sleep.as_mut().reset(at);
        self.registered = false;
    }

    /// Whether it has fired. While it has not, the task is woken when it
    /// does (or, after `arm`, once this is called again).
    pub(super) fn fired(&mut self, cx: &mut Context<'_>) -> bool {
        if self.registered && !self.sleep.is_elapsed() {
            return false;
        }
        let unbudgeted = std::pin::pin!(tokio::task::unconstrained(self.sleep.as_mut()));
        let fired = unbudgeted.poll(cx).is_ready();
        self.registered = !fired;
        fired
    }
}
