//! Storage contracts of Sluice. Each trait is narrow and named after what it holds; a backend
//! implements them all (`Store`). Calls are synchronous: the embedded SQLite backend is, and the
//! API runs them on the blocking pool. Every command that changes a campaign or journey writes its
//! new state, the work it schedules or cancels, its audit entry and its notification in ONE
//! transaction, so a failed call changes nothing.

#[cfg(feature = "conformance")]
pub mod conformance;
mod records;
mod sessions;
mod work;

pub use records::*;
pub use sessions::*;
pub use work::*;

use jiff::Timestamp;
use sluice_core::campaign::{Campaign, CampaignStatus, Transition};
use sluice_core::journey::{Journey, JourneyTransition};
use sluice_core::lifecycle::{LifecycleError, Refused};
use sluice_core::profile::{Consent, Event, Profile};

#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    #[error("storage failure: {0}")]
    Backend(String),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
}

/// Why a command on a stored campaign or journey did not happen.
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    #[error("not found")]
    NotFound,
    #[error(transparent)]
    Lifecycle(#[from] LifecycleError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<Refused> for CommandError {
    fn from(r: Refused) -> Self {
        Self::Lifecycle(LifecycleError::Refused(r))
    }
}

/// Who asked for a command, when, and why: the audit entry's facts.
#[derive(Debug, Clone)]
pub struct CommandContext {
    pub actor: String,
    pub reason: Option<String>,
    pub now: Timestamp,
}

/// How a new campaign or journey came to be: the command its first audit entry names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// `POST /campaigns`, `POST /journeys`.
    Created,
    /// C8, J7: a copy of another campaign or journey version (the entry is the copy's).
    Duplicated,
}

impl Origin {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Created => "create",
            Self::Duplicated => "duplicate",
        }
    }
}

pub trait TokenStore {
    fn create_token(&self, token: &NewToken, now: Timestamp) -> Result<ApiToken, StoreError>;
    /// The token whose SHA-256 is `hash`.
    fn token_by_hash(&self, hash: &str) -> Result<Option<ApiToken>, StoreError>;
    fn token_count(&self) -> Result<u64, StoreError>;
    /// Deletes a token, and with it every web session signed in with it; `false` if there was
    /// none. A request with its secret is refused from then on.
    fn revoke_token(&self, id: &str) -> Result<bool, StoreError>;
}

pub trait SettingsStore {
    fn setting(&self, key: &str) -> Result<Option<String>, StoreError>;
    fn put_setting(&self, key: &str, value: Option<&str>) -> Result<(), StoreError>;
}

pub trait ProfileStore {
    /// Creates or replaces; `true` when it was created.
    fn put_profile(&self, profile: &Profile) -> Result<bool, StoreError>;
    /// Merges attributes (and consent) into an existing profile; `None` if there is none.
    fn patch_profile(
        &self,
        id: &str,
        attributes: &sluice_core::profile::Attributes,
        consent: Option<&Consent>,
        now: Timestamp,
    ) -> Result<Option<Profile>, StoreError>;
    fn profile(&self, id: &str) -> Result<Option<Profile>, StoreError>;
    /// The profiles of `ids` that exist, in one read (ids that do not exist are left out; the
    /// order is the store's).
    fn profiles_by_id(&self, ids: &[String]) -> Result<Vec<Profile>, StoreError>;
    /// Erases the profile and its events; its pending work is cancelled and its enrollments end
    /// as `removed` (a closed version it was last inside finishes). Every counter of Results
    /// moves as for a removal from flow (J9) — the enrollment counted `removed`, its pending
    /// step `cancelled` at its node, a pending send `cancelled` — but the erasure writes no
    /// action record and no audit entry: nothing new names the erased profile. The records
    /// written before stay (results never change after the fact) but no longer name it: they,
    /// its enrollments and its work carry an alias that names nobody, and lose what it sent or
    /// was told (event properties, payloads, failure details, keys built from its id).
    /// `false` if there was no such profile.
    fn delete_profile(&self, id: &str, now: Timestamp) -> Result<bool, StoreError>;
    fn profiles(&self, page: &PageRequest) -> Result<Page<Profile>, StoreError>;
    /// Writes every batch in one transaction; an `Err` batch rolls everything back.
    fn import_profiles(
        &self,
        batches: &mut dyn Iterator<Item = Result<Vec<ImportRow>, ImportAbort>>,
        now: Timestamp,
    ) -> Result<Result<u64, ImportAbort>, StoreError>;
    /// Records events (creating unknown profiles) and enrolls their profiles into the live
    /// journey versions those events enter (J8 re-entrance rules apply). Returns the number of
    /// enrollments made.
    fn record_events(&self, events: &[Event], now: Timestamp) -> Result<u64, StoreError>;
    fn profile_count(&self) -> Result<u64, StoreError>;
    /// Events of one profile named `name` at or after `since` (all of them for `None`).
    fn event_count(
        &self,
        profile_id: &str,
        name: &str,
        since: Option<Timestamp>,
    ) -> Result<u64, StoreError>;
    /// Profiles matching `rule` now.
    fn audience_count(
        &self,
        rule: &sluice_core::rule::Rule,
        now: Timestamp,
    ) -> Result<u64, StoreError>;
}

