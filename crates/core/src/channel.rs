//! Channels: where messages go, and the settings each kind needs.

use serde::{Deserialize, Serialize};

/// The kind of a channel; a template is written for one kind.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum ChannelType {
    Email,
    Webhook,
    Inbox,
}

impl ChannelType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Email => "email",
            Self::Webhook => "webhook",
            Self::Inbox => "inbox",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "email" => Some(Self::Email),
            "webhook" => Some(Self::Webhook),
            "inbox" => Some(Self::Inbox),
            _ => None,
        }
    }
}
