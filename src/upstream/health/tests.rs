//! Exact tests of the health state machine, the ramp and the ejection cap.

use std::sync::Arc;
use std::time::Duration;

use super::machine::{EjectReason, Machine, ProbeResult, Recorded, Status};
use super::{ramp_permille, EndpointHealth, HealthSettings, ProbeTarget};
use crate::config::{CheckKind, HealthCheck, OutlierDetection, StatusSet};
use crate::metrics::Metrics;
use crate::upstream::PoolState;

fn hc() -> HealthCheck {
    HealthCheck {
        kind: CheckKind::Http,
        path: "/health".into(),
        host: None,
        expected: StatusSet::success(),
        interval: Duration::from_secs(5),
        timeout: Duration::from_secs(2),
        jitter: 0.1,
        healthy_threshold: 2,
        unhealthy_threshold: 3,
    }
}

fn od() -> OutlierDetection {
    OutlierDetection {
        enabled: true,
        consecutive_failures: 5,
        failure_ratio: 0.5,
        window: Duration::from_secs(10),
        min_requests: 20,
        base_ejection_time: Duration::from_secs(30),
        max_ejection_time: Duration::from_secs(300),
        max_ejection_percent: 50,
        slow_start: Duration::from_secs(30),
    }
}

const SLOW: Duration = Duration::from_secs(30);

/// The ejection a recorded outcome asks for, if any.
fn eject_of(r: Recorded) -> Option<(EjectReason, String)> {
    match r {
        Recorded::Eject(reason, why) => Some((reason, why)),
        _ => None,
    }
}
fn fail() -> ProbeResult {
    ProbeResult::Failure("status 500".into())
}

#[test]
fn the_first_probe_gives_the_first_verdict() {
    let mut m = Machine::new(true, false, 0);
    assert_eq!(m.status(), Status::Checking);
    let t = m.on_probe(ProbeResult::Success, &hc(), SLOW, 10).unwrap();
    assert_eq!((t.from, t.to), (Status::Checking, Status::Healthy));
    assert_eq!(m.ramp_since(), None, "no slow start at startup");

    let mut m = Machine::new(true, false, 0);
    let t = m.on_probe(ProbeResult::Timeout, &hc(), SLOW, 10).unwrap();
    assert_eq!(t.to, Status::Unhealthy);
    assert_eq!(t.ejection, None, "never routable, so nothing was ejected");
}

#[test]
fn thresholds_decide_later_changes_and_recovery_ramps() {
    let mut m = Machine::new(true, false, 0);
    m.on_probe(ProbeResult::Success, &hc(), SLOW, 0);
    assert!(m.on_probe(fail(), &hc(), SLOW, 1).is_none());
    assert!(m.on_probe(fail(), &hc(), SLOW, 2).is_none());
    let t = m.on_probe(fail(), &hc(), SLOW, 3).unwrap();
    assert_eq!((t.from, t.to), (Status::Healthy, Status::Unhealthy));
    assert_eq!(t.ejection, Some(EjectReason::HealthCheck));
    assert!(t.reason.contains("3 times in a row"), "{}", t.reason);
    assert!(m.on_probe(ProbeResult::Success, &hc(), SLOW, 4).is_none());
    let t = m.on_probe(ProbeResult::Success, &hc(), SLOW, 5).unwrap();
    assert_eq!(t.to, Status::Healthy);
    assert_eq!(m.ramp_since(), Some(5));
}

#[test]
fn alternating_probes_never_flap() {
    let mut m = Machine::new(true, false, 0);
    m.on_probe(ProbeResult::Success, &hc(), SLOW, 0);
    let transitions = (1..=100)
        .filter_map(|t| {
            let r = if t % 2 == 0 {
                ProbeResult::Success
            } else {
                fail()
            };
            m.on_probe(r, &hc(), SLOW, t)
        })
        .count();
    assert_eq!(transitions, 0);
    assert_eq!(m.status(), Status::Healthy);
}

