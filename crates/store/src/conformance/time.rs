//! The two kinds of time (`sluice_core::clock`): rows are due in business time, and once tried
//! they are held in real time — by a lease, a retry's back-off, a rate limit's deferral. A
//! business clock that stands still never stalls a held row, and one that jumps never ends a
//! lease.

use std::time::Duration;

use serde_json::json;
use sluice_core::clock::Now;

use super::support::*;
use super::work::two_triggers;

use crate::{DueWork, Settlement, Store, WorkKind};

const ALL: &[WorkKind] = &[WorkKind::Send, WorkKind::Trigger, WorkKind::JourneyStep];

/// Business time `business` s and real time `real` s after the checks' start.
fn at(business: i64, real: i64) -> Now {
    Now {
        business: later(business),
        real: later(real),
    }
}

fn claim_at(store: &dyn Store, now: Now) -> Vec<DueWork> {
    store.claim_due(now, 10, LEASE, ALL).expect("claim_due")
}

fn ids(work: &[DueWork]) -> Vec<i64> {
    let mut ids: Vec<i64> = work.iter().map(|w| w.id).collect();
    ids.sort_unstable();
    ids
}

/// Checks one row or step of each kind the same way: `claimed` is a fresh claim of it (at
/// business 0, real 0) with nothing else due.
fn holds_in_real_time(store: &dyn Store, claimed: &DueWork) {
    // A lease is real time: a jump of the business clock by a day does not end it.
    assert!(
        claim_at(store, at(DAY, 1)).is_empty(),
        "a jump of the business clock took a lease over"
    );
    // A retry in 5 s of real time, on a business clock that stands still.
    let retry = Settlement::Retry {
        claim: claimed.claim(),
        after: Duration::from_secs(5),
        reason: "503".into(),
    };
    assert_eq!(store.settle(&[retry], at(DAY, 2)).expect("settle"), [true]);
    assert!(claim_at(store, at(DAY, 6)).is_empty(), "retried early");
    let again = claim_at(store, at(DAY, 7));
    assert_eq!(ids(&again), [claimed.id], "the retry came in real time");
    assert_eq!(again[0].attempt, 2);
    // A deferral is held the same way, and not counted as an attempt.
    let defer = Settlement::Defer {
        claim: again[0].claim(),
        after: Duration::from_secs(1),
    };
    assert_eq!(store.settle(&[defer], at(DAY, 8)).expect("settle"), [true]);
    assert!(claim_at(store, at(DAY, 8)).is_empty(), "deferred early");
    let third = claim_at(store, at(DAY, 9));
    assert_eq!(ids(&third), [claimed.id]);
    assert_eq!(third[0].attempt, 2, "a deferral is not an attempt");
    // A worker that died: its lease runs out in real time, the business clock still.
    assert!(
        claim_at(store, at(DAY, 68)).is_empty(),
        "the lease ran out early"
    );
    let taken = claim_at(store, at(DAY, 70));
    assert_eq!(ids(&taken), [claimed.id], "an expired lease is taken over");
    // Taken back after a crash, it is due at once, though its last deferral put it past the
    // business clock that still stands where it stood.
    assert_eq!(store.release_claims().expect("release"), 1);
    let released = claim_at(store, at(DAY, 71));
    assert_eq!(
        ids(&released),
        [claimed.id],
        "a released row is due at once"
    );
}

pub fn retries_deferrals_and_leases_of_rows_run_in_real_time(store: &dyn Store) {
    two_triggers(store);
    let claimed = claim_at(store, at(0, 0));
    assert_eq!(claimed.len(), 2);
    let (first, second) = (&claimed[0], &claimed[1]);
    let done = Settlement::Done {
        claim: second.claim(),
        record: None,
        idempotency_key: None,
    };
    assert_eq!(store.settle(&[done], at(0, 0)).expect("settle"), [true]);
    holds_in_real_time(store, first);
}

pub fn retries_deferrals_and_leases_of_steps_run_in_real_time(store: &dyn Store) {
    live_journey(store, "jrn_a", json!({"mode": "always"}));
    record(store, &[event("p1", "signed_up", now())], now());
    let claimed = claim_at(store, at(0, 0));
    assert_eq!(claimed.len(), 1, "{claimed:?}");
    holds_in_real_time(store, &claimed[0]);
}

/// A step due in business time waits for the business clock, whatever real time does.
pub fn waits_run_in_business_time(store: &dyn Store) {
    live_journey(store, "jrn_a", json!({"mode": "always"}));
    record(store, &[event("p1", "signed_up", now())], now());
    let claimed = claim_at(store, at(0, 0));
    assert_eq!(claimed.len(), 1, "{claimed:?}");
    let wait = Settlement::Advance(Box::new(crate::Advance {
        claim: claimed[0].claim(),
        enrollment_id: claimed[0].enrollment_id.expect("a step"),
        journey_id: "jrn_a".into(),
        version: 1,
        profile_id: "p1".into(),
        records: Vec::new(),
        idempotency_key: None,
        updates: Vec::new(),
        removals: Vec::new(),
        visited: Vec::new(),
        next: crate::Next::At {
            node_id: "pause".into(),
            due_at: later(DAY),
            resume: true,
        },
    }));
    assert_eq!(store.settle(&[wait], at(0, 0)).expect("settle"), [true]);
    assert!(
        claim_at(store, at(10, 10 * DAY)).is_empty(),
        "a wait ended by real time"
    );
    assert_eq!(claim_at(store, at(DAY, 10 * DAY)).len(), 1);
}
