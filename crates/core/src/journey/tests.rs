//! The journey version state machine (PRODUCT.md J1–J8): the whole status × action table, one
//! test per rule, the re-entrance rule and timeout, and a property test over random commands.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use jiff::{SignedDuration, Timestamp};
use proptest::prelude::*;
use serde_json::{Value, json};

use super::lifecycle::{allowed_actions, check};
use super::*;
use crate::lifecycle::{Refused, names};
use crate::notification::NotificationKind;

use JourneyAction as A;
use JourneyVersionStatus as S;

fn now() -> Timestamp {
    "2026-01-01T12:00:00Z".parse().unwrap()
}

fn later(minutes: i64) -> Timestamp {
    now() + SignedDuration::from_mins(minutes)
}

fn definition_from(value: Value) -> JourneyDefinition {
    serde_json::from_value(value).expect("valid definition")
}

/// A one-node definition entered by `event`.
fn def(event: &str) -> JourneyDefinition {
    definition_from(json!({
        "entry": {"type": "event", "event": event},
        "start": "a",
        "nodes": [{"id": "a", "type": "end"}],
    }))
}

fn new() -> Journey {
    Journey::new_draft("jrn_1".into(), "Onboarding".into(), def("signed_up"), now())
}

/// Exactly the actions each version status allows.
#[rustfmt::skip]
const TABLE: &[(S, &[A])] = &[
    (S::Draft,    &[A::Edit, A::Delete, A::Publish, A::Duplicate]),
    (S::Live,     &[A::Close, A::Stop, A::Duplicate, A::RemoveProfile]),
    (S::Closed,   &[A::Stop, A::Duplicate, A::RemoveProfile]),
    (S::Stopped,  &[A::Duplicate]),
    (S::Finished, &[A::Duplicate]),
];

fn expected(status: S) -> &'static [A] {
    TABLE
        .iter()
        .find(|r| r.0 == status)
        .expect("every status is in the table")
        .1
}

/// A journey whose version `n` (returned) was driven by real commands to `status`. A draft is
/// version 2 next to a live version 1, so that deleting it is allowed.
fn build(status: S) -> (Journey, u32) {
    let mut j = new();
    publish(&mut j, 1);
    match status {
        S::Draft => {
            assert_eq!(j.new_version(now()).map(|t| t.version), Ok(2));
            return (j, 2);
        }
        S::Live => {}
        S::Closed => close(&mut j, 1),
        S::Stopped => stop(&mut j, 1),
        S::Finished => {
            close(&mut j, 1);
            assert!(j.finish(1, now()));
        }
    }
    assert_eq!(j.version(1).unwrap().status, status);
    (j, 1)
}

fn publish(j: &mut Journey, n: u32) -> Vec<JourneyTransition> {
    j.publish(n, now())
        .expect("version exists")
        .expect("publish")
}

fn close(j: &mut Journey, n: u32) {
    j.close(n, now()).expect("version exists").expect("close");
}

fn stop(j: &mut Journey, n: u32) {
    j.stop(n, now()).expect("version exists").expect("stop");
}

fn status_of(j: &Journey, n: u32) -> S {
    j.version(n).expect("version exists").status
}

fn assert_refusal(r: &Refused, status: S, action: &str) {
    assert_eq!(r.subject, "journey version");
    assert_eq!(r.action, action);
    assert_eq!(r.current_status, status.as_str());
    assert_eq!(r.allowed_actions, names(&allowed_actions(status)));
}

/// Runs the command behind `action` on version `n`; `None` for `remove_profile`, which the
/// store carries out behind `check`.
fn run(j: &mut Journey, n: u32, action: A) -> Option<Result<(), Refused>> {
    let t = later(1);
    let done = match action {
        A::Edit => j.edit(n, def("edited"), t),
        A::Delete => j.delete_version(n, t),
        A::Publish => j.publish(n, t).map(|r| r.map(drop)),
        A::Close => j.close(n, t).map(|r| r.map(drop)),
        A::Stop => j.stop(n, t).map(|r| r.map(drop)),
        A::Duplicate => j.duplicate(n, "jrn_2".into(), t).map(|_| Ok(())),
        A::RemoveProfile | A::NewVersion => return None,
    };
    Some(done.expect("the version exists"))
}

