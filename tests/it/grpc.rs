//! gRPC through the proxy with tonic's client and server: unary and
//! server-streaming calls keep their trailers (`grpc-status`,
//! `grpc-message`, custom metadata), over h2c end to end and over TLS on
//! both sides (client → TLS listener → `protocol: http2` pool with TLS →
//! server). Errors the proxy makes itself reach tonic as proper statuses.
//! The HTTP-level shape of those errors is in `grpc_errors`.

mod service;

use std::time::Duration;

use tonic::Code;

use crate::common::{config, start_proxy};
use crate::tls::{client_config, connect, start_in, write_atomic, write_pair, Ca};
use crate::upstream_tls::server_config;
use service::{h2c_client, server_stream, unary, Channel, Req};

fn req(name: &str, count: u32, fail: bool) -> Req {
    Req {
        name: name.into(),
        count,
        fail,
    }
}

/// Unary and server-streaming calls, successful and failing, with the
/// trailers of each checked.
async fn exercise(grpc: &mut tonic::client::Grpc<Channel>) {
    let ok = unary(grpc, req("ada", 0, false)).await.expect("unary OK");
    assert_eq!(ok.get_ref().text, "hello ada");
    // A unary call's trailers are merged into its metadata.
    assert_eq!(ok.metadata().get("x-trailer").unwrap(), "unary");

    let err = unary(grpc, req("bob", 0, true)).await.unwrap_err();
    assert_eq!(err.code(), Code::NotFound, "{err:?}");
    assert_eq!(err.message(), "no such name");
    assert_eq!(err.metadata().get("x-reason").unwrap(), "no such name");

    let (messages, end) = server_stream(grpc, req("cy", 3, false)).await;
    assert_eq!(messages, ["cy #0", "cy #1", "cy #2"]);
    let trailers = end.expect("stream ends OK");
    assert_eq!(trailers.get("x-trailer").unwrap(), "stream");

    // Two messages, then the status in the trailers.
    let (messages, end) = server_stream(grpc, req("di", 2, true)).await;
    assert_eq!(messages, ["di #0", "di #1"]);
    let err = end.unwrap_err();
    assert_eq!(err.code(), Code::Aborted, "{err:?}");
    assert_eq!(err.message(), "stream cut");
    assert_eq!(err.metadata().get("x-reason").unwrap(), "stream cut");
    assert_eq!(err.metadata().get("x-trailer").unwrap(), "stream");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unary_and_streaming_calls_keep_their_trailers_over_h2c() {
    let server = service::serve(None).await;
    let yaml = config(&format!(
        "routes: [{{ name: r, match: {{ path_prefix: /test.Echo/ }}, pool: p }}]
pools: [{{ name: p, protocol: http2, endpoints: [{{ name: grpc, url: 'http://{server}' }}] }}]\n"
    ));
    let proxy = start_proxy(&yaml).await;
    let mut grpc = h2c_client(proxy.listener_addr("web").unwrap()).await;
    exercise(&mut grpc).await;
    // Many calls at once share the client's connection and the pool's.
    let calls: Vec<_> = (0..20)
        .map(|i| {
            let mut g = grpc.clone();
            tokio::spawn(async move {
                let r = unary(&mut g, req(&format!("n{i}"), 0, false)).await;
                assert_eq!(r.unwrap().get_ref().text, format!("hello n{i}"));
            })
        })
        .collect();
    for c in calls {
        c.await.unwrap();
    }
    proxy.shutdown_within(Duration::from_secs(1)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unary_and_streaming_calls_keep_their_trailers_over_tls() {
    let ca = Ca::new("Test CA");
    let dir = tempfile::tempdir().unwrap();
    write_pair(dir.path(), "api", &ca.server(&["api.example.com"], "api"));
    write_atomic(&dir.path().join("ca.pem"), &ca.pem());
    let upstream_cert = ca.server(&["grpc.internal"], "grpc");
    let server = service::serve(Some(server_config(&upstream_cert, &[b"h2"], None))).await;
    let yaml = format!(
        "version: 1
runtime: {{ worker_threads: 2, shutdown_timeout: 5s }}
admin: {{ listen: '127.0.0.1:0' }}
listeners:
  - name: web
    listen: '127.0.0.1:0'
    tls: {{ certificates: [{{ cert: api.pem, key: api.key }}] }}
routes: [{{ name: r, pool: p }}]
pools:
  - name: p
    protocol: http2
    tls: {{ ca: ca.pem, server_name: grpc.internal }}
    endpoints: [{{ name: grpc, url: 'https://{server}' }}]
"
    );
    let proxy = start_in(dir.path(), &yaml).await;
    let addr = proxy.listener_addr("web").unwrap();
    let tls = connect(
        addr,
        "api.example.com",
        client_config(&ca.pem(), &[b"h2"], None, true),
    )
    .await
    .expect("TLS handshake with the listener");
    assert_eq!(tls.get_ref().1.alpn_protocol(), Some(&b"h2"[..]));
    let origin = format!("https://api.example.com:{}", addr.port());
    let mut grpc = service::client(tls, &origin).await;
    exercise(&mut grpc).await;
    proxy.shutdown_within(Duration::from_secs(1)).await;
}

#[tokio::test]
async fn proxy_errors_reach_tonic_as_statuses() {
    // The pool's one endpoint has weight 0: nothing to send to.
    let yaml = config(
        "routes: [{ name: r, match: { path_prefix: /test.Echo/ }, pool: p }]
pools: [{ name: p, protocol: http2, endpoints: [{ name: off, url: 'http://127.0.0.1:9', weight: 0 }] }]\n",
    );
    let proxy = start_proxy(&yaml).await;
    let addr = proxy.listener_addr("web").unwrap();
    let mut grpc = h2c_client(addr).await;
    let err = unary(&mut grpc, req("x", 0, false)).await.unwrap_err();
    assert_eq!(err.code(), Code::Unavailable, "{err:?}");
    assert!(err.message().contains("no endpoint"), "{err:?}");
    let (messages, end) = server_stream(&mut grpc, req("x", 2, false)).await;
    assert!(messages.is_empty());
    assert_eq!(end.unwrap_err().code(), Code::Unavailable);
    proxy.shutdown_within(Duration::from_secs(1)).await;
}
