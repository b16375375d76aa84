//! What a lifecycle command writes besides the aggregate itself: scheduled and cancelled work,
//! the audit entry, the notification with its summary. Always inside the command's transaction.

use jiff::Timestamp;
use rusqlite::{OptionalExtension, Transaction, params};
use sluice_core::campaign::CampaignEffect;
use sluice_core::journey::JourneyEffect;
use sluice_core::notification::NotificationKind;
use sluice_store::{CommandContext, StoreError, Summary};

use crate::backend;
use crate::convert::{ms, to_json};

pub struct AuditFacts<'a> {
    pub action: &'a str,
    pub subject_type: &'a str,
    pub subject_id: &'a str,
    pub version: Option<u32>,
    pub from_status: Option<&'a str>,
    pub to_status: Option<&'a str>,
}

pub fn insert_audit(
    tx: &Transaction<'_>,
    ctx: &CommandContext,
    facts: &AuditFacts<'_>,
) -> Result<(), StoreError> {
    tx.prepare_cached(
        "INSERT INTO audit (at, actor, action, subject_type, subject_id, version, reason,
                            from_status, to_status)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )
    .and_then(|mut s| {
        s.execute(params![
            ms(ctx.now),
            ctx.actor,
            facts.action,
            facts.subject_type,
            facts.subject_id,
            facts.version,
            ctx.reason,
            facts.from_status,
            facts.to_status
        ])
    })
    .map_err(backend)?;
    Ok(())
}

pub fn insert_notification(
    tx: &Transaction<'_>,
    ctx: &CommandContext,
    kind: NotificationKind,
    subject: (&str, &str, Option<u32>),
    summary: &Summary,
) -> Result<(), StoreError> {
    // Ids are derived from the row number: the single writer makes MAX(seq)+1 race-free.
    tx.execute(
        "INSERT INTO notifications (id, at, kind, subject_type, subject_id, version, actor, reason,
                                    summary)
         VALUES ('ntf_' || (SELECT IFNULL(MAX(seq), 0) + 1 FROM notifications),
                 ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![
            ms(ctx.now),
            kind.as_str(),
            subject.0,
            subject.1,
            subject.2,
            ctx.actor,
            ctx.reason,
            to_json(summary)?
        ],
    )
    .map_err(backend)?;
    Ok(())
}

/// Delivered, failed and skipped so far for a campaign or a journey version, from the tallies
/// the action log keeps (constant time, however many actions there are).
pub fn outcome_counts(
    tx: &Transaction<'_>,
    campaign: Option<&str>,
    journey: Option<(&str, u32)>,
) -> Result<Summary, StoreError> {
    let (subject, version) = match (campaign, journey) {
        (Some(id), _) => (format!("campaign:{id}"), 0),
        (None, Some((id, v))) => (format!("journey:{id}"), v),
        (None, None) => return Ok(Summary::default()),
    };
    let mut summary = Summary::default();
    let mut stmt = tx
        .prepare_cached(
            "SELECT outcome, SUM(n) FROM tallies WHERE subject = ?1 AND version = ?2
             GROUP BY outcome",
        )
        .map_err(backend)?;
    let rows = stmt
        .query_map(params![subject, version], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, u64>(1)?))
        })
        .map_err(backend)?;
    for row in rows {
        let (outcome, n) = row.map_err(backend)?;
        match outcome.as_str() {
            "delivered" => summary.delivered = n,
            "failed" => summary.failed = n,
            "skipped" => summary.skipped = n,
            "unknown" => summary.unknown = n,
            _ => {}
        }
    }
    Ok(summary)
}

/// Leaves the rows a brake ended to the sweeper (`WorkStore::sweep`).
fn plan_sweep(
    tx: &Transaction<'_>,
    subject: (Option<&str>, Option<(&str, u32)>),
    at: Timestamp,
) -> Result<(), StoreError> {
    let (campaign, journey) = subject;
    tx.execute(
        "INSERT INTO sweeps (campaign_id, journey_id, version, at) VALUES (?1, ?2, ?3, ?4)",
        params![campaign, journey.map(|j| j.0), journey.map(|j| j.1), ms(at)],
    )
    .map_err(backend)?;
    Ok(())
}

