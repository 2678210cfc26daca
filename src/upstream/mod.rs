//! Upstreams: pools of endpoints, their clients, and balancing.
//!
//! Owns: long-lived per-endpoint state (`Registry`, keyed by pool + endpoint
//! name + URL so it survives reloads), the per-snapshot pool view the
//! balancer picks from, and the HTTP clients. Must not: know about routes
//! or listeners.

pub mod balancer;
mod body;
mod budget;
mod client;
mod connect;
mod error;
mod gate;
mod h1;
mod h2;
pub mod health;
mod pool;
mod pool_state;
mod registry;
mod response;
pub mod scoring;
mod slots;

pub use body::{buffer, collect, prefixed_size_hint, BodyError, ClientBody, Replay, RequestBody};
pub use budget::RetryBudget;
pub use client::{
    build_client, tick_clock, Added, ClientSettings, HeadFields, Lease, SendFailure, UpstreamBody,
    UpstreamClient, UpstreamError,
};
pub use connect::{Dial, Io, Security, TlsDial};
pub use gate::{Gate, GateGuard};
pub use h1::{InlineBody, InlineError};
pub use pool::{LinkedEndpoint, Pick, PoolRuntime};
pub use pool_state::{PoolState, Roster};
pub use registry::{EndpointKey, EndpointState, InFlight, Linked, Registry};
pub use response::{ResponseStream, StreamError};
