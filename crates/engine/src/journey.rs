//! Journey steps: one claimed row is one enrollment at one node. A message node is sent (one
//! delivery per row, so retries are clean); then the walk goes on in the core interpreter until
//! the next message, a wait or the end, and the step is settled with everything it did (J2–J9).
//! Every step of a version runs inside its brake, so after `stop` returns nothing more happens
//! in that version (J4, B1).
//!
//! A batch is read in one go (its journeys, enrollments, profiles, and the channels and
//! templates of the messages due); its chunks then run a few at a time: messages go out, and
//! the walks and the settlement of a chunk run together on the blocking pool.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use futures_util::StreamExt;
use jiff::Timestamp;
use sluice_channels::{OutgoingMessage, SubjectKind};
use sluice_core::channel::ChannelType;
use sluice_core::journey::walk::{Stop, walk};
use sluice_core::journey::{Journey, JourneyVersion, JourneyVersionStatus, Node};
use sluice_core::profile::Profile;
use sluice_core::rule::{EventCounts, Rule};
use sluice_store::{
    ActionRecord, Advance, DueWork, EnrollmentInfo, EnrollmentState, Next, Outcome, Settlement,
    Store, StoreError,
};

use crate::brakes::{BrakeSubject, InFlight};
use crate::send::{BuiltChannel, Template, Verdict};
use crate::{Engine, blocking};

/// Event counts of one profile, read from the store as a condition asks for them.
struct StoredCounts<'a> {
    store: &'a dyn Store,
    profile_id: &'a str,
}

impl EventCounts for StoredCounts<'_> {
    fn count(&self, name: &str, since: Option<Timestamp>) -> u64 {
        self.store
            .event_count(self.profile_id, name, since)
            .inspect_err(|e| tracing::error!(%e, "counting events for a condition"))
            .unwrap_or(0)
    }
}

fn record(
    work: &DueWork,
    node: &str,
    channel: Option<&str>,
    now: Timestamp,
    outcome: Outcome,
    detail: Option<String>,
) -> ActionRecord {
    ActionRecord {
        at: now,
        profile_id: work.profile_id.clone().unwrap_or_default(),
        version: work.version,
        occurrence: None,
        node_id: Some(node.to_owned()),
        channel_id: channel.map(str::to_owned),
        action: "message".into(),
        outcome,
        detail,
    }
}

fn advance(
    work: &DueWork,
    enrollment_id: i64,
    records: Vec<ActionRecord>,
    next: Next,
) -> Settlement {
    Settlement::Advance(Box::new(Advance {
        work_id: work.id,
        attempt: work.attempt,
        enrollment_id,
        journey_id: work.journey_id.clone().unwrap_or_default(),
        version: work.version,
        profile_id: work.profile_id.clone().unwrap_or_default(),
        records,
        idempotency_key: work.idempotency_key.clone(),
        updates: Vec::new(),
        removals: Vec::new(),
        visited: Vec::new(),
        next,
    }))
}

/// What the steps of one batch read, loaded once.
#[derive(Default)]
struct Batch {
    journeys: HashMap<String, Journey>,
    enrollments: HashMap<i64, EnrollmentInfo>,
    profiles: HashMap<String, Profile>,
    /// Channels (with their type, for consent) and templates of the message nodes due;
    /// `None` when gone or unusable.
    channels: HashMap<String, Option<(ChannelType, BuiltChannel)>>,
    templates: HashMap<String, Result<Template, String>>,
}

impl Batch {
    fn version(&self, work: &DueWork) -> Option<(&Journey, &JourneyVersion)> {
        let journey = self.journeys.get(work.journey_id.as_deref()?)?;
        Some((journey, journey.version(work.version)?))
    }
}

/// Whether the row resumes after its node (a wait that is over) rather than running it.
fn resumes(work: &DueWork) -> bool {
    work.payload
        .as_ref()
        .and_then(|p| p.get("resume"))
        .and_then(serde_json::Value::as_bool)
        == Some(true)
}

