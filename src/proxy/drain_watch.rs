//! Watching a listener's drain signal from a connection without taking a
//! lock on every poll.
//!
//! A connection's task waits on its connection and on the drain signal
//! together, so the signal's future is polled every time the task is woken
//! (several times per request). A waiting `watch::Receiver::changed()`
//! locks the channel's waiter list on each of those polls, to refresh its
//! waker: one mutex shared by every connection of the listener, which on a
//! multi-threaded runtime is contended across cores. `Drained` polls the
//! `changed()` future once, to register the task's waker, and afterwards
//! only when a lock-free version check (`has_changed`) says the signal
//! moved.
//!
//! This relies on the task's waker staying the same between polls, which
//! holds for a future polled directly by its task (as the connection's is:
//! `tokio::select!` passes the task's own context through).

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::sync::watch;

use super::server::DrainState;

/// Resolves once the drain state changes (or its sender is gone).
pub(super) struct Drained<'a> {
    /// A clone of the receiver, read for its version only.
    probe: watch::Receiver<DrainState>,
    changed: Pin<Box<dyn Future<Output = Result<(), watch::error::RecvError>> + Send + 'a>>,
    /// The `changed()` future holds the task's waker.
    armed: bool,
}

impl<'a> Drained<'a> {
    /// Watches `rx` for the next change after the value it has seen.
    pub(super) fn new(rx: &'a mut watch::Receiver<DrainState>) -> Self {
        let probe = rx.clone();
        Self {
            probe,
            changed: Box::pin(rx.changed()),
            armed: false,
        }
    }
}

impl Drained<'_> {
    /// Whether the drain state has changed (or its sender is gone), without
    /// waiting: a lock-free version check.
    pub(super) fn signalled(&self) -> bool {
        !matches!(self.probe.has_changed(), Ok(false))
    }
}

impl Future for Drained<'_> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        // `Err`: the sender is gone, which the `changed()` future reports.
        if this.armed && matches!(this.probe.has_changed(), Ok(false)) {
            return Poll::Pending;
        }
        this.armed = true;
        this.changed.as_mut().poll(cx).map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn resolves_on_a_change_after_being_armed() {
        let (tx, mut rx) = watch::channel(DrainState::Serving);
        let task = tokio::spawn(async move {
            Drained::new(&mut rx).await;
            *rx.borrow_and_update()
        });
        // Let the task arm itself (this test's runtime has one thread: the
        // task runs while this one yields), then signal.
        tokio::task::yield_now().await;
        assert!(!task.is_finished());
        tx.send_replace(DrainState::Draining);
        let seen = tokio::time::timeout(Duration::from_secs(5), task)
            .await
            .expect("woken by the change")
            .unwrap();
        assert_eq!(seen, DrainState::Draining);
    }

    #[tokio::test]
    async fn resolves_when_the_sender_is_gone() {
        let (tx, mut rx) = watch::channel(DrainState::Serving);
        let task = tokio::spawn(async move { Drained::new(&mut rx).await });
        tokio::task::yield_now().await;
        drop(tx);
        tokio::time::timeout(Duration::from_secs(5), task)
            .await
            .expect("woken when the sender went away")
            .unwrap();
    }

    #[tokio::test]
    async fn stays_pending_without_a_change() {
        let (_tx, mut rx) = watch::channel(DrainState::Serving);
        let waited = tokio::time::timeout(Duration::from_millis(50), Drained::new(&mut rx)).await;
        assert!(waited.is_err());
    }
}