#[test]
fn every_status_and_action_is_allowed_exactly_as_the_table_says() {
    for status in S::ALL {
        let want = expected(status);
        let got: HashSet<A> = allowed_actions(status).into_iter().collect();
        assert_eq!(got, want.iter().copied().collect(), "{status}");
        assert_eq!(
            allowed_actions(status).len(),
            want.len(),
            "{status}: duplicates"
        );
        let (journey, n) = build(status);
        for action in A::ALL {
            let allowed = want.contains(&action);
            match check(status, action) {
                Ok(()) => assert!(allowed, "{status}: {action} should be refused"),
                Err(r) => {
                    assert!(!allowed, "{status}: {action} should be allowed");
                    assert_refusal(&r, status, action.as_str());
                    let j5 = matches!(status, S::Closed | S::Stopped | S::Finished);
                    assert_eq!(
                        r.reason.is_some_and(|r| r.contains("J5")),
                        j5,
                        "{status} {action}"
                    );
                }
            }
            let mut after = journey.clone();
            if let Some(result) = run(&mut after, n, action) {
                assert_eq!(result.is_ok(), allowed, "{status}: running {action}");
                if let Err(r) = result {
                    assert_refusal(&r, status, action.as_str());
                    assert_eq!(
                        after, journey,
                        "{status}: refused {action} changed the journey"
                    );
                }
            }
        }
    }
}

#[test]
fn commands_on_a_missing_version_are_none() {
    let mut j = new();
    let before = j.clone();
    assert!(j.edit(9, def("x"), now()).is_none());
    assert!(j.delete_version(9, now()).is_none());
    assert!(j.publish(9, now()).is_none());
    assert!(j.close(9, now()).is_none());
    assert!(j.stop(9, now()).is_none());
    assert!(!j.finish(9, now()));
    assert!(j.duplicate(9, "jrn_2".into(), now()).is_none());
    assert_eq!(j, before);
}

#[test]
fn j1_a_new_journey_is_draft_version_1_which_can_be_edited() {
    let mut j = new();
    assert_eq!(j.versions.len(), 1);
    let v = &j.versions[0];
    assert_eq!((v.version, v.status, v.published_at), (1, S::Draft, None));
    assert_eq!(j.edit(1, def("edited"), later(1)), Some(Ok(())));
    assert_eq!(
        (&j.versions[0].definition, j.updated_at),
        (&def("edited"), later(1))
    );
    assert_eq!(j.check_delete(), Ok(()));
}

#[test]
fn j1_a_draft_version_is_deleted_but_not_the_only_one() {
    let mut j = new();
    let before = j.clone();
    let r = j
        .delete_version(1, later(1))
        .unwrap()
        .expect_err("only version");
    assert_refusal(&r, S::Draft, "delete");
    assert!(r.reason.unwrap().contains("only version"));
    assert_eq!(j, before);

    let (mut j, n) = build(S::Draft);
    assert_eq!(j.delete_version(n, later(1)), Some(Ok(())));
    assert_eq!(
        j.versions.iter().map(|v| v.version).collect::<Vec<_>>(),
        [1]
    );
    assert_eq!(j.updated_at, later(1));
}

#[test]
fn j2_publish_makes_a_draft_live() {
    let mut j = new();
    let ts = j.publish(1, later(1)).unwrap().expect("publish");
    let expected = JourneyTransition {
        action: A::Publish,
        version: 1,
        from: S::Draft,
        to: S::Live,
        effects: vec![],
    };
    assert_eq!(ts, [expected]);
    let v = j.version(1).unwrap();
    assert_eq!((v.status, v.published_at), (S::Live, Some(later(1))));
    assert_eq!(j.live_version().map(|v| v.version), Some(1));

    // An audience entry starts reading its audience when the schedule says.
    let at: Timestamp = "2026-02-01T08:00:00Z".parse().unwrap();
    let audience = definition_from(json!({
        "entry": {"type": "audience", "audience_id": "aud_new", "schedule": {"type": "once", "at": at}},
        "start": "a",
        "nodes": [{"id": "a", "type": "end"}],
    }));
    let mut j = Journey::new_draft("jrn_2".into(), "Audience".into(), audience, now());
    let ts = publish(&mut j, 1);
    assert_eq!(
        ts[0].effects,
        [JourneyEffect::ScheduleEntry { version: 1, at }]
    );
}

