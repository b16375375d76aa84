//! Journey steps: one claimed step is one enrollment at one node. A message node is sent (one
//! delivery per step, so retries are clean); then the walk goes on in the core interpreter until
//! the next message, a wait or the end, and the step is settled with everything it did (J2–J9).
//! Every step of a version runs inside its brake, so after `stop` returns nothing more happens
//! in that version (J4, B1).
//!
//! A batch is read in one go (its journeys, enrollments, profiles, and the channels and
//! templates of the messages due); its chunks then run a few at a time: messages go out, and
//! the walks and the settlement of a chunk run together on the blocking pool.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use futures_util::FutureExt as _;
use futures_util::StreamExt as _;
use futures_util::stream::FuturesUnordered;
use jiff::Timestamp;
use sluice_core::journey::walk::{Stop, walk};
use sluice_core::journey::{JourneyDefinition, JourneyVersionStatus, Node};
use sluice_core::rule::{FallibleCounts, Rule};
use sluice_store::{
    ActionRecord, Advance, DueWork, EnrollmentState, Next, Outcome, Settlement, Store, StoreError,
};

mod batch;
mod counts;
mod message;

use batch::{Batch, load, resumes};
use counts::{Unread, settle_unread};
use message::{Outgoing, outbound};

use crate::Engine;
use crate::allowance::Allowance;
use crate::brakes::{BrakeSubject, InFlight};
use crate::send::{Delivery, Verdict};

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
        claim: work.claim(),
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

/// Carries out a batch of journey steps, chunks at a time, each under its version's brake.
pub(crate) async fn step(
    engine: &Engine,
    works: Vec<DueWork>,
    allowance: &Allowance,
) -> Result<(), StoreError> {
    let batch = Arc::new(load(engine, &works).await?);
    crate::in_chunks(engine, works, |chunk| {
        run_chunk(engine, Arc::clone(&batch), allowance, chunk)
    })
    .await
}

/// One step, decided and walked up to the message it sends (if any), on the blocking pool.
enum Prepared {
    /// Settled as it is: nothing to run (gone, halted, not active), a timeout, or a walk that
    /// failed. Needs no brake: it sends nothing and moves nobody on.
    Settled(Settlement),
    /// Runs under the version's brake: sends `message` (if any), then walks on from it.
    Run(Box<Step>),
    /// Its walk could not read an event count: runs again later (`counts`).
    Unread(Box<Unread>),
}

/// A step that runs: where the walk before its message got (a wait that is over, a
/// condition…), the message at node `at` it sends, and the attributes the walk has set so far.
struct Step {
    work: DueWork,
    enrollment_id: i64,
    before: Walked,
    /// The message node and its message (ready, or recorded as not sent); `None` when the walk
    /// ended at a wait or the end without one (`before.next` says where it goes).
    message: Option<(String, Outgoing)>,
    attributes: serde_json::Map<String, serde_json::Value>,
}

/// What walks of one step did so far.
#[derive(Default)]
struct Walked {
    records: Vec<ActionRecord>,
    updates: Vec<serde_json::Map<String, serde_json::Value>>,
    removals: Vec<String>,
    visited: Vec<String>,
    next: Option<Next>,
}

impl Walked {
    fn absorb(&mut self, w: sluice_core::journey::walk::Walk, next: Next) {
        self.updates.extend(w.updates);
        self.removals.extend(w.removals);
        self.visited.extend(w.visited);
        self.next = Some(next);
    }

    fn settlement(self, work: &DueWork, enrollment_id: i64) -> Settlement {
        let next = self.next.unwrap_or(Next::Leave {
            node_id: None,
            state: EnrollmentState::Failed,
        });
        let Settlement::Advance(mut a) = advance(work, enrollment_id, self.records, next) else {
            unreachable!("advance builds an Advance")
        };
        a.updates = self.updates;
        a.removals = self.removals;
        a.visited = self.visited;
        Settlement::Advance(a)
    }
}

/// A step after its message went out: what it still needs to be settled.
enum Ran {
    Settled(Settlement),
    /// Walk on from the message node (`None`: nothing was sent; `before` is complete).
    WalkOn(Box<Step>),
}

