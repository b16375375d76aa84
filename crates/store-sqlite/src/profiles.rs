//! Profiles and events. Imports and event batches are written in one transaction each, with
//! cached prepared statements: the measured fast path for SQLite (DESIGN.md).

use std::collections::HashMap;

use jiff::Timestamp;
use rusqlite::{Connection, OptionalExtension, Row, Transaction, params};
use sluice_core::journey::JourneyDefinition;
use sluice_core::profile::{Attributes, Consent, Event, Profile};
use sluice_core::rule::{EventCounts, ProfileView, Rule};
use sluice_store::{
    CommandContext, ImportAbort, ImportRow, Page, PageRequest, ProfileStore, StoreError,
};

use crate::convert::{finish_page, json, limit_plus_one, ms, to_json, ts};
use crate::{SqliteStore, backend};

const PROFILE_COLUMNS: &str = "id, attributes, consent, created_at, updated_at";

fn profile(r: &Row<'_>) -> rusqlite::Result<Profile> {
    Ok(Profile {
        id: r.get(0)?,
        attributes: json(1, &r.get::<_, String>(1)?)?,
        consent: json(2, &r.get::<_, String>(2)?)?,
        created_at: ts(r.get(3)?),
        updated_at: ts(r.get(4)?),
    })
}

fn load(c: &Connection, id: &str) -> rusqlite::Result<Option<Profile>> {
    c.prepare_cached(&format!(
        "SELECT {PROFILE_COLUMNS} FROM profiles WHERE id = ?1"
    ))?
    .query_row([id], profile)
    .optional()
}

const UPSERT: &str = "INSERT INTO profiles (id, attributes, consent, created_at, updated_at)
     VALUES (?1, ?2, ?3, ?4, ?5)
     ON CONFLICT (id) DO UPDATE SET attributes = excluded.attributes,
         consent = excluded.consent, updated_at = excluded.updated_at";

/// A live journey version that an event (or its audience) enters.
pub(crate) struct Entrance {
    pub(crate) journey_id: String,
    pub(crate) version: u32,
    pub(crate) definition: JourneyDefinition,
}

fn entrances(tx: &Transaction<'_>, event: &str) -> Result<Vec<Entrance>, StoreError> {
    tx.prepare_cached(
        "SELECT journey_id, version, definition FROM journey_versions
         WHERE entry_event = ?1 AND status = 'live'",
    )
    .and_then(|mut s| {
        s.query_map([event], |r| {
            Ok(Entrance {
                journey_id: r.get(0)?,
                version: r.get(1)?,
                definition: json(2, &r.get::<_, String>(2)?)?,
            })
        })?
        .collect()
    })
    .map_err(backend)
}

/// Enrolls `profile_id` into `e` if its re-entrance rule admits it now (J8), scheduling the
/// first step. Returns whether it entered.
pub(crate) fn enter(
    tx: &Transaction<'_>,
    e: &Entrance,
    profile_id: &str,
    event: Option<&serde_json::Map<String, serde_json::Value>>,
    now: Timestamp,
    entered: &mut crate::tallies::Entered,
) -> Result<bool, StoreError> {
    let previous = match crate::effects::last_enrollment(tx, &e.journey_id, e.version, profile_id)?
    {
        None => None,
        // Inside right now; the partial unique index would refuse a second row anyway.
        Some((_, None)) => return Ok(false),
        Some((entered_at, Some(_))) => Some(ts(entered_at)),
    };
    if !e.definition.admits(previous, now) {
        return Ok(false);
    }
    let deadline = e.definition.deadline(now);
    let event = event.map(to_json).transpose()?;
    // The first step, at the start node, is due at once.
    let inserted = tx
        .prepare_cached(
            "INSERT OR IGNORE INTO enrollments (journey_id, version, profile_id, state, node_id,
                                                entered_at, deadline, event, step_at, due_at)
             VALUES (?1, ?2, ?3, 'active', ?4, ?5, ?6, ?7, ?5, ?5)",
        )
        .and_then(|mut s| {
            s.execute(params![
                e.journey_id,
                e.version,
                profile_id,
                e.definition.start,
                ms(now),
                ms(deadline),
                event
            ])
        })
        .map_err(backend)?;
    if inserted == 0 {
        return Ok(false);
    }
    entered.enrolled.entered(&e.journey_id, e.version);
    // A message start node is sent, not walked: count its arrival here. Any other start node
    // is counted by the first step's walk.
    if matches!(
        e.definition.node(&e.definition.start),
        Some(sluice_core::journey::Node::Message { .. })
    ) {
        entered
            .visits
            .add(&e.journey_id, e.version, &e.definition.start);
    }
    Ok(true)
}

