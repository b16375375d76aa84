//! The campaign state machine (PRODUCT.md C1–C10): the whole status × kind × action table, one
//! test per rule, and a property test over random command sequences.

use std::collections::HashSet;

use jiff::{SignedDuration, Timestamp};

use super::*;
use crate::channel::ChannelType;
use crate::lifecycle::{LifecycleError, Refused, names};
use crate::notification::NotificationKind;
use crate::schedule::Schedule;

use CampaignAction as A;
use CampaignStatus as S;
use VersionState as V;

pub(super) fn now() -> Timestamp {
    "2026-01-01T12:00:00Z".parse().unwrap()
}

pub(super) fn later(minutes: i64) -> Timestamp {
    now() + SignedDuration::from_mins(minutes)
}

/// The five kinds of campaign PRODUCT.md names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    /// One-time, sent now.
    Immediate,
    /// One-time, at a time in the future.
    Once,
    Recurring,
    Api,
    /// In-app (`inbox` channel), served while live.
    Inbound,
}

pub(super) const KINDS: [Kind; 5] = [
    Kind::Immediate,
    Kind::Once,
    Kind::Recurring,
    Kind::Api,
    Kind::Inbound,
];

pub(super) fn recurring(cron: &str) -> Schedule {
    Schedule::Recurring {
        cron: cron.into(),
        timezone: "Europe/Berlin".into(),
        start: None,
        end: None,
    }
}

pub(super) fn content(kind: Kind, template: &str) -> CampaignContent {
    let schedule = match kind {
        Kind::Immediate | Kind::Inbound => Schedule::Immediate,
        Kind::Once => Schedule::Once { at: later(24 * 60) },
        Kind::Recurring => recurring("0 9 * * *"),
        Kind::Api => Schedule::Api,
    };
    CampaignContent {
        channel_id: "ch_main".into(),
        template_id: template.into(),
        audience_id: Some("aud_all".into()),
        schedule,
    }
}

pub(super) fn channel(kind: Kind) -> ChannelType {
    if kind == Kind::Inbound {
        ChannelType::Inbox
    } else {
        ChannelType::Email
    }
}

pub(super) fn new(kind: Kind) -> Campaign {
    Campaign::new_draft(
        "cmp_1".into(),
        "Spring sale".into(),
        content(kind, "tpl_1"),
        channel(kind),
        now(),
    )
}

/// The one transition the lifecycle does not make itself: the engine starting the first
/// occurrence of a scheduled campaign. Used only where no command reaches `live`.
pub(super) fn engine_goes_live(c: &mut Campaign) {
    assert_eq!(c.status, S::Scheduled);
    c.status = S::Live;
}

/// Drives a new campaign of `kind` through real commands to `status`, with a draft in
/// progress (made by `modify`) when `draft`. Final statuses are reached from the status the
/// first activation leads to.
pub(super) fn build(kind: Kind, status: S, draft: bool) -> Campaign {
    let mut c = new(kind);
    if status == S::Draft {
        assert!(draft, "a never-activated campaign always has its draft");
        return c;
    }
    c.activate(now()).expect("activate");
    if status == S::Live && c.status == S::Scheduled {
        engine_goes_live(&mut c);
    }
    if status == S::Paused {
        c.pause(now()).expect("pause");
    }
    if draft {
        c.modify(now()).expect("modify");
    }
    match status {
        S::Stopped => assert!(c.stop(now()).is_ok()),
        S::Aborted => assert!(c.abort(now()).is_ok()),
        S::Completed => assert!(c.complete(now())),
        _ => {}
    }
    assert_eq!((c.status, c.draft_version().is_some()), (status, draft));
    c
}

pub(super) const ACTIVE_RECURRING: &[A] = &[A::Modify, A::Stop, A::Abort, A::Duplicate];
pub(super) const ACTIVE_RECURRING_DRAFT: &[A] =
    &[A::EditDraft, A::Activate, A::Stop, A::Abort, A::Duplicate];
