//! Counters kept per batch by the store's own code on its hot paths: the action log's outcomes
//! (`tallies`), arrivals at journey nodes (`node_visits`), sends planned and ended
//! (`work_tallies`), and enrollments entering and leaving (`enrollment_tallies`). A trigger
//! would count each row as it is written, but it makes every statement on those tables keep a
//! statement journal (a copy of each page it touches) and run a second statement per row;
//! counted here they cost one upsert per key per batch.

use rusqlite::{Transaction, params};
use sluice_store::StoreError;

use crate::backend;

/// Outcomes of action records written in one transaction, keyed like `tallies`.
#[derive(Default)]
pub(crate) struct Tallies(Vec<(Outcome, i64)>);

/// A `tallies` key: subject (`campaign:ID`, `journey:ID`), version (0 for a campaign),
/// outcome, node and channel ('' for none).
type Outcome = (String, u32, String, String, String);

impl Tallies {
    /// Counts one record of `outcome` for a campaign (`campaign_id`) or journey version.
    pub(crate) fn add(
        &mut self,
        (campaign_id, journey_id): (Option<&str>, Option<&str>),
        version: u32,
        outcome: &str,
        node_id: Option<&str>,
        channel_id: Option<&str>,
    ) {
        let key = match (campaign_id, journey_id) {
            (Some(c), _) => (format!("campaign:{c}"), 0),
            (None, Some(j)) => (format!("journey:{j}"), version),
            (None, None) => return,
        };
        let key = (
            key.0,
            key.1,
            outcome.to_owned(),
            node_id.unwrap_or_default().to_owned(),
            channel_id.unwrap_or_default().to_owned(),
        );
        match self.0.iter_mut().find(|(k, _)| *k == key) {
            Some((_, n)) => *n += 1,
            None => self.0.push((key, 1)),
        }
    }

    pub(crate) fn write(self, tx: &Transaction<'_>) -> Result<(), StoreError> {
        for ((subject, version, outcome, node_id, channel_id), n) in self.0 {
            tx.prepare_cached(
                "INSERT INTO tallies (subject, version, outcome, node_id, channel_id, n)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT (subject, version, outcome, node_id, channel_id)
                 DO UPDATE SET n = n + excluded.n",
            )
            .and_then(|mut s| s.execute(params![subject, version, outcome, node_id, channel_id, n]))
            .map_err(backend)?;
        }
        Ok(())
    }
}

/// Arrivals at nodes (B2: per node `entered`), counted over a batch and written once per node.
#[derive(Default)]
pub(crate) struct Visits(Vec<((String, u32, String), i64)>);

impl Visits {
    pub(crate) fn add(&mut self, journey_id: &str, version: u32, node: &str) {
        match self
            .0
            .iter_mut()
            .find(|((j, v, n), _)| j == journey_id && *v == version && n == node)
        {
            Some((_, count)) => *count += 1,
            None => self
                .0
                .push(((journey_id.to_owned(), version, node.to_owned()), 1)),
        }
    }

    pub(crate) fn write(self, tx: &Transaction<'_>) -> Result<(), StoreError> {
        for ((journey_id, version, node), n) in self.0 {
            tx.prepare_cached(
                "INSERT INTO node_visits (journey_id, version, node_id, n) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (journey_id, version, node_id) DO UPDATE SET n = n + excluded.n",
            )
            .and_then(|mut s| s.execute(params![journey_id, version, node, n]))
            .map_err(backend)?;
        }
        Ok(())
    }
}

/// Counts `n` more sends planned for a campaign (its Results' `entered`).
pub(crate) fn sends_planned(
    tx: &Transaction<'_>,
    campaign_id: &str,
    n: u64,
) -> Result<(), StoreError> {
    if n == 0 {
        return Ok(());
    }
    tx.prepare_cached(
        "INSERT INTO work_tallies (subject, version, state, node_id, n)
         VALUES ('campaign:' || ?1, 0, 'planned', '', ?2)
         ON CONFLICT (subject, version, state, node_id) DO UPDATE SET n = n + excluded.n",
    )
    .and_then(|mut s| s.execute(params![campaign_id, n]))
    .map_err(backend)?;
    Ok(())
}

/// Sends and journey steps that ended in one transaction, keyed like `work_tallies`: a
/// campaign's sends `done` or `cancelled`, a journey version's steps `cancelled` per node.
/// Other kinds of work (occurrences, entries, a step that is done) are not counted.
#[derive(Default)]
pub(crate) struct Ended(Vec<(WorkKey, i64)>);

