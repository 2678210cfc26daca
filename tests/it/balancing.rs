//! Balancing through the real listener.

use std::time::Duration;

use crate::common::{config, get, start_proxy, TestUpstream};

async fn sequence(balancer: &str, weights: &[u32], n: usize) -> (Vec<String>, Vec<TestUpstream>) {
    let mut ups = Vec::new();
    let mut eps = Vec::new();
    for (i, w) in weights.iter().enumerate() {
        let name = ["a", "b", "c", "d"][i];
        let up = TestUpstream::spawn(name).await;
        eps.push(format!(
            "{{ name: {name}, url: '{}', weight: {w} }}",
            up.url()
        ));
        ups.push(up);
    }
    let yaml = config(&format!(
        "routes: [{{ name: r, pool: p }}]\npools: [{{ name: p, balancer: {balancer}, endpoints: [{}] }}]\n",
        eps.join(", ")
    ));
    let proxy = start_proxy(&yaml).await;
    let addr = proxy.listener_addr("web").unwrap();
    let mut seq = Vec::with_capacity(n);
    for _ in 0..n {
        let r = get(addr, "/").await;
        assert_eq!(r.status, 200);
        seq.push(r.body);
    }
    proxy.shutdown_within(Duration::from_secs(1)).await;
    (seq, ups)
}

#[tokio::test]
async fn weighted_round_robin_3_to_1_is_exact_and_smooth() {
    let (seq, ups) = sequence("weighted_round_robin", &[3, 1], 400).await;
    assert_eq!(ups[0].hits(), 300);
    assert_eq!(ups[1].hits(), 100);
    // Smooth: the period-4 pattern "a a b a" from some phase, so a "b"
    // is never next to another "b" and every window of 4 has exactly one.
    for w in seq.windows(4) {
        assert_eq!(w.iter().filter(|s| *s == "b").count(), 1, "{w:?}");
    }
    let phase = seq.iter().position(|s| s == "b").unwrap();
    let cycle = ["a", "a", "b", "a"];
    let offset = (2 + 4 - phase % 4) % 4;
    for (i, s) in seq.iter().enumerate() {
        assert_eq!(s, cycle[(i + offset) % 4], "at {i}: {:?}", &seq[..12]);
    }
}

#[tokio::test]
async fn weighted_round_robin_5_1_1_follows_nginx_cycle() {
    let (seq, _) = sequence("weighted_round_robin", &[5, 1, 1], 70).await;
    let cycle: Vec<&str> = "a a b a c a a".split(' ').collect();
    let found = (0..7).any(|off| {
        seq.iter()
            .enumerate()
            .all(|(i, s)| s == cycle[(i + off) % 7])
    });
    assert!(found, "not a rotation of {cycle:?}: {seq:?}");
}

#[tokio::test]
async fn round_robin_ignores_weights_but_not_zero() {
    let (_, ups) = sequence("round_robin", &[5, 1, 0], 100).await;
    assert_eq!((ups[0].hits(), ups[1].hits(), ups[2].hits()), (50, 50, 0));
}

#[tokio::test]
async fn random_and_least_request_use_every_eligible_endpoint() {
    for balancer in ["random", "least_request"] {
        let (_, ups) = sequence(balancer, &[1, 1, 0], 200).await;
        assert_eq!(ups[2].hits(), 0, "{balancer}");
        assert!(
            ups[0].hits() > 40 && ups[1].hits() > 40,
            "{balancer}: {} {}",
            ups[0].hits(),
            ups[1].hits()
        );
    }
}
