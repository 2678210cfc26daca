//! Errors the proxy generates on gRPC calls are gRPC statuses: HTTP 200,
//! `content-type: application/grpc`, `grpc-status` and `grpc-message`, no
//! body (a "trailers-only" response). Other requests keep their HTTP
//! error statuses.

use std::time::Duration;

use bytes::Bytes;
use http::Request;
use http_body_util::Full;

use crate::common::{closed_port, config, start_proxy};

#[tokio::test]
async fn proxy_errors_on_grpc_calls_are_grpc_statuses() {
    let dead = closed_port().await;
    let yaml = config(&format!(
        "routes: [{{ name: r, match: {{ path_prefix: /pkg.Svc/ }}, pool: p }}]
pools: [{{ name: p, endpoints: [{{ name: gone, url: 'http://{dead}' }}] }}]\n"
    ));
    let proxy = start_proxy(&yaml).await;
    let addr = proxy.listener_addr("web").unwrap();
    let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (mut sender, conn) = hyper::client::conn::http2::handshake(
        hyper_util::rt::TokioExecutor::new(),
        hyper_util::rt::TokioIo::new(stream),
    )
    .await
    .unwrap();
    tokio::spawn(conn);
    let call = |path: &str, content_type: &str| {
        Request::post(format!("http://grpc.test:{}{path}", addr.port()))
            .header("content-type", content_type)
            .header("te", "trailers")
            .body(Full::new(Bytes::from_static(&[0, 0, 0, 0, 0])))
            .unwrap()
    };
    // (path, content type, HTTP status, grpc-status): the endpoint is
    // unreachable (UNAVAILABLE), no route (UNIMPLEMENTED), and the same
    // failure for a plain client (502).
    let cases = [
        ("/pkg.Svc/Get", "application/grpc", 200, Some("14")),
        ("/other/Get", "application/grpc+proto", 200, Some("12")),
        ("/pkg.Svc/Get", "application/json", 502, None),
    ];
    for (path, ct, status, grpc_status) in cases {
        let reply =
            crate::common::collect(sender.send_request(call(path, ct)).await.unwrap()).await;
        assert_eq!(reply.status, status, "{path} {ct}: {}", reply.body);
        assert_eq!(reply.header("grpc-status"), grpc_status, "{path} {ct}");
        if grpc_status.is_some() {
            assert_eq!(reply.header("content-type"), Some("application/grpc"));
            assert!(reply.body.is_empty(), "{}", reply.body);
            let message = reply.header("grpc-message").unwrap_or_default();
            assert!(
                !message.is_empty(),
                "{path}: a grpc-message names the cause"
            );
        }
    }
    proxy.shutdown_within(Duration::from_secs(1)).await;
}
