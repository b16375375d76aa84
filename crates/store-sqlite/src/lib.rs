//! The embedded SQLite store: one file under the data directory, WAL journal, migrations at
//! start. One writer connection (SQLite allows one writer at a time anyway, and batching many
//! rows into one transaction is what makes it fast) and a small pool of readers, which WAL lets
//! run beside the writer.

mod audit;
mod campaigns;
mod catalog;
mod checkpoint;
mod convert;
mod effects;
mod entry;
mod failures;
mod fanout;
mod journeys;
mod profiles;
mod removal;
mod results;
mod schema;
mod sessions;
mod steps;
mod sweep;
mod tallies;
mod tokens;
mod work;

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, PoisonError};

use rusqlite::{Connection, OpenFlags, Transaction};
use sluice_store::StoreError;

const READERS: usize = 4;
/// Prepared statements kept per connection: every statement the store runs, with room to spare.
const STATEMENTS: usize = 256;
pub const DATABASE_FILE: &str = "sluice.db";

pub struct SqliteStore {
    path: PathBuf,
    writer: Mutex<Connection>,
    readers: Mutex<Vec<Connection>>,
    pub(crate) checkpointer: checkpoint::Checkpointer,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

fn backend(e: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(e.to_string())
}

impl SqliteStore {
    /// Opens (creating if missing) `<data_dir>/sluice.db` and migrates it.
    pub fn open_dir(data_dir: &Path) -> Result<Self, StoreError> {
        std::fs::create_dir_all(data_dir).map_err(|e| {
            StoreError::Backend(format!(
                "cannot create data dir {}: {e}",
                data_dir.display()
            ))
        })?;
        Self::open(&data_dir.join(DATABASE_FILE))
    }

    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let mut writer = Connection::open(path).map_err(backend)?;
        configure(&writer).map_err(backend)?;
        schema::migrate(&mut writer).map_err(backend)?;
        writer
            .pragma_update(
                None,
                "wal_autocheckpoint",
                checkpoint::WRITER_FALLBACK_PAGES,
            )
            .map_err(backend)?;
        let checkpointer = checkpoint::Checkpointer::start(path)?;
        let mut readers = Vec::with_capacity(READERS);
        for _ in 0..READERS {
            let reader = Connection::open_with_flags(
                path,
                OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
            )
            .map_err(backend)?;
            reader
                .busy_timeout(std::time::Duration::from_secs(5))
                .map_err(backend)?;
            plan_once(&reader).map_err(backend)?;
            readers.push(reader);
        }
        Ok(Self {
            path: path.to_owned(),
            writer: Mutex::new(writer),
            readers: Mutex::new(readers),
            checkpointer,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs `f` on a reader connection (a snapshot of the last commit).
    fn read<T>(&self, f: impl FnOnce(&Connection) -> rusqlite::Result<T>) -> Result<T, StoreError> {
        let conn = self
            .readers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop();
        let Some(conn) = conn else {
            // All readers busy: a fresh connection is cheaper than waiting.
            let conn = Connection::open_with_flags(&self.path, OpenFlags::SQLITE_OPEN_READ_ONLY)
                .map_err(backend)?;
            return f(&conn).map_err(backend);
        };
        let result = f(&conn).map_err(backend);
        self.readers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(conn);
        result
    }

    fn writer(&self) -> MutexGuard<'_, Connection> {
        self.writer.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Runs `f` in one write transaction, committed only if `f` returns `Ok`.
    fn write<T, E>(&self, f: impl FnOnce(&Transaction<'_>) -> Result<T, E>) -> Result<T, E>
    where
        E: From<StoreError>,
    {
        let mut conn = self.writer();
        let tx = conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(|e| E::from(backend(e)))?;
        let value = f(&tx)?;
        tx.commit().map_err(|e| E::from(backend(e)))?;
        drop(conn);
        self.checkpointer.committed();
        Ok(value)
    }
}

fn configure(conn: &Connection) -> rusqlite::Result<()> {
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    // NORMAL in WAL mode keeps the database consistent across a crash; only the last
    // transactions before a power loss may be lost, never a torn write.
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    // 16 MB. A bigger cache was slower for the engine: SQLite walks every cached page at
    // commit once a b-tree balance has used the lock-byte page number as a temporary
    // (`pcache1TruncateUnsafe`), and the engine commits often. Measured in BENCHMARKS.md.
    conn.pragma_update(None, "cache_size", -16_000)?;
    conn.pragma_update(None, "temp_store", "MEMORY")?;
    plan_once(conn)
}

/// Statements are prepared once per connection and kept. SQLite would otherwise prepare some
/// again whenever a parameter is bound anew (a bound `LIMIT`, a filter on a small integer
/// such as a version), which cost the engine's hot path a fifth of its time; our queries are
/// written for the plans their indexes give, so the planner need not look at the values.
fn plan_once(conn: &Connection) -> rusqlite::Result<()> {
    conn.set_db_config(
        rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG,
        true,
    )?;
    conn.set_prepared_statement_cache_capacity(STATEMENTS);
    Ok(())
}
