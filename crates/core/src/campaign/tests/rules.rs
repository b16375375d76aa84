//! The rules C1–C10, one test each, plus what 409 answers say.

use super::*;
#[test]
fn c1_a_new_campaign_is_draft_version_1_which_can_be_edited_and_deleted() {
    let mut c = new(Kind::Immediate);
    assert_eq!((c.status, c.versions.len()), (S::Draft, 1));
    assert_eq!(vsum(&c.versions[0]), (1, V::Draft, None));
    assert!(c.live_version().is_none() && !c.ever_activated());
    c.check(A::Delete).expect("delete a draft");
    let edited = content(Kind::Recurring, "tpl_2");
    assert_eq!(
        c.edit_draft(edited.clone(), ChannelType::Webhook, later(1)),
        Ok(1)
    );
    assert_eq!(
        (&c.versions[0].content, c.versions[0].channel_type),
        (&edited, ChannelType::Webhook)
    );
    assert_eq!((c.status, c.updated_at), (S::Draft, later(1)));
}

#[test]
fn c2_activate_schedules_future_first_runs_and_is_live_otherwise() {
    for kind in KINDS {
        let mut c = new(kind);
        let t = c.activate(now()).expect("activate");
        assert_eq!(vsum(&c.versions[0]), (1, V::Live, Some(now())), "{kind:?}");
        assert_eq!(
            summary(&t),
            (A::Activate, S::Draft, activated(kind), Some(1))
        );
        assert_eq!(c.status, activated(kind), "{kind:?}");
        match kind {
            Kind::Immediate => assert_eq!(t.effects, [occurrence(1, now())]),
            Kind::Once => assert_eq!(t.effects, [occurrence(1, later(24 * 60))]),
            Kind::Recurring => assert!(
                matches!(t.effects[..], [CampaignEffect::ScheduleOccurrence { version: 1, at }] if at > now()),
                "{:?}",
                t.effects
            ),
            // API campaigns send per trigger call; inbound ones are served, not sent.
            Kind::Api | Kind::Inbound => assert_eq!(t.effects, []),
        }
    }
}

#[test]
fn c3_modify_makes_draft_n_plus_1_from_the_live_version_which_runs_untouched() {
    let mut c = build(Kind::Recurring, S::Scheduled, false);
    let live_before = c.version(1).unwrap().clone();
    let t = c.modify(later(5)).expect("modify");
    assert_eq!(
        summary(&t),
        (A::Modify, S::Scheduled, S::Scheduled, Some(2))
    );
    assert_eq!((t.effects, c.status), (vec![], S::Scheduled));
    assert_eq!(c.version(1), Some(&live_before));
    let d = c.version(2).unwrap();
    assert_eq!(
        (d.state, d.activated_at, d.created_at),
        (V::Draft, None, later(5))
    );
    assert_eq!(
        (&d.content, d.channel_type),
        (&live_before.content, live_before.channel_type)
    );

    let before = c.clone();
    let r = c.modify(later(6)).expect_err("second modify");
    assert_refusal_names_status(&c, &r, A::Modify);
    assert!(
        r.reason
            .unwrap()
            .contains("draft version is already in progress")
    );
    assert_eq!(c, before);

    let mut live = build(Kind::Recurring, S::Live, false);
    assert_eq!(live.modify(now()).map(|t| t.version), Ok(Some(2)));
}

#[test]
fn c4_activating_the_draft_supersedes_the_live_version() {
    let mut c = build(Kind::Recurring, S::Live, true);
    let edited = CampaignContent {
        schedule: recurring("0 18 * * 1"),
        ..content(Kind::Recurring, "tpl_v2")
    };
    assert_eq!(
        c.edit_draft(edited.clone(), ChannelType::Email, now()),
        Ok(2)
    );
    let t = c.activate(later(10)).expect("activate the draft");
    assert_eq!(summary(&t), (A::Activate, S::Live, S::Live, Some(2)));
    match &t.effects[..] {
        [
            CampaignEffect::CancelPendingOccurrences,
            CampaignEffect::ScheduleOccurrence { version: 2, at },
        ] => {
            assert!(*at > later(10));
        }
        other => panic!("unexpected effects {other:?}"),
    }
    assert_eq!(state(&c, 1), V::Superseded);
    let v2 = c.version(2).unwrap();
    assert_eq!(vsum(v2), (2, V::Live, Some(later(10))));
    assert_eq!(v2.content, edited);
    assert_eq!(c.live_version().map(|v| v.version), Some(2));
    assert!(c.draft_version().is_none());
    // The next modify copies the version now live.
    c.modify(later(11)).expect("modify again");
    assert_eq!(c.version(3).unwrap().content, edited);
}

