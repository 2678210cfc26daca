//! Scoring through the real listener: three vendors, A fast and cheap, B
//! ten times as slow, C four times the cost. Their scores follow the documented
//! formula and their traffic shares order as A > B and A > C.

use std::time::Duration;

use crate::common::{config, endpoint, start_proxy, upstreams, TestUpstream};

#[tokio::test]
async fn scores_follow_the_formula_and_order_traffic_shares() {
    let a = TestUpstream::spawn("a").await;
    let b = TestUpstream::spawn("b").await;
    let c = TestUpstream::spawn("c").await;
    // Ten times slower, so that scheduling noise on a loaded machine (tens
    // of ms) cannot hide the difference in p99.
    a.set_delay(Duration::from_millis(40));
    b.set_delay(Duration::from_millis(400));
    c.set_delay(Duration::from_millis(40));
    let proxy = start_proxy(&config(&format!(
        "routes: [{{ name: r, pool: p }}]\npools:\n  - name: p\n    scoring: {{ interval: 200ms, window: 3s, latency_target: 5ms }}\n    endpoints:\n      - {{ name: a, url: \"{}\", cost: 1 }}\n      - {{ name: b, url: \"{}\", cost: 1 }}\n      - {{ name: c, url: \"{}\", cost: 4 }}\n",
        a.url(),
        b.url(),
        c.url()
    )))
    .await;
    let addr = proxy.listener_addr("web").unwrap();
    let admin = proxy.admin_addr();
    // Bounded load: rounds of 12 concurrent GETs until every vendor has a
    // settled score (or the deadline).
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let client = crate::common::client();
    let mut settled = None;
    let mut last = String::new();
    while std::time::Instant::now() < deadline {
        let mut set = tokio::task::JoinSet::new();
        for _ in 0..12 {
            let client = client.clone();
            set.spawn(async move { crate::common::get_on(&client, addr, "/").await.status });
        }
        while let Some(s) = set.join_next().await {
            assert_eq!(s.unwrap(), 200);
        }
        let doc = upstreams(admin).await;
        let all = ["a", "b", "c"].map(|n| endpoint(&doc, "p", n)["score"].clone());
        let ready = all.iter().all(|s| {
            s["raw"]["requests"].as_f64().unwrap_or(0.0) >= 5.0
                && s["raw"]["p99_seconds"].as_f64().is_some()
        });
        // Weights fall fast (at most halving per tick): wait until B's and
        // C's have come down below A's.
        let factor = |s: &serde_json::Value| s["weight_factor"].as_f64().unwrap_or(1.0);
        let converged = factor(&all[1]) < factor(&all[0]) && factor(&all[2]) < factor(&all[0]);
        last = format!("{all:?}");
        if ready && converged {
            settled = Some(all);
            break;
        }
    }
    let [sa, sb, sc] = settled.unwrap_or_else(|| panic!("scores did not settle: {last}"));
    // Formula: cost factor (cheapest / cost)^0.5, floor 0.25.
    assert!((sc["cost"].as_f64().unwrap() - 0.5).abs() < 1e-9, "{sc}");
    assert_eq!(sa["cost"].as_f64().unwrap(), 1.0);
    // Latency factor: reference = max(5 ms, 1.5 x median p99) over p99.
    let p99 = |s: &serde_json::Value| s["raw"]["p99_seconds"].as_f64().unwrap();
    let mut ps = [p99(&sa), p99(&sb), p99(&sc)];
    ps.sort_by(f64::total_cmp);
    let reference = (1.5 * ps[1]).max(0.005);
    let expect_b = (reference / p99(&sb)).clamp(0.25, 1.0);
    assert!(
        (sb["latency"].as_f64().unwrap() - expect_b).abs() < 1e-9,
        "{sb}"
    );
    assert!(sb["latency"].as_f64().unwrap() < 0.95, "B is slower: {sb}");
    assert_eq!(sa["latency"].as_f64().unwrap(), 1.0, "{sa}");
    // Traffic follows the scores over a fresh bounded batch.
    let before = [a.hits(), b.hits(), c.hits()];
    for _ in 0..20 {
        let mut set = tokio::task::JoinSet::new();
        for _ in 0..10 {
            let client = client.clone();
            set.spawn(async move { crate::common::get_on(&client, addr, "/").await.status });
        }
        while let Some(s) = set.join_next().await {
            assert_eq!(s.unwrap(), 200);
        }
    }
    let got = [
        a.hits() - before[0],
        b.hits() - before[1],
        c.hits() - before[2],
    ];
    assert!(got[0] > got[1] && got[0] > got[2], "shares {got:?}");
    // Within tolerance of the weight factors (1 : latency_b : 0.5).
    let total: u64 = got.iter().sum();
    let wa = sa["weight_factor"].as_f64().unwrap();
    let wb = sb["weight_factor"].as_f64().unwrap();
    let wc = sc["weight_factor"].as_f64().unwrap();
    let share_c = got[2] as f64 / total as f64;
    let expect_c = wc / (wa + wb + wc);
    assert!(
        (share_c - expect_c).abs() < 0.1,
        "C got {share_c:.2}, expected {expect_c:.2}"
    );
    proxy.shutdown_within(Duration::from_secs(1)).await;
}
