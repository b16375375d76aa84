//! A store that fails on cue: every call goes to the real store, except the reads a test arms
//! to fail (a database hiccup), counted so the test knows the failure happened.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use jiff::Timestamp;
use sluice_core::campaign::{Campaign, CampaignStatus};
use sluice_core::clock::Now;
use sluice_core::journey::Journey;
use sluice_core::lifecycle::Refused;
use sluice_core::profile::{Consent, Event, Profile};
use sluice_core::rule::Rule;
use sluice_store::*;

/// Event-count reads left to fail, and how many did.
pub static EVENT_COUNT_FAILURES_LEFT: AtomicU32 = AtomicU32::new(0);
pub static EVENT_COUNT_FAILED: AtomicU32 = AtomicU32::new(0);

/// For `Options::wrap_store`.
pub fn event_counts_fail_on_cue(inner: Arc<dyn Store>) -> Arc<dyn Store> {
    Arc::new(FailingStore(inner))
}

pub struct FailingStore(Arc<dyn Store>);

macro_rules! delegate {
    ($( fn $name:ident(&self $(, $arg:ident: $ty:ty)* $(,)?) -> $ret:ty; )*) => {
        $( fn $name(&self $(, $arg: $ty)*) -> $ret { self.0.$name($($arg),*) } )*
    };
}

impl TokenStore for FailingStore {
    delegate! {
        fn create_token(&self, token: &NewToken, now: Timestamp) -> Result<ApiToken, StoreError>;
        fn token_by_hash(&self, hash: &str) -> Result<Option<ApiToken>, StoreError>;
        fn token_count(&self) -> Result<u64, StoreError>;
        fn revoke_token(&self, id: &str) -> Result<bool, StoreError>;
    }
}

impl SessionStore for FailingStore {
    delegate! {
        fn insert_session(&self, session: &NewWebSession) -> Result<(), StoreError>;
        fn session_by_hash(&self, hash: &str, now: Timestamp)
            -> Result<Option<WebSession>, StoreError>;
        fn delete_session(&self, hash: &str) -> Result<bool, StoreError>;
        fn delete_expired_sessions(&self, now: Timestamp) -> Result<u64, StoreError>;
    }
}

impl SettingsStore for FailingStore {
    delegate! {
        fn setting(&self, key: &str) -> Result<Option<String>, StoreError>;
        fn put_setting(&self, key: &str, value: Option<&str>) -> Result<(), StoreError>;
    }
}

impl ProfileStore for FailingStore {
    delegate! {
        fn put_profile(&self, profile: &Profile) -> Result<bool, StoreError>;
        fn patch_profile(&self, id: &str, attributes: &sluice_core::profile::Attributes,
            consent: Option<&Consent>, now: Timestamp) -> Result<Option<Profile>, StoreError>;
        fn profile(&self, id: &str) -> Result<Option<Profile>, StoreError>;
        fn profiles_by_id(&self, ids: &[String]) -> Result<Vec<Profile>, StoreError>;
        fn delete_profile(&self, id: &str, now: Timestamp) -> Result<bool, StoreError>;
        fn profiles(&self, page: &PageRequest) -> Result<Page<Profile>, StoreError>;
        fn import_profiles(&self,
            batches: &mut dyn Iterator<Item = Result<Vec<ImportRow>, ImportAbort>>,
            now: Timestamp) -> Result<Result<u64, ImportAbort>, StoreError>;
        fn record_events(&self, events: &[Event], now: Timestamp) -> Result<u64, StoreError>;
        fn profile_count(&self) -> Result<u64, StoreError>;
        fn audience_count(&self, rule: &Rule, now: Timestamp) -> Result<u64, StoreError>;
    }

    fn event_count(
        &self,
        profile_id: &str,
        name: &str,
        since: Option<Timestamp>,
    ) -> Result<u64, StoreError> {
        let armed = EVENT_COUNT_FAILURES_LEFT
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok();
        if armed {
            EVENT_COUNT_FAILED.fetch_add(1, Ordering::SeqCst);
            return Err(StoreError::Backend("database is locked (planted)".into()));
        }
        self.0.event_count(profile_id, name, since)
    }
}

