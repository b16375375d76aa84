//! The due-work queue: claims with leases, settlements fenced by their claim, occurrence
//! fan-out. Journey steps live in their enrollments (`steps`); this routes their claims there.

use std::time::Duration;

use jiff::Timestamp;
use rusqlite::{OptionalExtension, Row, Transaction, params};
use sluice_core::clock::Now;
use sluice_core::schedule::Schedule;
use sluice_store::{
    ActionRecord, Claim, DueWork, EnrollmentInfo, EnrollmentState, FanOut, Outcome, Settlement,
    StoreError, WorkKind, WorkStore,
};

use crate::convert::{json, ms, parsed, to_json, ts};
use crate::failures::{Failure, notify_failures};
use crate::tallies::{Ended, EndedRow, Tallies, ended_row};
use crate::{SqliteStore, backend};

const WORK_COLUMNS: &str = "id, kind, campaign_id, journey_id, version, occurrence, enrollment_id, \
                            node_id, profile_id, due_at, attempt, idempotency_key, payload";

fn due_work(r: &Row<'_>) -> rusqlite::Result<DueWork> {
    Ok(DueWork {
        id: r.get(0)?,
        kind: parsed(1, &r.get::<_, String>(1)?, WorkKind::parse)?,
        campaign_id: r.get(2)?,
        journey_id: r.get(3)?,
        version: r.get(4)?,
        occurrence: r.get(5)?,
        enrollment_id: r.get(6)?,
        node_id: r.get(7)?,
        profile_id: r.get(8)?,
        due_at: ts(r.get(9)?),
        attempt: r.get(10)?,
        // A row is never claimed again once settled for good: its attempt fences it.
        fence: r.get(10)?,
        idempotency_key: r.get(11)?,
        payload: r
            .get::<_, Option<String>>(12)?
            .map(|p| json(12, &p))
            .transpose()?,
    })
}

pub(crate) fn insert_action(
    tx: &Transaction<'_>,
    work: (&Option<String>, &Option<String>),
    record: &ActionRecord,
    key: Option<&str>,
    tallies: &mut Tallies,
) -> Result<(), StoreError> {
    let inserted = tx.prepare_cached(
        "INSERT OR IGNORE INTO actions (at, campaign_id, journey_id, version, occurrence, node_id,
                                        channel_id, profile_id, action, outcome, detail,
                                        idempotency_key)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
    )
    .and_then(|mut s| {
        s.execute(params![
            ms(record.at),
            work.0,
            work.1,
            record.version,
            record.occurrence,
            record.node_id,
            record.channel_id,
            record.profile_id,
            record.action,
            record.outcome.as_str(),
            record.detail,
            key
        ])
    })
    .map_err(backend)?;
    // A record already made (the same key) is not counted twice.
    if inserted == 1 {
        tallies.add(
            (work.0.as_deref(), work.1.as_deref()),
            record.version,
            record.outcome.as_str(),
            record.node_id.as_deref(),
            record.channel_id.as_deref(),
        );
    }
    Ok(())
}

/// A row held for `after` of real time from `now`: until when (`held_until`, real time), and
/// the business time it would be due at if the business clock flowed (its `due_at`, which
/// keeps it behind the rows due before it in due order).
pub(crate) fn held_for(now: Now, after: Duration) -> (i64, i64) {
    (ms(now.business + after), ms(now.real + after))
}

/// The row (for the tallies) and its occurrence, when the fenced update took (`None`: the
/// lease was lost).
type Fenced = Option<(EndedRow, Option<u32>)>;

fn fenced_update(
    tx: &Transaction<'_>,
    sql: &str,
    p: impl rusqlite::Params,
) -> Result<Fenced, StoreError> {
    tx.prepare_cached(sql)
        .and_then(|mut s| {
            s.query_row(p, |r| Ok((ended_row(r)?, r.get(5)?)))
                .optional()
        })
        .map_err(backend)
}