/// Carries out a campaign transition's effects; returns the summary when it was a brake.
pub fn apply_campaign_effects(
    tx: &Transaction<'_>,
    ctx: &CommandContext,
    campaign_id: &str,
    version: Option<u32>,
    effects: &[CampaignEffect],
) -> Result<Option<Summary>, StoreError> {
    let mut cancelled = 0;
    let mut notify = None;
    for effect in effects {
        match effect {
            CampaignEffect::ScheduleOccurrence { version, at } => {
                // C4: a new version activated at a fire time the old one already ran at
                // starts at the next one; one fire time is never run twice.
                let at = match last_run(tx, campaign_id)? {
                    Some(last) if last >= *at => {
                        match crate::campaigns::load(tx, campaign_id).map_err(backend)? {
                            Some(c) => c
                                .version(*version)
                                .and_then(|v| v.content.schedule.next_after(last)),
                            None => None,
                        }
                    }
                    _ => Some(*at),
                };
                if let Some(at) = at {
                    schedule_occurrence(tx, campaign_id, *version, at)?;
                }
            }
            CampaignEffect::CancelPendingOccurrences => {
                tx.execute(
                    "UPDATE occurrences SET state = 'cancelled'
                     WHERE campaign_id = ?1 AND state = 'pending'",
                    [campaign_id],
                )
                .map_err(backend)?;
                // Occurrences are not messages: the summary counts only cancelled sends.
                // Only the rows of occurrences not started: a running one's row waits between
                // pages of its fan-out, and that occurrence runs to its end (C4, C5).
                tx.execute(
                    "UPDATE due_work SET state = 'cancelled'
                     WHERE campaign_id = ?1 AND kind = 'occurrence' AND state = 'pending'
                     AND occurrence IN (SELECT n FROM occurrences WHERE campaign_id = ?1
                                        AND state = 'cancelled')",
                    [campaign_id],
                )
                .map_err(backend)?;
            }
            CampaignEffect::CancelAll => {
                // Nothing reads the epoch yet: within this process the brake is held by the
                // engine's `Brakes` (B1). It counts brakes for the scale-out work, which decides
                // what a brake checks across nodes.
                tx.execute(
                    "UPDATE campaigns SET epoch = epoch + 1 WHERE id = ?1",
                    [campaign_id],
                )
                .map_err(backend)?;
                tx.execute(
                    "UPDATE occurrences SET state = CASE state WHEN 'running' THEN 'aborted'
                                                   ELSE 'cancelled' END,
                                            finished_at = IFNULL(finished_at, ?2)
                     WHERE campaign_id = ?1 AND state IN ('pending', 'running')",
                    params![campaign_id, ms(ctx.now)],
                )
                .map_err(backend)?;
                // Constant time however many sends are planned: the counter says how many
                // will not happen, and the rows themselves are swept afterwards (an aborted
                // campaign's pending rows read as cancelled meanwhile, and are never sent).
                cancelled += tx
                    .query_row(
                        "SELECT open_sends FROM campaigns WHERE id = ?1",
                        [campaign_id],
                        |r| r.get::<_, u64>(0),
                    )
                    .map_err(backend)?;
                tx.execute(
                    "UPDATE campaigns SET open_sends = 0 WHERE id = ?1",
                    [campaign_id],
                )
                .map_err(backend)?;
                plan_sweep(tx, (Some(campaign_id), None), ctx.now)?;
            }
            CampaignEffect::Notify(kind) => notify = Some(*kind),
        }
    }
    let Some(kind) = notify else { return Ok(None) };
    let mut summary = outcome_counts(tx, Some(campaign_id), None)?;
    summary.cancelled = cancelled;
    insert_notification(tx, ctx, kind, ("campaign", campaign_id, version), &summary)?;
    Ok(Some(summary))
}

pub(crate) fn schedule_occurrence(
    tx: &Transaction<'_>,
    campaign_id: &str,
    version: u32,
    at: Timestamp,
) -> Result<(), StoreError> {
    let n: u32 = tx
        .query_row(
            "SELECT IFNULL(MAX(n), 0) + 1 FROM occurrences WHERE campaign_id = ?1",
            [campaign_id],
            |r| r.get(0),
        )
        .map_err(backend)?;
    tx.execute(
        "INSERT INTO occurrences (campaign_id, n, version, scheduled_for, state)
         VALUES (?1, ?2, ?3, ?4, 'pending')",
        params![campaign_id, n, version, ms(at)],
    )
    .map_err(backend)?;
    tx.execute(
        "INSERT INTO due_work (kind, campaign_id, version, occurrence, due_at, idempotency_key)
         VALUES ('occurrence', ?1, ?2, ?3, ?4, ?5)",
        params![
            campaign_id,
            version,
            n,
            ms(at),
            format!("occ:{campaign_id}:{n}")
        ],
    )
    .map_err(backend)?;
    Ok(())
}

