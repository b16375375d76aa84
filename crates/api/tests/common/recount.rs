//! An oracle for Results (B2): the figures counted again, the slow way, from the rows of the
//! SQLite file, to compare with what `/results` answers from its counters. Whatever path
//! forgets a counter makes the two disagree.

use std::path::Path;

use rusqlite::{Connection, OpenFlags, params};
use serde_json::{Value, json};

fn open(data_dir: &Path) -> Connection {
    Connection::open_with_flags(data_dir.join("sluice.db"), OpenFlags::SQLITE_OPEN_READ_ONLY)
        .expect("open the database read-only")
}

fn count(c: &Connection, sql: &str, p: impl rusqlite::Params) -> u64 {
    c.query_row(sql, p, |r| r.get(0)).expect(sql)
}

/// A campaign's people and outcomes, from its send rows and its action log.
pub fn campaign(data_dir: &Path, id: &str) -> Value {
    let c = open(data_dir);
    let aborted = count(
        &c,
        "SELECT status = 'aborted' FROM campaigns WHERE id = ?1",
        [id],
    ) == 1;
    let sends = |states: &str| {
        count(
            &c,
            &format!(
                "SELECT COUNT(*) FROM due_work WHERE campaign_id = ?1
                 AND kind IN ('send', 'trigger') AND state IN ({states})"
            ),
            [id],
        )
    };
    let open = sends("'pending', 'claimed'");
    let outcome = |o: &str| {
        count(
            &c,
            "SELECT COUNT(*) FROM actions WHERE campaign_id = ?1 AND outcome = ?2",
            params![id, o],
        )
    };
    json!({
        "entered": sends("'pending', 'claimed', 'done', 'cancelled'"),
        "active": if aborted { 0 } else { open },
        "completed": sends("'done'"),
        "cancelled": sends("'cancelled'") + if aborted { open } else { 0 },
        "delivered": outcome("delivered"),
        "failed": outcome("failed"),
        "skipped": outcome("skipped"),
    })
}

/// A journey version's people and outcomes, from its enrollments, steps and action log.
pub fn journey_version(data_dir: &Path, id: &str, version: u32) -> Value {
    let c = open(data_dir);
    let stopped = count(
        &c,
        "SELECT status = 'stopped' FROM journey_versions WHERE journey_id = ?1 AND version = ?2",
        params![id, version],
    ) == 1;
    let people = |state: &str| {
        count(
            &c,
            "SELECT COUNT(*) FROM enrollments WHERE journey_id = ?1 AND version = ?2
             AND state = ?3",
            params![id, version, state],
        )
    };
    let active = people("active");
    let outcome = |o: &str| {
        count(
            &c,
            "SELECT COUNT(*) FROM actions WHERE journey_id = ?1 AND version = ?2
             AND outcome = ?3",
            params![id, version, o],
        )
    };
    // Each enrollment records its steps that were cancelled (at its node); a stopped
    // version's open steps the sweeper has not reached yet are cancelled already.
    let steps = |filter: &str| {
        count(
            &c,
            &format!(
                "SELECT IFNULL(SUM({filter}), 0) FROM enrollments WHERE journey_id = ?1
                 AND version = ?2 AND node_id IS NOT NULL"
            ),
            params![id, version],
        )
    };
    let unswept = if stopped {
        steps("due_at IS NOT NULL")
    } else {
        0
    };
    json!({
        "entered": count(
            &c,
            "SELECT COUNT(*) FROM enrollments WHERE journey_id = ?1 AND version = ?2",
            params![id, version],
        ),
        "active": if stopped { 0 } else { active },
        "completed": people("completed"),
        "stopped": people("stopped") + if stopped { active } else { 0 },
        "removed": people("removed"),
        "timed_out": people("timed_out"),
        "cancelled": steps("steps_cancelled") + unswept,
        "delivered": outcome("delivered"),
        "failed": outcome("failed"),
        "skipped": outcome("skipped"),
    })
}

/// Asserts that each figure of `recounted` is what `results` says.
pub fn assert_agrees(results: &Value, recounted: &Value, what: &str) {
    for (name, expected) in recounted.as_object().expect("an object") {
        assert_eq!(
            &results[name], expected,
            "{what}: `{name}` in /results is not what the rows say ({results})"
        );
    }
}