/// C10: when an occurrence has no send left to do it is done, and with it a one-time campaign,
/// or a recurring one that has no further occurrence planned.
pub(crate) fn finish_occurrence_if_done(
    tx: &Transaction<'_>,
    campaign_id: &str,
    n: u32,
    now: Timestamp,
) -> Result<(), StoreError> {
    let open: bool = tx
        .prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM due_work WHERE campaign_id = ?1 AND occurrence = ?2
                            AND kind IN ('send', 'occurrence') AND state IN ('pending', 'claimed'))",
        )
        .and_then(|mut s| s.query_row(params![campaign_id, n], |r| r.get(0)))
        .map_err(backend)?;
    if open {
        return Ok(());
    }
    let finished = tx
        .execute(
            "UPDATE occurrences SET state = 'done', finished_at = ?3
             WHERE campaign_id = ?1 AND n = ?2 AND state = 'running'",
            params![campaign_id, n, ms(now)],
        )
        .map_err(backend)?;
    if finished == 0 {
        return Ok(());
    }
    let Some(mut campaign) = crate::campaigns::load(tx, campaign_id).map_err(backend)? else {
        return Ok(());
    };
    // A recurring campaign is done when nothing further is planned (its end date passed).
    let more_planned: bool = tx
        .prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM occurrences WHERE campaign_id = ?1
                            AND state IN ('pending', 'running'))",
        )
        .and_then(|mut s| s.query_row([campaign_id], |r| r.get(0)))
        .map_err(backend)?;
    // Inbound campaigns are served while live: their occurrence only makes them live.
    let ends_now = campaign
        .live_version()
        .filter(|v| !v.is_inbound())
        .is_some_and(|v| match v.content.schedule {
            Schedule::Immediate | Schedule::Once { .. } => true,
            Schedule::Recurring { .. } => !more_planned,
            Schedule::Api => false,
        });
    if ends_now && campaign.complete(now) {
        crate::campaigns::save(tx, &campaign, false)?;
    }
    Ok(())
}

/// Which campaigns are aborted and journey versions stopped, read once per settlement batch.
#[derive(Default)]
struct Braked {
    campaigns: Vec<(String, bool)>,
    versions: Vec<((String, u32), bool)>,
}

impl Braked {
    fn aborted(&mut self, tx: &Transaction<'_>, campaign_id: &str) -> Result<bool, StoreError> {
        if let Some((_, b)) = self.campaigns.iter().find(|(id, _)| id == campaign_id) {
            return Ok(*b);
        }
        let b: bool = tx
            .prepare_cached("SELECT status = 'aborted' FROM campaigns WHERE id = ?1")
            .and_then(|mut s| s.query_row([campaign_id], |r| r.get(0)).optional())
            .map_err(backend)?
            .unwrap_or(false);
        self.campaigns.push((campaign_id.to_owned(), b));
        Ok(b)
    }

    fn stopped(
        &mut self,
        tx: &Transaction<'_>,
        journey_id: &str,
        version: u32,
    ) -> Result<bool, StoreError> {
        if let Some((_, b)) = self
            .versions
            .iter()
            .find(|((id, v), _)| id == journey_id && *v == version)
        {
            return Ok(*b);
        }
        let b: bool = tx
            .prepare_cached(
                "SELECT status = 'stopped' FROM journey_versions WHERE journey_id = ?1 AND version = ?2",
            )
            .and_then(|mut s| s.query_row(params![journey_id, version], |r| r.get(0)).optional())
            .map_err(backend)?
            .unwrap_or(false);
        self.versions.push(((journey_id.to_owned(), version), b));
        Ok(b)
    }
}

