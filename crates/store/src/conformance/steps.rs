//! `WorkStore` for journey steps, which live in their enrollments: a step's claim fences its
//! settlement across the enrollment's steps, and brakes, erasure and a step with nothing to run
//! leave no enrollment inside without a step to come.

use serde_json::json;
use sluice_core::journey::JourneyVersionStatus;

use super::support::*;
use super::work::{claim, people_of_jrn_a, sweep_all};

use crate::{DueWork, EnrollmentState, Settlement, Store, WorkKind};

/// A settlement for the enrollment's step `claim`: on to `next`.
fn advanced(claim: &DueWork, next: crate::Next) -> Settlement {
    Settlement::Advance(Box::new(crate::Advance {
        claim: claim.claim(),
        enrollment_id: claim.enrollment_id.expect("a step of an enrollment"),
        journey_id: claim.journey_id.clone().unwrap_or_default(),
        version: claim.version,
        profile_id: claim.profile_id.clone().unwrap_or_default(),
        records: Vec::new(),
        idempotency_key: None,
        updates: Vec::new(),
        removals: Vec::new(),
        visited: Vec::new(),
        next,
    }))
}

/// A journey step's claim fences its settlement across the enrollment's steps: once the lease
/// ran out and another worker moved the enrollment on, neither the first claim's renewal nor
/// its settlement touches the next step (even when that step is on its first try again).
/// Each step has its own idempotency key and counts its own tries.
pub fn a_step_claim_is_fenced_across_steps(store: &dyn Store) {
    live_journey(store, "jrn_a", json!({"mode": "always"}));
    record(store, &[event("p1", "signed_up", now())], now());
    let first = claim(store, 0, 10);
    assert_eq!(first.len(), 1, "{first:?}");
    let first = &first[0];
    assert_eq!(
        (first.kind, first.node_id.as_deref(), first.attempt),
        (WorkKind::JourneyStep, Some("welcome"), 1)
    );
    // The lease (60 s) runs out: another worker takes the step over and moves it on.
    let second = claim(store, 61, 10);
    assert_eq!(second.len(), 1, "{second:?}");
    let second = &second[0];
    assert_eq!((second.id, second.attempt), (first.id, 2));
    assert_eq!(second.idempotency_key, first.idempotency_key, "same step");
    let on = crate::Next::At {
        node_id: "pause".into(),
        due_at: later(62),
        resume: true,
    };
    assert_eq!(
        store
            .settle(&[advanced(second, on)], both(61))
            .expect("settle"),
        [true]
    );
    assert!(
        claim(store, 61, 10).is_empty(),
        "the next step is due at 62 s"
    );
    let third = claim(store, 62, 10);
    assert_eq!(third.len(), 1, "{third:?}");
    let third = &third[0];
    assert_eq!(
        (third.node_id.as_deref(), third.attempt),
        (Some("pause"), 1),
        "a new step counts its own tries"
    );
    assert_ne!(third.idempotency_key, first.idempotency_key);
    assert_eq!(third.payload, Some(json!({"resume": true})));

    assert_eq!(
        store
            .renew_leases(&[first.claim()], both(540), LEASE)
            .expect("renew"),
        0
    );
    let late = crate::Next::Leave {
        node_id: Some("done".into()),
        state: EnrollmentState::Completed,
    };
    assert_eq!(
        store
            .settle(&[advanced(first, late.clone())], both(63))
            .expect("settle"),
        [false],
        "the first claim's settlement is fenced out"
    );
    assert_eq!(
        enrollments(store, "jrn_a", 1, Some(EnrollmentState::Active)).len(),
        1
    );
    assert_eq!(
        store
            .renew_leases(&[third.claim()], both(540), LEASE)
            .expect("renew"),
        1
    );
    assert_eq!(
        store
            .settle(&[advanced(third, late)], both(63))
            .expect("settle"),
        [true]
    );
    let r = store
        .results(&version_subject("jrn_a", 1))
        .expect("results");
    assert_eq!((r.entered, r.active, r.completed), (1, 0, 1));
    assert!(claim(store, 10_000, 10).is_empty(), "nothing left to do");
}

