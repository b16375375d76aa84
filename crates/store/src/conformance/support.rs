//! Shared fixtures of the checks: a fixed clock, domain values built through their real
//! constructors, lifecycle commands driven through the real domain methods, and page walkers.

use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};
use sluice_core::campaign::{Campaign, CampaignContent};
use sluice_core::channel::ChannelType;
use sluice_core::clock::Now;
use sluice_core::journey::{Journey, JourneyDefinition, JourneyVersionStatus};
use sluice_core::profile::{Attributes, Event, Profile};
use sluice_core::rule::Rule;
use sluice_core::schedule::Schedule;

use crate::{
    Applied, AuditEntry, CommandContext, Enrollment, EnrollmentState, Notification, Origin, Page,
    PageRequest, RemoveOutcome, Store, Subject, Trigger,
};

/// The instant every check starts at.
pub fn now() -> Timestamp {
    "2026-01-01T00:00:00Z"
        .parse()
        .expect("a valid RFC 3339 instant")
}

/// `secs` seconds after [`now`] (before it when negative).
pub fn later(secs: i64) -> Timestamp {
    now()
        .checked_add(SignedDuration::from_secs(secs))
        .expect("within the supported range")
}

/// Both kinds of time `secs` seconds after [`now`]: the checks let real time run with the
/// business clock unless they say otherwise.
pub fn both(secs: i64) -> Now {
    Now {
        business: later(secs),
        real: later(secs),
    }
}

/// The lease the checks claim with.
pub const LEASE: std::time::Duration = std::time::Duration::from_secs(60);

pub const DAY: i64 = 86_400;

/// A command by `actor` at [`now`], without a reason.
pub fn ctx(actor: &str) -> CommandContext {
    ctx_at(actor, now())
}

pub fn ctx_at(actor: &str, at: Timestamp) -> CommandContext {
    CommandContext {
        actor: actor.to_owned(),
        reason: None,
        now: at,
    }
}

pub fn with_reason(mut ctx: CommandContext, reason: &str) -> CommandContext {
    ctx.reason = Some(reason.to_owned());
    ctx
}

/// A JSON object as attributes.
pub fn attrs(v: Value) -> Attributes {
    match v {
        Value::Object(map) => map,
        other => panic!("attributes must be a JSON object, not {other}"),
    }
}

pub fn profile(id: &str, attributes: Value) -> Profile {
    Profile {
        id: id.to_owned(),
        attributes: attrs(attributes),
        consent: Default::default(),
        created_at: now(),
        updated_at: now(),
    }
}

pub fn event(profile_id: &str, name: &str, at: Timestamp) -> Event {
    Event {
        profile_id: profile_id.to_owned(),
        name: name.to_owned(),
        properties: attrs(json!({"source": "conformance"})),
        timestamp: at,
    }
}

pub fn rule(v: Value) -> Rule {
    let text = v.to_string();
    Rule::try_from(v).unwrap_or_else(|e| panic!("{text} should parse as a rule: {e}"))
}

pub fn schedule(v: Value) -> Schedule {
    let text = v.to_string();
    serde_json::from_value(v).unwrap_or_else(|e| panic!("{text} should parse as a schedule: {e}"))
}

/// Daily at 09:00 UTC: from [`now`], the first run is `2026-01-01T09:00:00Z`.
pub fn daily() -> Schedule {
    schedule(json!({"type": "recurring", "cron": "0 9 * * *", "timezone": "UTC"}))
}

pub fn content(
    channel: &str,
    template: &str,
    audience: Option<&str>,
    s: Schedule,
) -> CampaignContent {
    CampaignContent {
        channel_id: channel.to_owned(),
        template_id: template.to_owned(),
        audience_id: audience.map(str::to_owned),
        schedule: s,
    }
}

/// A draft campaign (C1) sending `tpl_a` through `ch_a` to `aud_a` on `s`, stored.
pub fn insert_campaign(store: &dyn Store, id: &str, s: Schedule) -> Campaign {
    let campaign = Campaign::new_draft(
        id.to_owned(),
        format!("Campaign {id}"),
        content("ch_a", "tpl_a", Some("aud_a"), s),
        ChannelType::Email,
        now(),
    );
    store
        .insert_campaign(&campaign, Origin::Created, &ctx("creator"))
        .expect("insert_campaign");
    campaign
}

pub fn activate(store: &dyn Store, id: &str, ctx: &CommandContext) -> Applied<Campaign> {
    let at = ctx.now;
    store
        .apply_campaign(id, ctx, &mut |c| Ok(c.activate(at)?))
        .expect("activate is allowed")
}

/// A journey definition entered by event `signed_up`: welcome (message) → pause (1 day) → done.
pub fn definition(reentry: Value) -> JourneyDefinition {
    definition_for("signed_up", reentry)
}

pub fn definition_for(event: &str, reentry: Value) -> JourneyDefinition {
    let mut v = json!({
        "entry": {"type": "event", "event": event},
        "timeout": "P30D",
        "start": "welcome",
        "nodes": [
            {"id": "welcome", "type": "message", "channel_id": "ch_a", "template_id": "tpl_a",
             "next": "pause"},
            {"id": "pause", "type": "wait", "duration": "P1D", "next": "done"},
            {"id": "done", "type": "end"}
        ]
    });
    v["reentry"] = reentry;
    let text = v.to_string();
    serde_json::from_value(v).unwrap_or_else(|e| panic!("{text} should parse: {e}"))
}

pub fn insert_journey(store: &dyn Store, id: &str, definition: JourneyDefinition) -> Journey {
    let journey = Journey::new_draft(id.to_owned(), format!("Journey {id}"), definition, now());
    store
        .insert_journey(&journey, Origin::Created, &ctx("creator"))
        .expect("insert_journey");
    journey
}

