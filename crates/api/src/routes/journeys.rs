//! Journeys and their versions: create, edit drafts, the lifecycle of J1–J9, who is inside.

use axum::extract::State;
use axum::http::StatusCode;
use jiff::Timestamp;
use serde::Serialize;
use sluice_commands::Caller;
use sluice_core::journey::lifecycle::allowed_actions;
use sluice_core::journey::{
    Journey, JourneyAction, JourneyDefinition, JourneyVersion, JourneyVersionStatus,
};
use sluice_store::{Page, Summary};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::{ApiError, ApiResult};
use crate::extract::{JsonBytes, OptionalJson, Path, Query, ReasonBody, decode, decode_value};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_journey, list_journeys))
        .routes(routes!(get_journey, delete_journey))
        .routes(routes!(new_journey_version))
        .routes(routes!(
            get_journey_version,
            put_journey_version,
            delete_journey_version
        ))
        .routes(routes!(publish_journey_version))
        .routes(routes!(close_journey_version))
        .routes(routes!(stop_journey_version))
        .routes(routes!(duplicate_journey_version))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct VersionSummary {
    pub version: u32,
    pub status: JourneyVersionStatus,
    #[schema(value_type = String)]
    pub created_at: Timestamp,
    #[schema(value_type = Option<String>)]
    pub published_at: Option<Timestamp>,
    #[schema(value_type = Option<String>)]
    pub closed_at: Option<Timestamp>,
    #[schema(value_type = Option<String>)]
    pub stopped_at: Option<Timestamp>,
    #[schema(value_type = Option<String>)]
    pub finished_at: Option<Timestamp>,
    pub allowed_actions: Vec<JourneyAction>,
}

fn summary(v: &JourneyVersion) -> VersionSummary {
    VersionSummary {
        version: v.version,
        status: v.status,
        created_at: v.created_at,
        published_at: v.published_at,
        closed_at: v.closed_at,
        stopped_at: v.stopped_at,
        finished_at: v.finished_at,
        allowed_actions: allowed_actions(v.status),
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct JourneyView {
    pub id: String,
    #[schema(min_length = 1, max_length = 200)]
    pub name: String,
    pub live_version: Option<u32>,
    pub draft_version: Option<u32>,
    pub versions: Vec<VersionSummary>,
    #[schema(value_type = String)]
    pub created_at: Timestamp,
    #[schema(value_type = String)]
    pub updated_at: Timestamp,
}

pub fn view(j: &Journey) -> JourneyView {
    JourneyView {
        id: j.id.clone(),
        name: j.name.clone(),
        live_version: j.live_version().map(|v| v.version),
        draft_version: j.draft_version().map(|v| v.version),
        versions: j.versions.iter().map(summary).collect(),
        created_at: j.created_at,
        updated_at: j.updated_at,
    }
}

/// One version with its definition, shaped as at creation.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct VersionView {
    #[serde(flatten)]
    pub summary: VersionSummary,
    #[serde(flatten)]
    pub definition: JourneyDefinition,
}

/// `{name, ...definition}`: the definition's own fields beside `name` (optional on PUT).
fn split_body(bytes: &[u8], name_required: bool) -> ApiResult<(Option<String>, JourneyDefinition)> {
    let value: serde_json::Value = decode(bytes)?;
    let serde_json::Value::Object(mut object) = value else {
        return Err(ApiError::field("", "expected a JSON object"));
    };
    let name = match object.remove("name") {
        Some(serde_json::Value::String(name)) => {
            sluice_commands::check_name("name", &name)?;
            Some(name)
        }
        Some(_) => return Err(ApiError::field("name", "must be a string")),
        None if name_required => return Err(ApiError::field("name", "missing field `name`")),
        None => None,
    };
    Ok((name, decode_value(serde_json::Value::Object(object))?))
}

/// Create a journey: draft version 1.
#[utoipa::path(post, path = "/api/v1/journeys", tag = "journeys", request_body = JourneyDefinition,
    responses((status = 201, body = JourneyView), (status = 422, body = crate::error::Problem)))]
