//! Group commit. Chunks of deliveries and journey steps finish at about the same time, and
//! each used to write its settlements in a transaction of its own, one after another behind
//! the store's single writer. Now a chunk queues its settlements; whoever takes the writer next
//! writes what is queued by then (oldest first, up to `MAX_ROWS`) in one transaction. A commit costs the same for 64 rows as
//! for 512 (the WAL frames of the pages touched, the page-cache bookkeeping), so the busier the
//! engine is, the fewer commits it makes per row. Each chunk still learns its own outcomes, and
//! only after they are written: a brake waiting on the chunk is released no earlier than before.

use std::sync::{Mutex, PoisonError};

use jiff::Timestamp;
use sluice_store::{Settlement, StoreError};
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
    at: Timestamp,
    done: oneshot::Sender<Written>,
}

#[derive(Default)]
pub(crate) struct Settler {
    queue: Mutex<Vec<Queued>>,
    writing: tokio::sync::Mutex<()>,
}

impl Settler {
    /// Writes `settlements` (with whatever else is queued) and returns, for each, whether its
    /// lease still held.
    pub(crate) async fn settle(
        &self,
        engine: &Engine,
        settlements: Vec<Settlement>,
        at: Timestamp,
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
            let writer = self.writing.lock().await;
            // The writer before us may have taken ours along.
            match written.try_recv() {
                Ok(result) => return result,
                Err(oneshot::error::TryRecvError::Closed) => return Err(lost()),
                Err(oneshot::error::TryRecvError::Empty) => {}
            }
            self.write_next(engine).await;
            drop(writer);
        }
    }

    /// Writes the oldest queued settlements, up to `MAX_ROWS` (at least one chunk's), in one
    /// transaction, and hands each chunk its outcomes.
    async fn write_next(&self, engine: &Engine) {
        let queued: Vec<Queued> = {
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
        };
        let Some(at) = queued.iter().map(|q| q.at).max() else {
            return;
        };
        let sizes: Vec<usize> = queued.iter().map(|q| q.settlements.len()).collect();
        let (all, senders): (Vec<Vec<Settlement>>, Vec<oneshot::Sender<Written>>) =
            queued.into_iter().map(|q| (q.settlements, q.done)).unzip();
        let all: Vec<Settlement> = all.into_iter().flatten().collect();
        match crate::blocking(&engine.store, move |s| s.settle(&all, at)).await {
            Ok(held) => {
                let mut held = held.into_iter();
                for (size, sender) in sizes.into_iter().zip(senders) {
                    let _ = sender.send(Ok(held.by_ref().take(size).collect()));
                }
            }
            Err(e) => {
                for sender in senders {
                    let _ = sender.send(Err(e.clone()));
                }
            }
        }
    }
}
