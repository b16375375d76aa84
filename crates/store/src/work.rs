//! Due work: every send, occurrence, trigger and journey step has a due time. The engine claims
//! due work in batches with a lease and settles each claim, fenced by the claim's number: a
//! settlement whose lease was lost changes nothing, so no outcome is recorded twice.
//!
//! Two kinds of time (`sluice_core::clock`): a row is due at a *business* time (its schedule,
//! its wait), and once tried it may be *held* for a while of *real* time — by a lease while a
//! worker has it, by a retry's back-off, by a rate limit's deferral. A held row is claimable
//! when its real time comes, whatever the business clock says, so a test clock that stands
//! still never stalls a retry or a rate-limited send, and one that jumps never ends a lease.

use std::time::Duration;

use jiff::Timestamp;
use sluice_core::clock::Now;

use crate::{ActionRecord, EnrollmentState, StoreError};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WorkKind {
    /// One run of a campaign: reads the audience and plans one send per member.
    Occurrence,
    /// One message of a campaign occurrence to one profile.
    Send,
    /// One message of an API-triggered campaign to one profile.
    Trigger,
    /// An audience-entry journey reads its audience.
    JourneyEntry,
    /// One node of one enrollment. A step is not a row of its own: an enrollment waits for at
    /// most one step, and a store may keep it in the enrollment (its id is the enrollment's).
    JourneyStep,
}

impl WorkKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Occurrence => "occurrence",
            Self::Send => "send",
            Self::Trigger => "trigger",
            Self::JourneyEntry => "journey_entry",
            Self::JourneyStep => "journey_step",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            Self::Occurrence,
            Self::Send,
            Self::Trigger,
            Self::JourneyEntry,
            Self::JourneyStep,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }
}

/// Which claim a settlement answers: the work claimed (its kind says where it lives, its id
/// which one) and the claim's number. A settlement whose number is no longer the work's latest
/// claim (the lease ran out and another worker took over) changes nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Claim {
    pub kind: WorkKind,
    pub id: i64,
    pub fence: u32,
}

/// Claimed work: what to do, for whom, and the claim that fences its settlement.
#[derive(Debug, Clone)]
pub struct DueWork {
    /// The row's id; a journey step's is its enrollment's.
    pub id: i64,
    pub kind: WorkKind,
    pub campaign_id: Option<String>,
    pub journey_id: Option<String>,
    pub version: u32,
    pub occurrence: Option<u32>,
    pub enrollment_id: Option<i64>,
    pub node_id: Option<String>,
    pub profile_id: Option<String>,
    pub due_at: Timestamp,
    /// Which try this is of the work (of this step, for a journey step): 1 on the first
    /// claim; each claim adds one. Retries back off and give up by it.
    pub attempt: u32,
    /// The claim's number, which fences its settlement. A journey step's counts every claim of
    /// its enrollment, across its steps, so it never repeats; a row's is its attempt (a
    /// deferral gives the number back, and the row's next claim has it again).
    pub fence: u32,
    pub idempotency_key: Option<String>,
    pub payload: Option<serde_json::Value>,
}

impl DueWork {
    pub fn claim(&self) -> Claim {
        Claim {
            kind: self.kind,
            id: self.id,
            fence: self.fence,
        }
    }
}

/// How a claimed row ends (or goes back to wait).
#[derive(Debug, Clone)]
pub enum Settlement {
    /// Done; `record` is appended to the action log (its idempotency key makes a repeat a no-op).
    Done {
        claim: Claim,
        record: Option<ActionRecord>,
        idempotency_key: Option<String>,
    },
    /// Try again `after` this much real time (a retryable failure's back-off; zero for a
    /// brake that is being engaged).
    Retry {
        claim: Claim,
        after: Duration,
        reason: String,
    },
    /// Not this time: back to wait `after` this much real time, the claim not counted as an
    /// attempt (a message its channel's rate limit cannot take soon).
    Defer { claim: Claim, after: Duration },
    /// Not to be done any more (the campaign ended); recorded as cancelled.
    Cancelled {
        claim: Claim,
        record: Option<ActionRecord>,
    },
    /// A journey step done: what it recorded and changed, and where the enrollment goes next.
    Advance(Box<Advance>),
}

/// The outcome of one journey step for one enrollment.
#[derive(Debug, Clone)]
pub struct Advance {
    pub claim: Claim,
    pub enrollment_id: i64,
    pub journey_id: String,
    pub version: u32,
    pub profile_id: String,
    /// Action records; the first carries `idempotency_key` (the message it records).
    pub records: Vec<ActionRecord>,
    pub idempotency_key: Option<String>,
    /// Attributes `update_profile` nodes set, merged into the profile in order.
    pub updates: Vec<serde_json::Map<String, serde_json::Value>>,
    /// Journeys `remove_from_journey` nodes take the profile out of (J9).
    pub removals: Vec<String>,
    /// The nodes the walk arrived at, in order (counted per node in the results).
    pub visited: Vec<String>,
    pub next: Next,
}

