//! WAL checkpoints beside the writer. SQLite would run them inside the commit that crosses its
//! threshold, on the one writer connection every write waits for: a tenth of the engine's
//! write time went to copying pages back into the database file and syncing it. Here a thread
//! of its own does it with its own connection after commits (PASSIVE: it never blocks the
//! writer or a reader), on the core the writer is not using.

use std::path::Path;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread::JoinHandle;
use std::time::Duration;

use rusqlite::Connection;
use sluice_store::StoreError;

use crate::backend;

/// Commits are gathered this long before a checkpoint runs, so a burst of small transactions
/// costs one checkpoint.
const GATHER: Duration = Duration::from_millis(20);

/// The writer falls back to checkpointing itself past this many WAL pages (~64 MB), should
/// the thread fall behind.
pub(crate) const WRITER_FALLBACK_PAGES: u32 = 16_000;

pub(crate) struct Checkpointer {
    commits: Option<SyncSender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Checkpointer {
    pub(crate) fn start(path: &Path) -> Result<Self, StoreError> {
        let conn = Connection::open(path).map_err(backend)?;
        conn.busy_timeout(Duration::from_secs(5)).map_err(backend)?;
        let (commits, wake) = sync_channel(1);
        let thread = std::thread::Builder::new()
            .name("sqlite-checkpoint".into())
            .spawn(move || run(&conn, &wake))
            .map_err(backend)?;
        Ok(Self {
            commits: Some(commits),
            thread: Some(thread),
        })
    }

    /// Says a transaction was committed. Never waits: a wake-up already pending covers this
    /// commit too, and a thread that is gone leaves checkpoints to the writer's fallback.
    pub(crate) fn committed(&self) {
        if let Some(commits) = &self.commits {
            let _ = commits.try_send(());
        }
    }
}

fn run(conn: &Connection, wake: &Receiver<()>) {
    while wake.recv().is_ok() {
        std::thread::sleep(GATHER);
        // Wake-ups that came while sleeping are covered by this checkpoint.
        while wake.try_recv().is_ok() {}
        if let Err(e) = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
            tracing::warn!(error = %e, "WAL checkpoint failed; the writer will do it");
        }
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        // Closing the channel ends the thread's loop after its current checkpoint.
        self.commits = None;
        if let Some(thread) = self.thread.take()
            && thread.join().is_err()
        {
            tracing::error!("the WAL checkpoint thread panicked");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn committed_pages_reach_the_database_file_without_the_writer() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let path = dir.path().join("c.db");
        let writer = Connection::open(&path).expect("opens");
        writer
            .pragma_update(None, "journal_mode", "WAL")
            .expect("WAL");
        // The writer never checkpoints by itself here.
        writer
            .pragma_update(None, "wal_autocheckpoint", 0)
            .expect("no autocheckpoint");
        writer
            .execute_batch("CREATE TABLE t (v BLOB)")
            .expect("a table");
        let checkpointer = Checkpointer::start(&path).expect("starts");
        let size = || std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
        let before = size();
        writer
            .execute(
                "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1000)
                 INSERT INTO t SELECT randomblob(4000) FROM n",
                [],
            )
            .expect("4 MB written");
        checkpointer.committed();
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while size() < before + 4_000_000 {
            assert!(
                std::time::Instant::now() < deadline,
                "the database file still has {} bytes",
                size()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        drop(checkpointer);
        let rows: i64 = writer
            .query_row("SELECT COUNT(*) FROM t", [], |r| r.get(0))
            .expect("counts");
        assert_eq!(rows, 1000);
    }
}
