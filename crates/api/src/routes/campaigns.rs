//! Campaigns: create, edit the draft, and the lifecycle commands of C1–C10.

use axum::extract::State;
use axum::http::StatusCode;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use sluice_commands::{Braked, Caller, CampaignInput};
use sluice_core::campaign::{
    Campaign, CampaignAction, CampaignContent, CampaignStatus, CampaignVersion, VersionState,
};
use sluice_core::schedule::Schedule;
use sluice_store::{Page, Summary};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::page_request;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Json, OptionalJson, Path, Query, ReasonBody};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_campaign, list_campaigns))
        .routes(routes!(get_campaign, delete_campaign))
        .routes(routes!(put_draft))
        .routes(routes!(list_versions))
        .routes(routes!(get_version))
        .routes(routes!(activate))
        .routes(routes!(modify))
        .routes(routes!(stop))
        .routes(routes!(abort))
        .routes(routes!(pause))
        .routes(routes!(resume))
        .routes(routes!(duplicate))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CampaignBody {
    #[schema(min_length = 1, max_length = 200)]
    pub name: String,
    pub channel_id: String,
    pub template_id: String,
    pub audience_id: Option<String>,
    pub schedule: Schedule,
}

/// A draft's fields; `name` renames the campaign.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DraftBody {
    pub name: Option<String>,
    pub channel_id: String,
    pub template_id: String,
    pub audience_id: Option<String>,
    pub schedule: Schedule,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CampaignView {
    pub id: String,
    #[schema(min_length = 1, max_length = 200)]
    pub name: String,
    pub status: CampaignStatus,
    pub live_version: Option<u32>,
    pub draft_version: Option<u32>,
    /// `one_time`, `recurring`, `api` or `inbound`.
    pub kind: &'static str,
    /// What the current status allows: the actions menu of a client.
    pub allowed_actions: Vec<CampaignAction>,
    #[schema(value_type = String)]
    pub created_at: Timestamp,
    #[schema(value_type = String)]
    pub updated_at: Timestamp,
}

pub fn view(c: &Campaign) -> CampaignView {
    let defining = c.defining_version();
    let kind = if defining.is_inbound() {
        "inbound"
    } else {
        match defining.content.schedule {
            Schedule::Recurring { .. } => "recurring",
            Schedule::Api => "api",
            Schedule::Immediate | Schedule::Once { .. } => "one_time",
        }
    };
    CampaignView {
        id: c.id.clone(),
        name: c.name.clone(),
        status: c.status,
        live_version: c.live_version().map(|v| v.version),
        draft_version: c.draft_version().map(|v| v.version),
        kind,
        allowed_actions: c.allowed_actions(),
        created_at: c.created_at,
        updated_at: c.updated_at,
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct VersionView {
    pub version: u32,
    pub state: VersionState,
    pub channel_id: String,
    pub template_id: String,
    pub audience_id: Option<String>,
    pub schedule: Schedule,
    #[schema(value_type = String)]
    pub created_at: Timestamp,
    #[schema(value_type = Option<String>)]
    pub activated_at: Option<Timestamp>,
}

fn version_view(v: &CampaignVersion) -> VersionView {
    VersionView {
        version: v.version,
        state: v.state,
        channel_id: v.content.channel_id.clone(),
        template_id: v.content.template_id.clone(),
        audience_id: v.content.audience_id.clone(),
        schedule: v.content.schedule.clone(),
        created_at: v.created_at,
        activated_at: v.activated_at,
    }
}

#[utoipa::path(post, path = "/api/v1/campaigns", tag = "campaigns", request_body = CampaignBody,
    responses((status = 201, body = CampaignView, description = "draft version 1"), (status = 422, body = crate::error::Problem)))]
