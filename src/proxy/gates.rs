//! The concurrency slots a request holds: its route's and its pool's
//! (`max_concurrent_requests`). Route gates are kept by route name in
//! `RouteGates`, so a reload that keeps a route keeps its count; pool
//! gates live in the pool's long-lived state.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError, Weak};

use crate::upstream::{Gate, GateGuard};

/// The slots held by one request, until its response ends.
#[derive(Debug, Default)]
pub struct Gates {
    /// The route's slot.
    pub route: Option<GateGuard>,
    /// The pool's slot.
    pub pool: Option<GateGuard>,
}

/// Route gates by route name; an entry lives while a config or a request
/// uses it.
#[derive(Debug, Default)]
pub struct RouteGates {
    gates: Mutex<HashMap<Arc<str>, Weak<Gate>>>,
}

impl RouteGates {
    /// The gate of the route called `name`.
    pub fn get(&self, name: &Arc<str>) -> Arc<Gate> {
        let mut map = self.gates.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(g) = map.get(name).and_then(Weak::upgrade) {
            return g;
        }
        map.retain(|_, w| w.strong_count() > 0);
        let g = Arc::new(Gate::default());
        map.insert(Arc::clone(name), Arc::downgrade(&g));
        g
    }
}
