//! The writing half of `sluice apply`: create, compare and update one definition at a time.
//!
//! Rules per kind: audiences, channels and templates are replaced with PUT; a campaign's draft
//! is replaced, and a campaign without one is left alone (live work changes through `modify`);
//! a journey's draft version is replaced, or a new draft version started from the latest.

use std::collections::HashMap;

use anyhow::{Context, Result};
use serde_json::{Map, Value};

use super::diff::{Missing, channel_matches, matches};
use super::refs::{self, Catalog};
use super::{Doc, Kind};
use crate::client::{Client, items_of, seg};

/// One line of the report.
pub struct Row {
    pub index: usize,
    pub kind: Kind,
    pub name: String,
    pub id: String,
    pub result: String,
    pub warning: Option<String>,
}

pub struct Applier<'a> {
    pub client: &'a Client,
    /// Ids of objects created by this run (the catalog holds the ones that existed).
    pub ids: HashMap<(Kind, String), String>,
    pub catalog: &'a Catalog,
    pub dry_run: bool,
}

impl Applier<'_> {
    pub fn lookup(&self, kind: Kind, name: &str) -> Option<String> {
        self.ids
            .get(&(kind, name.to_string()))
            .cloned()
            .or_else(|| self.catalog.unique(kind, name).map(str::to_string))
    }

    pub async fn apply(&mut self, doc: &Doc) -> Result<Row> {
        let body = refs::resolve(doc, |k, n| self.lookup(k, n)).map_err(anyhow::Error::msg)?;
        let existing = self.catalog.unique(doc.kind, &doc.name).map(str::to_string);
        let (id, result, warning) = match doc.kind {
            Kind::Audience | Kind::Channel | Kind::Template => {
                let (id, result) = self.simple(doc.kind, existing, body).await?;
                (id, result, None)
            }
            Kind::Campaign => self.campaign(doc, existing, body).await?,
            Kind::Journey => self.journey(doc, existing, body).await?,
        };
        self.ids.insert((doc.kind, doc.name.clone()), id.clone());
        Ok(Row {
            index: doc.index,
            kind: doc.kind,
            name: doc.name.clone(),
            id,
            result,
            warning,
        })
    }

    fn verb(&self, done: &str) -> String {
        if self.dry_run {
            format!("would be {done}")
        } else {
            done.to_string()
        }
    }

    /// Creates `body` as a new `kind`; its id (a placeholder in a dry run) and the answer.
    async fn create(&self, kind: Kind, body: &Map<String, Value>) -> Result<(String, Value)> {
        if self.dry_run {
            return Ok((format!("(new {kind})"), Value::Null));
        }
        let created = self
            .client
            .post(
                &format!("/api/v1/{}", kind.collection()),
                &Value::Object(body.clone()),
            )
            .await?;
        let id =
            str_field(&created, "id").context("the server's answer to a create has no `id`")?;
        Ok((id.to_string(), created))
    }

    /// Audiences, channels and templates: PUT replaces the whole object.
    async fn simple(
        &self,
        kind: Kind,
        existing: Option<String>,
        body: Map<String, Value>,
    ) -> Result<(String, String)> {
        let Some(id) = existing else {
            let (id, _) = self.create(kind, &body).await?;
            return Ok((id, self.verb("created")));
        };
        let path = format!("/api/v1/{}/{}", kind.collection(), seg(&id));
        let actual = self.client.get(&path, &[]).await?;
        let desired = Value::Object(body);
        let same = if kind == Kind::Channel {
            channel_matches(&desired, &actual)
        } else {
            matches(&desired, &actual, Missing::Differs)
        };
        if same {
            return Ok((id, "unchanged".into()));
        }
        if !self.dry_run {
            self.client.put(&path, &desired).await?;
        }
        Ok((id, self.verb("updated")))
    }

    /// Campaigns: create, or update the draft; a campaign without a draft is left alone.
    pub async fn campaign(
        &self,
        doc: &Doc,
        existing: Option<String>,
        body: Map<String, Value>,
    ) -> Result<(String, String, Option<String>)> {
        let Some(id) = existing else {
            let (id, _) = self.create(Kind::Campaign, &body).await?;
            let mut result = self.verb("created");
            if doc.go_live {
                self.campaign_activate(&id).await?;
                result = format!("{result}, {}", self.verb("activated"));
            }
            return Ok((id, result, None));
        };
        let base = format!("/api/v1/campaigns/{}", seg(&id));
        let campaign = self.client.get(&base, &[]).await?;
        let status = str_field(&campaign, "status")
            .unwrap_or_default()
            .to_string();
        // The draft's fields: everything but the campaign's own `name`.
        let mut fields = body;
        fields.remove("name");
        let desired = Value::Object(fields);

        let mut result;
        let mut warning = None;
        if let Some(draft) = u64_field(&campaign, "draft_version") {
            let version = self
                .client
                .get(&format!("{base}/versions/{draft}"), &[])
                .await?;
            if matches(&desired, &version, Missing::Differs) {
                result = "unchanged".to_string();
            } else {
                if !self.dry_run {
                    self.client.put(&format!("{base}/draft"), &desired).await?;
                }
                result = self.verb("updated");
            }
        } else {
            let n = match u64_field(&campaign, "live_version") {
                Some(n) => n,
                None => latest_version(&self.client.get(&format!("{base}/versions"), &[]).await?),
            };
            let version = self
                .client
                .get(&format!("{base}/versions/{n}"), &[])
                .await?;
            result = "unchanged".to_string();
            if !matches(&desired, &version, Missing::Differs) {
                warning = Some(match status.as_str() {
                    "live" | "scheduled" | "paused" => format!(
                        "{status}; use `sluice campaigns modify {id}` to change it (the file differs from version {n})"
                    ),
                    _ => format!(
                        "{status}; it cannot change any more (the file differs from version {n}); use `sluice campaigns duplicate {id}`"
                    ),
                });
            }
        }
        if doc.go_live && status == "draft" {
            self.campaign_activate(&id).await?;
            result = if result == "unchanged" {
                self.verb("activated")
            } else {
                format!("{result}, {}", self.verb("activated"))
            };
        }
        Ok((id, result, warning))
    }

    async fn campaign_activate(&self, id: &str) -> Result<()> {
        if !self.dry_run {
            let path = format!("/api/v1/campaigns/{}/activate", seg(id));
            self.client.post(&path, &serde_json::json!({})).await?;
        }
        Ok(())
    }

    /// Journeys: create, or update the draft version, or start a new draft from the latest.
    pub async fn journey(
        &self,
        doc: &Doc,
        existing: Option<String>,
        body: Map<String, Value>,
    ) -> Result<(String, String, Option<String>)> {
        let Some(id) = existing else {
            let (id, created) = self.create(Kind::Journey, &body).await?;
            let mut result = self.verb("created");
            if doc.go_live {
                let version = versions(&created)
                    .iter()
                    .map(|(n, _)| *n)
                    .max()
                    .unwrap_or(1);
                self.journey_publish(&id, version).await?;
                result = format!("{result}, {}", self.verb("published"));
            }
            return Ok((id, result, None));
        };
        let base = format!("/api/v1/journeys/{}", seg(&id));
        let journey = self.client.get(&base, &[]).await?;
        let all = versions(&journey);
        let draft = all
            .iter()
            .filter(|(_, s)| s == "draft")
            .map(|(n, _)| *n)
            .max();
        let latest = all.iter().map(|(n, _)| *n).max().unwrap_or(1);
        // A PUT body is the definition, shaped as at creation; `name` is optional there.
        let mut definition = body;
        definition.remove("name");
        let desired = Value::Object(definition);

        let target = draft.unwrap_or(latest);
        let version = self
            .client
            .get(&format!("{base}/versions/{target}"), &[])
            .await?;
        let actual = version
            .get("definition")
            .filter(|d| d.is_object())
            .unwrap_or(&version);
        let (mut result, mut draft) = (String::from("unchanged"), draft);
        if !matches(&desired, actual, Missing::Differs) {
            let n = match draft {
                Some(n) => n,
                None if self.dry_run => latest + 1,
                None => new_version_number(
                    &self
                        .client
                        .post(&format!("{base}/versions"), &serde_json::json!({}))
                        .await?,
                    latest,
                ),
            };
            if !self.dry_run {
                self.client
                    .put(&format!("{base}/versions/{n}"), &desired)
                    .await?;
            }
            result = if draft.is_some() {
                self.verb("updated")
            } else {
                format!("{} (new draft v{n})", self.verb("updated"))
            };
            draft = Some(n);
        }
        // Publishing is for the first time only: a change to a journey that has been live
        // waits as a draft for an explicit `sluice journeys publish`.
        let never_published = all.iter().all(|(_, s)| s == "draft");
        if let (true, true, Some(n)) = (doc.go_live, never_published, draft) {
            self.journey_publish(&id, n).await?;
            result = if result == "unchanged" {
                self.verb("published")
            } else {
                format!("{result}, {}", self.verb("published"))
            };
        }
        Ok((id, result, None))
    }

    async fn journey_publish(&self, id: &str, version: u64) -> Result<()> {
        if !self.dry_run {
            let path = format!("/api/v1/journeys/{}/versions/{version}/publish", seg(id));
            self.client.post(&path, &serde_json::json!({})).await?;
        }
        Ok(())
    }
}

