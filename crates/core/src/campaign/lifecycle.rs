//! The campaign state machine (C1–C10): for every status, which actions are allowed, and what
//! each allowed action changes. Pure: the effects it returns are carried out by the store.

use std::fmt;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::{Campaign, CampaignContent, CampaignStatus, VersionState};
use crate::channel::ChannelType;
use crate::error::ValidationErrors;
use crate::lifecycle::{LifecycleError, Refused};
use crate::notification::NotificationKind;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CampaignAction {
    EditDraft,
    Delete,
    Activate,
    Modify,
    Stop,
    Abort,
    Pause,
    Resume,
    Duplicate,
    Trigger,
}

impl CampaignAction {
    pub const ALL: [Self; 10] = [
        Self::EditDraft,
        Self::Delete,
        Self::Activate,
        Self::Modify,
        Self::Stop,
        Self::Abort,
        Self::Pause,
        Self::Resume,
        Self::Duplicate,
        Self::Trigger,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::EditDraft => "edit_draft",
            Self::Delete => "delete",
            Self::Activate => "activate",
            Self::Modify => "modify",
            Self::Stop => "stop",
            Self::Abort => "abort",
            Self::Pause => "pause",
            Self::Resume => "resume",
            Self::Duplicate => "duplicate",
            Self::Trigger => "trigger",
        }
    }
}

impl fmt::Display for CampaignAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Work the store must schedule or cancel, in the same transaction as the status change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CampaignEffect {
    /// Plan an occurrence of `version` due at `at`.
    ScheduleOccurrence {
        version: u32,
        at: Timestamp,
    },
    /// Occurrences not yet started are cancelled; one in progress runs to its end (C4, C5).
    CancelPendingOccurrences,
    /// Everything not yet sent is cancelled, the occurrence in progress included (C6).
    CancelAll,
    Notify(NotificationKind),
}

/// What an allowed action did, for the audit log and the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transition {
    pub action: CampaignAction,
    pub from: CampaignStatus,
    pub to: CampaignStatus,
    /// The version the action concerned (the one activated, created, stopped…).
    pub version: Option<u32>,
    pub effects: Vec<CampaignEffect>,
}

impl Campaign {
    /// Every action the current status allows, in a stable order (the 409 body lists them).
    pub fn allowed_actions(&self) -> Vec<CampaignAction> {
        use CampaignAction as A;
        let defining = self.defining_version();
        let recurring = defining.is_recurring();
        let inbound = defining.is_inbound();
        let api = matches!(defining.content.schedule, crate::schedule::Schedule::Api);
        let has_draft = self.draft_version().is_some();
        let mut allowed = Vec::new();
        match self.status {
            CampaignStatus::Draft => {
                allowed.extend([A::EditDraft, A::Delete, A::Activate]);
            }
            CampaignStatus::Scheduled | CampaignStatus::Live => {
                if recurring {
                    if has_draft {
                        allowed.extend([A::EditDraft, A::Activate]);
                    } else {
                        allowed.push(A::Modify);
                    }
                    allowed.push(A::Stop);
                }
                allowed.push(A::Abort);
                if inbound && self.status == CampaignStatus::Live {
                    allowed.push(A::Pause);
                }
                if api && self.status == CampaignStatus::Live {
                    allowed.push(A::Trigger);
                }
            }
            CampaignStatus::Paused => {
                allowed.extend([A::Abort, A::Resume]);
            }
            CampaignStatus::Stopped | CampaignStatus::Aborted | CampaignStatus::Completed => {}
        }
        allowed.push(A::Duplicate);
        allowed
    }