async fn load(engine: &Engine, works: &[DueWork]) -> Result<Batch, StoreError> {
    let mut journey_ids: Vec<String> = works.iter().filter_map(|w| w.journey_id.clone()).collect();
    journey_ids.sort_unstable();
    journey_ids.dedup();
    let enrollment_ids: Vec<i64> = works.iter().filter_map(|w| w.enrollment_id).collect();
    let mut profile_ids: Vec<String> = works.iter().filter_map(|w| w.profile_id.clone()).collect();
    profile_ids.sort_unstable();
    profile_ids.dedup();
    let keys: Vec<(Option<String>, u32, Option<String>, bool)> = works
        .iter()
        .map(|w| {
            (
                w.journey_id.clone(),
                w.version,
                w.node_id.clone(),
                resumes(w),
            )
        })
        .collect();
    let (journeys, enrollments, profiles, catalog) = blocking(&engine.store, move |s| {
        let mut journeys = HashMap::new();
        for id in journey_ids {
            if let Some(j) = s.journey(&id)? {
                journeys.insert(id, j);
            }
        }
        let enrollments: HashMap<i64, EnrollmentInfo> =
            s.enrollments_by_id(&enrollment_ids)?.into_iter().collect();
        let profiles: HashMap<String, Profile> = s
            .profiles_by_id(&profile_ids)?
            .into_iter()
            .map(|p| (p.id.clone(), p))
            .collect();
        // The channels and templates of the messages this batch sends.
        let mut channels = HashMap::new();
        let mut templates = HashMap::new();
        for (journey_id, version, node_id, resume) in keys {
            let node = journey_id
                .and_then(|id| journeys.get(&id))
                .and_then(|j: &Journey| j.version(version))
                .zip(node_id)
                .and_then(|(v, n)| v.definition.node(&n).cloned());
            if let (
                false,
                Some(Node::Message {
                    channel_id,
                    template_id,
                    ..
                }),
            ) = (resume, node)
            {
                if let std::collections::hash_map::Entry::Vacant(slot) = channels.entry(channel_id)
                {
                    let c = s.channel(slot.key())?;
                    slot.insert(c);
                }
                if let std::collections::hash_map::Entry::Vacant(slot) =
                    templates.entry(template_id)
                {
                    let t = s.template(slot.key())?;
                    slot.insert(t);
                }
            }
        }
        Ok((journeys, enrollments, profiles, (channels, templates)))
    })
    .await?;
    let (channels, templates) = catalog;
    Ok(Batch {
        journeys,
        enrollments,
        profiles,
        channels: channels
            .into_iter()
            .map(|(id, c)| {
                let built = c.and_then(|c| {
                    crate::send::built_channel(engine, &c).map(|b| (c.channel_type, b))
                });
                (id, built)
            })
            .collect(),
        templates: templates
            .into_iter()
            .map(|(id, t)| {
                let compiled = match t {
                    None => Err(format!("template {id} no longer exists")),
                    Some(t) => crate::send::compiled_template(engine, &t),
                };
                (id, compiled)
            })
            .collect(),
    })
}

/// Carries out a batch of journey steps, chunks at a time, each under its version's brake.
pub(crate) async fn step(engine: &Engine, works: Vec<DueWork>) -> Result<(), StoreError> {
    let batch = Arc::new(load(engine, &works).await?);
    let size = engine.config.chunk.max(1);
    let mut chunks = Vec::with_capacity(works.len() / size + 1);
    let mut works = works.into_iter().peekable();
    while works.peek().is_some() {
        chunks.push(works.by_ref().take(size).collect::<Vec<_>>());
    }
    let mut running = futures_util::stream::iter(
        chunks
            .into_iter()
            .map(|chunk| run_chunk(engine, Arc::clone(&batch), chunk)),
    )
    .buffer_unordered(engine.config.chunks_in_flight.max(1));
    while let Some(result) = running.next().await {
        result?;
    }
    Ok(())
}