/// Claims up to `limit` due rows of `kinds`: claimed ones whose lease ran out (their worker
/// died) first, then held ones whose real time came (retries, deferrals), then waiting ones in
/// due order. One statement, so two engines never claim the same row.
fn claim_rows(
    tx: &Transaction<'_>,
    now: Now,
    limit: u32,
    lease: Duration,
    kinds: &[&WorkKind],
) -> Result<Vec<DueWork>, StoreError> {
    if limit == 0 {
        return Ok(Vec::new());
    }
    // The kinds are written into the statement (they are this crate's own names, never
    // input), so that a claim of fan-outs matches the partial index made for it.
    let kinds = kinds
        .iter()
        .map(|k| format!("'{}'", k.as_str()))
        .collect::<Vec<_>>()
        .join(", ");
    tx.prepare_cached(&format!(
        "UPDATE due_work SET state = 'claimed', attempt = attempt + 1, lease_until = ?3
         WHERE id IN (SELECT id FROM (
             SELECT id FROM (SELECT id FROM due_work WHERE state = 'claimed'
                             AND lease_until < ?4 AND kind IN ({kinds}) LIMIT ?2)
             UNION ALL
             SELECT id FROM (SELECT id FROM due_work WHERE state = 'pending'
                             AND held_until IS NOT NULL AND held_until <= ?4
                             AND kind IN ({kinds}) ORDER BY held_until LIMIT ?2)
             UNION ALL
             SELECT id FROM (SELECT id FROM due_work WHERE state = 'pending'
                             AND kind IN ({kinds}) AND due_at <= ?1 AND held_until IS NULL
                             ORDER BY due_at, id LIMIT ?2))
         LIMIT ?2)
         RETURNING {WORK_COLUMNS}"
    ))
    .and_then(|mut s| {
        s.query_map(
            params![ms(now.business), limit, ms(now.real + lease), ms(now.real)],
            due_work,
        )?
        .collect()
    })
    .map_err(backend)
}

impl WorkStore for SqliteStore {
    fn claim_due(
        &self,
        now: Now,
        limit: u32,
        lease: Duration,
        kinds: &[WorkKind],
    ) -> Result<Vec<DueWork>, StoreError> {
        // Journey steps live in their enrollments (`steps::claims`); the rest are rows.
        let steps = kinds.contains(&WorkKind::JourneyStep);
        let rows: Vec<&WorkKind> = kinds
            .iter()
            .filter(|k| **k != WorkKind::JourneyStep)
            .collect();
        self.write(|tx| {
            if rows.is_empty() {
                if !steps {
                    return Ok(Vec::new());
                }
                return crate::steps::claims::claim(tx, now, limit, lease);
            }
            // Both queues busy: each gets half the batch at least, and what the other leaves.
            let share = if steps { limit.div_ceil(2) } else { limit };
            let mut claimed = claim_rows(tx, now, share, lease, &rows)?;
            if steps {
                let rows_left = claimed.len() as u32 >= share;
                let left = limit.saturating_sub(claimed.len() as u32);
                let taken = crate::steps::claims::claim(tx, now, left, lease)?;
                let left = left.saturating_sub(taken.len() as u32);
                claimed.extend(taken);
                if rows_left && left > 0 {
                    claimed.extend(claim_rows(tx, now, left, lease, &rows)?);
                }
            }
            Ok(claimed)
        })
    }

