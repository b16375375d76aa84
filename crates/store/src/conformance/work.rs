//! `WorkStore`: claims lease due rows, settlements are fenced by attempt, and brakes count
//! their rows out at once and leave them to `sweep`, reading as braked until then.

use serde_json::json;
use sluice_core::journey::JourneyVersionStatus;

use super::support::*;
use sluice_core::profile::Event;

use crate::{
    ActionRecord, Audience, DueWork, EnrollmentState, FanOut, ImportRow, Outcome, Settlement,
    Store, Summary, WorkKind,
};

const ALL: &[WorkKind] = &[
    WorkKind::Occurrence,
    WorkKind::Send,
    WorkKind::Trigger,
    WorkKind::JourneyStep,
];

pub(super) fn claim(store: &dyn Store, at: i64, limit: u32) -> Vec<DueWork> {
    store
        .claim_due(both(at), limit, LEASE, ALL)
        .expect("claim_due")
}

fn delivered(work: &DueWork) -> Settlement {
    Settlement::Done {
        claim: work.claim(),
        record: Some(ActionRecord {
            at: later(1),
            profile_id: work.profile_id.clone().unwrap_or_default(),
            version: work.version,
            occurrence: work.occurrence,
            node_id: None,
            channel_id: Some("chn_1".into()),
            action: "trigger".into(),
            outcome: Outcome::Delivered,
            detail: None,
        }),
        idempotency_key: work.idempotency_key.clone(),
    }
}

/// Sweeps until nothing is left; the rows swept.
pub(super) fn sweep_all(store: &dyn Store) -> u64 {
    let mut swept = 0;
    for _ in 0..100 {
        match store.sweep(1).expect("sweep") {
            0 => return swept,
            n => swept += n,
        }
    }
    panic!("the sweep never ended");
}

/// A claim takes due rows only, once, with a new attempt; a settlement under a stale attempt
/// is refused and changes nothing; a retry is due again at its time; `release_claims` puts
/// claimed rows back.
/// A live API-triggered campaign `cmp_api` with two triggers queued (keys k1, k2).
pub(super) fn two_triggers(store: &dyn Store) {
    insert_campaign(store, "cmp_api", schedule(json!({"type": "api"})));
    activate(store, "cmp_api", &ctx("ann"));
    for (p, key) in [("p1", "k1"), ("p2", "k2")] {
        store
            .enqueue_trigger(&trigger("cmp_api", p, key))
            .expect("trigger");
    }
}

/// A renewed lease holds past its first expiry; only rows still claimed under the same
/// attempt are renewed.
pub fn renewed_leases_are_not_taken_over(store: &dyn Store) {
    two_triggers(store);
    let claimed = claim(store, 0, 10);
    assert_eq!(claimed.len(), 2);
    let claims: Vec<crate::Claim> = claimed.iter().map(DueWork::claim).collect();
    let stale = [crate::Claim {
        fence: claimed[1].fence + 1,
        ..claimed[1].claim()
    }];
    assert_eq!(
        store.renew_leases(&stale, both(540), LEASE).expect("renew"),
        0
    );
    assert_eq!(
        store
            .renew_leases(&claims[..1], both(540), LEASE)
            .expect("renew"),
        1
    );
    // The first lease ran out at 60 s: only the row not renewed is taken over.
    let taken = claim(store, 61, 10);
    assert_eq!(
        taken.iter().map(|w| w.id).collect::<Vec<_>>(),
        [claimed[1].id]
    );
    assert!(
        claim(store, 601, 10).iter().any(|w| w.id == claimed[0].id),
        "the renewed lease runs out at 600 s"
    );
    let settled = store
        .settle(&[delivered(&claimed[0])], both(602))
        .expect("settle");
    assert_eq!(
        settled,
        [false],
        "the first attempt's settlement is fenced out"
    );
}

pub fn claims_lease_and_settlements_are_fenced(store: &dyn Store) {
    two_triggers(store);
    let claimed = claim(store, 0, 10);
    assert_eq!(claimed.len(), 2, "{claimed:?}");
    assert!(
        claimed
            .iter()
            .all(|w| w.kind == WorkKind::Trigger && w.attempt == 1)
    );
    assert!(
        claim(store, 0, 10).is_empty(),
        "a leased row is not claimed twice"
    );

    let stale = Settlement::Done {
        claim: crate::Claim {
            fence: claimed[0].fence + 1,
            ..claimed[0].claim()
        },
        record: None,
        idempotency_key: None,
    };
    let retry = Settlement::Retry {
        claim: claimed[1].claim(),
        after: std::time::Duration::from_secs(29),
        reason: "503".into(),
    };
    assert_eq!(
        store.settle(&[stale, retry], both(1)).expect("settle"),
        [false, true]
    );
    assert!(claim(store, 10, 10).is_empty(), "the retry is due at 30 s");
    let again = claim(store, 30, 10);
    assert_eq!(
        again.iter().map(|w| (w.id, w.attempt)).collect::<Vec<_>>(),
        [(claimed[1].id, 2)]
    );
    assert_eq!(store.release_claims().expect("release"), 2);
    assert_eq!(claim(store, 30, 10).len(), 2);
}

