//! `ProfileStore`, one profile at a time: profiles are created, replaced, merged, paged, and
//! erased with their events, their enrollments and their pending work.

use serde_json::json;
use sluice_core::profile::Consent;

use super::support::*;
use crate::{EnrollmentState, Store};

fn consent(pairs: &[(&str, bool)]) -> Consent {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect()
}

/// `put_profile` answers `true` when it created, `false` when it replaced; a replacement takes
/// the new attributes, consent and `updated_at` and keeps the original `created_at`.
pub fn put_profile_creates_then_replaces(store: &dyn Store) {
    let mut first = profile("p1", json!({"plan": "trial", "age": 31}));
    first.consent = consent(&[("email", false)]);
    assert!(store.put_profile(&first).expect("put"), "first put creates");
    assert_eq!(store.profile("p1").expect("get"), Some(first));

    let mut second = profile("p1", json!({"plan": "pro"}));
    second.consent = consent(&[("webhook", true)]);
    second.created_at = later(60);
    second.updated_at = later(60);
    assert!(
        !store.put_profile(&second).expect("put"),
        "second put replaces"
    );
    let stored = store.profile("p1").expect("get").expect("still there");
    assert_eq!(
        stored.attributes, second.attributes,
        "attributes are replaced, not merged"
    );
    assert_eq!(stored.consent, second.consent, "consent is replaced");
    assert_eq!(stored.updated_at, later(60));
    assert_eq!(
        stored.created_at,
        now(),
        "a replacement keeps the creation time"
    );
    assert_eq!(store.profile_count().expect("count"), 1);
    assert_eq!(store.profile("nobody").expect("get"), None);
}

/// A created profile is stored exactly as given, its two times included.
pub fn put_profile_stores_the_given_times(store: &dyn Store) {
    let mut p = profile("p1", json!({"name": "Ann"}));
    p.created_at = later(-DAY);
    p.updated_at = later(5);
    assert!(store.put_profile(&p).expect("put"));
    assert_eq!(store.profile("p1").expect("get"), Some(p));
}

/// `patch_profile` merges top-level attributes and consent entries into the stored profile,
/// returns what it stored, and answers `None` (creating nothing) for an unknown id.
pub fn patch_profile_merges_attributes_and_consent(store: &dyn Store) {
    let mut p = profile("p1", json!({"a": 1, "b": {"x": 1}}));
    p.consent = consent(&[("email", false)]);
    store.put_profile(&p).expect("put");

    let patched = store
        .patch_profile(
            "p1",
            &attrs(json!({"b": 2, "c": "three"})),
            Some(&consent(&[("webhook", true)])),
            later(10),
        )
        .expect("patch")
        .expect("p1 exists");
    assert_eq!(
        patched.attributes,
        attrs(json!({"a": 1, "b": 2, "c": "three"}))
    );
    assert_eq!(
        patched.consent,
        consent(&[("email", false), ("webhook", true)])
    );
    assert_eq!(patched.created_at, now());
    assert_eq!(patched.updated_at, later(10));
    assert_eq!(store.profile("p1").expect("get"), Some(patched.clone()));

    let kept = store
        .patch_profile("p1", &attrs(json!({"a": 5})), None, later(20))
        .expect("patch")
        .expect("p1 exists");
    assert_eq!(
        kept.consent, patched.consent,
        "no consent in the patch keeps it"
    );
    assert_eq!(
        kept.attributes,
        attrs(json!({"a": 5, "b": 2, "c": "three"}))
    );

    let unknown = store
        .patch_profile("ghost", &attrs(json!({"a": 1})), None, later(30))
        .expect("patch");
    assert_eq!(unknown, None);
    assert_eq!(
        store.profile("ghost").expect("get"),
        None,
        "a patch creates nothing"
    );
    assert_eq!(store.profile_count().expect("count"), 1);
}

/// `delete_profile` erases the profile and its events (a profile of the same id created later
/// starts with no event history) and answers `false` the second time.
pub fn delete_profile_erases_profile_and_events(store: &dyn Store) {
    store.put_profile(&profile("p1", json!({}))).expect("put");
    store.put_profile(&profile("p2", json!({}))).expect("put");
    let events = [
        event("p1", "purchase", later(-60)),
        event("p1", "purchase", later(-30)),
        event("p2", "purchase", later(-30)),
    ];
    record(store, &events, now());
    let buyers = rule(json!({"event": "purchase", "op": "count_gte", "value": 1}));
    assert_eq!(store.audience_count(&buyers, now()).expect("count"), 2);

    assert!(store.delete_profile("p1", later(1)).expect("delete"));
    assert_eq!(store.profile("p1").expect("get"), None);
    assert_eq!(store.profile_count().expect("count"), 1);
    assert_eq!(store.audience_count(&buyers, later(1)).expect("count"), 1);
    assert!(
        !store.delete_profile("p1", later(2)).expect("delete"),
        "already gone"
    );

    store.put_profile(&profile("p1", json!({}))).expect("put");
    assert_eq!(
        store.audience_count(&buyers, later(3)).expect("count"),
        1,
        "the events of the erased profile are gone"
    );
}

