//! Audiences, channels and templates: what campaigns and journeys reference.

use rusqlite::{Connection, OptionalExtension, Row, params};
use sluice_core::channel::ChannelType;
use sluice_store::{
    Audience, CatalogStore, Channel, DeleteOutcome, Page, PageRequest, StoreError, Template,
};

use crate::convert::{finish_page, json, limit_plus_one, ms, parsed, to_json, ts};
use crate::{SqliteStore, backend};

fn audience(r: &Row<'_>) -> rusqlite::Result<Audience> {
    Ok(Audience {
        id: r.get(0)?,
        name: r.get(1)?,
        rule: json(2, &r.get::<_, String>(2)?)?,
        created_at: ts(r.get(3)?),
        updated_at: ts(r.get(4)?),
    })
}

fn channel(r: &Row<'_>) -> rusqlite::Result<Channel> {
    Ok(Channel {
        id: r.get(0)?,
        name: r.get(1)?,
        channel_type: parsed(2, &r.get::<_, String>(2)?, ChannelType::parse)?,
        config: json(3, &r.get::<_, String>(3)?)?,
        rate_limit_per_second: r.get(4)?,
        created_at: ts(r.get(5)?),
        updated_at: ts(r.get(6)?),
    })
}

fn template(r: &Row<'_>) -> rusqlite::Result<Template> {
    Ok(Template {
        id: r.get(0)?,
        name: r.get(1)?,
        channel_type: parsed(2, &r.get::<_, String>(2)?, ChannelType::parse)?,
        subject: r.get(3)?,
        body: r.get(4)?,
        created_at: ts(r.get(5)?),
        updated_at: ts(r.get(6)?),
    })
}

const AUDIENCE: &str = "SELECT id, name, rule, created_at, updated_at FROM audiences";
const CHANNEL: &str =
    "SELECT id, name, type, config, rate_limit_per_second, created_at, updated_at FROM channels";
const TEMPLATE: &str =
    "SELECT id, name, channel_type, subject, body, created_at, updated_at FROM templates";

