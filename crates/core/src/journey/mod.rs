//! Journeys: a graph each profile walks, in versions with their own lifecycle (J1–J9).

mod definition;
pub mod lifecycle;
#[cfg(test)]
mod tests;
mod version;

pub use definition::*;
pub use lifecycle::{JourneyAction, JourneyEffect, JourneyTransition};
pub use version::{Journey, JourneyVersion, JourneyVersionStatus};
