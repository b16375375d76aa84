//! The claims of the batches being carried out. Real time never jumps, and each batch renews
//! its own leases as it goes. The test clock jumps: a jump past a lease would let the other
//! worker take over work still in flight and send it again. So a jump first carries every held
//! lease past it (`Engine::jump_clock`), and no batch claims while it does.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};

use sluice_store::Claim;
use tokio::sync::RwLock;

#[derive(Default)]
pub(crate) struct Held {
    batches: Mutex<HashMap<u64, Vec<Claim>>>,
    next: AtomicU64,
    /// Claiming takes it shared, a jump of the clock exclusively.
    pub(crate) gate: RwLock<()>,
}

impl Held {
    /// Holds a batch's claims until the returned guard is dropped (its batch is done).
    pub(crate) fn hold(&self, claims: Vec<Claim>) -> Holding<'_> {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        self.lock().insert(id, claims);
        Holding { held: self, id }
    }

    /// Every claim held now.
    pub(crate) fn all(&self) -> Vec<Claim> {
        self.lock().values().flatten().copied().collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Vec<Claim>>> {
        // A panic while holding it cannot leave the map half-written.
        self.batches.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

pub(crate) struct Holding<'a> {
    held: &'a Held,
    id: u64,
}

impl Drop for Holding<'_> {
    fn drop(&mut self) {
        self.held.lock().remove(&self.id);
    }
}
