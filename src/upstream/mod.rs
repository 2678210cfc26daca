//! Upstreams: pools of endpoints, their clients, and balancing.
//!
//! Owns: long-lived per-endpoint state (`Registry`, keyed by pool + endpoint
//! name + URL so it survives reloads), the per-snapshot pool view the
//! balancer picks from, and the HTTP clients. Must not: know about routes
//! or listeners.

pub mod balancer;
mod client;
mod pool;
mod registry;

pub use client::{
    build_client, tick_clock, ClientSettings, Lease, UpstreamBody, UpstreamClient, UpstreamError,
};
pub use pool::{LinkedEndpoint, PoolRuntime};
pub use registry::{EndpointKey, EndpointState, InFlight, Linked, Registry};