/// Deleting a profile takes it out of every journey version (no active enrollment is left)
/// and cancels its pending campaign sends.
pub fn delete_profile_cancels_its_pending_work(store: &dyn Store) {
    live_journey(store, "jrn_a", json!({"mode": "never"}));
    insert_campaign(store, "cmp_api", schedule(json!({"type": "api"})));
    activate(store, "cmp_api", &ctx("ann"));
    record(
        store,
        &[
            event("p1", "signed_up", now()),
            event("p2", "signed_up", now()),
        ],
        now(),
    );
    for (i, id) in ["p1", "p2"].into_iter().enumerate() {
        let key = format!("trg:cmp_api:{i}");
        assert!(
            store
                .enqueue_trigger(&trigger("cmp_api", id, &key))
                .expect("trigger")
        );
    }
    assert_eq!(
        store
            .results(&campaign_subject("cmp_api"))
            .expect("results")
            .active,
        2
    );

    assert!(store.delete_profile("p1", later(5)).expect("delete"));

    let active = enrollments(store, "jrn_a", 1, Some(EnrollmentState::Active));
    assert_eq!(who(&active), [("p2".to_owned(), EnrollmentState::Active)]);
    for e in enrollments(store, "jrn_a", 1, None)
        .iter()
        .filter(|e| e.profile_id == "p1")
    {
        assert_eq!(
            e.state,
            EnrollmentState::Removed,
            "a kept enrollment shows it left"
        );
        assert_eq!(e.left_at, Some(later(5)));
    }
    let journey = store
        .results(&version_subject("jrn_a", 1))
        .expect("results");
    assert_eq!(journey.active, 1);
    let campaign = store
        .results(&campaign_subject("cmp_api"))
        .expect("results");
    assert_eq!(
        campaign.active, 1,
        "p1's pending send is cancelled, p2's is not"
    );
}

/// J3: when the last profile inside a closed version is deleted, the version is finished.
pub fn delete_profile_of_the_last_one_inside_finishes_a_closed_version(store: &dyn Store) {
    live_journey(store, "jrn_a", json!({"mode": "never"}));
    record(store, &[event("p1", "signed_up", now())], now());
    let closed = close(store, "jrn_a", 1, &ctx("ann"));
    assert_eq!(
        closed.value.version(1).expect("v1").status,
        sluice_core::journey::JourneyVersionStatus::Closed,
        "p1 is still inside"
    );

    assert!(store.delete_profile("p1", later(60)).expect("delete"));

    let journey = store.journey("jrn_a").expect("get").expect("exists");
    let v1 = journey.version(1).expect("v1");
    assert_eq!(
        v1.status,
        sluice_core::journey::JourneyVersionStatus::Finished
    );
    assert_eq!(v1.finished_at, Some(later(60)));
    let finished = notifications_of(store, "journey", "jrn_a");
    assert!(
        finished
            .iter()
            .any(|n| n.kind == sluice_core::notification::NotificationKind::Finished),
        "a `finished` notification is written: {finished:?}"
    );
}

/// `profiles` pages by cursor: every profile exactly once, in id order, `limit` at most per page.
pub fn profiles_page_by_cursor_in_id_order(store: &dyn Store) {
    let ids = ["p05", "p01", "p07", "p03", "p02", "p06", "p04"];
    for id in ids {
        store
            .put_profile(&profile(id, json!({"id": id})))
            .expect("put");
    }
    let pages = pages(3, |p| store.profiles(p).expect("profiles"));
    let sizes: Vec<usize> = pages.iter().map(Vec::len).collect();
    assert_eq!(sizes, [3, 3, 1]);
    let seen: Vec<String> = pages.into_iter().flatten().map(|p| p.id).collect();
    assert_eq!(seen, ["p01", "p02", "p03", "p04", "p05", "p06", "p07"]);

    let exact = super::support::pages(7, |p| store.profiles(p).expect("profiles"));
    assert_eq!(exact.len(), 1, "no further page when the last one is full");
}

/// `profiles_by_id` reads the profiles that exist among the ids given, each once, exactly as
/// stored; unknown ids are left out and no ids read nothing.
pub fn profiles_by_id_reads_those_that_exist(store: &dyn Store) {
    for (id, n) in [("a", 1), ("b", 2), ("c", 3)] {
        store
            .put_profile(&profile(id, json!({"n": n})))
            .expect("put");
    }
    let ids = ["c", "x", "a", "c"].map(str::to_owned);
    let mut got = store.profiles_by_id(&ids).expect("profiles_by_id");
    got.sort_by(|a, b| a.id.cmp(&b.id));
    assert_eq!(
        got.iter()
            .map(|p| (p.id.as_str(), p.attributes["n"].clone()))
            .collect::<Vec<_>>(),
        [("a", json!(1)), ("c", json!(3))]
    );
    assert_eq!(got[0], store.profile("a").expect("get").expect("stored"));
    assert!(store.profiles_by_id(&[]).expect("none").is_empty());
}
