//! The one WebAssembly engine of the process and its epoch clock.
//!
//! Epoch interruption bounds every plugin call: a ticker thread advances
//! the engine's epoch every millisecond, and each call gets a deadline a
//! number of ticks ahead. The thread holds only a weak reference, so it
//! ends when the last `Host` is dropped. It parks when no call has started
//! for longer than any call may run (and at least a second), so an idle
//! proxy with plugins costs no wake-ups; the next call wakes it.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock, Weak};
use std::time::Duration;

use std::collections::HashMap;
use std::sync::Mutex;

use wasmtime::{Config, Engine, Linker, Module, OptLevel};

use super::state::HostState;

/// One epoch tick.
pub(super) const TICK: Duration = Duration::from_millis(1);

/// Ticks without a call start before the ticker may park (besides the
/// longest a call may run).
const IDLE_TICKS: u64 = 1000;

/// The ticker's view of calls: when the last one started, and whether it
/// is parked.
#[derive(Debug, Default)]
pub(super) struct Clock {
    /// Ticks so far.
    epoch: AtomicU64,
    /// `epoch` when a call last started (as seen by that call).
    last_call: AtomicU64,
    /// The most ticks a call may run, over the plugins loaded so far.
    longest: AtomicU64,
    parked: AtomicBool,
    thread: OnceLock<std::thread::Thread>,
}

impl Clock {
    /// Called as a call starts: two loads on the hot path, a store at most
    /// once per tick, and a wake-up only after an idle spell.
    pub(super) fn call_started(&self) {
        let e = self.epoch.load(Ordering::Relaxed);
        if self.last_call.load(Ordering::Relaxed) != e {
            self.last_call.store(e, Ordering::SeqCst);
        }
        if self.parked.load(Ordering::SeqCst) && self.parked.swap(false, Ordering::SeqCst) {
            if let Some(t) = self.thread.get() {
                t.unpark();
            }
        }
    }

    /// Whether the ticker is parked.
    #[cfg(test)]
    pub(super) fn is_parked(&self) -> bool {
        self.parked.load(Ordering::SeqCst)
    }

    /// Notes a plugin whose calls may run up to `ticks`.
    pub(super) fn allow(&self, ticks: u64) {
        let most = ticks.saturating_mul(u64::from(MAX_EXTENSIONS) + 1);
        self.longest.fetch_max(most, Ordering::Relaxed);
    }
}

/// The engine, shared by every plugin of every config generation, with
/// the host functions linked once and compiled modules by content hash.
#[derive(Clone)]
pub struct Host {
    engine: Arc<Engine>,
    clock: Arc<Clock>,
    linker: Arc<Linker<HostState>>,
    modules: Arc<Mutex<HashMap<String, Module>>>,
}

impl std::fmt::Debug for Host {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Host").finish_non_exhaustive()
    }
}

impl Host {
    /// Creates the engine and starts its epoch ticker.
    pub fn new() -> Result<Self, wasmtime::Error> {
        let mut config = Config::new();
        config
            .epoch_interruption(true)
            .cranelift_opt_level(OptLevel::Speed)
            // Plugins are small; a deep recursion is a bug, not a need.
            .max_wasm_stack(512 * 1024);
        let engine = Arc::new(Engine::new(&config)?);
        let weak: Weak<Engine> = Arc::downgrade(&engine);
        let clock = Arc::new(Clock::default());
        let ticker_clock = Arc::clone(&clock);
        let handle = std::thread::Builder::new()
            .name("switchyard-epoch".into())
            .spawn(move || tick(&weak, &ticker_clock))
            .map_err(wasmtime::Error::from)?;
        clock.thread.set(handle.thread().clone()).ok();
        let mut linker = Linker::new(&engine);
        super::abi::define(&mut linker)?;
        super::wasi::define(&mut linker)?;
        Ok(Self {
            engine,
            clock,
            linker: Arc::new(linker),
            modules: Arc::default(),
        })
    }

    /// The linker with every host function; clone it to add a module's
    /// stubs.
    pub fn linker(&self) -> &Linker<HostState> {
        &self.linker
    }

