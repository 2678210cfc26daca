//! Hostile request targets and hosts through the real listener, on raw
//! sockets: Host and `:authority` are validated (400), an absolute-form
//! target never makes Switchyard an open forward proxy (its authority is
//! only matched against routes; the upstream is always the route's pool),
//! CONNECT is refused (405), and routes see, and upstreams receive, one
//! normalised spelling of the path, so an encoded path cannot slip past a
//! route meant to catch it.

use bytes::Bytes;
use http_body_util::Full;
use tokio::net::TcpStream;

use crate::common::raw::{exchange, Exchange};
use crate::common::{config, eps, start_proxy, TestUpstream};
use crate::limits::yaml;

/// Sends `head` followed by `Connection: close` and the blank line.
async fn send_head(web: std::net::SocketAddr, head: &str) -> Exchange {
    exchange(web, format!("{head}Connection: close\r\n\r\n").as_bytes()).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http1_hosts_are_validated() {
    let up = TestUpstream::spawn("up").await;
    let proxy = start_proxy(&yaml(&up, "")).await;
    let web = proxy.listener_addr("web").unwrap();
    let refused = [
        ("HTTP/1.1 without Host", "GET / HTTP/1.1\r\n".to_string()),
        (
            "two Host headers",
            "GET / HTTP/1.1\r\nHost: a.test\r\nHost: b.test\r\n".to_string(),
        ),
        (
            "the same Host twice",
            "GET / HTTP/1.1\r\nHost: a.test\r\nHost: a.test\r\n".to_string(),
        ),
        (
            "Host with a space",
            "GET / HTTP/1.1\r\nHost: a b\r\n".to_string(),
        ),
        (
            "Host with a slash",
            "GET / HTTP/1.1\r\nHost: a/b\r\n".to_string(),
        ),
        (
            "Host with user info",
            "GET / HTTP/1.1\r\nHost: u@h\r\n".to_string(),
        ),
        (
            "Host with port 99999",
            "GET / HTTP/1.1\r\nHost: h:99999\r\n".to_string(),
        ),
    ];
    for (what, head) in refused {
        let got = send_head(web, &head).await;
        assert_eq!(got.status(), 400, "{what}: {:?}", got.raw);
        assert_eq!(up.hits(), 0, "{what}: reached the upstream");
    }
    // HTTP/1.0 needs no Host: it is routed, and the upstream is given one.
    let got = send_head(web, "GET /headers HTTP/1.0\r\n").await;
    assert_eq!(got.status(), 200, "{:?}", got.raw);
    assert_eq!(up.hits(), 1);
    assert!(up.last_head().headers.contains_key("host"));
    // A valid one passes, as it was sent.
    let got = send_head(web, "GET / HTTP/1.1\r\nHost: a.test:8080\r\n").await;
    assert_eq!(got.status(), 200, "{:?}", got.raw);
    assert_eq!(up.last_head().headers["host"], "a.test:8080");
    assert_eq!(up.hits(), 2);
    proxy.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http2_authority_and_host_must_agree() {
    let up = TestUpstream::spawn("up").await;
    let proxy = start_proxy(&yaml(&up, "")).await;
    let web = proxy.listener_addr("web").unwrap();
    let stream = TcpStream::connect(web).await.unwrap();
    let (mut sender, conn) = hyper::client::conn::http2::handshake(
        hyper_util::rt::TokioExecutor::new(),
        hyper_util::rt::TokioIo::new(stream),
    )
    .await
    .unwrap();
    tokio::spawn(conn);
    let req = |host: Option<&str>| {
        let mut b = http::Request::get("http://a.test/");
        if let Some(h) = host {
            b = b.header("host", h);
        }
        b.body(Full::new(Bytes::new())).unwrap()
    };
    let status = |r: Result<http::Response<hyper::body::Incoming>, hyper::Error>| {
        r.expect("an answer on the stream").status().as_u16()
    };
    assert_eq!(status(sender.send_request(req(None)).await), 200);
    assert_eq!(status(sender.send_request(req(Some("a.test"))).await), 200);
    // Host names are case-insensitive.
    assert_eq!(status(sender.send_request(req(Some("A.TEST"))).await), 200);
    assert_eq!(up.hits(), 3);
    assert_eq!(status(sender.send_request(req(Some("b.test"))).await), 400);
    assert_eq!(
        status(sender.send_request(req(Some("a.test:8080"))).await),
        400
    );
    assert_eq!(up.hits(), 3, "a mismatched request reached the upstream");
    proxy.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn absolute_form_targets_go_to_the_route_pool_never_where_they_point() {
    let up = TestUpstream::spawn("up").await;
    // Listening, but in no pool: an open proxy would reach it.
    let other = TestUpstream::spawn("other").await;
    let proxy = start_proxy(&yaml(&up, "")).await;
    let web = proxy.listener_addr("web").unwrap();
    let there = other.addr;
    for scheme in ["http", "https"] {
        let head = format!("GET {scheme}://{there}/x?q=1 HTTP/1.1\r\nHost: {there}\r\n");
        let got = send_head(web, &head).await;
        assert_eq!(got.status(), 200, "{scheme}: {:?}", got.raw);
        assert_eq!(got.replies[0].body_text(), "up");
        // Forwarded in origin form, with the target's authority as Host
        // (it replaces Host, RFC 9112 §3.2.2).
        let seen = up.last_head();
        assert_eq!(seen.uri, "/x?q=1");
        assert_eq!(seen.headers["host"], there.to_string().as_str());
    }
    // The authority wins over a different Host, and is still only a name.
    let head = format!("GET http://{there}/y HTTP/1.1\r\nHost: elsewhere.test\r\n");
    assert_eq!(send_head(web, &head).await.status(), 200);
    assert_eq!(up.last_head().uri, "/y");
    assert_eq!(up.hits(), 3);
    // Not http(s): refused.
    let got = send_head(web, "GET ftp://x/ HTTP/1.1\r\nHost: x\r\n").await;
    assert_eq!(got.status(), 400, "{:?}", got.raw);
    let head = format!("GET ftp://{there}/ HTTP/1.1\r\nHost: {there}\r\n");
    assert_eq!(send_head(web, &head).await.status(), 400);
    // An authority with user info: refused.
    let head = format!("GET http://u@{there}/ HTTP/1.1\r\nHost: {there}\r\n");
    assert_eq!(send_head(web, &head).await.status(), 400);
    assert_eq!(up.hits(), 3);
    assert_eq!(other.hits(), 0);
    assert_eq!(
        other.connections.load(std::sync::atomic::Ordering::Relaxed),
        0,
        "the proxy connected to the address a client named"
    );
    proxy.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_is_refused_with_405_and_allow() {
    let up = TestUpstream::spawn("up").await;
    let other = TestUpstream::spawn("other").await;
    let proxy = start_proxy(&yaml(&up, "")).await;
    let web = proxy.listener_addr("web").unwrap();
    for target in [other.addr.to_string(), "example.test:443".to_string()] {
        let head = format!("CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n");
        let got = send_head(web, &head).await;
        assert_eq!(got.status(), 405, "{target}: {:?}", got.raw);
        let allow = got.replies[0].header("allow").expect("an Allow header");
        assert!(allow.contains("GET"), "{allow}");
        assert!(!allow.contains("CONNECT"), "{allow}");
        assert!(got.closed);
    }
    assert_eq!(up.hits(), 0);
    assert_eq!(other.hits(), 0);
    assert_eq!(
        other.connections.load(std::sync::atomic::Ordering::Relaxed),
        0,
        "CONNECT opened a tunnel"
    );
    proxy.shutdown().await;
}

/// `/admin` (path prefix) to pool `admin`, everything else to `public`.
fn two_pools(admin: &TestUpstream, public: &TestUpstream) -> String {
    config(&format!(
        "routes:\n  - {{ name: admin, match: {{ path_prefix: /admin }}, pool: admin }}\n  - {{ name: public, pool: public }}\npools:\n  - {{ name: admin, endpoints: [{}] }}\n  - {{ name: public, endpoints: [{}] }}\n",
        eps(&[("a", admin.url())]),
        eps(&[("p", public.url())]),
    ))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn routes_see_and_upstreams_get_the_normalised_path() {
    let admin = TestUpstream::spawn("admin").await;
    let public = TestUpstream::spawn("public").await;
    let proxy = start_proxy(&two_pools(&admin, &public)).await;
    let web = proxy.listener_addr("web").unwrap();
    // (target sent, pool that must serve it, path the upstream must get)
    let cases = [
        ("/admin", "admin", "/admin"),
        ("/%61dmin", "admin", "/admin"),
        ("/%61%64%6D%69%6E", "admin", "/admin"),
        ("/x/../admin", "admin", "/admin"),
        ("//admin", "admin", "/admin"),
        ("///admin//users", "admin", "/admin/users"),
        ("/./admin", "admin", "/admin"),
        ("/x/%2e%2e/admin", "admin", "/admin"),
        ("/x/%2E%2E/%2e/admin/", "admin", "/admin/"),
        ("/../../admin", "admin", "/admin"),
        ("/admin/../public", "public", "/public"),
        // The query is passed on untouched, escapes and dots included.
        (
            "/%61dmin/a?x=%61&y=../b&z=%2f",
            "admin",
            "/admin/a?x=%61&y=../b&z=%2f",
        ),
        // Case is data: `/ADMIN` is another path, and is forwarded as is.
        ("/ADMIN", "public", "/ADMIN"),
        // An encoded slash is not a separator: one segment, kept encoded
        // (escapes of reserved characters are upper-cased).
        ("/a%2fadmin", "public", "/a%2Fadmin"),
        ("/%2fadmin", "public", "/%2Fadmin"),
        ("/admin%2fx", "public", "/admin%2Fx"),
        // UTF-8 (which hyper lets through unescaped) stays UTF-8 (found by
        // fuzzing: it was copied byte by byte as Latin-1).
        ("/caf\u{e9}//admin", "public", "/caf\u{e9}/admin"),
        ("//admin/caf\u{e9}", "admin", "/admin/caf\u{e9}"),
    ];
    let mut wrong = Vec::new();
    for (target, pool, forwarded) in cases {
        let got = send_head(web, &format!("GET {target} HTTP/1.1\r\nHost: h.test\r\n")).await;
        assert_eq!(got.status(), 200, "{target}: {:?}", got.raw);
        let went = got.replies[0].header("x-upstream").unwrap_or_default();
        let up = if went == "admin" { &admin } else { &public };
        let uri = up.last_head().uri.to_string();
        if went != pool || uri != forwarded {
            wrong.push(format!(
                "{target}: to {went} as {uri}, not to {pool} as {forwarded}"
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    let admin_hits = cases.iter().filter(|c| c.1 == "admin").count() as u64;
    assert_eq!(admin.hits(), admin_hits);
    assert_eq!(public.hits(), cases.len() as u64 - admin_hits);
    // A malformed escape: 400, nowhere.
    for target in ["/%zz", "/admin%", "/%6"] {
        let got = send_head(web, &format!("GET {target} HTTP/1.1\r\nHost: h.test\r\n")).await;
        assert_eq!(got.status(), 400, "{target}: {:?}", got.raw);
    }
    assert_eq!(admin.hits() + public.hits(), cases.len() as u64);
    proxy.shutdown().await;
}
