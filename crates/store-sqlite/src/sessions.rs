//! `web_sessions`: the web UI's sign-in sessions (migration 10). The only code that writes
//! the table, with `tokens.rs`, whose revocation deletes a token's sessions.

use jiff::Timestamp;
use rusqlite::{OptionalExtension, params};
use sluice_store::{NewWebSession, Role, SessionStore, StoreError, WebSession};

use crate::SqliteStore;
use crate::convert::{ms, parsed, ts};

impl SessionStore for SqliteStore {
    fn insert_session(&self, new: &NewWebSession) -> Result<(), StoreError> {
        let s = &new.session;
        self.write(|tx| {
            tx.execute(
                "INSERT INTO web_sessions (hash, token_id, env_token_hash, actor, role, csrf,
                                           created_at, expires_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![
                    new.hash,
                    s.token_id,
                    s.env_token_hash,
                    s.actor,
                    s.role.as_str(),
                    s.csrf,
                    ms(s.created_at),
                    ms(s.expires_at)
                ],
            )
            .map_err(crate::backend)?;
            Ok::<_, StoreError>(())
        })
    }

    fn session_by_hash(
        &self,
        hash: &str,
        now: Timestamp,
    ) -> Result<Option<WebSession>, StoreError> {
        // The join makes a session die with its token even if a revocation ever left a row.
        self.read(|c| {
            c.query_row(
                "SELECT s.token_id, s.env_token_hash, s.actor, s.role, s.csrf, s.created_at,
                        s.expires_at
                 FROM web_sessions s
                 WHERE s.hash = ?1 AND s.expires_at > ?2
                   AND (s.token_id IS NULL
                        OR EXISTS (SELECT 1 FROM tokens t WHERE t.id = s.token_id))",
                params![hash, ms(now)],
                |r| {
                    Ok(WebSession {
                        token_id: r.get(0)?,
                        env_token_hash: r.get(1)?,
                        actor: r.get(2)?,
                        role: parsed(3, &r.get::<_, String>(3)?, Role::parse)?,
                        csrf: r.get(4)?,
                        created_at: ts(r.get(5)?),
                        expires_at: ts(r.get(6)?),
                    })
                },
            )
            .optional()
        })
    }

    fn delete_session(&self, hash: &str) -> Result<bool, StoreError> {
        self.write(|tx| {
            let n = tx
                .execute("DELETE FROM web_sessions WHERE hash = ?1", [hash])
                .map_err(crate::backend)?;
            Ok::<_, StoreError>(n > 0)
        })
    }

    fn delete_expired_sessions(&self, now: Timestamp) -> Result<u64, StoreError> {
        self.write(|tx| {
            let n = tx
                .execute("DELETE FROM web_sessions WHERE expires_at <= ?1", [ms(now)])
                .map_err(crate::backend)?;
            Ok::<_, StoreError>(n as u64)
        })
    }
}
