//! Campaign messages: a send (one occurrence, one profile) or a trigger (one API call) is
//! rendered for its profile and handed to its channel; the outcome becomes the row's
//! settlement and an action record (B2), all settled in one transaction per batch.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use futures_util::FutureExt as _;
use futures_util::StreamExt as _;
use futures_util::stream::FuturesUnordered;
use jiff::Timestamp;
use sluice_channels::{Channel, DeliveryOutcome, OutgoingMessage, RateLimiter, SubjectKind};
use sluice_core::campaign::{Campaign, CampaignStatus};
use sluice_core::channel::ChannelType;
use sluice_core::profile::Profile;
use sluice_core::template::CompiledTemplate;
use sluice_store::{ActionRecord, DueWork, Outcome, Settlement, StoreError, WorkKind};

use crate::allowance::Allowance;
use crate::brakes::{BrakeSubject, InFlight};
use crate::{Engine, blocking};

/// Built channels and compiled templates, reused across batches while unchanged.
#[derive(Default)]
pub(crate) struct Senders {
    channels: Mutex<HashMap<String, (Timestamp, BuiltChannel)>>,
    templates: Mutex<HashMap<String, (Timestamp, Template)>>,
}

/// A channel ready to deliver, and the rate limit it keeps.
pub(crate) type BuiltChannel = (Arc<dyn Channel>, Option<Arc<RateLimiter>>);

#[derive(Clone)]
pub(crate) struct Template {
    subject: Option<CompiledTemplate>,
    body: CompiledTemplate,
}

impl Template {
    /// Subject and body rendered for one message, or why they cannot be.
    pub(crate) fn render(
        &self,
        context: &serde_json::Value,
    ) -> Result<(Option<String>, String), String> {
        let subject = self.subject.as_ref().map(|s| s.render(context)).transpose();
        subject
            .and_then(|subject| Ok((subject, self.body.render(context)?)))
            .map_err(|e| format!("render: {e}"))
    }
}

/// What a channel's answer means for the row that carried the message.
pub(crate) enum Verdict {
    /// Record this outcome (with its detail) and be done with the message.
    Record(Outcome, Option<String>),
    /// Try again after this much real time.
    Retry(Duration, String),
}

/// Delivered and fatal answers are recorded; a retryable one is tried again after its back-off
/// (at least its `Retry-After`) until the attempts run out, then recorded as failed.
pub(crate) fn verdict(engine: &Engine, outcome: DeliveryOutcome, attempt: u32) -> Verdict {
    let config = &engine.config;
    match outcome {
        DeliveryOutcome::Delivered { detail } => Verdict::Record(Outcome::Delivered, detail),
        DeliveryOutcome::Fatal { reason } => Verdict::Record(Outcome::Failed, Some(reason)),
        DeliveryOutcome::Retryable { reason, .. } if attempt >= config.max_attempts => {
            Verdict::Record(
                Outcome::Failed,
                Some(format!("{reason} (gave up after {attempt} attempts)")),
            )
        }
        DeliveryOutcome::Retryable {
            reason,
            retry_after,
        } => {
            let wait = sluice_channels::backoff(attempt, config.retry_base, config.retry_max)
                .max(retry_after.unwrap_or_default());
            Verdict::Retry(wait, reason)
        }
    }
}

/// What one message needs, loaded once per batch.
struct Plan {
    campaign: Campaign,
    channel_id: String,
    channel_type: ChannelType,
    channel: Arc<dyn Channel>,
    limiter: Option<Arc<RateLimiter>>,
    template: Result<Template, String>,
}

/// One message ready to go, or already decided without a channel.
enum Step {
    Decided(Settlement),
    Send(Box<Ready>),
}

struct Ready {
    work: DueWork,
    message: OutgoingMessage,
    plan: Arc<Plan>,
}

fn record(
    work: &DueWork,
    plan: Option<&Plan>,
    now: Timestamp,
    outcome: Outcome,
    detail: Option<String>,
) -> ActionRecord {
    ActionRecord {
        at: now,
        profile_id: work.profile_id.clone().unwrap_or_default(),
        version: work.version,
        occurrence: work.occurrence,
        node_id: work.node_id.clone(),
        channel_id: plan.map(|p| p.channel_id.clone()),
        action: work.kind.as_str().to_owned(),
        outcome,
        detail,
    }
}

fn done(
    work: &DueWork,
    plan: Option<&Plan>,
    now: Timestamp,
    outcome: Outcome,
    detail: Option<String>,
) -> Settlement {
    Settlement::Done {
        claim: work.claim(),
        record: Some(record(work, plan, now, outcome, detail)),
        idempotency_key: work.idempotency_key.clone(),
    }
}