/// A step after its message (if any) went out: what it still needs to be settled.
enum Ran {
    /// Settled as it is (gone, halted, timed out, braked, or a retry of its message).
    Settled(Settlement),
    /// Walk on from the step's node, with the message record (if it sent one).
    Walk {
        work: DueWork,
        enrollment_id: i64,
        skip_first: bool,
        records: Vec<ActionRecord>,
    },
}

async fn run_chunk(
    engine: &Engine,
    batch: Arc<Batch>,
    chunk: Vec<DueWork>,
) -> Result<(), StoreError> {
    let now = engine.clock.now();
    let ran = futures_util::future::join_all(
        chunk
            .into_iter()
            .map(|work| run_one(engine, &batch, work, now)),
    )
    .await;
    let mut guards: Vec<InFlight> = Vec::with_capacity(ran.len());
    let mut steps = Vec::with_capacity(ran.len());
    for (step, guard) in ran {
        steps.push(step);
        guards.extend(guard);
    }
    // The walks may read event counts (conditions): on the blocking pool, with the settlement.
    let store = Arc::clone(&engine.store);
    let settled_at = engine.clock.now();
    tokio::task::spawn_blocking(move || {
        let mut rules: HashMap<(String, u32), BTreeMap<&str, Rule>> = HashMap::new();
        let settlements: Vec<Settlement> = steps
            .into_iter()
            .map(|step| match step {
                Ran::Settled(s) => s,
                Ran::Walk {
                    work,
                    enrollment_id,
                    skip_first,
                    records,
                } => walk_on(
                    store.as_ref(),
                    &batch,
                    &mut rules,
                    &work,
                    enrollment_id,
                    skip_first,
                    records,
                    now,
                ),
            })
            .collect();
        store.settle(&settlements, settled_at)
    })
    .await
    .map_err(|e| StoreError::Backend(format!("journey walk failed: {e}")))??;
    // Only now, with every step of the chunk written, may a waiting brake return.
    drop(guards);
    Ok(())
}

/// Decides one step and sends its message if it is at one. B1: the version's brake is checked
/// and the step registered in one step — after the channel's rate limit, so a brake never
/// waits for messages queued behind a limit. The registration is returned, to be dropped once
/// the step's settlement is written.
async fn run_one(
    engine: &Engine,
    batch: &Batch,
    work: DueWork,
    now: Timestamp,
) -> (Ran, Option<InFlight>) {
    let step = match decide(batch, &work, now) {
        Decided::Settled(s) => return (Ran::Settled(s), None),
        Decided::Run(step) => step,
    };
    let Step {
        enrollment_id,
        outbound,
    } = step;
    let subject =
        BrakeSubject::JourneyVersion(work.journey_id.clone().unwrap_or_default(), work.version);
    let turn = async {
        if let Some(Outgoing::Ready(out)) = &outbound
            && let Some(limiter) = &out.limiter
        {
            limiter.acquire().await;
        }
    };
    let braked = tokio::select! {
        biased;
        () = turn => false,
        () = engine.brakes.engaged(&subject) => true,
    };
    let guard = if braked {
        None
    } else {
        engine.brakes.enter(&subject)
    };
    let Some(guard) = guard else {
        let braked = Settlement::Retry {
            work_id: work.id,
            attempt: work.attempt,
            at: now,
            reason: "braked".into(),
        };
        return (Ran::Settled(braked), None);
    };
    let (records, skip_first) = match outbound {
        None => (Vec::new(), resumes(&work)),
        // Not sent (no consent, a template that does not render…): recorded, and on it goes.
        Some(Outgoing::NotSent(r)) => (vec![r], true),
        Some(Outgoing::Ready(out)) => {
            let outcome = out.channel.deliver(&out.message).await;
            let at = engine.clock.now();
            match crate::send::verdict(engine, outcome, work.attempt, at) {
                Verdict::Record(outcome, detail) => {
                    let node = work.node_id.clone().unwrap_or_default();
                    let r = record(&work, &node, Some(&out.channel_id), at, outcome, detail);
                    (vec![r], true)
                }
                Verdict::Retry(at, reason) => {
                    let retry = Settlement::Retry {
                        work_id: work.id,
                        attempt: work.attempt,
                        at,
                        reason,
                    };
                    return (Ran::Settled(retry), Some(guard));
                }
            }
        }
    };
    let ran = Ran::Walk {
        work,
        enrollment_id,
        skip_first,
        records,
    };
    (ran, Some(guard))
}

