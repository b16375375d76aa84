//! Group commit. Chunks of deliveries and journey steps finish at about the same time, and
//! each used to write its settlements in a transaction of its own, one after another behind
//! the store's single writer. Now a chunk queues its settlements; whoever takes the writer next
//! writes what is queued by then (oldest first, up to `MAX_ROWS`) in one transaction. A commit
//! costs about the same for 64 rows as for 256 (the WAL frames of the pages touched, the
//! page-cache bookkeeping), so the busier the engine is, the fewer commits it makes per row.
//! Each chunk still learns its own outcomes, and only after they are written: a brake waiting
//! on the chunk is released no earlier than before.
//!
//! The write runs in a task of its own that holds the writer and the chunks' answers, so a
//! caller that goes away (its batch failed elsewhere) cannot leave the others without theirs.

use std::sync::{Arc, Mutex, PoisonError};

use sluice_core::clock::Now;
use sluice_store::{Settlement, Store, StoreError};
use tokio::sync::oneshot;

use crate::Engine;

type Written = Result<Vec<bool>, StoreError>;

/// Settlements written in one transaction at most (four chunks of the default size): a brake
/// waiting on a chunk waits for the transaction that writes it, which must stay short.
const MAX_ROWS: usize = 256;

fn lost() -> StoreError {
    StoreError::Backend("the settlement's writer stopped before writing it".into())
}

struct Queued {
    settlements: Vec<Settlement>,
    at: Now,
    done: oneshot::Sender<Written>,
}

#[derive(Default)]
pub(crate) struct Settler {
    queue: Mutex<Vec<Queued>>,
    writing: Arc<tokio::sync::Mutex<()>>,
}

impl Settler {
    /// Writes `settlements` (with whatever else is queued) and returns, for each, whether its
    /// lease still held.
    pub(crate) async fn settle(
        &self,
        engine: &Engine,
        settlements: Vec<Settlement>,
        at: Now,
    ) -> Written {
        if settlements.is_empty() {
            return Ok(Vec::new());
        }
        let (done, mut written) = oneshot::channel();
        self.queue
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(Queued {
                settlements,
                at,
                done,
            });
        loop {
            let writer = Arc::clone(&self.writing).lock_owned().await;
            // The writer before us may have taken ours along.
            match written.try_recv() {
                Ok(result) => return result,
                Err(oneshot::error::TryRecvError::Closed) => return Err(lost()),
                Err(oneshot::error::TryRecvError::Empty) => {}
            }
            let group = self.next_group();
            let store = Arc::clone(&engine.store);
            let write = tokio::spawn(async move {
                write_group(&store, group).await;
                drop(writer);
            });
            // Ours may be in this group or a later one; either way the task finishes it.
            if let Err(e) = write.await {
                tracing::error!(error = %e, "a settlement write failed");
            }
        }
    }

    /// The oldest queued settlements, up to `MAX_ROWS` (at least one chunk's).
    fn next_group(&self) -> Vec<Queued> {
        let mut queue = self.queue.lock().unwrap_or_else(PoisonError::into_inner);
        let mut rows = 0;
        let take = queue
            .iter()
            .take_while(|q| {
                rows += q.settlements.len();
                rows <= MAX_ROWS
            })
            .count()
            .max(1)
            .min(queue.len());
        queue.drain(..take).collect()
    }
}

/// Writes a group in one transaction and hands each chunk its outcomes. If the transaction
/// fails, each chunk is written again on its own, so one bad settlement fails only its chunk.
async fn write_group(store: &Arc<dyn Store>, group: Vec<Queued>) {
    let Some(at) = group
        .iter()
        .map(|q| q.at)
        .max_by_key(|at| (at.business, at.real))
    else {
        return;
    };
    let mut all = Vec::with_capacity(group.iter().map(|q| q.settlements.len()).sum());
    let mut chunks = Vec::with_capacity(group.len());
    for q in group {
        chunks.push((q.settlements.len(), q.at, q.done));
        all.extend(q.settlements);
    }
    let (result, all) = {
        let store = Arc::clone(store);
        match tokio::task::spawn_blocking(move || (store.settle(&all, at), all)).await {
            Ok(done) => done,
            Err(e) => {
                let e = StoreError::Backend(format!("settlement task failed: {e}"));
                for (_, _, done) in chunks {
                    let _ = done.send(Err(e.clone()));
                }
                return;
            }
        }
    };
    match result {
        Ok(held) => {
            let mut held = held.into_iter();
            for (size, _, done) in chunks {
                let _ = done.send(Ok(held.by_ref().take(size).collect()));
            }
        }
        Err(e) if chunks.len() == 1 => {
            for (_, _, done) in chunks {
                let _ = done.send(Err(e.clone()));
            }
        }
        Err(e) => {
            tracing::warn!(error = %e, chunks = chunks.len(),
                "a grouped settlement failed; writing its chunks one by one");
            let mut all = all.into_iter();
            for (size, at, done) in chunks {
                let settlements: Vec<Settlement> = all.by_ref().take(size).collect();
                let result = crate::blocking(store, move |s| s.settle(&settlements, at)).await;
                let _ = done.send(result);
            }
        }
    }
}
