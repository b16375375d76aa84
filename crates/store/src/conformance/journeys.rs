//! `JourneyStore` with `record_events`: the aggregate round-trips; events enroll profiles into
//! live versions, never twice at once and under the re-entrance rule (J8); failed commands
//! change nothing; deletion and enrollment listing.

use serde_json::json;
use sluice_core::ValidationErrors;
use sluice_core::journey::JourneyVersionStatus;
use sluice_core::lifecycle::LifecycleError;

use super::support::*;
use crate::{CommandError, EnrollmentState, Store};

use EnrollmentState::{Active, Removed};

/// `journey` returns exactly what was inserted (every node kind of the definition included),
/// and after commands exactly what `apply_journey` returned.
pub fn journey_round_trips_exactly(store: &dyn Store) {
    let definition = serde_json::from_value(json!({
        "entry": {"type": "event", "event": "signed_up"},
        "reentry": {"mode": "after", "wait": "P7D"},
        "timeout": "P30D",
        "start": "welcome",
        "nodes": [
            {"id": "welcome", "type": "message", "channel_id": "ch_a", "template_id": "tpl_a",
             "next": "pause"},
            {"id": "pause", "type": "wait", "duration": "P1D", "next": "check"},
            {"id": "check", "type": "condition",
             "rule": {"attr": "plan", "op": "eq", "value": "trial"}, "then": "tag", "else": "done"},
            {"id": "tag", "type": "update_profile", "set": {"onboarded": true}, "next": "until"},
            {"id": "until", "type": "wait", "until": "2026-02-01T00:00:00Z", "next": "rm"},
            {"id": "rm", "type": "remove_from_journey", "journey_id": "jrn_other", "next": "done"},
            {"id": "done", "type": "end"}
        ]
    }))
    .expect("a valid definition");
    let inserted = insert_journey(store, "jrn_1", definition);
    assert_eq!(store.journey("jrn_1").expect("get"), Some(inserted));

    publish(store, "jrn_1", 1, &ctx("ann"));
    let applied = new_version(store, "jrn_1", &ctx_at("ann", later(60)));
    assert_eq!(applied.value.versions.len(), 2);
    assert_eq!(applied.value.versions[1].created_at, later(60));
    assert_eq!(store.journey("jrn_1").expect("get"), Some(applied.value));
    assert_eq!(store.journey("jrn_unknown").expect("get"), None);

    insert_journey(
        store,
        "jrn_0",
        definition_for("other", json!({"mode": "never"})),
    );
    let listed: Vec<String> = all(|p| store.journeys(p).expect("journeys"))
        .into_iter()
        .map(|j| j.id)
        .collect();
    assert_eq!(listed, ["jrn_0", "jrn_1"]);
}

/// Publishing an event-entry version makes its event enroll profiles, active at the start node;
/// other events and draft versions enroll nobody.
pub fn events_enroll_into_live_versions(store: &dyn Store) {
    live_journey(store, "jrn_a", json!({"mode": "never"}));
    insert_journey(store, "jrn_draft", definition(json!({"mode": "never"})));
    let entered = record(
        store,
        &[
            event("p1", "signed_up", later(-5)),
            event("p2", "signed_up", later(-5)),
            event("p3", "logged_in", later(-5)),
        ],
        later(10),
    );
    assert_eq!(entered, 2);
    let inside = enrollments(store, "jrn_a", 1, None);
    assert_eq!(who(&inside), [p("p1", Active), p("p2", Active)]);
    for e in &inside {
        assert_eq!(e.version, 1);
        assert_eq!(e.node_id.as_deref(), Some("welcome"));
        assert_eq!((e.entered_at, e.left_at), (later(10), None));
    }
    assert!(
        enrollments(store, "jrn_draft", 1, None).is_empty(),
        "drafts admit nobody"
    );
    let results = store
        .results(&version_subject("jrn_a", 1))
        .expect("results");
    assert_eq!((results.entered, results.active), (2, 2));

    live_journey(store, "jrn_b", json!({"mode": "never"}));
    assert_eq!(
        record(store, &[event("p9", "signed_up", later(20))], later(20)),
        2,
        "one event enters every live version it names"
    );
}

/// J8: a profile is never inside the same version twice at once, whatever its re-entrance
/// rule, within one batch of events or across batches.
pub fn one_active_enrollment_per_profile_and_version(store: &dyn Store) {
    live_journey(store, "jrn_a", json!({"mode": "always"}));
    let twice = [
        event("p1", "signed_up", now()),
        event("p1", "signed_up", now()),
    ];
    assert_eq!(record(store, &twice, now()), 1);
    assert_eq!(
        record(store, &[event("p1", "signed_up", later(5))], later(5)),
        0
    );
    assert_eq!(
        who(&enrollments(store, "jrn_a", 1, None)),
        [p("p1", Active)]
    );
}

/// J8 `never`: a profile that has left is not admitted again.
pub fn reentry_never_refuses_a_second_entrance(store: &dyn Store) {
    live_journey(store, "jrn_a", json!({"mode": "never"}));
    record(store, &[event("p1", "signed_up", now())], now());
    remove(store, "jrn_a", 1, "p1", 10);
    assert_eq!(
        record(
            store,
            &[event("p1", "signed_up", later(DAY))],
            later(365 * DAY)
        ),
        0
    );
    assert_eq!(
        who(&enrollments(store, "jrn_a", 1, None)),
        [p("p1", Removed)]
    );
}

