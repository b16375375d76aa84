//! What a rate-limited channel is given per batch: a quarter of a second's worth of messages.
//! The rest of the batch's messages for it go back to wait in the store, due when the limit
//! will have room (a deferral is not counted as an attempt), so a slow channel never holds the
//! engine — other campaigns, journeys, the next page of a fan-out — for long.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use sluice_channels::RateLimiter;

/// Messages taken so far in one batch, per limiter (keyed by its address: the batch holds
/// every limiter it counts, so no address is reused while it runs).
#[derive(Default)]
pub(crate) struct Allowance(Mutex<HashMap<usize, u32>>);

impl Allowance {
    /// Takes one message for `limiter`: `None` when it goes now, else how much real time from
    /// now it is due again (a rate is messages per real second, whatever the test clock does).
    pub(crate) fn deferred(&self, limiter: &Arc<RateLimiter>) -> Option<Duration> {
        let rate = limiter.per_second()?;
        let mut taken = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let n = taken.entry(Arc::as_ptr(limiter) as usize).or_default();
        *n += 1;
        let allowance = (rate / 4).max(1);
        (*n > allowance).then(|| Duration::from_secs(1) * (*n - allowance) / rate)
    }
}
