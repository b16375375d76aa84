//! STAND-IN until the real module lands.
use crate::error::ValidationErrors;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Schedule {
    Immediate,
    Once {
        #[schema(value_type = String)]
        at: Timestamp,
    },
    Recurring {
        cron: String,
        timezone: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[schema(value_type = Option<String>)]
        start: Option<Timestamp>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[schema(value_type = Option<String>)]
        end: Option<Timestamp>,
    },
    Api,
}
impl Schedule {
    pub fn validate(&self, _now: Timestamp) -> Result<(), ValidationErrors> {
        Ok(())
    }
    pub fn first_run(&self, now: Timestamp) -> Option<Timestamp> {
        match self {
            Self::Immediate => Some(now),
            Self::Once { at } => Some(*at),
            Self::Recurring { .. } => Some(now + jiff::SignedDuration::from_hours(1)),
            Self::Api => None,
        }
    }
    pub fn next_after(&self, _after: Timestamp) -> Option<Timestamp> {
        None
    }
    pub fn is_recurring(&self) -> bool {
        matches!(self, Self::Recurring { .. })
    }
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Immediate => "immediate",
            Self::Once { .. } => "once",
            Self::Recurring { .. } => "recurring",
            Self::Api => "api",
        }
    }
}
