//! Journeys: a graph each profile walks, in versions with their own lifecycle (J1–J9). A
//! version's definition, its graph checks (J2), and the state machine of its status.

mod definition;
#[cfg(test)]
mod definition_tests;
mod entry;
mod graph;
#[cfg(test)]
mod graph_tests;
pub mod lifecycle;
#[cfg(test)]
mod tests;
mod version;
pub mod walk;

pub use definition::{DEFAULT_TIMEOUT, Entry, JourneyDefinition, Node, Reentry, References};
pub use lifecycle::{JourneyAction, JourneyEffect, JourneyTransition};
pub use version::{Journey, JourneyVersion, JourneyVersionStatus};