/// Runs one chunk: its steps are decided and walked up to their messages, the messages go
/// out, and the walks after them run with the settlement — walks on the blocking pool, since
/// conditions may read event counts.
async fn run_chunk(
    engine: &Engine,
    batch: Arc<Batch>,
    allowance: &Allowance,
    chunk: Vec<DueWork>,
) -> Result<(), StoreError> {
    let now = engine.clock.now();
    let store = Arc::clone(&engine.store);
    let prepared = {
        let batch = Arc::clone(&batch);
        tokio::task::spawn_blocking(move || {
            let mut rules = HashMap::new();
            chunk
                .into_iter()
                .map(|work| prepare(store.as_ref(), &batch, &mut rules, work, now))
                .collect::<Vec<_>>()
        })
        .await
        .map_err(|e| StoreError::Backend(format!("journey walk failed: {e}")))?
    };
    // Steps settle in groups as their deliveries end — whatever has ended by the time the
    // previous group is written — so a receiver that hangs holds back only its own steps
    // (and a brake waits for no other subject's), while steps that end together still share
    // one walk on the blocking pool and one write.
    let mut running: FuturesUnordered<_> = prepared
        .into_iter()
        .map(|step| defer_beyond_rate(step, allowance))
        .map(|step| run_one(engine, step))
        .collect();
    let mut failed = None;
    while let Some(first) = running.next().await {
        let mut ended = vec![first];
        while let Some(Some(more)) = running.next().now_or_never() {
            ended.push(more);
        }
        if let Err(e) = walk_and_settle(engine, &batch, ended, now).await {
            failed.get_or_insert(e);
        }
    }
    failed.map_or(Ok(()), Err)
}

/// Walks ended steps on from their messages (on the blocking pool: conditions may read event
/// counts) and writes their settlements; only then are their brake registrations released.
async fn walk_and_settle(
    engine: &Engine,
    batch: &Arc<Batch>,
    ended: Vec<(Ran, Option<InFlight>)>,
    now: Timestamp,
) -> Result<(), StoreError> {
    let mut guards: Vec<InFlight> = Vec::with_capacity(ended.len());
    let mut steps = Vec::with_capacity(ended.len());
    for (step, guard) in ended {
        steps.push(step);
        guards.extend(guard);
    }
    let store = Arc::clone(&engine.store);
    let batch = Arc::clone(batch);
    let walked = tokio::task::spawn_blocking(move || {
        let mut rules = HashMap::new();
        steps
            .into_iter()
            .map(|step| match step {
                Ran::Settled(s) => Ok(s),
                Ran::WalkOn(step) => walk_on(store.as_ref(), &batch, &mut rules, *step, now),
            })
            .collect::<Vec<_>>()
    })
    .await
    .map_err(|e| StoreError::Backend(format!("journey walk failed: {e}")))?;
    let settlements = walked
        .into_iter()
        .map(|w| w.unwrap_or_else(|unread| settle_unread(engine, *unread, now)))
        .collect();
    let settled_at = engine.clock.read();
    engine
        .settler
        .settle(engine, settlements, settled_at)
        .await?;
    // Only now, with these steps written, may a brake waiting on them return.
    drop(guards);
    Ok(())
}

/// A step whose message is beyond its rate-limited channel's allowance for the batch runs
/// again when the limit has room (its walk is pure; it keeps its key).
fn defer_beyond_rate(prepared: Prepared, allowance: &Allowance) -> Prepared {
    if let Prepared::Run(step) = &prepared
        && let Some((_, Outgoing::Ready(out))) = &step.message
        && let Some(after) = out.limiter.as_ref().and_then(|l| allowance.deferred(l))
    {
        return Prepared::Settled(Settlement::Defer {
            claim: step.work.claim(),
            after,
        });
    }
    prepared
}

/// Sends a step's message, if it has one. B1: the version's brake is checked and the step
/// registered in one step — after the channel's rate limit, so a brake never waits for
/// messages queued behind a limit. The registration is returned, to be dropped once the step's
/// settlement is written.
async fn run_one(engine: &Engine, prepared: Prepared) -> (Ran, Option<InFlight>) {
    let mut step = match prepared {
        Prepared::Settled(s) => return (Ran::Settled(s), None),
        Prepared::Unread(unread) => {
            return (
                Ran::Settled(settle_unread(engine, *unread, engine.clock.now())),
                None,
            );
        }
        Prepared::Run(step) => step,
    };
    let subject = BrakeSubject::JourneyVersion(
        step.work.journey_id.clone().unwrap_or_default(),
        step.work.version,
    );
    let turn = async {
        if let Some((_, Outgoing::Ready(out))) = &step.message
            && let Some(limiter) = &out.limiter
        {
            limiter.acquire().await;
        }
    };
    let Some(guard) = engine.brakes.enter_after(&subject, turn).await else {
        let braked = Settlement::Retry {
            claim: step.work.claim(),
            after: std::time::Duration::ZERO,
            reason: "braked".into(),
        };
        return (Ran::Settled(braked), None);
    };
    match step.message.take() {
        None => {}
        // Not sent (no consent, a template that does not render…): recorded, and on it goes.
        Some((node, Outgoing::NotSent(r))) => {
            step.before.records.push(r);
            step.message = Some((node, Outgoing::Sent));
        }
        Some((node, Outgoing::Ready(out))) => {
            let outcome =
                match crate::send::hand_over(engine, out.channel.as_ref(), &out.message, &guard)
                    .await
                {
                    Delivery::Ended(outcome) => {
                        crate::send::verdict(engine, outcome, step.work.attempt)
                    }
                    // Cut by the brake: recorded as such, never as delivered; the stop that
                    // cut it halts the enrollment where its walk goes on to.
                    Delivery::Cut => {
                        Verdict::Record(Outcome::Unknown, Some(crate::send::CUT.into()))
                    }
                    Delivery::Released => {
                        let released = crate::send::released(&step.work);
                        return (Ran::Settled(released), Some(guard));
                    }
                };
            let at = engine.clock.now();
            match outcome {
                Verdict::Record(outcome, detail) => {
                    let r = record(
                        &step.work,
                        &node,
                        Some(&out.channel_id),
                        at,
                        outcome,
                        detail,
                    );
                    step.before.records.push(r);
                    step.message = Some((node, Outgoing::Sent));
                }
                Verdict::Retry(after, reason) => {
                    // The whole step runs again later: its walk is pure, its message keeps
                    // the step's key.
                    let retry = Settlement::Retry {
                        claim: step.work.claim(),
                        after,
                        reason,
                    };
                    return (Ran::Settled(retry), Some(guard));
                }
            }
        }
        Some((_, Outgoing::Sent)) => unreachable!("a prepared message is not sent yet"),
    }
    (Ran::WalkOn(step), Some(guard))
}

