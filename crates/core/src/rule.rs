//! STAND-IN until the real module lands.
use serde::{Deserialize, Serialize};
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Rule(pub serde_json::Value);
impl Rule {
    pub fn parse(v: &serde_json::Value) -> Result<Self, crate::error::ValidationErrors> { Ok(Self(v.clone())) }
}
impl Rule {
    pub fn event_windows(&self, _now: jiff::Timestamp) -> Vec<(&str, Option<jiff::Timestamp>)> { vec![] }
    pub fn matches(&self, _a: &crate::profile::Attributes, _e: &dyn Fn(&str, Option<jiff::Timestamp>) -> u64, _now: jiff::Timestamp) -> bool { true }
}