#[test]
fn c5_stop_is_final_and_only_recurring_campaigns_modify_or_stop() {
    for (status, draft) in [
        (S::Scheduled, false),
        (S::Live, false),
        (S::Scheduled, true),
    ] {
        let mut c = build(Kind::Recurring, status, draft);
        let t = c.stop(later(1)).expect("stop");
        assert_eq!(summary(&t), (A::Stop, status, S::Stopped, Some(1)));
        let notify = CampaignEffect::Notify(NotificationKind::Stopped);
        assert_eq!(
            t.effects,
            [CampaignEffect::CancelPendingOccurrences, notify]
        );
        assert_eq!(state(&c, 1), V::Stopped);
        assert!(c.status.is_final() && c.live_version().is_none());
        assert_eq!(
            c.draft_version().is_some(),
            draft,
            "the draft in progress is kept"
        );
        let before = c.clone();
        assert!(c.activate(now()).is_err() && c.resume(now()).is_err() && c.stop(now()).is_err());
        assert!(c.modify(now()).is_err() && c.abort(now()).is_err() && !c.complete(now()));
        assert_eq!(c, before);
        assert_eq!(c.allowed_actions(), [A::Duplicate]);
        assert_eq!(c.duplicate("cmp_2".into(), now()).status, S::Draft);
    }
    for kind in [Kind::Immediate, Kind::Once, Kind::Api, Kind::Inbound] {
        let mut c = build(kind, activated(kind), false);
        for r in [c.stop(now()).unwrap_err(), c.modify(now()).unwrap_err()] {
            assert!(r.reason.unwrap().contains("only recurring"), "{kind:?}");
        }
    }
}

#[test]
fn c6_abort_from_scheduled_live_or_paused_cancels_everything_and_is_final() {
    let cases = [
        (Kind::Once, S::Scheduled, false),
        (Kind::Recurring, S::Scheduled, true),
        (Kind::Recurring, S::Live, false),
        (Kind::Immediate, S::Live, false),
        (Kind::Api, S::Live, false),
        (Kind::Inbound, S::Live, false),
        (Kind::Inbound, S::Paused, false),
    ];
    for (kind, status, draft) in cases {
        let mut c = build(kind, status, draft);
        let t = c.abort(later(1)).expect("abort");
        assert_eq!(summary(&t), (A::Abort, status, S::Aborted, Some(1)));
        let notify = CampaignEffect::Notify(NotificationKind::Aborted);
        assert_eq!(t.effects, [CampaignEffect::CancelAll, notify]);
        assert_eq!(state(&c, 1), V::Aborted);
        assert!(c.live_version().is_none() && c.status.is_final());
        assert_eq!(c.allowed_actions(), [A::Duplicate], "{kind:?} {status}");
        assert!(
            !c.complete(later(2)),
            "a brake that won the race is not undone"
        );
        assert_eq!(c.status, S::Aborted);
    }
    let mut draft = new(Kind::Immediate);
    let r = draft.abort(now()).expect_err("nothing to abort");
    assert_refusal_names_status(&draft, &r, A::Abort);
}

#[test]
fn c7_only_inbound_campaigns_pause_and_resume() {
    let mut c = build(Kind::Inbound, S::Live, false);
    let t = c.pause(later(1)).expect("pause");
    assert_eq!(
        (summary(&t), t.effects),
        ((A::Pause, S::Live, S::Paused, Some(1)), vec![])
    );
    assert_eq!(c.live_version().map(|v| v.version), Some(1));
    assert!(c.pause(later(2)).is_err());
    let t = c.resume(later(3)).expect("resume");
    assert_eq!(summary(&t), (A::Resume, S::Paused, S::Live, Some(1)));
    assert!(
        c.resume(later(4)).is_err(),
        "a live campaign is not resumed"
    );
    for kind in [Kind::Immediate, Kind::Api, Kind::Recurring, Kind::Once] {
        let mut c = build(kind, S::Live, false);
        let refusals = [
            c.pause(now()).expect_err("pause"),
            c.resume(now()).expect_err("resume"),
        ];
        for r in refusals {
            assert!(r.reason.unwrap().contains("C7"), "{kind:?}");
        }
    }
}

