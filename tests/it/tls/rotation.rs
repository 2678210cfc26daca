//! Certificate rotation: new files reach new handshakes while open
//! connections carry on; broken files fail the reload and the running
//! certificate keeps serving; adding or changing `tls` keeps the socket.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::Request;
use http_body_util::Full;

use super::{
    client_config, connect, der, get1, http1, peer_names, presented, start_in, write_atomic,
    write_pair, yaml, Ca,
};
use crate::common::{config, eventually, get, send, TestUpstream};

const API: &str = "{ certificates: [ { cert: certs/api.pem, key: certs/api.key } ] }";
/// No file watch and no polling: only explicit reloads.
const MANUAL: &str = "reload: { watch: false, poll_interval: 0s }\n";

async fn post_reload(admin: std::net::SocketAddr) -> serde_json::Value {
    let req = Request::post(format!("http://{admin}/reload"))
        .body(Full::new(Bytes::new()))
        .unwrap();
    let r = send(req).await;
    serde_json::from_str(&r.body).unwrap_or_else(|e| panic!("{e}: {}", r.body))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotated_files_reach_new_handshakes_and_open_connections_keep_working() {
    let up = TestUpstream::spawn("up").await;
    let dir = tempfile::tempdir().unwrap();
    let certs = dir.path().join("certs");
    let ca = Ca::new("Test CA");
    let v1 = ca.server(&["api.example.com"], "v1");
    write_pair(&certs, "api", &v1);
    // Default reload settings: the watch (on the config's directory and
    // on certs/) with the default 250 ms debounce.
    let proxy = start_in(dir.path(), &yaml(API, &up.url())).await;
    let web = proxy.listener_addr("web").unwrap();
    let pem = ca.pem();
    assert_eq!(presented(web, Some("api.example.com")).await, der(&v1.cert));

    let config = client_config(&pem, &[b"http/1.1"], None, true);
    let open = connect(web, "api.example.com", config).await.unwrap();
    let mut h1 = http1(open).await;
    assert_eq!(
        get1(&mut h1, "api.example.com", "/").await.unwrap().status,
        200
    );

    let v2 = ca.server(&["api.example.com"], "v2");
    let start = Instant::now();
    write_pair(&certs, "api", &v2);
    eventually(Duration::from_secs(5), || async {
        (presented(web, Some("api.example.com")).await == der(&v2.cert)).then_some(())
    })
    .await;
    let took = start.elapsed();
    eprintln!("rotation seen by a new handshake after {took:?}");
    assert!(took < Duration::from_secs(2), "rotation took {took:?}");
    assert_eq!(proxy.shared().dataplane.load().generation, 2);

    // The connection made before the rotation still serves requests.
    for _ in 0..3 {
        let r = get1(&mut h1, "api.example.com", "/").await.unwrap();
        assert_eq!(r.status, 200, "{}", r.body);
    }
    // And a new one verifies against the same CA.
    let config = client_config(&pem, &[b"http/1.1"], None, true);
    let fresh = connect(web, "api.example.com", config).await.unwrap();
    assert_eq!(peer_names(&fresh), ["api.example.com"]);
    proxy.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broken_pair_fails_the_reload_and_the_old_certificate_keeps_serving() {
    let up = TestUpstream::spawn("up").await;
    let dir = tempfile::tempdir().unwrap();
    let certs = dir.path().join("certs");
    let ca = Ca::new("Test CA");
    let v1 = ca.server(&["api.example.com"], "v1");
    write_pair(&certs, "api", &v1);
    let proxy = start_in(dir.path(), &format!("{MANUAL}{}", yaml(API, &up.url()))).await;
    let web = proxy.listener_addr("web").unwrap();
    let admin = proxy.admin_addr();
    let cert_file = certs.join("api.pem").display().to_string();
    let key_file = certs.join("api.key").display().to_string();
    let other = ca.server(&["api.example.com"], "other");

    // (what, files to write (`None`: remove), the error the reload reports)
    let cert = |text: &str| vec![("api.pem", Some(text.to_string()))];
    let cases = [
        (
            "bad PEM",
            cert("-----BEGIN CERTIFICATE-----\nnot base64!\n"),
            format!("listeners[0].tls.certificates[0] (listener \"web\"): {cert_file} is not valid PEM: a \"BEGIN CERTIFICATE\" line has no matching END line"),
        ),
        (
            "no certificate",
            cert("just text\n"),
            format!("{cert_file} contains no certificate"),
        ),
        (
            "key of another certificate",
            vec![("api.pem", Some(v1.cert.clone())), ("api.key", Some(other.key.clone()))],
            format!("the private key in {key_file} does not match the certificate in {cert_file}"),
        ),
        (
            "missing key",
            vec![("api.key", None)],
            format!("listeners[0].tls.certificates[0].key (listener \"web\"): cannot read {key_file}"),
        ),
    ];
    for (what, files, message) in cases {
        for (name, text) in files {
            match text {
                Some(t) => write_atomic(&certs.join(name), &t),
                None => std::fs::remove_file(certs.join(name)).unwrap(),
            }
        }
        let report = post_reload(admin).await;
        assert_eq!(report["result"], "failure", "{what}: {report}");
        let errors: Vec<&str> = report["errors"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|e| e.as_str())
            .collect();
        let errors = errors.join("\n");
        assert!(
            errors.contains(&message),
            "{what}: want {message:?} in {errors}"
        );
        assert_eq!(
            presented(web, Some("api.example.com")).await,
            der(&v1.cert),
            "{what}: the old certificate still serves"
        );
        assert_eq!(get_tls(web, &ca).await, 200, "{what}");
    }
    let failures = crate::common::metric(
        &crate::common::metrics_text(admin).await,
        "switchyard_config_reloads_total",
        &[("result", "failure")],
    );
    assert_eq!(failures, 4.0);

    // Fixed: the new pair is served, and the report counts a TLS change.
    let v2 = ca.server(&["api.example.com"], "v2");
    write_pair(&certs, "api", &v2);
    let report = post_reload(admin).await;
    assert_eq!(report["result"], "success", "{report}");
    assert_eq!(report["changes"]["tls"]["changed"], 1, "{report}");
    assert_eq!(presented(web, Some("api.example.com")).await, der(&v2.cert));
    // Nothing changed since: unchanged, and the same TLS config object.
    let before = Arc::clone(&proxy.shared().dataplane.load().tls.get(0).unwrap().config);
    assert_eq!(post_reload(admin).await["result"], "unchanged");
    // A reload that changes something else keeps the loaded TLS config.
    let yaml2 = format!("{MANUAL}{}", yaml(API, &up.url())).replace("name: r,", "name: r2,");
    std::fs::write(dir.path().join("switchyard.yaml"), yaml2).unwrap();
    let report = post_reload(admin).await;
    assert_eq!(report["result"], "success", "{report}");
    assert_eq!(report["changes"]["tls"]["changed"], 0, "{report}");
    let after = Arc::clone(&proxy.shared().dataplane.load().tls.get(0).unwrap().config);
    assert!(Arc::ptr_eq(&before, &after));
    proxy.shutdown().await;
}

/// The status of `GET /` through a fresh TLS connection as api.example.com.
async fn get_tls(web: std::net::SocketAddr, ca: &Ca) -> u16 {
    let config = client_config(&ca.pem(), &[b"http/1.1"], None, true);
    let tls = connect(web, "api.example.com", config).await.unwrap();
    get1(&mut http1(tls).await, "api.example.com", "/")
        .await
        .unwrap()
        .status
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn adding_and_removing_tls_keeps_the_listener_socket() {
    let up = TestUpstream::spawn("up").await;
    let dir = tempfile::tempdir().unwrap();
    let ca = Ca::new("Test CA");
    write_pair(
        &dir.path().join("certs"),
        "api",
        &ca.server(&["api.example.com"], "api"),
    );
    let plain = format!(
        "{MANUAL}{}",
        config(&format!(
            "routes: [{{ name: r, pool: p }}]\npools: [{{ name: p, endpoints: [{{ name: up, url: '{}' }}] }}]\n",
            up.url()
        ))
    );
    let proxy = start_in(dir.path(), &plain).await;
    let admin = proxy.admin_addr();
    let web = proxy.listener_addr("web").unwrap();
    assert_eq!(get(web, "/").await.status, 200);

    // Pin the port the listener got, so the address is unchanged.
    let pinned = |text: &str| {
        text.replace(
            "{ name: web, listen: '127.0.0.1:0' }",
            &format!("{{ name: web, listen: '{web}' }}"),
        )
    };
    let with_tls = pinned(&plain).replace(
        &format!("listen: '{web}' }}"),
        &format!("listen: '{web}', tls: {API} }}"),
    );
    assert!(with_tls.contains("tls:"), "{with_tls}");
    std::fs::write(dir.path().join("switchyard.yaml"), &with_tls).unwrap();
    let report = post_reload(admin).await;
    assert_eq!(report["result"], "success", "{report}");
    assert_eq!(report["changes"]["tls"]["added"], 1, "{report}");
    assert_eq!(report["changes"]["listeners"]["changed"], 1, "{report}");
    assert_eq!(proxy.listener_addr("web"), Some(web), "same socket");
    assert_eq!(get_tls(web, &ca).await, 200);

    std::fs::write(dir.path().join("switchyard.yaml"), pinned(&plain)).unwrap();
    let report = post_reload(admin).await;
    assert_eq!(report["result"], "success", "{report}");
    assert_eq!(report["changes"]["tls"]["removed"], 1, "{report}");
    assert_eq!(proxy.listener_addr("web"), Some(web));
    assert_eq!(get(web, "/").await.status, 200);
    proxy.shutdown().await;
}
