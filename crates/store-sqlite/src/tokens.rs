//! API tokens (only their hashes) and settings.

use jiff::Timestamp;
use rusqlite::{OptionalExtension, params};
use sluice_store::{ApiToken, NewToken, Role, SettingsStore, StoreError, TokenStore};

use crate::SqliteStore;
use crate::convert::{ms, parsed, ts};

impl TokenStore for SqliteStore {
    fn create_token(&self, token: &NewToken, now: Timestamp) -> Result<ApiToken, StoreError> {
        self.write(|tx| {
            tx.execute(
                "INSERT INTO tokens (id, name, role, hash, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![
                    token.id,
                    token.name,
                    token.role.as_str(),
                    token.hash,
                    ms(now)
                ],
            )
            .map_err(crate::backend)?;
            Ok::<_, StoreError>(())
        })?;
        Ok(ApiToken {
            id: token.id.clone(),
            name: token.name.clone(),
            role: token.role,
            created_at: now,
        })
    }

    fn token_by_hash(&self, hash: &str) -> Result<Option<ApiToken>, StoreError> {
        self.read(|c| {
            c.query_row(
                "SELECT id, name, role, created_at FROM tokens WHERE hash = ?1",
                [hash],
                |r| {
                    Ok(ApiToken {
                        id: r.get(0)?,
                        name: r.get(1)?,
                        role: parsed(2, &r.get::<_, String>(2)?, Role::parse)?,
                        created_at: ts(r.get(3)?),
                    })
                },
            )
            .optional()
        })
    }

    fn token_count(&self) -> Result<u64, StoreError> {
        self.read(|c| c.query_row("SELECT COUNT(*) FROM tokens", [], |r| r.get(0)))
    }

    fn revoke_token(&self, id: &str) -> Result<bool, StoreError> {
        self.write(|tx| {
            tx.execute("DELETE FROM web_sessions WHERE token_id = ?1", [id])
                .map_err(crate::backend)?;
            let deleted = tx
                .execute("DELETE FROM tokens WHERE id = ?1", [id])
                .map_err(crate::backend)?;
            Ok::<_, StoreError>(deleted > 0)
        })
    }
}

impl SettingsStore for SqliteStore {
    fn setting(&self, key: &str) -> Result<Option<String>, StoreError> {
        self.read(|c| {
            c.query_row("SELECT value FROM settings WHERE key = ?1", [key], |r| {
                r.get(0)
            })
            .optional()
        })
    }

    fn put_setting(&self, key: &str, value: Option<&str>) -> Result<(), StoreError> {
        self.write(|tx| {
            match value {
                Some(v) => tx.execute(
                    "INSERT INTO settings (key, value) VALUES (?1, ?2)
                     ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                    params![key, v],
                ),
                None => tx.execute("DELETE FROM settings WHERE key = ?1", [key]),
            }
            .map_err(crate::backend)?;
            Ok(())
        })
    }
}
