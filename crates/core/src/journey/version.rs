//! Journeys and their versions: each version has its own status (J1–J9) and definition.

use std::fmt;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::JourneyDefinition;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum JourneyVersionStatus {
    Draft,
    Live,
    Closed,
    Stopped,
    Finished,
}

impl JourneyVersionStatus {
    pub const ALL: [Self; 5] = [
        Self::Draft,
        Self::Live,
        Self::Closed,
        Self::Stopped,
        Self::Finished,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Draft => "draft",
            Self::Live => "live",
            Self::Closed => "closed",
            Self::Stopped => "stopped",
            Self::Finished => "finished",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|st| st.as_str() == s)
    }

    /// People can be inside a version only while it is live or closed (J3).
    pub fn holds_people(self) -> bool {
        matches!(self, Self::Live | Self::Closed)
    }
}

impl fmt::Display for JourneyVersionStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JourneyVersion {
    pub version: u32,
    pub status: JourneyVersionStatus,
    pub definition: JourneyDefinition,
    pub created_at: Timestamp,
    pub published_at: Option<Timestamp>,
    pub closed_at: Option<Timestamp>,
    pub stopped_at: Option<Timestamp>,
    pub finished_at: Option<Timestamp>,
}

impl JourneyVersion {
    pub fn new_draft(version: u32, definition: JourneyDefinition, now: Timestamp) -> Self {
        Self {
            version,
            status: JourneyVersionStatus::Draft,
            definition,
            created_at: now,
            published_at: None,
            closed_at: None,
            stopped_at: None,
            finished_at: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Journey {
    pub id: String,
    pub name: String,
    pub versions: Vec<JourneyVersion>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl Journey {
    /// J1: a new journey is draft version 1.
    pub fn new_draft(
        id: String,
        name: String,
        definition: JourneyDefinition,
        now: Timestamp,
    ) -> Self {
        Self {
            id,
            name,
            versions: vec![JourneyVersion::new_draft(1, definition, now)],
            created_at: now,
            updated_at: now,
        }
    }

    pub fn version(&self, n: u32) -> Option<&JourneyVersion> {
        self.versions.iter().find(|v| v.version == n)
    }

    pub(super) fn version_mut(&mut self, n: u32) -> Option<&mut JourneyVersion> {
        self.versions.iter_mut().find(|v| v.version == n)
    }

    pub fn latest_version(&self) -> &JourneyVersion {
        self.versions
            .iter()
            .max_by_key(|v| v.version)
            .expect("a journey has at least one version")
    }

    pub fn live_version(&self) -> Option<&JourneyVersion> {
        self.versions
            .iter()
            .find(|v| v.status == JourneyVersionStatus::Live)
    }

    pub fn draft_version(&self) -> Option<&JourneyVersion> {
        self.versions
            .iter()
            .find(|v| v.status == JourneyVersionStatus::Draft)
    }

    /// J7: a new journey, draft version 1, copied from version `n`.
    pub fn duplicate(&self, n: u32, id: String, now: Timestamp) -> Option<Self> {
        let source = self.version(n)?;
        Some(Self::new_draft(
            id,
            format!("{} (copy)", self.name),
            source.definition.clone(),
            now,
        ))
    }
}