/// J4 with a step in flight: the sweeper leaves a claimed step (and its enrollment) to the
/// worker, whose settlement cancels the step and stops the enrollment as of the stop; every
/// count reads the same before, between and after. A worker that died instead: its step is
/// due again when the lease runs out, and cancelled then.
pub fn stop_leaves_claimed_steps_to_their_worker(store: &dyn Store) {
    live_journey(store, "jrn_a", json!({"mode": "always"}));
    let four = ["p1", "p2", "p3", "p4"].map(|id| event(id, "signed_up", now()));
    assert_eq!(record(store, &four, now()), 4);
    let held = claim(store, 0, 3);
    assert_eq!(held.len(), 3);
    stop(store, "jrn_a", 1, &ctx_at("bob", later(10)));
    assert_eq!(people_of_jrn_a(store), (4, 0, 4, 4, 4));
    sweep_all(store);
    assert_eq!(people_of_jrn_a(store), (4, 0, 4, 4, 4), "after the sweep");
    let cancel = Settlement::Cancelled {
        claim: held[0].claim(),
        record: None,
    };
    assert_eq!(store.settle(&[cancel], both(11)).expect("settle"), [true]);
    assert_eq!(
        people_of_jrn_a(store),
        (4, 0, 4, 4, 4),
        "after the worker's cancel"
    );
    // A worker that read the enrollment as stopped before reading its version as stopped
    // finds nothing to run: the step is cancelled all the same, and the enrollment stopped.
    let nothing = Settlement::Done {
        claim: held[2].claim(),
        record: None,
        idempotency_key: None,
    };
    assert_eq!(store.settle(&[nothing], both(11)).expect("settle"), [true]);
    assert_eq!(
        people_of_jrn_a(store),
        (4, 0, 4, 4, 4),
        "after a step with nothing to run"
    );
    // The other worker died: its step comes back when the lease runs out, and is cancelled.
    let again = claim(store, 61, 10);
    assert_eq!(again.iter().map(|w| w.id).collect::<Vec<_>>(), [held[1].id]);
    let cancel = Settlement::Cancelled {
        claim: again[0].claim(),
        record: None,
    };
    assert_eq!(store.settle(&[cancel], both(62)).expect("settle"), [true]);
    assert_eq!(
        people_of_jrn_a(store),
        (4, 0, 4, 4, 4),
        "after the late cancel"
    );
    let stopped = enrollments(store, "jrn_a", 1, Some(EnrollmentState::Stopped));
    assert_eq!(stopped.len(), 4);
    assert!(
        stopped.iter().all(|e| e.left_at == Some(later(10))),
        "{stopped:?}"
    );
    assert!(claim(store, 10_000, 10).is_empty(), "nothing left to do");
    assert_eq!(store.sweep(10).expect("sweep"), 0);
}

/// An erased profile's steps are cancelled, claimed ones too: the worker's settlement finds
/// its claim gone and records nothing for the erased profile.
pub fn erasure_takes_claimed_steps_from_their_worker(store: &dyn Store) {
    live_journey(store, "jrn_a", json!({"mode": "always"}));
    store
        .put_profile(&profile("p1", json!({})))
        .expect("profile");
    record(store, &[event("p1", "signed_up", now())], now());
    let held = claim(store, 0, 10);
    assert_eq!(held.len(), 1);
    assert!(store.delete_profile("p1", later(1)).expect("erase"));
    let late = crate::Next::Leave {
        node_id: Some("done".into()),
        state: EnrollmentState::Completed,
    };
    assert_eq!(
        store
            .settle(&[advanced(&held[0], late)], both(2))
            .expect("settle"),
        [false]
    );
    let r = store
        .results(&version_subject("jrn_a", 1))
        .expect("results");
    assert_eq!(
        (r.entered, r.active, r.removed, r.completed, r.cancelled),
        (1, 0, 1, 0, 1)
    );
    assert!(claim(store, 10_000, 10).is_empty(), "nothing left to do");
}

/// A step with nothing to run for an enrollment still inside (its profile or version gone)
/// ends the enrollment as failed rather than leave it inside with no step to come; the last
/// one out of a closed version finishes it (J3).
pub fn a_step_with_nothing_to_run_ends_its_enrollment(store: &dyn Store) {
    live_journey(store, "jrn_a", json!({"mode": "always"}));
    record(store, &[event("p1", "signed_up", now())], now());
    let held = claim(store, 0, 10);
    assert_eq!(held.len(), 1);
    close(store, "jrn_a", 1, &ctx_at("ann", later(1)));
    assert_eq!(status(store, "jrn_a", 1), JourneyVersionStatus::Closed);
    let done = Settlement::Done {
        claim: held[0].claim(),
        record: None,
        idempotency_key: None,
    };
    assert_eq!(store.settle(&[done], both(2)).expect("settle"), [true]);
    assert_eq!(
        who(&enrollments(store, "jrn_a", 1, None)),
        [p("p1", EnrollmentState::Failed)]
    );
    assert_eq!(status(store, "jrn_a", 1), JourneyVersionStatus::Finished);
    assert!(claim(store, 10_000, 10).is_empty(), "nothing left to do");
}
