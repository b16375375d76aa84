//! Campaigns with their versions and occurrences; commands go through `apply_campaign`.

use rusqlite::{Connection, OptionalExtension, params};
use sluice_core::campaign::{
    Campaign, CampaignContent, CampaignStatus, CampaignVersion, VersionState,
};
use sluice_core::channel::ChannelType;
use sluice_core::lifecycle::Refused;
use sluice_store::{
    Applied, CampaignCommand, CampaignStore, CommandContext, CommandError, Occurrence,
    OccurrenceState, Origin, Page, PageRequest, StoreError, Trigger,
};

use crate::convert::{finish_page, json, limit_plus_one, ms, opt_ts, parsed, to_json, ts};
use crate::effects::{AuditFacts, apply_campaign_effects, insert_audit};
use crate::{SqliteStore, backend};

fn load_versions(c: &Connection, id: &str) -> rusqlite::Result<Vec<CampaignVersion>> {
    c.prepare_cached(
        "SELECT version, state, channel_id, template_id, audience_id, schedule, channel_type,
                created_at, activated_at
         FROM campaign_versions WHERE campaign_id = ?1 ORDER BY version",
    )?
    .query_map([id], |r| {
        Ok(CampaignVersion {
            version: r.get(0)?,
            state: parsed(1, &r.get::<_, String>(1)?, VersionState::parse)?,
            content: CampaignContent {
                channel_id: r.get(2)?,
                template_id: r.get(3)?,
                audience_id: r.get(4)?,
                schedule: json(5, &r.get::<_, String>(5)?)?,
            },
            channel_type: parsed(6, &r.get::<_, String>(6)?, ChannelType::parse)?,
            created_at: ts(r.get(7)?),
            activated_at: opt_ts(r.get(8)?),
        })
    })?
    .collect()
}

type CampaignRow = (String, String, String, i64, i64);

fn campaign_from_row(c: &Connection, row: CampaignRow) -> rusqlite::Result<Campaign> {
    let (id, name, status, created_at, updated_at) = row;
    let versions = load_versions(c, &id)?;
    Ok(Campaign {
        status: parsed(2, &status, CampaignStatus::parse)?,
        id,
        name,
        versions,
        created_at: ts(created_at),
        updated_at: ts(updated_at),
    })
}

