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
#[path = "../oracle/mod.rs"]
mod oracle;

mod access_log;
mod admin_token;
mod balancing;
mod check;
mod data_path;
mod demo;
mod fast_path;
mod faults;
mod fleet;
mod grpc;
mod grpc_errors;
mod health;
mod health_reload;
mod hostile;
mod inline_h1;
mod limits;
mod metrics;
mod netem;
mod operations;
mod outlier;
mod plugin_sdk;
mod plugins;
mod process;
mod props;
mod reload;
mod reload_load;
mod retries;
mod scoring;
mod scoring_breaker;
mod shedding;
mod shutdown;
mod smuggling;
mod status_page;
mod timeouts;
mod tls;
mod upstream_h2;
mod upstream_pool;
mod upstream_tls;
mod websocket;
