//! The demo's admin routes under `/demo/`: list the vendors and change a
//! vendor's error rate or latency while the demo runs.
//!
//! Owns: the `/demo/` paths. They exist only in demo mode: `demo::start`
//! plugs this extension into the admin listener; `switchyard run` never
//! does, so there these paths are 404.

use std::sync::Arc;

use http::{Method, StatusCode};
use serde_json::{json, Value};

use super::vendor::{Vendor, MAX_LATENCY_MS};
use crate::admin::Extension;

/// The `/demo/` routes over the demo's vendors.
#[derive(Debug)]
pub struct DemoControl {
    vendors: Vec<Arc<Vendor>>,
}

impl DemoControl {
    /// Controls over `vendors`.
    pub fn new(vendors: Vec<Arc<Vendor>>) -> Self {
        Self { vendors }
    }

    fn list(&self) -> Value {
        let vendors: Vec<Value> = self.vendors.iter().map(|v| v.document()).collect();
        json!({ "vendors": vendors })
    }

    fn set(&self, name: &str, knob: &str, query: Option<&str>) -> (StatusCode, Value) {
        let Some(vendor) = self.vendors.iter().find(|v| v.name == name) else {
            return error(StatusCode::NOT_FOUND, format!("no demo vendor {name:?}"));
        };
        match knob {
            "errors" => match param(query, "rate").and_then(|r| r.parse::<f64>().ok()) {
                Some(rate) if (0.0..=1.0).contains(&rate) => vendor.set_error_rate(rate),
                _ => {
                    return error(
                        StatusCode::BAD_REQUEST,
                        "expected ?rate=R with R from 0 to 1, such as ?rate=0.3".into(),
                    )
                }
            },
            "latency" => match param(query, "ms").and_then(|m| m.parse::<u64>().ok()) {
                Some(ms) if ms <= MAX_LATENCY_MS => vendor.set_latency_ms(ms),
                _ => {
                    return error(
                        StatusCode::BAD_REQUEST,
                        format!("expected ?ms=N with N from 0 to {MAX_LATENCY_MS}"),
                    )
                }
            },
            _ => return error(StatusCode::NOT_FOUND, format!("no demo control {knob:?}")),
        }
        tracing::info!(
            vendor = %vendor.name,
            error_rate = vendor.error_rate(),
            latency_ms = u64::try_from(vendor.latency().as_millis()).unwrap_or(u64::MAX),
            "Demo vendor changed."
        );
        (StatusCode::OK, json!({ "vendor": vendor.document() }))
    }
}

impl Extension for DemoControl {
    fn prefix(&self) -> &'static str {
        "/demo/"
    }

    fn handle(&self, method: &Method, path: &str, query: Option<&str>) -> (StatusCode, Value) {
        let parts: Option<Vec<&str>> = path
            .strip_prefix("/demo/vendors")
            .filter(|rest| rest.is_empty() || rest.starts_with('/'))
            .map(|rest| rest.split('/').skip(1).collect());
        match (method, parts.as_deref().unwrap_or(&["?", "?", "?"])) {
            (&Method::GET, []) => (StatusCode::OK, self.list()),
            (&Method::POST, [name, knob]) => self.set(name, knob, query),
            (_, [] | [_, "errors" | "latency"]) => {
                error(StatusCode::METHOD_NOT_ALLOWED, "method not allowed".into())
            }
            _ => error(
                StatusCode::NOT_FOUND,
                "demo paths: GET /demo/vendors, POST /demo/vendors/NAME/errors?rate=R, \
                 POST /demo/vendors/NAME/latency?ms=N"
                    .into(),
            ),
        }
    }
}

fn error(status: StatusCode, message: String) -> (StatusCode, Value) {
    (status, json!({ "error": message }))
}

/// The value of `name` in a query string (no percent-decoding: the values
/// here are numbers).
fn param<'a>(query: Option<&'a str>, name: &str) -> Option<&'a str> {
    query?
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_params() {
        assert_eq!(param(Some("rate=0.3"), "rate"), Some("0.3"));
        assert_eq!(param(Some("x=1&rate=1"), "rate"), Some("1"));
        assert_eq!(param(Some("rate"), "rate"), None);
        assert_eq!(param(None, "rate"), None);
    }
}