#[test]
fn c8_duplicate_copies_the_latest_version_from_any_status() {
    for &(kind, status, draft, _) in TABLE {
        let mut c = build(kind, status, draft);
        if draft && c.check(A::EditDraft).is_ok() {
            edit(&mut c, Kind::Recurring, "tpl_draft").unwrap();
        }
        let latest = c.latest_version();
        let (content, channel_type) = (latest.content.clone(), latest.channel_type);
        let name = "Spring sale (copy)".to_owned();
        let copy = Campaign::new_draft("cmp_copy".into(), name, content, channel_type, later(7));
        let d = c.duplicate("cmp_copy".into(), later(7));
        assert_eq!(d, copy, "{kind:?} {status}");
        assert_eq!(vsum(&d.versions[0]), (1, V::Draft, None));
    }
}

#[test]
fn c9_delete_is_refused_once_the_campaign_was_ever_activated() {
    for &(kind, status, draft, _) in TABLE {
        let c = build(kind, status, draft);
        if status == S::Draft {
            assert!(c.check(A::Delete).is_ok());
            continue;
        }
        let r = refusal(&c, A::Delete);
        assert_refusal_names_status(&c, &r, A::Delete);
        assert!(r.reason.unwrap().contains("C9"), "{kind:?} {status}");
    }
}

#[test]
fn c10_complete_ends_a_scheduled_or_live_campaign_and_nothing_else() {
    let completable = [(Kind::Once, S::Scheduled), (Kind::Recurring, S::Live)];
    let completable = completable.into_iter().chain(KINDS.map(|k| (k, S::Live)));
    for (kind, status) in completable {
        let mut c = build(kind, status, false);
        assert!(c.complete(later(3)));
        assert_eq!((c.status, c.updated_at), (S::Completed, later(3)));
        assert_eq!(state(&c, 1), V::Completed);
        assert!(c.live_version().is_none());
        assert!(!c.complete(later(4)));
    }
    let ended = [
        (Kind::Inbound, S::Paused),
        (Kind::Recurring, S::Stopped),
        (Kind::Api, S::Aborted),
    ];
    for (kind, status) in ended.into_iter().chain([(Kind::Immediate, S::Draft)]) {
        let mut c = build(kind, status, status == S::Draft);
        let before = c.clone();
        assert!(!c.complete(later(3)), "{kind:?} {status}");
        assert_eq!(c, before);
    }
}

#[test]
fn edit_draft_keeps_a_modified_recurring_campaign_recurring() {
    let mut c = build(Kind::Recurring, S::Scheduled, true);
    for kind in [Kind::Immediate, Kind::Once, Kind::Api] {
        let before = c.clone();
        match edit(&mut c, kind, "tpl_x") {
            Err(LifecycleError::Invalid(e)) => assert_eq!(e.0[0].field, "schedule.type"),
            other => panic!("{kind:?}: expected a validation error, got {other:?}"),
        }
        assert_eq!(c, before);
    }
    let edited = CampaignContent {
        schedule: recurring("*/5 * * * *"),
        ..content(Kind::Recurring, "tpl_x")
    };
    assert_eq!(
        c.edit_draft(edited.clone(), ChannelType::Email, later(1)),
        Ok(2)
    );
    assert_eq!(c.version(2).unwrap().content, edited);
    assert_eq!(
        c.version(1).unwrap().content,
        content(Kind::Recurring, "tpl_1")
    );

    // Before the first activation the kind may change freely.
    let mut d = new(Kind::Recurring);
    assert_eq!(edit(&mut d, Kind::Api, "tpl_x"), Ok(1));
    // Without a draft there is nothing to edit.
    let mut live = build(Kind::Recurring, S::Live, false);
    let err = edit(&mut live, Kind::Recurring, "tpl_x");
    assert!(
        matches!(err, Err(LifecycleError::Refused(ref r)) if r.current_status == "live"),
        "{err:?}"
    );
}

/// B5: a 409 explains itself; advice after the `;` of a reason must name allowed actions only.
#[test]
fn refusal_reasons_only_advise_actions_that_are_allowed() {
    let advice = [
        ("edit", A::EditDraft),
        ("activate", A::Activate),
        ("duplicate", A::Duplicate),
    ];
    for &(kind, status, draft, expected) in TABLE {
        let c = build(kind, status, draft);
        for action in A::ALL.into_iter().filter(|a| !expected.contains(a)) {
            let Some(reason) = refusal(&c, action).reason else {
                continue;
            };
            let Some((_, advised)) = reason.split_once(';') else {
                continue;
            };
            for (word, advised_action) in advice {
                assert!(
                    !advised.contains(word) || expected.contains(&advised_action),
                    "{kind:?} {status} draft={draft}: `{action}` refused with \"{reason}\", \
                     but {advised_action} is not allowed"
                );
            }
        }
    }
}