/// Where an enrollment goes after a step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Next {
    /// Step again at `node_id` when `due_at` comes; `resume` means the node itself is done (a
    /// wait that is over) and the walk goes on at its way on.
    At {
        node_id: String,
        due_at: Timestamp,
        resume: bool,
    },
    /// The walk ended: the enrollment leaves with this state.
    Leave {
        node_id: Option<String>,
        state: EnrollmentState,
    },
}

/// What a journey step needs to know about its enrollment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnrollmentInfo {
    pub state: EnrollmentState,
    pub deadline: Timestamp,
    /// The properties of the event the profile entered by (`None`: it entered with its
    /// audience), which its messages see as `event`.
    pub event: Option<serde_json::Value>,
}

impl Settlement {
    pub fn claim(&self) -> Claim {
        match self {
            Self::Done { claim, .. }
            | Self::Retry { claim, .. }
            | Self::Defer { claim, .. }
            | Self::Cancelled { claim, .. } => *claim,
            Self::Advance(a) => a.claim,
        }
    }
}

/// What one page of an audience fan-out did: an occurrence planning its sends, or a journey
/// version's audience entering it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FanOut {
    /// Planned `planned` more sends (or entered that many profiles), one page of the audience;
    /// `complete` once the whole audience is read (until then the row is due again at once for
    /// the next page). `next`: the following occurrence or entry of a recurring schedule,
    /// scheduled by the first page.
    Planned {
        planned: u64,
        next: Option<Timestamp>,
        complete: bool,
    },
    /// The campaign ended or the occurrence was cancelled meanwhile: nothing planned.
    Skipped,
}

pub trait WorkStore {
    /// Claims up to `limit` units of work of `kinds` — waiting ones due at `now.business`,
    /// held ones (a retry, a deferral) whose real time came, and claimed ones whose lease ran
    /// out (their worker died) — leasing them for `lease` of real time. When journey steps
    /// and other kinds are both due, each gets at least half of `limit`.
    fn claim_due(
        &self,
        now: Now,
        limit: u32,
        lease: Duration,
        kinds: &[WorkKind],
    ) -> Result<Vec<DueWork>, StoreError>;
    /// Extends the leases of work still held under these claims to `lease` of real time from
    /// `now` (a lease already longer stays), so a batch that takes long is not taken over
    /// while it is being carried out. Work settled meanwhile, or claimed again since, is left
    /// alone. How many it extended.
    fn renew_leases(&self, claims: &[Claim], now: Now, lease: Duration) -> Result<u64, StoreError>;
    /// Puts all claimed work back to pending (its attempt kept). For a store only one engine
    /// uses, at that engine's start: whatever was claimed belonged to a process that died.
    fn release_claims(&self) -> Result<u64, StoreError>;
    /// Cancels up to `limit` rows that a brake ended (an aborted campaign's pending sends, a
    /// stopped journey version's steps and enrollments); the number of rows changed, 0 when
    /// nothing is left to sweep. Brakes count these rows out at once and leave them here, so a
    /// brake takes the same time with a million rows pending as with ten.
    fn sweep(&self, limit: u32) -> Result<u64, StoreError>;
    /// What the engine needs of the enrollments `ids` that exist, in one read.
    fn enrollments_by_id(&self, ids: &[i64]) -> Result<Vec<(i64, EnrollmentInfo)>, StoreError>;
    /// When the earliest waiting row is due, in business time (held and claimed rows aside).
    fn next_due(&self) -> Result<Option<Timestamp>, StoreError>;
    /// Settles claimed rows in one transaction; for each, whether its lease still held (a
    /// settlement of a lost lease changes nothing). Finishing the last send of an occurrence
    /// finishes the occurrence, and a one-time campaign with it (C10). Records and states are
    /// stamped with `now.business`; retries and deferrals are held from `now.real`.
    fn settle(&self, settlements: &[Settlement], now: Now) -> Result<Vec<bool>, StoreError>;
    /// Starts a claimed occurrence, or goes on with it: reads the next page of the audience and
    /// plans one send per member (C2); the first page schedules the next occurrence of a
    /// recurring campaign. The row is settled, or due again at once while pages remain.
    fn start_occurrence(&self, work: &DueWork, now: Timestamp) -> Result<FanOut, StoreError>;
    /// Reads the next page of a live audience-entry journey version's audience and enters its
    /// members (J1, J8); the first page schedules the next entry of a recurring schedule. The
    /// row is settled, or due again at once while pages remain.
    fn enter_audience(&self, work: &DueWork, now: Timestamp) -> Result<FanOut, StoreError>;
}
