//! `GET /tls`: the active config's TLS as JSON: per TLS listener, its
//! certificates (files, names served, expiry) and client verification;
//! per pool with `https://` endpoints, its protocol, trust, SNI override
//! and client certificate.
//!
//! Owns: the shape of that document. Expiry is given as RFC 3339, as Unix
//! seconds and as seconds left (negative once expired); `null` where the
//! certificate's validity could not be read. No key material is shown.

use serde_json::{json, Value};

use crate::config::Trust;
use crate::proxy::Dataplane;
use crate::tls::x509;

/// The document.
pub fn document(dp: &Dataplane) -> Value {
    let now = x509::unix_now();
    let listeners: Vec<Value> = dp
        .tls
        .iter()
        .map(|t| {
            let certificates: Vec<Value> = t
                .spec
                .certificates
                .iter()
                .zip(&t.names)
                .zip(&t.not_after)
                .enumerate()
                .map(|(i, ((c, names), at))| {
                    let mut doc = json!({
                        "cert": c.cert.display().to_string(),
                        "key": c.key.display().to_string(),
                        "names": names,
                        "default": i == 0,
                    });
                    add_expiry(&mut doc, *at, now);
                    doc
                })
                .collect();
            json!({
                "listener": &*t.listener,
                "certificates": certificates,
                "client_auth": t.spec.client_auth.as_ref().map(|a| json!({
                    "ca": a.ca.display().to_string(),
                    "required": a.required,
                })),
            })
        })
        .collect();
    let pools: Vec<Value> = dp
        .tls
        .pools()
        .map(|p| {
            let protocol = dp
                .config
                .pools
                .iter()
                .find(|c| c.name == p.pool)
                .map(|c| c.protocol.as_str());
            let client_cert = p.spec.client_cert.as_ref().map(|c| {
                let mut doc = json!({
                    "cert": c.cert.display().to_string(),
                    "key": c.key.display().to_string(),
                });
                add_expiry(&mut doc, p.client_cert_not_after, now);
                doc
            });
            json!({
                "pool": &*p.pool,
                "protocol": protocol,
                "trust": match &p.spec.trust {
                    Trust::System => json!("system"),
                    Trust::Ca(path) => json!({ "ca": path.display().to_string() }),
                    Trust::Any => json!("insecure_skip_verify"),
                },
                "server_name": p.spec.server_name.as_deref(),
                "client_cert": client_cert,
            })
        })
        .collect();
    json!({ "generation": dp.generation, "listeners": listeners, "pools": pools })
}

fn add_expiry(doc: &mut Value, not_after: Option<i64>, now: i64) {
    doc["not_after"] = not_after.map_or(Value::Null, |t| json!(x509::rfc3339(t)));
    doc["not_after_unix"] = not_after.map_or(Value::Null, |t| json!(t));
    doc["expires_in_seconds"] = not_after.map_or(Value::Null, |t| json!(t - now));
}
