//! Time as the engine sees it. There are two kinds, kept apart and named:
//!
//! - **business time** (`Clock::now`, `Now::business`): when schedules fire, waits and
//!   timeouts end, re-entrance is allowed, and what records and summaries say happened. The
//!   system clock, or a manual clock that only moves when told (`--test-clock`).
//! - **real time** (`Now::real`): what leases, rate limits, retry back-off and delivery
//!   time-outs are measured in. It always flows: a manual clock never stops it, so a send
//!   limited to 100 messages a second goes out at that rate whether or not anyone moves the
//!   test clock.
//!
//! Nothing in Sluice reads the wall clock except through a `Clock`.

use std::sync::{Arc, RwLock};

use jiff::Timestamp;

/// Both kinds of time, read together.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Now {
    pub business: Timestamp,
    pub real: Timestamp,
}

pub trait Clock: Send + Sync + std::fmt::Debug {
    /// Business time.
    fn now(&self) -> Timestamp;
    /// Business and real time. Real time is the system's whatever the clock.
    fn read(&self) -> Now {
        Now {
            business: self.now(),
            real: Timestamp::now(),
        }
    }
    /// The manual clock behind this one, when there is one (the test-clock API needs it).
    fn manual(&self) -> Option<&ManualClock> {
        None
    }
}

#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        Timestamp::now()
    }

    /// One reading for both: on the system clock they are the same time.
    fn read(&self) -> Now {
        let now = Timestamp::now();
        Now {
            business: now,
            real: now,
        }
    }
}

/// A clock that stands still until `set` or `advance` moves it. Cloning shares the instant.
#[derive(Debug, Clone)]
pub struct ManualClock {
    now: Arc<RwLock<Timestamp>>,
}

impl ManualClock {
    pub fn new(at: Timestamp) -> Self {
        Self {
            now: Arc::new(RwLock::new(at)),
        }
    }

    /// Moves the clock to `at` unless that is back in time: the current time is the error.
    /// Checked and set under one lock, so two moves never interleave.
    pub fn set_forward(&self, at: Timestamp) -> Result<Timestamp, Timestamp> {
        let mut now = self
            .now
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if at < *now {
            return Err(*now);
        }
        *now = at;
        Ok(at)
    }

    pub fn set(&self, at: Timestamp) -> Timestamp {
        *self
            .now
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = at;
        at
    }

    /// Moves the clock forward by `span`; `None` when the result would leave jiff's range.
    pub fn advance(&self, span: jiff::Span) -> Option<Timestamp> {
        let mut now = self
            .now
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let next = (*now)
            .to_zoned_datetime(jiff::tz::TimeZone::UTC)
            .checked_add(span)
            .ok()?
            .timestamp();
        *now = next;
        Some(next)
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        *self
            .now
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn manual(&self) -> Option<&ManualClock> {
        Some(self)
    }
}
