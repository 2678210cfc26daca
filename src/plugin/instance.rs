//! One live plugin instance: its store, cached exports, and calls run
//! under the epoch deadline with failures classified.
//!
//! An instance serves one request at a time. After any failure it is
//! dropped, never reused: a trapped module's memory is in an unknown state.

use std::sync::Arc;
use std::time::Instant;

use wasmtime::{InstancePre, Store, TypedFunc, WasmParams, WasmResults};

use super::engine::Host;
use super::state::HostState;
use crate::metrics::PluginPhaseMetrics;

/// Why a plugin call failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Failure {
    /// The call ran past its time limit.
    #[error("ran past its time limit")]
    Timeout,
    /// The instance tried to grow its memory past the limit.
    #[error("exceeded its memory limit")]
    Memory,
    /// The module trapped (or called `proc_exit`).
    #[error("trapped: {0}")]
    Trap(String),
    /// The plugin refused its configuration or broke the ABI.
    #[error("{0}")]
    Error(String),
}

impl Failure {
    /// The `result` label.
    pub fn result(&self) -> &'static str {
        match self {
            Self::Timeout => "timeout",
            Self::Memory => "memory",
            Self::Trap(_) => "trap",
            Self::Error(_) => "error",
        }
    }
}

type Cb3 = TypedFunc<(i32, i32, i32), i32>;

/// The callbacks a module exports, looked up once.
struct Exports {
    context_create: Option<TypedFunc<(i32, i32), ()>>,
    request_headers: Option<Cb3>,
    request_body: Option<Cb3>,
    response_headers: Option<Cb3>,
    response_body: Option<Cb3>,
    done: Option<TypedFunc<i32, i32>>,
    log: Option<TypedFunc<i32, ()>>,
    delete: Option<TypedFunc<i32, ()>>,
}

/// A live instance. Small (the exports are boxed), since requests carry
/// their instances across awaits.
pub struct Instance {
    pub(super) store: Store<HostState>,
    exports: Box<Exports>,
    next_context: i32,
    ticks: u64,
}

/// The HTTP callbacks, `(context, size, end_of_stream) -> action`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Callback {
    /// `proxy_on_request_headers`.
    RequestHeaders,
    /// `proxy_on_request_body`.
    RequestBody,
    /// `proxy_on_response_headers`.
    ResponseHeaders,
    /// `proxy_on_response_body`.
    ResponseBody,
}

impl std::fmt::Debug for Instance {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Instance").finish_non_exhaustive()
    }
}

/// What an instance is made from.
pub struct Recipe<'a> {
    pub(super) host: &'a Host,
    pub(super) pre: &'a InstancePre<HostState>,
    pub(super) name: &'a Arc<str>,
    pub(super) config: &'a Arc<[u8]>,
    pub(super) memory: u64,
    pub(super) body_limit: usize,
    pub(super) ticks: u64,
    pub(super) time: std::time::Duration,
    pub(super) skip: &'a [&'static str],
    pub(super) metrics: &'a PluginPhaseMetrics,
}

/// The root context's id.
const ROOT: i32 = 1;

impl Instance {
    /// Instantiates, runs `_initialize`, starts the VM and configures the
    /// root context. Counted in the `configure` phase.
    pub fn create(r: &Recipe<'_>) -> Result<Self, Failure> {
        let start = Instant::now();
        let out = Self::create_inner(r);
        r.metrics.duration.observe(start.elapsed().as_secs_f64());
        match &out {
            Ok(_) => r.metrics.ok.inc(),
            Err(f) => r.metrics.count(f.result()),
        }
        out
    }

