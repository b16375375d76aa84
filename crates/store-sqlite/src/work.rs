//! The due-work queue: claims with leases, settlements fenced by attempt, occurrence fan-out.

use jiff::Timestamp;
use rusqlite::{OptionalExtension, Row, Transaction, params};
use sluice_core::campaign::CampaignStatus;
use sluice_core::schedule::Schedule;
use sluice_store::{
    ActionRecord, DueWork, EnrollmentInfo, EnrollmentState, OccurrenceStart, Settlement,
    StoreError, WorkKind, WorkStore,
};

use crate::convert::{json, ms, parsed, to_json, ts};
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
) -> Result<(), StoreError> {
    tx.prepare_cached(
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
    Ok(())
}

/// The row's campaign and occurrence, when the fenced update took (`None`: the lease was lost).
type Fenced = Option<(String, Option<String>, Option<String>, Option<u32>)>;

fn fenced_update(
    tx: &Transaction<'_>,
    sql: &str,
    p: impl rusqlite::Params,
) -> Result<Fenced, StoreError> {
    tx.prepare_cached(sql)
        .and_then(|mut s| {
            s.query_row(p, |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
                .optional()
        })
        .map_err(backend)
}

/// C10: when an occurrence has no send left to do it is done, and with it a one-time campaign,
/// or a recurring one that has no further occurrence planned.
fn finish_occurrence_if_done(
    tx: &Transaction<'_>,
    campaign_id: &str,
    n: u32,
    now: Timestamp,
) -> Result<(), StoreError> {
    let open: bool = tx
        .prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM due_work WHERE campaign_id = ?1 AND occurrence = ?2
                            AND kind = 'send' AND state IN ('pending', 'claimed'))",
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

impl WorkStore for SqliteStore {
    fn claim_due(
        &self,
        now: Timestamp,
        limit: u32,
        lease_until: Timestamp,
        kinds: &[WorkKind],
    ) -> Result<Vec<DueWork>, StoreError> {
        let kinds = to_json(&kinds.iter().map(|k| k.as_str()).collect::<Vec<_>>())?;
        self.write(|tx| {
            // Due pending rows in due order, and rows whose lease ran out (their worker died):
            // one statement, so two engines never claim the same row.
            tx.prepare_cached(&format!(
                "UPDATE due_work SET state = 'claimed', attempt = attempt + 1, lease_until = ?3
                 WHERE id IN (
                     SELECT id FROM (SELECT id FROM due_work WHERE state = 'pending' AND due_at <= ?1
                                     AND kind IN (SELECT value FROM json_each(?4))
                                     ORDER BY due_at, id LIMIT ?2)
                     UNION ALL
                     SELECT id FROM (SELECT id FROM due_work WHERE state = 'claimed'
                                     AND lease_until < ?1
                                     AND kind IN (SELECT value FROM json_each(?4)) LIMIT ?2))
                 RETURNING {WORK_COLUMNS}"
            ))
            .and_then(|mut s| {
                s.query_map(params![ms(now), limit, ms(lease_until), kinds], due_work)?.collect()
            })
            .map_err(backend)
        })
    }

    fn enrollment(&self, id: i64) -> Result<Option<EnrollmentInfo>, StoreError> {
        self.read(|c| {
            c.prepare_cached("SELECT state, deadline FROM enrollments WHERE id = ?1")?
                .query_row([id], |r| {
                    Ok(EnrollmentInfo {
                        state: parsed(0, &r.get::<_, String>(0)?, EnrollmentState::parse)?,
                        deadline: ts(r.get(1)?),
                    })
                })
                .optional()
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
            Ok(n as u64)
        })
    }

    fn next_due(&self) -> Result<Option<Timestamp>, StoreError> {
        self.read(|c| {
            c.query_row(
                "SELECT MIN(m) FROM (SELECT MIN(due_at) AS m FROM due_work WHERE state = 'pending'
                                     UNION ALL
                                     SELECT MIN(lease_until) FROM due_work WHERE state = 'claimed')",
                [],
                |r| r.get::<_, Option<i64>>(0),
            )
            .map(|m| m.map(ts))
        })
    }

    fn settle(&self, settlements: &[Settlement], now: Timestamp) -> Result<Vec<bool>, StoreError> {
        self.write(|tx| {
            let mut held = Vec::with_capacity(settlements.len());
            let mut occurrences = Vec::new();
            for settlement in settlements {
                if let Settlement::Advance(advance) = settlement {
                    held.push(crate::steps::advance(tx, advance, now)?);
                    continue;
                }
                let fenced = match settlement {
                    Settlement::Advance(_) => None,
                    Settlement::Done {
                        work_id, attempt, ..
                    } => fenced_update(
                        tx,
                        "UPDATE due_work SET state = 'done', lease_until = NULL
                         WHERE id = ?1 AND attempt = ?2 AND state = 'claimed'
                         RETURNING kind, campaign_id, journey_id, occurrence",
                        params![work_id, attempt],
                    )?,
                    Settlement::Retry {
                        work_id,
                        attempt,
                        at,
                        ..
                    } => fenced_update(
                        tx,
                        "UPDATE due_work SET state = 'pending', lease_until = NULL, due_at = ?3
                         WHERE id = ?1 AND attempt = ?2 AND state = 'claimed'
                         RETURNING kind, campaign_id, journey_id, occurrence",
                        params![work_id, attempt, ms(*at)],
                    )?,
                    Settlement::Cancelled {
                        work_id, attempt, ..
                    } => fenced_update(
                        tx,
                        "UPDATE due_work SET state = 'cancelled', lease_until = NULL
                         WHERE id = ?1 AND attempt = ?2 AND state = 'claimed'
                         RETURNING kind, campaign_id, journey_id, occurrence",
                        params![work_id, attempt],
                    )?,
                };
                let Some((kind, campaign_id, journey_id, occurrence)) = fenced else {
                    held.push(false);
                    continue;
                };
                held.push(true);
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
                        )?;
                    }
                    Settlement::Cancelled {
                        record: Some(record),
                        ..
                    } => {
                        insert_action(tx, (&campaign_id, &journey_id), record, None)?;
                    }
                    _ => {}
                }
                if kind == "send"
                    && !matches!(settlement, Settlement::Retry { .. })
                    && let (Some(c), Some(n)) = (campaign_id, occurrence)
                    && !occurrences.contains(&(c.clone(), n))
                {
                    occurrences.push((c, n));
                }
            }
            for (campaign_id, n) in occurrences {
                finish_occurrence_if_done(tx, &campaign_id, n, now)?;
            }
            Ok(held)
        })
    }

    fn start_occurrence(
        &self,
        work: &DueWork,
        now: Timestamp,
    ) -> Result<OccurrenceStart, StoreError> {
        let campaign_id = work
            .campaign_id
            .clone()
            .ok_or_else(|| StoreError::Corrupt("occurrence without campaign".into()))?;
        let n = work
            .occurrence
            .ok_or_else(|| StoreError::Corrupt("occurrence without number".into()))?;
        self.write(|tx| {
            let took = tx
                .execute(
                    "UPDATE due_work SET state = 'done', lease_until = NULL
                     WHERE id = ?1 AND attempt = ?2 AND state = 'claimed'",
                    params![work.id, work.attempt],
                )
                .map_err(backend)?;
            let state: Option<String> = tx
                .query_row(
                    "SELECT state FROM occurrences WHERE campaign_id = ?1 AND n = ?2",
                    params![campaign_id, n],
                    |r| r.get(0),
                )
                .optional()
                .map_err(backend)?;
            let campaign = crate::campaigns::load(tx, &campaign_id).map_err(backend)?;
            let (Some(mut campaign), Some("pending"), 1) = (campaign, state.as_deref(), took) else {
                return Ok(OccurrenceStart::Skipped);
            };
            if !matches!(campaign.status, CampaignStatus::Scheduled | CampaignStatus::Live) {
                return Ok(OccurrenceStart::Skipped);
            }
            // The version this occurrence was planned for; C4 cancels pending occurrences of a
            // superseded version, so it is the live one.
            let Some(version) = campaign.version(work.version).cloned() else { return Ok(OccurrenceStart::Skipped) };
            tx.execute(
                "UPDATE occurrences SET state = 'running', started_at = ?3 WHERE campaign_id = ?1 AND n = ?2",
                params![campaign_id, n, ms(now)],
            )
            .map_err(backend)?;
            let mut sends = 0;
            // Inbound campaigns are served while live, never sent: the occurrence only makes
            // the campaign live.
            if !version.is_inbound() {
                let audience = match &version.content.audience_id {
                    Some(id) => crate::catalog::audience_rule(tx, id).map_err(backend)?,
                    None => None,
                };
                if let Some(rule) = audience {
                    let mut insert = tx
                        .prepare_cached(
                            "INSERT OR IGNORE INTO due_work (kind, campaign_id, version, occurrence,
                                                             profile_id, due_at, idempotency_key)
                             VALUES ('send', ?1, ?2, ?3, ?4, ?5, ?6)",
                        )
                        .map_err(backend)?;
                    let mut failure = None;
                    crate::profiles::for_each_member(tx, &rule, now, &mut |profile_id| {
                        if failure.is_some() {
                            return;
                        }
                        let key = format!("send:{campaign_id}:{n}:{profile_id}");
                        match insert.execute(params![campaign_id, version.version, n, profile_id, ms(now), key]) {
                            Ok(k) => sends += k as u64,
                            Err(e) => failure = Some(e),
                        }
                    })
                    .map_err(backend)?;
                    if let Some(e) = failure {
                        return Err(backend(e));
                    }
                }
            }
            if campaign.status == CampaignStatus::Scheduled {
                campaign.status = CampaignStatus::Live;
                campaign.updated_at = now;
                crate::campaigns::save(tx, &campaign, false)?;
            }
            let next = if campaign.status.is_final() {
                None
            } else {
                let scheduled_for: i64 = tx
                    .query_row(
                        "SELECT scheduled_for FROM occurrences WHERE campaign_id = ?1 AND n = ?2",
                        params![campaign_id, n],
                        |r| r.get(0),
                    )
                    .map_err(backend)?;
                version.content.schedule.next_after(ts(scheduled_for))
            };
            if let Some(at) = next {
                crate::effects::schedule_occurrence(tx, &campaign_id, version.version, at)?;
            }
            finish_occurrence_if_done(tx, &campaign_id, n, now)?;
            Ok(OccurrenceStart::Started { sends, next })
        })
    }
}
