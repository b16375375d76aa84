//! An occurrence's fan-out (C2): the audience is read and one send planned per member, one page
//! of profiles per transaction. A million members never hold the single writer for more than a
//! moment (a brake or an API write waits one page at most), and the cursor lives in the
//! occurrence's own due row, so a crash resumes where the last page committed.

use jiff::Timestamp;
use rusqlite::{OptionalExtension, Transaction, params};
use sluice_core::campaign::CampaignStatus;
use sluice_store::{DueWork, FanOut, StoreError};

use crate::backend;
use crate::convert::{ms, to_json, ts};

/// Profiles read per page of the fan-out.
pub(crate) const PAGE: u32 = 10_000;

pub(crate) fn plan_occurrence(
    tx: &Transaction<'_>,
    work: &DueWork,
    now: Timestamp,
) -> Result<FanOut, StoreError> {
    let campaign_id = work
        .campaign_id
        .clone()
        .ok_or_else(|| StoreError::Corrupt("occurrence without campaign".into()))?;
    let n = work
        .occurrence
        .ok_or_else(|| StoreError::Corrupt("occurrence without number".into()))?;
    if !ours(tx, work)? {
        return Ok(FanOut::Skipped);
    }
    let after = cursor(work);
    let state: Option<String> = tx
        .query_row(
            "SELECT state FROM occurrences WHERE campaign_id = ?1 AND n = ?2",
            params![campaign_id, n],
            |r| r.get(0),
        )
        .optional()
        .map_err(backend)?;
    let campaign = crate::campaigns::load(tx, &campaign_id).map_err(backend)?;
    let runnable = match (&campaign, state.as_deref(), &after) {
        // The first page starts the occurrence.
        (Some(c), Some("pending"), None) => {
            matches!(c.status, CampaignStatus::Scheduled | CampaignStatus::Live)
        }
        // Later pages go on while the occurrence runs; C5: a stop lets it run to its end.
        (Some(c), Some("running"), Some(_)) => {
            matches!(c.status, CampaignStatus::Live | CampaignStatus::Stopped)
        }
        _ => false,
    };
    // The version this occurrence was planned for; C4 cancels pending occurrences of a
    // superseded version, so it is the live one.
    let version = campaign
        .as_ref()
        .and_then(|c| c.version(work.version))
        .cloned();
    let (true, Some(mut campaign), Some(version)) = (runnable, campaign, version) else {
        settle(tx, work, None, now)?;
        return Ok(FanOut::Skipped);
    };
    let mut next = None;
    if after.is_none() {
        tx.execute(
            "UPDATE occurrences SET state = 'running', started_at = ?3 WHERE campaign_id = ?1 AND n = ?2",
            params![campaign_id, n, ms(now)],
        )
        .map_err(backend)?;
        if campaign.status == CampaignStatus::Scheduled {
            campaign.status = CampaignStatus::Live;
            campaign.updated_at = now;
            crate::campaigns::save(tx, &campaign, false)?;
        }
        let scheduled_for: i64 = tx
            .query_row(
                "SELECT scheduled_for FROM occurrences WHERE campaign_id = ?1 AND n = ?2",
                params![campaign_id, n],
                |r| r.get(0),
            )
            .map_err(backend)?;
        next = version.content.schedule.next_after(ts(scheduled_for));
        if let Some(at) = next {
            crate::effects::schedule_occurrence(tx, &campaign_id, version.version, at)?;
        }
    }
    // Inbound campaigns are served while live, never sent: the occurrence only makes the
    // campaign live.
    let audience = match (&version.content.audience_id, version.is_inbound()) {
        (Some(id), false) => crate::catalog::audience_rule(tx, id).map_err(backend)?,
        _ => None,
    };
    let mut sends = 0;
    let mut cursor = None;
    if let Some(rule) = audience {
        let from = after.as_deref().unwrap_or("");
        let (members, last) =
            crate::profiles::members_page(tx, &rule, now, from, PAGE).map_err(backend)?;
        let mut insert = tx
            .prepare_cached(
                "INSERT OR IGNORE INTO due_work (kind, campaign_id, version, occurrence,
                                                 profile_id, due_at, idempotency_key)
                 VALUES ('send', ?1, ?2, ?3, ?4, ?5, ?6)",
            )
            .map_err(backend)?;
        for profile_id in &members {
            let key = format!("send:{campaign_id}:{n}:{profile_id}");
            sends += insert
                .execute(params![
                    campaign_id,
                    version.version,
                    n,
                    profile_id,
                    ms(now),
                    key
                ])
                .map_err(backend)? as u64;
        }
        crate::effects::move_open_sends(tx, &campaign_id, sends as i64)?;
        crate::tallies::sends_planned(tx, &campaign_id, sends)?;
        cursor = last;
    }
    settle(tx, work, cursor.as_deref(), now)?;
    if cursor.is_none() {
        crate::work::finish_occurrence_if_done(tx, &campaign_id, n, now)?;
    }
    Ok(FanOut::Planned {
        planned: sends,
        next,
        complete: cursor.is_none(),
    })
}

/// Whether the row is still claimed under this attempt (a lost lease plans nothing).
pub(crate) fn ours(tx: &Transaction<'_>, work: &DueWork) -> Result<bool, StoreError> {
    tx.query_row(
        "SELECT EXISTS (SELECT 1 FROM due_work WHERE id = ?1 AND attempt = ?2
                        AND state = 'claimed')",
        params![work.id, work.attempt],
        |r| r.get(0),
    )
    .map_err(backend)
}

/// The last profile id a previous page read, kept in the row's payload.
pub(crate) fn cursor(work: &DueWork) -> Option<String> {
    work.payload
        .as_ref()
        .and_then(|p| p.get("after"))
        .and_then(|a| a.as_str())
        .map(str::to_owned)
}

/// The fan-out row is done, or due again at once for the page after `cursor`.
pub(crate) fn settle(
    tx: &Transaction<'_>,
    work: &DueWork,
    cursor: Option<&str>,
    now: Timestamp,
) -> Result<(), StoreError> {
    match cursor {
        None => tx.execute(
            "UPDATE due_work SET state = 'done', lease_until = NULL WHERE id = ?1",
            [work.id],
        ),
        Some(after) => tx.execute(
            "UPDATE due_work SET state = 'pending', lease_until = NULL, due_at = ?2, payload = ?3
             WHERE id = ?1",
            params![
                work.id,
                ms(now),
                to_json(&serde_json::json!({ "after": after }))?
            ],
        ),
    }
    .map_err(backend)?;
    Ok(())
}
