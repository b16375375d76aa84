//! Who may enter a version and until when: the re-entrance rule and the global timeout (J8).

use jiff::Timestamp;

use super::{Entry, JourneyDefinition, Reentry};

impl JourneyDefinition {
    /// The event that enters profiles, for event-entry versions.
    pub fn entry_event(&self) -> Option<&str> {
        match &self.entry {
            Entry::Event { event } => Some(event),
            Entry::Audience { .. } => None,
        }
    }

    /// When an audience-entry version first reads its audience after publishing at `now`.
    pub fn entry_first_run(&self, now: Timestamp) -> Option<Timestamp> {
        match &self.entry {
            Entry::Event { .. } => None,
            Entry::Audience { schedule, .. } => schedule.first_run(now),
        }
    }

    /// Whether a profile not inside the version now may enter it at `now`, given when it last
    /// entered (`None`: never). Being inside already is checked by the store (one active
    /// enrollment per profile and version).
    pub fn admits(&self, last_entered: Option<Timestamp>, now: Timestamp) -> bool {
        match (&self.reentry, last_entered) {
            (_, None) | (Reentry::Always, Some(_)) => true,
            (Reentry::Never, Some(_)) => false,
            (Reentry::After { wait }, Some(at)) => {
                wait.after(at).is_some_and(|ok_from| now >= ok_from)
            }
        }
    }

    /// When a profile entering at `now` leaves with outcome `timed_out` if still inside.
    pub fn deadline(&self, now: Timestamp) -> Timestamp {
        self.timeout.after(now).unwrap_or(Timestamp::MAX)
    }
}
