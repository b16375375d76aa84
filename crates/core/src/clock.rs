//! Time as the engine sees it: the system clock, or a manual clock that only moves when told
//! (`--test-clock`). Nothing in Sluice reads the wall clock except through a `Clock`.

use std::sync::{Arc, RwLock};

use jiff::Timestamp;

pub trait Clock: Send + Sync + std::fmt::Debug {
    fn now(&self) -> Timestamp;
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
