//! Pool validation: pool settings, endpoints and endpoint URLs.
//!
//! Owns: the rules and error wording for `pools[]` and
//! `pools[].endpoints[]`. Health checks and outlier detection are checked in
//! `validate_resilience`; duplicate pool names in `validate`. Must not: look
//! at routes.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use http::uri::{Scheme, Uri};

use super::defaults;
use super::raw::{RawBalancer, RawEndpoint, RawPool, RawProtocol, RawWhenNoneHealthy};
use super::resilience::{HealthCheck, WhenNoneHealthy};
use super::snapshot::{BalancerKind, Endpoint, EndpointUrl, Pool, Protocol};
use super::validate::{check_name, Issues};
use super::validate_plugins::PluginIndex;
use super::validate_resilience;

pub(super) fn pool(
    issues: &mut Issues<'_>,
    i: usize,
    p: &RawPool,
    plugins: &PluginIndex<'_>,
    base_dir: Option<&Path>,
) -> Pool {
    let base = format!("pools[{i}]");
    check_name(issues, &format!("{base}.name"), &p.name);
    let connect_timeout = issues.duration(
        &format!("{base}.connect_timeout"),
        p.connect_timeout.as_deref(),
        defaults::CONNECT_TIMEOUT,
        false,
    );
    let idle_timeout = issues.duration(
        &format!("{base}.idle_timeout"),
        p.idle_timeout.as_deref(),
        defaults::IDLE_TIMEOUT,
        true,
    );
    if p.endpoints.is_empty() {
        issues.error(
            format!("{base}.endpoints"),
            "a pool needs at least one endpoint",
        );
    }
    let health_check = validate_resilience::health_check(
        issues,
        &format!("{base}.health_check"),
        p.health_check.as_ref(),
    );
    let outlier = validate_resilience::outlier(
        issues,
        &format!("{base}.outlier_detection"),
        &p.outlier_detection,
    );
    let mut names = HashMap::new();
    let mut endpoints = Vec::new();
    for (j, e) in p.endpoints.iter().enumerate() {
        let path = format!("{base}.endpoints[{j}]");
        if let Some(first) = names.insert(e.name.as_str(), j) {
            issues.error(
                format!("{path}.name"),
                format!(
                    "duplicate endpoint name {:?} in pool {:?} (first used by endpoints[{first}])",
                    e.name, p.name
                ),
            );
        }
        let mut ep = endpoint(issues, &path, e, health_check.as_ref());
        ep.plugins = plugins.resolve(issues, &e.plugins, || format!("{path}.plugins"));
        endpoints.push(ep);
    }
    if !endpoints.is_empty() && endpoints.iter().all(|e| e.weight == 0) {
        issues.warn(
            format!("{base}.endpoints"),
            format!(
                "every endpoint of pool {:?} has weight 0, so it serves nothing",
                p.name
            ),
        );
    }
    let tls = super::validate_tls::pool_tls(
        issues,
        &format!("{base}.tls"),
        &p.name,
        p.tls.as_ref(),
        endpoints.iter().any(|e| e.url.is_tls()),
        base_dir,
    );
    Pool {
        name: Arc::from(p.name.as_str()),
        protocol: match p.protocol.unwrap_or_default() {
            RawProtocol::Http1 => Protocol::Http1,
            RawProtocol::Http2 => Protocol::Http2,
        },
        tls,
        limits: super::validate_limits::pool_limits(
            issues,
            &format!("{base}.limits"),
            p.limits.as_ref(),
        ),
        balancer: match p.balancer {
            RawBalancer::WeightedRoundRobin => BalancerKind::WeightedRoundRobin,
            RawBalancer::RoundRobin => BalancerKind::RoundRobin,
            RawBalancer::Random => BalancerKind::Random,
            RawBalancer::LeastRequest => BalancerKind::LeastRequest,
        },
        connect_timeout,
        idle_timeout,
        plugins: plugins.resolve(issues, &p.plugins, || format!("{base}.plugins")),
        max_concurrent: super::validate_limits::max_concurrent(
            issues,
            &format!("{base}.max_concurrent_requests"),
            p.max_concurrent_requests,
        ),
        endpoints,
        health_check,
        outlier,
        scoring: super::validate_scoring::scoring(
            issues,
            &format!("{base}.scoring"),
            p.scoring.as_ref(),
        ),
        when_none_healthy: match p.when_none_healthy {
            RawWhenNoneHealthy::Any => WhenNoneHealthy::Any,
            RawWhenNoneHealthy::Fail => WhenNoneHealthy::Fail,
        },
    }
}