/// B1 in constant time: an abort counts the sends still to be made (not those delivered, nor
/// those of an erased profile) from its counter; until the sweeper reaches them the rows read
/// as cancelled, are never claimed as work to send, and sweeping changes no count.
pub fn abort_counts_open_sends_and_leaves_rows_to_the_sweeper(store: &dyn Store) {
    insert_campaign(store, "cmp_api", schedule(json!({"type": "api"})));
    activate(store, "cmp_api", &ctx("ann"));
    for p in ["p1", "p2", "p3", "p4", "p5"] {
        store
            .enqueue_trigger(&trigger("cmp_api", p, &format!("trg:{p}")))
            .expect("trigger");
    }
    let first = claim(store, 0, 2);
    assert_eq!(first.len(), 2);
    let retry = Settlement::Retry {
        claim: first[1].claim(),
        after: std::time::Duration::ZERO,
        reason: "429".into(),
    };
    store
        .settle(&[delivered(&first[0]), retry], both(1))
        .expect("settle");
    let erased = ["p3", "p4", "p5"]
        .into_iter()
        .find(|p| !first.iter().any(|w| w.profile_id.as_deref() == Some(*p)))
        .expect("one profile not claimed");
    assert!(store.delete_profile(erased, later(2)).expect("erase"));

    let applied = store
        .apply_campaign("cmp_api", &ctx_at("bob", later(3)), &mut |c| {
            Ok(c.abort(later(3))?)
        })
        .expect("abort");
    let expected = Summary {
        delivered: 1,
        failed: 0,
        skipped: 0,
        cancelled: 3,
        unknown: 0,
        halted: None,
    };
    assert_eq!(applied.summary, Some(expected));
    let counted = |store: &dyn Store| {
        let r = store
            .results(&campaign_subject("cmp_api"))
            .expect("results");
        (r.entered, r.active, r.completed, r.cancelled, r.delivered)
    };
    assert_eq!(counted(store), (5, 0, 1, 4, 1));
    assert_eq!(
        sweep_all(store),
        3,
        "the sweeper cancels the three open rows"
    );
    assert_eq!(counted(store), (5, 0, 1, 4, 1), "sweeping changes no count");
    assert!(
        claim(store, 60, 10).is_empty(),
        "nothing of an aborted campaign is due"
    );
    assert_eq!(store.sweep(10).expect("sweep"), 0);
}

/// `jrn_a` v1's Results: entered, active, stopped, cancelled, and cancelled summed per node.
pub(super) fn people_of_jrn_a(store: &dyn Store) -> (u64, u64, u64, u64, u64) {
    let r = store
        .results(&version_subject("jrn_a", 1))
        .expect("results");
    let cancelled: u64 = r.per_node.values().map(|c| c.cancelled).sum();
    (r.entered, r.active, r.stopped, r.cancelled, cancelled)
}