pub trait CatalogStore {
    fn insert_audience(&self, a: &Audience) -> Result<(), StoreError>;
    fn update_audience(&self, a: &Audience) -> Result<bool, StoreError>;
    fn audience(&self, id: &str) -> Result<Option<Audience>, StoreError>;
    fn audiences(&self, page: &PageRequest) -> Result<Page<Audience>, StoreError>;
    /// Deletes unless a non-draft version uses it (`Err(user)` names one user).
    fn delete_audience(&self, id: &str) -> Result<DeleteOutcome, StoreError>;

    fn insert_channel(&self, c: &Channel) -> Result<(), StoreError>;
    fn update_channel(&self, c: &Channel) -> Result<bool, StoreError>;
    fn channel(&self, id: &str) -> Result<Option<Channel>, StoreError>;
    fn channels(&self, page: &PageRequest) -> Result<Page<Channel>, StoreError>;
    fn delete_channel(&self, id: &str) -> Result<DeleteOutcome, StoreError>;

    fn insert_template(&self, t: &Template) -> Result<(), StoreError>;
    fn update_template(&self, t: &Template) -> Result<bool, StoreError>;
    fn template(&self, id: &str) -> Result<Option<Template>, StoreError>;
    fn templates(&self, page: &PageRequest) -> Result<Page<Template>, StoreError>;
    fn delete_template(&self, id: &str) -> Result<DeleteOutcome, StoreError>;
}

/// Loads an aggregate, lets the domain change it, and writes the result with its effects.
pub type CampaignCommand<'a> =
    &'a mut dyn FnMut(&mut Campaign) -> Result<Transition, LifecycleError>;
pub type JourneyCommand<'a> =
    &'a mut dyn FnMut(&mut Journey) -> Result<Vec<JourneyTransition>, LifecycleError>;

pub trait CampaignStore {
    /// Stores a new campaign with its first audit entry, named by how it came to be.
    fn insert_campaign(
        &self,
        campaign: &Campaign,
        origin: Origin,
        ctx: &CommandContext,
    ) -> Result<(), StoreError>;
    fn campaign(&self, id: &str) -> Result<Option<Campaign>, StoreError>;
    fn campaigns(
        &self,
        status: Option<CampaignStatus>,
        page: &PageRequest,
    ) -> Result<Page<Campaign>, StoreError>;
    fn apply_campaign(
        &self,
        id: &str,
        ctx: &CommandContext,
        command: CampaignCommand<'_>,
    ) -> Result<Applied<Campaign>, CommandError>;
    /// C9: deletes a campaign that `check` allows deleting.
    fn delete_campaign(
        &self,
        id: &str,
        ctx: &CommandContext,
        check: &dyn Fn(&Campaign) -> Result<(), Refused>,
    ) -> Result<(), CommandError>;
    fn occurrences(
        &self,
        campaign_id: &str,
        page: &PageRequest,
    ) -> Result<Page<Occurrence>, StoreError>;
    /// Records one API trigger as due work (the engine sends it); `false` if it was a repeat of an
    /// earlier trigger with the same idempotency key.
    fn enqueue_trigger(&self, trigger: &Trigger) -> Result<bool, StoreError>;
}