/// J8 `always`: a profile that has left enters again, in a new enrollment.
pub fn reentry_always_admits_after_leaving(store: &dyn Store) {
    live_journey(store, "jrn_a", json!({"mode": "always"}));
    record(store, &[event("p1", "signed_up", now())], now());
    remove(store, "jrn_a", 1, "p1", 10);
    assert_eq!(
        record(store, &[event("p1", "signed_up", later(20))], later(20)),
        1
    );
    let all = enrollments(store, "jrn_a", 1, None);
    assert_eq!(who(&all), [p("p1", Active), p("p1", Removed)]);
    let again = all.iter().find(|e| e.state == Active).expect("re-entered");
    assert_eq!(again.entered_at, later(20));
}

/// J8 `after`: a profile re-enters only once the wait has passed since its previous entrance.
pub fn reentry_after_waits_for_the_period(store: &dyn Store) {
    live_journey(store, "jrn_a", json!({"mode": "after", "wait": "P7D"}));
    record(store, &[event("p1", "signed_up", now())], now());
    remove(store, "jrn_a", 1, "p1", 10);
    assert_eq!(
        record(store, &[event("p1", "signed_up", later(DAY))], later(DAY)),
        0
    );
    assert_eq!(
        record(
            store,
            &[event("p1", "signed_up", later(8 * DAY))],
            later(8 * DAY)
        ),
        1
    );
    assert_eq!(enrollments(store, "jrn_a", 1, None).len(), 2);
}

/// A journey command that fails, even after changing the aggregate, leaves the stored journey
/// unchanged and writes no audit entry.
pub fn failed_journey_command_changes_nothing(store: &dyn Store) {
    let inserted = insert_journey(store, "jrn_a", definition(json!({"mode": "never"})));
    let before = audit_of(store, None).len();
    let failed = store.apply_journey("jrn_a", &ctx("ann"), &mut |j| {
        j.name = "half-done".into();
        j.publish(1, now()).expect("v1 exists")?;
        Err(ValidationErrors::single("nodes", "rejected after the change").into())
    });
    assert!(
        matches!(
            failed,
            Err(CommandError::Lifecycle(LifecycleError::Invalid(_)))
        ),
        "{failed:?}"
    );
    assert_eq!(store.journey("jrn_a").expect("get"), Some(inserted));
    assert_eq!(audit_of(store, None).len(), before);
    assert_eq!(
        record(store, &[event("p1", "signed_up", now())], now()),
        0,
        "still a draft"
    );
    let mut ran = false;
    let unknown = store.apply_journey("jrn_nope", &ctx("ann"), &mut |_| {
        ran = true;
        Ok(Vec::new())
    });
    assert!(
        matches!(unknown, Err(CommandError::NotFound)) && !ran,
        "{unknown:?}"
    );
}

/// `delete_journey` changes nothing when its check refuses, removes the journey when it allows,
/// and answers `NotFound` for an unknown id.
pub fn delete_journey_honours_its_check(store: &dyn Store) {
    live_journey(store, "jrn_live", json!({"mode": "never"}));
    let refused = store.delete_journey("jrn_live", &ctx("ann"), &|j| j.check_delete());
    assert!(
        matches!(
            refused,
            Err(CommandError::Lifecycle(LifecycleError::Refused(_)))
        ),
        "{refused:?}"
    );
    assert_eq!(status(store, "jrn_live", 1), JourneyVersionStatus::Live);

    insert_journey(store, "jrn_draft", definition(json!({"mode": "never"})));
    store
        .delete_journey("jrn_draft", &ctx("ann"), &|j| j.check_delete())
        .expect("a draft journey can be deleted");
    assert_eq!(store.journey("jrn_draft").expect("get"), None);
    let audit = audit_of(
        store,
        Some(&crate::Subject::Journey {
            id: "jrn_draft".into(),
        }),
    );
    assert_eq!(audit[0].action, "delete");
    assert!(matches!(
        store.delete_journey("jrn_draft", &ctx("ann"), &|_| Ok(())),
        Err(CommandError::NotFound)
    ));
}

/// `enrollments` pages by cursor (each enrollment once) and filters by state.
pub fn enrollments_page_and_filter_by_state(store: &dyn Store) {
    live_journey(store, "jrn_a", json!({"mode": "never"}));
    let five = ["p1", "p2", "p3", "p4", "p5"].map(|id| event(id, "signed_up", now()));
    assert_eq!(record(store, &five, now()), 5);
    remove(store, "jrn_a", 1, "p2", 10);
    remove(store, "jrn_a", 1, "p4", 10);
    let pages = pages(2, |pg| {
        store
            .enrollments("jrn_a", 1, None, pg)
            .expect("enrollments")
    });
    assert_eq!(pages.iter().map(Vec::len).collect::<Vec<_>>(), [2, 2, 1]);
    let mut ids: Vec<String> = pages.into_iter().flatten().map(|e| e.profile_id).collect();
    ids.sort();
    assert_eq!(ids, ["p1", "p2", "p3", "p4", "p5"]);
    assert_eq!(
        who(&enrollments(store, "jrn_a", 1, Some(Removed))),
        [p("p2", Removed), p("p4", Removed)]
    );
    assert_eq!(enrollments(store, "jrn_a", 1, Some(Active)).len(), 3);
    assert!(
        enrollments(store, "jrn_a", 2, None).is_empty(),
        "no such version"
    );
}
