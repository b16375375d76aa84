//! Campaigns: create, edit the draft, and the lifecycle commands of C1–C10.

use axum::extract::State;
use axum::http::StatusCode;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use sluice_core::ValidationErrors;
use sluice_core::campaign::{
    Campaign, CampaignAction, CampaignContent, CampaignStatus, CampaignVersion, Transition,
    VersionState,
};
use sluice_core::channel::ChannelType;
use sluice_core::schedule::Schedule;
use sluice_store::{Applied, Origin, Page, Store, Summary};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{check_name, context, page_request, under_brake};
use sluice_engine::BrakeSubject;

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, command_error};
use crate::extract::{Json, OptionalJson, Path, Query, ReasonBody};
use crate::ids::new_id;
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

/// Everything a version references must exist and fit together (C2). Returns the channel type.
fn check_content(
    store: &dyn Store,
    content: &CampaignContent,
    now: Timestamp,
) -> ApiResult<ChannelType> {
    let mut errors = ValidationErrors::default();
    let channel = store.channel(&content.channel_id)?;
    let template = store.template(&content.template_id)?;
    match &channel {
        None => errors.push("channel_id", format!("no channel `{}`", content.channel_id)),
        Some(c) => {
            if let Some(t) = &template
                && t.channel_type != c.channel_type
            {
                errors.push(
                    "template_id",
                    format!(
                        "template `{}` is for {} channels, the channel is {}",
                        t.id,
                        t.channel_type.as_str(),
                        c.channel_type.as_str()
                    ),
                );
            }
        }
    }
    if template.is_none() {
        errors.push(
            "template_id",
            format!("no template `{}`", content.template_id),
        );
    }
    match &content.audience_id {
        Some(id) if store.audience(id)?.is_none() => {
            errors.push("audience_id", format!("no audience `{id}`"));
        }
        None if !matches!(content.schedule, Schedule::Api) => {
            errors.push(
                "audience_id",
                "required, except for API-triggered campaigns",
            );
        }
        _ => {}
    }
    if let Err(e) = content.schedule.validate(now) {
        errors.extend_under("schedule", e);
    }
    if let Some(c) = &channel
        && c.channel_type == ChannelType::Inbox
        && matches!(content.schedule, Schedule::Api)
    {
        errors.push(
            "schedule.type",
            "inbound (inbox) campaigns are served, not triggered",
        );
    }
    errors.into_result()?;
    Ok(channel.map_or(ChannelType::Webhook, |c| c.channel_type))
}

#[utoipa::path(post, path = "/api/v1/campaigns", tag = "campaigns", request_body = CampaignBody,
    responses((status = 201, body = CampaignView, description = "draft version 1"), (status = 422, body = crate::error::Problem)))]
async fn create_campaign(
    State(state): State<AppState>,
    caller: Caller,
    Json(body): Json<CampaignBody>,
) -> ApiResult<(StatusCode, axum::Json<CampaignView>)> {
    check_name("name", &body.name)?;
    let ctx = context(&state, &caller, None);
    let campaign = state
        .db(move |s| {
            let content = CampaignContent {
                channel_id: body.channel_id,
                template_id: body.template_id,
                audience_id: body.audience_id,
                schedule: body.schedule,
            };
            let channel_type = check_content(s, &content, ctx.now)?;
            let campaign =
                Campaign::new_draft(new_id("cmp"), body.name, content, channel_type, ctx.now);
            s.insert_campaign(&campaign, Origin::Created, &ctx)?;
            Ok(campaign)
        })
        .await?;
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
    let page = state.db(move |s| Ok(s.campaigns(status, &page)?)).await?;
    Ok(axum::Json(Page {
        items: page.items.iter().map(view).collect(),
        next_cursor: page.next_cursor,
    }))
}

pub(super) async fn load(state: &AppState, id: String) -> ApiResult<Campaign> {
    let missing = format!("no campaign `{id}`");
    state
        .db(move |s| Ok(s.campaign(&id)?))
        .await?
        .ok_or_else(|| ApiError::not_found(missing))
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
    if let Some(name) = &body.name {
        check_name("name", name)?;
    }
    let ctx = context(&state, &caller, None);
    let applied = state
        .db(move |s| {
            let content = CampaignContent {
                channel_id: body.channel_id,
                template_id: body.template_id,
                audience_id: body.audience_id,
                schedule: body.schedule,
            };
            let channel_type = check_content(s, &content, ctx.now)?;
            let now = ctx.now;
            s.apply_campaign(&id, &ctx, &mut |c| {
                let from = c.status;
                let version = c.edit_draft(content.clone(), channel_type, now)?;
                if let Some(name) = &body.name {
                    c.name.clone_from(name);
                }
                Ok(Transition {
                    action: CampaignAction::EditDraft,
                    from,
                    to: c.status,
                    version: Some(version),
                    effects: Vec::new(),
                })
            })
            .map_err(|e| command_error(e, &format!("campaign `{id}`")))
        })
        .await?;
    Ok(axum::Json(view(&applied.value)))
}