async fn create_journey(
    State(state): State<AppState>,
    caller: Caller,
    JsonBytes(body): JsonBytes,
) -> ApiResult<(StatusCode, axum::Json<JourneyView>)> {
    let (name, definition) = split_body(&body, true)?;
    let journey = state
        .commands
        .journeys()
        .create(&caller, name.unwrap_or_default(), definition)
        .await?;
    Ok((StatusCode::CREATED, axum::Json(view(&journey))))
}

#[utoipa::path(get, path = "/api/v1/journeys", tag = "journeys", params(super::ListQuery),
    responses((status = 200, body = Page<JourneyView>)))]
async fn list_journeys(
    State(state): State<AppState>,
    Query(q): Query<super::ListQuery>,
) -> ApiResult<axum::Json<Page<JourneyView>>> {
    let page = state.commands.journeys().list(q.page()?).await?;
    Ok(axum::Json(Page {
        items: page.items.iter().map(view).collect(),
        next_cursor: page.next_cursor,
    }))
}

async fn load(state: &AppState, id: String) -> ApiResult<Journey> {
    Ok(state.commands.journeys().get(&id).await?)
}

#[utoipa::path(get, path = "/api/v1/journeys/{id}", tag = "journeys",
    responses((status = 200, body = JourneyView), (status = 404, body = crate::error::Problem)))]
async fn get_journey(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<JourneyView>> {
    Ok(axum::Json(view(&load(&state, id).await?)))
}

/// Delete a journey whose every version is a draft.
#[utoipa::path(delete, path = "/api/v1/journeys/{id}", tag = "journeys",
    responses((status = 204), (status = 404, body = crate::error::Problem), (status = 409, body = crate::error::Problem)))]
async fn delete_journey(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    state.commands.journeys().delete(&caller, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

fn version_missing(id: &str, n: u32) -> ApiError {
    ApiError::not_found(format!("journey `{id}` has no version {n}"))
}

/// New draft N+1 copied from the latest version (J6); 409 while a draft exists.
#[utoipa::path(post, path = "/api/v1/journeys/{id}/versions", tag = "journeys",
    responses((status = 201, body = JourneyView), (status = 404, body = crate::error::Problem), (status = 409, body = crate::error::Problem)))]
async fn new_journey_version(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<(StatusCode, axum::Json<JourneyView>)> {
    let journey = state.commands.journeys().new_version(&caller, &id).await?;
    Ok((StatusCode::CREATED, axum::Json(view(&journey))))
}

#[utoipa::path(get, path = "/api/v1/journeys/{id}/versions/{n}", tag = "journeys",
    responses((status = 200, body = VersionView), (status = 404, body = crate::error::Problem)))]
async fn get_journey_version(
    State(state): State<AppState>,
    Path((id, n)): Path<(String, u32)>,
) -> ApiResult<axum::Json<VersionView>> {
    let journey = load(&state, id.clone()).await?;
    let v = journey.version(n).ok_or_else(|| version_missing(&id, n))?;
    Ok(axum::Json(VersionView {
        summary: summary(v),
        definition: v.definition.clone(),
    }))
}

/// Replace a draft version's definition (`name` optional, renames the journey).
#[utoipa::path(put, path = "/api/v1/journeys/{id}/versions/{n}", tag = "journeys", request_body = JourneyDefinition,
    responses((status = 200, body = VersionView), (status = 404, body = crate::error::Problem),
              (status = 409, body = crate::error::Problem), (status = 422, body = crate::error::Problem)))]