pub trait JourneyStore {
    /// Stores a new journey with its first audit entry, named by how it came to be.
    fn insert_journey(
        &self,
        journey: &Journey,
        origin: Origin,
        ctx: &CommandContext,
    ) -> Result<(), StoreError>;
    fn journey(&self, id: &str) -> Result<Option<Journey>, StoreError>;
    fn journeys(&self, page: &PageRequest) -> Result<Page<Journey>, StoreError>;
    fn apply_journey(
        &self,
        id: &str,
        ctx: &CommandContext,
        command: JourneyCommand<'_>,
    ) -> Result<Applied<Journey>, CommandError>;
    fn delete_journey(
        &self,
        id: &str,
        ctx: &CommandContext,
        check: &dyn Fn(&Journey) -> Result<(), Refused>,
    ) -> Result<(), CommandError>;
    fn enrollments(
        &self,
        journey_id: &str,
        version: u32,
        state: Option<EnrollmentState>,
        page: &PageRequest,
    ) -> Result<Page<Enrollment>, StoreError>;
    /// J9: takes one profile out of a version; its pending steps are cancelled and recorded,
    /// and the removal is audited. A `remove_from_journey` node's removals leave the same
    /// records (the audit entry's actor is the journey whose node it was).
    fn remove_from_journey(
        &self,
        journey_id: &str,
        version: u32,
        profile_id: &str,
        ctx: &CommandContext,
    ) -> Result<RemoveOutcome, CommandError>;
}

pub trait ResultStore {
    fn results(&self, subject: &Subject) -> Result<Results, StoreError>;
    fn actions(
        &self,
        subject: &Subject,
        filter: &ActionFilter,
        page: &PageRequest,
    ) -> Result<Page<ActionRecord>, StoreError>;
    /// Every matching record, oldest first, handed to `sink` one at a time (CSV export).
    fn for_each_action(
        &self,
        subject: &Subject,
        filter: &ActionFilter,
        sink: &mut dyn FnMut(&ActionRecord) -> bool,
    ) -> Result<(), StoreError>;
}

pub trait AuditStore {
    fn audit(
        &self,
        subject: Option<&Subject>,
        page: &PageRequest,
    ) -> Result<Page<AuditEntry>, StoreError>;
    fn notifications(
        &self,
        unread_only: bool,
        page: &PageRequest,
    ) -> Result<Page<Notification>, StoreError>;
    /// `None` if there is no such notification.
    fn mark_notification_read(&self, id: &str) -> Result<Option<Notification>, StoreError>;
    /// Notifications after `position` (all of them for `None`), oldest first, each with its
    /// position, for forwarding them in order.
    fn notifications_after(
        &self,
        position: Option<i64>,
        limit: u32,
    ) -> Result<Vec<(i64, Notification)>, StoreError>;
    /// The position of the newest notification (0 when there is none).
    fn latest_notification_position(&self) -> Result<i64, StoreError>;
}

/// Everything a backend provides.
pub trait Store:
    TokenStore
    + SettingsStore
    + ProfileStore
    + CatalogStore
    + CampaignStore
    + JourneyStore
    + ResultStore
    + AuditStore
    + WorkStore
    + SessionStore
    + Send
    + Sync
{
}

impl<T> Store for T where
    T: TokenStore
        + SettingsStore
        + ProfileStore
        + CatalogStore
        + CampaignStore
        + JourneyStore
        + ResultStore
        + AuditStore
        + WorkStore
        + SessionStore
        + Send
        + Sync
{
}
