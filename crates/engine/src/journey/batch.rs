//! What the steps of one batch read, in one call on the blocking pool: their journeys,
//! enrollments and profiles, and the channels and templates of every message of their
//! versions (a step may walk on to any of them).

use std::collections::HashMap;

use sluice_core::channel::ChannelType;
use sluice_core::journey::{Journey, JourneyVersion, Node};
use sluice_core::profile::Profile;
use sluice_store::{DueWork, EnrollmentInfo, StoreError};

use crate::send::{BuiltChannel, Template};
use crate::{Engine, blocking};

/// What the steps of one batch read, loaded once.
#[derive(Default)]
pub(super) struct Batch {
    pub(super) journeys: HashMap<String, Journey>,
    pub(super) enrollments: HashMap<i64, EnrollmentInfo>,
    pub(super) profiles: HashMap<String, Profile>,
    /// Channels (with their type, for consent) and templates of the message nodes due;
    /// `None` when gone or unusable.
    pub(super) channels: HashMap<String, Option<(ChannelType, BuiltChannel)>>,
    pub(super) templates: HashMap<String, Result<Template, String>>,
}

impl Batch {
    pub(super) fn version(&self, work: &DueWork) -> Option<(&Journey, &JourneyVersion)> {
        let journey = self.journeys.get(work.journey_id.as_deref()?)?;
        Some((journey, journey.version(work.version)?))
    }
}

/// Whether the row resumes after its node (a wait that is over) rather than running it.
pub(super) fn resumes(work: &DueWork) -> bool {
    work.payload
        .as_ref()
        .and_then(|p| p.get("resume"))
        .and_then(serde_json::Value::as_bool)
        == Some(true)
}

pub(super) async fn load(engine: &Engine, works: &[DueWork]) -> Result<Batch, StoreError> {
    let mut journey_ids: Vec<String> = works.iter().filter_map(|w| w.journey_id.clone()).collect();
    journey_ids.sort_unstable();
    journey_ids.dedup();
    let enrollment_ids: Vec<i64> = works.iter().filter_map(|w| w.enrollment_id).collect();
    let mut profile_ids: Vec<String> = works.iter().filter_map(|w| w.profile_id.clone()).collect();
    profile_ids.sort_unstable();
    profile_ids.dedup();
    let mut keys: Vec<(Option<String>, u32)> = works
        .iter()
        .map(|w| (w.journey_id.clone(), w.version))
        .collect();
    keys.sort_unstable();
    keys.dedup();
    let (journeys, enrollments, profiles, catalog) = blocking(&engine.store, move |s| {
        let mut journeys = HashMap::new();
        for id in journey_ids {
            if let Some(j) = s.journey(&id)? {
                journeys.insert(id, j);
            }
        }
        let enrollments: HashMap<i64, EnrollmentInfo> =
            s.enrollments_by_id(&enrollment_ids)?.into_iter().collect();
        let profiles: HashMap<String, Profile> = s
            .profiles_by_id(&profile_ids)?
            .into_iter()
            .map(|p| (p.id.clone(), p))
            .collect();
        // The channels and templates of every message of the batch's versions: a step may
        // walk on to any of them.
        let mut channels = HashMap::new();
        let mut templates = HashMap::new();
        for (journey_id, version) in keys {
            let Some(v) = journey_id
                .and_then(|id| journeys.get(&id))
                .and_then(|j: &Journey| j.version(version))
            else {
                continue;
            };
            for node in &v.definition.nodes {
                if let Node::Message {
                    channel_id,
                    template_id,
                    ..
                } = node
                {
                    if let std::collections::hash_map::Entry::Vacant(slot) =
                        channels.entry(channel_id.clone())
                    {
                        slot.insert(s.channel(channel_id)?);
                    }
                    if let std::collections::hash_map::Entry::Vacant(slot) =
                        templates.entry(template_id.clone())
                    {
                        slot.insert(s.template(template_id)?);
                    }
                }
            }
        }
        Ok((journeys, enrollments, profiles, (channels, templates)))
    })
    .await?;
    let (channels, templates) = catalog;
    Ok(Batch {
        journeys,
        enrollments,
        profiles,
        channels: channels
            .into_iter()
            .map(|(id, c)| {
                let built = c.and_then(|c| {
                    crate::send::built_channel(engine, &c).map(|b| (c.channel_type, b))
                });
                (id, built)
            })
            .collect(),
        templates: templates
            .into_iter()
            .map(|(id, t)| {
                let compiled = match t {
                    None => Err(format!("template {id} no longer exists")),
                    Some(t) => crate::send::compiled_template(engine, &t),
                };
                (id, compiled)
            })
            .collect(),
    })
}
