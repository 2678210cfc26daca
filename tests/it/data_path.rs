//! The data path through the real listener: routing, forwarding, errors.

use std::time::Duration;

use bytes::Bytes;
use http::Request;
use http_body_util::Full;

use crate::common::{config, get, send, start_proxy, TestUpstream};

fn pool(name: &str, ups: &[&TestUpstream]) -> String {
    let eps: Vec<String> = ups
        .iter()
        .map(|u| format!("{{ name: {}, url: '{}' }}", u.name, u.url()))
        .collect();
    format!("  - {{ name: {name}, endpoints: [{}] }}\n", eps.join(", "))
}

#[tokio::test]
async fn routing_precedence_through_the_listener() {
    let names = [
        "exact", "host", "wild", "method", "header", "regex", "prefix", "root",
    ];
    let mut ups = Vec::new();
    for n in names {
        ups.push(TestUpstream::spawn(n).await);
    }
    let mut pools = String::from("pools:\n");
    for u in &ups {
        pools.push_str(&pool(&format!("p-{}", u.name), &[u]));
    }
    let yaml = config(&format!(
        "routes:\n\
  - {{ name: exact, match: {{ path: /exact }}, pool: p-exact }}\n\
  - {{ name: host, match: {{ hosts: [api.example.com] }}, pool: p-host }}\n\
  - {{ name: wild, match: {{ hosts: ['*.pay.example.com'] }}, pool: p-wild }}\n\
  - {{ name: method, match: {{ methods: [DELETE] }}, pool: p-method }}\n\
  - {{ name: header, match: {{ headers: {{ x-tenant: acme }} }}, pool: p-header }}\n\
  - {{ name: regex, match: {{ path_regex: '^/v[0-9]+/pay$' }}, pool: p-regex }}\n\
  - {{ name: prefix, match: {{ path_prefix: /v1/payments }}, pool: p-prefix }}\n\
  - {{ name: root, match: {{ path_prefix: / }}, pool: p-root }}\n{pools}"
    ));
    let proxy = start_proxy(&yaml).await;
    let addr = proxy.listener_addr("web").unwrap();
    let req = |method: &str, path: &str, headers: &[(&str, &str)]| {
        let mut b = Request::builder()
            .method(method)
            .uri(format!("http://{addr}{path}"));
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        b.body(Full::new(Bytes::new())).unwrap()
    };
    type Case<'a> = (&'a str, &'a str, &'a [(&'a str, &'a str)], &'a str);
    let cases: &[Case<'_>] = &[
        ("GET", "/exact", &[], "exact"),
        ("GET", "/exact/more", &[], "root"),
        ("GET", "/exact", &[("host", "api.example.com")], "exact"),
        ("GET", "/x", &[("host", "API.example.com:8443")], "host"),
        ("GET", "/x", &[("host", "eu.pay.example.com")], "wild"),
        ("GET", "/x", &[("host", "pay.example.com")], "root"),
        ("DELETE", "/x", &[], "method"),
        ("GET", "/x", &[("x-tenant", "acme")], "header"),
        ("GET", "/x", &[("x-tenant", "other")], "root"),
        ("GET", "/v2/pay", &[], "regex"),
        ("GET", "/v1/payments/42", &[], "prefix"),
        ("GET", "/v1/payments", &[], "prefix"),
        ("GET", "/v1/paymentsx", &[], "root"),
    ];
    for (method, path, headers, want) in cases {
        let r = send(req(method, path, headers)).await;
        assert_eq!(r.status, 200, "{method} {path} {headers:?}");
        assert_eq!(r.body, *want, "{method} {path} {headers:?}");
    }
    proxy.shutdown_within(Duration::from_secs(1)).await;
}

#[tokio::test]
async fn forwards_headers_and_rewrites_path() {
    let up = TestUpstream::spawn("up").await;
    let routes = r#"routes:
  - name: api
    match: { path_prefix: /v1 }
    pool: p
    strip_prefix: /v1
    request_headers: { set: { x-route: api }, remove: [x-debug] }
    response_headers: { set: { x-served-by: switchyard }, remove: [server] }
"#;
    let yaml = config(&format!("{routes}pools:\n{}", pool("p", &[&up])));
    let proxy = start_proxy(&yaml).await;
    let addr = proxy.listener_addr("web").unwrap();
    let r = send(
        Request::get(format!("http://{addr}/v1/orders/headers?a=1"))
            .header("host", "shop.example.com")
            .header("x-debug", "1")
            .header("x-forwarded-for", "10.0.0.1")
            .header("connection", "x-hop")
            .header("x-hop", "secret")
            .header("te", "gzip")
            .body(Full::new(Bytes::new()))
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, 200);
    let seen: serde_json::Value = serde_json::from_str(&r.body).unwrap();
    let h = &seen["headers"];
    assert_eq!(seen["uri"], "/orders/headers?a=1");
    assert_eq!(h["host"], "shop.example.com");
    assert_eq!(h["x-forwarded-for"], "10.0.0.1, 127.0.0.1");
    assert_eq!(h["x-forwarded-proto"], "http");
    assert_eq!(h["x-forwarded-host"], "shop.example.com");
    assert_eq!(h["x-route"], "api");
    assert!(h.get("x-debug").is_none(), "{h}");
    assert!(h.get("x-hop").is_none(), "{h}");
    assert!(h.get("te").is_none(), "{h}");
    // Response side: hop-by-hop and removed headers gone, set header added.
    assert_eq!(r.header("x-served-by"), Some("switchyard"));
    assert_eq!(r.header("server"), None);
    assert_eq!(r.header("keep-alive"), None);
    assert_eq!(r.header("x-upstream"), Some("up"));
    proxy.shutdown_within(Duration::from_secs(1)).await;
}

