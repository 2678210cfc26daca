//! Which certificate a handshake gets, and HTTP through a TLS listener.

use super::{
    client_config, connect, der, get1, get2, http1, http2, names_for, peer_names, presented,
    start_in, write_pair, yaml, Ca,
};
use crate::common::TestUpstream;

/// Three certificates: `api` (the default), `www` and a wildcard.
const THREE: &str = "{ certificates: [
      { cert: certs/api.pem, key: certs/api.key },
      { cert: certs/www.pem, key: certs/www.key },
      { cert: certs/apps.pem, key: certs/apps.key } ] }";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sni_picks_exact_names_and_wildcards_and_no_sni_gets_the_default() {
    let up = TestUpstream::spawn("up").await;
    let dir = tempfile::tempdir().unwrap();
    let certs = dir.path().join("certs");
    let ca = Ca::new("Test CA");
    write_pair(&certs, "api", &ca.server(&["api.example.com"], "api"));
    write_pair(
        &certs,
        "www",
        &ca.server(&["www.example.com", "example.com"], "www"),
    );
    write_pair(&certs, "apps", &ca.server(&["*.apps.example.com"], "apps"));
    let proxy = start_in(dir.path(), &yaml(THREE, &up.url())).await;
    let web = proxy.listener_addr("web").unwrap();
    let pem = ca.pem();

    assert_eq!(
        names_for(web, &pem, "api.example.com").await,
        ["api.example.com"]
    );
    assert_eq!(
        names_for(web, &pem, "www.example.com").await,
        ["www.example.com", "example.com"]
    );
    assert_eq!(
        names_for(web, &pem, "example.com").await[0],
        "www.example.com"
    );
    assert_eq!(
        names_for(web, &pem, "shop.apps.example.com").await,
        ["*.apps.example.com"]
    );
    assert_eq!(
        names_for(web, &pem, "SHOP.Apps.Example.com").await,
        ["*.apps.example.com"]
    );

    // No SNI: the first certificate, which the client verifies as
    // api.example.com.
    let no_sni = client_config(&pem, &[b"http/1.1"], None, false);
    let tls = connect(web, "api.example.com", no_sni)
        .await
        .expect("no-SNI handshake");
    assert_eq!(peer_names(&tls), ["api.example.com"]);
    let api = der(&std::fs::read_to_string(certs.join("api.pem")).unwrap());
    assert_eq!(presented(web, None).await, api);
    // Unknown names get the default too, and a wildcard covers one label:
    // neither apps.example.com nor a.shop.apps.example.com gets it.
    for name in ["other.test", "apps.example.com", "a.shop.apps.example.com"] {
        assert_eq!(presented(web, Some(name)).await, api, "{name}");
    }
    proxy.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_names_override_the_names_in_the_certificate() {
    let up = TestUpstream::spawn("up").await;
    let dir = tempfile::tempdir().unwrap();
    let certs = dir.path().join("certs");
    let ca = Ca::new("Test CA");
    write_pair(&certs, "a", &ca.server(&["a.example.com"], "a"));
    // Its SANs say b.example.com, but the config says it serves c.example.com
    // only; a certificate without SANs would be found by its CN.
    write_pair(
        &certs,
        "b",
        &ca.server(&["b.example.com", "c.example.com"], "b"),
    );
    write_pair(&certs, "cn", &ca.server(&[], "cn.example.com"));
    let tls = "{ certificates: [
      { cert: certs/a.pem, key: certs/a.key },
      { cert: certs/b.pem, key: certs/b.key, server_names: [C.example.com] },
      { cert: certs/cn.pem, key: certs/cn.key } ] }";
    let proxy = start_in(dir.path(), &yaml(tls, &up.url())).await;
    let web = proxy.listener_addr("web").unwrap();
    let pem = ca.pem();
    assert_eq!(
        names_for(web, &pem, "c.example.com").await[0],
        "b.example.com"
    );
    // b.example.com is not listed: the default answers.
    let read = |n: &str| der(&std::fs::read_to_string(certs.join(n)).unwrap());
    assert_eq!(presented(web, Some("b.example.com")).await, read("a.pem"));
    // A certificate without SANs is chosen by its common name.
    assert_eq!(presented(web, Some("cn.example.com")).await, read("cn.pem"));
    proxy.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http1_and_http2_reach_a_plain_upstream_with_x_forwarded_proto_https() {
    let up = TestUpstream::spawn("up").await;
    let dir = tempfile::tempdir().unwrap();
    let ca = Ca::new("Test CA");
    write_pair(
        &dir.path().join("certs"),
        "api",
        &ca.server(&["api.example.com"], "api"),
    );
    let tls = "{ certificates: [ { cert: certs/api.pem, key: certs/api.key } ] }";
    let proxy = start_in(dir.path(), &yaml(tls, &up.url())).await;
    let web = proxy.listener_addr("web").unwrap();
    let pem = ca.pem();

    let config = client_config(&pem, &[b"http/1.1"], None, true);
    let tls = connect(web, "api.example.com", config).await.unwrap();
    assert_eq!(tls.get_ref().1.alpn_protocol(), Some(&b"http/1.1"[..]));
    let mut h1 = http1(tls).await;
    for _ in 0..2 {
        let r = get1(&mut h1, "api.example.com", "/headers").await.unwrap();
        assert_eq!(r.status, 200, "{}", r.body);
        let head = up.last_head();
        assert_eq!(head.headers["x-forwarded-proto"], "https");
        assert_eq!(head.headers["x-forwarded-host"], "api.example.com");
        assert_eq!(head.version, http::Version::HTTP_11);
    }

    let config = client_config(&pem, &[b"h2", b"http/1.1"], None, true);
    let tls = connect(web, "api.example.com", config).await.unwrap();
    assert_eq!(tls.get_ref().1.alpn_protocol(), Some(&b"h2"[..]));
    let mut h2 = http2(tls).await;
    let r = get2(&mut h2, "api.example.com", "/headers").await.unwrap();
    assert_eq!(r.status, 200, "{}", r.body);
    let json: serde_json::Value = serde_json::from_str(&r.body).unwrap();
    assert_eq!(json["headers"]["x-forwarded-proto"], "https");
    // Several streams at once on the one connection.
    let (mut s1, mut s2) = (h2.clone(), h2.clone());
    let (a, b) = tokio::join!(
        get2(&mut s1, "api.example.com", "/slow/50"),
        get2(&mut s2, "api.example.com", "/slow/50"),
    );
    assert_eq!((a.unwrap().status, b.unwrap().status), (200, 200));

    // A plain-HTTP client on the TLS port gets no HTTP answer.
    let plain = crate::common::client()
        .request(
            http::Request::get(format!("http://{web}/"))
                .body(http_body_util::Full::new(bytes::Bytes::new()))
                .unwrap(),
        )
        .await;
    assert!(plain.is_err(), "{plain:?}");
    proxy.shutdown().await;
}
