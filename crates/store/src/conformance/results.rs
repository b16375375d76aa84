//! `ResultStore`: counters per journey version and journey, and the action log — paged,
//! filtered by outcome and profile, and streamed oldest first to a sink that may stop it.

use serde_json::json;

use super::support::*;
use crate::{ActionFilter, ActionRecord, Outcome, Store, Subject};

/// A live journey `jrn_a` with p1..p4 enrolled, then p1, p2 and p3 removed at 10, 20 and 30
/// seconds: six actions (a cancelled step and a `removed` action each), oldest first by time.
fn scenario(store: &dyn Store) {
    live_journey(store, "jrn_a", json!({"mode": "never"}));
    let four = ["p1", "p2", "p3", "p4"].map(|id| event(id, "signed_up", now()));
    assert_eq!(record(store, &four, now()), 4);
    for (i, id) in ["p1", "p2", "p3"].into_iter().enumerate() {
        let at = later(10 * (i as i64 + 1));
        store
            .remove_from_journey("jrn_a", 1, id, &ctx_at("ann", at))
            .expect("remove");
    }
}

fn filter(outcome: Option<Outcome>, profile: Option<&str>) -> ActionFilter {
    ActionFilter {
        outcome,
        profile_id: profile.map(str::to_owned),
    }
}

/// `(time, profile, outcome)` of each record.
fn facts(records: &[ActionRecord]) -> Vec<(jiff::Timestamp, String, Outcome)> {
    records
        .iter()
        .map(|a| (a.at, a.profile_id.clone(), a.outcome))
        .collect()
}

/// The six actions of [`scenario`], each profile's cancelled step and removal in either order.
fn assert_scenario_log(records: &[ActionRecord]) {
    assert_eq!(records.len(), 6, "{records:?}");
    for (i, pair) in records.chunks(2).enumerate() {
        let id = format!("p{}", i + 1);
        let at = later(10 * (i as i64 + 1));
        let mut outcomes: Vec<_> = pair.iter().map(|a| a.outcome).collect();
        outcomes.sort();
        assert_eq!(outcomes, [Outcome::Cancelled, Outcome::Removed], "{pair:?}");
        for a in pair {
            assert_eq!(
                (a.at, a.profile_id.as_str(), a.version),
                (at, id.as_str(), 1)
            );
        }
    }
}

/// B2: journey counters follow the enrollments and the action log: entered, active, removed,
/// stopped, cancelled, and cancelled steps per node.
pub fn results_count_enrollments_and_actions(store: &dyn Store) {
    scenario(store);
    let v1 = store
        .results(&version_subject("jrn_a", 1))
        .expect("results");
    assert_eq!(
        (v1.entered, v1.active, v1.removed, v1.stopped),
        (4, 1, 3, 0)
    );
    assert_eq!(
        (v1.delivered, v1.failed, v1.skipped, v1.cancelled),
        (0, 0, 0, 3)
    );
    assert_eq!(v1.completed + v1.timed_out, 0);
    assert_eq!(v1.per_node.get("welcome").map(|c| c.cancelled), Some(3));

    stop(store, "jrn_a", 1, &ctx_at("bob", later(60)));
    let v1 = store
        .results(&version_subject("jrn_a", 1))
        .expect("results");
    assert_eq!(
        (v1.entered, v1.active, v1.removed, v1.stopped),
        (4, 0, 3, 1)
    );

    new_version(store, "jrn_a", &ctx("ann"));
    publish(store, "jrn_a", 2, &ctx_at("ann", later(70)));
    record(store, &[event("p9", "signed_up", later(80))], later(80));
    let v2 = store
        .results(&version_subject("jrn_a", 2))
        .expect("results");
    assert_eq!((v2.entered, v2.active, v2.cancelled), (1, 1, 0));
    let whole = store
        .results(&Subject::Journey { id: "jrn_a".into() })
        .expect("results");
    assert_eq!(
        (whole.entered, whole.active, whole.stopped, whole.removed),
        (5, 1, 1, 3)
    );
    let none = store
        .results(&version_subject("jrn_nope", 1))
        .expect("results");
    assert_eq!(
        none,
        crate::Results::default(),
        "an unknown subject has all-zero counters"
    );
}

/// `actions` pages by cursor through the whole log in order, each record once.
pub fn actions_page_in_order(store: &dyn Store) {
    scenario(store);
    let subject = version_subject("jrn_a", 1);
    let pages = pages(4, |p| {
        store
            .actions(&subject, &filter(None, None), p)
            .expect("actions")
    });
    assert_eq!(pages.iter().map(Vec::len).collect::<Vec<_>>(), [4, 2]);
    let records: Vec<_> = pages.into_iter().flatten().collect();
    assert_scenario_log(&records);

    let by_two = pages_of_two(store, &subject);
    assert_eq!(
        facts(&by_two),
        facts(&records),
        "any page size walks the same log"
    );
    let whole = all(|p| {
        store
            .actions(
                &Subject::Journey { id: "jrn_a".into() },
                &filter(None, None),
                p,
            )
            .expect("actions")
    });
    assert_eq!(facts(&whole), facts(&records));
}