    fn create_inner(r: &Recipe<'_>) -> Result<Self, Failure> {
        let mut state = HostState::new(
            Arc::clone(r.name),
            Arc::clone(r.config),
            r.memory,
            r.body_limit,
        );
        state.time_ns = u64::try_from(r.time.as_nanos()).unwrap_or(u64::MAX);
        state.clock = Some(Arc::clone(r.host.clock()));
        r.host.clock().allow(r.ticks);
        let mut store = Store::new(r.host.engine(), state);
        store.limiter(|s| &mut s.limiter);
        let ticks = r.ticks;
        store.epoch_deadline_callback(move |mut cx| {
            Ok(super::engine::on_deadline(cx.data_mut(), ticks))
        });
        store.data_mut().cpu_mark = None;
        store.set_epoch_deadline(r.ticks);
        let instance = r
            .pre
            .instantiate(&mut store)
            .map_err(|e| classify(&e, &store))?;
        let memory = instance.get_memory(&mut store, "memory");
        if memory.is_none() {
            return Err(Failure::Error("the module exports no `memory`".into()));
        }
        store.data_mut().memory = memory;
        let alloc = instance
            .get_typed_func::<i32, i32>(&mut store, "proxy_on_memory_allocate")
            .or_else(|_| instance.get_typed_func::<i32, i32>(&mut store, "malloc"))
            .map_err(|_| {
                Failure::Error(
                    "the module exports no `proxy_on_memory_allocate` or `malloc` (i32) -> i32"
                        .into(),
                )
            })?;
        store.data_mut().alloc = Some(alloc);
        let cb3 = |store: &mut Store<HostState>, name: &str| -> Result<Option<Cb3>, Failure> {
            match instance.get_func(&mut *store, name) {
                None => Ok(None),
                Some(f) => f.typed(&*store).map(Some).map_err(|_| {
                    Failure::Error(format!(
                        "export `{name}` must be (i32, i32, i32) -> i32 (proxy-wasm 0.2.x)"
                    ))
                }),
            }
        };
        let skip = r.skip;
        let wanted = |name: &str| !skip.contains(&name);
        let exports = Exports {
            context_create: instance
                .get_typed_func(&mut store, "proxy_on_context_create")
                .ok()
                .filter(|_| wanted("proxy_on_context_create")),
            request_headers: cb3(&mut store, "proxy_on_request_headers")?,
            request_body: cb3(&mut store, "proxy_on_request_body")?,
            response_headers: cb3(&mut store, "proxy_on_response_headers")?,
            response_body: cb3(&mut store, "proxy_on_response_body")?,
            done: instance
                .get_typed_func(&mut store, "proxy_on_done")
                .ok()
                .filter(|_| wanted("proxy_on_done")),
            log: instance
                .get_typed_func(&mut store, "proxy_on_log")
                .ok()
                .filter(|_| wanted("proxy_on_log")),
            delete: instance
                .get_typed_func(&mut store, "proxy_on_delete")
                .ok()
                .filter(|_| wanted("proxy_on_delete")),
        };
        let mut inst = Self {
            store,
            exports: Box::new(exports),
            next_context: ROOT + 1,
            ticks: r.ticks,
        };
        for start in ["_initialize", "_start"] {
            if let Ok(f) = instance.get_typed_func::<(), ()>(&mut inst.store, start) {
                inst.call(&f, ())?;
                break;
            }
        }
        if let Some(f) = &inst.exports.context_create {
            run(&mut inst.store, inst.ticks, f, (ROOT, 0))?;
        }
        if let Ok(f) =
            instance.get_typed_func::<(i32, i32), i32>(&mut inst.store, "proxy_on_vm_start")
        {
            if inst.call(&f, (ROOT, 0))? == 0 {
                return Err(Failure::Error("proxy_on_vm_start returned false".into()));
            }
        }
        if let Ok(f) =
            instance.get_typed_func::<(i32, i32), i32>(&mut inst.store, "proxy_on_configure")
        {
            let size = i32::try_from(r.config.len()).unwrap_or(i32::MAX);
            if inst.call(&f, (ROOT, size))? == 0 {
                return Err(Failure::Error(
                    "the plugin rejected its configuration (proxy_on_configure returned false)"
                        .into(),
                ));
            }
        }
        Ok(inst)
    }

    /// Calls `f` under the deadline.
    pub fn call<P: WasmParams, R: WasmResults>(
        &mut self,
        f: &TypedFunc<P, R>,
        args: P,
    ) -> Result<R, Failure> {
        run(&mut self.store, self.ticks, f, args)
    }

    /// Calls `cb` if exported (`None` if not).
    pub fn callback(
        &mut self,
        cb: Callback,
        ctx: i32,
        size: i32,
        end_of_stream: bool,
    ) -> Result<Option<i32>, Failure> {
        let e = &self.exports;
        let f = match cb {
            Callback::RequestHeaders => e.request_headers.as_ref(),
            Callback::RequestBody => e.request_body.as_ref(),
            Callback::ResponseHeaders => e.response_headers.as_ref(),
            Callback::ResponseBody => e.response_body.as_ref(),
        };
        match f {
            Some(f) => run(
                &mut self.store,
                self.ticks,
                f,
                (ctx, size, i32::from(end_of_stream)),
            )
            .map(Some),
            None => Ok(None),
        }
    }

    /// Creates request context `ctx` under the root context.
    pub fn create_context(&mut self, ctx: i32) -> Result<(), Failure> {
        match &self.exports.context_create {
            Some(f) => run(&mut self.store, self.ticks, f, (ctx, ROOT)),
            None => Ok(()),
        }
    }

    /// Ends request context `ctx`: `proxy_on_done`, `proxy_on_log`,
    /// `proxy_on_delete`, as exported.
    pub fn end_context(&mut self, ctx: i32) -> Result<(), Failure> {
        let e = &self.exports;
        if let Some(f) = &e.done {
            run(&mut self.store, self.ticks, f, ctx)?;
        }
        if let Some(f) = &e.log {
            run(&mut self.store, self.ticks, f, ctx)?;
        }
        if let Some(f) = &e.delete {
            run(&mut self.store, self.ticks, f, ctx)?;
        }
        Ok(())
    }

    /// A new context id for a request.
    pub fn new_context(&mut self) -> i32 {
        let id = self.next_context;
        self.next_context = if id == i32::MAX { ROOT + 1 } else { id + 1 };
        id
    }

    /// The store's data.
    pub fn state(&mut self) -> &mut HostState {
        self.store.data_mut()
    }
}

fn run<P: WasmParams, R: WasmResults>(
    store: &mut Store<HostState>,
    ticks: u64,
    f: &TypedFunc<P, R>,
    args: P,
) -> Result<R, Failure> {
    let st = store.data_mut();
    st.cpu_mark = None;
    st.extensions = 0;
    if let Some(c) = &st.clock {
        c.call_started();
    }
    store.set_epoch_deadline(ticks);
    f.call(&mut *store, args).map_err(|e| classify(&e, store))
}

fn classify(e: &wasmtime::Error, store: &Store<HostState>) -> Failure {
    if store.data().limiter.exceeded {
        return Failure::Memory;
    }
    if let Some(why) = &store.data().abort {
        return Failure::Trap(why.clone());
    }
    match e.downcast_ref::<wasmtime::Trap>() {
        Some(wasmtime::Trap::Interrupt) => Failure::Timeout,
        Some(t) => Failure::Trap(t.to_string()),
        None => Failure::Error(format!("{e:#}")),
    }
}
