//! The one integration test binary: every suite runs against real upstream
//! servers on ephemeral loopback ports, through the real listener (in
//! process) or the real binary (`process` helpers).

#![allow(
    unreachable_pub,
    missing_docs,
    clippy::unwrap_used,
    clippy::expect_used
)]

#[path = "../common/mod.rs"]
mod common;

mod access_log;
mod balancing;
mod check;
mod data_path;
mod demo;
mod fleet;
mod grpc;
mod grpc_errors;
mod health;
mod health_reload;
mod limits;
mod metrics;
mod netem;
mod operations;
mod outlier;
mod plugin_sdk;
mod plugins;
mod process;
mod reload;
mod reload_load;
mod retries;
mod scoring;
mod scoring_breaker;
mod shutdown;
mod status_page;
mod tls;
mod upstream_h2;
mod upstream_pool;
mod upstream_tls;
mod websocket;
