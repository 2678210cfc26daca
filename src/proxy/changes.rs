//! What a reload changed: counts by kind for the report and the log line,
//! and removal of metric series that no longer have an owner.

use std::collections::{HashMap, HashSet};

use serde::Serialize;

use super::dataplane::Shared;
use crate::config::Config;
use crate::tls::TlsSet;

/// Counts of what a reload changed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Diff {
    /// New names.
    pub added: usize,
    /// Names gone.
    pub removed: usize,
    /// Same name, different settings.
    pub changed: usize,
}

/// Per kind of object, what a reload changed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Changes {
    /// Listeners.
    pub listeners: Diff,
    /// Routes.
    pub routes: Diff,
    /// Pools.
    pub pools: Diff,
    /// Endpoints (by pool and name).
    pub endpoints: Diff,
    /// Listeners' TLS, by listener name: added (a listener that serves TLS
    /// now and did not), removed (the reverse, or a TLS listener removed),
    /// changed (new settings or new file contents: a rotated certificate).
    pub tls: Diff,
}

pub(super) fn fmt_diff(d: &Diff) -> String {
    format!("+{} -{} ~{}", d.added, d.removed, d.changed)
}

/// Counts added, removed and changed objects by name, comparing the
/// configs as written, and the listeners' TLS as loaded.
pub(super) fn diff(old: &Config, new: &Config, tls: (&TlsSet, &TlsSet)) -> Changes {
    let named = |v: &serde_json::Value, key: &str| -> HashMap<String, serde_json::Value> {
        v.get(key)
            .and_then(|a| a.as_array())
            .map(|a| {
                a.iter()
                    .filter_map(|x| Some((x.get("name")?.as_str()?.to_string(), x.clone())))
                    .collect()
            })
            .unwrap_or_default()
    };
    let count =
        |a: &HashMap<String, serde_json::Value>, b: &HashMap<String, serde_json::Value>| Diff {
            added: b.keys().filter(|k| !a.contains_key(*k)).count(),
            removed: a.keys().filter(|k| !b.contains_key(*k)).count(),
            changed: b
                .iter()
                .filter(|(k, v)| a.get(*k).is_some_and(|o| o != *v))
                .count(),
        };
    let endpoints = |c: &Config| -> HashMap<String, serde_json::Value> {
        named(&c.source, "pools")
            .into_iter()
            .flat_map(|(pool, p)| {
                named(&p, "endpoints")
                    .into_iter()
                    .map(move |(e, v)| (format!("{pool}/{e}"), v))
            })
            .collect()
    };
    let strip_endpoints =
        |m: HashMap<String, serde_json::Value>| -> HashMap<String, serde_json::Value> {
            m.into_iter()
                .map(|(k, mut v)| {
                    if let Some(o) = v.as_object_mut() {
                        o.remove("endpoints");
                    }
                    (k, v)
                })
                .collect()
        };
    let old_listeners: HashSet<&str> = old.listeners.iter().map(|l| &*l.name).collect();
    let new_listeners: HashSet<&str> = new.listeners.iter().map(|l| &*l.name).collect();
    Changes {
        listeners: Diff {
            added: new_listeners.difference(&old_listeners).count(),
            removed: old_listeners.difference(&new_listeners).count(),
            changed: new
                .listeners
                .iter()
                .filter(|n| old.listeners.iter().any(|o| o.name == n.name && o != *n))
                .count(),
        },
        routes: count(&named(&old.source, "routes"), &named(&new.source, "routes")),
        pools: count(
            &strip_endpoints(named(&old.source, "pools")),
            &strip_endpoints(named(&new.source, "pools")),
        ),
        endpoints: count(&endpoints(old), &endpoints(new)),
        tls: tls_diff(tls.0, tls.1),
    }
}

fn tls_diff(old: &TlsSet, new: &TlsSet) -> Diff {
    let has = |s: &TlsSet, name: &str| s.iter().any(|t| &*t.listener == name);
    Diff {
        added: new.iter().filter(|t| !has(old, &t.listener)).count(),
        removed: old.iter().filter(|t| !has(new, &t.listener)).count(),
        changed: new
            .iter()
            .filter(|t| has(old, &t.listener) && !old.same_for(new, &t.listener))
            .count(),
    }
}

/// Removes request series of (listener, route) pairs the new config lacks,
/// and the upgraded-connections series of removed listeners (unless some
/// are still open).
pub(super) fn remove_stale_route_series(shared: &Shared, old: &Config, new: &Config) {
    let routes: HashSet<&str> = new.routes.routes().iter().map(|r| &*r.name).collect();
    let listeners: HashSet<&str> = new.listeners.iter().map(|l| &*l.name).collect();
    for l in &old.listeners {
        let listener_gone = !listeners.contains(&*l.name);
        if listener_gone {
            shared.metrics.remove_route(&l.name, "");
            shared.metrics.remove_upgraded(&l.name);
            shared.metrics.tls.remove_listener(&l.name);
        }
        for r in old.routes.routes() {
            if listener_gone || !routes.contains(&*r.name) {
                shared.metrics.remove_route(&l.name, &r.name);
            }
        }
    }
}
