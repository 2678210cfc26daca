//! Which listeners a reload keeps, hands over or binds: the rules
//! `reload.rs` applies before and after the swap.

use std::collections::HashMap;
use std::sync::Arc;

use tokio::net::TcpListener;

use super::server::{self, ListenerHandle};
use crate::config::Config;

/// Whether running listener `h` serves a config listener at `addr` of the
/// same name unchanged: the configured address, or the address it actually
/// bound (a config that pins the port picked for `:0`).
pub(super) fn keeps(h: &ListenerHandle, addr: std::net::SocketAddr) -> bool {
    h.configured == addr || (addr.port() != 0 && h.addr == addr)
}

/// Whether a new listener at `addr` can take over `h`'s socket. A `:0`
/// address asks for a fresh port, never an old one.
pub(super) fn same_place(h: &ListenerHandle, addr: std::net::SocketAddr) -> bool {
    addr.port() != 0 && (h.configured == addr || h.addr == addr)
}

/// Binds the listeners `config` adds, before the swap, by name.
pub(super) fn plan_listeners(
    running: &[ListenerHandle],
    config: &Config,
) -> Result<HashMap<Arc<str>, TcpListener>, Vec<String>> {
    let mut bound = HashMap::new();
    let mut errors = Vec::new();
    for (i, l) in config.listeners.iter().enumerate() {
        if running
            .iter()
            .any(|h| h.name == l.name && keeps(h, l.listen))
        {
            continue;
        }
        // Same address as a listener about to go: take its socket over.
        let handed_over = running.iter().any(|h| {
            same_place(h, l.listen)
                && !config
                    .listeners
                    .iter()
                    .any(|n| n.name == h.name && keeps(h, n.listen))
        });
        if handed_over {
            continue;
        }
        match server::bind(l.listen) {
            Ok(s) => {
                bound.insert(Arc::clone(&l.name), s);
            }
            Err(e) => errors.push(format!(
                "listeners[{i}].listen: cannot bind {}: {e}",
                l.listen
            )),
        }
    }
    if errors.is_empty() {
        Ok(bound)
    } else {
        Err(errors)
    }
}