/// An erased profile's pending sends (through `due_work_by_profile`, migration 7).
pub(crate) const CANCEL_PENDING_WORK: &str =
    "UPDATE due_work SET state = 'cancelled' WHERE profile_id = ?1 AND state = 'pending'
     RETURNING kind, campaign_id, journey_id, version, node_id";

/// Erasure keeps no personal data of the profile: the rows that stay — its action records,
/// enrollments and work, which Results and every counter are made of — name it by an alias
/// that names nobody (`erased-<random>`, one per erasure, so its rows still count as one
/// person's), and lose what it sent or was told: event properties, payloads, failure details
/// (an SMTP reply may quote the address) and the idempotency keys built from its id. The
/// counters (tallies, node visits, enrollment states) are kept as they were: they name no one.
fn forget(tx: &rusqlite::Transaction<'_>, id: &str) -> Result<(), StoreError> {
    let alias: String = tx
        .query_row("SELECT 'erased-' || lower(hex(randomblob(12)))", [], |r| {
            r.get(0)
        })
        .map_err(backend)?;
    for sql in [
        "UPDATE actions SET profile_id = ?2, detail = NULL, idempotency_key = NULL
         WHERE profile_id = ?1",
        "UPDATE enrollments SET profile_id = ?2, event = NULL WHERE profile_id = ?1",
        "UPDATE due_work SET profile_id = ?2, payload = NULL, idempotency_key = NULL
         WHERE profile_id = ?1",
    ] {
        tx.prepare_cached(sql)
            .and_then(|mut s| s.execute(params![id, alias]))
            .map_err(backend)?;
    }
    Ok(())
}

impl ProfileStore for SqliteStore {
    fn put_profile(&self, p: &Profile) -> Result<bool, StoreError> {
        self.write(|tx| {
            let existed: bool = tx
                .query_row(
                    "SELECT EXISTS (SELECT 1 FROM profiles WHERE id = ?1)",
                    [&p.id],
                    |r| r.get(0),
                )
                .map_err(backend)?;
            tx.prepare_cached(UPSERT)
                .and_then(|mut s| {
                    s.execute(params![
                        p.id,
                        to_json(&p.attributes).ok(),
                        to_json(&p.consent).ok(),
                        ms(p.created_at),
                        ms(p.updated_at)
                    ])
                })
                .map_err(backend)?;
            Ok(!existed)
        })
    }

    fn patch_profile(
        &self,
        id: &str,
        attributes: &Attributes,
        consent: Option<&Consent>,
        now: Timestamp,
    ) -> Result<Option<Profile>, StoreError> {
        self.write(|tx| {
            let Some(mut p) = load(tx, id).map_err(backend)? else {
                return Ok(None);
            };
            for (k, v) in attributes {
                p.attributes.insert(k.clone(), v.clone());
            }
            if let Some(consent) = consent {
                p.consent
                    .extend(consent.iter().map(|(k, v)| (k.clone(), *v)));
            }
            p.updated_at = now;
            tx.execute(
                "UPDATE profiles SET attributes = ?2, consent = ?3, updated_at = ?4 WHERE id = ?1",
                params![id, to_json(&p.attributes)?, to_json(&p.consent)?, ms(now)],
            )
            .map_err(backend)?;
            Ok(Some(p))
        })
    }

