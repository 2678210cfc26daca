//! What an operator sees of TLS: `switchyard_tls_handshakes_total` by
//! result, `switchyard_tls_certificate_expiry_timestamp_seconds` for
//! listener and pool client certificates (rewritten on reload), `GET /tls`,
//! the protocol and TLS of pools in `GET /upstreams`, and session
//! resumption (`session_resumption`, `switchyard_tls_resumed_handshakes_total`).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::Request;
use http_body_util::Full;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use rustls::HandshakeKind;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::{client_config, connect, get1, http1, start_in, write_atomic, write_pair, yaml, Ca};
use crate::common::{eventually, get, metric, metrics_text, send, TestUpstream};

const HANDSHAKES: &str = "switchyard_tls_handshakes_total";
const EXPIRY: &str = "switchyard_tls_certificate_expiry_timestamp_seconds";

/// Midnight UTC of 2031-07-04 and 2033-01-15, as Unix seconds.
const JULY_2031: f64 = 1_940_889_600.0;
const JAN_2033: f64 = 1_989_360_000.0;

fn config(up_port: u16) -> String {
    format!(
        "version: 1
runtime: {{ worker_threads: 2, shutdown_timeout: 5s }}
admin: {{ listen: '127.0.0.1:0' }}
reload: {{ watch: false, poll_interval: 0s }}
listeners:
  - name: web
    listen: '127.0.0.1:0'
    tls:
      certificates: [ {{ cert: certs/api.pem, key: certs/api.key }} ]
      client_auth: {{ ca: certs/clients.pem, required: true }}
routes: [{{ name: r, pool: vendor }}]
pools:
  - name: vendor
    protocol: http2
    tls: {{ ca: certs/vendor-ca.pem, server_name: vendor.test, client_cert: certs/me.pem, client_key: certs/me.key }}
    endpoints: [{{ name: v1, url: 'https://127.0.0.1:{up_port}' }}]
"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn handshakes_are_counted_by_result_and_expiry_is_exported() {
    let dir = tempfile::tempdir().unwrap();
    let certs = dir.path().join("certs");
    let server_ca = Ca::new("Server CA");
    let client_ca = Ca::new("Client CA");
    let vendor_ca = Ca::new("Vendor CA");
    write_pair(
        &certs,
        "api",
        &server_ca.server_until(&["api.example.com"], "api", (2031, 7, 4)),
    );
    write_atomic(&certs.join("clients.pem"), &client_ca.pem());
    write_atomic(&certs.join("vendor-ca.pem"), &vendor_ca.pem());
    write_pair(&certs, "me", &client_ca.client_until("me", (2033, 1, 15)));
    // Nothing listens there: this test never sends traffic to the vendor.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let proxy = start_in(dir.path(), &config(port)).await;
    let web = proxy.listener_addr("web").unwrap();
    let admin = proxy.admin_addr();
    let api_file = certs.join("api.pem").display().to_string();
    let me_file = certs.join("me.pem").display().to_string();

    let text = metrics_text(admin).await;
    let listener_expiry = [("scope", "listener"), ("name", "web")];
    assert_eq!(metric(&text, EXPIRY, &listener_expiry), JULY_2031, "{text}");
    assert!(text.contains(&format!("file=\"{api_file}\"")), "{text}");
    let pool_expiry = [("scope", "pool"), ("name", "vendor"), ("file", &me_file)];
    assert_eq!(metric(&text, EXPIRY, &pool_expiry), JAN_2033, "{text}");

    // success: a trusted client certificate.
    let good = client_ca.client("good");
    let config = client_config(&server_ca.pem(), &[b"http/1.1"], Some(&good), true);
    let mut h1 = http1(connect(web, "api.example.com", config).await.unwrap()).await;
    // The vendor is down: 502, but the TLS side worked.
    assert_eq!(
        get1(&mut h1, "api.example.com", "/").await.unwrap().status,
        502
    );
    // client_certificate: none presented where one is required.
    let none = client_config(&server_ca.pem(), &[b"http/1.1"], None, true);
    if let Ok(tls) = connect(web, "api.example.com", none).await {
        // TLS 1.3: the refusal arrives after the client's side is done.
        let mut h = http1(tls).await;
        assert!(get1(&mut h, "api.example.com", "/").await.is_err());
    }
    // certificate_rejected: a client that does not trust our CA.
    let distrust = client_config(
        &Ca::new("Elsewhere").pem(),
        &[b"http/1.1"],
        Some(&good),
        true,
    );
    assert!(connect(web, "api.example.com", distrust).await.is_err());
    // protocol: not TLS at all.
    let mut plain = TcpStream::connect(web).await.unwrap();
    plain
        .write_all(b"GET / HTTP/1.1\r\nHost: api.example.com\r\n\r\n")
        .await
        .unwrap();
    // aborted: connected, then gone before a ClientHello.
    drop(TcpStream::connect(web).await.unwrap());

    let counts = eventually(Duration::from_secs(10), || async {
        let text = metrics_text(admin).await;
        let n = |result: &str| {
            metric(
                &text,
                HANDSHAKES,
                &[("listener", "web"), ("result", result)],
            )
        };
        let got = [
            "success",
            "client_certificate",
            "certificate_rejected",
            "protocol",
            "aborted",
        ]
        .map(|r| (r, n(r)));
        got.iter()
            .all(|(_, v)| *v >= 1.0)
            .then_some((got, n("timeout")))
    })
    .await;
    assert_eq!(counts.0[0], ("success", 1.0), "{counts:?}");
    assert_eq!(counts.1, 0.0, "{counts:?}");
    drop(plain);

    // GET /tls: files, names, default, expiry; the pool's trust and client
    // certificate; no key material.
    let doc: serde_json::Value = serde_json::from_str(&get(admin, "/tls").await.body).unwrap();
    let cert = &doc["listeners"][0]["certificates"][0];
    assert_eq!(doc["listeners"][0]["listener"], "web");
    assert_eq!(cert["cert"], api_file.as_str());
    assert_eq!(cert["names"], serde_json::json!(["api.example.com"]));
    assert_eq!(cert["default"], true);
    assert_eq!(cert["not_after"], "2031-07-04T00:00:00Z");
    assert!(cert["expires_in_seconds"].as_i64().unwrap() > 0);
    assert_eq!(doc["listeners"][0]["client_auth"]["required"], true);
    let pool = &doc["pools"][0];
    assert_eq!(pool["pool"], "vendor");
    assert_eq!(pool["protocol"], "http2");
    assert_eq!(pool["server_name"], "vendor.test");
    assert!(pool["trust"]["ca"]
        .as_str()
        .unwrap()
        .ends_with("vendor-ca.pem"));
    assert_eq!(pool["client_cert"]["not_after"], "2033-01-15T00:00:00Z");
    let body = get(admin, "/tls").await.body;
    assert!(!body.contains("PRIVATE KEY"), "{body}");

    // GET /upstreams names the pool's protocol and TLS.
    let up: serde_json::Value = serde_json::from_str(&get(admin, "/upstreams").await.body).unwrap();
    assert_eq!(up["pools"][0]["protocol"], "http2");
    assert_eq!(up["pools"][0]["tls"], true);

    // A rotated certificate moves the gauge; a removed client certificate
    // takes its series with it.
    write_pair(
        &certs,
        "api",
        &server_ca.server_until(&["api.example.com"], "api", (2033, 1, 15)),
    );
    let without_client = std::fs::read_to_string(dir.path().join("switchyard.yaml"))
        .unwrap()
        .replace(", client_cert: certs/me.pem, client_key: certs/me.key", "");
    std::fs::write(dir.path().join("switchyard.yaml"), without_client).unwrap();
    let req = Request::post(format!("http://{admin}/reload"))
        .body(Full::new(Bytes::new()))
        .unwrap();
    let r = send(req).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let text = metrics_text(admin).await;
    assert_eq!(metric(&text, EXPIRY, &listener_expiry), JAN_2033, "{text}");
    assert!(!text.contains("scope=\"pool\""), "{text}");
    proxy.shutdown().await;
}

/// A client trusting `ca_pem` limited to `version`, with rustls' default
/// client session cache (so it offers what it was given last time).
fn resuming_client(
    ca_pem: &str,
    version: &'static rustls::SupportedProtocolVersion,
) -> Arc<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    for c in CertificateDer::pem_slice_iter(ca_pem.as_bytes()) {
        roots.add(c.unwrap()).unwrap();
    }
    let mut config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_protocol_versions(&[version])
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Arc::new(config)
}

