//! A vendor hovering around the score threshold does not flap.

use super::*;

/// One observed scoring tick of `v`.
#[derive(Debug, Clone, PartialEq)]
struct Tick {
    status: String,
    error: f64,
    requests: f64,
    failures: f64,
    armed: bool,
}

#[tokio::test]
async fn a_vendor_hovering_around_the_threshold_is_ejected_once_and_does_not_flap() {
    let a = TestUpstream::spawn("a").await;
    let v = TestUpstream::spawn("v").await;
    // `v` carries nearly all traffic, whatever its weight factor, so its
    // request count in the window (and so its error score) follows the
    // error ratio the test sets. `rearm_above: 0.9`: at 15% errors the
    // error score stays below it even with only `min_requests` in the
    // window (at most 0.84), so only the hysteresis can stop a re-trip.
    let proxy = start_proxy(&yaml(
        &[("a", a.url(), 1), ("v", v.url(), 99)],
        &format!("{SCORING}, eject_below: 0.2, rearm_above: 0.9"),
        "",
    ))
    .await;
    let (web, admin) = (proxy.listener_addr("web").unwrap(), proxy.admin_addr());
    let load = Load::start(web, Duration::from_millis(5), 6000, Duration::from_secs(45));
    // Every transition seen, in order. The same one polled twice may show
    // a time a millisecond apart (it is converted to Unix time per call).
    let mut changes: Vec<(f64, String, String)> = Vec::new();
    let observe = |changes: &mut Vec<(f64, String, String)>, e: &Value| {
        if e["last_change"].is_object() {
            let c = last_change(e);
            if changes.last().is_none_or(|l| {
                (l.1.as_str(), l.2.as_str()) != (&c.1, &c.2) || (l.0 - c.0).abs() > 0.05
            }) {
                changes.push(c);
            }
        }
    };

    // 35% errors until the score trips once.
    v.set_failures(7, 20);
    let end = Instant::now() + Duration::from_secs(15);
    loop {
        let e = ep(admin, "v").await;
        observe(&mut changes, &e);
        if e["status"] == "ejected" {
            break;
        }
        assert!(Instant::now() < end, "never scored out: {e}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // 25% (every 4th request fails) through probation: any 3 requests in a
    // row after a failure pass, so at most one failed trial re-ejects it.
    v.set_failures(1, 4);
    let end = Instant::now() + Duration::from_secs(15);
    loop {
        let e = ep(admin, "v").await;
        observe(&mut changes, &e);
        if e["status"] == "healthy" {
            break;
        }
        assert!(Instant::now() < end, "never readmitted: {e}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let back = changes.len();

    // Hover: 15% and 35% errors in turn, 1.5 s each, 30 ticks in all. The
    // error score crosses `eject_below` both ways; it never re-arms.
    let mut ticks: Vec<Tick> = Vec::new();
    let start = Instant::now();
    let phase = Duration::from_millis(1500);
    let mut current = None;
    while start.elapsed() < 30 * TICK {
        let high = (start.elapsed().as_millis() / phase.as_millis()) % 2 == 1;
        if current != Some(high) {
            current = Some(high);
            if high {
                v.set_failures(7, 20);
            } else {
                v.set_failures(3, 20);
            }
        }
        let e = ep(admin, "v").await;
        observe(&mut changes, &e);
        let s = &e["score"];
        let t = Tick {
            status: text(&e["status"]).to_string(),
            error: f(&s["error"]),
            requests: f(&s["raw"]["requests"]),
            failures: f(&s["raw"]["failures"]),
            armed: s["can_eject"] == true,
        };
        if ticks
            .last()
            .is_none_or(|l| (l.error, l.requests, l.failures) != (t.error, t.requests, t.failures))
        {
            ticks.push(t);
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let statuses = load.stop().await;
    let m = metrics_text(admin).await;

    let report = format!("changes {changes:#?}\nticks {ticks:#?}\nstatuses {statuses:?}");
    // Exactly one ejection by the scorer; any other is a failed trial on
    // probation, which repeats the reason.
    let trips = changes
        .iter()
        .filter(|(_, to, why)| to == "ejected" && why.starts_with("error score "))
        .count();
    let trials = changes
        .iter()
        .filter(|(_, to, why)| to == "ejected" && why.starts_with("a trial request failed"))
        .count();
    assert_eq!(trips, 1, "{report}");
    assert!(trials <= 1, "{report}");
    assert_eq!(
        ejections(&m, "v", "score"),
        (trips + trials) as f64,
        "{report}\n{m}"
    );
    // No transition at all while it hovered.
    assert_eq!(changes.len(), back, "{report}");
    assert!(
        ticks.iter().all(|t| t.status == "healthy" && !t.armed),
        "{report}"
    );
    // It did hover: below `eject_below` on two ticks running with enough
    // requests (which ejects an armed vendor), and above it.
    let low = |t: &Tick| t.error < 0.2 && t.requests >= 20.0;
    assert!(
        ticks.windows(2).any(|w| low(&w[0]) && low(&w[1])),
        "{report}"
    );
    assert!(ticks.iter().any(|t| t.error > 0.2), "{report}");
    proxy.shutdown_within(Duration::from_secs(1)).await;
}
