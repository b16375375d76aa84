//! Conditions on event counts read the store while a walk runs. A read that fails must not
//! decide a branch: counting 0 would send the profile down `else` on a database hiccup. The
//! failure is kept (`FallibleCounts`), the walk that saw it is thrown away (walks are pure, so
//! nothing of it happened), and the step is tried again with the back-off and bound of a
//! failed delivery.

use jiff::Timestamp;
use sluice_channels::DeliveryOutcome;
use sluice_store::{DueWork, EnrollmentState, Next, Outcome, Settlement};

use super::{Walked, advance, record};
use crate::Engine;
use crate::send::Verdict;

/// A step that could not read what its walk needed, to be settled once the engine decides
/// when it runs again.
pub(super) struct Unread {
    pub(super) work: DueWork,
    pub(super) enrollment_id: i64,
    pub(super) reason: String,
    /// What the step did before the read failed, kept when it cannot run again whole: its
    /// message went out (`node`, where the walk resumes), so the message is settled and the
    /// walk after it is what is tried again.
    pub(super) after_message: Option<(String, Walked)>,
}

/// When the step runs again: as a delivery would be retried (`send::verdict`, its back-off
/// and its bound). Out of attempts, the profile leaves as failed with a record of why — a
/// recorded failure, never a branch taken on a guess.
pub(super) fn settle_unread(engine: &Engine, unread: Unread, now: Timestamp) -> Settlement {
    let Unread {
        work,
        enrollment_id,
        reason,
        after_message,
    } = unread;
    let retryable = |reason: String| DeliveryOutcome::Retryable {
        reason,
        retry_after: None,
    };
    let node = work.node_id.clone().unwrap_or_default();
    match after_message {
        // The message is settled now; the walk after it is a step of its own (its first try),
        // due at once: it sends nothing again, and if the read fails again that step is
        // retried on its back-off, in real time.
        Some((message_node, mut before)) => {
            match crate::send::verdict(engine, retryable(reason), 1) {
                Verdict::Retry(..) => {
                    before.next = Some(Next::At {
                        node_id: message_node,
                        due_at: now,
                        resume: true,
                    });
                }
                Verdict::Record(outcome, detail) => {
                    before
                        .records
                        .push(failed(&work, &message_node, now, outcome, detail));
                    before.next = None;
                }
            }
            before.settlement(&work, enrollment_id)
        }
        None => match crate::send::verdict(engine, retryable(reason), work.attempt) {
            Verdict::Retry(after, reason) => Settlement::Retry {
                claim: work.claim(),
                after,
                reason,
            },
            Verdict::Record(outcome, detail) => {
                let r = failed(&work, &node, now, outcome, detail);
                advance(
                    &work,
                    enrollment_id,
                    vec![r],
                    Next::Leave {
                        node_id: None,
                        state: EnrollmentState::Failed,
                    },
                )
            }
        },
    }
}

fn failed(
    work: &DueWork,
    node: &str,
    now: Timestamp,
    outcome: Outcome,
    detail: Option<String>,
) -> sluice_store::ActionRecord {
    let mut r = record(work, node, None, now, outcome, detail);
    r.action = "walk".into();
    r
}
