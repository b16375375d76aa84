//! Campaigns: one message to an audience, in versions. The rules C1–C10 live in `lifecycle`.

mod lifecycle;
#[cfg(test)]
mod tests;

use std::fmt;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

pub use lifecycle::{CampaignAction, CampaignEffect, Transition};

use crate::channel::ChannelType;
use crate::schedule::Schedule;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CampaignStatus {
    Draft,
    Scheduled,
    Live,
    Paused,
    Stopped,
    Aborted,
    Completed,
}

impl CampaignStatus {
    pub const ALL: [Self; 7] = [
        Self::Draft,
        Self::Scheduled,
        Self::Live,
        Self::Paused,
        Self::Stopped,
        Self::Aborted,
        Self::Completed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Draft => "draft",
            Self::Scheduled => "scheduled",
            Self::Live => "live",
            Self::Paused => "paused",
            Self::Stopped => "stopped",
            Self::Aborted => "aborted",
            Self::Completed => "completed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|st| st.as_str() == s)
    }

    /// Ended campaigns never send again, whatever is asked of them.
    pub fn is_final(self) -> bool {
        matches!(self, Self::Stopped | Self::Aborted | Self::Completed)
    }
}

impl fmt::Display for CampaignStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A version is a draft, the live one, replaced by a newer one, or ended with its campaign.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum VersionState {
    Draft,
    Live,
    Superseded,
    Stopped,
    Aborted,
    Completed,
}

impl VersionState {
    pub const ALL: [Self; 6] = [
        Self::Draft,
        Self::Live,
        Self::Superseded,
        Self::Stopped,
        Self::Aborted,
        Self::Completed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Draft => "draft",
            Self::Live => "live",
            Self::Superseded => "superseded",
            Self::Stopped => "stopped",
            Self::Aborted => "aborted",
            Self::Completed => "completed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|st| st.as_str() == s)
    }
}

impl fmt::Display for VersionState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a version sends: the user-editable part of a campaign.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CampaignContent {
    pub channel_id: String,
    pub template_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audience_id: Option<String>,
    pub schedule: Schedule,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CampaignVersion {
    pub version: u32,
    pub state: VersionState,
    pub content: CampaignContent,
    /// Copied from the channel when the version is saved; channel types never change, and the
    /// lifecycle needs it to know an inbound campaign (C7).
    pub channel_type: ChannelType,
    pub created_at: Timestamp,
    pub activated_at: Option<Timestamp>,
}

impl CampaignVersion {
    pub fn is_recurring(&self) -> bool {
        self.content.schedule.is_recurring()
    }

    pub fn is_inbound(&self) -> bool {
        self.channel_type == ChannelType::Inbox
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Campaign {
    pub id: String,
    pub name: String,
    pub status: CampaignStatus,
    pub versions: Vec<CampaignVersion>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl Campaign {
    /// C1: a new campaign is draft version 1.
    pub fn new_draft(
        id: String,
        name: String,
        content: CampaignContent,
        channel_type: ChannelType,
        now: Timestamp,
    ) -> Self {
        Self {
            id,
            name,
            status: CampaignStatus::Draft,
            versions: vec![CampaignVersion {
                version: 1,
                state: VersionState::Draft,
                content,
                channel_type,
                created_at: now,
                activated_at: None,
            }],
            created_at: now,
            updated_at: now,
        }
    }

    pub fn live_version(&self) -> Option<&CampaignVersion> {
        self.versions.iter().find(|v| v.state == VersionState::Live)
    }

    pub fn draft_version(&self) -> Option<&CampaignVersion> {
        self.versions
            .iter()
            .find(|v| v.state == VersionState::Draft)
    }

    pub fn latest_version(&self) -> &CampaignVersion {
        self.versions
            .iter()
            .max_by_key(|v| v.version)
            .expect("a campaign has at least one version")
    }

    pub fn version(&self, n: u32) -> Option<&CampaignVersion> {
        self.versions.iter().find(|v| v.version == n)
    }

    /// The version whose settings decide what the campaign is (recurring, inbound): the live one,
    /// else the one it ended with, else the draft.
    pub fn defining_version(&self) -> &CampaignVersion {
        self.live_version()
            .or_else(|| {
                self.versions
                    .iter()
                    .filter(|v| v.state != VersionState::Draft)
                    .max_by_key(|v| v.version)
            })
            .unwrap_or_else(|| self.latest_version())
    }

    pub fn ever_activated(&self) -> bool {
        self.versions.iter().any(|v| v.activated_at.is_some())
    }

    /// C8: a new campaign, draft version 1, copied from the latest version.
    pub fn duplicate(&self, id: String, now: Timestamp) -> Self {
        let latest = self.latest_version();
        Self::new_draft(
            id,
            format!("{} (copy)", self.name),
            latest.content.clone(),
            latest.channel_type,
            now,
        )
    }
}
