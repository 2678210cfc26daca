//! The attempt's own pieces (the retry loop's are in `retry.rs`).

use super::*;

#[test]
fn the_deadline_of_a_huge_timeout_is_far_but_representable() {
    let start = Instant::now();
    assert_eq!(
        deadline(start, Duration::from_secs(5)),
        start + Duration::from_secs(5)
    );
    assert!(deadline(start, Duration::MAX) > start + Duration::from_secs(86_400 * 365));
}