#[tokio::test]
async fn proxy_errors_have_stable_statuses_and_bodies() {
    let slow = TestUpstream::spawn("slow").await;
    // A port with nothing listening: bind, note, drop.
    let dead = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let yaml = config(&format!(
        r#"routes:
  - {{ name: slow, match: {{ path_prefix: /slow }}, pool: slow, timeout: 200ms }}
  - {{ name: dead, match: {{ path_prefix: /dead }}, pool: dead }}
  - {{ name: off, match: {{ path_prefix: /off }}, pool: off }}
pools:
{}  - {{ name: dead, endpoints: [{{ name: d, url: 'http://{dead}' }}] }}
  - {{ name: off, endpoints: [{{ name: o, url: 'http://{dead}', weight: 0 }}] }}
"#,
        pool("slow", &[&slow])
    ));
    let proxy = start_proxy(&yaml).await;
    let addr = proxy.listener_addr("web").unwrap();

    let r = get(addr, "/nowhere").await;
    assert_eq!(
        (r.status, r.body.as_str()),
        (404, "no route matches this request\n")
    );
    let r = get(addr, "/dead").await;
    assert_eq!(
        (r.status, r.body.as_str()),
        (502, "upstream connect failure\n")
    );
    let r = get(addr, "/off").await;
    assert_eq!(
        (r.status, r.body.as_str()),
        (503, "no endpoint available in pool off\n")
    );
    let started = std::time::Instant::now();
    let r = get(addr, "/slow/3000").await;
    assert_eq!((r.status, r.body.as_str()), (504, "upstream timeout\n"));
    // The 504 came from the route timeout, not from the upstream finishing.
    assert!(started.elapsed() < Duration::from_millis(2900));
    assert_eq!(r.header("content-type"), Some("text/plain; charset=utf-8"));
    let r = get(addr, "/slow/1").await;
    assert_eq!(r.status, 200);
    proxy.shutdown_within(Duration::from_secs(1)).await;
}

#[tokio::test]
async fn upstream_reset_is_502() {
    // An "upstream" that accepts, reads the request, and closes.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr_up = listener.local_addr().unwrap();
    let task = tokio::spawn(async move {
        loop {
            let Ok((mut s, _)) = listener.accept().await else {
                return;
            };
            let mut buf = [0u8; 1024];
            tokio::io::AsyncReadExt::read(&mut s, &mut buf).await.ok();
            drop(s);
        }
    });
    let yaml = config(&format!(
        "routes: [{{ name: r, pool: p }}]\npools: [{{ name: p, endpoints: [{{ name: e, url: 'http://{addr_up}' }}] }}]\n"
    ));
    let proxy = start_proxy(&yaml).await;
    let r = get(proxy.listener_addr("web").unwrap(), "/").await;
    assert_eq!(
        (r.status, r.body.as_str()),
        (502, "upstream connection reset\n")
    );
    task.abort();
    proxy.shutdown_within(Duration::from_secs(1)).await;
}

/// A proxy with one route (`matcher`) to a pool of one test upstream: the
/// upstream, the proxy and its listener's address.
async fn one_route(matcher: &str) -> (TestUpstream, switchyard::Switchyard, std::net::SocketAddr) {
    let up = TestUpstream::spawn("up").await;
    let yaml = config(&format!(
        "routes: [{{ name: r, match: {matcher}, pool: p }}]\npools:\n{}",
        pool("p", &[&up])
    ));
    let proxy = start_proxy(&yaml).await;
    let addr = proxy.listener_addr("web").unwrap();
    (up, proxy, addr)
}

