//! The sweeper: the rows a brake ended (an aborted campaign's pending sends, a stopped
//! version's active enrollments and their steps), cancelled a few hundred per transaction
//! after the brake returned, so neither the brake nor the writers behind it wait long.

use rusqlite::{OptionalExtension, Transaction, params};
use sluice_store::StoreError;

use crate::backend;
use crate::convert::to_json;
use crate::tallies::{Ended, cancel_rows};

/// A planned sweep: its row id, the campaign or journey version, and when the brake was applied.
type Sweep = (i64, Option<String>, Option<String>, Option<u32>, i64);

/// Sweeps up to `limit` rows of the oldest planned sweep; how many it swept.
pub(crate) fn next(tx: &Transaction<'_>, limit: u32) -> Result<u64, StoreError> {
    let sweep: Option<Sweep> = tx
        .query_row(
            "SELECT id, campaign_id, journey_id, version, at FROM sweeps ORDER BY id LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
        )
        .optional()
        .map_err(backend)?;
    let Some((id, campaign_id, journey_id, version, at)) = sweep else {
        return Ok(0);
    };
    // Claimed work is left to its worker: it finds the brake and cancels it. Each batch reads
    // only the rows still to sweep (the partial indexes of open rows and of active
    // enrollments), never those swept before it. `INDEXED BY`: without statistics SQLite
    // would pick `enrollments_by_version` and read every enrollment swept so far again.
    let mut ended = Ended::default();
    let swept = match (campaign_id, journey_id, version) {
        // By occurrence (and the triggers, which have none): each seek lands on the
        // pending rows, never walking past those already swept.
        (Some(campaign_id), _, _) => {
            let sends = cancel_rows(
                tx,
                "UPDATE due_work SET state = 'cancelled' WHERE id IN (
                     SELECT id FROM due_work WHERE campaign_id = ?1
                     AND occurrence IN (SELECT n FROM occurrences WHERE campaign_id = ?1)
                     AND state = 'pending' LIMIT ?2)
                 RETURNING kind, campaign_id, journey_id, version, node_id",
                params![campaign_id, limit],
                &mut ended,
            )?
            .len();
            let triggers = cancel_rows(
                tx,
                "UPDATE due_work SET state = 'cancelled' WHERE id IN (
                     SELECT id FROM due_work WHERE campaign_id = ?1
                     AND occurrence IS NULL AND state = 'pending' LIMIT ?2)
                 RETURNING kind, campaign_id, journey_id, version, node_id",
                params![campaign_id, limit],
                &mut ended,
            )?
            .len();
            sends + triggers
        }
        (None, Some(journey_id), Some(version)) => {
            // The version's own rows (a recurring audience entry waiting for its next run).
            let entries = cancel_rows(
                tx,
                "UPDATE due_work SET state = 'cancelled' WHERE id IN (
                     SELECT id FROM due_work WHERE journey_id = ?1 AND version = ?2
                     AND state IN ('pending', 'claimed') AND state = 'pending' LIMIT ?3)
                 RETURNING kind, campaign_id, journey_id, version, node_id",
                params![journey_id, version, limit],
                &mut ended,
            )?
            .len();
            // An active enrollment waits for one step, cancelled with it (a claimed one is
            // left to its worker, which stops the enrollment when it cancels the step). Read
            // first: a database swept halfway before migration 6 has active enrollments whose
            // step was cancelled and counted already.
            let inside: Vec<(i64, Option<String>, bool)> = tx
                .prepare_cached(
                    "SELECT id, node_id, due_at IS NOT NULL
                     FROM enrollments INDEXED BY enrollments_one_active
                     WHERE journey_id = ?1 AND version = ?2 AND state = 'active'
                     AND claimed = 0 LIMIT ?3",
                )
                .and_then(|mut s| {
                    s.query_map(params![journey_id, version, limit], |r| {
                        Ok((r.get(0)?, r.get(1)?, r.get(2)?))
                    })?
                    .collect()
                })
                .map_err(backend)?;
            let ids = to_json(&inside.iter().map(|(id, ..)| *id).collect::<Vec<_>>())?;
            tx.prepare_cached(
                "UPDATE enrollments SET state = 'stopped', left_at = ?2, due_at = NULL,
                                        step_at = NULL,
                                        steps_cancelled = steps_cancelled + (due_at IS NOT NULL)
                 WHERE id IN (SELECT value FROM json_each(?1))",
            )
            .and_then(|mut s| s.execute(params![ids, at]))
            .map_err(backend)?;
            for (_, node_id, open) in &inside {
                if *open {
                    ended.step_cancelled(&journey_id, version, node_id.as_deref());
                }
            }
            let mut enrolled = crate::tallies::Enrolled::default();
            enrolled.left(&journey_id, version, "stopped", inside.len() as i64);
            enrolled.write(tx)?;
            entries.max(inside.len())
        }
        _ => 0,
    };
    ended.write(tx)?;
    if swept < limit as usize {
        tx.execute("DELETE FROM sweeps WHERE id = ?1", [id])
            .map_err(backend)?;
    }
    Ok(swept as u64)
}
