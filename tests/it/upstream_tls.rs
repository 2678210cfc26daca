//! Upstream TLS (`https://` endpoints, `pools[].tls`): a test upstream
//! behind tokio-rustls with a certificate from a private CA made here.
//!
//! Trusted by the pool's `ca` it serves (health probes over TLS too); with
//! the system roots or another CA it is a 502 with a log line naming the
//! endpoint and the verification error; mTLS with `client_cert`; a changed
//! CA file reloads the config.

use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig};

use crate::common::process::ProxyProcess;
use crate::common::{config, eventually, get, wait_status, TestUpstream};
use crate::tls::{start_in, write_atomic, write_pair, Ca, Pair};

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// A server config presenting `pair`, offering `alpn`, and requiring a
/// client certificate from `client_ca` when given.
pub fn server_config(pair: &Pair, alpn: &[&[u8]], client_ca: Option<&str>) -> Arc<ServerConfig> {
    let chain = CertificateDer::pem_slice_iter(pair.cert.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    let key = PrivateKeyDer::from_pem_slice(pair.key.as_bytes()).unwrap();
    let builder = ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .unwrap();
    let builder = match client_ca {
        Some(pem) => {
            let mut roots = RootCertStore::empty();
            for c in CertificateDer::pem_slice_iter(pem.as_bytes()) {
                roots.add(c.unwrap()).unwrap();
            }
            let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider())
                .build()
                .unwrap();
            builder.with_client_cert_verifier(verifier)
        }
        None => builder.with_no_client_auth(),
    };
    let mut config = builder.with_single_cert(chain, key).unwrap();
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    Arc::new(config)
}

/// An HTTPS test upstream with a certificate for `localhost`, `127.0.0.1`
/// and `vendor.internal` from `ca`, speaking HTTP/1.1.
pub async fn https_upstream(ca: &Ca, client_ca: Option<&str>) -> TestUpstream {
    let pair = ca.server(&["localhost", "127.0.0.1", "vendor.internal"], "vendor");
    let config = server_config(&pair, &[b"http/1.1"], client_ca);
    TestUpstream::spawn_tls("vendor", config).await
}

/// One route to pool `p`, whose settings (before `endpoints`) are
/// `settings`, with the one endpoint `vendor` at `url`.
fn yaml(settings: &str, url: &str) -> String {
    config(&format!(
        "routes: [{{ name: r, pool: p }}]
pools:
  - {{ name: p, {settings} endpoints: [{{ name: vendor, url: '{url}' }}] }}
"
    ))
}

fn write(dir: &Path, name: &str, text: &str) {
    write_atomic(&dir.join(name), text);
}

#[tokio::test]
async fn https_upstream_trusted_by_the_pool_ca_serves_and_is_probed_over_tls() {
    let ca = Ca::new("Vendor CA");
    let up = https_upstream(&ca, None).await;
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "vendor-ca.pem", &ca.pem());
    let url = format!("https://localhost:{}", up.addr.port());
    let settings = "tls: { ca: vendor-ca.pem }, health_check: { path: /health, interval: 300ms, timeout: 250ms },";
    let proxy = start_in(dir.path(), &yaml(settings, &url)).await;
    let admin = proxy.admin_addr();
    wait_status(admin, Duration::from_secs(5), &[("p", "vendor", "healthy")]).await;
    assert!(up.probes() >= 1, "probes reach the upstream over TLS");
    let addr = proxy.listener_addr("web").unwrap();
    let reply = get(addr, "/headers").await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let seen: serde_json::Value = serde_json::from_str(&reply.body).unwrap();
    assert_eq!(seen["version"], "HTTP/1.1", "{seen}");
    assert_eq!(seen["uri"], "/headers", "{seen}");
    proxy.shutdown_within(Duration::from_secs(1)).await;
}

