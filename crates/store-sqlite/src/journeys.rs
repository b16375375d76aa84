//! Journeys with their versions and enrollments; commands go through `apply_journey`.

use rusqlite::{Connection, OptionalExtension, Transaction, params};
use sluice_core::journey::{Journey, JourneyVersion, JourneyVersionStatus};
use sluice_core::lifecycle::Refused;
use sluice_store::{
    Applied, CommandContext, CommandError, Enrollment, EnrollmentState, JourneyCommand,
    JourneyStore, Origin, Page, PageRequest, RemoveOutcome, StoreError,
};

use crate::convert::{finish_page, json, limit_plus_one, ms, opt_ts, parsed, to_json, ts};
use crate::effects::{AuditFacts, apply_journey_effects, insert_audit};
use crate::{SqliteStore, backend};

fn load_versions(c: &Connection, id: &str) -> rusqlite::Result<Vec<JourneyVersion>> {
    c.prepare_cached(
        "SELECT version, status, definition, created_at, published_at, closed_at, stopped_at,
                finished_at
         FROM journey_versions WHERE journey_id = ?1 ORDER BY version",
    )?
    .query_map([id], |r| {
        Ok(JourneyVersion {
            version: r.get(0)?,
            status: parsed(1, &r.get::<_, String>(1)?, JourneyVersionStatus::parse)?,
            definition: json(2, &r.get::<_, String>(2)?)?,
            created_at: ts(r.get(3)?),
            published_at: opt_ts(r.get(4)?),
            closed_at: opt_ts(r.get(5)?),
            stopped_at: opt_ts(r.get(6)?),
            finished_at: opt_ts(r.get(7)?),
        })
    })?
    .collect()
}

type JourneyRow = (String, String, i64, i64);

fn journey_from_row(
    c: &Connection,
    (id, name, created_at, updated_at): JourneyRow,
) -> rusqlite::Result<Journey> {
    let versions = load_versions(c, &id)?;
    Ok(Journey {
        id,
        name,
        versions,
        created_at: ts(created_at),
        updated_at: ts(updated_at),
    })
}

