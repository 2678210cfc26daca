//! The request path with plugins: the route's request callbacks, the
//! attempt (with the pool's and endpoint's callbacks per try), then every
//! response callback in reverse. Kept apart (and boxed by the caller) so
//! that its state stays off the future of a request without plugins.

use std::sync::Arc;
use std::time::Instant;

use http::{Request, Response, StatusCode};

use super::super::attempt::{self, Answer, Sent, Tried};
use super::super::body::{Completion, ResponseBody};
use super::super::error::ProxyError;
use super::super::forward;
use super::super::plugins::{self, Early, Tail};
use super::super::upgrade;
use super::{with_status, ConnCtx};
use crate::plugin::{Active, Props};
use crate::routing;
use crate::upstream::{ClientBody, RequestBody};

/// What the plugin path needs besides the request.
pub(super) struct WithPlugins<'a> {
    pub(super) ctx: &'a ConnCtx,
    pub(super) route: &'a routing::Route,
    pub(super) pool: &'a crate::upstream::PoolRuntime,
    pub(super) start: Instant,
    pub(super) needs_host: bool,
    pub(super) client_upgrade: Option<hyper::upgrade::OnUpgrade>,
    pub(super) chain: Option<&'a Arc<[Arc<crate::plugin::Plugin>]>>,
}

/// The request path with plugins: the route's request callbacks, then the
/// pool's and endpoint's per attempt, then every response callback in
/// reverse.
pub(super) async fn with_plugins(
    with: WithPlugins<'_>,
    mut parts: http::request::Parts,
    body: ClientBody,
    tried: &mut Tried,
    completion: impl Fn(u16, Option<crate::upstream::InFlight>, Option<Active>) -> Completion,
) -> Result<Response<ResponseBody>, ProxyError> {
    let WithPlugins {
        ctx,
        route,
        pool,
        start,
        needs_host,
        client_upgrade,
        chain,
    } = with;
    let props = Arc::new(Props {
        source: Some(ctx.peer),
        scheme: ctx.proto,
        route: Arc::clone(&route.name),
        pool: Arc::clone(&pool.name),
        endpoint: None,
        upstream: None,
    });
    let deadline = attempt::deadline(start, route.timeout);
    let mut active = Active::new();
    let body = match chain {
        Some(chain) => {
            let body = RequestBody::Stream(body);
            match plugins::on_request(&mut active, chain, &mut parts, body, &props, deadline).await
            {
                Ok(b) => b,
                Err(Early::Reply(r)) => {
                    return Ok(with_status(plugins::local_response(
                        r,
                        completion(0, None, Some(active)),
                    )));
                }
                Err(Early::Error(e)) => return Err(e),
            }
        }
        None => RequestBody::Stream(body),
    };
    // Plugins may have edited the headers: the upgrade is judged on what
    // goes upstream.
    let shape = attempt::Shape {
        needs_host,
        upgrade: forward::wants_upgrade(parts.version, &parts.headers),
        timer: None,
        fields: crate::upstream::HeadFields::Map,
        added: crate::upstream::Added::default(),
    };
    let request = Request::from_parts(parts, body);
    let answer = attempt::send(pool, route, request, shape, start, Some(&props), tried).await?;
    let (sent, ep_active) = match answer {
        Answer::Upstream(sent, a) => (sent, a),
        Answer::Local(r, a) => {
            active.absorb(a);
            return Ok(with_status(plugins::local_response(
                r,
                completion(0, None, Some(active)),
            )));
        }
    };
    active.absorb(ep_active);
    let Sent {
        response,
        lease,
        in_flight,
    } = sent;
    // Response callbacks do not run on a 101: there is no response to edit
    // but its head, and the body that follows is another protocol.
    if response.status() == StatusCode::SWITCHING_PROTOCOLS {
        let client = client_upgrade.ok_or(ProxyError::UnexpectedUpgrade)?;
        let c = completion(101, Some(in_flight), Some(active));
        return Ok(upgrade::switch(ctx, client, (response, lease), route, c));
    }
    let (mut parts, body) = response.into_parts();
    forward::prepare_response(&mut parts, route);
    let tail = match plugins::on_response(&mut active, &mut parts, body, lease).await {
        Ok(t) => t,
        Err(Early::Reply(r)) => {
            return Ok(with_status(plugins::local_response(
                r,
                completion(0, Some(in_flight), Some(active)),
            )));
        }
        Err(Early::Error(e)) => return Err(e),
    };
    let completion = completion(parts.status.as_u16(), Some(in_flight), Some(active));
    let body = match tail {
        Tail::Stream(body, lease) => ResponseBody::upstream(body, completion, lease),
        Tail::Full(bytes) => ResponseBody::full(bytes, Some(completion)),
        Tail::Prefixed(prefix, rest, lease) => {
            ResponseBody::upstream_prefixed(prefix, rest, completion, lease)
        }
    };
    Ok(Response::from_parts(parts, body))
}