/// J4 in constant time: a stop halts everybody inside by its counter; until the sweeper
/// reaches them their enrollments read as stopped (results, listings, the engine's view) and
/// their steps as cancelled.
pub fn stop_reads_as_halted_before_the_sweep(store: &dyn Store) {
    live_journey(store, "jrn_a", json!({"mode": "always"}));
    let three = ["p1", "p2", "p3"].map(|id| event(id, "signed_up", now()));
    assert_eq!(record(store, &three, now()), 3);
    let steps = claim(store, 0, 1);
    let enrollment = steps[0].enrollment_id.expect("a step of an enrollment");
    store.release_claims().expect("release");

    let applied = stop(store, "jrn_a", 1, &ctx_at("bob", later(60)));
    assert_eq!(
        applied.summary.as_ref().map(|s| (s.cancelled, s.halted)),
        Some((3, Some(3)))
    );
    assert_eq!(status(store, "jrn_a", 1), JourneyVersionStatus::Stopped);
    assert_eq!(people_of_jrn_a(store), (3, 0, 3, 3, 3));
    assert!(enrollments(store, "jrn_a", 1, Some(EnrollmentState::Active)).is_empty());
    let stopped = enrollments(store, "jrn_a", 1, Some(EnrollmentState::Stopped));
    assert_eq!(stopped.len(), 3);
    assert!(stopped.iter().all(|e| e.left_at == Some(later(60))));
    let read = store
        .enrollments_by_id(&[enrollment, -1])
        .expect("enrollments_by_id");
    assert_eq!(
        read.iter()
            .map(|(id, e)| (*id, e.state))
            .collect::<Vec<_>>(),
        [(enrollment, EnrollmentState::Stopped)]
    );

    assert!(sweep_all(store) >= 3);
    assert_eq!(
        people_of_jrn_a(store),
        (3, 0, 3, 3, 3),
        "sweeping changes no count"
    );
    let stopped = enrollments(store, "jrn_a", 1, Some(EnrollmentState::Stopped));
    assert!(stopped.iter().all(|e| e.left_at == Some(later(60))));
    assert!(claim(store, 120, 10).is_empty());
}

/// 25,000 profiles and the audience `aud_a` (even ones, and buyers found through an event
/// window); the number of members.
fn large_audience(store: &dyn Store) -> u64 {
    const PROFILES: usize = 25_000;
    let rows: Vec<ImportRow> = (0..PROFILES)
        .map(|i| ImportRow {
            line: i as u64 + 2,
            id: format!("p{i:05}"),
            attributes: attrs(json!({"even": i % 2 == 0})),
            consent: None,
        })
        .collect();
    let mut batches = rows.chunks(5_000).map(|c| Ok(c.to_vec()));
    assert_eq!(
        store.import_profiles(&mut batches, now()).expect("import"),
        Ok(PROFILES as u64)
    );
    let buyers: Vec<Event> = (1..PROFILES)
        .step_by(1_000)
        .map(|i| event(&format!("p{i:05}"), "purchase", now()))
        .collect();
    record(store, &buyers, now());
    let members = PROFILES as u64 / 2 + buyers.len() as u64;
    store
        .insert_audience(&Audience {
            id: "aud_a".into(),
            name: "even or buyers".into(),
            rule: rule(json!({"any": [{"attr": "even", "op": "eq", "value": true},
                                      {"event": "purchase", "op": "count_gte", "value": 1}]})),
            created_at: now(),
            updated_at: now(),
        })
        .expect("audience");

    members
}

/// Claims the occurrence rows due at `at` and plans each once; what each call said.
fn plan_due_occurrences(store: &dyn Store, at: i64) -> Vec<FanOut> {
    store
        .claim_due(both(at), 10, LEASE, &[WorkKind::Occurrence])
        .expect("claim_due")
        .iter()
        .map(|w| {
            store
                .start_occurrence(w, later(at))
                .expect("start_occurrence")
        })
        .collect()
}

/// C2 for a large audience: the fan-out may take several calls (pages), each leaving the
/// occurrence due again; in the end every member has exactly one send, members found through
/// event windows included. An abort between pages ends the planning: the abort counts what
/// was planned, and no page follows.
pub fn fan_out_plans_a_large_audience_page_by_page(store: &dyn Store) {
    let members = large_audience(store);

    insert_campaign(store, "cmp_all", schedule(json!({"type": "immediate"})));
    activate(store, "cmp_all", &ctx("ann"));
    let mut planned = 0;
    for call in 0.. {
        assert!(call < 100, "the fan-out never completes");
        let starts = plan_due_occurrences(store, 0);
        let [
            FanOut::Planned {
                planned: sends,
                complete,
                ..
            },
        ] = starts[..]
        else {
            panic!("one occurrence is due and planned: {starts:?}");
        };
        planned += sends;
        if complete {
            break;
        }
    }
    assert_eq!(planned, members);
    let results = store
        .results(&campaign_subject("cmp_all"))
        .expect("results");
    assert_eq!((results.entered, results.active), (members, members));
    assert!(
        plan_due_occurrences(store, 0).is_empty(),
        "the occurrence row is settled"
    );

    insert_campaign(store, "cmp_halted", schedule(json!({"type": "immediate"})));
    activate(store, "cmp_halted", &ctx("ann"));
    let [
        FanOut::Planned {
            planned: sends,
            complete,
            ..
        },
    ] = plan_due_occurrences(store, 0)[..]
    else {
        panic!("the occurrence starts");
    };
    if !complete {
        let applied = store
            .apply_campaign("cmp_halted", &ctx_at("bob", later(1)), &mut |c| {
                Ok(c.abort(later(1))?)
            })
            .expect("abort");
        assert_eq!(applied.summary.map(|s| s.cancelled), Some(sends));
        let later_pages = plan_due_occurrences(store, 2);
        assert!(
            later_pages.iter().all(|s| *s == FanOut::Skipped),
            "{later_pages:?}"
        );
        let results = store
            .results(&campaign_subject("cmp_halted"))
            .expect("results");
        assert_eq!((results.entered, results.cancelled), (sends, sends));
    }
}