type Rules<'a> = HashMap<(String, u32), BTreeMap<&'a str, Rule>>;

/// Decides one step from what the batch read — nothing to run (its enrollment or version is
/// gone, halted, or no longer active), a timeout, or a run — and walks a run up to its
/// message: the step's own node when it is a message not sent yet, else wherever the walk from
/// the step's node stops. A walk that stops at a wait or the end sends nothing.
fn prepare<'a>(
    store: &dyn Store,
    batch: &'a Batch,
    rules: &mut Rules<'a>,
    work: DueWork,
    now: Timestamp,
) -> Prepared {
    let done = Settlement::Done {
        claim: work.claim(),
        record: None,
        idempotency_key: None,
    };
    let (Some(enrollment_id), Some(profile_id), Some(node_id)) = (
        work.enrollment_id,
        work.profile_id.clone(),
        work.node_id.clone(),
    ) else {
        return Prepared::Settled(done);
    };
    let Some((journey, version)) = batch.version(&work) else {
        return Prepared::Settled(done);
    };
    // Halted (J4) or erased meanwhile: nothing more runs for this enrollment.
    if !matches!(
        version.status,
        JourneyVersionStatus::Live | JourneyVersionStatus::Closed
    ) {
        return Prepared::Settled(Settlement::Cancelled {
            claim: work.claim(),
            record: None,
        });
    }
    let (Some(enrollment), Some(profile)) = (
        batch.enrollments.get(&enrollment_id),
        batch.profiles.get(&profile_id),
    ) else {
        return Prepared::Settled(done);
    };
    if enrollment.state != EnrollmentState::Active {
        return Prepared::Settled(done);
    }
    // J8: the global timeout.
    if now >= enrollment.deadline {
        let mut r = record(
            &work,
            &node_id,
            None,
            now,
            Outcome::TimedOut,
            Some("journey timeout".into()),
        );
        r.action = "timeout".into();
        return Prepared::Settled(advance(
            &work,
            enrollment_id,
            vec![r],
            Next::Leave {
                node_id: None,
                state: EnrollmentState::TimedOut,
            },
        ));
    }
    let definition = &version.definition;
    let mut before = Walked::default();
    let mut attributes = profile.attributes.clone();
    let at_message = matches!(definition.node(&node_id), Some(Node::Message { .. }));
    let message_node = if at_message && !resumes(&work) {
        Some(node_id)
    } else {
        let walked = walk_from(
            store,
            (definition, rules, &work),
            (&node_id, resumes(&work)),
            (&profile.id, &mut attributes),
            enrollment.deadline,
            now,
        );
        let (w, next) = match walked {
            Ok(walked) => walked,
            Err(WalkFailed::Failed(r)) => {
                before.records.push(*r);
                return Prepared::Settled(before.settlement(&work, enrollment_id));
            }
            // Nothing was done yet: the whole step runs again.
            Err(WalkFailed::Unread(reason)) => {
                return Prepared::Unread(Box::new(Unread {
                    work,
                    enrollment_id,
                    reason,
                    after_message: None,
                }));
            }
        };
        // A walk that took the profile out of this very journey sends nothing more.
        let left = w
            .removals
            .iter()
            .any(|j| Some(j) == work.journey_id.as_ref());
        let stop = match (&w.stop, left) {
            (Stop::Message { node_id, .. }, false) => Some(node_id.clone()),
            _ => None,
        };
        before.absorb(w, next);
        if stop.is_none() {
            return Prepared::Run(Box::new(Step {
                work,
                enrollment_id,
                before,
                message: None,
                attributes,
            }));
        }
        stop
    };
    let message = message_node.and_then(|node| {
        let Some(Node::Message {
            channel_id,
            template_id,
            ..
        }) = definition.node(&node)
        else {
            return None;
        };
        let mut view = profile.clone();
        view.attributes.clone_from(&attributes);
        let out = outbound(
            batch,
            &work,
            (&view, enrollment, &node),
            &journey.name,
            (channel_id, template_id),
            now,
        );
        Some((node, out))
    });
    Prepared::Run(Box::new(Step {
        work,
        enrollment_id,
        before,
        message,
        attributes,
    }))
}

