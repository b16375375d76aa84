//! Settling a journey step: the action records, the profile updates and removals the walk
//! made, and where the enrollment goes next — one fenced write, so a step lost to a crash runs
//! again whole and a step settled once is never settled twice. A step lives in its
//! enrollment's row (`claims` has how it is claimed), so settling it is one update of that row.

use jiff::Timestamp;
use rusqlite::{OptionalExtension, Transaction, params};
use sluice_core::clock::Now;
use sluice_core::profile::Attributes;
use sluice_store::{Advance, CommandContext, Next, Settlement, StoreError};

use crate::convert::{json, ms, to_json};
use crate::tallies::{Ended, Enrolled, Tallies, Visits};
use crate::work::insert_action;
use crate::{backend, journeys};

pub(crate) mod claims;

/// Settles a step: `false` when its lease was lost (nothing changed).
pub(crate) fn advance(
    tx: &Transaction<'_>,
    a: &Advance,
    settled: &mut Settled,
    now: Timestamp,
) -> Result<bool, StoreError> {
    // Usually the step moves the enrollment on in the statement that checks its claim. A step
    // that removes profiles from journeys may take this very enrollment out: it closes the
    // step first, and the enrollment only moves on if it is still active after the removals.
    let fenced = a.removals.is_empty();
    if fenced {
        if !move_on(tx, a, settled, now, Some(a.claim.fence))? {
            return Ok(false);
        }
    } else {
        let closed = tx
            .prepare_cached(
                "UPDATE enrollments SET due_at = NULL, step_at = NULL, claimed = 0
                 WHERE id = ?1 AND claims = ?2 AND claimed = 1",
            )
            .and_then(|mut s| s.execute(params![a.enrollment_id, a.claim.fence]))
            .map_err(backend)?;
        if closed == 0 {
            return Ok(false);
        }
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
    if !fenced {
        let ctx = CommandContext {
            actor: journey_actor(&a.journey_id, a.version),
            reason: None,
            now,
        };
        for other in &a.removals {
            crate::removal::remove_from_journey(
                tx,
                &ctx,
                other,
                &a.profile_id,
                &mut settled.tallies,
            )?;
        }
        move_on(tx, a, settled, now, None)?;
    }
    Ok(true)
}

/// Where the enrollment goes after the step: its next step, or out. With `fence`, only while
/// the step is still claimed under it; without, only while the enrollment is active (a
/// removal may have taken it out). Whether it moved.
fn move_on(
    tx: &Transaction<'_>,
    a: &Advance,
    settled: &mut Settled,
    now: Timestamp,
    fence: Option<u32>,
) -> Result<bool, StoreError> {
    let moved = match &a.next {
        Next::At {
            node_id,
            due_at,
            resume,
        } => tx
            .prepare_cached(
                "UPDATE enrollments SET node_id = ?3, step_at = ?4, due_at = ?4, resume = ?5,
                                        claimed = 0, attempt = 0, held_until = NULL
                 WHERE id = ?1 AND state = 'active'
                 AND (?2 IS NULL OR (claims = ?2 AND claimed = 1))",
            )
            .and_then(|mut s| {
                s.execute(params![
                    a.enrollment_id,
                    fence,
                    node_id,
                    ms(*due_at),
                    resume
                ])
            })
            .map_err(backend)?,
        Next::Leave { node_id, state } => tx
            .prepare_cached(
                "UPDATE enrollments SET state = ?3, left_at = ?4, node_id = IFNULL(?5, node_id),
                                        due_at = NULL, step_at = NULL, claimed = 0
                 WHERE id = ?1 AND state = 'active'
                 AND (?2 IS NULL OR (claims = ?2 AND claimed = 1))",
            )
            .and_then(|mut s| {
                s.execute(params![
                    a.enrollment_id,
                    fence,
                    state.as_str(),
                    ms(now),
                    node_id
                ])
            })
            .map_err(backend)?,
    };
    if moved == 1
        && let Next::Leave { state, .. } = &a.next
    {
        settled.leave(&a.journey_id, a.version, state.as_str());
    }
    Ok(moved == 1)
}

/// Settles a step claim that does not advance: `Done` (nothing to run), `Retry`, `Defer`,
/// `Cancelled`. Whether the lease still held.
pub(crate) fn settle(
    tx: &Transaction<'_>,
    settlement: &Settlement,
    (settled, ended): (&mut Settled, &mut Ended),
    at: Now,
) -> Result<bool, StoreError> {
    let now = at.business;
    let claim = settlement.claim();
    let (record, key, journey_id) = match settlement {
        Settlement::Advance(_) => unreachable!("an advance is settled by `advance`"),
        Settlement::Retry { after, .. } | Settlement::Defer { after, .. } => {
            // A deferral (a rate limit) does not count as a try.
            let undo = i32::from(matches!(settlement, Settlement::Defer { .. }));
            let (due, held_until) = crate::work::held_for(at, *after);
            let held = tx
                .prepare_cached(
                    "UPDATE enrollments SET due_at = ?3, held_until = ?4, claimed = 0,
                                            attempt = attempt - ?5
                     WHERE id = ?1 AND claims = ?2 AND claimed = 1",
                )
                .and_then(|mut s| s.execute(params![claim.id, claim.fence, due, held_until, undo]))
                .map_err(backend)?;
            return Ok(held == 1);
        }
        Settlement::Cancelled { record, .. } => {
            let Some((journey_id, ..)) = cancel(tx, claim.id, Some(claim.fence), ended)? else {
                return Ok(false);
            };
            (record, None, journey_id)
        }
        Settlement::Done {
            record,
            idempotency_key,
            ..
        } => {
            let held: Option<(String, u32, String, bool)> = tx
                .prepare_cached(
                    "SELECT e.journey_id, e.version, e.state, v.status = 'stopped'
                     FROM enrollments e
                     LEFT JOIN journey_versions v
                     ON v.journey_id = e.journey_id AND v.version = e.version
                     WHERE e.id = ?1 AND e.claims = ?2 AND e.claimed = 1",
                )
                .and_then(|mut s| {
                    s.query_row(params![claim.id, claim.fence], |r| {
                        Ok((
                            r.get(0)?,
                            r.get(1)?,
                            r.get(2)?,
                            r.get::<_, Option<bool>>(3)?.unwrap_or(false),
                        ))
                    })
                    .optional()
                })
                .map_err(backend)?;
            let Some((journey_id, version, state, stopped)) = held else {
                return Ok(false);
            };
            // An enrollment still inside a stopped version was halted by the stop (the engine
            // may have read it as stopped before the sweeper got there): its step is cancelled
            // and it leaves as stopped, as the stop counted it.
            if state == "active" && stopped {
                cancel(tx, claim.id, Some(claim.fence), ended)?;
                return Ok(true);
            }
            tx.prepare_cached(
                "UPDATE enrollments SET due_at = NULL, step_at = NULL, claimed = 0 WHERE id = ?1",
            )
            .and_then(|mut s| s.execute([claim.id]))
            .map_err(backend)?;
            // Nothing to run for an enrollment still inside a live or closed version (its
            // profile is gone): it leaves as failed rather than stay inside with no step to
            // come.
            if state == "active" {
                tx.prepare_cached(
                    "UPDATE enrollments SET state = 'failed', left_at = ?2 WHERE id = ?1",
                )
                .and_then(|mut s| s.execute(params![claim.id, ms(now)]))
                .map_err(backend)?;
                settled.leave(&journey_id, version, "failed");
            }
            (record, idempotency_key.as_deref(), journey_id)
        }
    };
    if let Some(record) = record {
        insert_action(
            tx,
            (&None, &Some(journey_id)),
            record,
            key,
            &mut settled.tallies,
        )?;
    }
    Ok(true)
}

/// Cancels the open step of an enrollment (with `fence`: only while claimed under it), counted
/// at its node; the version and node it was at, if there was one. A stopped version's
/// enrollment that the sweep left to its worker (its step was claimed) leaves with it.
pub(crate) fn cancel(
    tx: &Transaction<'_>,
    enrollment: i64,
    fence: Option<u32>,
    ended: &mut Ended,
) -> Result<Option<(String, u32, Option<String>)>, StoreError> {
    let row: Option<(String, u32, Option<String>, String)> = tx
        .prepare_cached(
            "UPDATE enrollments SET due_at = NULL, step_at = NULL, claimed = 0,
                                    steps_cancelled = steps_cancelled + 1
             WHERE id = ?1 AND due_at IS NOT NULL
             AND (?2 IS NULL OR (claims = ?2 AND claimed = 1))
             RETURNING journey_id, version, node_id, state",
        )
        .and_then(|mut s| {
            s.query_row(params![enrollment, fence], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
            })
            .optional()
        })
        .map_err(backend)?;
    let Some((journey_id, version, node_id, state)) = row else {
        return Ok(None);
    };
    ended.step_cancelled(&journey_id, version, node_id.as_deref());
    if state == "active" {
        let stopped = tx
            .prepare_cached(
                "UPDATE enrollments SET state = 'stopped', left_at = v.stopped_at
                 FROM journey_versions v
                 WHERE enrollments.id = ?1 AND v.journey_id = enrollments.journey_id
                 AND v.version = enrollments.version AND v.status = 'stopped'",
            )
            .and_then(|mut s| s.execute([enrollment]))
            .map_err(backend)?;
        if stopped == 1 {
            let mut enrolled = Enrolled::default();
            enrolled.left(&journey_id, version, "stopped", 1);
            enrolled.write(tx)?;
        }
    }
    Ok(Some((journey_id, version, node_id)))
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

/// Who the audit entries of a step's own doing name (a removal by its `remove_from_journey`
/// node, a closed version its last profile left): the journey version that walked.
fn journey_actor(journey_id: &str, version: u32) -> String {
    format!("journey:{journey_id} v{version}")
}

/// J9: an enrollment of the version, just marked `removed`, is counted as having left, and its
/// open step (if any) is cancelled and counted; the node that step was at, if there was one.
pub(crate) fn removed(
    tx: &Transaction<'_>,
    journey_id: &str,
    version: u32,
    enrollment: i64,
) -> Result<Option<Option<String>>, StoreError> {
    let mut enrolled = Enrolled::default();
    enrolled.left(journey_id, version, "removed", 1);
    enrolled.write(tx)?;
    let mut ended = Ended::default();
    let cancelled = cancel(tx, enrollment, None, &mut ended)?;
    ended.write(tx)?;
    Ok(cancelled.map(|(_, _, node)| node))
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
    /// An enrollment of the version left in `state`.
    fn leave(&mut self, journey_id: &str, version: u32, state: &str) {
        self.enrolled.left(journey_id, version, state, 1);
        if !self
            .left
            .iter()
            .any(|(j, v)| j == journey_id && *v == version)
        {
            self.left.push((journey_id.to_owned(), version));
        }
    }

    pub(crate) fn write(self, tx: &Transaction<'_>, now: Timestamp) -> Result<(), StoreError> {
        self.tallies.write(tx)?;
        self.visits.write(tx)?;
        self.enrolled.write(tx)?;
        for (journey_id, version) in self.left {
            let ctx = CommandContext {
                actor: journey_actor(&journey_id, version),
                reason: None,
                now,
            };
            // J3: the last one out of a closed version finishes it.
            journeys::finish_if_empty(tx, &ctx, &journey_id, version)?;
        }
        Ok(())
    }
}
