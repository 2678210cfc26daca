//! `vendor-auth` per endpoint and per pool: the credential header and the
//! HMAC-SHA256 signature reach exactly the endpoints that list the plugin,
//! and every signature verifies against the path that endpoint received
//! (after `strip_prefix` and the endpoint's base path).

use std::time::{SystemTime, UNIX_EPOCH};

use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::{plugin, request, shipped, VENDOR_AUTH};
use crate::common::{config, reload, start_proxy, TestUpstream};

const SECRET: &str = "s3cret";

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// Lowercase hex HMAC-SHA256(secret, METHOD\nPATH\nTIMESTAMP).
fn signature(method: &str, path: &str, timestamp: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(format!("{method}\n{path}\n{timestamp}").as_bytes());
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Asserts `head` carries the credential and a valid signature made
/// between `before` and `after` (Unix seconds).
fn assert_signed(head: &http::request::Parts, before: u64, after: u64) {
    let h = |name: &str| {
        head.headers
            .get(name)
            .unwrap_or_else(|| panic!("no {name} in {:?}", head.headers))
            .to_str()
            .unwrap()
            .to_string()
    };
    assert_eq!(h("authorization"), "Bearer abc");
    let ts = h("x-timestamp");
    let secs: u64 = ts.parse().unwrap_or_else(|_| panic!("x-timestamp {ts:?}"));
    assert!(
        (before..=after).contains(&secs),
        "x-timestamp {secs} outside [{before}, {after}]"
    );
    let path = head.uri.path_and_query().unwrap().as_str();
    let want = signature(head.method.as_str(), path, &ts);
    assert_eq!(h("x-signature"), want, "{} {path} at {ts}", head.method);
}

fn assert_unsigned(head: &http::request::Parts) {
    for name in ["authorization", "x-signature", "x-timestamp"] {
        assert!(
            !head.headers.contains_key(name),
            "{name} reached an endpoint without the plugin: {:?}",
            head.headers
        );
    }
}

fn yaml(
    acme: &TestUpstream,
    globex: &TestUpstream,
    pool_plugins: &str,
    acme_plugins: &str,
) -> String {
    config(&format!(
        "plugins:\n{}routes:
  - {{ name: r, match: {{ path_prefix: /v1 }}, strip_prefix: /v1, pool: p }}
pools:
  - name: p
    balancer: round_robin
    plugins: [{pool_plugins}]
    endpoints:
      - {{ name: acme, url: '{}/api', plugins: [{acme_plugins}] }}
      - {{ name: globex, url: '{}' }}\n",
        plugin(
            "acme-auth",
            shipped(VENDOR_AUTH),
            &format!(", config: {{ header: authorization, value: Bearer abc, hmac: {{ secret: {SECRET} }} }}")
        ),
        acme.url(),
        globex.url()
    ))
}

/// Sends `n` requests (GET and POST, distinct paths and queries) one at a
/// time; returns, per request, whether acme got it and the head it got.
async fn traffic(
    web: std::net::SocketAddr,
    ups: [&TestUpstream; 2],
    n: usize,
) -> Vec<(bool, http::request::Parts, u64, u64)> {
    let mut seen = Vec::new();
    for i in 0..n {
        let hits = ups.map(TestUpstream::hits);
        let method = if i % 3 == 0 { "POST" } else { "GET" };
        let before = unix_now();
        let r = request(
            method,
            web,
            &format!("/v1/items/{i}?x={i}&y=a%20b"),
            &[],
            "payload",
        )
        .await;
        let after = unix_now();
        assert_eq!(r.status, 200, "{}", r.body);
        let acme = ups[0].hits() == hits[0] + 1;
        let other = ups[1].hits() == hits[1] + 1;
        assert!(
            acme != other,
            "request {i} reached {acme}/{other} upstreams"
        );
        let head = if acme {
            ups[0].last_head()
        } else {
            ups[1].last_head()
        };
        seen.push((acme, head, before, after));
    }
    seen
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vendor_auth_signs_only_for_the_endpoint_that_lists_it() {
    let acme = TestUpstream::spawn("acme").await;
    let globex = TestUpstream::spawn("globex").await;
    let proxy = start_proxy(&yaml(&acme, &globex, "", "acme-auth")).await;
    let web = proxy.listener_addr("web").unwrap();

    let seen = traffic(web, [&acme, &globex], 12).await;
    assert_eq!((acme.hits(), globex.hits()), (6, 6), "round robin");
    for (to_acme, head, before, after) in &seen {
        if *to_acme {
            assert!(head.uri.path().starts_with("/api/items/"), "{}", head.uri);
            assert_signed(head, *before, *after);
        } else {
            assert!(head.uri.path().starts_with("/items/"), "{}", head.uri);
            assert_unsigned(head);
        }
    }

    // The pool's list applies to every endpoint.
    let report = reload(&proxy, &yaml(&acme, &globex, "acme-auth", "")).await;
    assert_eq!(report.result, "success", "{report:?}");
    let seen = traffic(web, [&acme, &globex], 8).await;
    assert_eq!(seen.iter().filter(|s| s.0).count(), 4, "round robin");
    for (_, head, before, after) in &seen {
        assert_signed(head, *before, *after);
    }
}