/// Why a walk gave no way on.
enum WalkFailed {
    /// The walk itself failed (the graph): recorded, and the profile leaves as failed.
    Failed(Box<ActionRecord>),
    /// An event count could not be read: the walk is void, the step is tried again.
    Unread(String),
}

/// One walk in the core interpreter from `from`, and where the enrollment goes after it.
fn walk_from<'a>(
    store: &dyn Store,
    (definition, rules, work): (&'a JourneyDefinition, &mut Rules<'a>, &DueWork),
    (from, skip_first): (&str, bool),
    (profile_id, attributes): (&str, &mut serde_json::Map<String, serde_json::Value>),
    deadline: Timestamp,
    now: Timestamp,
) -> Result<(sluice_core::journey::walk::Walk, Next), WalkFailed> {
    let rules = rules
        .entry((work.journey_id.clone().unwrap_or_default(), work.version))
        .or_insert_with(|| definition.condition_rules().unwrap_or_default());
    let events =
        FallibleCounts::new(|name: &str, since| store.event_count(profile_id, name, since));
    let walked = walk(
        definition, rules, from, skip_first, attributes, &events, now,
    );
    // A void walk's changes to `attributes` are dropped with the rest of its step.
    if let Some(e) = events.failure() {
        tracing::warn!(%e, profile = profile_id, "counting events for a condition; the step runs again");
        return Err(WalkFailed::Unread(format!(
            "counting events for a condition: {e}"
        )));
    }
    let walked = walked.map_err(|e| {
        let mut r = record(work, from, None, now, Outcome::Failed, Some(e.to_string()));
        r.action = "walk".into();
        WalkFailed::Failed(Box::new(r))
    })?;
    let next = match &walked.stop {
        Stop::Message { node_id, .. } => Next::At {
            node_id: node_id.clone(),
            due_at: now,
            resume: false,
        },
        // A wait past the deadline is cut short by it: the step then times the profile out.
        Stop::Wait { node_id, until } => Next::At {
            node_id: node_id.clone(),
            due_at: (*until).min(deadline),
            resume: true,
        },
        Stop::End => Next::Leave {
            node_id: walked.visited.last().cloned(),
            state: EnrollmentState::Completed,
        },
    };
    Ok((walked, next))
}

/// After a step's message: walks on from it until the next message (a step of its own), a
/// wait or the end, and turns everything the step did into its settlement; or, when the walk
/// could not read an event count, what the step did up to its message (`counts`).
fn walk_on<'a>(
    store: &dyn Store,
    batch: &'a Batch,
    rules: &mut Rules<'a>,
    step: Step,
    now: Timestamp,
) -> Result<Settlement, Box<Unread>> {
    let Step {
        work,
        enrollment_id,
        mut before,
        message,
        mut attributes,
    } = step;
    let Some((node, _)) = message else {
        return Ok(before.settlement(&work, enrollment_id));
    };
    let (Some((_, version)), Some(enrollment)) =
        (batch.version(&work), batch.enrollments.get(&enrollment_id))
    else {
        return Ok(before.settlement(&work, enrollment_id));
    };
    let profile_id = work.profile_id.clone().unwrap_or_default();
    match walk_from(
        store,
        (&version.definition, rules, &work),
        (&node, true),
        (&profile_id, &mut attributes),
        enrollment.deadline,
        now,
    ) {
        Ok((w, next)) => before.absorb(w, next),
        Err(WalkFailed::Failed(r)) => {
            before.records.push(*r);
            before.next = Some(Next::Leave {
                node_id: None,
                state: EnrollmentState::Failed,
            });
        }
        Err(WalkFailed::Unread(reason)) => {
            return Err(Box::new(Unread {
                work,
                enrollment_id,
                reason,
                after_message: Some((node, before)),
            }));
        }
    }
    Ok(before.settlement(&work, enrollment_id))
}