#[test]
fn j3_close_stops_new_entrances_and_finish_follows_only_from_closed() {
    let (mut j, _) = build(S::Live);
    let t = j.close(1, later(2)).unwrap().expect("close");
    assert_eq!(
        (t.action, t.version, t.from, t.to),
        (A::Close, 1, S::Live, S::Closed)
    );
    assert_eq!(
        t.effects,
        [
            JourneyEffect::CloseEntries { version: 1 },
            JourneyEffect::Notify {
                version: 1,
                kind: NotificationKind::Closed
            },
            JourneyEffect::FinishIfEmpty { version: 1 },
        ]
    );
    assert_eq!(j.version(1).unwrap().closed_at, Some(later(2)));
    assert!(j.live_version().is_none());
    assert!(j.finish(1, later(3)));
    let v = j.version(1).unwrap();
    assert_eq!((v.status, v.finished_at), (S::Finished, Some(later(3))));

    for status in [S::Draft, S::Live, S::Stopped, S::Finished] {
        let (mut j, n) = build(status);
        let before = j.clone();
        assert!(!j.finish(n, later(4)), "{status}");
        assert_eq!(j, before);
    }
}

#[test]
fn j4_stop_halts_a_live_or_closed_version() {
    for status in [S::Live, S::Closed] {
        let (mut j, n) = build(status);
        let t = j.stop(n, later(5)).unwrap().expect("stop");
        assert_eq!(
            (t.action, t.version, t.from, t.to),
            (A::Stop, n, status, S::Stopped)
        );
        assert_eq!(
            t.effects,
            [
                JourneyEffect::CloseEntries { version: n },
                JourneyEffect::Halt { version: n },
                JourneyEffect::Notify {
                    version: n,
                    kind: NotificationKind::Stopped
                },
            ]
        );
        let v = j.version(n).unwrap();
        assert_eq!((v.status, v.stopped_at), (S::Stopped, Some(later(5))));
    }
    let mut j = new();
    let r = j.stop(1, now()).unwrap().expect_err("a draft holds nobody");
    assert_refusal(&r, S::Draft, "stop");
}

#[test]
fn j5_ended_versions_are_never_published_reopened_edited_or_deleted() {
    for status in [S::Closed, S::Stopped, S::Finished] {
        let (mut j, n) = build(status);
        j.new_version(now())
            .expect("a later draft, so deleting is not refused as the only one");
        let before = j.clone();
        let results = [
            j.publish(n, later(1)).unwrap().map(drop),
            j.close(n, later(1)).unwrap().map(drop),
            j.edit(n, def("x"), later(1)).unwrap(),
            j.delete_version(n, later(1)).unwrap(),
        ];
        for (r, action) in results
            .into_iter()
            .zip(["publish", "close", "edit", "delete"])
        {
            let r = r.expect_err(action);
            assert_refusal(&r, status, action);
            assert!(r.reason.unwrap().contains("J5"), "{status} {action}");
        }
        assert_eq!(j, before);
    }
}