async fn plan(
    engine: &Engine,
    campaign_id: &str,
    version: u32,
) -> Result<Option<Plan>, StoreError> {
    let id = campaign_id.to_owned();
    let Some(campaign) = blocking(&engine.store, move |s| s.campaign(&id)).await? else {
        return Ok(None);
    };
    let Some(content) = campaign.version(version).map(|v| v.content.clone()) else {
        return Ok(None);
    };
    let (channel_id, template_id) = (content.channel_id.clone(), content.template_id.clone());
    let (channel, template) = {
        let (c, t) = (channel_id.clone(), template_id.clone());
        blocking(&engine.store, move |s| {
            Ok((s.channel(&c)?, s.template(&t)?))
        })
        .await?
    };
    let Some(channel) = channel else {
        return Ok(None);
    };
    let Some((built, limiter)) = built_channel(engine, &channel) else {
        return Ok(None);
    };
    let template = match template {
        None => Err(format!("template {template_id} no longer exists")),
        Some(t) => compiled_template(engine, &t),
    };
    Ok(Some(Plan {
        campaign,
        channel_id,
        channel_type: channel.channel_type,
        channel: built,
        limiter,
        template,
    }))
}

/// Decides what to do with one message: settle it without a channel, or send it (rendered
/// for its profile, loaded with the rest of the batch).
fn prepare(
    work: DueWork,
    plan: Option<&Arc<Plan>>,
    profile: Option<&Profile>,
    now: Timestamp,
) -> Step {
    let Some(plan) = plan else {
        return Step::Decided(done(
            &work,
            None,
            now,
            Outcome::Failed,
            Some("campaign, channel or version is gone".into()),
        ));
    };
    let live = match work.kind {
        WorkKind::Trigger => plan.campaign.status == CampaignStatus::Live,
        // C5: a stopped campaign plans no further occurrence, but the one in progress — whose
        // sends these are — runs to its end.
        _ => matches!(
            plan.campaign.status,
            CampaignStatus::Scheduled | CampaignStatus::Live | CampaignStatus::Stopped
        ),
    };
    if !live {
        let detail = format!("campaign {}", plan.campaign.status);
        // An abort counted its sends out at once (the summary says how many); one record each
        // would only repeat that, a million times over.
        let aborted = plan.campaign.status == CampaignStatus::Aborted;
        return Step::Decided(Settlement::Cancelled {
            claim: work.claim(),
            record: (!aborted)
                .then(|| record(&work, Some(plan), now, Outcome::Cancelled, Some(detail))),
        });
    }
    let Some(profile) = profile else {
        return Step::Decided(done(
            &work,
            Some(plan),
            now,
            Outcome::Skipped,
            Some("profile erased".into()),
        ));
    };
    if !profile.allows(plan.channel_type) {
        return Step::Decided(done(
            &work,
            Some(plan),
            now,
            Outcome::Skipped,
            Some("no_consent".into()),
        ));
    }
    let template = match &plan.template {
        Ok(t) => t,
        Err(e) => {
            return Step::Decided(done(
                &work,
                Some(plan),
                now,
                Outcome::Failed,
                Some(e.clone()),
            ));
        }
    };
    let event = work
        .payload
        .clone()
        .unwrap_or_else(|| serde_json::json!({}));
    let context = serde_json::json!({
        "profile": profile.template_view(),
        "event": event,
        "campaign": {"name": plan.campaign.name},
    });
    let (subject, body) = match template.render(&context) {
        Ok(r) => r,
        Err(e) => {
            return Step::Decided(done(&work, Some(plan), now, Outcome::Failed, Some(e)));
        }
    };
    let message = OutgoingMessage {
        idempotency_key: work
            .idempotency_key
            .clone()
            .unwrap_or_else(|| format!("work:{}", work.id)),
        profile_id: profile.id.clone(),
        to_email: profile
            .attributes
            .get("email")
            .and_then(|e| e.as_str())
            .map(str::to_owned),
        subject_kind: SubjectKind::Campaign {
            id: plan.campaign.id.clone(),
        },
        version: work.version,
        node_id: None,
        subject,
        body,
        sent_at: now,
    };
    Step::Send(Box::new(Ready {
        work,
        message,
        plan: Arc::clone(plan),
    }))
}

