//! The one WebAssembly engine of the process and its epoch clock.
//!
//! Epoch interruption bounds every plugin call: a ticker thread advances
//! the engine's epoch every millisecond, and each call gets a deadline a
//! number of ticks ahead. The thread holds only a weak reference, so it
//! ends when the last `Host` is dropped.

use std::sync::{Arc, Weak};
use std::time::Duration;

use std::collections::HashMap;
use std::sync::Mutex;

use wasmtime::{Config, Engine, Linker, Module, OptLevel};

use super::state::HostState;

/// One epoch tick.
pub(super) const TICK: Duration = Duration::from_millis(1);

/// The engine, shared by every plugin of every config generation, with
/// the host functions linked once and compiled modules by content hash.
#[derive(Clone)]
pub struct Host {
    engine: Arc<Engine>,
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
        std::thread::Builder::new()
            .name("switchyard-epoch".into())
            .spawn(move || tick(&weak))
            .map_err(wasmtime::Error::from)?;
        let mut linker = Linker::new(&engine);
        super::abi::define(&mut linker)?;
        super::wasi::define(&mut linker)?;
        Ok(Self {
            engine,
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
}

fn tick(engine: &Weak<Engine>) {
    loop {
        std::thread::sleep(TICK);
        match engine.upgrade() {
            Some(e) => e.increment_epoch(),
            None => return,
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
