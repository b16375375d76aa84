//! Read models of the web UI's lists, joined from the store's records: the campaigns list
//! (each campaign with its channel, its audience's size now, what it has sent so far and
//! whether a draft is in progress), and the count of unread notifications for the header.

use std::collections::HashMap;

use jiff::Timestamp;
use sluice_core::campaign::{Campaign, CampaignStatus};
use sluice_core::channel::ChannelType;
use sluice_core::schedule::Schedule;
use sluice_store::{PageRequest, Store, Subject};

use crate::Commands;
use crate::caller::{Caller, Permission};
use crate::error::Result;

/// Which campaigns to list.
#[derive(Debug, Clone, Default)]
pub struct CampaignFilter {
    pub status: Option<CampaignStatus>,
    /// Part of the name, any case; blank lists all.
    pub search: Option<String>,
    /// The previous page's `next_cursor`.
    pub cursor: Option<String>,
}

/// One line of the campaigns list.
#[derive(Debug, Clone)]
pub struct CampaignRow {
    pub id: String,
    pub name: String,
    pub status: CampaignStatus,
    /// The schedule of the version that defines the campaign (live, else ended, else draft).
    pub schedule: Schedule,
    pub inbound: bool,
    pub channel: Option<Named>,
    pub channel_type: ChannelType,
    pub audience: Option<Named>,
    /// Members of the audience now; `None` when the campaign has none (API-triggered).
    pub audience_size: Option<u64>,
    /// Messages delivered so far, over every occurrence.
    pub sent: u64,
    pub updated_at: Timestamp,
    pub live_version: Option<u32>,
    pub draft_version: Option<u32>,
}

impl CampaignRow {
    /// A live (or scheduled, or paused) campaign with a new version in the making (C3).
    pub fn draft_in_progress(&self) -> Option<u32> {
        self.live_version.and(self.draft_version)
    }
}

/// A referenced record's id and name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Named {
    pub id: String,
    pub name: String,
}

#[derive(Debug, Clone)]
pub struct CampaignOverview {
    pub rows: Vec<CampaignRow>,
    pub next_cursor: Option<String>,
}

/// Unread notifications, counted up to a cap (a badge need not say more than "99+").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unread {
    pub count: u32,
    /// There are more than `count`.
    pub more: bool,
}

const UNREAD_CAP: u32 = 99;

impl Commands {
    /// A page of the campaigns list: at least `limit` campaigns matching `filter` when there
    /// are that many (a search keeps whole pages of the store's order, so it may show more).
    pub async fn campaign_overview(
        &self,
        caller: &Caller,
        filter: CampaignFilter,
        limit: u32,
    ) -> Result<CampaignOverview> {
        caller.require(Permission::Read)?;
        let now = self.now();
        self.db(move |s| overview(s, &filter, limit.max(1), now))
            .await
    }

    pub async fn unread_notifications(&self, caller: &Caller) -> Result<Unread> {
        caller.require(Permission::Read)?;
        self.db(|s| {
            let page = s.notifications(true, &PageRequest::first(UNREAD_CAP))?;
            Ok(Unread {
                count: u32::try_from(page.items.len()).unwrap_or(UNREAD_CAP),
                more: page.next_cursor.is_some(),
            })
        })
        .await
    }
}

fn overview(
    s: &dyn Store,
    filter: &CampaignFilter,
    limit: u32,
    now: Timestamp,
) -> Result<CampaignOverview> {
    let needle = filter
        .search
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map(str::to_lowercase);
    let mut found: Vec<Campaign> = Vec::new();
    let mut page = PageRequest {
        limit,
        cursor: filter.cursor.clone(),
    };
    // The store pages by id; a search reads on until the page is full. Campaigns are counted
    // in hundreds, not millions, so this stays a few reads.
    let next_cursor = loop {
        let got = s.campaigns(filter.status, &page)?;
        found.extend(got.items.into_iter().filter(|c| {
            needle
                .as_deref()
                .is_none_or(|n| c.name.to_lowercase().contains(n))
        }));
        match got.next_cursor {
            Some(next) if found.len() < limit as usize => page.cursor = Some(next),
            other => break other,
        }
    };
    let mut joins = Joins::default();
    let rows = found
        .into_iter()
        .map(|c| joins.row(s, c, now))
        .collect::<Result<_>>()?;
    Ok(CampaignOverview { rows, next_cursor })
}

/// What rows share (channels, audiences and their sizes) is read once per page.
#[derive(Default)]
struct Joins {
    channels: HashMap<String, Option<Named>>,
    audiences: HashMap<String, Option<(Named, u64)>>,
}

impl Joins {
    fn row(&mut self, s: &dyn Store, c: Campaign, now: Timestamp) -> Result<CampaignRow> {
        let defining = c.defining_version();
        let content = defining.content.clone();
        let channel_type = defining.channel_type;
        let inbound = defining.is_inbound();
        let channel = match self.channels.get(&content.channel_id) {
            Some(known) => known.clone(),
            None => {
                let named = s.channel(&content.channel_id)?.map(|ch| Named {
                    id: ch.id,
                    name: ch.name,
                });
                self.channels
                    .insert(content.channel_id.clone(), named.clone());
                named
            }
        };
        let audience = match &content.audience_id {
            None => None,
            Some(id) => match self.audiences.get(id) {
                Some(known) => known.clone(),
                None => {
                    let sized = match s.audience(id)? {
                        Some(a) => {
                            let size = s.audience_count(&a.rule, now)?;
                            Some((
                                Named {
                                    id: a.id,
                                    name: a.name,
                                },
                                size,
                            ))
                        }
                        None => None,
                    };
                    self.audiences.insert(id.clone(), sized.clone());
                    sized
                }
            },
        };
        let sent = s
            .results(&Subject::Campaign { id: c.id.clone() })?
            .delivered;
        let (audience, audience_size) = match audience {
            Some((named, size)) => (Some(named), Some(size)),
            None => (None, None),
        };
        Ok(CampaignRow {
            live_version: c.live_version().map(|v| v.version),
            draft_version: c.draft_version().map(|v| v.version),
            id: c.id,
            name: c.name,
            status: c.status,
            schedule: content.schedule,
            inbound,
            channel,
            channel_type,
            audience,
            audience_size,
            sent,
            updated_at: c.updated_at,
        })
    }
}
