//! The journey version state machine (J1–J9): for every version status, which actions are
//! allowed, and what each allowed action changes. Pure: effects are carried out by the store.

use std::fmt;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::{Journey, JourneyDefinition, JourneyVersion, JourneyVersionStatus};
use crate::lifecycle::Refused;
use crate::notification::NotificationKind;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum JourneyAction {
    Edit,
    Delete,
    Publish,
    Close,
    Stop,
    Duplicate,
    RemoveProfile,
    /// J6, on the journey rather than on one version: draft N+1 from the latest version. Not
    /// in `ALL` (a version's actions); the journey's own refusal says when it is allowed.
    NewVersion,
}

impl JourneyAction {
    /// The actions on one version, which `allowed_actions` chooses from.
    pub const ALL: [Self; 7] = [
        Self::Edit,
        Self::Delete,
        Self::Publish,
        Self::Close,
        Self::Stop,
        Self::Duplicate,
        Self::RemoveProfile,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Edit => "edit",
            Self::Delete => "delete",
            Self::Publish => "publish",
            Self::Close => "close",
            Self::Stop => "stop",
            Self::Duplicate => "duplicate",
            Self::RemoveProfile => "remove_profile",
            Self::NewVersion => "new_version",
        }
    }
}

impl fmt::Display for JourneyAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Work the store carries out in the same transaction as the status change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JourneyEffect {
    /// An audience-entry version starts admitting people (its first audience read is due at `at`).
    ScheduleEntry { version: u32, at: Timestamp },
    /// No new entrances into `version`: pending entry work is cancelled (J3, J6).
    CloseEntries { version: u32 },
    /// `version` becomes `finished` now if nobody is inside (J3).
    FinishIfEmpty { version: u32 },
    /// Everyone inside `version` is halted; every pending step is cancelled (J4).
    Halt { version: u32 },
    Notify {
        version: u32,
        kind: NotificationKind,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JourneyTransition {
    pub action: JourneyAction,
    pub version: u32,
    pub from: JourneyVersionStatus,
    pub to: JourneyVersionStatus,
    pub effects: Vec<JourneyEffect>,
}

/// Actions each status allows, matched without a catch-all so a new status must be decided here.
pub fn allowed_actions(status: JourneyVersionStatus) -> Vec<JourneyAction> {
    use JourneyAction as A;
    match status {
        JourneyVersionStatus::Draft => vec![A::Edit, A::Delete, A::Publish, A::Duplicate],
        JourneyVersionStatus::Live => vec![A::Close, A::Stop, A::Duplicate, A::RemoveProfile],
        // A closed version still holds people: a crisis may still call for stopping it.
        JourneyVersionStatus::Closed => vec![A::Stop, A::Duplicate, A::RemoveProfile],
        JourneyVersionStatus::Stopped | JourneyVersionStatus::Finished => vec![A::Duplicate],
    }
}

fn refused(action: &str, status: JourneyVersionStatus, reason: Option<&str>) -> Refused {
    Refused {
        subject: "journey version",
        action: action.to_owned(),
        current_status: status.to_string(),
        allowed_actions: crate::lifecycle::names(&allowed_actions(status)),
        reason: reason.map(str::to_owned),
    }
}

/// `Ok` when `action` is allowed for a version in `status`, else the 409 that says why.
pub fn check(status: JourneyVersionStatus, action: JourneyAction) -> Result<(), Refused> {
    if allowed_actions(status).contains(&action) {
        return Ok(());
    }
    let reason = match status {
        JourneyVersionStatus::Closed
        | JourneyVersionStatus::Stopped
        | JourneyVersionStatus::Finished => Some(
            "closed, stopped and finished versions can never be published, reopened or deleted \
             (J5); create a new version or duplicate it",
        ),
        JourneyVersionStatus::Draft | JourneyVersionStatus::Live => None,
    };
    Err(refused(action.as_str(), status, reason))
}

/// A journey-level command (`new_version`, `delete`) that the state of its versions refuses. The
/// status named is the journey's as a list shows it (its live version's, else its latest
/// published one's, else draft); the actions are the journey-level ones allowed now.
fn journey_refused(journey: &Journey, action: &str, reason: &str) -> Refused {
    let shown = journey
        .live_version()
        .or_else(|| {
            journey
                .versions
                .iter()
                .filter(|v| v.published_at.is_some())
                .max_by_key(|v| v.version)
        })
        .map_or(JourneyVersionStatus::Draft, |v| v.status);
    let mut allowed = Vec::new();
    if journey.draft_version().is_none() {
        allowed.push(JourneyAction::NewVersion.as_str().to_owned());
    }
    if journey
        .versions
        .iter()
        .all(|v| v.status == JourneyVersionStatus::Draft)
    {
        allowed.push("delete".to_owned());
    }
    Refused {
        subject: "journey",
        action: action.to_owned(),
        current_status: shown.to_string(),
        allowed_actions: allowed,
        reason: Some(reason.to_owned()),
    }
}

impl Journey {
    fn version_or_404(&self, n: u32) -> Option<JourneyVersionStatus> {
        self.version(n).map(|v| v.status)
    }

    /// J1: replace a draft's definition. `None` if there is no version `n`.
    pub fn edit(
        &mut self,
        n: u32,
        definition: JourneyDefinition,
        now: Timestamp,
    ) -> Option<Result<(), Refused>> {
        let status = self.version_or_404(n)?;
        Some(check(status, JourneyAction::Edit).map(|()| {
            let v = self.version_mut(n).expect("checked above");
            v.definition = definition;
            self.updated_at = now;
        }))
    }

    /// J1: delete a draft version. The only version of a journey goes with the journey instead.
    pub fn delete_version(&mut self, n: u32, now: Timestamp) -> Option<Result<(), Refused>> {
        let status = self.version_or_404(n)?;
        Some(check(status, JourneyAction::Delete).and_then(|()| {
            if self.versions.len() == 1 {
                return Err(refused(
                    "delete",
                    status,
                    Some("this is the journey's only version; delete the journey instead"),
                ));
            }
            self.versions.retain(|v| v.version != n);
            self.updated_at = now;
            Ok(())
        }))
    }

    /// `DELETE /journeys/{id}`: only while every version is a draft.
    pub fn check_delete(&self) -> Result<(), Refused> {
        if self
            .versions
            .iter()
            .all(|v| v.status == JourneyVersionStatus::Draft)
        {
            Ok(())
        } else {
            Err(journey_refused(
                self,
                "delete",
                "a journey with a version that was ever published cannot be deleted",
            ))
        }
    }

    /// J6: draft N+1 copied from the latest version; refused while a draft exists.
    pub fn new_version(&mut self, now: Timestamp) -> Result<JourneyTransition, Refused> {
        if let Some(draft) = self.draft_version() {
            return Err(journey_refused(
                self,
                JourneyAction::NewVersion.as_str(),
                &format!("draft version {} is already in progress", draft.version),
            ));
        }
        let latest = self.latest_version();
        let from = latest.status;
        let n = latest.version + 1;
        let definition = latest.definition.clone();
        self.versions
            .push(JourneyVersion::new_draft(n, definition, now));
        self.updated_at = now;
        // The audit entry is about the new draft; `from` is the status it was copied from.
        Ok(JourneyTransition {
            action: JourneyAction::NewVersion,
            version: n,
            from,
            to: JourneyVersionStatus::Draft,
            effects: Vec::new(),
        })
    }

    /// J2/J6: the draft goes live (the caller validated the graph); the previous live version is
    /// closed to new entrances and its people finish there.
    pub fn publish(
        &mut self,
        n: u32,
        now: Timestamp,
    ) -> Option<Result<Vec<JourneyTransition>, Refused>> {
        let status = self.version_or_404(n)?;
        if let Err(e) = check(status, JourneyAction::Publish) {
            return Some(Err(e));
        }
        let mut transitions = Vec::new();
        if let Some(old) = self.live_version().map(|v| v.version) {
            transitions.push(self.close_unchecked(old, now));
        }
        let v = self.version_mut(n).expect("checked above");
        v.status = JourneyVersionStatus::Live;
        v.published_at = Some(now);
        let mut effects = Vec::new();
        if let Some(at) = v.definition.entry_first_run(now) {
            effects.push(JourneyEffect::ScheduleEntry { version: n, at });
        }
        self.updated_at = now;
        transitions.insert(
            0,
            JourneyTransition {
                action: JourneyAction::Publish,
                version: n,
                from: status,
                to: JourneyVersionStatus::Live,
                effects,
            },
        );
        Some(Ok(transitions))
    }

    /// J3: close to new entrances; people inside go on to the end.
    pub fn close(&mut self, n: u32, now: Timestamp) -> Option<Result<JourneyTransition, Refused>> {
        let status = self.version_or_404(n)?;
        Some(check(status, JourneyAction::Close).map(|()| self.close_unchecked(n, now)))
    }

    fn close_unchecked(&mut self, n: u32, now: Timestamp) -> JourneyTransition {
        let v = self.version_mut(n).expect("caller checked the version");
        let from = v.status;
        v.status = JourneyVersionStatus::Closed;
        v.closed_at = Some(now);
        self.updated_at = now;
        JourneyTransition {
            action: JourneyAction::Close,
            version: n,
            from,
            to: JourneyVersionStatus::Closed,
            effects: vec![
                JourneyEffect::CloseEntries { version: n },
                JourneyEffect::Notify {
                    version: n,
                    kind: NotificationKind::Closed,
                },
                JourneyEffect::FinishIfEmpty { version: n },
            ],
        }
    }

    /// J4: everyone inside is halted at once; no further node runs for that version.
    pub fn stop(&mut self, n: u32, now: Timestamp) -> Option<Result<JourneyTransition, Refused>> {
        let status = self.version_or_404(n)?;
        Some(check(status, JourneyAction::Stop).map(|()| {
            let v = self.version_mut(n).expect("checked above");
            v.status = JourneyVersionStatus::Stopped;
            v.stopped_at = Some(now);
            self.updated_at = now;
            JourneyTransition {
                action: JourneyAction::Stop,
                version: n,
                from: status,
                to: JourneyVersionStatus::Stopped,
                effects: vec![
                    JourneyEffect::CloseEntries { version: n },
                    JourneyEffect::Halt { version: n },
                    JourneyEffect::Notify {
                        version: n,
                        kind: NotificationKind::Stopped,
                    },
                ],
            }
        }))
    }

    /// J3: a closed version whose last profile left becomes finished. `false` when the version
    /// is not closed (stopped meanwhile, or already finished), so nothing changed.
    pub fn finish(&mut self, n: u32, now: Timestamp) -> bool {
        match self.version_mut(n) {
            Some(v) if v.status == JourneyVersionStatus::Closed => {
                v.status = JourneyVersionStatus::Finished;
                v.finished_at = Some(now);
                self.updated_at = now;
                true
            }
            _ => false,
        }
    }
}
