//! Journey versions' people under the lifecycle commands: remove from flow (J9), close and
//! finish (J3), stop (J4/B1), and new versions that leave enrollments pinned (J6).

use serde_json::json;
use sluice_core::journey::{JourneyVersionStatus, Node};
use sluice_core::lifecycle::LifecycleError;
use sluice_core::notification::NotificationKind;

use super::support::*;
use crate::{CommandError, EnrollmentState, RemoveOutcome, Store, Summary};

use EnrollmentState::{Active, Removed, Stopped};

/// J9: removal marks the enrollment removed, records its cancelled pending step and a `removed`
/// action, is audited, and answers `NotInside` the second time; unknown journeys and versions
/// are `NotFound`, drafts refuse.
pub fn remove_from_journey_cancels_and_records(store: &dyn Store) {
    live_journey(store, "jrn_a", json!({"mode": "never"}));
    record(
        store,
        &[
            event("p1", "signed_up", now()),
            event("p2", "signed_up", now()),
        ],
        now(),
    );
    let ctx = with_reason(ctx_at("ann", later(30)), "asked to leave");
    let outcome = store
        .remove_from_journey("jrn_a", 1, "p1", &ctx)
        .expect("remove");
    assert_eq!(outcome, RemoveOutcome::Removed { cancelled: 1 });

    let p1: Vec<_> = enrollments(store, "jrn_a", 1, None)
        .into_iter()
        .filter(|e| e.profile_id == "p1")
        .collect();
    assert_eq!(p1.len(), 1);
    assert_eq!((p1[0].state, p1[0].left_at), (Removed, Some(later(30))));
    let filter = crate::ActionFilter {
        outcome: None,
        profile_id: Some("p1".into()),
    };
    let actions = all(|pg| {
        store
            .actions(&version_subject("jrn_a", 1), &filter, pg)
            .expect("actions")
    });
    let mut outcomes: Vec<_> = actions.iter().map(|a| a.outcome).collect();
    outcomes.sort();
    assert_eq!(
        outcomes,
        [crate::Outcome::Cancelled, crate::Outcome::Removed],
        "{actions:?}"
    );
    for a in &actions {
        assert_eq!(
            (a.at, a.version, a.node_id.as_deref()),
            (later(30), 1, Some("welcome"))
        );
    }
    let audit = audit_of(store, Some(&crate::Subject::Journey { id: "jrn_a".into() }));
    assert_eq!(
        (audit[0].actor.as_str(), audit[0].reason.as_deref()),
        ("ann", Some("asked to leave"))
    );

    assert_eq!(
        remove(store, "jrn_a", 1, "p1", 40),
        RemoveOutcome::NotInside
    );
    assert_eq!(
        remove(store, "jrn_a", 1, "never_in", 40),
        RemoveOutcome::NotInside
    );
    assert_eq!(
        who(&enrollments(store, "jrn_a", 1, Some(Active))),
        [p("p2", Active)]
    );
    let not_found = |id: &str, n: u32| {
        matches!(
            store.remove_from_journey(id, n, "p2", &ctx),
            Err(CommandError::NotFound)
        )
    };
    assert!(not_found("jrn_nope", 1), "unknown journey");
    assert!(not_found("jrn_a", 9), "unknown version");
    insert_journey(store, "jrn_draft", definition(json!({"mode": "never"})));
    let draft = store.remove_from_journey("jrn_draft", 1, "p2", &ctx);
    assert!(
        matches!(
            draft,
            Err(CommandError::Lifecycle(LifecycleError::Refused(_)))
        ),
        "{draft:?}"
    );
}

/// J3: closing a version nobody is inside finishes it at once, with `closed` and `finished`
/// notifications.
pub fn close_with_nobody_inside_finishes(store: &dyn Store) {
    live_journey(store, "jrn_a", json!({"mode": "never"}));
    let applied = close(store, "jrn_a", 1, &ctx_at("ann", later(60)));
    let v1 = applied.value.version(1).expect("v1");
    assert_eq!(v1.status, JourneyVersionStatus::Finished);
    assert_eq!(
        (v1.closed_at, v1.finished_at),
        (Some(later(60)), Some(later(60)))
    );
    assert_eq!(store.journey("jrn_a").expect("get"), Some(applied.value));
    let kinds: Vec<_> = notifications_of(store, "journey", "jrn_a")
        .iter()
        .map(|n| n.kind)
        .collect();
    assert_eq!(
        kinds,
        [NotificationKind::Finished, NotificationKind::Closed],
        "newest first"
    );
    assert_eq!(
        record(store, &[event("p1", "signed_up", later(70))], later(70)),
        0
    );
}