    fn enrollments_by_id(&self, ids: &[i64]) -> Result<Vec<(i64, EnrollmentInfo)>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let ids = to_json(&ids)?;
        self.read(|c| {
            // A stopped version's enrollments are stopped, swept or not.
            c.prepare_cached(
                "SELECT e.id, IIF(e.state = 'active' AND v.status = 'stopped', 'stopped', e.state),
                        e.deadline, e.event
                 FROM enrollments e
                 LEFT JOIN journey_versions v ON v.journey_id = e.journey_id AND v.version = e.version
                 WHERE e.id IN (SELECT value FROM json_each(?1))",
            )?
            .query_map([ids], |r| {
                Ok((
                    r.get(0)?,
                    EnrollmentInfo {
                        state: parsed(1, &r.get::<_, String>(1)?, EnrollmentState::parse)?,
                        deadline: ts(r.get(2)?),
                        event: r
                            .get::<_, Option<String>>(3)?
                            .map(|e| json(3, &e))
                            .transpose()?,
                    },
                ))
            })?
            .collect()
        })
    }

    fn sweep(&self, limit: u32) -> Result<u64, StoreError> {
        let planned: bool = self.read(|c| {
            c.prepare_cached("SELECT EXISTS (SELECT 1 FROM sweeps)")?
                .query_row([], |r| r.get(0))
        })?;
        if !planned {
            return Ok(0);
        }
        self.write(|tx| crate::sweep::next(tx, limit))
    }

    fn renew_leases(&self, claims: &[Claim], now: Now, lease: Duration) -> Result<u64, StoreError> {
        if claims.is_empty() {
            return Ok(0);
        }
        let (steps, rows): (Vec<&Claim>, Vec<&Claim>) =
            claims.iter().partition(|c| c.kind == WorkKind::JourneyStep);
        let rows = to_json(&rows.iter().map(|c| (c.id, c.fence)).collect::<Vec<_>>())?;
        self.write(|tx| {
            let steps = crate::steps::claims::renew(tx, &steps, now, lease)?;
            tx.prepare_cached(
                "UPDATE due_work SET lease_until = MAX(lease_until, ?2)
                 FROM (SELECT value ->> 0 AS id, value ->> 1 AS attempt FROM json_each(?1)) AS c
                 WHERE due_work.id = c.id AND due_work.attempt = c.attempt
                 AND due_work.state = 'claimed'",
            )
            .and_then(|mut s| s.execute(params![rows, ms(now.real + lease)]))
            .map(|n| steps + n as u64)
            .map_err(backend)
        })
    }

    fn release_claims(&self) -> Result<u64, StoreError> {
        self.write(|tx| {
            let n = tx
                .execute(
                    "UPDATE due_work SET state = 'pending', lease_until = NULL WHERE state = 'claimed'",
                    [],
                )
                .map_err(backend)?;
            Ok(n as u64 + crate::steps::claims::release(tx)?)
        })
    }

    fn next_due(&self) -> Result<Option<Timestamp>, StoreError> {
        self.read(|c| {
            let rows = c.query_row(
                "SELECT MIN(due_at) FROM due_work WHERE state = 'pending' AND held_until IS NULL",
                [],
                |r| r.get::<_, Option<i64>>(0),
            )?;
            let steps = crate::steps::claims::next_due(c)?;
            Ok(rows.into_iter().chain(steps).min().map(ts))
        })
    }

    fn settle(&self, settlements: &[Settlement], at: Now) -> Result<Vec<bool>, StoreError> {
        let now = at.business;
        self.write(|tx| {
            let mut held = Vec::with_capacity(settlements.len());
            let mut occurrences = Vec::new();
            let mut closed: Vec<(String, i64)> = Vec::new();
            let mut failures: Vec<Failure> = Vec::new();
            let mut braked = Braked::default();
            let mut settled = crate::steps::Settled::default();
            let mut ended = Ended::default();
            for settlement in settlements {
                if let Settlement::Advance(advance) = settlement {
                    // B1: a step that settles after its version was stopped changes nothing
                    // (the stop counted it as halted).
                    if braked.stopped(tx, &advance.journey_id, advance.version)? {
                        let claim = advance.claim;
                        let cancelled =
                            crate::steps::cancel(tx, claim.id, Some(claim.fence), &mut ended)?;
                        held.push(cancelled.is_some());
                        continue;
                    }
                    let took = crate::steps::advance(tx, advance, &mut settled, now)?;
                    if let (true, Some(r)) = (
                        took,
                        advance
                            .records
                            .iter()
                            .find(|r| r.outcome == Outcome::Failed),
                    ) {
                        failures.push(Failure::of(("journey", &advance.journey_id), r));
                    }
                    held.push(took);
                    continue;
                }
                if settlement.claim().kind == WorkKind::JourneyStep {
                    held.push(crate::steps::settle(
                        tx,
                        settlement,
                        (&mut settled, &mut ended),
                        at,
                    )?);
                    continue;
                }
                let fenced = match settlement {
                    Settlement::Advance(_) => None,
                    Settlement::Done { claim, .. } => fenced_update(
                        tx,
                        "UPDATE due_work SET state = 'done', lease_until = NULL
                         WHERE id = ?1 AND attempt = ?2 AND state = 'claimed'
                         RETURNING kind, campaign_id, journey_id, version, node_id, occurrence",
                        params![claim.id, claim.fence],
                    )?,
                    Settlement::Retry { claim, after, .. } | Settlement::Defer { claim, after } => {
                        // A deferral (a rate limit) does not count as a try.
                        let undo = i32::from(matches!(settlement, Settlement::Defer { .. }));
                        let (due, held) = held_for(at, *after);
                        fenced_update(
                            tx,
                            "UPDATE due_work SET state = 'pending', lease_until = NULL,
                                                 due_at = MAX(due_at, ?3), held_until = ?4,
                                                 attempt = attempt - ?5
                             WHERE id = ?1 AND attempt = ?2 AND state = 'claimed'
                             RETURNING kind, campaign_id, journey_id, version, node_id, occurrence",
                            params![claim.id, claim.fence, due, held, undo],
                        )?
                    }
                    Settlement::Cancelled { claim, .. } => fenced_update(
                        tx,
                        "UPDATE due_work SET state = 'cancelled', lease_until = NULL
                         WHERE id = ?1 AND attempt = ?2 AND state = 'claimed'
                         RETURNING kind, campaign_id, journey_id, version, node_id, occurrence",
                        params![claim.id, claim.fence],
                    )?,
                };
                let Some((row, occurrence)) = fenced else {
                    held.push(false);
                    continue;
                };
                let (kind, campaign_id, journey_id) = (row.0.clone(), row.1.clone(), row.2.clone());
                held.push(true);
                // B1: an outcome decided without a channel (a skip, a render failure) that
                // settles after its campaign was aborted changes nothing: the abort counted
                // the send as cancelled.
                if let Some(c) = &campaign_id
                    && matches!(
                        settlement,
                        Settlement::Done { .. } | Settlement::Cancelled { .. }
                    )
                    && braked.aborted(tx, c)?
                {
                    tx.prepare_cached("UPDATE due_work SET state = 'cancelled' WHERE id = ?1")
                        .and_then(|mut s| s.execute([settlement.claim().id]))
                        .map_err(backend)?;
                    ended.add(&row, "cancelled", 1);
                    continue;
                }
                match settlement {
                    Settlement::Done { .. } => ended.add(&row, "done", 1),
                    Settlement::Cancelled { .. } => ended.add(&row, "cancelled", 1),
                    _ => {}
                }
                match settlement {
                    Settlement::Done {
                        record: Some(record),
                        idempotency_key,
                        ..
                    } => {
                        insert_action(
                            tx,
                            (&campaign_id, &journey_id),
                            record,
                            idempotency_key.as_deref(),
                            &mut settled.tallies,
                        )?;
                        if let (Outcome::Failed, Some(c)) = (record.outcome, &campaign_id) {
                            failures.push(Failure::of(("campaign", c), record));
                        }
                    }
                    Settlement::Cancelled {
                        record: Some(record),
                        ..
                    } => {
                        insert_action(
                            tx,
                            (&campaign_id, &journey_id),
                            record,
                            None,
                            &mut settled.tallies,
                        )?;
                    }
                    _ => {}
                }
                if matches!(
                    settlement,
                    Settlement::Retry { .. } | Settlement::Defer { .. }
                ) {
                    continue;
                }
                if matches!(kind.as_str(), "send" | "trigger")
                    && let Some(c) = &campaign_id
                {
                    match closed.iter_mut().find(|(id, _)| id == c) {
                        Some((_, n)) => *n += 1,
                        None => closed.push((c.clone(), 1)),
                    }
                }
                if kind == "send"
                    && let (Some(c), Some(n)) = (campaign_id, occurrence)
                    && !occurrences.contains(&(c.clone(), n))
                {
                    occurrences.push((c, n));
                }
            }
            for (campaign_id, n) in closed {
                crate::effects::move_open_sends(tx, &campaign_id, -n)?;
            }
            for (campaign_id, n) in occurrences {
                finish_occurrence_if_done(tx, &campaign_id, n, now)?;
            }
            settled.write(tx, now)?;
            ended.write(tx)?;
            notify_failures(tx, failures, now)?;
            Ok(held)
        })
    }

    fn start_occurrence(&self, work: &DueWork, now: Timestamp) -> Result<FanOut, StoreError> {
        self.write(|tx| crate::fanout::plan_occurrence(tx, work, now))
    }

    fn enter_audience(&self, work: &DueWork, now: Timestamp) -> Result<FanOut, StoreError> {
        self.write(|tx| crate::entry::enter_audience(tx, work, now))
    }
}