/// Carries out journey transition effects. `finish` is called for `FinishIfEmpty` when nobody is
/// inside, and must mark the version finished in the aggregate (the caller writes it back).
pub fn apply_journey_effects(
    tx: &Transaction<'_>,
    ctx: &CommandContext,
    journey_id: &str,
    effects: &[JourneyEffect],
    finish: &mut dyn FnMut(u32) -> bool,
) -> Result<Option<Summary>, StoreError> {
    let mut summary = None;
    let mut halted = 0;
    let mut cancelled = 0;
    for effect in effects {
        match effect {
            JourneyEffect::ScheduleEntry { version, at } => {
                crate::entry::schedule_entry(tx, journey_id, *version, *at)?;
            }
            JourneyEffect::CloseEntries { version } => {
                tx.execute(
                    "UPDATE due_work SET state = 'cancelled' WHERE journey_id = ?1 AND version = ?2
                     AND state IN ('pending', 'claimed') AND kind = 'journey_entry'
                     AND state = 'pending'",
                    params![journey_id, version],
                )
                .map_err(backend)?;
            }
            JourneyEffect::FinishIfEmpty { version } => {
                let inside = inside(tx, journey_id, *version)?;
                if inside == 0 && finish(*version) {
                    insert_audit(
                        tx,
                        ctx,
                        &AuditFacts {
                            action: "finish",
                            subject_type: "journey",
                            subject_id: journey_id,
                            version: Some(*version),
                            from_status: Some("closed"),
                            to_status: Some("finished"),
                        },
                    )?;
                    let s = outcome_counts(tx, None, Some((journey_id, *version)))?;
                    insert_notification(
                        tx,
                        ctx,
                        NotificationKind::Finished,
                        ("journey", journey_id, Some(*version)),
                        &s,
                    )?;
                }
            }
            JourneyEffect::Halt { version } => {
                // The epoch, as a campaign's: counted for the scale-out work, read by nothing yet.
                tx.execute(
                    "UPDATE journey_versions SET epoch = epoch + 1 WHERE journey_id = ?1 AND version = ?2",
                    params![journey_id, version],
                )
                .map_err(backend)?;
                // Constant time however many are inside: the counter says who is halted, each
                // of them had exactly one step to come, and the sweeper marks the rows later
                // (a stopped version's active enrollments read as stopped meanwhile).
                let n = inside(tx, journey_id, *version)?;
                tx.execute(
                    "UPDATE journey_versions SET inside = 0 WHERE journey_id = ?1 AND version = ?2",
                    params![journey_id, version],
                )
                .map_err(backend)?;
                halted += n;
                cancelled += n;
                plan_sweep(tx, (None, Some((journey_id, *version))), ctx.now)?;
            }
            JourneyEffect::Notify { version, kind } => {
                let mut s = outcome_counts(tx, None, Some((journey_id, *version)))?;
                if *kind == NotificationKind::Stopped {
                    s.cancelled = cancelled;
                    s.halted = Some(halted);
                    summary = Some(s.clone());
                }
                insert_notification(tx, ctx, *kind, ("journey", journey_id, Some(*version)), &s)?;
            }
        }
    }
    Ok(summary)
}

/// Profiles inside a journey version (its counter).
pub(crate) fn inside(
    tx: &Transaction<'_>,
    journey_id: &str,
    version: u32,
) -> Result<u64, StoreError> {
    tx.prepare_cached("SELECT inside FROM journey_versions WHERE journey_id = ?1 AND version = ?2")
        .and_then(|mut s| {
            s.query_row(params![journey_id, version], |r| r.get(0))
                .optional()
        })
        .map(Option::unwrap_or_default)
        .map_err(backend)
}

/// Moves a journey version's `inside` counter (a stopped version's stays at zero: the stop
/// counted everybody out at once).
pub(crate) fn move_inside(
    tx: &Transaction<'_>,
    journey_id: &str,
    version: u32,
    delta: i64,
) -> Result<(), StoreError> {
    tx.prepare_cached(
        "UPDATE journey_versions SET inside = MAX(inside + ?3, 0)
         WHERE journey_id = ?1 AND version = ?2 AND status != 'stopped'",
    )
    .and_then(|mut s| s.execute(params![journey_id, version, delta]))
    .map_err(backend)?;
    Ok(())
}

/// Moves a campaign's `open_sends` counter (an aborted campaign's stays at zero).
pub(crate) fn move_open_sends(
    tx: &Transaction<'_>,
    campaign_id: &str,
    delta: i64,
) -> Result<(), StoreError> {
    tx.prepare_cached(
        "UPDATE campaigns SET open_sends = MAX(open_sends + ?2, 0)
         WHERE id = ?1 AND status != 'aborted'",
    )
    .and_then(|mut s| s.execute(params![campaign_id, delta]))
    .map_err(backend)?;
    Ok(())
}

/// The last enrollment of a profile in a version: when it entered, and when it left (`None`
/// while it is inside).
pub fn last_enrollment(
    tx: &Transaction<'_>,
    journey_id: &str,
    version: u32,
    profile_id: &str,
) -> Result<Option<(i64, Option<i64>)>, StoreError> {
    tx.prepare_cached(
        "SELECT entered_at, left_at FROM enrollments WHERE journey_id = ?1 AND version = ?2
         AND profile_id = ?3 ORDER BY id DESC LIMIT 1",
    )
    .and_then(|mut s| {
        s.query_row(params![journey_id, version, profile_id], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .optional()
    })
    .map_err(backend)
}

/// When the campaign's latest occurrence that started (or ran) was scheduled for.
fn last_run(tx: &Transaction<'_>, campaign_id: &str) -> Result<Option<Timestamp>, StoreError> {
    tx.query_row(
        "SELECT MAX(scheduled_for) FROM occurrences WHERE campaign_id = ?1
         AND state IN ('running', 'done', 'aborted')",
        [campaign_id],
        |r| r.get::<_, Option<i64>>(0),
    )
    .map(|m| m.map(crate::convert::ts))
    .map_err(backend)
}
