//! Settling a journey step: the action records, the profile updates and removals the walk
//! made, and where the enrollment goes next — one fenced write, so a step lost to a crash runs
//! again whole and a step settled once is never settled twice.

use jiff::Timestamp;
use rusqlite::{OptionalExtension, Transaction, params};
use sluice_core::profile::Attributes;
use sluice_store::{Advance, CommandContext, Next, StoreError};

use crate::convert::{json, ms, to_json};
use crate::tallies::{Enrolled, Tallies, Visits};
use crate::work::insert_action;
use crate::{backend, journeys};

pub(crate) fn advance(
    tx: &Transaction<'_>,
    a: &Advance,
    settled: &mut Settled,
    now: Timestamp,
) -> Result<bool, StoreError> {
    // A step done leaves no row behind: its record is in the action log and its counts in the
    // tallies, and `due_work` stays as small as the work still to do. (Deleting also passes by
    // the triggers that watch rows change state.)
    let took = tx
        .prepare_cached("DELETE FROM due_work WHERE id = ?1 AND attempt = ?2 AND state = 'claimed'")
        .and_then(|mut s| s.execute(params![a.work_id, a.attempt]))
        .map_err(backend)?;
    if took == 0 {
        return Ok(false);
    }
    let journey = Some(a.journey_id.clone());
    for node in &a.visited {
        settled.visits.add(&a.journey_id, a.version, node);
    }
    for (i, record) in a.records.iter().enumerate() {
        let key = if i == 0 {
            a.idempotency_key.as_deref()
        } else {
            None
        };
        insert_action(tx, (&None, &journey), record, key, &mut settled.tallies)?;
    }
    if !a.updates.is_empty() {
        update_profile(tx, &a.profile_id, &a.updates, now)?;
    }
    if !a.removals.is_empty() {
        let ctx = CommandContext {
            actor: format!("journey {} v{}", a.journey_id, a.version),
            reason: None,
            now,
        };
        for other in &a.removals {
            remove(tx, &ctx, other, &a.profile_id, &mut settled.tallies)?;
        }
    }
    // A removal may have taken this very enrollment out (a node removing from its own
    // journey, an erasure while the step ran): then it goes nowhere. Each update below only
    // takes while the enrollment is active, and says whether it did.
    match &a.next {
        Next::At {
            node_id,
            due_at,
            resume,
        } => {
            let active = tx
                .prepare_cached(
                    "UPDATE enrollments SET node_id = ?2 WHERE id = ?1 AND state = 'active'",
                )
                .and_then(|mut s| s.execute(params![a.enrollment_id, node_id]))
                .map_err(backend)?;
            if active == 0 {
                return Ok(true);
            }
            let payload = resume
                .then(|| to_json(&serde_json::json!({"resume": true})))
                .transpose()?;
            tx.prepare_cached(
                "INSERT OR IGNORE INTO due_work (kind, journey_id, version, enrollment_id, node_id,
                                                 profile_id, due_at, idempotency_key, payload)
                 VALUES ('journey_step', ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            )
            .and_then(|mut s| {
                s.execute(params![
                    a.journey_id,
                    a.version,
                    a.enrollment_id,
                    node_id,
                    a.profile_id,
                    ms(*due_at),
                    format!(
                        "step:{}:{node_id}:{}:{resume}",
                        a.enrollment_id,
                        ms(*due_at)
                    ),
                    payload,
                ])
            })
            .map_err(backend)?;
        }
        Next::Leave { node_id, state } => {
            let left = tx
                .prepare_cached(
                    "UPDATE enrollments SET state = ?2, left_at = ?3, node_id = IFNULL(?4, node_id)
                     WHERE id = ?1 AND state = 'active'",
                )
                .and_then(|mut s| {
                    s.execute(params![a.enrollment_id, state.as_str(), ms(now), node_id])
                })
                .map_err(backend)?;
            if left == 0 {
                return Ok(true);
            }
            settled
                .enrolled
                .left(&a.journey_id, a.version, state.as_str(), 1);
            let version = (a.journey_id.clone(), a.version);
            if !settled.left.contains(&version) {
                settled.left.push(version);
            }
        }
    }
    Ok(true)
}