    fn profile(&self, id: &str) -> Result<Option<Profile>, StoreError> {
        self.read(|c| load(c, id))
    }

    fn profiles_by_id(&self, ids: &[String]) -> Result<Vec<Profile>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let ids = to_json(&ids)?;
        self.read(|c| {
            c.prepare_cached(&format!(
                "SELECT {PROFILE_COLUMNS} FROM profiles WHERE id IN (SELECT value FROM json_each(?1))"
            ))?
            .query_map([ids], profile)?
            .collect()
        })
    }

    fn delete_profile(&self, id: &str, now: Timestamp) -> Result<bool, StoreError> {
        self.write(|tx| {
            tx.execute("DELETE FROM events WHERE profile_id = ?1", [id])
                .map_err(backend)?;
            let mut ended = crate::tallies::Ended::default();
            let cancelled = crate::tallies::cancel_rows(tx, CANCEL_PENDING_WORK, [id], &mut ended)?;
            ended.write(tx)?;
            for row in &cancelled {
                if let ("send" | "trigger", Some(campaign_id)) = (row.0.as_str(), &row.1) {
                    crate::effects::move_open_sends(tx, campaign_id, -1)?;
                }
            }
            // Every journey it is inside loses it, and the step it waited for there (claimed
            // or not: a worker's settlement of it finds its claim gone).
            let inside: Vec<(i64, String, u32)> = tx
                .prepare_cached(
                    "UPDATE enrollments SET state = 'removed', left_at = ?2
                     WHERE profile_id = ?1 AND state = 'active'
                     RETURNING id, journey_id, version",
                )
                .and_then(|mut s| {
                    s.query_map(params![id, ms(now)], |r| {
                        Ok((r.get(0)?, r.get(1)?, r.get(2)?))
                    })?
                    .collect()
                })
                .map_err(backend)?;
            // Counted as a removal from flow (`steps::removed`: the enrollment leaves as
            // removed, its pending step is cancelled at its node) without the removal's records
            // and audit entry (`removal`), which would name the profile being erased.
            // J3: leaving a closed version as its last profile finishes it.
            let ctx = CommandContext {
                actor: "system (profile erased)".into(),
                reason: None,
                now,
            };
            for (enrollment, journey_id, version) in inside {
                crate::steps::removed(tx, &journey_id, version, enrollment)?;
                crate::journeys::finish_if_empty(tx, &ctx, &journey_id, version)?;
            }
            forget(tx, id)?;
            Ok(tx
                .execute("DELETE FROM profiles WHERE id = ?1", [id])
                .map_err(backend)?
                == 1)
        })
    }

    fn profiles(&self, page: &PageRequest) -> Result<Page<Profile>, StoreError> {
        let items = self.read(|c| {
            c.prepare_cached(&format!(
                "SELECT {PROFILE_COLUMNS} FROM profiles WHERE id > ?1 ORDER BY id LIMIT ?2"
            ))?
            .query_map(
                params![page.cursor.as_deref().unwrap_or(""), limit_plus_one(page)],
                profile,
            )?
            .collect::<rusqlite::Result<Vec<_>>>()
        })?;
        Ok(finish_page(items, page, |p| p.id.clone()))
    }

    fn import_profiles(
        &self,
        batches: &mut dyn Iterator<Item = Result<Vec<ImportRow>, ImportAbort>>,
        now: Timestamp,
    ) -> Result<Result<u64, ImportAbort>, StoreError> {
        let mut conn = self.writer();
        let tx = conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(backend)?;
        let mut imported = 0;
        {
            let mut upsert = tx
                .prepare_cached(
                    "INSERT INTO profiles (id, attributes, consent, created_at, updated_at)
                     VALUES (?1, ?2, ?3, ?4, ?4)
                     ON CONFLICT (id) DO UPDATE SET attributes = excluded.attributes,
                         consent = CASE WHEN ?5 THEN excluded.consent ELSE profiles.consent END,
                         updated_at = excluded.updated_at",
                )
                .map_err(backend)?;
            let now = ms(now);
            for batch in batches {
                let batch = match batch {
                    Ok(batch) => batch,
                    // Dropping the transaction rolls back every row written so far.
                    Err(abort) => return Ok(Err(abort)),
                };
                for row in &batch {
                    let consent = row.consent.as_ref().map(to_json).transpose()?;
                    upsert
                        .execute(params![
                            row.id,
                            to_json(&row.attributes)?,
                            consent.as_deref().unwrap_or("{}"),
                            now,
                            consent.is_some()
                        ])
                        .map_err(backend)?;
                }
                imported += batch.len() as u64;
            }
        }
        tx.commit().map_err(backend)?;
        drop(conn);
        self.checkpointer.committed();
        Ok(Ok(imported))
    }

    fn record_events(&self, events: &[Event], now: Timestamp) -> Result<u64, StoreError> {
        self.write(|tx| {
            let mut entrances_by_name: HashMap<&str, Vec<Entrance>> = HashMap::new();
            let mut entered = 0;
            let mut counts = crate::tallies::Entered::default();
            for e in events {
                tx.prepare_cached(
                    "INSERT OR IGNORE INTO profiles (id, attributes, consent, created_at, updated_at)
                     VALUES (?1, '{}', '{}', ?2, ?2)",
                )
                .and_then(|mut s| s.execute(params![e.profile_id, ms(now)]))
                .map_err(backend)?;
                tx.prepare_cached(
                    "INSERT INTO events (profile_id, name, properties, at, received_at)
                     VALUES (?1, ?2, ?3, ?4, ?5)",
                )
                .and_then(|mut s| {
                    s.execute(params![e.profile_id, e.name, to_json(&e.properties).ok(), ms(e.timestamp), ms(now)])
                })
                .map_err(backend)?;
                if !entrances_by_name.contains_key(e.name.as_str()) {
                    entrances_by_name.insert(&e.name, entrances(tx, &e.name)?);
                }
                for entrance in &entrances_by_name[e.name.as_str()] {
                    entered += u64::from(enter(tx, entrance, &e.profile_id, Some(&e.properties), now, &mut counts)?);
                }
            }
            counts.write(tx)?;
            Ok(entered)
        })
    }

    fn profile_count(&self) -> Result<u64, StoreError> {
        self.read(|c| c.query_row("SELECT COUNT(*) FROM profiles", [], |r| r.get(0)))
    }

    fn event_count(
        &self,
        profile_id: &str,
        name: &str,
        since: Option<Timestamp>,
    ) -> Result<u64, StoreError> {
        self.read(|c| {
            c.prepare_cached(
                "SELECT COUNT(*) FROM events WHERE profile_id = ?1 AND name = ?2 AND at >= ?3",
            )?
            .query_row(params![profile_id, name, since.map_or(i64::MIN, ms)], |r| {
                r.get(0)
            })
        })
    }

    fn audience_count(&self, rule: &Rule, now: Timestamp) -> Result<u64, StoreError> {
        self.read(|c| {
            let mut n = 0;
            for_each_member(c, rule, now, &mut |_| n += 1)?;
            Ok(n)
        })
    }
}

