//! Channels: where messages go. Secrets are written, never read back: every channel these
//! commands return has them replaced by `<redacted>`, whatever front end shows it.

use sluice_core::channel::{ChannelType, keep_secrets, parse_config, redact_config};
use sluice_store::{Channel, Page, PageRequest};

use crate::audiences::deleted;
use crate::{Caller, Commands, Error, Permission, Result, check_name, new_id};

/// The channel commands; `Commands::channels()`.
pub struct Channels<'a>(pub(crate) &'a Commands);

#[derive(Debug, Clone)]
pub struct ChannelInput {
    pub name: String,
    pub channel_type: ChannelType,
    /// webhook `{url, headers?, timeout?}`; email `{host, port, tls, username?, password?,
    /// from}`; inbox `{}`. On an update, a secret sent back as `<redacted>` (or left out)
    /// keeps the stored one.
    pub config: serde_json::Value,
    pub rate_limit_per_second: Option<u32>,
}

impl Commands {
    pub fn channels(&self) -> Channels<'_> {
        Channels(self)
    }
}

fn redacted(mut channel: Channel) -> Channel {
    channel.config = redact_config(&channel.config);
    channel
}

fn check(input: &mut ChannelInput) -> Result<serde_json::Value> {
    check_name("name", &input.name)?;
    if input.rate_limit_per_second == Some(0) {
        return Err(Error::field(
            "rate_limit_per_second",
            "must be at least 1 (omit it for no limit)",
        ));
    }
    if input.config.is_null() {
        input.config = serde_json::json!({});
    }
    Ok(parse_config(input.channel_type, &input.config)?)
}

impl Channels<'_> {
    async fn load(&self, id: &str) -> Result<Channel> {
        let key = id.to_owned();
        self.0
            .db(move |s| Ok(s.channel(&key)?))
            .await?
            .ok_or_else(|| Error::NotFound(format!("no channel `{id}`")))
    }

    pub async fn get(&self, id: &str) -> Result<Channel> {
        self.load(id).await.map(redacted)
    }

    pub async fn list(&self, page: PageRequest) -> Result<Page<Channel>> {
        let page = self.0.db(move |s| Ok(s.channels(&page)?)).await?;
        Ok(Page {
            items: page.items.into_iter().map(redacted).collect(),
            next_cursor: page.next_cursor,
        })
    }

    pub async fn create(&self, caller: &Caller, mut input: ChannelInput) -> Result<Channel> {
        caller.require(Permission::Administer)?;
        let config = check(&mut input)?;
        let now = self.0.now();
        let channel = Channel {
            id: new_id("chn"),
            name: input.name,
            channel_type: input.channel_type,
            config,
            rate_limit_per_second: input.rate_limit_per_second,
            created_at: now,
            updated_at: now,
        };
        let stored = channel.clone();
        self.0.db(move |s| Ok(s.insert_channel(&stored)?)).await?;
        Ok(redacted(channel))
    }

    /// Replaces a channel's settings. Its type never changes: templates and campaigns rely on
    /// it.
    pub async fn update(
        &self,
        caller: &Caller,
        id: &str,
        mut input: ChannelInput,
    ) -> Result<Channel> {
        caller.require(Permission::Administer)?;
        let mut config = check(&mut input)?;
        let mut channel = self.load(id).await?;
        if channel.channel_type != input.channel_type {
            return Err(Error::field(
                "type",
                format!(
                    "a channel's type cannot change (it is {}); create a new channel",
                    channel.channel_type.as_str()
                ),
            ));
        }
        keep_secrets(&mut config, &channel.config);
        channel.name = input.name;
        channel.config = config;
        channel.rate_limit_per_second = input.rate_limit_per_second;
        channel.updated_at = self.0.now();
        let stored = channel.clone();
        self.0.db(move |s| Ok(s.update_channel(&stored)?)).await?;
        Ok(redacted(channel))
    }

    /// Refused while a campaign or journey version uses it.
    pub async fn delete(&self, caller: &Caller, id: &str) -> Result<()> {
        caller.require(Permission::Administer)?;
        let key = id.to_owned();
        deleted(
            "channel",
            id,
            self.0.db(move |s| Ok(s.delete_channel(&key)?)).await?,
        )
    }
}