pub(super) const NEVER_ACTIVATED: &[A] = &[A::EditDraft, A::Delete, A::Activate, A::Duplicate];
pub(super) const ENDED: &[A] = &[A::Duplicate];

/// Every reachable (kind, status, draft in progress) and exactly the actions it allows.
#[rustfmt::skip]
pub(super) const TABLE: &[(Kind, S, bool, &[A])] = &[
    (Kind::Immediate, S::Draft,     true,  NEVER_ACTIVATED),
    (Kind::Immediate, S::Live,      false, &[A::Abort, A::Duplicate]),
    (Kind::Immediate, S::Aborted,   false, ENDED),
    (Kind::Immediate, S::Completed, false, ENDED),

    (Kind::Once,      S::Draft,     true,  NEVER_ACTIVATED),
    (Kind::Once,      S::Scheduled, false, &[A::Abort, A::Duplicate]),
    (Kind::Once,      S::Live,      false, &[A::Abort, A::Duplicate]),
    (Kind::Once,      S::Aborted,   false, ENDED),
    (Kind::Once,      S::Completed, false, ENDED),

    (Kind::Recurring, S::Draft,     true,  NEVER_ACTIVATED),
    (Kind::Recurring, S::Scheduled, false, ACTIVE_RECURRING),
    (Kind::Recurring, S::Scheduled, true,  ACTIVE_RECURRING_DRAFT),
    (Kind::Recurring, S::Live,      false, ACTIVE_RECURRING),
    (Kind::Recurring, S::Live,      true,  ACTIVE_RECURRING_DRAFT),
    (Kind::Recurring, S::Stopped,   false, ENDED),
    (Kind::Recurring, S::Stopped,   true,  ENDED),
    (Kind::Recurring, S::Aborted,   false, ENDED),
    (Kind::Recurring, S::Aborted,   true,  ENDED),
    (Kind::Recurring, S::Completed, false, ENDED),
    (Kind::Recurring, S::Completed, true,  ENDED),

    (Kind::Api,       S::Draft,     true,  NEVER_ACTIVATED),
    (Kind::Api,       S::Live,      false, &[A::Abort, A::Trigger, A::Duplicate]),
    (Kind::Api,       S::Aborted,   false, ENDED),
    (Kind::Api,       S::Completed, false, ENDED),

    (Kind::Inbound,   S::Draft,     true,  NEVER_ACTIVATED),
    (Kind::Inbound,   S::Live,      false, &[A::Abort, A::Pause, A::Duplicate]),
    (Kind::Inbound,   S::Paused,    false, &[A::Abort, A::Resume, A::Duplicate]),
    (Kind::Inbound,   S::Aborted,   false, ENDED),
    (Kind::Inbound,   S::Completed, false, ENDED),
];

/// Why a combination missing from `TABLE` cannot happen; `None` means it must be in the table.
pub(super) fn unreachable(kind: Kind, status: S, draft: bool) -> Option<&'static str> {
    if status == S::Draft {
        return (!draft).then_some("a never-activated campaign is its draft");
    }
    if draft && kind != Kind::Recurring {
        return Some("only recurring campaigns can be modified (C3)");
    }
    match (kind, status) {
        (Kind::Inbound, S::Paused) | (Kind::Recurring, S::Stopped) => None,
        (_, S::Paused) => Some("only inbound campaigns pause (C7)"),
        (_, S::Stopped) => Some("only recurring campaigns stop (C5)"),
        (Kind::Immediate | Kind::Api | Kind::Inbound, S::Scheduled) => {
            Some("an immediate, api or inbound campaign is live at once (C2)")
        }
        _ => None,
    }
}

