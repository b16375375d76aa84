//! Claims of journey steps. A step lives in its enrollment's row (migration 6): `due_at` is
//! when it is due in business time; once claimed it is held (`held_until`, real time, migration
//! 8) by its lease, and after a retry or a deferral by its back-off, so a step whose worker
//! died is due again when its lease runs out, and a retry comes when its real time does
//! whatever the test clock says. A held step's `due_at` moves to where it would be due if the
//! business clock flowed, out of the way of the due-order scan.

use std::time::Duration;

use rusqlite::{Connection, Row, Transaction, params};
use sluice_core::clock::Now;
use sluice_store::{Claim, DueWork, StoreError, WorkKind};

use crate::backend;
use crate::convert::{to_json, ts};
use crate::work::held_for;

/// The step an enrollment waits for, from `RETURNING id, journey_id, version, node_id,
/// profile_id, step_at, attempt, claims, resume`.
fn step(r: &Row<'_>) -> rusqlite::Result<DueWork> {
    let id: i64 = r.get(0)?;
    let node_id: String = r.get(3)?;
    let step_at: i64 = r.get(5)?;
    let resume: bool = r.get(8)?;
    Ok(DueWork {
        id,
        kind: WorkKind::JourneyStep,
        campaign_id: None,
        journey_id: Some(r.get(1)?),
        version: r.get(2)?,
        occurrence: None,
        enrollment_id: Some(id),
        idempotency_key: Some(key(id, &node_id, step_at, resume)),
        node_id: Some(node_id),
        profile_id: Some(r.get(4)?),
        due_at: ts(step_at),
        attempt: r.get(6)?,
        fence: r.get(7)?,
        payload: resume.then(|| serde_json::json!({"resume": true})),
    })
}

/// The step's idempotency key: the same for every try of one step, different for every step.
fn key(enrollment: i64, node_id: &str, step_at: i64, resume: bool) -> String {
    format!("step:{enrollment}:{node_id}:{step_at}:{resume}")
}

/// Claims up to `limit` steps: held ones whose real time came (an expired lease, a retry, a
/// deferral) and waiting ones due in business time, in due order, leasing them for `lease`.
pub(crate) fn claim(
    tx: &Transaction<'_>,
    now: Now,
    limit: u32,
    lease: Duration,
) -> Result<Vec<DueWork>, StoreError> {
    if limit == 0 {
        return Ok(Vec::new());
    }
    let (due, held) = held_for(now, lease);
    tx.prepare_cached(
        "UPDATE enrollments SET due_at = ?3, held_until = ?4, claimed = 1, claims = claims + 1,
                                attempt = attempt + 1
         WHERE id IN (SELECT id FROM (
             SELECT id FROM (SELECT id FROM enrollments
                             WHERE held_until IS NOT NULL AND due_at IS NOT NULL
                             AND held_until <= ?5 ORDER BY held_until LIMIT ?2)
             UNION ALL
             SELECT id FROM (SELECT id FROM enrollments
                             WHERE due_at IS NOT NULL AND due_at <= ?1 AND held_until IS NULL
                             ORDER BY due_at, id LIMIT ?2))
         LIMIT ?2)
         RETURNING id, journey_id, version, node_id, profile_id, step_at, attempt, claims, resume",
    )
    .and_then(|mut s| {
        s.query_map(
            params![
                crate::convert::ms(now.business),
                limit,
                due,
                held,
                crate::convert::ms(now.real)
            ],
            step,
        )?
        .collect()
    })
    .map_err(backend)
}

/// Extends the leases of steps still held under `claims` (never shortens one); how many.
pub(crate) fn renew(
    tx: &Transaction<'_>,
    claims: &[&Claim],
    now: Now,
    lease: Duration,
) -> Result<u64, StoreError> {
    if claims.is_empty() {
        return Ok(0);
    }
    let claims = to_json(&claims.iter().map(|c| (c.id, c.fence)).collect::<Vec<_>>())?;
    let (due, held) = held_for(now, lease);
    tx.prepare_cached(
        "UPDATE enrollments SET due_at = MAX(due_at, ?2), held_until = MAX(held_until, ?3)
         FROM (SELECT value ->> 0 AS id, value ->> 1 AS fence FROM json_each(?1)) AS c
         WHERE enrollments.id = c.id AND enrollments.claims = c.fence
         AND enrollments.claimed = 1",
    )
    .and_then(|mut s| s.execute(params![claims, due, held]))
    .map(|n| n as u64)
    .map_err(backend)
}

/// Every claimed step waits again, due when it first was (its attempt kept).
pub(crate) fn release(tx: &Transaction<'_>) -> Result<u64, StoreError> {
    // Only open steps are read (the partial index), not every enrollment there ever was.
    tx.execute(
        "UPDATE enrollments SET claimed = 0, due_at = step_at, held_until = NULL WHERE id IN (
             SELECT id FROM enrollments INDEXED BY enrollments_due
             WHERE due_at IS NOT NULL AND claimed = 1)",
        [],
    )
    .map(|n| n as u64)
    .map_err(backend)
}

/// When the earliest waiting step is due, in business time (held ones aside).
pub(crate) fn next_due(c: &Connection) -> rusqlite::Result<Option<i64>> {
    c.query_row(
        "SELECT MIN(due_at) FROM enrollments WHERE due_at IS NOT NULL AND held_until IS NULL",
        [],
        |r| r.get(0),
    )
}
