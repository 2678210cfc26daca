//! HTTP clients to upstream endpoints: keep-alive pools per endpoint.

use std::time::Duration;

use hyper::body::Incoming;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioTimer};

/// The body type sent upstream: the client's body, streamed as it arrives.
pub type UpstreamBody = Incoming;

/// A pooled client to one endpoint.
pub type UpstreamClient = Client<HttpConnector, UpstreamBody>;

/// Settings that shape an endpoint's client; a change rebuilds the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientSettings {
    /// TCP connect timeout.
    pub connect_timeout: Duration,
    /// Idle keep-alive connection lifetime (0 = no pooling).
    pub idle_timeout: Duration,
}

/// Builds a keep-alive client.
pub fn build_client(settings: ClientSettings) -> UpstreamClient {
    let mut connector = HttpConnector::new();
    connector.set_nodelay(true);
    connector.set_connect_timeout(Some(settings.connect_timeout));
    connector.enforce_http(true);
    let mut builder = Client::builder(TokioExecutor::new());
    builder
        .pool_timer(TokioTimer::new())
        .timer(TokioTimer::new())
        // The proxy sets Host itself (the client's Host is kept).
        .set_host(false)
        .retry_canceled_requests(false);
    if settings.idle_timeout.is_zero() {
        builder.pool_max_idle_per_host(0);
    } else {
        builder
            .pool_idle_timeout(settings.idle_timeout)
            .pool_max_idle_per_host(usize::MAX);
    }
    builder.build(connector)
}
