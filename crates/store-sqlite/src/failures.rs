//! B3 `failed` notifications: a settlement batch's failures, told at most once an hour per
//! campaign or journey version.

use jiff::Timestamp;
use rusqlite::{Transaction, params};
use sluice_core::notification::NotificationKind;
use sluice_store::{ActionRecord, CommandContext, StoreError};

use crate::backend;
use crate::convert::ms;

/// A delivery recorded as failed: its campaign or journey version, and why.
pub(crate) struct Failure {
    subject_type: &'static str,
    subject_id: String,
    version: u32,
    detail: Option<String>,
}

impl Failure {
    pub(crate) fn of(
        (subject_type, subject_id): (&'static str, &str),
        record: &ActionRecord,
    ) -> Self {
        Self {
            subject_type,
            subject_id: subject_id.to_owned(),
            version: record.version,
            detail: record.detail.clone(),
        }
    }
}

/// How often a campaign or journey version is told about failures at most.
const FAILURE_NOTICE_EVERY_MS: i64 = 3_600_000;

/// B3: failures are notified, at most once an hour per campaign or journey version, with the
/// counts so far and the latest failure's reason, so an outage is one notification rather
/// than one per message.
pub(crate) fn notify_failures(
    tx: &Transaction<'_>,
    failures: Vec<Failure>,
    now: Timestamp,
) -> Result<(), StoreError> {
    let mut seen: Vec<(&str, String, u32)> = Vec::new();
    for f in failures.into_iter().rev() {
        // A campaign's counts span its versions: its notices are per campaign.
        let version = (f.subject_type == "journey").then_some(f.version);
        let key = (f.subject_type, f.subject_id.clone(), version.unwrap_or(0));
        if seen.contains(&key) {
            continue;
        }
        seen.push(key);
        let last: Option<i64> = tx
            .prepare_cached(
                "SELECT MAX(at) FROM notifications WHERE kind = 'failed' AND subject_type = ?1
                 AND subject_id = ?2 AND (?3 IS NULL OR version = ?3)",
            )
            .and_then(|mut s| {
                s.query_row(params![f.subject_type, f.subject_id, version], |r| r.get(0))
            })
            .map_err(backend)?;
        if last.is_some_and(|at| ms(now) - at < FAILURE_NOTICE_EVERY_MS) {
            continue;
        }
        let summary = match version {
            None => crate::effects::outcome_counts(tx, Some(&f.subject_id), None)?,
            Some(v) => crate::effects::outcome_counts(tx, None, Some((&f.subject_id, v)))?,
        };
        let ctx = CommandContext {
            actor: "engine".into(),
            reason: f.detail,
            now,
        };
        crate::effects::insert_notification(
            tx,
            &ctx,
            NotificationKind::Failed,
            (f.subject_type, &f.subject_id, Some(f.version)),
            &summary,
        )?;
    }
    Ok(())
}
