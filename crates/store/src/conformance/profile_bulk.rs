//! `ProfileStore` in bulk: imports in one transaction (all or nothing), event batches that
//! create unknown profiles, and audience counts over attribute and event rules.

use serde_json::json;
use sluice_core::profile::Consent;

use super::support::*;
use crate::{ImportAbort, ImportRow, Store};

fn consent(pairs: &[(&str, bool)]) -> Consent {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect()
}

fn row(line: u64, id: &str, attributes: serde_json::Value, c: Option<Consent>) -> ImportRow {
    ImportRow {
        line,
        id: id.to_owned(),
        attributes: attrs(attributes),
        consent: c,
    }
}

/// `import_profiles` writes every batch in one transaction and answers the number of rows.
pub fn import_commits_every_batch(store: &dyn Store) {
    let mut batches = vec![
        Ok(vec![
            row(1, "a", json!({"n": 1}), None),
            row(2, "b", json!({"n": 2}), None),
        ]),
        Ok(vec![row(
            3,
            "c",
            json!({"n": 3}),
            Some(consent(&[("email", false)])),
        )]),
        Ok(vec![row(4, "d", json!({"n": 4}), None)]),
    ]
    .into_iter();
    let imported = store
        .import_profiles(&mut batches, later(7))
        .expect("import");
    assert_eq!(imported, Ok(4));
    assert_eq!(store.profile_count().expect("count"), 4);
    let c = store.profile("c").expect("get").expect("imported");
    assert_eq!(c.attributes, attrs(json!({"n": 3})));
    assert_eq!(c.consent, consent(&[("email", false)]));
    assert_eq!((c.created_at, c.updated_at), (later(7), later(7)));
    let a = store.profile("a").expect("get").expect("imported");
    assert_eq!(
        a.consent,
        Consent::new(),
        "no consent column means no objection"
    );
}

/// An `Err` batch after good batches rolls the whole import back: nothing of it is visible.
pub fn import_abort_rolls_everything_back(store: &dyn Store) {
    store
        .put_profile(&profile("old", json!({"v": 0})))
        .expect("put");
    let abort = ImportAbort {
        line: 7,
        message: "column count changed".into(),
    };
    let mut batches = vec![
        Ok(vec![
            row(1, "old", json!({"v": 1}), None),
            row(2, "new1", json!({}), None),
        ]),
        Ok(vec![row(3, "new2", json!({}), None)]),
        Err(abort.clone()),
        Ok(vec![row(9, "new3", json!({}), None)]),
    ]
    .into_iter();
    let outcome = store
        .import_profiles(&mut batches, later(1))
        .expect("import");
    assert_eq!(outcome, Err(abort));
    assert_eq!(store.profile_count().expect("count"), 1);
    for id in ["new1", "new2", "new3"] {
        assert_eq!(
            store.profile(id).expect("get"),
            None,
            "{id} was rolled back"
        );
    }
    let old = store.profile("old").expect("get").expect("kept");
    assert_eq!(
        old.attributes,
        attrs(json!({"v": 0})),
        "the update was rolled back"
    );
    assert_eq!(old.updated_at, now());
}

/// An imported row replaces the attributes of an existing profile and keeps its consent when
/// the row carries none (and replaces it when it does).
pub fn import_replaces_attributes_and_keeps_consent(store: &dyn Store) {
    let mut p = profile("p1", json!({"a": 1, "b": 2}));
    p.consent = consent(&[("email", false)]);
    store.put_profile(&p).expect("put");
    let mut q = profile("p2", json!({}));
    q.consent = consent(&[("email", false)]);
    store.put_profile(&q).expect("put");

    let mut batches = vec![Ok(vec![
        row(1, "p1", json!({"b": 3}), None),
        row(
            2,
            "p2",
            json!({"z": true}),
            Some(consent(&[("email", true)])),
        ),
    ])]
    .into_iter();
    assert_eq!(
        store
            .import_profiles(&mut batches, later(9))
            .expect("import"),
        Ok(2)
    );

    let p1 = store.profile("p1").expect("get").expect("exists");
    assert_eq!(
        p1.attributes,
        attrs(json!({"b": 3})),
        "attributes are replaced"
    );
    assert_eq!(p1.consent, consent(&[("email", false)]), "consent is kept");
    assert_eq!((p1.created_at, p1.updated_at), (now(), later(9)));
    let p2 = store.profile("p2").expect("get").expect("exists");
    assert_eq!(p2.consent, consent(&[("email", true)]));
    assert_eq!(store.profile_count().expect("count"), 2);
}

