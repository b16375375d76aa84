//! `sluice apply`'s model: file parsing, validation, name references, order, diff and writes.
//!
//! `parse`, `refs` and `diff` never talk to the server, so every rule of the file format is
//! unit-testable; `exec` sends the writes for one definition; `commands::apply` runs it all.

pub mod diff;
pub mod exec;
pub mod parse;
pub mod refs;

use std::fmt;

use serde_json::{Map, Value};

/// The kinds of definition an apply file may hold, in the order they are applied: a campaign
/// needs its channel, template and audience to exist, a journey may also need campaigns' peers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    Audience,
    Channel,
    Template,
    Campaign,
    Journey,
}

impl Kind {
    pub const ALL: [Kind; 5] = [
        Kind::Audience,
        Kind::Channel,
        Kind::Template,
        Kind::Campaign,
        Kind::Journey,
    ];

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Audience => "audience",
            Kind::Channel => "channel",
            Kind::Template => "template",
            Kind::Campaign => "campaign",
            Kind::Journey => "journey",
        }
    }

    /// The API collection, `/api/v1/<collection>`.
    pub fn collection(self) -> &'static str {
        match self {
            Kind::Audience => "audiences",
            Kind::Channel => "channels",
            Kind::Template => "templates",
            Kind::Campaign => "campaigns",
            Kind::Journey => "journeys",
        }
    }

    /// Apply stage: everything in a stage may reference anything in an earlier one.
    pub fn stage(self) -> u8 {
        match self {
            Kind::Audience | Kind::Channel | Kind::Template => 0,
            Kind::Campaign => 1,
            Kind::Journey => 2,
        }
    }

    /// The flag that takes a new definition live after apply: `activate` / `publish`.
    pub fn go_live_key(self) -> Option<&'static str> {
        match self {
            Kind::Campaign => Some("activate"),
            Kind::Journey => Some("publish"),
            Kind::Audience | Kind::Channel | Kind::Template => None,
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One definition of the file, validated in shape.
#[derive(Debug, Clone, PartialEq)]
pub struct Doc {
    /// 1-based position of the definition in the file, used in every message about it.
    pub index: usize,
    pub kind: Kind,
    pub name: String,
    /// The create body: everything but `kind` and `activate`/`publish`; includes `name`.
    pub body: Map<String, Value>,
    /// `activate: true` (campaign) or `publish: true` (journey).
    pub go_live: bool,
}

/// A problem found while validating the file, tied to a definition where there is one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issue {
    pub index: Option<usize>,
    pub message: String,
}

impl Issue {
    pub fn at(index: usize, message: impl Into<String>) -> Self {
        Self {
            index: Some(index),
            message: message.into(),
        }
    }
}

impl fmt::Display for Issue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.index {
            Some(i) => write!(f, "document {i}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}
