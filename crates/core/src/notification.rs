//! Notifications (B3): what happened to a campaign or journey that someone should know.

use std::fmt;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum NotificationKind {
    Aborted,
    Stopped,
    Closed,
    Finished,
    Failed,
}

impl NotificationKind {
    pub const ALL: [Self; 5] = [
        Self::Aborted,
        Self::Stopped,
        Self::Closed,
        Self::Finished,
        Self::Failed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Aborted => "aborted",
            Self::Stopped => "stopped",
            Self::Closed => "closed",
            Self::Finished => "finished",
            Self::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

impl fmt::Display for NotificationKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
