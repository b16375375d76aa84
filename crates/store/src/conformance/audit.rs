//! `AuditStore`: the audit log newest first, filtered by subject and paged; notifications
//! newest first, the unread filter, and marking one read.

use serde_json::json;
use sluice_core::notification::NotificationKind;

use super::support::*;
use crate::{AuditEntry, Store, Subject};

/// `(action, subject kind, subject id)` of each entry.
fn actions(entries: &[AuditEntry]) -> Vec<(String, String, String)> {
    entries
        .iter()
        .map(|e| {
            (
                e.action.clone(),
                e.subject.kind.clone(),
                e.subject.id.clone(),
            )
        })
        .collect()
}

fn triple(action: &str, kind: &str, id: &str) -> (String, String, String) {
    (action.to_owned(), kind.to_owned(), id.to_owned())
}

/// B3: every create and lifecycle command is in the audit log, newest first; a subject filter
/// keeps only that campaign's or journey's entries; the log pages by cursor.
pub fn audit_is_newest_first_and_filtered_by_subject(store: &dyn Store) {
    insert_campaign(store, "cmp_1", daily());
    insert_journey(store, "jrn_1", definition(json!({"mode": "never"})));
    activate(store, "cmp_1", &ctx_at("ann", later(10)));
    publish(store, "jrn_1", 1, &ctx_at("bob", later(20)));
    insert_campaign(store, "cmp_2", daily());

    let everything = audit_of(store, None);
    assert_eq!(
        actions(&everything),
        [
            triple("create", "campaign", "cmp_2"),
            triple("publish", "journey", "jrn_1"),
            triple("activate", "campaign", "cmp_1"),
            triple("create", "journey", "jrn_1"),
            triple("create", "campaign", "cmp_1"),
        ]
    );
    let publish = &everything[1];
    assert_eq!((publish.actor.as_str(), publish.at), ("bob", later(20)));
    assert_eq!(
        (
            publish.from_status.as_deref(),
            publish.to_status.as_deref(),
            publish.subject.version
        ),
        (Some("draft"), Some("live"), Some(1))
    );
    let create = &everything[4];
    assert_eq!(
        (create.actor.as_str(), create.from_status.as_deref()),
        ("creator", None)
    );
    assert_eq!(create.to_status.as_deref(), Some("draft"));

    let cmp_1 = audit_of(store, Some(&campaign_subject("cmp_1")));
    assert_eq!(
        actions(&cmp_1),
        [
            triple("activate", "campaign", "cmp_1"),
            triple("create", "campaign", "cmp_1")
        ]
    );
    let jrn_1 = audit_of(store, Some(&Subject::Journey { id: "jrn_1".into() }));
    assert_eq!(
        actions(&jrn_1),
        [
            triple("publish", "journey", "jrn_1"),
            triple("create", "journey", "jrn_1")
        ]
    );
    assert!(
        audit_of(store, Some(&campaign_subject("jrn_1"))).is_empty(),
        "kinds differ"
    );

    let pages = pages(2, |p| store.audit(None, p).expect("audit"));
    assert_eq!(pages.iter().map(Vec::len).collect::<Vec<_>>(), [2, 2, 1]);
    let paged: Vec<_> = pages.into_iter().flatten().collect();
    assert_eq!(actions(&paged), actions(&everything));
    let one_by_one = super::support::pages(1, |p| {
        store
            .audit(Some(&campaign_subject("cmp_1")), p)
            .expect("audit")
    });
    assert_eq!(one_by_one.len(), 2);
}

/// A journey-version subject keeps only the entries about that version (publishing version 2
/// closes the empty version 1, which finishes it).
pub fn audit_filters_by_journey_version(store: &dyn Store) {
    live_journey(store, "jrn_1", json!({"mode": "never"}));
    new_version(store, "jrn_1", &ctx_at("ann", later(10)));
    publish(store, "jrn_1", 2, &ctx_at("ann", later(20)));

    let v2 = audit_of(store, Some(&version_subject("jrn_1", 2)));
    assert!(!v2.is_empty(), "publishing version 2 is audited");
    assert!(
        v2.iter().all(|e| e.subject.version == Some(2)),
        "only version 2's entries: {v2:?}"
    );
    let v1 = audit_of(store, Some(&version_subject("jrn_1", 1)));
    let v1_actions: Vec<_> = v1.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(
        v1_actions,
        ["finish", "close", "publish", "create"],
        "{v1:?}"
    );
}

/// B3: notifications list newest first; `unread_only` hides read ones; marking one read
/// answers it with `read = true`, and `None` for an unknown id.
pub fn notifications_unread_filter_and_mark_read(store: &dyn Store) {
    insert_campaign(store, "cmp_1", daily());
    activate(store, "cmp_1", &ctx("ann"));
    let at = later(10);
    store
        .apply_campaign("cmp_1", &ctx_at("ann", at), &mut |c| Ok(c.abort(at)?))
        .expect("abort");
    live_journey(store, "jrn_1", json!({"mode": "never"}));
    record(store, &[event("p1", "signed_up", now())], now());
    close(store, "jrn_1", 1, &ctx_at("bob", later(20)));
    stop(store, "jrn_1", 1, &ctx_at("bob", later(30)));

    let listed = notifications(store, false);
    let kinds: Vec<_> = listed
        .iter()
        .map(|n| (n.kind, n.subject.id.as_str()))
        .collect();
    assert_eq!(
        kinds,
        [
            (NotificationKind::Stopped, "jrn_1"),
            (NotificationKind::Closed, "jrn_1"),
            (NotificationKind::Aborted, "cmp_1"),
        ]
    );
    assert!(
        listed.iter().all(|n| !n.read),
        "new notifications are unread"
    );
    assert_eq!(listed[0].summary.halted, Some(1));
    let ids: std::collections::HashSet<_> = listed.iter().map(|n| n.id.as_str()).collect();
    assert_eq!(ids.len(), 3, "ids are distinct");

    let closed_id = listed[1].id.clone();
    let marked = store
        .mark_notification_read(&closed_id)
        .expect("mark")
        .expect("the notification exists");
    assert!(marked.read);
    assert_eq!(
        (marked.id.as_str(), marked.kind),
        (closed_id.as_str(), NotificationKind::Closed)
    );
    assert_eq!((marked.actor.as_str(), marked.at), ("bob", later(20)));

    let unread: Vec<_> = notifications(store, true)
        .into_iter()
        .map(|n| n.kind)
        .collect();
    assert_eq!(
        unread,
        [NotificationKind::Stopped, NotificationKind::Aborted]
    );
    let all_now = notifications(store, false);
    assert_eq!(
        all_now.len(),
        3,
        "read ones are still listed without the filter"
    );
    assert!(all_now[1].read);

    let again = store.mark_notification_read(&closed_id).expect("mark");
    assert!(again.is_some_and(|n| n.read), "marking twice is harmless");
    assert!(
        store
            .mark_notification_read("ntf_unknown")
            .expect("mark")
            .is_none()
    );

    let pages = pages(2, |p| store.notifications(false, p).expect("notifications"));
    assert_eq!(pages.iter().map(Vec::len).collect::<Vec<_>>(), [2, 1]);
}
