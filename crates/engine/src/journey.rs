//! Journey steps: one claimed row is one enrollment at one node. A message node is sent (one
//! delivery per row, so retries are clean); then the walk goes on in the core interpreter until
//! the next message, a wait or the end, and the step is settled with everything it did (J2–J9).
//! Every step of a version runs inside its brake, so after `stop` returns nothing more happens
//! in that version (J4, B1).

use std::sync::Arc;

use jiff::Timestamp;
use sluice_channels::{OutgoingMessage, SubjectKind};
use sluice_core::journey::walk::{Stop, walk};
use sluice_core::journey::{Journey, JourneyVersionStatus, Node};
use sluice_core::profile::Profile;
use sluice_core::rule::{EventCounts, Rule};
use sluice_store::{
    ActionRecord, Advance, DueWork, EnrollmentState, Next, Outcome, Settlement, Store, StoreError,
};

use crate::brakes::{BrakeSubject, InFlight};
use crate::send::Verdict;
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

/// Carries out a batch of journey steps, a chunk at a time, each under its version's brake.
pub(crate) async fn step(engine: &Engine, works: Vec<DueWork>) -> Result<(), StoreError> {
    let mut works = works.into_iter().peekable();
    while works.peek().is_some() {
        let chunk: Vec<DueWork> = works.by_ref().take(engine.config.chunk.max(1)).collect();
        let now = engine.clock.now();
        let mut settlements = Vec::with_capacity(chunk.len());
        let mut running = Vec::new();
        let mut guards: Vec<InFlight> = Vec::new();
        for work in chunk {
            let subject = BrakeSubject::JourneyVersion(
                work.journey_id.clone().unwrap_or_default(),
                work.version,
            );
            match engine.brakes.enter(&subject) {
                Some(guard) => {
                    guards.push(guard);
                    running.push(one(engine, work, now));
                }
                None => settlements.push(Settlement::Retry {
                    work_id: work.id,
                    attempt: work.attempt,
                    at: now,
                    reason: "braked".into(),
                }),
            }
        }
        for settlement in futures_util::future::join_all(running).await {
            settlements.push(settlement?);
        }
        let settled_at = engine.clock.now();
        blocking(&engine.store, move |s| s.settle(&settlements, settled_at)).await?;
        // Only now, with every step of the chunk written, may a waiting brake return.
        drop(guards);
    }
    Ok(())
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
        next,
    }))
}