/// Runs the command behind `action` on `c`; `None` for actions without a domain command
/// (delete and trigger are store/API operations guarded by `check`).
pub(super) fn run(c: &mut Campaign, action: A) -> Option<bool> {
    let t = now();
    Some(match action {
        A::EditDraft => {
            let kind = if c.defining_version().is_recurring() {
                Kind::Recurring
            } else {
                Kind::Immediate
            };
            edit(c, kind, "tpl_edited").is_ok()
        }
        A::Activate => c.activate(t).is_ok(),
        A::Modify => c.modify(t).is_ok(),
        A::Stop => c.stop(t).is_ok(),
        A::Abort => c.abort(t).is_ok(),
        A::Pause => c.pause(t).is_ok(),
        A::Resume => c.resume(t).is_ok(),
        A::Duplicate => c.duplicate("cmp_2".into(), t).status == S::Draft,
        A::Delete | A::Trigger => return None,
    })
}

pub(super) fn refusal(c: &Campaign, action: A) -> Refused {
    c.check(action).expect_err("refused")
}

pub(super) fn assert_refusal_names_status(c: &Campaign, r: &Refused, action: A) {
    assert_eq!(r.subject, "campaign");
    assert_eq!(r.action, action.as_str());
    assert_eq!(r.current_status, c.status.as_str());
    assert_eq!(r.allowed_actions, names(&c.allowed_actions()));
}

#[test]
fn the_table_covers_every_status_kind_and_draft() {
    for kind in KINDS {
        for status in S::ALL {
            for draft in [false, true] {
                let in_table = TABLE
                    .iter()
                    .any(|r| (r.0, r.1, r.2) == (kind, status, draft));
                let why_not = unreachable(kind, status, draft);
                assert!(
                    in_table != why_not.is_some(),
                    "{kind:?} {status} draft={draft}: in table {in_table}, unreachable {why_not:?}"
                );
            }
        }
    }
}

#[test]
fn every_status_kind_and_action_is_allowed_exactly_as_the_table_says() {
    for &(kind, status, draft, expected) in TABLE {
        let c = build(kind, status, draft);
        let at = format!("{kind:?} {status} draft={draft}");
        let got: HashSet<A> = c.allowed_actions().into_iter().collect();
        assert_eq!(got, expected.iter().copied().collect(), "{at}");
        assert_eq!(c.allowed_actions().len(), got.len(), "{at}: duplicates");
        for action in A::ALL {
            let allowed = expected.contains(&action);
            match c.check(action) {
                Ok(()) => assert!(allowed, "{at}: {action} should be refused"),
                Err(r) => {
                    assert!(!allowed, "{at}: {action} should be allowed");
                    assert_refusal_names_status(&c, &r, action);
                }
            }
            let mut after = c.clone();
            if let Some(ok) = run(&mut after, action) {
                assert_eq!(ok, allowed, "{at}: running {action}");
                if !ok {
                    assert_eq!(after, c, "{at}: refused {action} changed the campaign");
                }
            }
        }
    }
}

/// Replaces the draft's content with `kind`'s, sent by email.
pub(super) fn edit(c: &mut Campaign, kind: Kind, template: &str) -> Result<u32, LifecycleError> {
    c.edit_draft(content(kind, template), ChannelType::Email, later(1))
}

/// (action, from, to, version) of a transition.
pub(super) fn summary(t: &Transition) -> (A, S, S, Option<u32>) {
    (t.action, t.from, t.to, t.version)
}

pub(super) fn state(c: &Campaign, n: u32) -> V {
    c.version(n).expect("version exists").state
}

/// (number, state, activated_at) of a version.
pub(super) fn vsum(v: &CampaignVersion) -> (u32, V, Option<Timestamp>) {
    (v.version, v.state, v.activated_at)
}

pub(super) fn occurrence(version: u32, at: Timestamp) -> CampaignEffect {
    CampaignEffect::ScheduleOccurrence { version, at }
}

/// The status a kind's first activation leads to (C2).
pub(super) fn activated(kind: Kind) -> S {
    match kind {
        Kind::Once | Kind::Recurring => S::Scheduled,
        Kind::Immediate | Kind::Api | Kind::Inbound => S::Live,
    }
}

mod props;
mod rules;