fn one<T>(
    c: &Connection,
    select: &str,
    id: &str,
    map: fn(&Row<'_>) -> rusqlite::Result<T>,
) -> rusqlite::Result<Option<T>> {
    c.prepare_cached(&format!("{select} WHERE id = ?1"))?
        .query_row([id], map)
        .optional()
}

fn page_of<T>(
    store: &SqliteStore,
    select: &str,
    page: &PageRequest,
    map: fn(&Row<'_>) -> rusqlite::Result<T>,
    key: fn(&T) -> String,
) -> Result<Page<T>, StoreError> {
    let items = store.read(|c| {
        c.prepare_cached(&format!("{select} WHERE id > ?1 ORDER BY id LIMIT ?2"))?
            .query_map(
                params![page.cursor.as_deref().unwrap_or(""), limit_plus_one(page)],
                map,
            )?
            .collect::<rusqlite::Result<Vec<_>>>()
    })?;
    Ok(finish_page(items, page, key))
}

/// A campaign or journey version (other than a draft) that references `column = id`.
fn user_of(c: &Connection, column: &str, id: &str) -> rusqlite::Result<Option<String>> {
    let campaign: Option<(String, u32)> = c
        .query_row(
            &format!(
                "SELECT campaign_id, version FROM campaign_versions WHERE {column} = ?1
                 AND state <> 'draft' LIMIT 1"
            ),
            [id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    if let Some((cid, v)) = campaign {
        return Ok(Some(format!("campaign {cid} version {v}")));
    }
    // Journey definitions are JSON: a textual match on the quoted id is exact because ids are
    // server-generated and never a substring of another id's quoted form.
    let journey: Option<(String, u32)> = c
        .query_row(
            "SELECT journey_id, version FROM journey_versions WHERE status <> 'draft'
             AND instr(definition, ?1) > 0 LIMIT 1",
            [format!("\"{id}\"")],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    Ok(journey.map(|(jid, v)| format!("journey {jid} version {v}")))
}

fn delete(
    store: &SqliteStore,
    table: &str,
    column: &str,
    id: &str,
) -> Result<DeleteOutcome, StoreError> {
    store.write(|tx| {
        if let Some(user) = user_of(tx, column, id).map_err(backend)? {
            return Ok(DeleteOutcome::InUse(user));
        }
        let n = tx
            .execute(&format!("DELETE FROM {table} WHERE id = ?1"), [id])
            .map_err(backend)?;
        Ok(if n == 1 {
            DeleteOutcome::Deleted
        } else {
            DeleteOutcome::NotFound
        })
    })
}

impl CatalogStore for SqliteStore {
    fn insert_audience(&self, a: &Audience) -> Result<(), StoreError> {
        self.write(|tx| {
            tx.execute(
                "INSERT INTO audiences (id, name, rule, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![a.id, a.name, to_json(&a.rule)?, ms(a.created_at), ms(a.updated_at)],
            )
            .map_err(backend)?;
            Ok(())
        })
    }

    fn update_audience(&self, a: &Audience) -> Result<bool, StoreError> {
        self.write(|tx| {
            let n = tx
                .execute(
                    "UPDATE audiences SET name = ?2, rule = ?3, updated_at = ?4 WHERE id = ?1",
                    params![a.id, a.name, to_json(&a.rule)?, ms(a.updated_at)],
                )
                .map_err(backend)?;
            Ok(n == 1)
        })
    }

    fn audience(&self, id: &str) -> Result<Option<Audience>, StoreError> {
        self.read(|c| one(c, AUDIENCE, id, audience))
    }

    fn audiences(&self, page: &PageRequest) -> Result<Page<Audience>, StoreError> {
        page_of(self, AUDIENCE, page, audience, |a| a.id.clone())
    }

    fn delete_audience(&self, id: &str) -> Result<DeleteOutcome, StoreError> {
        delete(self, "audiences", "audience_id", id)
    }

    fn insert_channel(&self, c: &Channel) -> Result<(), StoreError> {
        self.write(|tx| {
            tx.execute(
                "INSERT INTO channels (id, name, type, config, rate_limit_per_second, created_at, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![c.id, c.name, c.channel_type.as_str(), to_json(&c.config)?, c.rate_limit_per_second, ms(c.created_at), ms(c.updated_at)],
            )
            .map_err(backend)?;
            Ok(())
        })
    }

    fn update_channel(&self, c: &Channel) -> Result<bool, StoreError> {
        self.write(|tx| {
            let n = tx
                .execute(
                    "UPDATE channels SET name = ?2, config = ?3, rate_limit_per_second = ?4, updated_at = ?5
                     WHERE id = ?1",
                    params![c.id, c.name, to_json(&c.config)?, c.rate_limit_per_second, ms(c.updated_at)],
                )
                .map_err(backend)?;
            Ok(n == 1)
        })
    }

    fn channel(&self, id: &str) -> Result<Option<Channel>, StoreError> {
        self.read(|c| one(c, CHANNEL, id, channel))
    }

    fn channels(&self, page: &PageRequest) -> Result<Page<Channel>, StoreError> {
        page_of(self, CHANNEL, page, channel, |c| c.id.clone())
    }

    fn delete_channel(&self, id: &str) -> Result<DeleteOutcome, StoreError> {
        delete(self, "channels", "channel_id", id)
    }

    fn insert_template(&self, t: &Template) -> Result<(), StoreError> {
        self.write(|tx| {
            tx.execute(
                "INSERT INTO templates (id, name, channel_type, subject, body, created_at, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![t.id, t.name, t.channel_type.as_str(), t.subject, t.body, ms(t.created_at), ms(t.updated_at)],
            )
            .map_err(backend)?;
            Ok(())
        })
    }

    fn update_template(&self, t: &Template) -> Result<bool, StoreError> {
        self.write(|tx| {
            let n = tx
                .execute(
                    "UPDATE templates SET name = ?2, channel_type = ?3, subject = ?4, body = ?5,
                         updated_at = ?6 WHERE id = ?1",
                    params![
                        t.id,
                        t.name,
                        t.channel_type.as_str(),
                        t.subject,
                        t.body,
                        ms(t.updated_at)
                    ],
                )
                .map_err(backend)?;
            Ok(n == 1)
        })
    }

    fn template(&self, id: &str) -> Result<Option<Template>, StoreError> {
        self.read(|c| one(c, TEMPLATE, id, template))
    }

    fn templates(&self, page: &PageRequest) -> Result<Page<Template>, StoreError> {
        page_of(self, TEMPLATE, page, template, |t| t.id.clone())
    }

    fn delete_template(&self, id: &str) -> Result<DeleteOutcome, StoreError> {
        delete(self, "templates", "template_id", id)
    }
}

/// The rule of an audience, for reading it inside a write transaction.
pub(crate) fn audience_rule(
    c: &Connection,
    id: &str,
) -> rusqlite::Result<Option<sluice_core::rule::Rule>> {
    one(c, AUDIENCE, id, audience).map(|a| a.map(|a| a.rule))
}