type CountsByWindow = HashMap<(String, Option<i64>), HashMap<String, u64>>;

/// Event counts of one profile, read from counts loaded once for the whole scan.
struct PreloadedCounts<'a> {
    counts: &'a CountsByWindow,
    profile_id: &'a str,
}

impl EventCounts for PreloadedCounts<'_> {
    fn count(&self, name: &str, since: Option<Timestamp>) -> u64 {
        self.counts
            .get(&(name.to_owned(), since.map(ms)))
            .and_then(|m| m.get(self.profile_id))
            .copied()
            .unwrap_or(0)
    }
}

/// Calls `f` with the id of every profile `rule` holds at `now`, in one pass over the profiles.
/// Event counts are loaded once per (event, window) the rule reads, not once per profile.
pub(crate) fn for_each_member(
    c: &Connection,
    rule: &Rule,
    now: Timestamp,
    f: &mut dyn FnMut(&str),
) -> rusqlite::Result<()> {
    let mut counts: CountsByWindow = HashMap::new();
    for (name, since) in rule.event_windows(now) {
        let since_ms = since.map(ms);
        let mut per_profile = HashMap::new();
        let mut stmt = c.prepare_cached(
            "SELECT profile_id, COUNT(*) FROM events WHERE name = ?1 AND at >= ?2
             GROUP BY profile_id",
        )?;
        let mut rows = stmt.query(params![name, since_ms.unwrap_or(i64::MIN)])?;
        while let Some(r) = rows.next()? {
            per_profile.insert(r.get::<_, String>(0)?, r.get::<_, u64>(1)?);
        }
        counts.insert((name.to_owned(), since_ms), per_profile);
    }
    let mut stmt = c.prepare_cached("SELECT id, attributes FROM profiles")?;
    let mut rows = stmt.query([])?;
    while let Some(r) = rows.next()? {
        let id: String = r.get(0)?;
        if holds(rule, &counts, (&id, &r.get::<_, String>(1)?), now)? {
            f(&id);
        }
    }
    Ok(())
}

