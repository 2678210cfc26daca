//! The data path: listeners, the per-request pipeline, forwarding, and the
//! one mapping from errors to responses.
//!
//! Owns: everything between a client's bytes and an upstream client call.
//! Must not: parse config files or hold state that must survive a reload
//! (that lives in `upstream::Registry`).

mod activity;
mod attempt;
pub mod body;
pub mod changes;
pub mod dataplane;
mod drain_watch;
pub mod error;
pub mod forward;
mod gates;
mod h1;
pub mod handler;
mod head_scan;
mod lazy_timer;
mod log_limit;
mod plugins;
pub mod reload;
mod reload_listeners;
mod reload_report;
mod retry_after;
mod sanitize;
pub mod server;
mod upgrade;
mod watched;

pub use changes::{Changes, Diff};
pub use dataplane::{Dataplane, Shared};
pub use error::ProxyError;
pub use reload::Control;
pub use reload_report::{LastReload, ReloadReport, Trigger};
pub use server::{Drain, DrainState, ListenerHandle};
