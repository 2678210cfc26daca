//! A connection's route timer: one tokio timer that bounds the upstream
//! call of each request the connection serves, one after another.
//!
//! Why: `tokio::time::timeout_at` registers a timer in the driver's wheel
//! when first polled and removes it when dropped, each under the driver's
//! lock; per request that was about 2% of the proxy's instructions. Here
//! the timer stays registered across requests and is re-armed lazily: a
//! request whose deadline is later than the armed one (the usual case: the
//! same timeout, a later start) leaves it as it is. When it fires for an
//! earlier request's deadline, the current request's own deadline is
//! checked, and the timer moved to it if it has not passed. So a request
//! never times out before its deadline, and at most once late by no more
//! than the timer's own resolution (as `timeout_at`).
//!
//! The HTTP/1.1 fast path keeps one per connection; requests served by
//! hyper (which may run concurrently, on HTTP/2) use `timeout_at`.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::time::Instant;

use crate::proxy::lazy_timer::LazyTimer;

/// The route timeout ran out before the upstream answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(in crate::proxy) struct TimedOut;

/// A lazily re-armed timer for one request at a time (see the module
/// header). It is created on the first request that uses it.
#[derive(Debug, Default)]
pub(in crate::proxy) struct RouteTimer {
    lazy: Option<LazyTimer>,
}

impl RouteTimer {
    /// Polls `fut` until it is ready or `until` has passed.
    pub(in crate::proxy) fn poll_bounded<F: Future>(
        &mut self,
        fut: Pin<&mut F>,
        until: Instant,
        cx: &mut Context<'_>,
    ) -> Poll<Result<F::Output, TimedOut>> {
        if let Poll::Ready(out) = fut.poll(cx) {
            return Poll::Ready(Ok(out));
        }
        let timer = match &mut self.lazy {
            Some(timer) => {
                // Armed later than this deadline (a shorter timeout than
                // the last request's): move it earlier.
                if timer.deadline() > until {
                    timer.arm(until);
                }
                timer
            }
            None => self.lazy.insert(LazyTimer::new(until)),
        };
        while timer.fired(cx) {
            if Instant::now() >= until {
                return Poll::Ready(Err(TimedOut));
            }
            // It was armed for an earlier request's deadline.
            timer.arm(until);
        }
        Poll::Pending
    }
}

pin_project_lite::pin_project! {
    /// `fut` bounded by a connection's route timer, as a future of its own
    /// (an `async` block polling it would keep `fut` twice: as captured,
    /// and pinned).
    pub(in crate::proxy) struct Bounded<'t, F> {
        #[pin]
        fut: F,
        timer: &'t mut RouteTimer,
        until: Instant,
    }
}

impl<'t, F> Bounded<'t, F> {
    pub(in crate::proxy) fn new(fut: F, timer: &'t mut RouteTimer, until: Instant) -> Self {
        Self { fut, timer, until }
    }
}

impl<F: Future> Future for Bounded<'_, F> {
    type Output = Result<F::Output, TimedOut>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        this.timer.poll_bounded(this.fut, *this.until, cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::future::poll_fn;
    use std::time::Duration;

    /// The future the fast path awaits (`attempt::send`).
    fn bounded<F: Future>(timer: &mut RouteTimer, until: Instant, fut: F) -> Bounded<'_, F> {
        Bounded::new(fut, timer, until)
    }

    /// Real time: a paused clock only moves while the runtime is idle, and
    /// this future never lets it be. It spins for the 100 ms it is given.
    #[tokio::test]
    async fn a_request_that_spends_the_budget_still_times_out() {
        let mut timer = RouteTimer::default();
        // Each poll spends the task's whole budget and stays pending, as
        // an upstream sending endless interim responses would.
        let greedy = poll_fn(|cx| loop {
            let spend = std::pin::pin!(tokio::task::consume_budget());
            if spend.poll(cx).is_pending() {
                return Poll::<()>::Pending;
            }
        });
        let until = Instant::now() + Duration::from_millis(100);
        // The guard is tokio's own timeout, which polls its timer outside
        // the budget: without the same here, the route timer never fires.
        let bounded =
            tokio::time::timeout(Duration::from_secs(5), bounded(&mut timer, until, greedy));
        assert_eq!(bounded.await, Ok(Err(TimedOut)));
        assert!(Instant::now() >= until);
    }

    #[tokio::test(start_paused = true)]
    async fn each_request_gets_its_own_deadline() {
        let mut timer = RouteTimer::default();
        let t0 = Instant::now();
        // Ready at once: no timer is needed.
        assert_eq!(
            bounded(&mut timer, t0 + Duration::from_secs(1), async { 1 }).await,
            Ok(1)
        );
        assert!(timer.lazy.is_none());
        // Armed for the first request's deadline (t0 + 1s) ...
        let slow = tokio::time::sleep(Duration::from_millis(100));
        assert_eq!(
            bounded(&mut timer, t0 + Duration::from_secs(1), slow).await,
            Ok(())
        );
        // ... a later request with a later deadline is not cut at the
        // earlier one: it runs to t0 + 1.5s and finishes at t0 + 1.4s.
        let start = Instant::now();
        let until = start + Duration::from_millis(1400);
        let slow = tokio::time::sleep(Duration::from_millis(1300));
        assert_eq!(bounded(&mut timer, until, slow).await, Ok(()));
        // One that does not finish times out at its own deadline, not
        // before.
        let start = Instant::now();
        let until = start + Duration::from_millis(500);
        let never = std::future::pending::<()>();
        assert_eq!(bounded(&mut timer, until, never).await, Err(TimedOut));
        assert!(Instant::now() >= until);
        assert!(Instant::now() < until + Duration::from_millis(50));
        // A shorter deadline than the armed one moves the timer earlier.
        let start = Instant::now();
        let long = start + Duration::from_secs(60);
        let quick = tokio::time::sleep(Duration::from_millis(1));
        assert_eq!(bounded(&mut timer, long, quick).await, Ok(()));
        let until = Instant::now() + Duration::from_millis(200);
        let never = std::future::pending::<()>();
        assert_eq!(bounded(&mut timer, until, never).await, Err(TimedOut));
        assert!(Instant::now() < until + Duration::from_millis(50));
    }
}
