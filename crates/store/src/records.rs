//! The records the store holds and returns, shaped as the API shows them.

use std::collections::BTreeMap;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use sluice_core::channel::ChannelType;
use sluice_core::notification::NotificationKind;
use sluice_core::profile::{Attributes, Consent};
use sluice_core::rule::Rule;

pub const DEFAULT_PAGE_LIMIT: u32 = 50;

/// Setting: where notifications are also POSTed (B3).
pub const NOTIFICATION_WEBHOOK_URL: &str = "notification_webhook_url";
/// Setting: the position of the last notification the operator webhook accepted.
pub const NOTIFICATION_WEBHOOK_POSITION: &str = "notification_webhook_position";
pub const MAX_PAGE_LIMIT: u32 = 1000;

/// `limit` and the opaque `cursor` of the previous page's `next_cursor`.
#[derive(Debug, Clone, Default)]
pub struct PageRequest {
    pub limit: u32,
    pub cursor: Option<String>,
}

impl PageRequest {
    pub fn first(limit: u32) -> Self {
        Self {
            limit,
            cursor: None,
        }
    }
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Viewer,
    Editor,
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Viewer => "viewer",
            Self::Editor => "editor",
            Self::Admin => "admin",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Viewer, Self::Editor, Self::Admin]
            .into_iter()
            .find(|r| r.as_str() == s)
    }
}

#[derive(Debug, Clone)]
pub struct NewToken {
    pub id: String,
    pub name: String,
    pub role: Role,
    /// SHA-256 of the secret, hex; the secret itself is never stored.
    pub hash: String,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ApiToken {
    pub id: String,
    pub name: String,
    pub role: Role,
    #[schema(value_type = String)]
    pub created_at: Timestamp,
}

/// One line of an import: the profile and where it came from, for error reports.
#[derive(Debug, Clone)]
pub struct ImportRow {
    pub line: u64,
    pub id: String,
    pub attributes: Attributes,
    pub consent: Option<Consent>,
}

/// A defect of the whole import (not one bad line): nothing of it is written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct ImportAbort {
    pub line: u64,
    pub message: String,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Audience {
    pub id: String,
    pub name: String,
    #[schema(value_type = Object)]
    pub rule: Rule,
    #[schema(value_type = String)]
    pub created_at: Timestamp,
    #[schema(value_type = String)]
    pub updated_at: Timestamp,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Channel {
    pub id: String,
    pub name: String,
    #[serde(rename = "type")]
    pub channel_type: ChannelType,
    /// Full settings, secrets included; the API strips secrets before answering.
    #[schema(value_type = Object)]
    pub config: serde_json::Value,
    pub rate_limit_per_second: Option<u32>,
    #[schema(value_type = String)]
    pub created_at: Timestamp,
    #[schema(value_type = String)]
    pub updated_at: Timestamp,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Template {
    pub id: String,
    pub name: String,
    pub channel_type: ChannelType,
    pub subject: Option<String>,
    pub body: String,
    #[schema(value_type = String)]
    pub created_at: Timestamp,
    #[schema(value_type = String)]
    pub updated_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeleteOutcome {
    Deleted,
    NotFound,
    /// Still referenced; the string names who uses it (`campaign cmp_… version 2`).
    InUse(String),
}

/// What a brake leaves behind (B1): delivered before it, and what it cancelled.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Summary {
    pub delivered: u64,
    pub failed: u64,
    pub skipped: u64,
    pub cancelled: u64,
    /// Messages in flight when the brake was engaged, cut off: outcome unknown (the receiver
    /// may have them), never counted as delivered. Only present when there were any, so the
    /// summary reads as API.md shows it otherwise.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub unknown: u64,
    /// Journeys only: profiles that were inside when it stopped.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub halted: Option<u64>,
}

/// The aggregate after a command, and the summary of the brake when it was one.
#[derive(Debug, Clone)]
pub struct Applied<T> {
    pub value: T,
    pub summary: Option<Summary>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OccurrenceState {
    Pending,
    Running,
    Done,
    Cancelled,
    Aborted,
}

impl OccurrenceState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Running => "running",
            Self::Done => "done",
            Self::Cancelled => "cancelled",
            Self::Aborted => "aborted",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            Self::Pending,
            Self::Running,
            Self::Done,
            Self::Cancelled,
            Self::Aborted,
        ]
        .into_iter()
        .find(|st| st.as_str() == s)
    }
}

/// One run of a campaign (its send at one scheduled time).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Occurrence {
    pub n: u32,
    pub version: u32,
    #[schema(value_type = String)]
    pub scheduled_for: Timestamp,
    #[schema(value_type = Option<String>)]
    pub started_at: Option<Timestamp>,
    #[schema(value_type = Option<String>)]
    pub finished_at: Option<Timestamp>,
    pub state: OccurrenceState,
    pub delivered: u64,
    pub failed: u64,
    pub skipped: u64,
}

