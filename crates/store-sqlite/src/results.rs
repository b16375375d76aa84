//! Results (B2): the counters the tally triggers keep, and the action log's pages.

use rusqlite::{Connection, OptionalExtension, Row, params};
use sluice_store::{
    ActionFilter, ActionRecord, Counters, Outcome, Page, PageRequest, ResultStore, Results,
    StoreError, Subject,
};

use crate::SqliteStore;
use crate::convert::{finish_page, limit_plus_one, parsed, ts};

/// The WHERE clause selecting a subject's rows, with its two parameters.
fn scope(subject: &Subject) -> (&'static str, String, i64) {
    match subject {
        Subject::Campaign { id } => ("campaign_id = ?1 AND ?2 = ?2", id.clone(), 0),
        Subject::JourneyVersion { id, version } => (
            "journey_id = ?1 AND version = ?2",
            id.clone(),
            i64::from(*version),
        ),
        Subject::Journey { id } => ("journey_id = ?1 AND ?2 = ?2", id.clone(), 0),
    }
}

/// The subject's key in the tally tables, and its version (`None`: every version).
fn tally_key(subject: &Subject) -> (String, Option<u32>) {
    match subject {
        Subject::Campaign { id } => (format!("campaign:{id}"), Some(0)),
        Subject::JourneyVersion { id, version } => (format!("journey:{id}"), Some(*version)),
        Subject::Journey { id } => (format!("journey:{id}"), None),
    }
}

fn add(c: &mut Counters, outcome: &str, n: u64) {
    match outcome {
        "delivered" => c.sent += n,
        "failed" => c.failed += n,
        "skipped" => c.skipped += n,
        "cancelled" => c.cancelled += n,
        _ => {}
    }
}

/// Every figure comes from the tallies the triggers keep, so a call costs the same at a
/// million profiles as at ten. The one exception is transient: a stopped journey version's
/// steps the sweeper has not reached yet are counted where they are.
fn compute(c: &Connection, subject: &Subject) -> rusqlite::Result<Results> {
    let (key, version) = tally_key(subject);
    let mut results = Results::default();
    let mut stmt = c.prepare_cached(
        "SELECT outcome, node_id, channel_id, SUM(n) FROM tallies
         WHERE subject = ?1 AND (?2 IS NULL OR version = ?2) GROUP BY 1, 2, 3",
    )?;
    let mut rows = stmt.query(params![key, version])?;
    while let Some(r) = rows.next()? {
        let outcome: String = r.get(0)?;
        let node: String = r.get(1)?;
        let channel: String = r.get(2)?;
        let n: u64 = r.get(3)?;
        // Cancelled work is counted from the work tallies below: a brake cancels rows without
        // writing a record per row.
        match outcome.as_str() {
            "delivered" => results.delivered += n,
            "failed" => results.failed += n,
            "skipped" => results.skipped += n,
            "unknown" => results.unknown += n,
            _ => {}
        }
        if !node.is_empty() && outcome != "cancelled" {
            add(results.per_node.entry(node).or_default(), &outcome, n);
        }
        if !channel.is_empty() {
            add(results.per_channel.entry(channel).or_default(), &outcome, n);
        }
    }
    let mut work = c.prepare_cached(
        "SELECT state, node_id, SUM(n) FROM work_tallies
         WHERE subject = ?1 AND (?2 IS NULL OR version = ?2) GROUP BY 1, 2",
    )?;
    let work: Vec<(String, String, u64)> = work
        .query_map(params![key, version], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })?
        .collect::<rusqlite::Result<_>>()?;
    match subject {
        Subject::Campaign { id } => {
            // A campaign's "people" are its planned sends: one per audience member per occurrence.
            for (state, _, n) in work {
                match state.as_str() {
                    "planned" => results.entered += n,
                    "done" => results.completed += n,
                    "cancelled" => results.cancelled += n,
                    _ => {}
                }
            }
            let open = results
                .entered
                .saturating_sub(results.completed + results.cancelled);
            // An aborted campaign's rows still waiting for the sweeper are cancelled already.
            let aborted: bool = c
                .prepare_cached("SELECT status = 'aborted' FROM campaigns WHERE id = ?1")?
                .query_row([id], |r| r.get(0))
                .optional()?
                .unwrap_or(false);
            if aborted {
                results.cancelled += open;
            } else {
                results.active = open;
            }
        }
        Subject::JourneyVersion { .. } | Subject::Journey { .. } => {
            for (_, node, n) in work {
                results.per_node.entry(node).or_default().cancelled += n;
                results.cancelled += n;
            }
            journey_people(c, subject, &mut results)?;
        }
    }
    Ok(results)
}