/// The message of a step at a message node: ready to go out, or recorded as not sent.
enum Outgoing {
    Ready(Box<Outbound>),
    NotSent(ActionRecord),
}

/// A message ready to go out.
struct Outbound {
    message: OutgoingMessage,
    channel_id: String,
    channel: Arc<dyn sluice_channels::Channel>,
    limiter: Option<Arc<sluice_channels::RateLimiter>>,
}

/// A step that runs: its enrollment, and the message of its node (or the record of why it is
/// not sent), if it is at one.
struct Step {
    enrollment_id: i64,
    outbound: Option<Outgoing>,
}

enum Decided {
    Settled(Settlement),
    Run(Step),
}

/// What one step does, from what the batch read: nothing (its enrollment or version is gone,
/// halted, or no longer active), a timeout, or a run, with its message rendered.
fn decide(batch: &Batch, work: &DueWork, now: Timestamp) -> Decided {
    let done = Settlement::Done {
        work_id: work.id,
        attempt: work.attempt,
        record: None,
        idempotency_key: None,
    };
    let (Some(enrollment_id), Some(profile_id), Some(node_id)) = (
        work.enrollment_id,
        work.profile_id.as_deref(),
        work.node_id.as_deref(),
    ) else {
        return Decided::Settled(done);
    };
    let Some((journey, version)) = batch.version(work) else {
        return Decided::Settled(done);
    };
    // Halted (J4) or erased meanwhile: nothing more runs for this enrollment.
    if !matches!(
        version.status,
        JourneyVersionStatus::Live | JourneyVersionStatus::Closed
    ) {
        return Decided::Settled(Settlement::Cancelled {
            work_id: work.id,
            attempt: work.attempt,
            record: None,
        });
    }
    let (Some(enrollment), Some(profile)) = (
        batch.enrollments.get(&enrollment_id),
        batch.profiles.get(profile_id),
    ) else {
        return Decided::Settled(done);
    };
    if enrollment.state != EnrollmentState::Active {
        return Decided::Settled(done);
    }
    // J8: the global timeout.
    if now >= enrollment.deadline {
        let mut r = record(
            work,
            node_id,
            None,
            now,
            Outcome::TimedOut,
            Some("journey timeout".into()),
        );
        r.action = "timeout".into();
        return Decided::Settled(advance(
            work,
            enrollment_id,
            vec![r],
            Next::Leave {
                node_id: None,
                state: EnrollmentState::TimedOut,
            },
        ));
    }
    let outbound = match (resumes(work), version.definition.node(node_id)) {
        (
            false,
            Some(Node::Message {
                channel_id,
                template_id,
                ..
            }),
        ) => Some(outbound(
            batch,
            work,
            (profile, enrollment),
            &journey.name,
            (channel_id, template_id),
            now,
        )),
        _ => None,
    };
    Decided::Run(Step {
        enrollment_id,
        outbound,
    })
}