fn update_profile(
    tx: &Transaction<'_>,
    profile_id: &str,
    updates: &[serde_json::Map<String, serde_json::Value>],
    now: Timestamp,
) -> Result<(), StoreError> {
    let stored: Option<String> = tx
        .query_row(
            "SELECT attributes FROM profiles WHERE id = ?1",
            [profile_id],
            |r| r.get(0),
        )
        .optional()
        .map_err(backend)?;
    // An erased profile stays erased.
    let Some(stored) = stored else { return Ok(()) };
    let mut attributes: Attributes = json(0, &stored).map_err(backend)?;
    for set in updates {
        attributes.extend(set.iter().map(|(k, v)| (k.clone(), v.clone())));
    }
    tx.execute(
        "UPDATE profiles SET attributes = ?2, updated_at = ?3 WHERE id = ?1",
        params![profile_id, to_json(&attributes)?, ms(now)],
    )
    .map_err(backend)?;
    Ok(())
}

/// J9 from a node: the profile leaves every version of `journey_id` it is inside.
fn remove(
    tx: &Transaction<'_>,
    ctx: &CommandContext,
    journey_id: &str,
    profile_id: &str,
    tallies: &mut Tallies,
) -> Result<(), StoreError> {
    let inside: Vec<(i64, u32, Option<String>)> = tx
        .prepare_cached(
            "UPDATE enrollments SET state = 'removed', left_at = ?3
             WHERE journey_id = ?1 AND profile_id = ?2 AND state = 'active'
             RETURNING id, version, node_id",
        )
        .and_then(|mut s| {
            s.query_map(params![journey_id, profile_id, ms(ctx.now)], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })?
            .collect()
        })
        .map_err(backend)?;
    for (enrollment, version, node_id) in inside {
        removed(tx, journey_id, version, enrollment)?;
        tx.execute(
            "INSERT INTO actions (at, journey_id, version, node_id, profile_id, action, outcome, detail)
             VALUES (?1, ?2, ?3, ?4, ?5, 'remove_from_flow', 'removed', ?6)",
            params![ms(ctx.now), journey_id, version, node_id, profile_id, format!("by {}", ctx.actor)],
        )
        .map_err(backend)?;
        tallies.add(
            (None, Some(journey_id)),
            version,
            "removed",
            node_id.as_deref(),
            None,
        );
        // A `finished` notification sums the tallies: those of this batch so far go first.
        std::mem::take(tallies).write(tx)?;
        journeys::finish_if_empty(tx, ctx, journey_id, version)?;
    }
    Ok(())
}

/// J9: an enrollment of the version, just marked `removed`, is counted as having left, and its
/// open steps are cancelled and counted.
pub(crate) fn removed(
    tx: &Transaction<'_>,
    journey_id: &str,
    version: u32,
    enrollment: i64,
) -> Result<(), StoreError> {
    let mut enrolled = Enrolled::default();
    enrolled.left(journey_id, version, "removed", 1);
    enrolled.write(tx)?;
    let mut ended = crate::tallies::Ended::default();
    crate::tallies::cancel_rows(
        tx,
        "UPDATE due_work SET state = 'cancelled' WHERE enrollment_id = ?1
         AND state IN ('pending', 'claimed')
         RETURNING kind, campaign_id, journey_id, version, node_id",
        [enrollment],
        &mut ended,
    )?;
    ended.write(tx)
}

/// What the steps of one settlement batch add up to, written once at its end: action
/// outcomes, node arrivals, enrollments leaving, and the versions they left.
#[derive(Default)]
pub(crate) struct Settled {
    pub(crate) tallies: Tallies,
    visits: Visits,
    enrolled: Enrolled,
    left: Vec<(String, u32)>,
}

impl Settled {
    pub(crate) fn write(self, tx: &Transaction<'_>, now: Timestamp) -> Result<(), StoreError> {
        self.tallies.write(tx)?;
        self.visits.write(tx)?;
        self.enrolled.write(tx)?;
        for (journey_id, version) in self.left {
            let ctx = CommandContext {
                actor: format!("journey {journey_id} v{version}"),
                reason: None,
                now,
            };
            // J3: the last one out of a closed version finishes it.
            journeys::finish_if_empty(tx, &ctx, &journey_id, version)?;
        }
        Ok(())
    }
}
