//! The timeouts' state machine with tokio's clock paused, and the bare-LF
//! scan on split reads.

use std::future::Future;
use std::time::Duration;

use super::*;

const HEAD_T: Duration = Duration::from_secs(10);
const IDLE_T: Duration = Duration::from_secs(60);

fn watched() -> (Watched<tokio::io::Empty>, Arc<Activity>) {
    let a = Activity::new();
    (Watched::new(tokio::io::empty(), Arc::clone(&a)), a)
}

use crate::proxy::watched::Watched;

/// Polls `d` once.
fn poll(d: &mut Deadline) -> Poll<Expired> {
    Pin::new(d).poll(&mut Context::from_waker(std::task::Waker::noop()))
}

#[tokio::test(start_paused = true)]
async fn first_head_is_due_after_the_head_timeout() {
    let (_, a) = watched();
    let mut d = Deadline::new(Arc::clone(&a), HEAD_T, IDLE_T);
    assert!(poll(&mut d).is_pending());
    tokio::time::advance(HEAD_T - Duration::from_millis(1)).await;
    assert!(poll(&mut d).is_pending());
    tokio::time::advance(Duration::from_millis(2)).await;
    assert_eq!(poll(&mut d), Poll::Ready(Expired::Head));
}

#[tokio::test(start_paused = true)]
async fn idle_connection_gets_the_idle_timeout_then_a_head_gets_its_own() {
    let (mut w, a) = watched();
    let mut d = Deadline::new(Arc::clone(&a), HEAD_T, IDLE_T);
    w.inspect(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n").unwrap();
    let req = a.begin();
    // Busy for longer than both timeouts: never expires.
    tokio::time::advance(IDLE_T * 2).await;
    assert!(poll(&mut d).is_pending());
    drop(req);
    // Idle: 59 s is fine, the head timeout does not apply.
    tokio::time::advance(IDLE_T - Duration::from_secs(1)).await;
    assert!(poll(&mut d).is_pending());
    // A byte arrives: the head is due 10 s from now; going past the idle
    // deadline (1 s away) proves the head timeout replaced it.
    w.inspect(b"G").unwrap();
    tokio::time::advance(Duration::from_secs(2)).await;
    assert!(poll(&mut d).is_pending());
    tokio::time::advance(HEAD_T).await;
    assert_eq!(poll(&mut d), Poll::Ready(Expired::Head));
}

#[tokio::test(start_paused = true)]
async fn a_head_starting_late_in_an_idle_period_moves_the_timer_earlier() {
    let idle = Duration::from_secs(300);
    let (mut w, a) = watched();
    let mut d = Deadline::new(Arc::clone(&a), HEAD_T, idle);
    w.inspect(b"GET / HTTP/1.1\r\n\r\n").unwrap();
    drop(a.begin());
    assert!(poll(&mut d).is_pending());
    tokio::time::advance(Duration::from_secs(20)).await;
    assert!(poll(&mut d).is_pending());
    w.inspect(b"GET / HT").unwrap();
    assert!(poll(&mut d).is_pending());
    tokio::time::advance(HEAD_T + Duration::from_millis(1)).await;
    assert_eq!(poll(&mut d), Poll::Ready(Expired::Head));
}

#[tokio::test(start_paused = true)]
async fn http2_has_only_the_idle_timeout() {
    let (mut w, a) = watched();
    let mut d = Deadline::new(Arc::clone(&a), HEAD_T, IDLE_T);
    w.inspect(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n").unwrap();
    tokio::time::advance(HEAD_T * 2).await;
    assert!(poll(&mut d).is_pending());
    // Frames keep arriving: still idle.
    w.inspect(b"\0\0\0\x04\0\0\0\0\0").unwrap();
    tokio::time::advance(IDLE_T).await;
    assert_eq!(poll(&mut d), Poll::Ready(Expired::Idle));
}

#[tokio::test(start_paused = true)]
async fn concurrent_streams_keep_it_busy_until_the_last_ends() {
    let (mut w, a) = watched();
    let mut d = Deadline::new(Arc::clone(&a), HEAD_T, IDLE_T);
    w.inspect(b"PRI * HTTP/2.0\r\n").unwrap();
    let s1 = a.begin();
    let s2 = a.begin();
    drop(s1);
    tokio::time::advance(IDLE_T * 2).await;
    assert!(poll(&mut d).is_pending());
    drop(s2);
    tokio::time::advance(IDLE_T + Duration::from_millis(1)).await;
    assert_eq!(poll(&mut d), Poll::Ready(Expired::Idle));
}

#[tokio::test(start_paused = true)]
async fn huge_timeouts_do_not_overflow_the_clock() {
    let (_, a) = watched();
    let huge = Duration::from_secs(u64::MAX / 4);
    let mut d = Deadline::new(Arc::clone(&a), huge, huge);
    assert!(poll(&mut d).is_pending());
    drop(a.begin());
    assert!(poll(&mut d).is_pending());
}

/// Counts its wake-ups.
struct Count(std::sync::atomic::AtomicUsize);

impl Count {
    /// A counter, and a waker that counts into it.
    fn waker() -> (Arc<Self>, std::task::Waker) {
        let count = Arc::new(Count(std::sync::atomic::AtomicUsize::new(0)));
        (Arc::clone(&count), std::task::Waker::from(count))
    }
}

impl std::task::Wake for Count {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

#[tokio::test(start_paused = true)]
async fn polls_between_wakeups_keep_the_timer_and_its_wakeup() {
    let (_, a) = watched();
    let mut d = Deadline::new(Arc::clone(&a), HEAD_T, IDLE_T);
    let (count, waker) = Count::waker();
    let mut cx = Context::from_waker(&waker);
    // The first poll registers the timer; the next ones (the task woken
    // by its connection) leave it as it is.
    for _ in 0..5 {
        assert!(Pin::new(&mut d).poll(&mut cx).is_pending());
    }
    tokio::time::advance(HEAD_T + Duration::from_millis(1)).await;
    // The timer woke the task, and the next poll sees it fired.
    assert_eq!(count.0.load(Ordering::SeqCst), 1);
    assert_eq!(Pin::new(&mut d).poll(&mut cx), Poll::Ready(Expired::Head));
    // Busy, then idle: re-armed, it wakes the task again when it fires.
    let mut d = Deadline::new(Arc::clone(&a), HEAD_T, IDLE_T);
    let req = a.begin();
    assert!(Pin::new(&mut d).poll(&mut cx).is_pending());
    tokio::time::advance(HEAD_T + Duration::from_millis(1)).await;
    assert_eq!(count.0.load(Ordering::SeqCst), 2);
    assert!(Pin::new(&mut d).poll(&mut cx).is_pending());
    drop(req);
    tokio::time::advance(HEAD_T).await;
    assert_eq!(count.0.load(Ordering::SeqCst), 3);
    assert!(Pin::new(&mut d).poll(&mut cx).is_pending());
    tokio::time::advance(IDLE_T).await;
    assert_eq!(count.0.load(Ordering::SeqCst), 4);
    assert_eq!(Pin::new(&mut d).poll(&mut cx), Poll::Ready(Expired::Idle));
}

/// Spends what is left of the running task's budget.
fn exhaust_budget(cx: &mut Context<'_>) {
    loop {
        let spend = std::pin::pin!(tokio::task::consume_budget());
        if spend.poll(cx).is_pending() {
            return;
        }
    }
}

#[tokio::test(start_paused = true)]
async fn a_poll_with_the_budget_spent_still_sets_the_wakeup() {
    let (_, a) = watched();
    let mut d = Deadline::new(Arc::clone(&a), HEAD_T, IDLE_T);
    let (count, waker) = Count::waker();
    let mut cx = Context::from_waker(&waker);
    // The connection spent the budget before the deadline's first poll
    // (tokio then refuses a timer's poll: no timer, no waker).
    exhaust_budget(&mut cx);
    assert!(Pin::new(&mut d).poll(&mut cx).is_pending());
    assert!(Pin::new(&mut d).poll(&mut cx).is_pending());
    // The wake-up tokio defers for the spent budget happens here.
    tokio::task::yield_now().await;
    let woken = count.0.load(Ordering::SeqCst);
    tokio::time::advance(HEAD_T + Duration::from_millis(1)).await;
    assert_eq!(count.0.load(Ordering::SeqCst), woken + 1);
    assert_eq!(Pin::new(&mut d).poll(&mut cx), Poll::Ready(Expired::Head));
}