    /// `Ok` when `action` is allowed now, else the 409 that says why and what is.
    pub fn check(&self, action: CampaignAction) -> Result<(), Refused> {
        if self.allowed_actions().contains(&action) {
            return Ok(());
        }
        let reason = match action {
            CampaignAction::Delete if self.ever_activated() => {
                Some("a campaign that was ever activated cannot be deleted (C9); duplicate it")
            }
            _ if self.status.is_final() => {
                Some("an ended campaign never runs again (C5, C6, C10); duplicate it to start anew")
            }
            CampaignAction::Modify | CampaignAction::Stop
                if self.status == CampaignStatus::Draft =>
            {
                Some("the campaign was never activated; edit its draft, or activate it first")
            }
            CampaignAction::Modify | CampaignAction::Stop
                if !self.defining_version().is_recurring() && !self.status.is_final() =>
            {
                Some(
                    "only recurring campaigns can be modified or stopped after activation (C3, C5)",
                )
            }
            CampaignAction::Modify if self.draft_version().is_some() => {
                Some("a draft version is already in progress; edit or activate it")
            }
            CampaignAction::Pause | CampaignAction::Resume
                if !self.defining_version().is_inbound() =>
            {
                Some("only inbound (inbox) campaigns can be paused and resumed (C7)")
            }
            CampaignAction::Delete if self.ever_activated() => {
                Some("a campaign that was ever activated cannot be deleted (C9); duplicate it")
            }
            CampaignAction::Trigger
                if !matches!(
                    self.defining_version().content.schedule,
                    crate::schedule::Schedule::Api
                ) =>
            {
                Some("only API-triggered campaigns take triggers")
            }
            _ => None,
        };
        Err(Refused {
            subject: "campaign",
            action: action.to_string(),
            current_status: self.status.to_string(),
            allowed_actions: crate::lifecycle::names(&self.allowed_actions()),
            reason: reason.map(str::to_owned),
        })
    }

    /// C1/C3: replace the draft's fields. A draft that will replace a live recurring version must
    /// stay recurring, since the live one's occurrences continue on it (C4).
    pub fn edit_draft(
        &mut self,
        content: CampaignContent,
        channel_type: ChannelType,
        now: Timestamp,
    ) -> Result<u32, LifecycleError> {
        self.check(CampaignAction::EditDraft)?;
        if self.live_version().is_some() && !content.schedule.is_recurring() {
            return Err(ValidationErrors::single(
                "schedule.type",
                "a new version of a live recurring campaign must stay recurring",
            )
            .into());
        }
        let draft = self
            .versions
            .iter_mut()
            .find(|v| v.state == VersionState::Draft)
            .expect("edit_draft is allowed only with a draft");
        draft.content = content;
        draft.channel_type = channel_type;
        self.updated_at = now;
        Ok(draft.version)
    }

    /// C2/C4: the draft becomes the live version. The caller has validated what it references.
    pub fn activate(&mut self, now: Timestamp) -> Result<Transition, Refused> {
        self.check(CampaignAction::Activate)?;
        let from = self.status;
        let mut effects = Vec::new();
        if let Some(old) = self
            .versions
            .iter_mut()
            .find(|v| v.state == VersionState::Live)
        {
            // C4: the running occurrence finishes on the old version; new ones use the draft.
            old.state = VersionState::Superseded;
            effects.push(CampaignEffect::CancelPendingOccurrences);
        }
        let draft = self
            .versions
            .iter_mut()
            .find(|v| v.state == VersionState::Draft)
            .expect("activate is allowed only with a draft");
        draft.state = VersionState::Live;
        draft.activated_at = Some(now);
        let version = draft.version;
        let first = draft.content.schedule.first_run(now);
        let inbound = draft.is_inbound();
        if let Some(at) = first {
            // Inbound campaigns are served, not sent; a `once` one goes live at its time.
            if !(inbound && at <= now) {
                effects.push(CampaignEffect::ScheduleOccurrence { version, at });
            }
        }
        self.status = match (from, first) {
            (CampaignStatus::Draft, Some(at)) if at > now => CampaignStatus::Scheduled,
            (CampaignStatus::Draft, _) => CampaignStatus::Live,
            (other, _) => other,
        };
        self.updated_at = now;
        Ok(Transition {
            action: CampaignAction::Activate,
            from,
            to: self.status,
            version: Some(version),
            effects,
        })
    }