async fn create_campaign(
    State(state): State<AppState>,
    caller: Caller,
    Json(body): Json<CampaignBody>,
) -> ApiResult<(StatusCode, axum::Json<CampaignView>)> {
    let input = CampaignInput {
        name: Some(body.name),
        content: CampaignContent {
            channel_id: body.channel_id,
            template_id: body.template_id,
            audience_id: body.audience_id,
            schedule: body.schedule,
        },
    };
    let campaign = state.commands.campaigns().create(&caller, input).await?;
    Ok((StatusCode::CREATED, axum::Json(view(&campaign))))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct CampaignListQuery {
    #[param(value_type = Option<CampaignStatus>)]
    pub status: Option<String>,
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/campaigns", tag = "campaigns", params(CampaignListQuery),
    responses((status = 200, body = Page<CampaignView>), (status = 422, body = crate::error::Problem)))]
async fn list_campaigns(
    State(state): State<AppState>,
    Query(q): Query<CampaignListQuery>,
) -> ApiResult<axum::Json<Page<CampaignView>>> {
    let status = q
        .status
        .as_deref()
        .map(|s| {
            CampaignStatus::parse(s).ok_or_else(|| {
                ApiError::field("status", format!("unknown status `{s}`; one of draft, scheduled, live, paused, stopped, aborted, completed"))
            })
        })
        .transpose()?;
    let page = page_request(q.limit, q.cursor)?;
    let page = state.commands.campaigns().list(status, page).await?;
    Ok(axum::Json(Page {
        items: page.items.iter().map(view).collect(),
        next_cursor: page.next_cursor,
    }))
}

pub(super) async fn load(state: &AppState, id: String) -> ApiResult<Campaign> {
    Ok(state.commands.campaigns().get(&id).await?)
}

#[utoipa::path(get, path = "/api/v1/campaigns/{id}", tag = "campaigns",
    responses((status = 200, body = CampaignView), (status = 404, body = crate::error::Problem)))]
async fn get_campaign(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<CampaignView>> {
    Ok(axum::Json(view(&load(&state, id).await?)))
}

#[utoipa::path(get, path = "/api/v1/campaigns/{id}/versions", tag = "campaigns",
    responses((status = 200, body = Vec<VersionView>), (status = 404, body = crate::error::Problem)))]
async fn list_versions(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<Vec<VersionView>>> {
    Ok(axum::Json(
        load(&state, id)
            .await?
            .versions
            .iter()
            .map(version_view)
            .collect(),
    ))
}

#[utoipa::path(get, path = "/api/v1/campaigns/{id}/versions/{n}", tag = "campaigns",
    responses((status = 200, body = VersionView), (status = 404, body = crate::error::Problem)))]
async fn get_version(
    State(state): State<AppState>,
    Path((id, n)): Path<(String, u32)>,
) -> ApiResult<axum::Json<VersionView>> {
    let campaign = load(&state, id.clone()).await?;
    campaign
        .version(n)
        .map(|v| axum::Json(version_view(v)))
        .ok_or_else(|| ApiError::not_found(format!("campaign `{id}` has no version {n}")))
}

/// Replace the draft's fields (C1, C3).
#[utoipa::path(put, path = "/api/v1/campaigns/{id}/draft", tag = "campaigns", request_body = DraftBody,
    responses((status = 200, body = CampaignView), (status = 404, body = crate::error::Problem),
              (status = 409, body = crate::error::Problem), (status = 422, body = crate::error::Problem)))]
async fn put_draft(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Json(body): Json<DraftBody>,
) -> ApiResult<axum::Json<CampaignView>> {
    let input = CampaignInput {
        name: body.name,
        content: CampaignContent {
            channel_id: body.channel_id,
            template_id: body.template_id,
            audience_id: body.audience_id,
            schedule: body.schedule,
        },
    };
    let campaign = state
        .commands
        .campaigns()
        .edit_draft(&caller, &id, input)
        .await?;
    Ok(axum::Json(view(&campaign)))
}

#[utoipa::path(delete, path = "/api/v1/campaigns/{id}", tag = "campaigns",
    responses((status = 204), (status = 404, body = crate::error::Problem), (status = 409, body = crate::error::Problem, description = "ever activated (C9)")))]