/// A `work_tallies` key: subject, version, state and node ('' for none).
type WorkKey = (String, u32, &'static str, String);

/// A due row as far as `Ended` needs it: kind, campaign, journey, version and node.
pub(crate) type EndedRow = (String, Option<String>, Option<String>, u32, Option<String>);

impl Ended {
    /// Counts a due row (a campaign's send) as having become `state` (`done` or
    /// `cancelled`), or as no longer being in it when `n` is -1. Journey steps are not rows
    /// (they live in their enrollments): see `step_cancelled`.
    pub(crate) fn add(&mut self, row: &EndedRow, state: &'static str, n: i64) {
        if let ("send" | "trigger", Some(c)) = (row.0.as_str(), &row.1) {
            self.bump((format!("campaign:{c}"), 0, state, String::new()), n);
        }
    }

    /// Counts the step an enrollment waited for at `node_id` as cancelled.
    pub(crate) fn step_cancelled(&mut self, journey_id: &str, version: u32, node_id: Option<&str>) {
        if let Some(node) = node_id {
            let key = (
                format!("journey:{journey_id}"),
                version,
                "cancelled",
                node.to_owned(),
            );
            self.bump(key, 1);
        }
    }

    fn bump(&mut self, key: WorkKey, n: i64) {
        match self.0.iter_mut().find(|(k, _)| *k == key) {
            Some((_, count)) => *count += n,
            None => self.0.push((key, n)),
        }
    }

    pub(crate) fn write(self, tx: &Transaction<'_>) -> Result<(), StoreError> {
        for ((subject, version, state, node_id), n) in self.0 {
            if n == 0 {
                continue;
            }
            tx.prepare_cached(
                "INSERT INTO work_tallies (subject, version, state, node_id, n)
                 VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (subject, version, state, node_id) DO UPDATE SET n = n + excluded.n",
            )
            .and_then(|mut s| s.execute(params![subject, version, state, node_id, n]))
            .map_err(backend)?;
        }
        Ok(())
    }
}

/// Reads an `EndedRow` from `RETURNING kind, campaign_id, journey_id, version, node_id`.
pub(crate) fn ended_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<EndedRow> {
    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
}

/// Runs an UPDATE that cancels rows and returns them (`RETURNING kind, campaign_id,
/// journey_id, version, node_id`), counting them; the rows it cancelled.
pub(crate) fn cancel_rows(
    tx: &Transaction<'_>,
    sql: &str,
    p: impl rusqlite::Params,
    ended: &mut Ended,
) -> Result<Vec<EndedRow>, StoreError> {
    let rows: Vec<EndedRow> = tx
        .prepare_cached(sql)
        .and_then(|mut s| s.query_map(p, ended_row)?.collect())
        .map_err(backend)?;
    for row in &rows {
        ended.add(row, "cancelled", 1);
    }
    Ok(rows)
}

/// Enrollments that entered or changed state in one transaction, keyed like
/// `enrollment_tallies` (journey, version, state): each one that enters adds to `active`, each
/// one that leaves moves from `active` to the state it left in. Written with the version's
/// `inside` count, which moves with `active` while the version is not stopped.
#[derive(Default)]
pub(crate) struct Enrolled(Vec<((String, u32, String), i64)>);

impl Enrolled {
    pub(crate) fn entered(&mut self, journey_id: &str, version: u32) {
        self.add(journey_id, version, "active", 1);
    }

    /// `n` enrollments of the version left `active` for `state`.
    pub(crate) fn left(&mut self, journey_id: &str, version: u32, state: &str, n: i64) {
        self.add(journey_id, version, "active", -n);
        self.add(journey_id, version, state, n);
    }

    fn add(&mut self, journey_id: &str, version: u32, state: &str, n: i64) {
        match self
            .0
            .iter_mut()
            .find(|((j, v, s), _)| j == journey_id && *v == version && s == state)
        {
            Some((_, count)) => *count += n,
            None => self
                .0
                .push(((journey_id.to_owned(), version, state.to_owned()), n)),
        }
    }

    pub(crate) fn write(self, tx: &Transaction<'_>) -> Result<(), StoreError> {
        for ((journey_id, version, state), n) in self.0 {
            if n == 0 {
                continue;
            }
            if state == "active" {
                crate::effects::move_inside(tx, &journey_id, version, n)?;
            }
            tx.prepare_cached(
                "INSERT INTO enrollment_tallies (journey_id, version, state, n)
                 VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (journey_id, version, state) DO UPDATE SET n = n + excluded.n",
            )
            .and_then(|mut s| s.execute(params![journey_id, version, state, n]))
            .map_err(backend)?;
        }
        Ok(())
    }
}

/// What profiles entering journeys in one transaction add up to: their enrollments, and their
/// arrivals at start nodes that are messages (any other start node is counted by the first
/// step's walk).
#[derive(Default)]
pub(crate) struct Entered {
    pub(crate) enrolled: Enrolled,
    pub(crate) visits: Visits,
}

impl Entered {
    pub(crate) fn write(self, tx: &Transaction<'_>) -> Result<(), StoreError> {
        self.enrolled.write(tx)?;
        self.visits.write(tx)
    }
}