fn endpoint(
    issues: &mut Issues<'_>,
    path: &str,
    e: &RawEndpoint,
    pool_check: Option<&HealthCheck>,
) -> Endpoint {
    check_name(issues, &format!("{path}.name"), &e.name);
    let weight = e.weight.unwrap_or(defaults::ENDPOINT_WEIGHT);
    if weight > defaults::MAX_WEIGHT {
        issues.error(
            format!("{path}.weight"),
            format!(
                "{weight} is more than the limit of {}",
                defaults::MAX_WEIGHT
            ),
        );
    }
    let cost = e.cost.unwrap_or(defaults::ENDPOINT_COST);
    if !cost.is_finite() || cost < 0.0 {
        issues.error(
            format!("{path}.cost"),
            format!("{cost} must be a finite number >= 0"),
        );
    }
    Endpoint {
        name: Arc::from(e.name.as_str()),
        url: endpoint_url(issues, &format!("{path}.url"), &e.url),
        weight: weight.min(defaults::MAX_WEIGHT),
        cost,
        check: validate_resilience::endpoint_check(
            issues,
            &format!("{path}.health_check"),
            e.health_check.as_ref(),
            pool_check,
        ),
        plugins: Vec::new(),
    }
}

fn endpoint_url(issues: &mut Issues<'_>, path: &str, text: &str) -> EndpointUrl {
    let fallback = || EndpointUrl {
        scheme: Scheme::HTTP,
        authority: http::uri::Authority::from_static("invalid.invalid:80"),
        base_path: String::new(),
        original: text.to_string(),
    };
    // Messages show the URL without any `user:password@`.
    let shown = super::secret::url_for_display(text);
    let uri: Uri = match text.parse() {
        Ok(u) => u,
        Err(e) => {
            issues.error(path, format!("invalid URL {shown:?}: {e}"));
            return fallback();
        }
    };
    let (Some(scheme), Some(authority)) = (uri.scheme(), uri.authority()) else {
        issues.error(
            path,
            format!("invalid URL {shown:?}: expected http://HOST:PORT or https://HOST:PORT"),
        );
        return fallback();
    };
    if scheme != &Scheme::HTTP && scheme != &Scheme::HTTPS {
        issues.error(
            path,
            format!("unsupported scheme {scheme:?} in {shown:?}: use http:// or https://"),
        );
        return fallback();
    }
    if authority.as_str().contains('@') {
        issues.error(
            path,
            format!("credentials in URL {shown:?} are not allowed (they would be shown in /upstreams and logs)"),
        );
        return fallback();
    }
    if text.contains('#') {
        issues.error(path, format!("URL {shown:?} must not have a fragment"));
        return fallback();
    }
    if uri.query().is_some() {
        issues.error(path, format!("URL {shown:?} must not have a query"));
        return fallback();
    }
    let url = EndpointUrl {
        scheme: scheme.clone(),
        authority: authority.clone(),
        base_path: uri.path().trim_end_matches('/').to_string(),
        original: text.to_string(),
    };
    if url.is_tls() && rustls_pki_types::ServerName::try_from(url.host()).is_err() {
        issues.error(
            path,
            format!(
                "{:?} in {shown:?} is neither a DNS name nor an IP address, so TLS cannot verify it",
                url.host()
            ),
        );
    }
    url
}