pub fn str_field<'v>(v: &'v Value, key: &str) -> Option<&'v str> {
    v.get(key).and_then(Value::as_str)
}

fn u64_field(v: &Value, key: &str) -> Option<u64> {
    v.get(key).and_then(Value::as_u64)
}

/// `(version, status)` of a journey's `versions` array.
fn versions(journey: &Value) -> Vec<(u64, String)> {
    journey
        .get("versions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|v| {
            let n = u64_field(v, "version")?;
            let status = str_field(v, "status")
                .or_else(|| str_field(v, "state"))
                .unwrap_or_default();
            Some((n, status.to_string()))
        })
        .collect()
}

/// The highest `version` of a versions list (`{items}` or an array); 1 if it is empty.
fn latest_version(list: &Value) -> u64 {
    items_of(list)
        .iter()
        .filter_map(|v| u64_field(v, "version"))
        .max()
        .unwrap_or(1)
}

/// The number of the draft `POST …/versions` made: the answer is the version, or the journey.
fn new_version_number(answer: &Value, latest: u64) -> u64 {
    u64_field(answer, "version")
        .or_else(|| versions(answer).iter().map(|(n, _)| *n).max())
        .unwrap_or(latest + 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn journey_versions_are_read_from_either_status_key() {
        let j = json!({"versions": [{"version": 1, "status": "live"}, {"version": 2, "state": "draft"}]});
        assert_eq!(
            versions(&j),
            [(1, "live".to_string()), (2, "draft".to_string())]
        );
    }

    #[test]
    fn new_version_number_accepts_a_version_or_a_journey() {
        assert_eq!(new_version_number(&json!({"version": 4}), 3), 4);
        assert_eq!(
            new_version_number(&json!({"versions": [{"version": 1}, {"version": 2}]}), 1),
            2
        );
        assert_eq!(new_version_number(&json!(null), 3), 4);
        assert_eq!(
            latest_version(&json!({"items": [{"version": 1}, {"version": 3}]})),
            3
        );
    }
}
