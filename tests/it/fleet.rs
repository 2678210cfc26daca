//! The fleet view through a real Prometheus server: two Switchyard
//! instances score the same vendors from Prometheus (scraping both every
//! second). Failing traffic goes to a vendor only through instance 1, and
//! instance 2, which sent it nothing, ejects it from the fleet numbers.
//! Stopping Prometheus makes both fall back to local data, and no client
//! request fails.

use std::time::Duration;

use switchyard::Switchyard;

use crate::common::prometheus::{free_port, Prometheus};
use crate::common::{
    client, config, endpoint, eventually, get_on, metric, metrics_text, start_proxy, upstreams,
    TestUpstream,
};

/// `eject_below: 0` makes an instance score without ever ejecting (the
/// instance that sends the failing traffic keeps sending it).
fn yaml(
    a: &TestUpstream,
    b: &TestUpstream,
    prometheus: std::net::SocketAddr,
    eject_below: f64,
) -> String {
    // Passive detection off: only the (fleet) score may eject. Retries let
    // a trial request that meets a failing vendor go to the other one.
    config(&format!(
        "routes: [{{ name: r, pool: p, retries: {{ attempts: 2 }} }}]
pools:
  - name: p
    outlier_detection: {{ enabled: false, base_ejection_time: 30s }}
    scoring:
      interval: 500ms
      window: 5s
      eject_below: {eject_below}
      source: {{ prometheus: {{ url: 'http://{prometheus}', timeout: 1s, selector: '{{job=\"switchyard\"}}' }} }}
    endpoints: [{{ name: a, url: '{}' }}, {{ name: b, url: '{}' }}]
",
        a.url(),
        b.url(),
    ))
}

async fn source(proxy: &Switchyard, which: &str) -> f64 {
    let m = metrics_text(proxy.admin_addr()).await;
    metric(
        &m,
        "switchyard_scoring_source",
        &[("pool", "p"), ("source", which)],
    )
}

#[tokio::test]
async fn the_fleet_view_ejects_a_vendor_another_instance_saw_failing() {
    let a = TestUpstream::spawn("a").await;
    let b = TestUpstream::spawn("b").await;
    let prom_addr = free_port();
    let one = start_proxy(&yaml(&a, &b, prom_addr, 0.0)).await;
    let two = start_proxy(&yaml(&a, &b, prom_addr, 0.2)).await;
    let mut prom = Prometheus::start(prom_addr, &[one.admin_addr(), two.admin_addr()]).await;
    eventually(Duration::from_secs(15), || async {
        (source(&one, "prometheus").await == 1.0 && source(&two, "prometheus").await == 1.0)
            .then_some(())
    })
    .await;

    // Vendor a fails; only instance 1 sends traffic (bounded: 3000 requests
    // or 25 s, stopping as soon as instance 2 has ejected a).
    a.set_status(500);
    let c = client();
    let web1 = one.listener_addr("web").unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(25);
    let mut ejected = false;
    for i in 0..3000 {
        let r = get_on(&c, web1, "/").await;
        assert_eq!(r.status, 200, "retries hide a's failures from clients");
        if i % 20 == 0 {
            let doc = upstreams(two.admin_addr()).await;
            let e = endpoint(&doc, "p", "a");
            if e["status"] == "ejected" {
                assert_eq!(e["outlier"]["ejected"]["reason"], "score", "{e}");
                assert_eq!(e["score"]["source"], "prometheus", "{e}");
                ejected = true;
                break;
            }
        }
        if std::time::Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    assert!(
        ejected,
        "instance 2 did not eject a from the fleet view: {}",
        endpoint(&upstreams(two.admin_addr()).await, "p", "a")
    );

    // Prometheus goes away: both fall back to local data; clients see no
    // failure through either instance.
    a.set_status(0);
    prom.stop();
    eventually(Duration::from_secs(15), || async {
        (source(&one, "local").await == 1.0 && source(&two, "local").await == 1.0).then_some(())
    })
    .await;
    let web2 = two.listener_addr("web").unwrap();
    for _ in 0..50 {
        assert_eq!(get_on(&c, web1, "/").await.status, 200);
        assert_eq!(get_on(&c, web2, "/").await.status, 200);
    }
    one.shutdown_within(Duration::from_secs(1)).await;
    two.shutdown_within(Duration::from_secs(1)).await;
}
