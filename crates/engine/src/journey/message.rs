//! A step's message: rendered for its profile (with the attributes its walk set so far) and
//! the entering event, ready for its channel, or the record of why it is not sent.

use std::sync::Arc;

use jiff::Timestamp;
use sluice_channels::{OutgoingMessage, SubjectKind};
use sluice_core::profile::Profile;
use sluice_store::{ActionRecord, DueWork, EnrollmentInfo, Outcome};

use super::batch::Batch;
use super::record;

/// The message of a step: ready to go out, recorded as not sent, or (after `run_one`) sent.
pub(super) enum Outgoing {
    Ready(Box<Outbound>),
    NotSent(ActionRecord),
    Sent,
}

/// A message ready to go out.
pub(super) struct Outbound {
    pub(super) message: OutgoingMessage,
    pub(super) channel_id: String,
    pub(super) channel: Arc<dyn sluice_channels::Channel>,
    pub(super) limiter: Option<Arc<sluice_channels::RateLimiter>>,
}

/// The message of a message node rendered for its profile, or the record of why it is not
/// sent.
pub(super) fn outbound(
    batch: &Batch,
    work: &DueWork,
    (profile, enrollment, node): (&Profile, &EnrollmentInfo, &str),
    journey_name: &str,
    (channel_id, template_id): (&str, &str),
    now: Timestamp,
) -> Outgoing {
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