pub(crate) fn load(c: &Connection, id: &str) -> rusqlite::Result<Option<Campaign>> {
    let row: Option<CampaignRow> = c
        .query_row(
            "SELECT id, name, status, created_at, updated_at FROM campaigns WHERE id = ?1",
            [id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
        )
        .optional()?;
    row.map(|row| campaign_from_row(c, row)).transpose()
}

pub(crate) fn save(c: &Connection, campaign: &Campaign, insert: bool) -> Result<(), StoreError> {
    if insert {
        c.execute(
            "INSERT INTO campaigns (id, name, status, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![campaign.id, campaign.name, campaign.status.as_str(), ms(campaign.created_at), ms(campaign.updated_at)],
        )
    } else {
        c.execute(
            "UPDATE campaigns SET name = ?2, status = ?3, updated_at = ?4 WHERE id = ?1",
            params![campaign.id, campaign.name, campaign.status.as_str(), ms(campaign.updated_at)],
        )
    }
    .map_err(backend)?;
    // Versions are few per campaign: rewriting them all keeps this one code path.
    c.execute(
        "DELETE FROM campaign_versions WHERE campaign_id = ?1",
        [&campaign.id],
    )
    .map_err(backend)?;
    let mut stmt = c
        .prepare_cached(
            "INSERT INTO campaign_versions (campaign_id, version, state, channel_id, template_id,
                 audience_id, schedule, channel_type, created_at, activated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        )
        .map_err(backend)?;
    for v in &campaign.versions {
        stmt.execute(params![
            campaign.id,
            v.version,
            v.state.as_str(),
            v.content.channel_id,
            v.content.template_id,
            v.content.audience_id,
            to_json(&v.content.schedule)?,
            v.channel_type.as_str(),
            ms(v.created_at),
            v.activated_at.map(ms),
        ])
        .map_err(backend)?;
    }
    Ok(())
}

impl CampaignStore for SqliteStore {
    fn insert_campaign(
        &self,
        campaign: &Campaign,
        origin: Origin,
        ctx: &CommandContext,
    ) -> Result<(), StoreError> {
        self.write(|tx| {
            save(tx, campaign, true)?;
            insert_audit(
                tx,
                ctx,
                &AuditFacts {
                    action: origin.as_str(),
                    subject_type: "campaign",
                    subject_id: &campaign.id,
                    version: Some(1),
                    from_status: None,
                    to_status: Some(campaign.status.as_str()),
                },
            )
        })
    }

    fn campaign(&self, id: &str) -> Result<Option<Campaign>, StoreError> {
        self.read(|c| load(c, id))
    }

    fn campaigns(
        &self,
        status: Option<CampaignStatus>,
        page: &PageRequest,
    ) -> Result<Page<Campaign>, StoreError> {
        let items = self.read(|c| {
            let rows: Vec<CampaignRow> = c
                .prepare_cached(
                    "SELECT id, name, status, created_at, updated_at FROM campaigns
                     WHERE id > ?1 AND (?2 IS NULL OR status = ?2) ORDER BY id LIMIT ?3",
                )?
                .query_map(
                    params![
                        page.cursor.as_deref().unwrap_or(""),
                        status.map(CampaignStatus::as_str),
                        limit_plus_one(page)
                    ],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
                )?
                .collect::<rusqlite::Result<_>>()?;
            rows.into_iter()
                .map(|row| campaign_from_row(c, row))
                .collect::<rusqlite::Result<Vec<_>>>()
        })?;
        Ok(finish_page(items, page, |c| c.id.clone()))
    }

    fn apply_campaign(
        &self,
        id: &str,
        ctx: &CommandContext,
        command: CampaignCommand<'_>,
    ) -> Result<Applied<Campaign>, CommandError> {
        self.write(|tx| {
            let mut campaign = load(tx, id)
                .map_err(backend)?
                .ok_or(CommandError::NotFound)?;
            let transition = command(&mut campaign)?;
            save(tx, &campaign, false)?;
            insert_audit(
                tx,
                ctx,
                &AuditFacts {
                    action: transition.action.as_str(),
                    subject_type: "campaign",
                    subject_id: id,
                    version: transition.version,
                    from_status: Some(transition.from.as_str()),
                    to_status: Some(transition.to.as_str()),
                },
            )?;
            let summary =
                apply_campaign_effects(tx, ctx, id, transition.version, &transition.effects)?;
            Ok(Applied {
                value: campaign,
                summary,
            })
        })
    }

    fn delete_campaign(
        &self,
        id: &str,
        ctx: &CommandContext,
        check: &dyn Fn(&Campaign) -> Result<(), Refused>,
    ) -> Result<(), CommandError> {
        self.write(|tx| {
            let campaign = load(tx, id)
                .map_err(backend)?
                .ok_or(CommandError::NotFound)?;
            check(&campaign)?;
            tx.execute("DELETE FROM due_work WHERE campaign_id = ?1", [id])
                .map_err(backend)?;
            for table in ["tallies", "work_tallies"] {
                tx.execute(
                    &format!("DELETE FROM {table} WHERE subject = 'campaign:' || ?1"),
                    [id],
                )
                .map_err(backend)?;
            }
            tx.execute("DELETE FROM campaigns WHERE id = ?1", [id])
                .map_err(backend)?;
            insert_audit(
                tx,
                ctx,
                &AuditFacts {
                    action: "delete",
                    subject_type: "campaign",
                    subject_id: id,
                    version: None,
                    from_status: Some(campaign.status.as_str()),
                    to_status: None,
                },
            )?;
            Ok(())
        })
    }

    fn occurrences(
        &self,
        campaign_id: &str,
        page: &PageRequest,
    ) -> Result<Page<Occurrence>, StoreError> {
        let after: u32 = page
            .cursor
            .as_deref()
            .and_then(|c| c.parse().ok())
            .unwrap_or(0);
        let items = self.read(|c| {
            c.prepare_cached(
                "SELECT o.n, o.version, o.scheduled_for, o.started_at, o.finished_at, o.state,
                        (SELECT COUNT(*) FROM actions a WHERE a.campaign_id = o.campaign_id
                            AND a.occurrence = o.n AND a.outcome = 'delivered'),
                        (SELECT COUNT(*) FROM actions a WHERE a.campaign_id = o.campaign_id
                            AND a.occurrence = o.n AND a.outcome = 'failed'),
                        (SELECT COUNT(*) FROM actions a WHERE a.campaign_id = o.campaign_id
                            AND a.occurrence = o.n AND a.outcome = 'skipped')
                 FROM occurrences o WHERE o.campaign_id = ?1 AND o.n > ?2 ORDER BY o.n LIMIT ?3",
            )?
            .query_map(params![campaign_id, after, limit_plus_one(page)], |r| {
                Ok(Occurrence {
                    n: r.get(0)?,
                    version: r.get(1)?,
                    scheduled_for: ts(r.get(2)?),
                    started_at: opt_ts(r.get(3)?),
                    finished_at: opt_ts(r.get(4)?),
                    state: parsed(5, &r.get::<_, String>(5)?, OccurrenceState::parse)?,
                    delivered: r.get(6)?,
                    failed: r.get(7)?,
                    skipped: r.get(8)?,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()
        })?;
        Ok(finish_page(items, page, |o| o.n.to_string()))
    }

    fn enqueue_trigger(&self, trigger: &Trigger) -> Result<bool, StoreError> {
        self.write(|tx| {
            tx.execute(
                "INSERT OR IGNORE INTO profiles (id, attributes, consent, created_at, updated_at)
                 VALUES (?1, '{}', '{}', ?2, ?2)",
                params![trigger.profile_id, ms(trigger.now)],
            )
            .map_err(backend)?;
            let n = tx
                .execute(
                    "INSERT OR IGNORE INTO due_work (kind, campaign_id, version, profile_id, due_at,
                                                     idempotency_key, payload)
                     VALUES ('trigger', ?1, ?2, ?3, ?4, ?5, ?6)",
                    params![
                        trigger.campaign_id,
                        trigger.version,
                        trigger.profile_id,
                        ms(trigger.now),
                        trigger.idempotency_key,
                        to_json(&trigger.context)?
                    ],
                )
                .map_err(backend)?;
            if n == 1 {
                crate::effects::move_open_sends(tx, &trigger.campaign_id, 1)?;
                crate::tallies::sends_planned(tx, &trigger.campaign_id, 1)?;
            }
            Ok(n == 1)
        })
    }
}