pub fn publish(store: &dyn Store, id: &str, n: u32, ctx: &CommandContext) -> Applied<Journey> {
    let at = ctx.now;
    store
        .apply_journey(id, ctx, &mut |j| {
            Ok(j.publish(n, at).expect("the version exists")?)
        })
        .expect("publish is allowed")
}

/// A journey inserted and its version 1 published, entered by `signed_up`.
pub fn live_journey(store: &dyn Store, id: &str, reentry: Value) -> Journey {
    insert_journey(store, id, definition(reentry));
    publish(store, id, 1, &ctx("publisher")).value
}

pub fn close(store: &dyn Store, id: &str, n: u32, ctx: &CommandContext) -> Applied<Journey> {
    let at = ctx.now;
    store
        .apply_journey(id, ctx, &mut |j| {
            Ok(vec![j.close(n, at).expect("the version exists")?])
        })
        .expect("close is allowed")
}

pub fn stop(store: &dyn Store, id: &str, n: u32, ctx: &CommandContext) -> Applied<Journey> {
    let at = ctx.now;
    store
        .apply_journey(id, ctx, &mut |j| {
            Ok(vec![j.stop(n, at).expect("the version exists")?])
        })
        .expect("stop is allowed")
}

/// J6: draft N+1 copied from the latest version, as the API records it.
pub fn new_version(store: &dyn Store, id: &str, ctx: &CommandContext) -> Applied<Journey> {
    let at = ctx.now;
    store
        .apply_journey(id, ctx, &mut |j| Ok(vec![j.new_version(at)?]))
        .expect("new_version is allowed")
}

/// Records `events` at `at` and returns the number of enrollments made.
pub fn record(store: &dyn Store, events: &[Event], at: Timestamp) -> u64 {
    store.record_events(events, at).expect("record_events")
}

/// Every page of a listing, walked by cursor from the first, with `limit` items per page.
pub fn pages<T>(limit: u32, mut fetch: impl FnMut(&PageRequest) -> Page<T>) -> Vec<Vec<T>> {
    let mut request = PageRequest::first(limit);
    let mut pages = Vec::new();
    loop {
        let page = fetch(&request);
        assert!(
            page.items.len() <= limit as usize,
            "a page holds at most `limit` = {limit} items, got {}",
            page.items.len()
        );
        let next = page.next_cursor;
        pages.push(page.items);
        match next {
            Some(cursor) => {
                assert!(pages.len() < 1000, "paging does not terminate");
                request.cursor = Some(cursor);
            }
            None => return pages,
        }
    }
}

/// Every item of a listing, read 1,000 at a time.
pub fn all<T>(fetch: impl FnMut(&PageRequest) -> Page<T>) -> Vec<T> {
    pages(crate::MAX_PAGE_LIMIT, fetch)
        .into_iter()
        .flatten()
        .collect()
}

pub fn enrollments(
    store: &dyn Store,
    journey: &str,
    version: u32,
    state: Option<EnrollmentState>,
) -> Vec<Enrollment> {
    all(|p| {
        store
            .enrollments(journey, version, state, p)
            .expect("enrollments")
    })
}

/// `(profile, state)` of each enrollment, sorted, for order-free comparisons.
pub fn who(enrollments: &[Enrollment]) -> Vec<(String, EnrollmentState)> {
    let mut v: Vec<_> = enrollments
        .iter()
        .map(|e| (e.profile_id.clone(), e.state))
        .collect();
    v.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.as_str().cmp(b.1.as_str())));
    v
}

pub fn audit_of(store: &dyn Store, subject: Option<&Subject>) -> Vec<AuditEntry> {
    all(|p| store.audit(subject, p).expect("audit"))
}

pub fn notifications(store: &dyn Store, unread_only: bool) -> Vec<Notification> {
    all(|p| store.notifications(unread_only, p).expect("notifications"))
}

/// The notifications about one subject (`campaign`/`journey`, id), newest first.
pub fn notifications_of(store: &dyn Store, kind: &str, id: &str) -> Vec<Notification> {
    notifications(store, false)
        .into_iter()
        .filter(|n| n.subject.kind == kind && n.subject.id == id)
        .collect()
}

pub fn campaign_subject(id: &str) -> Subject {
    Subject::Campaign { id: id.to_owned() }
}

pub fn version_subject(id: &str, version: u32) -> Subject {
    Subject::JourneyVersion {
        id: id.to_owned(),
        version,
    }
}

/// Takes `profile` out of version `n` at `secs` after [`now`].
pub fn remove(store: &dyn Store, id: &str, n: u32, profile: &str, secs: i64) -> RemoveOutcome {
    store
        .remove_from_journey(id, n, profile, &ctx_at("ann", later(secs)))
        .expect("remove_from_journey")
}

/// The stored status of version `n`.
pub fn status(store: &dyn Store, id: &str, n: u32) -> JourneyVersionStatus {
    let journey = store.journey(id).expect("get").expect("the journey exists");
    journey.version(n).expect("the version exists").status
}

/// `(profile, state)`, as [`who`] lists them.
pub fn p(id: &str, state: EnrollmentState) -> (String, EnrollmentState) {
    (id.to_owned(), state)
}

/// An API trigger of version 1 of `campaign` for `profile`, at [`now`].
pub fn trigger(campaign: &str, profile: &str, key: &str) -> Trigger {
    Trigger {
        campaign_id: campaign.to_owned(),
        version: 1,
        profile_id: profile.to_owned(),
        context: json!({"order": 42}),
        idempotency_key: key.to_owned(),
        now: now(),
    }
}