async fn put_journey_version(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, n)): Path<(String, u32)>,
    JsonBytes(body): JsonBytes,
) -> ApiResult<axum::Json<VersionView>> {
    let (name, definition) = split_body(&body, false)?;
    let journey = state
        .commands
        .journeys()
        .edit_version(&caller, &id, n, name, definition)
        .await?;
    let v = journey
        .version(n)
        .ok_or_else(|| ApiError::internal(&"edited version vanished"))?;
    Ok(axum::Json(VersionView {
        summary: summary(v),
        definition: v.definition.clone(),
    }))
}

#[utoipa::path(delete, path = "/api/v1/journeys/{id}/versions/{n}", tag = "journeys",
    responses((status = 204), (status = 404, body = crate::error::Problem), (status = 409, body = crate::error::Problem)))]
async fn delete_journey_version(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, n)): Path<(String, u32)>,
) -> ApiResult<StatusCode> {
    state
        .commands
        .journeys()
        .delete_version(&caller, &id, n)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Validate the graph and make the version live (J2); the previous live version closes (J6).
#[utoipa::path(post, path = "/api/v1/journeys/{id}/versions/{n}/publish", tag = "journeys", request_body(content = Option<ReasonBody>),
    responses((status = 200, body = JourneyView), (status = 404, body = crate::error::Problem),
              (status = 409, body = crate::error::Problem), (status = 422, body = crate::error::Problem)))]
async fn publish_journey_version(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, n)): Path<(String, u32)>,
    OptionalJson(body): OptionalJson<ReasonBody>,
) -> ApiResult<axum::Json<JourneyView>> {
    let journey = state
        .commands
        .journeys()
        .publish(&caller, &id, n, body.reason)
        .await?;
    Ok(axum::Json(view(&journey)))
}

/// Close to new entrances (J3): people inside go on to the end.
#[utoipa::path(post, path = "/api/v1/journeys/{id}/versions/{n}/close", tag = "journeys", request_body(content = Option<ReasonBody>),
    responses((status = 200, body = JourneyView), (status = 404, body = crate::error::Problem), (status = 409, body = crate::error::Problem)))]
async fn close_journey_version(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, n)): Path<(String, u32)>,
    OptionalJson(body): OptionalJson<ReasonBody>,
) -> ApiResult<axum::Json<JourneyView>> {
    let journey = state
        .commands
        .journeys()
        .close(&caller, &id, n, body.reason)
        .await?;
    Ok(axum::Json(view(&journey)))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct StopResult {
    pub status: JourneyVersionStatus,
    pub summary: Summary,
    pub journey: JourneyView,
}

/// Halt everyone inside at once (J4): when this returns, no further node runs in the version.
#[utoipa::path(post, path = "/api/v1/journeys/{id}/versions/{n}/stop", tag = "journeys", request_body(content = Option<ReasonBody>),
    responses((status = 200, body = StopResult), (status = 404, body = crate::error::Problem), (status = 409, body = crate::error::Problem)))]
async fn stop_journey_version(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, n)): Path<(String, u32)>,
    OptionalJson(body): OptionalJson<ReasonBody>,
) -> ApiResult<axum::Json<StopResult>> {
    let braked = state
        .commands
        .journeys()
        .stop(&caller, &id, n, body.reason)
        .await?;
    Ok(axum::Json(StopResult {
        status: JourneyVersionStatus::Stopped,
        summary: braked.summary,
        journey: view(&braked.value),
    }))
}

/// A new journey, draft version 1, copied from this version (J7).
#[utoipa::path(post, path = "/api/v1/journeys/{id}/versions/{n}/duplicate", tag = "journeys", request_body(content = Option<ReasonBody>),
    responses((status = 201, body = JourneyView), (status = 404, body = crate::error::Problem)))]
async fn duplicate_journey_version(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, n)): Path<(String, u32)>,
    OptionalJson(body): OptionalJson<ReasonBody>,
) -> ApiResult<(StatusCode, axum::Json<JourneyView>)> {
    let copy = state
        .commands
        .journeys()
        .duplicate(&caller, &id, n, body.reason)
        .await?;
    Ok((StatusCode::CREATED, axum::Json(view(&copy))))
}