async fn delete_campaign(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    state.commands.campaigns().delete(&caller, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

macro_rules! lifecycle_route {
    ($name:ident, $action:literal, $doc:literal) => {
        #[doc = $doc]
        #[utoipa::path(post, path = concat!("/api/v1/campaigns/{id}/", $action), tag = "campaigns",
            request_body(content = Option<ReasonBody>),
            responses((status = 200, body = CampaignView), (status = 404, body = crate::error::Problem),
                      (status = 409, body = crate::error::Problem, description = "not allowed in the current status"),
                      (status = 422, body = crate::error::Problem)))]
        async fn $name(State(state): State<AppState>, caller: Caller, Path(id): Path<String>, OptionalJson(body): OptionalJson<ReasonBody>) -> ApiResult<axum::Json<CampaignView>> {
            let campaign = state.commands.campaigns().$name(&caller, &id, body.reason).await?;
            Ok(axum::Json(view(&campaign)))
        }
    };
}

lifecycle_route!(
    activate,
    "activate",
    "Activate the draft (C2); on a live recurring campaign it replaces the live version (C4)."
);
lifecycle_route!(
    modify,
    "modify",
    "Create draft version N+1 from the live one; recurring campaigns only (C3)."
);
lifecycle_route!(
    pause,
    "pause",
    "Stop serving an inbound campaign for now (C7)."
);
lifecycle_route!(
    resume,
    "resume",
    "Serve a paused inbound campaign again (C7)."
);

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct BrakeResult {
    pub status: CampaignStatus,
    pub summary: Summary,
    pub campaign: CampaignView,
}

/// No further occurrence; one in progress runs to its end (C5, recurring only).
#[utoipa::path(post, path = "/api/v1/campaigns/{id}/stop", tag = "campaigns", request_body(content = Option<ReasonBody>),
    responses((status = 200, body = BrakeResult), (status = 404, body = crate::error::Problem), (status = 409, body = crate::error::Problem)))]
async fn stop(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    OptionalJson(body): OptionalJson<ReasonBody>,
) -> ApiResult<axum::Json<BrakeResult>> {
    let braked = state
        .commands
        .campaigns()
        .stop(&caller, &id, body.reason)
        .await?;
    Ok(brake(braked))
}

/// The emergency brake (C6): when this returns, no further message of the campaign is sent.
#[utoipa::path(post, path = "/api/v1/campaigns/{id}/abort", tag = "campaigns", request_body(content = Option<ReasonBody>),
    responses((status = 200, body = BrakeResult), (status = 404, body = crate::error::Problem), (status = 409, body = crate::error::Problem)))]
async fn abort(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    OptionalJson(body): OptionalJson<ReasonBody>,
) -> ApiResult<axum::Json<BrakeResult>> {
    let braked = state
        .commands
        .campaigns()
        .abort(&caller, &id, body.reason)
        .await?;
    Ok(brake(braked))
}

fn brake(braked: Braked<Campaign>) -> axum::Json<BrakeResult> {
    axum::Json(BrakeResult {
        status: braked.value.status,
        summary: braked.summary,
        campaign: view(&braked.value),
    })
}

/// A new campaign, draft version 1, copied from the latest version, named "<name> (copy)" (C8).
#[utoipa::path(post, path = "/api/v1/campaigns/{id}/duplicate", tag = "campaigns", request_body(content = Option<ReasonBody>),
    responses((status = 201, body = CampaignView), (status = 404, body = crate::error::Problem)))]
async fn duplicate(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    OptionalJson(body): OptionalJson<ReasonBody>,
) -> ApiResult<(StatusCode, axum::Json<CampaignView>)> {
    let copy = state
        .commands
        .campaigns()
        .duplicate(&caller, &id, body.reason)
        .await?;
    Ok((StatusCode::CREATED, axum::Json(view(&copy))))
}
