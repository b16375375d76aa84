//! Audiences: named rules over attributes and events.

use sluice_core::ValidationErrors;
use sluice_core::rule::Rule;
use sluice_store::{Audience, DeleteOutcome, Page, PageRequest};

use crate::{Caller, Commands, Error, Permission, Result, check_name, new_id};

/// The audience commands; `Commands::audiences()`.
pub struct Audiences<'a>(pub(crate) &'a Commands);

/// What an audience is made of, as a front end sends it.
#[derive(Debug, Clone)]
pub struct AudienceInput {
    pub name: String,
    /// `{"all"|"any": [rule…]}`, `{"not": rule}`, `{"attr", "op", "value"}` or
    /// `{"event", "op", "value", "within"?}`; errors are reported under `rule`.
    pub rule: serde_json::Value,
}

impl Commands {
    pub fn audiences(&self) -> Audiences<'_> {
        Audiences(self)
    }
}

fn parse(input: &AudienceInput) -> Result<Rule> {
    check_name("name", &input.name)?;
    Rule::parse(&input.rule).map_err(|e| {
        let mut under = ValidationErrors::default();
        under.extend_under("rule", e);
        Error::Invalid(under)
    })
}

impl Audiences<'_> {
    pub async fn get(&self, id: &str) -> Result<Audience> {
        let key = id.to_owned();
        self.0
            .db(move |s| Ok(s.audience(&key)?))
            .await?
            .ok_or_else(|| Error::NotFound(format!("no audience `{id}`")))
    }

    pub async fn list(&self, page: PageRequest) -> Result<Page<Audience>> {
        self.0.db(move |s| Ok(s.audiences(&page)?)).await
    }

    pub async fn create(&self, caller: &Caller, input: AudienceInput) -> Result<Audience> {
        caller.require(Permission::Edit)?;
        let rule = parse(&input)?;
        let now = self.0.now();
        let audience = Audience {
            id: new_id("aud"),
            name: input.name,
            rule,
            created_at: now,
            updated_at: now,
        };
        let stored = audience.clone();
        self.0.db(move |s| Ok(s.insert_audience(&stored)?)).await?;
        Ok(audience)
    }

    pub async fn update(
        &self,
        caller: &Caller,
        id: &str,
        input: AudienceInput,
    ) -> Result<Audience> {
        caller.require(Permission::Edit)?;
        let rule = parse(&input)?;
        let mut audience = self.get(id).await?;
        audience.name = input.name;
        audience.rule = rule;
        audience.updated_at = self.0.now();
        let stored = audience.clone();
        self.0.db(move |s| Ok(s.update_audience(&stored)?)).await?;
        Ok(audience)
    }

    /// Refused while a non-draft campaign or journey version uses it.
    pub async fn delete(&self, caller: &Caller, id: &str) -> Result<()> {
        caller.require(Permission::Edit)?;
        let key = id.to_owned();
        deleted(
            "audience",
            id,
            self.0.db(move |s| Ok(s.delete_audience(&key)?)).await?,
        )
    }

    /// How many profiles the audience holds now.
    pub async fn count(&self, id: &str) -> Result<u64> {
        let audience = self.get(id).await?;
        let now = self.0.now();
        self.0
            .db(move |s| Ok(s.audience_count(&audience.rule, now)?))
            .await
    }

    /// How many profiles a rule not yet saved would hold now: the rule builder's live count.
    pub async fn count_rule(&self, rule: serde_json::Value) -> Result<u64> {
        let rule = Rule::parse(&rule).map_err(|e| {
            let mut under = ValidationErrors::default();
            under.extend_under("rule", e);
            Error::Invalid(under)
        })?;
        let now = self.0.now();
        self.0.db(move |s| Ok(s.audience_count(&rule, now)?)).await
    }
}

/// A delete's outcome as the caller sees it.
pub(crate) fn deleted(kind: &str, id: &str, outcome: DeleteOutcome) -> Result<()> {
    match outcome {
        DeleteOutcome::Deleted => Ok(()),
        DeleteOutcome::NotFound => Err(Error::NotFound(format!("no {kind} `{id}`"))),
        DeleteOutcome::InUse(user) => {
            Err(Error::Conflict(format!("{kind} `{id}` is used by {user}")))
        }
    }
}