    /// C3: draft version N+1, a copy of the live one; the live version keeps running.
    pub fn modify(&mut self, now: Timestamp) -> Result<Transition, Refused> {
        self.check(CampaignAction::Modify)?;
        let live = self
            .live_version()
            .expect("modify is allowed only with a live version")
            .clone();
        let version = self.latest_version().version + 1;
        self.versions.push(super::CampaignVersion {
            version,
            state: VersionState::Draft,
            content: live.content,
            channel_type: live.channel_type,
            created_at: now,
            activated_at: None,
        });
        self.updated_at = now;
        Ok(Transition {
            action: CampaignAction::Modify,
            from: self.status,
            to: self.status,
            version: Some(version),
            effects: Vec::new(),
        })
    }

    /// C5: no further occurrence; one in progress runs to its end.
    pub fn stop(&mut self, now: Timestamp) -> Result<Transition, Refused> {
        self.check(CampaignAction::Stop)?;
        Ok(self.end(
            CampaignAction::Stop,
            CampaignStatus::Stopped,
            VersionState::Stopped,
            now,
            vec![
                CampaignEffect::CancelPendingOccurrences,
                CampaignEffect::Notify(NotificationKind::Stopped),
            ],
        ))
    }

    /// C6: the emergency brake; nothing more is sent, the running occurrence included.
    pub fn abort(&mut self, now: Timestamp) -> Result<Transition, Refused> {
        self.check(CampaignAction::Abort)?;
        Ok(self.end(
            CampaignAction::Abort,
            CampaignStatus::Aborted,
            VersionState::Aborted,
            now,
            vec![
                CampaignEffect::CancelAll,
                CampaignEffect::Notify(NotificationKind::Aborted),
            ],
        ))
    }

    /// C10, driven by the engine when the last send is done; `false` if the campaign had
    /// already ended (a brake won the race) and nothing changed. Not a command anyone gives,
    /// so it has no action and no transition: nothing can record it as one.
    pub fn complete(&mut self, now: Timestamp) -> bool {
        if !matches!(
            self.status,
            CampaignStatus::Scheduled | CampaignStatus::Live
        ) {
            return false;
        }
        self.end_live(CampaignStatus::Completed, VersionState::Completed, now);
        true
    }

    /// A command that ends the campaign (`stop`, `abort`): its transition.
    fn end(
        &mut self,
        action: CampaignAction,
        status: CampaignStatus,
        version_state: VersionState,
        now: Timestamp,
        effects: Vec<CampaignEffect>,
    ) -> Transition {
        let from = self.status;
        let version = self.end_live(status, version_state, now);
        Transition {
            action,
            from,
            to: status,
            version,
            effects,
        }
    }

    /// The campaign ends in `status`, its live version in `version_state`; which version that
    /// was.
    fn end_live(
        &mut self,
        status: CampaignStatus,
        version_state: VersionState,
        now: Timestamp,
    ) -> Option<u32> {
        let mut version = None;
        // A draft in progress stays a draft (the user's work is kept; `duplicate` copies it).
        for v in &mut self.versions {
            if v.state == VersionState::Live {
                v.state = version_state;
                version = Some(v.version);
            }
        }
        self.status = status;
        self.updated_at = now;
        version
    }

    /// C7: inbound campaigns only; messages are not served while paused.
    pub fn pause(&mut self, now: Timestamp) -> Result<Transition, Refused> {
        self.check(CampaignAction::Pause)?;
        Ok(self.set_status(CampaignAction::Pause, CampaignStatus::Paused, now))
    }

    pub fn resume(&mut self, now: Timestamp) -> Result<Transition, Refused> {
        self.check(CampaignAction::Resume)?;
        Ok(self.set_status(CampaignAction::Resume, CampaignStatus::Live, now))
    }

    fn set_status(
        &mut self,
        action: CampaignAction,
        to: CampaignStatus,
        now: Timestamp,
    ) -> Transition {
        let from = self.status;
        self.status = to;
        self.updated_at = now;
        Transition {
            action,
            from,
            to,
            version: self.live_version().map(|v| v.version),
            effects: Vec::new(),
        }
    }
}
