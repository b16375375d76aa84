//! Group commit. Chunks of deliveries and journey steps finish at about the same time, and
//! each used to write its settlements in a transaction of its own, one after another behind
//! the store's single writer. Now a chunk queues its settlements; whoever takes the writer next
//! writes everything queued by then in one transaction. A commit costs the same for 64 rows as
//! for 512 (the WAL frames of the pages touched, the page-cache bookkeeping), so the busier the
//! engine is, the fewer commits it makes per row. Each chunk still learns its own outcomes, and
//! only after they are written: a brake waiting on the chunk is released no earlier than before.

use std::sync::{Mutex, PoisonError};

use jiff::Timestamp;
use sluice_store::{Settlement, StoreError};
use tokio::sync::oneshot;

use crate::Engine;

type Written = Result<Vec<bool>, StoreError>;

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
        let writer = self.writing.lock().await;
        // The writer before us may have taken ours along.
        if let Ok(result) = written.try_recv() {
            return result;
        }
        let queued =
            std::mem::take(&mut *self.queue.lock().unwrap_or_else(PoisonError::into_inner));
        let sizes: Vec<usize> = queued.iter().map(|q| q.settlements.len()).collect();
        let at = queued.iter().map(|q| q.at).max().unwrap_or(at);
        let (all, senders): (Vec<Vec<Settlement>>, Vec<oneshot::Sender<Written>>) =
            queued.into_iter().map(|q| (q.settlements, q.done)).unzip();
        let all: Vec<Settlement> = all.into_iter().flatten().collect();
        let result = crate::blocking(&engine.store, move |s| s.settle(&all, at)).await;
        drop(writer);
        match result {
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
        written.await.unwrap_or_else(|_| {
            Err(StoreError::Backend(
                "the settlement's writer stopped before writing it".into(),
            ))
        })
    }
}
