//! Client certificates (`client_auth`): required refuses clients without a
//! certificate or with one from another CA; optional serves the first and
//! still refuses the second.

use std::net::SocketAddr;

use bytes::Bytes;
use http::Request;
use http_body_util::Full;

use super::{
    client_config, connect, get1, http1, start_in, write_atomic, write_pair, yaml, Ca, Pair,
};
use crate::common::{send, TestUpstream};

/// GET / as api.example.com presenting `client`; `Err` when the handshake
/// or the request fails. With TLS 1.3 the server judges the client's
/// certificate after the client considers the handshake done, so a refusal
/// may only show on the first request.
async fn try_get(web: SocketAddr, server_ca: &Ca, client: Option<&Pair>) -> Result<u16, String> {
    let config = client_config(&server_ca.pem(), &[b"http/1.1"], client, true);
    let tls = connect(web, "api.example.com", config)
        .await
        .map_err(|e| format!("handshake: {e}"))?;
    let (mut send, conn) =
        hyper::client::conn::http1::handshake::<_, Full<Bytes>>(hyper_util::rt::TokioIo::new(tls))
            .await
            .map_err(|e| format!("http: {e}"))?;
    tokio::spawn(conn);
    let req = Request::get("/")
        .header(http::header::HOST, "api.example.com")
        .body(Full::new(Bytes::new()))
        .unwrap();
    let resp = send
        .send_request(req)
        .await
        .map_err(|e| format!("request: {e}"))?;
    Ok(resp.status().as_u16())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn required_client_certificates_refuse_missing_and_foreign_ones() {
    let up = TestUpstream::spawn("up").await;
    let dir = tempfile::tempdir().unwrap();
    let certs = dir.path().join("certs");
    let server_ca = Ca::new("Server CA");
    let client_ca = Ca::new("Client CA");
    let other_ca = Ca::new("Other CA");
    write_pair(
        &certs,
        "api",
        &server_ca.server(&["api.example.com"], "api"),
    );
    write_atomic(&certs.join("clients.pem"), &client_ca.pem());
    let tls = |required: bool| {
        format!(
            "{{ certificates: [ {{ cert: certs/api.pem, key: certs/api.key }} ],
        client_auth: {{ ca: certs/clients.pem, required: {required} }} }}"
        )
    };
    let manual = "reload: { watch: false, poll_interval: 0s }\n";
    let proxy = start_in(
        dir.path(),
        &format!("{manual}{}", yaml(&tls(true), &up.url())),
    )
    .await;
    let web = proxy.listener_addr("web").unwrap();
    let good = client_ca.client("good client");
    let foreign = other_ca.client("foreign client");

    assert_eq!(try_get(web, &server_ca, Some(&good)).await, Ok(200));
    let none = try_get(web, &server_ca, None).await;
    assert!(none.is_err(), "no certificate: {none:?}");
    let bad = try_get(web, &server_ca, Some(&foreign)).await;
    assert!(bad.is_err(), "another CA: {bad:?}");
    // A server certificate is no client certificate either (wrong usage).
    let server_cert = client_ca.server(&["api.example.com"], "not a client");
    let wrong = try_get(web, &server_ca, Some(&server_cert)).await;
    assert!(wrong.is_err(), "server usage: {wrong:?}");
    // Keep-alive with a good certificate keeps working.
    let config = client_config(&server_ca.pem(), &[b"http/1.1"], Some(&good), true);
    let mut h1 = http1(connect(web, "api.example.com", config).await.unwrap()).await;
    for _ in 0..2 {
        assert_eq!(
            get1(&mut h1, "api.example.com", "/").await.unwrap().status,
            200
        );
    }

    // Optional: clients without a certificate are served, bad ones are not.
    std::fs::write(
        dir.path().join("switchyard.yaml"),
        format!("{manual}{}", yaml(&tls(false), &up.url())),
    )
    .unwrap();
    let req = Request::post(format!("http://{}/reload", proxy.admin_addr()))
        .body(Full::new(Bytes::new()))
        .unwrap();
    let r = send(req).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(try_get(web, &server_ca, None).await, Ok(200));
    assert_eq!(try_get(web, &server_ca, Some(&good)).await, Ok(200));
    let bad = try_get(web, &server_ca, Some(&foreign)).await;
    assert!(bad.is_err(), "optional, another CA: {bad:?}");
    proxy.shutdown().await;
}