/// An API trigger of a campaign: one message to one profile, sent by the engine.
#[derive(Debug, Clone)]
pub struct Trigger {
    pub campaign_id: String,
    pub version: u32,
    pub profile_id: String,
    pub context: serde_json::Value,
    pub idempotency_key: String,
    pub now: Timestamp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EnrollmentState {
    Active,
    Completed,
    Stopped,
    Removed,
    TimedOut,
    Failed,
}

impl EnrollmentState {
    pub const ALL: [Self; 6] = [
        Self::Active,
        Self::Completed,
        Self::Stopped,
        Self::Removed,
        Self::TimedOut,
        Self::Failed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Completed => "completed",
            Self::Stopped => "stopped",
            Self::Removed => "removed",
            Self::TimedOut => "timed_out",
            Self::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|st| st.as_str() == s)
    }
}

/// One profile's passage through one journey version (pinned to it, J6).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Enrollment {
    pub profile_id: String,
    pub version: u32,
    pub state: EnrollmentState,
    pub node_id: Option<String>,
    #[schema(value_type = String)]
    pub entered_at: Timestamp,
    #[schema(value_type = Option<String>)]
    pub left_at: Option<Timestamp>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RemoveOutcome {
    /// Taken out; `cancelled` pending steps were cancelled and recorded.
    Removed { cancelled: u64 },
    /// The profile is not inside that version.
    NotInside,
}

/// What results and logs are about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subject {
    Campaign { id: String },
    JourneyVersion { id: String, version: u32 },
    Journey { id: String },
}

impl Subject {
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Campaign { .. } => "campaign",
            Self::JourneyVersion { .. } | Self::Journey { .. } => "journey",
        }
    }

    pub fn id(&self) -> &str {
        match self {
            Self::Campaign { id } | Self::JourneyVersion { id, .. } | Self::Journey { id } => id,
        }
    }

    pub fn version(&self) -> Option<u32> {
        match self {
            Self::JourneyVersion { version, .. } => Some(*version),
            Self::Campaign { .. } | Self::Journey { .. } => None,
        }
    }
}

/// A subject as the API shows it: `{type, id, version}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SubjectRef {
    #[serde(rename = "type")]
    pub kind: String,
    pub id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<u32>,
}

#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Delivered,
    Failed,
    Skipped,
    Cancelled,
    Removed,
    TimedOut,
    /// The message was in flight when a brake cut it: the receiver may or may not have it.
    Unknown,
}

impl Outcome {
    pub const ALL: [Self; 7] = [
        Self::Delivered,
        Self::Failed,
        Self::Skipped,
        Self::Cancelled,
        Self::Removed,
        Self::TimedOut,
        Self::Unknown,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Delivered => "delivered",
            Self::Failed => "failed",
            Self::Skipped => "skipped",
            Self::Cancelled => "cancelled",
            Self::Removed => "removed",
            Self::TimedOut => "timed_out",
            Self::Unknown => "unknown",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|o| o.as_str() == s)
    }
}

/// One thing done (or not) for one profile: the Results tab's log, append-only.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ActionRecord {
    #[schema(value_type = String)]
    pub at: Timestamp,
    pub profile_id: String,
    pub version: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub occurrence: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub node_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub channel_id: Option<String>,
    pub action: String,
    pub outcome: Outcome,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct ActionFilter {
    pub outcome: Option<Outcome>,
    pub profile_id: Option<String>,
}

/// Counters of one node or channel.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Counters {
    pub sent: u64,
    pub failed: u64,
    pub skipped: u64,
    pub cancelled: u64,
    pub entered: u64,
}

/// B2: the counters of a campaign (summed over its occurrences) or a journey version.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Results {
    pub entered: u64,
    pub active: u64,
    pub completed: u64,
    pub stopped: u64,
    pub removed: u64,
    pub timed_out: u64,
    pub failed: u64,
    pub delivered: u64,
    pub skipped: u64,
    pub cancelled: u64,
    /// Messages cut off in flight by a brake: outcome unknown. Only present when there were
    /// any.
    #[serde(skip_serializing_if = "is_zero")]
    pub unknown: u64,
    pub per_node: BTreeMap<String, Counters>,
    pub per_channel: BTreeMap<String, Counters>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AuditEntry {
    #[schema(value_type = String)]
    pub at: Timestamp,
    pub actor: String,
    pub action: String,
    pub subject: SubjectRef,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub from_status: Option<String>,
    pub to_status: Option<String>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Notification {
    pub id: String,
    #[schema(value_type = String)]
    pub at: Timestamp,
    pub kind: NotificationKind,
    pub subject: SubjectRef,
    pub actor: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub summary: Summary,
    pub read: bool,
}

#[allow(
    clippy::trivially_copy_pass_by_ref,
    reason = "serde's skip_serializing_if passes a reference"
)]
fn is_zero(n: &u64) -> bool {
    *n == 0
}
