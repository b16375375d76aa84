//! Audience entry of a journey version (J1): when its schedule fires, the audience's members
//! enter under the re-entrance rule (J8), one page of profiles per transaction with the cursor
//! in the entry's own due row, as an occurrence's fan-out does. The first page schedules the
//! next firing of a recurring schedule.

use jiff::Timestamp;
use rusqlite::{OptionalExtension, Transaction, params};
use sluice_core::journey::{Entry, JourneyDefinition};
use sluice_store::{DueWork, FanOut, StoreError};

use crate::backend;
use crate::convert::{json, ms};
use crate::fanout::{PAGE, cursor, settle};
use crate::profiles::Entrance;

pub(crate) fn enter_audience(
    tx: &Transaction<'_>,
    work: &DueWork,
    now: Timestamp,
) -> Result<FanOut, StoreError> {
    let journey_id = work
        .journey_id
        .clone()
        .ok_or_else(|| StoreError::Corrupt("journey entry without journey".into()))?;
    if !crate::fanout::ours(tx, work)? {
        return Ok(FanOut::Skipped);
    }
    // Only a live version admits anyone; closing it cancels its entries (J3, J6), and one
    // closed meanwhile ends the reading here.
    let definition: Option<JourneyDefinition> = tx
        .query_row(
            "SELECT definition FROM journey_versions WHERE journey_id = ?1 AND version = ?2
             AND status = 'live'",
            params![journey_id, work.version],
            |r| json(0, &r.get::<_, String>(0)?),
        )
        .optional()
        .map_err(backend)?;
    let Some(definition) = definition else {
        settle(tx, work, None, now)?;
        return Ok(FanOut::Skipped);
    };
    let Entry::Audience {
        audience_id,
        schedule,
    } = definition.entry.clone()
    else {
        settle(tx, work, None, now)?;
        return Ok(FanOut::Skipped);
    };
    let after = cursor(work);
    let mut next = None;
    if after.is_none() {
        // The row is due at its firing time until its first page moves it.
        next = schedule.next_after(work.due_at);
        if let Some(at) = next {
            schedule_entry(tx, &journey_id, work.version, at)?;
        }
    }
    let Some(rule) = crate::catalog::audience_rule(tx, &audience_id).map_err(backend)? else {
        settle(tx, work, None, now)?;
        return Ok(FanOut::Skipped);
    };
    let (members, last) =
        crate::profiles::members_page(tx, &rule, now, after.as_deref().unwrap_or(""), PAGE)
            .map_err(backend)?;
    let entrance = Entrance {
        journey_id,
        version: work.version,
        definition,
    };
    let mut entered = 0;
    let mut counts = crate::tallies::Entered::default();
    for profile_id in &members {
        entered += u64::from(crate::profiles::enter(
            tx,
            &entrance,
            profile_id,
            None,
            now,
            &mut counts,
        )?);
    }
    counts.write(tx)?;
    settle(tx, work, last.as_deref(), now)?;
    Ok(FanOut::Planned {
        planned: entered,
        next,
        complete: last.is_none(),
    })
}

/// Plans the audience reading of `version` at `at` (idempotent per firing time).
pub(crate) fn schedule_entry(
    tx: &Transaction<'_>,
    journey_id: &str,
    version: u32,
    at: Timestamp,
) -> Result<(), StoreError> {
    tx.prepare_cached(
        "INSERT OR IGNORE INTO due_work (kind, journey_id, version, due_at, idempotency_key)
         VALUES ('journey_entry', ?1, ?2, ?3, ?4)",
    )
    .and_then(|mut s| {
        s.execute(params![
            journey_id,
            version,
            ms(at),
            format!("entry:{journey_id}:{version}:{}", ms(at))
        ])
    })
    .map_err(backend)?;
    Ok(())
}