/// Enrollments by state and arrivals per node; a stopped version's enrollments and steps
/// that the sweeper has not reached yet are stopped and cancelled already.
fn journey_people(
    c: &Connection,
    subject: &Subject,
    results: &mut Results,
) -> rusqlite::Result<()> {
    let (filter, id, version) = scope(subject);
    let mut stmt = c.prepare_cached(&format!(
        "SELECT t.version, t.state, t.n, v.status = 'stopped' FROM enrollment_tallies t
         JOIN journey_versions v ON v.journey_id = t.journey_id AND v.version = t.version
         WHERE t.{filter}",
        filter = filter.replace("version", "t.version")
    ))?;
    let rows: Vec<(u32, String, u64, bool)> = stmt
        .query_map(params![id, version], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
        })?
        .collect::<rusqlite::Result<_>>()?;
    let mut stopped_versions = Vec::new();
    for (v, state, n, stopped) in rows {
        results.entered += n;
        let state = if state == "active" && stopped {
            "stopped"
        } else {
            state.as_str()
        };
        match state {
            "active" => results.active += n,
            "completed" => results.completed += n,
            "stopped" => results.stopped += n,
            "removed" => results.removed += n,
            "timed_out" => results.timed_out += n,
            _ => {}
        }
        if stopped && !stopped_versions.contains(&v) {
            stopped_versions.push(v);
        }
    }
    let mut stmt = c.prepare_cached(&format!(
        "SELECT node_id, SUM(n) FROM node_visits WHERE {filter} GROUP BY node_id"
    ))?;
    let mut rows = stmt.query(params![id, version])?;
    while let Some(r) = rows.next()? {
        results.per_node.entry(r.get(0)?).or_default().entered += r.get::<_, u64>(1)?;
    }
    for v in stopped_versions {
        // The step each active enrollment waits for, at its node.
        let mut stmt = c.prepare_cached(
            "SELECT node_id, COUNT(*) FROM enrollments INDEXED BY enrollments_one_active
             WHERE journey_id = ?1 AND version = ?2 AND state = 'active'
             AND due_at IS NOT NULL AND node_id IS NOT NULL GROUP BY node_id",
        )?;
        let mut rows = stmt.query(params![id, v])?;
        while let Some(r) = rows.next()? {
            let n: u64 = r.get(1)?;
            results.per_node.entry(r.get(0)?).or_default().cancelled += n;
            results.cancelled += n;
        }
    }
    Ok(())
}

const ACTION_COLUMNS: &str =
    "seq, at, profile_id, version, occurrence, node_id, channel_id, action, outcome, detail";

fn action(r: &Row<'_>) -> rusqlite::Result<(i64, ActionRecord)> {
    Ok((
        r.get(0)?,
        ActionRecord {
            at: ts(r.get(1)?),
            profile_id: r.get(2)?,
            version: r.get(3)?,
            occurrence: r.get(4)?,
            node_id: r.get(5)?,
            channel_id: r.get(6)?,
            action: r.get(7)?,
            outcome: parsed(8, &r.get::<_, String>(8)?, Outcome::parse)?,
            detail: r.get(9)?,
        },
    ))
}

fn action_query(subject: &Subject) -> (String, String, i64) {
    let (filter, id, version) = scope(subject);
    let sql = format!(
        "SELECT {ACTION_COLUMNS} FROM actions WHERE {filter} AND (?3 IS NULL OR outcome = ?3)
         AND (?4 IS NULL OR profile_id = ?4) AND seq > ?5 ORDER BY seq LIMIT ?6"
    );
    (sql, id, version)
}

impl ResultStore for SqliteStore {
    fn results(&self, subject: &Subject) -> Result<Results, StoreError> {
        self.read(|c| compute(c, subject))
    }

    fn actions(
        &self,
        subject: &Subject,
        filter: &ActionFilter,
        page: &PageRequest,
    ) -> Result<Page<ActionRecord>, StoreError> {
        let (sql, id, version) = action_query(subject);
        let after: i64 = page
            .cursor
            .as_deref()
            .and_then(|c| c.parse().ok())
            .unwrap_or(0);
        let rows = self.read(|c| {
            c.prepare_cached(&sql)?
                .query_map(
                    params![
                        id,
                        version,
                        filter.outcome.map(Outcome::as_str),
                        filter.profile_id,
                        after,
                        limit_plus_one(page)
                    ],
                    action,
                )?
                .collect::<rusqlite::Result<Vec<_>>>()
        })?;
        let page = finish_page(rows, page, |(seq, _)| seq.to_string());
        Ok(Page {
            items: page.items.into_iter().map(|(_, a)| a).collect(),
            next_cursor: page.next_cursor,
        })
    }

    fn for_each_action(
        &self,
        subject: &Subject,
        filter: &ActionFilter,
        sink: &mut dyn FnMut(&ActionRecord) -> bool,
    ) -> Result<(), StoreError> {
        let (sql, id, version) = action_query(subject);
        self.read(|c| {
            let mut stmt = c.prepare_cached(&sql)?;
            let mut rows = stmt.query(params![
                id,
                version,
                filter.outcome.map(Outcome::as_str),
                filter.profile_id,
                0,
                i64::MAX
            ])?;
            while let Some(r) = rows.next()? {
                let (_, record) = action(r)?;
                if !sink(&record) {
                    break;
                }
            }
            Ok(())
        })
    }
}