/// C5 during a fan-out: a stop between two pages of the occurrence in progress lets it run to
/// its end — every member is planned — and plans no further occurrence.
pub fn stop_between_pages_lets_the_occurrence_finish(store: &dyn Store) {
    let members = large_audience(store);
    insert_campaign(store, "cmp_daily", daily());
    activate(store, "cmp_daily", &ctx("ann"));
    let nine = 9 * 3_600;
    let [
        FanOut::Planned {
            planned: first,
            complete,
            ..
        },
    ] = plan_due_occurrences(store, nine)[..]
    else {
        panic!("the 09:00 occurrence starts");
    };
    let mut planned = first;
    if !complete {
        store
            .apply_campaign("cmp_daily", &ctx_at("bob", later(nine)), &mut |c| {
                Ok(c.stop(later(nine))?)
            })
            .expect("stop");
        for call in 0.. {
            assert!(call < 100, "the fan-out never completes");
            let starts = plan_due_occurrences(store, nine);
            let [
                FanOut::Planned {
                    planned: more,
                    complete,
                    ..
                },
            ] = starts[..]
            else {
                panic!("the occurrence in progress goes on after the stop: {starts:?}");
            };
            planned += more;
            if complete {
                break;
            }
        }
    }
    assert_eq!(planned, members);
    assert!(
        plan_due_occurrences(store, nine + 2 * DAY).is_empty(),
        "no occurrence after the stop"
    );
}

/// B1 for outcomes decided without a channel: a send claimed before an abort and settled after
/// it (a skip, a render failure) changes nothing — the abort counted it as cancelled — and a
/// journey step settled after its version was stopped moves nobody.
pub fn settlements_after_a_brake_change_nothing(store: &dyn Store) {
    insert_campaign(store, "cmp_api", schedule(json!({"type": "api"})));
    activate(store, "cmp_api", &ctx("ann"));
    store
        .enqueue_trigger(&trigger("cmp_api", "p1", "trg:p1"))
        .expect("trigger");
    let claimed = claim(store, 0, 10);
    let applied = store
        .apply_campaign("cmp_api", &ctx_at("bob", later(1)), &mut |c| {
            Ok(c.abort(later(1))?)
        })
        .expect("abort");
    assert_eq!(applied.summary.map(|s| s.cancelled), Some(1));
    let mut skipped = delivered(&claimed[0]);
    if let Settlement::Done {
        record: Some(r), ..
    } = &mut skipped
    {
        r.outcome = Outcome::Skipped;
    }
    store.settle(&[skipped], both(2)).expect("settle");
    let r = store
        .results(&campaign_subject("cmp_api"))
        .expect("results");
    assert_eq!((r.skipped, r.cancelled, r.active), (0, 1, 0));

    live_journey(store, "jrn_a", json!({"mode": "always"}));
    record(store, &[event("p2", "signed_up", now())], now());
    let steps = claim(store, 0, 10);
    let step = steps
        .iter()
        .find(|w| w.kind == WorkKind::JourneyStep)
        .expect("a step");
    stop(store, "jrn_a", 1, &ctx_at("bob", later(5)));
    let advance = Settlement::Advance(Box::new(crate::Advance {
        claim: step.claim(),
        enrollment_id: step.enrollment_id.expect("enrollment"),
        journey_id: "jrn_a".into(),
        version: 1,
        profile_id: "p2".into(),
        records: Vec::new(),
        idempotency_key: None,
        updates: Vec::new(),
        removals: Vec::new(),
        visited: vec!["done".into()],
        next: crate::Next::Leave {
            node_id: Some("done".into()),
            state: EnrollmentState::Completed,
        },
    }));
    store.settle(&[advance], both(6)).expect("settle");
    let r = store
        .results(&version_subject("jrn_a", 1))
        .expect("results");
    assert_eq!(
        (r.stopped, r.completed),
        (1, 0),
        "the stop halted p2 for good"
    );
}
