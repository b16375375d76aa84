//! Audiences: named rules over attributes and events.

use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use sluice_commands::{AudienceInput, Caller};
use sluice_store::{Audience, Page};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::ListQuery;
use crate::error::ApiResult;
use crate::extract::{Json, Path, Query};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_audience, list_audiences))
        .routes(routes!(get_audience, put_audience, delete_audience))
        .routes(routes!(count_audience))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AudienceBody {
    #[schema(min_length = 1, max_length = 200)]
    pub name: String,
    /// `{"all"|"any": [rule…]}`, `{"not": rule}`, `{"attr", "op", "value"}` or
    /// `{"event", "op": "count_gte"|"count_lt", "value", "within"?}`.
    #[schema(value_type = Object)]
    pub rule: serde_json::Value,
}

impl From<AudienceBody> for AudienceInput {
    fn from(body: AudienceBody) -> Self {
        Self {
            name: body.name,
            rule: body.rule,
        }
    }
}

#[utoipa::path(post, path = "/api/v1/audiences", tag = "audiences", request_body = AudienceBody,
    responses((status = 201, body = Audience), (status = 422, body = crate::error::Problem)))]
async fn create_audience(
    State(state): State<AppState>,
    caller: Caller,
    Json(body): Json<AudienceBody>,
) -> ApiResult<(StatusCode, axum::Json<Audience>)> {
    let audience = state
        .commands
        .audiences()
        .create(&caller, body.into())
        .await?;
    Ok((StatusCode::CREATED, axum::Json(audience)))
}

#[utoipa::path(get, path = "/api/v1/audiences", tag = "audiences", params(ListQuery),
    responses((status = 200, body = Page<Audience>)))]
async fn list_audiences(
    State(state): State<AppState>,
    Query(q): Query<ListQuery>,
) -> ApiResult<axum::Json<Page<Audience>>> {
    Ok(axum::Json(
        state.commands.audiences().list(q.page()?).await?,
    ))
}

#[utoipa::path(get, path = "/api/v1/audiences/{id}", tag = "audiences",
    responses((status = 200, body = Audience), (status = 404, body = crate::error::Problem)))]
async fn get_audience(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<Audience>> {
    Ok(axum::Json(state.commands.audiences().get(&id).await?))
}

#[utoipa::path(put, path = "/api/v1/audiences/{id}", tag = "audiences", request_body = AudienceBody,
    responses((status = 200, body = Audience), (status = 404, body = crate::error::Problem), (status = 422, body = crate::error::Problem)))]
async fn put_audience(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Json(body): Json<AudienceBody>,
) -> ApiResult<axum::Json<Audience>> {
    let audience = state
        .commands
        .audiences()
        .update(&caller, &id, body.into())
        .await?;
    Ok(axum::Json(audience))
}

/// Delete an audience; 409 while a non-draft campaign or journey version uses it.
#[utoipa::path(delete, path = "/api/v1/audiences/{id}", tag = "audiences",
    responses((status = 204), (status = 404, body = crate::error::Problem), (status = 409, body = crate::error::Problem)))]
async fn delete_audience(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    state.commands.audiences().delete(&caller, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Count {
    pub count: u64,
}

/// How many profiles the audience holds now.
#[utoipa::path(get, path = "/api/v1/audiences/{id}/count", tag = "audiences",
    responses((status = 200, body = Count), (status = 404, body = crate::error::Problem)))]
async fn count_audience(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<Count>> {
    let count = state.commands.audiences().count(&id).await?;
    Ok(axum::Json(Count { count }))
}
