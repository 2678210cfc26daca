//! A pool as one config snapshot sees it: endpoints linked to their
//! long-lived state, plus the balancer.

use std::sync::Arc;

use super::balancer::{Balancer, PoolView};
use super::client::UpstreamClient;
use super::registry::EndpointState;
use crate::config::{Endpoint, Pool};

/// An endpoint of a pool in one snapshot.
#[derive(Debug)]
pub struct LinkedEndpoint {
    /// Configuration.
    pub config: Endpoint,
    /// Long-lived state.
    pub state: Arc<EndpointState>,
    /// Pooled client.
    pub client: UpstreamClient,
}

/// A pool in one snapshot.
#[derive(Debug)]
pub struct PoolRuntime {
    /// Name.
    pub name: Arc<str>,
    /// Endpoints in config order.
    pub endpoints: Vec<LinkedEndpoint>,
    balancer: Balancer,
}

impl PoolRuntime {
    /// Builds the runtime pool from config and linked state.
    pub fn new(pool: &Pool, linked: Vec<(Arc<EndpointState>, UpstreamClient)>) -> Self {
        let weights: Vec<u32> = pool.endpoints.iter().map(|e| e.weight).collect();
        let endpoints = pool
            .endpoints
            .iter()
            .zip(linked)
            .map(|(config, (state, client))| LinkedEndpoint {
                config: config.clone(),
                state,
                client,
            })
            .collect();
        Self {
            name: Arc::clone(&pool.name),
            endpoints,
            balancer: Balancer::new(pool.balancer, &weights),
        }
    }

    /// Picks an endpoint, or `None` when none is eligible.
    pub fn select(&self) -> Option<&LinkedEndpoint> {
        self.balancer.pick(self).map(|i| &self.endpoints[i])
    }
}

impl PoolView for PoolRuntime {
    fn len(&self) -> usize {
        self.endpoints.len()
    }
    fn weight(&self, i: usize) -> u32 {
        self.endpoints[i].config.weight
    }
    fn in_flight(&self, i: usize) -> u64 {
        self.endpoints[i].state.in_flight()
    }
}
