//! Journeys and their versions (J1–J9): create, edit drafts, publish, close, stop, new
//! version, duplicate, delete, and who is inside — each composing its checks, the brake and
//! the store's transaction once.

use jiff::Timestamp;
use sluice_core::channel::ChannelType;
use sluice_core::journey::lifecycle;
use sluice_core::journey::{
    Journey, JourneyAction, JourneyDefinition, JourneyTransition, References,
};
use sluice_engine::BrakeSubject;
use sluice_store::{
    Applied, Enrollment, EnrollmentState, Origin, Page, PageRequest, RemoveOutcome, Store,
};

use crate::brake::{Braked, under_brake};
use crate::{Caller, Commands, Error, Permission, Result, check_name, new_id};

/// The journey commands; `Commands::journeys()`.
pub struct Journeys<'a>(pub(crate) &'a Commands);

impl Commands {
    pub fn journeys(&self) -> Journeys<'_> {
        Journeys(self)
    }
}

fn version_missing(id: &str, n: u32) -> Error {
    Error::NotFound(format!("journey `{id}` has no version {n}"))
}

impl Journeys<'_> {
    pub async fn get(&self, id: &str) -> Result<Journey> {
        let key = id.to_owned();
        self.0
            .db(move |s| Ok(s.journey(&key)?))
            .await?
            .ok_or_else(|| Error::NotFound(format!("no journey `{id}`")))
    }

    pub async fn list(&self, page: PageRequest) -> Result<Page<Journey>> {
        self.0.db(move |s| Ok(s.journeys(&page)?)).await
    }

    /// A new journey: draft version 1, its graph and references checked.
    pub async fn create(
        &self,
        caller: &Caller,
        name: String,
        definition: JourneyDefinition,
    ) -> Result<Journey> {
        caller.require(Permission::Edit)?;
        check_name("name", &name)?;
        let ctx = self.0.context(caller, None);
        self.0
            .db(move |s| {
                validate(s, &definition, ctx.now)?;
                let journey = Journey::new_draft(new_id("jrn"), name, definition, ctx.now);
                s.insert_journey(&journey, Origin::Created, &ctx)?;
                Ok(journey)
            })
            .await
    }

    /// A journey whose every version is a draft can be deleted.
    pub async fn delete(&self, caller: &Caller, id: &str) -> Result<()> {
        caller.require(Permission::Edit)?;
        let ctx = self.0.context(caller, None);
        let id = id.to_owned();
        self.0
            .db(move |s| {
                s.delete_journey(&id, &ctx, &Journey::check_delete)
                    .map_err(|e| Error::from_command(e, &format!("journey `{id}`")))
            })
            .await
    }

    /// Draft N+1 copied from the latest version (J6); refused while a draft exists.
    pub async fn new_version(&self, caller: &Caller, id: &str) -> Result<Journey> {
        let applied = self
            .apply(caller, id, None, None, |j, now| {
                Ok(vec![j.new_version(now)?])
            })
            .await?;
        Ok(applied.value)
    }

    /// Replaces a draft version's definition; `name` renames the journey.
    pub async fn edit_version(
        &self,
        caller: &Caller,
        id: &str,
        n: u32,
        name: Option<String>,
        definition: JourneyDefinition,
    ) -> Result<Journey> {
        caller.require(Permission::Edit)?;
        if let Some(name) = &name {
            check_name("name", name)?;
        }
        let check_now = self.0.now();
        let def = definition.clone();
        self.0.db(move |s| validate(s, &def, check_now)).await?;
        let key = id.to_owned();
        let applied = self
            .apply(caller, id, None, None, move |j, now| {
                let from = j.version(n).ok_or_else(|| version_missing(&key, n))?.status;
                j.edit(n, definition.clone(), now)
                    .ok_or_else(|| version_missing(&key, n))??;
                if let Some(name) = &name {
                    j.name.clone_from(name);
                }
                Ok(vec![JourneyTransition {
                    action: JourneyAction::Edit,
                    version: n,
                    from,
                    to: from,
                    effects: Vec::new(),
                }])
            })
            .await?;
        Ok(applied.value)
    }

    /// Deletes a draft version.
    pub async fn delete_version(&self, caller: &Caller, id: &str, n: u32) -> Result<Journey> {
        let key = id.to_owned();
        let applied = self
            .apply(caller, id, None, None, move |j, now| {
                let from = j.version(n).ok_or_else(|| version_missing(&key, n))?.status;
                j.delete_version(n, now)
                    .ok_or_else(|| version_missing(&key, n))??;
                Ok(vec![JourneyTransition {
                    action: JourneyAction::Delete,
                    version: n,
                    from,
                    to: from,
                    effects: Vec::new(),
                }])
            })
            .await?;
        Ok(applied.value)
    }

    /// Validates the graph and what it references as of now, and makes the version live (J2);
    /// the previous live version closes (J6).
    pub async fn publish(
        &self,
        caller: &Caller,
        id: &str,
        n: u32,
        reason: Option<String>,
    ) -> Result<Journey> {
        let key = id.to_owned();
        let applied = self
            .apply(caller, id, reason, Some(n), move |j, now| {
                Ok(j.publish(n, now)
                    .ok_or_else(|| version_missing(&key, n))??)
            })
            .await?;
        self.0.engine.wake();
        Ok(applied.value)
    }

    /// Closes the version to new entrances (J3): people inside go on to the end.
    pub async fn close(
        &self,
        caller: &Caller,
        id: &str,
        n: u32,
        reason: Option<String>,
    ) -> Result<Journey> {
        let key = id.to_owned();
        let applied = self
            .apply(caller, id, reason, None, move |j, now| {
                Ok(vec![
                    j.close(n, now).ok_or_else(|| version_missing(&key, n))??,
                ])
            })
            .await?;
        Ok(applied.value)
    }

    /// Halts everyone inside at once (J4): when this returns, no further node runs in the
    /// version, and the summary is final.
    pub async fn stop(
        &self,
        caller: &Caller,
        id: &str,
        n: u32,
        reason: Option<String>,
    ) -> Result<Braked<Journey>> {
        caller.require(Permission::Edit)?;
        // Refused before the brake is engaged, so a refusal never holds anything up.
        let journey = self.get(id).await?;
        let status = journey
            .version(n)
            .ok_or_else(|| version_missing(id, n))?
            .status;
        lifecycle::check(status, JourneyAction::Stop)?;
        let subject = BrakeSubject::JourneyVersion(id.to_owned(), n);
        let commands = self.0.clone();
        let (caller, id) = (caller.clone(), id.to_owned());
        let applied = under_brake(self.0, subject, async move {
            let key = id.clone();
            commands
                .journeys()
                .apply(&caller, &id, reason, None, move |j, now| {
                    Ok(vec![
                        j.stop(n, now).ok_or_else(|| version_missing(&key, n))??,
                    ])
                })
                .await
        })
        .await?;
        Ok(Braked::from(applied))
    }

    /// A new journey, draft version 1, copied from version `n` (J7).
    pub async fn duplicate(
        &self,
        caller: &Caller,
        id: &str,
        n: u32,
        reason: Option<String>,
    ) -> Result<Journey> {
        caller.require(Permission::Edit)?;
        let source = self.get(id).await?;
        let ctx = self.0.context(caller, reason);
        let copy = source
            .duplicate(n, new_id("jrn"), ctx.now)
            .ok_or_else(|| version_missing(id, n))?;
        let stored = copy.clone();
        self.0
            .db(move |s| Ok(s.insert_journey(&stored, Origin::Duplicated, &ctx)?))
            .await?;
        Ok(copy)
    }

    /// Who is (or was) inside version `n`.
    pub async fn enrollments(
        &self,
        id: &str,
        n: u32,
        state: Option<EnrollmentState>,
        page: PageRequest,
    ) -> Result<Page<Enrollment>> {
        let journey = self.get(id).await?;
        journey.version(n).ok_or_else(|| version_missing(id, n))?;
        let id = id.to_owned();
        self.0
            .db(move |s| Ok(s.enrollments(&id, n, state, &page)?))
            .await
    }

    /// Takes one profile out of the flow (J9); returns how many pending steps were cancelled
    /// (each recorded in the action log).
    pub async fn remove_profile(
        &self,
        caller: &Caller,
        id: &str,
        n: u32,
        profile_id: &str,
        reason: Option<String>,
    ) -> Result<u64> {
        caller.require(Permission::Edit)?;
        let ctx = self.0.context(caller, reason);
        let (id, profile_id) = (id.to_owned(), profile_id.to_owned());
        self.0
            .db(move |s| {
                match s
                    .remove_from_journey(&id, n, &profile_id, &ctx)
                    .map_err(|e| Error::from_command(e, &format!("journey `{id}` version {n}")))?
                {
                    RemoveOutcome::Removed { cancelled } => Ok(cancelled),
                    RemoveOutcome::NotInside => Err(Error::NotFound(format!(
                        "profile `{profile_id}` is not inside journey `{id}` version {n}"
                    ))),
                }
            })
            .await
    }

    /// One journey command in the store's transaction; `publishing` names the version whose
    /// graph and references are checked first (J2).
    async fn apply(
        &self,
        caller: &Caller,
        id: &str,
        reason: Option<String>,
        publishing: Option<u32>,
        mut f: impl FnMut(&mut Journey, Timestamp) -> Result<Vec<JourneyTransition>> + Send + 'static,
    ) -> Result<Applied<Journey>> {
        caller.require(Permission::Edit)?;
        let ctx = self.0.context(caller, reason);
        let id = id.to_owned();
        self.0
            .db(move |s| {
                if let Some(n) = publishing {
                    let journey = s
                        .journey(&id)?
                        .ok_or_else(|| Error::NotFound(format!("no journey `{id}`")))?;
                    let version = journey.version(n).ok_or_else(|| version_missing(&id, n))?;
                    lifecycle::check(version.status, JourneyAction::Publish)?;
                    validate(s, &version.definition, ctx.now)?;
                }
                let now = ctx.now;
                let mut failure = None;
                let result = s.apply_journey(&id, &ctx, &mut |j| {
                    f(j, now).map_err(|e| {
                        // Not-found and lifecycle refusals travel through the store as a
                        // refusal of nothing; the original error is kept and returned below.
                        failure = Some(e);
                        sluice_core::LifecycleError::Invalid(
                            sluice_core::ValidationErrors::default(),
                        )
                    })
                });
                match (result, failure) {
                    (_, Some(e)) => Err(e),
                    (Ok(applied), None) => Ok(applied),
                    (Err(e), None) => Err(Error::from_command(e, &format!("journey `{id}`"))),
                }
            })
            .await
    }
}

/// Checks a definition's graph and what it references, as of `now`.
pub fn validate(store: &dyn Store, definition: &JourneyDefinition, now: Timestamp) -> Result<()> {
    Ok(definition.validate(&StoreRefs(store), now)?)
}

/// Checks references against the store; a storage failure reads as "missing" and is logged.
struct StoreRefs<'a>(&'a dyn Store);

impl References for StoreRefs<'_> {
    fn channel_type(&self, id: &str) -> Option<ChannelType> {
        self.0
            .channel(id)
            .inspect_err(|e| tracing::error!(%e, "reading a channel"))
            .ok()
            .flatten()
            .map(|c| c.channel_type)
    }
    fn template_channel_type(&self, id: &str) -> Option<ChannelType> {
        self.0
            .template(id)
            .inspect_err(|e| tracing::error!(%e, "reading a template"))
            .ok()
            .flatten()
            .map(|t| t.channel_type)
    }
    fn audience_exists(&self, id: &str) -> bool {
        self.0.audience(id).ok().flatten().is_some()
    }
    fn journey_exists(&self, id: &str) -> bool {
        self.0.journey(id).ok().flatten().is_some()
    }
}
