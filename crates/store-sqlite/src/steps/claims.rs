//! Claims of journey steps. A step lives in its enrollment's row (migration 6): `due_at` is
//! when it may be claimed, and a claim pushes it to the lease's end, so a step whose worker
//! died is due again when its lease runs out — one index entry moves per claim.

use jiff::Timestamp;
use rusqlite::{Connection, Row, Transaction, params};
use sluice_store::{Claim, DueWork, StoreError, WorkKind};

use crate::backend;
use crate::convert::{ms, to_json, ts};

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

/// Claims up to `limit` steps due at `now` (waiting ones, and claimed ones whose lease ran
/// out), in due order, leasing them until `lease_until`.
pub(crate) fn claim(
    tx: &Transaction<'_>,
    now: Timestamp,
    limit: u32,
    lease_until: Timestamp,
) -> Result<Vec<DueWork>, StoreError> {
    if limit == 0 {
        return Ok(Vec::new());
    }
    tx.prepare_cached(
        "UPDATE enrollments SET due_at = ?3, claimed = 1, claims = claims + 1,
                                attempt = attempt + 1
         WHERE id IN (SELECT id FROM enrollments WHERE due_at IS NOT NULL AND due_at <= ?1
                      ORDER BY due_at, id LIMIT ?2)
         RETURNING id, journey_id, version, node_id, profile_id, step_at, attempt, claims, resume",
    )
    .and_then(|mut s| {
        s.query_map(params![ms(now), limit, ms(lease_until)], step)?
            .collect()
    })
    .map_err(backend)
}

/// Extends the leases of steps still held under `claims` (never shortens one: a batch's own
/// renewal may run just after a jump of the test clock carried it further); how many.
pub(crate) fn renew(
    tx: &Transaction<'_>,
    claims: &[&Claim],
    lease_until: Timestamp,
) -> Result<u64, StoreError> {
    if claims.is_empty() {
        return Ok(0);
    }
    let claims = to_json(&claims.iter().map(|c| (c.id, c.fence)).collect::<Vec<_>>())?;
    tx.prepare_cached(
        "UPDATE enrollments SET due_at = MAX(due_at, ?2)
         FROM (SELECT value ->> 0 AS id, value ->> 1 AS fence FROM json_each(?1)) AS c
         WHERE enrollments.id = c.id AND enrollments.claims = c.fence
         AND enrollments.claimed = 1",
    )
    .and_then(|mut s| s.execute(params![claims, ms(lease_until)]))
    .map(|n| n as u64)
    .map_err(backend)
}

/// Every claimed step waits again, due when it first was (its attempt kept).
pub(crate) fn release(tx: &Transaction<'_>) -> Result<u64, StoreError> {
    // Only open steps are read (the partial index), not every enrollment there ever was.
    tx.execute(
        "UPDATE enrollments SET claimed = 0, due_at = step_at WHERE id IN (
             SELECT id FROM enrollments INDEXED BY enrollments_due
             WHERE due_at IS NOT NULL AND claimed = 1)",
        [],
    )
    .map(|n| n as u64)
    .map_err(backend)
}

/// When the earliest step is due (a claimed one: when its lease runs out).
pub(crate) fn next_due(c: &Connection) -> rusqlite::Result<Option<i64>> {
    c.query_row(
        "SELECT MIN(due_at) FROM enrollments WHERE due_at IS NOT NULL",
        [],
        |r| r.get(0),
    )
}