#[test]
fn consecutive_failures_eject_for_a_growing_capped_time() {
    let od = od();
    let mut m = Machine::new(false, false, 0);
    for t in 0..4 {
        assert_eq!(m.record(true, &od, t), Recorded::Nothing);
    }
    let (reason, why) = eject_of(m.record(true, &od, 4)).unwrap();
    assert_eq!(reason, EjectReason::ConsecutiveFailures);
    let t = m.eject(reason, why, &od, 1.0, 4).unwrap();
    assert_eq!(t.to, Status::Ejected);
    assert_eq!(m.ejection().unwrap().until, 30_004);
    assert!(m.tick(SLOW, 30_003).is_none());
    let t = m.tick(SLOW, 30_004).unwrap();
    assert_eq!(t.to, Status::HalfOpen);
    assert_eq!(
        m.ramp_since(),
        None,
        "slow start waits for probation to pass"
    );
    // A failed trial ejects again, for twice as long.
    let (reason, why) = eject_of(m.record(true, &od, 31_000)).unwrap();
    assert_eq!(reason, EjectReason::ConsecutiveFailures, "{why}");
    m.eject(reason, String::new(), &od, 1.0, 31_000);
    assert_eq!(m.ejection().unwrap().until, 31_000 + 60_000);
    // Many ejections in a row: capped at max_ejection_time.
    let mut now = 100_000;
    for _ in 0..20 {
        m.tick(SLOW, m.ejection().map_or(now, |e| e.until));
        now = m.ejection().map_or(now, |e| e.until) + 1;
        let r = (0..5)
            .find_map(|_| eject_of(m.record(true, &od, now)))
            .unwrap()
            .0;
        m.eject(r, String::new(), &od, 1.0, now);
    }
    let e = m.ejection().unwrap();
    assert_eq!(e.until - e.since, 300_000);
}

#[test]
fn probation_closes_after_three_trials_and_then_ramps() {
    let od = od();
    let mut m = Machine::new(false, false, 0);
    m.eject(EjectReason::FailureRatio, String::new(), &od, 1.0, 0);
    m.tick(SLOW, 30_000);
    assert_eq!(m.status(), Status::HalfOpen);
    assert_eq!(m.record(false, &od, 30_001), Recorded::Nothing);
    assert_eq!(m.record(false, &od, 30_002), Recorded::Nothing);
    let Recorded::Changed(t) = m.record(false, &od, 30_003) else {
        panic!("the third trial closes");
    };
    assert_eq!((t.from, t.to), (Status::HalfOpen, Status::Healthy));
    assert_eq!(m.ramp_since(), Some(30_003));
}

#[test]
fn a_failed_trial_repeats_the_last_reason() {
    let od = od();
    let mut m = Machine::new(false, false, 0);
    m.eject(EjectReason::FailureRatio, String::new(), &od, 1.0, 0);
    m.tick(SLOW, 30_000);
    m.record(false, &od, 30_001);
    let (reason, _) = eject_of(m.record(true, &od, 30_002)).unwrap();
    assert_eq!(reason, EjectReason::FailureRatio);
}

#[test]
fn passing_probes_count_as_trials() {
    let od = od();
    let mut m = Machine::new(true, false, 0);
    m.on_probe(ProbeResult::Success, &hc(), SLOW, 0);
    m.eject(EjectReason::ConsecutiveFailures, String::new(), &od, 1.0, 0);
    m.tick(SLOW, 30_000);
    assert!(m
        .on_probe(ProbeResult::Success, &hc(), SLOW, 30_001)
        .is_none());
    assert!(m
        .on_probe(ProbeResult::Success, &hc(), SLOW, 30_002)
        .is_none());
    let t = m
        .on_probe(ProbeResult::Success, &hc(), SLOW, 30_003)
        .unwrap();
    assert_eq!(t.to, Status::Healthy);
}

