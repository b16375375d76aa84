//! The inbox: what the user's app shows one profile in-app. The messages of live (not paused)
//! inbound campaigns whose audience holds the profile, rendered for it at request time.

use axum::extract::State;
use jiff::Timestamp;
use serde::Serialize;
use sluice_core::campaign::CampaignStatus;
use sluice_core::profile::Profile;
use sluice_core::rule::{FallibleCounts, ProfileView, Rule};
use sluice_core::template;
use sluice_store::{PageRequest, Store, StoreError};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::{ApiError, ApiResult};
use crate::extract::Path;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(get_inbox))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct InboxMessage {
    pub campaign_id: String,
    pub campaign_name: String,
    pub version: u32,
    pub subject: Option<String>,
    pub body: String,
    /// When this version went live.
    #[schema(value_type = Option<String>)]
    pub since: Option<Timestamp>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Inbox {
    pub profile_id: String,
    pub items: Vec<InboxMessage>,
}

/// Whether the audience rule holds the profile. A count that cannot be read is an error (a
/// 500), never a 0 that would hide or show a message on a database hiccup.
fn holds(
    store: &dyn Store,
    rule: &Rule,
    profile: &Profile,
    now: Timestamp,
) -> Result<bool, StoreError> {
    let events =
        FallibleCounts::new(|name: &str, since| store.event_count(&profile.id, name, since));
    let holds = rule.matches(&ProfileView {
        attributes: &profile.attributes,
        events: &events,
        now,
    });
    events.failure().map_or(Ok(holds), Err)
}

fn messages(store: &dyn Store, profile: &Profile, now: Timestamp) -> ApiResult<Vec<InboxMessage>> {
    let mut items = Vec::new();
    let mut page = PageRequest::first(sluice_store::MAX_PAGE_LIMIT);
    loop {
        let live = store.campaigns(Some(CampaignStatus::Live), &page)?;
        for campaign in &live.items {
            let Some(version) = campaign.live_version().filter(|v| v.is_inbound()) else {
                continue;
            };
            if let Some(audience_id) = &version.content.audience_id {
                let Some(audience) = store.audience(audience_id)? else {
                    continue;
                };
                if !holds(store, &audience.rule, profile, now)? {
                    continue;
                }
            }
            let Some(tpl) = store.template(&version.content.template_id)? else {
                continue;
            };
            let context = serde_json::json!({
                "profile": profile.template_view(),
                "campaign": {"name": campaign.name},
                "event": {},
            });
            // One broken message must not hide the others: it is logged and left out.
            let rendered = tpl
                .subject
                .as_deref()
                .map(|s| template::render(s, &context))
                .transpose()
                .and_then(|subject| Ok((subject, template::render(&tpl.body, &context)?)));
            match rendered {
                Ok((subject, body)) => items.push(InboxMessage {
                    campaign_id: campaign.id.clone(),
                    campaign_name: campaign.name.clone(),
                    version: version.version,
                    subject,
                    body,
                    since: version.activated_at,
                }),
                Err(e) => {
                    tracing::warn!(campaign = %campaign.id, error = %e, "inbox message failed to render");
                }
            }
        }
        match live.next_cursor {
            Some(cursor) => page.cursor = Some(cursor),
            None => return Ok(items),
        }
    }
}

/// The in-app messages for one profile, rendered for it.
#[utoipa::path(get, path = "/api/v1/inbox/{profile_id}", tag = "inbox",
    responses((status = 200, body = Inbox), (status = 404, body = crate::error::Problem)))]
async fn get_inbox(
    State(state): State<AppState>,
    Path(profile_id): Path<String>,
) -> ApiResult<axum::Json<Inbox>> {
    let now = state.now();
    let id = profile_id.clone();
    let items = state
        .db(move |s| {
            let profile = s
                .profile(&id)?
                .ok_or_else(|| ApiError::not_found(format!("no profile `{id}`")))?;
            messages(s, &profile, now)
        })
        .await?;
    Ok(axum::Json(Inbox { profile_id, items }))
}