/// The message of a message node rendered for its profile, or the record of why it is not
/// sent.
fn outbound(
    batch: &Batch,
    work: &DueWork,
    (profile, enrollment): (&Profile, &EnrollmentInfo),
    journey_name: &str,
    (channel_id, template_id): (&str, &str),
    now: Timestamp,
) -> Outgoing {
    let node = work.node_id.as_deref().unwrap_or_default();
    let not_sent = |outcome: Outcome, detail: String| {
        record(work, node, Some(channel_id), now, outcome, Some(detail))
    };
    let Some(Some((channel_type, (channel, limiter)))) = batch.channels.get(channel_id) else {
        return Outgoing::NotSent(not_sent(
            Outcome::Failed,
            format!("channel {channel_id} no longer exists or cannot be built from its settings"),
        ));
    };
    if !profile.allows(*channel_type) {
        return Outgoing::NotSent(not_sent(Outcome::Skipped, "no_consent".into()));
    }
    let template = match batch.templates.get(template_id) {
        Some(Ok(t)) => t,
        Some(Err(e)) => return Outgoing::NotSent(not_sent(Outcome::Failed, e.clone())),
        None => {
            return Outgoing::NotSent(not_sent(
                Outcome::Failed,
                format!("template {template_id} no longer exists"),
            ));
        }
    };
    let context = serde_json::json!({
        "profile": profile.template_view(),
        "event": enrollment.event.clone().unwrap_or_else(|| serde_json::json!({})),
        "journey": {"name": journey_name},
    });
    let (subject, body) = match template.render(&context) {
        Ok(rendered) => rendered,
        Err(e) => return Outgoing::NotSent(not_sent(Outcome::Failed, e)),
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
        subject_kind: SubjectKind::Journey {
            id: work.journey_id.clone().unwrap_or_default(),
        },
        version: work.version,
        node_id: Some(node.to_owned()),
        subject,
        body,
        sent_at: now,
    };
    Outgoing::Ready(Box::new(Outbound {
        message,
        channel_id: channel_id.to_owned(),
        channel: Arc::clone(channel),
        limiter: limiter.clone(),
    }))
}

/// Walks on from the step's node in the core interpreter and turns where it stopped into the
/// step's settlement.
#[allow(
    clippy::too_many_arguments,
    reason = "one step's whole context, in one place"
)]
fn walk_on<'a>(
    store: &dyn Store,
    batch: &'a Batch,
    rules: &mut HashMap<(String, u32), BTreeMap<&'a str, Rule>>,
    work: &DueWork,
    enrollment_id: i64,
    skip_first: bool,
    mut records: Vec<ActionRecord>,
    now: Timestamp,
) -> Settlement {
    let (Some((_, version)), Some(profile), Some(enrollment), Some(node_id)) = (
        batch.version(work),
        work.profile_id
            .as_deref()
            .and_then(|p| batch.profiles.get(p)),
        batch.enrollments.get(&enrollment_id),
        work.node_id.clone(),
    ) else {
        return advance(
            work,
            enrollment_id,
            records,
            Next::Leave {
                node_id: None,
                state: EnrollmentState::Failed,
            },
        );
    };
    let definition = &version.definition;
    let rules = rules
        .entry((work.journey_id.clone().unwrap_or_default(), work.version))
        .or_insert_with(|| definition.condition_rules().unwrap_or_default());
    let mut attributes = profile.attributes.clone();
    let events = StoredCounts {
        store,
        profile_id: &profile.id,
    };
    let walked = match walk(
        definition,
        rules,
        &node_id,
        skip_first,
        &mut attributes,
        &events,
        now,
    ) {
        Ok(w) => w,
        Err(e) => {
            let mut r = record(
                work,
                &node_id,
                None,
                now,
                Outcome::Failed,
                Some(e.to_string()),
            );
            r.action = "walk".into();
            records.push(r);
            return advance(
                work,
                enrollment_id,
                records,
                Next::Leave {
                    node_id: None,
                    state: EnrollmentState::Failed,
                },
            );
        }
    };
    let next = match walked.stop {
        Stop::Message { node_id, .. } => Next::At {
            node_id,
            due_at: now,
            resume: false,
        },
        // A wait past the deadline is cut short by it: the step then times the profile out.
        Stop::Wait { node_id, until } => Next::At {
            node_id,
            due_at: until.min(enrollment.deadline),
            resume: true,
        },
        Stop::End => Next::Leave {
            node_id: walked.visited.last().cloned(),
            state: EnrollmentState::Completed,
        },
    };
    let Settlement::Advance(mut a) = advance(work, enrollment_id, records, next) else {
        unreachable!("advance builds an Advance")
    };
    a.updates = walked.updates;
    a.removals = walked.removals;
    a.visited = walked.visited;
    Settlement::Advance(a)
}
