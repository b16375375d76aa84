//! Templates: Liquid messages, syntax-checked when saved (errors at their line and column),
//! previewed for one profile.

use sluice_core::ValidationErrors;
use sluice_core::channel::ChannelType;
use sluice_core::template;
use sluice_store::{Page, PageRequest, Template};

use crate::audiences::deleted;
use crate::{Caller, Commands, Error, Permission, Result, check_name, new_id};

/// A preview renders off the async threads and gives up after this long.
const PREVIEW_TIME_LIMIT: std::time::Duration = std::time::Duration::from_secs(2);

/// The template commands; `Commands::templates()`.
pub struct Templates<'a>(pub(crate) &'a Commands);

#[derive(Debug, Clone)]
pub struct TemplateInput {
    pub name: String,
    pub channel_type: ChannelType,
    /// Liquid; required for email.
    pub subject: Option<String>,
    /// Liquid: `{{ profile.first_name | default: "there" }}`, `{{ event.order }}`.
    pub body: String,
}

/// A template rendered for one profile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub subject: Option<String>,
    pub body: String,
}

impl Commands {
    pub fn templates(&self) -> Templates<'_> {
        Templates(self)
    }
}

fn check(input: &TemplateInput) -> Result<()> {
    check_name("name", &input.name)?;
    let mut errors = ValidationErrors::default();
    if input.channel_type == ChannelType::Email
        && input.subject.as_deref().is_none_or(|s| s.trim().is_empty())
    {
        errors.push("subject", "an email template needs a subject");
    }
    if let Some(subject) = &input.subject
        && let Err(e) = template::check(subject)
    {
        errors.push("subject", e.to_string());
    }
    if let Err(e) = template::check(&input.body) {
        errors.push("body", e.to_string());
    }
    Ok(errors.into_result()?)
}

impl Templates<'_> {
    pub async fn get(&self, id: &str) -> Result<Template> {
        let key = id.to_owned();
        self.0
            .db(move |s| Ok(s.template(&key)?))
            .await?
            .ok_or_else(|| Error::NotFound(format!("no template `{id}`")))
    }

    pub async fn list(&self, page: PageRequest) -> Result<Page<Template>> {
        self.0.db(move |s| Ok(s.templates(&page)?)).await
    }

    pub async fn create(&self, caller: &Caller, input: TemplateInput) -> Result<Template> {
        caller.require(Permission::Edit)?;
        check(&input)?;
        let now = self.0.now();
        let template = Template {
            id: new_id("tpl"),
            name: input.name,
            channel_type: input.channel_type,
            subject: input.subject,
            body: input.body,
            created_at: now,
            updated_at: now,
        };
        let stored = template.clone();
        self.0.db(move |s| Ok(s.insert_template(&stored)?)).await?;
        Ok(template)
    }

    /// Replaces a template. Versions that already went live render the current text.
    pub async fn update(
        &self,
        caller: &Caller,
        id: &str,
        input: TemplateInput,
    ) -> Result<Template> {
        caller.require(Permission::Edit)?;
        check(&input)?;
        let mut template = self.get(id).await?;
        template.name = input.name;
        template.channel_type = input.channel_type;
        template.subject = input.subject;
        template.body = input.body;
        template.updated_at = self.0.now();
        let stored = template.clone();
        self.0.db(move |s| Ok(s.update_template(&stored)?)).await?;
        Ok(template)
    }

    /// Refused while a campaign or journey version uses it.
    pub async fn delete(&self, caller: &Caller, id: &str) -> Result<()> {
        caller.require(Permission::Edit)?;
        let key = id.to_owned();
        deleted(
            "template",
            id,
            self.0.db(move |s| Ok(s.delete_template(&key)?)).await?,
        )
    }

    /// Renders a saved template for one profile, `context` as `event`.
    pub async fn preview(
        &self,
        id: &str,
        profile_id: &str,
        context: serde_json::Map<String, serde_json::Value>,
    ) -> Result<Rendered> {
        let template = self.get(id).await?;
        self.render(template.subject, template.body, profile_id, context)
            .await
    }

    /// Renders Liquid not yet saved (the editor's preview) for one profile.
    pub async fn render(
        &self,
        subject: Option<String>,
        body: String,
        profile_id: &str,
        context: serde_json::Map<String, serde_json::Value>,
    ) -> Result<Rendered> {
        let key = profile_id.to_owned();
        let profile = self
            .0
            .db(move |s| Ok(s.profile(&key)?))
            .await?
            .ok_or_else(|| Error::field("profile_id", format!("no profile `{profile_id}`")))?;
        let context = serde_json::json!({
            "profile": profile.template_view(),
            "event": context,
            "campaign": {"name": ""},
            "journey": {"name": ""},
        });
        // Rendering is CPU work with a time limit: keep it off the async threads.
        tokio::task::spawn_blocking(move || {
            let render = |field: &str, source: &str| {
                template::render_with_timeout(source, &context, PREVIEW_TIME_LIMIT)
                    .map_err(|e| Error::field(field, e.to_string()))
            };
            let subject = subject
                .as_deref()
                .map(|s| render("subject", s))
                .transpose()?;
            Ok(Rendered {
                subject,
                body: render("body", &body)?,
            })
        })
        .await
        .map_err(crate::join_failed)?
    }
}