#[test]
fn j6_new_version_copies_the_latest_and_publishing_it_closes_the_live_one() {
    let mut j = new();
    j.edit(1, def("v1_event"), now()).unwrap().unwrap();
    publish(&mut j, 1);
    assert_eq!(j.new_version(later(1)).map(|t| t.version), Ok(2));
    let v2 = j.version(2).unwrap();
    assert_eq!(
        (v2.status, &v2.definition, v2.created_at),
        (S::Draft, &def("v1_event"), later(1))
    );

    let before = j.clone();
    let r = j.new_version(later(2)).expect_err("a draft is in progress");
    assert_eq!(
        (r.action.as_str(), r.current_status.as_str()),
        ("new_version", "live")
    );
    assert!(r.reason.unwrap().contains("draft version 2"));
    assert_eq!(j, before);

    j.edit(2, def("v2_event"), later(2)).unwrap().unwrap();
    let ts = j.publish(2, later(3)).unwrap().expect("publish v2");
    assert_eq!(ts.len(), 2);
    assert_eq!(
        (ts[0].action, ts[0].version, ts[0].to),
        (A::Publish, 2, S::Live)
    );
    assert_eq!(
        (ts[1].action, ts[1].version, ts[1].from, ts[1].to),
        (A::Close, 1, S::Live, S::Closed)
    );
    assert!(
        ts[1]
            .effects
            .contains(&JourneyEffect::CloseEntries { version: 1 })
    );
    assert_eq!((status_of(&j, 1), status_of(&j, 2)), (S::Closed, S::Live));
    assert_eq!(j.version(1).unwrap().closed_at, Some(later(3)));

    // The latest version is copied whatever its status.
    stop(&mut j, 2);
    assert_eq!(j.new_version(later(4)).map(|t| t.version), Ok(3));
    assert_eq!(j.version(3).unwrap().definition, def("v2_event"));
}

#[test]
fn j7_duplicate_copies_the_chosen_version_in_any_status() {
    for status in S::ALL {
        let (mut j, n) = build(status);
        if status == S::Draft {
            j.edit(n, def("draft_event"), now()).unwrap().unwrap();
        }
        let source = j.version(n).unwrap().definition.clone();
        let d = j
            .duplicate(n, "jrn_copy".into(), later(9))
            .expect("version exists");
        assert_eq!(
            (d.id.as_str(), d.name.as_str()),
            ("jrn_copy", "Onboarding (copy)")
        );
        assert_eq!((d.created_at, d.versions.len()), (later(9), 1));
        let v = &d.versions[0];
        assert_eq!(
            (v.version, v.status, v.published_at, &v.definition),
            (1, S::Draft, None, &source)
        );
    }
}

#[test]
fn deleting_a_journey_is_allowed_only_while_every_version_is_a_draft() {
    assert_eq!(new().check_delete(), Ok(()));
    for status in S::ALL {
        let (j, _) = build(status);
        let r = j.check_delete().expect_err("a version was published");
        assert_eq!(r.action, "delete");
        assert!(r.reason.unwrap().contains("ever published"));
    }
}

/// B5: the 409 names the allowed actions; it must not offer the very action it refuses.
#[test]
fn refusing_to_delete_a_journey_does_not_offer_delete() {
    let (j, _) = build(S::Draft); // v1 live, v2 draft
    let r = j.check_delete().expect_err("v1 was published");
    assert!(
        !r.allowed_actions.contains(&"delete".to_owned()),
        "refused `delete` while listing it as allowed: status {}, allowed {:?}",
        r.current_status,
        r.allowed_actions
    );
}

fn with_reentry(reentry: &Value, timeout: Option<&str>) -> JourneyDefinition {
    let mut v = json!({
        "entry": {"type": "event", "event": "e"},
        "reentry": reentry,
        "start": "a",
        "nodes": [{"id": "a", "type": "end"}],
    });
    if let Some(t) = timeout {
        v["timeout"] = json!(t);
    }
    definition_from(v)
}

#[test]
fn j8_admits_follows_the_reentrance_rule() {
    let hours_ago = |h: i64| Some(now() - SignedDuration::from_hours(h));
    let never = with_reentry(&json!({"mode": "never"}), None);
    assert!(never.admits(None, now()));
    assert!(!never.admits(hours_ago(24 * 365), now()));
    let always = with_reentry(&json!({"mode": "always"}), None);
    assert!(always.admits(None, now()) && always.admits(hours_ago(0), now()));
    let after = with_reentry(&json!({"mode": "after", "wait": "P1D"}), None);
    assert!(after.admits(None, now()));
    assert!(!after.admits(hours_ago(23), now()));
    assert!(
        after.admits(hours_ago(24), now()),
        "exactly the wait period later"
    );
    assert!(after.admits(hours_ago(25), now()));
    assert!(
        !after.admits(Some(Timestamp::MAX), Timestamp::MAX),
        "a wait past the end of time"
    );
}