impl CatalogStore for FailingStore {
    delegate! {
        fn insert_audience(&self, a: &Audience) -> Result<(), StoreError>;
        fn update_audience(&self, a: &Audience) -> Result<bool, StoreError>;
        fn audience(&self, id: &str) -> Result<Option<Audience>, StoreError>;
        fn audiences(&self, page: &PageRequest) -> Result<Page<Audience>, StoreError>;
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
}

impl CampaignStore for FailingStore {
    delegate! {
        fn insert_campaign(&self, campaign: &Campaign, origin: Origin, ctx: &CommandContext)
            -> Result<(), StoreError>;
        fn campaign(&self, id: &str) -> Result<Option<Campaign>, StoreError>;
        fn campaigns(&self, status: Option<CampaignStatus>, page: &PageRequest)
            -> Result<Page<Campaign>, StoreError>;
        fn apply_campaign(&self, id: &str, ctx: &CommandContext, command: CampaignCommand<'_>)
            -> Result<Applied<Campaign>, CommandError>;
        fn delete_campaign(&self, id: &str, ctx: &CommandContext,
            check: &dyn Fn(&Campaign) -> Result<(), Refused>) -> Result<(), CommandError>;
        fn occurrences(&self, campaign_id: &str, page: &PageRequest)
            -> Result<Page<Occurrence>, StoreError>;
        fn enqueue_trigger(&self, trigger: &Trigger) -> Result<bool, StoreError>;
    }
}

impl JourneyStore for FailingStore {
    delegate! {
        fn insert_journey(&self, journey: &Journey, origin: Origin, ctx: &CommandContext)
            -> Result<(), StoreError>;
        fn journey(&self, id: &str) -> Result<Option<Journey>, StoreError>;
        fn journeys(&self, page: &PageRequest) -> Result<Page<Journey>, StoreError>;
        fn apply_journey(&self, id: &str, ctx: &CommandContext, command: JourneyCommand<'_>)
            -> Result<Applied<Journey>, CommandError>;
        fn delete_journey(&self, id: &str, ctx: &CommandContext,
            check: &dyn Fn(&Journey) -> Result<(), Refused>) -> Result<(), CommandError>;
        fn enrollments(&self, journey_id: &str, version: u32, state: Option<EnrollmentState>,
            page: &PageRequest) -> Result<Page<Enrollment>, StoreError>;
        fn remove_from_journey(&self, journey_id: &str, version: u32, profile_id: &str,
            ctx: &CommandContext) -> Result<RemoveOutcome, CommandError>;
    }
}

impl ResultStore for FailingStore {
    delegate! {
        fn results(&self, subject: &Subject) -> Result<Results, StoreError>;
        fn actions(&self, subject: &Subject, filter: &ActionFilter, page: &PageRequest)
            -> Result<Page<ActionRecord>, StoreError>;
        fn for_each_action(&self, subject: &Subject, filter: &ActionFilter,
            sink: &mut dyn FnMut(&ActionRecord) -> bool) -> Result<(), StoreError>;
    }
}

impl AuditStore for FailingStore {
    delegate! {
        fn audit(&self, subject: Option<&Subject>, page: &PageRequest)
            -> Result<Page<AuditEntry>, StoreError>;
        fn notifications(&self, unread_only: bool, page: &PageRequest)
            -> Result<Page<Notification>, StoreError>;
        fn mark_notification_read(&self, id: &str) -> Result<Option<Notification>, StoreError>;
        fn notifications_after(&self, position: Option<i64>, limit: u32)
            -> Result<Vec<(i64, Notification)>, StoreError>;
        fn latest_notification_position(&self) -> Result<i64, StoreError>;
    }
}

impl WorkStore for FailingStore {
    delegate! {
        fn claim_due(&self, now: Now, limit: u32, lease: Duration,
            kinds: &[WorkKind]) -> Result<Vec<DueWork>, StoreError>;
        fn renew_leases(&self, claims: &[Claim], now: Now, lease: Duration) -> Result<u64, StoreError>;
        fn release_claims(&self) -> Result<u64, StoreError>;
        fn sweep(&self, limit: u32) -> Result<u64, StoreError>;
        fn enrollments_by_id(&self, ids: &[i64]) -> Result<Vec<(i64, EnrollmentInfo)>, StoreError>;
        fn next_due(&self) -> Result<Option<Timestamp>, StoreError>;
        fn settle(&self, settlements: &[Settlement], now: Now) -> Result<Vec<bool>, StoreError>;
        fn start_occurrence(&self, work: &DueWork, now: Timestamp) -> Result<FanOut, StoreError>;
        fn enter_audience(&self, work: &DueWork, now: Timestamp) -> Result<FanOut, StoreError>;
    }
}