/// One step of one enrollment.
async fn one(engine: &Engine, work: DueWork, now: Timestamp) -> Result<Settlement, StoreError> {
    let done = Settlement::Done {
        work_id: work.id,
        attempt: work.attempt,
        record: None,
        idempotency_key: None,
    };
    let (Some(journey_id), Some(enrollment_id), Some(profile_id), Some(node_id)) = (
        work.journey_id.clone(),
        work.enrollment_id,
        work.profile_id.clone(),
        work.node_id.clone(),
    ) else {
        return Ok(done);
    };
    let (journey, enrollment, profile) = {
        let (j, p) = (journey_id.clone(), profile_id.clone());
        blocking(&engine.store, move |s| {
            Ok((s.journey(&j)?, s.enrollment(enrollment_id)?, s.profile(&p)?))
        })
        .await?
    };
    let Some(version) = journey
        .as_ref()
        .and_then(|j: &Journey| j.version(work.version))
    else {
        return Ok(done);
    };
    // Halted (J4) or erased meanwhile: nothing more runs for this enrollment.
    if !matches!(
        version.status,
        JourneyVersionStatus::Live | JourneyVersionStatus::Closed
    ) {
        return Ok(Settlement::Cancelled {
            work_id: work.id,
            attempt: work.attempt,
            record: None,
        });
    }
    let (Some(enrollment), Some(profile)) = (enrollment, profile) else {
        return Ok(done);
    };
    if enrollment.state != EnrollmentState::Active {
        return Ok(done);
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
        return Ok(advance(
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
    let resume = work
        .payload
        .as_ref()
        .and_then(|p| p.get("resume"))
        .and_then(serde_json::Value::as_bool)
        == Some(true);
    let mut records = Vec::new();
    let mut skip_first = resume;
    if let (
        false,
        Some(Node::Message {
            channel_id,
            template_id,
            ..
        }),
    ) = (resume, definition.node(&node_id))
    {
        match message(
            engine,
            &work,
            &profile,
            journey.as_ref().map_or("", |j| j.name.as_str()),
            channel_id,
            template_id,
        )
        .await?
        {
            Sent::Recorded(r) => records.push(r),
            Sent::Retry(settlement) => return Ok(settlement),
        }
        skip_first = true;
    }
    // The walk may read event counts (conditions): off the async threads.
    let walked = {
        let store = Arc::clone(&engine.store);
        let definition = definition.clone();
        let (mut attributes, profile_id, from) = (
            profile.attributes.clone(),
            profile.id.clone(),
            node_id.clone(),
        );
        tokio::task::spawn_blocking(move || {
            let rules: std::collections::BTreeMap<&str, Rule> =
                definition.condition_rules().unwrap_or_default();
            let events = StoredCounts {
                store: store.as_ref(),
                profile_id: &profile_id,
            };
            walk(
                &definition,
                &rules,
                &from,
                skip_first,
                &mut attributes,
                &events,
                now,
            )
        })
        .await
        .map_err(|e| StoreError::Backend(format!("journey walk failed: {e}")))?
    };
    let walked = match walked {
        Ok(w) => w,
        Err(e) => {
            let mut r = record(
                &work,
                &node_id,
                None,
                now,
                Outcome::Failed,
                Some(e.to_string()),
            );
            r.action = "walk".into();
            records.push(r);
            return Ok(advance(
                &work,
                enrollment_id,
                records,
                Next::Leave {
                    node_id: None,
                    state: EnrollmentState::Failed,
                },
            ));
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
    let Settlement::Advance(mut a) = advance(&work, enrollment_id, records, next) else {
        unreachable!("advance builds an Advance")
    };
    a.updates = walked.updates;
    a.removals = walked.removals;
    Ok(Settlement::Advance(a))
}

enum Sent {
    Recorded(ActionRecord),
    Retry(Settlement),
}

/// Sends the message of a message node; its outcome becomes an action record (or a retry).
async fn message(
    engine: &Engine,
    work: &DueWork,
    profile: &Profile,
    journey_name: &str,
    channel_id: &str,
    template_id: &str,
) -> Result<Sent, StoreError> {
    let node = work.node_id.clone().unwrap_or_default();
    let now = engine.clock.now();
    let (channel, template) = {
        let (c, t) = (channel_id.to_owned(), template_id.to_owned());
        blocking(&engine.store, move |s| {
            Ok((s.channel(&c)?, s.template(&t)?))
        })
        .await?
    };
    let failed = |detail: String| {
        Sent::Recorded(record(
            work,
            &node,
            Some(channel_id),
            now,
            Outcome::Failed,
            Some(detail),
        ))
    };
    let Some(channel) = channel else {
        return Ok(failed(format!("channel {channel_id} no longer exists")));
    };
    if !profile.allows(channel.channel_type) {
        return Ok(Sent::Recorded(record(
            work,
            &node,
            Some(channel_id),
            now,
            Outcome::Skipped,
            Some("no_consent".into()),
        )));
    }
    let Some((built, limiter)) = crate::send::built_channel(engine, &channel) else {
        return Ok(failed(format!(
            "channel {channel_id} cannot be built from its settings"
        )));
    };
    let template = match template {
        None => return Ok(failed(format!("template {template_id} no longer exists"))),
        Some(t) => match crate::send::compiled_template(engine, &t) {
            Ok(t) => t,
            Err(e) => return Ok(failed(e)),
        },
    };
    let context = serde_json::json!({
        "profile": profile.template_view(),
        "event": {},
        "journey": {"name": journey_name},
    });
    let (subject, body) = match template.render(&context) {
        Ok(r) => r,
        Err(e) => return Ok(failed(e)),
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
        node_id: Some(node.clone()),
        subject,
        body,
        sent_at: now,
    };
    if let Some(limiter) = &limiter {
        limiter.acquire().await;
    }
    let outcome = built.deliver(&message).await;
    let at = engine.clock.now();
    Ok(
        match crate::send::verdict(engine, outcome, work.attempt, at) {
            Verdict::Record(outcome, detail) => {
                Sent::Recorded(record(work, &node, Some(channel_id), at, outcome, detail))
            }
            Verdict::Retry(at, reason) => Sent::Retry(Settlement::Retry {
                work_id: work.id,
                attempt: work.attempt,
                at,
                reason,
            }),
        },
    )
}
