//! `CampaignStore`: the aggregate round-trips; `apply_campaign` commits a command's changes,
//! effects and audit entry together or not at all; occurrences, brakes, deletion, listing and
//! trigger idempotency.

use serde_json::json;
use sluice_core::ValidationErrors;
use sluice_core::campaign::{CampaignAction, CampaignStatus, VersionState};
use sluice_core::lifecycle::{LifecycleError, Refused};
use sluice_core::notification::NotificationKind;

use super::support::*;
use crate::{CommandError, Occurrence, OccurrenceState, PageRequest, Store, Summary};

fn occurrences(store: &dyn Store, id: &str) -> Vec<Occurrence> {
    all(|p| store.occurrences(id, p).expect("occurrences"))
}

/// `(n, version, state)` of each occurrence.
fn occ(store: &dyn Store, id: &str) -> Vec<(u32, u32, OccurrenceState)> {
    occurrences(store, id)
        .into_iter()
        .map(|o| (o.n, o.version, o.state))
        .collect()
}

/// `campaign` returns exactly what was inserted, and after commands exactly what
/// `apply_campaign` returned: every version with its state, content, channel type and times.
pub fn campaign_round_trips_exactly(store: &dyn Store) {
    let s = schedule(json!({"type": "recurring", "cron": "30 8 * * MON-FRI",
                            "timezone": "Europe/Berlin", "start": "2026-01-05T00:00:00Z",
                            "end": "2026-06-30T00:00:00Z"}));
    let inserted = insert_campaign(store, "cmp_1", s);
    assert_eq!(store.campaign("cmp_1").expect("get"), Some(inserted));

    activate(store, "cmp_1", &ctx("ann"));
    let at = later(3600);
    let modified = store
        .apply_campaign("cmp_1", &ctx_at("ann", at), &mut |c| {
            c.name = "Renamed".into();
            Ok(c.modify(at)?)
        })
        .expect("modify is allowed while scheduled");
    assert_eq!(modified.value.versions.len(), 2);
    assert_eq!(modified.value.versions[1].state, VersionState::Draft);
    assert_eq!(modified.value.versions[1].created_at, at);
    assert_eq!(modified.value.name, "Renamed");
    assert_eq!(store.campaign("cmp_1").expect("get"), Some(modified.value));
    assert_eq!(store.campaign("cmp_unknown").expect("get"), None);
}

/// `apply_campaign` commits the command's changes and one audit entry with actor, reason,
/// version and from/to status.
pub fn apply_commits_changes_and_an_audit_entry(store: &dyn Store) {
    insert_campaign(store, "cmp_1", schedule(json!({"type": "immediate"})));
    let ctx = with_reason(ctx_at("ann", later(10)), "launch day");
    let applied = activate(store, "cmp_1", &ctx);
    assert_eq!(applied.value.status, CampaignStatus::Live);
    assert_eq!(applied.value.versions[0].state, VersionState::Live);
    assert_eq!(applied.value.versions[0].activated_at, Some(later(10)));
    assert_eq!(applied.value.updated_at, later(10));
    assert!(applied.summary.is_none(), "only brakes have a summary");
    assert_eq!(store.campaign("cmp_1").expect("get"), Some(applied.value));

    let audit = audit_of(store, Some(&campaign_subject("cmp_1")));
    assert_eq!(audit.len(), 2, "create and activate: {audit:?}");
    let entry = &audit[0];
    assert_eq!(entry.action, CampaignAction::Activate.as_str());
    assert_eq!(entry.actor, "ann");
    assert_eq!(entry.reason.as_deref(), Some("launch day"));
    assert_eq!(entry.at, later(10));
    assert_eq!(entry.from_status.as_deref(), Some("draft"));
    assert_eq!(entry.to_status.as_deref(), Some("live"));
    assert_eq!(
        (
            entry.subject.kind.as_str(),
            entry.subject.id.as_str(),
            entry.subject.version
        ),
        ("campaign", "cmp_1", Some(1))
    );
}

