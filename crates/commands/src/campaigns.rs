//! Campaigns (C1–C10): create, edit the draft, and every lifecycle command, each composing its
//! checks, the brake and the store's transaction once.

use jiff::Timestamp;
use sluice_core::ValidationErrors;
use sluice_core::campaign::{Campaign, CampaignAction, CampaignContent, Transition};
use sluice_core::channel::ChannelType;
use sluice_core::schedule::Schedule;
use sluice_engine::BrakeSubject;
use sluice_store::{Applied, Origin, Page, PageRequest, Store};

use crate::brake::{Braked, under_brake};
use crate::{Caller, Commands, Error, Permission, Result, check_name, new_id};

/// The campaign commands; `Commands::campaigns()`.
pub struct Campaigns<'a>(pub(crate) &'a Commands);

/// What a new campaign or an edited draft holds.
#[derive(Debug, Clone)]
pub struct CampaignInput {
    /// Required to create; on a draft edit, `Some` renames the campaign.
    pub name: Option<String>,
    pub content: CampaignContent,
}

impl Commands {
    pub fn campaigns(&self) -> Campaigns<'_> {
        Campaigns(self)
    }
}

impl Campaigns<'_> {
    pub async fn get(&self, id: &str) -> Result<Campaign> {
        let key = id.to_owned();
        self.0
            .db(move |s| Ok(s.campaign(&key)?))
            .await?
            .ok_or_else(|| Error::NotFound(format!("no campaign `{id}`")))
    }

    pub async fn list(
        &self,
        status: Option<sluice_core::campaign::CampaignStatus>,
        page: PageRequest,
    ) -> Result<Page<Campaign>> {
        self.0.db(move |s| Ok(s.campaigns(status, &page)?)).await
    }

    /// A new campaign: draft version 1, its references checked (C1, C2's checks early).
    pub async fn create(&self, caller: &Caller, input: CampaignInput) -> Result<Campaign> {
        caller.require(Permission::Edit)?;
        let name = input.name.unwrap_or_default();
        check_name("name", &name)?;
        let ctx = self.0.context(caller, None);
        self.0
            .db(move |s| {
                let channel_type = check_content(s, &input.content, ctx.now)?;
                let campaign =
                    Campaign::new_draft(new_id("cmp"), name, input.content, channel_type, ctx.now);
                s.insert_campaign(&campaign, Origin::Created, &ctx)?;
                Ok(campaign)
            })
            .await
    }

    /// Replaces the draft's fields (C1, C3).
    pub async fn edit_draft(
        &self,
        caller: &Caller,
        id: &str,
        input: CampaignInput,
    ) -> Result<Campaign> {
        caller.require(Permission::Edit)?;
        if let Some(name) = &input.name {
            check_name("name", name)?;
        }
        let ctx = self.0.context(caller, None);
        let id = id.to_owned();
        let applied = self
            .0
            .db(move |s| {
                let channel_type = check_content(s, &input.content, ctx.now)?;
                let now = ctx.now;
                s.apply_campaign(&id, &ctx, &mut |c| {
                    let from = c.status;
                    let version = c.edit_draft(input.content.clone(), channel_type, now)?;
                    if let Some(name) = &input.name {
                        c.name.clone_from(name);
                    }
                    Ok(Transition {
                        action: CampaignAction::EditDraft,
                        from,
                        to: c.status,
                        version: Some(version),
                        effects: Vec::new(),
                    })
                })
                .map_err(|e| Error::from_command(e, &format!("campaign `{id}`")))
            })
            .await?;
        Ok(applied.value)
    }

    /// C9: only a campaign never activated can be deleted.
    pub async fn delete(&self, caller: &Caller, id: &str) -> Result<()> {
        caller.require(Permission::Edit)?;
        let ctx = self.0.context(caller, None);
        let id = id.to_owned();
        self.0
            .db(move |s| {
                s.delete_campaign(&id, &ctx, &|c| c.check(CampaignAction::Delete))
                    .map_err(|e| Error::from_command(e, &format!("campaign `{id}`")))
            })
            .await
    }

    /// Activates the draft (C2, everything it references checked as of now); on a live
    /// recurring campaign it replaces the live version (C4).
    pub async fn activate(
        &self,
        caller: &Caller,
        id: &str,
        reason: Option<String>,
    ) -> Result<Campaign> {
        let applied = self
            .apply(caller, id, reason, true, |c, now| Ok(c.activate(now)?))
            .await?;
        // Whatever became due (an activation's first occurrence) should not wait a poll.
        self.0.engine.wake();
        Ok(applied.value)
    }

    /// Draft version N+1 from the live one; recurring campaigns only (C3).
    pub async fn modify(
        &self,
        caller: &Caller,
        id: &str,
        reason: Option<String>,
    ) -> Result<Campaign> {
        let applied = self
            .apply(caller, id, reason, false, |c, now| Ok(c.modify(now)?))
            .await?;
        Ok(applied.value)
    }

    /// An inbound campaign's messages stop being served for now (C7).
    pub async fn pause(
        &self,
        caller: &Caller,
        id: &str,
        reason: Option<String>,
    ) -> Result<Campaign> {
        let applied = self
            .apply(caller, id, reason, false, |c, now| Ok(c.pause(now)?))
            .await?;
        Ok(applied.value)
    }

    /// A paused inbound campaign is served again (C7).
    pub async fn resume(
        &self,
        caller: &Caller,
        id: &str,
        reason: Option<String>,
    ) -> Result<Campaign> {
        let applied = self
            .apply(caller, id, reason, false, |c, now| Ok(c.resume(now)?))
            .await?;
        self.0.engine.wake();
        Ok(applied.value)
    }

    /// No further occurrence; one in progress runs to its end (C5, recurring only).
    pub async fn stop(
        &self,
        caller: &Caller,
        id: &str,
        reason: Option<String>,
    ) -> Result<Braked<Campaign>> {
        let applied = self
            .apply(caller, id, reason, false, |c, now| Ok(c.stop(now)?))
            .await?;
        Ok(Braked::from(applied))
    }

    /// The emergency brake (C6): when this returns, no further message of the campaign is
    /// sent, and the summary is final.
    pub async fn abort(
        &self,
        caller: &Caller,
        id: &str,
        reason: Option<String>,
    ) -> Result<Braked<Campaign>> {
        caller.require(Permission::Edit)?;
        // Refused before the brake is engaged, so a refusal never holds anything up.
        self.get(id).await?.check(CampaignAction::Abort)?;
        let subject = BrakeSubject::Campaign(id.to_owned());
        let commands = self.0.clone();
        let (caller, id) = (caller.clone(), id.to_owned());
        let applied = under_brake(self.0, subject, async move {
            commands
                .campaigns()
                .apply(&caller, &id, reason, false, |c, now| Ok(c.abort(now)?))
                .await
        })
        .await?;
        Ok(Braked::from(applied))
    }

    /// A new campaign, draft version 1, copied from the latest version, named
    /// "<name> (copy)" (C8).
    pub async fn duplicate(
        &self,
        caller: &Caller,
        id: &str,
        reason: Option<String>,
    ) -> Result<Campaign> {
        caller.require(Permission::Edit)?;
        let source = self.get(id).await?;
        let ctx = self.0.context(caller, reason);
        let copy = source.duplicate(new_id("cmp"), ctx.now);
        let stored = copy.clone();
        self.0
            .db(move |s| Ok(s.insert_campaign(&stored, Origin::Duplicated, &ctx)?))
            .await?;
        Ok(copy)
    }

    /// One lifecycle command in the store's transaction; `validate` checks the draft's
    /// references first (C2).
    async fn apply(
        &self,
        caller: &Caller,
        id: &str,
        reason: Option<String>,
        validate: bool,
        f: impl Fn(&mut Campaign, Timestamp) -> Result<Transition, sluice_core::LifecycleError>
        + Send
        + 'static,
    ) -> Result<Applied<Campaign>> {
        caller.require(Permission::Edit)?;
        let ctx = self.0.context(caller, reason);
        let id = id.to_owned();
        self.0
            .db(move |s| {
                if validate {
                    let campaign = s
                        .campaign(&id)?
                        .ok_or_else(|| Error::NotFound(format!("no campaign `{id}`")))?;
                    campaign.check(CampaignAction::Activate)?;
                    if let Some(draft) = campaign.draft_version() {
                        check_content(s, &draft.content, ctx.now)?;
                    }
                }
                let now = ctx.now;
                s.apply_campaign(&id, &ctx, &mut |c| f(c, now))
                    .map_err(|e| Error::from_command(e, &format!("campaign `{id}`")))
            })
            .await
    }
}

