//! STAND-IN until the real module lands.
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct JourneyDefinition { pub entry: serde_json::Value, pub start: String, pub nodes: Vec<serde_json::Value> }
impl JourneyDefinition {
    pub fn entry_first_run(&self, _now: Timestamp) -> Option<Timestamp> { None }
}
impl JourneyDefinition {
    pub fn entry_event(&self) -> Option<&str> { None }
    pub fn admits(&self, _previous: Option<Timestamp>, _now: Timestamp) -> bool { true }
    pub fn deadline(&self, now: Timestamp) -> Timestamp { now }
}