    /// The module compiled from bytes with content hash `hash`, compiling
    /// it (Cranelift, a few ms; call off the request path) if needed.
    pub fn module(&self, hash: &str, bytes: &[u8]) -> wasmtime::Result<Module> {
        let cached = self
            .modules
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(hash)
            .cloned();
        if let Some(m) = cached {
            return Ok(m);
        }
        let m = Module::new(&self.engine, bytes)?;
        self.modules
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(hash.to_string(), m.clone());
        Ok(m)
    }

    /// Forgets compiled modules whose hash is not in `keep`.
    pub fn retain_modules(&self, keep: &[&str]) {
        self.modules
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .retain(|h, _| keep.contains(&h.as_str()));
    }

    /// The engine.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// The ticker's clock.
    pub(super) fn clock(&self) -> &Arc<Clock> {
        &self.clock
    }
}

fn tick(engine: &Weak<Engine>, clock: &Clock) {
    loop {
        std::thread::sleep(TICK);
        let Some(e) = engine.upgrade() else {
            return;
        };
        e.increment_epoch();
        drop(e);
        let now = clock.epoch.fetch_add(1, Ordering::Relaxed) + 1;
        let idle = now.saturating_sub(clock.last_call.load(Ordering::SeqCst));
        if idle <= clock.longest.load(Ordering::Relaxed) + IDLE_TICKS {
            continue;
        }
        // Park, unless a call started meanwhile: the call stores
        // `last_call` before it reads `parked`, and this stores `parked`
        // before it reads `last_call`, so one of them sees the other.
        clock.parked.store(true, Ordering::SeqCst);
        if clock.last_call.load(Ordering::SeqCst) != now.saturating_sub(idle) {
            clock.parked.store(false, Ordering::SeqCst);
            continue;
        }
        while clock.parked.load(Ordering::SeqCst) {
            // Woken by `call_started`; a timeout re-checks that the engine
            // is still alive.
            std::thread::park_timeout(Duration::from_secs(1));
            if Weak::strong_count(engine) == 0 {
                return;
            }
        }
    }
}

/// Most deadline extensions a call gets while its thread is kept off the
/// CPU; bounds a call's wall time to about this many limits.
const MAX_EXTENSIONS: u32 = 20;

/// What happens when a call reaches its deadline. `limits.time` is meant
/// as CPU time: on a loaded machine (or a throttled container) the thread
/// running a call can be descheduled for milliseconds, and a healthy plugin
/// must not fail for that. So the first time the deadline passes the call
/// gets one more window, and the thread's CPU clock is read; at the end of
/// each window the call is stopped if it kept the CPU busy for most of it
/// (a runaway loop does: it stops within about twice its limit), and gets
/// another window otherwise (at most `MAX_EXTENSIONS`). Without a readable
/// per-thread CPU clock the deadline is plain wall time.
pub(super) fn on_deadline(st: &mut HostState, ticks: u64) -> wasmtime::UpdateDeadline {
    use wasmtime::UpdateDeadline::{Continue, Interrupt};
    let Some(now) = thread_cpu_ns() else {
        return Interrupt;
    };
    let busy = st.cpu_mark.map(|mark| now.saturating_sub(mark));
    if busy.is_some_and(|b| b >= st.time_ns / 10 * 8) || st.extensions >= MAX_EXTENSIONS {
        return Interrupt;
    }
    st.cpu_mark = Some(now);
    st.extensions += 1;
    Continue(ticks)
}

/// The calling thread's time on the CPU, in ns (Linux schedstat).
fn thread_cpu_ns() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    text.split_whitespace().next()?.parse().ok()
}

/// Ticks to allow for a call of at most `time`: rounded up, plus one for
/// the tick already under way, so a call always gets at least `time`.
pub(super) fn deadline_ticks(time: Duration) -> u64 {
    let tick = TICK.as_nanos();
    let n = time.as_nanos().div_ceil(tick);
    u64::try_from(n).unwrap_or(u64::MAX / 2).saturating_add(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deadline_rounds_up_and_adds_a_tick() {
        assert_eq!(deadline_ticks(Duration::from_millis(5)), 6);
        assert_eq!(deadline_ticks(Duration::from_micros(5500)), 7);
        assert_eq!(deadline_ticks(Duration::from_micros(1)), 2);
    }
}