/// Whether `rule` holds the profile `id` with its stored `attributes` at `now`, its event
/// counts read from `counts`.
fn holds(
    rule: &Rule,
    counts: &CountsByWindow,
    (id, attributes): (&str, &str),
    now: Timestamp,
) -> rusqlite::Result<bool> {
    let attributes: Attributes = json(1, attributes)?;
    let events = PreloadedCounts {
        counts,
        profile_id: id,
    };
    Ok(rule.matches(&ProfileView {
        attributes: &attributes,
        events: &events,
        now,
    }))
}

/// One page of an audience scan: the members among the `limit` profiles after `after` (in id
/// order), and the last id scanned (`None` when no profile is left). Event counts are loaded
/// for the page's id range only, so each page costs the same however large the audience.
pub(crate) fn members_page(
    c: &Connection,
    rule: &Rule,
    now: Timestamp,
    after: &str,
    limit: u32,
) -> rusqlite::Result<(Vec<String>, Option<String>)> {
    let page: Vec<(String, String)> = c
        .prepare_cached("SELECT id, attributes FROM profiles WHERE id > ?1 ORDER BY id LIMIT ?2")?
        .query_map(params![after, limit], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    let Some(last) = page.last().map(|(id, _)| id.clone()) else {
        return Ok((Vec::new(), None));
    };
    let mut counts: CountsByWindow = HashMap::new();
    for (name, since) in rule.event_windows(now) {
        let since_ms = since.map(ms);
        let mut per_profile = HashMap::new();
        let mut stmt = c.prepare_cached(
            "SELECT profile_id, COUNT(*) FROM events WHERE profile_id > ?3 AND profile_id <= ?4
             AND name = ?1 AND at >= ?2 GROUP BY profile_id",
        )?;
        let mut rows = stmt.query(params![name, since_ms.unwrap_or(i64::MIN), after, last])?;
        while let Some(r) = rows.next()? {
            per_profile.insert(r.get::<_, String>(0)?, r.get::<_, u64>(1)?);
        }
        counts.insert((name.to_owned(), since_ms), per_profile);
    }
    let mut members = Vec::new();
    for (id, attributes) in page {
        if holds(rule, &counts, (&id, &attributes), now)? {
            members.push(id);
        }
    }
    Ok((members, Some(last)))
}
