//! Results (B2): counters derived from enrollments, due work and the action log.

use rusqlite::{Connection, Row, params};
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

fn add(c: &mut Counters, outcome: &str, n: u64) {
    match outcome {
        "delivered" => c.sent += n,
        "failed" => c.failed += n,
        "skipped" => c.skipped += n,
        "cancelled" => c.cancelled += n,
        _ => {}
    }
}

fn compute(c: &Connection, subject: &Subject) -> rusqlite::Result<Results> {
    let (filter, id, version) = scope(subject);
    let mut results = Results::default();
    let mut stmt = c.prepare_cached(&format!(
        "SELECT node_id, channel_id, outcome, COUNT(*) FROM actions WHERE {filter}
         GROUP BY node_id, channel_id, outcome"
    ))?;
    let mut rows = stmt.query(params![id, version])?;
    while let Some(r) = rows.next()? {
        let node: Option<String> = r.get(0)?;
        let channel: Option<String> = r.get(1)?;
        let outcome: String = r.get(2)?;
        let n: u64 = r.get(3)?;
        // Cancelled work is counted from the due work below: a brake cancels rows without
        // writing a record per row, and a removal records its cancelled steps too.
        match outcome.as_str() {
            "delivered" => results.delivered += n,
            "failed" => results.failed += n,
            "skipped" => results.skipped += n,
            _ => {}
        }
        if let Some(node) = node
            && outcome != "cancelled"
        {
            add(results.per_node.entry(node).or_default(), &outcome, n);
        }
        if let Some(channel) = channel {
            add(results.per_channel.entry(channel).or_default(), &outcome, n);
        }
    }
    match subject {
        Subject::Campaign { .. } => {
            // A campaign's "people" are its planned sends: one per audience member per occurrence.
            // An aborted campaign's rows still waiting for the sweeper are cancelled already.
            let mut stmt = c.prepare_cached(
                "SELECT IIF(state IN ('pending', 'claimed') AND (SELECT status = 'aborted'
                            FROM campaigns WHERE id = ?1), 'cancelled', state), COUNT(*)
                 FROM due_work WHERE campaign_id = ?1 AND kind IN ('send', 'trigger') GROUP BY 1",
            )?;
            let mut rows = stmt.query([&id])?;
            while let Some(r) = rows.next()? {
                let state: String = r.get(0)?;
                let n: u64 = r.get(1)?;
                results.entered += n;
                match state.as_str() {
                    "pending" | "claimed" => results.active += n,
                    "done" => results.completed += n,
                    "cancelled" => results.cancelled += n,
                    _ => {}
                }
            }
        }
        Subject::JourneyVersion { .. } | Subject::Journey { .. } => {
            // A stopped version's enrollments and steps still waiting for the sweeper are
            // stopped and cancelled already.
            let stopped = "(SELECT status = 'stopped' FROM journey_versions v
                            WHERE v.journey_id = enrollments.journey_id AND v.version = enrollments.version)";
            let mut stmt = c.prepare_cached(&format!(
                "SELECT IIF(state = 'active' AND {stopped}, 'stopped', state), COUNT(*)
                 FROM enrollments WHERE {filter} GROUP BY 1"
            ))?;
            let mut rows = stmt.query(params![id, version])?;
            while let Some(r) = rows.next()? {
                let state: String = r.get(0)?;
                let n: u64 = r.get(1)?;
                results.entered += n;
                match state.as_str() {
                    "active" => results.active += n,
                    "completed" => results.completed += n,
                    "stopped" => results.stopped += n,
                    "removed" => results.removed += n,
                    "timed_out" => results.timed_out += n,
                    _ => {}
                }
            }
            // Arrivals per node; cancelled steps per node (a stopped version's pending ones
            // too, swept or not).
            let mut stmt = c.prepare_cached(&format!(
                "SELECT node_id, SUM(n) FROM node_visits WHERE {filter} GROUP BY node_id"
            ))?;
            let mut rows = stmt.query(params![id, version])?;
            while let Some(r) = rows.next()? {
                results.per_node.entry(r.get(0)?).or_default().entered += r.get::<_, u64>(1)?;
            }
            let mut stmt = c.prepare_cached(&format!(
                "SELECT node_id, COUNT(*) FROM due_work WHERE {filter} AND kind = 'journey_step'
                 AND node_id IS NOT NULL
                 AND (state = 'cancelled' OR (state IN ('pending', 'claimed') AND {stopped}))
                 GROUP BY node_id",
                stopped = stopped.replace("enrollments.", "due_work.")
            ))?;
            let mut rows = stmt.query(params![id, version])?;
            while let Some(r) = rows.next()? {
                let n: u64 = r.get(1)?;
                results.per_node.entry(r.get(0)?).or_default().cancelled += n;
                results.cancelled += n;
            }
        }
    }
    Ok(results)
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