/// Connects, serves one request (so TLS 1.3 tickets are read), and says
/// how the handshake went.
async fn handshake_kind(web: SocketAddr, config: Arc<rustls::ClientConfig>) -> HandshakeKind {
    let tls = connect(web, "api.example.com", config).await.unwrap();
    let kind = tls.get_ref().1.handshake_kind().unwrap();
    let mut h = http1(tls).await;
    assert_eq!(
        get1(&mut h, "api.example.com", "/").await.unwrap().status,
        200
    );
    kind
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_resume_by_default_and_not_when_turned_off() {
    let up = TestUpstream::spawn("up").await;
    let dir = tempfile::tempdir().unwrap();
    let ca = Ca::new("Resumption CA");
    write_pair(
        &dir.path().join("certs"),
        "api",
        &ca.server(&["api.example.com"], "api"),
    );
    let tls = |extra: &str| {
        format!("{{ certificates: [ {{ cert: certs/api.pem, key: certs/api.key }} ]{extra} }}")
    };
    let manual = "reload: { watch: false, poll_interval: 0s }\n";
    let proxy = start_in(
        dir.path(),
        &format!("{manual}{}", yaml(&tls(""), &up.url())),
    )
    .await;
    let web = proxy.listener_addr("web").unwrap();
    let admin = proxy.admin_addr();
    let clients = [
        (
            "TLS 1.3",
            resuming_client(&ca.pem(), &rustls::version::TLS13),
        ),
        (
            "TLS 1.2",
            resuming_client(&ca.pem(), &rustls::version::TLS12),
        ),
    ];
    for (version, client) in &clients {
        assert_eq!(
            handshake_kind(web, Arc::clone(client)).await,
            HandshakeKind::Full
        );
        for _ in 0..2 {
            let kind = handshake_kind(web, Arc::clone(client)).await;
            assert_eq!(kind, HandshakeKind::Resumed, "{:?}", version);
        }
    }
    let resumed = "switchyard_tls_resumed_handshakes_total";
    let text = metrics_text(admin).await;
    assert_eq!(
        metric(&text, resumed, &[("listener", "web")]),
        4.0,
        "{text}"
    );
    assert_eq!(
        metric(&text, HANDSHAKES, &[("result", "success")]),
        6.0,
        "{text}"
    );

    std::fs::write(
        dir.path().join("switchyard.yaml"),
        format!(
            "{manual}{}",
            yaml(&tls(", session_resumption: false"), &up.url())
        ),
    )
    .unwrap();
    let req = Request::post(format!("http://{admin}/reload"))
        .body(Full::new(Bytes::new()))
        .unwrap();
    let r = send(req).await;
    assert_eq!(r.status, 200, "{}", r.body);
    for (version, client) in &clients {
        for _ in 0..2 {
            let kind = handshake_kind(web, Arc::clone(client)).await;
            assert_eq!(kind, HandshakeKind::Full, "{:?}", version);
        }
    }
    let text = metrics_text(admin).await;
    assert_eq!(
        metric(&text, resumed, &[("listener", "web")]),
        4.0,
        "{text}"
    );
    proxy.shutdown().await;
}

/// A client that connects and says nothing is cut off after
/// `handshake_timeout` and counted as `timeout`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_client_is_closed_at_the_handshake_timeout() {
    let up = TestUpstream::spawn("up").await;
    let dir = tempfile::tempdir().unwrap();
    let ca = Ca::new("Timeout CA");
    write_pair(
        &dir.path().join("certs"),
        "api",
        &ca.server(&["api.example.com"], "api"),
    );
    let tls = "{ certificates: [ { cert: certs/api.pem, key: certs/api.key } ], handshake_timeout: 300ms }";
    let proxy = start_in(dir.path(), &yaml(tls, &up.url())).await;
    let web = proxy.listener_addr("web").unwrap();
    let mut silent = TcpStream::connect(web).await.unwrap();
    let mut buf = [0u8; 16];
    // Closed by the proxy: EOF (or a reset) well before this deadline.
    let read = tokio::time::timeout(Duration::from_secs(10), silent.read(&mut buf))
        .await
        .expect("the proxy closes a silent connection");
    assert!(matches!(read, Ok(0) | Err(_)), "{read:?}");
    let text = metrics_text(proxy.admin_addr()).await;
    let timeouts = metric(
        &text,
        HANDSHAKES,
        &[("listener", "web"), ("result", "timeout")],
    );
    assert_eq!(timeouts, 1.0, "{text}");
    // A client that does speak still gets through.
    let config = client_config(&ca.pem(), &[b"http/1.1"], None, true);
    let mut h1 = http1(connect(web, "api.example.com", config).await.unwrap()).await;
    assert_eq!(
        get1(&mut h1, "api.example.com", "/").await.unwrap().status,
        200
    );
    proxy.shutdown().await;
}
