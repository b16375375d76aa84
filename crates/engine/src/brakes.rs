//! The brake guarantee (B1) inside one process: a delivery is handed to a channel only while
//! its campaign or journey version is not braked, and a brake returns only once every delivery
//! handed over before it has settled. Checking and registering happen under one lock, so no
//! delivery slips between the check and the brake.
//!
//! A brake does not wait for receivers: engaging it cuts the deliveries in flight (their
//! requests are dropped) and they settle at once as "in flight at the brake: outcome unknown".
//! So it returns in the time a settlement takes to write, whether receivers answer in a
//! millisecond or never; a delivery that answered before the cut settles with its answer.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::Notify;
use tokio_util::sync::{CancellationToken, WaitForCancellationFutureOwned};

/// What a brake holds: a campaign, or one version of a journey.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum BrakeSubject {
    Campaign(String),
    JourneyVersion(String, u32),
}

#[derive(Debug, Default)]
struct State {
    /// Brake calls under way (engaged, their command not decided yet).
    holders: u32,
    /// A brake whose command took: held for good.
    held: bool,
    in_flight: u32,
    /// Cancelled by a brake: cuts the deliveries in flight. A delivery registered after a
    /// brake was lifted again gets a new one.
    cut: CancellationToken,
}

impl State {
    fn braked(&self) -> bool {
        self.holders > 0 || self.held
    }

    fn unused(&self) -> bool {
        self.in_flight == 0 && !self.braked()
    }
}

#[derive(Debug, Default)]
pub struct Brakes {
    states: Mutex<HashMap<BrakeSubject, State>>,
    settled: Notify,
    engaged: Notify,
}

/// An engaged brake (see `Brakes::engage`).
#[derive(Debug)]
#[must_use = "dropping it takes the brake off again"]
pub struct Engaged {
    brakes: Arc<Brakes>,
    subject: BrakeSubject,
}

impl Engaged {
    /// The command the brake guarded took: it holds for good.
    pub fn hold(self) {
        let mut states = self
            .brakes
            .states
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        states.entry(self.subject.clone()).or_default().held = true;
        // The drop that follows gives up this call's hold; the brake stays, held.
    }
}

impl Drop for Engaged {
    fn drop(&mut self) {
        let mut states = self
            .brakes
            .states
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(state) = states.get_mut(&self.subject) {
            state.holders = state.holders.saturating_sub(1);
            if state.unused() {
                states.remove(&self.subject);
            }
        }
    }
}

/// A delivery in flight; dropping it (after its outcome is written) lets a brake return.
#[derive(Debug)]
pub struct InFlight {
    brakes: Arc<Brakes>,
    subject: BrakeSubject,
    cut: CancellationToken,
}

impl InFlight {
    /// Resolves when a brake cuts this delivery: it must stop waiting for its receiver and
    /// settle as "in flight at the brake: outcome unknown".
    pub fn cut(&self) -> WaitForCancellationFutureOwned {
        self.cut.clone().cancelled_owned()
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        let mut states = self
            .brakes
            .states
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(state) = states.get_mut(&self.subject) {
            state.in_flight = state.in_flight.saturating_sub(1);
            if state.unused() {
                states.remove(&self.subject);
            }
        }
        drop(states);
        self.brakes.settled.notify_waiters();
    }
}

impl Brakes {
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// Registers a delivery about to be handed to a channel, or `None` when the subject is
    /// braked (the delivery must not happen).
    pub fn enter(self: &Arc<Self>, subject: &BrakeSubject) -> Option<InFlight> {
        let mut states = self.states.lock().unwrap_or_else(PoisonError::into_inner);
        let state = states.entry(subject.clone()).or_default();
        if state.braked() {
            return None;
        }
        if state.cut.is_cancelled() {
            state.cut = CancellationToken::new();
        }
        state.in_flight += 1;
        Some(InFlight {
            brakes: Arc::clone(self),
            subject: subject.clone(),
            cut: state.cut.clone(),
        })
    }