/// Sends a batch of claimed messages. The batch's profiles are read at once and its messages
/// rendered on the blocking pool; then chunks go out, a few at a time, each settled in one
/// transaction as soon as its deliveries have answered.
pub(crate) async fn deliver(
    engine: &Engine,
    works: Vec<DueWork>,
    allowance: &Allowance,
) -> Result<(), StoreError> {
    let now = engine.clock.now();
    let mut plans: HashMap<(String, u32), Option<Arc<Plan>>> = HashMap::new();
    for work in &works {
        let key = (work.campaign_id.clone().unwrap_or_default(), work.version);
        if let std::collections::hash_map::Entry::Vacant(slot) = plans.entry(key) {
            let (campaign_id, version) = slot.key().clone();
            slot.insert(plan(engine, &campaign_id, version).await?.map(Arc::new));
        }
    }
    let store = Arc::clone(&engine.store);
    let steps = tokio::task::spawn_blocking(move || {
        let mut ids: Vec<String> = works.iter().filter_map(|w| w.profile_id.clone()).collect();
        ids.sort_unstable();
        ids.dedup();
        let profiles: HashMap<String, Profile> = store
            .profiles_by_id(&ids)?
            .into_iter()
            .map(|p| (p.id.clone(), p))
            .collect();
        Ok::<_, StoreError>(
            works
                .into_iter()
                .map(|work| {
                    let key = (work.campaign_id.clone().unwrap_or_default(), work.version);
                    let profile = work.profile_id.as_ref().and_then(|id| profiles.get(id));
                    prepare(work, plans[&key].as_ref(), profile, now)
                })
                .collect::<Vec<_>>(),
        )
    })
    .await
    .map_err(|e| StoreError::Backend(format!("preparing messages failed: {e}")))??;
    let steps = defer_beyond_rate(steps, allowance);
    // A brake waits for the chunks in flight only: each holds its deliveries' registrations
    // until its outcomes are written.
    crate::in_chunks(engine, steps, |chunk| send_chunk(engine, chunk)).await
}

/// A rate-limited channel gets its allowance of the batch (`Allowance`); the rest is deferred.
fn defer_beyond_rate(steps: Vec<Step>, allowance: &Allowance) -> Vec<Step> {
    steps
        .into_iter()
        .map(|step| match step {
            Step::Send(ready) => match ready
                .plan
                .limiter
                .as_ref()
                .and_then(|l| allowance.deferred(l))
            {
                Some(after) => Step::Decided(Settlement::Defer {
                    claim: ready.work.claim(),
                    after,
                }),
                None => Step::Send(ready),
            },
            decided => decided,
        })
        .collect()
}

/// Sends one chunk. What was decided without a channel settles at once, in one go; messages
/// settle in groups as their deliveries end — whatever has ended by the time the previous
/// group is written — so one slow receiver never holds back the records of the others, nor a
/// brake waiting on them, while deliveries that end together still share one write.
async fn send_chunk(engine: &Engine, chunk: Vec<Step>) -> Result<(), StoreError> {
    let mut decided = Vec::new();
    let mut sending: FuturesUnordered<_> = FuturesUnordered::new();
    for step in chunk {
        match step {
            Step::Decided(settlement) => decided.push(settlement),
            Step::Send(ready) => sending.push(send_one(engine, *ready)),
        }
    }
    let sent = async {
        let mut failed = None;
        while let Some(first) = sending.next().await {
            let mut ended = vec![first];
            while let Some(Some(more)) = sending.next().now_or_never() {
                ended.push(more);
            }
            let (settlements, guards): (Vec<Settlement>, Vec<Option<InFlight>>) =
                ended.into_iter().unzip();
            if let Err(e) = settle(engine, settlements).await {
                failed.get_or_insert(e);
            }
            // Only now, with their outcomes written, may a brake waiting on them return.
            drop(guards);
        }
        failed.map_or(Ok(()), Err)
    };
    let (decided, sent) = futures_util::future::join(settle(engine, decided), sent).await;
    decided.and(sent)
}

/// Writes settlements (with whatever else is settling) and warns of those whose lease was lost.
pub(crate) async fn settle(
    engine: &Engine,
    settlements: Vec<Settlement>,
) -> Result<(), StoreError> {
    if settlements.is_empty() {
        return Ok(());
    }
    let held = engine
        .settler
        .settle(engine, settlements, engine.clock.read())
        .await?;
    let lost = held.iter().filter(|h| !**h).count();
    if lost > 0 {
        tracing::warn!(lost, "settlements whose lease was lost were not recorded");
    }
    Ok(())
}