/// A command that fails, even after changing the aggregate it was handed, leaves the stored
/// campaign unchanged and writes no audit entry.
pub fn failed_command_changes_nothing(store: &dyn Store) {
    let inserted = insert_campaign(store, "cmp_1", daily());
    let before = audit_of(store, None).len();

    let refused = store.apply_campaign("cmp_1", &ctx("ann"), &mut |c| {
        c.name = "half-done".into();
        Ok(c.stop(now())?)
    });
    match refused {
        Err(CommandError::Lifecycle(LifecycleError::Refused(r))) => {
            assert_eq!(r.action, "stop");
            assert_eq!(r.current_status, "draft");
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    let invalid = store.apply_campaign("cmp_1", &ctx("ann"), &mut |c| {
        c.activate(now())?;
        Err(ValidationErrors::single("schedule", "rejected after the change").into())
    });
    assert!(
        matches!(
            invalid,
            Err(CommandError::Lifecycle(LifecycleError::Invalid(_)))
        ),
        "{invalid:?}"
    );
    assert_eq!(store.campaign("cmp_1").expect("get"), Some(inserted));
    assert_eq!(audit_of(store, None).len(), before, "no audit entry");
    assert!(
        occurrences(store, "cmp_1").is_empty(),
        "no effect was carried out"
    );
}

/// Activating a recurring campaign schedules its first occurrence (status `scheduled`); an
/// immediate one is `live` with an occurrence due now.
pub fn activate_schedules_an_occurrence(store: &dyn Store) {
    insert_campaign(store, "cmp_daily", daily());
    let applied = activate(store, "cmp_daily", &ctx("ann"));
    assert_eq!(applied.value.status, CampaignStatus::Scheduled);
    let o = occurrences(store, "cmp_daily");
    assert_eq!(o.len(), 1, "{o:?}");
    assert_eq!(
        (o[0].n, o[0].version, o[0].state),
        (1, 1, OccurrenceState::Pending)
    );
    assert_eq!(o[0].scheduled_for, later(9 * 3600));
    assert_eq!((o[0].started_at, o[0].finished_at), (None, None));
    assert_eq!((o[0].delivered, o[0].failed, o[0].skipped), (0, 0, 0));

    insert_campaign(store, "cmp_now", schedule(json!({"type": "immediate"})));
    let applied = activate(store, "cmp_now", &ctx_at("ann", later(5)));
    assert_eq!(applied.value.status, CampaignStatus::Live);
    let o = occurrences(store, "cmp_now");
    assert_eq!(o.len(), 1);
    assert_eq!(
        (o[0].state, o[0].scheduled_for),
        (OccurrenceState::Pending, later(5))
    );
}

/// C4: activating the draft of a live recurring campaign supersedes the old version, cancels
/// its pending occurrence and schedules the next one on the new version.
pub fn activating_a_new_version_moves_the_next_occurrence(store: &dyn Store) {
    insert_campaign(store, "cmp_1", daily());
    activate(store, "cmp_1", &ctx("ann"));
    store
        .apply_campaign("cmp_1", &ctx("ann"), &mut |c| Ok(c.modify(now())?))
        .expect("modify");
    let applied = activate(store, "cmp_1", &ctx_at("ann", later(60)));
    let states: Vec<_> = applied.value.versions.iter().map(|v| v.state).collect();
    assert_eq!(states, [VersionState::Superseded, VersionState::Live]);
    assert_eq!(
        occ(store, "cmp_1"),
        [
            (1, 1, OccurrenceState::Cancelled),
            (2, 2, OccurrenceState::Pending)
        ]
    );
    let page = store
        .occurrences("cmp_1", &PageRequest::first(1))
        .expect("occurrences");
    assert_eq!(page.items.len(), 1);
    assert!(page.next_cursor.is_some(), "occurrences page too");
}

/// C5: stop cancels the pending occurrence, ends the live version and writes a `stopped`
/// notification.
pub fn stop_cancels_pending_occurrences(store: &dyn Store) {
    insert_campaign(store, "cmp_1", daily());
    activate(store, "cmp_1", &ctx("ann"));
    let applied = store
        .apply_campaign("cmp_1", &ctx_at("bob", later(60)), &mut |c| {
            Ok(c.stop(later(60))?)
        })
        .expect("stop");
    assert_eq!(applied.value.status, CampaignStatus::Stopped);
    assert_eq!(applied.value.versions[0].state, VersionState::Stopped);
    assert_eq!(occ(store, "cmp_1"), [(1, 1, OccurrenceState::Cancelled)]);
    let n = notifications_of(store, "campaign", "cmp_1");
    assert_eq!(n.len(), 1, "{n:?}");
    assert_eq!(
        (n[0].kind, n[0].actor.as_str(), n[0].at),
        (NotificationKind::Stopped, "bob", later(60))
    );
    assert_eq!(store.campaign("cmp_1").expect("get"), Some(applied.value));
}

/// C6/B1: abort cancels every pending send, answers the summary, and writes an `aborted`
/// notification carrying that same summary.
pub fn abort_returns_a_summary_and_notifies(store: &dyn Store) {
    insert_campaign(store, "cmp_api", schedule(json!({"type": "api"})));
    activate(store, "cmp_api", &ctx("ann"));
    assert!(
        store
            .enqueue_trigger(&trigger("cmp_api", "p1", "trg:cmp_api:1"))
            .expect("trigger")
    );
    assert!(
        store
            .enqueue_trigger(&trigger("cmp_api", "p2", "trg:cmp_api:2"))
            .expect("trigger")
    );
    let before = store
        .results(&campaign_subject("cmp_api"))
        .expect("results");
    assert_eq!((before.entered, before.active), (2, 2));

    let ctx = with_reason(ctx_at("bob", later(30)), "wrong price");
    let applied = store
        .apply_campaign("cmp_api", &ctx, &mut |c| Ok(c.abort(later(30))?))
        .expect("abort");
    assert_eq!(applied.value.status, CampaignStatus::Aborted);
    let expected = Summary {
        delivered: 0,
        failed: 0,
        skipped: 0,
        cancelled: 2,
        unknown: 0,
        halted: None,
    };
    assert_eq!(applied.summary, Some(expected.clone()));

    let n = notifications_of(store, "campaign", "cmp_api");
    assert_eq!(n.len(), 1, "{n:?}");
    assert_eq!(n[0].kind, NotificationKind::Aborted);
    assert_eq!(n[0].summary, expected);
    assert_eq!(
        (n[0].actor.as_str(), n[0].reason.as_deref()),
        ("bob", Some("wrong price"))
    );
    assert_eq!((n[0].subject.version, n[0].read), (Some(1), false));
    assert_eq!(
        store
            .results(&campaign_subject("cmp_api"))
            .expect("results")
            .active,
        0
    );

    insert_campaign(store, "cmp_daily", daily());
    activate(store, "cmp_daily", &ctx);
    store
        .apply_campaign("cmp_daily", &ctx, &mut |c| Ok(c.abort(later(30))?))
        .expect("abort a scheduled campaign");
    assert_eq!(
        occ(store, "cmp_daily"),
        [(1, 1, OccurrenceState::Cancelled)]
    );
}

/// C9: `delete_campaign` changes nothing when `check` refuses; when it allows, the campaign and
/// its occurrences are gone and the deletion is audited.
pub fn delete_campaign_honours_its_check(store: &dyn Store) {
    let inserted = insert_campaign(store, "cmp_1", daily());
    let refuse = |c: &sluice_core::campaign::Campaign| -> Result<(), Refused> {
        Err(Refused {
            subject: "campaign",
            action: "delete".into(),
            current_status: c.status.to_string(),
            allowed_actions: Vec::new(),
            reason: Some("refused by the check".into()),
        })
    };
    let before = audit_of(store, Some(&campaign_subject("cmp_1"))).len();
    let refused = store.delete_campaign("cmp_1", &ctx("ann"), &refuse);
    assert!(
        matches!(
            refused,
            Err(CommandError::Lifecycle(LifecycleError::Refused(_)))
        ),
        "{refused:?}"
    );
    assert_eq!(store.campaign("cmp_1").expect("get"), Some(inserted));
    assert_eq!(
        audit_of(store, Some(&campaign_subject("cmp_1"))).len(),
        before
    );

    insert_campaign(store, "cmp_2", daily());
    activate(store, "cmp_2", &ctx("ann"));
    let ever_activated =
        store.delete_campaign("cmp_2", &ctx("ann"), &|c| c.check(CampaignAction::Delete));
    assert!(
        ever_activated.is_err(),
        "the domain's own check refuses (C9)"
    );
    assert_eq!(occurrences(store, "cmp_2").len(), 1);

    store
        .delete_campaign("cmp_1", &ctx_at("ann", later(5)), &|c| {
            c.check(CampaignAction::Delete)
        })
        .expect("a never-activated campaign can be deleted");
    assert_eq!(store.campaign("cmp_1").expect("get"), None);
    let audit = audit_of(store, Some(&campaign_subject("cmp_1")));
    assert_eq!(audit[0].action, "delete");
    assert_eq!((audit[0].actor.as_str(), audit[0].at), ("ann", later(5)));
    assert!(matches!(
        store.delete_campaign("cmp_1", &ctx("ann"), &|_| Ok(())),
        Err(CommandError::NotFound)
    ));
}

/// Unknown campaign ids: `None`, `NotFound` for commands (which never run), no occurrences.
pub fn unknown_campaign_is_not_found(store: &dyn Store) {
    let mut ran = false;
    let applied = store.apply_campaign("cmp_nope", &ctx("ann"), &mut |c| {
        ran = true;
        Ok(c.activate(now())?)
    });
    assert!(
        matches!(applied, Err(CommandError::NotFound)),
        "{applied:?}"
    );
    assert!(!ran, "the command is not called without a campaign");
    assert!(matches!(
        store.delete_campaign("cmp_nope", &ctx("ann"), &|_| Ok(())),
        Err(CommandError::NotFound)
    ));
    assert!(occurrences(store, "cmp_nope").is_empty());
    assert!(audit_of(store, None).is_empty(), "nothing was audited");
}

/// `campaigns` filters by status and pages by cursor in id order, each campaign once.
pub fn campaigns_list_filters_by_status_and_pages(store: &dyn Store) {
    for id in ["cmp_3", "cmp_1", "cmp_5", "cmp_2", "cmp_4"] {
        insert_campaign(store, id, schedule(json!({"type": "immediate"})));
    }
    activate(store, "cmp_2", &ctx("ann"));
    activate(store, "cmp_4", &ctx("ann"));
    let ids = |status: Option<CampaignStatus>, limit: u32| -> Vec<Vec<String>> {
        pages(limit, |p| store.campaigns(status, p).expect("campaigns"))
            .into_iter()
            .map(|page| page.into_iter().map(|c| c.id).collect())
            .collect()
    };
    assert_eq!(
        ids(None, 2),
        [
            vec!["cmp_1", "cmp_2"],
            vec!["cmp_3", "cmp_4"],
            vec!["cmp_5"]
        ]
    );
    assert_eq!(
        ids(Some(CampaignStatus::Live), 1),
        [vec!["cmp_2"], vec!["cmp_4"]]
    );
    assert_eq!(
        ids(Some(CampaignStatus::Draft), 10),
        [vec!["cmp_1", "cmp_3", "cmp_5"]]
    );
    assert_eq!(
        ids(Some(CampaignStatus::Aborted), 10),
        [Vec::<String>::new()]
    );
    let listed = store
        .campaigns(Some(CampaignStatus::Live), &PageRequest::first(10))
        .expect("campaigns");
    assert_eq!(
        Some(&listed.items[0]),
        store.campaign("cmp_2").expect("get").as_ref()
    );
}

/// `enqueue_trigger` is idempotent by key: a repeat answers `false` and plans nothing more.
pub fn enqueue_trigger_is_idempotent_by_key(store: &dyn Store) {
    insert_campaign(store, "cmp_api", schedule(json!({"type": "api"})));
    activate(store, "cmp_api", &ctx("ann"));
    assert!(
        store
            .enqueue_trigger(&trigger("cmp_api", "p1", "trg:cmp_api:a"))
            .expect("trigger")
    );
    assert!(
        !store
            .enqueue_trigger(&trigger("cmp_api", "p1", "trg:cmp_api:a"))
            .expect("trigger")
    );
    assert!(
        !store
            .enqueue_trigger(&trigger("cmp_api", "p2", "trg:cmp_api:a"))
            .expect("trigger"),
        "the key alone decides a repeat"
    );
    assert!(
        store
            .enqueue_trigger(&trigger("cmp_api", "p1", "trg:cmp_api:b"))
            .expect("trigger")
    );
    let results = store
        .results(&campaign_subject("cmp_api"))
        .expect("results");
    assert_eq!((results.entered, results.active), (2, 2));
}
