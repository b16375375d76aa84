//! Back-off between delivery attempts: exponential with "equal" jitter, capped: half the cap
//! for sure, the other half a uniform draw. The draw spreads the retries of many failed sends
//! to one receiver over a window instead of bunching them at the same instants; the sure half
//! means a receiver that just failed is never tried again at once (full jitter may draw zero).

use std::time::Duration;

use rand::Rng;

/// The ceiling of the wait before retry number `attempt` (0 = the first retry):
/// `min(max, base · 2^attempt)`, saturating instead of overflowing for large attempts.
pub fn backoff_cap(attempt: u32, base: Duration, max: Duration) -> Duration {
    let factor = 1u32.checked_shl(attempt.min(31)).unwrap_or(u32::MAX);
    base.checked_mul(factor).unwrap_or(Duration::MAX).min(max)
}

/// How long to wait before retry number `attempt`: uniform in `[cap / 2, cap]` of
/// `backoff_cap(..)`.
pub fn backoff(attempt: u32, base: Duration, max: Duration) -> Duration {
    let half = backoff_cap(attempt, base, max) / 2;
    // Whole nanoseconds: `cap` is at most `max`, and any sane max fits a u64 of nanoseconds.
    let half_nanos = u64::try_from(half.as_nanos()).unwrap_or(u64::MAX);
    half + Duration::from_nanos(rand::rng().random_range(0..=half_nanos))
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: Duration = Duration::from_millis(500);
    const MAX: Duration = Duration::from_secs(60);

    #[test]
    fn cap_doubles_then_stops_at_max() {
        let caps: Vec<_> = (0..10).map(|a| backoff_cap(a, BASE, MAX)).collect();
        assert_eq!(caps[0], BASE);
        assert_eq!(caps[1], BASE * 2);
        assert_eq!(caps[3], BASE * 8);
        assert!(caps.windows(2).all(|w| w[0] <= w[1]), "{caps:?}");
        assert_eq!(caps[9], MAX);
        assert_eq!(backoff_cap(u32::MAX, BASE, MAX), MAX);
        assert_eq!(backoff_cap(64, Duration::MAX, MAX), MAX);
    }

    #[test]
    fn backoff_stays_within_its_cap_and_above_half_of_it() {
        for attempt in 0..40 {
            let cap = backoff_cap(attempt, BASE, MAX);
            for _ in 0..50 {
                let wait = backoff(attempt, BASE, MAX);
                assert!(wait <= cap && wait >= cap / 2, "{wait:?} of {cap:?}");
            }
        }
        assert_eq!(backoff(3, Duration::ZERO, MAX), Duration::ZERO);
    }

    #[test]
    fn backoff_is_jittered_and_grows() {
        // The largest of many draws approaches the cap, so later attempts reach further; and
        // draws differ (jitter), so retries of one burst do not move in lockstep.
        let widest = |attempt| (0..200).map(|_| backoff(attempt, BASE, MAX)).max().unwrap();
        assert!(widest(0) <= BASE);
        assert!(widest(6) > BASE * 2, "{:?}", widest(6));
        let draws: std::collections::BTreeSet<_> = (0..20).map(|_| backoff(5, BASE, MAX)).collect();
        assert!(draws.len() > 1);
    }
}
