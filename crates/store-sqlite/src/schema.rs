//! The schema, as an ordered list of migrations applied at start (tracked in `user_version`).
//! Times are INTEGER milliseconds since the Unix epoch so they sort and index as numbers.

use rusqlite::Connection;

const MIGRATIONS: &[&str] = &[
    r"
CREATE TABLE tokens (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    role TEXT NOT NULL,
    hash TEXT NOT NULL UNIQUE,
    created_at INTEGER NOT NULL
);
CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);

-- Keyed by the user's id alone (one b-tree, no rowid): imports and lookups touch one index.
CREATE TABLE profiles (
    id TEXT PRIMARY KEY,
    attributes TEXT NOT NULL,
    consent TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE events (
    seq INTEGER PRIMARY KEY,
    profile_id TEXT NOT NULL,
    name TEXT NOT NULL,
    properties TEXT NOT NULL,
    at INTEGER NOT NULL,
    received_at INTEGER NOT NULL
);
CREATE INDEX events_by_profile ON events(profile_id, name, at);
CREATE INDEX events_by_name ON events(name, at);

CREATE TABLE audiences (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    rule TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE TABLE channels (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    type TEXT NOT NULL,
    config TEXT NOT NULL,
    rate_limit_per_second INTEGER,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE TABLE templates (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    channel_type TEXT NOT NULL,
    subject TEXT,
    body TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);

-- `epoch` is bumped by every brake. Nothing reads it yet: the engine's in-process `Brakes`
-- hold B1; the scale-out work decides what a brake checks across nodes.
CREATE TABLE campaigns (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    status TEXT NOT NULL,
    epoch INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX campaigns_by_status ON campaigns(status, id);
CREATE TABLE campaign_versions (
    campaign_id TEXT NOT NULL REFERENCES campaigns(id) ON DELETE CASCADE,
    version INTEGER NOT NULL,
    state TEXT NOT NULL,
    channel_id TEXT NOT NULL,
    template_id TEXT NOT NULL,
    audience_id TEXT,
    schedule TEXT NOT NULL,
    channel_type TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    activated_at INTEGER,
    PRIMARY KEY (campaign_id, version)
);
CREATE TABLE occurrences (
    campaign_id TEXT NOT NULL REFERENCES campaigns(id) ON DELETE CASCADE,
    n INTEGER NOT NULL,
    version INTEGER NOT NULL,
    scheduled_for INTEGER NOT NULL,
    started_at INTEGER,
    finished_at INTEGER,
    state TEXT NOT NULL,
    PRIMARY KEY (campaign_id, n)
);

CREATE TABLE journeys (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE TABLE journey_versions (
    journey_id TEXT NOT NULL REFERENCES journeys(id) ON DELETE CASCADE,
    version INTEGER NOT NULL,
    status TEXT NOT NULL,
    definition TEXT NOT NULL,
    entry_event TEXT,
    epoch INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    published_at INTEGER,
    closed_at INTEGER,
    stopped_at INTEGER,
    finished_at INTEGER,
    PRIMARY KEY (journey_id, version)
);
CREATE INDEX journey_versions_by_entry ON journey_versions(entry_event) WHERE status = 'live';

-- One row per profile passage; a profile is never inside the same version twice at once (J8).
CREATE TABLE enrollments (
    id INTEGER PRIMARY KEY,
    journey_id TEXT NOT NULL,
    version INTEGER NOT NULL,
    profile_id TEXT NOT NULL,
    state TEXT NOT NULL,
    node_id TEXT,
    entered_at INTEGER NOT NULL,
    left_at INTEGER,
    deadline INTEGER NOT NULL
);
CREATE UNIQUE INDEX enrollments_one_active ON enrollments(journey_id, version, profile_id)
    WHERE state = 'active';
CREATE INDEX enrollments_by_version ON enrollments(journey_id, version, state, id);
CREATE INDEX enrollments_by_profile ON enrollments(profile_id, journey_id, version);

-- Due work: every send, occurrence, journey step and entry read is a row with a due time.
-- Workers claim pending rows in batches with a lease and write outcomes back fenced by attempt.
CREATE TABLE due_work (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    campaign_id TEXT,
    journey_id TEXT,
    version INTEGER NOT NULL,
    occurrence INTEGER,
    enrollment_id INTEGER,
    node_id TEXT,
    profile_id TEXT,
    due_at INTEGER NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending',
    attempt INTEGER NOT NULL DEFAULT 0,
    lease_until INTEGER,
    idempotency_key TEXT UNIQUE,
    payload TEXT
);
CREATE INDEX due_work_ready ON due_work(due_at, id) WHERE state = 'pending';
CREATE INDEX due_work_by_campaign ON due_work(campaign_id, occurrence, state)
    WHERE campaign_id IS NOT NULL;
CREATE INDEX due_work_leased ON due_work(lease_until) WHERE state = 'claimed';
CREATE INDEX due_work_by_journey ON due_work(journey_id, version, state) WHERE journey_id IS NOT NULL;
CREATE INDEX due_work_by_enrollment ON due_work(enrollment_id) WHERE enrollment_id IS NOT NULL;

-- The action log: append-only; the idempotency key makes a second record of a delivery impossible.
CREATE TABLE actions (
    seq INTEGER PRIMARY KEY,
    at INTEGER NOT NULL,
    campaign_id TEXT,
    journey_id TEXT,
    version INTEGER NOT NULL,
    occurrence INTEGER,
    node_id TEXT,
    channel_id TEXT,
    profile_id TEXT NOT NULL,
    action TEXT NOT NULL,
    outcome TEXT NOT NULL,
    detail TEXT,
    idempotency_key TEXT UNIQUE
);
CREATE INDEX actions_by_campaign ON actions(campaign_id, seq) WHERE campaign_id IS NOT NULL;
CREATE INDEX actions_by_journey ON actions(journey_id, version, seq) WHERE journey_id IS NOT NULL;

CREATE TABLE audit (
    seq INTEGER PRIMARY KEY,
    at INTEGER NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    subject_type TEXT NOT NULL,
    subject_id TEXT NOT NULL,
    version INTEGER,
    reason TEXT,
    from_status TEXT,
    to_status TEXT
);
CREATE INDEX audit_by_subject ON audit(subject_type, subject_id, seq);

CREATE TABLE notifications (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    at INTEGER NOT NULL,
    kind TEXT NOT NULL,
    subject_type TEXT NOT NULL,
    subject_id TEXT NOT NULL,
    version INTEGER,
    actor TEXT NOT NULL,
    reason TEXT,
    summary TEXT NOT NULL,
    read INTEGER NOT NULL DEFAULT 0
);
",
    r"
-- Brakes answer in constant time: they read counters instead of counting rows, and leave the
-- rows they end to a sweeper (`sweeps`) that cancels them in small batches afterwards.

-- Sends of the campaign still to be made (pending or claimed) while it is not aborted.
ALTER TABLE campaigns ADD COLUMN open_sends INTEGER NOT NULL DEFAULT 0;
UPDATE campaigns SET open_sends = (
    SELECT COUNT(*) FROM due_work WHERE campaign_id = campaigns.id
    AND kind IN ('send', 'trigger') AND state IN ('pending', 'claimed'));
-- Profiles inside the version while it is not stopped.
ALTER TABLE journey_versions ADD COLUMN inside INTEGER NOT NULL DEFAULT 0;
UPDATE journey_versions SET inside = (
    SELECT COUNT(*) FROM enrollments e WHERE e.journey_id = journey_versions.journey_id
    AND e.version = journey_versions.version AND e.state = 'active');

-- The properties of the event a profile entered by, for its messages' templates (`event`).
ALTER TABLE enrollments ADD COLUMN event TEXT;

-- Fan-outs (a page of an audience each) are claimed ahead of the rest; this finds the few of
-- them without walking past every pending send.
CREATE INDEX due_work_fan_outs ON due_work(due_at, id)
    WHERE state = 'pending' AND kind IN ('occurrence', 'journey_entry');

-- Outcomes of the action log per campaign (version 0: a campaign's counts span its versions)
-- or journey version, kept by a trigger so no insert path can forget them.
CREATE TABLE tallies (
    subject TEXT NOT NULL,
    version INTEGER NOT NULL,
    outcome TEXT NOT NULL,
    n INTEGER NOT NULL,
    PRIMARY KEY (subject, version, outcome)
) WITHOUT ROWID;
INSERT INTO tallies (subject, version, outcome, n)
    SELECT IIF(campaign_id IS NOT NULL, 'campaign:' || campaign_id, 'journey:' || journey_id),
           IIF(campaign_id IS NOT NULL, 0, version), outcome, COUNT(*)
    FROM actions GROUP BY 1, 2, 3;
CREATE TRIGGER actions_tally AFTER INSERT ON actions BEGIN
    INSERT INTO tallies (subject, version, outcome, n)
    VALUES (IIF(NEW.campaign_id IS NOT NULL, 'campaign:' || NEW.campaign_id,
                'journey:' || NEW.journey_id),
            IIF(NEW.campaign_id IS NOT NULL, 0, NEW.version), NEW.outcome, 1)
    ON CONFLICT (subject, version, outcome) DO UPDATE SET n = n + 1;
END;

-- How many times profiles arrived at each node of a journey version (B2 per node `entered`).
CREATE TABLE node_visits (
    journey_id TEXT NOT NULL,
    version INTEGER NOT NULL,
    node_id TEXT NOT NULL,
    n INTEGER NOT NULL,
    PRIMARY KEY (journey_id, version, node_id)
) WITHOUT ROWID;
-- Before this table the steps were the record: one per node a step started at.
INSERT INTO node_visits (journey_id, version, node_id, n)
    SELECT journey_id, version, node_id, COUNT(*) FROM due_work
    WHERE kind = 'journey_step' AND node_id IS NOT NULL GROUP BY 1, 2, 3;

-- An aborted campaign or stopped journey version whose rows are still to be swept: its pending
-- work cancelled, its enrollments marked stopped (as of `at`). Until then readers treat those
-- rows as what the brake made them.
CREATE TABLE sweeps (
    id INTEGER PRIMARY KEY,
    campaign_id TEXT,
    journey_id TEXT,
    version INTEGER,
    at INTEGER NOT NULL
);
",
    r"
-- Results (B2) read counters, never rows: the action log's outcomes per node and channel, the
-- states of a campaign's sends and of a journey version's enrollments, and the journey steps
-- cancelled per node. ('' stands for no node or no channel, so the keys stay unique.) The
-- work of the engine (records written, sends planned and ended, steps cancelled) is counted
-- per batch by the store's code (tallies.rs): a trigger on `actions` or `due_work` would give
-- every statement there a statement journal. Enrollments changing state, once or twice per
-- profile, are counted by triggers.
DROP TRIGGER actions_tally;
DROP TABLE tallies;
CREATE TABLE tallies (
    subject TEXT NOT NULL,
    version INTEGER NOT NULL,
    outcome TEXT NOT NULL,
    node_id TEXT NOT NULL,
    channel_id TEXT NOT NULL,
    n INTEGER NOT NULL,
    PRIMARY KEY (subject, version, outcome, node_id, channel_id)
) WITHOUT ROWID;
INSERT INTO tallies (subject, version, outcome, node_id, channel_id, n)
    SELECT IIF(campaign_id IS NOT NULL, 'campaign:' || campaign_id, 'journey:' || journey_id),
           IIF(campaign_id IS NOT NULL, 0, version), outcome, IFNULL(node_id, ''),
           IFNULL(channel_id, ''), COUNT(*)
    FROM actions GROUP BY 1, 2, 3, 4, 5;

-- Enrollments per journey version and state.
CREATE TABLE enrollment_tallies (
    journey_id TEXT NOT NULL,
    version INTEGER NOT NULL,
    state TEXT NOT NULL,
    n INTEGER NOT NULL,
    PRIMARY KEY (journey_id, version, state)
) WITHOUT ROWID;
INSERT INTO enrollment_tallies (journey_id, version, state, n)
    SELECT journey_id, version, state, COUNT(*) FROM enrollments GROUP BY 1, 2, 3;
CREATE TRIGGER enrollments_tally_entered AFTER INSERT ON enrollments BEGIN
    INSERT INTO enrollment_tallies (journey_id, version, state, n)
    VALUES (NEW.journey_id, NEW.version, NEW.state, 1)
    ON CONFLICT (journey_id, version, state) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER enrollments_tally_moved AFTER UPDATE OF state ON enrollments
WHEN OLD.state <> NEW.state BEGIN
    UPDATE enrollment_tallies SET n = n - 1
    WHERE journey_id = OLD.journey_id AND version = OLD.version AND state = OLD.state;
    INSERT INTO enrollment_tallies (journey_id, version, state, n)
    VALUES (NEW.journey_id, NEW.version, NEW.state, 1)
    ON CONFLICT (journey_id, version, state) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER enrollments_tally_deleted AFTER DELETE ON enrollments BEGIN
    UPDATE enrollment_tallies SET n = n - 1
    WHERE journey_id = OLD.journey_id AND version = OLD.version AND state = OLD.state;
END;

-- A campaign's sends (version 0: they span its versions): `planned`, `done` and `cancelled`;
-- and a journey version's steps `cancelled` per node.
CREATE TABLE work_tallies (
    subject TEXT NOT NULL,
    version INTEGER NOT NULL,
    state TEXT NOT NULL,
    node_id TEXT NOT NULL,
    n INTEGER NOT NULL,
    PRIMARY KEY (subject, version, state, node_id)
) WITHOUT ROWID;
INSERT INTO work_tallies (subject, version, state, node_id, n)
    SELECT 'campaign:' || campaign_id, 0, 'planned', '', COUNT(*) FROM due_work
    WHERE kind IN ('send', 'trigger') GROUP BY 1;
INSERT INTO work_tallies (subject, version, state, node_id, n)
    SELECT 'campaign:' || campaign_id, 0, state, '', COUNT(*) FROM due_work
    WHERE kind IN ('send', 'trigger') AND state IN ('done', 'cancelled') GROUP BY 1, 3;
INSERT INTO work_tallies (subject, version, state, node_id, n)
    SELECT 'journey:' || journey_id, version, 'cancelled', node_id, COUNT(*) FROM due_work
    WHERE kind = 'journey_step' AND node_id IS NOT NULL AND state = 'cancelled' GROUP BY 1, 2, 4;
",
    // 4
    r"
-- Enrollments entering and leaving are counted per batch by the store's code (tallies.rs),
-- like the rest of the engine's work: their triggers gave every step that ends a journey a
-- statement journal, a third of the time spent settling it. (No row was ever deleted.)
DROP TRIGGER enrollments_tally_entered;
DROP TRIGGER enrollments_tally_moved;
DROP TRIGGER enrollments_tally_deleted;
",
    // 5
    r"
-- An enrollment leaving moved its entry in `enrollments_by_version`, keyed by state: a delete
-- and an insert for every step that ends a journey, for lookups that only need a version's
-- enrollments in order (its active ones are `enrollments_one_active`). And the open steps of
-- a version are all that is looked up in `due_work_by_journey`: swept rows leave it, so a
-- sweep reads only what is left to sweep. (A claim still rewrites its entry: SQLite updates a
-- partial index whenever a column of its WHERE changes.) A query for the open steps of a
-- version says `state IN ('pending', 'claimed')` word for word, so that SQLite uses the index.
DROP INDEX due_work_by_journey;
CREATE INDEX due_work_by_journey ON due_work(journey_id, version)
    WHERE journey_id IS NOT NULL AND state IN ('pending', 'claimed');
DROP INDEX enrollments_by_version;
CREATE INDEX enrollments_by_version ON enrollments(journey_id, version);
",
    // 6
    r"
-- A journey step lives in its enrollment's row: an active enrollment waits for exactly one
-- step, so a row of its own per step (inserted, claimed, deleted, each moving five index
-- entries) only copied what the enrollment already knew. Now a claim moves one index entry
-- (`enrollments_due`) and a step settles in one update of the enrollment.
--   step_at: when the open step fires; with the enrollment, its node and `resume`, the
--     step's identity (its messages' idempotency key). NULL: no open step.
--   resume: the node is done (a wait that is over); the walk goes on at its way on.
--   due_at: when the step may be claimed: `step_at` or a retry's time while it waits, the
--     lease's end while it is claimed (a lease that runs out makes it due again). NULL: none.
--   claimed: a worker holds the step (until `due_at`).
--   claims: claims ever made of this enrollment's steps; fences settlements (never repeats).
--   attempt: claims of the open step (retries back off and give up by it).
--   steps_cancelled: steps of this enrollment cancelled (a brake, a removal, an erasure),
--     at its node: the record behind the cancelled counts of the Results tab.
ALTER TABLE enrollments ADD COLUMN step_at INTEGER;
ALTER TABLE enrollments ADD COLUMN resume INTEGER NOT NULL DEFAULT 0;
ALTER TABLE enrollments ADD COLUMN due_at INTEGER;
ALTER TABLE enrollments ADD COLUMN claimed INTEGER NOT NULL DEFAULT 0;
ALTER TABLE enrollments ADD COLUMN claims INTEGER NOT NULL DEFAULT 0;
ALTER TABLE enrollments ADD COLUMN attempt INTEGER NOT NULL DEFAULT 0;
ALTER TABLE enrollments ADD COLUMN steps_cancelled INTEGER NOT NULL DEFAULT 0;
-- Open steps move over as waiting (a claimed one belonged to a process that stopped for the
-- upgrade). The key is now made from the step's columns, in the format later steps' keys had
-- (`step:<enrollment>:<node>:<when>:<resume>`), so their `step_at` is read back from it and a
-- retry goes on under the same key. A first step's key had another format: one that was
-- sent without an answer before the upgrade goes out again under a new key.
UPDATE enrollments SET step_at = IIF(w.keyed,
                                     CAST(substr(w.rest, 1, instr(w.rest, ':') - 1) AS INTEGER),
                                     enrollments.entered_at),
                       due_at = w.due_at, node_id = w.node_id,
                       resume = IFNULL(w.payload ->> '$.resume', 0), attempt = w.attempt,
                       claims = w.attempt
    FROM (SELECT enrollment_id, node_id, due_at, payload, attempt,
                 substr(idempotency_key, 1, length(prefix)) = prefix AS keyed,
                 substr(idempotency_key, length(prefix) + 1) AS rest
          FROM (SELECT *, 'step:' || enrollment_id || ':' || node_id || ':' AS prefix
                FROM due_work WHERE kind = 'journey_step' AND state IN ('pending', 'claimed'))
         ) AS w
    WHERE w.enrollment_id = enrollments.id;
UPDATE enrollments SET steps_cancelled = (
    SELECT COUNT(*) FROM due_work w WHERE w.enrollment_id = enrollments.id
    AND w.kind = 'journey_step' AND w.state = 'cancelled')
    WHERE id IN (SELECT enrollment_id FROM due_work WHERE kind = 'journey_step'
                 AND state = 'cancelled');
DELETE FROM due_work WHERE kind = 'journey_step';
DROP INDEX due_work_by_enrollment;
CREATE INDEX enrollments_due ON enrollments(due_at) WHERE due_at IS NOT NULL;
",
    // 7
    r"
-- Erasing a profile cancels its pending sends: without an index that read every row of
-- `due_work` (a million pending sends: a full scan per erasure, holding the writer). The
-- index is written once per send planned and never moves after (nothing it names changes).
CREATE INDEX due_work_by_profile ON due_work(profile_id) WHERE profile_id IS NOT NULL;
",
    // 8
    r"
-- Two kinds of time. `due_at` is business time (schedules, waits: the clock `--test-clock`
-- drives); `held_until` is real time, until which a row once tried is held back: by a retry's
-- back-off or a rate limit's deferral (a pending `due_work` row), by those or by a lease (an
-- enrollment's step; `due_work` keeps its leases in `lease_until`, now real time too). A held
-- row is claimed through its own index when its real time comes, so a test clock that stands
-- still never stalls it. A row keeps its `held_until` when claimed: released after a crash,
-- it is due again at once through that index, whatever its `due_at` says. Its `due_at` is set to the business time it would be due at if the
-- clock flowed, which keeps it out of the way of the due-order scan on the system clock.
ALTER TABLE due_work ADD COLUMN held_until INTEGER;
CREATE INDEX due_work_held ON due_work(held_until)
    WHERE state = 'pending' AND held_until IS NOT NULL;
ALTER TABLE enrollments ADD COLUMN held_until INTEGER;
-- A closed step (`due_at` NULL) leaves the index whatever `held_until` still says.
CREATE INDEX enrollments_held ON enrollments(held_until)
    WHERE held_until IS NOT NULL AND due_at IS NOT NULL;
-- Steps claimed or waiting to be retried before the upgrade: due_at was their lease's end or
-- their retry's time, which was real time unless a test clock ran; they become held then.
UPDATE enrollments SET held_until = due_at
    WHERE due_at IS NOT NULL AND (claimed = 1 OR attempt > 0);
",
    // 9
    r"
-- Erasing a profile takes its id out of the action log (replaced by an alias that names
-- nobody), so the log must be found by profile without reading all of it; the Results tab's
-- filter by profile reads the same index.
CREATE INDEX actions_by_profile ON actions(profile_id);
",
    // 10
    r"
-- The web UI's sign-in sessions, kept here so that signing out, expiry and a revoked token
-- hold on every node sharing the database. `hash` is the SHA-256 of the cookie's secret (the
-- secret itself is never stored). `token_id` is NULL for a session signed in with
-- SLUICE_ADMIN_TOKEN, whose SHA-256 is then in `env_token_hash`. Revoking a token deletes its
-- sessions; a lookup also joins the token, so none outlives it.
CREATE TABLE web_sessions (
    hash TEXT PRIMARY KEY,
    token_id TEXT,
    env_token_hash TEXT,
    actor TEXT NOT NULL,
    role TEXT NOT NULL,
    csrf TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX web_sessions_by_token ON web_sessions(token_id) WHERE token_id IS NOT NULL;
CREATE INDEX web_sessions_by_expiry ON web_sessions(expires_at);
",
];

/// Brings the database up to the latest schema; each migration runs in its own transaction.
pub fn migrate(conn: &mut Connection) -> rusqlite::Result<()> {
    let current: usize = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(current) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", i + 1)?;
        tx.commit()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use rusqlite::Connection;

    use super::{MIGRATIONS, migrate};

    /// id, step_at, due_at, resume, attempt, claims, claimed, steps_cancelled
    type Step = (i64, Option<i64>, Option<i64>, bool, u32, u32, bool, u32);

    /// Migration 6 moves journey steps from `due_work` into their enrollments: open ones wait
    /// (a claimed one is due again at once), a retried one keeps its key (its first due time
    /// read back from it), cancelled ones are counted on the enrollment, and `due_work` keeps
    /// only the other kinds.
    #[test]
    fn open_steps_move_into_their_enrollments() {
        let mut c = Connection::open_in_memory().expect("open");
        for sql in &MIGRATIONS[..5] {
            c.execute_batch(sql).expect("migration");
        }
        c.pragma_update(None, "user_version", 5).expect("version");
        c.execute_batch(
            "INSERT INTO enrollments (id, journey_id, version, profile_id, state, node_id,
                                      entered_at, deadline)
             VALUES (1, 'j', 1, 'p1', 'active', 'welcome', 3, 99),
                    (2, 'j', 1, 'p2', 'active', 'pause', 0, 99),
                    (3, 'j', 1, 'p3', 'removed', 'welcome', 0, 99);
             INSERT INTO due_work (kind, journey_id, version, enrollment_id, node_id, profile_id,
                                   due_at, state, attempt, lease_until, idempotency_key, payload)
             VALUES ('journey_step', 'j', 1, 1, 'welcome', 'p1', 10, 'claimed', 2, 70,
                     'step:j:1:1:welcome', NULL),
                    ('journey_step', 'j', 1, 2, 'pause', 'p2', 25, 'pending', 1, NULL,
                     'step:2:pause:20:true', '{\"resume\":true}'),
                    ('journey_step', 'j', 1, 3, 'welcome', 'p3', 5, 'cancelled', 0, NULL, 'k3', NULL),
                    ('journey_entry', 'j', 1, NULL, NULL, NULL, 30, 'pending', 0, NULL, 'k4', NULL);",
        )
        .expect("rows");
        migrate(&mut c).expect("migrate");
        let steps: Vec<Step> = c
            .prepare(
                "SELECT id, step_at, due_at, resume, attempt, claims, claimed, steps_cancelled
                 FROM enrollments ORDER BY id",
            )
            .expect("prepare")
            .query_map([], |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                    r.get(6)?,
                    r.get(7)?,
                ))
            })
            .expect("query")
            .collect::<rusqlite::Result<_>>()
            .expect("rows");
        assert_eq!(
            steps,
            [
                (1, Some(3), Some(10), false, 2, 2, false, 0),
                (2, Some(20), Some(25), true, 1, 1, false, 0),
                (3, None, None, false, 0, 0, false, 1),
            ]
        );
        let kinds: Vec<String> = c
            .prepare("SELECT kind FROM due_work")
            .expect("prepare")
            .query_map([], |r| r.get(0))
            .expect("query")
            .collect::<rusqlite::Result<_>>()
            .expect("rows");
        assert_eq!(kinds, ["journey_entry"]);
    }

    /// An erasure finds the profile's pending sends through an index, not a full scan.
    #[test]
    fn erasure_reads_only_the_profiles_sends() {
        let mut c = Connection::open_in_memory().expect("open");
        migrate(&mut c).expect("migrate");
        let plan: Vec<String> = c
            .prepare(&format!(
                "EXPLAIN QUERY PLAN {}",
                crate::profiles::CANCEL_PENDING_WORK
            ))
            .expect("prepare")
            .query_map(["p1"], |r| r.get(3))
            .expect("query")
            .collect::<rusqlite::Result<_>>()
            .expect("plan");
        assert!(
            plan.iter()
                .any(|d| d.contains("USING INDEX due_work_by_profile")),
            "{plan:?}"
        );
    }
}