#[utoipa::path(delete, path = "/api/v1/campaigns/{id}", tag = "campaigns",
    responses((status = 204), (status = 404, body = crate::error::Problem), (status = 409, body = crate::error::Problem, description = "ever activated (C9)")))]
async fn delete_campaign(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let ctx = context(&state, &caller, None);
    state
        .db(move |s| {
            s.delete_campaign(&id, &ctx, &|c| c.check(CampaignAction::Delete))
                .map_err(|e| command_error(e, &format!("campaign `{id}`")))
        })
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Runs one lifecycle command in the store's transaction.
async fn command(
    state: &AppState,
    caller: &Caller,
    id: String,
    reason: Option<String>,
    mut f: impl FnMut(&mut Campaign, Timestamp) -> Result<Transition, sluice_core::LifecycleError>
    + Send
    + 'static,
    validate: bool,
) -> ApiResult<Applied<Campaign>> {
    let ctx = context(state, caller, reason);
    state
        .db(move |s| {
            if validate {
                // C2: activation validates everything the draft references, as of now.
                let campaign = s
                    .campaign(&id)?
                    .ok_or_else(|| ApiError::not_found(format!("no campaign `{id}`")))?;
                campaign.check(CampaignAction::Activate)?;
                if let Some(draft) = campaign.draft_version() {
                    check_content(s, &draft.content, ctx.now)?;
                }
            }
            let now = ctx.now;
            s.apply_campaign(&id, &ctx, &mut |c| f(c, now))
                .map_err(|e| command_error(e, &format!("campaign `{id}`")))
        })
        .await
}

macro_rules! lifecycle_route {
    ($name:ident, $action:literal, $doc:literal, $call:expr, $validate:expr) => {
        #[doc = $doc]
        #[utoipa::path(post, path = concat!("/api/v1/campaigns/{id}/", $action), tag = "campaigns",
            request_body(content = Option<ReasonBody>),
            responses((status = 200, body = CampaignView), (status = 404, body = crate::error::Problem),
                      (status = 409, body = crate::error::Problem, description = "not allowed in the current status"),
                      (status = 422, body = crate::error::Problem)))]
        async fn $name(State(state): State<AppState>, caller: Caller, Path(id): Path<String>, OptionalJson(body): OptionalJson<ReasonBody>) -> ApiResult<axum::Json<CampaignView>> {
            let applied = command(&state, &caller, id, body.reason, $call, $validate).await?;
            // Whatever became due (an activation's first occurrence) should not wait a poll.
            state.engine.wake();
            Ok(axum::Json(view(&applied.value)))
        }
    };
}

lifecycle_route!(
    activate,
    "activate",
    "Activate the draft (C2); on a live recurring campaign it replaces the live version (C4).",
    |c, now| Ok(c.activate(now)?),
    true
);
lifecycle_route!(
    modify,
    "modify",
    "Create draft version N+1 from the live one; recurring campaigns only (C3).",
    |c, now| Ok(c.modify(now)?),
    false
);
lifecycle_route!(
    pause,
    "pause",
    "Stop serving an inbound campaign for now (C7).",
    |c, now| Ok(c.pause(now)?),
    false
);
lifecycle_route!(
    resume,
    "resume",
    "Serve a paused inbound campaign again (C7).",
    |c, now| Ok(c.resume(now)?),
    false
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
    brake(
        command(
            &state,
            &caller,
            id,
            body.reason,
            |c, now| Ok(c.stop(now)?),
            false,
        )
        .await?,
    )
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
    // B1: the brake is engaged first — no new delivery starts, and the ones in flight settle —
    // so the abort's summary is final and nothing is delivered after this call returns.
    let campaign = load(&state, id.clone()).await?;
    campaign.check(CampaignAction::Abort)?;
    let subject = BrakeSubject::Campaign(id.clone());
    let run = state.clone();
    let applied = under_brake(&state, subject, async move {
        let abort = |c: &mut Campaign, now| Ok(c.abort(now)?);
        command(&run, &caller, id, body.reason, abort, false).await
    })
    .await;
    brake(applied?)
}

fn brake(applied: Applied<Campaign>) -> ApiResult<axum::Json<BrakeResult>> {
    Ok(axum::Json(BrakeResult {
        status: applied.value.status,
        summary: applied.summary.unwrap_or_default(),
        campaign: view(&applied.value),
    }))
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
    let source = load(&state, id).await?;
    let ctx = context(&state, &caller, body.reason);
    let copy = source.duplicate(new_id("cmp"), ctx.now);
    let stored = copy.clone();
    state
        .db(move |s| Ok(s.insert_campaign(&stored, Origin::Duplicated, &ctx)?))
        .await?;
    Ok((StatusCode::CREATED, axum::Json(view(&copy))))
}
