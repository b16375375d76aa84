//! J9, remove from flow: one profile is taken out of one journey version. The API
//! (`DELETE …/profiles/{id}`) and the `remove_from_journey` node both come here, so a removal
//! leaves the same rows whoever asked: the enrollment ends `removed`, its pending step is
//! cancelled and counted, a `cancelled` record of that step and a `removed` record go to the
//! action log, and an audit entry names who removed and why.
//!
//! Profile erasure is not a removal in this sense: it keeps nothing that names the erased
//! profile, so it moves the same counters (`steps::removed`) without writing records or audit
//! entries (see `ProfileStore::delete_profile`).

use rusqlite::{OptionalExtension, Transaction, params};
use sluice_core::journey::{JourneyAction, JourneyVersionStatus};
use sluice_store::{ActionRecord, CommandContext, CommandError, Outcome, RemoveOutcome};

use crate::convert::{ms, parsed};
use crate::effects::{AuditFacts, insert_audit};
use crate::tallies::Tallies;
use crate::work::insert_action;
use crate::{backend, journeys, steps};

/// Takes `profile_id` out of version `version` of `journey_id`, if that version allows it (a
/// live or closed one, J9) and the profile is inside. `tallies` holds what the caller's
/// transaction counted so far; it is written here, before a closed version that its last
/// profile just left finishes (its notification sums the tallies).
pub(crate) fn remove_from_flow(
    tx: &Transaction<'_>,
    ctx: &CommandContext,
    (journey_id, version): (&str, u32),
    profile_id: &str,
    tallies: &mut Tallies,
) -> Result<RemoveOutcome, CommandError> {
    let status: Option<String> = tx
        .prepare_cached(
            "SELECT status FROM journey_versions WHERE journey_id = ?1 AND version = ?2",
        )
        .and_then(|mut s| {
            s.query_row(params![journey_id, version], |r| r.get(0))
                .optional()
        })
        .map_err(backend)?;
    let status = status.ok_or(CommandError::NotFound)?;
    let status = parsed(0, &status, JourneyVersionStatus::parse).map_err(backend)?;
    sluice_core::journey::lifecycle::check(status, JourneyAction::RemoveProfile)?;
    let inside: Option<(i64, Option<String>)> = tx
        .prepare_cached(
            "UPDATE enrollments SET state = 'removed', left_at = ?4
             WHERE journey_id = ?1 AND version = ?2 AND profile_id = ?3 AND state = 'active'
             RETURNING id, node_id",
        )
        .and_then(|mut s| {
            s.query_row(params![journey_id, version, profile_id, ms(ctx.now)], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .optional()
        })
        .map_err(backend)?;
    let Some((enrollment, node_id)) = inside else {
        return Ok(RemoveOutcome::NotInside);
    };
    let journey = Some(journey_id.to_owned());
    let record = |action: &str, outcome, node_id: Option<String>, detail: String| ActionRecord {
        at: ctx.now,
        profile_id: profile_id.to_owned(),
        version,
        occurrence: None,
        node_id,
        channel_id: None,
        action: action.to_owned(),
        outcome,
        detail: Some(detail),
    };
    // The cancelled step is recorded, so the Results tab shows what will not happen.
    let cancelled = steps::removed(tx, journey_id, version, enrollment)?;
    if let Some(node) = &cancelled {
        let r = record(
            "journey_step",
            Outcome::Cancelled,
            node.clone(),
            "removed from flow".into(),
        );
        insert_action(tx, (&None, &journey), &r, None, tallies)?;
    }
    let detail = ctx
        .reason
        .clone()
        .unwrap_or_else(|| format!("by {}", ctx.actor));
    let r = record("remove_from_flow", Outcome::Removed, node_id, detail);
    insert_action(tx, (&None, &journey), &r, None, tallies)?;
    insert_audit(
        tx,
        ctx,
        &AuditFacts {
            action: JourneyAction::RemoveProfile.as_str(),
            subject_type: "journey",
            subject_id: journey_id,
            version: Some(version),
            from_status: Some(status.as_str()),
            to_status: Some(status.as_str()),
        },
    )?;
    std::mem::take(tallies).write(tx)?;
    // J3: the last one out of a closed version finishes it.
    journeys::finish_if_empty(tx, ctx, journey_id, version)?;
    Ok(RemoveOutcome::Removed {
        cancelled: u64::from(cancelled.is_some()),
    })
}

/// The `remove_from_journey` node: the profile leaves every version of `journey_id` it is
/// inside that allows a removal, each removal as the API's, with `ctx` naming the journey
/// whose node removed it.
pub(crate) fn remove_from_journey(
    tx: &Transaction<'_>,
    ctx: &CommandContext,
    journey_id: &str,
    profile_id: &str,
    tallies: &mut Tallies,
) -> Result<(), sluice_store::StoreError> {
    let versions: Vec<u32> = tx
        .prepare_cached(
            "SELECT version FROM enrollments WHERE profile_id = ?1 AND journey_id = ?2 AND state = 'active'",
        )
        .and_then(|mut s| {
            s.query_map(params![profile_id, journey_id], |r| r.get(0))?
                .collect()
        })
        .map_err(backend)?;
    for version in versions {
        match remove_from_flow(tx, ctx, (journey_id, version), profile_id, tallies) {
            // A version that does not take removals (stopped, its people halted already) keeps
            // the profile as the stop counted it.
            Ok(_) | Err(CommandError::Lifecycle(_) | CommandError::NotFound) => {}
            Err(CommandError::Store(e)) => return Err(e),
        }
    }
    Ok(())
}