#[test]
fn checks_that_see_an_endpoint_come_back_end_its_outlier_ejection() {
    let od = od();
    let mut m = Machine::new(true, false, 0);
    m.on_probe(ProbeResult::Success, &hc(), SLOW, 0);
    // Killed: requests fail, it is ejected for 30 s; the checks fail too.
    m.eject(
        EjectReason::ConsecutiveFailures,
        String::new(),
        &od,
        1.0,
        1_000,
    );
    for t in [2_000, 3_000, 4_000] {
        m.on_probe(fail(), &hc(), SLOW, t);
    }
    assert_eq!(m.status(), Status::Ejected);
    // Restarted: two passing checks (healthy_threshold) end the ejection
    // 25 s early, on probation.
    assert!(m
        .on_probe(ProbeResult::Success, &hc(), SLOW, 5_000)
        .is_none());
    let t = m
        .on_probe(ProbeResult::Success, &hc(), SLOW, 6_000)
        .expect("a transition");
    assert_eq!((t.from, t.to), (Status::Ejected, Status::HalfOpen));
    assert!(
        t.reason
            .contains("consecutive_failures ejection ends early"),
        "{}",
        t.reason
    );
    // Three trials close it.
    m.record(false, &od, 6_001);
    m.record(false, &od, 6_002);
    assert!(matches!(m.record(false, &od, 6_003), Recorded::Changed(_)));
    assert_eq!(m.status(), Status::Healthy);
}

#[test]
fn checks_that_never_failed_or_a_retry_after_leave_the_ejection_alone() {
    let od = od();
    // Passing checks all along (a vendor failing real requests only).
    let mut m = Machine::new(true, false, 0);
    m.on_probe(ProbeResult::Success, &hc(), SLOW, 0);
    m.eject(EjectReason::FailureRatio, String::new(), &od, 1.0, 1_000);
    for t in [2_000, 3_000, 4_000] {
        m.on_probe(ProbeResult::Success, &hc(), SLOW, t);
    }
    assert_eq!(m.status(), Status::Ejected);
    // A Retry-After ejection runs its time even when checks recover.
    let mut m = Machine::new(true, false, 0);
    m.on_probe(ProbeResult::Success, &hc(), SLOW, 0);
    m.eject_for(EjectReason::RetryAfter, String::new(), 60_000, 1_000);
    for t in [2_000, 3_000, 4_000] {
        m.on_probe(fail(), &hc(), SLOW, t);
    }
    m.on_probe(ProbeResult::Success, &hc(), SLOW, 5_000);
    m.on_probe(ProbeResult::Success, &hc(), SLOW, 6_000);
    assert_eq!(m.status(), Status::Ejected);
}

#[test]
fn retry_after_opens_for_exactly_its_length() {
    let mut m = Machine::new(false, false, 0);
    let t = m
        .eject_for(EjectReason::RetryAfter, "429".into(), 2000, 100)
        .unwrap();
    assert_eq!(t.ejection, Some(EjectReason::RetryAfter));
    assert_eq!(m.ejection().unwrap().until, 2100);
    assert_eq!(
        m.view().ejections_in_row,
        0,
        "Retry-After does not escalate"
    );
    assert!(m.tick(SLOW, 2099).is_none());
    assert_eq!(m.tick(SLOW, 2100).unwrap().to, Status::HalfOpen);
}

#[test]
fn ejection_count_decays_while_the_endpoint_behaves() {
    let od = od();
    let mut m = Machine::new(false, false, 0);
    m.eject(EjectReason::ConsecutiveFailures, String::new(), &od, 1.0, 0);
    m.tick(SLOW, 30_000);
    m.eject(
        EjectReason::ConsecutiveFailures,
        String::new(),
        &od,
        1.0,
        30_001,
    );
    assert_eq!(m.view().ejections_in_row, 2);
    m.tick(SLOW, 90_001);
    // Two base times later (60 s of good behaviour) the count is back to 0.
    m.eject(
        EjectReason::ConsecutiveFailures,
        String::new(),
        &od,
        1.0,
        150_001,
    );
    assert_eq!(m.view().ejections_in_row, 1);
    assert_eq!(m.ejection().unwrap().until, 180_001);
}