/// J3: a closed version with people inside stays closed, admits nobody new, and finishes when
/// the last one leaves.
pub fn closed_version_finishes_when_the_last_one_leaves(store: &dyn Store) {
    live_journey(store, "jrn_a", json!({"mode": "always"}));
    record(
        store,
        &[
            event("p1", "signed_up", now()),
            event("p2", "signed_up", now()),
        ],
        now(),
    );
    let applied = close(store, "jrn_a", 1, &ctx("ann"));
    assert_eq!(
        applied.value.version(1).expect("v1").status,
        JourneyVersionStatus::Closed
    );
    assert_eq!(
        record(store, &[event("p3", "signed_up", later(5))], later(5)),
        0
    );
    assert_eq!(
        enrollments(store, "jrn_a", 1, None).len(),
        2,
        "nobody new entered"
    );

    remove(store, "jrn_a", 1, "p1", 10);
    assert_eq!(status(store, "jrn_a", 1), JourneyVersionStatus::Closed);
    remove(store, "jrn_a", 1, "p2", 20);
    let journey = store.journey("jrn_a").expect("get").expect("exists");
    let v1 = journey.version(1).expect("v1");
    assert_eq!(
        (v1.status, v1.finished_at),
        (JourneyVersionStatus::Finished, Some(later(20)))
    );
    let kinds: Vec<_> = notifications_of(store, "journey", "jrn_a")
        .iter()
        .map(|n| n.kind)
        .collect();
    assert_eq!(
        kinds,
        [NotificationKind::Finished, NotificationKind::Closed]
    );
}

/// J4/B1: stop halts everyone inside, cancels their pending steps, answers the summary and
/// writes a `stopped` notification with it; the stopped version admits nobody.
pub fn stop_halts_everyone_inside(store: &dyn Store) {
    live_journey(store, "jrn_a", json!({"mode": "always"}));
    let three = ["p1", "p2", "p3"].map(|id| event(id, "signed_up", now()));
    record(store, &three, now());
    remove(store, "jrn_a", 1, "p3", 5);
    let ctx = with_reason(ctx_at("bob", later(60)), "crisis");
    let applied = stop(store, "jrn_a", 1, &ctx);
    let v1 = applied.value.version(1).expect("v1");
    assert_eq!(
        (v1.status, v1.stopped_at),
        (JourneyVersionStatus::Stopped, Some(later(60)))
    );
    let expected = Summary {
        delivered: 0,
        failed: 0,
        skipped: 0,
        cancelled: 2,
        unknown: 0,
        halted: Some(2),
    };
    assert_eq!(applied.summary, Some(expected.clone()));

    let all = enrollments(store, "jrn_a", 1, None);
    assert_eq!(
        who(&all),
        [p("p1", Stopped), p("p2", Stopped), p("p3", Removed)]
    );
    for e in all.iter().filter(|e| e.state == Stopped) {
        assert_eq!(e.left_at, Some(later(60)));
    }
    let n = notifications_of(store, "journey", "jrn_a");
    assert_eq!(n.len(), 1, "{n:?}");
    assert_eq!(
        (n[0].kind, n[0].subject.version),
        (NotificationKind::Stopped, Some(1))
    );
    assert_eq!(
        (n[0].summary.clone(), n[0].reason.as_deref()),
        (expected, Some("crisis"))
    );
    assert_eq!(
        record(store, &[event("p4", "signed_up", later(70))], later(70)),
        0
    );
    let after = store.remove_from_journey("jrn_a", 1, "p1", &ctx_at("ann", later(80)));
    assert!(
        matches!(
            after,
            Err(CommandError::Lifecycle(LifecycleError::Refused(_)))
        ),
        "a stopped version holds nobody to remove (J5): {after:?}"
    );
}

/// J6: publishing version 2 closes version 1 to new entrances; the people of version 1 stay
/// pinned to it, and new entrants go to version 2.
pub fn enrollments_stay_pinned_to_their_version(store: &dyn Store) {
    live_journey(store, "jrn_a", json!({"mode": "never"}));
    record(
        store,
        &[
            event("p1", "signed_up", now()),
            event("p2", "signed_up", now()),
        ],
        now(),
    );
    new_version(store, "jrn_a", &ctx("ann"));
    store
        .apply_journey("jrn_a", &ctx("ann"), &mut |j| {
            let mut d = j.version(2).expect("v2").definition.clone();
            if let Some(Node::Message { template_id, .. }) = d.nodes.first_mut() {
                *template_id = "tpl_b".into();
            }
            j.edit(2, d, now()).expect("v2 exists")?;
            Ok(Vec::new())
        })
        .expect("edit the draft");
    let applied = publish(store, "jrn_a", 2, &ctx_at("ann", later(60)));
    let statuses: Vec<_> = applied.value.versions.iter().map(|v| v.status).collect();
    assert_eq!(
        statuses,
        [JourneyVersionStatus::Closed, JourneyVersionStatus::Live]
    );

    assert_eq!(
        record(store, &[event("p3", "signed_up", later(70))], later(70)),
        1
    );
    assert_eq!(
        who(&enrollments(store, "jrn_a", 1, None)),
        [p("p1", Active), p("p2", Active)]
    );
    let v2 = enrollments(store, "jrn_a", 2, None);
    assert_eq!(who(&v2), [p("p3", Active)]);
    assert_eq!(v2[0].version, 2);
    let stored = store.journey("jrn_a").expect("get").expect("exists");
    match stored.version(1).expect("v1").definition.nodes.first() {
        Some(Node::Message { template_id, .. }) => assert_eq!(template_id, "tpl_a"),
        other => panic!("version 1 keeps its own definition, got {other:?}"),
    }
}