#[tokio::test]
async fn http2_prior_knowledge_clients_are_served() {
    let (_up, proxy, addr) = one_route("{ hosts: [h2.example.com] }").await;
    // HTTP/2 has no Host header: the :authority routes, and reaches the
    // HTTP/1.1 upstream as Host.
    let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (mut sender, conn) = hyper::client::conn::http2::handshake(
        hyper_util::rt::TokioExecutor::new(),
        hyper_util::rt::TokioIo::new(stream),
    )
    .await
    .unwrap();
    tokio::spawn(conn);
    let req = Request::get(format!("http://h2.example.com:{}/headers", addr.port()))
        .body(Full::new(Bytes::new()))
        .unwrap();
    let reply = crate::common::collect(sender.send_request(req).await.unwrap()).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let seen: serde_json::Value = serde_json::from_str(&reply.body).unwrap();
    assert_eq!(
        seen["headers"]["host"],
        format!("h2.example.com:{}", addr.port())
    );
    proxy.shutdown_within(Duration::from_secs(1)).await;
}

/// Sends raw bytes and returns the whole response (the request must ask
/// the server to close).
async fn raw(addr: std::net::SocketAddr, request: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    s.write_all(request.as_bytes()).await.unwrap();
    let mut out = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut out))
        .await
        .expect("response within 5 s")
        .unwrap();
    String::from_utf8_lossy(&out).into_owned()
}

/// On a route without edits the `X-Forwarded-*` fields are written by the
/// inline upstream exchange, not put into the header map: each arrives
/// once, a client's own `X-Forwarded-For` is appended to and its own
/// `X-Forwarded-Proto` and `-Host` replaced.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forwarded_fields_arrive_once_from_the_inline_exchange() {
    let (up, proxy, addr) = one_route("{}").await;
    let cases = [
        ("", "127.0.0.1"),
        ("X-Forwarded-For: 10.0.0.1\r\n", "10.0.0.1, 127.0.0.1"),
        (
            "X-Forwarded-Proto: https\r\nX-Forwarded-Host: evil.example\r\n",
            "127.0.0.1",
        ),
    ];
    for (extra, forwarded_for) in cases {
        let request =
            format!("GET /headers HTTP/1.1\r\nHost: a.example\r\n{extra}Connection: close\r\n\r\n");
        let resp = raw(addr, &request).await;
        assert!(resp.starts_with("HTTP/1.1 200"), "{resp}");
        let head = up.last_head();
        let all = |name: &str| -> Vec<String> {
            head.headers
                .get_all(name)
                .iter()
                .map(|v| v.to_str().unwrap().to_owned())
                .collect()
        };
        assert_eq!(all("x-forwarded-for"), [forwarded_for], "{extra:?}");
        assert_eq!(all("x-forwarded-proto"), ["http"], "{extra:?}");
        assert_eq!(all("x-forwarded-host"), ["a.example"], "{extra:?}");
        assert_eq!(all("host"), ["a.example"], "{extra:?}");
    }
    proxy.shutdown().await;
}

#[tokio::test]
async fn the_host_routed_by_is_the_host_forwarded() {
    let (up, proxy, addr) = one_route("{}").await;

    // Absolute form: the target's authority wins over Host (RFC 9112 3.2.2),
    // and the request still goes to the configured endpoint, never to the
    // authority named in the target.
    let resp = raw(
        addr,
        "GET http://abs.example.com/headers HTTP/1.1\r\nHost: other.example.com\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(resp.starts_with("HTTP/1.1 200"), "{resp}");
    let head = up.last_head();
    assert_eq!(head.headers["host"], "abs.example.com");
    assert_eq!(head.headers["x-forwarded-host"], "abs.example.com");
    assert_eq!(head.uri, "/headers");

    // Absolute form with a fragment and no path: the upstream is asked for
    // `/` (found by fuzzing: the request line had an empty target).
    let resp = raw(
        addr,
        "GET http://abs.example.com#top HTTP/1.1\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(resp.starts_with("HTTP/1.1 200"), "{resp}");
    assert_eq!(up.last_head().uri, "/");

    // Two Host lines: only the first, which routed the request, goes on.
    let resp = raw(
        addr,
        "GET /headers HTTP/1.1\r\nHost: a.example\r\nHost: b.internal\r\nConnection: close\r\n\r\n",
    )
    .await;
    if resp.starts_with("HTTP/1.1 200") {
        let hosts: Vec<_> = up
            .last_head()
            .headers
            .get_all("host")
            .iter()
            .cloned()
            .collect();
        assert_eq!(hosts, ["a.example"]);
    } else {
        assert!(resp.starts_with("HTTP/1.1 400"), "{resp}");
    }

    // HTTP/1.0 without Host: a client's own X-Forwarded-Host is dropped.
    let resp = raw(
        addr,
        "GET /headers HTTP/1.0\r\nX-Forwarded-Host: evil.example\r\n\r\n",
    )
    .await;
    assert!(resp.starts_with("HTTP/1.0 200"), "{resp}");
    let head = up.last_head();
    assert!(
        head.headers.get("x-forwarded-host").is_none(),
        "{:?}",
        head.headers
    );
    assert_eq!(head.headers["host"], up.addr.to_string().as_str());
    proxy.shutdown_within(Duration::from_secs(1)).await;
}