/// Everything a version references must exist and fit together (C2). Returns the channel type.
fn check_content(
    store: &dyn Store,
    content: &CampaignContent,
    now: Timestamp,
) -> Result<ChannelType> {
    let mut errors = ValidationErrors::default();
    let channel = store.channel(&content.channel_id)?;
    let template = store.template(&content.template_id)?;
    match &channel {
        None => errors.push("channel_id", format!("no channel `{}`", content.channel_id)),
        Some(c) => {
            if let Some(t) = &template
                && t.channel_type != c.channel_type
            {
                errors.push(
                    "template_id",
                    format!(
                        "template `{}` is for {} channels, the channel is {}",
                        t.id,
                        t.channel_type.as_str(),
                        c.channel_type.as_str()
                    ),
                );
            }
        }
    }
    if template.is_none() {
        errors.push(
            "template_id",
            format!("no template `{}`", content.template_id),
        );
    }
    match &content.audience_id {
        Some(id) if store.audience(id)?.is_none() => {
            errors.push("audience_id", format!("no audience `{id}`"));
        }
        None if !matches!(content.schedule, Schedule::Api) => {
            errors.push(
                "audience_id",
                "required, except for API-triggered campaigns",
            );
        }
        _ => {}
    }
    if let Err(e) = content.schedule.validate(now) {
        errors.extend_under("schedule", e);
    }
    if let Some(c) = &channel
        && c.channel_type == ChannelType::Inbox
        && matches!(content.schedule, Schedule::Api)
    {
        errors.push(
            "schedule.type",
            "inbound (inbox) campaigns are served, not triggered",
        );
    }
    errors.into_result()?;
    Ok(channel.map_or(ChannelType::Webhook, |c| c.channel_type))
}