#[test]
fn failure_ratio_needs_enough_requests() {
    let od = od();
    let mut m = Machine::new(false, false, 0);
    // Alternating: never five in a row, but half of all requests fail.
    let mut hit = None;
    for i in 0..40u64 {
        if let Some(r) = eject_of(m.record(i % 2 == 1, &od, i * 10)) {
            hit = Some((i, r));
            break;
        }
    }
    let (i, (reason, why)) = hit.unwrap();
    assert_eq!(reason, EjectReason::FailureRatio);
    assert_eq!(i, 19, "the 20th request reaches min_requests");
    assert!(why.contains("10 of 20"), "{why}");
}

#[test]
fn successes_below_the_ratio_never_eject() {
    let od = od();
    let mut m = Machine::new(false, false, 0);
    for i in 0..1000u64 {
        assert_eq!(m.record(i % 3 == 0, &od, i * 10), Recorded::Nothing);
    }
}

#[test]
fn slow_start_ramps_linearly_from_ten_percent() {
    assert_eq!(ramp_permille(None, SLOW, 5), 1000);
    assert_eq!(ramp_permille(Some(0), SLOW, 0), 100);
    assert_eq!(ramp_permille(Some(0), SLOW, 15_000), 550);
    assert_eq!(ramp_permille(Some(0), SLOW, 30_000), 1000);
    assert_eq!(ramp_permille(Some(0), Duration::ZERO, 0), 1000);
}

#[test]
fn new_endpoints_of_a_serving_pool_ramp() {
    let m = Machine::new(false, true, 7);
    assert_eq!(m.ramp_since(), Some(7));
    let mut m = Machine::new(true, true, 7);
    assert_eq!(m.ramp_since(), None);
    m.on_probe(ProbeResult::Success, &hc(), SLOW, 9);
    assert_eq!(m.ramp_since(), Some(9));
}

#[test]
fn adding_checks_to_a_serving_endpoint_keeps_it_serving() {
    let mut m = Machine::new(false, false, 0);
    assert!(m.set_checked(true, 1).is_none());
    assert_eq!(m.status(), Status::Healthy);
}

fn health(name: &str, metrics: &Metrics) -> Arc<EndpointHealth> {
    let settings = HealthSettings {
        check: None,
        target: ProbeTarget {
            dial: crate::upstream::Dial {
                address: "127.0.0.1:1".into(),
                security: crate::upstream::Security::Plain,
            },
            protocol: crate::config::Protocol::Http1,
            host: "x".into(),
            path: "/".into(),
        },
        outlier: od(),
    };
    Arc::new(EndpointHealth::new(
        "p".into(),
        name.into(),
        settings,
        metrics.health.endpoint("p", name),
        false,
        0,
    ))
}

/// Fails `h` until it asks to be ejected, then offers the ejection.
fn fail_until_eject(h: &EndpointHealth, pool: &PoolState, od: &OutlierDetection) {
    for _ in 0..od.consecutive_failures {
        h.record(true, od, 1, pool);
    }
}

#[test]
fn the_ejection_cap_is_a_real_cap() {
    let metrics = Metrics::new().unwrap();
    for (n, percent, expected) in [
        (3, 50, 1),
        (4, 50, 2),
        (3, 100, 3),
        (10, 10, 1),
        (2, 1, 1),
        (3, 0, 0),
    ] {
        let pool = PoolState::new("p".into(), metrics.health.pool("p"));
        let members: Vec<_> = (0..n).map(|i| health(&format!("e{i}"), &metrics)).collect();
        pool.set_members(members.iter().map(Arc::downgrade).collect());
        let od = OutlierDetection {
            max_ejection_percent: percent,
            ..od()
        };
        for m in &members {
            fail_until_eject(m, &pool, &od);
        }
        let ejected = members
            .iter()
            .filter(|m| m.status() == Status::Ejected)
            .count();
        assert_eq!(ejected, expected, "{n} endpoints at {percent}%");
    }
}