pub(crate) fn load(c: &Connection, id: &str) -> rusqlite::Result<Option<Journey>> {
    let row: Option<JourneyRow> = c
        .query_row(
            "SELECT id, name, created_at, updated_at FROM journeys WHERE id = ?1",
            [id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .optional()?;
    row.map(|row| journey_from_row(c, row)).transpose()
}

fn save(c: &Connection, journey: &Journey, insert: bool) -> Result<(), StoreError> {
    if insert {
        c.execute(
            "INSERT INTO journeys (id, name, created_at, updated_at) VALUES (?1, ?2, ?3, ?4)",
            params![
                journey.id,
                journey.name,
                ms(journey.created_at),
                ms(journey.updated_at)
            ],
        )
    } else {
        c.execute(
            "UPDATE journeys SET name = ?2, updated_at = ?3 WHERE id = ?1",
            params![journey.id, journey.name, ms(journey.updated_at)],
        )
    }
    .map_err(backend)?;
    let known: Vec<u32> = c
        .prepare_cached("SELECT version FROM journey_versions WHERE journey_id = ?1")
        .and_then(|mut s| s.query_map([&journey.id], |r| r.get(0))?.collect())
        .map_err(backend)?;
    for gone in known.iter().filter(|n| journey.version(**n).is_none()) {
        c.execute(
            "DELETE FROM journey_versions WHERE journey_id = ?1 AND version = ?2",
            params![journey.id, gone],
        )
        .map_err(backend)?;
    }
    // Upsert keeps each version's epoch, which only brakes change (see `effects`).
    let mut stmt = c
        .prepare_cached(
            "INSERT INTO journey_versions (journey_id, version, status, definition, entry_event,
                 created_at, published_at, closed_at, stopped_at, finished_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
             ON CONFLICT (journey_id, version) DO UPDATE SET status = excluded.status,
                 definition = excluded.definition, entry_event = excluded.entry_event,
                 published_at = excluded.published_at, closed_at = excluded.closed_at,
                 stopped_at = excluded.stopped_at, finished_at = excluded.finished_at",
        )
        .map_err(backend)?;
    for v in &journey.versions {
        stmt.execute(params![
            journey.id,
            v.version,
            v.status.as_str(),
            to_json(&v.definition)?,
            v.definition.entry_event(),
            ms(v.created_at),
            v.published_at.map(ms),
            v.closed_at.map(ms),
            v.stopped_at.map(ms),
            v.finished_at.map(ms),
        ])
        .map_err(backend)?;
    }
    Ok(())
}

impl JourneyStore for SqliteStore {
    fn insert_journey(
        &self,
        journey: &Journey,
        origin: Origin,
        ctx: &CommandContext,
    ) -> Result<(), StoreError> {
        self.write(|tx| {
            save(tx, journey, true)?;
            insert_audit(
                tx,
                ctx,
                &AuditFacts {
                    action: origin.as_str(),
                    subject_type: "journey",
                    subject_id: &journey.id,
                    version: Some(1),
                    from_status: None,
                    to_status: Some("draft"),
                },
            )
        })
    }

    fn journey(&self, id: &str) -> Result<Option<Journey>, StoreError> {
        self.read(|c| load(c, id))
    }

    fn journeys(&self, page: &PageRequest) -> Result<Page<Journey>, StoreError> {
        let items = self.read(|c| {
            let rows: Vec<JourneyRow> = c
                .prepare_cached(
                    "SELECT id, name, created_at, updated_at FROM journeys WHERE id > ?1
                     ORDER BY id LIMIT ?2",
                )?
                .query_map(
                    params![page.cursor.as_deref().unwrap_or(""), limit_plus_one(page)],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
                )?
                .collect::<rusqlite::Result<_>>()?;
            rows.into_iter()
                .map(|row| journey_from_row(c, row))
                .collect::<rusqlite::Result<Vec<_>>>()
        })?;
        Ok(finish_page(items, page, |j| j.id.clone()))
    }

    fn apply_journey(
        &self,
        id: &str,
        ctx: &CommandContext,
        command: JourneyCommand<'_>,
    ) -> Result<Applied<Journey>, CommandError> {
        self.write(|tx| {
            let mut journey = load(tx, id)
                .map_err(backend)?
                .ok_or(CommandError::NotFound)?;
            let transitions = command(&mut journey)?;
            let mut summary = None;
            for t in &transitions {
                insert_audit(
                    tx,
                    ctx,
                    &AuditFacts {
                        action: t.action.as_str(),
                        subject_type: "journey",
                        subject_id: id,
                        version: Some(t.version),
                        from_status: Some(t.from.as_str()),
                        to_status: Some(t.to.as_str()),
                    },
                )?;
                let now = ctx.now;
                let s = apply_journey_effects(tx, ctx, id, &t.effects, &mut |v| {
                    journey.finish(v, now)
                })?;
                summary = summary.or(s);
            }
            save(tx, &journey, false)?;
            Ok(Applied {
                value: journey,
                summary,
            })
        })
    }

    fn delete_journey(
        &self,
        id: &str,
        ctx: &CommandContext,
        check: &dyn Fn(&Journey) -> Result<(), Refused>,
    ) -> Result<(), CommandError> {
        self.write(|tx| {
            let journey = load(tx, id)
                .map_err(backend)?
                .ok_or(CommandError::NotFound)?;
            check(&journey)?;
            // A journey never published has no work; this only guards against a leftover.
            tx.execute(
                "DELETE FROM due_work WHERE journey_id = ?1 AND state IN ('pending', 'claimed')",
                [id],
            )
            .map_err(backend)?;
            for table in ["tallies", "work_tallies"] {
                tx.execute(
                    &format!("DELETE FROM {table} WHERE subject = 'journey:' || ?1"),
                    [id],
                )
                .map_err(backend)?;
            }
            for table in ["enrollment_tallies", "node_visits"] {
                tx.execute(&format!("DELETE FROM {table} WHERE journey_id = ?1"), [id])
                    .map_err(backend)?;
            }
            tx.execute("DELETE FROM journeys WHERE id = ?1", [id])
                .map_err(backend)?;
            insert_audit(
                tx,
                ctx,
                &AuditFacts {
                    action: "delete",
                    subject_type: "journey",
                    subject_id: id,
                    version: None,
                    from_status: Some("draft"),
                    to_status: None,
                },
            )?;
            Ok(())
        })
    }

    fn enrollments(
        &self,
        journey_id: &str,
        version: u32,
        state: Option<EnrollmentState>,
        page: &PageRequest,
    ) -> Result<Page<Enrollment>, StoreError> {
        let after: i64 = page
            .cursor
            .as_deref()
            .and_then(|c| c.parse().ok())
            .unwrap_or(0);
        let rows = self.read(|c| {
            // A stopped version's enrollments are stopped, whether the sweeper reached them yet
            // or not.
            let stopped: bool = c
                .prepare_cached(
                    "SELECT status = 'stopped' FROM journey_versions WHERE journey_id = ?1 AND version = ?2",
                )?
                .query_row(params![journey_id, version], |r| r.get(0))
                .optional()?
                .unwrap_or(false);
            c.prepare_cached(
                "SELECT id, profile_id, version, IIF(state = 'active' AND ?6, 'stopped', state),
                        node_id, entered_at, IFNULL(left_at, IIF(?6, (SELECT stopped_at FROM journey_versions
                            WHERE journey_id = ?1 AND version = ?2), NULL))
                 FROM enrollments
                 WHERE journey_id = ?1 AND version = ?2
                 AND (?3 IS NULL OR IIF(state = 'active' AND ?6, 'stopped', state) = ?3) AND id > ?4
                 ORDER BY id LIMIT ?5",
            )?
            .query_map(
                params![journey_id, version, state.map(EnrollmentState::as_str), after, limit_plus_one(page), stopped],
                |r| {
                    Ok((r.get::<_, i64>(0)?, Enrollment {
                        profile_id: r.get(1)?,
                        version: r.get(2)?,
                        state: parsed(3, &r.get::<_, String>(3)?, EnrollmentState::parse)?,
                        node_id: r.get(4)?,
                        entered_at: ts(r.get(5)?),
                        left_at: opt_ts(r.get(6)?),
                    }))
                },
            )?
            .collect::<rusqlite::Result<Vec<_>>>()
        })?;
        let page = finish_page(rows, page, |(id, _)| id.to_string());
        Ok(Page {
            items: page.items.into_iter().map(|(_, e)| e).collect(),
            next_cursor: page.next_cursor,
        })
    }

    fn remove_from_journey(
        &self,
        journey_id: &str,
        version: u32,
        profile_id: &str,
        ctx: &CommandContext,
    ) -> Result<RemoveOutcome, CommandError> {
        self.write(|tx| {
            let mut tallies = crate::tallies::Tallies::default();
            crate::removal::remove_from_flow(
                tx,
                ctx,
                (journey_id, version),
                profile_id,
                &mut tallies,
            )
        })
    }
}

/// J3: a closed version nobody is inside any more becomes finished (with its audit entry and
/// notification). Does nothing for a version that is not closed or still holds people.
pub(crate) fn finish_if_empty(
    tx: &Transaction<'_>,
    ctx: &CommandContext,
    journey_id: &str,
    version: u32,
) -> Result<(), StoreError> {
    // Most leave a live version: one indexed read decides, without loading the journey.
    let closed: bool = tx
        .prepare_cached(
            "SELECT status = 'closed' FROM journey_versions WHERE journey_id = ?1 AND version = ?2",
        )
        .and_then(|mut s| {
            s.query_row(params![journey_id, version], |r| r.get(0))
                .optional()
        })
        .map_err(backend)?
        .unwrap_or(false);
    if !closed {
        return Ok(());
    }
    let Some(mut journey) = load(tx, journey_id).map_err(backend)? else {
        return Ok(());
    };
    if journey
        .version(version)
        .is_none_or(|v| v.status != JourneyVersionStatus::Closed)
    {
        return Ok(());
    }
    let effects = [sluice_core::journey::JourneyEffect::FinishIfEmpty { version }];
    let mut finished = false;
    apply_journey_effects(tx, ctx, journey_id, &effects, &mut |v| {
        finished = journey.finish(v, ctx.now);
        finished
    })?;
    if finished {
        save(tx, &journey, false)?;
    }
    Ok(())
}