fn pages_of_two(store: &dyn Store, subject: &Subject) -> Vec<ActionRecord> {
    pages(2, |p| {
        store
            .actions(subject, &filter(None, None), p)
            .expect("actions")
    })
    .into_iter()
    .flatten()
    .collect()
}

/// `actions` filters by outcome, by profile, and by both; other subjects see none of them.
pub fn actions_filter_by_outcome_and_profile(store: &dyn Store) {
    scenario(store);
    let subject = version_subject("jrn_a", 1);
    let read = |f: ActionFilter| all(|p| store.actions(&subject, &f, p).expect("actions"));

    let removed = read(filter(Some(Outcome::Removed), None));
    let expected: Vec<_> = (1..=3)
        .map(|i| (later(10 * i), format!("p{i}"), Outcome::Removed))
        .collect();
    assert_eq!(facts(&removed), expected);
    for a in &removed {
        assert_eq!(a.node_id.as_deref(), Some("welcome"));
    }

    let p2 = read(filter(None, Some("p2")));
    assert_eq!(p2.len(), 2);
    assert!(p2.iter().all(|a| a.profile_id == "p2" && a.at == later(20)));

    let both = read(filter(Some(Outcome::Cancelled), Some("p3")));
    assert_eq!(
        facts(&both),
        [(later(30), "p3".to_owned(), Outcome::Cancelled)]
    );
    assert!(
        read(filter(None, Some("p4"))).is_empty(),
        "p4 is still inside"
    );
    assert!(read(filter(Some(Outcome::Delivered), None)).is_empty());

    let other = all(|p| {
        store
            .actions(&version_subject("jrn_a", 2), &filter(None, None), p)
            .expect("actions")
    });
    assert!(other.is_empty(), "version 2 has no actions");
    let campaign = all(|p| {
        store
            .actions(&campaign_subject("jrn_a"), &filter(None, None), p)
            .expect("actions")
    });
    assert!(
        campaign.is_empty(),
        "a campaign with the same id has no actions"
    );
}

/// `for_each_action` hands every matching record to the sink, oldest first, and stops as soon
/// as the sink answers `false`.
pub fn for_each_action_visits_in_order_and_stops(store: &dyn Store) {
    scenario(store);
    let subject = version_subject("jrn_a", 1);
    let mut seen = Vec::new();
    store
        .for_each_action(&subject, &filter(None, None), &mut |a| {
            seen.push(a.clone());
            true
        })
        .expect("for_each_action");
    assert_scenario_log(&seen);
    let paged = all(|p| {
        store
            .actions(&subject, &filter(None, None), p)
            .expect("actions")
    });
    assert_eq!(
        facts(&seen),
        facts(&paged),
        "the same records in the same order as `actions`"
    );

    let mut calls = 0;
    store
        .for_each_action(&subject, &filter(None, None), &mut |_| {
            calls += 1;
            calls < 3
        })
        .expect("for_each_action");
    assert_eq!(calls, 3, "no record after the sink said stop");

    let mut removed = Vec::new();
    store
        .for_each_action(
            &subject,
            &filter(Some(Outcome::Removed), Some("p2")),
            &mut |a| {
                removed.push(a.clone());
                true
            },
        )
        .expect("for_each_action");
    assert_eq!(
        facts(&removed),
        [(later(20), "p2".to_owned(), Outcome::Removed)]
    );
}

/// Erasure keeps no personal data of the profile and every count: its action records stay
/// (Results is made of them) under an alias that names nobody, without their details, and
/// nothing can be found by its id any more.
pub fn erasure_keeps_the_counts_and_no_trace_of_the_profile(store: &dyn Store) {
    scenario(store);
    let subject = version_subject("jrn_a", 1);
    let read = |f: ActionFilter| all(|p| store.actions(&subject, &f, p).expect("actions"));
    let before = store.results(&subject).expect("results");
    let everything = read(filter(None, None));
    assert_eq!(read(filter(None, Some("p2"))).len(), 2);

    assert!(store.delete_profile("p2", later(100)).expect("erase"));
    assert!(read(filter(None, Some("p2"))).is_empty(), "found by its id");
    let after = read(filter(None, None));
    assert_eq!(after.len(), everything.len(), "records are kept");
    assert!(after.iter().all(|a| a.profile_id != "p2"));
    let aliased: Vec<&ActionRecord> = after
        .iter()
        .filter(|a| a.profile_id.starts_with("erased-"))
        .collect();
    assert_eq!(aliased.len(), 2, "{after:?}");
    assert_eq!(
        aliased[0].profile_id, aliased[1].profile_id,
        "one alias a person"
    );
    assert!(aliased.iter().all(|a| a.detail.is_none()));
    assert_eq!(store.results(&subject).expect("results"), before);
}