#[tokio::test]
async fn server_name_overrides_the_url_host() {
    let ca = Ca::new("Vendor CA");
    let pair = ca.server(&["vendor.internal"], "vendor");
    let up = TestUpstream::spawn_tls("vendor", server_config(&pair, &[b"http/1.1"], None)).await;
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "ca.pem", &ca.pem());
    let settings = "tls: { ca: ca.pem, server_name: vendor.internal },";
    let proxy = start_in(dir.path(), &yaml(settings, &up.url())).await;
    let reply = get(proxy.listener_addr("web").unwrap(), "/").await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.body, "vendor");
    proxy.shutdown_within(Duration::from_secs(1)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn untrusted_upstream_certificate_is_a_502_with_a_log_line() {
    let ca = Ca::new("Vendor CA");
    let up = https_upstream(&ca, None).await;
    let certs = tempfile::tempdir().unwrap();
    let other = certs.path().join("other-ca.pem");
    write_atomic(&other, &Ca::new("Another CA").pem());
    // Pool `sys` trusts the system roots, pool `other` another private CA.
    let url = up.url();
    let yaml = config(&format!(
        "routes:
  - {{ name: sys, match: {{ path_prefix: /sys }}, pool: sys }}
  - {{ name: other, match: {{ path_prefix: /other }}, pool: other }}
pools:
  - {{ name: sys, endpoints: [{{ name: vendor, url: '{url}' }}] }}
  - {{ name: other, tls: {{ ca: '{}' }}, endpoints: [{{ name: vendor2, url: '{url}' }}] }}
",
        other.display()
    ));
    let proxy = ProxyProcess::spawn(&yaml);
    for path in ["/sys", "/other"] {
        let reply = get(proxy.web(), path).await;
        assert_eq!(reply.status, 502, "{path}: {}", reply.body);
    }
    assert_eq!(up.hits(), 0);
    let lines = eventually(Duration::from_secs(5), || {
        let found = proxy.wait_logs("Upstream TLS handshake failed.");
        let both = ["sys", "other"]
            .iter()
            .all(|p| found.iter().any(|l| l["fields"]["pool"] == *p));
        std::future::ready(both.then_some(found))
    })
    .await;
    for (pool, endpoint) in [("sys", "vendor"), ("other", "vendor2")] {
        let line = lines
            .iter()
            .find(|l| l["fields"]["pool"] == pool)
            .unwrap_or_else(|| panic!("no line for pool {pool}: {lines:?}"));
        let f = &line["fields"];
        assert_eq!(f["endpoint"], endpoint, "{line}");
        assert_eq!(f["url"], url.as_str(), "{line}");
        assert_eq!(line["level"], "WARN", "{line}");
        let error = f["error"].as_str().unwrap();
        assert!(
            error.contains(&up.addr.to_string()) && error.contains("UnknownIssuer"),
            "{error}"
        );
    }
}

#[tokio::test]
async fn mtls_to_the_upstream_presents_the_pool_client_certificate() {
    let ca = Ca::new("Vendor CA");
    let clients = Ca::new("Client CA");
    let up = https_upstream(&ca, Some(&clients.pem())).await;
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "ca.pem", &ca.pem());
    write_pair(dir.path(), "client", &clients.client("switchyard"));
    write_pair(dir.path(), "stranger", &Ca::new("Other").client("stranger"));
    let tls = |cert: &str| {
        format!("tls: {{ ca: ca.pem, client_cert: {cert}.pem, client_key: {cert}.key }},")
    };
    let proxy = start_in(dir.path(), &yaml(&tls("client"), &up.url())).await;
    let addr = proxy.listener_addr("web").unwrap();
    let reply = get(addr, "/").await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(up.client_certs.load(Ordering::Relaxed), 1);
    // Without a certificate, or with one from a CA the upstream does not
    // trust, the upstream refuses the handshake.
    for settings in ["tls: { ca: ca.pem },".to_string(), tls("stranger")] {
        let report =
            crate::common::reload(&proxy, &yaml_in(dir.path(), &settings, &up.url())).await;
        assert_eq!(report.result, "success", "{report:?}");
        let reply = get(addr, "/").await;
        assert_eq!(reply.status, 502, "{settings}: {}", reply.body);
    }
    assert_eq!(up.hits(), 1);
    proxy.shutdown_within(Duration::from_secs(1)).await;
}

/// `yaml` with relative files made absolute under `dir` (for `reload`,
/// which parses text without a directory).
fn yaml_in(dir: &Path, settings: &str, url: &str) -> String {
    let settings = settings
        .replace("ca.pem", &dir.join("ca.pem").display().to_string())
        .replace("client_cert: ", &format!("client_cert: {}/", dir.display()))
        .replace("client_key: ", &format!("client_key: {}/", dir.display()));
    yaml(&settings, url)
}

#[tokio::test]
async fn a_changed_pool_ca_file_reloads_the_config() {
    let ca = Ca::new("Vendor CA");
    let up = https_upstream(&ca, None).await;
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "ca.pem", &Ca::new("Stale CA").pem());
    let proxy = start_in(dir.path(), &yaml("tls: { ca: ca.pem },", &up.url())).await;
    let addr = proxy.listener_addr("web").unwrap();
    assert_eq!(get(addr, "/").await.status, 502);
    write(dir.path(), "ca.pem", &ca.pem());
    eventually(Duration::from_secs(10), || async {
        (get(addr, "/").await.status == 200).then_some(())
    })
    .await;
    proxy.shutdown_within(Duration::from_secs(1)).await;
}