    /// Engages the brake, cuts the deliveries in flight and waits until every delivery handed
    /// over before it has settled (a cut one settles as soon as its outcome, unknown, is
    /// written). From the moment this is called no new delivery of `subject` starts. The brake holds
    /// while the returned guard lives, and for good once it is `hold`: a command that was
    /// refused (or a call given up half way) takes it off by dropping the guard, without
    /// lifting another brake call on the same subject.
    pub async fn engage(self: &Arc<Self>, subject: &BrakeSubject) -> Engaged {
        {
            let mut states = self.states.lock().unwrap_or_else(PoisonError::into_inner);
            let state = states.entry(subject.clone()).or_default();
            if !state.braked() {
                self.engaged.notify_waiters();
            }
            state.holders += 1;
            state.cut.cancel();
        }
        let engaged = Engaged {
            brakes: Arc::clone(self),
            subject: subject.clone(),
        };
        loop {
            let notified = self.settled.notified();
            tokio::pin!(notified);
            // Register interest before checking, so a settlement between the check and the
            // wait is not missed.
            notified.as_mut().enable();
            {
                let states = self.states.lock().unwrap_or_else(PoisonError::into_inner);
                if states.get(subject).is_none_or(|s| s.in_flight == 0) {
                    return engaged;
                }
            }
            notified.await;
        }
    }

    /// Resolves once `subject` is braked: what a delivery waiting for its turn (a rate limit)
    /// races against, so that it gives its turn up rather than hold a brake back.
    pub async fn engaged(&self, subject: &BrakeSubject) {
        loop {
            let notified = self.engaged.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.is_braked(subject) {
                return;
            }
            notified.await;
        }
    }

    /// Registers a delivery once `turn` (its rate limit's wait) is over, or `None` when the
    /// subject is braked before or meanwhile: a delivery waiting for its turn gives way to a
    /// brake rather than hold it back.
    pub async fn enter_after(
        self: &Arc<Self>,
        subject: &BrakeSubject,
        turn: impl Future<Output = ()>,
    ) -> Option<InFlight> {
        let braked = tokio::select! {
            biased;
            () = turn => false,
            () = self.engaged(subject) => true,
        };
        if braked { None } else { self.enter(subject) }
    }

    pub fn is_braked(&self, subject: &BrakeSubject) -> bool {
        let states = self.states.lock().unwrap_or_else(PoisonError::into_inner);
        states.get(subject).is_some_and(State::braked)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn a_brake_waits_for_deliveries_in_flight_and_refuses_new_ones() {
        let brakes = Brakes::new();
        let subject = BrakeSubject::Campaign("c".into());
        let delivery = brakes.enter(&subject).expect("not braked yet");
        let engaged = {
            let brakes = Arc::clone(&brakes);
            let subject = subject.clone();
            tokio::spawn(async move { brakes.engage(&subject).await })
        };
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(
            !engaged.is_finished(),
            "the brake returned while a delivery was in flight"
        );
        assert!(
            brakes.enter(&subject).is_none(),
            "a delivery started after the brake"
        );
        drop(delivery);
        let engaged = tokio::time::timeout(Duration::from_secs(5), engaged)
            .await
            .unwrap()
            .unwrap();
        assert!(brakes.is_braked(&subject));
        drop(engaged);
        assert!(
            brakes.enter(&subject).is_some(),
            "a refused command takes its brake off"
        );
    }

    #[tokio::test]
    async fn a_refused_brake_call_does_not_lift_another_and_a_held_brake_stays() {
        let brakes = Brakes::new();
        let subject = BrakeSubject::Campaign("c".into());
        let first = brakes.engage(&subject).await;
        let second = brakes.engage(&subject).await;
        drop(second);
        assert!(
            brakes.enter(&subject).is_none(),
            "the second call, refused, lifted the first one's brake"
        );
        first.hold();
        assert!(
            brakes.enter(&subject).is_none(),
            "a held brake holds for good"
        );
        drop(brakes.engage(&subject).await);
        assert!(brakes.is_braked(&subject));
    }

    #[tokio::test]
    async fn other_subjects_are_not_held() {
        let brakes = Brakes::new();
        let _busy = brakes.enter(&BrakeSubject::Campaign("a".into())).unwrap();
        let _engaged = tokio::time::timeout(
            Duration::from_secs(1),
            brakes.engage(&BrakeSubject::Campaign("b".into())),
        )
        .await
        .expect("a brake on b does not wait for a");
    }
}