#[test]
fn j8_deadline_is_entry_plus_the_timeout() {
    let default = with_reentry(&json!({"mode": "never"}), None);
    assert_eq!(
        default.deadline(now()),
        now() + SignedDuration::from_hours(91 * 24)
    );
    let day = with_reentry(&json!({"mode": "never"}), Some("P1D"));
    assert_eq!(day.deadline(now()), now() + SignedDuration::from_hours(24));
    assert_eq!(day.deadline(Timestamp::MAX), Timestamp::MAX);
}

// ----- property test -----

#[derive(Debug, Clone)]
enum Op {
    Publish(u32),
    Close(u32),
    Stop(u32),
    NewVersion,
    Edit(u32),
    Delete(u32),
    Finish(u32),
}

fn op() -> impl Strategy<Value = Op> {
    let n = 1u32..=5;
    prop_oneof![
        n.clone().prop_map(Op::Publish),
        n.clone().prop_map(Op::Close),
        n.clone().prop_map(Op::Stop),
        Just(Op::NewVersion),
        n.clone().prop_map(Op::Edit),
        n.clone().prop_map(Op::Delete),
        n.prop_map(Op::Finish),
    ]
}

/// Applies `op`; `true` when it changed something (found and allowed).
fn apply(j: &mut Journey, op: &Op, at: Timestamp) -> bool {
    match *op {
        Op::Publish(n) => matches!(j.publish(n, at), Some(Ok(_))),
        Op::Close(n) => matches!(j.close(n, at), Some(Ok(_))),
        Op::Stop(n) => matches!(j.stop(n, at), Some(Ok(_))),
        Op::NewVersion => j.new_version(at).is_ok(),
        Op::Edit(n) => matches!(
            j.edit(n, def(&format!("e{}", at.as_second())), at),
            Some(Ok(()))
        ),
        Op::Delete(n) => matches!(j.delete_version(n, at), Some(Ok(()))),
        Op::Finish(n) => j.finish(n, at),
    }
}

fn statuses(j: &Journey) -> BTreeMap<u32, S> {
    j.versions.iter().map(|v| (v.version, v.status)).collect()
}

proptest! {
    #[test]
    fn random_command_sequences_keep_the_journey_invariants(
        ops in proptest::collection::vec(op(), 0..=30),
    ) {
        let mut j = new();
        let mut published: BTreeSet<u32> = BTreeSet::new();
        for (i, op) in ops.iter().enumerate() {
            let before = j.clone();
            if !apply(&mut j, op, later(i as i64 + 1)) {
                prop_assert_eq!(&j, &before, "refused {:?} changed the journey", op);
            }
            let count = |s: S| j.versions.iter().filter(|v| v.status == s).count();
            prop_assert!(count(S::Live) <= 1);
            prop_assert!(count(S::Draft) <= 1);
            let (old, new) = (statuses(&before), statuses(&j));
            prop_assert_eq!(new.len(), j.versions.len(), "version numbers are unique");
            for (n, was) in old {
                let Some(&now_is) = new.get(&n) else { continue };
                match was {
                    S::Stopped | S::Finished => prop_assert_eq!(now_is, was, "v{} left {}", n, was),
                    S::Closed => prop_assert!(
                        matches!(now_is, S::Closed | S::Stopped | S::Finished),
                        "v{} went from closed to {}", n, now_is
                    ),
                    S::Draft | S::Live => {}
                }
            }
            for v in &j.versions {
                if v.published_at.is_some() {
                    published.insert(v.version);
                }
            }
            for n in &published {
                let v = j.version(*n);
                prop_assert!(v.is_some(), "published v{} was deleted", n);
                prop_assert_ne!(v.unwrap().status, S::Draft, "published v{} is a draft", n);
            }
        }
    }
}