/// Hands one message to its channel once its rate limit allows, and turns the outcome into the
/// row's settlement. B1: the brake is checked and the delivery registered in one step, after
/// the rate limit's wait (a brake never waits for messages queued behind a limit); a braked
/// campaign's row goes back to wait, and the brake's sweep cancels it. The registration is
/// returned, to be dropped once the settlement is written.
async fn send_one(engine: &Engine, ready: Ready) -> (Settlement, Option<InFlight>) {
    let Ready {
        work,
        message,
        plan,
    } = ready;
    let subject = BrakeSubject::Campaign(plan.campaign.id.clone());
    let turn = async {
        if let Some(limiter) = &plan.limiter {
            limiter.acquire().await;
        }
    };
    let Some(guard) = engine.brakes.enter_after(&subject, turn).await else {
        let braked = Settlement::Retry {
            claim: work.claim(),
            after: Duration::ZERO,
            reason: "braked".into(),
        };
        return (braked, None);
    };
    let ended = hand_over(engine, plan.channel.as_ref(), &message, &guard).await;
    let at = engine.clock.now();
    let settlement = match ended {
        Delivery::Ended(outcome) => match verdict(engine, outcome, work.attempt) {
            Verdict::Record(outcome, detail) => done(&work, Some(&plan), at, outcome, detail),
            Verdict::Retry(after, reason) => Settlement::Retry {
                claim: work.claim(),
                after,
                reason,
            },
        },
        Delivery::Cut => done(&work, Some(&plan), at, Outcome::Unknown, Some(CUT.into())),
        Delivery::Released => released(&work),
    };
    (settlement, Some(guard))
}

/// The detail of a message a brake cut in flight.
pub(crate) const CUT: &str = "in flight at the brake: outcome unknown";

/// How a delivery handed to its channel ended.
pub(crate) enum Delivery {
    /// The channel answered (or gave up), or the engine's deadline ran out (retryable).
    Ended(DeliveryOutcome),
    /// A brake cut it: its request was dropped; the receiver may or may not have it.
    Cut,
    /// The engine is shutting down: its request was dropped and the work goes back to wait,
    /// not counted as a try, for the next start to take over.
    Released,
}

/// Hands a message to its channel and waits for the first of: its answer, the engine's
/// deadline for a delivery (whatever the channel does: a stuck connection, a pool that never
/// hands one out), a brake's cut, the engine's shutdown.
pub(crate) async fn hand_over(
    engine: &Engine,
    channel: &dyn Channel,
    message: &OutgoingMessage,
    guard: &InFlight,
) -> Delivery {
    let limit = engine.config.delivery_timeout;
    tokio::select! {
        biased;
        () = guard.cut() => Delivery::Cut,
        () = engine.released() => Delivery::Released,
        outcome = tokio::time::timeout(limit, channel.deliver(message)) => {
            Delivery::Ended(outcome.unwrap_or_else(|_| DeliveryOutcome::Retryable {
                reason: format!("no answer within {limit:?} (the engine's deadline)"),
                retry_after: None,
            }))
        }
    }
}

/// Work given back at shutdown: due again at once, the claim not counted as a try.
pub(crate) fn released(work: &DueWork) -> Settlement {
    Settlement::Defer {
        claim: work.claim(),
        after: Duration::ZERO,
    }
}

/// The channel ready to deliver (built once per version of its settings), or `None` when its
/// stored settings cannot make one (logged).
pub(crate) fn built_channel(
    engine: &Engine,
    channel: &sluice_store::Channel,
) -> Option<BuiltChannel> {
    let mut cache = engine
        .senders
        .channels
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    if let Some((at, (built, limiter))) = cache.get(&channel.id)
        && *at == channel.updated_at
    {
        return Some((Arc::clone(built), limiter.clone()));
    }
    match sluice_channels::build(channel.channel_type, &channel.config) {
        Ok(built) => {
            let limiter = channel
                .rate_limit_per_second
                .map(|r| Arc::new(RateLimiter::new(Some(r))));
            cache.insert(
                channel.id.clone(),
                (channel.updated_at, (Arc::clone(&built), limiter.clone())),
            );
            Some((built, limiter))
        }
        Err(e) => {
            tracing::error!(channel = %channel.id, error = %e, "channel cannot be built");
            None
        }
    }
}

/// The template compiled (once per version of its text), or why it cannot be.
pub(crate) fn compiled_template(
    engine: &Engine,
    t: &sluice_store::Template,
) -> Result<Template, String> {
    let mut cache = engine
        .senders
        .templates
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    if let Some((at, compiled)) = cache.get(&t.id)
        && *at == t.updated_at
    {
        return Ok(compiled.clone());
    }
    let compiled = t
        .subject
        .as_deref()
        .map(CompiledTemplate::compile)
        .transpose()
        .and_then(|subject| {
            Ok(Template {
                subject,
                body: CompiledTemplate::compile(&t.body)?,
            })
        })
        .map_err(|e| format!("template {}: {e}", t.id))?;
    cache.insert(t.id.clone(), (t.updated_at, compiled.clone()));
    Ok(compiled)
}
