//! The audit log and notifications: written by commands (see `effects`), read here.

use rusqlite::{OptionalExtension, Row, params};
use sluice_core::notification::NotificationKind;
use sluice_store::{
    AuditEntry, AuditStore, Notification, Page, PageRequest, StoreError, Subject, SubjectRef,
};

use crate::SqliteStore;
use crate::convert::{finish_page, json, limit_plus_one, parsed, ts};

fn subject_ref(r: &Row<'_>, at: usize) -> rusqlite::Result<SubjectRef> {
    Ok(SubjectRef {
        kind: r.get(at)?,
        id: r.get(at + 1)?,
        version: r.get(at + 2)?,
    })
}

const NOTIFICATION_COLUMNS: &str =
    "seq, id, at, kind, subject_type, subject_id, version, actor, reason, summary, read";

fn notification(r: &Row<'_>) -> rusqlite::Result<(i64, Notification)> {
    Ok((
        r.get(0)?,
        Notification {
            id: r.get(1)?,
            at: ts(r.get(2)?),
            kind: parsed(3, &r.get::<_, String>(3)?, NotificationKind::parse)?,
            subject: subject_ref(r, 4)?,
            actor: r.get(7)?,
            reason: r.get(8)?,
            summary: json(9, &r.get::<_, String>(9)?)?,
            read: r.get(10)?,
        },
    ))
}

fn cursor_seq(page: &PageRequest) -> i64 {
    page.cursor
        .as_deref()
        .and_then(|c| c.parse().ok())
        .unwrap_or(i64::MAX)
}

impl AuditStore for SqliteStore {
    fn audit(
        &self,
        subject: Option<&Subject>,
        page: &PageRequest,
    ) -> Result<Page<AuditEntry>, StoreError> {
        let rows = self.read(|c| {
            let map = |r: &Row<'_>| -> rusqlite::Result<(i64, AuditEntry)> {
                Ok((
                    r.get(0)?,
                    AuditEntry {
                        at: ts(r.get(1)?),
                        actor: r.get(2)?,
                        action: r.get(3)?,
                        subject: subject_ref(r, 4)?,
                        reason: r.get(7)?,
                        from_status: r.get(8)?,
                        to_status: r.get(9)?,
                    },
                ))
            };
            let columns = "seq, at, actor, action, subject_type, subject_id, version, reason, \
                           from_status, to_status";
            match subject {
                Some(s) => c
                    .prepare_cached(&format!(
                        "SELECT {columns} FROM audit WHERE subject_type = ?1 AND subject_id = ?2
                         AND (?5 IS NULL OR version = ?5) AND seq < ?3 ORDER BY seq DESC LIMIT ?4"
                    ))?
                    .query_map(
                        params![
                            s.kind(),
                            s.id(),
                            cursor_seq(page),
                            limit_plus_one(page),
                            s.version()
                        ],
                        map,
                    )?
                    .collect::<rusqlite::Result<Vec<_>>>(),
                None => c
                    .prepare_cached(&format!(
                        "SELECT {columns} FROM audit WHERE seq < ?1 ORDER BY seq DESC LIMIT ?2"
                    ))?
                    .query_map(params![cursor_seq(page), limit_plus_one(page)], map)?
                    .collect(),
            }
        })?;
        let page = finish_page(rows, page, |(seq, _)| seq.to_string());
        Ok(Page {
            items: page.items.into_iter().map(|(_, e)| e).collect(),
            next_cursor: page.next_cursor,
        })
    }

    fn notifications_after(
        &self,
        position: Option<i64>,
        limit: u32,
    ) -> Result<Vec<(i64, Notification)>, StoreError> {
        self.read(|c| {
            c.prepare_cached(&format!(
                "SELECT {NOTIFICATION_COLUMNS} FROM notifications WHERE seq > ?1
                 ORDER BY seq LIMIT ?2"
            ))?
            .query_map(params![position.unwrap_or(0), limit], notification)?
            .collect()
        })
    }

    fn latest_notification_position(&self) -> Result<i64, StoreError> {
        self.read(|c| {
            c.query_row("SELECT IFNULL(MAX(seq), 0) FROM notifications", [], |r| {
                r.get(0)
            })
        })
    }

    fn notifications(
        &self,
        unread_only: bool,
        page: &PageRequest,
    ) -> Result<Page<Notification>, StoreError> {
        let rows = self.read(|c| {
            c.prepare_cached(&format!(
                "SELECT {NOTIFICATION_COLUMNS} FROM notifications
                 WHERE seq < ?1 AND (?2 = 0 OR read = 0) ORDER BY seq DESC LIMIT ?3"
            ))?
            .query_map(
                params![cursor_seq(page), unread_only, limit_plus_one(page)],
                notification,
            )?
            .collect::<rusqlite::Result<Vec<_>>>()
        })?;
        let page = finish_page(rows, page, |(seq, _)| seq.to_string());
        Ok(Page {
            items: page.items.into_iter().map(|(_, n)| n).collect(),
            next_cursor: page.next_cursor,
        })
    }

    fn mark_notification_read(&self, id: &str) -> Result<Option<Notification>, StoreError> {
        self.write(|tx| {
            tx.execute("UPDATE notifications SET read = 1 WHERE id = ?1", [id])
                .map_err(crate::backend)?;
            tx.query_row(
                &format!("SELECT {NOTIFICATION_COLUMNS} FROM notifications WHERE id = ?1"),
                [id],
                notification,
            )
            .optional()
            .map(|n| n.map(|(_, n)| n))
            .map_err(crate::backend)
        })
    }
}