/// `record_events` creates profiles it does not know (empty, created now) and leaves known
/// profiles' attributes alone.
pub fn record_events_creates_unknown_profiles(store: &dyn Store) {
    store
        .put_profile(&profile("known", json!({"plan": "pro"})))
        .expect("put");
    let entered = record(
        store,
        &[
            event("known", "login", later(-5)),
            event("ghost", "login", later(-5)),
        ],
        later(3),
    );
    assert_eq!(entered, 0, "no journey is live");
    let ghost = store.profile("ghost").expect("get").expect("created");
    assert_eq!(ghost.attributes, attrs(json!({})));
    assert_eq!(ghost.consent, Consent::new());
    assert_eq!(ghost.created_at, later(3));
    let known = store.profile("known").expect("get").expect("kept");
    assert_eq!(known, profile("known", json!({"plan": "pro"})));
    assert_eq!(store.profile_count().expect("count"), 2);
}

/// `audience_count` evaluates attribute rules (with all/any/not) over every profile.
pub fn audience_count_matches_attribute_rules(store: &dyn Store) {
    let people = [
        (
            "p1",
            json!({"plan": "pro", "age": 40, "address": {"city": "Oslo"}}),
        ),
        ("p2", json!({"plan": "pro", "age": 25})),
        (
            "p3",
            json!({"plan": "trial", "age": 52, "address": {"city": "Bergen"}}),
        ),
        ("p4", json!({})),
    ];
    for (id, a) in people {
        store.put_profile(&profile(id, a)).expect("put");
    }
    let cases = [
        (json!({"attr": "plan", "op": "eq", "value": "pro"}), 2),
        (json!({"attr": "age", "op": "gt", "value": 30}), 2),
        (json!({"attr": "address.city", "op": "exists"}), 2),
        (
            json!({"all": [{"attr": "plan", "op": "eq", "value": "pro"},
                        {"attr": "age", "op": "gte", "value": 40}]}),
            1,
        ),
        (
            json!({"any": [{"attr": "plan", "op": "eq", "value": "trial"},
                        {"attr": "age", "op": "lt", "value": 30}]}),
            2,
        ),
        (json!({"not": {"attr": "plan", "op": "exists"}}), 1),
        (json!({"all": []}), 4),
    ];
    for (r, expected) in cases {
        let text = r.to_string();
        assert_eq!(
            store.audience_count(&rule(r), now()).expect("count"),
            expected,
            "{text}"
        );
    }
}

/// Event-count rules count a profile's events by name; with `within`, events older than the
/// window do not count.
pub fn audience_count_respects_event_windows(store: &dyn Store) {
    store
        .put_profile(&profile("p1", json!({"plan": "pro"})))
        .expect("put");
    store
        .put_profile(&profile("p2", json!({"plan": "pro"})))
        .expect("put");
    store
        .put_profile(&profile("p3", json!({"plan": "free"})))
        .expect("put");
    let events = [
        event("p1", "purchase", later(-DAY)),
        event("p1", "purchase", later(-10 * DAY)),
        event("p2", "purchase", later(-DAY)),
        event("p2", "purchase", later(-40 * DAY)),
        event("p3", "purchase", later(-2 * DAY)),
        event("p3", "refund", later(-2 * DAY)),
    ];
    record(store, &events, now());
    let cases = [
        (
            json!({"event": "purchase", "op": "count_gte", "value": 2}),
            2,
        ),
        (
            json!({"event": "purchase", "op": "count_gte", "value": 2, "within": "P30D"}),
            1,
        ),
        (
            json!({"event": "purchase", "op": "count_lt", "value": 2, "within": "P30D"}),
            2,
        ),
        (
            json!({"event": "purchase", "op": "count_gte", "value": 1, "within": "PT1H"}),
            0,
        ),
        (json!({"event": "refund", "op": "count_lt", "value": 1}), 2),
        (
            json!({"all": [{"attr": "plan", "op": "eq", "value": "pro"},
                        {"event": "purchase", "op": "count_gte", "value": 2, "within": "P30D"}]}),
            1,
        ),
    ];
    for (r, expected) in cases {
        let text = r.to_string();
        assert_eq!(
            store.audience_count(&rule(r), now()).expect("count"),
            expected,
            "{text}"
        );
    }
    let later_rule =
        rule(json!({"event": "purchase", "op": "count_gte", "value": 1, "within": "P1D"}));
    assert_eq!(
        store
            .audience_count(&later_rule, later(DAY + 1))
            .expect("count"),
        0,
        "the window is measured back from the `now` asked about"
    );
}
